//! The model: what was observed of an instance ([`Observation`]), how it was judged
//! ([`TargetReport`], [`Status`]), and how to check ([`Options`]).

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use shipstamp::Timestamp;

use crate::process::ProcessFacts;
use crate::reason::Reason;
use crate::repo::Commit;
use crate::served::{Served, ServedShape};

/// A target's status against the ref.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Status {
    /// It serves the ref's commit.
    Match,
    /// It serves an ancestor of the ref.
    Behind,
    /// It serves a descendant of the ref.
    Ahead,
    /// It serves a commit on another line of history.
    Diverged,
    /// It serves a commit the local repository does not have.
    UnknownCommit,
    /// It was built from uncommitted changes.
    Dirty,
    /// It did not answer.
    Unreachable,
    /// It answered with something that is not a version document.
    InvalidResponse,
    /// A process without a stamp that started before the ref's commit was made: it cannot be
    /// running that commit (short of loading code lazily or reloading it).
    Stale,
    /// A process without a stamp that started after the ref's commit was made: that proves
    /// nothing about what it runs.
    Unstamped,
    /// It runs a build that contains every commit asked about ([`Expected::Contains`]): by
    /// ancestry, or the same change (a cherry-pick, a squash merge).
    Includes,
    /// It runs a build that lacks one of the commits asked about: drift.
    Lacks,
}

impl Status {
    /// The status as written in output: `match`, `behind`, `unknown-commit`, …
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Match => "match",
            Status::Behind => "behind",
            Status::Ahead => "ahead",
            Status::Diverged => "diverged",
            Status::UnknownCommit => "unknown-commit",
            Status::Dirty => "dirty",
            Status::Unreachable => "unreachable",
            Status::InvalidResponse => "invalid-response",
            Status::Stale => "stale",
            Status::Unstamped => "unstamped",
            Status::Includes => "includes",
            Status::Lacks => "lacks",
        }
    }

    /// Whether this is what was asked for: `match` the ref, or `includes` the commits.
    pub fn is_ok(self) -> bool {
        matches!(self, Status::Match | Status::Includes)
    }

    /// Drift: the target runs something other than the ref.
    pub fn is_drift(self) -> bool {
        matches!(
            self,
            Status::Behind
                | Status::Ahead
                | Status::Diverged
                | Status::Dirty
                | Status::Stale
                | Status::Lacks
        )
    }

    /// Whether waiting can still turn this into a match: a target ahead of or diverged from
    /// the ref will not move back by itself.
    pub fn can_converge(self) -> bool {
        !matches!(self, Status::Ahead | Status::Diverged)
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What targets should run: the ref's commit exactly (a deploy gate), or any build that
/// contains some commits (an incident: "is the fix running?").
///
/// ```
/// use shipstamp_check::{Commit, Expected};
///
/// let fix = Commit::new("64b8e19aa0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5");
/// let question = Expected::Contains(vec![fix]);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Expected {
    /// Exactly this commit: `match`, or `behind`, `ahead`, `diverged`. A build whose stamp
    /// carries its scope (`git.paths`, a package-scoped build) is held against it within that
    /// scope, as [`Expected::RefWithin`] holds every build.
    Ref(Commit),
    /// This commit, counting only the commits that change something under `paths`
    /// (repository-relative, taken literally: `services/orders`, `Cargo.lock`): a build that
    /// differs from it only by commits elsewhere is `match`, and `behind`, `ahead` and
    /// `diverged` count the commits under the paths ([`TargetReport::scope`] has all of them).
    /// No paths, or `.`, is the whole repository, whatever a build's stamp says.
    ///
    /// ```
    /// use shipstamp_check::{Commit, Expected};
    ///
    /// let main = Commit::new("64b8e19aa0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5");
    /// let question = Expected::RefWithin {
    ///     reference: main,
    ///     paths: vec!["services/orders".into(), "Cargo.lock".into()],
    /// };
    /// ```
    RefWithin {
        /// The ref's commit.
        reference: Commit,
        /// Where the commits that count change something.
        paths: Vec<String>,
    },
    /// Any build that contains every one of these commits (or the same changes): `includes` or
    /// `lacks`.
    Contains(Vec<Commit>),
}

impl Expected {
    /// The ref's commit, when a ref is what is expected ([`Expected::Ref`],
    /// [`Expected::RefWithin`]).
    pub fn reference(&self) -> Option<&Commit> {
        match self {
            Expected::Ref(c) | Expected::RefWithin { reference: c, .. } => Some(c),
            Expected::Contains(_) => None,
        }
    }

    /// When the newest commit asked about was made: a process that started before it cannot
    /// be running it.
    pub fn newest_time(&self) -> Option<shipstamp::Timestamp> {
        match self {
            Expected::Ref(c) | Expected::RefWithin { reference: c, .. } => c.time,
            Expected::Contains(commits) => commits.iter().filter_map(|c| c.time).max(),
        }
    }
}

impl From<&Expected> for Expected {
    fn from(expected: &Expected) -> Expected {
        expected.clone()
    }
}

impl From<&Commit> for Expected {
    fn from(commit: &Commit) -> Expected {
        Expected::Ref(commit.clone())
    }
}

impl From<Commit> for Expected {
    fn from(commit: Commit) -> Expected {
        Expected::Ref(commit)
    }
}

/// What a target was held against the ref within: the paths whose commits count, and the
/// counts of every commit.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Scope {
    /// Repository-relative paths: only commits that change something under them count.
    pub paths: Vec<String>,
    /// Whether the paths are the build's own (its stamp's `git.paths`), rather than given with
    /// [`Expected::RefWithin`].
    pub from_build: bool,
    /// Commits the target is behind the ref, counting every commit (`None` when it is not
    /// behind at all).
    pub behind_total: Option<u64>,
    /// Commits the target is ahead of the ref, counting every commit.
    pub ahead_total: Option<u64>,
}

/// How long a target has been missing something: since the oldest commit it lacks was made.
///
/// For `behind` and `diverged`, the oldest commit of the ref's history that the build does not
/// have (within the scope, when there is one); for `lacks`, the oldest commit asked about that
/// it lacks; for `stale`, the oldest commit of the ref's history made after the process
/// started. Committer time: when the commit was made, not when it was first written.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Drift {
    /// When that commit was made.
    pub since: Timestamp,
    /// Its full id.
    pub commit: String,
    /// Its subject line.
    pub subject: Option<String>,
}

impl Drift {
    /// Drift since `commit` was made; `None` when its time is not known.
    pub fn since_commit(commit: &Commit) -> Option<Drift> {
        Some(Drift {
            since: commit.time?,
            commit: commit.id.clone(),
            subject: commit.subject.clone(),
        })
    }

    /// How long it has lasted at `now` (0 when `since` is later, as a clock skew can make it).
    pub fn seconds_at(&self, now: Timestamp) -> u64 {
        u64::try_from(now.unix_seconds() - self.since.unix_seconds()).unwrap_or(0)
    }
}

/// A commit asked about with [`Expected::Contains`] that a target's build contains.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Included {
    /// The commit asked about (full id).
    pub commit: String,
    /// The commit of the served history that carries the same change, when it is not the
    /// commit itself (a cherry-pick, a squash merge).
    pub carrier: Option<String>,
}

/// Why nothing can be said about what an instance runs, or only what its start time says: the
/// status (`unreachable`, `invalid-response`, or `unstamped` for a process without a stamp,
/// which is then judged by when it started) and the reason.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Failure {
    /// The status the instance gets.
    pub status: Status,
    /// Why.
    pub reason: Reason,
}

impl Failure {
    /// A failure with this status and reason.
    pub fn new(status: Status, reason: impl Into<Reason>) -> Failure {
        Failure {
            status,
            reason: reason.into(),
        }
    }
}

/// What one instance was observed to run, however it was learned: a version endpoint, a
/// binary, a process, or a system that knows (Prometheus' series). [`Checker::judge`] holds
/// observations against a ref.
///
/// [`Checker::judge`]: crate::Checker::judge
///
/// ```
/// use shipstamp_check::{Observation, Served, ServedShape};
///
/// let mut served = Served::new(ServedShape::Shipstamp, "3f9c2e1aa0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5")?;
/// served.dirty = Some(false);
/// let seen = Observation::served("orders-7.internal:8080", Some("orders-7".into()), served);
/// # Ok::<(), shipstamp_check::ParseError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Observation {
    /// Where the instance is: its URL, `pid:N`, a path, or what the source calls it
    /// (`10.0.0.1:8080`).
    pub url: String,
    /// A name to show.
    pub name: Option<String>,
    /// What it runs, or why that cannot be said.
    pub outcome: Result<Served, Failure>,
    /// What Linux tells about it, when it is a process (or a container's main process).
    pub process: Option<ProcessFacts>,
    /// What its engine tells, when it is a container (shared with its report, and kept out of
    /// line: most observations are not containers).
    pub container: Option<Arc<crate::ContainerFacts>>,
}

impl Observation {
    /// An instance that served `served`.
    pub fn served(url: impl Into<String>, name: Option<String>, served: Served) -> Observation {
        Observation {
            url: url.into(),
            name,
            outcome: Ok(served),
            process: None,
            container: None,
        }
    }

    /// When the process it runs started: its own, or its container's.
    pub(crate) fn started_at(&self) -> Option<Timestamp> {
        self.process
            .as_ref()
            .and_then(|p| p.started_at)
            .or_else(|| self.container.as_ref().and_then(|c| c.started_at))
    }

    /// An instance about which nothing can be said but `status` and `reason`.
    pub fn failed(
        url: impl Into<String>,
        name: Option<String>,
        status: Status,
        reason: impl Into<Reason>,
    ) -> Observation {
        Observation {
            url: url.into(),
            name,
            outcome: Err(Failure::new(status, reason)),
            process: None,
            container: None,
        }
    }
}

/// How to check.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Options {
    /// Treat a dirty build by its commit instead of as `dirty` drift.
    pub allow_dirty: bool,
    /// Time limit for each target's whole exchange (default 5 s: a hung host must not stall a
    /// round or a deploy gate for long). Sources that ask a system for many instances at once
    /// use it for each request unless they were given their own.
    pub timeout: Duration,
    /// Targets checked at once (default 32), across all the sources of one round.
    pub concurrency: usize,
    /// How hosts are resolved: the system's resolver unless set.
    #[cfg(feature = "http")]
    pub resolver: Option<crate::Resolver>,
    /// The container engine `container:` targets are read through (unless a target names its
    /// own): [`Engine::from_env`](crate::Engine::from_env) unless set.
    pub engine: Option<crate::Engine>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            allow_dirty: false,
            timeout: Duration::from_secs(5),
            concurrency: 32,
            #[cfg(feature = "http")]
            resolver: None,
            engine: None,
        }
    }
}

impl Options {
    /// Sets [`Options::allow_dirty`].
    pub fn allow_dirty(mut self, allow: bool) -> Self {
        self.allow_dirty = allow;
        self
    }

    /// Sets [`Options::timeout`].
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Sets [`Options::concurrency`] (at least 1).
    pub fn concurrency(mut self, n: usize) -> Self {
        self.concurrency = n.max(1);
        self
    }

    /// Sets [`Options::engine`].
    pub fn engine(mut self, engine: crate::Engine) -> Self {
        self.engine = Some(engine);
        self
    }

    /// Sets [`Options::resolver`].
    #[cfg(feature = "http")]
    pub fn resolver(mut self, resolver: crate::Resolver) -> Self {
        self.resolver = Some(resolver);
        self
    }
}

/// One target's result.
///
/// Made by [`Checker::check`](crate::Checker::check) and [`Checker::judge`](crate::Checker::judge);
/// [`TargetReport::new`] makes one by hand, for a test of code that reads reports.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct TargetReport {
    /// Where the instance is, as shown: its URL, `pid:N`, a path, or a source's name for it.
    pub url: String,
    /// Its display name, if any.
    pub name: Option<String>,
    /// The status.
    pub status: Status,
    /// Why, for every status but `match` and the plain counts of `behind`, `ahead` and
    /// `diverged`.
    pub reason: Option<Reason>,
    /// The full commit served (resolved in the repository when it was abbreviated).
    pub commit: Option<String>,
    /// The served commit's subject line, from the local repository.
    pub commit_subject: Option<String>,
    /// The served commit's committer time, from the local repository.
    pub commit_time: Option<Timestamp>,
    /// The shape of the body.
    pub shape: Option<ServedShape>,
    /// Package name, when served.
    pub package: Option<String>,
    /// Package version, when served.
    pub version: Option<String>,
    /// Whether the served build was dirty, when served.
    pub dirty: Option<bool>,
    /// Commits the target is behind the ref (within [`TargetReport::scope`], when there is one:
    /// then `Some(0)` when every commit it is behind is elsewhere).
    pub behind: Option<u64>,
    /// Commits the target is ahead of the ref (within [`TargetReport::scope`], as `behind`).
    pub ahead: Option<u64>,
    /// The merge base, when diverged.
    pub merge_base: Option<String>,
    /// When the served build was made, when served.
    pub built_at: Option<Timestamp>,
    /// When the serving process started, when served.
    pub started_at: Option<Timestamp>,
    /// Whether the serving process started before the ref's commit was made (with
    /// [`Expected::Contains`], the newest commit asked about): the classic "deployed but never
    /// restarted" signal.
    pub started_before_ref: bool,
    /// Whether the serving process's executable was replaced on disk (a restart is pending).
    pub exe_replaced: Option<bool>,
    /// What Linux tells about the process, for a `pid:` or `pidfile:` target (and a
    /// container's main process, when it can be read).
    pub process: Option<ProcessFacts>,
    /// What the engine tells about the container, for a `container:` target: the image it
    /// runs, the one its reference names now, whether it needs recreating.
    pub container: Option<Arc<crate::ContainerFacts>>,
    /// The paths whose commits counted, and the counts of all commits, when the target was
    /// held against the ref within a scope (its build's, or [`Expected::RefWithin`]'s).
    pub scope: Option<Scope>,
    /// With [`Expected::Contains`]: the commits asked about that the build contains.
    pub includes: Vec<Included>,
    /// With [`Expected::Contains`]: the commits asked about that the build lacks.
    pub lacks: Vec<String>,
    /// Since when it has been missing something, for `behind`, `diverged`, `lacks` and `stale`
    /// (when the repository can tell); shared by the reports that miss the same commit (a fleet
    /// of 100,000 runs a few builds).
    pub drift: Option<Arc<Drift>>,
}

impl TargetReport {
    /// A report with this status and nothing else known.
    ///
    /// ```
    /// use shipstamp_check::{Status, TargetReport};
    ///
    /// let mut report = TargetReport::new("http://orders-1.internal/version", Status::Behind);
    /// report.behind = Some(3);
    /// assert!(report.status.is_drift());
    /// ```
    pub fn new(url: impl Into<String>, status: Status) -> TargetReport {
        TargetReport {
            url: url.into(),
            name: None,
            status,
            reason: None,
            commit: None,
            commit_subject: None,
            commit_time: None,
            shape: None,
            package: None,
            version: None,
            dirty: None,
            behind: None,
            ahead: None,
            merge_base: None,
            built_at: None,
            started_at: None,
            started_before_ref: false,
            exe_replaced: None,
            process: None,
            container: None,
            scope: None,
            includes: Vec::new(),
            lacks: Vec::new(),
            drift: None,
        }
    }

    pub(crate) fn named(url: &str, name: Option<&str>, status: Status) -> TargetReport {
        TargetReport {
            name: name.map(str::to_owned),
            ..TargetReport::new(url, status)
        }
    }
}
