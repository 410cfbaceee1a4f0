//! The local repository, through the `git` CLI: every pipeline that deploys has git, it reads
//! every repository format git does (SHA-256, reftable, partial clones), and it costs the build
//! nothing (gix would add ~150 crates).
//!
//! Every way git can fail is turned into a [`RepoError`] in one place, [`Repo::run`], from git's
//! exit status; git's message is kept for the reader, never parsed, except to tell "not a
//! repository" from other failures when opening one.

use std::fmt;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::SystemTime;

use shipstamp::Timestamp;

/// A commit of the local repository.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Commit {
    /// Full id.
    pub id: String,
    /// Committer time.
    pub time: Option<Timestamp>,
    /// The first line of the commit message.
    pub subject: Option<String>,
}

/// How a served commit relates to the ref.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Relation {
    Same,
    /// The served commit is an ancestor of the ref, this many commits behind.
    Behind(u64),
    /// The ref is an ancestor of the served commit.
    Ahead(u64),
    Diverged {
        merge_base: Option<String>,
        ahead: u64,
        behind: u64,
    },
    /// A shallow clone's boundary cuts the history between the two: counts would be wrong.
    Cut(Cut),
}

/// What a shallow clone can still prove when its boundary cuts the history between a served
/// commit and the ref.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Cut {
    /// The served commit is an ancestor of the ref, through commits the clone has.
    Behind,
    /// The ref is an ancestor of the served commit.
    Ahead,
    /// Neither can be shown.
    Unknown,
}

/// What the repository says about a commit id as a target served it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Lookup {
    /// The full id of the commit.
    Found(String),
    /// The repository has no object with this id.
    Missing,
    /// An abbreviated id that names more than one commit.
    Ambiguous,
    /// The id names an object that is not a commit (a tree, a blob).
    NotACommit(String),
}

/// What kind of failure a [`RepoError`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum RepoErrorKind {
    /// The directory does not exist or is not inside a git repository.
    NotARepository,
    /// The ref names nothing in the repository (a typo, or not fetched yet).
    UnknownRef,
    /// The ref is an abbreviated commit id that names several commits.
    AmbiguousRef,
    /// The `git` program could not be found or started.
    GitMissing,
    /// git ran and failed; [`RepoError::git_stderr`] has what it said.
    GitFailed,
}

/// Why the repository could not answer.
#[derive(Debug)]
pub struct RepoError {
    kind: RepoErrorKind,
    /// What was being done or asked, for the message.
    what: String,
    /// git's standard error, trimmed, when git ran.
    stderr: Option<String>,
    source: Option<std::io::Error>,
}

impl RepoError {
    fn new(kind: RepoErrorKind, what: String) -> RepoError {
        RepoError {
            kind,
            what,
            stderr: None,
            source: None,
        }
    }

    /// What kind of failure this is.
    pub fn kind(&self) -> RepoErrorKind {
        self.kind
    }

    /// What git wrote to standard error, when it ran and said something.
    pub fn git_stderr(&self) -> Option<&str> {
        self.stderr.as_deref()
    }
}

impl fmt::Display for RepoError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.what)?;
        if let Some(first) = self.stderr.as_deref().and_then(|s| s.lines().next()) {
            write!(f, ": {}", first.trim_start_matches("fatal: "))?;
        } else if let Some(source) = &self.source {
            write!(f, ": {source}")?;
        }
        Ok(())
    }
}

impl std::error::Error for RepoError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source.as_ref().map(|e| e as _)
    }
}

/// Files whose change means the repository may now have commits it did not have before, or
/// a different shallow boundary: a fetch writes `FETCH_HEAD`, a push or `gc` rewrites
/// `packed-refs` or adds a pack, a local commit appends to `HEAD`'s reflog.
const STATE_FILES: [&str; 5] = [
    "FETCH_HEAD",
    "shallow",
    "packed-refs",
    "objects/pack",
    "logs/HEAD",
];

/// The index of `shallow` in [`STATE_FILES`].
const SHALLOW: usize = 1;

/// A cheap fingerprint of [`STATE_FILES`]: their modification times (and whether they exist).
pub(crate) type RepoState = [Option<SystemTime>; STATE_FILES.len()];

/// A git repository on disk.
#[derive(Debug, Clone)]
pub struct Repo {
    dir: PathBuf,
    state_files: Vec<PathBuf>,
}

impl Repo {
    /// Opens the repository containing `dir`.
    pub fn open(dir: impl AsRef<Path>) -> Result<Repo, RepoError> {
        let dir = dir.as_ref();
        if !dir.is_dir() {
            return Err(RepoError::new(
                RepoErrorKind::NotARepository,
                format!("{} is not a directory", dir.display()),
            ));
        }
        let mut repo = Repo {
            dir: dir.to_path_buf(),
            state_files: Vec::new(),
        };
        let mut args = vec!["rev-parse", "--absolute-git-dir"];
        for file in STATE_FILES {
            args.extend(["--git-path", file]);
        }
        let out = repo.run(&args, None).map_err(|e| {
            // git's one way of saying it, since its first release; anything else (dubious
            // ownership, a corrupt repository) stays a failure with git's own words.
            if e.stderr
                .as_deref()
                .is_some_and(|s| s.contains("not a git repository"))
            {
                RepoError::new(
                    RepoErrorKind::NotARepository,
                    format!("{} is not in a git repository", dir.display()),
                )
            } else {
                e
            }
        })?;
        repo.state_files = out.lines().skip(1).map(|p| dir.join(p)).collect();
        Ok(repo)
    }

    /// The directory the repository was opened at.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Resolves a ref given by the user: a branch, tag, `HEAD`, `origin/main`, a full or
    /// abbreviated commit id.
    pub fn resolve_ref(&self, name: &str) -> Result<Commit, RepoError> {
        let id = self.resolve_ref_id(name)?;
        let mut facts = self.commit_facts(std::slice::from_ref(&id))?;
        Ok(facts.pop().unwrap_or(Commit {
            id,
            time: None,
            subject: None,
        }))
    }

    /// The full commit id a ref names: one git process.
    pub(crate) fn resolve_ref_id(&self, name: &str) -> Result<String, RepoError> {
        let unknown = || {
            RepoError::new(
                RepoErrorKind::UnknownRef,
                format!(
                    "unknown ref {name:?} in {} (a typo, or not fetched yet: git fetch?)",
                    self.dir.display()
                ),
            )
        };
        if name.is_empty() || name.starts_with('-') || name.contains(['\n', '\0']) {
            return Err(unknown());
        }
        let peeled = format!("{name}^{{commit}}");
        match self.run_status(&[
            "rev-parse",
            "--verify",
            "--quiet",
            "--end-of-options",
            &peeled,
        ])? {
            (true, id) => Ok(id),
            // `--verify --quiet` exits 1, silently, for a name it cannot resolve; an
            // abbreviated id may be ambiguous rather than missing.
            (false, _) if is_hex(name) => match self.lookup(&[name])?.pop() {
                Some(Lookup::Ambiguous) => Err(RepoError::new(
                    RepoErrorKind::AmbiguousRef,
                    format!(
                        "the abbreviated id {name} names several commits in {}: give more digits",
                        self.dir.display()
                    ),
                )),
                _ => Err(unknown()),
            },
            (false, _) => Err(unknown()),
        }
    }

    /// What the repository says about each of `ids` (hex commit ids, full or abbreviated), in
    /// order: one git process for all of them.
    pub(crate) fn lookup(&self, ids: &[&str]) -> Result<Vec<Lookup>, RepoError> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let mut input = String::new();
        for id in ids {
            input.push_str(id);
            input.push('\n');
        }
        let out = self.run(
            &["cat-file", "--batch-check=%(objectname) %(objecttype)"],
            Some(&input),
        )?;
        let mut lookups = Vec::with_capacity(ids.len());
        let mut lines = out.lines();
        for id in ids {
            let line = lines.next().unwrap_or_default();
            let lookup = match line.rsplit_once(' ') {
                Some((_, "missing")) => Lookup::Missing,
                Some((_, "ambiguous")) => {
                    // Objects of other types may share the prefix: ask for a commit only.
                    let peeled = format!("{id}^{{commit}}");
                    match self.run_status(&[
                        "rev-parse",
                        "--verify",
                        "--quiet",
                        "--end-of-options",
                        &peeled,
                    ])? {
                        (true, full) => Lookup::Found(full),
                        (false, _) => Lookup::Ambiguous,
                    }
                }
                Some((full, "commit")) => Lookup::Found(full.to_owned()),
                Some((_, other)) => Lookup::NotACommit(other.to_owned()),
                None => {
                    return Err(RepoError {
                        stderr: Some(format!("unexpected output {line:?}")),
                        ..RepoError::new(RepoErrorKind::GitFailed, "git cat-file".into())
                    });
                }
            };
            lookups.push(lookup);
        }
        Ok(lookups)
    }

    /// Time and subject of each full commit id: one git process for all of them.
    pub(crate) fn commit_facts(&self, ids: &[String]) -> Result<Vec<Commit>, RepoError> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let mut args = vec![
            "-c",
            "log.showSignature=false",
            "log",
            "--no-walk=unsorted",
            "--format=%H%x00%ct%x00%s",
            "--end-of-options",
        ];
        args.extend(ids.iter().map(String::as_str));
        let out = self.run(&args, None)?;
        Ok(out
            .lines()
            .filter_map(|line| {
                let mut fields = line.splitn(3, '\0');
                let id = fields.next()?;
                let time = fields
                    .next()?
                    .parse()
                    .ok()
                    .map(Timestamp::from_unix_seconds);
                let subject = fields.next().filter(|s| !s.is_empty()).map(str::to_owned);
                Some(Commit {
                    id: id.to_owned(),
                    time,
                    subject,
                })
            })
            .collect())
    }

    /// How the full commit `served` relates to the full commit `target`: one git process, two
    /// when they diverged (for the merge base).
    pub(crate) fn relation(&self, served: &str, target: &str) -> Result<Relation, RepoError> {
        if served == target {
            return Ok(Relation::Same);
        }
        let range = format!("{served}...{target}");
        let out = self.run(
            &[
                "rev-list",
                "--left-right",
                "--count",
                "--end-of-options",
                &range,
            ],
            None,
        )?;
        let mut counts = out.split_whitespace().map(str::parse::<u64>);
        let (Some(Ok(ahead)), Some(Ok(behind))) = (counts.next(), counts.next()) else {
            return Err(RepoError {
                stderr: Some(format!("unexpected output {out:?}")),
                ..RepoError::new(RepoErrorKind::GitFailed, "git rev-list --count".into())
            });
        };
        Ok(match (ahead, behind) {
            (0, 0) => Relation::Same,
            (0, behind) => Relation::Behind(behind),
            (ahead, 0) => Relation::Ahead(ahead),
            (ahead, behind) => Relation::Diverged {
                merge_base: self.merge_base(served, target)?,
                ahead,
                behind,
            },
        })
    }

    /// The merge base of two commits; `None` for unrelated histories (git exits 1).
    fn merge_base(&self, a: &str, b: &str) -> Result<Option<String>, RepoError> {
        let (found, base) = self.run_status(&["merge-base", "--end-of-options", a, b])?;
        Ok(found.then_some(base))
    }

    /// `git fetch` from the default remote, given at most `timeout` (then killed): a dashboard
    /// that runs for days keeps `origin/main` current this way. Never prompts for credentials.
    pub fn fetch(&self, timeout: std::time::Duration) -> Result<(), RepoError> {
        let mut cmd = self.command(&["fetch", "--quiet"]);
        cmd.stdin(Stdio::null()).stdout(Stdio::null());
        // Its own process group: git runs a remote helper (git-remote-https, ssh) that a hung
        // fetch is stuck in, and that must be stopped with it.
        #[cfg(unix)]
        std::os::unix::process::CommandExt::process_group(&mut cmd, 0);
        let mut child = cmd.spawn().map_err(|e| spawn_error(&["fetch"], e))?;
        // Read what git says while it runs, so a chatty git cannot block on a full pipe.
        let stderr = child.stderr.take();
        let (said_tx, said) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut text = String::new();
            if let Some(mut stderr) = stderr {
                let _ = std::io::Read::read_to_string(&mut stderr, &mut text);
            }
            let _ = said_tx.send(text);
        });
        let started = std::time::Instant::now();
        let status = loop {
            match child.try_wait() {
                Ok(Some(status)) => break Some(status),
                Ok(None) if started.elapsed() >= timeout => {
                    stop_group(&mut child);
                    break None;
                }
                Ok(None) => std::thread::sleep(std::time::Duration::from_millis(20)),
                Err(e) => return Err(spawn_error(&["fetch"], e)),
            }
        };
        // Everything git and its helpers wrote, once they have all exited.
        let stderr = said
            .recv_timeout(std::time::Duration::from_secs(1))
            .unwrap_or_default()
            .trim()
            .to_owned();
        match status {
            Some(s) if s.success() => Ok(()),
            Some(s) => Err(RepoError {
                stderr: (!stderr.is_empty()).then_some(stderr),
                ..RepoError::new(
                    RepoErrorKind::GitFailed,
                    format!(
                        "git fetch {}",
                        s.code().map_or_else(
                            || "was killed".to_owned(),
                            |c| format!("exited with {c}")
                        )
                    ),
                )
            }),
            None => Err(RepoError::new(
                RepoErrorKind::GitFailed,
                format!(
                    "git fetch did not finish within {}s, and was stopped",
                    timeout.as_secs_f64().round()
                ),
            )),
        }
    }

    /// The work tree's top directory, and the files changed since `epoch` (Unix seconds): in
    /// commits on `HEAD` made since, then edited in the work tree since (by modification
    /// time), each once, relative to the top. Three git processes.
    pub(crate) fn changed_since(&self, epoch: i64) -> Result<(PathBuf, Vec<String>), RepoError> {
        let top = PathBuf::from(self.run(&["rev-parse", "--show-toplevel"], None)?);
        let since = format!("--since=@{epoch}");
        let mut paths: Vec<String> = Vec::new();
        // A repository without commits has no HEAD to walk.
        if let (true, _) = self.run_status(&["rev-parse", "--verify", "--quiet", "HEAD"])? {
            let committed = self.run(
                &[
                    "-c",
                    "core.quotePath=false",
                    "log",
                    &since,
                    "--format=",
                    "--name-only",
                    "HEAD",
                ],
                None,
            )?;
            for path in committed.lines().filter(|l| !l.is_empty()) {
                if !paths.iter().any(|p| p == path) {
                    paths.push(path.to_owned());
                }
            }
        }
        let status = self.output(
            &["status", "--porcelain=v1", "-z", "--untracked-files=all"],
            None,
        )?;
        if !status.status.success() {
            return Err(failed(&["status"], &status));
        }
        let status = String::from_utf8_lossy(&status.stdout).into_owned();
        let mut entries = status.split('\0').filter(|e| !e.is_empty());
        let since = std::time::UNIX_EPOCH + std::time::Duration::from_secs(epoch.max(0) as u64);
        while let Some(entry) = entries.next() {
            let (code, path) = entry.split_at(entry.len().min(3));
            // A rename names its source next: skip it.
            if code.starts_with('R') || code.starts_with('C') {
                entries.next();
            }
            let edited = std::fs::symlink_metadata(top.join(path))
                .and_then(|m| m.modified())
                .is_ok_and(|m| m > since);
            if edited && !paths.iter().any(|p| p == path) {
                paths.push(path.to_owned());
            }
        }
        Ok((top, paths))
    }

    /// The commits at the boundary of a shallow clone (whose parents it lacks); empty for a
    /// full clone. Reads `.git/shallow`, starts no process.
    pub(crate) fn shallow_boundary(&self) -> Vec<String> {
        self.state_files
            .get(SHALLOW)
            .and_then(|p| std::fs::read_to_string(p).ok())
            .map(|text| text.lines().map(|l| l.trim().to_owned()).collect())
            .unwrap_or_default()
    }

    /// [`Repo::relation`] in a shallow clone whose boundary is `boundary`: the same answer when
    /// the history between the two commits is whole, else what can still be proven.
    pub(crate) fn relation_in_shallow(
        &self,
        served: &str,
        target: &str,
        boundary: &[String],
    ) -> Result<Relation, RepoError> {
        if served == target {
            return Ok(Relation::Same);
        }
        let range = format!("{served}...{target}");
        let between = self.run(&["rev-list", "--end-of-options", &range], None)?;
        let cut = between
            .lines()
            .chain([served, target])
            .any(|id| boundary.iter().any(|b| b == id));
        if !cut {
            return self.relation(served, target);
        }
        let is_ancestor = |a: &str, b: &str| -> Result<bool, RepoError> {
            Ok(self
                .run_status(&["merge-base", "--is-ancestor", "--end-of-options", a, b])?
                .0)
        };
        Ok(Relation::Cut(if is_ancestor(served, target)? {
            Cut::Behind
        } else if is_ancestor(target, served)? {
            Cut::Ahead
        } else {
            Cut::Unknown
        }))
    }

    /// The fingerprint of the files that change when commits arrive; reading it starts no
    /// process.
    pub(crate) fn state(&self) -> RepoState {
        let mut state = RepoState::default();
        for (slot, path) in state.iter_mut().zip(&self.state_files) {
            *slot = std::fs::metadata(path).and_then(|m| m.modified()).ok();
        }
        state
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new("git");
        cmd.arg("-C")
            .arg(&self.dir)
            .args(args)
            .env("GIT_OPTIONAL_LOCKS", "0")
            .env("GIT_TERMINAL_PROMPT", "0")
            .env("LC_ALL", "C")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        cmd
    }

    /// Runs git with `input` on its standard input; its trimmed standard output, or the error.
    fn run(&self, args: &[&str], input: Option<&str>) -> Result<String, RepoError> {
        let out = self.output(args, input)?;
        if out.status.success() {
            Ok(String::from_utf8_lossy(&out.stdout).trim().to_owned())
        } else {
            Err(failed(args, &out))
        }
    }

    /// Runs a git command whose exit status 1 is an answer ("no"), not a failure: whether it
    /// said yes, and its trimmed standard output.
    fn run_status(&self, args: &[&str]) -> Result<(bool, String), RepoError> {
        let out = self.output(args, None)?;
        let stdout = String::from_utf8_lossy(&out.stdout).trim().to_owned();
        match out.status.code() {
            Some(0) => Ok((true, stdout)),
            Some(1) => Ok((false, stdout)),
            _ => Err(failed(args, &out)),
        }
    }

    fn output(&self, args: &[&str], input: Option<&str>) -> Result<Output, RepoError> {
        let mut cmd = self.command(args);
        cmd.stdin(if input.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        });
        let spawned = cmd.spawn().and_then(|mut child| {
            // Written from another thread while this one reads: git answers line by line, and
            // a long input could otherwise fill both pipes.
            let writer = match (input, child.stdin.take()) {
                (Some(input), Some(mut stdin)) => {
                    let input = input.to_owned();
                    Some(std::thread::spawn(move || {
                        stdin.write_all(input.as_bytes())
                    }))
                }
                _ => None,
            };
            let out = child.wait_with_output()?;
            if let Some(writer) = writer {
                // A git that exits early closes its input; its exit status says why.
                let _ = writer.join();
            }
            Ok(out)
        });
        spawned.map_err(|e| spawn_error(args, e))
    }
}

/// Kills `child`'s process group (git and the helpers it started), then reaps `child`.
fn stop_group(child: &mut std::process::Child) {
    #[cfg(unix)]
    if let Ok(pgid) = libc::pid_t::try_from(child.id()) {
        // SAFETY: kill(2) takes plain integers and touches no memory of ours; the group is the
        // one `process_group(0)` made for this child, whose id is `pgid` until it is reaped
        // below.
        #[allow(unsafe_code)]
        unsafe {
            libc::kill(-pgid, libc::SIGKILL);
        }
    }
    let _ = child.kill();
    let _ = child.wait();
}

fn spawn_error(args: &[&str], e: std::io::Error) -> RepoError {
    let kind = if e.kind() == std::io::ErrorKind::NotFound {
        RepoErrorKind::GitMissing
    } else {
        RepoErrorKind::GitFailed
    };
    let what = match kind {
        RepoErrorKind::GitMissing => "the `git` program was not found (install git)".into(),
        _ => format!("could not run git {}", args.first().copied().unwrap_or("")),
    };
    RepoError {
        source: Some(e),
        ..RepoError::new(kind, what)
    }
}

fn failed(args: &[&str], out: &Output) -> RepoError {
    let stderr = String::from_utf8_lossy(&out.stderr).trim().to_owned();
    let subcommand = args
        .iter()
        .find(|a| !a.starts_with('-') && !a.contains('='))
        .copied()
        .unwrap_or("");
    let status = out
        .status
        .code()
        .map_or_else(|| "was killed".to_owned(), |c| format!("exited with {c}"));
    RepoError {
        stderr: (!stderr.is_empty()).then_some(stderr),
        ..RepoError::new(
            RepoErrorKind::GitFailed,
            format!("git {subcommand} {status}"),
        )
    }
}

fn is_hex(s: &str) -> bool {
    s.len() >= 4 && s.bytes().all(|b| b.is_ascii_hexdigit())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A repository with `n` commits on `main`, made in one `git fast-import` with fixed times
    /// and identity, so the ids are the same on every machine.
    fn repo_with_commits(n: usize) -> (tempfile::TempDir, Repo, Vec<String>) {
        let dir = tempfile::tempdir().unwrap();
        let git = |args: &[&str], input: Option<&str>| -> String {
            let mut child = Command::new("git")
                .arg("-C")
                .arg(dir.path())
                .args(args)
                .env("GIT_CONFIG_NOSYSTEM", "1")
                .env("GIT_CONFIG_GLOBAL", "/dev/null")
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .spawn()
                .unwrap();
            let mut stdin = child.stdin.take().unwrap();
            stdin.write_all(input.unwrap_or("").as_bytes()).unwrap();
            drop(stdin);
            let out = child.wait_with_output().unwrap();
            assert!(out.status.success(), "git {args:?}");
            String::from_utf8(out.stdout).unwrap()
        };
        git(&["init", "-q", "-b", "main"], None);
        let mut stream = String::new();
        for i in 0..n {
            let message = format!("c{i}\n");
            let from = if i == 0 {
                String::new()
            } else {
                format!("from :{i}\n")
            };
            stream.push_str(&format!(
                "commit refs/heads/main\nmark :{}\ncommitter T <t@example.com> {} +0000\ndata {}\n{message}{from}M 644 inline f\ndata {}\n{i}\n\n",
                i + 1,
                1_700_000_000 + i,
                message.len(),
                i.to_string().len() + 1,
            ));
        }
        git(&["fast-import", "--quiet"], Some(&stream));
        let ids = git(&["rev-list", "--reverse", "main"], None)
            .lines()
            .map(str::to_owned)
            .collect();
        let repo = Repo::open(dir.path()).unwrap();
        (dir, repo, ids)
    }

    #[test]
    fn not_a_repository() {
        let dir = tempfile::tempdir().unwrap();
        let err = Repo::open(dir.path()).unwrap_err();
        assert_eq!(err.kind(), RepoErrorKind::NotARepository, "{err}");
        assert!(
            err.to_string().ends_with("is not in a git repository"),
            "{err}"
        );
        let err = Repo::open(dir.path().join("missing")).unwrap_err();
        assert_eq!(err.kind(), RepoErrorKind::NotARepository, "{err}");
        assert!(err.to_string().ends_with("is not a directory"), "{err}");
    }

    #[test]
    fn refs_resolve_or_say_why_not() {
        let (_dir, repo, ids) = repo_with_commits(400);
        let head = repo.resolve_ref("main").unwrap();
        assert_eq!(head.id, ids[399]);
        assert_eq!(head.subject.as_deref(), Some("c399"));
        assert_eq!(head.time.map(|t| t.unix_seconds()), Some(1_700_000_399));
        assert_eq!(repo.resolve_ref(&ids[3][..10]).unwrap().id, ids[3]);
        for name in ["no-such-branch", "", "-n", "main\nHEAD", "0000000"] {
            let err = repo.resolve_ref(name).unwrap_err();
            assert_eq!(err.kind(), RepoErrorKind::UnknownRef, "{name:?}: {err}");
        }
        // 400 commits share many 4-digit prefixes.
        let mut sorted = ids.clone();
        sorted.sort();
        let prefix = sorted
            .windows(2)
            .find(|w| w[0][..4] == w[1][..4])
            .map(|w| w[0][..4].to_owned())
            .expect("a shared prefix among 400 commits");
        let err = repo.resolve_ref(&prefix).unwrap_err();
        assert_eq!(err.kind(), RepoErrorKind::AmbiguousRef, "{err}");
        assert!(err.to_string().contains("names several commits"), "{err}");

        let lookups = repo
            .lookup(&[&ids[7], &ids[8][..7], &"e".repeat(40), &prefix])
            .unwrap();
        assert_eq!(
            lookups,
            [
                Lookup::Found(ids[7].clone()),
                Lookup::Found(ids[8].clone()),
                Lookup::Missing,
                Lookup::Ambiguous
            ]
        );
    }

    #[test]
    fn relations_and_their_counts() {
        let (_dir, repo, ids) = repo_with_commits(10);
        assert_eq!(repo.relation(&ids[9], &ids[9]).unwrap(), Relation::Same);
        assert_eq!(
            repo.relation(&ids[2], &ids[9]).unwrap(),
            Relation::Behind(7)
        );
        assert_eq!(repo.relation(&ids[9], &ids[6]).unwrap(), Relation::Ahead(3));
        let facts = repo
            .commit_facts(&[ids[1].clone(), ids[0].clone()])
            .unwrap();
        assert_eq!(
            facts
                .iter()
                .map(|c| c.subject.as_deref())
                .collect::<Vec<_>>(),
            [Some("c1"), Some("c0")]
        );
    }

    #[test]
    fn a_damaged_repository_is_git_failing() {
        let (dir, repo, _) = repo_with_commits(2);
        std::fs::write(dir.path().join(".git/HEAD"), "garbage\n").unwrap();
        let err = repo.resolve_ref("main").unwrap_err();
        assert_eq!(err.kind(), RepoErrorKind::GitFailed, "{err}");
        assert!(err.git_stderr().is_some_and(|s| !s.is_empty()), "{err}");
    }

    #[test]
    fn state_changes_when_commits_can_arrive() {
        let (dir, repo, _) = repo_with_commits(2);
        let before = repo.state();
        assert_eq!(repo.state(), before, "reading the state changes nothing");
        std::fs::write(dir.path().join(".git/FETCH_HEAD"), "x\n").unwrap();
        assert_ne!(repo.state(), before);
    }
}
