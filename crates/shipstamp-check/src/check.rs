//! Holding live targets against a git ref.

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use crate::fetch::{FetchError, Fetcher};
use crate::repo::{Commit, Relation, Repo, RepoError};
use crate::served::{Served, parse_served};

/// A target's status against the ref.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
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
        }
    }

    /// Drift: the target runs something other than the ref.
    pub fn is_drift(self) -> bool {
        matches!(
            self,
            Status::Behind | Status::Ahead | Status::Diverged | Status::Dirty
        )
    }

    /// Whether waiting can still turn this into a match: a target ahead of or diverged from
    /// the ref will not move back by itself.
    pub fn can_converge(self) -> bool {
        !matches!(self, Status::Ahead | Status::Diverged)
    }
}

/// A target to check.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Target {
    /// The version endpoint's URL.
    pub url: String,
    /// A name to show instead of the URL.
    pub name: Option<String>,
}

impl Target {
    /// A target with no name.
    pub fn new(url: impl Into<String>) -> Target {
        Target {
            url: url.into(),
            name: None,
        }
    }

    /// A target with a display name.
    pub fn named(url: impl Into<String>, name: impl Into<String>) -> Target {
        Target {
            url: url.into(),
            name: Some(name.into()),
        }
    }
}

/// How to check.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Options {
    /// Treat a dirty build by its commit instead of as `dirty` drift.
    pub allow_dirty: bool,
    /// Time limit for each target's whole exchange.
    pub timeout: Duration,
    /// Targets checked at once.
    pub concurrency: usize,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            allow_dirty: false,
            timeout: Duration::from_secs(10),
            concurrency: 32,
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
}

/// One target's result.
#[derive(Debug, Clone, serde::Serialize)]
#[non_exhaustive]
pub struct TargetReport {
    /// The URL checked.
    pub url: String,
    /// Its display name, if any.
    pub name: Option<String>,
    /// The status.
    pub status: Status,
    /// Why, for `unreachable`, `invalid-response`, `unknown-commit` and `dirty`.
    pub reason: Option<String>,
    /// The full commit served (resolved in the repository when it was abbreviated).
    pub commit: Option<String>,
    /// The served commit's subject line, from the local repository.
    pub commit_subject: Option<String>,
    /// The served commit's committer time, from the local repository.
    pub commit_time: Option<shipstamp::Timestamp>,
    /// The shape of the body.
    pub shape: Option<crate::Shape>,
    /// Package name, when served.
    pub package: Option<String>,
    /// Package version, when served.
    pub version: Option<String>,
    /// Whether the served build was dirty, when served.
    pub dirty: Option<bool>,
    /// Commits the target is behind the ref.
    pub behind: Option<u64>,
    /// Commits the target is ahead of the ref.
    pub ahead: Option<u64>,
    /// The merge base, when diverged.
    pub merge_base: Option<String>,
    /// When the served build was made, when served.
    pub built_at: Option<shipstamp::Timestamp>,
    /// When the serving process started, when served.
    pub started_at: Option<shipstamp::Timestamp>,
    /// Whether the serving process started before the ref's commit was made: the classic
    /// "deployed but never restarted" signal.
    pub started_before_ref: bool,
    /// Whether the serving process's executable was replaced on disk (a restart is pending).
    pub exe_replaced: Option<bool>,
}

impl TargetReport {
    fn new(target: &Target, status: Status) -> TargetReport {
        TargetReport {
            url: target.url.clone(),
            name: target.name.clone(),
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
        }
    }

    fn failed(target: &Target, status: Status, reason: String) -> TargetReport {
        TargetReport {
            reason: Some(reason),
            ..TargetReport::new(target, status)
        }
    }
}

/// The exit code for a set of results: 1 when any target drifted, else 2 when any could not be
/// decided, else 0.
pub fn exit_code(reports: &[TargetReport]) -> u8 {
    if reports.iter().any(|r| r.status.is_drift()) {
        1
    } else if reports.iter().any(|r| r.status != Status::Match) {
        2
    } else {
        0
    }
}

/// Checks every target against `reference`, `options.concurrency` at a time. Results come back
/// in the order of `targets`.
pub fn check(
    targets: &[Target],
    repo: &Repo,
    reference: &Commit,
    options: &Options,
) -> Vec<TargetReport> {
    let fetcher = Fetcher::new(options.timeout);
    let git = GitAnswers::new(repo, reference);
    let next = AtomicUsize::new(0);
    let results: Mutex<Vec<Option<TargetReport>>> = Mutex::new(vec![None; targets.len()]);
    let workers = options.concurrency.clamp(1, targets.len().max(1));
    std::thread::scope(|scope| {
        for _ in 0..workers {
            scope.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(target) = targets.get(i) else { break };
                    let report = check_one(&fetcher, target, &git, reference, options);
                    results.lock().unwrap_or_else(|p| p.into_inner())[i] = Some(report);
                }
            });
        }
    });
    results
        .into_inner()
        .unwrap_or_else(|p| p.into_inner())
        .into_iter()
        .zip(targets)
        .map(|(r, t)| {
            r.unwrap_or_else(|| {
                TargetReport::failed(t, Status::InvalidResponse, "not checked".into())
            })
        })
        .collect()
}

/// What git says about a served commit id: its full commit, and how it relates to the ref.
type Answer = Result<Option<(Commit, Relation)>, String>;

/// Git's answers, once per distinct served id: a fleet serves a handful of commits, and each
/// answer costs a few `git` processes.
struct GitAnswers<'a> {
    repo: &'a Repo,
    reference: &'a Commit,
    answers: Mutex<HashMap<String, Answer>>,
}

impl<'a> GitAnswers<'a> {
    fn new(repo: &'a Repo, reference: &'a Commit) -> Self {
        GitAnswers {
            repo,
            reference,
            answers: Mutex::default(),
        }
    }

    fn about(&self, served_id: &str) -> Answer {
        if let Some(answer) = self.lock().get(served_id) {
            return answer.clone();
        }
        // Two workers may ask at once; both get the same answer, one is kept.
        let answer = self.ask(served_id).map_err(|e| e.to_string());
        self.lock().insert(served_id.to_owned(), answer.clone());
        answer
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Answer>> {
        self.answers.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn ask(&self, served_id: &str) -> Result<Option<(Commit, Relation)>, RepoError> {
        let Some(commit) = self.repo.find_commit(served_id)? else {
            return Ok(None);
        };
        let relation = self.repo.relation(&commit.id, &self.reference.id)?;
        Ok(Some((commit, relation)))
    }
}

fn check_one(
    fetcher: &Fetcher,
    target: &Target,
    git: &GitAnswers<'_>,
    reference: &Commit,
    options: &Options,
) -> TargetReport {
    let body = match fetcher.get(&target.url) {
        Ok(body) => body,
        Err(FetchError::Unreachable(why)) => {
            return TargetReport::failed(target, Status::Unreachable, why);
        }
        Err(FetchError::Invalid(why)) => {
            return TargetReport::failed(target, Status::InvalidResponse, why);
        }
    };
    let served = match parse_served(&body) {
        Ok(served) => served,
        Err(why) => return TargetReport::failed(target, Status::InvalidResponse, why),
    };
    classify(target, &served, git, reference, options)
}

fn classify(
    target: &Target,
    served: &Served,
    git: &GitAnswers<'_>,
    reference: &Commit,
    options: &Options,
) -> TargetReport {
    let mut report = TargetReport::new(target, Status::Match);
    report.shape = Some(served.shape);
    report.dirty = served.dirty;
    report.built_at = served.built_at;
    report.started_at = served.started_at;
    report.exe_replaced = served.exe_replaced;
    if let Some((name, version)) = &served.package {
        report.package = Some(name.clone());
        report.version = Some(version.clone());
    }
    report.started_before_ref =
        matches!((served.started_at, reference.time), (Some(s), Some(r)) if s < r);
    let (commit, relation) = match git.about(&served.commit) {
        Ok(Some(answer)) => answer,
        Ok(None) => {
            report.status = Status::UnknownCommit;
            report.commit = Some(served.commit.clone());
            report.reason = Some(format!(
                "{} is not in the local repository (git fetch?)",
                served.commit
            ));
            return report;
        }
        Err(why) => {
            report.status = Status::UnknownCommit;
            report.reason = Some(why);
            return report;
        }
    };
    report.commit = Some(commit.id.clone());
    report.commit_subject = commit.subject.clone();
    report.commit_time = commit.time;
    report.status = match relation {
        Relation::Same => Status::Match,
        Relation::Behind(n) => {
            report.behind = Some(n);
            Status::Behind
        }
        Relation::Ahead(n) => {
            report.ahead = Some(n);
            Status::Ahead
        }
        Relation::Diverged {
            merge_base,
            ahead,
            behind,
        } => {
            report.merge_base = merge_base;
            report.ahead = Some(ahead);
            report.behind = Some(behind);
            Status::Diverged
        }
    };
    if served.dirty == Some(true) && !options.allow_dirty {
        report.reason = Some(format!(
            "built from uncommitted changes on top of {} (--allow-dirty to judge it by its commit)",
            &commit.id[..commit.id.len().min(12)]
        ));
        report.status = Status::Dirty;
    }
    report
}
