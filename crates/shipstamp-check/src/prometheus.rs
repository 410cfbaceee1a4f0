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

use std::borrow::Cow;
use std::collections::HashMap;
use std::fmt;
use std::io::{BufRead, Read};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use shipstamp::Timestamp;

use crate::check::{Observation, Status};
use crate::served::{Served, ServedShape, described_commit};

/// The largest answer read: 5 million instances' build series are about 1 GiB.
const MAX_ANSWER: u64 = 1 << 30;

/// Labels the queries keep: who the instance is, and what it runs.
const LABELS: [&str; 6] = ["instance", "job", "revision", "dirty", "version", "package"];

/// A Prometheus server and a selector of build-info series, e.g.
/// `orders_build_info{env="prod"}`.
///
/// ```no_run
/// let source = shipstamp_check::Prometheus::new("http://prometheus:9090", r#"orders_build_info{env="prod"}"#)?
///     .bearer_token(std::env::var("PROMETHEUS_TOKEN").unwrap_or_default());
/// for instance in source.observe()? {
///     println!("{} {:?}", instance.url, instance.outcome.map(|s| s.commit));
/// }
/// # Ok::<(), shipstamp_check::PrometheusError>(())
/// ```
#[derive(Clone)]
pub struct Prometheus {
    url: String,
    selector: String,
    auth: Option<Auth>,
    timeout: Duration,
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
            .field("url", &self.url)
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

/// What kind of failure a [`PrometheusError`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum PrometheusErrorKind {
    /// The URL is not an `http(s)://` URL, or carries credentials.
    BadUrl,
    /// No answer: refused, timed out, no such host.
    Unreachable,
    /// It asks for credentials that were not given, or refuses those that were.
    NeedsAuth,
    /// The answer is not the Prometheus HTTP API (an HTML page, not JSON).
    NotPrometheus,
    /// Prometheus rejected the query (a bad selector), or failed running it.
    QueryFailed,
    /// The selector matches no series.
    NoSeries,
}

/// Why Prometheus could not say what the fleet runs. The message is one line and never holds
/// credentials.
#[derive(Debug)]
pub struct PrometheusError {
    kind: PrometheusErrorKind,
    message: String,
}

impl PrometheusError {
    fn new(kind: PrometheusErrorKind, message: impl Into<String>) -> PrometheusError {
        PrometheusError {
            kind,
            message: message.into(),
        }
    }

    /// What kind of failure this is.
    pub fn kind(&self) -> PrometheusErrorKind {
        self.kind
    }
}

impl fmt::Display for PrometheusError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for PrometheusError {}

/// The labels a series carries that matter here, borrowed from Prometheus' answer (which has
/// others, skipped without allocating).
#[derive(Debug, Default, serde::Deserialize)]
struct Labels<'a> {
    #[serde(rename = "__name__", borrow)]
    name: Option<Text<'a>>,
    #[serde(borrow)]
    instance: Option<Text<'a>>,
    #[serde(borrow)]
    job: Option<Text<'a>>,
    #[serde(borrow)]
    revision: Option<Text<'a>>,
    #[serde(borrow)]
    dirty: Option<Text<'a>>,
    #[serde(borrow)]
    version: Option<Text<'a>>,
    #[serde(borrow)]
    package: Option<Text<'a>>,
}

impl<'a> Labels<'a> {
    fn get(&self, label: &str) -> Option<&str> {
        let value = match label {
            "__name__" => &self.name,
            "instance" => &self.instance,
            "job" => &self.job,
            "revision" => &self.revision,
            "dirty" => &self.dirty,
            "version" => &self.version,
            "package" => &self.package,
            _ => return None,
        };
        value.as_ref().map(|t| &*t.0)
    }

    /// Keeps `value` when `label` is one of those that matter here.
    fn set(&mut self, label: &str, value: Cow<'a, str>) {
        let slot = match label {
            "__name__" => &mut self.name,
            "instance" => &mut self.instance,
            "job" => &mut self.job,
            "revision" => &mut self.revision,
            "dirty" => &mut self.dirty,
            "version" => &mut self.version,
            "package" => &mut self.package,
            _ => return,
        };
        *slot = Some(Text(value));
    }
}

/// A string of the answer: borrowed from its bytes, or made when it holds escapes. (serde
/// borrows a `Cow` only when it is not inside an `Option`.)
#[derive(Debug)]
struct Text<'a>(Cow<'a, str>);

impl<'de: 'a, 'a> serde::Deserialize<'de> for Text<'a> {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Text<'a>, D::Error> {
        struct Visitor;
        impl<'de> serde::de::Visitor<'de> for Visitor {
            type Value = Cow<'de, str>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Cow<'de, str>, E> {
                Ok(Cow::Borrowed(v))
            }
            fn visit_str<E>(self, v: &str) -> Result<Cow<'de, str>, E> {
                Ok(Cow::Owned(v.to_owned()))
            }
            fn visit_string<E>(self, v: String) -> Result<Cow<'de, str>, E> {
                Ok(Cow::Owned(v))
            }
        }
        deserializer.deserialize_str(Visitor).map(Text)
    }
}

/// One series of an instant query's answer.
struct Series<'a> {
    labels: Labels<'a>,
    value: f64,
}

impl Prometheus {
    /// A source: Prometheus' base URL (`http://prometheus:9090`, or behind a path prefix) and
    /// a selector of build-info series. The URL may not carry credentials: give them with
    /// [`Prometheus::bearer_token`] or [`Prometheus::basic_auth`].
    pub fn new(url: &str, selector: &str) -> Result<Prometheus, PrometheusError> {
        let rest = url
            .strip_prefix("http://")
            .or_else(|| url.strip_prefix("https://"))
            .filter(|r| !r.is_empty());
        let Some(rest) = rest else {
            return Err(PrometheusError::new(
                PrometheusErrorKind::BadUrl,
                "the Prometheus URL must start with http:// or https://",
            ));
        };
        let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
        if authority.contains('@') {
            return Err(PrometheusError::new(
                PrometheusErrorKind::BadUrl,
                "the Prometheus URL carries credentials: give them through the environment, never in the URL",
            ));
        }
        if selector.trim().is_empty() {
            return Err(PrometheusError::new(
                PrometheusErrorKind::BadUrl,
                "an empty selector",
            ));
        }
        Ok(Prometheus {
            url: url.trim_end_matches('/').to_owned(),
            selector: selector.trim().to_owned(),
            auth: None,
            timeout: Duration::from_secs(30),
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

    /// The time limit for each request (30 s unless set).
    pub fn timeout(mut self, timeout: Duration) -> Prometheus {
        self.timeout = timeout;
        self
    }

    /// How far back to look for the last build of an instance whose scrape now fails (an hour
    /// unless set).
    pub fn lookback(mut self, lookback: Duration) -> Prometheus {
        self.lookback = lookback;
        self
    }

    /// The URL, for messages (it carries no credentials).
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The selector.
    pub fn selector(&self) -> &str {
        &self.selector
    }

    /// Every instance the selector's series name, with what it runs: the build its series
    /// says now, or, when its scrape fails (`up == 0`), `unreachable` with the last build
    /// Prometheus saw for it.
    pub fn observe(&self) -> Result<Vec<Observation>, PrometheusError> {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .timeout_global(Some(self.timeout))
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
            let prefix = name.strip_suffix("_build_info")?;
            Some(format!("{prefix}_start_time_seconds{{{matchers}}}"))
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
            return Err(PrometheusError::new(
                PrometheusErrorKind::NoSeries,
                format!(
                    "the selector {s} matches no series in Prometheus at {} (no instance exports it, or Prometheus does not scrape them)",
                    self.url
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
                format!("Prometheus' scrape of it fails (up == 0); last seen running {last}"),
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
    ) -> Result<StartTimes<'a>, PrometheusError> {
        let s = &self.selector;
        let names = self.query(agent, &format!("count by (__name__) ({s})"), names_body)?;
        let starts: Vec<String> = names
            .iter()
            .filter_map(|n| n.labels.get("__name__")?.strip_suffix("_build_info"))
            .map(|prefix| format!("{prefix}_start_time_seconds"))
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

    /// A GET of `path` on the server, with the credentials.
    fn get(
        &self,
        agent: &ureq::Agent,
        path: &str,
    ) -> ureq::RequestBuilder<ureq::typestate::WithoutBody> {
        let request = agent.get(format!("{}{path}", self.url));
        match &self.auth {
            Some(Auth::Bearer(token)) => request.header("Authorization", format!("Bearer {token}")),
            Some(Auth::Basic(user, password)) => request.header(
                "Authorization",
                format!("Basic {}", base64(&format!("{user}:{password}"))),
            ),
            None => request,
        }
    }

    fn unreachable(&self, e: ureq::Error) -> PrometheusError {
        PrometheusError::new(
            PrometheusErrorKind::Unreachable,
            format!("Prometheus at {}: {e}", self.url),
        )
    }

    /// Whether to read the series through `/federate`: Prometheus before 2.53 writes its text
    /// faster than the query API's JSON, later releases the other way round (measured at
    /// 100,000 instances: README, "Every instance"). The release is what the server says it
    /// is; a server that does not say (Thanos, a proxy) is asked through the query API.
    fn federation_pays(&self, agent: &ureq::Agent) -> Result<bool, PrometheusError> {
        if self.no_federation.load(Ordering::Relaxed) {
            return Ok(false);
        }
        let mut response = self
            .get(agent, "/api/v1/status/buildinfo")
            .header("Accept", "application/json")
            .call()
            .map_err(|e| self.unreachable(e))?;
        if response.status() != 200 {
            return Ok(false);
        }
        #[derive(serde::Deserialize)]
        struct BuildInfo {
            data: Option<Release>,
        }
        #[derive(serde::Deserialize)]
        struct Release {
            version: Option<String>,
        }
        let info = response
            .body_mut()
            .with_config()
            .limit(64 * 1024)
            .read_to_vec()
            .ok()
            .and_then(|body| serde_json::from_slice::<BuildInfo>(&body).ok());
        let version = info.and_then(|i| i.data?.version);
        Ok(version.as_deref().is_some_and(federates_faster))
    }

    /// The latest sample of each series `selector` matches, through `/federate`, borrowing
    /// from the answer kept in `body`. `None` when this server does not answer it in the text
    /// format (no such endpoint, or a selector that is an expression): then the query API
    /// answers instead, and says what is wrong if anything is.
    fn federate<'a>(
        &self,
        agent: &ureq::Agent,
        selector: &str,
        body: &'a Body,
    ) -> Result<Option<Vec<Series<'a>>>, PrometheusError> {
        if self.no_federation.load(Ordering::Relaxed) {
            return Ok(None);
        }
        let mut response = self
            .get(agent, "/federate")
            .query("match[]", selector)
            .header("Accept", "text/plain;version=0.0.4")
            .call()
            .map_err(|e| self.unreachable(e))?;
        let status = response.status().as_u16();
        let is_text = response
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("text/plain"));
        if status != 200 || !is_text {
            // An overloaded server or refused credentials may pass; a missing endpoint, a
            // page from a proxy or a refused selector will not.
            if matches!(status, 200 | 400 | 404 | 405 | 501) {
                self.no_federation.store(true, Ordering::Relaxed);
            }
            return Ok(None);
        }
        let reader = response.body_mut().with_config().limit(u64::MAX).reader();
        let bytes = self.read_whole(reader)?;
        let series = std::str::from_utf8(body.get_or_init(|| bytes))
            .ok()
            .and_then(exposition);
        if series.is_none() {
            self.no_federation.store(true, Ordering::Relaxed);
        }
        Ok(series)
    }

    /// A body to its end, up to [`MAX_ANSWER`].
    fn read_whole(&self, reader: impl Read) -> Result<Vec<u8>, PrometheusError> {
        let mut bytes = Vec::new();
        reader
            .take(MAX_ANSWER + 1)
            .read_to_end(&mut bytes)
            .map_err(|e| {
                PrometheusError::new(
                    PrometheusErrorKind::Unreachable,
                    format!("Prometheus at {}: the answer broke off ({e})", self.url),
                )
            })?;
        if bytes.len() as u64 > MAX_ANSWER {
            return Err(PrometheusError::new(
                PrometheusErrorKind::NotPrometheus,
                format!(
                    "Prometheus at {}: the answer is larger than {} MiB, more than any fleet's \
                     build series (is the selector too wide?)",
                    self.url,
                    MAX_ANSWER >> 20
                ),
            ));
        }
        Ok(bytes)
    }

    /// One instant query: the series of its vector, borrowing from the answer kept in `body`.
    fn query<'a>(
        &self,
        agent: &ureq::Agent,
        promql: &str,
        body: &'a Body,
    ) -> Result<Vec<Series<'a>>, PrometheusError> {
        let at = || format!("Prometheus at {}", self.url);
        let mut response = self
            .get(agent, "/api/v1/query")
            .query("query", promql)
            .header("Accept", "application/json")
            .call()
            .map_err(|e| self.unreachable(e))?;
        let status = response.status();
        if status == 401 || status == 403 {
            return Err(PrometheusError::new(
                PrometheusErrorKind::NeedsAuth,
                format!(
                    "{} answers HTTP {status}: it needs credentials{}",
                    at(),
                    if self.auth.is_some() {
                        ", and refuses those given"
                    } else {
                        ", and none were given"
                    }
                ),
            ));
        }
        let is_json = response
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.contains("json"));
        let reader = response.body_mut().with_config().limit(u64::MAX).reader();
        if !is_json {
            let mut start = String::new();
            let _ = reader.take(512).read_to_string(&mut start);
            let what = if start.trim_start().starts_with('<') {
                "an HTML page"
            } else {
                "something that is not JSON"
            };
            return Err(PrometheusError::new(
                PrometheusErrorKind::NotPrometheus,
                format!(
                    "{} answers HTTP {status} with {what}, not the Prometheus HTTP API (is this the right address?)",
                    at()
                ),
            ));
        }
        let broke_off = |e: std::io::Error| {
            PrometheusError::new(
                PrometheusErrorKind::Unreachable,
                format!("{}: the answer broke off ({e})", at()),
            )
        };
        // Kept whole, so that the series can borrow from it; a body that does not open as a
        // JSON object is refused at its first bytes, not read to its end.
        let mut reader = std::io::BufReader::new(reader);
        let opening = reader.fill_buf().map_err(broke_off)?;
        if opening
            .iter()
            .find(|b| !b.is_ascii_whitespace())
            .is_some_and(|b| *b != b'{')
        {
            return Err(PrometheusError::new(
                PrometheusErrorKind::NotPrometheus,
                format!(
                    "{}: not a Prometheus API answer (it does not open as a JSON object)",
                    at()
                ),
            ));
        }
        let bytes = self.read_whole(reader)?;
        let answer: Answer<'a> =
            serde_json::from_slice(body.get_or_init(|| bytes)).map_err(|e| {
                PrometheusError::new(
                    PrometheusErrorKind::NotPrometheus,
                    format!("{}: not a Prometheus API answer ({e})", at()),
                )
            })?;
        if answer.status.0 != "success" {
            return Err(PrometheusError::new(
                PrometheusErrorKind::QueryFailed,
                format!(
                    "{} refused the query for {}: {}: {}",
                    at(),
                    self.selector,
                    answer.error_type.as_ref().map_or("", |t| &t.0),
                    answer.error.as_ref().map_or("", |t| &t.0)
                ),
            ));
        }
        let data = answer.data.ok_or_else(|| {
            PrometheusError::new(
                PrometheusErrorKind::NotPrometheus,
                format!("{}: an answer without data", at()),
            )
        })?;
        if data.result_type.0 != "vector" {
            return Err(PrometheusError::new(
                PrometheusErrorKind::QueryFailed,
                format!(
                    "{}: the selector {} gives a {}, not series of instances",
                    at(),
                    self.selector,
                    data.result_type.0
                ),
            ));
        }
        Ok(data
            .result
            .into_iter()
            .map(|r| Series {
                value: r
                    .value
                    .and_then(|(_, v)| v.0.parse().ok())
                    .unwrap_or(f64::NAN),
                labels: r.metric,
            })
            .collect())
    }
}

/// Where a query's answer is kept while its series borrow from it.
type Body = OnceLock<Vec<u8>>;

#[derive(serde::Deserialize)]
struct Answer<'a> {
    #[serde(borrow)]
    status: Text<'a>,
    #[serde(borrow)]
    data: Option<Data<'a>>,
    #[serde(rename = "errorType", borrow)]
    error_type: Option<Text<'a>>,
    #[serde(borrow)]
    error: Option<Text<'a>>,
}

#[derive(serde::Deserialize)]
struct Data<'a> {
    #[serde(rename = "resultType", borrow)]
    result_type: Text<'a>,
    #[serde(borrow)]
    result: Vec<Sample<'a>>,
}

#[derive(serde::Deserialize)]
struct Sample<'a> {
    #[serde(borrow)]
    metric: Labels<'a>,
    /// `[time, "value"]`.
    #[serde(default, borrow)]
    value: Option<(serde::de::IgnoredAny, Text<'a>)>,
}

fn join<T>(handle: std::thread::ScopedJoinHandle<'_, T>) -> T {
    handle
        .join()
        .unwrap_or_else(|p| std::panic::resume_unwind(p))
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

/// Whether a Prometheus of this release (`2.42.0`, `2.42.0+ds`, `v2.42.0`) answers
/// `/federate` faster than the query API: before 2.53.
fn federates_faster(version: &str) -> bool {
    let mut parts = version.trim_start_matches('v').split(['.', '+', '-']);
    let mut number = || parts.next().and_then(|p| p.parse::<u32>().ok());
    match (number(), number()) {
        (Some(major), Some(minor)) => (major, minor) < (2, 53) && major >= 2,
        _ => false,
    }
}

/// One series per instance and build, as `group by (LABELS)` gives them: `/federate` hands
/// out every series, and two that differ only in other labels are one build.
fn distinct_builds(series: Vec<Series<'_>>) -> Vec<Series<'_>> {
    let first: Vec<bool> = {
        let mut seen = std::collections::HashSet::with_capacity(series.len());
        series
            .iter()
            .map(|s| seen.insert(LABELS.map(|label| s.labels.get(label))))
            .collect()
    };
    series
        .into_iter()
        .zip(first)
        .filter_map(|(s, first)| first.then_some(s))
        .collect()
}

/// The samples of a text-format exposition, as `/federate` writes it, borrowing their labels
/// from it (a label value with escapes is decoded into its own string). `None` when a line is
/// not in that format.
fn exposition(text: &str) -> Option<Vec<Series<'_>>> {
    let mut series = Vec::new();
    for line in text.split('\n') {
        let line = line.strip_suffix('\r').unwrap_or(line);
        let line = line.trim_start_matches([' ', '\t']);
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let name_end = line.find(['{', ' ', '\t']).unwrap_or(line.len());
        let (name, mut rest) = line.split_at(name_end);
        if name.is_empty() {
            return None;
        }
        let mut labels = Labels::default();
        labels.set("__name__", Cow::Borrowed(name));
        if let Some(inner) = rest.strip_prefix('{') {
            rest = inner;
            loop {
                rest = rest.trim_start_matches([' ', '\t']);
                if let Some(after) = rest.strip_prefix('}') {
                    rest = after;
                    break;
                }
                let (label, after) = rest.split_once('=')?;
                let (value, after) = quoted(after.trim_start().strip_prefix('"')?)?;
                labels.set(label.trim_end(), value);
                rest = after.trim_start_matches([' ', '\t']);
                if let Some(after) = rest.strip_prefix(',') {
                    rest = after;
                } else if !rest.starts_with('}') {
                    return None;
                }
            }
        }
        // The value, then maybe a timestamp (not needed: the sample is the latest).
        let value = rest.split_ascii_whitespace().next()?.parse().ok()?;
        series.push(Series { labels, value });
    }
    Some(series)
}

/// A label value up to its closing quote (`s` starts just after the opening one), and what
/// follows it. The format escapes `\\`, `\"` and a line feed as `\n`.
fn quoted(s: &str) -> Option<(Cow<'_, str>, &str)> {
    let end = s.find(['"', '\\'])?;
    if s.as_bytes()[end] == b'"' {
        return Some((Cow::Borrowed(&s[..end]), &s[end + 1..]));
    }
    let mut value = String::from(&s[..end]);
    let mut chars = s[end..].char_indices();
    while let Some((i, c)) = chars.next() {
        match c {
            '"' => return Some((Cow::Owned(value), &s[end + i + 1..])),
            '\\' => match chars.next()?.1 {
                'n' => value.push('\n'),
                other => value.push(other),
            },
            c => value.push(c),
        }
    }
    None
}

/// A plain series selector's metric name (maybe empty) and label matchers (maybe empty):
/// `orders_build_info{env="prod"}` is (`orders_build_info`, `env="prod"`). `None` for anything
/// else (an expression), or a brace inside a label value, which this reading would get wrong.
fn split_selector(selector: &str) -> Option<(&str, &str)> {
    let name_end = selector
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == ':'))
        .unwrap_or(selector.len());
    let (name, rest) = selector.split_at(name_end);
    let matchers = if rest.is_empty() {
        ""
    } else {
        let inner = rest.strip_prefix('{')?.strip_suffix('}')?;
        if inner.contains(['{', '}']) {
            return None;
        }
        inner.trim()
    };
    (!(name.is_empty() && matchers.is_empty())).then_some((name, matchers))
}

/// The selector with `instance=~"…"` added, when it is a plain series selector
/// (`name`, `name{…}` or `{…}`): Prometheus then reads the history of those instances only.
fn restrict(selector: &str, instances: &[&str]) -> Option<String> {
    let (name, matchers) = split_selector(selector)?;
    let pattern: Vec<String> = instances
        .iter()
        .map(|i| {
            i.chars()
                .flat_map(|c| match c {
                    // Escaped for the regex, then for the PromQL string.
                    '.' | '+' | '*' | '?' | '(' | ')' | '[' | ']' | '{' | '}' | '|' | '^' | '$' => {
                        vec!['\\', '\\', c]
                    }
                    '\\' => vec!['\\', '\\', '\\', '\\'],
                    '"' => vec!['\\', '"'],
                    c => vec![c],
                })
                .collect()
        })
        .collect();
    let separator = if matchers.is_empty() { "" } else { "," };
    Some(format!(
        "{name}{{{matchers}{separator}instance=~\"{}\"}}",
        pattern.join("|")
    ))
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
    match (labels.get("package"), labels.get("version")) {
        (Some(p), Some(v)) => format!("{revision} ({p} {v})"),
        _ => revision.to_owned(),
    }
}

/// What an instance runs, from its series' labels.
fn observe(labels: &Labels<'_>, started_at: Option<Timestamp>) -> Observation {
    let (instance, _) = identity(labels);
    let revision = labels.get("revision").unwrap_or("");
    let Some((commit, described_dirty)) = described_commit(revision) else {
        return Observation::failed(
            instance,
            None,
            Status::InvalidResponse,
            format!("its series' revision label {revision:?} is not a commit id"),
        );
    };
    let dirty = match labels.get("dirty") {
        Some("true") => Some(true),
        Some("false") => Some(false),
        _ => described_dirty,
    };
    let nonempty = |k: &str| labels.get(k).filter(|v| !v.is_empty()).map(str::to_owned);
    let served = Served {
        dirty,
        package: nonempty("package"),
        version: nonempty("version"),
        started_at,
        ..Served::commit_only(ServedShape::PrometheusSeries, commit)
    };
    Observation::served(instance, None, served)
}

/// Standard base64 with padding, for basic authentication.
fn base64(text: &str) -> String {
    const TABLE: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let bytes = text.as_bytes();
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = u32::from(b[0]) << 16 | u32::from(b[1]) << 8 | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(TABLE[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn restricting_a_selector_to_instances() {
        assert_eq!(
            restrict("orders_build_info", &["10.0.0.1:8080"]).as_deref(),
            Some(r#"orders_build_info{instance=~"10\\.0\\.0\\.1:8080"}"#)
        );
        assert_eq!(
            restrict(r#"orders_build_info{env="prod"}"#, &["a", "b"]).as_deref(),
            Some(r#"orders_build_info{env="prod",instance=~"a|b"}"#)
        );
        assert_eq!(
            restrict(r#"{__name__=~".+_build_info"}"#, &["a"]).as_deref(),
            Some(r#"{__name__=~".+_build_info",instance=~"a"}"#)
        );
        assert_eq!(restrict("sum(x)", &["a"]), None);
        assert_eq!(restrict(r#"x{a="}"}"#, &["a"]), None);
    }

    #[test]
    fn answers_lend_their_labels_and_decode_escapes() {
        // Prometheus (as Go's encoder) writes `&`, `<` and `>` as \u escapes.
        let body = br#"{"status":"success","data":{"resultType":"vector","result":[
            {"metric":{"instance":"a\u0026b:80","job":"orders","revision":"3f9c2e1"},"value":[1796165756.5,"1"]}]}}"#;
        let answer: Answer<'_> = serde_json::from_slice(body).unwrap();
        assert_eq!(answer.status.0, "success");
        let data = answer.data.unwrap();
        let sample = &data.result[0];
        assert_eq!(sample.metric.get("instance"), Some("a&b:80"));
        assert!(matches!(
            sample.metric.instance.as_ref().unwrap().0,
            Cow::Owned(_)
        ));
        assert!(matches!(
            sample.metric.job.as_ref().unwrap().0,
            Cow::Borrowed("orders")
        ));
        assert_eq!(sample.metric.get("package"), None);
        assert_eq!(sample.value.as_ref().map(|(_, v)| &*v.0), Some("1"));
    }

    #[test]
    fn federated_text_lends_its_labels_and_decodes_escapes() {
        // As Prometheus' /federate writes it: a TYPE line per name, external labels added,
        // every sample with its timestamp.
        let text = "# TYPE orders_build_info untyped\n\
            orders_build_info{dirty=\"false\",env=\"prod\",instance=\"10.0.0.1:8080\",job=\"orders\",package=\"orders\",revision=\"3f9c2e1\",version=\"1.4.2\"} 1 1796177758000\n\
            orders_build_info{instance=\"a\\\\b \\\"c\\\"\\nd\",job=\"orders\",} 1\r\n\
            \n\
            # TYPE orders_start_time_seconds untyped\n\
            orders_start_time_seconds{instance=\"10.0.0.1:8080\",job=\"orders\"} 1.796091368e+09 1796177758000\n\
            orders_start_time_seconds NaN\n\
            up{ instance = \"x\" } +Inf\n";
        let series = exposition(text).unwrap();
        assert_eq!(series.len(), 5);
        let first = &series[0].labels;
        assert_eq!(first.get("__name__"), Some("orders_build_info"));
        assert_eq!(first.get("revision"), Some("3f9c2e1"));
        assert_eq!(first.get("dirty"), Some("false"));
        assert!(matches!(
            first.instance.as_ref().unwrap().0,
            Cow::Borrowed(_)
        ));
        let escaped = &series[1].labels;
        assert_eq!(escaped.get("instance"), Some("a\\b \"c\"\nd"));
        assert!(matches!(
            escaped.instance.as_ref().unwrap().0,
            Cow::Owned(_)
        ));
        assert_eq!(escaped.get("job"), Some("orders"));
        assert_eq!(series[2].value, 1_796_091_368.0);
        assert!(series[3].value.is_nan());
        assert_eq!(series[4].value, f64::INFINITY);
        assert_eq!(series[4].labels.get("instance"), Some("x"));
        assert_eq!(exposition("").unwrap().len(), 0);
        // Not the text format: the query API answers instead.
        for junk in [
            "<html><body>Not Found</body></html>",
            "{\"status\":\"success\"}",
            "orders_build_info{instance=\"x} 1",
            "orders_build_info{instance=\"x\" job=\"y\"} 1",
            "orders_build_info{instance} 1",
            "orders_build_info{instance=\"x\"}",
            "orders_build_info one",
        ] {
            assert!(exposition(junk).is_none(), "{junk}");
        }
    }

    #[test]
    fn federation_for_the_releases_it_is_faster_on() {
        for (version, federate) in [
            ("2.42.0+ds", true),
            ("2.42.0", true),
            ("v2.24.0", true),
            ("2.52.1", true),
            ("2.53.3+ds1", false),
            ("2.55.0-rc.0", false),
            ("3.5.3+ds1", false),
            ("1.8.2", false),
            ("0.36.1", false),
            ("", false),
            ("unknown", false),
        ] {
            assert_eq!(federates_faster(version), federate, "{version}");
        }
    }

    #[test]
    fn federated_series_are_one_per_build() {
        let text = "b{instance=\"x\",job=\"j\",revision=\"r1\",pod=\"p1\"} 1\n\
            b{instance=\"x\",job=\"j\",revision=\"r1\",pod=\"p2\"} 1\n\
            b{instance=\"x\",job=\"j\",revision=\"r2\"} 1\n\
            b{instance=\"y\",job=\"j\",revision=\"r1\"} 1\n";
        let builds = distinct_builds(exposition(text).unwrap());
        let seen: Vec<_> = builds
            .iter()
            .map(|s| (s.labels.get("instance"), s.labels.get("revision")))
            .collect();
        assert_eq!(
            seen,
            [
                (Some("x"), Some("r1")),
                (Some("x"), Some("r2")),
                (Some("y"), Some("r1"))
            ]
        );
    }

    #[test]
    fn basic_auth_encoding() {
        assert_eq!(
            base64("Aladdin:open sesame"),
            "QWxhZGRpbjpvcGVuIHNlc2FtZQ=="
        );
        assert_eq!(base64("a"), "YQ==");
        assert_eq!(base64("ab"), "YWI=");
        assert_eq!(base64("abc"), "YWJj");
    }

    #[test]
    fn urls_and_secrets() {
        assert!(Prometheus::new("http://prom:9090", "x_build_info").is_ok());
        let err = Prometheus::new("http://user:s3cret@prom:9090", "x").unwrap_err();
        assert_eq!(err.kind(), PrometheusErrorKind::BadUrl);
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
        assert_eq!(o.outcome.unwrap_err().0, Status::InvalidResponse);
    }
}
