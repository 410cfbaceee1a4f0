//! The exit codes, and the one error type of the command: a one-line message and the exit code
//! it means. `main` turns it into the process's exit, and nothing else does.

use std::fmt;
use std::io;

use shipstamp_check::{RepoError, RepoErrorKind};

/// Every target matches (or: the stamp was read, the process runs what is on disk).
pub(crate) const OK: u8 = 0;
/// Drift: some target runs something other than the ref (or: a restart is needed).
pub(crate) const DRIFT: u8 = 1;
/// Could not decide: some target is unreachable, invalid, unknown or unstamped, or the ref,
/// the repository or a source is bad.
pub(crate) const UNDECIDED: u8 = 2;
/// A usage error: a bad flag, value or file.
pub(crate) const USAGE: u8 = 64;

/// Why a command could not do its work.
#[derive(Debug)]
pub(crate) struct CliError {
    code: u8,
    message: String,
    /// An I/O error the message came from, to tell a closed standard output apart.
    io: Option<io::ErrorKind>,
}

impl CliError {
    /// A usage error (64).
    pub(crate) fn usage(message: impl Into<String>) -> CliError {
        CliError::new(USAGE, message)
    }

    /// Could not decide (2).
    pub(crate) fn undecided(message: impl Into<String>) -> CliError {
        CliError::new(UNDECIDED, message)
    }

    pub(crate) fn new(code: u8, message: impl Into<String>) -> CliError {
        CliError {
            code,
            message: message.into(),
            io: None,
        }
    }

    /// The same error, its message preceded by `what` (`writing page.html: …`).
    pub(crate) fn context(mut self, what: impl fmt::Display) -> CliError {
        self.message = format!("{what}: {}", self.message);
        self
    }

    /// The exit code this error means.
    pub(crate) fn code(&self) -> u8 {
        self.code
    }

    /// Whether nobody reads standard output any more (`shipstamp … | head`): not a failure.
    pub(crate) fn is_broken_pipe(&self) -> bool {
        self.io == Some(io::ErrorKind::BrokenPipe)
    }
}

impl fmt::Display for CliError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for CliError {}

impl From<io::Error> for CliError {
    fn from(e: io::Error) -> CliError {
        CliError {
            io: Some(e.kind()),
            ..CliError::undecided(e.to_string())
        }
    }
}

impl From<serde_json::Error> for CliError {
    fn from(e: serde_json::Error) -> CliError {
        match e.io_error_kind() {
            Some(kind) => CliError::from(io::Error::from(kind)),
            None => CliError::undecided(e.to_string()),
        }
    }
}

impl From<RepoError> for CliError {
    /// With the hint for the flag that fixes it.
    fn from(e: RepoError) -> CliError {
        CliError::undecided(repo_message(&e, None))
    }
}

/// A repository error as the command says it: where a fleet file names the repository, or
/// else the hint for the flag that fixes it.
pub(crate) fn repo_message(e: &RepoError, named_at: Option<&str>) -> String {
    match (e.kind(), named_at) {
        (_, Some(at)) => format!("{at}: {e}"),
        (RepoErrorKind::NotARepository, None) => format!("{e} (use --repo DIR)"),
        _ => e.to_string(),
    }
}
