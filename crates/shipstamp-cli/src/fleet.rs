//! What to check: a fleet of services × environments, from a fleet file (`--fleet`,
//! `docs/fleet-file.md`) or from the command line (one repository, one ref, the URLs given: a
//! fleet of one unnamed service in one unnamed environment).
//!
//! The file is read whole and checked before anything runs (a mistake in it is a usage error);
//! only then are the repositories of the services chosen opened, each on its own: one that is
//! missing is reported on its service, and tried again every round.

use std::collections::BTreeMap;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;
use shipstamp_check::{ContainerFilter, Engine, Prometheus, Repo, Source};
use toml::Spanned;

use crate::error::{CliError, repo_message};
use crate::sources::{PrometheusSpec, SourceOptions, SourceSpec};
use crate::targets::{Line, dedupe, parse_line, read_lines};
use crate::values::{parse_positive_duration, parse_repository_path};

/// A fleet to check.
#[derive(Debug)]
pub(crate) struct Fleet {
    pub(crate) services: Vec<Service>,
    pub(crate) defaults: Defaults,
    /// Warnings to print once (targets listed twice).
    pub(crate) warnings: Vec<String>,
}

/// One service: a repository, and the environments it runs in.
#[derive(Debug)]
pub(crate) struct Service {
    /// `None` for the command line's one service.
    pub(crate) name: Option<String>,
    /// Where its repository is.
    pub(crate) repo_path: PathBuf,
    /// Where the fleet file names it (`fleet.toml:6: service.orders.repo`), for messages.
    pub(crate) repo_at: Option<String>,
    /// The repository, or why it cannot be opened (as the command says it).
    pub(crate) repo: Result<Repo, String>,
    /// How often to `git fetch` in `repo` (the dashboard).
    pub(crate) fetch: Option<Duration>,
    pub(crate) envs: Vec<Env>,
}

/// One environment of a service: the ref it should run, and where its instances are.
#[derive(Debug)]
pub(crate) struct Env {
    /// `None` for the command line's one environment.
    pub(crate) name: Option<String>,
    pub(crate) reference: String,
    /// Only commits that change something under these count (`paths`, `--path`); `Some([])`
    /// counts every commit, whatever the builds' stamps say; `None` leaves it to each build's
    /// own scope (`git.paths`).
    pub(crate) paths: Option<Vec<String>>,
    /// Where its instances come from, observed side by side every round.
    pub(crate) sources: Vec<Box<dyn Source>>,
    /// How many targets are listed (the sources may find more).
    pub(crate) listed: usize,
}

impl Env {
    /// An environment whose instances come from `spec`.
    pub(crate) fn new(
        name: Option<String>,
        reference: String,
        spec: &SourceSpec,
        options: SourceOptions,
    ) -> Result<Env, String> {
        Ok(Env {
            name,
            reference,
            paths: None,
            sources: spec.sources(options)?,
            listed: spec.listed(),
        })
    }
}

/// `[defaults]`: what the command line's flags default to for this fleet.
#[derive(Debug, Default, Clone)]
pub(crate) struct Defaults {
    pub(crate) timeout: Option<Duration>,
    pub(crate) interval: Option<Duration>,
    pub(crate) concurrency: Option<u16>,
    pub(crate) allow_dirty: Option<bool>,
    pub(crate) fetch: Option<Duration>,
}

/// Which services and environments to check: each list empty means all.
#[derive(Debug, Default)]
pub(crate) struct Selection<'a> {
    pub(crate) services: &'a [String],
    pub(crate) envs: &'a [String],
}

impl Fleet {
    /// Keeps only the services and environments named. A name that is not in the fleet is an
    /// error.
    fn restrict(
        raw: &mut BTreeMap<String, Spanned<RawService>>,
        selection: &Selection<'_>,
    ) -> Result<(), String> {
        let (services, envs) = (selection.services, selection.envs);
        if services.is_empty() && envs.is_empty() {
            return Ok(());
        }
        // In the file's order, not the map's.
        let mut in_order: Vec<(&String, usize)> =
            raw.iter().map(|(name, s)| (name, s.span().start)).collect();
        in_order.sort_by_key(|(_, start)| *start);
        let known_services: Vec<&str> = in_order.iter().map(|(n, _)| n.as_str()).collect();
        if let Some(unknown) = services
            .iter()
            .find(|s| !known_services.contains(&s.as_str()))
        {
            return Err(format!(
                "--service {unknown}: no such service (the fleet has {})",
                known_services.join(", ")
            ));
        }
        let mut known_envs: Vec<&str> = raw
            .values()
            .flat_map(|s| s.get_ref().env.keys())
            .map(String::as_str)
            .collect();
        known_envs.sort_unstable();
        known_envs.dedup();
        if let Some(unknown) = envs.iter().find(|e| !known_envs.contains(&e.as_str())) {
            return Err(format!(
                "--env {unknown}: no such environment (the fleet has {})",
                known_envs.join(", ")
            ));
        }
        let keep = |name: &String, wanted: &[String]| wanted.is_empty() || wanted.contains(name);
        raw.retain(|name, _| keep(name, services));
        for service in raw.values_mut() {
            service.get_mut().env.retain(|name, _| keep(name, envs));
        }
        raw.retain(|_, s| !s.get_ref().env.is_empty());
        if raw.is_empty() {
            return Err("--service and --env together select nothing".into());
        }
        Ok(())
    }

    /// Reads and checks a fleet file, keeping the services and environments selected. Paths in
    /// it are relative to the file. `timeout` is the command line's `--timeout`, if given.
    /// The error is a usage error; a repository that cannot be opened is not one (it is
    /// reported on its service).
    pub(crate) fn load(
        path: &Path,
        selection: &Selection<'_>,
        timeout: Option<Duration>,
    ) -> Result<Fleet, CliError> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| CliError::usage(format!("{}: {e}", path.display())))?;
        let base = path.parent().unwrap_or(Path::new("."));
        let file = FileText { path, text: &text };
        let mut raw: RawFile = toml::from_str(&text).map_err(|e| {
            let at = e.span().map(|s| file.line(&s)).unwrap_or_default();
            file.error(at, e.message().trim_end())
        })?;
        let mut defaults = Defaults::default();
        if let Some(d) = raw.defaults.take() {
            defaults.timeout = duration(&file, "defaults.timeout", d.timeout.as_ref())?;
            defaults.interval = duration(&file, "defaults.interval", d.interval.as_ref())?;
            defaults.fetch = duration(&file, "defaults.fetch", d.fetch.as_ref())?;
            defaults.allow_dirty = d.allow_dirty;
            if let Some(n) = d.concurrency {
                let value = u16::try_from(*n.get_ref())
                    .ok()
                    .filter(|n| (1..=1024).contains(n))
                    .ok_or_else(|| {
                        file.error(
                            file.line(&n.span()),
                            "defaults.concurrency: a number from 1 to 1024",
                        )
                    })?;
                defaults.concurrency = Some(value);
            }
        }
        if raw.service.is_empty() {
            return Err(file.error(
                String::new(),
                "no services: add a [service.NAME] table (see docs/fleet-file.md)",
            ));
        }
        Fleet::restrict(&mut raw.service, selection).map_err(CliError::usage)?;
        let options = SourceOptions {
            timeout: timeout.or(defaults.timeout),
        };
        let mut services: Vec<(usize, Service)> = Vec::new();
        let mut warnings = Vec::new();
        for (name, raw_service) in raw.service {
            let at = file.line(&raw_service.span());
            let start = raw_service.span().start;
            let raw_service = raw_service.into_inner();
            let key = format!("service.{name}");
            let repo = raw_service.repo.as_ref().ok_or_else(|| {
                file.error(at.clone(), &format!("{key}: no repo (the path to a clone)"))
            })?;
            let repo_path: PathBuf = base.join(repo.get_ref());
            let repo_at = format!("{}{}: {key}.repo", path.display(), file.line(&repo.span()));
            let service_ref = raw_service.reference.as_ref().map(|r| r.get_ref().clone());
            let fetch = duration(&file, &format!("{key}.fetch"), raw_service.fetch.as_ref())?
                .or(defaults.fetch);
            let service_paths = paths(&file, &format!("{key}.paths"), raw_service.paths.as_ref())?;
            let service_field = raw_service.field.as_ref();
            let service_engine = raw_service.engine.as_ref();
            if let Some(f) = service_field {
                check_field(&file, &format!("{key}.field"), f)?;
            }
            if raw_service.env.is_empty() {
                return Err(file.error(
                    at,
                    &format!("{key}: no environments (add [{key}.env.NAME] with targets)"),
                ));
            }
            let mut envs: Vec<(usize, Env)> = Vec::new();
            for (env_name, raw_env) in raw_service.env {
                let env_at = file.line(&raw_env.span());
                let env_start = raw_env.span().start;
                let raw_env = raw_env.into_inner();
                let env_key = format!("{key}.env.{env_name}");
                let reference = raw_env
                    .reference
                    .as_ref()
                    .map(|r| r.get_ref().clone())
                    .or_else(|| service_ref.clone())
                    .ok_or_else(|| {
                        file.error(
                            env_at.clone(),
                            &format!("{env_key}: no ref, and {key} has none either"),
                        )
                    })?;
                let env_paths = paths(&file, &format!("{env_key}.paths"), raw_env.paths.as_ref())?
                    .or_else(|| service_paths.clone());
                let field = match raw_env.field.as_ref() {
                    Some(f) => {
                        check_field(&file, &format!("{env_key}.field"), f)?;
                        Some(f.get_ref().clone())
                    }
                    None => service_field.map(|f| f.get_ref().clone()),
                };
                let mut lines: Vec<Line> = Vec::new();
                if let Some(list) = &raw_env.targets {
                    let list_at = file.line(&list.span());
                    for (i, entry) in list.get_ref().iter().enumerate() {
                        let target = parse_line(entry)
                            .map_err(|why| {
                                file.error(
                                    list_at.clone(),
                                    &format!("{env_key}.targets[{i}]: {why}"),
                                )
                            })?
                            .ok_or_else(|| {
                                file.error(
                                    list_at.clone(),
                                    &format!("{env_key}.targets[{i}]: an empty entry"),
                                )
                            })?;
                        lines.push(Line {
                            target,
                            each_address: false,
                            at: format!("{}{list_at} {env_key}.targets[{i}]", path.display()),
                        });
                    }
                }
                if let Some(list) = &raw_env.dns {
                    let list_at = file.line(&list.span());
                    for (i, entry) in list.get_ref().iter().enumerate() {
                        let target = parse_line(entry)
                            .map_err(|why| {
                                file.error(list_at.clone(), &format!("{env_key}.dns[{i}]: {why}"))
                            })?
                            .ok_or_else(|| {
                                file.error(
                                    list_at.clone(),
                                    &format!("{env_key}.dns[{i}]: an empty entry"),
                                )
                            })?;
                        if !matches!(target.locator, shipstamp_check::Locator::Url(_)) {
                            return Err(file.error(
                                list_at.clone(),
                                &format!("{env_key}.dns[{i}]: not an http:// or https:// URL"),
                            ));
                        }
                        lines.push(Line {
                            target,
                            each_address: true,
                            at: format!("{}{list_at} {env_key}.dns[{i}]", path.display()),
                        });
                    }
                }
                if let Some(list_file) = &raw_env.targets_file {
                    let list_path = base.join(list_file.get_ref());
                    let read = read_lines(&list_path).map_err(|why| {
                        file.error(
                            file.line(&list_file.span()),
                            &format!("{env_key}.targets_file: {why}"),
                        )
                    })?;
                    lines.extend(read);
                }
                let prometheus = match &raw_env.prometheus {
                    Some(p) => {
                        let spec = PrometheusSpec {
                            url: p.get_ref().url.clone(),
                            selector: p.get_ref().selector.clone(),
                        };
                        // Checked now, so that a mistake is the file's, with its line.
                        Prometheus::new(&spec.url, &spec.selector).map_err(|why| {
                            file.error(
                                file.line(&p.span()),
                                &format!("{env_key}.prometheus: {why}"),
                            )
                        })?;
                        Some(spec)
                    }
                    None => None,
                };
                let containers = match &raw_env.containers {
                    Some(c) => Some(match c.get_ref() {
                        RawContainers {
                            project: Some(project),
                            label: None,
                        } if !project.is_empty() => ContainerFilter::Project(project.clone()),
                        RawContainers {
                            project: None,
                            label: Some(label),
                        } if !label.is_empty() => ContainerFilter::Label(label.clone()),
                        _ => {
                            return Err(file.error(
                                file.line(&c.span()),
                                &format!(
                                    "{env_key}.containers: give project = \"NAME\" or label = \"KEY=VALUE\", one of them"
                                ),
                            ));
                        }
                    }),
                    None => None,
                };
                let engine = match (raw_env.engine.as_ref(), service_engine) {
                    (Some(e), _) => Some((e, format!("{env_key}.engine"))),
                    (None, Some(e)) => Some((e, format!("{key}.engine"))),
                    (None, None) => None,
                };
                let engine = match engine {
                    Some((e, at)) => Some(e.get_ref().parse::<Engine>().map_err(|why| {
                        file.error(file.line(&e.span()), &format!("{at}: {why}"))
                    })?),
                    None => None,
                };
                if lines.is_empty() && prometheus.is_none() && containers.is_none() {
                    return Err(file.error(
                        env_at,
                        &format!(
                            "{env_key}: no targets (give targets, targets_file, dns, prometheus or containers)"
                        ),
                    ));
                }
                let read = dedupe(lines, field.as_deref());
                warnings.extend(read.warnings);
                let spec = SourceSpec {
                    targets: read.targets,
                    each_address: read.each_address,
                    prometheus,
                    containers,
                    engine,
                };
                let mut env = Env::new(Some(env_name), reference, &spec, options)
                    .map_err(|why| file.error(env_at.clone(), &format!("{env_key}: {why}")))?;
                env.paths = env_paths;
                envs.push((env_start, env));
            }
            // In the file's order, not the map's.
            envs.sort_by_key(|(start, _)| *start);
            let repo = Repo::open(&repo_path).map_err(|e| repo_message(&e, Some(&repo_at)));
            services.push((
                start,
                Service {
                    name: Some(name),
                    repo_path,
                    repo_at: Some(repo_at),
                    repo,
                    fetch,
                    envs: envs.into_iter().map(|(_, e)| e).collect(),
                },
            ));
        }
        services.sort_by_key(|(start, _)| *start);
        Ok(Fleet {
            services: services.into_iter().map(|(_, s)| s).collect(),
            defaults,
            warnings,
        })
    }
}

/// The fleet file's text, for messages that point into it.
struct FileText<'a> {
    path: &'a Path,
    text: &'a str,
}

impl FileText<'_> {
    /// `:LINE` of a byte span.
    fn line(&self, span: &Range<usize>) -> String {
        let start = span.start.min(self.text.len());
        format!(":{}", self.text[..start].matches('\n').count() + 1)
    }

    fn error(&self, at: String, message: &str) -> CliError {
        CliError::usage(format!("{}{at}: {message}", self.path.display()))
    }
}

fn duration(
    file: &FileText<'_>,
    key: &str,
    value: Option<&Spanned<String>>,
) -> Result<Option<Duration>, CliError> {
    let Some(value) = value else { return Ok(None) };
    parse_positive_duration(value.get_ref())
        .map(Some)
        .map_err(|why| file.error(file.line(&value.span()), &format!("{key}: {why}")))
}

/// A `paths` list: each relative to the repository's top.
fn paths(
    file: &FileText<'_>,
    key: &str,
    value: Option<&Spanned<Vec<String>>>,
) -> Result<Option<Vec<String>>, CliError> {
    let Some(value) = value else { return Ok(None) };
    for (i, path) in value.get_ref().iter().enumerate() {
        parse_repository_path(path)
            .map_err(|why| file.error(file.line(&value.span()), &format!("{key}[{i}]: {why}")))?;
    }
    Ok(Some(value.get_ref().clone()))
}

fn check_field(file: &FileText<'_>, key: &str, value: &Spanned<String>) -> Result<(), CliError> {
    let pointer = value.get_ref();
    if pointer.is_empty() || pointer.starts_with('/') {
        Ok(())
    } else {
        Err(file.error(
            file.line(&value.span()),
            &format!("{key}: {pointer:?} is not a JSON pointer (one starts with /)"),
        ))
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    defaults: Option<RawDefaults>,
    #[serde(default)]
    service: BTreeMap<String, Spanned<RawService>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDefaults {
    timeout: Option<Spanned<String>>,
    interval: Option<Spanned<String>>,
    concurrency: Option<Spanned<i64>>,
    allow_dirty: Option<bool>,
    fetch: Option<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawService {
    repo: Option<Spanned<String>>,
    #[serde(rename = "ref")]
    reference: Option<Spanned<String>>,
    fetch: Option<Spanned<String>>,
    field: Option<Spanned<String>>,
    paths: Option<Spanned<Vec<String>>>,
    engine: Option<Spanned<String>>,
    #[serde(default)]
    env: BTreeMap<String, Spanned<RawEnv>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawEnv {
    #[serde(rename = "ref")]
    reference: Option<Spanned<String>>,
    targets: Option<Spanned<Vec<String>>>,
    targets_file: Option<Spanned<String>>,
    dns: Option<Spanned<Vec<String>>>,
    prometheus: Option<Spanned<RawPrometheus>>,
    containers: Option<Spanned<RawContainers>>,
    engine: Option<Spanned<String>>,
    field: Option<Spanned<String>>,
    paths: Option<Spanned<Vec<String>>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawContainers {
    project: Option<String>,
    label: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPrometheus {
    url: String,
    selector: String,
}
