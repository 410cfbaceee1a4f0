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
    /// Spring Boot Actuator `{git: {commit: {id}}}`.
    SpringActuator,
    /// A body that is just a commit id.
    PlainText,
}

impl ServedShape {
    /// The shape as written in output: `shipstamp`, `kubernetes`, `dockerflow`,
    /// `spring-actuator`, `plain-text`.
    pub fn as_str(self) -> &'static str {
        match self {
            ServedShape::Shipstamp => "shipstamp",
            ServedShape::Kubernetes => "kubernetes",
            ServedShape::Dockerflow => "dockerflow",
            ServedShape::SpringActuator => "spring-actuator",
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
    /// Package name and version, when the shape says.
    pub package: Option<(String, String)>,
    /// When the served build was made, when the shape says.
    pub built_at: Option<Timestamp>,
    /// When the serving process started, when the shape says.
    pub started_at: Option<Timestamp>,
    /// Whether the serving process's executable was replaced on disk since it started.
    pub exe_replaced: Option<bool>,
}

impl Served {
    fn commit_only(shape: ServedShape, commit: String) -> Served {
        Served {
            shape,
            commit,
            dirty: None,
            package: None,
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
    /// A known shape whose commit field is missing, `null`, or not a commit id.
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

/// Reads a version body.
pub fn parse_served(body: &[u8]) -> Result<Served, ParseError> {
    use ParseErrorKind as K;
    let text = std::str::from_utf8(body)
        .map_err(|_| ParseError::new(K::NotText, "the body is not UTF-8 text"))?;
    let trimmed = text.trim();
    if trimmed.is_empty() {
        return Err(ParseError::new(K::Empty, "the body is empty"));
    }
    if !trimmed.starts_with('{') {
        if let Some(commit) = commit_id(trimmed) {
            return Ok(Served::commit_only(ServedShape::PlainText, commit));
        }
        if trimmed.starts_with('<') {
            return Err(ParseError::new(
                K::Html,
                "an HTML page, not a version document",
            ));
        }
        return Err(ParseError::new(
            K::NotAVersionDocument,
            format!(
                "not a version document (a JSON object or a commit id): {}",
                preview(trimmed)
            ),
        ));
    }
    let value: Value = serde_json::from_str(trimmed).map_err(|e| ParseError {
        detail: format!("malformed JSON: {e}"),
        source: Some(Box::new(e)),
        ..ParseError::new(K::MalformedJson, "")
    })?;
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
            package: Some((stamp.package.name.clone(), stamp.package.version.clone())),
            built_at: stamp.build.time,
            started_at: process.as_ref().and_then(|p| p.started_at),
            exe_replaced: process.and_then(|p| p.exe_replaced),
        });
    }
    if let Some(c) = value.get("gitCommit") {
        let commit = string_commit(c, "gitCommit")?;
        let dirty = match value.get("gitTreeState").and_then(Value::as_str) {
            Some("dirty") => Some(true),
            Some("clean") => Some(false),
            _ => None,
        };
        // Kubernetes writes `buildDate` as RFC 3339 UTC, as shipstamp does.
        let built_at = value
            .get("buildDate")
            .and_then(Value::as_str)
            .and_then(|d| d.parse().ok());
        return Ok(Served {
            dirty,
            built_at,
            ..Served::commit_only(ServedShape::Kubernetes, commit)
        });
    }
    if let Some(id) = value.pointer("/git/commit/id") {
        // Spring's "simple" mode serves the abbreviated id; "full" mode an object.
        let id = match id {
            Value::Object(o) => o
                .get("full")
                .or_else(|| o.get("abbrev"))
                .unwrap_or(&Value::Null),
            other => other,
        };
        return Ok(Served::commit_only(
            ServedShape::SpringActuator,
            string_commit(id, "git.commit.id")?,
        ));
    }
    if let Some(c) = value.get("commit") {
        return Ok(Served::commit_only(
            ServedShape::Dockerflow,
            string_commit(c, "commit")?,
        ));
    }
    Err(ParseError::new(
        K::UnknownShape,
        "JSON without a commit: not shipstamp/v1, Kubernetes {gitCommit}, Dockerflow {commit} or Spring {git.commit.id}",
    ))
}

fn string_commit(v: &Value, field: &str) -> Result<String, ParseError> {
    let s = v.as_str().ok_or_else(|| {
        ParseError::new(
            ParseErrorKind::BadCommit,
            format!("{field} is not a string"),
        )
    })?;
    commit_id(s).ok_or_else(|| {
        ParseError::new(
            ParseErrorKind::BadCommit,
            format!("{field} {} is not a commit id", preview(s)),
        )
    })
}

/// 7 to 64 hex digits, lowercased.
fn commit_id(s: &str) -> Option<String> {
    let s = s.trim();
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
