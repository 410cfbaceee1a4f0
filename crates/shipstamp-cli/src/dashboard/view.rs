//! The dashboard's document, `shipstamp-dashboard/v1`: what the page shows and what other
//! dashboards can read from `/api/fleet.json`.

use std::collections::HashMap;

use serde::Serialize;
use shipstamp::Timestamp;
use shipstamp_check::{Commit, Status, TargetReport, exit_code};

use crate::output::TargetDoc;
use crate::present::{display_name, label, notes, rank, short};

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
    #[serde(rename = "ref")]
    reference: RefView,
    summary: Summary,
    /// Drift first, then targets that could not be decided, then matches.
    targets: Vec<TargetView>,
    /// Which hosts run what: one group per served build, newest commit first.
    groups: Vec<Group>,
    /// Problems with the round itself (the ref could not be resolved, …).
    errors: Vec<String>,
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
struct Summary {
    targets: usize,
    #[serde(rename = "match")]
    matching: usize,
    drift: usize,
    undecided: usize,
    /// What `shipstamp check` would exit with for this round: 0, 1 or 2.
    exit_code: u8,
}

#[derive(Debug, Serialize)]
struct TargetView {
    /// The fields of a `shipstamp-check/v1` target.
    #[serde(flatten)]
    target: TargetDoc,
    /// The name, or else the URL.
    display: String,
    /// The status as shown: `match`, `behind 3`, `ahead 1`, `diverged`, …
    label: String,
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

/// What the dashboard remembers between rounds: when each target (by index) last answered.
#[derive(Debug, Default)]
pub(crate) struct History {
    seen: HashMap<usize, Seen>,
    /// Rounds so far, this one included.
    round: u64,
}

impl Fleet {
    /// Builds the document for one round; `reports` are in the order of the targets.
    pub(crate) fn new(
        ref_name: &str,
        reference: &Commit,
        reports: &[TargetReport],
        history: &mut History,
        interval_seconds: Option<f64>,
        errors: Vec<String>,
    ) -> Fleet {
        let now = Timestamp::now();
        history.round += 1;
        let summary = Summary {
            targets: reports.len(),
            matching: reports.iter().filter(|r| r.status == Status::Match).count(),
            drift: reports.iter().filter(|r| r.status.is_drift()).count(),
            undecided: reports
                .iter()
                .filter(|r| r.status != Status::Match && !r.status.is_drift())
                .count(),
            exit_code: exit_code(reports),
        };
        let mut views: Vec<(u8, TargetView)> = reports
            .iter()
            .enumerate()
            .map(|(i, report)| {
                let answered =
                    !matches!(report.status, Status::Unreachable | Status::InvalidResponse);
                if answered {
                    history.seen.insert(
                        i,
                        Seen {
                            at: now,
                            commit: report.commit.clone(),
                        },
                    );
                }
                let view = TargetView {
                    target: TargetDoc::new(report),
                    display: display_name(report),
                    label: label(report),
                    short: report.commit.as_deref().map(|c| short(c).to_owned()),
                    notes: notes(report, ref_name),
                    checked_at: now,
                    last_seen: if answered {
                        None
                    } else {
                        history.seen.get(&i).cloned()
                    },
                };
                (rank(report.status), view)
            })
            .collect();
        // Stable: within a rank, the order of the targets file.
        views.sort_by_key(|(rank, _)| *rank);
        let views: Vec<TargetView> = views.into_iter().map(|(_, v)| v).collect();
        Fleet {
            schema: SCHEMA,
            generated_at: now,
            round: history.round,
            interval_seconds,
            reference: RefView {
                name: ref_name.to_owned(),
                commit: reference.id.clone(),
                short: short(&reference.id).to_owned(),
                subject: reference.subject.clone(),
                commit_time: reference.time,
            },
            summary,
            groups: groups(&views),
            targets: views,
            errors,
        }
    }

    /// What `shipstamp check` would exit with for this round.
    pub(crate) fn exit_code(&self) -> u8 {
        self.summary.exit_code
    }

    /// `3/5 match main (abc1234)`, for a terminal.
    pub(crate) fn one_line(&self) -> String {
        format!(
            "{}/{} match {} ({})",
            self.summary.matching, self.summary.targets, self.reference.name, self.reference.short
        )
    }
}

/// One group per served build (commit and dirty flag), newest commit first; targets without
/// a commit grouped by status at the end.
fn groups(views: &[TargetView]) -> Vec<Group> {
    let mut groups: Vec<Group> = Vec::new();
    for v in views {
        let r = &v.target;
        let dirty = r.dirty == Some(true);
        let found = groups.iter_mut().find(|g| match &r.commit {
            Some(c) => g.commit.as_deref() == Some(c) && g.dirty == dirty,
            None => g.commit.is_none() && g.status == r.status,
        });
        match found {
            Some(g) => g.targets.push(v.display.clone()),
            None => groups.push(Group {
                commit: r.commit.clone(),
                short: v.short.clone(),
                subject: r.commit_subject.clone(),
                commit_time: r.commit_time,
                dirty,
                status: r.status,
                label: v.label.clone(),
                targets: vec![v.display.clone()],
            }),
        }
    }
    // Newest first; no commit (no answer) last. The sort is stable, so ties keep row order.
    groups.sort_by_key(|g| {
        (
            g.commit.is_none(),
            std::cmp::Reverse(g.commit_time.map(|t| t.unix_seconds())),
        )
    });
    groups
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::output::golden::{assert_golden, target, time};

    #[test]
    fn dashboard_document() {
        let web3 = target();
        let fleet = Fleet {
            schema: SCHEMA,
            generated_at: time("2026-11-23T14:43:42Z"),
            round: 17,
            interval_seconds: Some(5.0),
            reference: RefView {
                name: "main".into(),
                commit: "50ff55809891d2b0c3e4f5a6b7c8d9e0f1a2b3c4".into(),
                short: "50ff558".into(),
                subject: Some("Retry payment webhooks with backoff".into()),
                commit_time: Some(time("2026-11-23T14:43:27Z")),
            },
            summary: Summary {
                targets: 6,
                matching: 2,
                drift: 3,
                undecided: 1,
                exit_code: 1,
            },
            targets: vec![TargetView {
                display: "web-3".into(),
                label: "behind 2".into(),
                short: Some("a934ad8".into()),
                notes: vec!["2 commits behind main".into()],
                checked_at: time("2026-11-23T14:43:42Z"),
                last_seen: Some(Seen {
                    at: time("2026-11-23T14:40:00Z"),
                    commit: Some("a934ad8a4c1b1f0a9dbfd5f0e2b3c4d5e6f70812".into()),
                }),
                target: web3,
            }],
            groups: vec![Group {
                commit: Some("a934ad8a4c1b1f0a9dbfd5f0e2b3c4d5e6f70812".into()),
                short: Some("a934ad8".into()),
                subject: Some("Add the orders service".into()),
                commit_time: Some(time("2026-11-23T14:43:24Z")),
                dirty: false,
                status: "behind",
                label: "behind 2".into(),
                targets: vec!["web-3".into()],
            }],
            errors: vec![],
        };
        assert_golden("dashboard.json", &fleet);
    }
}
