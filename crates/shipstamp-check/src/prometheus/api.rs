//! Asking Prometheus: its HTTP API (instant queries), `/federate`, and which of the two its
//! release answers faster.

use std::io::{BufRead, Read};
use std::sync::OnceLock;
use std::sync::atomic::Ordering;

use base64::Engine as _;

use super::series::{Labels, Series, Text, exposition};
use super::{Auth, Prometheus};
use crate::source::{SourceError, SourceErrorKind};

/// The largest answer read: 5 million instances' build series are about 1 GiB.
const MAX_ANSWER: u64 = 1 << 30;

impl Prometheus {
    /// A GET of `path` on the server, with the credentials.
    pub(super) fn get(
        &self,
        agent: &ureq::Agent,
        path: &str,
    ) -> ureq::RequestBuilder<ureq::typestate::WithoutBody> {
        let request = agent.get(format!("{}{path}", self.url));
        match &self.auth {
            Some(Auth::Bearer(token)) => request.header("Authorization", format!("Bearer {token}")),
            Some(Auth::Basic(user, password)) => request.header(
                "Authorization",
                format!(
                    "Basic {}",
                    base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"))
                ),
            ),
            None => request,
        }
    }

    pub(super) fn unreachable(&self, e: ureq::Error) -> SourceError {
        SourceError::new(
            SourceErrorKind::Unreachable,
            format!("Prometheus at {}: {e}", self.shown()),
        )
    }

    /// Whether to read the series through `/federate`: Prometheus before 2.53 writes its text
    /// faster than the query API's JSON, later releases the other way round (measured at
    /// 100,000 instances: README, "Every instance"). The release is what the server says it
    /// is; a server that does not say (Thanos, a proxy) is asked through the query API.
    pub(super) fn federation_pays(&self, agent: &ureq::Agent) -> Result<bool, SourceError> {
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
    pub(super) fn federate<'a>(
        &self,
        agent: &ureq::Agent,
        selector: &str,
        body: &'a Body,
    ) -> Result<Option<Vec<Series<'a>>>, SourceError> {
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
    pub(super) fn read_whole(&self, reader: impl Read) -> Result<Vec<u8>, SourceError> {
        let mut bytes = Vec::new();
        reader
            .take(MAX_ANSWER + 1)
            .read_to_end(&mut bytes)
            .map_err(|e| {
                SourceError::new(
                    SourceErrorKind::Unreachable,
                    format!("Prometheus at {}: the answer broke off ({e})", self.shown()),
                )
            })?;
        if bytes.len() as u64 > MAX_ANSWER {
            return Err(SourceError::new(
                SourceErrorKind::BadAnswer,
                format!(
                    "Prometheus at {}: the answer is larger than {} MiB, more than any fleet's \
                     build series (is the selector too wide?)",
                    self.shown(),
                    MAX_ANSWER >> 20
                ),
            ));
        }
        Ok(bytes)
    }

    /// One instant query: the series of its vector, borrowing from the answer kept in `body`.
    pub(super) fn query<'a>(
        &self,
        agent: &ureq::Agent,
        promql: &str,
        body: &'a Body,
    ) -> Result<Vec<Series<'a>>, SourceError> {
        let at = || format!("Prometheus at {}", self.shown());
        let mut response = self
            .get(agent, "/api/v1/query")
            .query("query", promql)
            .header("Accept", "application/json")
            .call()
            .map_err(|e| self.unreachable(e))?;
        let status = response.status();
        if status == 401 || status == 403 {
            return Err(SourceError::new(
                SourceErrorKind::NeedsAuth,
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
            return Err(SourceError::new(
                SourceErrorKind::BadAnswer,
                format!(
                    "{} answers HTTP {status} with {what}, not the Prometheus HTTP API (is this the right address?)",
                    at()
                ),
            ));
        }
        let broke_off = |e: std::io::Error| {
            SourceError::new(
                SourceErrorKind::Unreachable,
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
            return Err(SourceError::new(
                SourceErrorKind::BadAnswer,
                format!(
                    "{}: not a Prometheus API answer (it does not open as a JSON object)",
                    at()
                ),
            ));
        }
        let bytes = self.read_whole(reader)?;
        let answer: Answer<'a> =
            serde_json::from_slice(body.get_or_init(|| bytes)).map_err(|e| {
                SourceError::new(
                    SourceErrorKind::BadAnswer,
                    format!("{}: not a Prometheus API answer ({e})", at()),
                )
            })?;
        if answer.status.0 != "success" {
            return Err(SourceError::new(
                SourceErrorKind::Refused,
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
            SourceError::new(
                SourceErrorKind::BadAnswer,
                format!("{}: an answer without data", at()),
            )
        })?;
        if data.result_type.0 != "vector" {
            return Err(SourceError::new(
                SourceErrorKind::Refused,
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
pub(super) type Body = OnceLock<Vec<u8>>;

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

#[cfg(test)]
mod tests {
    use std::borrow::Cow;

    use super::*;

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
}
