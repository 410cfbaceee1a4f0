//! Asking one instance what it runs: a version endpoint over HTTP, a binary on disk by its
//! embedded stamp, a running process by the stamp of the image it runs (or, without one, by
//! what Linux tells).

use std::path::Path;

use crate::process::ProcessFacts;
use crate::reason::{Reason, ReasonKind};
use crate::report::{Failure, Observation, Status};
use crate::served::{Served, ServedShape};
use crate::target::{Locator, Target};

/// What URLs are fetched with: nothing, in a build without the `http` feature.
#[cfg(feature = "http")]
pub(crate) type Http = crate::fetch::Fetcher;

/// What URLs are fetched with: nothing, in a build without the `http` feature.
#[cfg(not(feature = "http"))]
#[derive(Debug, Default)]
pub(crate) struct Http;

/// One instance to ask: a target, or one address of a target whose host is expanded through
/// DNS.
#[derive(Debug)]
pub(crate) struct Instance<'a> {
    pub(crate) target: &'a Target,
    pub(crate) name: Option<String>,
    pub(crate) at: At,
}

impl<'a> Instance<'a> {
    /// The target itself, wherever its host resolves to.
    pub(crate) fn of(target: &'a Target) -> Instance<'a> {
        Instance {
            target,
            name: target.name.clone(),
            at: At::Host,
        }
    }
}

/// Where an instance is reached.
#[derive(Debug)]
pub(crate) enum At {
    /// Wherever the URL's host resolves to.
    Host,
    /// This address, with the URL's host kept for `Host` and the TLS server name.
    #[cfg(feature = "http")]
    Address(std::net::SocketAddr),
    /// The host did not resolve, and why.
    #[cfg(feature = "http")]
    Unresolved(Reason),
}

/// What `instance` runs, or why that cannot be said.
pub(crate) fn observe(
    instance: &Instance<'_>,
    http: &Http,
    options: &crate::Options,
) -> Observation {
    let target = instance.target;
    if let Locator::Container(name) = &target.locator {
        let engine = target.engine.as_ref().or(options.engine.as_ref());
        let mut observation = crate::engine::observe_container(name, engine, options.timeout);
        observation.name = instance.name.clone();
        return observation;
    }
    let mut observation = Observation::failed(
        target.locator.to_string(),
        instance.name.clone(),
        Status::Unreachable,
        "",
    );
    let (outcome, process) = match &target.locator {
        Locator::File(path) => (observe_file(path), None),
        Locator::Pid(pid) => observe_process(*pid),
        Locator::PidFile(path) => match read_pidfile(path) {
            Ok((pid, written)) => match observe_process(pid) {
                // The pid was reused: judging that process would be judging a stranger.
                (_, Some(facts)) if is_newer_than(&facts, written) => (
                    Err(pidfile(
                        Status::Unreachable,
                        format!(
                            "the pidfile {} is stale: pid {pid} now belongs to a process \
                             started after it was written ({}, written {})",
                            path.display(),
                            facts.started_at.map(|t| t.to_string()).unwrap_or_default(),
                            written.map(|t| t.to_string()).unwrap_or_default(),
                        ),
                    )),
                    None,
                ),
                seen => seen,
            },
            Err(failure) => (Err(failure), None),
        },
        Locator::Url(url) => (
            fetch(url, target.field.as_deref(), &instance.at, http),
            None,
        ),
        Locator::Container(_) => unreachable!("containers are observed above"),
    };
    observation.outcome = outcome;
    observation.process = process;
    observation
}

#[cfg(feature = "http")]
fn fetch(url: &str, field: Option<&str>, at: &At, http: &Http) -> Result<Served, Failure> {
    use crate::fetch::FetchError;
    let address = match at {
        At::Host => None,
        At::Address(address) => Some(*address),
        At::Unresolved(why) => return Err(Failure::new(Status::Unreachable, why.clone())),
    };
    let body = http.get(url, address).map_err(|e| match e {
        FetchError::Unreachable(why) => {
            Failure::new(Status::Unreachable, Reason::new(ReasonKind::NoAnswer, why))
        }
        FetchError::Invalid(why) => Failure::new(
            Status::InvalidResponse,
            Reason::new(ReasonKind::BadAnswer, why),
        ),
    })?;
    let parsed = match field {
        Some(pointer) => crate::parse_served_at(&body, pointer),
        None => crate::parse_served(&body),
    };
    parsed.map_err(|e| {
        Failure::new(
            Status::InvalidResponse,
            Reason::new(ReasonKind::BadDocument(e.kind()), e.to_string()),
        )
    })
}

#[cfg(not(feature = "http"))]
fn fetch(_: &str, _: Option<&str>, _: &At, _: &Http) -> Result<Served, Failure> {
    Err(Failure::new(
        Status::Unreachable,
        Reason::new(
            ReasonKind::NoAnswer,
            "URLs are not read by this build of shipstamp-check (its `http` feature is off)",
        ),
    ))
}

/// The stamp a binary is judged by: the one of the package its file is named after, else the
/// first (a binary that links several stamped crates has one stamp each).
pub(crate) fn main_stamp<'a>(
    stamps: &'a [shipstamp::Stamp],
    path: &Path,
) -> Option<&'a shipstamp::Stamp> {
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
    stamps
        .iter()
        .find(|s| s.package.name == name)
        .or_else(|| stamps.first())
}

fn binary(status: Status, message: String) -> Failure {
    Failure::new(status, Reason::new(ReasonKind::Binary, message))
}

fn served_from_stamp(
    stamps: &[shipstamp::Stamp],
    path: &Path,
    shape: ServedShape,
) -> Result<Served, Failure> {
    let stamp = main_stamp(stamps, path)
        .ok_or_else(|| binary(Status::InvalidResponse, "no stamp in this binary".into()))?;
    let commit = stamp.git.commit.as_deref().ok_or_else(|| {
        binary(
            Status::InvalidResponse,
            format!(
                "its stamp ({} {}) has no commit: it was built without a known commit",
                stamp.package.name, stamp.package.version
            ),
        )
    })?;
    let mut served = Served::new(shape, commit)
        .map_err(|e| binary(Status::InvalidResponse, format!("its stamp's commit: {e}")))?;
    served.dirty = stamp.git.dirty;
    served.package = Some(stamp.package.name.clone());
    served.version = Some(stamp.package.version.clone());
    served.built_at = stamp.build.time;
    served.paths = stamp.git.paths.clone();
    Ok(served)
}

/// A binary on disk, by its embedded stamp.
fn observe_file(path: &Path) -> Result<Served, Failure> {
    match std::fs::metadata(path) {
        Err(e) => {
            return Err(binary(
                Status::Unreachable,
                format!("{}: {e}", path.display()),
            ));
        }
        Ok(m) if m.is_dir() => {
            return Err(binary(
                Status::InvalidResponse,
                format!("{} is a directory, not an executable", path.display()),
            ));
        }
        Ok(_) => {}
    }
    match crate::read_stamps_from_file(path) {
        Ok(stamps) => served_from_stamp(&stamps, path, ServedShape::Binary),
        Err(e) => Err(binary(Status::InvalidResponse, e.to_string())),
    }
}

fn process_failure(pid: u32, e: &dyn std::fmt::Display) -> Failure {
    Failure::new(
        Status::Unreachable,
        Reason::new(ReasonKind::Process, format!("process {pid}: {e}")),
    )
}

/// A running process: by the stamp of the image it runs (`/proc/PID/exe` reaches it even after
/// the file on disk is replaced), or, without one, by what Linux tells.
pub(crate) fn observe_process(pid: u32) -> (Result<Served, Failure>, Option<ProcessFacts>) {
    let facts = match crate::process::facts(pid) {
        Ok(facts) => facts,
        Err(e) => return (Err(process_failure(pid, &e)), None),
    };
    let image = std::path::PathBuf::from(format!("/proc/{pid}/exe"));
    let outcome = match crate::read_stamps_from_file(&image) {
        Ok(stamps) => {
            served_from_stamp(&stamps, &facts.exe, ServedShape::Process).map(|mut served| {
                served.started_at = facts.started_at;
                served.exe_replaced = Some(facts.exe_replaced);
                served
            })
        }
        Err(e) if e.is_unstamped() || e.is_not_an_executable() => Err(Failure::new(
            Status::Unstamped,
            Reason::new(
                ReasonKind::NoStamp,
                format!("{} carries no stamp", facts.exe.display()),
            ),
        )),
        Err(e) => Err(process_failure(pid, &e)),
    };
    (outcome, Some(facts))
}

fn pidfile(status: Status, message: String) -> Failure {
    Failure::new(status, Reason::new(ReasonKind::PidFile, message))
}

/// How much later than its pidfile was last written a process may have started and still be
/// the pidfile's: some supervisors write the file just before the process they start is
/// counted as started, and start times are whole seconds.
const PIDFILE_TOLERANCE_SECONDS: i64 = 2;

/// Whether the process started after the pidfile was last written (beyond the tolerance).
fn is_newer_than(facts: &ProcessFacts, written: Option<shipstamp::Timestamp>) -> bool {
    matches!(
        (facts.started_at, written),
        (Some(started), Some(written))
            if started.unix_seconds() > written.unix_seconds() + PIDFILE_TOLERANCE_SECONDS
    )
}

/// The process id in a pidfile, read again on every round (a restart writes a new one), and
/// when the file was last written.
fn read_pidfile(path: &Path) -> Result<(u32, Option<shipstamp::Timestamp>), Failure> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        pidfile(
            Status::Unreachable,
            format!("pidfile {}: {e}", path.display()),
        )
    })?;
    let written = std::fs::metadata(path)
        .and_then(|m| m.modified())
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map(|d| shipstamp::Timestamp::from_unix_seconds(d.as_secs() as i64));
    let first = text.lines().next().unwrap_or("").trim();
    match first.parse::<u32>() {
        Ok(pid) if pid > 0 => Ok((pid, written)),
        _ => Err(pidfile(
            Status::InvalidResponse,
            format!(
                "pidfile {} holds {:?}, not a process id",
                path.display(),
                first.chars().take(40).collect::<String>()
            ),
        )),
    }
}
