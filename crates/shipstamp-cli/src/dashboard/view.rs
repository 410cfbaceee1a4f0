//! The dashboard's document, `shipstamp-dashboard/v1`: what the page shows and what other
//! dashboards can read from `/api/fleet.json`.

use std::collections::HashMap;

use serde::Serialize;
use shipstamp::Timestamp;
use shipstamp_check::{Commit, Status, Target, TargetReport, exit_code};

use crate::check_cmd::{label, restart_notes, short};

pub(crate) const SCHEMA: &str = "shipstamp-dashboard/v1";

/// One round of checks, as served and embedded.
#[derive(Debug, Serialize)]
pub(crate) struct Fleet {
    schema: &'static str,
    /// When this round finished.
    generated_at: Timestamp,
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
    /// The fields of a `shipstamp-check/v1` target (its URL without credentials or query).
    #[serde(flatten)]
    report: TargetReport,
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
    status: Status,
    label: String,
    /// Display names of the targets in this group.
    targets: Vec<String>,
}

/// What the dashboard remembers between rounds: when each target (by index) last answered.
#[derive(Debug, Default)]
pub(crate) struct History {
    seen: HashMap<usize, Seen>,
}

/// Drift first (the worst kind first), then the undecided, then matches.
fn rank(status: Status) -> u8 {
    match status {
        Status::Diverged => 0,
        Status::Dirty => 1,
        Status::Behind => 2,
        Status::Ahead => 3,
        Status::Unreachable => 4,
        Status::InvalidResponse => 5,
        Status::UnknownCommit => 6,
        _ => 7,
    }
}

impl Fleet {
    /// Builds the document for one round; `targets` and `reports` are in the same order.
    pub(crate) fn new(
        ref_name: &str,
        reference: &Commit,
        targets: &[Target],
        reports: Vec<TargetReport>,
        history: &mut History,
        interval_seconds: Option<f64>,
        errors: Vec<String>,
    ) -> Fleet {
        let now = Timestamp::now();
        let summary = Summary {
            targets: reports.len(),
            matching: reports.iter().filter(|r| r.status == Status::Match).count(),
            drift: reports.iter().filter(|r| r.status.is_drift()).count(),
            undecided: reports
                .iter()
                .filter(|r| r.status != Status::Match && !r.status.is_drift())
                .count(),
            exit_code: exit_code(&reports),
        };
        let mut views: Vec<TargetView> = reports
            .into_iter()
            .zip(targets)
            .enumerate()
            .map(|(i, (mut report, target))| {
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
                report.url = display_url(&target.url);
                TargetView {
                    display: report.name.clone().unwrap_or_else(|| report.url.clone()),
                    label: label(&report),
                    short: report.commit.as_deref().map(|c| short(c).to_owned()),
                    notes: notes(&report, ref_name),
                    checked_at: now,
                    last_seen: if answered {
                        None
                    } else {
                        history.seen.get(&i).cloned()
                    },
                    report,
                }
            })
            .collect();
        views.sort_by_key(|v| rank(v.report.status));
        Fleet {
            schema: SCHEMA,
            generated_at: now,
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

fn notes(r: &TargetReport, ref_name: &str) -> Vec<String> {
    let mut notes = Vec::new();
    if let Some(reason) = &r.reason {
        notes.push(reason.clone());
    }
    if let (Status::Diverged, Some(ahead), Some(behind)) = (r.status, r.ahead, r.behind) {
        let base = r.merge_base.as_deref().map(short).unwrap_or("none");
        notes.push(format!(
            "{ahead} ahead, {behind} behind {ref_name}; merge base {base}"
        ));
    }
    notes.extend(restart_notes(r, ref_name));
    notes
}

/// One group per served build (commit and dirty flag), newest commit first; targets without
/// a commit grouped by status at the end.
fn groups(views: &[TargetView]) -> Vec<Group> {
    let mut groups: Vec<Group> = Vec::new();
    for v in views {
        let r = &v.report;
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

/// A URL fit to show on a page that may be shared: no `user:password@`, no query string
/// (tokens live there too).
pub(crate) fn display_url(url: &str) -> String {
    let (scheme, rest) = url.split_once("://").unwrap_or(("", url));
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, path) = rest.split_at(authority_end);
    let host = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let path = match path.find(['?', '#']) {
        Some(i) => format!("{}?…", &path[..i]),
        None => path.to_owned(),
    };
    if scheme.is_empty() {
        format!("{host}{path}")
    } else {
        format!("{scheme}://{host}{path}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_lose_credentials_and_queries() {
        assert_eq!(
            display_url("https://deploy:s3cret@orders-1.internal:8443/version?token=abc"),
            "https://orders-1.internal:8443/version?…"
        );
        assert_eq!(
            display_url("http://127.0.0.1:3000/version"),
            "http://127.0.0.1:3000/version"
        );
        assert_eq!(display_url("http://a@b@host"), "http://host");
        assert_eq!(display_url("http://host#frag"), "http://host?…");
    }

    #[test]
    fn drift_sorts_first_and_matches_last() {
        let mut order = [
            Status::Match,
            Status::Unreachable,
            Status::Behind,
            Status::Diverged,
            Status::UnknownCommit,
            Status::Dirty,
        ];
        order.sort_by_key(|s| rank(*s));
        assert_eq!(
            order,
            [
                Status::Diverged,
                Status::Dirty,
                Status::Behind,
                Status::Unreachable,
                Status::UnknownCommit,
                Status::Match
            ]
        );
    }
}
