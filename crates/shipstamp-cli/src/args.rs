//! The flags `check` and `dashboard` share, declared once, and the parsers of their values.

use std::path::PathBuf;
use std::time::Duration;

use shipstamp_check::{Options, Target};

use crate::targets::read_targets;

/// What to check and how: the same flags, with the same defaults, for `check` and `dashboard`.
#[derive(Debug, clap::Args)]
pub(crate) struct CheckFlags {
    /// Version endpoints to check (http:// or https:// URLs), besides those in --targets.
    #[arg(value_name = "URL")]
    pub(crate) urls: Vec<String>,
    /// Also read targets from FILE ("-": standard input): one URL per line, optionally followed
    /// by a name; blank lines and lines starting with # are skipped.
    #[arg(long, value_name = "FILE")]
    pub(crate) targets: Option<PathBuf>,
    /// The git ref the targets should run: a branch, tag, HEAD, origin/main, a full or short
    /// commit id.
    #[arg(long = "ref", value_name = "REF")]
    pub(crate) reference: String,
    /// The repository in which to resolve REF and the served commits.
    #[arg(long, value_name = "DIR", default_value = ".")]
    pub(crate) repo: PathBuf,
    /// Judge a target built from uncommitted changes by its commit instead of reporting `dirty`.
    #[arg(long)]
    pub(crate) allow_dirty: bool,
    /// Targets checked at once.
    #[arg(long, value_name = "N", default_value_t = 32, value_parser = clap::value_parser!(u16).range(1..=1024))]
    pub(crate) concurrency: u16,
    /// Time limit for each target's request, body included.
    #[arg(long, value_name = "DURATION", value_parser = parse_timeout, default_value = "5s")]
    pub(crate) timeout: Duration,
    /// For documents in none of the known shapes: the JSON pointer to the commit, e.g.
    /// /data/revision or /build/sha. A line of a targets file can give its own (field=/…).
    #[arg(long, value_name = "POINTER")]
    pub(crate) field: Option<String>,
}

impl CheckFlags {
    /// The targets named on the command line and in `--targets`, each once (a warning on
    /// standard error for each one given twice); the error is a usage error.
    pub(crate) fn targets(&self, command: &str) -> Result<Vec<Target>, String> {
        let read = read_targets(&self.urls, self.targets.as_deref(), self.field.as_deref())?;
        for warning in &read.warnings {
            eprintln!("shipstamp {command}: warning: {warning}");
        }
        Ok(read.targets)
    }

    pub(crate) fn options(&self) -> Options {
        Options::default()
            .allow_dirty(self.allow_dirty)
            .timeout(self.timeout)
            .concurrency(self.concurrency.into())
    }
}

/// `500ms`, `30s`, `5m`, `1h`, or a number of seconds; at most a week.
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

/// A duration that must be at least 1 ms: a time limit or a wait of zero makes no sense.
pub(crate) fn parse_positive_duration(s: &str) -> Result<Duration, String> {
    let d = parse_duration(s)?;
    if d < Duration::from_millis(1) {
        return Err(format!("{:?} is too short (at least 1ms)", s.trim()));
    }
    Ok(d)
}

fn parse_timeout(s: &str) -> Result<Duration, String> {
    parse_positive_duration(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("30s"), Ok(Duration::from_secs(30)));
        assert_eq!(parse_duration("5m"), Ok(Duration::from_secs(300)));
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("2"), Ok(Duration::from_secs(2)));
        assert_eq!(parse_duration("1.5h"), Ok(Duration::from_secs(5400)));
        assert_eq!(parse_duration("0s"), Ok(Duration::ZERO));
        for bad in ["", "s", "5x", "-1s", "1e999s", "9999h"] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
        assert!(parse_positive_duration("0s").is_err());
        assert!(parse_positive_duration("0.0001ms").is_err());
        assert_eq!(parse_positive_duration("1ms"), Ok(Duration::from_millis(1)));
    }
}
