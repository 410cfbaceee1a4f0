//! One round, counted once: for each (service, environment) and in total, the counts by status,
//! the builds served, the worst status and the exit code. Text, `check --json`, the dashboard's
//! document and its page all render from this, so their counts cannot differ; the exit code is
//! decided here and nowhere else.

use shipstamp_check::{Status, TargetReport};

use crate::error::{DRIFT, OK, UNDECIDED};
use crate::present::{elsewhere_label, label, rank, shown_label};

/// Targets counted by status.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Counts {
    pub(crate) targets: usize,
    pub(crate) matching: usize,
    pub(crate) drift: usize,
    pub(crate) undecided: usize,
    /// Each status present and how many have it, in the order first seen.
    pub(crate) statuses: Vec<(Status, usize)>,
}

impl Counts {
    pub(crate) fn of<'a>(reports: impl IntoIterator<Item = &'a TargetReport>) -> Counts {
        let mut counts = Counts::default();
        for r in reports {
            counts.add(r.status, 1);
        }
        counts
    }

    fn add(&mut self, status: Status, n: usize) {
        self.targets += n;
        if status.is_ok() {
            self.matching += n;
        } else if status.is_drift() {
            self.drift += n;
        } else {
            self.undecided += n;
        }
        match self.statuses.iter_mut().find(|(s, _)| *s == status) {
            Some((_, m)) => *m += n,
            None => self.statuses.push((status, n)),
        }
    }

    fn merge(&mut self, other: &Counts) {
        for (status, n) in &other.statuses {
            self.add(*status, *n);
        }
    }

    /// The worst status present (drift before undecided before match).
    pub(crate) fn worst(&self) -> Status {
        self.statuses
            .iter()
            .map(|(s, _)| *s)
            .min_by_key(|s| rank(*s))
            .unwrap_or(Status::Match)
    }

    /// 1 when any target drifted, else 2 when any could not be decided, else 0.
    pub(crate) fn exit_code(&self) -> u8 {
        if self.drift > 0 {
            DRIFT
        } else if self.undecided > 0 {
            UNDECIDED
        } else {
            OK
        }
    }
}

/// One build served in a cell: a commit and its dirty flag.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Build {
    pub(crate) commit: String,
    pub(crate) subject: Option<String>,
    pub(crate) dirty: bool,
    pub(crate) label: String,
    pub(crate) hosts: usize,
}

/// One (service, environment).
#[derive(Debug, Clone)]
pub(crate) struct CellSummary {
    pub(crate) counts: Counts,
    /// The status labels (`behind 2`) and how many targets have each, worst first, then most.
    pub(crate) labels: Vec<(String, usize)>,
    /// The builds served, most hosts first.
    pub(crate) builds: Vec<Build>,
    /// What the matches within paths leave aside, the most first: `main +3 elsewhere`.
    pub(crate) elsewhere: Option<String>,
}

impl CellSummary {
    /// The summary of a cell's reports, held against `ref_name`.
    pub(crate) fn of(reports: &[TargetReport], ref_name: &str) -> CellSummary {
        let counts = Counts::of(reports);
        // Counted by what the label is made of, so that it is written once per kind.
        let mut kinds: Vec<(&TargetReport, usize)> = Vec::new();
        for r in reports {
            let kind = (r.status, r.behind, r.ahead);
            match kinds
                .iter_mut()
                .find(|(k, _)| (k.status, k.behind, k.ahead) == kind)
            {
                Some((_, n)) => *n += 1,
                None => kinds.push((r, 1)),
            }
        }
        let mut labels: Vec<(u8, String, usize)> = Vec::new();
        for (r, n) in kinds {
            let l = label(r);
            match labels.iter_mut().find(|(_, x, _)| *x == l) {
                Some((_, _, m)) => *m += n,
                None => labels.push((rank(r.status), l, n)),
            }
        }
        labels.sort_by_key(|(rank, _, n)| (*rank, std::cmp::Reverse(*n)));
        let mut builds: Vec<Build> = Vec::new();
        for r in reports {
            let Some(commit) = &r.commit else { continue };
            let dirty = r.dirty == Some(true);
            match builds
                .iter_mut()
                .find(|b| b.commit == *commit && b.dirty == dirty)
            {
                Some(b) => b.hosts += 1,
                None => builds.push(Build {
                    commit: commit.clone(),
                    subject: r.commit_subject.clone(),
                    dirty,
                    label: shown_label(r, ref_name),
                    hosts: 1,
                }),
            }
        }
        builds.sort_by_key(|b| std::cmp::Reverse(b.hosts));
        let elsewhere = reports
            .iter()
            .filter(|r| r.status == Status::Match)
            .filter_map(|r| r.scope.as_ref().map(|s| (s.behind_total, s.ahead_total, r)))
            .max_by_key(|(behind, ahead, _)| (*behind, *ahead))
            .and_then(|(_, _, r)| elsewhere_label(r, ref_name));
        CellSummary {
            counts,
            labels: labels.into_iter().map(|(_, l, n)| (l, n)).collect(),
            builds,
            elsewhere,
        }
    }

    /// `10/10 match`, `7/10 match, 3 behind 2`, `0/4 match, 4 diverged` (with `--contains`,
    /// `3/4 include, 1 lacks`); `, 2 builds` when more than one build runs; `10/10 match (main
    /// +3 elsewhere)` when the ref has moved on only outside the paths.
    pub(crate) fn text(&self, contains: bool) -> String {
        let word = if contains { "include" } else { "match" };
        let mut text = format!("{}/{} {word}", self.counts.matching, self.counts.targets);
        if let Some(elsewhere) = &self.elsewhere {
            text.push_str(&format!(" ({elsewhere})"));
        }
        for (l, n) in self
            .labels
            .iter()
            .filter(|(l, _)| l != "match" && l != "includes")
        {
            text.push_str(&format!(", {n} {l}"));
        }
        if self.builds.len() > 1 {
            text.push_str(&format!(", {} builds", self.builds.len()));
        }
        text
    }
}

/// A round of a fleet: each cell's summary, the total, and what could not be checked at all.
#[derive(Debug, Clone)]
pub(crate) struct RoundSummary {
    pub(crate) cells: Vec<CellSummary>,
    pub(crate) total: Counts,
    /// Services, environments or sources that could not be checked this round (a missing
    /// repository, a ref that does not resolve, a Prometheus that does not answer).
    pub(crate) broken: usize,
}

impl RoundSummary {
    /// The summary of cells with these reports, and `broken` parts that could not be checked.
    pub(crate) fn of<'a>(
        cells: impl Iterator<Item = (&'a [TargetReport], &'a str)>,
        broken: usize,
    ) -> RoundSummary {
        let cells: Vec<CellSummary> = cells
            .map(|(reports, ref_name)| CellSummary::of(reports, ref_name))
            .collect();
        let mut total = Counts::default();
        for cell in &cells {
            total.merge(&cell.counts);
        }
        RoundSummary {
            cells,
            total,
            broken,
        }
    }

    /// The exit code of the round: drift (1) wins; then anything undecided, a part that could
    /// not be checked or nothing to check at all (2); else 0.
    pub(crate) fn exit_code(&self) -> u8 {
        match self.total.exit_code() {
            OK if self.broken > 0 || self.total.targets == 0 => UNDECIDED,
            code => code,
        }
    }

    /// Whether every target matches, with at least one target and nothing broken.
    pub(crate) fn all_match(&self) -> bool {
        self.exit_code() == OK
    }

    /// The exit code of `check`: the round's, except that a `--wait` that ran out after a
    /// last poll that all matched, but fewer times in a row than asked, is drift (the rollout
    /// did not settle).
    pub(crate) fn check_exit_code(&self, unsettled: bool) -> u8 {
        match self.exit_code() {
            OK if unsettled => DRIFT,
            code => code,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(status: Status, commit: Option<&str>, behind: Option<u64>) -> TargetReport {
        let mut r = TargetReport::new("http://x", status);
        r.commit = commit.map(str::to_owned);
        r.behind = behind;
        r
    }

    #[test]
    fn counted_once_with_the_worst_first() {
        let reports = [
            report(Status::Match, Some("a"), None),
            report(Status::Behind, Some("b"), Some(2)),
            report(Status::Behind, Some("b"), Some(2)),
            report(Status::Unreachable, None, None),
            report(Status::Match, Some("a"), None),
            report(Status::Match, Some("a"), None),
        ];
        let cell = CellSummary::of(&reports, "main");
        assert_eq!(
            (
                cell.counts.targets,
                cell.counts.matching,
                cell.counts.drift,
                cell.counts.undecided
            ),
            (6, 3, 2, 1)
        );
        assert_eq!(
            cell.counts.statuses,
            [
                (Status::Match, 3),
                (Status::Behind, 2),
                (Status::Unreachable, 1)
            ]
        );
        assert_eq!(cell.counts.worst(), Status::Behind);
        assert_eq!(cell.counts.exit_code(), DRIFT);
        assert_eq!(
            cell.labels,
            [
                ("behind 2".to_owned(), 2),
                ("unreachable".into(), 1),
                ("match".into(), 3)
            ]
        );
        assert_eq!(
            cell.builds.iter().map(|b| b.hosts).collect::<Vec<_>>(),
            [3, 2]
        );
        assert_eq!(
            cell.text(false),
            "3/6 match, 2 behind 2, 1 unreachable, 2 builds"
        );
    }

    #[test]
    fn the_exit_code_is_decided_here() {
        let round = |statuses: &[Status], broken: usize| {
            let reports: Vec<TargetReport> =
                statuses.iter().map(|s| report(*s, None, None)).collect();
            let mut summary = RoundSummary {
                cells: vec![CellSummary::of(&reports, "main")],
                total: Counts::default(),
                broken,
            };
            summary.total = summary.cells[0].counts.clone();
            summary
        };
        use Status as S;
        assert_eq!(round(&[S::Match, S::Match], 0).exit_code(), OK);
        assert_eq!(round(&[S::Match, S::Unreachable], 0).exit_code(), UNDECIDED);
        assert_eq!(
            round(&[S::Unstamped, S::Stale], 0).exit_code(),
            DRIFT,
            "drift wins"
        );
        assert_eq!(
            round(&[S::Match], 1).exit_code(),
            UNDECIDED,
            "a broken part"
        );
        assert_eq!(
            round(&[S::Behind], 1).exit_code(),
            DRIFT,
            "drift still wins"
        );
        assert_eq!(round(&[], 0).exit_code(), UNDECIDED, "nothing checked");
        assert_eq!(
            round(&[S::Match], 0).check_exit_code(true),
            DRIFT,
            "unsettled"
        );
        assert_eq!(round(&[S::Unreachable], 0).check_exit_code(true), UNDECIDED);
    }
}
