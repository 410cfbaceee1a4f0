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
    /// Not a document: the `org.opencontainers.image.revision` label of the image a container
    /// runs.
    ImageLabel,
}

impl ServedShape {
    /// The shape as written in output: `shipstamp`, `kubernetes`, `dockerflow`,
    /// `spring-actuator`, `prometheus-buildinfo`, `version-revision`, `json-pointer`,
    /// `plain-text`, `prometheus` (a series' labels), `binary`, `process` (an embedded stamp),
    /// `image-label` (a container image's revision label).
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
            ServedShape::ImageLabel => "image-label",
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
    /// The repository-relative paths the build was scoped to, when the document says
    /// (`git.paths` of a package-scoped `shipstamp/v1` build).
    pub paths: Option<Vec<String>>,
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
            paths: None,
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
            paths: stamp.git.paths.clone(),
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
mod tests;
