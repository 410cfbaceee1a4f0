//! Reading embedded stamps out of executables (ELF, Mach-O, PE) and running processes.

use std::fmt;
use std::path::{Path, PathBuf};

use object::ReadCache;
use object::read::ReadRef;
use shipstamp::Stamp;

use crate::process::{ProcessError, ProcessFacts};
use crate::section::{self, SectionError};

/// What kind of failure an [`InspectError`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum InspectErrorKind {
    /// No such file, or no such process.
    NotFound,
    /// Not permitted to read the file or the process.
    NotPermitted,
    /// The file or its stamp section is damaged.
    Damaged,
    /// Not an executable this reads, or a platform where processes cannot be read.
    Unsupported,
    /// A readable executable without a shipstamp stamp.
    NoStamp,
    /// Reading failed otherwise.
    Io,
}

/// Why no stamp could be read.
#[derive(Debug)]
pub struct InspectError {
    kind: Kind,
}

#[derive(Debug)]
enum Kind {
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    NotAnExecutable,
    /// A file that starts like an executable of `format` and then does not hold together.
    Damaged {
        format: &'static str,
        why: String,
    },
    NoStamp,
    Corrupt(shipstamp::Error),
    NoSuchProcess {
        pid: u32,
    },
    NotPermitted {
        pid: u32,
    },
    Unsupported,
}

impl InspectError {
    fn new(kind: Kind) -> Self {
        InspectError { kind }
    }

    fn io(path: &Path, source: std::io::Error) -> Self {
        InspectError::new(Kind::Io {
            path: path.to_path_buf(),
            source,
        })
    }

    /// What kind of failure this is.
    pub fn kind(&self) -> InspectErrorKind {
        use std::io::ErrorKind as Io;
        match &self.kind {
            Kind::Io { source, .. } => match source.kind() {
                Io::NotFound => InspectErrorKind::NotFound,
                Io::PermissionDenied => InspectErrorKind::NotPermitted,
                _ => InspectErrorKind::Io,
            },
            Kind::NotAnExecutable | Kind::Unsupported => InspectErrorKind::Unsupported,
            Kind::Damaged { .. } | Kind::Corrupt(_) => InspectErrorKind::Damaged,
            Kind::NoStamp => InspectErrorKind::NoStamp,
            Kind::NoSuchProcess { .. } => InspectErrorKind::NotFound,
            Kind::NotPermitted { .. } => InspectErrorKind::NotPermitted,
        }
    }

    /// Whether the file is a readable executable that simply carries no shipstamp section.
    pub(crate) fn is_unstamped(&self) -> bool {
        matches!(self.kind, Kind::NoStamp)
    }

    /// Whether the file is not an executable this reads (a script, a data file).
    pub(crate) fn is_not_an_executable(&self) -> bool {
        matches!(self.kind, Kind::NotAnExecutable)
    }
}

impl fmt::Display for InspectError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kind {
            Kind::Io { path, source } => write!(f, "cannot read {}: {source}", path.display()),
            Kind::NotAnExecutable => f.write_str("not an ELF, Mach-O or PE executable"),
            Kind::Damaged { format, why } => write!(f, "a damaged {format} file ({why})"),
            Kind::NoStamp => f.write_str(
                "no shipstamp stamp in this binary (was it built with shipstamp-build and does it call shipstamp::stamp!()?)",
            ),
            Kind::Corrupt(e) => write!(f, "the shipstamp section is damaged: {e}"),
            Kind::NoSuchProcess { pid } => write!(f, "no process with id {pid}"),
            Kind::NotPermitted { pid } if crate::process::running_as_root() => write!(
                f,
                "not permitted to read process {pid}, even as root (a container without \
                 CAP_SYS_PTRACE, or /proc mounted with hidepid)"
            ),
            Kind::NotPermitted { pid } => write!(
                f,
                "not permitted to read process {pid} (run shipstamp as its user, or as root)"
            ),
            Kind::Unsupported => f.write_str("reading a running process's executable is supported on Linux only"),
        }
    }
}

impl std::error::Error for InspectError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match &self.kind {
            Kind::Io { source, .. } => Some(source),
            Kind::Corrupt(e) => Some(e),
            _ => None,
        }
    }
}

impl From<SectionError> for InspectError {
    fn from(e: SectionError) -> InspectError {
        match e {
            SectionError::NotAnExecutable => InspectError::new(Kind::NotAnExecutable),
            SectionError::Damaged(format, e) => InspectError::new(Kind::Damaged {
                format,
                why: e.to_string(),
            }),
        }
    }
}

/// The stamps embedded in an executable's bytes, one per stamped crate.
pub fn read_stamps(data: &[u8]) -> Result<Vec<Stamp>, InspectError> {
    stamps_in(data)
}

/// [`read_stamps`] of the file at `path`. Reads the headers and the stamp's section only, not
/// the whole file: a few kilobytes, whatever the size of the binary.
pub fn read_stamps_from_file(path: impl AsRef<Path>) -> Result<Vec<Stamp>, InspectError> {
    let path = path.as_ref();
    let file = std::fs::File::open(path).map_err(|e| InspectError::io(path, e))?;
    let meta = file.metadata().map_err(|e| InspectError::io(path, e))?;
    if meta.is_dir() {
        return Err(InspectError::io(
            path,
            std::io::Error::new(std::io::ErrorKind::IsADirectory, "a directory"),
        ));
    }
    let cache = ReadCache::new(file);
    stamps_in(&cache)
}

fn stamps_in<'data, R: ReadRef<'data>>(data: R) -> Result<Vec<Stamp>, InspectError> {
    let section = section::find(data)?.ok_or(InspectError::new(Kind::NoStamp))?;
    let stamps =
        shipstamp::stamps_in_section(section).map_err(|e| InspectError::new(Kind::Corrupt(e)))?;
    if stamps.is_empty() {
        return Err(InspectError::new(Kind::NoStamp));
    }
    Ok(stamps)
}

/// What a running process executes, and what is on disk at its executable's path now.
#[derive(Debug)]
#[non_exhaustive]
pub struct ProcessInspection {
    /// The process id.
    pub pid: u32,
    /// The path the process was started from.
    pub exe_path: PathBuf,
    /// Whether that file has been replaced (or deleted) since the process started: the kernel
    /// says so in `/proc/PID/exe`.
    pub exe_replaced: bool,
    /// The stamps of the executable the process runs (read through `/proc/PID/exe`, which
    /// still reaches the old file after a replacement); empty for a process without one (a
    /// Python or Node worker, a binary built without shipstamp).
    pub running: Vec<Stamp>,
    /// The stamps of the file now at `exe_path`; `None` when there is no file there, or the
    /// process has no stamp to compare with.
    pub on_disk: Option<Result<Vec<Stamp>, InspectError>>,
    /// Everything else Linux tells: when it started, the libraries replaced under it, what
    /// changed in the repository it was started in.
    pub process: ProcessFacts,
}

impl ProcessInspection {
    /// Whether the process runs something other than what is on disk now: its executable or
    /// a library it mapped was replaced or deleted, or the file at its path carries different
    /// stamps (or none).
    pub fn restart_needed(&self) -> bool {
        if self.exe_replaced || !self.process.replaced_libraries.is_empty() {
            return true;
        }
        if self.running.is_empty() {
            return false;
        }
        match &self.on_disk {
            None => true,
            Some(Ok(stamps)) => !same_builds(stamps, &self.running),
            Some(Err(_)) => true,
        }
    }
}

/// Same builds, ignoring the process facts a parsed record never has anyway.
fn same_builds(a: &[Stamp], b: &[Stamp]) -> bool {
    a.len() == b.len()
        && a.iter()
            .zip(b)
            .all(|(x, y)| x.package == y.package && x.git == y.git && x.build == y.build)
}

/// Reads what process `pid` runs (Linux): the stamps of its executable and of the file now at
/// its path, when it has any, and what Linux tells about it either way.
pub fn inspect_process(pid: u32) -> Result<ProcessInspection, InspectError> {
    let process = crate::process::facts(pid).map_err(|e| match e {
        ProcessError::NoSuchProcess => InspectError::new(Kind::NoSuchProcess { pid }),
        ProcessError::NotPermitted => InspectError::new(Kind::NotPermitted { pid }),
        ProcessError::Unsupported => InspectError::new(Kind::Unsupported),
        ProcessError::Other(why) => InspectError::io(
            Path::new(&format!("/proc/{pid}")),
            std::io::Error::other(why),
        ),
    })?;
    let running = running_stamps(pid)?;
    // Its path as the process sees it: in a container, `/app` is under its own root.
    let path = crate::process::path_seen_by(pid, &process.exe);
    let on_disk = (!running.is_empty() && path.exists()).then(|| read_stamps_from_file(&path));
    Ok(ProcessInspection {
        pid,
        exe_path: process.exe.clone(),
        exe_replaced: process.exe_replaced,
        running,
        on_disk,
        process,
    })
}

/// The stamps of the executable process `pid` runs (through `/proc/PID/exe`, which still
/// reaches the old file after a replacement); empty when it has none.
pub(crate) fn running_stamps(pid: u32) -> Result<Vec<Stamp>, InspectError> {
    match read_stamps_from_file(format!("/proc/{pid}/exe")) {
        Ok(stamps) => Ok(stamps),
        Err(e) if e.is_unstamped() || e.is_not_an_executable() => Ok(Vec::new()),
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn garbage_and_unstamped_files_are_errors() {
        let err = read_stamps(b"not an executable at all").unwrap_err();
        assert_eq!(err.kind(), InspectErrorKind::Unsupported, "{err}");
        assert_eq!(err.to_string(), "not an ELF, Mach-O or PE executable");
        // This test binary is an executable without a shipstamp section.
        let own = std::env::current_exe().unwrap();
        let err = read_stamps_from_file(&own).unwrap_err();
        assert_eq!(err.kind(), InspectErrorKind::NoStamp, "{err}");
        let err = read_stamps_from_file("/no/such/file").unwrap_err();
        assert_eq!(err.kind(), InspectErrorKind::NotFound, "{err}");
        assert!(
            err.to_string().starts_with("cannot read /no/such/file"),
            "{err}"
        );
    }

    #[test]
    fn missing_process() {
        let err = inspect_process(u32::MAX).unwrap_err();
        assert_eq!(err.kind(), InspectErrorKind::NotFound, "{err}");
        assert!(err.to_string().contains("no process with id"), "{err}");
    }
}
