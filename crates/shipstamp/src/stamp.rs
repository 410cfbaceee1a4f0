use std::fmt;
use std::io::Write as _;
use std::sync::OnceLock;

use serde::ser::SerializeStruct;
use serde::{Deserialize, Serialize, Serializer};

use crate::error::{Error, Repr};
use shipstamp_format::{Document, is_repository_relative};

use crate::{Timestamp, process};

/// The `schema` value of documents this crate writes and reads.
pub const SCHEMA: &str = "shipstamp/v1";

/// What a build stamp says about one build, plus the process that runs it.
///
/// Get the one for your own binary with [`stamp!()`](crate::stamp!); read someone else's from
/// `/version` JSON with [`Stamp::from_json`]. Serializes to the `shipstamp/v1` document:
///
/// ```json
/// {"schema":"shipstamp/v1",
///  "package":{"name":"orders-api","version":"1.4.2","repository":"https://github.com/acme/orders"},
///  "git":{"commit":"3f9c2e1…","short":"3f9c2e1","dirty":false,"branch":"main",
///         "describe":"v1.4.2-3-g3f9c2e1","commit_time":"2026-11-22T09:58:11Z","source":"git"},
///  "build":{"time":"2026-11-22T10:00:00Z","profile":"release",
///           "target":"x86_64-unknown-linux-gnu","rustc":"1.95.0"},
///  "process":{"started_at":"2026-11-22T10:05:00Z","uptime_seconds":3600,"exe_replaced":false}}
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(try_from = "RawStamp")]
#[non_exhaustive]
pub struct Stamp {
    /// The package that was built.
    pub package: Package,
    /// Where the source came from.
    pub git: Git,
    /// How it was built.
    pub build: Build,
    process: ProcessFacts,
    /// The document up to (not including) its `process` object, serialized once.
    #[serde(skip)]
    head: JsonHead,
}

/// The package's name and version, from its `Cargo.toml`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Package {
    /// Package name.
    pub name: String,
    /// Package version.
    pub version: String,
    /// The `repository` URL from `Cargo.toml`, without credentials.
    #[serde(default)]
    pub repository: Option<String>,
}

/// The source the build was made from. Every value may be unknown (`None`, `null` in JSON).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Git {
    /// Full commit id: 40 hex digits, or 64 in SHA-256 repositories.
    pub commit: Option<String>,
    /// Abbreviated commit id.
    pub short: Option<String>,
    /// Whether the build was made from uncommitted changes.
    pub dirty: Option<bool>,
    /// Branch checked out at build time; `None` on a detached HEAD.
    pub branch: Option<String>,
    /// `git describe --tags`; `None` when no tag is reachable.
    pub describe: Option<String>,
    /// Committer time of the commit.
    pub commit_time: Option<Timestamp>,
    /// Where these facts came from.
    pub source: Option<GitSource>,
    /// In a package-scoped build, the repository-relative paths the build was made from (its
    /// dirty flag and freshness consider them only); `None` for a whole-repository build.
    /// `shipstamp check` scopes its comparison to them when not told otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub paths: Option<Vec<String>>,
}

/// Where a stamp's git facts came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum GitSource {
    /// The repository the package was built in (`"git"`).
    Git,
    /// An environment variable: `SHIPSTAMP_GIT_COMMIT` or a CI system's (`"env"`).
    Env,
    /// `.cargo_vcs_info.json`, written by `cargo package` (`"cargo-vcs-info"`).
    CargoVcsInfo,
    /// A vergen build script's `VERGEN_*` variables, through
    /// [`stamp_from_vergen!()`](crate::stamp_from_vergen!) (`"vergen"`).
    Vergen,
}

impl GitSource {
    /// The source as written in `git.source`: `git`, `env`, `cargo-vcs-info`, `vergen`.
    pub fn as_str(self) -> &'static str {
        match self {
            GitSource::Git => "git",
            GitSource::Env => "env",
            GitSource::CargoVcsInfo => "cargo-vcs-info",
            GitSource::Vergen => "vergen",
        }
    }
}

impl fmt::Display for GitSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How the binary was built.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Build {
    /// When the stamp was taken; `SOURCE_DATE_EPOCH` when set (reproducible builds).
    pub time: Option<Timestamp>,
    /// Cargo profile: `debug` or `release` (custom profiles report the one they inherit).
    pub profile: Option<String>,
    /// Target triple.
    pub target: Option<String>,
    /// rustc version, e.g. `1.95.0`.
    pub rustc: Option<String>,
}

/// The process that serves a stamp.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Process {
    /// When the process started (Linux: from `/proc`); `None` where the platform does not tell.
    pub started_at: Option<Timestamp>,
    /// Seconds since `started_at`.
    pub uptime_seconds: Option<u64>,
    /// Whether the executable file has since been replaced or deleted on disk, i.e. a restart
    /// is pending; `None` where the platform cannot tell.
    pub exe_replaced: Option<bool>,
}

/// A live stamp asks the running process; a parsed one reports what it was sent.
#[derive(Debug, Clone, PartialEq, Eq)]
enum ProcessFacts {
    Live,
    Recorded(Option<Process>),
}

impl Stamp {
    /// Parses a `shipstamp/v1` document, as served at `/version`. Unknown fields are ignored;
    /// a missing or different `schema`, a malformed commit id or time is an error.
    pub fn from_json(json: &str) -> Result<Stamp, Error> {
        Stamp::from_slice(json.as_bytes())
    }

    /// [`Stamp::from_json`] from bytes.
    pub fn from_slice(json: &[u8]) -> Result<Stamp, Error> {
        serde_json::from_slice(json).map_err(|e| Error::new(Repr::Json(e)))
    }

    /// The stamp of the running process, from its embedded record.
    pub(crate) fn live(json: &[u8]) -> Result<Stamp, Error> {
        let mut stamp = Stamp::from_slice(json)?;
        stamp.process = ProcessFacts::Live;
        Ok(stamp)
    }

    /// A live stamp with nothing known but the package.
    pub(crate) fn unknown_live(name: &str, version: &str) -> Stamp {
        Stamp {
            package: Package {
                name: name.into(),
                version: version.into(),
                repository: None,
            },
            git: Git::default(),
            build: Build::default(),
            process: ProcessFacts::Live,
            head: JsonHead::default(),
        }
    }

    /// The process facts: asked of the running process for a stamp from
    /// [`stamp!()`](crate::stamp!), as sent for a parsed one (`None` if it sent none).
    pub fn process(&self) -> Option<Process> {
        match &self.process {
            ProcessFacts::Live => Some(process::current()),
            ProcessFacts::Recorded(p) => p.clone(),
        }
    }

    /// The `shipstamp/v1` document, compact.
    pub fn to_json(&self) -> String {
        let mut buf = Vec::with_capacity(self.head().len() + 96);
        self.write_json(&mut buf);
        String::from_utf8(buf).unwrap_or_default()
    }

    /// Appends the `shipstamp/v1` document to `buf`. Everything but the `process` object is
    /// serialized once and copied; for a [`stamp!()`](crate::stamp!) stamp, the process facts are
    /// formatted in place without allocating. This is the `/version` hot path.
    pub fn write_json(&self, buf: &mut Vec<u8>) {
        buf.extend_from_slice(self.head().as_bytes());
        buf.extend_from_slice(b",\"process\":");
        match self.process() {
            None => buf.extend_from_slice(b"null"),
            Some(p) => {
                buf.extend_from_slice(b"{\"started_at\":");
                match p.started_at {
                    // Writing into a Vec cannot fail.
                    Some(t) => drop(write!(buf, "\"{t}\"")),
                    None => buf.extend_from_slice(b"null"),
                }
                buf.extend_from_slice(b",\"uptime_seconds\":");
                match p.uptime_seconds {
                    Some(u) => drop(write!(buf, "{u}")),
                    None => buf.extend_from_slice(b"null"),
                }
                buf.extend_from_slice(b",\"exe_replaced\":");
                buf.extend_from_slice(match p.exe_replaced {
                    Some(true) => b"true",
                    Some(false) => b"false",
                    None => b"null",
                });
                buf.push(b'}');
            }
        }
        buf.push(b'}');
    }

    fn head(&self) -> &str {
        self.head.0.get_or_init(|| {
            let paths: Option<Vec<&str>> = self
                .git
                .paths
                .as_ref()
                .map(|p| p.iter().map(String::as_str).collect());
            self.document(paths.as_deref())
                .head_string()
                .into_boxed_str()
        })
    }

    /// What the stamp says, for the one writer of `shipstamp/v1`.
    fn document<'a>(&'a self, paths: Option<&'a [&'a str]>) -> Document<'a> {
        let (package, git, build) = (&self.package, &self.git, &self.build);
        Document {
            git_paths: paths,
            package_repository: package.repository.as_deref(),
            git_commit: git.commit.as_deref(),
            git_short: git.short.as_deref(),
            git_dirty: git.dirty,
            git_branch: git.branch.as_deref(),
            git_describe: git.describe.as_deref(),
            git_commit_time: git.commit_time.map(Timestamp::unix_seconds),
            git_source: git.source.map(GitSource::as_str),
            build_time: build.time.map(Timestamp::unix_seconds),
            build_profile: build.profile.as_deref(),
            build_target: build.target.as_deref(),
            build_rustc: build.rustc.as_deref(),
            ..Document::new(&package.name, &package.version)
        }
    }
}

impl Serialize for Stamp {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut st = s.serialize_struct("Stamp", 5)?;
        st.serialize_field("schema", SCHEMA)?;
        st.serialize_field("package", &self.package)?;
        st.serialize_field("git", &self.git)?;
        st.serialize_field("build", &self.build)?;
        st.serialize_field("process", &self.process())?;
        st.end()
    }
}

/// A cache that takes no part in equality, cloning or debugging.
#[derive(Default)]
struct JsonHead(OnceLock<Box<str>>);

impl Clone for JsonHead {
    fn clone(&self) -> Self {
        JsonHead::default()
    }
}

impl PartialEq for JsonHead {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

impl Eq for JsonHead {}

impl fmt::Debug for JsonHead {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("..")
    }
}

/// The document as sent; checked in `TryFrom`.
#[derive(Deserialize)]
struct RawStamp {
    schema: Option<String>,
    package: Package,
    #[serde(default)]
    git: RawGit,
    #[serde(default)]
    build: Build,
    #[serde(default)]
    process: Option<Process>,
}

#[derive(Deserialize, Default)]
struct RawGit {
    #[serde(default)]
    commit: Option<String>,
    #[serde(default)]
    short: Option<String>,
    #[serde(default)]
    dirty: Option<bool>,
    #[serde(default)]
    branch: Option<String>,
    #[serde(default)]
    describe: Option<String>,
    #[serde(default)]
    commit_time: Option<Timestamp>,
    /// A source this version does not know reads as unknown.
    #[serde(default)]
    source: Option<serde_json::Value>,
    #[serde(default)]
    paths: Option<Vec<String>>,
}

impl TryFrom<RawStamp> for Stamp {
    type Error = String;

    fn try_from(raw: RawStamp) -> Result<Self, Self::Error> {
        match raw.schema.as_deref() {
            Some(SCHEMA) => {}
            Some(other) => {
                return Err(format!(
                    "unsupported schema {other:?} (expected {SCHEMA:?})"
                ));
            }
            None => return Err(format!("missing \"schema\" (expected {SCHEMA:?})")),
        }
        let commit = match raw.git.commit {
            Some(c) if is_hex(&c) && (c.len() == 40 || c.len() == 64) => {
                Some(c.to_ascii_lowercase())
            }
            Some(c) => {
                return Err(format!(
                    "git.commit {c:?} is not a full commit id (40 or 64 hex digits)"
                ));
            }
            None => None,
        };
        let short = match raw.git.short {
            Some(s) if is_hex(&s) && (4..=64).contains(&s.len()) => Some(s.to_ascii_lowercase()),
            Some(s) => return Err(format!("git.short {s:?} is not an abbreviated commit id")),
            None => None,
        };
        let source = raw
            .git
            .source
            .and_then(|v| serde_json::from_value::<GitSource>(v).ok());
        if let Some(bad) = raw
            .git
            .paths
            .iter()
            .flatten()
            .find(|p| !is_repository_relative(p))
        {
            return Err(format!(
                "git.paths {bad:?} is not a path relative to the repository's top"
            ));
        }
        // Only what may be stamped is kept: the one writer writes nothing else.
        let package = Package {
            repository: raw
                .package
                .repository
                .as_deref()
                .and_then(shipstamp_format::stampable_url),
            ..raw.package
        };
        Ok(Stamp {
            package,
            git: Git {
                commit,
                short,
                dirty: raw.git.dirty,
                branch: raw.git.branch,
                describe: raw.git.describe,
                commit_time: raw.git.commit_time,
                source,
                paths: raw.git.paths,
            },
            build: raw.build,
            process: ProcessFacts::Recorded(raw.process),
            head: JsonHead::default(),
        })
    }
}

fn is_hex(s: &str) -> bool {
    s.bytes().all(|b| b.is_ascii_hexdigit())
}
