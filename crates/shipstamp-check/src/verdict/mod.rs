//! The verdict: what was observed of an instance, where its commit stands against the ref, and
//! the options, turned into a status and a reason. Pure: git has been asked already (the
//! [`Standing`] of each served commit), so every way to each status is tested in a table below.

use crate::process::ProcessFacts;
use crate::reason::{Reason, ReasonKind};
use crate::repo::{Commit, Cut, Lookup, Relation};
use crate::report::{Failure, Observation, Status, TargetReport};
use crate::served::Served;

/// Where a served commit stands, as the local repository tells.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Standing {
    /// The repository has it: its facts, and how it relates to the ref.
    Found { commit: Commit, relation: Relation },
    /// The repository does not have it (or not as one commit), and whether it is a shallow
    /// clone (which may have cut it off).
    NotFound { lookup: Lookup, shallow: bool },
}

/// The report for one observation. `standing` is where its served commit stands (`None` when it
/// served none).
pub(crate) fn judge(
    observation: &Observation,
    standing: Option<&Standing>,
    reference: &Commit,
    allow_dirty: bool,
) -> TargetReport {
    let (url, name) = (&observation.url, observation.name.as_deref());
    let mut report = match (&observation.outcome, standing) {
        (Ok(served), Some(standing)) => {
            served_report(url, name, served, standing, reference, allow_dirty)
        }
        (Ok(served), None) => {
            // Every served commit is asked about; a caller that skipped one gets no verdict.
            let mut report = TargetReport::named(url, name, Status::UnknownCommit);
            report.commit = Some(served.commit.clone());
            report.reason = Some(Reason::new(
                ReasonKind::NotInRepository,
                format!(
                    "{} was not looked up in the local repository",
                    served.commit
                ),
            ));
            report
        }
        (Err(failure), _) if failure.status == Status::Unstamped => {
            unstamped(url, name, observation.process.as_ref(), failure, reference)
        }
        (Err(failure), _) => {
            let mut report = TargetReport::named(url, name, failure.status);
            report.reason = Some(failure.reason.clone());
            report
        }
    };
    if let Some(process) = &observation.process {
        report.started_at = report.started_at.or(process.started_at);
        report.exe_replaced = Some(process.exe_replaced);
        report.started_before_ref = started_before(process.started_at, reference);
        report.process = Some(process.clone());
    }
    report
}

fn started_before(started: Option<shipstamp::Timestamp>, reference: &Commit) -> bool {
    matches!((started, reference.time), (Some(s), Some(r)) if s < r)
}

/// The first 12 digits of a commit id, for reasons.
fn short12(id: &str) -> &str {
    &id[..id.len().min(12)]
}

/// A target that served a commit.
fn served_report(
    url: &str,
    name: Option<&str>,
    served: &Served,
    standing: &Standing,
    reference: &Commit,
    allow_dirty: bool,
) -> TargetReport {
    let mut report = TargetReport::named(url, name, Status::Match);
    report.shape = Some(served.shape);
    report.dirty = served.dirty;
    report.built_at = served.built_at;
    report.started_at = served.started_at;
    report.exe_replaced = served.exe_replaced;
    report.package = served.package.clone();
    report.version = served.version.clone();
    report.started_before_ref = started_before(served.started_at, reference);
    let (commit, relation) = match standing {
        Standing::Found { commit, relation } => (commit, relation),
        Standing::NotFound { lookup, shallow } => {
            let c = &served.commit;
            report.status = Status::UnknownCommit;
            report.commit = Some(c.clone());
            report.reason = Some(match lookup {
                Lookup::Missing if *shallow => Reason::new(
                    ReasonKind::NotInShallowClone,
                    format!(
                        "{c} is not in the local repository, a shallow clone: it may be older \
                         than the clone's history (git fetch --unshallow, or --deepen N)"
                    ),
                ),
                Lookup::Ambiguous => Reason::new(
                    ReasonKind::AmbiguousCommit,
                    format!("the abbreviated id {c} names several commits in the local repository"),
                ),
                Lookup::NotACommit(kind) => Reason::new(
                    ReasonKind::NotACommit,
                    format!("{c} names a {kind} in the local repository, not a commit"),
                ),
                Lookup::Missing | Lookup::Found(_) => Reason::new(
                    ReasonKind::NotInRepository,
                    format!("{c} is not in the local repository (git fetch?)"),
                ),
            });
            return report;
        }
    };
    report.commit = Some(commit.id.clone());
    report.commit_subject = commit.subject.clone();
    report.commit_time = commit.time;
    report.status = match relation {
        Relation::Same => Status::Match,
        Relation::Behind(n) => {
            report.behind = Some(*n);
            Status::Behind
        }
        Relation::Ahead(n) => {
            report.ahead = Some(*n);
            Status::Ahead
        }
        Relation::Diverged {
            merge_base,
            ahead,
            behind,
        } => {
            report.merge_base = merge_base.clone();
            report.ahead = Some(*ahead);
            report.behind = Some(*behind);
            Status::Diverged
        }
        Relation::Cut(cut) => {
            let (status, what) = match cut {
                Cut::Behind => (Status::Behind, "how many commits behind"),
                Cut::Ahead => (Status::Ahead, "how many commits ahead"),
                Cut::Unknown => (Status::UnknownCommit, "how it relates to the ref"),
            };
            report.reason = Some(Reason::new(
                ReasonKind::HistoryCut,
                format!(
                    "the shallow clone's history between {} and the ref is cut: {what} is not \
                     known (git fetch --unshallow, or --deepen N)",
                    short12(&commit.id)
                ),
            ));
            status
        }
    };
    if served.dirty == Some(true) && !allow_dirty {
        report.reason = Some(Reason::new(
            ReasonKind::Dirty,
            format!(
                "built from uncommitted changes on top of {}",
                short12(&commit.id)
            ),
        ));
        report.status = Status::Dirty;
    }
    report
}

/// A process without a stamp, judged by when it started: before the ref's commit was made it
/// cannot be running it (`stale`); after, nothing can be said (`unstamped`).
fn unstamped(
    url: &str,
    name: Option<&str>,
    process: Option<&ProcessFacts>,
    failure: &Failure,
    reference: &Commit,
) -> TargetReport {
    let why = &failure.reason;
    let started = process.and_then(|p| p.started_at);
    let short = &reference.id[..reference.id.len().min(7)];
    let (status, message) = match (started, reference.time) {
        (Some(s), Some(r)) if s < r => (
            Status::Stale,
            format!(
                "{why}; it started {s}, before the ref's commit {short} was made ({r}): it \
                 cannot be running it, unless it loads code lazily or reloads it"
            ),
        ),
        (Some(s), Some(r)) => (
            Status::Unstamped,
            format!(
                "{why}; it started {s}, after the ref's commit {short} was made ({r}), which \
                 proves nothing on its own"
            ),
        ),
        _ => (
            Status::Unstamped,
            format!("{why}, and when it or the ref's commit started is not known"),
        ),
    };
    let mut report = TargetReport::named(url, name, status);
    report.reason = Some(Reason::new(ReasonKind::NoStamp, message));
    report
}

#[cfg(test)]
mod tests;
