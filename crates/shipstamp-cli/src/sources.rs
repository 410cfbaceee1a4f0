//! Where an environment's instances come from, registered in one place: what the command line
//! and a fleet file say ([`SourceSpec`]) becomes the list of [`Source`]s a round runs side by
//! side. A new kind of source is a module in `shipstamp-check` implementing `Source`, a field
//! here, and one line in [`SourceSpec::sources`].

use std::time::Duration;

use shipstamp_check::{
    ContainerFilter, Containers, EachAddress, Engine, Locator, Prometheus, Source, SourceError,
    SourceErrorKind, Target, Targets,
};

/// What an environment says about where its instances are.
#[derive(Debug, Clone, Default)]
pub(crate) struct SourceSpec {
    /// Targets asked one by one (URLs, binaries, processes).
    pub(crate) targets: Vec<Target>,
    /// URLs whose every address is an instance.
    pub(crate) each_address: Vec<Target>,
    /// A Prometheus server and a selector of build-info series.
    pub(crate) prometheus: Option<PrometheusSpec>,
    /// Every container of a compose project, or with a label (`--compose-project`, a fleet
    /// file's `containers`), listed again every round.
    pub(crate) containers: Option<ContainerFilter>,
    /// The container engine of `container:` targets and `containers` (`engine`); the
    /// command line's `--engine`, else this host's, when not given.
    pub(crate) engine: Option<Engine>,
}

/// `--prometheus URL --selector S`, or a fleet file's `prometheus = { url, selector }`.
#[derive(Debug, Clone)]
pub(crate) struct PrometheusSpec {
    pub(crate) url: String,
    pub(crate) selector: String,
}

/// What every source gets, whatever its kind.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct SourceOptions {
    /// `--timeout` (or the fleet file's), when given: it then reaches every source. Otherwise
    /// each uses its own default (a target 5 s, a Prometheus query 30 s: it answers for a
    /// whole fleet at once).
    pub(crate) timeout: Option<Duration>,
}

/// A Prometheus query answers for a whole fleet: tens of megabytes at 100,000 instances.
const PROMETHEUS_TIMEOUT: Duration = Duration::from_secs(30);

impl SourceSpec {
    /// How many targets are known before anything is asked: the listed ones (a DNS name or a
    /// Prometheus selector may stand for any number).
    pub(crate) fn listed(&self) -> usize {
        self.targets.len() + self.each_address.len()
    }

    /// The sources, with the credentials the environment holds for them. The error is a
    /// one-line reason, a usage error.
    pub(crate) fn sources(&self, options: SourceOptions) -> Result<Vec<Box<dyn Source>>, String> {
        let mut sources: Vec<Box<dyn Source>> = Vec::new();
        if !self.targets.is_empty() {
            let targets = self
                .targets
                .iter()
                .map(|t| match (&t.locator, &self.engine) {
                    (Locator::Container(_), Some(engine)) => t.clone().engine(engine.clone()),
                    _ => t.clone(),
                })
                .collect();
            sources.push(Box::new(Targets(targets)));
        }
        if let Some(filter) = &self.containers {
            let mut containers = Containers::new(filter.clone());
            if let Some(engine) = &self.engine {
                containers = containers.engine(engine.clone());
            }
            sources.push(Box::new(containers));
        }
        if !self.each_address.is_empty() {
            sources.push(Box::new(EachAddress(self.each_address.clone())));
        }
        if let Some(p) = &self.prometheus {
            sources.push(Box::new(prometheus(p, options).map_err(|e| e.to_string())?));
        }
        Ok(sources)
    }
}

/// A Prometheus source, with the credentials the environment holds for it (never the command
/// line's or the fleet file's: those end up in shell histories and repositories).
fn prometheus(spec: &PrometheusSpec, options: SourceOptions) -> Result<Prometheus, SourceError> {
    let mut source = Prometheus::new(&spec.url, &spec.selector)?
        .timeout(options.timeout.unwrap_or(PROMETHEUS_TIMEOUT));
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

/// A source's error as the command says it, with the hint that fixes it.
pub(crate) fn source_message(e: &SourceError) -> String {
    match e.kind() {
        SourceErrorKind::NeedsAuth => format!(
            "{e} (set SHIPSTAMP_PROMETHEUS_TOKEN, or SHIPSTAMP_PROMETHEUS_USER and \
             SHIPSTAMP_PROMETHEUS_PASSWORD)"
        ),
        _ => e.to_string(),
    }
}
