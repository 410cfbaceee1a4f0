//! `shipstamp check`.

use std::io::{self, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use shipstamp::Timestamp;
use shipstamp_check::{Commit, Expected, TargetReport};

use crate::args::{CheckFlags, Question};
use crate::dashboard::{Background, Fleet, History, Metrics, MetricsTargets};
use crate::error::{CliError, OK, UNDECIDED};
use crate::output::{CHECK_SCHEMA, CellDoc, CheckDoc, ErrorDoc, RefDoc, TargetDoc, WaitDoc};
use crate::present::{DriftAge, detail, display_name, label, paint, paths_listed, short};
use crate::rounds::{Cell, Round, Rounds};
use crate::summary::{Counts, RoundSummary};
use crate::values::parse_positive_duration;

#[derive(Debug, clap::Args)]
pub(crate) struct CheckArgs {
    #[command(flatten)]
    flags: CheckFlags,
    /// Print one JSON document (shipstamp-check/v1) instead of text.
    #[arg(long)]
    json: bool,
    /// Poll until every target matches (see --consecutive) or DURATION passes; stops early when
    /// a target is ahead of or diverged from the ref, which waiting cannot fix. E.g. 5m, 90s.
    #[arg(long, value_name = "DURATION", value_parser = parse_positive_duration)]
    wait: Option<Duration>,
    /// Time between polls with --wait. (The dashboard's rounds default to 5s: it runs for days
    /// against the whole fleet, while a deploy gate wants to finish as soon as the rollout lands.)
    #[arg(long, value_name = "DURATION", value_parser = parse_positive_duration, default_value = "2s")]
    interval: Duration,
    /// With --wait, how many polls in a row must all match.
    #[arg(long, value_name = "K", default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=1000))]
    consecutive: u32,
    /// Also write this run's metrics to FILE, as the dashboard's /metrics has them (in the
    /// Prometheus text format, which node_exporter's textfile collector reads), atomically: a
    /// temporary file in the same directory, then renamed.
    #[arg(long, value_name = "FILE")]
    openmetrics: Option<PathBuf>,
}

pub(crate) fn run(args: &CheckArgs, out: &mut impl Write) -> Result<u8, CliError> {
    let plan = args.flags.plan("check")?;
    let fleet_mode = args.flags.fleet.is_some();
    let contains_mode = matches!(plan.question, Question::Contains(_));
    let mut rounds = Rounds::new(plan.fleet, &plan.options, &plan.question);
    if let Some(why) = rounds.resolve_all().filter(|_| !fleet_mode) {
        return Err(CliError::undecided(why));
    }

    let started = Instant::now();
    let mut polls = 0u32;
    let mut streak = 0u32;
    let mut stopped_early = false;
    let progress = args.wait.is_some() && io::stderr().is_terminal();
    let (round, summary) = loop {
        let round = rounds.run(false);
        let summary = round.summary();
        polls += 1;
        let Some(wait) = args.wait else {
            break (round, summary);
        };
        if summary.all_match() {
            streak += 1;
            if streak >= args.consecutive {
                break (round, summary);
            }
        } else {
            streak = 0;
        }
        let reports = || round.cells.iter().flat_map(|c| c.reports.iter());
        if reports().any(|r| !r.status.can_converge()) {
            stopped_early = true;
            break (round, summary);
        }
        if started.elapsed() + args.interval > wait {
            break (round, summary);
        }
        if progress {
            let what = match (&round.cells[..], fleet_mode) {
                ([cell], false) => cell.ref_name.clone(),
                _ => "the fleet".into(),
            };
            let left = wait.saturating_sub(started.elapsed()).as_secs();
            let verb = if contains_mode { "include it" } else { "match" };
            eprint!(
                "\rwaiting for {what}: {}/{} {verb}, {left}s left   ",
                summary.total.matching, summary.total.targets
            );
        }
        std::thread::sleep(args.interval);
    };
    if progress {
        eprint!("\r{:60}\r", "");
    }
    let unsettled = args.wait.is_some() && summary.all_match() && streak < args.consecutive;
    let code = summary.check_exit_code(unsettled);
    let waited = args.wait.map(|_| Waited {
        rounds: polls,
        streak,
        stopped_early,
        unsettled,
        seconds: started.elapsed().as_secs_f64(),
    });
    // Written before the verdict is printed, which stands either way; drift wins over a file
    // that could not be written.
    let mut code = code;
    if let Some(path) = &args.openmetrics {
        let seconds = started.elapsed().as_secs_f64();
        if let Err(e) = write_metrics(path, &round, &summary, fleet_mode, seconds) {
            eprintln!("shipstamp check: cannot write {}: {e}", path.display());
            if code == OK {
                code = UNDECIDED;
            }
        }
    }
    let cells = &round.cells;
    // What could not be checked, on standard error (and in the JSON document's `errors`).
    for broken in &round.broken {
        eprintln!("shipstamp check: {broken}");
    }
    let written = if args.json {
        let doc = CheckDoc {
            schema: CHECK_SCHEMA,
            reference: match (&cells[..], fleet_mode) {
                ([cell], false) => cell
                    .reference()
                    .map(|commit| RefDoc::new(&cell.ref_name, commit)),
                _ => None,
            },
            contains: match (&cells[..], fleet_mode) {
                ([cell], false) => cell
                    .contains()
                    .map(|commits| RefDoc::each(&cell.ref_name, commits)),
                _ => None,
            },
            cells: cells
                .iter()
                .zip(&summary.cells)
                .map(|(c, s)| CellDoc::new(c, s))
                .collect(),
            targets: Targets(cells, Timestamp::now()),
            wait: waited.as_ref().map(|w| WaitDoc {
                polls: w.rounds,
                seconds: w.seconds,
                stopped_early: w.stopped_early,
                settled: !w.unsettled && !w.stopped_early,
            }),
            errors: round.broken.iter().map(ErrorDoc::new).collect(),
            exit_code: code,
        };
        // Streamed: for a fleet of 100,000 instances the document is tens of megabytes.
        let mut buffered = io::BufWriter::new(&mut *out);
        serde_json::to_writer(&mut buffered, &doc)
            .map_err(io::Error::from)
            .and_then(|()| writeln!(buffered))
            .and_then(|()| buffered.flush())
    } else {
        // Standard output writes line by line: 100,000 targets would be 100,000 writes.
        let mut buffered = io::BufWriter::new(&mut *out);
        write_text(
            &mut buffered,
            &round,
            &summary,
            fleet_mode,
            waited.as_ref(),
            args.consecutive,
        )
        .and_then(|()| buffered.flush())
    };
    // The verdict stands even when nobody reads it any more (`| head`).
    match written {
        Err(e) if e.kind() != io::ErrorKind::BrokenPipe => Err(e.into()),
        _ => Ok(code),
    }
}

/// The round's metrics (as the dashboard's `/metrics`, text format) into `path`, through a
/// temporary file in the same directory renamed over it: a collector never reads half of it.
fn write_metrics(
    path: &Path,
    round: &Round,
    summary: &RoundSummary,
    fleet_mode: bool,
    seconds: f64,
) -> io::Result<()> {
    let fleet = Fleet::new(
        round,
        summary,
        !fleet_mode,
        &mut History::default(),
        None,
        Background::default(),
    );
    let metrics = Metrics::render(&fleet, MetricsTargets::Unmatched, seconds, None, &[]);
    let name = path
        .file_name()
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "not a file name"))?;
    let mut temporary = name.to_os_string();
    temporary.push(format!(".{}.tmp", std::process::id()));
    let temporary = path.with_file_name(temporary);
    let written = std::fs::write(&temporary, metrics.text.as_bytes())
        .and_then(|()| std::fs::rename(&temporary, path));
    if written.is_err() {
        let _ = std::fs::remove_file(&temporary);
    }
    written
}

/// Every cell's targets as [`TargetDoc`]s, each made as it is written.
struct Targets<'a>(&'a [Cell], Timestamp);

impl serde::Serialize for Targets<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let now = self.1;
        serializer.collect_seq(self.0.iter().flat_map(|c| {
            c.reports
                .iter()
                .map(move |r| TargetDoc::new(r, c, DriftAge::of(r, None, now)))
        }))
    }
}

struct Waited {
    rounds: u32,
    streak: u32,
    stopped_early: bool,
    unsettled: bool,
    seconds: f64,
}

fn plural(n: impl Into<u64>, one: &str, many: &str) -> String {
    let n = n.into();
    format!("{n} {}", if n == 1 { one } else { many })
}

fn write_text(
    out: &mut impl Write,
    round: &Round,
    summary: &RoundSummary,
    fleet_mode: bool,
    waited: Option<&Waited>,
    consecutive: u32,
) -> io::Result<()> {
    let color = io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none();
    let now = Timestamp::now();
    let cells = &round.cells;
    let names: Vec<Vec<String>> = cells
        .iter()
        .map(|c| c.reports.iter().map(display_name).collect())
        .collect();
    let width = names
        .iter()
        .flatten()
        .map(|n| n.chars().count())
        .max()
        .unwrap_or(0);
    for ((cell, names), cell_summary) in cells.iter().zip(&names).zip(&summary.cells) {
        let ref_line = asked(cell);
        if fleet_mode {
            writeln!(
                out,
                "{} · {} · {ref_line}",
                cell.service.as_deref().unwrap_or(""),
                cell.env.as_deref().unwrap_or("")
            )?;
        }
        for (r, who) in cell.reports.iter().zip(names) {
            write_row(out, r, who, width, &cell.ref_name, color, now)?;
        }
        let counts = counts(&cell_summary.counts);
        if fleet_mode {
            writeln!(out, "  {counts}")?;
        } else {
            writeln!(out, "{ref_line}: {counts}")?;
        }
    }
    if fleet_mode {
        let services = {
            let mut s: Vec<_> = cells
                .iter()
                .map(|c| &c.service)
                .chain(round.broken.iter().map(|b| &b.service))
                .collect();
            s.sort();
            s.dedup();
            s.len()
        };
        writeln!(
            out,
            "{}, {}: {}",
            plural(services as u64, "service", "services"),
            plural(cells.len() as u64, "environment", "environments"),
            counts(&summary.total)
        )?;
    }
    let ref_name = match &cells[..] {
        [cell] if !fleet_mode => cell.ref_name.as_str(),
        _ => "its ref",
    };
    let matches = match cells.first().map(|c| &c.expected) {
        Some(Expected::Contains(_)) => "includes",
        _ => "matches",
    };
    if let Some(w) = waited {
        if w.stopped_early {
            writeln!(
                out,
                "stopped waiting after {:.0}s: a target ahead of or diverged from {ref_name} will not converge",
                w.seconds
            )?;
        } else if w.unsettled {
            writeln!(
                out,
                "time is up: all matched on the last poll, but only {} of {consecutive} polls in a row",
                w.streak
            )?;
        } else if summary.all_match() {
            writeln!(
                out,
                "all matched after {:.0}s, {}",
                w.seconds,
                plural(w.rounds, "poll", "polls")
            )?;
        } else {
            writeln!(
                out,
                "time is up after {:.0}s, {}: not every target {matches} {ref_name}",
                w.seconds,
                plural(w.rounds, "poll", "polls")
            )?;
        }
    }
    Ok(())
}

/// What a cell was asked, as its header says it: `main = 3f9c2e1 (2026-11-22T09:58:11Z)`, or
/// `contains 64b8e19 "Fix double emit" (2026-11-20T09:12:44Z)`; a ref within paths adds
/// `under services/a and Cargo.lock`.
fn asked(cell: &Cell) -> String {
    let time = |c: &Commit| c.time.map(|t| format!(" ({t})")).unwrap_or_default();
    match &cell.expected {
        Expected::Contains(commits) => {
            let each: Vec<String> = commits
                .iter()
                .map(|c| {
                    let subject = c
                        .subject
                        .as_ref()
                        .map(|s| format!(" {s:?}"))
                        .unwrap_or_default();
                    format!("{}{subject}{}", short(&c.id), time(c))
                })
                .collect();
            format!("contains {}", each.join(", "))
        }
        Expected::RefWithin {
            reference: c,
            paths,
        } if !paths.is_empty() => {
            // In the order the targets' notes name them.
            let mut paths = paths.clone();
            paths.sort_unstable();
            paths.dedup();
            format!(
                "{} = {}{} under {}",
                cell.ref_name,
                short(&c.id),
                time(c),
                paths_listed(&paths)
            )
        }
        expected => match expected.reference() {
            Some(c) => format!("{} = {}{}", cell.ref_name, short(&c.id), time(c)),
            None => cell.ref_name.clone(),
        },
    }
}

/// One target's line: its label, its name padded to `width`, and what explains its status.
/// Padded by writing spaces, not with a format width: names can be longer than any width a
/// format string takes (65,535), and are written whole.
fn write_row(
    out: &mut impl Write,
    r: &TargetReport,
    who: &str,
    width: usize,
    ref_name: &str,
    color: bool,
    now: Timestamp,
) -> io::Result<()> {
    let label = label(r);
    if color {
        out.write_all(paint(r.status, &label).as_bytes())?;
    } else {
        out.write_all(label.as_bytes())?;
    }
    spaces(out, 17usize.saturating_sub(label.chars().count()).max(1))?;
    out.write_all(who.as_bytes())?;
    spaces(out, width.saturating_sub(who.chars().count()) + 2)?;
    writeln!(out, "{}", detail(r, ref_name, DriftAge::of(r, None, now)))
}

fn spaces(out: &mut impl Write, n: usize) -> io::Result<()> {
    const SPACES: &[u8; 64] = &[b' '; 64];
    let mut left = n;
    while left > 0 {
        let now = left.min(SPACES.len());
        out.write_all(&SPACES[..now])?;
        left -= now;
    }
    Ok(())
}

/// `3 targets, 1 match, 1 behind, 1 unreachable`.
fn counts(counts: &Counts) -> String {
    let mut text = plural(counts.targets as u64, "target", "targets");
    for (status, n) in &counts.statuses {
        text.push_str(&format!(", {n} {status}"));
    }
    text
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use proptest::prelude::*;
    use shipstamp_check::{Reason, ReasonKind, Status};

    use super::*;

    fn status() -> impl Strategy<Value = Status> {
        proptest::sample::select(vec![
            Status::Match,
            Status::Behind,
            Status::Ahead,
            Status::Diverged,
            Status::UnknownCommit,
            Status::Dirty,
            Status::Unreachable,
            Status::InvalidResponse,
            Status::Stale,
            Status::Unstamped,
        ])
    }

    /// Any text, and now and then one longer than a format width can be (65,535).
    fn text() -> impl Strategy<Value = String> {
        prop_oneof![
            8 => ".{0,40}",
            1 => Just("n".repeat(70_000)),
            1 => Just("\u{1b}[2J\n\r\t".to_owned()),
        ]
    }

    fn report() -> impl Strategy<Value = TargetReport> {
        (
            text(),
            proptest::option::of(text()),
            status(),
            proptest::option::of(text()),
            proptest::option::of("[0-9a-f]{0,40}"),
            (proptest::option::of(0u64..5), proptest::option::of(0u64..5)),
        )
            .prop_map(|(url, name, status, reason, commit, (behind, ahead))| {
                let mut r = TargetReport::new(url, status);
                r.name = name;
                r.reason = reason.map(|m| Reason::new(ReasonKind::Other, m));
                r.commit = commit;
                r.behind = behind;
                r.ahead = ahead;
                r
            })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(128))]

        /// Any names, URLs and reasons, of any length: rendered, one line per target (and per
        /// cell's counts), never a panic.
        #[test]
        fn any_round_renders(
            reports in prop::collection::vec(report(), 0..6),
            fleet_mode in any::<bool>(),
        ) {
            let round = Round {
                cells: vec![Cell {
                    service: fleet_mode.then(|| "orders".into()),
                    env: fleet_mode.then(|| "production".into()),
                    ref_name: "main".into(),
                    expected: Expected::Ref(Commit::new("3f9c2e1aa0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5")),
                    reports: Arc::new(reports.clone()),
                }],
                broken: Vec::new(),
            };
            let summary = round.summary();
            let mut out = Vec::new();
            write_text(&mut out, &round, &summary, fleet_mode, None, 1).unwrap();
            let text = String::from_utf8(out).unwrap();
            for r in &reports {
                let shown = display_name(r);
                prop_assert!(text.contains(&shown), "{shown:?} is written whole");
            }
            let counted = format!("{} target", reports.len());
            prop_assert!(text.contains(&counted), "{}", counted);
        }
    }
}
