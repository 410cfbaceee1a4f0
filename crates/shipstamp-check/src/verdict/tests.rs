use std::path::PathBuf;

use std::sync::Arc;

use shipstamp::Timestamp;

use super::*;
use crate::process::ProcessFacts;
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
    found_with(Answer::Relation(relation))
}

fn found_with(answer: Answer) -> Standing {
    Standing::Found {
        commit: Commit {
            id: SERVED.into(),
            time: Some(Timestamp::from_unix_seconds(500)),
            subject: Some("Add orders".into()),
        },
        answer,
        missing: Drift::since_commit(&oldest_missing()).map(Arc::new),
    }
}

/// The oldest commit of the ref's history a served commit that is behind lacks.
fn oldest_missing() -> Commit {
    Commit {
        id: "7070707aa0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5".into(),
        time: Some(Timestamp::from_unix_seconds(700)),
        subject: Some("Fix double emit".into()),
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
        let r = judge(
            &observation,
            standing.as_ref(),
            &Expected::Ref(reference()),
            allow_dirty,
            &[],
        );
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

/// `--contains`: every way to `includes` and `lacks`, and the statuses that keep their meaning.
#[test]
fn contains_every_way() {
    use Status as S;
    let fix = Commit {
        id: "64b8e19aa0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5".into(),
        time: Some(Timestamp::from_unix_seconds(REF_TIME)),
        subject: Some("Fix double emit".into()),
    };
    let other = Commit::new("9c1d2e3aa0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5");
    let expected = Expected::Contains(vec![fix.clone(), other.clone()]);
    let each = |a: Containment, b: Containment| {
        Some(found_with(Answer::Containment {
            each: vec![a, b],
            shallow: false,
        }))
    };
    let missing = |before| Containment::Missing {
        before,
        capped: false,
    };
    let carried = Containment::SameChange {
        carrier: "7a7a7a7aa0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5".into(),
    };
    let cases: Vec<(&str, Observation, Option<Standing>, Status, &str)> = vec![
        (
            "both ancestors",
            served(None, None, None),
            each(Containment::Ancestor, Containment::Ancestor),
            S::Includes,
            "includes 64b8e19; includes 9c1d2e3",
        ),
        (
            "one cherry-picked",
            served(None, None, None),
            each(carried.clone(), Containment::Ancestor),
            S::Includes,
            "includes 64b8e19 as 7a7a7a7 (the same change",
        ),
        (
            "one missing, before it",
            served(None, None, None),
            each(missing(Some(3)), Containment::Ancestor),
            S::Lacks,
            "lacks 64b8e19 \"Fix double emit\" (committed 1970-01-01T00:16:40Z); runs 8d1e0a4, 3 commits before it",
        ),
        (
            "one missing, another line",
            served(None, None, None),
            each(Containment::Ancestor, missing(None)),
            S::Lacks,
            "lacks 9c1d2e3; runs 8d1e0a4, which does not have it",
        ),
        (
            "dirty wins",
            served(Some(true), None, None),
            each(Containment::Ancestor, Containment::Ancestor),
            S::Dirty,
            "uncommitted",
        ),
        (
            "capped search",
            served(None, None, None),
            each(
                Containment::Missing {
                    before: None,
                    capped: true,
                },
                Containment::Ancestor,
            ),
            S::Lacks,
            "newest commits since the histories parted",
        ),
        (
            "shallow: undecided",
            served(None, None, None),
            Some(found_with(Answer::Containment {
                each: vec![missing(None), Containment::Ancestor],
                shallow: true,
            })),
            S::UnknownCommit,
            "shallow clone",
        ),
        (
            "unknown commit",
            served(None, None, None),
            Some(not_found(Lookup::Missing, false)),
            S::UnknownCommit,
            "not in the local repository",
        ),
        (
            "no stamp, started before the fix",
            without_stamp(Some(900), false),
            None,
            S::Lacks,
            "before 64b8e19 \"Fix double emit\"",
        ),
        (
            "no stamp, started after",
            without_stamp(Some(1100), false),
            None,
            S::Unstamped,
            "proves nothing",
        ),
        (
            "unreachable",
            Observation::failed("http://a", None, S::Unreachable, "refused"),
            None,
            S::Unreachable,
            "refused",
        ),
    ];
    for (what, observation, standing, status, says) in cases {
        let r = judge(&observation, standing.as_ref(), &expected, false, &[]);
        assert_eq!(r.status, status, "{what}: {:?}", r.reason);
        let said = r
            .reason
            .as_ref()
            .map(ToString::to_string)
            .unwrap_or_default();
        assert!(said.contains(says), "{what}: {said}");
        match status {
            S::Includes => {
                assert_eq!(r.includes.len(), 2, "{what}");
                assert!(r.lacks.is_empty(), "{what}");
            }
            S::Lacks => assert!(!r.lacks.is_empty(), "{what}"),
            _ => {}
        }
    }
    // Which ones, and by what carrier.
    let r = judge(
        &served(None, None, None),
        each(carried, missing(Some(1))).as_ref(),
        &expected,
        false,
        &[],
    );
    assert_eq!(r.includes[0].commit, fix.id);
    assert_eq!(
        r.includes[0].carrier.as_deref(),
        Some("7a7a7a7aa0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5")
    );
    assert_eq!(r.lacks, [other.id]);
    assert!(S::Lacks.is_drift() && S::Lacks.can_converge() && S::Includes.is_ok());
}

fn within(relation: Relation, whole: Relation, from_build: bool) -> Standing {
    found_with(Answer::Within {
        relation,
        whole,
        within: Within {
            paths: vec!["Cargo.lock".into(), "services/a".into()],
            from_build,
        },
    })
}

#[test]
fn within_paths_every_way() {
    use Status as S;
    let diverged = |ahead, behind| Relation::Diverged {
        merge_base: Some(BASE.into()),
        ahead,
        behind,
    };
    // (case, standing, dirty, status, behind, ahead, (behind_total, ahead_total), reason says)
    type Row = (
        &'static str,
        Standing,
        Option<bool>,
        Status,
        Option<u64>,
        Option<u64>,
        (Option<u64>, Option<u64>),
        Option<&'static str>,
    );
    let cases: Vec<Row> = vec![
        (
            "the same commit",
            within(Relation::Same, Relation::Same, false),
            None,
            S::Match,
            None,
            None,
            (None, None),
            None,
        ),
        (
            "the ref ahead, none under the paths",
            within(Relation::Same, Relation::Behind(3), false),
            None,
            S::Match,
            Some(0),
            None,
            (Some(3), None),
            Some("the ref is 3 commits ahead, none under Cargo.lock and services/a"),
        ),
        (
            "the build's own scope says so",
            within(Relation::Same, Relation::Behind(1), true),
            None,
            S::Match,
            Some(0),
            None,
            (Some(1), None),
            Some(
                "the ref is 1 commit ahead, none under Cargo.lock and services/a (the paths its build",
            ),
        ),
        (
            "ahead of the ref, elsewhere",
            within(Relation::Same, Relation::Ahead(2), false),
            None,
            S::Match,
            None,
            Some(0),
            (None, Some(2)),
            Some("it is 2 commits ahead of the ref, none under"),
        ),
        (
            "diverged, elsewhere",
            within(Relation::Same, diverged(2, 5), false),
            None,
            S::Match,
            Some(0),
            Some(0),
            (Some(5), Some(2)),
            Some("diverged (2 commits on its side, 5 commits on the ref's), none under"),
        ),
        (
            "behind under the paths",
            within(Relation::Behind(2), Relation::Behind(5), false),
            None,
            S::Behind,
            Some(2),
            None,
            (Some(5), None),
            None,
        ),
        (
            "diverged under the paths on one side only: behind",
            within(Relation::Behind(1), diverged(4, 6), false),
            None,
            S::Behind,
            Some(1),
            Some(0),
            (Some(6), Some(4)),
            None,
        ),
        (
            "diverged under the paths",
            within(diverged(1, 2), diverged(4, 6), false),
            None,
            S::Diverged,
            Some(2),
            Some(1),
            (Some(6), Some(4)),
            None,
        ),
        (
            "dirty stays dirty",
            within(Relation::Same, Relation::Behind(3), false),
            Some(true),
            S::Dirty,
            Some(0),
            None,
            (Some(3), None),
            Some("uncommitted changes"),
        ),
        (
            "a cut history is not a match",
            within(
                Relation::Cut(Cut::Behind),
                Relation::Cut(Cut::Behind),
                false,
            ),
            None,
            S::Behind,
            None,
            None,
            (None, None),
            Some("is cut"),
        ),
    ];
    for (case, standing, dirty, status, behind, ahead, totals, says) in cases {
        let report = judge(
            &served(dirty, None, None),
            Some(&standing),
            &Expected::Ref(reference()),
            false,
            &[],
        );
        assert_eq!(report.status, status, "{case}");
        assert_eq!((report.behind, report.ahead), (behind, ahead), "{case}");
        let scope = report.scope.as_ref().expect(case);
        assert_eq!(scope.paths, ["Cargo.lock", "services/a"], "{case}");
        assert_eq!((scope.behind_total, scope.ahead_total), totals, "{case}");
        let reason = report.reason.as_ref().map(|r| r.message());
        match says {
            Some(says) => assert!(
                reason.is_some_and(|r| r.contains(says)),
                "{case}: {reason:?}"
            ),
            None => assert_eq!(reason, None, "{case}"),
        }
    }
}

#[test]
fn listed_paths() {
    let paths = |n: usize| (0..n).map(|i| format!("p{i}")).collect::<Vec<_>>();
    assert_eq!(listed(&paths(1)), "p0");
    assert_eq!(listed(&paths(2)), "p0 and p1");
    assert_eq!(listed(&paths(3)), "p0, p1 and p2");
    assert_eq!(listed(&paths(5)), "p0, p1, p2 and 2 more");
}

#[test]
fn drift_age_every_way() {
    let by_ref = Expected::Ref(reference());
    let diverged = Relation::Diverged {
        merge_base: Some(BASE.into()),
        ahead: 1,
        behind: 2,
    };
    let after = |t: i64, id: &str| Commit {
        id: id.into(),
        time: Some(Timestamp::from_unix_seconds(t)),
        subject: Some(format!("made at {t}")),
    };
    // The ref's history since the earliest process start, oldest first.
    let recent = [after(950, "950"), after(980, "980")];
    let cases: Vec<(&str, Observation, Option<Standing>, Option<i64>)> = vec![
        (
            "behind: its oldest missing commit",
            served(None, None, None),
            Some(found(Relation::Behind(3))),
            Some(700),
        ),
        (
            "diverged: the same",
            served(None, None, None),
            Some(found(diverged.clone())),
            Some(700),
        ),
        (
            "behind within paths",
            served(None, None, None),
            Some(within(Relation::Behind(1), Relation::Behind(4), true)),
            Some(700),
        ),
        (
            "match within paths, commits elsewhere: no drift",
            served(None, None, None),
            Some(within(Relation::Same, Relation::Behind(4), true)),
            None,
        ),
        (
            "ahead: nothing missing",
            served(None, None, None),
            Some(found(Relation::Ahead(2))),
            None,
        ),
        (
            "dirty: not aged",
            served(Some(true), None, None),
            Some(found(Relation::Behind(3))),
            None,
        ),
        (
            "stale: the oldest commit made after it started",
            without_stamp(Some(960), false),
            None,
            Some(980),
        ),
        (
            "stale, started earlier",
            without_stamp(Some(900), false),
            None,
            Some(950),
        ),
        (
            "unstamped, started after the ref: no drift",
            without_stamp(Some(1100), false),
            None,
            None,
        ),
    ];
    for (what, observation, standing, since) in cases {
        let r = judge(&observation, standing.as_ref(), &by_ref, false, &recent);
        assert_eq!(
            r.drift.as_ref().map(|d| d.since.unix_seconds()),
            since,
            "{what}: {:?}",
            r.status
        );
    }
    // Without the ref's recent history, a stale process lacks at least the ref's commit.
    let r = judge(&without_stamp(Some(900), false), None, &by_ref, false, &[]);
    let drift = r.drift.expect("stale is aged");
    assert_eq!(
        (drift.since.unix_seconds(), drift.commit.as_str()),
        (REF_TIME, REF)
    );
    assert_eq!(
        drift.seconds_at(Timestamp::from_unix_seconds(REF_TIME + 90)),
        90
    );
    assert_eq!(
        drift.seconds_at(Timestamp::from_unix_seconds(REF_TIME - 5)),
        0
    );

    // Lacks: the oldest of the commits asked about that it lacks.
    let fix = after(600, "6060606aa0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5");
    let later = after(800, "8080808aa0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5");
    let contains = Expected::Contains(vec![later.clone(), fix.clone()]);
    let missing = Containment::Missing {
        before: Some(1),
        capped: false,
    };
    let standing = |a: Containment, b: Containment| {
        found_with(Answer::Containment {
            each: vec![a, b],
            shallow: false,
        })
    };
    let both = standing(missing.clone(), missing.clone());
    let r = judge(
        &served(None, None, None),
        Some(&both),
        &contains,
        false,
        &[],
    );
    assert_eq!(r.drift.map(|d| d.commit.clone()), Some(fix.id.clone()));
    let one = standing(missing.clone(), Containment::Ancestor);
    let r = judge(&served(None, None, None), Some(&one), &contains, false, &[]);
    assert_eq!(r.drift.map(|d| d.commit.clone()), Some(later.id.clone()));
    let none = standing(Containment::Ancestor, Containment::Ancestor);
    let r = judge(
        &served(None, None, None),
        Some(&none),
        &contains,
        false,
        &[],
    );
    assert_eq!(r.drift, None);
    // A process without a stamp that started between the two lacks the later one only.
    let r = judge(
        &without_stamp(Some(700), false),
        None,
        &contains,
        false,
        &[],
    );
    assert_eq!(r.status, Status::Lacks);
    assert_eq!(r.drift.map(|d| d.commit.clone()), Some(later.id));
}

fn container(recreate: bool, revision_now: Option<&str>, started: i64) -> ContainerFacts {
    ContainerFacts {
        id: "c0ffee".into(),
        name: "shop-orders-1".into(),
        image: "orders:latest".into(),
        image_running: "sha256:aaaaaaaaaaaaaaaa".into(),
        image_now: Some(
            if recreate {
                "sha256:bbbbbbbbbbbbbbbb"
            } else {
                "sha256:aaaaaaaaaaaaaaaa"
            }
            .into(),
        ),
        image_now_revision: revision_now.map(str::to_owned),
        recreate_needed: recreate,
        state: "running".into(),
        exit_code: None,
        started_at: Some(Timestamp::from_unix_seconds(started)),
        pid: None,
        compose_project: Some("shop".into()),
        compose_service: Some("orders".into()),
        compose_number: Some("1".into()),
    }
}

#[test]
fn containers_whose_image_moved_on_say_to_recreate() {
    let by_ref = Expected::Ref(reference());
    // Behind, and the image its tag names now is built at the ref: the story of the README.
    let mut o = served(Some(false), None, None);
    if let Ok(served) = &mut o.outcome {
        served.shape = ServedShape::Process;
    }
    o.container = Some(Arc::new(container(true, Some(REF), 900)));
    let r = judge(&o, Some(&found(Relation::Behind(3))), &by_ref, false, &[]);
    assert_eq!(r.status, Status::Behind);
    let why = r.reason.expect("a reason");
    assert_eq!(why.kind(), ReasonKind::Recreate);
    assert_eq!(
        why.message(),
        "runs 8d1e0a4 (the stamp of its main process); the image orders:latest is rebuilt at \
         3f9c2e1 (the ref's commit): recreate the container (docker compose up -d orders)"
    );
    assert!(r.container.as_ref().is_some_and(|c| c.recreate_needed));
    assert!(
        r.started_before_ref,
        "started at 900, before the ref's commit"
    );

    // Rebuilt at another commit, or with no label: said as it is.
    o.container = Some(Arc::new(container(true, Some(BASE), 900)));
    let r = judge(&o, Some(&found(Relation::Behind(3))), &by_ref, false, &[]);
    assert!(
        r.reason
            .unwrap()
            .message()
            .contains("is rebuilt at 1111111: recreate")
    );
    o.container = Some(Arc::new(container(true, None, 900)));
    let r = judge(&o, Some(&found(Relation::Behind(3))), &by_ref, false, &[]);
    assert!(
        r.reason
            .unwrap()
            .message()
            .contains("now names another image (bbbbbbbbbbbb)")
    );

    // Its image unchanged: nothing to recreate; where its commit came from is said.
    o.container = Some(Arc::new(container(false, Some(SERVED), 900)));
    let r = judge(&o, Some(&found(Relation::Behind(3))), &by_ref, false, &[]);
    let why = r.reason.expect("a reason");
    assert_eq!(why.kind(), ReasonKind::Container);
    assert_eq!(
        why.message(),
        "runs 8d1e0a4 (the stamp of its main process)"
    );
    // At the ref, unchanged: nothing to say.
    let r = judge(&o, Some(&found(Relation::Same)), &by_ref, false, &[]);
    assert_eq!(r.reason, None);
}

#[test]
fn unstamped_containers_are_judged_by_when_they_started() {
    let by_ref = Expected::Ref(reference());
    let unstamped = |started| {
        let mut o = Observation::failed(
            "container:shop-worker-1",
            None,
            Status::Unstamped,
            Reason::new(
                ReasonKind::NoStamp,
                "container shop-worker-1 carries no stamp",
            ),
        );
        o.container = Some(Arc::new(container(false, None, started)));
        o
    };
    let r = judge(&unstamped(900), None, &by_ref, false, &[]);
    assert_eq!(r.status, Status::Stale);
    assert!(
        r.reason
            .unwrap()
            .message()
            .starts_with("container shop-worker-1 carries no stamp; it started")
    );
    let r = judge(&unstamped(REF_TIME + 10), None, &by_ref, false, &[]);
    assert_eq!(r.status, Status::Unstamped);
}
