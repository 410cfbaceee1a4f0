//! What a target's version endpoint says, whatever its shape.

use std::fmt;

use serde_json::Value;
use shipstamp::{Stamp, Timestamp};

/// The shape a served version document was read as.
///
/// Not to be confused with [`shipstamp::Shape`], the shape a service *serves* its own stamp in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ServedShape {
    /// A `shipstamp/v1` document.
    Shipstamp,
    /// Kubernetes-style `{gitCommit, gitTreeState}`.
    Kubernetes,
    /// Dockerflow `{commit}`.
    Dockerflow,
    /// Spring Boot Actuator `/actuator/info`: `{git: {commit: {id}, dirty}, build: {version}}`,
    /// in `simple` or `full` git mode.
    SpringActuator,
    /// Prometheus' own `/api/v1/status/buildinfo`: `{status, data: {revision, version}}`.
    PrometheusBuildInfo,
    /// The common `{version, revision}` document (Go services, many exporters).
    VersionRevision,
    /// Any JSON document, read at a JSON pointer given for the target (`--field`).
    JsonPointer,
    /// Not a document: the labels of the instance's `build_info` series in Prometheus.
    PrometheusSeries,
    /// The stamp embedded in a binary on disk (`file:PATH`).
    Binary,
    /// The stamp embedded in the image a running process executes (`pid:N`, `pidfile:PATH`).
    Process,
    /// A body that is just a commit id (`git describe --always --dirty` style allowed).
    PlainText,
}

impl ServedShape {
    /// The shape as written in output: `shipstamp`, `kubernetes`, `dockerflow`,
    /// `spring-actuator`, `prometheus-buildinfo`, `version-revision`, `json-pointer`,
    /// `plain-text`, `prometheus` (a series' labels), `binary`, `process` (an embedded stamp).
    pub fn as_str(self) -> &'static str {
        match self {
            ServedShape::Shipstamp => "shipstamp",
            ServedShape::Kubernetes => "kubernetes",
            ServedShape::Dockerflow => "dockerflow",
            ServedShape::SpringActuator => "spring-actuator",
            ServedShape::PrometheusBuildInfo => "prometheus-buildinfo",
            ServedShape::VersionRevision => "version-revision",
            ServedShape::JsonPointer => "json-pointer",
            ServedShape::PrometheusSeries => "prometheus",
            ServedShape::Binary => "binary",
            ServedShape::Process => "process",
            ServedShape::PlainText => "plain-text",
        }
    }
}

/// What a target serves, reduced to what the comparison needs.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Served {
    /// How the body was read.
    pub shape: ServedShape,
    /// The commit id as served: full, or abbreviated (Spring, plain text), lowercase hex.
    pub commit: String,
    /// Whether the build was dirty, when the shape says.
    pub dirty: Option<bool>,
    /// Package name, when the shape says.
    pub package: Option<String>,
    /// Version, when the shape says.
    pub version: Option<String>,
    /// When the served build was made, when the shape says.
    pub built_at: Option<Timestamp>,
    /// When the serving process started, when the shape says.
    pub started_at: Option<Timestamp>,
    /// Whether the serving process's executable was replaced on disk since it started.
    pub exe_replaced: Option<bool>,
}

impl fmt::Display for ServedShape {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Served {
    /// What an instance serves, read as `shape`: `commit` (7 to 64 hex digits, any case) and
    /// nothing else known yet; set the other fields as the source knows them.
    ///
    /// ```
    /// use shipstamp_check::{Served, ServedShape};
    ///
    /// let mut served = Served::new(ServedShape::PrometheusSeries, "3F9C2E1")?;
    /// served.version = Some("1.4.2".into());
    /// assert_eq!(served.commit, "3f9c2e1");
    /// assert!(Served::new(ServedShape::PlainText, "main").is_err());
    /// # Ok::<(), shipstamp_check::ParseError>(())
    /// ```
    pub fn new(shape: ServedShape, commit: &str) -> Result<Served, ParseError> {
        let commit = commit_id(commit.trim()).ok_or_else(|| {
            ParseError::new(
                ParseErrorKind::BadCommit,
                format!("{} is not a commit id", preview(commit)),
            )
        })?;
        Ok(Served::commit_only(shape, commit))
    }

    pub(crate) fn commit_only(shape: ServedShape, commit: String) -> Served {
        Served {
            shape,
            commit,
            dirty: None,
            package: None,
            version: None,
            built_at: None,
            started_at: None,
            exe_replaced: None,
        }
    }
}

/// What kind of body a [`ParseError`] rejected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ParseErrorKind {
    /// Nothing but whitespace.
    Empty,
    /// Bytes that are not UTF-8 text.
    NotText,
    /// An HTML page (an error page, a login page, a proxy's welcome page).
    Html,
    /// Text that is neither a JSON object nor a commit id.
    NotAVersionDocument,
    /// JSON that does not parse.
    MalformedJson,
    /// A JSON object in none of the known shapes.
    UnknownShape,
    /// A known shape whose commit field is missing, `null`, or not a commit id; or nothing (or
    /// not a commit id) at the JSON pointer given for the target.
    BadCommit,
    /// A document that says it is `shipstamp/v1` (or another version) but is not valid.
    InvalidStamp,
}

/// Why a body is not a version document. The message is one line.
#[derive(Debug)]
pub struct ParseError {
    kind: ParseErrorKind,
    detail: String,
    source: Option<Box<dyn std::error::Error + Send + Sync>>,
}

impl ParseError {
    fn new(kind: ParseErrorKind, detail: impl Into<String>) -> ParseError {
        ParseError {
            kind,
            detail: detail.into(),
            source: None,
        }
    }

    /// What kind of body was rejected.
    pub fn kind(&self) -> ParseErrorKind {
        self.kind
    }
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.detail)
    }
}

impl std::error::Error for ParseError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source.as_deref().map(|e| e as _)
    }
}

/// Reads a version body, in whichever of the known shapes it is.
///
/// A leading UTF-8 byte order mark is skipped.
pub fn parse_served(body: &[u8]) -> Result<Served, ParseError> {
    parse(body, None)
}

/// Reads the commit of any JSON document at `pointer` (RFC 6901, e.g. `/data/revision`), for
/// documents in none of the known shapes: `shipstamp check --field`.
///
/// ```
/// let served = shipstamp_check::parse_served_at(br#"{"build":{"sha":"3f9c2e1"}}"#, "/build/sha")?;
/// assert_eq!(served.commit, "3f9c2e1");
/// # Ok::<(), shipstamp_check::ParseError>(())
/// ```
pub fn parse_served_at(body: &[u8], pointer: &str) -> Result<Served, ParseError> {
    parse(body, Some(pointer))
}

fn parse(body: &[u8], pointer: Option<&str>) -> Result<Served, ParseError> {
    use ParseErrorKind as K;
    let text = std::str::from_utf8(body)
        .map_err(|_| ParseError::new(K::NotText, "the body is not UTF-8 text"))?;
    let trimmed = text.trim_start_matches('\u{feff}').trim();
    if trimmed.is_empty() {
        return Err(ParseError::new(K::Empty, "the body is empty"));
    }
    if trimmed.starts_with('<') {
        return Err(ParseError::new(
            K::Html,
            "an HTML page, not a version document",
        ));
    }
    if let Some(pointer) = pointer {
        let value: Value = serde_json::from_str(trimmed).map_err(malformed)?;
        let at = value.pointer(pointer).ok_or_else(|| {
            ParseError::new(
                K::BadCommit,
                format!("nothing at {pointer} in this JSON document"),
            )
        })?;
        let (commit, dirty) = string_commit(at, pointer)?;
        return Ok(Served {
            dirty,
            ..Served::commit_only(ServedShape::JsonPointer, commit)
        });
    }
    if !trimmed.starts_with('{') {
        if let Some((commit, dirty)) = described_commit(trimmed) {
            return Ok(Served {
                dirty,
                ..Served::commit_only(ServedShape::PlainText, commit)
            });
        }
        return Err(ParseError::new(
            K::NotAVersionDocument,
            format!(
                "not a version document (a JSON object or a commit id): {}",
                preview(trimmed)
            ),
        ));
    }
    let value: Value = serde_json::from_str(trimmed).map_err(malformed)?;
    if value.get("schema").is_some() {
        let stamp = Stamp::from_json(trimmed).map_err(|e| ParseError {
            detail: e.to_string(),
            source: Some(Box::new(e)),
            ..ParseError::new(K::InvalidStamp, "")
        })?;
        let commit = stamp.git.commit.clone().ok_or_else(|| {
            ParseError::new(
                K::BadCommit,
                "the shipstamp document has no git.commit (the service was built without a known commit)",
            )
        })?;
        let process = stamp.process();
        return Ok(Served {
            shape: ServedShape::Shipstamp,
            commit,
            dirty: stamp.git.dirty,
            package: Some(stamp.package.name.clone()),
            version: Some(stamp.package.version.clone()),
            built_at: stamp.build.time,
            started_at: process.as_ref().and_then(|p| p.started_at),
            exe_replaced: process.and_then(|p| p.exe_replaced),
        });
    }
    if let Some(c) = value.get("gitCommit") {
        let (commit, _) = string_commit(c, "gitCommit")?;
        let dirty = match value.get("gitTreeState").and_then(Value::as_str) {
            Some("dirty") => Some(true),
            Some("clean") => Some(false),
            _ => None,
        };
        return Ok(Served {
            dirty,
            version: text_at(&value, "/gitVersion"),
            // Kubernetes writes `buildDate` as RFC 3339 UTC, as shipstamp does.
            built_at: time_at(&value, "/buildDate"),
            ..Served::commit_only(ServedShape::Kubernetes, commit)
        });
    }
    if let Some(id) = value.pointer("/git/commit/id") {
        // "simple" mode serves the abbreviated id; "full" mode an object with both.
        let id = match id {
            Value::Object(o) => o
                .get("full")
                .or_else(|| o.get("abbrev"))
                .unwrap_or(&Value::Null),
            other => other,
        };
        let (commit, _) = string_commit(id, "git.commit.id")?;
        return Ok(Served {
            // A boolean in "simple" mode; "full" mode writes "true" or "false" as a string.
            dirty: value.pointer("/git/dirty").and_then(flag),
            package: text_at(&value, "/build/artifact").or_else(|| text_at(&value, "/build/name")),
            version: text_at(&value, "/build/version"),
            built_at: time_at(&value, "/build/time"),
            ..Served::commit_only(ServedShape::SpringActuator, commit)
        });
    }
    if value.get("status").and_then(Value::as_str) == Some("success") {
        if let Some(revision) = value.pointer("/data/revision") {
            let (commit, dirty) = string_commit(revision, "data.revision")?;
            return Ok(Served {
                dirty,
                version: text_at(&value, "/data/version"),
                ..Served::commit_only(ServedShape::PrometheusBuildInfo, commit)
            });
        }
    }
    if let Some(c) = value.get("commit") {
        let (commit, dirty) = string_commit(c, "commit")?;
        return Ok(Served {
            dirty,
            version: text_at(&value, "/version"),
            ..Served::commit_only(ServedShape::Dockerflow, commit)
        });
    }
    if let Some(revision) = value.get("revision") {
        let (commit, described_dirty) = string_commit(revision, "revision")?;
        return Ok(Served {
            dirty: ["dirty", "modified"]
                .iter()
                .find_map(|k| value.get(*k).and_then(flag))
                .or(described_dirty),
            version: text_at(&value, "/version"),
            ..Served::commit_only(ServedShape::VersionRevision, commit)
        });
    }
    Err(ParseError::new(
        K::UnknownShape,
        "JSON without a commit: not shipstamp/v1, Kubernetes {gitCommit}, Spring {git.commit.id}, \
         Prometheus buildinfo, Dockerflow {commit} or {version, revision}",
    ))
}

fn malformed(e: serde_json::Error) -> ParseError {
    ParseError {
        detail: format!("malformed JSON: {e}"),
        source: Some(Box::new(e)),
        ..ParseError::new(ParseErrorKind::MalformedJson, "")
    }
}

/// A string at `pointer`, if there is one.
fn text_at(value: &Value, pointer: &str) -> Option<String> {
    value
        .pointer(pointer)
        .and_then(Value::as_str)
        .map(str::to_owned)
}

/// An RFC 3339 time at `pointer`, if there is one.
fn time_at(value: &Value, pointer: &str) -> Option<Timestamp> {
    value
        .pointer(pointer)
        .and_then(Value::as_str)
        .and_then(|t| t.parse().ok())
}

/// `true`, `false`, `"true"` or `"false"`.
fn flag(v: &Value) -> Option<bool> {
    match v {
        Value::Bool(b) => Some(*b),
        Value::String(s) => match s.trim().to_ascii_lowercase().as_str() {
            "true" => Some(true),
            "false" => Some(false),
            _ => None,
        },
        _ => None,
    }
}

/// The commit (and dirty mark, if any) of a string field.
fn string_commit(v: &Value, field: &str) -> Result<(String, Option<bool>), ParseError> {
    let s = v.as_str().ok_or_else(|| {
        ParseError::new(
            ParseErrorKind::BadCommit,
            format!("{field} is not a string"),
        )
    })?;
    described_commit(s).ok_or_else(|| {
        ParseError::new(
            ParseErrorKind::BadCommit,
            format!("{field} {} is not a commit id", preview(s)),
        )
    })
}

/// A commit id, or `git describe --always --dirty` output (`3f9c2e1`, `3f9c2e1-dirty`,
/// `v1.4.2-3-g3f9c2e1-dirty`): the id, and `Some(true)` when marked dirty.
pub(crate) fn described_commit(s: &str) -> Option<(String, Option<bool>)> {
    let s = s.trim();
    let (described, dirty) = match s.strip_suffix("-dirty") {
        Some(rest) => (rest, Some(true)),
        None => (s, None),
    };
    let id = commit_id(described).or_else(|| {
        let (_, hex) = described.rsplit_once("-g")?;
        commit_id(hex)
    })?;
    Some((id, dirty))
}

/// 7 to 64 hex digits, lowercased.
fn commit_id(s: &str) -> Option<String> {
    ((7..=64).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_hexdigit()))
        .then(|| s.to_ascii_lowercase())
}

/// At most 40 characters of `s`, quoted, for messages.
fn preview(s: &str) -> String {
    let mut p: String = s.chars().take(40).collect();
    if p.len() < s.len() {
        p.push('…');
    }
    format!("{p:?}")
}

#[cfg(test)]
mod tests {
    use super::*;

    const SHA: &str = "3f9c2e1aa0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5";

    #[test]
    fn every_shape() {
        let ok = |body: &str| parse_served(body.as_bytes()).unwrap();
        let s = ok(&format!(
            r#"{{"schema":"shipstamp/v1","package":{{"name":"a","version":"1"}},"git":{{"commit":"{SHA}","dirty":true}},"process":{{"started_at":"2026-11-22T10:05:00Z","uptime_seconds":1,"exe_replaced":true}}}}"#
        ));
        assert_eq!(
            (s.shape, s.commit.as_str(), s.dirty, s.exe_replaced),
            (ServedShape::Shipstamp, SHA, Some(true), Some(true))
        );
        assert_eq!(s.started_at.unwrap().to_string(), "2026-11-22T10:05:00Z");
        let k = ok(&format!(
            r#"{{"gitCommit":"{SHA}","gitTreeState":"clean","gitVersion":"v1"}}"#
        ));
        assert_eq!((k.shape, k.dirty), (ServedShape::Kubernetes, Some(false)));
        assert_eq!(
            ok(&format!(
                r#"{{"commit":"{SHA}","version":"1","source":"x"}}"#
            ))
            .shape,
            ServedShape::Dockerflow
        );
        let spring = ok(r#"{"git":{"branch":"main","commit":{"id":"3F9C2E1","time":"x"}}}"#);
        assert_eq!(
            (spring.shape, spring.commit.as_str()),
            (ServedShape::SpringActuator, "3f9c2e1")
        );
        let full = ok(&format!(
            r#"{{"git":{{"commit":{{"id":{{"abbrev":"3f9c2e1","full":"{SHA}"}}}}}}}}"#
        ));
        assert_eq!(full.commit, SHA);
        assert_eq!(ok(&format!("{SHA}\n")).shape, ServedShape::PlainText);
        assert_eq!(ok("3f9c2e1").commit, "3f9c2e1");
    }

    #[test]
    fn every_dirty_signal_and_version_is_read() {
        let ok = |body: &str| parse_served(body.as_bytes()).unwrap();
        // Spring Boot Actuator, `full` git mode: the id is an object, `dirty` a string.
        let spring_full = ok(&format!(
            r#"{{"git":{{"branch":"main","commit":{{"id":{{"abbrev":"3f9c2e1","full":"{SHA}","describe":"v1-dirty"}},"time":"2026-11-22T09:58:11Z"}},"dirty":"true"}},"build":{{"artifact":"orders","name":"orders-api","version":"1.4.2","time":"2026-11-22T10:00:00Z"}}}}"#
        ));
        assert_eq!(
            (
                spring_full.shape,
                spring_full.commit.as_str(),
                spring_full.dirty
            ),
            (ServedShape::SpringActuator, SHA, Some(true))
        );
        assert_eq!(spring_full.package.as_deref(), Some("orders"));
        assert_eq!(spring_full.version.as_deref(), Some("1.4.2"));
        assert_eq!(
            spring_full.built_at.map(|t| t.to_string()).as_deref(),
            Some("2026-11-22T10:00:00Z")
        );
        // `simple` mode: the abbreviated id, `dirty` a boolean (or a string).
        for (dirty, want) in [
            ("true", Some(true)),
            ("false", Some(false)),
            ("\"false\"", Some(false)),
            ("null", None),
        ] {
            let simple = ok(&format!(
                r#"{{"git":{{"commit":{{"id":"3f9c2e1"}},"dirty":{dirty}}}}}"#
            ));
            assert_eq!(simple.dirty, want, "{dirty}");
        }
        let k8s = ok(&format!(
            r#"{{"gitCommit":"{SHA}","gitTreeState":"dirty","gitVersion":"v1.31.0","buildDate":"2026-11-22T10:00:00Z"}}"#
        ));
        assert_eq!(
            (k8s.dirty, k8s.version.as_deref()),
            (Some(true), Some("v1.31.0"))
        );
        let dockerflow = ok(&format!(
            r#"{{"source":"https://github.com/acme/orders","version":"1.4.2","commit":"{SHA}","build":"https://ci/1"}}"#
        ));
        assert_eq!(
            (dockerflow.shape, dockerflow.version.as_deref()),
            (ServedShape::Dockerflow, Some("1.4.2"))
        );
        let prometheus = ok(&format!(
            r#"{{"status":"success","data":{{"version":"3.5.0","revision":"{SHA}","branch":"HEAD","buildUser":"root@x","buildDate":"20251014-09:01:02","goVersion":"go1.24"}}}}"#
        ));
        assert_eq!(
            (
                prometheus.shape,
                prometheus.version.as_deref(),
                prometheus.commit.as_str()
            ),
            (ServedShape::PrometheusBuildInfo, Some("3.5.0"), SHA)
        );
        let go = ok(&format!(
            r#"{{"version":"0.9.1","revision":"{SHA}","modified":true}}"#
        ));
        assert_eq!(
            (go.shape, go.version.as_deref(), go.dirty),
            (ServedShape::VersionRevision, Some("0.9.1"), Some(true))
        );
        let go = ok(&format!(r#"{{"version":"0.9.1","revision":"{SHA}"}}"#));
        assert_eq!(go.dirty, None);
        // Plain text, as `git describe --always --dirty` writes it.
        let plain = ok("3F9C2E1-dirty\n");
        assert_eq!(
            (plain.commit.as_str(), plain.dirty),
            ("3f9c2e1", Some(true))
        );
        let described = ok("v1.4.2-3-g3f9c2e1");
        assert_eq!(
            (described.commit.as_str(), described.dirty),
            ("3f9c2e1", None)
        );
    }

    #[test]
    fn a_byte_order_mark_is_skipped() {
        let mut body = "\u{feff}".as_bytes().to_vec();
        body.extend_from_slice(format!(r#"{{"commit":"{SHA}"}}"#).as_bytes());
        assert_eq!(parse_served(&body).unwrap().commit, SHA);
        let mut body = "\u{feff}".as_bytes().to_vec();
        body.extend_from_slice(format!("{SHA}\r\n").as_bytes());
        assert_eq!(parse_served(&body).unwrap().shape, ServedShape::PlainText);
    }

    #[test]
    fn any_document_at_a_json_pointer() {
        let body = format!(r#"{{"data":{{"build":{{"sha":"{SHA}"}}}},"commit":"not read"}}"#);
        let served = parse_served_at(body.as_bytes(), "/data/build/sha").unwrap();
        assert_eq!(
            (served.shape, served.commit.as_str()),
            (ServedShape::JsonPointer, SHA)
        );
        for (pointer, why) in [
            ("/data/missing", "nothing at /data/missing"),
            ("/data", "/data is not a string"),
            ("/commit", "/commit \"not read\" is not a commit id"),
        ] {
            let err = parse_served_at(body.as_bytes(), pointer).unwrap_err();
            assert_eq!(err.kind(), ParseErrorKind::BadCommit);
            assert!(err.to_string().contains(why), "{pointer}: {err}");
        }
        let err = parse_served_at(b"3f9c2e1", "/sha").unwrap_err();
        assert_eq!(err.kind(), ParseErrorKind::MalformedJson);
        let err = parse_served(br#"{"build":{"sha":"3f9c2e1"}}"#).unwrap_err();
        assert_eq!(err.kind(), ParseErrorKind::UnknownShape, "{err}");
        assert!(!err.to_string().contains("--field"), "{err}");
    }

    #[test]
    fn bad_bodies_say_what_is_wrong() {
        for (body, why) in [
            (&b""[..], "empty"),
            (b"   \n", "empty"),
            (b"\xff\xfe", "not UTF-8"),
            (
                b"<!DOCTYPE html><html><body>502 Bad Gateway</body></html>",
                "HTML page",
            ),
            (b"<html>oops</html>", "HTML page"),
            (b"OK", "not a version document"),
            (b"{\"commit\":", "malformed JSON"),
            (b"{\"status\":\"UP\"}", "JSON without a commit"),
            (b"{\"commit\":42}", "not a string"),
            (b"{\"commit\":\"main\"}", "not a commit id"),
            (b"{\"gitCommit\":\"\"}", "not a commit id"),
            (
                b"{\"schema\":\"shipstamp/v2\",\"package\":{\"name\":\"a\",\"version\":\"1\"}}",
                "unsupported schema",
            ),
            (
                b"{\"schema\":\"shipstamp/v1\",\"package\":{\"name\":\"a\",\"version\":\"1\"}}",
                "no git.commit",
            ),
            (b"[1,2,3]", "not a version document"),
        ] {
            let err = parse_served(body).unwrap_err().to_string();
            assert!(err.contains(why), "{body:?}: {err}");
        }
    }

    mod fuzz {
        use super::*;
        use proptest::prelude::*;

        const VALID: &str = r#"{"schema":"shipstamp/v1","package":{"name":"a","version":"1"},"git":{"commit":"3f9c2e1aa0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5","dirty":false},"process":{"started_at":"2026-11-22T10:05:00Z","uptime_seconds":1,"exe_replaced":false}}"#;

        /// JSON trees that use the keys the parser looks for, nested anywhere.
        fn json_value() -> impl Strategy<Value = Value> {
            let leaf = prop_oneof![
                Just(Value::Null),
                any::<bool>().prop_map(Value::Bool),
                any::<i64>().prop_map(Value::from),
                "[0-9a-fA-F]{0,70}".prop_map(Value::String),
                ".{0,20}".prop_map(Value::String),
                Just(Value::String("shipstamp/v1".into())),
                Just(Value::String("2026-11-22T10:05:00Z".into())),
            ];
            let key = prop_oneof![
                Just("schema"),
                Just("package"),
                Just("name"),
                Just("version"),
                Just("git"),
                Just("commit"),
                Just("id"),
                Just("full"),
                Just("abbrev"),
                Just("gitCommit"),
                Just("gitTreeState"),
                Just("dirty"),
                Just("process"),
                Just("started_at"),
                Just("exe_replaced"),
                Just("short"),
                Just("x"),
            ];
            leaf.prop_recursive(4, 48, 6, move |inner| {
                prop_oneof![
                    prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
                    prop::collection::vec((key.clone(), inner), 0..6).prop_map(|kv| {
                        Value::Object(kv.into_iter().map(|(k, v)| (k.to_owned(), v)).collect())
                    }),
                ]
            })
        }

        fn check_result(r: Result<Served, ParseError>) {
            match r {
                Ok(s) => {
                    assert!((7..=64).contains(&s.commit.len()), "{s:?}");
                    assert!(
                        s.commit
                            .bytes()
                            .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()),
                        "{s:?}"
                    );
                }
                Err(why) => {
                    let why = why.to_string();
                    assert!(!why.is_empty() && !why.contains('\n'), "{why:?}");
                }
            }
        }

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(2000))]

            #[test]
            fn any_bytes(body in prop::collection::vec(any::<u8>(), 0..512)) {
                check_result(parse_served(&body));
            }

            #[test]
            fn mutated_valid_document(at in 0..VALID.len(), byte in any::<u8>(), cut in 0..=VALID.len()) {
                let mut body = VALID.as_bytes()[..cut].to_vec();
                if at < body.len() {
                    body[at] = byte;
                }
                check_result(parse_served(&body));
            }

            #[test]
            fn generated_json(value in json_value()) {
                check_result(parse_served(value.to_string().as_bytes()));
            }
        }
    }
}
