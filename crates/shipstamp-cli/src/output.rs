//! The documents this command prints and serves, as structs that exist only to be serialized:
//! `shipstamp-check/v1` (`check --json`, `docs/check-json.md`), the targets inside
//! `shipstamp-dashboard/v1` (`docs/dashboard-api.md`), and `inspect --json`. The library's
//! types can change without changing a field users parse; the golden tests below pin every
//! field name.

use serde::Serialize;
use shipstamp::{Stamp, Timestamp};
use shipstamp_check::{
    Commit, ContainerFacts, ProcessFacts, ProcessInspection, Status, TargetReport,
};

use crate::present::{DriftAge, display_url, rank, reason_of, short};
use crate::rounds::{Broken, Cell};
use crate::summary::{CellSummary, Counts};

/// The `schema` of `check --json`.
pub(crate) const CHECK_SCHEMA: &str = "shipstamp-check/v1";

/// `check --json`.
#[derive(Debug, Serialize)]
pub(crate) struct CheckDoc<Targets> {
    pub(crate) schema: &'static str,
    /// The ref, when there is one: `null` with `--fleet` (each cell has its own).
    #[serde(rename = "ref")]
    pub(crate) reference: Option<RefDoc>,
    /// With `--contains`, the commits asked about (`ref` is then `null`); `null` otherwise, and
    /// with `--fleet` (each cell has its own).
    pub(crate) contains: Option<Vec<RefDoc>>,
    /// One summary per (service, environment).
    pub(crate) cells: Vec<CellDoc>,
    /// [`TargetDoc`]s: a `Vec`, or made one at a time as they are written (100,000 of them
    /// need not all be held at once).
    pub(crate) targets: Targets,
    /// `null` without `--wait`.
    pub(crate) wait: Option<WaitDoc>,
    /// Parts of the fleet that could not be checked: a repository, a ref, a source.
    pub(crate) errors: Vec<ErrorDoc>,
    pub(crate) exit_code: u8,
}

/// A part of the fleet that could not be checked, and why.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct ErrorDoc {
    /// `null` for the command line's one service.
    pub(crate) service: Option<String>,
    /// `null` when the whole service could not be checked (its repository).
    pub(crate) environment: Option<String>,
    pub(crate) message: String,
}

impl ErrorDoc {
    pub(crate) fn new(broken: &Broken) -> ErrorDoc {
        ErrorDoc {
            service: broken.service.clone(),
            environment: broken.env.clone(),
            message: broken.message.clone(),
        }
    }
}

/// The ref as given and the commit it resolved to.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct RefDoc {
    pub(crate) name: String,
    pub(crate) commit: String,
    pub(crate) commit_time: Option<Timestamp>,
    pub(crate) subject: Option<String>,
}

impl RefDoc {
    pub(crate) fn new(name: &str, commit: &Commit) -> RefDoc {
        RefDoc {
            name: name.to_owned(),
            commit: commit.id.clone(),
            commit_time: commit.time,
            subject: commit.subject.clone(),
        }
    }

    /// Each commit asked about with `--contains`, named as given (`names`: `a, b`).
    pub(crate) fn each(names: &str, commits: &[Commit]) -> Vec<RefDoc> {
        names
            .split(", ")
            .zip(commits)
            .map(|(name, commit)| RefDoc::new(name, commit))
            .collect()
    }
}

/// One (service, environment) of a fleet: what runs there against its ref.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct CellDoc {
    /// `null` for the command line's one service.
    pub(crate) service: Option<String>,
    /// `null` for the command line's one environment.
    pub(crate) environment: Option<String>,
    /// The ref; `null` with `--contains`.
    #[serde(rename = "ref")]
    pub(crate) reference: Option<RefDoc>,
    /// With `--contains`, the commits asked about, as this service's repository resolves them;
    /// else `null`.
    pub(crate) contains: Option<Vec<RefDoc>>,
    pub(crate) summary: SummaryDoc,
    /// The worst status in the cell (drift before undecided before match), for its colour.
    pub(crate) status: &'static str,
    /// The status labels and how many targets have each, worst first: `[["behind 2", 3],
    /// ["match", 7]]`.
    pub(crate) labels: Vec<(String, usize)>,
    /// The builds served (commit and dirty flag), most hosts first.
    pub(crate) builds: Vec<BuildDoc>,
    /// `7/10 match, 3 behind 2`: the cell in a few words.
    pub(crate) text: String,
}

/// Counts of targets, and the exit code `check` gives for them.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct SummaryDoc {
    pub(crate) targets: usize,
    #[serde(rename = "match")]
    pub(crate) matching: usize,
    pub(crate) drift: usize,
    pub(crate) undecided: usize,
    /// Each status present and how many targets have it, worst first: `[["behind", 3],
    /// ["match", 7]]`.
    pub(crate) statuses: Vec<(&'static str, usize)>,
    pub(crate) exit_code: u8,
}

impl SummaryDoc {
    /// The counts, with the exit code they give (which, for a whole round, also counts what
    /// could not be checked: the caller's `exit_code`).
    pub(crate) fn new(counts: &Counts, exit_code: u8) -> SummaryDoc {
        let mut statuses: Vec<(Status, usize)> = counts.statuses.clone();
        statuses.sort_by_key(|(s, _)| rank(*s));
        SummaryDoc {
            targets: counts.targets,
            matching: counts.matching,
            drift: counts.drift,
            undecided: counts.undecided,
            statuses: statuses.into_iter().map(|(s, n)| (s.as_str(), n)).collect(),
            exit_code,
        }
    }
}

/// One build served in a cell.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct BuildDoc {
    pub(crate) commit: String,
    pub(crate) short: String,
    pub(crate) subject: Option<String>,
    pub(crate) dirty: bool,
    pub(crate) label: String,
    pub(crate) hosts: usize,
}

impl CellDoc {
    pub(crate) fn new(cell: &Cell, summary: &CellSummary) -> CellDoc {
        CellDoc {
            service: cell.service.clone(),
            environment: cell.env.clone(),
            reference: cell
                .reference()
                .map(|commit| RefDoc::new(&cell.ref_name, commit)),
            contains: cell
                .contains()
                .map(|commits| RefDoc::each(&cell.ref_name, commits)),
            status: summary.counts.worst().as_str(),
            text: summary.text(cell.contains().is_some()),
            summary: SummaryDoc::new(&summary.counts, summary.counts.exit_code()),
            labels: summary.labels.clone(),
            builds: summary
                .builds
                .iter()
                .map(|b| BuildDoc {
                    commit: b.commit.clone(),
                    short: short(&b.commit).to_owned(),
                    subject: b.subject.clone(),
                    dirty: b.dirty,
                    label: b.label.clone(),
                    hosts: b.hosts,
                })
                .collect(),
        }
    }
}

/// How a `--wait` went.
#[derive(Debug, Serialize)]
pub(crate) struct WaitDoc {
    pub(crate) polls: u32,
    pub(crate) seconds: f64,
    pub(crate) stopped_early: bool,
    pub(crate) settled: bool,
}

/// One target's result, in `check --json` and in the dashboard's document.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct TargetDoc {
    /// Without `user:password@`; a query string shows as `?…`.
    pub(crate) url: String,
    pub(crate) name: Option<String>,
    /// The fleet file's service and environment; `null` without `--fleet`.
    pub(crate) service: Option<String>,
    pub(crate) environment: Option<String>,
    pub(crate) status: &'static str,
    pub(crate) reason: Option<String>,
    pub(crate) commit: Option<String>,
    pub(crate) commit_subject: Option<String>,
    pub(crate) commit_time: Option<Timestamp>,
    pub(crate) shape: Option<&'static str>,
    pub(crate) package: Option<String>,
    pub(crate) version: Option<String>,
    pub(crate) dirty: Option<bool>,
    pub(crate) behind: Option<u64>,
    pub(crate) ahead: Option<u64>,
    pub(crate) merge_base: Option<String>,
    pub(crate) built_at: Option<Timestamp>,
    pub(crate) started_at: Option<Timestamp>,
    pub(crate) started_before_ref: bool,
    pub(crate) exe_replaced: Option<bool>,
    /// For a `pid:` or `pidfile:` target: what Linux tells about the process.
    pub(crate) process: Option<ProcessDocFacts>,
    /// For a `container:` target: what its engine tells, and whether it needs recreating.
    /// Boxed: most targets are not containers, and a fleet has 100,000 targets.
    pub(crate) container: Option<Box<ContainerDoc>>,
    /// With `--contains`: the commits asked about that the build contains, and the commit
    /// that carries each when it is not the commit itself (`as`); `[]` otherwise.
    pub(crate) includes: Vec<IncludedDoc>,
    /// With `--contains`: the commits asked about that the build lacks; `[]` otherwise.
    pub(crate) lacks: Vec<String>,
    /// The paths whose commits count (`behind` and `ahead` count only those), when the target
    /// was held against the ref within some; `null` otherwise.
    pub(crate) scope: Option<ScopeDoc>,
    /// For `behind`, `diverged`, `lacks` and `stale`: since when it has been missing something
    /// (the oldest missing commit's time, or when a watcher saw the drift begin, if later),
    /// for how many seconds at `generated_at` (or when `check` wrote it), and that commit.
    pub(crate) drift_since: Option<Timestamp>,
    pub(crate) drift_seconds: Option<u64>,
    pub(crate) drift_commit: Option<String>,
    /// Whether `drift_since` is when a watcher saw the drift begin rather than the commit's
    /// time: a ref that moved (a fetch) made an older commit new drift.
    pub(crate) drift_seen: bool,
}

/// What a target was held against the ref within.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct ScopeDoc {
    pub(crate) paths: Vec<String>,
    /// `build`: the build's own (its stamp's `git.paths`); `given`: `--path` or the fleet
    /// file's `paths`.
    pub(crate) from: &'static str,
    /// Commits behind and ahead of the ref, counting every commit.
    pub(crate) behind_total: Option<u64>,
    pub(crate) ahead_total: Option<u64>,
}

/// A commit asked about with `--contains` that a build contains.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct IncludedDoc {
    pub(crate) commit: String,
    /// The commit of the served history with the same change (a cherry-pick, a squash merge);
    /// `null` when it is the commit itself, or one of its descendants.
    #[serde(rename = "as")]
    pub(crate) carrier: Option<String>,
}

/// A container as its engine describes it.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct ContainerDoc {
    pub(crate) id: String,
    pub(crate) name: String,
    /// The image reference it was created from.
    pub(crate) image: String,
    /// The id of the image it runs.
    pub(crate) image_running: String,
    /// The id `image` names now (`null`: no image goes by that name any more).
    pub(crate) image_now: Option<String>,
    /// The revision label of that image.
    pub(crate) image_now_revision: Option<String>,
    pub(crate) recreate_needed: bool,
    pub(crate) state: String,
    pub(crate) exit_code: Option<i64>,
    pub(crate) started_at: Option<Timestamp>,
    pub(crate) compose_project: Option<String>,
    pub(crate) compose_service: Option<String>,
}

impl ContainerDoc {
    pub(crate) fn new(c: &ContainerFacts) -> ContainerDoc {
        ContainerDoc {
            id: c.id.clone(),
            name: c.name.clone(),
            image: c.image.clone(),
            image_running: c.image_running.clone(),
            image_now: c.image_now.clone(),
            image_now_revision: c.image_now_revision.clone(),
            recreate_needed: c.recreate_needed,
            state: c.state.clone(),
            exit_code: c.exit_code,
            started_at: c.started_at,
            compose_project: c.compose_project.clone(),
            compose_service: c.compose_service.clone(),
        }
    }
}

/// A process as Linux describes it.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct ProcessDocFacts {
    pub(crate) pid: u32,
    pub(crate) exe: String,
    pub(crate) started_at: Option<Timestamp>,
    pub(crate) exe_replaced: bool,
    pub(crate) replaced_libraries: Vec<String>,
    /// What changed since it started in the repository of its working directory.
    pub(crate) source_changes: Option<SourceChangesDoc>,
}

#[derive(Debug, Clone, Serialize)]
pub(crate) struct SourceChangesDoc {
    pub(crate) repository: String,
    pub(crate) count: usize,
    pub(crate) first: Vec<String>,
}

impl ProcessDocFacts {
    pub(crate) fn new(p: &ProcessFacts) -> ProcessDocFacts {
        ProcessDocFacts {
            pid: p.pid,
            exe: p.exe.display().to_string(),
            started_at: p.started_at,
            exe_replaced: p.exe_replaced,
            replaced_libraries: p
                .replaced_libraries
                .iter()
                .map(|l| l.display().to_string())
                .collect(),
            source_changes: p.source_changes.as_ref().map(|c| SourceChangesDoc {
                repository: c.repository.display().to_string(),
                count: c.count,
                first: c.first.clone(),
            }),
        }
    }
}

impl TargetDoc {
    pub(crate) fn new(r: &TargetReport, cell: &Cell, drift: Option<DriftAge<'_>>) -> TargetDoc {
        TargetDoc {
            url: display_url(&r.url),
            name: r.name.clone(),
            service: cell.service.clone(),
            environment: cell.env.clone(),
            status: r.status.as_str(),
            reason: reason_of(r, &cell.ref_name),
            commit: r.commit.clone(),
            commit_subject: r.commit_subject.clone(),
            commit_time: r.commit_time,
            shape: r.shape.map(|s| s.as_str()),
            package: r.package.clone(),
            version: r.version.clone(),
            dirty: r.dirty,
            behind: r.behind,
            ahead: r.ahead,
            merge_base: r.merge_base.clone(),
            built_at: r.built_at,
            started_at: r.started_at,
            started_before_ref: r.started_before_ref,
            exe_replaced: r.exe_replaced,
            process: r.process.as_ref().map(ProcessDocFacts::new),
            container: r
                .container
                .as_deref()
                .map(|c| Box::new(ContainerDoc::new(c))),
            includes: r
                .includes
                .iter()
                .map(|i| IncludedDoc {
                    commit: i.commit.clone(),
                    carrier: i.carrier.clone(),
                })
                .collect(),
            lacks: r.lacks.clone(),
            scope: r.scope.as_ref().map(|s| ScopeDoc {
                paths: s.paths.clone(),
                from: if s.from_build { "build" } else { "given" },
                behind_total: s.behind_total,
                ahead_total: s.ahead_total,
            }),
            drift_since: drift.map(|d| d.since()),
            drift_seconds: drift.map(|d| d.seconds()),
            drift_commit: drift.map(|d| d.drift.commit.clone()),
            drift_seen: drift.is_some_and(|d| d.observed.is_some()),
        }
    }
}

/// `inspect PATH --json`.
#[derive(Debug, Serialize)]
pub(crate) struct FileDoc<'a> {
    pub(crate) path: &'a std::path::Path,
    /// `shipstamp/v1` documents without `process` (`null`): a file runs nowhere.
    pub(crate) stamps: &'a [Stamp],
}

/// `inspect --pid PID --json`.
#[derive(Debug, Serialize)]
pub(crate) struct ProcessDoc<'a> {
    pub(crate) pid: u32,
    pub(crate) exe: &'a std::path::Path,
    pub(crate) exe_replaced: bool,
    pub(crate) started_at: Option<Timestamp>,
    /// Empty for a process without a stamp.
    pub(crate) running: &'a [Stamp],
    pub(crate) on_disk: Option<&'a [Stamp]>,
    pub(crate) on_disk_error: Option<String>,
    pub(crate) replaced_libraries: Vec<String>,
    pub(crate) source_changes: Option<SourceChangesDoc>,
    pub(crate) restart_needed: bool,
}

impl<'a> ProcessDoc<'a> {
    pub(crate) fn new(p: &'a ProcessInspection) -> Self {
        let (on_disk, on_disk_error) = match &p.on_disk {
            None if p.running.is_empty() => (None, None),
            None => (None, Some(format!("nothing at {}", p.exe_path.display()))),
            Some(Ok(stamps)) => (Some(stamps.as_slice()), None),
            Some(Err(e)) => (None, Some(e.to_string())),
        };
        let facts = ProcessDocFacts::new(&p.process);
        ProcessDoc {
            pid: p.pid,
            exe: &p.exe_path,
            exe_replaced: p.exe_replaced,
            started_at: p.process.started_at,
            running: &p.running,
            on_disk,
            on_disk_error,
            replaced_libraries: facts.replaced_libraries,
            source_changes: facts.source_changes,
            restart_needed: p.restart_needed(),
        }
    }
}

/// `inspect container:NAME --json`.
#[derive(Debug, Serialize)]
pub(crate) struct ContainerInspectDoc<'a> {
    pub(crate) container: ContainerDoc,
    /// What its commit was read from: `stamp` (its main process's), `label` (its image's
    /// `org.opencontainers.image.revision`), or `null`.
    pub(crate) evidence: Option<&'static str>,
    /// The stamps of its main process's executable; empty without one.
    pub(crate) running: &'a [Stamp],
    pub(crate) revision_label: Option<&'a str>,
    /// Why its main process could not be read.
    pub(crate) process_error: Option<&'a str>,
    pub(crate) recreate_needed: bool,
}

impl<'a> ContainerInspectDoc<'a> {
    pub(crate) fn new(seen: &'a shipstamp_check::ContainerInspection) -> Self {
        ContainerInspectDoc {
            container: ContainerDoc::new(&seen.facts),
            evidence: if !seen.running.is_empty() {
                Some("stamp")
            } else if seen.revision_label.is_some() {
                Some("label")
            } else {
                None
            },
            running: &seen.running,
            revision_label: seen.revision_label.as_deref(),
            process_error: seen.process_error.as_deref(),
            recreate_needed: seen.facts.recreate_needed,
        }
    }
}

/// Golden documents: every field name of every document, in order. A change here is a change
/// users' scripts see; make it on purpose, in the docs and the README's changelog too.
#[cfg(test)]
pub(crate) mod golden {
    use super::*;

    pub(crate) fn time(s: &str) -> Timestamp {
        s.parse().expect("RFC 3339")
    }

    pub(crate) fn reference() -> RefDoc {
        RefDoc {
            name: "main".into(),
            commit: "50ff55809891d2b0c3e4f5a6b7c8d9e0f1a2b3c4".into(),
            commit_time: Some(time("2026-11-23T14:43:27Z")),
            subject: Some("Retry payment webhooks with backoff".into()),
        }
    }

    pub(crate) fn cell() -> CellDoc {
        CellDoc {
            service: Some("orders".into()),
            environment: Some("production".into()),
            reference: Some(reference()),
            contains: None,
            summary: SummaryDoc {
                targets: 10,
                matching: 7,
                drift: 3,
                undecided: 0,
                statuses: vec![("behind", 3), ("match", 7)],
                exit_code: 1,
            },
            status: "behind",
            labels: vec![("behind 2".into(), 3), ("match".into(), 7)],
            builds: vec![
                BuildDoc {
                    commit: "50ff55809891d2b0c3e4f5a6b7c8d9e0f1a2b3c4".into(),
                    short: "50ff558".into(),
                    subject: Some("Retry payment webhooks with backoff".into()),
                    dirty: false,
                    label: "match".into(),
                    hosts: 7,
                },
                BuildDoc {
                    commit: "a934ad8a4c1b1f0a9dbfd5f0e2b3c4d5e6f70812".into(),
                    short: "a934ad8".into(),
                    subject: Some("Add the orders service".into()),
                    dirty: false,
                    label: "behind 2".into(),
                    hosts: 3,
                },
            ],
            text: "7/10 match, 3 behind 2, 2 builds".into(),
        }
    }

    pub(crate) fn target() -> TargetDoc {
        TargetDoc {
            url: "http://10.0.0.13:3000/version".into(),
            name: Some("web-3".into()),
            service: Some("orders".into()),
            environment: Some("production".into()),
            status: "behind",
            reason: None,
            commit: Some("a934ad8a4c1b1f0a9dbfd5f0e2b3c4d5e6f70812".into()),
            commit_subject: Some("Add the orders service".into()),
            commit_time: Some(time("2026-11-23T14:43:24Z")),
            shape: Some("shipstamp"),
            package: Some("orders-api".into()),
            version: Some("1.4.2".into()),
            dirty: Some(false),
            behind: Some(2),
            ahead: None,
            merge_base: None,
            built_at: Some(time("2026-11-23T14:43:24Z")),
            started_at: Some(time("2026-11-23T14:43:30Z")),
            started_before_ref: false,
            exe_replaced: Some(false),
            process: None,
            container: None,
            includes: Vec::new(),
            lacks: Vec::new(),
            scope: Some(ScopeDoc {
                paths: vec!["Cargo.lock".into(), "services/orders".into()],
                from: "build",
                behind_total: Some(5),
                ahead_total: None,
            }),
            drift_since: Some(time("2026-11-23T14:43:25Z")),
            drift_seconds: Some(187_200),
            drift_commit: Some("6b1f0c2a4c1b1f0a9dbfd5f0e2b3c4d5e6f70812".into()),
            drift_seen: false,
        }
    }

    /// A target asked `--contains` about two commits: one it has as a cherry-pick, one it
    /// lacks.
    pub(crate) fn contains_target() -> TargetDoc {
        TargetDoc {
            url: "http://10.0.0.21:3000/version".into(),
            name: Some("release-1".into()),
            service: None,
            environment: None,
            status: "lacks",
            reason: Some("includes 64b8e19 as 7a7a7a7 (the same change, cherry-picked or squashed); lacks 9c1d2e3 \"Cap discounts at 50\" (committed 2026-11-23T14:43:27Z); runs 2b2b2b2, which does not have it".into()),
            commit: Some("2b2b2b2a4c1b1f0a9dbfd5f0e2b3c4d5e6f70812".into()),
            commit_subject: Some("Release 1.4.3".into()),
            commit_time: Some(time("2026-11-23T12:00:00Z")),
            shape: Some("shipstamp"),
            package: Some("orders-api".into()),
            version: Some("1.4.3".into()),
            dirty: Some(false),
            behind: None,
            ahead: None,
            merge_base: None,
            built_at: Some(time("2026-11-23T12:01:00Z")),
            started_at: Some(time("2026-11-23T12:05:00Z")),
            started_before_ref: true,
            exe_replaced: Some(false),
            process: None,
            container: None,
            includes: vec![IncludedDoc {
                commit: "64b8e19aa0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5".into(),
                carrier: Some("7a7a7a7aa0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5".into()),
            }],
            lacks: vec!["9c1d2e3aa0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5".into()],
            scope: None,
            drift_since: Some(time("2026-11-23T14:43:27Z")),
            drift_seconds: Some(300),
            drift_commit: Some("9c1d2e3aa0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5".into()),
            drift_seen: false,
        }
    }

    /// A target that is a process without a stamp.
    pub(crate) fn process_target() -> TargetDoc {
        TargetDoc {
            url: "pidfile:/run/orders-worker.pid".into(),
            name: Some("worker".into()),
            service: None,
            environment: None,
            status: "stale",
            reason: Some("/usr/bin/python3.11 carries no stamp; it started 2026-11-22T10:05:00Z, before the ref's commit 50ff558 was made (2026-11-23T14:43:27Z): it cannot be running it, unless it loads code lazily or reloads it".into()),
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
            started_at: Some(time("2026-11-22T10:05:00Z")),
            started_before_ref: true,
            exe_replaced: Some(false),
            process: Some(ProcessDocFacts {
                pid: 4242,
                exe: "/usr/bin/python3.11".into(),
                started_at: Some(time("2026-11-22T10:05:00Z")),
                exe_replaced: false,
                replaced_libraries: vec!["/usr/lib/x86_64-linux-gnu/libssl.so.3".into()],
                source_changes: Some(SourceChangesDoc {
                    repository: "/srv/orders-worker".into(),
                    count: 3,
                    first: vec!["worker.py".into(), "rules/discounts.py".into(), "settings.toml".into()],
                }),
            }),
            container: None,
            includes: Vec::new(),
            lacks: Vec::new(),
            scope: None,
            drift_since: Some(time("2026-11-22T11:30:00Z")),
            drift_seconds: Some(97_200),
            drift_commit: Some("4c4c4c4a4c1b1f0a9dbfd5f0e2b3c4d5e6f70812".into()),
            drift_seen: false,
        }
    }

    /// A container behind the ref whose image is already rebuilt at it.
    pub(crate) fn container_target() -> TargetDoc {
        TargetDoc {
            url: "container:shop-orders-1".into(),
            name: Some("orders-1".into()),
            service: None,
            environment: None,
            status: "behind",
            reason: Some("runs 8d1e0a4 (the stamp of its main process); the image orders:latest is rebuilt at 50ff558 (the ref's commit): recreate the container (docker compose up -d orders)".into()),
            commit: Some("8d1e0a4b5c6d7e8f9a0b1c2d3e4f5a6b7c8d9e0f".into()),
            commit_subject: Some("Add the orders service".into()),
            commit_time: Some(time("2026-11-23T12:00:00Z")),
            shape: Some("process"),
            package: Some("orders-api".into()),
            version: Some("1.4.2".into()),
            dirty: Some(false),
            behind: Some(3),
            ahead: None,
            merge_base: None,
            built_at: Some(time("2026-11-23T12:01:00Z")),
            started_at: Some(time("2026-11-23T12:05:00Z")),
            started_before_ref: true,
            exe_replaced: Some(false),
            process: None,
            container: Some(Box::new(ContainerDoc {
                id: "e08116ac3765a733afeb07df3fa858aa9dd6d882845e769d9afcf226973fc60b".into(),
                name: "shop-orders-1".into(),
                image: "orders:latest".into(),
                image_running: "sha256:0e52421e0d6719ce6d67cb4f9ede028f25dfba6a5b2258981955624a942c7f0c".into(),
                image_now: Some("sha256:7c1f3a9e2b4d6f8a0c2e4a6b8d0f2a4c6e8a0b2d4f6a8c0e2a4b6d8f0a2c4e6a".into()),
                image_now_revision: Some("50ff55809891d2b0c3e4f5a6b7c8d9e0f1a2b3c4".into()),
                recreate_needed: true,
                state: "running".into(),
                exit_code: None,
                started_at: Some(time("2026-11-23T12:05:00Z")),
                compose_project: Some("shop".into()),
                compose_service: Some("orders".into()),
            })),
            includes: Vec::new(),
            lacks: Vec::new(),
            scope: None,
            drift_since: Some(time("2026-11-23T12:30:00Z")),
            drift_seconds: Some(8_607),
            drift_commit: Some("6b1f0c2a4c1b1f0a9dbfd5f0e2b3c4d5e6f70812".into()),
            drift_seen: false,
        }
    }

    /// Compares `value` with the golden file `name`; `SHIPSTAMP_UPDATE_GOLDEN=1` rewrites the
    /// file instead (then review the diff).
    pub(crate) fn assert_golden(name: &str, value: &impl Serialize) {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("golden")
            .join(name);
        let actual = serde_json::to_string_pretty(value).expect("serializes") + "\n";
        if std::env::var_os("SHIPSTAMP_UPDATE_GOLDEN").is_some() {
            std::fs::write(&path, &actual).expect("write golden file");
        }
        let expected = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            actual == expected,
            "{} differs from the document now written:\n{actual}",
            path.display()
        );
    }

    /// The keys of every object in `v`, with their paths, in order.
    fn keys(v: &serde_json::Value, path: &str, out: &mut Vec<String>) {
        match v {
            serde_json::Value::Object(map) => {
                for (k, v) in map {
                    out.push(format!("{path}/{k}"));
                    keys(v, &format!("{path}/{k}"), out);
                }
            }
            serde_json::Value::Array(items) => {
                for item in items {
                    keys(item, &format!("{path}/0"), out);
                }
            }
            _ => {}
        }
    }

    /// The documentation shows the documents with the golden files' fields: its `nth` JSON
    /// example (from 0) has the golden file's.
    pub(crate) fn assert_documented(doc: &str, golden: &str, nth: usize) {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
        let text = std::fs::read_to_string(root.join("docs").join(doc)).expect("doc");
        let mut start = 0;
        for _ in 0..=nth {
            start += text[start..].find("```json\n").expect("a json block") + "```json\n".len();
        }
        let end = start + text[start..].find("```").expect("end of block");
        let shown: serde_json::Value =
            serde_json::from_str(&text[start..end].replace('…', "")).expect("the example is JSON");
        let pinned: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(
                std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                    .join("golden")
                    .join(golden),
            )
            .expect("golden"),
        )
        .expect("JSON");
        let (mut a, mut b) = (Vec::new(), Vec::new());
        keys(&shown, "", &mut a);
        keys(&pinned, "", &mut b);
        for k in [&mut a, &mut b] {
            k.sort();
            k.dedup();
        }
        assert_eq!(a, b, "docs/{doc} and golden/{golden} name different fields");
    }

    #[test]
    fn documented_as_written() {
        assert_documented("check-json.md", "check.json", 0);
        assert_documented("check-json.md", "check-contains.json", 1);
        assert_documented("dashboard-api.md", "dashboard.json", 0);
    }

    #[test]
    fn check_document() {
        let doc = CheckDoc {
            schema: CHECK_SCHEMA,
            reference: Some(reference()),
            contains: None,
            cells: vec![cell()],
            targets: vec![target(), process_target(), container_target()],
            wait: Some(WaitDoc {
                polls: 3,
                seconds: 4.5,
                stopped_early: false,
                settled: true,
            }),
            errors: vec![ErrorDoc {
                service: Some("billing".into()),
                environment: None,
                message: "fleet.toml:12: service.billing.repo: ../billing is not a directory"
                    .into(),
            }],
            exit_code: 1,
        };
        assert_golden("check.json", &doc);
    }

    /// `check --contains 64b8e19 --contains 9c1d2e3 --json`.
    #[test]
    fn check_contains_document() {
        let asked = vec![
            RefDoc {
                name: "64b8e19".into(),
                commit: "64b8e19aa0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5".into(),
                commit_time: Some(time("2026-11-20T09:12:44Z")),
                subject: Some("Fix double emit".into()),
            },
            RefDoc {
                name: "9c1d2e3".into(),
                commit: "9c1d2e3aa0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5".into(),
                commit_time: Some(time("2026-11-23T14:43:27Z")),
                subject: Some("Cap discounts at 50".into()),
            },
        ];
        let mut cell = cell();
        cell.service = None;
        cell.environment = None;
        cell.reference = None;
        cell.contains = Some(asked.clone());
        cell.summary = SummaryDoc {
            targets: 1,
            matching: 0,
            drift: 1,
            undecided: 0,
            statuses: vec![("lacks", 1)],
            exit_code: 1,
        };
        cell.status = "lacks";
        cell.labels = vec![("lacks".into(), 1)];
        cell.builds = vec![BuildDoc {
            commit: "2b2b2b2a4c1b1f0a9dbfd5f0e2b3c4d5e6f70812".into(),
            short: "2b2b2b2".into(),
            subject: Some("Release 1.4.3".into()),
            dirty: false,
            label: "lacks".into(),
            hosts: 1,
        }];
        cell.text = "0/1 include, 1 lacks".into();
        let doc = CheckDoc {
            schema: CHECK_SCHEMA,
            reference: None,
            contains: Some(asked),
            cells: vec![cell],
            targets: vec![contains_target()],
            wait: None,
            errors: Vec::new(),
            exit_code: 1,
        };
        assert_golden("check-contains.json", &doc);
    }

    #[test]
    fn inspect_documents() {
        let stamp = Stamp::from_json(
            r#"{"schema":"shipstamp/v1","package":{"name":"orders-api","version":"1.4.2","repository":null},"git":{"commit":"3f9c2e1aa0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5","short":"3f9c2e1","dirty":false,"branch":"main","describe":null,"commit_time":"2026-11-22T09:58:11Z","source":"git"},"build":{"time":"2026-11-22T10:00:00Z","profile":"release","target":"x86_64-unknown-linux-gnu","rustc":"1.95.0"}}"#,
        )
        .expect("stamp");
        let stamps = [stamp];
        assert_golden(
            "inspect-file.json",
            &FileDoc {
                path: "target/release/orders-api".as_ref(),
                stamps: &stamps,
            },
        );
        assert_golden(
            "inspect-process.json",
            &ProcessDoc {
                pid: 4242,
                exe: "/srv/orders-api".as_ref(),
                exe_replaced: true,
                started_at: Some(time("2026-11-22T10:05:00Z")),
                running: &stamps,
                on_disk: None,
                on_disk_error: Some("nothing at /srv/orders-api".into()),
                replaced_libraries: vec!["/usr/lib/x86_64-linux-gnu/libssl.so.3".into()],
                source_changes: None,
                restart_needed: true,
            },
        );
        assert_golden(
            "inspect-container.json",
            &ContainerInspectDoc {
                container: *container_target().container.expect("a container"),
                evidence: Some("stamp"),
                running: &stamps,
                revision_label: Some("8d1e0a4b5c6d7e8f9a0b1c2d3e4f5a6b7c8d9e0f"),
                process_error: None,
                recreate_needed: true,
            },
        );
    }
}
