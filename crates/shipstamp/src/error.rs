use std::fmt;

/// An error of this crate: a document or embedded record that cannot be read, or a startup
/// line that could not be written.
#[derive(Debug)]
pub struct Error {
    kind: Repr,
}

#[derive(Debug)]
pub(crate) enum Repr {
    /// Malformed JSON, or a document that is not a valid `shipstamp/v1` stamp.
    Json(serde_json::Error),
    /// A link section that does not hold shipstamp records.
    Section(String),
    /// `try_log_startup` found no tracing subscriber or log logger to write to.
    NoLogger,
    /// Writing the startup line to standard error failed.
    Io(std::io::Error),
}

/// What kind of failure an [`Error`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// Malformed JSON, or a document that is not a valid `shipstamp/v1` stamp.
    Document,
    /// A link section that does not hold shipstamp records.
    Section,
    /// `try_log_startup` found no tracing subscriber or log logger to write to.
    NoLogger,
    /// Writing the startup line to standard error failed.
    Io,
}

impl Error {
    pub(crate) fn new(kind: Repr) -> Self {
        Error { kind }
    }

    /// What kind of failure this is.
    pub fn kind(&self) -> ErrorKind {
        match self.kind {
            Repr::Json(_) => ErrorKind::Document,
            Repr::Section(_) => ErrorKind::Section,
            Repr::NoLogger => ErrorKind::NoLogger,
            Repr::Io(_) => ErrorKind::Io,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kind {
            Repr::Json(e) => write!(f, "not a shipstamp/v1 document: {e}"),
            Repr::Section(why) => write!(f, "not a shipstamp section: {why}"),
            Repr::NoLogger => f.write_str("no tracing subscriber or log logger is installed"),
            Repr::Io(e) => write!(f, "could not write the startup line: {e}"),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match &self.kind {
            Repr::Json(e) => Some(e),
            Repr::Io(e) => Some(e),
            Repr::Section(_) | Repr::NoLogger => None,
        }
    }
}
