//! What a target is, parsed once: from the command line, a targets file, a fleet file or a
//! library user's code, into one typed [`Locator`].

use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

/// Where a target is, and so how what it runs is learned.
///
/// Parsed from the forms the command line takes:
///
/// ```
/// use shipstamp_check::Locator;
///
/// assert_eq!("pid:4242".parse::<Locator>()?, Locator::Pid(4242));
/// assert_eq!("./target/release/orders".parse::<Locator>()?, Locator::File("./target/release/orders".into()));
/// assert!(matches!("https://orders-1.internal/version".parse()?, Locator::Url(_)));
///
/// // A relative path without `./`, a URL without a scheme, a pid that is not a number:
/// for bad in ["target/release/orders", "localhost:8080/version", "pid:abc"] {
///     assert!(bad.parse::<Locator>().is_err(), "{bad}");
/// }
/// # Ok::<(), shipstamp_check::TargetError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Locator {
    /// A version endpoint: an `http://` or `https://` URL.
    Url(String),
    /// A binary on disk, judged by the stamp embedded in it (`file:PATH`, or a path that starts
    /// with `/`, `./` or `../`).
    File(PathBuf),
    /// A running process, by the stamp of the image it runs (`pid:N`).
    Pid(u32),
    /// The process whose id a pidfile holds, read again every round (`pidfile:PATH`).
    PidFile(PathBuf),
    /// A container, by name or id, read through its engine's API (`container:NAME`).
    Container(String),
}

impl Locator {
    /// A version endpoint's URL: `http://` or `https://` with a host.
    pub fn url(url: impl Into<String>) -> Result<Locator, TargetError> {
        let url = url.into();
        if is_http_url(&url) {
            Ok(Locator::Url(url))
        } else {
            Err(TargetError::new(TargetErrorKind::NotAUrl, &url))
        }
    }
}

impl FromStr for Locator {
    type Err = TargetError;

    fn from_str(s: &str) -> Result<Locator, TargetError> {
        let nonempty = |p: &str, kind| {
            if p.is_empty() {
                Err(TargetError::new(kind, s))
            } else {
                Ok(PathBuf::from(p))
            }
        };
        if let Some(path) = s.strip_prefix("file:") {
            return nonempty(path, TargetErrorKind::EmptyPath).map(Locator::File);
        }
        if let Some(path) = s.strip_prefix("pidfile:") {
            return nonempty(path, TargetErrorKind::EmptyPath).map(Locator::PidFile);
        }
        if let Some(name) = s.strip_prefix("container:") {
            return if crate::engine::is_container_name(name) {
                Ok(Locator::Container(name.to_owned()))
            } else {
                Err(TargetError::new(TargetErrorKind::BadContainer, s))
            };
        }
        if let Some(pid) = s.strip_prefix("pid:") {
            return match pid.parse::<u32>() {
                Ok(pid) if pid > 0 => Ok(Locator::Pid(pid)),
                _ => Err(TargetError::new(TargetErrorKind::BadPid, s)),
            };
        }
        if s.starts_with('/') || s.starts_with("./") || s.starts_with("../") {
            return Ok(Locator::File(PathBuf::from(s)));
        }
        if s.contains("://") {
            return Locator::url(s);
        }
        Err(TargetError::new(TargetErrorKind::Unrecognized, s))
    }
}

impl fmt::Display for Locator {
    /// As it is written on the command line: the URL, `pid:N`, `pidfile:PATH`, and a binary's
    /// path (with `file:` when it does not start with `/`, `./` or `../`).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Locator::Url(url) => f.write_str(url),
            Locator::File(path) if is_plain_path(path) => write!(f, "{}", path.display()),
            Locator::File(path) => write!(f, "file:{}", path.display()),
            Locator::Pid(pid) => write!(f, "pid:{pid}"),
            Locator::PidFile(path) => write!(f, "pidfile:{}", path.display()),
            Locator::Container(name) => write!(f, "container:{name}"),
        }
    }
}

fn is_plain_path(path: &Path) -> bool {
    let text = path.to_string_lossy();
    text.starts_with('/') || text.starts_with("./") || text.starts_with("../")
}

fn is_http_url(s: &str) -> bool {
    let rest = s
        .strip_prefix("http://")
        .or_else(|| s.strip_prefix("https://"));
    rest.is_some_and(|r| {
        let authority = r.split(['/', '?', '#']).next().unwrap_or("");
        let host = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
        !host.is_empty() && !host.starts_with(':') && !r.contains(char::is_whitespace)
    })
}

/// A target to check: where it is, and how to show and read it.
///
/// ```
/// use shipstamp_check::{Locator, Target};
///
/// let web = Target::named("https://orders-1.internal/version".parse()?, "orders-1");
/// let worker = Target::new(Locator::PidFile("/run/orders-worker.pid".into()));
/// let legacy: Target = "https://legacy.internal/info".parse::<Target>()?.field("/build/sha");
/// # Ok::<(), shipstamp_check::TargetError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct Target {
    /// Where it is.
    pub locator: Locator,
    /// A name to show instead of the locator.
    pub name: Option<String>,
    /// A JSON pointer to the commit, for a document in none of the known shapes
    /// ([`parse_served_at`](crate::parse_served_at)).
    pub field: Option<String>,
    /// For a container: the engine it runs on, when not the check's ([`Options::engine`]).
    ///
    /// [`Options::engine`]: crate::Options::engine
    pub engine: Option<crate::Engine>,
}

impl Target {
    /// A target with no name.
    pub fn new(locator: Locator) -> Target {
        Target {
            locator,
            name: None,
            field: None,
            engine: None,
        }
    }

    /// A target with a display name.
    pub fn named(locator: Locator, name: impl Into<String>) -> Target {
        Target {
            name: Some(name.into()),
            ..Target::new(locator)
        }
    }

    /// Reads the commit at this JSON pointer (e.g. `/data/revision`) instead of recognizing
    /// the document's shape.
    pub fn field(mut self, pointer: impl Into<String>) -> Target {
        self.field = Some(pointer.into());
        self
    }

    /// Reads a container target through this engine.
    pub fn engine(mut self, engine: crate::Engine) -> Target {
        self.engine = Some(engine);
        self
    }
}

impl FromStr for Target {
    type Err = TargetError;

    /// A target without a name, from its [`Locator`]'s text.
    fn from_str(s: &str) -> Result<Target, TargetError> {
        s.parse().map(Target::new)
    }
}

impl From<Locator> for Target {
    fn from(locator: Locator) -> Target {
        Target::new(locator)
    }
}

/// What is wrong with a [`TargetError`]'s text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum TargetErrorKind {
    /// A URL that is not `http://` or `https://` with a host.
    NotAUrl,
    /// `pid:` followed by something that is not a process id (a number from 1).
    BadPid,
    /// `file:` or `pidfile:` without a path.
    EmptyPath,
    /// `container:` followed by something that is not a container's name or id.
    BadContainer,
    /// None of the forms: a relative path without `./`, a host without a scheme.
    Unrecognized,
}

/// Text that does not name a target. The message shows the text without credentials.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TargetError {
    kind: TargetErrorKind,
    shown: String,
}

impl TargetError {
    fn new(kind: TargetErrorKind, text: &str) -> TargetError {
        TargetError {
            kind,
            shown: shipstamp_format::shown_url(text).to_string(),
        }
    }

    /// What is wrong.
    pub fn kind(&self) -> TargetErrorKind {
        self.kind
    }
}

impl fmt::Display for TargetError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let shown = &self.shown;
        match self.kind {
            TargetErrorKind::NotAUrl => {
                write!(f, "{shown:?} is not an http:// or https:// URL with a host")
            }
            TargetErrorKind::BadPid => write!(f, "{shown:?}: a process id is a number from 1"),
            TargetErrorKind::EmptyPath => write!(f, "{shown:?} names no path"),
            TargetErrorKind::BadContainer => write!(
                f,
                "{shown:?}: a container's name or id is letters, digits, _, . and -"
            ),
            TargetErrorKind::Unrecognized => write!(
                f,
                "{shown:?} is not a target: an http:// or https:// URL, file:PATH (or a path \
                 starting with /, ./ or ../), pid:N, pidfile:PATH or container:NAME"
            ),
        }
    }
}

impl std::error::Error for TargetError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_form_parses_and_prints_back() {
        for (text, locator) in [
            (
                "https://a.internal/version",
                Locator::Url("https://a.internal/version".into()),
            ),
            (
                "http://127.0.0.1:3000",
                Locator::Url("http://127.0.0.1:3000".into()),
            ),
            (
                "/usr/local/bin/orders",
                Locator::File("/usr/local/bin/orders".into()),
            ),
            (
                "./target/release/orders",
                Locator::File("./target/release/orders".into()),
            ),
            ("../orders", Locator::File("../orders".into())),
            ("file:orders", Locator::File("orders".into())),
            ("pid:42", Locator::Pid(42)),
            (
                "pidfile:/run/orders.pid",
                Locator::PidFile("/run/orders.pid".into()),
            ),
            (
                "container:shop-orders-1",
                Locator::Container("shop-orders-1".into()),
            ),
        ] {
            assert_eq!(text.parse::<Locator>().unwrap(), locator, "{text}");
            assert_eq!(locator.to_string(), text);
        }
        // The same binary however it is written.
        assert_eq!(
            "file:/usr/bin/x".parse::<Locator>().unwrap().to_string(),
            "/usr/bin/x"
        );
    }

    #[test]
    fn what_is_not_a_target_says_so() {
        for (text, kind) in [
            ("target/release/svc", TargetErrorKind::Unrecognized),
            ("localhost:8080/version", TargetErrorKind::Unrecognized),
            ("orders", TargetErrorKind::Unrecognized),
            ("", TargetErrorKind::Unrecognized),
            ("pid:abc", TargetErrorKind::BadPid),
            ("pid:0", TargetErrorKind::BadPid),
            ("pid:-1", TargetErrorKind::BadPid),
            ("pid:", TargetErrorKind::BadPid),
            ("file:", TargetErrorKind::EmptyPath),
            ("pidfile:", TargetErrorKind::EmptyPath),
            ("container:", TargetErrorKind::BadContainer),
            ("container:../../images", TargetErrorKind::BadContainer),
            ("container:a/json?x", TargetErrorKind::BadContainer),
            ("ftp://host/v", TargetErrorKind::NotAUrl),
            ("http://", TargetErrorKind::NotAUrl),
            ("http:///path", TargetErrorKind::NotAUrl),
            ("http://:80/x", TargetErrorKind::NotAUrl),
            ("http://a b/", TargetErrorKind::NotAUrl),
        ] {
            let err = text.parse::<Locator>().unwrap_err();
            assert_eq!(err.kind(), kind, "{text:?}: {err}");
        }
    }

    #[test]
    fn errors_do_not_echo_secrets() {
        let err = "ftp://user:pw@host/v?token=t0k"
            .parse::<Locator>()
            .unwrap_err();
        let message = err.to_string();
        assert!(
            !message.contains("pw") && !message.contains("t0k"),
            "{message}"
        );
    }
}
