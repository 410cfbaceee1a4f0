//! `shipstamp check`.

use std::io::{self, IsTerminal, Write};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use shipstamp_check::{Commit, Options, Repo, Status, TargetReport, check, exit_code};

use crate::targets::read_targets;
use crate::{EXIT_DRIFT, EXIT_USAGE};

#[derive(Debug, clap::Args)]
pub(crate) struct CheckArgs {
    /// Version endpoints to check (http:// or https:// URLs).
    #[arg(value_name = "URL")]
    urls: Vec<String>,
    /// The git ref the targets should run: a branch, tag, HEAD, origin/main, a full or short
    /// commit id.
    #[arg(long = "ref", value_name = "REF")]
    reference: String,
    /// The repository in which to resolve REF and the served commits.
    #[arg(long, value_name = "DIR", default_value = ".")]
    repo: PathBuf,
    /// Also read targets from FILE ("-": standard input): one URL per line, optionally followed
    /// by a name; blank lines and lines starting with # are skipped.
    #[arg(long, value_name = "FILE")]
    targets: Option<PathBuf>,
    /// Print one JSON document instead of text.
    #[arg(long)]
    json: bool,
    /// Poll until every target matches (see --consecutive) or DURATION passes; stops early when
    /// a target is ahead of or diverged from the ref, which waiting cannot fix. E.g. 5m, 90s.
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    wait: Option<Duration>,
    /// Time between polls with --wait.
    #[arg(long, value_name = "DURATION", value_parser = parse_duration, default_value = "2s")]
    interval: Duration,
    /// With --wait, how many polls in a row must all match.
    #[arg(long, value_name = "K", default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=1000))]
    consecutive: u32,
    /// Judge a target built from uncommitted changes by its commit instead of reporting `dirty`.
    #[arg(long)]
    allow_dirty: bool,
    /// Targets checked at once.
    #[arg(long, value_name = "N", default_value_t = 32, value_parser = clap::value_parser!(u16).range(1..=1024))]
    concurrency: u16,
    /// Time limit for each target's request, body included.
    #[arg(long, value_name = "DURATION", value_parser = parse_duration, default_value = "10s")]
    timeout: Duration,
}

/// `500ms`, `30s`, `5m`, `1h`, or a number of seconds.
pub(crate) fn parse_duration(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    let (number, unit) = match s.find(|c: char| !c.is_ascii_digit() && c != '.') {
        Some(i) => s.split_at(i),
        None => (s, "s"),
    };
    let value: f64 = number
        .parse()
        .map_err(|_| format!("{s:?} is not a duration such as 30s, 5m or 500ms"))?;
    let seconds = match unit {
        "ms" => value / 1000.0,
        "s" => value,
        "m" => value * 60.0,
        "h" => value * 3600.0,
        _ => return Err(format!("{s:?}: unknown unit {unit:?} (use ms, s, m or h)")),
    };
    if !seconds.is_finite() || seconds > 7.0 * 86_400.0 {
        return Err(format!("{s:?} is out of range"));
    }
    Ok(Duration::from_secs_f64(seconds))
}

pub(crate) fn run(args: &CheckArgs, out: &mut impl Write) -> anyhow::Result<u8> {
    let targets = match read_targets(&args.urls, args.targets.as_deref()) {
        Ok(t) => t,
        Err(why) => {
            eprintln!("shipstamp check: {why}");
            return Ok(EXIT_USAGE);
        }
    };
    let repo = Repo::open(&args.repo)?;
    let reference = repo.resolve_ref(&args.reference)?;
    let options = Options::default()
        .allow_dirty(args.allow_dirty)
        .timeout(args.timeout)
        .concurrency(args.concurrency.into());

    let started = Instant::now();
    let mut rounds = 0u32;
    let mut streak = 0u32;
    let mut stopped_early = false;
    let progress = args.wait.is_some() && io::stderr().is_terminal();
    let reports = loop {
        let reports = check(&targets, &repo, &reference, &options);
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
                "\rwaiting for {}: {matching}/{} match, {left}s left   ",
                args.reference,
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
    let waited = Waited {
        rounds,
        streak,
        stopped_early,
        unsettled,
        seconds: started.elapsed().as_secs_f64(),
    };
    let written = if args.json {
        write_json(
            out,
            &args.reference,
            &reference,
            &reports,
            args.wait.map(|_| &waited),
            code,
        )
    } else {
        write_text(
            out,
            &args.reference,
            &reference,
            &reports,
            args.wait.map(|_| &waited),
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

pub(crate) fn short(id: &str) -> &str {
    &id[..id.len().min(7)]
}

pub(crate) fn label(r: &TargetReport) -> String {
    match (r.status, r.behind, r.ahead) {
        (Status::Behind, Some(n), _) => format!("behind {n}"),
        (Status::Ahead, _, Some(n)) => format!("ahead {n}"),
        (status, _, _) => status.as_str().to_owned(),
    }
}

fn detail(r: &TargetReport, ref_name: &str) -> String {
    let commit = r.commit.as_deref().map(short).unwrap_or("");
    let plural = |n: u64| if n == 1 { "commit" } else { "commits" };
    let mut d = match (r.status, r.behind, r.ahead) {
        (Status::Match, ..) => match (&r.package, &r.version) {
            (Some(p), Some(v)) => format!("{commit}  {p} {v}"),
            _ => commit.to_owned(),
        },
        (Status::Behind, Some(n), _) => format!("{commit}  {n} {} behind {ref_name}", plural(n)),
        (Status::Ahead, _, Some(n)) => format!("{commit}  {n} {} ahead of {ref_name}", plural(n)),
        (Status::Diverged, Some(b), Some(a)) => format!(
            "{commit}  {a} ahead, {b} behind {ref_name} (merge base {})",
            r.merge_base.as_deref().map(short).unwrap_or("none")
        ),
        _ => r.reason.clone().unwrap_or_default(),
    };
    for note in restart_notes(r, ref_name) {
        d.push_str("; ");
        d.push_str(&note);
    }
    d
}

/// The signs that a target needs a restart, as sentences: one wording for `check` and the
/// dashboard.
pub(crate) fn restart_notes(r: &TargetReport, ref_name: &str) -> Vec<String> {
    let mut notes = Vec::new();
    if r.started_before_ref && r.status != Status::Match {
        if let Some(t) = r.started_at {
            notes.push(format!(
                "process started {t}, before {ref_name}'s commit (never restarted?)"
            ));
        }
    }
    if r.exe_replaced == Some(true) {
        notes.push("its executable was replaced on disk: restart pending".into());
    }
    notes
}

fn paint(status: Status, text: &str, color: bool) -> String {
    if !color {
        return text.to_owned();
    }
    let code = match status {
        Status::Match => "32",
        Status::Behind | Status::Ahead => "33",
        _ => "31",
    };
    format!("\x1b[{code}m{text}\x1b[0m")
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
    let width = reports
        .iter()
        .map(|r| r.name.as_deref().unwrap_or(&r.url).len())
        .max()
        .unwrap_or(0);
    for r in reports {
        let label = format!("{:<16}", label(r));
        let who = r.name.as_deref().unwrap_or(&r.url);
        writeln!(
            out,
            "{} {who:<width$}  {}",
            paint(r.status, &label, color),
            detail(r, ref_name)
        )?;
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
        "{ref_name} = {}{time}: {} target{}, {}",
        short(&reference.id),
        reports.len(),
        if reports.len() == 1 { "" } else { "s" },
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
                "all matched after {:.0}s, {} poll{}",
                w.seconds,
                w.rounds,
                if w.rounds == 1 { "" } else { "s" }
            )?;
        } else {
            writeln!(
                out,
                "time is up after {:.0}s, {} poll{}: not every target matches {ref_name}",
                w.seconds,
                w.rounds,
                if w.rounds == 1 { "" } else { "s" }
            )?;
        }
    }
    Ok(())
}

fn write_json(
    out: &mut impl Write,
    ref_name: &str,
    reference: &Commit,
    reports: &[TargetReport],
    waited: Option<&Waited>,
    code: u8,
) -> io::Result<()> {
    #[derive(serde::Serialize)]
    struct Reference<'a> {
        name: &'a str,
        commit: &'a str,
        commit_time: Option<shipstamp::Timestamp>,
        subject: Option<&'a str>,
    }
    #[derive(serde::Serialize)]
    struct Wait {
        polls: u32,
        seconds: f64,
        stopped_early: bool,
        settled: bool,
    }
    #[derive(serde::Serialize)]
    struct Doc<'a> {
        schema: &'static str,
        #[serde(rename = "ref")]
        reference: Reference<'a>,
        targets: &'a [TargetReport],
        wait: Option<Wait>,
        exit_code: u8,
    }
    let doc = Doc {
        schema: "shipstamp-check/v1",
        reference: Reference {
            name: ref_name,
            commit: &reference.id,
            commit_time: reference.time,
            subject: reference.subject.as_deref(),
        },
        targets: reports,
        wait: waited.map(|w| Wait {
            polls: w.rounds,
            seconds: w.seconds,
            stopped_early: w.stopped_early,
            settled: !w.unsettled && !w.stopped_early,
        }),
        exit_code: code,
    };
    let json = serde_json::to_string(&doc).map_err(io::Error::other)?;
    writeln!(out, "{json}")
}

#[cfg(test)]
mod tests {
    use super::parse_duration;
    use std::time::Duration;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("30s"), Ok(Duration::from_secs(30)));
        assert_eq!(parse_duration("5m"), Ok(Duration::from_secs(300)));
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("2"), Ok(Duration::from_secs(2)));
        assert_eq!(parse_duration("1.5h"), Ok(Duration::from_secs(5400)));
        for bad in ["", "s", "5x", "-1s", "1e999s", "9999h"] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
    }
}
