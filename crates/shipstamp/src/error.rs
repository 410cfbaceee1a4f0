use std::fmt;

/// An error of this crate: a document or embedded record that cannot be read, or a startup
/// line that could not be written.
#[derive(Debug)]
pub struct Error {
    kind: ErrorKind,
}

#[derive(Debug)]
pub(crate) enum ErrorKind {
    /// Malformed JSON, or a document that is not a valid `shipstamp/v1` stamp.
    Json(serde_json::Error),
    /// A link section that does not hold shipstamp records.
    Section(String),
    /// `try_log_startup` found no tracing subscriber or log logger to write to.
    NoLogger,
    /// Writing the startup line to standard error failed.
    Io(std::io::Error),
}

impl Error {
    pub(crate) fn new(kind: ErrorKind) -> Self {
        Error { kind }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kind {
            ErrorKind::Json(e) => write!(f, "not a shipstamp/v1 document: {e}"),
            ErrorKind::Section(why) => write!(f, "not a shipstamp section: {why}"),
            ErrorKind::NoLogger => f.write_str("no tracing subscriber or log logger is installed"),
            ErrorKind::Io(e) => write!(f, "could not write the startup line: {e}"),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match &self.kind {
            ErrorKind::Json(e) => Some(e),
            ErrorKind::Io(e) => Some(e),
            ErrorKind::Section(_) | ErrorKind::NoLogger => None,
        }
    }
}
