//! Instances and what they run, from Prometheus: the series of `<package>_build_info` that
//! every stamped service exports (and Prometheus already scrapes, through its own Kubernetes,
//! Consul or EC2 discovery). A few requests answer for the whole fleet; the instances
//! themselves are never contacted.
//!
//! Prometheus before 2.53 is asked through `/federate`: it hands out the latest sample of each
//! series without running the query engine, in text those releases write faster than the query
//! API's JSON (a third less of Prometheus' time at 100,000 instances). Later releases, servers
//! without `/federate` (Thanos, Mimir, a proxy that lets only `/api/v1` through) and selectors
//! that are expressions rather than series selectors are asked through the query API, for the
//! same series.

mod api;
mod promql;
mod series;

use std::borrow::Cow;
use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use shipstamp::Timestamp;
use shipstamp_format::{
    BUILD_INFO_SUFFIX, LABEL_DIRTY, LABEL_PACKAGE, LABEL_REVISION, LABEL_VERSION, START_TIME_SUFFIX,
};

use crate::reason::{Reason, ReasonKind};
use crate::report::{Observation, Status};
use crate::served::{Served, ServedShape, described_commit};
use crate::source::{Context, Source, SourceError, SourceErrorKind};
use crate::threads::join;
use api::Body;
use promql::{restrict, split_selector};
use series::{LABELS, Labels, Series, Text, distinct_builds};

/// How long an instance that stopped reporting is still reported: a few scrape intervals of
/// the usual 15 s to 1 min.
const DEFAULT_LOOKBACK: Duration = Duration::from_secs(5 * 60);

/// A Prometheus server and a selector of build-info series, e.g.
/// `orders_build_info{env="prod"}`.
///
/// ```no_run
/// use shipstamp_check::{Checker, Options, Prometheus, Repo};
///
/// let source = Prometheus::new("http://prometheus:9090", r#"orders_build_info{env="prod"}"#)?
///     .bearer_token(std::env::var("PROMETHEUS_TOKEN").unwrap_or_default());
/// let mut checker = Checker::new(Repo::open(".")?, Options::default());
/// let reference = checker.resolve_ref("origin/main")?;
/// for seen in checker.observe(&[&source]) {
///     for report in checker.judge(&seen?, &reference)? {
///         println!("{} {}", report.url, report.status);
///     }
/// }
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
pub struct Prometheus {
    url: String,
    selector: String,
    auth: Option<Auth>,
    /// The time limit of each request; the check's own ([`Context::timeout`]) unless set.
    timeout: Option<Duration>,
    lookback: Duration,
    /// Set once the server showed it has no `/federate` for this source (shared by clones, so
    /// that a dashboard's later rounds go straight to the query API).
    no_federation: Arc<AtomicBool>,
}

#[derive(Clone)]
enum Auth {
    Bearer(String),
    Basic(String, String),
}

impl fmt::Debug for Prometheus {
    /// Without the credentials.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Prometheus")
            .field("url", &shipstamp_format::shown_url(&self.url).to_string())
            .field("selector", &self.selector)
            .field(
                "auth",
                &match self.auth {
                    None => "none",
                    Some(Auth::Bearer(_)) => "bearer token",
                    Some(Auth::Basic(..)) => "basic",
                },
            )
            .field("timeout", &self.timeout)
            .field("lookback", &self.lookback)
            .finish()
    }
}

impl Prometheus {
    /// A source: Prometheus' base URL (`http://prometheus:9090`, or behind a path prefix) and
    /// a selector of build-info series. The URL may not carry credentials: give them with
    /// [`Prometheus::bearer_token`] or [`Prometheus::basic_auth`].
    pub fn new(url: &str, selector: &str) -> Result<Prometheus, SourceError> {
        if crate::Locator::url(url).is_err() {
            return Err(SourceError::new(
                SourceErrorKind::BadConfig,
                "the Prometheus URL must start with http:// or https://",
            ));
        }
        let parts = shipstamp_format::UrlParts::split(url.as_bytes());
        if parts.had_query || parts.had_fragment {
            return Err(SourceError::new(
                SourceErrorKind::BadConfig,
                format!(
                    "the Prometheus URL {} has a query or fragment: give its base URL (credentials \
                     through the environment)",
                    shipstamp_format::shown_url(url)
                ),
            ));
        }
        if parts.had_userinfo {
            return Err(SourceError::new(
                SourceErrorKind::BadConfig,
                "the Prometheus URL carries credentials: give them through the environment, never in the URL",
            ));
        }
        if selector.trim().is_empty() {
            return Err(SourceError::new(
                SourceErrorKind::BadConfig,
                "an empty selector",
            ));
        }
        Ok(Prometheus {
            url: url.trim_end_matches('/').to_owned(),
            selector: selector.trim().to_owned(),
            auth: None,
            timeout: None,
            lookback: DEFAULT_LOOKBACK,
            no_federation: Arc::default(),
        })
    }

    /// Sends `Authorization: Bearer TOKEN` (ignored when empty).
    pub fn bearer_token(mut self, token: impl Into<String>) -> Prometheus {
        let token = token.into();
        if !token.is_empty() {
            self.auth = Some(Auth::Bearer(token));
        }
        self
    }

    /// Sends HTTP basic authentication.
    pub fn basic_auth(
        mut self,
        user: impl Into<String>,
        password: impl Into<String>,
    ) -> Prometheus {
        self.auth = Some(Auth::Basic(user.into(), password.into()));
        self
    }

    /// The time limit for each request: the check's ([`Options::timeout`]) unless set.
    ///
    /// [`Options::timeout`]: crate::Options::timeout
    pub fn timeout(mut self, timeout: Duration) -> Prometheus {
        self.timeout = Some(timeout);
        self
    }

    /// How long an instance that stopped reporting its build (its scrape fails, it left
    /// service discovery) is still reported, as `unreachable` with what it ran last: 5 minutes
    /// unless set. Give it a few scrape intervals at least; after it, the instance is gone.
    pub fn lookback(mut self, lookback: Duration) -> Prometheus {
        self.lookback = lookback;
        self
    }

    /// The URL (it carries no credentials, query or fragment: those are refused).
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The URL as messages show it.
    fn shown(&self) -> String {
        shipstamp_format::shown_url(&self.url).to_string()
    }

    /// The selector.
    pub fn selector(&self) -> &str {
        &self.selector
    }

    /// Every instance the selector's series name, with what it runs: the build its series
    /// says now; or, for one whose series stopped within the lookback window (its scrape
    /// fails, it left service discovery), `unreachable` with when it stopped and the last
    /// build Prometheus saw for it. Judged from `build_info`'s own history, whatever labels
    /// the instance carries: joining `up` on `instance` drops a down instance whose own
    /// `instance` label (`honor_labels`, relabelling) differs from its scrape address.
    fn observe_within(&self, timeout: Duration) -> Result<Vec<Observation>, SourceError> {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .timeout_global(Some(timeout))
            .http_status_as_error(false)
            .user_agent(concat!("shipstamp/", env!("CARGO_PKG_VERSION")))
            .build()
            .into();
        let s = &self.selector;
        let labels = LABELS.join(", ");
        let parts = split_selector(s);
        let window = format!("{}s", self.lookback.as_secs().max(1));
        // The builds seen within the window by instances that report none now: a plain series
        // selector takes a range directly, an expression through a subquery.
        let gone_query = match parts {
            // (`unless` first: the grouping then sees the few that stopped, not the fleet.)
            Some(_) => format!(
                "group by ({labels}) (last_over_time({s}[{window}]) unless on(instance, job) {s})"
            ),
            // Every 5 s: the default step (the evaluation interval, often a minute) misses an
            // instance that reported for less than a step.
            None => format!(
                "group by ({labels}) (last_over_time(({s})[{window}:5s]) unless on(instance, job) ({s}))"
            ),
        };
        // `orders_build_info{env="prod"}`: the start times are `orders_start_time_seconds`
        // of the same targets, which carry the same target labels.
        let start_query = parts.and_then(|(name, matchers)| {
            let prefix = name.strip_suffix(BUILD_INFO_SUFFIX)?;
            Some(format!("{prefix}{START_TIME_SUFFIX}{{{matchers}}}"))
        });
        // The answers' bytes, which the series borrow their labels from (for 100,000 instances,
        // tens of megabytes that would otherwise be a few hundred thousand small strings).
        let [
            current_federated,
            current_body,
            gone_body,
            names_body,
            starts_federated,
            starts_body,
            when_body,
        ]: [Body; 7] = Default::default();
        // The builds and start times through /federate where that is the faster way.
        let federate = self.federation_pays(&agent)?;
        let federated = |selector: &str, body| {
            if federate {
                self.federate(&agent, selector, body)
            } else {
                Ok(None)
            }
        };
        // Three requests at once (Prometheus answers them side by side): the builds running
        // now, those that stopped within the window, and the start times.
        let (current, gone, starts) = std::thread::scope(|scope| {
            let current = scope.spawn(|| match federated(s, &current_federated)? {
                Some(series) => Ok(distinct_builds(series)),
                None => self.query(&agent, &format!("group by ({labels}) ({s})"), &current_body),
            });
            let gone = scope.spawn(|| self.query(&agent, &gone_query, &gone_body));
            let starts = scope.spawn(|| match &start_query {
                Some(q) => match federated(q, &starts_federated)? {
                    Some(series) => Ok(start_times(series)),
                    None => self.query(&agent, q, &starts_body).map(start_times),
                },
                None => self.start_times(&agent, &names_body, &starts_body),
            });
            (join(current), join(gone), join(starts))
        });
        let refused = |e| self.in_the_users_words(&agent, e);
        let (current, gone, starts) = (
            current.map_err(refused)?,
            gone.map_err(refused)?,
            starts.map_err(refused)?,
        );
        if current.is_empty() && gone.is_empty() {
            return Err(SourceError::new(
                SourceErrorKind::NoInstances,
                format!(
                    "the selector {s} matches no series in Prometheus at {} within the last \
                     {window} (no instance exports it, or Prometheus does not scrape them)",
                    self.shown()
                ),
            ));
        }
        let mut observations = Vec::with_capacity(current.len() + gone.len());
        let now: std::collections::HashSet<&str> =
            current.iter().map(|s| identity(&s.labels).0).collect();
        for (series, name) in one_per_instance(&current) {
            let (instance, job) = identity(&series.labels);
            let started_at = starts.get(job).and_then(|s| s.get(instance)).copied();
            let mut observation = observe(&series.labels, started_at);
            observation.name = name;
            observations.push(observation);
        }
        // Instances that stopped reporting (under every job that scraped them): unreachable,
        // with when they stopped and what they ran last.
        let mut stopped: Vec<(&str, Vec<&Labels<'_>>)> = Vec::new();
        for series in &gone {
            let (instance, _) = identity(&series.labels);
            if now.contains(instance) {
                continue;
            }
            match stopped.iter_mut().find(|(i, _)| *i == instance) {
                Some((_, builds)) => builds.push(&series.labels),
                None => stopped.push((instance, vec![&series.labels])),
            }
        }
        let when = if stopped.is_empty() {
            HashMap::new()
        } else {
            let instances: Vec<&str> = stopped.iter().map(|(i, _)| *i).collect();
            self.last_seen(&agent, &instances, &window, &when_body)
        };
        for (instance, builds) in stopped {
            let mut last: Vec<String> = builds.iter().map(|labels| describe(labels)).collect();
            last.dedup();
            let at = match when.get(instance) {
                Some(t) => format!("at {t}"),
                None => format!("within the last {window}"),
            };
            observations.push(Observation::failed(
                instance,
                None,
                Status::Unreachable,
                Reason::new(
                    ReasonKind::Source,
                    format!(
                        "stopped reporting build_info {at} (its scrape fails, or it left \
                         service discovery); last seen running {}",
                        last.join(" or ")
                    ),
                ),
            ));
        }
        Ok(observations)
    }

    /// When each of `instances` last reported a build, from the timestamps of its samples
    /// within the window; empty when the selector cannot be narrowed to them (an expression)
    /// or Prometheus does not say.
    fn last_seen<'a>(
        &self,
        agent: &ureq::Agent,
        instances: &[&str],
        window: &str,
        body: &'a Body,
    ) -> HashMap<Cow<'a, str>, Timestamp> {
        let Some(selector) = restrict(&self.selector, instances) else {
            return HashMap::new();
        };
        // At every second of the window, the timestamp of the sample then current: the
        // largest is the last sample (a second step always falls before the stale marker).
        let query =
            format!("max by (instance) (max_over_time(timestamp({selector})[{window}:1s]))");
        let Ok(series) = self.query(agent, &query, body) else {
            return HashMap::new();
        };
        series
            .into_iter()
            .filter(|s| s.value.is_finite() && s.value > 0.0)
            .filter_map(|s| {
                let instance = s.labels.instance?.0;
                Some((instance, Timestamp::from_unix_seconds(s.value as i64)))
            })
            .collect()
    }

    /// A refused query, with Prometheus' words about the user's own selector when it is the
    /// selector that is wrong: asked alone, its error's positions are the selector's, not those
    /// of the query built around it.
    fn in_the_users_words(&self, agent: &ureq::Agent, e: SourceError) -> SourceError {
        if e.kind() != SourceErrorKind::Refused {
            return e;
        }
        let body = Body::default();
        match self.query(agent, &self.selector, &body) {
            Err(own) if own.kind() == SourceErrorKind::Refused => own,
            _ => e,
        }
    }

    /// `<package>_start_time_seconds` by (instance, job), for the selector's instances.
    fn start_times<'a>(
        &self,
        agent: &ureq::Agent,
        names_body: &Body,
        starts_body: &'a Body,
    ) -> Result<StartTimes<'a>, SourceError> {
        let s = &self.selector;
        let names = self.query(agent, &format!("count by (__name__) ({s})"), names_body)?;
        let starts: Vec<String> = names
            .iter()
            .filter_map(|n| n.labels.get("__name__")?.strip_suffix(BUILD_INFO_SUFFIX))
            .map(|prefix| format!("{prefix}{START_TIME_SUFFIX}"))
            .filter(|name| {
                name.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b':')
            })
            .collect();
        if starts.is_empty() {
            return Ok(HashMap::new());
        }
        let series = self.query(
            agent,
            &format!(
                "max by (instance, job) ({{__name__=~\"{}\"}} and on(instance, job) group by (instance, job) ({s}))",
                starts.join("|")
            ),
            starts_body,
        )?;
        Ok(start_times(series))
    }
}

impl Source for Prometheus {
    /// Every instance the selector's series name, with what it runs: the build its series
    /// says now, or, when its scrape fails (`up == 0`), `unreachable` with the last build
    /// Prometheus saw for it. Three or four requests, whatever the number of instances; the
    /// instances themselves are never contacted.
    fn observe(&self, context: &Context<'_>) -> Result<Vec<Observation>, SourceError> {
        self.observe_within(self.timeout.unwrap_or(context.timeout()))
    }
}

/// Each instance once: the same instance scraped by several jobs and running one build is one
/// instance; running different builds, one row per job, named `instance (job)`.
fn one_per_instance<'s, 'a>(current: &'s [Series<'a>]) -> Vec<(&'s Series<'a>, Option<String>)> {
    let mut by_instance: HashMap<&str, Vec<&Series<'a>>> = HashMap::new();
    let mut order: Vec<&str> = Vec::new();
    for series in current {
        let (instance, _) = identity(&series.labels);
        let seen = by_instance.entry(instance).or_default();
        if seen.is_empty() {
            order.push(instance);
        }
        seen.push(series);
    }
    let build = |s: &Series<'_>| {
        (
            s.labels.get(LABEL_REVISION).map(str::to_owned),
            s.labels.get(LABEL_DIRTY).map(str::to_owned),
        )
    };
    let mut out = Vec::with_capacity(current.len());
    for instance in order {
        let series = &by_instance[instance];
        let first = build(series[0]);
        if series.iter().all(|s| build(s) == first) {
            out.push((series[0], None));
        } else {
            for s in series {
                let (_, job) = identity(&s.labels);
                out.push((*s, Some(format!("{instance} ({job})"))));
            }
        }
    }
    out
}

/// Start times by job, then instance: looked up with borrowed names, once per instance of a
/// fleet that can be 100,000 strong (a job holds many instances; a selector, few jobs).
type StartTimes<'a> = HashMap<Cow<'a, str>, HashMap<Cow<'a, str>, Timestamp>>;

/// Start times by (job, instance), from series whose value is a positive time.
fn start_times<'a>(series: Vec<Series<'a>>) -> StartTimes<'a> {
    let mut starts = StartTimes::new();
    for s in series
        .into_iter()
        .filter(|s| s.value.is_finite() && s.value > 0.0)
    {
        let at = Timestamp::from_unix_seconds(s.value as i64);
        let name = |label: Option<Text<'a>>| label.map_or(Cow::Borrowed(""), |t| t.0);
        starts
            .entry(name(s.labels.job))
            .or_default()
            .entry(name(s.labels.instance))
            .and_modify(|t| *t = (*t).max(at))
            .or_insert(at);
    }
    starts
}

fn identity<'a>(labels: &'a Labels<'_>) -> (&'a str, &'a str) {
    (
        labels.get("instance").unwrap_or(""),
        labels.get("job").unwrap_or(""),
    )
}

/// `3f9c2e1 (orders 1.4.2)`: a build as its labels say, for messages.
fn describe(labels: &Labels<'_>) -> String {
    let revision = labels
        .get("revision")
        .map(|r| &r[..r.len().min(7)])
        .filter(|r| !r.is_empty())
        .unwrap_or("an unknown commit");
    match (labels.get(LABEL_PACKAGE), labels.get(LABEL_VERSION)) {
        (Some(p), Some(v)) => format!("{revision} ({p} {v})"),
        _ => revision.to_owned(),
    }
}

/// What an instance runs, from its series' labels.
fn observe(labels: &Labels<'_>, started_at: Option<Timestamp>) -> Observation {
    let (instance, _) = identity(labels);
    let revision = labels.get(LABEL_REVISION).unwrap_or("");
    let Some((commit, described_dirty)) = described_commit(revision) else {
        return Observation::failed(
            instance,
            None,
            Status::InvalidResponse,
            Reason::new(
                ReasonKind::Source,
                format!("its series' revision label {revision:?} is not a commit id"),
            ),
        );
    };
    let dirty = match labels.get(LABEL_DIRTY) {
        Some("true") => Some(true),
        Some("false") => Some(false),
        _ => described_dirty,
    };
    let nonempty = |k: &str| labels.get(k).filter(|v| !v.is_empty()).map(str::to_owned);
    let served = Served {
        dirty,
        package: nonempty(LABEL_PACKAGE),
        version: nonempty(LABEL_VERSION),
        started_at,
        ..Served::commit_only(ServedShape::PrometheusSeries, commit)
    };
    Observation::served(instance, None, served)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_and_secrets() {
        assert!(Prometheus::new("http://prom:9090", "x_build_info").is_ok());
        let err = Prometheus::new("http://user:s3cret@prom:9090", "x").unwrap_err();
        assert_eq!(err.kind(), SourceErrorKind::BadConfig);
        assert!(!err.to_string().contains("s3cret"), "{err}");
        assert!(Prometheus::new("prom:9090", "x").is_err());
        assert!(Prometheus::new("http://prom", " ").is_err());
        let debug = format!(
            "{:?}",
            Prometheus::new("http://prom", "x")
                .unwrap()
                .bearer_token("t0ken")
        );
        assert!(!debug.contains("t0ken"), "{debug}");
    }

    #[test]
    fn labels_to_observations() {
        let json = |pairs: &[(&str, &str)]| -> String {
            let map: HashMap<&str, &str> = pairs.iter().copied().collect();
            serde_json::to_string(&map).unwrap()
        };
        fn labels(json: &str) -> Labels<'_> {
            serde_json::from_str(json).unwrap()
        }
        let o = observe(
            &labels(&json(&[
                ("instance", "10.0.0.1:8080"),
                ("job", "orders"),
                ("revision", "3F9C2E1AA0B1C2D3E4F5A6B7C8D9E0F1A2B3C4D5"),
                ("dirty", "true"),
                ("version", "1.4.2"),
                ("package", "orders-api"),
            ])),
            Some(Timestamp::from_unix_seconds(1_795_341_900)),
        );
        let served = o.outcome.unwrap();
        assert_eq!(served.commit, "3f9c2e1aa0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5");
        assert_eq!(
            (served.dirty, served.version.as_deref(), served.shape),
            (Some(true), Some("1.4.2"), ServedShape::PrometheusSeries)
        );
        assert_eq!(o.url, "10.0.0.1:8080");
        let o = observe(&labels(&json(&[("instance", "x"), ("revision", "")])), None);
        assert_eq!(o.outcome.unwrap_err().status, Status::InvalidResponse);
    }
    /// The names `Stamp::build_info_metric` writes are the names this source reads: a stamp's
    /// own metric, through the exposition parser, gives its facts back.
    #[test]
    fn a_stamps_own_build_info_reads_back() {
        let stamp = shipstamp::Stamp::from_json(
            r#"{"schema":"shipstamp/v1","package":{"name":"orders-api","version":"1.4.2"},"git":{"commit":"3f9c2e1aa0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5","short":"3f9c2e1","dirty":true,"branch":"main"},"process":{"started_at":"2026-11-22T10:05:00Z"}}"#,
        )
        .unwrap();
        let text = stamp.build_info_metric();
        let series = series::exposition(&text).expect("exposition text");
        let name = |suffix: &str| format!("orders_api{suffix}");
        let build = series
            .iter()
            .find(|s| s.labels.get("__name__") == Some(&name(shipstamp_format::BUILD_INFO_SUFFIX)))
            .expect("a build_info series");
        let start = series
            .iter()
            .find(|s| s.labels.get("__name__") == Some(&name(shipstamp_format::START_TIME_SUFFIX)))
            .expect("a start time series");
        let started = Timestamp::from_unix_seconds(start.value as i64);
        assert_eq!(started.to_string(), "2026-11-22T10:05:00Z");
        let served = observe(&build.labels, Some(started)).outcome.unwrap();
        assert_eq!(served.commit, stamp.git.commit.unwrap());
        assert_eq!(served.dirty, stamp.git.dirty);
        assert_eq!(served.package.as_deref(), Some("orders-api"));
        assert_eq!(served.version.as_deref(), Some("1.4.2"));
        assert_eq!(served.started_at, Some(started));
    }
}
