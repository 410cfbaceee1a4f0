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
mod tests {
    use std::path::PathBuf;

    use shipstamp::Timestamp;

    use super::*;
    use crate::served::ServedShape;

    const SERVED: &str = "8d1e0a4b5c6d7e8f9a0b1c2d3e4f5a6b7c8d9e0f";
    const REF: &str = "3f9c2e1aa0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5";
    const BASE: &str = "1111111aa0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5";
    /// The ref's commit was made at 1000; processes start at 900 (before) or 1100 (after).
    const REF_TIME: i64 = 1000;

    fn reference() -> Commit {
        Commit {
            id: REF.into(),
            time: Some(Timestamp::from_unix_seconds(REF_TIME)),
            subject: Some("Fix double emit".into()),
        }
    }

    fn served(dirty: Option<bool>, started: Option<i64>, replaced: Option<bool>) -> Observation {
        let mut served = Served::new(ServedShape::Shipstamp, SERVED).unwrap();
        served.dirty = dirty;
        served.started_at = started.map(Timestamp::from_unix_seconds);
        served.exe_replaced = replaced;
        Observation::served("http://a/version", None, served)
    }

    fn found(relation: Relation) -> Standing {
        Standing::Found {
            commit: Commit {
                id: SERVED.into(),
                time: Some(Timestamp::from_unix_seconds(500)),
                subject: Some("Add orders".into()),
            },
            relation,
        }
    }

    fn not_found(lookup: Lookup, shallow: bool) -> Standing {
        Standing::NotFound { lookup, shallow }
    }

    fn process(started: Option<i64>, replaced: bool) -> ProcessFacts {
        ProcessFacts {
            pid: 4242,
            exe: PathBuf::from("/usr/bin/python3"),
            started_at: started.map(Timestamp::from_unix_seconds),
            exe_replaced: replaced,
            replaced_libraries: Vec::new(),
            source_changes: None,
        }
    }

    fn without_stamp(started: Option<i64>, replaced: bool) -> Observation {
        let mut o = Observation::failed(
            "pid:4242",
            None,
            Status::Unstamped,
            Reason::new(ReasonKind::NoStamp, "/usr/bin/python3 carries no stamp"),
        );
        o.process = Some(process(started, replaced));
        o
    }

    /// What a row expects of its report.
    struct Want {
        status: Status,
        reason: Option<ReasonKind>,
        /// A word the reason must hold.
        says: &'static str,
        behind: Option<u64>,
        ahead: Option<u64>,
        started_before_ref: bool,
        exe_replaced: Option<bool>,
    }

    const fn want(status: Status) -> Want {
        Want {
            status,
            reason: None,
            says: "",
            behind: None,
            ahead: None,
            started_before_ref: false,
            exe_replaced: None,
        }
    }

    #[test]
    fn every_status_every_way() {
        use Status as S;
        let diverged = Relation::Diverged {
            merge_base: Some(BASE.into()),
            ahead: 2,
            behind: 3,
        };
        let cases: Vec<(&str, Observation, Option<Standing>, bool, Want)> = vec![
            (
                "same commit",
                served(Some(false), None, None),
                Some(found(Relation::Same)),
                false,
                want(S::Match),
            ),
            (
                "dirty unknown: judged by commit",
                served(None, None, None),
                Some(found(Relation::Same)),
                false,
                want(S::Match),
            ),
            (
                "behind",
                served(None, None, None),
                Some(found(Relation::Behind(3))),
                false,
                Want {
                    behind: Some(3),
                    ..want(S::Behind)
                },
            ),
            (
                "ahead",
                served(None, None, None),
                Some(found(Relation::Ahead(1))),
                false,
                Want {
                    ahead: Some(1),
                    ..want(S::Ahead)
                },
            ),
            (
                "diverged",
                served(None, None, None),
                Some(found(diverged.clone())),
                false,
                Want {
                    ahead: Some(2),
                    behind: Some(3),
                    ..want(S::Diverged)
                },
            ),
            (
                "dirty at the ref",
                served(Some(true), None, None),
                Some(found(Relation::Same)),
                false,
                Want {
                    reason: Some(ReasonKind::Dirty),
                    says: "uncommitted changes on top of 8d1e0a4b5c6d",
                    ..want(S::Dirty)
                },
            ),
            (
                "dirty and behind",
                served(Some(true), None, None),
                Some(found(Relation::Behind(2))),
                false,
                Want {
                    reason: Some(ReasonKind::Dirty),
                    behind: Some(2),
                    ..want(S::Dirty)
                },
            ),
            (
                "dirty allowed",
                served(Some(true), None, None),
                Some(found(Relation::Same)),
                true,
                want(S::Match),
            ),
            (
                "dirty allowed, behind",
                served(Some(true), None, None),
                Some(found(Relation::Behind(2))),
                true,
                Want {
                    behind: Some(2),
                    ..want(S::Behind)
                },
            ),
            (
                "shallow cut, behind",
                served(None, None, None),
                Some(found(Relation::Cut(Cut::Behind))),
                false,
                Want {
                    reason: Some(ReasonKind::HistoryCut),
                    says: "how many commits behind",
                    ..want(S::Behind)
                },
            ),
            (
                "shallow cut, ahead",
                served(None, None, None),
                Some(found(Relation::Cut(Cut::Ahead))),
                false,
                Want {
                    reason: Some(ReasonKind::HistoryCut),
                    says: "how many commits ahead",
                    ..want(S::Ahead)
                },
            ),
            (
                "shallow cut, unknown",
                served(None, None, None),
                Some(found(Relation::Cut(Cut::Unknown))),
                false,
                Want {
                    reason: Some(ReasonKind::HistoryCut),
                    says: "how it relates",
                    ..want(S::UnknownCommit)
                },
            ),
            (
                "not in the repository",
                served(None, None, None),
                Some(not_found(Lookup::Missing, false)),
                false,
                Want {
                    reason: Some(ReasonKind::NotInRepository),
                    says: "git fetch?",
                    ..want(S::UnknownCommit)
                },
            ),
            (
                "not in a shallow clone",
                served(None, None, None),
                Some(not_found(Lookup::Missing, true)),
                false,
                Want {
                    reason: Some(ReasonKind::NotInShallowClone),
                    says: "--unshallow",
                    ..want(S::UnknownCommit)
                },
            ),
            (
                "ambiguous",
                served(None, None, None),
                Some(not_found(Lookup::Ambiguous, false)),
                false,
                Want {
                    reason: Some(ReasonKind::AmbiguousCommit),
                    says: "several commits",
                    ..want(S::UnknownCommit)
                },
            ),
            (
                "a tree",
                served(None, None, None),
                Some(not_found(Lookup::NotACommit("tree".into()), false)),
                false,
                Want {
                    reason: Some(ReasonKind::NotACommit),
                    says: "names a tree",
                    ..want(S::UnknownCommit)
                },
            ),
            (
                "not looked up",
                served(None, None, None),
                None,
                false,
                Want {
                    reason: Some(ReasonKind::NotInRepository),
                    ..want(S::UnknownCommit)
                },
            ),
            (
                "dirty and unknown: unknown wins",
                served(Some(true), None, None),
                Some(not_found(Lookup::Missing, false)),
                false,
                Want {
                    reason: Some(ReasonKind::NotInRepository),
                    ..want(S::UnknownCommit)
                },
            ),
            (
                "started before the ref, at the ref",
                served(None, Some(900), Some(false)),
                Some(found(Relation::Same)),
                false,
                Want {
                    started_before_ref: true,
                    exe_replaced: Some(false),
                    ..want(S::Match)
                },
            ),
            (
                "started before the ref, behind",
                served(None, Some(900), None),
                Some(found(Relation::Behind(1))),
                false,
                Want {
                    behind: Some(1),
                    started_before_ref: true,
                    ..want(S::Behind)
                },
            ),
            (
                "started after the ref",
                served(None, Some(1100), None),
                Some(found(Relation::Same)),
                false,
                want(S::Match),
            ),
            (
                "executable replaced",
                served(None, Some(1100), Some(true)),
                Some(found(Relation::Same)),
                false,
                Want {
                    exe_replaced: Some(true),
                    ..want(S::Match)
                },
            ),
            (
                "unreachable",
                Observation::failed(
                    "http://a",
                    None,
                    S::Unreachable,
                    Reason::new(ReasonKind::NoAnswer, "connection refused"),
                ),
                None,
                false,
                Want {
                    reason: Some(ReasonKind::NoAnswer),
                    says: "refused",
                    ..want(S::Unreachable)
                },
            ),
            (
                "invalid",
                Observation::failed(
                    "http://a",
                    None,
                    S::InvalidResponse,
                    Reason::new(ReasonKind::BadAnswer, "HTTP 502"),
                ),
                None,
                false,
                Want {
                    reason: Some(ReasonKind::BadAnswer),
                    says: "502",
                    ..want(S::InvalidResponse)
                },
            ),
            (
                "no stamp, started before the ref",
                without_stamp(Some(900), false),
                None,
                false,
                Want {
                    reason: Some(ReasonKind::NoStamp),
                    says: "before the ref's commit 3f9c2e1",
                    started_before_ref: true,
                    exe_replaced: Some(false),
                    ..want(S::Stale)
                },
            ),
            (
                "no stamp, started after the ref",
                without_stamp(Some(1100), false),
                None,
                false,
                Want {
                    reason: Some(ReasonKind::NoStamp),
                    says: "proves nothing",
                    exe_replaced: Some(false),
                    ..want(S::Unstamped)
                },
            ),
            (
                "no stamp, start unknown",
                without_stamp(None, true),
                None,
                false,
                Want {
                    reason: Some(ReasonKind::NoStamp),
                    says: "is not known",
                    exe_replaced: Some(true),
                    ..want(S::Unstamped)
                },
            ),
            (
                "no stamp, no process facts",
                Observation::failed("x", None, S::Unstamped, "no stamp"),
                None,
                false,
                Want {
                    reason: Some(ReasonKind::NoStamp),
                    says: "is not known",
                    ..want(S::Unstamped)
                },
            ),
        ];
        let mut seen = std::collections::HashSet::new();
        for (what, observation, standing, allow_dirty, want) in cases {
            let r = judge(&observation, standing.as_ref(), &reference(), allow_dirty);
            seen.insert(r.status);
            assert_eq!(r.status, want.status, "{what}");
            assert_eq!(
                r.reason.as_ref().map(Reason::kind),
                want.reason,
                "{what}: {:?}",
                r.reason
            );
            let said = r
                .reason
                .as_ref()
                .map(ToString::to_string)
                .unwrap_or_default();
            assert!(said.contains(want.says), "{what}: {said}");
            assert!(
                !said.contains("--allow-dirty") && !said.contains("--field"),
                "{what}: {said}"
            );
            assert_eq!((r.behind, r.ahead), (want.behind, want.ahead), "{what}");
            assert_eq!(r.started_before_ref, want.started_before_ref, "{what}");
            assert_eq!(r.exe_replaced, want.exe_replaced, "{what}");
            if let (Ok(_), Some(Standing::Found { .. })) = (&observation.outcome, &standing) {
                assert_eq!(r.commit.as_deref(), Some(SERVED), "{what}");
                assert_eq!(r.commit_subject.as_deref(), Some("Add orders"), "{what}");
            }
            if want.status == S::Diverged {
                assert_eq!(r.merge_base.as_deref(), Some(BASE), "{what}");
            }
        }
        for status in [
            S::Match,
            S::Behind,
            S::Ahead,
            S::Diverged,
            S::UnknownCommit,
            S::Dirty,
            S::Unreachable,
            S::InvalidResponse,
            S::Stale,
            S::Unstamped,
        ] {
            assert!(seen.contains(&status), "no row reaches {status}");
        }
    }
}
