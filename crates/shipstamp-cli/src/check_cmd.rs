//! `shipstamp check`.

use std::io::{self, IsTerminal, Write};
use std::time::{Duration, Instant};

use shipstamp_check::{Checker, Commit, Repo, Status, TargetReport, exit_code};

use crate::args::{CheckFlags, parse_positive_duration};
use crate::output::{CHECK_SCHEMA, CheckDoc, RefDoc, TargetDoc, WaitDoc};
use crate::present::{detail, display_name, label, paint, short};
use crate::{EXIT_DRIFT, EXIT_USAGE, repo_error};

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
}

pub(crate) fn run(args: &CheckArgs, out: &mut impl Write) -> anyhow::Result<u8> {
    let targets = match args.flags.targets("check") {
        Ok(t) => t,
        Err(why) => {
            eprintln!("shipstamp check: {why}");
            return Ok(EXIT_USAGE);
        }
    };
    let ref_name = &args.flags.reference;
    let repo = Repo::open(&args.flags.repo).map_err(repo_error)?;
    let mut checker = Checker::new(repo, args.flags.options());
    let reference = checker.resolve_ref(ref_name).map_err(repo_error)?;

    let started = Instant::now();
    let mut rounds = 0u32;
    let mut streak = 0u32;
    let mut stopped_early = false;
    let progress = args.wait.is_some() && io::stderr().is_terminal();
    let reports = loop {
        let reports = checker.check(&targets, &reference).map_err(repo_error)?;
        rounds += 1;
        let Some(wait) = args.wait else { break reports };
        if reports.iter().all(|r| r.status == Status::Match) {
            streak += 1;
            if streak >= args.consecutive {
                break reports;
            }
        } else {
            streak = 0;
        }
        if reports.iter().any(|r| !r.status.can_converge()) {
            stopped_early = true;
            break reports;
        }
        if started.elapsed() + args.interval > wait {
            break reports;
        }
        if progress {
            let matching = reports.iter().filter(|r| r.status == Status::Match).count();
            let left = wait.saturating_sub(started.elapsed()).as_secs();
            eprint!(
                "\rwaiting for {ref_name}: {matching}/{} match, {left}s left   ",
                reports.len()
            );
        }
        std::thread::sleep(args.interval);
    };
    if progress {
        eprint!("\r{:60}\r", "");
    }
    let mut code = exit_code(&reports);
    let unsettled = args.wait.is_some() && code == 0 && streak < args.consecutive;
    if unsettled {
        code = EXIT_DRIFT;
    }
    let waited = args.wait.map(|_| Waited {
        rounds,
        streak,
        stopped_early,
        unsettled,
        seconds: started.elapsed().as_secs_f64(),
    });
    let written = if args.json {
        let doc = CheckDoc {
            schema: CHECK_SCHEMA,
            reference: RefDoc::new(ref_name, &reference),
            targets: reports.iter().map(TargetDoc::new).collect(),
            wait: waited.as_ref().map(|w| WaitDoc {
                polls: w.rounds,
                seconds: w.seconds,
                stopped_early: w.stopped_early,
                settled: !w.unsettled && !w.stopped_early,
            }),
            exit_code: code,
        };
        serde_json::to_string(&doc)
            .map_err(io::Error::other)
            .and_then(|json| writeln!(out, "{json}"))
    } else {
        write_text(
            out,
            ref_name,
            &reference,
            &reports,
            waited.as_ref(),
            args.consecutive,
        )
    };
    // The verdict stands even when nobody reads it any more (`| head`).
    match written {
        Err(e) if e.kind() != io::ErrorKind::BrokenPipe => Err(e.into()),
        _ => Ok(code),
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
    ref_name: &str,
    reference: &Commit,
    reports: &[TargetReport],
    waited: Option<&Waited>,
    consecutive: u32,
) -> io::Result<()> {
    let color = io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none();
    let names: Vec<String> = reports.iter().map(display_name).collect();
    let width = names.iter().map(|n| n.chars().count()).max().unwrap_or(0);
    for (r, who) in reports.iter().zip(&names) {
        let label = format!("{:<16}", label(r));
        let label = if color {
            paint(r.status, &label)
        } else {
            label
        };
        writeln!(out, "{label} {who:<width$}  {}", detail(r, ref_name))?;
    }
    let mut counts: Vec<(&str, usize)> = Vec::new();
    for r in reports {
        match counts.iter_mut().find(|(s, _)| *s == r.status.as_str()) {
            Some((_, n)) => *n += 1,
            None => counts.push((r.status.as_str(), 1)),
        }
    }
    let counts: Vec<String> = counts.iter().map(|(s, n)| format!("{n} {s}")).collect();
    let time = reference
        .time
        .map(|t| format!(" ({t})"))
        .unwrap_or_default();
    writeln!(
        out,
        "{ref_name} = {}{time}: {}, {}",
        short(&reference.id),
        plural(reports.len() as u64, "target", "targets"),
        counts.join(", ")
    )?;
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
        } else if reports.iter().all(|r| r.status == Status::Match) {
            writeln!(
                out,
                "all matched after {:.0}s, {}",
                w.seconds,
                plural(w.rounds, "poll", "polls")
            )?;
        } else {
            writeln!(
                out,
                "time is up after {:.0}s, {}: not every target matches {ref_name}",
                w.seconds,
                plural(w.rounds, "poll", "polls")
            )?;
        }
    }
    Ok(())
}
