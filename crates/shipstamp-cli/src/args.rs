//! The flags `check` and `dashboard` share, declared once, and the parsers of their values.

use std::net::{SocketAddr, ToSocketAddrs};
use std::path::{Path, PathBuf};
use std::time::Duration;

use shipstamp_check::{Options, Prometheus, Repo, Resolver};

use crate::fleet::{Defaults, Env, Fleet, Service};
use crate::targets::read_targets;
use crate::{EXIT_UNDECIDED, EXIT_USAGE, repo_error};

/// Defaults of the shared flags, when neither the command line nor a fleet file's
/// `[defaults]` sets them: the library's (a test holds them equal), as consts for `--help`.
pub(crate) const DEFAULT_TIMEOUT: Duration = Duration::from_secs(5);
pub(crate) const DEFAULT_CONCURRENCY: u16 = 32;

/// What to check and how: the same flags, with the same defaults, for `check` and `dashboard`.
#[derive(Debug, clap::Args)]
pub(crate) struct CheckFlags {
    /// Targets to check, besides those in --targets: version endpoints (http:// or https://
    /// URLs), binaries (file:PATH, or a path starting with / or ./), running processes (pid:N,
    /// or pidfile:PATH, read again on every poll).
    #[arg(value_name = "TARGET")]
    pub(crate) urls: Vec<String>,
    /// Resolve this URL's host every round and check each of its addresses (A and AAAA) as its
    /// own instance, named host@address (a headless Service, Consul, docker compose --scale).
    /// Repeatable.
    #[arg(long = "each-address", value_name = "URL")]
    pub(crate) each_address: Vec<String>,
    /// Also read targets from FILE ("-": standard input): one target per line, optionally followed
    /// by a name and, last, field=/json/pointer; blank lines and lines starting with # are
    /// skipped.
    #[arg(long, value_name = "FILE")]
    pub(crate) targets: Option<PathBuf>,
    /// The git ref the targets should run: a branch, tag, HEAD, origin/main, a full or short
    /// commit id.
    #[arg(long = "ref", value_name = "REF", required_unless_present = "fleet")]
    pub(crate) reference: Option<String>,
    /// The repository in which to resolve REF and the served commits [default: .]
    #[arg(long, value_name = "DIR")]
    pub(crate) repo: Option<PathBuf>,
    /// Many services × environments, from a fleet file (TOML, docs/fleet-file.md) instead of
    /// --ref, --repo, URLs and --targets.
    #[arg(long, value_name = "FILE", conflicts_with_all = ["urls", "targets", "reference", "repo", "each_address", "prometheus"])]
    pub(crate) fleet: Option<PathBuf>,
    /// With --fleet: only this service (repeatable).
    #[arg(long = "service", value_name = "NAME")]
    pub(crate) services: Vec<String>,
    /// With --fleet: only this environment (repeatable).
    #[arg(long = "env", value_name = "NAME")]
    pub(crate) envs: Vec<String>,
    /// Judge a target built from uncommitted changes by its commit instead of reporting `dirty`.
    #[arg(long)]
    pub(crate) allow_dirty: bool,
    /// Targets checked at once (per service) [default: 32]
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..=1024))]
    pub(crate) concurrency: Option<u16>,
    /// Time limit for each target's request, body included [default: 5s]
    #[arg(long, value_name = "DURATION", value_parser = parse_positive_duration)]
    pub(crate) timeout: Option<Duration>,
    /// Also every instance Prometheus knows: its URL (credentials come from the environment,
    /// SHIPSTAMP_PROMETHEUS_TOKEN or SHIPSTAMP_PROMETHEUS_USER and _PASSWORD, never from here).
    #[arg(long, value_name = "URL", requires = "selector")]
    pub(crate) prometheus: Option<String>,
    /// With --prometheus: the series selector of the instances' build info, e.g.
    /// orders_build_info{env="prod"}.
    #[arg(long, value_name = "SELECTOR", requires = "prometheus")]
    pub(crate) selector: Option<String>,
    /// Resolve HOST on PORT to these addresses instead of asking DNS, as curl's --resolve:
    /// HOST:PORT:ADDR[,ADDR...], an IPv6 address in brackets. Repeatable.
    #[arg(long, value_name = "HOST:PORT:ADDRS", value_parser = parse_resolve)]
    pub(crate) resolve: Vec<Resolve>,
    /// For documents in none of the known shapes: the JSON pointer to the commit, e.g.
    /// /data/revision or /build/sha. A line of a targets file can give its own (field=/…).
    #[arg(long, value_name = "POINTER")]
    pub(crate) field: Option<String>,
}

/// What a run checks, with the options the command line and the fleet file settled on.
#[derive(Debug)]
pub(crate) struct Plan {
    pub(crate) fleet: Fleet,
    pub(crate) options: Options,
}

impl CheckFlags {
    /// The fleet to check: from `--fleet`, or the command line's one repository, ref and
    /// targets (each target once, a warning on standard error for each given twice). The
    /// error is an exit code (64 usage, 2 a repository) and a one-line message.
    pub(crate) fn plan(&self, command: &str) -> Result<Plan, (u8, String)> {
        let mut fleet = match &self.fleet {
            Some(path) => {
                let mut fleet = Fleet::load(path).map_err(|e| (e.exit_code, e.message))?;
                if self.field.is_some() {
                    return Err((
                        EXIT_USAGE,
                        "--field goes in the fleet file with --fleet (field = \"/…\")".into(),
                    ));
                }
                fleet
                    .restrict(&self.services, &self.envs)
                    .map_err(|why| (EXIT_USAGE, why))?;
                fleet
            }
            None if !self.services.is_empty() || !self.envs.is_empty() => {
                return Err((
                    EXIT_USAGE,
                    "--service and --env choose from a fleet file: give --fleet FILE".into(),
                ));
            }
            None => {
                let prometheus = match (&self.prometheus, &self.selector) {
                    (Some(url), Some(selector)) => Some(
                        prometheus_source(url, selector)
                            .map_err(|why| (EXIT_USAGE, format!("--prometheus: {why}")))?,
                    ),
                    _ => None,
                };
                let no_targets =
                    self.urls.is_empty() && self.each_address.is_empty() && self.targets.is_none();
                let read = if prometheus.is_some() && no_targets {
                    crate::targets::Targets {
                        targets: Vec::new(),
                        warnings: Vec::new(),
                    }
                } else {
                    read_targets(
                        &self.urls,
                        &self.each_address,
                        self.targets.as_deref(),
                        self.field.as_deref(),
                    )
                    .map_err(|why| (EXIT_USAGE, why))?
                };
                let reference = self.reference.clone().unwrap_or_default();
                let repo = Repo::open(self.repo.as_deref().unwrap_or(Path::new(".")))
                    .map_err(|e| (EXIT_UNDECIDED, format!("{:#}", repo_error(e))))?;
                Fleet {
                    services: vec![Service {
                        name: None,
                        repo,
                        fetch: None,
                        envs: vec![Env {
                            name: None,
                            reference,
                            targets: read.targets,
                            prometheus,
                        }],
                    }],
                    defaults: Defaults::default(),
                    warnings: read.warnings,
                }
            }
        };
        for warning in std::mem::take(&mut fleet.warnings) {
            eprintln!("shipstamp {command}: warning: {warning}");
        }
        let defaults = &fleet.defaults;
        let mut options = Options::default()
            .allow_dirty(self.allow_dirty || defaults.allow_dirty == Some(true))
            .timeout(self.timeout.or(defaults.timeout).unwrap_or(DEFAULT_TIMEOUT))
            .concurrency(
                self.concurrency
                    .or(defaults.concurrency)
                    .unwrap_or(DEFAULT_CONCURRENCY)
                    .into(),
            );
        if !self.resolve.is_empty() {
            let fixed = self.resolve.clone();
            options = options.resolver(Resolver::new(move |host, port| {
                match fixed.iter().find(|r| r.host == host && r.port == port) {
                    Some(r) => Ok(r.addresses.clone()),
                    None => (host, port).to_socket_addrs().map(Iterator::collect),
                }
            }));
        }
        Ok(Plan { fleet, options })
    }
}

/// A Prometheus source, with the credentials the environment holds for it (never the
/// command line's or the fleet file's: those end up in shell histories and repositories).
pub(crate) fn prometheus_source(url: &str, selector: &str) -> Result<Prometheus, String> {
    let mut source = Prometheus::new(url, selector).map_err(|e| e.to_string())?;
    let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
    if let Some(token) = var("SHIPSTAMP_PROMETHEUS_TOKEN") {
        source = source.bearer_token(token);
    } else if let Some(user) = var("SHIPSTAMP_PROMETHEUS_USER") {
        source = source.basic_auth(
            user,
            var("SHIPSTAMP_PROMETHEUS_PASSWORD").unwrap_or_default(),
        );
    }
    Ok(source)
}

/// One `--resolve HOST:PORT:ADDR[,ADDR...]`.
#[derive(Debug, Clone)]
pub(crate) struct Resolve {
    host: String,
    port: u16,
    addresses: Vec<SocketAddr>,
}

fn parse_resolve(s: &str) -> Result<Resolve, String> {
    let bad = || {
        format!(
            "{s:?} is not HOST:PORT:ADDR[,ADDR...] (e.g. orders.internal:443:10.0.0.1,10.0.0.2)"
        )
    };
    let mut parts = s.splitn(3, ':');
    let (Some(host), Some(port), Some(addresses)) = (parts.next(), parts.next(), parts.next())
    else {
        return Err(bad());
    };
    let port: u16 = port.parse().map_err(|_| bad())?;
    let addresses = addresses
        .split(',')
        .map(|a| {
            a.trim()
                .trim_start_matches('[')
                .trim_end_matches(']')
                .parse::<std::net::IpAddr>()
                .map(|ip| SocketAddr::new(ip, port))
                .map_err(|_| bad())
        })
        .collect::<Result<Vec<_>, _>>()?;
    if host.is_empty() {
        return Err(bad());
    }
    Ok(Resolve {
        host: host.to_owned(),
        port,
        addresses,
    })
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

    #[test]
    fn the_flags_default_to_the_librarys_options() {
        let library = Options::default();
        assert_eq!(DEFAULT_TIMEOUT, library.timeout);
        assert_eq!(usize::from(DEFAULT_CONCURRENCY), library.concurrency);
    }
}
