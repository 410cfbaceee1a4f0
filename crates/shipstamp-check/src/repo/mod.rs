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

impl Commit {
    /// A commit known by its id alone (its time and subject set as known): what
    /// [`Repo::resolve_ref`] gives, made by hand, for a test of code that reads reports.
    pub fn new(id: impl Into<String>) -> Commit {
        Commit {
            id: id.into(),
            time: None,
            subject: None,
        }
    }
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

    /// What git wrote to standard error, when it ran and said something, with every URL in it
    /// shown without credentials, query or fragment (git quotes remotes as configured).
    pub fn git_stderr(&self) -> Option<std::borrow::Cow<'_, str>> {
        self.stderr.as_deref().map(shipstamp_format::shown_text)
    }
}

impl fmt::Display for RepoError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.what)?;
        if let Some(first) = self.stderr.as_deref().and_then(|s| s.lines().next()) {
            let first = shipstamp_format::shown_text(first);
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
    /// The work tree's top directory (`dir` in a bare repository): repository-relative paths
    /// are given to git from there.
    top: PathBuf,
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
            top: dir.to_path_buf(),
            state_files: Vec::new(),
        };
        let mut args = vec!["rev-parse", "--absolute-git-dir", "--show-prefix"];
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
        let mut lines = out.lines().skip(1);
        // `sub/dir/` when opened below the top: as many steps up.
        let prefix = lines.next().unwrap_or_default();
        for _ in prefix.split('/').filter(|c| !c.is_empty()) {
            repo.top.push("..");
        }
        repo.state_files = lines.map(|p| dir.join(p)).collect();
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
        Ok(self.relation_and_oldest_missing(served, target)?.0)
    }

    /// [`Repo::relation`], and the oldest commit (by committer time, with its subject) that
    /// `target` has and `served` does not ([`Repo::oldest_missing`] without paths), from the
    /// same walk: one git process listing the commits on each side, two when they diverged.
    pub(crate) fn relation_and_oldest_missing(
        &self,
        served: &str,
        target: &str,
    ) -> Result<(Relation, Option<Commit>), RepoError> {
        if served == target {
            return Ok((Relation::Same, None));
        }
        let range = format!("{served}...{target}");
        let out = self.run(
            &[
                "-c",
                "log.showSignature=false",
                "log",
                "--left-right",
                "--format=%m %H %ct %s",
                "--end-of-options",
                &range,
                "--",
            ],
            None,
        )?;
        let (mut ahead, mut behind) = (0u64, 0u64);
        let mut oldest: Option<(i64, &str, &str)> = None;
        for line in out.lines() {
            let mut fields = line.splitn(4, ' ');
            match (fields.next(), fields.next(), fields.next(), fields.next()) {
                (Some("<"), Some(_), _, _) => ahead += 1,
                (Some(">"), Some(id), Some(time), subject) => {
                    behind += 1;
                    let time = time.parse::<i64>().unwrap_or(i64::MAX);
                    if oldest.is_none_or(|(t, ..)| time < t) {
                        oldest = Some((time, id, subject.unwrap_or("")));
                    }
                }
                _ => {
                    return Err(RepoError {
                        stderr: Some(format!("unexpected output {line:?}")),
                        ..RepoError::new(RepoErrorKind::GitFailed, "git log --left-right".into())
                    });
                }
            }
        }
        // With its facts, as `commit_facts` would give them.
        let oldest = oldest.map(|(time, id, subject)| Commit {
            id: id.to_owned(),
            time: (time != i64::MAX).then(|| Timestamp::from_unix_seconds(time)),
            subject: (!subject.is_empty()).then(|| subject.to_owned()),
        });
        Ok(match (ahead, behind) {
            (0, 0) => (Relation::Same, None),
            (0, behind) => (Relation::Behind(behind), oldest),
            (ahead, 0) => (Relation::Ahead(ahead), None),
            (ahead, behind) => (
                Relation::Diverged {
                    merge_base: self.merge_base(served, target)?,
                    ahead,
                    behind,
                },
                oldest,
            ),
        })
    }

    /// [`Repo::relation`] counting only the commits that change something under `paths`
    /// (literal, repository-relative), given how the two relate as a whole (`whole`, which
    /// decides what cannot be scoped: the same commit, a cut history). One git process, two
    /// when no commit under the paths is found (the trees under them are then compared, so a
    /// history git simplified away never makes a difference look like none).
    pub(crate) fn relation_within(
        &self,
        served: &str,
        target: &str,
        paths: &[String],
        whole: &Relation,
    ) -> Result<Relation, RepoError> {
        let merge_base = match whole {
            Relation::Same | Relation::Cut(_) => return Ok(whole.clone()),
            Relation::Diverged { merge_base, .. } => merge_base.clone(),
            Relation::Behind(_) | Relation::Ahead(_) => None,
        };
        let range = format!("{served}...{target}");
        let mut args = vec![
            "--literal-pathspecs",
            "rev-list",
            "--left-right",
            "--count",
            "--end-of-options",
            &range,
            "--",
        ];
        args.extend(paths.iter().map(String::as_str));
        let out = self.output_in(&self.top, &args, None)?;
        if !out.status.success() {
            return Err(failed(&args, &out));
        }
        let out = String::from_utf8_lossy(&out.stdout);
        let (ahead, behind) = counts(&out, "git rev-list --count -- PATHS")?;
        Ok(match (ahead, behind) {
            (0, 0) => {
                let mut args = vec![
                    "--literal-pathspecs",
                    "diff",
                    "--quiet",
                    "--no-ext-diff",
                    "--end-of-options",
                    served,
                    target,
                    "--",
                ];
                args.extend(paths.iter().map(String::as_str));
                let out = self.output_in(&self.top, &args, None)?;
                match out.status.code() {
                    Some(0) => Relation::Same,
                    Some(1) => whole.clone(),
                    _ => return Err(failed(&args, &out)),
                }
            }
            (0, behind) => Relation::Behind(behind),
            (ahead, 0) => Relation::Ahead(ahead),
            (ahead, behind) => Relation::Diverged {
                merge_base,
                ahead,
                behind,
            },
        })
    }

    /// The oldest commit (by committer time) that `target` has and `served` does not, counting
    /// only commits that change something under `paths` when there are some: since when a
    /// build of `served` has been missing something. One git process.
    pub(crate) fn oldest_missing(
        &self,
        served: &str,
        target: &str,
        paths: &[String],
    ) -> Result<Option<String>, RepoError> {
        let not_served = format!("^{served}");
        let commits = self.times(&[], &[&not_served, target], paths)?;
        Ok(commits
            .into_iter()
            .min_by_key(|(_, time)| *time)
            .map(|(id, _)| id))
    }

    /// The commits of `target`'s history made at or after `since` (Unix seconds), each with
    /// its committer time, counting only commits under `paths` when there are some. One git
    /// process; git stops walking at the first older commit (of a history in date order).
    pub(crate) fn commits_since(
        &self,
        target: &str,
        since: i64,
        paths: &[String],
    ) -> Result<Vec<(String, i64)>, RepoError> {
        let since = format!("--since=@{since}");
        self.times(&[&since], &[target], paths)
    }

    /// `git log` of `revs` with `options` (within `paths`): each commit's id and committer time.
    fn times(
        &self,
        options: &[&str],
        revs: &[&str],
        paths: &[String],
    ) -> Result<Vec<(String, i64)>, RepoError> {
        let mut args = vec![
            "--literal-pathspecs",
            "-c",
            "log.showSignature=false",
            "log",
            "--format=%H %ct",
        ];
        args.extend(options);
        args.push("--end-of-options");
        args.extend(revs);
        args.push("--");
        args.extend(paths.iter().map(String::as_str));
        let out = self.output_in(&self.top, &args, None)?;
        if !out.status.success() {
            return Err(failed(&args, &out));
        }
        Ok(String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter_map(|line| {
                let (id, time) = line.split_once(' ')?;
                Some((id.to_owned(), time.parse().ok()?))
            })
            .collect())
    }

    /// The merge base of two commits; `None` for unrelated histories (git exits 1).
    pub(crate) fn merge_base(&self, a: &str, b: &str) -> Result<Option<String>, RepoError> {
        let (found, base) = self.run_status(&["merge-base", "--end-of-options", a, b])?;
        Ok(found.then_some(base))
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
        // A boundary commit only cuts the count when the walk reaches it: when it is on one
        // side of the range (its missing parents may be on the other). An endpoint at the
        // boundary that the other endpoint reaches is not walked past.
        let cut = between.lines().any(|id| boundary.iter().any(|b| b == id));
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

    fn command(dir: &Path, args: &[&str]) -> Command {
        let mut cmd = Command::new("git");
        cmd.arg("-C")
            .arg(dir)
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

    /// Runs git; its standard output as it is (a diff keeps its trailing newlines).
    fn run_raw(&self, args: &[&str]) -> Result<String, RepoError> {
        let out = self.output(args, None)?;
        if out.status.success() {
            Ok(String::from_utf8_lossy(&out.stdout).into_owned())
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
        self.output_in(&self.dir, args, input)
    }

    /// Runs git in `dir`: its output, whatever its exit status.
    fn output_in(
        &self,
        dir: &Path,
        args: &[&str],
        input: Option<&str>,
    ) -> Result<Output, RepoError> {
        let mut cmd = Repo::command(dir, args);
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

/// The two counts `git rev-list --left-right --count` writes.
fn counts(out: &str, what: &str) -> Result<(u64, u64), RepoError> {
    let mut counts = out.split_whitespace().map(str::parse::<u64>);
    match (counts.next(), counts.next()) {
        (Some(Ok(left)), Some(Ok(right))) => Ok((left, right)),
        _ => Err(RepoError {
            stderr: Some(format!("unexpected output {out:?}")),
            ..RepoError::new(RepoErrorKind::GitFailed, what.into())
        }),
    }
}

fn is_hex(s: &str) -> bool {
    s.len() >= 4 && s.bytes().all(|b| b.is_ascii_hexdigit())
}

mod changes;
pub(crate) use changes::{Containment, KnownChanges, MAX_SEARCHED};
mod fetch;
#[cfg(test)]
mod tests;
