//! Git facts from the repository that tracks the package, and the paths to watch so the
//! facts are re-read exactly when they can have changed.

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::ffi::OsStr;
use std::io;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::facts::{GitFacts, Source};

/// Why the repository could not be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum RepoProblem {
    /// No repository at or above the package (Docker context, crates.io tarball).
    NoRepository,
    /// The `git` program is not installed.
    GitMissing,
    /// git refuses a repository owned by another user ("dubious ownership").
    DubiousOwnership,
    /// The enclosing repository does not track this package's `Cargo.toml`.
    Untracked { repo_relative_manifest: String },
    /// The repository exists but has no commit yet.
    NoCommit,
    /// git failed in another way; the first line of its message.
    GitFailed(String),
}

impl std::fmt::Display for RepoProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RepoProblem::NoRepository => f.write_str("no git repository at or above the package"),
            RepoProblem::GitMissing => f.write_str("the `git` program was not found"),
            RepoProblem::DubiousOwnership => f.write_str(
                "git refused the repository (\"dubious ownership\": it belongs to another user); \
                 mark it safe with `git config --global --add safe.directory <dir>` or set SHIPSTAMP_GIT_COMMIT",
            ),
            RepoProblem::Untracked { repo_relative_manifest } => write!(
                f,
                "the enclosing git repository does not track `{repo_relative_manifest}`, so its HEAD \
                 is not this package's commit (a new crate not yet `git add`ed, or vendored sources or CARGO_HOME inside a repository)"
            ),
            RepoProblem::NoCommit => f.write_str("the git repository has no commit yet"),
            RepoProblem::GitFailed(msg) => write!(f, "git failed: {msg}"),
        }
    }
}

/// What the repository told us, and what to watch.
#[derive(Debug)]
pub(crate) struct RepoReport {
    /// Facts, when the repository tracks the package and has a commit.
    pub(crate) facts: Result<GitFacts, RepoProblem>,
    /// Paths whose change can change the facts (all exist).
    pub(crate) watch: Vec<PathBuf>,
}

/// Options for reading the repository.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Options<'a> {
    pub(crate) untracked_is_dirty: bool,
    /// The cargo target directory, excluded from the dirty check and never watched.
    pub(crate) target_dir: Option<&'a Path>,
}

pub(crate) fn read(manifest_dir: &Path, opts: Options<'_>) -> RepoReport {
    let layout = match Layout::probe(manifest_dir) {
        Ok(layout) => layout,
        Err(problem) => {
            return RepoReport {
                facts: Err(problem),
                watch: Vec::new(),
            };
        }
    };
    let mut watch = layout.git_watch();
    let git = Git::at(&layout.top);

    let tracked = match git.run_z(&["ls-files", "-z"]) {
        Ok(t) => t,
        Err(e) => return layout.failed(e, watch),
    };
    let manifest = format!("{}Cargo.toml", layout.prefix);
    if !tracked.contains(&manifest) {
        return RepoReport {
            facts: Err(RepoProblem::Untracked {
                repo_relative_manifest: manifest,
            }),
            watch,
        };
    }

    let target_rel = opts
        .target_dir
        .and_then(|t| relative_inside(&layout.top, t));
    let mut excluded: Vec<String> = Vec::new();
    if let Some(rel) = relative_inside(&layout.top, &layout.git_dir) {
        excluded.push(rel);
    }
    excluded.extend(target_rel.clone());
    match git.run_z(&[
        "ls-files",
        "-z",
        "--others",
        "--ignored",
        "--exclude-standard",
        "--directory",
        "--no-empty-directory",
    ]) {
        Ok(ignored) => excluded.extend(
            ignored
                .into_iter()
                .map(|p| p.trim_end_matches('/').to_owned()),
        ),
        Err(e) => return layout.failed(e, watch),
    }
    watch.extend(worktree_watch(&layout.top, &tracked, &excluded));

    let head = match git.run(&[
        "log",
        "-1",
        "--no-show-signature",
        "--format=%H%x00%h%x00%ct",
    ]) {
        Ok(out) => out,
        Err(GitError::Failed(_)) => {
            return RepoReport {
                facts: Err(RepoProblem::NoCommit),
                watch,
            };
        }
        Err(e) => return layout.failed(e, watch),
    };
    let mut fields = head.trim_end().split('\0');
    let commit = fields.next().map(str::to_owned);
    let short = fields.next().map(str::to_owned);
    let commit_time = fields.next().and_then(|t| t.parse().ok());

    let branch = layout
        .head_ref
        .as_deref()
        .map(|r| r.strip_prefix("refs/heads/").unwrap_or(r).to_owned());
    let describe = git
        .run(&["describe", "--tags"])
        .ok()
        .map(|d| d.trim_end().to_owned())
        .filter(|d| !d.is_empty());

    let untracked = if opts.untracked_is_dirty {
        "--untracked-files=normal"
    } else {
        "--untracked-files=no"
    };
    let mut status = vec!["status", "--porcelain", "-z", "--no-renames", untracked];
    let exclude_target;
    if let Some(rel) = &target_rel {
        exclude_target = format!(":(exclude,top){rel}");
        status.extend([":/", exclude_target.as_str()]);
    }
    let dirty = match git.run(&status) {
        Ok(out) => Some(!out.is_empty()),
        Err(e) => return layout.failed(e, watch),
    };

    RepoReport {
        facts: Ok(GitFacts {
            commit,
            short,
            dirty,
            branch,
            describe,
            commit_time,
            source: Some(Source::Git),
        }),
        watch,
    }
}

/// Where the repository keeps the files that change when HEAD, refs or the index do.
#[derive(Debug)]
struct Layout {
    top: PathBuf,
    /// The package directory relative to `top`, with a trailing `/` (or empty).
    prefix: String,
    git_dir: PathBuf,
    head: PathBuf,
    index: PathBuf,
    packed_refs: PathBuf,
    refs: PathBuf,
    reftable: PathBuf,
    /// `refs/heads/<branch>` when HEAD is on a branch.
    head_ref: Option<String>,
}

impl Layout {
    fn probe(manifest_dir: &Path) -> Result<Layout, RepoProblem> {
        let git = Git::at(manifest_dir);
        let out = git
            .run(&[
                "rev-parse",
                "--show-toplevel",
                "--show-prefix",
                "--absolute-git-dir",
                "--git-path",
                "HEAD",
                "--git-path",
                "index",
                "--git-path",
                "packed-refs",
                "--git-path",
                "refs",
                "--git-path",
                "reftable",
            ])
            .map_err(|e| match e {
                GitError::Missing => RepoProblem::GitMissing,
                GitError::Failed(msg) if msg.contains("dubious ownership") => {
                    RepoProblem::DubiousOwnership
                }
                GitError::Failed(msg) if msg.contains("not a git repository") => {
                    RepoProblem::NoRepository
                }
                GitError::Failed(msg) => RepoProblem::GitFailed(first_line(&msg)),
                GitError::Io(msg) => RepoProblem::GitFailed(msg),
            })?;
        let lines: Vec<&str> = out.lines().collect();
        let [
            top,
            prefix,
            git_dir,
            head,
            index,
            packed_refs,
            refs,
            reftable,
        ] = lines[..]
        else {
            return Err(RepoProblem::GitFailed(format!(
                "unexpected `git rev-parse` output: {out:?}"
            )));
        };
        // `--git-path` answers relative to the directory git ran in.
        let path = |p: &str| manifest_dir.join(p);
        let head_ref = git
            .run(&["symbolic-ref", "-q", "HEAD"])
            .ok()
            .map(|r| r.trim_end().to_owned())
            .filter(|r| !r.is_empty());
        Ok(Layout {
            top: PathBuf::from(top),
            prefix: prefix.to_owned(),
            git_dir: PathBuf::from(git_dir),
            head: path(head),
            index: path(index),
            packed_refs: path(packed_refs),
            refs: path(refs),
            reftable: path(reftable),
            head_ref,
        })
    }

    /// Git's own files whose change means HEAD, the branch, tags or the index moved.
    fn git_watch(&self) -> Vec<PathBuf> {
        let mut watch = vec![
            self.head.clone(),
            self.index.clone(),
            self.packed_refs.clone(),
        ];
        // Watch the branch's directory, not only its loose file: after `git pack-refs` the file
        // is gone, and the next commit creates it again, which changes the directory.
        if let Some(branch_dir) = self
            .head_ref
            .as_deref()
            .and_then(|r| r.strip_prefix("refs/"))
            .and_then(|r| Path::new(r).parent())
        {
            let mut dir = self.refs.join(branch_dir);
            while !dir.is_dir() && dir.pop() && dir.starts_with(&self.refs) {}
            watch.push(dir);
        }
        // New tags change `git describe`.
        watch.push(self.refs.join("tags"));
        // Repositories with the reftable backend keep all refs here.
        watch.push(self.reftable.clone());
        watch.retain(|p| p.exists());
        watch
    }

    fn failed(&self, e: GitError, watch: Vec<PathBuf>) -> RepoReport {
        RepoReport {
            facts: Err(match e {
                GitError::Missing => RepoProblem::GitMissing,
                GitError::Failed(msg) => RepoProblem::GitFailed(first_line(&msg)),
                GitError::Io(msg) => RepoProblem::GitFailed(msg),
            }),
            watch,
        }
    }
}

/// The smallest set of existing paths that covers every tracked file and every place a new
/// untracked file can appear, without covering `excluded` paths (the git directory, the target
/// directory, ignored files): a directory watch is recursive, so a directory that holds an
/// excluded path is split into its own tracked files and its subdirectories instead.
///
/// The one gap: a new untracked file directly inside a split directory (usually the repository
/// root) is seen at the next rebuild for any other reason, not at once.
pub(crate) fn worktree_watch(top: &Path, tracked: &[String], excluded: &[String]) -> Vec<PathBuf> {
    // Every excluded path and all its ancestors: these directories must be split.
    let mut split: HashSet<&str> = HashSet::new();
    split.insert("");
    for e in excluded {
        let mut p = e.as_str();
        split.insert(p);
        while let Some(i) = p.rfind('/') {
            p = &p[..i];
            split.insert(p);
        }
    }

    #[derive(Default)]
    struct Dir<'a> {
        files: Vec<&'a str>,
        subdirs: BTreeSet<&'a str>,
    }
    let mut dirs: BTreeMap<&str, Dir<'_>> = BTreeMap::new();
    for path in tracked {
        let (mut parent, _) = path.rsplit_once('/').unwrap_or(("", path));
        dirs.entry(parent).or_default().files.push(path);
        while !parent.is_empty() {
            let grand = parent.rsplit_once('/').map_or("", |(g, _)| g);
            let fresh = !dirs.contains_key(grand) || !dirs[grand].subdirs.contains(parent);
            dirs.entry(grand).or_default().subdirs.insert(parent);
            if !fresh {
                break;
            }
            parent = grand;
        }
    }

    let mut watch = Vec::new();
    let mut stack = vec![""];
    while let Some(dir) = stack.pop() {
        if !split.contains(dir) {
            watch.push(top.join(dir));
            continue;
        }
        if let Some(d) = dirs.get(dir) {
            watch.extend(d.files.iter().map(|f| top.join(f)));
            stack.extend(d.subdirs.iter().rev());
        }
    }
    // A deleted tracked file must not be emitted: cargo reruns on every build for a path
    // that does not exist.
    watch.retain(|p| p.exists());
    watch
}

/// `path` relative to `top` with `/` separators, if it lies inside.
fn relative_inside(top: &Path, path: &Path) -> Option<String> {
    let path = path.canonicalize().ok()?;
    let top = top.canonicalize().ok()?;
    let rel = path.strip_prefix(&top).ok()?;
    if rel.as_os_str().is_empty() {
        return None;
    }
    let parts: Vec<&str> = rel.iter().map(OsStr::to_str).collect::<Option<_>>()?;
    Some(parts.join("/"))
}

fn first_line(s: &str) -> String {
    let line = s
        .lines()
        .map(|l| l.trim_start_matches("fatal: ").trim())
        .find(|l| !l.is_empty())
        .unwrap_or("no message");
    line.to_owned()
}

#[derive(Debug)]
pub(crate) enum GitError {
    Missing,
    Failed(String),
    Io(String),
}

/// Runs git the way a build must: without taking optional locks (a build must never take the
/// index lock from the user's own git), without prompts, with stable messages.
pub(crate) struct Git<'a> {
    dir: &'a Path,
}

impl<'a> Git<'a> {
    pub(crate) fn at(dir: &'a Path) -> Self {
        Git { dir }
    }

    pub(crate) fn run(&self, args: &[&str]) -> Result<String, GitError> {
        let out = Command::new("git")
            .arg("-C")
            .arg(self.dir)
            .args(args)
            .env("GIT_OPTIONAL_LOCKS", "0")
            .env("GIT_TERMINAL_PROMPT", "0")
            .env("LC_ALL", "C")
            .stdin(Stdio::null())
            .output()
            .map_err(|e| match e.kind() {
                io::ErrorKind::NotFound => GitError::Missing,
                _ => GitError::Io(format!("could not run git: {e}")),
            })?;
        if !out.status.success() {
            return Err(GitError::Failed(
                String::from_utf8_lossy(&out.stderr).into_owned(),
            ));
        }
        String::from_utf8(out.stdout)
            .map_err(|_| GitError::Io("git printed something that is not UTF-8".into()))
    }

    /// Runs a `-z` command and splits its NUL-separated output.
    fn run_z(&self, args: &[&str]) -> Result<Vec<String>, GitError> {
        Ok(self
            .run(args)?
            .split('\0')
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn watch_splits_only_directories_holding_excluded_paths() {
        let dir = std::env::temp_dir().join(format!("shipstamp-watch-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        for f in [
            "Cargo.toml",
            "src/main.rs",
            "crates/a/src/lib.rs",
            "crates/a/Cargo.toml",
            "docs/x.md",
        ] {
            let p = dir.join(f);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, "").unwrap();
        }
        std::fs::create_dir_all(dir.join("crates/a/target")).unwrap();
        let tracked = strings(&[
            "Cargo.toml",
            "crates/a/Cargo.toml",
            "crates/a/src/lib.rs",
            "docs/x.md",
            "gone.txt",
            "src/main.rs",
        ]);
        let excluded = strings(&[".git", "crates/a/target"]);
        let mut watch = worktree_watch(&dir, &tracked, &excluded);
        watch.sort();
        let rel: Vec<String> = watch
            .iter()
            .map(|p| p.strip_prefix(&dir).unwrap().to_string_lossy().into_owned())
            .collect();
        assert_eq!(
            rel,
            [
                "Cargo.toml",
                "crates/a/Cargo.toml",
                "crates/a/src",
                "docs",
                "src"
            ],
            "root and crates/a are split (they hold .git and target); gone.txt does not exist"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn first_line_strips_fatal() {
        assert_eq!(first_line("\nfatal: bad thing\nmore"), "bad thing");
        assert_eq!(first_line(""), "no message");
    }
}
