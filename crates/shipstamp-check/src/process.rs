//! What Linux can tell about a running process, stamped or not: when it started, whether the
//! executable and the shared libraries it runs have been replaced or deleted on disk since, and
//! how much of the repository it was started in has changed since.

use std::path::{Path, PathBuf};

use shipstamp::Timestamp;

use crate::repo::Repo;

/// How many changed paths a report names; the count covers them all.
const FIRST_PATHS: usize = 5;

/// A running process, as Linux describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ProcessFacts {
    /// The process id.
    pub pid: u32,
    /// The path the process was started from.
    pub exe: PathBuf,
    /// When it started, from `/proc/PID/stat`.
    pub started_at: Option<Timestamp>,
    /// Whether its executable has been replaced or deleted on disk since it started.
    pub exe_replaced: bool,
    /// Shared libraries it has mapped from files since replaced or deleted (as needrestart
    /// finds them): it still runs their old code.
    pub replaced_libraries: Vec<PathBuf>,
    /// What changed since it started in the git repository of its working directory.
    pub source_changes: Option<SourceChanges>,
}

/// Files of a repository changed since some time: committed since, or edited in the work tree
/// since.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct SourceChanges {
    /// The work tree's top directory.
    pub repository: PathBuf,
    /// How many files changed, committed or edited.
    pub count: usize,
    /// The first few of them, relative to `repository`.
    pub first: Vec<String>,
}

/// Why nothing can be said about a process.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ProcessError {
    NoSuchProcess,
    NotPermitted,
    Unsupported,
    Other(String),
}

impl std::fmt::Display for ProcessError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ProcessError::NoSuchProcess => f.write_str("no such process"),
            ProcessError::NotPermitted if running_as_root() => f.write_str(
                "not permitted to read it, even as root (a container without CAP_SYS_PTRACE, \
                 or /proc mounted with hidepid)",
            ),
            ProcessError::NotPermitted => {
                f.write_str("not permitted to read it (run shipstamp as its user, or as root)")
            }
            ProcessError::Unsupported => {
                f.write_str("processes can be read on Linux only (not supported on this platform)")
            }
            ProcessError::Other(why) => f.write_str(why),
        }
    }
}

/// Whether this process runs as root (its effective user id, from `/proc/self/status`).
pub(crate) fn running_as_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            let uids = status.lines().find_map(|l| l.strip_prefix("Uid:"))?;
            // Real, effective, saved, filesystem.
            uids.split_whitespace().nth(1).map(|euid| euid == "0")
        })
        .unwrap_or(false)
}

fn io_error(e: &std::io::Error) -> ProcessError {
    match e.kind() {
        std::io::ErrorKind::NotFound => ProcessError::NoSuchProcess,
        std::io::ErrorKind::PermissionDenied => ProcessError::NotPermitted,
        _ => ProcessError::Other(e.to_string()),
    }
}

/// The executable link of `pid`: the path it was started from, and whether that file has been
/// replaced or deleted since (the kernel says " (deleted)").
pub(crate) fn exe(pid: u32) -> Result<(PathBuf, bool), ProcessError> {
    if !cfg!(target_os = "linux") {
        return Err(ProcessError::Unsupported);
    }
    let link = std::fs::read_link(format!("/proc/{pid}/exe")).map_err(|e| io_error(&e))?;
    let text = link.to_string_lossy();
    Ok(match text.strip_suffix(" (deleted)") {
        Some(path) => (PathBuf::from(path), true),
        None => (link.clone(), false),
    })
}

/// Where `path`, as process `pid` sees it, is reachable from here: itself when the process shares
/// this process's root directory, else under `/proc/PID/root` (a container, a chroot: its
/// `/app` is not this host's).
pub(crate) fn path_seen_by(pid: u32, path: &Path) -> PathBuf {
    if shares_root(pid) {
        return path.to_path_buf();
    }
    let relative = path.strip_prefix("/").unwrap_or(path);
    PathBuf::from(format!("/proc/{pid}/root")).join(relative)
}

/// Whether `pid` has this process's root directory (when that cannot be read, it is assumed).
#[cfg(not(unix))]
fn shares_root(_: u32) -> bool {
    true
}

/// Whether `pid` has this process's root directory (when that cannot be read, it is assumed).
#[cfg(unix)]
fn shares_root(pid: u32) -> bool {
    use std::os::unix::fs::MetadataExt;
    match (
        std::fs::metadata(format!("/proc/{pid}/root")),
        std::fs::metadata("/proc/self/root"),
    ) {
        (Ok(theirs), Ok(ours)) => theirs.dev() == ours.dev() && theirs.ino() == ours.ino(),
        _ => true,
    }
}

/// Everything Linux tells about `pid`, with the source changes since it started when its
/// working directory is in a git repository.
pub(crate) fn facts(pid: u32) -> Result<ProcessFacts, ProcessError> {
    let (exe, exe_replaced) = exe(pid)?;
    let started_at = start_time(pid);
    // A working directory in another root (a container) is not this host's directory.
    let cwd = std::fs::read_link(format!("/proc/{pid}/cwd"))
        .ok()
        .filter(|_| shares_root(pid));
    let source_changes = match (&cwd, started_at) {
        (Some(cwd), Some(since)) => source_changes(cwd, since),
        _ => None,
    };
    Ok(ProcessFacts {
        pid,
        exe,
        started_at,
        exe_replaced,
        replaced_libraries: replaced_libraries(pid),
        source_changes,
    })
}

/// When `pid` started, from `/proc/PID/stat`.
pub(crate) fn start_time(pid: u32) -> Option<Timestamp> {
    shipstamp_format::process_started_at(Some(pid)).map(Timestamp::from_unix_seconds)
}

/// Files mapped into `pid` whose file on disk has been replaced or deleted since: shared
/// libraries updated under a running process. Memory that was never a file (memfd, shared
/// memory) is not counted, nor the executable (reported on its own).
pub(crate) fn replaced_libraries(pid: u32) -> Vec<PathBuf> {
    let Ok(maps) = std::fs::read_to_string(format!("/proc/{pid}/maps")) else {
        return Vec::new();
    };
    let exe = exe(pid).ok().map(|(path, _)| path);
    let mut replaced: Vec<PathBuf> = Vec::new();
    for line in maps.lines() {
        // address perms offset dev inode pathname; the path is the rest of the line.
        let Some(path) = line.splitn(6, ' ').nth(5).map(str::trim_start) else {
            continue;
        };
        let Some(path) = path.strip_suffix(" (deleted)") else {
            continue;
        };
        if !path.starts_with('/')
            || path.starts_with("/memfd:")
            || path.starts_with("/dev/")
            || path.starts_with("/SYSV")
        {
            continue;
        }
        let path = PathBuf::from(path);
        if Some(&path) != exe.as_ref() && !replaced.contains(&path) {
            replaced.push(path);
        }
    }
    replaced
}

/// Files of the repository around `dir` changed since `since`: in commits made since, and in
/// the work tree edited since (by modification time). `None` outside a repository.
pub(crate) fn source_changes(dir: &Path, since: Timestamp) -> Option<SourceChanges> {
    let repo = Repo::open(dir).ok()?;
    let (top, paths) = repo.changed_since(since.unix_seconds()).ok()?;
    Some(SourceChanges {
        count: paths.len(),
        first: paths.into_iter().take(FIRST_PATHS).collect(),
        repository: top,
    })
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;

    #[test]
    fn this_process() {
        let pid = std::process::id();
        let facts = facts(pid).unwrap();
        assert_eq!(facts.exe, std::env::current_exe().unwrap());
        assert!(!facts.exe_replaced);
        assert!(
            facts.replaced_libraries.is_empty(),
            "{:?}",
            facts.replaced_libraries
        );
        let started = facts.started_at.unwrap().unix_seconds();
        let now = Timestamp::now().unix_seconds();
        assert!(started <= now && now - started < 3600, "{started}");
        assert_eq!(facts_of_missing(), ProcessError::NoSuchProcess);
    }

    fn facts_of_missing() -> ProcessError {
        facts(u32::MAX).unwrap_err()
    }
}
