//! The dashboard's document, `shipstamp-dashboard/v1`: what the page shows and what other
//! dashboards can read from `/api/fleet.json`.

use std::collections::HashMap;

use serde::Serialize;
use shipstamp::Timestamp;
use shipstamp_check::Status;

use super::notify::NotifyView;
use crate::output::{CellDoc, ErrorDoc, SummaryDoc, TargetDoc};
use crate::present::{DriftAge, display_name, notes, rank, short, shown_label};
use crate::rounds::Round;
use crate::summary::RoundSummary;

pub(crate) const SCHEMA: &str = "shipstamp-dashboard/v1";

/// One round of checks, as served and embedded.
#[derive(Debug, Serialize)]
pub(crate) struct Fleet {
    schema: &'static str,
    /// When this round finished.
    generated_at: Timestamp,
    /// This round's number, from 1: a new number is new data.
    round: u64,
    /// Seconds between rounds (`null` for a one-off page).
    interval_seconds: Option<f64>,
    /// The ref, for one repository and ref; `null` with `--fleet` (each cell has its own) and
    /// with `--contains`.
    #[serde(rename = "ref")]
    reference: Option<RefView>,
    /// With `--contains` (one repository), the commits asked about; else `null`.
    contains: Option<Vec<RefView>>,
    summary: SummaryDoc,
    /// One per (service, environment), in the fleet file's order.
    pub(super) cells: Vec<CellDoc>,
    /// Drift first, then targets that could not be decided, then matches.
    pub(super) targets: Vec<TargetView>,
    /// Which hosts run what: one group per served build in each cell, drift first, then newest
    /// commit first.
    groups: Vec<Group>,
    /// Each repository's background `git fetch` (`--fetch`), when it runs.
    fetches: Vec<FetchView>,
    /// How `--notify` deliveries go; `null` without it.
    pub(super) notify: Option<NotifyView>,
    /// Problems with the round itself (a ref that could not be resolved, git failing, …).
    errors: Vec<String>,
    /// The parts of the fleet that could not be checked this round, each where it belongs:
    /// a service (its repository) or one of its environments (its ref, a source).
    pub(super) broken: Vec<ErrorDoc>,
    /// See [`Fleet::content_hash`].
    #[serde(skip)]
    content_hash: u64,
}

#[derive(Debug, Serialize)]
struct RefView {
    name: String,
    commit: String,
    short: String,
    subject: Option<String>,
    commit_time: Option<Timestamp>,
}

#[derive(Debug, Serialize)]
pub(super) struct TargetView {
    /// The fields of a `shipstamp-check/v1` target.
    #[serde(flatten)]
    pub(super) target: TargetDoc,
    /// The name, or else the URL.
    pub(super) display: String,
    /// The status as shown: `match`, `behind 3`, `ahead 1`, `diverged`, …
    pub(super) label: String,
    short: Option<String>,
    /// Short notes that explain the status.
    notes: Vec<String>,
    checked_at: Timestamp,
    /// The last time this target answered, and with what commit: shown while it does not.
    last_seen: Option<Seen>,
}

/// When a target last answered with a version document.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Seen {
    at: Timestamp,
    commit: Option<String>,
}

#[derive(Debug, Serialize)]
struct Group {
    service: Option<String>,
    environment: Option<String>,
    /// `null` for targets that did not answer with a commit.
    commit: Option<String>,
    short: Option<String>,
    subject: Option<String>,
    commit_time: Option<Timestamp>,
    dirty: bool,
    status: &'static str,
    label: String,
    /// Display names of the targets in this group.
    targets: Vec<String>,
}

/// The last `git fetch` of one service's repository.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct FetchView {
    pub(crate) service: Option<String>,
    /// When the last fetch finished (or gave up).
    pub(crate) at: Option<Timestamp>,
    pub(crate) ok: Option<bool>,
    /// Why it failed.
    pub(crate) error: Option<String>,
    /// Every how many seconds it runs.
    pub(crate) every_seconds: f64,
}

/// What runs beside the rounds: the repositories' fetches and the notifications.
#[derive(Debug, Default)]
pub(crate) struct Background {
    pub(crate) fetches: Vec<FetchView>,
    pub(crate) notify: Option<NotifyView>,
}

/// An instance across rounds: service, environment, URL, name.
type InstanceKey = (Option<String>, Option<String>, String, Option<String>);

/// How long an instance that no longer appears in the rounds is remembered by default (its last
/// answer, when its drift began), in seconds: with DNS or Prometheus as sources every rollout
/// brings new instance names, and a watcher runs for weeks.
pub(crate) const FORGET_AFTER_SECONDS: i64 = 3600;

/// What the dashboard remembers between rounds, per instance.
#[derive(Debug)]
pub(crate) struct History {
    /// By (service, environment, URL, name): one URL is many instances through DNS.
    instances: HashMap<InstanceKey, Instance>,
    /// Rounds so far, this one included.
    round: u64,
    /// How long an instance gone from the rounds is remembered, in seconds.
    forget_after: i64,
}

impl Default for History {
    fn default() -> History {
        History::forgetting_after(FORGET_AFTER_SECONDS)
    }
}

impl History {
    /// A history that forgets an instance `seconds` after its last round.
    pub(crate) fn forgetting_after(seconds: i64) -> History {
        History {
            instances: HashMap::new(),
            round: 0,
            forget_after: seconds,
        }
    }
}

#[derive(Debug)]
struct Instance {
    /// When it last answered, and with what commit.
    answered: Option<Seen>,
    /// Since when it has been in drift, and whether a round saw that begin (an earlier round
    /// saw it answer without drift).
    drift: Option<DriftSeen>,
    /// The last round it was in.
    listed_at: Timestamp,
}

#[derive(Debug, Clone, Copy)]
struct DriftSeen {
    since: Timestamp,
    seen_beginning: bool,
}

impl Fleet {
    /// Builds the document for one round. `single` is the command line's one repository and
    /// ref (its ref is the document's).
    pub(crate) fn new(
        round: &Round,
        summary: &RoundSummary,
        single: bool,
        history: &mut History,
        interval_seconds: Option<f64>,
        background: Background,
    ) -> Fleet {
        let at = Timestamp::now();
        Fleet::at(
            round,
            summary,
            single,
            history,
            interval_seconds,
            background,
            at,
        )
    }

    /// [`Fleet::new`] for a round that finished at `now`.
    fn at(
        round: &Round,
        summary: &RoundSummary,
        single: bool,
        history: &mut History,
        interval_seconds: Option<f64>,
        background: Background,
        now: Timestamp,
    ) -> Fleet {
        history.round += 1;
        let cells = &round.cells;
        let mut views: Vec<(u8, TargetView)> = Vec::with_capacity(summary.total.targets);
        for cell in cells {
            for report in cell.reports.iter() {
                let key = (
                    cell.service.clone(),
                    cell.env.clone(),
                    report.url.clone(),
                    report.name.clone(),
                );
                let answered =
                    !matches!(report.status, Status::Unreachable | Status::InvalidResponse);
                let instance = history.instances.entry(key).or_insert(Instance {
                    answered: None,
                    drift: None,
                    listed_at: now,
                });
                instance.listed_at = now;
                // A target that does not answer keeps what was seen of its drift.
                let observed = match (&report.drift, answered) {
                    (Some(_), _) => {
                        let answered_before = instance.answered.is_some();
                        let d = *instance.drift.get_or_insert(DriftSeen {
                            since: now,
                            seen_beginning: answered_before,
                        });
                        d.seen_beginning.then_some(d.since)
                    }
                    (None, true) => {
                        instance.drift = None;
                        None
                    }
                    (None, false) => None,
                };
                let drift = DriftAge::of(report, observed, now);
                let last_seen = if answered {
                    instance.answered = Some(Seen {
                        at: now,
                        commit: report.commit.clone(),
                    });
                    None
                } else {
                    instance.answered.clone()
                };
                views.push((
                    rank(report.status),
                    TargetView {
                        target: TargetDoc::new(report, cell, drift),
                        display: display_name(report),
                        label: shown_label(report, &cell.ref_name),
                        short: report.commit.as_deref().map(|c| short(c).to_owned()),
                        notes: notes(report, &cell.ref_name, drift),
                        checked_at: now,
                        last_seen,
                    },
                ));
            }
        }
        if history.instances.len() > summary.total.targets {
            let cutoff = now.unix_seconds() - history.forget_after;
            history
                .instances
                .retain(|_, i| i.listed_at.unix_seconds() >= cutoff);
        }
        // Stable: within a rank, the order of the cells and their targets.
        views.sort_by_key(|(rank, _)| *rank);
        let views: Vec<TargetView> = views.into_iter().map(|(_, v)| v).collect();
        let view = |name: &str, c: &shipstamp_check::Commit| RefView {
            name: name.to_owned(),
            commit: c.id.clone(),
            short: short(&c.id).to_owned(),
            subject: c.subject.clone(),
            commit_time: c.time,
        };
        let (reference, contains) = match &cells[..] {
            [cell] if single => (
                cell.reference().map(|c| view(&cell.ref_name, c)),
                cell.contains().map(|commits| {
                    cell.ref_name
                        .split(", ")
                        .zip(commits)
                        .map(|(name, c)| view(name, c))
                        .collect()
                }),
            ),
            _ => (None, None),
        };
        let mut fleet = Fleet {
            schema: SCHEMA,
            generated_at: now,
            round: history.round,
            interval_seconds,
            reference,
            contains,
            summary: SummaryDoc::new(&summary.total, summary.exit_code()),
            cells: cells
                .iter()
                .zip(&summary.cells)
                .map(|(c, s)| CellDoc::new(c, s))
                .collect(),
            groups: groups(&views),
            targets: views,
            fetches: background.fetches,
            notify: background.notify,
            errors: round.broken.iter().map(ToString::to_string).collect(),
            broken: round.broken.iter().map(ErrorDoc::new).collect(),
            content_hash: 0,
        };
        // How long drift has lasted grows every round; since when it has does not.
        let ages: Vec<Option<u64>> = fleet
            .targets
            .iter_mut()
            .map(|v| v.target.drift_seconds.take())
            .collect();
        fleet.content_hash = fleet.hash_content();
        for (v, age) in fleet.targets.iter_mut().zip(ages) {
            v.target.drift_seconds = age;
        }
        fleet
    }

    pub(crate) fn round(&self) -> u64 {
        self.round
    }

    pub(crate) fn generated_at(&self) -> Timestamp {
        self.generated_at
    }

    /// Seconds between rounds; `None` for a one-off page.
    pub(crate) fn interval_seconds(&self) -> Option<f64> {
        self.interval_seconds
    }

    /// A hash of what the document says, leaving out when it was said (the round, its time,
    /// when each target was checked, how long drift has lasted): the same for two rounds in
    /// which nothing changed.
    pub(crate) fn content_hash(&self) -> u64 {
        self.content_hash
    }

    fn hash_content(&self) -> u64 {
        struct Hashing<'a>(&'a mut std::hash::DefaultHasher);
        impl std::io::Write for Hashing<'_> {
            fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
                std::hash::Hasher::write(self.0, bytes);
                Ok(bytes.len())
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
        let mut hasher = std::hash::DefaultHasher::new();
        // Notes are left out too: they say how long drift has lasted, in words.
        let targets: Vec<_> = self
            .targets
            .iter()
            .map(|v| (&v.target, &v.display, &v.label, &v.last_seen))
            .collect();
        let content = (
            &self.reference,
            &self.summary,
            &self.cells,
            &targets,
            &self.groups,
            &self.fetches,
            &self.notify,
            &self.errors,
            &self.broken,
            self.interval_seconds,
        );
        // Serializing into a hasher cannot fail.
        let _ = serde_json::to_writer(Hashing(&mut hasher), &content);
        std::hash::Hasher::finish(&hasher)
    }

    /// `3/5 match main (abc1234)`, or across a fleet `12/15 match in 2 services, 3
    /// environments`, for a terminal.
    pub(crate) fn one_line(&self) -> String {
        let matching = format!("{}/{} match", self.summary.matching, self.summary.targets);
        if let Some(asked) = &self.contains {
            let shorts: Vec<&str> = asked.iter().map(|r| r.short.as_str()).collect();
            return format!(
                "{}/{} include {}",
                self.summary.matching,
                self.summary.targets,
                shorts.join(", ")
            );
        }
        match &self.reference {
            Some(r) => format!("{matching} {} ({})", r.name, r.short),
            None => {
                let mut services: Vec<&Option<String>> =
                    self.cells.iter().map(|c| &c.service).collect();
                services.dedup();
                format!(
                    "{matching} in {} service{}, {} environment{}",
                    services.len(),
                    if services.len() == 1 { "" } else { "s" },
                    self.cells.len(),
                    if self.cells.len() == 1 { "" } else { "s" }
                )
            }
        }
    }
}

/// What puts targets in one group: service, environment, commit, dirty, and (for targets
/// without a commit) status.
type GroupKey = (
    Option<String>,
    Option<String>,
    Option<String>,
    bool,
    &'static str,
);

/// One group per served build (commit and dirty flag) in each cell; targets without a commit
/// grouped by status. Drift first, then the undecided, then matches; within a rank the newest
/// commit first.
fn groups(views: &[TargetView]) -> Vec<Group> {
    let mut groups: Vec<Group> = Vec::new();
    let mut index: HashMap<GroupKey, usize> = HashMap::new();
    for v in views {
        let r = &v.target;
        let dirty = r.dirty == Some(true);
        // Targets with a commit group by build; without one, by status.
        let status_key = if r.commit.is_some() { "" } else { r.status };
        let key = (
            r.service.clone(),
            r.environment.clone(),
            r.commit.clone(),
            dirty,
            status_key,
        );
        match index.get(&key) {
            Some(&i) => groups[i].targets.push(v.display.clone()),
            None => {
                index.insert(key, groups.len());
                groups.push(Group {
                    service: r.service.clone(),
                    environment: r.environment.clone(),
                    commit: r.commit.clone(),
                    short: v.short.clone(),
                    subject: r.commit_subject.clone(),
                    commit_time: r.commit_time,
                    dirty,
                    status: r.status,
                    label: v.label.clone(),
                    targets: vec![v.display.clone()],
                });
            }
        }
    }
    groups.sort_by_key(|g| {
        (
            rank_of(g.status),
            g.commit.is_none(),
            std::cmp::Reverse(g.commit_time.map(|t| t.unix_seconds())),
        )
    });
    groups
}

/// [`rank`] of a status as written.
fn rank_of(status: &str) -> u8 {
    [
        Status::Diverged,
        Status::Dirty,
        Status::Behind,
        Status::Ahead,
        Status::Unreachable,
        Status::InvalidResponse,
        Status::UnknownCommit,
        Status::Stale,
        Status::Unstamped,
        Status::Match,
    ]
    .into_iter()
    .find(|s| s.as_str() == status)
    .map_or(8, rank)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::output::golden::{assert_golden, cell, target, time};

    /// A round of one cell with targets named `names`, all unreachable but `answering`.
    fn round_of(names: &[&str], answering: &[&str]) -> Round {
        let reports = names
            .iter()
            .map(|n| {
                let status = if answering.contains(n) {
                    Status::Match
                } else {
                    Status::Unreachable
                };
                let mut r = shipstamp_check::TargetReport::new(format!("http://{n}/"), status);
                r.commit = Some("50ff55809891d2b0c3e4f5a6b7c8d9e0f1a2b3c4".into());
                r
            })
            .collect();
        Round {
            cells: vec![crate::rounds::Cell {
                service: None,
                env: None,
                ref_name: "main".into(),
                expected: shipstamp_check::Expected::Ref(shipstamp_check::Commit::new(
                    "50ff55809891d2b0c3e4f5a6b7c8d9e0f1a2b3c4",
                )),
                reports: std::sync::Arc::new(reports),
            }],
            broken: Vec::new(),
        }
    }

    #[test]
    fn instances_gone_for_an_hour_are_forgotten() {
        let mut history = History::default();
        let at = |history: &mut History, round: &Round, unix: i64| {
            let summary = round.summary();
            let now = Timestamp::from_unix_seconds(unix);
            Fleet::at(
                round,
                &summary,
                true,
                history,
                None,
                Background::default(),
                now,
            )
        };
        let t0 = 1_800_000_000;
        at(&mut history, &round_of(&["a", "b"], &["a", "b"]), t0);
        // b is gone (a rollout replaced it), c is new, a stops answering: its last answer is
        // still shown.
        let fleet = at(&mut history, &round_of(&["a", "c"], &["c"]), t0 + 60);
        let a = fleet
            .targets
            .iter()
            .find(|t| t.display == "http://a/")
            .unwrap();
        assert_eq!(a.last_seen.as_ref().map(|s| s.at.unix_seconds()), Some(t0));
        // Within the hour b is remembered; after it, forgotten. a, still listed, is kept.
        at(
            &mut history,
            &round_of(&["a", "c"], &["c"]),
            t0 + FORGET_AFTER_SECONDS,
        );
        assert_eq!(history.instances.len(), 3);
        let fleet = at(
            &mut history,
            &round_of(&["a", "c"], &["c"]),
            t0 + FORGET_AFTER_SECONDS + 61,
        );
        assert_eq!(history.instances.len(), 2);
        let a = fleet
            .targets
            .iter()
            .find(|t| t.display == "http://a/")
            .unwrap();
        assert_eq!(a.last_seen.as_ref().map(|s| s.at.unix_seconds()), Some(t0));
        // A thousand rollouts of fresh names: memory stays with the instances of the last hour.
        for i in 0..1000 {
            let names = [format!("pod-{i}"), format!("pod-{i}-b")];
            let names: Vec<&str> = names.iter().map(String::as_str).collect();
            at(&mut history, &round_of(&names, &names), t0 + 7200 + i * 60);
        }
        assert!(
            history.instances.len() <= 2 * 62,
            "{}",
            history.instances.len()
        );
    }

    #[test]
    fn dashboard_document() {
        let web3 = target();
        let fleet = Fleet {
            schema: SCHEMA,
            generated_at: time("2026-11-23T14:43:42Z"),
            round: 17,
            interval_seconds: Some(5.0),
            reference: Some(RefView {
                name: "main".into(),
                commit: "50ff55809891d2b0c3e4f5a6b7c8d9e0f1a2b3c4".into(),
                short: "50ff558".into(),
                subject: Some("Retry payment webhooks with backoff".into()),
                commit_time: Some(time("2026-11-23T14:43:27Z")),
            }),
            contains: None,
            summary: SummaryDoc {
                targets: 6,
                matching: 2,
                drift: 3,
                undecided: 1,
                statuses: vec![
                    ("diverged", 1),
                    ("dirty", 1),
                    ("behind", 1),
                    ("unreachable", 1),
                    ("match", 2),
                ],
                exit_code: 1,
            },
            cells: vec![cell()],
            targets: vec![TargetView {
                display: "web-3".into(),
                label: "behind 2".into(),
                short: Some("a934ad8".into()),
                notes: vec![
                    "2 commits behind main under Cargo.lock and services/orders (5 in all)".into(),
                ],
                checked_at: time("2026-11-23T14:43:42Z"),
                last_seen: Some(Seen {
                    at: time("2026-11-23T14:40:00Z"),
                    commit: Some("a934ad8a4c1b1f0a9dbfd5f0e2b3c4d5e6f70812".into()),
                }),
                target: web3,
            }],
            groups: vec![Group {
                service: Some("orders".into()),
                environment: Some("production".into()),
                commit: Some("a934ad8a4c1b1f0a9dbfd5f0e2b3c4d5e6f70812".into()),
                short: Some("a934ad8".into()),
                subject: Some("Add the orders service".into()),
                commit_time: Some(time("2026-11-23T14:43:24Z")),
                dirty: false,
                status: "behind",
                label: "behind 2".into(),
                targets: vec!["web-3".into()],
            }],
            fetches: vec![FetchView {
                service: Some("orders".into()),
                at: Some(time("2026-11-23T14:43:00Z")),
                ok: Some(false),
                error: Some("git fetch timed out after 60s".into()),
                every_seconds: 60.0,
            }],
            notify: Some(NotifyView {
                at: Some(time("2026-11-23T14:43:40Z")),
                ok: Some(false),
                error: Some("the receiver answered 503".into()),
                sent: 4,
                pending: 1,
                failures: 2,
            }),
            errors: vec![
                "billing: fleet.toml:12: service.billing.repo: ../billing is not a directory"
                    .into(),
            ],
            broken: vec![ErrorDoc {
                service: Some("billing".into()),
                environment: None,
                message: "fleet.toml:12: service.billing.repo: ../billing is not a directory"
                    .into(),
            }],
            content_hash: 0,
        };
        assert_golden("dashboard.json", &fleet);
    }
}
