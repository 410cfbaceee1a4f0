//! The flags `check` and `dashboard` share, declared once, and the parsers of their values.

use std::net::ToSocketAddrs;
use std::path::PathBuf;
use std::time::Duration;

use shipstamp_check::{ContainerFilter, Engine, Options, Repo, Resolver};

use crate::error::{CliError, repo_message};
use crate::fleet::{Defaults, Env, Fleet, Selection, Service};
use crate::sources::{PrometheusSpec, SourceOptions, SourceSpec};
use crate::targets::read_targets;
use crate::values::{Resolve, parse_positive_duration, parse_repository_path, parse_resolve};

/// Defaults of the shared flags, when neither the command line nor a fleet file's
/// `[defaults]` sets them: the library's (a test holds them equal), as consts for `--help`.
pub(crate) const DEFAULT_TIMEOUT: Duration = Duration::from_secs(5);
pub(crate) const DEFAULT_CONCURRENCY: u16 = 32;

/// What to check and how: the same flags, with the same defaults, for `check` and `dashboard`.
#[derive(Debug, clap::Args)]
pub(crate) struct CheckFlags {
    /// Targets to check, besides those in --targets: version endpoints (http:// or https://
    /// URLs), binaries (file:PATH, or a path starting with / or ./), running processes (pid:N,
    /// or pidfile:PATH, read again on every poll), containers (container:NAME, through the
    /// engine's API).
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
    #[arg(
        long = "ref",
        value_name = "REF",
        required_unless_present_any = ["fleet", "contains"],
        conflicts_with = "contains"
    )]
    pub(crate) reference: Option<String>,
    /// Instead of --ref: the builds must contain this commit (a full or short id, a tag, a
    /// branch; resolved once), by ancestry or as the same change (a cherry-pick, a squash
    /// merge named by its last commit): includes or lacks per target. Repeatable: all of them.
    #[arg(long, value_name = "COMMIT")]
    pub(crate) contains: Vec<String>,
    /// With --ref: only commits that change something under PATH count (relative to the
    /// repository's top: services/orders, Cargo.lock). A build that differs from REF only by
    /// commits elsewhere is a match; behind and ahead count the commits under the paths.
    /// Repeatable. Without it, a build whose stamp carries its scope (git.paths) is held within
    /// that; --path . counts every commit.
    #[arg(
        long = "path",
        value_name = "PATH",
        value_parser = parse_repository_path,
        conflicts_with = "contains"
    )]
    pub(crate) paths: Vec<String>,
    /// The repository in which to resolve REF and the served commits [default: .]
    #[arg(long, value_name = "DIR")]
    pub(crate) repo: Option<PathBuf>,
    /// Many services × environments, from a fleet file (TOML, docs/fleet-file.md) instead of
    /// --ref, --repo, URLs and --targets.
    #[arg(long, value_name = "FILE", conflicts_with_all = ["urls", "targets", "reference", "repo", "each_address", "prometheus", "paths", "compose_project"])]
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
    /// Time limit for each request, body included [default: 5s for a target, 30s for a
    /// Prometheus query]
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
    /// Also every container of this compose project (com.docker.compose.project), listed
    /// again every round, each named by its compose service and number.
    #[arg(long = "compose-project", value_name = "NAME")]
    pub(crate) compose_project: Option<String>,
    /// The container engine for container:NAME targets and --compose-project: its Docker API
    /// socket, unix:///path [default: DOCKER_HOST, else /var/run/docker.sock, else
    /// /run/podman/podman.sock]
    #[arg(long, value_name = "unix:///PATH", value_parser = parse_engine)]
    pub(crate) engine: Option<Engine>,
}

fn parse_engine(s: &str) -> Result<Engine, String> {
    s.parse()
        .map_err(|e: shipstamp_check::EngineError| e.to_string())
}

/// What a run checks, with the options the command line and the fleet file settled on.
#[derive(Debug)]
pub(crate) struct Plan {
    pub(crate) fleet: Fleet,
    pub(crate) options: Options,
    pub(crate) question: Question,
}

/// What the targets are asked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Question {
    /// Does each run its environment's ref?
    Refs,
    /// Does each run a build that contains these commits (as given, resolved in each
    /// service's repository)?
    Contains(Vec<String>),
}

impl CheckFlags {
    /// The fleet to check: from `--fleet`, or the command line's one repository, ref and
    /// targets (each target once, a warning on standard error for each given twice). A
    /// repository that cannot be opened is not an error here: it is reported on its service.
    pub(crate) fn plan(&self, command: &str) -> Result<Plan, CliError> {
        let mut fleet = match &self.fleet {
            Some(path) => {
                if self.field.is_some() {
                    return Err(CliError::usage(
                        "--field goes in the fleet file with --fleet (field = \"/…\")",
                    ));
                }
                let selection = Selection {
                    services: &self.services,
                    envs: &self.envs,
                };
                Fleet::load(path, &selection, self.timeout)?
            }
            None if !self.services.is_empty() || !self.envs.is_empty() => {
                return Err(CliError::usage(
                    "--service and --env choose from a fleet file: give --fleet FILE",
                ));
            }
            None => self.command_line_fleet()?,
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
        if let Some(engine) = &self.engine {
            options = options.engine(engine.clone());
        }
        if !self.resolve.is_empty() {
            let fixed = self.resolve.clone();
            options = options.resolver(Resolver::new(move |host, port| {
                match fixed.iter().find(|r| r.host == host && r.port == port) {
                    Some(r) => Ok(r.addresses.clone()),
                    None => (host, port).to_socket_addrs().map(Iterator::collect),
                }
            }));
        }
        let question = if self.contains.is_empty() {
            Question::Refs
        } else {
            Question::Contains(self.contains.clone())
        };
        Ok(Plan {
            fleet,
            options,
            question,
        })
    }

    /// The command line's one repository, ref and targets, as a fleet of one unnamed service in
    /// one unnamed environment.
    fn command_line_fleet(&self) -> Result<Fleet, CliError> {
        let prometheus = match (&self.prometheus, &self.selector) {
            (Some(url), Some(selector)) => Some(PrometheusSpec {
                url: url.clone(),
                selector: selector.clone(),
            }),
            _ => None,
        };
        let containers = self.compose_project.clone().map(ContainerFilter::Project);
        let no_targets =
            self.urls.is_empty() && self.each_address.is_empty() && self.targets.is_none();
        let read = if (prometheus.is_some() || containers.is_some()) && no_targets {
            crate::targets::Targets::default()
        } else {
            read_targets(
                &self.urls,
                &self.each_address,
                self.targets.as_deref(),
                self.field.as_deref(),
            )
            .map_err(CliError::usage)?
        };
        let spec = SourceSpec {
            targets: read.targets,
            each_address: read.each_address,
            prometheus,
            containers,
            engine: None,
        };
        let options = SourceOptions {
            timeout: self.timeout,
        };
        let mut env = Env::new(
            None,
            self.reference.clone().unwrap_or_default(),
            &spec,
            options,
        )
        .map_err(|why| CliError::usage(format!("--prometheus: {why}")))?;
        if !self.paths.is_empty() {
            env.paths = Some(self.paths.clone());
        }
        let repo_path = self.repo.clone().unwrap_or_else(|| PathBuf::from("."));
        // One repository, named on the command line: nothing else could be checked.
        let repo =
            Repo::open(&repo_path).map_err(|e| CliError::undecided(repo_message(&e, None)))?;
        Ok(Fleet {
            services: vec![Service {
                name: None,
                repo_path,
                repo_at: None,
                repo: Ok(repo),
                fetch: None,
                envs: vec![env],
            }],
            defaults: Defaults::default(),
            warnings: read.warnings,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_flags_default_to_the_librarys_options() {
        let library = Options::default();
        assert_eq!(DEFAULT_TIMEOUT, library.timeout);
        assert_eq!(usize::from(DEFAULT_CONCURRENCY), library.concurrency);
    }
}
