//! The verdict: what was observed of an instance, where its commit stands against the ref, and
//! the options, turned into a status and a reason. Pure: git has been asked already (the
//! [`Standing`] of each served commit), so every way to each status is tested in a table below.

use std::sync::Arc;

use crate::engine::{ContainerFacts, short_image};
use crate::reason::{Reason, ReasonKind};
use crate::repo::{Commit, Containment, Cut, Lookup, MAX_SEARCHED, Relation};
use crate::report::{Drift, Expected, Failure, Included, Observation, Scope, Status, TargetReport};
use crate::served::{Served, ServedShape};

/// Where a served commit stands, as the local repository tells.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Standing {
    /// The repository has it: its facts, how it relates to what is expected, and, when it is
    /// behind or diverged, the oldest commit of the ref's history it lacks.
    Found {
        commit: Commit,
        answer: Answer,
        missing: Option<Arc<Drift>>,
    },
    /// The repository does not have it (or not as one commit), and whether it is a shallow
    /// clone (which may have cut it off).
    NotFound { lookup: Lookup, shallow: bool },
}

/// How a served commit relates to what is expected of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Answer {
    /// To the ref's commit ([`Expected::Ref`]).
    Relation(Relation),
    /// To each commit asked about ([`Expected::Contains`]), in order; `shallow` when the
    /// repository is a shallow clone, which may not hold the history that would show it.
    Containment {
        each: Vec<Containment>,
        shallow: bool,
    },
    /// To the ref's commit, counting only the commits that change something `within` some
    /// paths (`relation`), and counting every commit (`whole`).
    Within {
        relation: Relation,
        whole: Relation,
        within: Within,
    },
}

impl Answer {
    /// Whether the served commit lacks commits of the ref's history (within the paths that
    /// count): it is behind or diverged.
    pub(crate) fn lacks_ref_commits(&self) -> bool {
        let relation = match self {
            Answer::Relation(relation) | Answer::Within { relation, .. } => relation,
            Answer::Containment { .. } => return false,
        };
        matches!(relation, Relation::Behind(_) | Relation::Diverged { .. })
    }
}

/// The paths a served commit is held against the ref within.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) struct Within {
    /// Repository-relative, sorted, each once.
    pub(crate) paths: Vec<String>,
    /// Whether they are the build's own (its stamp's `git.paths`).
    pub(crate) from_build: bool,
}

/// The report for one observation. `standing` is where its served commit stands (`None` when it
/// served none); `recent` holds commits of the ref's history, oldest first, among them the
/// oldest made after each process without a stamp started.
pub(crate) fn judge(
    observation: &Observation,
    standing: Option<&Standing>,
    expected: &Expected,
    allow_dirty: bool,
    recent: &[Commit],
) -> TargetReport {
    let (url, name) = (&observation.url, observation.name.as_deref());
    let mut report = match (&observation.outcome, standing) {
        (Ok(served), Some(standing)) => {
            served_report(url, name, served, standing, expected, allow_dirty)
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
        (Err(failure), _) if failure.status == Status::Unstamped => unstamped(
            url,
            name,
            observation.started_at(),
            failure,
            expected,
            recent,
        ),
        (Err(failure), _) => {
            let mut report = TargetReport::named(url, name, failure.status);
            report.reason = Some(failure.reason.clone());
            report
        }
    };
    if let Some(process) = &observation.process {
        report.started_at = report.started_at.or(process.started_at);
        report.exe_replaced = Some(process.exe_replaced);
        report.started_before_ref = started_before(process.started_at, expected);
        report.process = Some(process.clone());
    }
    if let Some(container) = &observation.container {
        report.started_at = report.started_at.or(container.started_at);
        report.started_before_ref |= started_before(container.started_at, expected);
        if let Some(said) = container_reason(container, &report, expected) {
            report.reason = Some(match report.reason.take() {
                Some(why) => Reason::new(why.kind(), format!("{why}; {said}")),
                None if container.recreate_needed => Reason::new(ReasonKind::Recreate, said),
                None => Reason::new(ReasonKind::Container, said),
            });
        }
        report.container = Some(Arc::clone(container));
    }
    report
}

/// Where a container's commit came from, for a verdict other than `match`, and what to do
/// when its image reference names another image now: "runs 8d1e0a4 (the stamp of its main
/// process); the image orders:latest is rebuilt at 3f9c2e1 (the ref's commit): recreate the
/// container (docker compose up -d orders)".
fn container_reason(
    container: &ContainerFacts,
    report: &TargetReport,
    expected: &Expected,
) -> Option<String> {
    let from = match report.shape {
        Some(ServedShape::Process) => " (the stamp of its main process)",
        Some(ServedShape::ImageLabel) => " (its image's org.opencontainers.image.revision label)",
        _ => "",
    };
    let runs = report
        .commit
        .as_deref()
        .map(|commit| format!("runs {}{from}", short7(commit)));
    if !container.recreate_needed {
        return runs.filter(|_| !matches!(report.status, Status::Match | Status::Includes));
    }
    let runs =
        runs.unwrap_or_else(|| format!("runs image {}", short_image(&container.image_running)));
    let now = container.image_now.as_deref().map_or("", short_image);
    let at = match (&container.image_now_revision, expected.reference()) {
        (Some(revision), Some(reference))
            if reference.id.starts_with(revision.as_str()) && revision.len() >= 7 =>
        {
            format!("is rebuilt at {} (the ref's commit)", short7(revision))
        }
        (Some(revision), _) => format!("is rebuilt at {}", short7(revision)),
        (None, _) => format!("now names another image ({now})"),
    };
    Some(format!(
        "{runs}; the image {} {at}: recreate the container ({})",
        container.image,
        container.recreate_command()
    ))
}

fn started_before(started: Option<shipstamp::Timestamp>, expected: &Expected) -> bool {
    matches!((started, expected.newest_time()), (Some(s), Some(r)) if s < r)
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
    expected: &Expected,
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
    report.started_before_ref = started_before(served.started_at, expected);
    let (commit, answer, missing) = match standing {
        Standing::Found {
            commit,
            answer,
            missing,
        } => (commit, answer, missing),
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
    let relation = match (answer, expected) {
        (Answer::Relation(relation), _) => relation,
        (
            Answer::Within {
                relation,
                whole,
                within,
            },
            _,
        ) => {
            let (behind_total, ahead_total) = totals(whole);
            report.scope = Some(Scope {
                paths: within.paths.clone(),
                from_build: within.from_build,
                behind_total,
                ahead_total,
            });
            if *relation == Relation::Same {
                if let Some(elsewhere) = elsewhere(whole, within) {
                    report.reason = Some(Reason::new(ReasonKind::Scope, elsewhere));
                }
            }
            relation
        }
        (Answer::Containment { each, shallow }, Expected::Contains(named)) => {
            contains(&mut report, commit, named, each, *shallow);
            return dirty(report, served, commit, allow_dirty);
        }
        // An answer to another question than the one asked: nothing can be said.
        (Answer::Containment { .. }, _) => {
            report.status = Status::UnknownCommit;
            report.reason = Some(Reason::new(
                ReasonKind::Other,
                "its commit was not held against the ref",
            ));
            return report;
        }
    };
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
    if let Some(scope) = &report.scope {
        // 0 under the paths, where counting every commit there are some.
        report.behind = report.behind.or(scope.behind_total.map(|_| 0));
        report.ahead = report.ahead.or(scope.ahead_total.map(|_| 0));
    }
    if matches!(report.status, Status::Behind | Status::Diverged) {
        report.drift.clone_from(missing);
    }
    dirty(report, served, commit, allow_dirty)
}

/// How many commits one is behind and ahead of the other, counting every commit.
fn totals(whole: &Relation) -> (Option<u64>, Option<u64>) {
    match whole {
        Relation::Behind(n) => (Some(*n), None),
        Relation::Ahead(n) => (None, Some(*n)),
        Relation::Diverged { ahead, behind, .. } => (Some(*behind), Some(*ahead)),
        Relation::Same | Relation::Cut(_) => (None, None),
    }
}

/// Why a build that differs from the ref is a match within its paths: "the ref is 3 commits
/// ahead, none under services/a". `None` when it does not differ at all.
fn elsewhere(whole: &Relation, within: &Within) -> Option<String> {
    let commits = |n: u64| format!("{n} {}", if n == 1 { "commit" } else { "commits" });
    let what = match whole {
        Relation::Same | Relation::Cut(_) => return None,
        Relation::Behind(n) => format!("the ref is {} ahead", commits(*n)),
        Relation::Ahead(n) => format!("it is {} ahead of the ref", commits(*n)),
        Relation::Diverged { ahead, behind, .. } => format!(
            "it and the ref have diverged ({} on its side, {} on the ref's)",
            commits(*ahead),
            commits(*behind)
        ),
    };
    let mut text = format!("{what}, none under {}", listed(&within.paths));
    if within.from_build {
        text.push_str(" (the paths its build is scoped to)");
    }
    Some(text)
}

/// `a`, `a and b`, `a, b and c`, `a, b, c and 2 more`.
pub(crate) fn listed(paths: &[String]) -> String {
    const SHOWN: usize = 3;
    match paths {
        [] => String::new(),
        [only] => only.clone(),
        _ if paths.len() <= SHOWN => format!(
            "{} and {}",
            paths[..paths.len() - 1].join(", "),
            paths[paths.len() - 1]
        ),
        _ => format!(
            "{} and {} more",
            paths[..SHOWN].join(", "),
            paths.len() - SHOWN
        ),
    }
}

/// A build from uncommitted changes is `dirty`, whatever its commit says, unless allowed.
fn dirty(
    mut report: TargetReport,
    served: &Served,
    commit: &Commit,
    allow_dirty: bool,
) -> TargetReport {
    if served.dirty == Some(true) && !allow_dirty {
        report.reason = Some(Reason::new(
            ReasonKind::Dirty,
            format!(
                "built from uncommitted changes on top of {}",
                short12(&commit.id)
            ),
        ));
        report.status = Status::Dirty;
        report.drift = None;
    }
    report
}

/// The first 7 digits of a commit id.
fn short7(id: &str) -> &str {
    &id[..id.len().min(7)]
}

/// `64b8e19 "Fix double emit" (committed 2026-11-20T09:12:44Z)`.
fn described(commit: &Commit) -> String {
    let mut text = short7(&commit.id).to_owned();
    if let Some(subject) = &commit.subject {
        text.push_str(&format!(" {subject:?}"));
    }
    if let Some(time) = commit.time {
        text.push_str(&format!(" (committed {time})"));
    }
    text
}

/// Whether the build of `served` contains each of `named`, as `each` says: `includes` when it
/// contains them all, else `lacks`, with which it has (and where from) and which it lacks.
fn contains(
    report: &mut TargetReport,
    served: &Commit,
    named: &[Commit],
    each: &[Containment],
    shallow: bool,
) {
    let mut said: Vec<String> = Vec::new();
    let mut lacking: Vec<String> = Vec::new();
    let mut capped = false;
    for (wanted, containment) in named.iter().zip(each) {
        match containment {
            Containment::Ancestor => {
                said.push(format!("includes {}", short7(&wanted.id)));
                report.includes.push(Included {
                    commit: wanted.id.clone(),
                    carrier: None,
                });
            }
            Containment::SameChange { carrier } => {
                said.push(format!(
                    "includes {} as {} (the same change, cherry-picked or squashed)",
                    short7(&wanted.id),
                    short7(carrier)
                ));
                report.includes.push(Included {
                    commit: wanted.id.clone(),
                    carrier: Some(carrier.clone()),
                });
            }
            Containment::Missing { before, capped: c } => {
                capped |= *c;
                report.lacks.push(wanted.id.clone());
                let runs = short7(&served.id);
                lacking.push(match before {
                    Some(n) => format!(
                        "lacks {}; runs {runs}, {n} {} before it",
                        described(wanted),
                        if *n == 1 { "commit" } else { "commits" }
                    ),
                    None => format!(
                        "lacks {}; runs {runs}, which does not have it",
                        described(wanted)
                    ),
                });
            }
        }
    }
    if lacking.is_empty() {
        report.status = Status::Includes;
        report.reason = Some(Reason::new(ReasonKind::Contains, said.join("; ")));
        return;
    }
    if shallow {
        // A shallow clone may lack the history that holds it: that is not a finding.
        report.status = Status::UnknownCommit;
        report.reason = Some(Reason::new(
            ReasonKind::HistoryCut,
            format!(
                "{}: the local repository is a shallow clone, which may not hold the history \
                 that has it (git fetch --unshallow)",
                lacking.join("; ")
            ),
        ));
        return;
    }
    let mut message = lacking.join("; ");
    if capped {
        message.push_str(&format!(
            " (the same change was looked for in the {MAX_SEARCHED} newest commits since the \
             histories parted)"
        ));
    }
    report.status = Status::Lacks;
    report.reason = Some(Reason::new(ReasonKind::Lacks, message));
    report.drift = oldest(named.iter().filter(|c| report.lacks.contains(&c.id)));
}

/// Drift since the oldest of `commits` whose time is known.
fn oldest<'a>(commits: impl Iterator<Item = &'a Commit>) -> Option<Arc<Drift>> {
    commits
        .filter_map(Drift::since_commit)
        .min_by_key(|d| d.since)
        .map(Arc::new)
}

/// A process without a stamp, judged by when it started: before the ref's commit was made it
/// cannot be running it (`stale`); after, nothing can be said (`unstamped`).
fn unstamped(
    url: &str,
    name: Option<&str>,
    started: Option<shipstamp::Timestamp>,
    failure: &Failure,
    expected: &Expected,
    recent: &[Commit],
) -> TargetReport {
    let why = &failure.reason;
    let reference = match expected {
        Expected::Ref(commit)
        | Expected::RefWithin {
            reference: commit, ..
        } => commit,
        Expected::Contains(named) => {
            return unstamped_contains(url, name, started, why, named);
        }
    };
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
    if let (Status::Stale, Some(s)) = (status, started) {
        // The oldest commit made after it started, else the ref's own (made after it, too).
        report.drift = recent
            .iter()
            .find(|c| c.time.is_some_and(|t| t > s))
            .and_then(Drift::since_commit)
            .or_else(|| Drift::since_commit(reference))
            .map(Arc::new);
    }
    report
}

/// A process without a stamp, asked whether it contains commits: one made after it started
/// cannot be in it (`lacks`); otherwise nothing can be said (`unstamped`).
fn unstamped_contains(
    url: &str,
    name: Option<&str>,
    started: Option<shipstamp::Timestamp>,
    why: &Reason,
    named: &[Commit],
) -> TargetReport {
    let later = named
        .iter()
        .find(|c| matches!((started, c.time), (Some(s), Some(t)) if s < t));
    let (status, message) = match (started, later) {
        (Some(s), Some(commit)) => {
            let mut report = TargetReport::named(url, name, Status::Lacks);
            report.lacks = named
                .iter()
                .filter(|c| matches!(c.time, Some(t) if s < t))
                .map(|c| c.id.clone())
                .collect();
            report.reason = Some(Reason::new(
                ReasonKind::NoStamp,
                format!(
                    "{why}; it started {s}, before {} was made: it cannot contain it, unless it \
                     loads code lazily or reloads it",
                    described(commit)
                ),
            ));
            report.drift = oldest(named.iter().filter(|c| report.lacks.contains(&c.id)));
            return report;
        }
        (Some(s), None) => (
            Status::Unstamped,
            format!(
                "{why}; it started {s}, after the commits asked about were made, which proves \
                 nothing on its own"
            ),
        ),
        (None, _) => (
            Status::Unstamped,
            format!("{why}, and when it started is not known"),
        ),
    };
    let mut report = TargetReport::named(url, name, status);
    report.reason = Some(Reason::new(ReasonKind::NoStamp, message));
    report
}

#[cfg(test)]
mod tests;
