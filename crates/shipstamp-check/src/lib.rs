//! The library behind the `shipstamp` command line tool: hold live services against a git ref,
//! and read stamps out of binaries and running processes.
//!
//! Checking what a fleet serves against `main`:
//!
//! ```no_run
//! use shipstamp_check::{Options, Repo, Target, check, exit_code};
//!
//! let repo = Repo::open(".")?;
//! let reference = repo.resolve_ref("main")?;
//! let targets = [Target::new("https://orders-1.internal/version"), Target::new("https://orders-2.internal/version")];
//! let reports = check(&targets, &repo, &reference, &Options::default())?;
//! for r in &reports {
//!     println!("{} {} {:?}", r.url, r.status.as_str(), r.behind);
//! }
//! std::process::exit(exit_code(&reports).into());
//! # Ok::<(), shipstamp_check::RepoError>(())
//! ```
//!
//! Reading the stamp that `shipstamp::stamp!()` embeds in a binary, without running it:
//!
//! ```no_run
//! let stamps = shipstamp_check::read_stamps_from_file("target/release/orders-api".as_ref())?;
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
//! nothing changed starts one `git` process.
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
//! Errors are this crate's own types: [`RepoError`] with a `kind()` (not a repository,
//! unknown or ambiguous ref, git missing or failing), [`ParseError`] with a `kind()`, and
//! [`InspectError`].
//!
//! # Supported Rust
//!
//! Rust 1.85 or later (edition 2024). Git is used through its command line (any version that
//! reads your repository); the `git` program must be on `PATH`.

mod check;
mod fetch;
mod inspect;
mod process;
mod prometheus;
mod repo;
mod section;
mod served;

pub use check::{
    Checker, Observation, Options, Resolver, Status, Target, TargetReport, check, exit_code,
    is_local_target,
};
pub use fetch::MAX_BODY;
pub use inspect::{
    InspectError, ProcessInspection, inspect_process, read_stamps, read_stamps_from_file,
};
pub use process::{ProcessFacts, SourceChanges};
pub use prometheus::{Prometheus, PrometheusError, PrometheusErrorKind};
pub use repo::{Commit, Repo, RepoError, RepoErrorKind};
pub use served::{ParseError, ParseErrorKind, Served, ServedShape, parse_served, parse_served_at};
