use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// A `git` command with a fixed identity and no user or system configuration, so tests behave
/// the same on a developer machine and on a CI machine without a global git config.
pub fn git(dir: &Path) -> Command {
    let mut cmd = Command::new("git");
    cmd.current_dir(dir)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_AUTHOR_NAME", "Shipstamp Test")
        .env("GIT_AUTHOR_EMAIL", "test@shipstamp.invalid")
        .env("GIT_COMMITTER_NAME", "Shipstamp Test")
        .env("GIT_COMMITTER_EMAIL", "test@shipstamp.invalid")
        .env("GIT_TERMINAL_PROMPT", "0")
        .args([
            "-c",
            "commit.gpgsign=false",
            "-c",
            "tag.gpgsign=false",
            "-c",
            "init.defaultBranch=main",
        ]);
    cmd
}

/// A real git repository in a temporary directory, removed on drop.
#[derive(Debug)]
pub struct TempRepo {
    _tmp: Option<tempfile::TempDir>,
    path: PathBuf,
}

impl TempRepo {
    /// `git init` in a new temporary directory, branch `main`.
    pub fn new() -> TempRepo {
        TempRepo::init(&[])
    }

    /// `git init` with extra arguments, e.g. `--object-format=sha256`.
    pub fn init(args: &[&str]) -> TempRepo {
        let tmp = tempfile::Builder::new()
            .prefix("shipstamp-repo-")
            .tempdir()
            .expect("temp dir");
        let path = tmp.path().canonicalize().expect("canonical temp dir");
        let repo = TempRepo {
            _tmp: Some(tmp),
            path,
        };
        repo.git(&[&["init", "-q"], args].concat());
        repo
    }

    /// `git clone -q --no-checkout SOURCE TO` (a repository of objects and refs, no work tree,
    /// as a watcher keeps one); not removed on drop (`TO`'s directory is the caller's).
    pub fn clone_without_checkout(source: &Path, to: impl Into<PathBuf>) -> TempRepo {
        let to = to.into();
        let out = git(to.parent().expect("a parent directory"))
            .args(["clone", "-q", "--no-checkout"])
            .arg(source)
            .arg(&to)
            .output()
            .expect("git runs");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        TempRepo::at(to)
    }

    /// A repository that already exists at `path` (a clone, a worktree); not removed on drop.
    pub fn at(path: impl Into<PathBuf>) -> TempRepo {
        TempRepo {
            _tmp: None,
            path: path.into(),
        }
    }

    /// The work tree.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Runs git here; panics with git's message when it fails. Returns trimmed stdout.
    pub fn git(&self, args: &[&str]) -> String {
        let out = self.try_git(args);
        assert!(
            out.status.success(),
            "git {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).trim().to_owned()
    }

    /// Runs git here and returns its output, whatever the status.
    pub fn try_git(&self, args: &[&str]) -> Output {
        git(&self.path).args(args).output().expect("git runs")
    }

    /// Writes a file (creating directories) relative to the work tree.
    pub fn write(&self, rel: &str, contents: &str) {
        let p = self.path.join(rel);
        std::fs::create_dir_all(p.parent().expect("has parent")).expect("mkdir");
        std::fs::write(p, contents).expect("write");
    }

    /// `git add -A && git commit`; returns the new HEAD.
    pub fn commit_all(&self, message: &str) -> String {
        self.git(&["add", "-A"]);
        self.git(&["commit", "-q", "--allow-empty", "-m", message]);
        self.head()
    }

    /// The full commit id of HEAD.
    pub fn head(&self) -> String {
        self.git(&["rev-parse", "HEAD"])
    }
}

impl Default for TempRepo {
    fn default() -> Self {
        TempRepo::new()
    }
}
