//! Containers, read through the Docker Engine API over its Unix socket (Docker's, or podman's
//! Docker-compatible service): what a container runs, judged by the best evidence there is,
//! and whether the image its reference names has moved on since it was created.

mod client;

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use serde_json::Value;
use shipstamp::Timestamp;

use crate::probe::observe_process;
use crate::process::ProcessFacts;
use crate::reason::{Reason, ReasonKind};
use crate::report::{Failure, Observation, Status};
use crate::served::{Served, ServedShape};
use crate::source::{Context, Source, SourceError, SourceErrorKind};
use crate::target::{Locator, Target};

/// The label an image carries its commit in (OCI image annotations, as labels).
pub const REVISION_LABEL: &str = "org.opencontainers.image.revision";

/// Where engines listen when `DOCKER_HOST` says nothing: Docker's, then rootful podman's.
const DEFAULT_SOCKETS: [&str; 2] = ["/var/run/docker.sock", "/run/podman/podman.sock"];

/// The oldest API version asked for: Docker 1.12 (2016), podman 2.
const MIN_API: (u32, u32) = (1, 24);

/// A container engine: where its Docker-compatible API listens.
///
/// ```
/// use shipstamp_check::Engine;
///
/// let engine: Engine = "unix:///run/podman/podman.sock".parse()?;
/// assert_eq!(engine.socket(), std::path::Path::new("/run/podman/podman.sock"));
/// assert!("tcp://10.0.0.1:2375".parse::<Engine>().is_err());
/// # Ok::<(), shipstamp_check::EngineError>(())
/// ```
#[derive(Debug, Clone)]
pub struct Engine {
    socket: PathBuf,
    /// Chosen by default (no `DOCKER_HOST`, nothing given): errors then say how to choose.
    defaulted: bool,
    /// Whether its API version was found new enough: asked once, not for every container of
    /// every round (shared by the clones a source hands its targets).
    version_checked: Arc<AtomicBool>,
}

impl PartialEq for Engine {
    fn eq(&self, other: &Engine) -> bool {
        (&self.socket, self.defaulted) == (&other.socket, other.defaulted)
    }
}

impl Eq for Engine {}

impl std::hash::Hash for Engine {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        (&self.socket, self.defaulted).hash(state);
    }
}

impl Engine {
    /// The engine listening on the Unix socket at `path`.
    pub fn unix(path: impl Into<PathBuf>) -> Engine {
        Engine {
            socket: path.into(),
            defaulted: false,
            version_checked: Arc::default(),
        }
    }

    /// The engine this host's tools use: `DOCKER_HOST` (`unix://` only), else the first of
    /// `/var/run/docker.sock` and `/run/podman/podman.sock` that exists.
    pub fn from_env() -> Result<Engine, EngineError> {
        if let Some(host) = std::env::var_os("DOCKER_HOST").filter(|h| !h.is_empty()) {
            return host.to_string_lossy().parse();
        }
        let socket = DEFAULT_SOCKETS
            .iter()
            .find(|s| Path::new(s).exists())
            .unwrap_or(&DEFAULT_SOCKETS[0]);
        Ok(Engine {
            socket: PathBuf::from(socket),
            defaulted: true,
            version_checked: Arc::default(),
        })
    }

    /// The socket's path.
    pub fn socket(&self) -> &Path {
        &self.socket
    }

    fn error(&self, kind: EngineErrorKind) -> EngineError {
        EngineError {
            kind,
            socket: self.socket.clone(),
            defaulted: self.defaulted,
            source: None,
        }
    }

    /// `GET path`, its status and JSON body; a body that is not JSON is the engine's error.
    fn get(&self, path: &str, timeout: Duration) -> Result<(u16, Value), EngineError> {
        let answer = client::get(&self.socket, path, timeout).map_err(|e| match e {
            client::ClientError::Connect(e) => {
                let kind = match e.kind() {
                    std::io::ErrorKind::NotFound | std::io::ErrorKind::ConnectionRefused => {
                        EngineErrorKind::NoEngine
                    }
                    std::io::ErrorKind::PermissionDenied => EngineErrorKind::NotPermitted,
                    _ => EngineErrorKind::Failed(format!("cannot be connected to: {e}")),
                };
                self.error(kind).caused_by(e)
            }
            client::ClientError::TimedOut => self.error(EngineErrorKind::TimedOut(timeout)),
            client::ClientError::Io(e) => self
                .error(EngineErrorKind::Failed(format!(
                    "broke off the exchange: {e}"
                )))
                .caused_by(e),
            client::ClientError::Malformed(why) => self.error(EngineErrorKind::BadAnswer(why)),
        })?;
        let value: Value = serde_json::from_slice(&answer.body).map_err(|e| {
            self.error(EngineErrorKind::BadAnswer(format!(
                "a {} answer that is not JSON ({e})",
                answer.status
            )))
        })?;
        Ok((answer.status, value))
    }

    /// Makes sure the engine speaks an API version new enough (asked until it answers so).
    fn check_version(&self, timeout: Duration) -> Result<(), EngineError> {
        if self.version_checked.load(Ordering::Relaxed) {
            return Ok(());
        }
        let (status, version) = self.get("/version", timeout)?;
        let api = version["ApiVersion"].as_str().unwrap_or("");
        if status != 200 || api.is_empty() {
            return Err(self.error(EngineErrorKind::BadAnswer(format!(
                "GET /version answered {status} without an ApiVersion"
            ))));
        }
        let parsed = api
            .split_once('.')
            .and_then(|(major, minor)| Some((major.parse().ok()?, minor.parse().ok()?)));
        match parsed {
            Some(v) if v >= MIN_API => {
                self.version_checked.store(true, Ordering::Relaxed);
                Ok(())
            }
            _ => Err(self.error(EngineErrorKind::TooOld(api.chars().take(20).collect()))),
        }
    }

    /// A container's `inspect` document.
    fn container(&self, name: &str, timeout: Duration) -> Result<Value, EngineError> {
        let (status, value) = self.get(&format!("/containers/{name}/json"), timeout)?;
        match status {
            200 if value.is_object() => Ok(value),
            404 => Err(self.error(EngineErrorKind::NoSuchContainer(name.to_owned()))),
            _ => Err(self.refused(status, &value)),
        }
    }

    /// An image's `inspect` document; `None` when the engine has no image by that name or id.
    fn image(&self, reference: &str, timeout: Duration) -> Result<Option<Value>, EngineError> {
        if !is_safe_reference(reference) {
            return Ok(None);
        }
        let (status, value) = self.get(&format!("/images/{reference}/json"), timeout)?;
        match status {
            200 if value.is_object() => Ok(Some(value)),
            404 => Ok(None),
            _ => Err(self.refused(status, &value)),
        }
    }

    /// The ids of every container (running or not) that carries `label` (`key` or
    /// `key=value`).
    fn list(&self, label: &str, timeout: Duration) -> Result<Vec<Value>, EngineError> {
        let filters = serde_json::json!({ "label": [label] }).to_string();
        let path = format!(
            "/containers/json?all=1&filters={}",
            percent_encode(&filters)
        );
        let (status, value) = self.get(&path, timeout)?;
        match (status, value) {
            (200, Value::Array(list)) => Ok(list),
            (200, _) => Err(self.error(EngineErrorKind::BadAnswer(
                "the list of containers is not a JSON array".into(),
            ))),
            (status, value) => Err(self.refused(status, &value)),
        }
    }

    fn refused(&self, status: u16, value: &Value) -> EngineError {
        let message: String = value["message"]
            .as_str()
            .unwrap_or("")
            .chars()
            .filter(|c| !c.is_control())
            .take(300)
            .collect();
        // Docker refuses an API version it no longer speaks with a 400 that says so.
        if status == 400 && message.contains("too old") {
            return self.error(EngineErrorKind::TooOld(message));
        }
        self.error(EngineErrorKind::Failed(format!(
            "answered {status}: {message}"
        )))
    }
}

impl std::str::FromStr for Engine {
    type Err = EngineError;

    /// `unix:///path/to.sock`, or a socket's absolute path.
    fn from_str(s: &str) -> Result<Engine, EngineError> {
        let path = s.strip_prefix("unix://").unwrap_or(s);
        if path.starts_with('/') {
            return Ok(Engine::unix(path));
        }
        let scheme = s.split_once("://").map_or("", |(scheme, _)| scheme);
        Err(EngineError {
            kind: EngineErrorKind::NotUnix(scheme.chars().take(20).collect()),
            socket: PathBuf::new(),
            defaulted: false,
            source: None,
        })
    }
}

impl fmt::Display for Engine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "unix://{}", self.socket.display())
    }
}

/// Whether an image reference can go into a request path as it is (names, tags, digests).
fn is_safe_reference(reference: &str) -> bool {
    !reference.is_empty()
        && reference.len() <= 512
        && reference
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"/:@._-".contains(&b))
        && !reference.split('/').any(|part| part == ".." || part == ".")
}

fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len() * 3);
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// What kind of failure an [`EngineError`] is.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum EngineErrorKind {
    /// No engine listens at the socket (no such file, or refused).
    NoEngine,
    /// The socket is there, but this user may not use it.
    NotPermitted,
    /// The engine knows no container by this name or id.
    NoSuchContainer(String),
    /// The engine speaks an API version older than the one needed: the version, or what it
    /// said.
    TooOld(String),
    /// The engine answered something that is not its API: what was wrong.
    BadAnswer(String),
    /// No answer within this time.
    TimedOut(Duration),
    /// The engine refused or failed: what it said.
    Failed(String),
    /// An engine address that is not a Unix socket: its scheme.
    NotUnix(String),
}

/// Why a container engine could not be asked, or what it refused.
#[derive(Debug, Clone)]
pub struct EngineError {
    kind: EngineErrorKind,
    socket: PathBuf,
    defaulted: bool,
    source: Option<Arc<std::io::Error>>,
}

impl EngineError {
    fn caused_by(mut self, e: std::io::Error) -> EngineError {
        self.source = Some(Arc::new(e));
        self
    }

    /// What kind of failure this is.
    pub fn kind(&self) -> &EngineErrorKind {
        &self.kind
    }
}

impl fmt::Display for EngineError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let socket = self.socket.display();
        match &self.kind {
            EngineErrorKind::NoEngine if self.defaulted => write!(
                f,
                "no container engine at {} or {}: is Docker or podman running? set DOCKER_HOST \
                 to its socket",
                DEFAULT_SOCKETS[0], DEFAULT_SOCKETS[1]
            ),
            EngineErrorKind::NoEngine => write!(
                f,
                "no container engine answers at {socket}: is Docker or podman running? set \
                 DOCKER_HOST to its socket"
            ),
            EngineErrorKind::NotPermitted => write!(
                f,
                "not permitted to use the container engine's socket {socket}: run as root, or \
                 as a member of the docker group"
            ),
            EngineErrorKind::NoSuchContainer(name) => {
                write!(f, "no such container: {name} (engine at {socket})")
            }
            EngineErrorKind::TooOld(version) => write!(
                f,
                "the container engine at {socket} speaks API {version}, too old: shipstamp needs \
                 {}.{} or later",
                MIN_API.0, MIN_API.1
            ),
            EngineErrorKind::BadAnswer(why) => write!(
                f,
                "the container engine at {socket} answered something that is not its API: {why}"
            ),
            EngineErrorKind::TimedOut(limit) => write!(
                f,
                "the container engine at {socket} did not answer within {} ms",
                limit.as_millis()
            ),
            EngineErrorKind::Failed(why) => {
                write!(f, "the container engine at {socket} {why}")
            }
            EngineErrorKind::NotUnix(scheme) => write!(
                f,
                "a container engine is reached through its Unix socket (unix:///path), not \
                 {scheme}://"
            ),
        }
    }
}

impl std::error::Error for EngineError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source.as_deref().map(|e| e as _)
    }
}

/// A container, as its engine describes it, and the image its reference names now.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ContainerFacts {
    /// Its full id.
    pub id: String,
    /// Its name (without Docker's leading `/`).
    pub name: String,
    /// The image reference it was created from (`orders:latest`).
    pub image: String,
    /// The id of the image it runs.
    pub image_running: String,
    /// The id `image` names now; `None` when no image goes by that name any more.
    pub image_now: Option<String>,
    /// The commit the image `image` names now carries in its revision label.
    pub image_now_revision: Option<String>,
    /// Whether `image` now names another image than the one it runs: recreating the container
    /// would run something else.
    pub recreate_needed: bool,
    /// Its state: `running`, `exited`, `restarting`, `paused`, `created`, `dead`.
    pub state: String,
    /// The exit code of a container that exited.
    pub exit_code: Option<i64>,
    /// When its main process started.
    pub started_at: Option<Timestamp>,
    /// Its main process's id on this host, while it runs.
    pub pid: Option<u32>,
    /// The compose project and service it belongs to (`com.docker.compose.*` labels).
    pub compose_project: Option<String>,
    /// The compose service.
    pub compose_service: Option<String>,
    /// Its number within the compose service.
    pub compose_number: Option<String>,
}

impl ContainerFacts {
    /// How it is shown: `service-N` in a compose project, else its name.
    pub fn display_name(&self) -> String {
        match (&self.compose_service, &self.compose_number) {
            (Some(service), Some(n)) => format!("{service}-{n}"),
            (Some(service), None) => service.clone(),
            _ => self.name.clone(),
        }
    }

    /// The command that recreates it: compose's when it belongs to a project.
    pub fn recreate_command(&self) -> String {
        match &self.compose_service {
            Some(service) => format!("docker compose up -d {service}"),
            None => format!("remove {} and run it again from {}", self.name, self.image),
        }
    }
}

/// The first 12 hex digits of an image id, without `sha256:`.
pub(crate) fn short_image(id: &str) -> &str {
    let id = id.strip_prefix("sha256:").unwrap_or(id);
    &id[..id.len().min(12)]
}

fn same_image(a: &str, b: &str) -> bool {
    a.strip_prefix("sha256:").unwrap_or(a) == b.strip_prefix("sha256:").unwrap_or(b)
}

fn text(v: &Value) -> Option<String> {
    v.as_str().filter(|s| !s.is_empty()).map(str::to_owned)
}

fn label(labels: &Value, key: &str) -> Option<String> {
    text(&labels[key])
}

/// An image's labels: `Config.Labels` (Docker), else the top-level `Labels` (podman's own).
fn image_labels(image: &Value) -> &Value {
    if image["Config"]["Labels"].is_object() {
        &image["Config"]["Labels"]
    } else {
        &image["Labels"]
    }
}

/// Reads a container and the image its reference names now.
fn container_facts(
    engine: &Engine,
    name: &str,
    timeout: Duration,
) -> Result<(ContainerFacts, Option<String>), EngineError> {
    engine.check_version(timeout)?;
    let c = engine.container(name, timeout)?;
    let bad = |what: &str| {
        engine.error(EngineErrorKind::BadAnswer(format!(
            "the container's document has no {what}"
        )))
    };
    let id = text(&c["Id"]).ok_or_else(|| bad("Id"))?;
    let image_running = text(&c["Image"]).ok_or_else(|| bad("Image"))?;
    let image = text(&c["Config"]["Image"]).unwrap_or_else(|| image_running.clone());
    let labels = &c["Config"]["Labels"];
    let state = &c["State"];
    let status = text(&state["Status"]).unwrap_or_else(|| "unknown".into());
    let started_at = state["StartedAt"]
        .as_str()
        .and_then(|s| s.parse::<Timestamp>().ok())
        .filter(|t| t.unix_seconds() > 0);
    let pid = state["Pid"]
        .as_u64()
        .and_then(|p| u32::try_from(p).ok())
        .filter(|p| *p > 0);
    // The image it runs, for its label: the container's own labels hold the image's (an
    // engine copies them in at creation), so a deleted image still has its say, and the image
    // is asked only when they do not.
    let revision = match label(labels, REVISION_LABEL) {
        Some(revision) => Some(revision),
        None => engine
            .image(&image_running, timeout)?
            .and_then(|i| label(image_labels(&i), REVISION_LABEL)),
    };
    let now = engine.image(&image, timeout)?;
    let image_now = now.as_ref().and_then(|i| text(&i["Id"]));
    let recreate_needed = image_now
        .as_deref()
        .is_some_and(|now| !same_image(now, &image_running));
    let facts = ContainerFacts {
        id,
        name: text(&c["Name"])
            .map(|n| n.trim_start_matches('/').to_owned())
            .unwrap_or_else(|| name.to_owned()),
        image_now_revision: now
            .as_ref()
            .and_then(|i| label(image_labels(i), REVISION_LABEL)),
        image,
        image_running,
        image_now,
        recreate_needed,
        exit_code: (status == "exited" || status == "dead")
            .then(|| state["ExitCode"].as_i64())
            .flatten(),
        state: status,
        started_at,
        pid,
        compose_project: label(labels, "com.docker.compose.project"),
        compose_service: label(labels, "com.docker.compose.service"),
        compose_number: label(labels, "com.docker.compose.container-number"),
    };
    Ok((facts, revision))
}

fn container_failure(status: Status, message: String) -> Failure {
    Failure::new(status, Reason::new(ReasonKind::Container, message))
}

/// What container `name` runs: the stamp of its main process's executable, else its image's
/// revision label, else (unstamped) when it started.
pub(crate) fn observe_container(
    name: &str,
    engine: Option<&Engine>,
    timeout: Duration,
) -> Observation {
    let shown = format!("container:{name}");
    let failed = |status, message: String| {
        Observation::failed(
            shown.clone(),
            None,
            status,
            Reason::new(ReasonKind::Container, message),
        )
    };
    let engine = match engine.cloned().map_or_else(Engine::from_env, Ok) {
        Ok(engine) => engine,
        Err(e) => return failed(Status::Unreachable, e.to_string()),
    };
    let (facts, label) = match container_facts(&engine, name, timeout) {
        Ok(found) => found,
        Err(e) => {
            let status = match e.kind() {
                EngineErrorKind::BadAnswer(_) => Status::InvalidResponse,
                _ => Status::Unreachable,
            };
            return failed(status, e.to_string());
        }
    };
    let (outcome, process) = judge_evidence(&facts, label);
    Observation {
        url: shown,
        name: None,
        outcome,
        process,
        container: Some(Arc::new(facts)),
    }
}

/// The best evidence of what a container runs, best first, with what Linux tells about its
/// main process when that can be read.
fn judge_evidence(
    facts: &ContainerFacts,
    label: Option<String>,
) -> (Result<Served, Failure>, Option<ProcessFacts>) {
    let name = &facts.name;
    if facts.state != "running" {
        let exit = facts
            .exit_code
            .map(|code| format!(" with exit code {code}"))
            .unwrap_or_default();
        let why = format!("container {name} is {}{exit}", facts.state);
        return (Err(container_failure(Status::Unreachable, why)), None);
    }
    let (mut unreadable, mut process) = (None, None);
    if let Some(pid) = facts.pid {
        let (outcome, facts) = observe_process(pid);
        process = facts;
        match outcome {
            Ok(served) => return (Ok(served), process),
            Err(f) if f.status == Status::Unstamped => {}
            Err(f) => unreadable = Some(f.reason.to_string()),
        }
    }
    (labelled_or_unstamped(facts, label, unreadable), process)
}

/// A running container whose main process has no stamp to read: by its image's label, or
/// unstamped.
fn labelled_or_unstamped(
    facts: &ContainerFacts,
    label: Option<String>,
    unreadable: Option<String>,
) -> Result<Served, Failure> {
    let name = &facts.name;
    if let Some(revision) = label {
        let mut served = Served::new(ServedShape::ImageLabel, &revision).map_err(|e| {
            container_failure(
                Status::InvalidResponse,
                format!("container {name}: its image's {REVISION_LABEL} label: {e}"),
            )
        })?;
        served.started_at = facts.started_at;
        return Ok(served);
    }
    let image = short_image(&facts.image_running);
    let why = match unreadable {
        Some(why) => format!(
            "container {name} (image {image}) has no {REVISION_LABEL} label, and its main \
             process cannot be read ({why})"
        ),
        None => format!(
            "container {name} (image {image}) carries no stamp and no {REVISION_LABEL} label"
        ),
    };
    Err(Failure::new(
        Status::Unstamped,
        Reason::new(ReasonKind::NoStamp, why),
    ))
}

/// A container's name or id as the engine takes it in a path.
pub(crate) fn is_container_name(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 255
        && s.bytes().next().is_some_and(|b| b.is_ascii_alphanumeric())
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_.-".contains(&b))
}

/// Which containers a [`Containers`] source checks.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ContainerFilter {
    /// Every container of a compose project (`com.docker.compose.project=NAME`).
    Project(String),
    /// Every container that carries a label: `key`, or `key=value`.
    Label(String),
}

impl ContainerFilter {
    fn label(&self) -> String {
        match self {
            ContainerFilter::Project(name) => format!("com.docker.compose.project={name}"),
            ContainerFilter::Label(label) => label.clone(),
        }
    }
}

/// Every container a filter selects, listed again every round (a recreated container has a new
/// id), each named by its compose service and number.
///
/// ```
/// use shipstamp_check::{ContainerFilter, Containers};
///
/// let shop = Containers::new(ContainerFilter::Project("shop".into()));
/// let on_podman = shop.engine("unix:///run/podman/podman.sock".parse()?);
/// # Ok::<(), shipstamp_check::EngineError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Containers {
    filter: ContainerFilter,
    engine: Option<Engine>,
}

impl Containers {
    /// The containers `filter` selects, on the engine of the check's options (or this host's).
    pub fn new(filter: ContainerFilter) -> Containers {
        Containers {
            filter,
            engine: None,
        }
    }

    /// On this engine.
    pub fn engine(mut self, engine: Engine) -> Containers {
        self.engine = Some(engine);
        self
    }
}

impl Source for Containers {
    fn observe(&self, context: &Context<'_>) -> Result<Vec<Observation>, SourceError> {
        let engine = match self.engine.as_ref().or(context.options().engine.as_ref()) {
            Some(engine) => engine.clone(),
            None => Engine::from_env()
                .map_err(|e| SourceError::new(SourceErrorKind::BadConfig, e.to_string()))?,
        };
        let timeout = context.timeout();
        let failed = |e: EngineError| {
            let kind = match e.kind() {
                EngineErrorKind::BadAnswer(_) => SourceErrorKind::BadAnswer,
                EngineErrorKind::Failed(_) | EngineErrorKind::TooOld(_) => SourceErrorKind::Refused,
                _ => SourceErrorKind::Unreachable,
            };
            SourceError::new(kind, e.to_string())
        };
        engine.check_version(timeout).map_err(failed)?;
        let selector = self.filter.label();
        let listed = engine.list(&selector, timeout).map_err(failed)?;
        let mut targets: Vec<Target> = listed
            .iter()
            .filter_map(|c| {
                let id = text(&c["Id"]).filter(|id| is_container_name(id))?;
                let labels = &c["Labels"];
                let name = c["Names"][0]
                    .as_str()
                    .map(|n| n.trim_start_matches('/').to_owned());
                let shown = match (
                    label(labels, "com.docker.compose.service"),
                    label(labels, "com.docker.compose.container-number"),
                ) {
                    (Some(service), Some(n)) => format!("{service}-{n}"),
                    (Some(service), None) => service,
                    _ => name
                        .clone()
                        .unwrap_or_else(|| id[..id.len().min(12)].to_owned()),
                };
                let locator =
                    Locator::Container(name.filter(|n| is_container_name(n)).unwrap_or(id));
                Some(Target::named(locator, shown))
            })
            .collect();
        if targets.is_empty() {
            return Err(SourceError::new(
                SourceErrorKind::NoInstances,
                format!(
                    "no container carries the label {selector} (engine at {})",
                    engine.socket.display()
                ),
            ));
        }
        targets.sort_by(|a, b| a.name.cmp(&b.name));
        let targets: Vec<Target> = targets
            .into_iter()
            .map(|t| t.engine(engine.clone()))
            .collect();
        Ok(context.observe_targets(&targets))
    }
}

/// What a container runs, beside what its image reference names now: what `shipstamp inspect
/// container:NAME` shows.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ContainerInspection {
    /// What the engine tells, with the image its reference names now.
    pub facts: ContainerFacts,
    /// The stamps of its main process's executable: empty when it has none, or when it cannot
    /// be read (see `process_error`).
    pub running: Vec<shipstamp::Stamp>,
    /// Why its main process could not be read: not running, not permitted, not Linux.
    pub process_error: Option<String>,
    /// The `org.opencontainers.image.revision` label of the image it runs.
    pub revision_label: Option<String>,
}

/// Reads what container `name` runs through `engine` (its main process's stamps, its image's
/// label) and the image its reference names now.
///
/// ```no_run
/// let engine = shipstamp_check::Engine::from_env()?;
/// let seen = shipstamp_check::inspect_container("shop-orders-1", &engine, std::time::Duration::from_secs(5))?;
/// if seen.facts.recreate_needed {
///     println!("{}", seen.facts.recreate_command());
/// }
/// # Ok::<(), shipstamp_check::EngineError>(())
/// ```
pub fn inspect_container(
    name: &str,
    engine: &Engine,
    timeout: Duration,
) -> Result<ContainerInspection, EngineError> {
    if !is_container_name(name) {
        return Err(engine.error(EngineErrorKind::NoSuchContainer(
            name.chars().filter(|c| !c.is_control()).take(80).collect(),
        )));
    }
    let (facts, revision_label) = container_facts(engine, name, timeout)?;
    let (running, process_error) = match facts.pid {
        Some(pid) => match crate::inspect::running_stamps(pid) {
            Ok(stamps) => (stamps, None),
            Err(e) => (Vec::new(), Some(format!("process {pid}: {e}"))),
        },
        None => (Vec::new(), Some(format!("it is {}", facts.state))),
    };
    Ok(ContainerInspection {
        facts,
        running,
        process_error,
        revision_label,
    })
}
