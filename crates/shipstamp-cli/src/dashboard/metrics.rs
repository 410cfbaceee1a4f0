//! `GET /metrics`: one round of the dashboard in the Prometheus text format, or OpenMetrics
//! when the scraper asks for it. Rendered once per round from the round's document, so a
//! scrape only copies bytes, and a page and a scrape can never disagree.
//!
//! Per-target series carry `status` and `revision` labels: one series per target at a time
//! (a target that moves on drops its old series), and by default only for targets that are
//! not `match` or `includes`, so their number follows the drift, not the fleet.

use std::fmt::Write as _;

use super::view::Fleet;

/// Which targets get series of their own.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum MetricsTargets {
    /// Every target that is not `match` (or `includes`): the drift and the undecided.
    Unmatched,
    /// Every target.
    All,
    /// None: counts per status only.
    None,
}

/// Every status, so that each cell's counts are series that exist at 0 rather than vanish.
const STATUSES: [&str; 12] = [
    "match",
    "behind",
    "ahead",
    "diverged",
    "dirty",
    "stale",
    "lacks",
    "unknown-commit",
    "unreachable",
    "invalid-response",
    "unstamped",
    "includes",
];

/// How the round went, beside its document.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RoundFacts {
    pub(crate) seconds: f64,
}

/// One round's `/metrics`, in both formats.
#[derive(Debug, Clone)]
pub(crate) struct Metrics {
    pub(crate) text: String,
    pub(crate) openmetrics: String,
}

impl Metrics {
    pub(crate) fn render(
        fleet: &Fleet,
        which: MetricsTargets,
        round: RoundFacts,
        fetch_failures: &[(Option<String>, u64)],
    ) -> Metrics {
        Metrics {
            text: render(fleet, which, round, fetch_failures, false),
            openmetrics: render(fleet, which, round, fetch_failures, true),
        }
    }
}

/// A family's `# HELP` and `# TYPE`. In OpenMetrics an info or counter family is named
/// without its sample suffix (`_info`, `_total`).
fn family(out: &mut String, name: &str, kind: &str, help: &str, openmetrics: bool) {
    let (family, kind) = match (openmetrics, kind) {
        (true, "info") => (name.strip_suffix("_info").unwrap_or(name), "info"),
        (true, "counter") => (name.strip_suffix("_total").unwrap_or(name), "counter"),
        (false, "info") => (name, "gauge"),
        _ => (name, kind),
    };
    let _ = writeln!(out, "# HELP {family} {help}");
    let _ = writeln!(out, "# TYPE {family} {kind}");
}

/// `name{a="x",b="y"} value`, label values escaped as the text format wants.
fn sample(out: &mut String, name: &str, labels: &[(&str, &str)], value: impl std::fmt::Display) {
    out.push_str(name);
    if !labels.is_empty() {
        out.push('{');
        for (i, (label, v)) in labels.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            out.push_str(label);
            out.push_str("=\"");
            for c in v.chars() {
                match c {
                    '\\' => out.push_str("\\\\"),
                    '"' => out.push_str("\\\""),
                    '\n' => out.push_str("\\n"),
                    c => out.push(c),
                }
            }
            out.push('"');
        }
        out.push('}');
    }
    let _ = writeln!(out, " {value}");
}

fn render(
    fleet: &Fleet,
    which: MetricsTargets,
    round: RoundFacts,
    fetch_failures: &[(Option<String>, u64)],
    openmetrics: bool,
) -> String {
    let mut out = String::with_capacity(4096 + fleet.targets.len() * 200);
    let opt = |v: &Option<String>| v.clone().unwrap_or_default();

    family(
        &mut out,
        "shipstamp_targets",
        "gauge",
        "Targets per status in each service and environment, as of the last round.",
        openmetrics,
    );
    for cell in &fleet.cells {
        let (service, env) = (opt(&cell.service), opt(&cell.environment));
        for status in STATUSES {
            let n = cell
                .summary
                .statuses
                .iter()
                .find(|(s, _)| *s == status)
                .map_or(0, |(_, n)| *n);
            sample(
                &mut out,
                "shipstamp_targets",
                &[
                    ("service", &service),
                    ("environment", &env),
                    ("status", status),
                ],
                n,
            );
        }
    }

    let shown: Vec<_> = fleet
        .targets
        .iter()
        .filter(|t| match which {
            MetricsTargets::All => true,
            MetricsTargets::None => false,
            MetricsTargets::Unmatched => !matches!(t.target.status, "match" | "includes"),
        })
        .map(|t| {
            let labels = [
                opt(&t.target.service),
                opt(&t.target.environment),
                t.display.clone(),
                t.target.status.to_owned(),
                opt(&t.target.commit),
            ];
            (t, labels)
        })
        .collect();
    let per_target: [(&str, &str, &str); 4] = [
        (
            "shipstamp_target_info",
            "info",
            "A target and what it runs: its status and served commit (revision).",
        ),
        (
            "shipstamp_target_commits_behind",
            "gauge",
            "Commits the target's build lacks of the ref's history (within its paths).",
        ),
        (
            "shipstamp_target_drift_seconds",
            "gauge",
            "How long the target has been missing something: since its oldest missing commit was made, or since a round saw the drift begin.",
        ),
        (
            "shipstamp_target_restart_pending",
            "gauge",
            "1 when the target's executable was replaced on disk since it started.",
        ),
    ];
    for (name, kind, help) in per_target {
        family(&mut out, name, kind, help, openmetrics);
        for (t, [service, env, target, status, revision]) in &shown {
            let value = match name {
                "shipstamp_target_info" => Some(1),
                "shipstamp_target_commits_behind" => t.target.behind,
                "shipstamp_target_drift_seconds" => t.target.drift_seconds,
                _ => t.target.exe_replaced.map(u64::from),
            };
            if let Some(value) = value {
                sample(
                    &mut out,
                    name,
                    &[
                        ("service", service),
                        ("environment", env),
                        ("target", target),
                        ("status", status),
                        ("revision", revision),
                    ],
                    value,
                );
            }
        }
    }

    family(
        &mut out,
        "shipstamp_ref_info",
        "info",
        "The commit each service and environment is held against (ref), or each commit asked about with --contains.",
        openmetrics,
    );
    let refs: Vec<_> = fleet
        .cells
        .iter()
        .flat_map(|c| {
            c.reference
                .iter()
                .chain(c.contains.iter().flatten())
                .map(move |r| (c, r))
        })
        .collect();
    for (cell, r) in &refs {
        sample(
            &mut out,
            "shipstamp_ref_info",
            &[
                ("service", &opt(&cell.service)),
                ("environment", &opt(&cell.environment)),
                ("ref", &r.name),
                ("revision", &r.commit),
            ],
            1,
        );
    }
    family(
        &mut out,
        "shipstamp_ref_commit_timestamp_seconds",
        "gauge",
        "When the ref's commit was made (committer time), since the Unix epoch.",
        openmetrics,
    );
    for (cell, r) in &refs {
        if let Some(time) = r.commit_time {
            sample(
                &mut out,
                "shipstamp_ref_commit_timestamp_seconds",
                &[
                    ("service", &opt(&cell.service)),
                    ("environment", &opt(&cell.environment)),
                    ("ref", &r.name),
                ],
                time.unix_seconds(),
            );
        }
    }

    family(
        &mut out,
        "shipstamp_round_duration_seconds",
        "gauge",
        "How long the last round of checks took.",
        openmetrics,
    );
    sample(
        &mut out,
        "shipstamp_round_duration_seconds",
        &[],
        round.seconds,
    );
    family(
        &mut out,
        "shipstamp_last_round_timestamp_seconds",
        "gauge",
        "When the last round of checks finished, since the Unix epoch.",
        openmetrics,
    );
    sample(
        &mut out,
        "shipstamp_last_round_timestamp_seconds",
        &[],
        fleet.generated_at().unix_seconds(),
    );
    family(
        &mut out,
        "shipstamp_broken",
        "gauge",
        "Parts of the fleet that could not be checked in the last round (a repository, a ref, a source).",
        openmetrics,
    );
    sample(&mut out, "shipstamp_broken", &[], fleet.broken.len());
    family(
        &mut out,
        "shipstamp_fetch_failures_total",
        "counter",
        "Background git fetches of a service's repository that failed, since the dashboard started.",
        openmetrics,
    );
    for (service, failures) in fetch_failures {
        sample(
            &mut out,
            "shipstamp_fetch_failures_total",
            &[("service", &opt(service))],
            failures,
        );
    }

    // The dashboard's own build, as every stamped service exposes it.
    let own = shipstamp::stamp!().build_info_metric_named("shipstamp");
    if openmetrics {
        for line in own.lines() {
            let line = match line {
                "# TYPE shipstamp_build_info gauge" => "# TYPE shipstamp_build info",
                l if l.starts_with("# HELP shipstamp_build_info ") => {
                    out.push_str("# HELP shipstamp_build ");
                    out.push_str(&l["# HELP shipstamp_build_info ".len()..]);
                    out.push('\n');
                    continue;
                }
                l => l,
            };
            out.push_str(line);
            out.push('\n');
        }
        out.push_str("# EOF\n");
    } else {
        out.push_str(&own);
    }
    out
}
