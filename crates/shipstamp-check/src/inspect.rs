//! Reading embedded stamps out of executables (ELF, Mach-O, PE) and running processes.

use std::fmt;
use std::path::{Path, PathBuf};

use object::{Object, ObjectSection};
use shipstamp::Stamp;

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
    NotAnExecutable {
        why: String,
    },
    NoStamp,
    Corrupt(shipstamp::Error),
    NoSuchProcess {
        pid: u32,
    },
    Unsupported,
}

impl InspectError {
    fn io(path: &Path, source: std::io::Error) -> Self {
        InspectError {
            kind: Kind::Io {
                path: path.to_path_buf(),
                source,
            },
        }
    }

    /// Whether the file is a readable executable that simply carries no shipstamp section.
    pub fn is_unstamped(&self) -> bool {
        matches!(self.kind, Kind::NoStamp)
    }
}

impl fmt::Display for InspectError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kind {
            Kind::Io { path, source } => write!(f, "cannot read {}: {source}", path.display()),
            Kind::NotAnExecutable { why } => write!(f, "not an ELF, Mach-O or PE executable ({why})"),
            Kind::NoStamp => f.write_str(
                "no shipstamp stamp in this binary (was it built with shipstamp-build and does it call shipstamp::stamp!()?)",
            ),
            Kind::Corrupt(e) => write!(f, "the shipstamp section is damaged: {e}"),
            Kind::NoSuchProcess { pid } => write!(f, "no process with id {pid} (or not permitted to see it)"),
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

/// Section names by object format; see `docs/embedded-format.md`.
const SECTION_NAMES: [&str; 3] = [
    shipstamp::SECTION_ELF,
    shipstamp::SECTION_MACH_O.1,
    shipstamp::SECTION_PE,
];

/// The stamps embedded in an executable's bytes, one per stamped crate.
pub fn read_stamps(data: &[u8]) -> Result<Vec<Stamp>, InspectError> {
    let file = object::File::parse(data).map_err(|e| InspectError {
        kind: Kind::NotAnExecutable { why: e.to_string() },
    })?;
    let section = SECTION_NAMES
        .iter()
        .find_map(|name| file.section_by_name(name))
        .ok_or(InspectError {
            kind: Kind::NoStamp,
        })?;
    let bytes = section.data().map_err(|e| InspectError {
        kind: Kind::NotAnExecutable { why: e.to_string() },
    })?;
    let stamps = shipstamp::stamps_in_section(bytes).map_err(|e| InspectError {
        kind: Kind::Corrupt(e),
    })?;
    if stamps.is_empty() {
        return Err(InspectError {
            kind: Kind::NoStamp,
        });
    }
    Ok(stamps)
}

/// [`read_stamps`] of the file at `path`.
pub fn read_stamps_from_file(path: &Path) -> Result<Vec<Stamp>, InspectError> {
    let data = std::fs::read(path).map_err(|e| InspectError::io(path, e))?;
    read_stamps(&data)
}

/// What a running process executes, and what is on disk at its executable's path now.
#[derive(Debug)]
#[non_exhaustive]
pub struct ProcessInspection {
    /// The process id.
    pub pid: u32,
    /// The path the process was started from.
    pub exe_path: PathBuf,
    /// Whether that file has been deleted (or replaced by rename) since.
    pub exe_deleted: bool,
    /// The stamps of the executable the process runs (read through `/proc/PID/exe`, which
    /// still reaches the old file after a replacement).
    pub running: Vec<Stamp>,
    /// The stamps of the file now at `exe_path`; `None` when there is no file there.
    pub on_disk: Option<Result<Vec<Stamp>, InspectError>>,
}

impl ProcessInspection {
    /// Whether the process runs something other than what is on disk now: the file is gone,
    /// or it carries different stamps (or none).
    pub fn restart_needed(&self) -> bool {
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

/// Reads the stamps of process `pid`'s executable and of the file now at its path (Linux).
pub fn inspect_process(pid: u32) -> Result<ProcessInspection, InspectError> {
    if !cfg!(target_os = "linux") {
        return Err(InspectError {
            kind: Kind::Unsupported,
        });
    }
    let proc_exe = PathBuf::from(format!("/proc/{pid}/exe"));
    let link = std::fs::read_link(&proc_exe).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => InspectError {
            kind: Kind::NoSuchProcess { pid },
        },
        _ => InspectError::io(&proc_exe, e),
    })?;
    let running = read_stamps_from_file(&proc_exe)?;
    // The kernel appends " (deleted)" once the file the process started from is gone.
    let link_text = link.to_string_lossy();
    let (exe_path, deleted) = match link_text.strip_suffix(" (deleted)") {
        Some(path) => (PathBuf::from(path), true),
        None => (link.clone(), false),
    };
    let on_disk = exe_path.exists().then(|| read_stamps_from_file(&exe_path));
    Ok(ProcessInspection {
        pid,
        exe_path,
        exe_deleted: deleted,
        running,
        on_disk,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn garbage_and_unstamped_files_are_errors() {
        let err = read_stamps(b"not an executable at all").unwrap_err();
        assert!(
            err.to_string()
                .starts_with("not an ELF, Mach-O or PE executable"),
            "{err}"
        );
        // This test binary is an executable without a shipstamp section.
        let own = std::env::current_exe().unwrap();
        let err = read_stamps_from_file(&own).unwrap_err();
        assert!(err.is_unstamped(), "{err}");
        let err = read_stamps_from_file(Path::new("/no/such/file")).unwrap_err();
        assert!(
            err.to_string().starts_with("cannot read /no/such/file"),
            "{err}"
        );
    }

    #[test]
    fn missing_process() {
        let err = inspect_process(u32::MAX).unwrap_err();
        assert!(err.to_string().contains("no process with id"), "{err}");
    }
}
