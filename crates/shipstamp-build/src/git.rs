//! Git facts from the repository that tracks the package, and the paths to watch so the
//! facts are re-read exactly when they can have changed.

use std::collections::HashSet;
use std::ffi::OsStr;
use std::io;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::facts::{GitFacts, Source};
use crate::scope;

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
                 mark it safe with `git config --global --add safe.directory <dir>` (the next \
                 build stamps again; `touch build.rs` if your git configuration file did not \
                 exist before) or set SHIPSTAMP_GIT_COMMIT",
            ),
            RepoProblem::Untracked {
                repo_relative_manifest,
            } => write!(
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
    /// A package-scoped build ([`crate::Config::scope_to_package`]).
    pub(crate) scoped: bool,
    /// More paths, relative to the package: in its scope, or watched when outside the
    /// repository.
    pub(crate) also: &'a [PathBuf],
}

/// Reads the facts with three git processes: where things are (and the branch), the status
/// (dirty, ignored, whether the manifest is tracked), and the commit (with `describe`).
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

    // What the build is judged and watched within: the whole work tree, or the package's scope
    // (repository-relative; a package at the top is all of it).
    let scope: Option<Vec<String>> = opts.scoped.then(|| {
        scope::package_scope(&layout.top, manifest_dir, opts.also)
            .iter()
            .filter_map(|p| relative_inside(&layout.top, p))
            .collect::<Vec<String>>()
    });
    // A package at the top of its repository is all of it.
    let scope = scope.filter(|paths| !paths.is_empty() && !paths.iter().any(|p| p.is_empty()));
    for path in opts.also {
        let path = manifest_dir.join(path);
        if path.exists() && relative_inside(&layout.top, &path).is_none() {
            watch.push(path);
        }
    }

    let target_rel = opts
        .target_dir
        .and_then(|t| relative_inside(&layout.top, t));
    let mut status: Vec<String> = [
        "status",
        "--porcelain",
        "-z",
        "--no-renames",
        "--ignored",
        "--untracked-files=normal",
        "--",
    ]
    .map(str::to_owned)
    .to_vec();
    match &scope {
        Some(paths) => status.extend(paths.iter().map(|p| format!(":(top,literal){p}"))),
        None => status.push(":/".to_owned()),
    }
    if let Some(rel) = &target_rel {
        status.push(format!(":(exclude,top,literal){rel}"));
    }
    let status: Vec<&str> = status.iter().map(String::as_str).collect();
    let entries = match git.run_z(&status) {
        Ok(entries) => entries,
        Err(e) => return layout.failed(e, watch),
    };
    let mut excluded: Vec<String> = vec![".git".to_owned()];
    excluded.extend(relative_inside(&layout.top, &layout.git_dir));
    excluded.extend(target_rel.clone());
    let mut dirty = false;
    let mut outside: Vec<&str> = Vec::new();
    for entry in &entries {
        let (code, path) = entry.split_at(entry.len().min(3));
        match code {
            "!! " => {
                excluded.push(path.trim_end_matches('/').to_owned());
                outside.push(path);
            }
            "?? " => {
                dirty |= opts.untracked_is_dirty;
                outside.push(path);
            }
            _ => dirty = true,
        }
    }
    // The package's manifest must be tracked: else the repository's HEAD is not its commit.
    let manifest = format!("{}Cargo.toml", layout.prefix);
    if outside
        .iter()
        .any(|p| *p == manifest || (p.ends_with('/') && manifest.starts_with(p)))
    {
        return RepoReport {
            facts: Err(RepoProblem::Untracked {
                repo_relative_manifest: manifest,
            }),
            watch,
        };
    }
    match &scope {
        Some(paths) => {
            for path in paths {
                watch.extend(worktree_watch(&layout.top, path, &excluded));
            }
        }
        None => watch.extend(worktree_watch(&layout.top, "", &excluded)),
    }

    let Some(head) = &layout.head_commit else {
        return RepoReport {
            facts: Err(RepoProblem::NoCommit),
            watch,
        };
    };
    let out = match git.run(&[
        "log",
        "-1",
        "--no-show-signature",
        "--format=%H%x00%h%x00%ct%x00%(describe:tags=true)",
        head,
    ]) {
        Ok(out) => out,
        Err(e) => return layout.failed(e, watch),
    };
    let mut fields = out.trim_end().split('\0');
    let commit = fields.next().map(str::to_owned);
    let short = fields.next().map(str::to_owned);
    let commit_time = fields.next().and_then(|t| t.parse().ok());
    let describe = match fields.next() {
        // git before 2.32 knows no %(describe): it prints the placeholder.
        Some(d) if d.starts_with("%(") => git
            .run(&["describe", "--tags"])
            .ok()
            .map(|d| d.trim_end().to_owned()),
        d => d.map(str::to_owned),
    }
    .filter(|d| !d.is_empty());
    let branch = layout
        .head_ref
        .as_deref()
        .map(|r| r.strip_prefix("refs/heads/").unwrap_or(r).to_owned());

    RepoReport {
        facts: Ok(GitFacts {
            commit,
            short,
            dirty: Some(dirty),
            branch,
            describe,
            commit_time,
            source: Some(Source::Git),
            paths: scope,
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
    /// HEAD's commit; `None` before the first commit.
    head_commit: Option<String>,
}

impl Layout {
    /// One `git rev-parse` (two in a repository without a commit, for its branch).
    fn probe(manifest_dir: &Path) -> Result<Layout, RepoProblem> {
        let git = Git::at(manifest_dir);
        let asked = [
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
            "HEAD",
            "--symbolic-full-name",
            "HEAD",
        ];
        // Without a commit, HEAD does not resolve: git says so and fails, after the rest.
        let out = match git.run_output(&asked) {
            Ok(out) => out,
            Err(e) => {
                return Err(match e {
                    GitError::Missing => RepoProblem::GitMissing,
                    GitError::Failed(msg) if msg.contains("dubious ownership") => {
                        RepoProblem::DubiousOwnership
                    }
                    GitError::Failed(msg) if msg.contains("not a git repository") => {
                        RepoProblem::NoRepository
                    }
                    GitError::Failed(msg) => RepoProblem::GitFailed(first_line(&msg)),
                    GitError::Io(msg) => RepoProblem::GitFailed(msg),
                });
            }
        };
        let lines: Vec<&str> = out.lines().collect();
        let (head_commit, head_name) = match lines.get(8..) {
            Some([commit, name]) => (Some((*commit).to_owned()), Some((*name).to_owned())),
            _ => (None, None),
        };
        let Some(
            &[
                top,
                prefix,
                git_dir,
                head,
                index,
                packed_refs,
                refs,
                reftable,
            ],
        ) = lines.get(..8)
        else {
            return Err(RepoProblem::GitFailed(format!(
                "unexpected `git rev-parse` output: {out:?}"
            )));
        };
        // `--git-path` answers relative to the directory git ran in.
        let path = |p: &str| manifest_dir.join(p);
        let head_ref = match head_name {
            // Detached: `HEAD`.
            Some(name) => Some(name).filter(|n| n.starts_with("refs/")),
            // No commit yet: the branch the first commit will create.
            None => git
                .run(&["symbolic-ref", "-q", "HEAD"])
                .ok()
                .map(|r| r.trim_end().to_owned())
                .filter(|r| !r.is_empty()),
        };
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
            head_commit,
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

/// The smallest set of existing paths that covers everything under `start` (repository-relative,
/// `""` for the whole work tree) and every place a new file can appear there, without covering
/// `excluded` paths (the git directory, the target directory, ignored files): a directory watch
/// is recursive, so a directory that holds an excluded path is split into its entries instead.
///
/// The one gap: a new file directly inside a split directory (usually the repository root) is
/// seen at the next rebuild for any other reason, not at once.
pub(crate) fn worktree_watch(top: &Path, start: &str, excluded: &[String]) -> Vec<PathBuf> {
    let is_excluded = |rel: &str| {
        excluded.iter().any(|e| {
            rel == e
                || rel
                    .strip_prefix(e.as_str())
                    .is_some_and(|r| r.starts_with('/'))
        })
    };
    if is_excluded(start) {
        return Vec::new();
    }
    // Every excluded path's ancestors: these directories must be split.
    let mut split: HashSet<&str> = HashSet::new();
    split.insert("");
    for e in excluded {
        let mut p = e.as_str();
        while let Some(i) = p.rfind('/') {
            p = &p[..i];
            split.insert(p);
        }
    }
    let mut watch = Vec::new();
    let mut stack = vec![start.to_owned()];
    while let Some(rel) = stack.pop() {
        let path = top.join(&rel);
        if !split.contains(rel.as_str()) || !path.is_dir() {
            // A path that does not exist must not be emitted: cargo would rerun every build.
            if path.exists() {
                watch.push(path);
            }
            continue;
        }
        let Ok(entries) = std::fs::read_dir(&path) else {
            continue;
        };
        let mut names: Vec<std::ffi::OsString> = entries.flatten().map(|e| e.file_name()).collect();
        names.sort();
        for name in names.iter().rev() {
            match name.to_str() {
                Some(name) => {
                    let child = if rel.is_empty() {
                        name.to_owned()
                    } else {
                        format!("{rel}/{name}")
                    };
                    if !is_excluded(&child) {
                        stack.push(child);
                    }
                }
                // Not a name git printed, so not an excluded one.
                None => watch.push(path.join(name)),
            }
        }
    }
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
        match self.output(args)? {
            (true, out, _) => Ok(out),
            (false, _, err) => Err(GitError::Failed(err)),
        }
    }

    /// Whether git succeeded, and its standard output and error.
    fn output(&self, args: &[&str]) -> Result<(bool, String, String), GitError> {
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
        let stdout = String::from_utf8(out.stdout)
            .map_err(|_| GitError::Io("git printed something that is not UTF-8".into()))?;
        Ok((
            out.status.success(),
            stdout,
            String::from_utf8_lossy(&out.stderr).into_owned(),
        ))
    }

    /// As [`Git::run`], but a HEAD that does not resolve (no commit yet) is not a failure:
    /// what git printed before it is the answer.
    fn run_output(&self, args: &[&str]) -> Result<String, GitError> {
        match self.output(args)? {
            (true, out, _) => Ok(out),
            (false, out, err) if err.contains("unknown revision") && !out.is_empty() => Ok(out),
            (false, _, err) => Err(GitError::Failed(err)),
        }
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
            "crates/a/target/debug/x",
            "docs/x.md",
            ".git/HEAD",
        ] {
            let p = dir.join(f);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, "").unwrap();
        }
        let excluded = strings(&[".git", "crates/a/target"]);
        let relative = |watch: Vec<PathBuf>| -> Vec<String> {
            let mut rel: Vec<String> = watch
                .iter()
                .map(|p| p.strip_prefix(&dir).unwrap().to_string_lossy().into_owned())
                .collect();
            rel.sort();
            rel
        };
        assert_eq!(
            relative(worktree_watch(&dir, "", &excluded)),
            [
                "Cargo.toml",
                "crates/a/Cargo.toml",
                "crates/a/src",
                "docs",
                "src"
            ],
            "root and crates/a are split (they hold .git and target)"
        );
        assert_eq!(
            relative(worktree_watch(&dir, "crates/a", &excluded)),
            ["crates/a/Cargo.toml", "crates/a/src"],
            "a scope path is split the same way"
        );
        assert_eq!(relative(worktree_watch(&dir, "docs", &excluded)), ["docs"]);
        assert!(worktree_watch(&dir, "crates/a/target/debug", &excluded).is_empty());
        assert!(worktree_watch(&dir, "gone", &excluded).is_empty());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn first_line_strips_fatal() {
        assert_eq!(first_line("\nfatal: bad thing\nmore"), "bad thing");
        assert_eq!(first_line(""), "no message");
    }
}
