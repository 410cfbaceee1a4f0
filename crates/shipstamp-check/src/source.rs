//! Sources: where instances come from. A list of targets, every address a name resolves to,
//! the series Prometheus holds; each is one small type behind the [`Source`] trait, and a round
//! runs them side by side within one limit on how much runs at once.
//!
//! A new source is one module that implements [`Source`]: it turns its configuration into
//! [`Observation`]s, through [`Context::observe_targets`] when its instances are targets to ask,
//! or by itself when a system already knows what they run.

use std::fmt;
use std::time::Duration;

use crate::probe;
use crate::report::{Observation, Options};
use crate::target::Target;
use crate::threads::{Limiter, map_pooled};

/// Where instances come from, and what each runs.
///
/// ```
/// use shipstamp_check::{Context, Observation, Served, ServedShape, Source, SourceError};
///
/// /// What a deploy system says it rolled out.
/// #[derive(Debug)]
/// struct Deployed(Vec<(String, String)>);
///
/// impl Source for Deployed {
///     fn observe(&self, _: &Context<'_>) -> Result<Vec<Observation>, SourceError> {
///         Ok(self.0.iter().map(|(host, commit)| match Served::new(ServedShape::Shipstamp, commit) {
///             Ok(served) => Observation::served(host.clone(), None, served),
///             Err(e) => Observation::failed(host.clone(), None, shipstamp_check::Status::InvalidResponse, e.to_string()),
///         }).collect())
///     }
/// }
/// ```
pub trait Source: fmt::Debug + Send + Sync {
    /// What every instance runs now, or why that cannot be said, one observation each. The
    /// error is for the source as a whole (its server does not answer, refuses the
    /// credentials): nothing can be said of any of its instances.
    fn observe(&self, context: &Context<'_>) -> Result<Vec<Observation>, SourceError>;
}

/// What a source may use while it observes: the options, and the shared means of asking
/// targets, within the round's limit on how many at once.
#[derive(Debug)]
pub struct Context<'a> {
    options: &'a Options,
    limiter: &'a Limiter,
    http: &'a probe::Http,
}

impl<'a> Context<'a> {
    pub(crate) fn new(
        options: &'a Options,
        limiter: &'a Limiter,
        http: &'a probe::Http,
    ) -> Context<'a> {
        Context {
            options,
            limiter,
            http,
        }
    }

    /// The options of the check.
    pub fn options(&self) -> &Options {
        self.options
    }

    /// The time limit for one request.
    pub fn timeout(&self) -> Duration {
        self.options.timeout
    }

    /// Asks each target what it runs, [`Options::concurrency`] at a time (shared with the other
    /// sources of the round). One observation per target, in order.
    pub fn observe_targets(&self, targets: &[Target]) -> Vec<Observation> {
        let instances: Vec<probe::Instance<'_>> = targets.iter().map(probe::Instance::of).collect();
        self.observe_instances(&instances)
    }

    pub(crate) fn observe_instances(&self, instances: &[probe::Instance<'_>]) -> Vec<Observation> {
        map_pooled(
            instances,
            self.options.concurrency,
            self.limiter,
            |instance| probe::observe(instance, self.http, self.options),
        )
    }
}

/// A list of targets, each asked what it runs.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Targets(pub Vec<Target>);

impl Source for Targets {
    fn observe(&self, context: &Context<'_>) -> Result<Vec<Observation>, SourceError> {
        Ok(context.observe_targets(&self.0))
    }
}

/// What kind of failure a [`SourceError`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SourceErrorKind {
    /// The source's configuration cannot be used: a bad URL, URL credentials, an empty
    /// selector.
    BadConfig,
    /// No answer: refused, timed out, no such host, an answer that broke off.
    Unreachable,
    /// It asks for credentials that were not given, or refuses those that were.
    NeedsAuth,
    /// The answer is not what the source speaks (an HTML page, not JSON, too large).
    BadAnswer,
    /// The source refused the question (a bad selector), or failed answering it.
    Refused,
    /// It knows of no instance at all.
    NoInstances,
}

/// Why a source could not say what its instances run. The message is one line and never holds
/// credentials.
#[derive(Debug)]
pub struct SourceError {
    kind: SourceErrorKind,
    message: String,
    source: Option<Box<dyn std::error::Error + Send + Sync>>,
}

impl SourceError {
    /// An error of `kind` that says `message`.
    pub fn new(kind: SourceErrorKind, message: impl Into<String>) -> SourceError {
        SourceError {
            kind,
            message: message.into(),
            source: None,
        }
    }

    /// The same error, caused by `source`.
    pub fn with_source(
        mut self,
        source: impl Into<Box<dyn std::error::Error + Send + Sync>>,
    ) -> SourceError {
        self.source = Some(source.into());
        self
    }

    /// What kind of failure this is.
    pub fn kind(&self) -> SourceErrorKind {
        self.kind
    }
}

impl fmt::Display for SourceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for SourceError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source.as_deref().map(|e| e as _)
    }
}
