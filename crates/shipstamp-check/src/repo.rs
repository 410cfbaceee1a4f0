//! The local repository, through the `git` CLI: every pipeline that deploys has git, it reads
//! every repository format git does (SHA-256, reftable, partial clones), and it costs the build
//! nothing (gix would add ~150 crates).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

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
}

/// Why the repository could not answer.
#[derive(Debug)]
pub struct RepoError(pub(crate) String);

impl std::fmt::Display for RepoError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for RepoError {}

/// A git repository on disk.
#[derive(Debug, Clone)]
pub struct Repo {
    dir: PathBuf,
}

impl Repo {
    /// Opens the repository containing `dir`.
    pub fn open(dir: &Path) -> Result<Repo, RepoError> {
        let repo = Repo {
            dir: dir.to_path_buf(),
        };
        match repo.git(&["rev-parse", "--git-dir"]) {
            Ok(_) => Ok(repo),
            Err(e) if e.0.contains("not a git repository") => Err(RepoError(format!(
                "{} is not in a git repository (use --repo DIR)",
                dir.display()
            ))),
            Err(e) => Err(e),
        }
    }

    /// Resolves a ref given by the user: a branch, tag, `HEAD`, `origin/main`, a full or
    /// abbreviated commit id.
    pub fn resolve_ref(&self, name: &str) -> Result<Commit, RepoError> {
        if name.starts_with('-') || name.is_empty() {
            return Err(RepoError(format!("{name:?} is not a ref")));
        }
        let id = self
            .git(&[
                "rev-parse",
                "--verify",
                "--quiet",
                "--end-of-options",
                &format!("{name}^{{commit}}"),
            ])
            .map_err(|_| {
                RepoError(format!(
                    "unknown ref {name:?} in {} (a typo, or not fetched yet: git fetch?)",
                    self.dir.display()
                ))
            })?;
        Ok(self.commit(&id))
    }

    /// The full commit for a served id (full or abbreviated), or `None` when the repository
    /// does not have it.
    pub(crate) fn find_commit(&self, id: &str) -> Result<Option<Commit>, RepoError> {
        match self.git(&[
            "rev-parse",
            "--verify",
            "--quiet",
            "--end-of-options",
            &format!("{id}^{{commit}}"),
        ]) {
            Ok(full) => Ok(Some(self.commit(&full))),
            Err(e) if e.0.contains("ambiguous") => Err(RepoError(format!(
                "the abbreviated id {id} is ambiguous in this repository"
            ))),
            // `--quiet` prints nothing for an id the repository does not have.
            Err(e) if e.0.is_empty() => Ok(None),
            Err(e) => Err(e),
        }
    }

    fn commit(&self, id: &str) -> Commit {
        // One git process for both facts: time, a newline, then the subject (which git
        // prints on one line).
        let facts = self
            .git(&["show", "-s", "--no-show-signature", "--format=%ct%n%s", id])
            .unwrap_or_default();
        let (time, subject) = facts.split_once('\n').unwrap_or((&facts, ""));
        Commit {
            id: id.to_owned(),
            time: time.parse().ok().map(Timestamp::from_unix_seconds),
            subject: (!subject.is_empty()).then(|| subject.to_owned()),
        }
    }

    pub(crate) fn relation(&self, served: &str, target: &str) -> Result<Relation, RepoError> {
        if served == target {
            return Ok(Relation::Same);
        }
        let count = |range: String| -> Result<u64, RepoError> {
            self.git(&["rev-list", "--count", &range])?
                .parse()
                .map_err(|_| RepoError("git rev-list --count printed no number".into()))
        };
        if self.is_ancestor(served, target)? {
            return Ok(Relation::Behind(count(format!("{served}..{target}"))?));
        }
        if self.is_ancestor(target, served)? {
            return Ok(Relation::Ahead(count(format!("{target}..{served}"))?));
        }
        let merge_base = self.git(&["merge-base", served, target]).ok();
        Ok(Relation::Diverged {
            merge_base,
            ahead: count(format!("{target}..{served}"))?,
            behind: count(format!("{served}..{target}"))?,
        })
    }

    fn is_ancestor(&self, a: &str, b: &str) -> Result<bool, RepoError> {
        let status = self
            .command(&["merge-base", "--is-ancestor", a, b])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .map_err(|e| RepoError(format!("could not run git: {e}")))?;
        match status.code() {
            Some(0) => Ok(true),
            Some(1) => Ok(false),
            _ => Err(RepoError(format!(
                "git merge-base --is-ancestor {a} {b} failed"
            ))),
        }
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new("git");
        cmd.arg("-C")
            .arg(&self.dir)
            .args(args)
            .env("GIT_OPTIONAL_LOCKS", "0")
            .env("GIT_TERMINAL_PROMPT", "0")
            .env("LC_ALL", "C")
            .stdin(Stdio::null());
        cmd
    }

    /// Runs git; the error holds git's message (empty when it printed none).
    fn git(&self, args: &[&str]) -> Result<String, RepoError> {
        let out = self.command(args).output().map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => RepoError("the `git` program was not found".into()),
            _ => RepoError(format!("could not run git: {e}")),
        })?;
        if out.status.success() {
            Ok(String::from_utf8_lossy(&out.stdout).trim().to_owned())
        } else {
            let msg = String::from_utf8_lossy(&out.stderr);
            Err(RepoError(
                msg.lines()
                    .next()
                    .unwrap_or("")
                    .trim_start_matches("fatal: ")
                    .to_owned(),
            ))
        }
    }
}
