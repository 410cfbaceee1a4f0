//! Why a target has the status it has, as a typed value: a kind a program can match on, and a
//! sentence for people. The sentences name no command-line flags; a tool built on this library
//! adds its own hints by kind (the `shipstamp` CLI adds `--allow-dirty` to [`ReasonKind::Dirty`]).

use std::fmt;

use crate::served::ParseErrorKind;

/// What kind of reason a [`Reason`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ReasonKind {
    /// No answer: refused, timed out, no such host, a TLS failure.
    NoAnswer,
    /// An answer that is not a version document: an HTTP error status, too large, a redirect
    /// loop, a damaged compressed body.
    BadAnswer,
    /// A body that is not a version document, and how ([`ParseErrorKind`]).
    BadDocument(ParseErrorKind),
    /// The host of an instance-per-address target did not resolve, or to no address.
    NotResolved,
    /// A binary that cannot be read, or carries no stamp (or one without a commit).
    Binary,
    /// A process that cannot be read: gone, not permitted, not Linux.
    Process,
    /// A pidfile that cannot be used: missing, no process id in it, or stale.
    PidFile,
    /// A container that cannot be read: no engine, no such container, not running.
    Container,
    /// A container whose image reference now names another image: recreating it would run
    /// something else.
    Recreate,
    /// A process without a stamp, judged by when it started.
    NoStamp,
    /// The served commit is not in the local repository.
    NotInRepository,
    /// The served commit is not in the local repository, which is a shallow clone: it may be
    /// older than the clone's history.
    NotInShallowClone,
    /// An abbreviated id that names several commits in the local repository.
    AmbiguousCommit,
    /// An id that names something other than a commit (a tree, a blob).
    NotACommit,
    /// The shallow clone's history between the served commit and the ref is cut: counts
    /// cannot be given.
    HistoryCut,
    /// Built from uncommitted changes.
    Dirty,
    /// A build that matches the ref within its scope while the ref has commits elsewhere (or
    /// the build does): where they are.
    Scope,
    /// What a build contains of the commits asked about, and how it was found.
    Contains,
    /// A commit asked about that a build lacks, and where the build stands.
    Lacks,
    /// What a source says about an instance it cannot vouch for (Prometheus: its scrape fails,
    /// it stopped reporting).
    Source,
    /// Anything else.
    Other,
}

/// Why a target has its status.
///
/// ```
/// use shipstamp_check::{Reason, ReasonKind};
///
/// let reason = Reason::new(ReasonKind::NoAnswer, "connection refused");
/// assert_eq!(reason.kind(), ReasonKind::NoAnswer);
/// assert_eq!(reason.to_string(), "connection refused");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Reason {
    kind: ReasonKind,
    message: String,
}

impl Reason {
    /// A reason of `kind` that says `message` (one line).
    pub fn new(kind: ReasonKind, message: impl Into<String>) -> Reason {
        Reason {
            kind,
            message: message.into(),
        }
    }

    /// What kind of reason this is.
    pub fn kind(&self) -> ReasonKind {
        self.kind
    }

    /// The sentence.
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl From<String> for Reason {
    /// A reason of kind [`ReasonKind::Other`].
    fn from(message: String) -> Reason {
        Reason::new(ReasonKind::Other, message)
    }
}

impl From<&str> for Reason {
    /// A reason of kind [`ReasonKind::Other`].
    fn from(message: &str) -> Reason {
        Reason::new(ReasonKind::Other, message)
    }
}
