//! Holding live targets against a git ref.

use std::collections::HashMap;
use std::net::{SocketAddr, ToSocketAddrs};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use crate::fetch::{FetchError, Fetcher};
use crate::process::ProcessFacts;
use crate::repo::{Commit, Cut, Lookup, Relation, Repo, RepoError, RepoState};
use crate::served::{Served, ServedShape, parse_served, parse_served_at};

/// A target's status against the ref.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Status {
    /// It serves the ref's commit.
    Match,
    /// It serves an ancestor of the ref.
    Behind,
    /// It serves a descendant of the ref.
    Ahead,
    /// It serves a commit on another line of history.
    Diverged,
    /// It serves a commit the local repository does not have.
    UnknownCommit,
    /// It was built from uncommitted changes.
    Dirty,
    /// It did not answer.
    Unreachable,
    /// It answered with something that is not a version document.
    InvalidResponse,
    /// A process without a stamp that started before the ref's commit was made: it cannot be
    /// running that commit (short of loading code lazily or reloading it).
    Stale,
    /// A process without a stamp that started after the ref's commit was made: that proves
    /// nothing about what it runs.
    Unstamped,
}

impl Status {
    /// The status as written in output: `match`, `behind`, `unknown-commit`, …
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Match => "match",
            Status::Behind => "behind",
            Status::Ahead => "ahead",
            Status::Diverged => "diverged",
            Status::UnknownCommit => "unknown-commit",
            Status::Dirty => "dirty",
            Status::Unreachable => "unreachable",
            Status::InvalidResponse => "invalid-response",
            Status::Stale => "stale",
            Status::Unstamped => "unstamped",
        }
    }

    /// Drift: the target runs something other than the ref.
    pub fn is_drift(self) -> bool {
        matches!(
            self,
            Status::Behind | Status::Ahead | Status::Diverged | Status::Dirty | Status::Stale
        )
    }

    /// Whether waiting can still turn this into a match: a target ahead of or diverged from
    /// the ref will not move back by itself.
    pub fn can_converge(self) -> bool {
        !matches!(self, Status::Ahead | Status::Diverged)
    }
}

/// A target to check.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct Target {
    /// The version endpoint's URL.
    pub url: String,
    /// A name to show instead of the URL.
    pub name: Option<String>,
    /// A JSON pointer to the commit, for a document in none of the known shapes
    /// ([`parse_served_at`](crate::parse_served_at)).
    pub field: Option<String>,
    /// Resolve the URL's host every round and check each of its addresses (A and AAAA) as its
    /// own instance, named `host@address`, keeping the `Host` header and the TLS server name.
    pub each_address: bool,
}

impl Target {
    /// A target with no name.
    pub fn new(url: impl Into<String>) -> Target {
        Target {
            url: url.into(),
            name: None,
            field: None,
            each_address: false,
        }
    }

    /// A target with a display name.
    pub fn named(url: impl Into<String>, name: impl Into<String>) -> Target {
        Target {
            name: Some(name.into()),
            ..Target::new(url)
        }
    }

    /// Reads the commit at this JSON pointer (e.g. `/data/revision`) instead of recognizing
    /// the document's shape.
    pub fn field(mut self, pointer: impl Into<String>) -> Target {
        self.field = Some(pointer.into());
        self
    }

    /// Sets [`Target::each_address`]: every address the host resolves to is an instance.
    pub fn each_address(mut self, each: bool) -> Target {
        self.each_address = each;
        self
    }
}

/// What one instance said about its build, however it was learned: a version endpoint, or a
/// system that knows (Prometheus' series). [`Checker::judge`] holds observations against a ref.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Observation {
    /// Where the instance is: its URL, or what the source calls it (`10.0.0.1:8080`).
    pub url: String,
    /// A name to show.
    pub name: Option<String>,
    /// What it serves, or why nothing can be said: `unreachable`, `invalid-response`, or
    /// `unstamped` for a process without a stamp (judged by when it started), and the reason.
    pub outcome: Result<Served, (Status, String)>,
    /// What Linux tells about it, when it is a process.
    pub process: Option<ProcessFacts>,
}

impl Observation {
    /// An instance that served `served`.
    pub fn served(url: impl Into<String>, name: Option<String>, served: Served) -> Observation {
        Observation {
            url: url.into(),
            name,
            outcome: Ok(served),
            process: None,
        }
    }

    /// An instance about which nothing can be said but `status` and `reason`.
    pub fn failed(
        url: impl Into<String>,
        name: Option<String>,
        status: Status,
        reason: impl Into<String>,
    ) -> Observation {
        Observation {
            url: url.into(),
            name,
            outcome: Err((status, reason.into())),
            process: None,
        }
    }
}

/// How to check.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Options {
    /// Treat a dirty build by its commit instead of as `dirty` drift.
    pub allow_dirty: bool,
    /// Time limit for each target's whole exchange (default 5 s: a hung host must not stall a
    /// round or a deploy gate for long).
    pub timeout: Duration,
    /// Targets checked at once (default 32).
    pub concurrency: usize,
    /// How the hosts of [`Target::each_address`] targets are resolved: the system's resolver
    /// unless set.
    pub resolver: Option<Resolver>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            allow_dirty: false,
            timeout: Duration::from_secs(5),
            concurrency: 32,
            resolver: None,
        }
    }
}

/// Resolves a host and port to the addresses of its instances, in place of the system's
/// resolver: for a fixed list (`curl --resolve`), a service registry, or a test.
///
/// ```
/// use std::net::SocketAddr;
/// let resolver = shipstamp_check::Resolver::new(|host: &str, port: u16| {
///     Ok(vec![SocketAddr::from(([127, 0, 0, 1], port)), SocketAddr::from(([127, 0, 0, 2], port))])
/// });
/// let options = shipstamp_check::Options::default().resolver(resolver);
/// ```
#[derive(Clone)]
pub struct Resolver(Arc<ResolveFn>);

type ResolveFn = dyn Fn(&str, u16) -> std::io::Result<Vec<SocketAddr>> + Send + Sync;

impl Resolver {
    /// A resolver that calls `resolve(host, port)`.
    pub fn new(
        resolve: impl Fn(&str, u16) -> std::io::Result<Vec<SocketAddr>> + Send + Sync + 'static,
    ) -> Resolver {
        Resolver(Arc::new(resolve))
    }

    fn resolve(&self, host: &str, port: u16) -> std::io::Result<Vec<SocketAddr>> {
        (self.0)(host, port)
    }
}

impl std::fmt::Debug for Resolver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Resolver(..)")
    }
}

impl Options {
    /// Sets [`Options::allow_dirty`].
    pub fn allow_dirty(mut self, allow: bool) -> Self {
        self.allow_dirty = allow;
        self
    }

    /// Sets [`Options::timeout`].
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Sets [`Options::concurrency`] (at least 1).
    pub fn concurrency(mut self, n: usize) -> Self {
        self.concurrency = n.max(1);
        self
    }

    /// Sets [`Options::resolver`].
    pub fn resolver(mut self, resolver: Resolver) -> Self {
        self.resolver = Some(resolver);
        self
    }
}

/// One target's result.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct TargetReport {
    /// The URL checked.
    pub url: String,
    /// Its display name, if any.
    pub name: Option<String>,
    /// The status.
    pub status: Status,
    /// Why, for `unreachable`, `invalid-response`, `unknown-commit` and `dirty`.
    pub reason: Option<String>,
    /// The full commit served (resolved in the repository when it was abbreviated).
    pub commit: Option<String>,
    /// The served commit's subject line, from the local repository.
    pub commit_subject: Option<String>,
    /// The served commit's committer time, from the local repository.
    pub commit_time: Option<shipstamp::Timestamp>,
    /// The shape of the body.
    pub shape: Option<ServedShape>,
    /// Package name, when served.
    pub package: Option<String>,
    /// Package version, when served.
    pub version: Option<String>,
    /// Whether the served build was dirty, when served.
    pub dirty: Option<bool>,
    /// Commits the target is behind the ref.
    pub behind: Option<u64>,
    /// Commits the target is ahead of the ref.
    pub ahead: Option<u64>,
    /// The merge base, when diverged.
    pub merge_base: Option<String>,
    /// When the served build was made, when served.
    pub built_at: Option<shipstamp::Timestamp>,
    /// When the serving process started, when served.
    pub started_at: Option<shipstamp::Timestamp>,
    /// Whether the serving process started before the ref's commit was made: the classic
    /// "deployed but never restarted" signal.
    pub started_before_ref: bool,
    /// Whether the serving process's executable was replaced on disk (a restart is pending).
    pub exe_replaced: Option<bool>,
    /// What Linux tells about the process, for a `pid:` or `pidfile:` target.
    pub process: Option<ProcessFacts>,
}

impl TargetReport {
    fn new(url: &str, name: Option<&str>, status: Status) -> TargetReport {
        TargetReport {
            url: url.to_owned(),
            name: name.map(str::to_owned),
            status,
            reason: None,
            commit: None,
            commit_subject: None,
            commit_time: None,
            shape: None,
            package: None,
            version: None,
            dirty: None,
            behind: None,
            ahead: None,
            merge_base: None,
            built_at: None,
            started_at: None,
            started_before_ref: false,
            exe_replaced: None,
            process: None,
        }
    }

    fn failed(url: &str, name: Option<&str>, status: Status, reason: String) -> TargetReport {
        TargetReport {
            reason: Some(reason),
            ..TargetReport::new(url, name, status)
        }
    }
}

/// The exit code for a set of results: 1 when any target drifted, else 2 when any could not be
/// decided, else 0.
pub fn exit_code(reports: &[TargetReport]) -> u8 {
    if reports.iter().any(|r| r.status.is_drift()) {
        1
    } else if reports.iter().any(|r| r.status != Status::Match) {
        2
    } else {
        0
    }
}

/// Checks every target against `reference` once: [`Checker::check`] with a checker made for
/// this call. Results come back in the order of `targets`.
pub fn check(
    targets: &[Target],
    repo: &Repo,
    reference: &Commit,
    options: &Options,
) -> Result<Vec<TargetReport>, RepoError> {
    Checker::new(repo.clone(), options.clone()).check(targets, reference)
}

/// Checks targets against a ref, round after round: one HTTP agent, and git's answers kept
/// across rounds.
///
/// What git says about a commit does not change, so each served commit is looked up once and
/// each (served commit, ref commit) pair is counted once. In steady state, when nothing served
/// changes and the ref does not move, a round (resolving the ref, then checking) starts one
/// `git` process, whatever the number of targets and commits. A served commit the repository
/// lacks is asked about again once the repository changes (a fetch, a commit, a new pack).
///
/// ```no_run
/// use shipstamp_check::{Checker, Options, Repo, Status, Target};
///
/// let mut checker = Checker::new(Repo::open(".")?, Options::default());
/// let targets = [Target::new("https://orders-1.internal/version")];
/// loop {
///     let reference = checker.resolve_ref("origin/main")?;
///     let reports = checker.check(&targets, &reference)?;
///     let matching = reports.iter().filter(|r| r.status == Status::Match).count();
///     println!("{matching} of {} match", reports.len());
///     std::thread::sleep(std::time::Duration::from_secs(5));
/// }
/// # Ok::<(), shipstamp_check::RepoError>(())
/// ```
#[derive(Debug)]
pub struct Checker {
    repo: Repo,
    options: Options,
    fetcher: Fetcher,
    /// Served ids (as served) the repository has, with their full commit.
    found: HashMap<String, String>,
    /// Time and subject of full commit ids.
    commits: HashMap<String, Commit>,
    /// (served commit, ref commit) → relation, in a full clone.
    relations: HashMap<(String, String), Relation>,
    /// What holds only until the repository changes.
    volatile: Volatile,
}

/// Answers that hold only as long as the repository does not change: lookups that found
/// nothing (a fetch may bring the commit), and, in a shallow clone, its boundary and the
/// relations counted within it (a deeper fetch changes them).
#[derive(Debug, Default)]
struct Volatile {
    state: Option<RepoState>,
    not_found: HashMap<String, Lookup>,
    boundary: Vec<String>,
    shallow_relations: HashMap<(String, String), Relation>,
}

/// One instance to fetch: a target, or one address of a target expanded through DNS.
struct Instance<'a> {
    target: &'a Target,
    name: Option<String>,
    at: At,
}

/// Where an instance is reached.
enum At {
    /// Wherever the URL's host resolves to.
    Host,
    /// This address, with the URL's host kept for `Host` and the TLS server name.
    Address(SocketAddr),
    /// The host did not resolve, and why.
    Unresolved(String),
}

/// The instances of a target: itself, or, with [`Target::each_address`], one per address its
/// host resolves to now, named `host@address`.
fn expand<'a>(target: &'a Target, resolver: Option<&Resolver>) -> Vec<Instance<'a>> {
    if !target.each_address || !matches!(location(&target.url), Location::Http) {
        return vec![Instance {
            target,
            name: target.name.clone(),
            at: At::Host,
        }];
    }
    let failed = |why: String| {
        vec![Instance {
            target,
            name: target.name.clone(),
            at: At::Unresolved(why),
        }]
    };
    let Some((host, port)) = host_and_port(&target.url) else {
        return failed("no host to resolve in this URL".into());
    };
    let resolved = match resolver {
        Some(resolver) => resolver.resolve(&host, port),
        None => (host.as_str(), port)
            .to_socket_addrs()
            .map(|addresses| addresses.collect()),
    };
    let mut addresses: Vec<SocketAddr> = match resolved {
        Ok(addresses) => addresses,
        Err(e) => return failed(format!("{host} does not resolve: {e}")),
    };
    addresses.sort();
    addresses.dedup();
    if addresses.is_empty() {
        return failed(format!("{host} resolves to no address"));
    }
    let base = target.name.clone().unwrap_or_else(|| host.clone());
    addresses
        .into_iter()
        .map(|address| Instance {
            target,
            name: Some(format!("{base}@{}", address.ip())),
            at: At::Address(address),
        })
        .collect()
}

/// What a target names: a version endpoint, a binary, a process, or a pidfile.
enum Location {
    Http,
    File(std::path::PathBuf),
    Pid(u32),
    PidFile(std::path::PathBuf),
}

fn location(target: &str) -> Location {
    if let Some(path) = target.strip_prefix("file:") {
        Location::File(path.into())
    } else if target.starts_with('/') || target.starts_with("./") {
        Location::File(target.into())
    } else if let Some(path) = target.strip_prefix("pidfile:") {
        Location::PidFile(path.into())
    } else if let Some(pid) = target.strip_prefix("pid:") {
        // A pid that does not parse names no process.
        Location::Pid(pid.trim().parse().unwrap_or(0))
    } else {
        Location::Http
    }
}

/// Whether `target` names a binary, a process or a pidfile rather than a version endpoint.
pub fn is_local_target(target: &str) -> bool {
    !matches!(location(target), Location::Http)
}

/// The stamp a binary is judged by: the one of the package its file is named after, else the
/// first (a binary that links several stamped crates has one stamp each).
fn main_stamp<'a>(
    stamps: &'a [shipstamp::Stamp],
    path: &std::path::Path,
) -> Option<&'a shipstamp::Stamp> {
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
    stamps
        .iter()
        .find(|s| s.package.name == name)
        .or_else(|| stamps.first())
}

fn served_from_stamp(
    stamps: &[shipstamp::Stamp],
    path: &std::path::Path,
    shape: ServedShape,
) -> Result<Served, (Status, String)> {
    let stamp = main_stamp(stamps, path).ok_or((
        Status::InvalidResponse,
        "no stamp in this binary".to_owned(),
    ))?;
    let commit = stamp.git.commit.clone().ok_or((
        Status::InvalidResponse,
        format!(
            "its stamp ({} {}) has no commit: it was built without a known commit",
            stamp.package.name, stamp.package.version
        ),
    ))?;
    Ok(Served {
        dirty: stamp.git.dirty,
        package: Some(stamp.package.name.clone()),
        version: Some(stamp.package.version.clone()),
        built_at: stamp.build.time,
        ..Served::commit_only(shape, commit)
    })
}

/// A binary on disk, by its embedded stamp.
fn observe_file(path: &std::path::Path) -> Result<Served, (Status, String)> {
    match std::fs::metadata(path) {
        Err(e) => return Err((Status::Unreachable, format!("{}: {e}", path.display()))),
        Ok(m) if m.is_dir() => {
            return Err((
                Status::InvalidResponse,
                format!("{} is a directory, not an executable", path.display()),
            ));
        }
        Ok(_) => {}
    }
    match crate::read_stamps_from_file(path) {
        Ok(stamps) => served_from_stamp(&stamps, path, ServedShape::Binary),
        Err(e) => Err((Status::InvalidResponse, e.to_string())),
    }
}

/// A running process: by the stamp of the image it runs (`/proc/PID/exe` reaches it even after
/// the file on disk is replaced), or, without one, by what Linux tells.
fn observe_process(pid: u32) -> (Result<Served, (Status, String)>, Option<ProcessFacts>) {
    let facts = match crate::process::facts(pid) {
        Ok(facts) => facts,
        Err(e) => {
            return (
                Err((Status::Unreachable, format!("process {pid}: {e}"))),
                None,
            );
        }
    };
    let image = std::path::PathBuf::from(format!("/proc/{pid}/exe"));
    let outcome = match crate::read_stamps_from_file(&image) {
        Ok(stamps) => {
            served_from_stamp(&stamps, &facts.exe, ServedShape::Process).map(|s| Served {
                started_at: facts.started_at,
                exe_replaced: Some(facts.exe_replaced),
                ..s
            })
        }
        Err(e) if e.is_unstamped() || e.is_not_an_executable() => Err((
            Status::Unstamped,
            format!("{} carries no stamp", facts.exe.display()),
        )),
        Err(e) => Err((Status::Unreachable, format!("process {pid}: {e}"))),
    };
    (outcome, Some(facts))
}

/// The process id in a pidfile, read again on every round (a restart writes a new one).
fn read_pidfile(path: &std::path::Path) -> Result<u32, (Status, String)> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        (
            Status::Unreachable,
            format!("pidfile {}: {e}", path.display()),
        )
    })?;
    let first = text.lines().next().unwrap_or("").trim();
    match first.parse::<u32>() {
        Ok(pid) if pid > 0 => Ok(pid),
        _ => Err((
            Status::InvalidResponse,
            format!(
                "pidfile {} holds {:?}, not a process id",
                path.display(),
                first.chars().take(40).collect::<String>()
            ),
        )),
    }
}

/// A process without a stamp, judged by when it started: before the ref's commit was made it
/// cannot be running it (`stale`); after, nothing can be said (`unstamped`).
fn judge_unstamped(
    url: &str,
    name: Option<&str>,
    process: Option<&ProcessFacts>,
    why: &str,
    reference: &Commit,
) -> TargetReport {
    let started = process.and_then(|p| p.started_at);
    let short = &reference.id[..reference.id.len().min(7)];
    let (status, reason) = match (started, reference.time) {
        (Some(s), Some(r)) if s < r => (
            Status::Stale,
            format!(
                "{why}; it started {s}, before the ref's commit {short} was made ({r}): it cannot be running it, unless it loads code lazily or reloads it"
            ),
        ),
        (Some(s), Some(r)) => (
            Status::Unstamped,
            format!(
                "{why}; it started {s}, after the ref's commit {short} was made ({r}), which proves nothing on its own"
            ),
        ),
        _ => (
            Status::Unstamped,
            format!("{why}, and when it or the ref's commit started is not known"),
        ),
    };
    TargetReport::failed(url, name, status, reason)
}

/// The host (without brackets) and port of an `http(s)://` URL.
fn host_and_port(url: &str) -> Option<(String, u16)> {
    let uri: ureq::http::Uri = url.parse().ok()?;
    let host = uri.host()?.trim_start_matches('[').trim_end_matches(']');
    let port = uri.port_u16().unwrap_or(match uri.scheme_str() {
        Some("https") => 443,
        _ => 80,
    });
    Some((host.to_owned(), port))
}

/// What git says about one served id, for one round.
enum Answer {
    Found { commit: Commit, relation: Relation },
    NotFound { lookup: Lookup, shallow: bool },
}

impl Checker {
    /// A checker for targets built from `repo`.
    pub fn new(repo: Repo, options: Options) -> Checker {
        Checker {
            fetcher: Fetcher::new(options.timeout),
            repo,
            options,
            found: HashMap::new(),
            commits: HashMap::new(),
            relations: HashMap::new(),
            volatile: Volatile::default(),
        }
    }

    /// The repository.
    pub fn repo(&self) -> &Repo {
        &self.repo
    }

    /// The options.
    pub fn options(&self) -> &Options {
        &self.options
    }

    /// Resolves `name` to a commit, as [`Repo::resolve_ref`] does; the commit's time and
    /// subject are asked once per commit, so this starts one `git` process when the ref has
    /// not moved.
    pub fn resolve_ref(&mut self, name: &str) -> Result<Commit, RepoError> {
        let id = self.repo.resolve_ref_id(name)?;
        self.learn_facts(std::slice::from_ref(&id))?;
        Ok(self.commit(&id))
    }

    /// Checks every target against `reference`, [`Options::concurrency`] at a time. Results
    /// come back in the order of `targets`.
    ///
    /// A target that does not answer, or answers something that is not a version document, is
    /// a report with that status. The error is for the repository: git failed (it is missing,
    /// the repository is damaged or gone), and no target can be judged.
    pub fn check(
        &mut self,
        targets: &[Target],
        reference: &Commit,
    ) -> Result<Vec<TargetReport>, RepoError> {
        let mut reports = self.check_groups(&[(targets, reference)])?;
        Ok(reports.pop().unwrap_or_default())
    }

    /// Checks several groups of targets, each against its own ref (the environments of one
    /// service, each following its branch), with one pool of [`Options::concurrency`] requests
    /// for all of them. One list of reports per group, in the order of the groups and their
    /// targets; a target with [`Target::each_address`] gives one report per address.
    pub fn check_groups(
        &mut self,
        groups: &[(&[Target], &Commit)],
    ) -> Result<Vec<Vec<TargetReport>>, RepoError> {
        let expanded: Vec<Vec<Instance<'_>>> = groups
            .iter()
            .map(|(targets, _)| {
                targets
                    .iter()
                    .flat_map(|t| expand(t, self.options.resolver.as_ref()))
                    .collect()
            })
            .collect();
        let all: Vec<&Instance<'_>> = expanded.iter().flatten().collect();
        let mut observed = self.fetch_all(&all).into_iter();
        let mut reports = Vec::with_capacity(groups.len());
        for ((_, reference), instances) in groups.iter().zip(&expanded) {
            let observations: Vec<Observation> = observed.by_ref().take(instances.len()).collect();
            reports.push(self.judge(&observations, reference)?);
        }
        Ok(reports)
    }

    /// Holds what instances were observed to run against `reference`, exactly as
    /// [`Checker::check`] holds what targets serve: for sources that know without asking each
    /// instance (Prometheus, a deploy system). One report per observation, in order.
    pub fn judge(
        &mut self,
        observations: &[Observation],
        reference: &Commit,
    ) -> Result<Vec<TargetReport>, RepoError> {
        let mut ids: Vec<&str> = observations
            .iter()
            .filter_map(|o| o.outcome.as_ref().ok().map(|s| s.commit.as_str()))
            .collect();
        ids.sort_unstable();
        ids.dedup();
        let answers = self.answers(&ids, &reference.id)?;
        let options = &self.options;
        Ok(map_in_parallel(observations, |o| {
            let mut report = match &o.outcome {
                Ok(served) => judge(
                    &o.url,
                    o.name.as_deref(),
                    served,
                    &answers[served.commit.as_str()],
                    reference,
                    options,
                ),
                Err((Status::Unstamped, why)) => judge_unstamped(
                    &o.url,
                    o.name.as_deref(),
                    o.process.as_ref(),
                    why,
                    reference,
                ),
                Err((status, why)) => {
                    TargetReport::failed(&o.url, o.name.as_deref(), *status, why.clone())
                }
            };
            if let Some(process) = &o.process {
                report.started_at = report.started_at.or(process.started_at);
                report.exe_replaced = Some(process.exe_replaced);
                report.started_before_ref = matches!(
                    (process.started_at, reference.time),
                    (Some(s), Some(r)) if s < r
                );
                report.process = Some(process.clone());
            }
            report
        }))
    }

    /// Fetches and parses every instance, `concurrency` at a time, in order.
    fn fetch_all(&self, instances: &[&Instance<'_>]) -> Vec<Observation> {
        let next = AtomicUsize::new(0);
        let workers = self.options.concurrency.clamp(1, instances.len().max(1));
        let mut done: Vec<(usize, Observation)> = std::thread::scope(|scope| {
            let handles: Vec<_> = (0..workers)
                .map(|_| {
                    scope.spawn(|| {
                        let mut mine = Vec::new();
                        loop {
                            let i = next.fetch_add(1, Ordering::Relaxed);
                            let Some(instance) = instances.get(i) else {
                                break;
                            };
                            mine.push((i, self.fetch_one(instance)));
                        }
                        mine
                    })
                })
                .collect();
            handles
                .into_iter()
                .flat_map(|h| h.join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
                .collect()
        });
        // Every index was taken by exactly one worker.
        done.sort_unstable_by_key(|(i, _)| *i);
        done.into_iter().map(|(_, r)| r).collect()
    }

    fn fetch_one(&self, instance: &Instance<'_>) -> Observation {
        let target = instance.target;
        let mut observation = Observation {
            url: target.url.clone(),
            name: instance.name.clone(),
            outcome: Err((Status::Unreachable, String::new())),
            process: None,
        };
        match location(&target.url) {
            Location::File(path) => observation.outcome = observe_file(&path),
            Location::Pid(pid) => {
                let (outcome, process) = observe_process(pid);
                observation.outcome = outcome;
                observation.process = process;
            }
            Location::PidFile(path) => match read_pidfile(&path) {
                Ok(pid) => {
                    let (outcome, process) = observe_process(pid);
                    observation.outcome = outcome;
                    observation.process = process;
                }
                Err(failure) => observation.outcome = Err(failure),
            },
            Location::Http => {
                observation.outcome = match &instance.at {
                    At::Unresolved(why) => Err((Status::Unreachable, why.clone())),
                    at => {
                        let address = match at {
                            At::Address(a) => Some(*a),
                            _ => None,
                        };
                        self.fetcher
                            .get(&target.url, address)
                            .map_err(|e| match e {
                                FetchError::Unreachable(why) => (Status::Unreachable, why),
                                FetchError::Invalid(why) => (Status::InvalidResponse, why),
                            })
                            .and_then(|body| {
                                match &target.field {
                                    Some(pointer) => parse_served_at(&body, pointer),
                                    None => parse_served(&body),
                                }
                                .map_err(|e| (Status::InvalidResponse, e.to_string()))
                            })
                    }
                }
            }
        }
        observation
    }

    /// What git says about each served id against `reference`, asking git only what it has
    /// not answered before.
    fn answers<'a>(
        &mut self,
        ids: &[&'a str],
        reference: &str,
    ) -> Result<HashMap<&'a str, Answer>, RepoError> {
        let state = self.repo.state();
        if self.volatile.state != Some(state) {
            self.volatile = Volatile {
                state: Some(state),
                boundary: self.repo.shallow_boundary(),
                ..Volatile::default()
            };
        }
        let new: Vec<&str> = ids
            .iter()
            .copied()
            .filter(|id| {
                !self.found.contains_key(*id) && !self.volatile.not_found.contains_key(*id)
            })
            .collect();
        if !new.is_empty() {
            for (id, lookup) in new.iter().zip(self.repo.lookup(&new)?) {
                match lookup {
                    Lookup::Found(full) => {
                        self.found.insert((*id).to_owned(), full);
                    }
                    other => {
                        self.volatile.not_found.insert((*id).to_owned(), other);
                    }
                }
            }
        }
        let mut full: Vec<String> = ids
            .iter()
            .filter_map(|id| self.found.get(*id).cloned())
            .collect();
        full.sort_unstable();
        full.dedup();
        self.learn_facts(&full)?;
        self.learn_relations(&full, reference)?;
        let mut answers = HashMap::with_capacity(ids.len());
        let shallow = !self.volatile.boundary.is_empty();
        for id in ids {
            let answer = match self.found.get(*id).cloned() {
                Some(full) => Answer::Found {
                    relation: self.relation(&full, reference)?,
                    commit: self.commit(&full),
                },
                None => Answer::NotFound {
                    lookup: self
                        .volatile
                        .not_found
                        .get(*id)
                        .cloned()
                        .unwrap_or(Lookup::Missing),
                    shallow,
                },
            };
            answers.insert(*id, answer);
        }
        Ok(answers)
    }

    /// Makes sure how each of `served` relates to `reference` is known, asking git for several
    /// at once: a fleet in the middle of rollouts runs tens of builds, one git process each.
    fn learn_relations(&mut self, served: &[String], reference: &str) -> Result<(), RepoError> {
        const GIT_AT_ONCE: usize = 4;
        let missing: Vec<&String> = served
            .iter()
            .filter(|id| {
                !self
                    .known_relations()
                    .contains_key(&((*id).clone(), reference.to_owned()))
            })
            .collect();
        if missing.len() < 2 {
            return Ok(());
        }
        let (repo, boundary) = (&self.repo, &self.volatile.boundary);
        let found = map_on_threads(&missing, GIT_AT_ONCE.min(missing.len()), |id| {
            relation_by_git(repo, boundary, id, reference)
        });
        for (id, relation) in missing.into_iter().zip(found) {
            self.known_relations()
                .insert((id.clone(), reference.to_owned()), relation?);
        }
        Ok(())
    }

    /// How `served` relates to `reference`, from the cache or git.
    fn relation(&mut self, served: &str, reference: &str) -> Result<Relation, RepoError> {
        let key = (served.to_owned(), reference.to_owned());
        if let Some(relation) = self.known_relations().get(&key) {
            return Ok(relation.clone());
        }
        let relation = relation_by_git(&self.repo, &self.volatile.boundary, served, reference)?;
        self.known_relations().insert(key, relation.clone());
        Ok(relation)
    }

    /// The relations already counted: for good in a full clone; in a shallow one, until the
    /// repository changes (a deeper fetch moves the boundary they were counted within).
    fn known_relations(&mut self) -> &mut HashMap<(String, String), Relation> {
        if self.volatile.boundary.is_empty() {
            &mut self.relations
        } else {
            &mut self.volatile.shallow_relations
        }
    }

    /// Makes sure the time and subject of each full commit id are known.
    fn learn_facts(&mut self, ids: &[String]) -> Result<(), RepoError> {
        let missing: Vec<String> = ids
            .iter()
            .filter(|id| !self.commits.contains_key(*id))
            .cloned()
            .collect();
        for commit in self.repo.commit_facts(&missing)? {
            self.commits.insert(commit.id.clone(), commit);
        }
        Ok(())
    }

    /// The commit `id` with whatever facts are known.
    fn commit(&self, id: &str) -> Commit {
        self.commits.get(id).cloned().unwrap_or_else(|| Commit {
            id: id.to_owned(),
            time: None,
            subject: None,
        })
    }
}

/// How `served` relates to `reference`, as git counts it: within `boundary` in a shallow clone.
fn relation_by_git(
    repo: &Repo,
    boundary: &[String],
    served: &str,
    reference: &str,
) -> Result<Relation, RepoError> {
    if boundary.is_empty() {
        repo.relation(served, reference)
    } else {
        repo.relation_in_shallow(served, reference, boundary)
    }
}

/// `f` over `items`, in order, on the machine's cores once there are enough items to be worth
/// a thread (Prometheus answers for 100,000 instances at once).
fn map_in_parallel<T: Sync, R: Send>(items: &[T], f: impl Fn(&T) -> R + Sync) -> Vec<R> {
    const PER_THREAD: usize = 8192;
    let threads = std::thread::available_parallelism()
        .map_or(1, usize::from)
        .min(items.len() / PER_THREAD);
    map_on_threads(items, threads, f)
}

/// `f` over `items`, in order, on `threads` threads (one when `threads` is 0 or 1).
fn map_on_threads<T: Sync, R: Send>(
    items: &[T],
    threads: usize,
    f: impl Fn(&T) -> R + Sync,
) -> Vec<R> {
    if threads <= 1 || items.len() <= 1 {
        return items.iter().map(f).collect();
    }
    let f = &f;
    std::thread::scope(|scope| {
        let parts: Vec<_> = items
            .chunks(items.len().div_ceil(threads))
            .map(|part| scope.spawn(move || part.iter().map(f).collect::<Vec<R>>()))
            .collect();
        let mut all = Vec::with_capacity(items.len());
        for part in parts {
            all.extend(part.join().unwrap_or_else(|p| std::panic::resume_unwind(p)));
        }
        all
    })
}

/// The report for one target that served a document, from git's answer about its commit.
fn judge(
    url: &str,
    name: Option<&str>,
    served: &Served,
    answer: &Answer,
    reference: &Commit,
    options: &Options,
) -> TargetReport {
    let mut report = TargetReport::new(url, name, Status::Match);
    report.shape = Some(served.shape);
    report.dirty = served.dirty;
    report.built_at = served.built_at;
    report.started_at = served.started_at;
    report.exe_replaced = served.exe_replaced;
    report.package = served.package.clone();
    report.version = served.version.clone();
    report.started_before_ref =
        matches!((served.started_at, reference.time), (Some(s), Some(r)) if s < r);
    let (commit, relation) = match answer {
        Answer::Found { commit, relation } => (commit, relation),
        Answer::NotFound { lookup, shallow } => {
            report.status = Status::UnknownCommit;
            report.commit = Some(served.commit.clone());
            report.reason = Some(match lookup {
                Lookup::Missing if *shallow => format!(
                    "{} is not in the local repository, a shallow clone: it may be older than \
                     the clone's history (git fetch --unshallow, or --deepen N)",
                    served.commit
                ),
                Lookup::Ambiguous => format!(
                    "the abbreviated id {} names several commits in the local repository",
                    served.commit
                ),
                Lookup::NotACommit(kind) => format!(
                    "{} names a {kind} in the local repository, not a commit",
                    served.commit
                ),
                Lookup::Missing | Lookup::Found(_) => format!(
                    "{} is not in the local repository (git fetch?)",
                    served.commit
                ),
            });
            return report;
        }
    };
    report.commit = Some(commit.id.clone());
    report.commit_subject = commit.subject.clone();
    report.commit_time = commit.time;
    report.status = match relation {
        Relation::Same => Status::Match,
        Relation::Behind(n) => {
            report.behind = Some(*n);
            Status::Behind
        }
        Relation::Ahead(n) => {
            report.ahead = Some(*n);
            Status::Ahead
        }
        Relation::Diverged {
            merge_base,
            ahead,
            behind,
        } => {
            report.merge_base = merge_base.clone();
            report.ahead = Some(*ahead);
            report.behind = Some(*behind);
            Status::Diverged
        }
        Relation::Cut(cut) => {
            let short = &commit.id[..commit.id.len().min(12)];
            let (status, reason) = match cut {
                Cut::Behind => (Status::Behind, "how many commits behind"),
                Cut::Ahead => (Status::Ahead, "how many commits ahead"),
                Cut::Unknown => (Status::UnknownCommit, "how it relates to the ref"),
            };
            report.reason = Some(format!(
                "the shallow clone's history between {short} and the ref is cut: {reason} is \
                 not known (git fetch --unshallow, or --deepen N)"
            ));
            status
        }
    };
    if served.dirty == Some(true) && !options.allow_dirty {
        report.reason = Some(format!(
            "built from uncommitted changes on top of {} (--allow-dirty to judge it by its commit)",
            &commit.id[..commit.id.len().min(12)]
        ));
        report.status = Status::Dirty;
    }
    report
}

#[cfg(test)]
mod tests {
    use super::{map_in_parallel, map_on_threads};

    #[test]
    fn parallel_map_keeps_the_order() {
        for n in [0, 1, 8191, 8192 * 2 + 7, 100_000] {
            let items: Vec<usize> = (0..n).collect();
            let doubled = map_in_parallel(&items, |i| i * 2);
            assert_eq!(doubled, (0..n).map(|i| i * 2).collect::<Vec<_>>(), "{n}");
        }
        for (n, threads) in [(0, 4), (1, 4), (2, 4), (19, 4), (5, 0)] {
            let items: Vec<usize> = (0..n).collect();
            let doubled = map_on_threads(&items, threads, |i| i * 2);
            assert_eq!(doubled, (0..n).map(|i| i * 2).collect::<Vec<_>>(), "{n}");
        }
    }
}
