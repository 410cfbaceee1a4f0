//! Know what code a running Rust service is executing.
//!
//! `shipstamp` is the runtime half of a build stamp: [`stamp!()`] gives your binary's
//! [`Stamp`] — package, git commit, dirty flag, branch, build time, toolchain — baked in at
//! build time by [`shipstamp-build`] from your `build.rs`, plus the live process facts (start
//! time, uptime, whether the executable was replaced on disk). Serve it as `/version` JSON,
//! log it at startup, export it as a Prometheus `build_info` metric; a copy embedded in a link
//! section lets `shipstamp inspect` read it from the binary or a running process.
//!
//! ```toml
//! [dependencies]
//! shipstamp = "0.1"
//!
//! [build-dependencies]
//! shipstamp-build = "0.1"
//! ```
//!
//! ```no_run
//! // build.rs
//! fn main() { shipstamp_build::stamp(); }
//! ```
//!
//! ```
//! // src/main.rs
//! fn main() {
//!     let stamp: &'static shipstamp::Stamp = shipstamp::stamp!();
//!     stamp.log_startup(); // shipstamp: orders-api 1.4.2 commit=3f9c2e1 dirty=false …
//!     println!("{}", stamp.to_json()); // {"schema":"shipstamp/v1","package":{"name":"orders-api",…
//! #   assert_eq!(stamp.git.short.as_deref(), Some("3f9c2e1"));
//! }
//! ```
//!
//! (In this documentation the stamp is an example one; in your crate it is your build's.)
//!
//! Reading a stamp someone else serves:
//!
//! ```
//! let body = r#"{"schema":"shipstamp/v1",
//!   "package":{"name":"orders-api","version":"1.4.2","repository":null},
//!   "git":{"commit":"3f9c2e1aa0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5","short":"3f9c2e1","dirty":false,
//!          "branch":"main","describe":null,"commit_time":"2026-11-22T09:58:11Z","source":"git"},
//!   "build":{"time":"2026-11-22T10:00:00Z","profile":"release","target":null,"rustc":"1.95.0"},
//!   "process":{"started_at":"2026-11-22T10:05:00Z","uptime_seconds":3600,"exe_replaced":false}}"#;
//! let stamp = shipstamp::Stamp::from_json(body)?;
//! assert_eq!(stamp.git.short.as_deref(), Some("3f9c2e1"));
//! assert_eq!(stamp.process().unwrap().uptime_seconds, Some(3600));
//! # Ok::<(), shipstamp::Error>(())
//! ```
//!
//! # Feature flags
//!
//! | feature   | default | what it does |
//! |-----------|---------|--------------|
//! | `tracing` | off     | [`Stamp::log_startup`] logs through `tracing` when a subscriber is installed |
//! | `log`     | off     | [`Stamp::log_startup`] logs through `log` when a logger is installed |
//! | `opentelemetry` | off | [`Stamp::otel_resource`]: the build as an OpenTelemetry SDK `Resource` (semantic conventions 1.44.0) |
//!
//! Without any feature: [`Stamp::otel_attributes`] (the same pairs, without the SDK),
//! [`Stamp::release_name`] (Sentry's `release`), [`Stamp::datadog_env`] and
//! [`Stamp::oci_labels`].
//!
//! # The `shipstamp/v1` document
//!
//! A value that is not known is `null`, never a made-up string. Times are RFC 3339 UTC.
//! Readers ignore unknown fields; adding a field is not a schema change, renaming one is.
//! The schema is in `schema/shipstamp-v1.schema.json`; the embedded record in
//! `docs/embedded-format.md`.
//!
//! # Supported Rust
//!
//! Rust 1.85 or later (edition 2024).
//!
//! [`shipstamp-build`]: https://docs.rs/shipstamp-build

// The examples are whole `build.rs` and `main.rs` files, so they show `fn main` on purpose.
#![allow(clippy::needless_doctest_main)]
// `stamp!()` expands to an `#[unsafe(link_section)]` static in the caller's crate; this crate
// itself has no unsafe code.
#![forbid(unsafe_code)]

mod conventions;
mod embed;
mod endpoint;
mod error;
mod process;
mod report;
mod stamp;
mod time;
mod vergen;

pub use conventions::OTEL_SCHEMA_URL;
pub use embed::{SECTION_ELF, SECTION_MACH_O, SECTION_PE, stamps_in_section};
pub use endpoint::{Shape, VersionEndpoint};
pub use error::{Error, ErrorKind};
pub use report::StartupLine;
pub use stamp::{Build, Git, GitSource, Package, Process, SCHEMA, Stamp};
pub use time::{ParseTimestampError, Timestamp};

#[doc(hidden)]
pub use embed::__private;

/// The [`Stamp`] of the crate this is written in, as `&'static Stamp`.
///
/// It reads what `shipstamp_build::stamp()` baked in from that crate's `build.rs`; without one,
/// compilation fails with a message saying so. Each call site embeds one small record
/// (a few hundred bytes) in the binary's shipstamp link section; call it in one place and pass
/// the reference around, or call it where convenient: every call returns the same values.
#[macro_export]
macro_rules! stamp {
    () => {{
        const SHIPSTAMP_JSON: &::core::primitive::str = ::core::env!(
            "SHIPSTAMP_STAMP_JSON",
            "shipstamp: no build stamp for this crate. Add `fn main() { shipstamp_build::stamp(); }` \
             to its build.rs and `shipstamp-build` to its [build-dependencies]"
        );
        $crate::__embed_stamp!(SHIPSTAMP_JSON)
    }};
}

/// The [`Stamp`] of the crate this is written in, from the `VERGEN_*` variables its vergen
/// build script sets (vergen 8 to 10; `vergen-gitcl`, `vergen-git2` or `vergen-gix`), as
/// `&'static Stamp` with `git.source = "vergen"`.
///
/// For services that keep vergen for now: everything downstream of [`stamp!()`] works the
/// same (`/version`, [`Stamp::log_startup`], `build_info`, the embedded section that
/// `shipstamp inspect` reads). It reads `VERGEN_GIT_SHA`, `VERGEN_GIT_DIRTY`,
/// `VERGEN_GIT_BRANCH`, `VERGEN_GIT_DESCRIBE`, `VERGEN_GIT_COMMIT_TIMESTAMP`,
/// `VERGEN_BUILD_TIMESTAMP`, `VERGEN_CARGO_TARGET_TRIPLE` and `VERGEN_RUSTC_SEMVER`, whichever
/// are present. A missing variable, and vergen's `VERGEN_IDEMPOTENT_OUTPUT` placeholder, is
/// `null`, never a commit. vergen does not record the cargo profile, so `build.profile` is
/// `null`.
///
/// The stamp is only as fresh as vergen keeps its variables: `shipstamp-build` reruns on
/// every commit, checkout and edit; see the README's migration section.
///
/// ```
/// // build.rs runs vergen_gitcl::Emitter with Gitcl::all_git(), BuildBuilder::all_build() …
/// let stamp: &'static shipstamp::Stamp = shipstamp::stamp_from_vergen!();
/// stamp.log_startup();
/// # assert_eq!(stamp.package.name, "shipstamp");
/// ```
#[macro_export]
macro_rules! stamp_from_vergen {
    () => {{
        const SHIPSTAMP_VERGEN: $crate::__private::VergenVars = $crate::__private::VergenVars {
            package_name: ::core::env!("CARGO_PKG_NAME"),
            package_version: ::core::env!("CARGO_PKG_VERSION"),
            package_repository: ::core::env!("CARGO_PKG_REPOSITORY"),
            git_sha: ::core::option_env!("VERGEN_GIT_SHA"),
            git_dirty: ::core::option_env!("VERGEN_GIT_DIRTY"),
            git_branch: ::core::option_env!("VERGEN_GIT_BRANCH"),
            git_describe: ::core::option_env!("VERGEN_GIT_DESCRIBE"),
            git_commit_timestamp: ::core::option_env!("VERGEN_GIT_COMMIT_TIMESTAMP"),
            build_timestamp: ::core::option_env!("VERGEN_BUILD_TIMESTAMP"),
            cargo_target_triple: ::core::option_env!("VERGEN_CARGO_TARGET_TRIPLE"),
            rustc_semver: ::core::option_env!("VERGEN_RUSTC_SEMVER"),
        };
        const SHIPSTAMP_JSON_LEN: usize = $crate::__private::vergen_json_len(&SHIPSTAMP_VERGEN);
        const SHIPSTAMP_JSON_BYTES: [u8; SHIPSTAMP_JSON_LEN] =
            $crate::__private::vergen_json(&SHIPSTAMP_VERGEN);
        const SHIPSTAMP_JSON: &::core::primitive::str =
            $crate::__private::utf8(&SHIPSTAMP_JSON_BYTES);
        $crate::__embed_stamp!(SHIPSTAMP_JSON)
    }};
}

/// Embeds one `shipstamp/v1` document (a `const &str`) as a record in the shipstamp link
/// section and returns its parsed, live `&'static Stamp`.
#[doc(hidden)]
#[macro_export]
macro_rules! __embed_stamp {
    ($json:expr) => {{
        const SHIPSTAMP_LEN: usize = $crate::__private::record_len($json);
        #[cfg_attr(
            any(
                target_os = "linux",
                target_os = "android",
                target_os = "freebsd",
                target_os = "netbsd",
                target_os = "openbsd",
                target_os = "dragonfly",
                target_os = "illumos",
                target_os = "solaris"
            ),
            unsafe(link_section = ".shipstamp")
        )]
        #[cfg_attr(target_vendor = "apple", unsafe(link_section = "__DATA,__shipstamp"))]
        #[cfg_attr(windows, unsafe(link_section = ".shpstmp"))]
        #[used]
        static SHIPSTAMP_RECORD: [u8; SHIPSTAMP_LEN] = $crate::__private::record($json);
        static SHIPSTAMP: $crate::__private::EmbeddedStamp = $crate::__private::EmbeddedStamp::new(
            &SHIPSTAMP_RECORD,
            ::core::env!("CARGO_PKG_NAME"),
            ::core::env!("CARGO_PKG_VERSION"),
        );
        SHIPSTAMP.get()
    }};
}

#[cfg(test)]
mod tests;
