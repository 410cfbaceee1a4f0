//! `GET /metrics`: one round of the dashboard in the Prometheus text format, or OpenMetrics
//! when the scraper asks for it. Rendered once per round from the round's document, so a
//! scrape only copies bytes, and a page and a scrape can never disagree.
//!
//! Per-target series carry `status` and `revision` labels: one series per target at a time
//! (a target that moves on drops its old series), and by default only for targets that are
//! not `match` or `includes`, so their number follows the drift, not the fleet.

use std::fmt::Write as _;

use shipstamp_format::push_label_value;

use super::view::Fleet;
use crate::output::TargetDoc;

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

/// One round's `/metrics`, in both formats.
#[derive(Debug, Clone)]
pub(crate) struct Metrics {
    pub(crate) text: String,
    pub(crate) openmetrics: String,
}

impl Metrics {
    /// The round of `fleet`, which took `round_seconds`; rendering the previous round's took
    /// `render_seconds`.
    pub(crate) fn render(
        fleet: &Fleet,
        which: MetricsTargets,
        round_seconds: f64,
        render_seconds: Option<f64>,
        fetch_failures: &[(Option<String>, u64)],
    ) -> Metrics {
        let mut out = Writer::with_capacity(4096 + fleet.targets.len() * 200);
        let opt = |v: &Option<String>| v.clone().unwrap_or_default();

        out.family(
            "shipstamp_targets",
            Kind::Gauge,
            "Targets per status in each service and environment, as of the last round.",
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
                out.sample(
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
                (&t.target, labels)
            })
            .collect();
        type Value = fn(&TargetDoc) -> Option<u64>;
        let per_target: [(&str, Kind, &str, Value); 4] = [
            (
                "shipstamp_target_info",
                Kind::Info,
                "A target and what it runs: its status and served commit (revision).",
                |_| Some(1),
            ),
            (
                "shipstamp_target_commits_behind",
                Kind::Gauge,
                "Commits the target's build lacks of the ref's history (within its paths).",
                |t| t.behind,
            ),
            (
                "shipstamp_target_drift_seconds",
                Kind::Gauge,
                "How long the target has been missing something: since its oldest missing commit was made, or since a round saw the drift begin.",
                |t| t.drift_seconds,
            ),
            (
                "shipstamp_target_restart_pending",
                Kind::Gauge,
                "1 when the target's executable was replaced on disk since it started, or its container's image reference names a newer image (recreate needed).",
                |t| {
                    let recreate = t.container.as_ref().map(|c| c.recreate_needed);
                    match (t.exe_replaced, recreate) {
                        (None, None) => None,
                        (replaced, recreate) => {
                            Some(u64::from(replaced == Some(true) || recreate == Some(true)))
                        }
                    }
                },
            ),
        ];
        for (name, kind, help, value) in per_target {
            out.family(name, kind, help);
            for (target, [service, env, shown_as, status, revision]) in &shown {
                if let Some(value) = value(target) {
                    out.sample(
                        name,
                        &[
                            ("service", service),
                            ("environment", env),
                            ("target", shown_as),
                            ("status", status),
                            ("revision", revision),
                        ],
                        value,
                    );
                }
            }
        }

        let refs: Vec<_> = fleet
            .cells
            .iter()
            .flat_map(|c| {
                let (service, env) = (opt(&c.service), opt(&c.environment));
                c.reference
                    .iter()
                    .chain(c.contains.iter().flatten())
                    .map(move |r| (service.clone(), env.clone(), r))
            })
            .collect();
        out.family(
            "shipstamp_ref_info",
            Kind::Info,
            "The commit each service and environment is held against (ref), or each commit asked about with --contains.",
        );
        for (service, env, r) in &refs {
            let labels = [
                ("service", service.as_str()),
                ("environment", env),
                ("ref", &r.name),
                ("revision", &r.commit),
            ];
            out.sample("shipstamp_ref_info", &labels, 1);
        }
        out.family(
            "shipstamp_ref_commit_timestamp_seconds",
            Kind::Gauge,
            "When the ref's commit was made (committer time), since the Unix epoch.",
        );
        for (service, env, r) in &refs {
            if let Some(time) = r.commit_time {
                let labels = [
                    ("service", service.as_str()),
                    ("environment", env),
                    ("ref", &r.name),
                ];
                let name = "shipstamp_ref_commit_timestamp_seconds";
                out.sample(name, &labels, time.unix_seconds());
            }
        }

        let round_wide: [(&str, &str, &dyn std::fmt::Display); 3] = [
            (
                "shipstamp_round_duration_seconds",
                "How long the last round of checks took.",
                &round_seconds,
            ),
            (
                "shipstamp_last_round_timestamp_seconds",
                "When the last round of checks finished, since the Unix epoch.",
                &fleet.generated_at().unix_seconds(),
            ),
            (
                "shipstamp_broken",
                "Parts of the fleet that could not be checked in the last round (a repository, a ref, a source).",
                &fleet.broken.len(),
            ),
        ];
        for (name, help, value) in round_wide {
            out.family(name, Kind::Gauge, help);
            out.sample(name, &[], value);
        }
        if let Some(seconds) = render_seconds {
            let name = "shipstamp_metrics_render_seconds";
            let help = "How long rendering the previous round's /metrics took, both formats.";
            out.family(name, Kind::Gauge, help);
            out.sample(name, &[], seconds);
        }
        if let Some(interval) = fleet.interval_seconds() {
            let name = "shipstamp_round_interval_seconds";
            let help = "Seconds between the starts of two rounds (--interval): a last round older than a few of these means the watcher is stuck.";
            out.family(name, Kind::Gauge, help);
            out.sample(name, &[], interval);
        }
        out.family(
            "shipstamp_fetch_failures_total",
            Kind::Counter,
            "Background git fetches of a service's repository that failed, since the dashboard started.",
        );
        for (service, failures) in fetch_failures {
            out.sample(
                "shipstamp_fetch_failures_total",
                &[("service", &opt(service))],
                failures,
            );
        }

        if let Some(notify) = &fleet.notify {
            let counters = [
                (
                    "shipstamp_notify_sent_total",
                    "Notifications (--notify) the receiver took.",
                    notify.sent,
                ),
                (
                    "shipstamp_notify_failures_total",
                    "Notification deliveries that failed (each retry counts).",
                    notify.failures,
                ),
            ];
            for (name, help, value) in counters {
                out.family(name, Kind::Counter, help);
                out.sample(name, &[], value);
            }
            let name = "shipstamp_notify_pending";
            out.family(name, Kind::Gauge, "Notifications waiting to be delivered.");
            out.sample(name, &[], notify.pending);
        }

        // The dashboard's own build, as every stamped service exposes it: the same lines in
        // both formats, but for the info family's header.
        let own = shipstamp::stamp!().build_info_metric_named("shipstamp");
        for line in own.lines() {
            out.text.push_str(line);
            out.text.push('\n');
            if line == "# TYPE shipstamp_build_info gauge" {
                out.openmetrics.push_str("# TYPE shipstamp_build info\n");
            } else if let Some(help) = line.strip_prefix("# HELP shipstamp_build_info ") {
                out.openmetrics.push_str("# HELP shipstamp_build ");
                out.openmetrics.push_str(help);
                out.openmetrics.push('\n');
            } else {
                out.openmetrics.push_str(line);
                out.openmetrics.push('\n');
            }
        }
        out.openmetrics.push_str("# EOF\n");
        Metrics {
            text: out.text,
            openmetrics: out.openmetrics,
        }
    }
}

#[derive(Debug, Clone, Copy)]
enum Kind {
    Gauge,
    Counter,
    /// Always 1, its labels the information: a gauge in the text format.
    Info,
}

/// Both formats at once: each sample is formatted once and copied into the other.
struct Writer {
    text: String,
    openmetrics: String,
}

impl Writer {
    fn with_capacity(n: usize) -> Writer {
        Writer {
            text: String::with_capacity(n),
            openmetrics: String::with_capacity(n),
        }
    }

    /// A family's `# HELP` and `# TYPE`. In OpenMetrics an info or counter family is named
    /// without its sample suffix (`_info`, `_total`).
    fn family(&mut self, name: &str, kind: Kind, help: &str) {
        let (text_kind, family, om_kind) = match kind {
            Kind::Gauge => ("gauge", name, "gauge"),
            Kind::Counter => (
                "counter",
                name.strip_suffix("_total").unwrap_or(name),
                "counter",
            ),
            Kind::Info => ("gauge", name.strip_suffix("_info").unwrap_or(name), "info"),
        };
        let _ = writeln!(self.text, "# HELP {name} {help}\n# TYPE {name} {text_kind}");
        let _ = writeln!(
            self.openmetrics,
            "# HELP {family} {help}\n# TYPE {family} {om_kind}"
        );
    }

    /// `name{a="x",b="y"} value`, label values escaped.
    fn sample(&mut self, name: &str, labels: &[(&str, &str)], value: impl std::fmt::Display) {
        let out = &mut self.text;
        let start = out.len();
        out.push_str(name);
        if !labels.is_empty() {
            out.push('{');
            for (i, (label, v)) in labels.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(label);
                out.push_str("=\"");
                push_label_value(out, v);
                out.push('"');
            }
            out.push('}');
        }
        let _ = writeln!(out, " {value}");
        self.openmetrics.push_str(&self.text[start..]);
    }
}
