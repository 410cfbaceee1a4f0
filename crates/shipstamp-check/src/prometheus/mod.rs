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
            lookback: Duration::from_secs(3600),
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

    /// How far back to look for the last build of an instance whose scrape now fails (an hour
    /// unless set).
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
    /// says now, or, when its scrape fails (`up == 0`), `unreachable` with the last build
    /// Prometheus saw for it.
    fn observe_within(&self, timeout: Duration) -> Result<Vec<Observation>, SourceError> {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .timeout_global(Some(timeout))
            .http_status_as_error(false)
            .user_agent(concat!("shipstamp/", env!("CARGO_PKG_VERSION")))
            .build()
            .into();
        let s = &self.selector;
        let labels = LABELS.join(", ");
        // Three requests at once (Prometheus answers them side by side): the builds running
        // now, the instances whose scrape fails, and the start times.
        let parts = split_selector(s);
        let up_query = match parts {
            Some((_, matchers)) if !matchers.is_empty() => format!("up{{{matchers}}} == 0"),
            _ => "up == 0".to_owned(),
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
            failing_body,
            names_body,
            starts_federated,
            starts_body,
            down_body,
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
        let (current, failing, starts) = std::thread::scope(|scope| {
            let current = scope.spawn(|| match federated(s, &current_federated)? {
                Some(series) => Ok(distinct_builds(series)),
                None => self.query(&agent, &format!("group by ({labels}) ({s})"), &current_body),
            });
            let failing = scope.spawn(|| self.query(&agent, &up_query, &failing_body));
            let starts = scope.spawn(|| match &start_query {
                Some(q) => match federated(q, &starts_federated)? {
                    Some(series) => Ok(start_times(series)),
                    None => self.query(&agent, q, &starts_body).map(start_times),
                },
                None => self.start_times(&agent, &names_body, &starts_body),
            });
            (join(current), join(failing), join(starts))
        });
        let (current, starts) = (current?, starts?);
        // Instances whose scrape fails: usually none, so their last builds are looked up only
        // when there are some (and only for them, when the selector allows).
        let failing: Vec<(String, String)> = failing?
            .iter()
            .map(|s| {
                let (instance, job) = identity(&s.labels);
                (instance.to_owned(), job.to_owned())
            })
            .collect();
        let down = if failing.is_empty() {
            Vec::new()
        } else {
            let instances: Vec<&str> = failing.iter().map(|(i, _)| i.as_str()).collect();
            let selector = restrict(s, &instances).unwrap_or_else(|| s.clone());
            let lookback = format!("{}s", self.lookback.as_secs().max(1));
            self.query(
                &agent,
                &format!("group by ({labels}) (last_over_time({selector}[{lookback}]))"),
                &down_body,
            )?
            .into_iter()
            .filter(|series| {
                let (instance, job) = identity(&series.labels);
                failing.iter().any(|(i, j)| i == instance && j == job)
            })
            .collect()
        };
        if current.is_empty() && down.is_empty() {
            return Err(SourceError::new(
                SourceErrorKind::NoInstances,
                format!(
                    "the selector {s} matches no series in Prometheus at {} (no instance exports it, or Prometheus does not scrape them)",
                    self.shown()
                ),
            ));
        }

        let mut observations = Vec::with_capacity(current.len() + down.len());
        for series in &current {
            let (instance, job) = identity(&series.labels);
            let started_at = starts.get(job).and_then(|s| s.get(instance)).copied();
            observations.push(observe(&series.labels, started_at));
        }
        // An instance whose scrape fails: unreachable, with the last build seen for it.
        let mut down_by_instance: Vec<(&str, &str, Vec<&Labels<'_>>)> = Vec::new();
        // (Looked up in a set: a broken rollout can leave thousands down.)
        let up: std::collections::HashSet<(&str, &str)> = if down.is_empty() {
            Default::default()
        } else {
            current.iter().map(|s| identity(&s.labels)).collect()
        };
        for series in &down {
            let (instance, job) = identity(&series.labels);
            if up.contains(&(instance, job)) {
                continue;
            }
            match down_by_instance
                .iter_mut()
                .find(|(i, j, _)| *i == instance && *j == job)
            {
                Some((_, _, builds)) => builds.push(&series.labels),
                None => down_by_instance.push((instance, job, vec![&series.labels])),
            }
        }
        for (instance, _, builds) in down_by_instance {
            let last = builds
                .iter()
                .map(|labels| describe(labels))
                .collect::<Vec<_>>()
                .join(" or ");
            observations.push(Observation::failed(
                instance,
                None,
                Status::Unreachable,
                Reason::new(
                    ReasonKind::Source,
                    format!("Prometheus' scrape of it fails (up == 0); last seen running {last}"),
                ),
            ));
        }
        Ok(observations)
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
