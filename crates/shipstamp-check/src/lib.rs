//! The library behind the `shipstamp` command line tool: hold what services, binaries and
//! processes run against a git ref, and read stamps out of binaries and running processes.
//!
//! Checking what a fleet serves against `main`:
//!
//! ```no_run
//! use shipstamp_check::{Options, Repo, Status, Target, check};
//!
//! let repo = Repo::open(".")?;
//! let reference = repo.resolve_ref("main")?;
//! let targets: Vec<Target> = ["https://orders-1.internal/version", "pid:4242", "./target/release/orders"]
//!     .iter()
//!     .map(|t| t.parse())
//!     .collect::<Result<_, _>>()?;
//! let reports = check(&targets, &repo, &reference, &Options::default())?;
//! for r in &reports {
//!     println!("{} {} {:?}", r.url, r.status, r.behind);
//! }
//! let drift = reports.iter().any(|r| r.status.is_drift());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! Reading the stamp that `shipstamp::stamp!()` embeds in a binary, without running it:
//!
//! ```no_run
//! let stamps = shipstamp_check::read_stamps_from_file("target/release/orders-api")?;
//! for stamp in stamps {
//!     println!("{} {} {:?}", stamp.package.name, stamp.package.version, stamp.git.commit);
//! }
//! # Ok::<(), shipstamp_check::InspectError>(())
//! ```
//!
//! And from a running process, with the binary now on disk at its path for comparison
//! ([`inspect_process`], Linux).
//!
//! For a check that runs round after round (a dashboard, a poll until a rollout lands), keep a
//! [`Checker`]: it keeps one HTTP agent and git's answers between rounds, so a round in which
//! nothing changed starts one `git` process. Instances come from [`Source`]s: a list of
//! [`Targets`], [`EachAddress`] a name resolves to, the series [`Prometheus`] holds, or a
//! source of your own; [`Checker::observe`] runs several side by side and [`Checker::judge`]
//! holds what they saw against the ref.
//!
//! Reading a version document someone else serves, whatever its shape:
//!
//! ```
//! let served = shipstamp_check::parse_served(br#"{"gitCommit":"3f9c2e1aa0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5","gitTreeState":"dirty"}"#)?;
//! assert_eq!(served.shape, shipstamp_check::ServedShape::Kubernetes);
//! assert_eq!(served.dirty, Some(true));
//!
//! let err = shipstamp_check::parse_served(b"<html><body>502 Bad Gateway</body></html>").unwrap_err();
//! assert_eq!(err.kind(), shipstamp_check::ParseErrorKind::Html);
//! # Ok::<(), shipstamp_check::ParseError>(())
//! ```
//!
//! Errors are this crate's own types, each with a `kind()` and its `source()`: [`RepoError`]
//! (not a repository, unknown or ambiguous ref, git missing or failing), [`ParseError`],
//! [`TargetError`], [`SourceError`] and [`InspectError`]. Why a target has its status is a
//! [`Reason`], with a [`ReasonKind`] to match on.
//!
//! # Feature flags
//!
//! | feature | default | what it does |
//! |---------|---------|--------------|
//! | `http`  | on      | version endpoints over HTTP(S), [`EachAddress`] (DNS) and [`Prometheus`]; without it, binaries and processes are still read, and neither rustls, ring nor ureq is compiled |
//!
//! # Supported Rust
//!
//! Rust 1.85 or later (edition 2024). Git is used through its command line (any version that
//! reads your repository); the `git` program must be on `PATH`.

mod checker;
#[cfg(feature = "http")]
mod dns;
mod engine;
#[cfg(feature = "http")]
mod fetch;
mod inspect;
mod probe;
mod process;
#[cfg(feature = "http")]
mod prometheus;
mod reason;
mod repo;
mod report;
mod section;
mod served;
mod source;
mod target;
mod threads;
mod verdict;

pub use checker::{Checker, check};
#[cfg(feature = "http")]
pub use dns::{EachAddress, Resolver};
pub use engine::{
    ContainerFacts, ContainerFilter, ContainerInspection, Containers, Engine, EngineError,
    EngineErrorKind, REVISION_LABEL, inspect_container,
};
#[cfg(feature = "http")]
pub use fetch::MAX_BODY;
pub use inspect::{
    InspectError, InspectErrorKind, ProcessInspection, inspect_process, read_stamps,
    read_stamps_from_file,
};
pub use process::{ProcessFacts, SourceChanges};
#[cfg(feature = "http")]
pub use prometheus::Prometheus;
pub use reason::{Reason, ReasonKind};
pub use repo::{Commit, Repo, RepoError, RepoErrorKind};
pub use report::{
    Drift, Expected, Failure, Included, Observation, Options, Scope, Status, TargetReport,
};
pub use served::{ParseError, ParseErrorKind, Served, ServedShape, parse_served, parse_served_at};
pub use shipstamp::Stamp;
pub use source::{Context, Source, SourceError, SourceErrorKind, Targets};
pub use target::{Locator, Target, TargetError, TargetErrorKind};
