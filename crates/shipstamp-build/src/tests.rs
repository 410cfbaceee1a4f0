//! Unit tests of the whole build-script run against real temporary git repositories.

use super::*;
use std::process::Command;

struct Repo(PathBuf);

impl Repo {
    fn new(name: &str) -> Repo {
        let dir =
            std::env::temp_dir().join(format!("shipstamp-build-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("src")).unwrap();
        std::fs::write(dir.join("Cargo.toml"), "[package]\nname = \"svc\"\n").unwrap();
        std::fs::write(dir.join("src/main.rs"), "fn main() {}\n").unwrap();
        std::fs::write(dir.join(".gitignore"), "/target\n").unwrap();
        let repo = Repo(dir);
        repo.git(&["init", "-q", "-b", "main"]);
        repo
    }

    fn git(&self, args: &[&str]) -> String {
        let out = Command::new("git")
            .arg("-C")
            .arg(&self.0)
            .args([
                "-c",
                "user.name=Test",
                "-c",
                "user.email=test@example.com",
                "-c",
                "commit.gpgsign=false",
            ])
            .args(args)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "git {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap().trim().to_owned()
    }

    fn commit_all(&self, msg: &str) -> String {
        self.git(&["add", "-A"]);
        self.git(&["commit", "-q", "-m", msg]);
        self.git(&["rev-parse", "HEAD"])
    }

    fn run(&self, cfg: &Config, extra: &[(&str, &str)]) -> (Result<Facts, Error>, String) {
        let dir = self.0.to_str().unwrap().to_owned();
        let out_dir = format!("{dir}/target/debug/build/svc-1/out");
        std::fs::create_dir_all(&out_dir).unwrap();
        let mut vars = vec![
            ("CARGO_MANIFEST_DIR", dir.as_str()),
            ("OUT_DIR", out_dir.as_str()),
            ("CARGO_PKG_NAME", "svc"),
            ("CARGO_PKG_VERSION", "1.2.3"),
            ("PROFILE", "debug"),
            ("TARGET", "x86_64-unknown-linux-gnu"),
        ];
        vars.extend_from_slice(extra);
        let env = BuildEnv::fixed(&vars);
        let mut out = Vec::new();
        let result = cfg.run(&env, 1_795_341_600, &mut out);
        (result, String::from_utf8(out).unwrap())
    }
}

impl Drop for Repo {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[test]
fn clean_repository_stamps_head() {
    let repo = Repo::new("clean");
    let head = repo.commit_all("first");
    repo.git(&["tag", "v1.2.3"]);
    let (facts, out) = repo.run(&Config::new(), &[]);
    let facts = facts.unwrap();
    assert_eq!(facts.git.commit.as_deref(), Some(head.as_str()));
    assert_eq!(facts.git.dirty, Some(false));
    assert_eq!(facts.git.branch.as_deref(), Some("main"));
    assert_eq!(facts.git.describe.as_deref(), Some("v1.2.3"));
    assert!(facts.git.commit_time.is_some());
    assert!(out.contains(&format!("\"commit\":\"{head}\"")), "{out}");
    assert!(out.contains("\"source\":\"git\""));
    assert!(out.contains("\"time\":\"2026-11-22T10:00:00Z\""));
    assert!(!out.contains("cargo::warning"), "{out}");
    let stamp_line = out
        .lines()
        .find(|l| l.starts_with("cargo::rustc-env="))
        .unwrap();
    assert!(
        !stamp_line.contains(repo.0.to_str().unwrap()),
        "no absolute path in the stamp"
    );
    // Watches git's HEAD, the branch directory, the index, and the source tree; never the
    // target directory or the git directory as a whole.
    let watched: Vec<&str> = out
        .lines()
        .filter_map(|l| l.strip_prefix("cargo::rerun-if-changed="))
        .collect();
    assert!(
        watched.iter().any(|p| p.ends_with(".git/HEAD")),
        "{watched:?}"
    );
    assert!(
        watched.iter().any(|p| p.ends_with(".git/refs/heads")),
        "{watched:?}"
    );
    assert!(
        watched.iter().any(|p| p.ends_with(".git/index")),
        "{watched:?}"
    );
    assert!(watched.iter().any(|p| p.ends_with("/src")), "{watched:?}");
    assert!(
        !watched
            .iter()
            .any(|p| p.contains("/target") || p.ends_with(".git")),
        "{watched:?}"
    );
    assert!(watched.iter().all(|p| Path::new(p).exists()));
}

#[test]
fn edits_and_untracked_files_are_dirty() {
    let repo = Repo::new("dirty");
    repo.commit_all("first");
    std::fs::write(repo.0.join("src/main.rs"), "fn main() { }\n").unwrap();
    assert_eq!(
        repo.run(&Config::new(), &[]).0.unwrap().git.dirty,
        Some(true)
    );
    repo.git(&["checkout", "--", "src/main.rs"]);
    assert_eq!(
        repo.run(&Config::new(), &[]).0.unwrap().git.dirty,
        Some(false)
    );

    std::fs::write(repo.0.join("notes.txt"), "x").unwrap();
    assert_eq!(
        repo.run(&Config::new(), &[]).0.unwrap().git.dirty,
        Some(true)
    );
    let ignore = Config::new().untracked_files(UntrackedFiles::Ignore);
    assert_eq!(repo.run(&ignore, &[]).0.unwrap().git.dirty, Some(false));
}

#[test]
fn unignored_target_directory_does_not_make_it_dirty() {
    let repo = Repo::new("target");
    std::fs::write(repo.0.join(".gitignore"), "").unwrap();
    repo.commit_all("first");
    // `run` creates target/…/out, which git sees as untracked here.
    assert_eq!(
        repo.run(&Config::new(), &[]).0.unwrap().git.dirty,
        Some(false)
    );
}

#[test]
fn override_takes_precedence() {
    let repo = Repo::new("override");
    repo.commit_all("first");
    let sha = "a".repeat(40);
    let (facts, out) = repo.run(
        &Config::new(),
        &[
            ("SHIPSTAMP_GIT_COMMIT", &sha),
            ("SHIPSTAMP_GIT_DIRTY", "false"),
        ],
    );
    let facts = facts.unwrap();
    assert_eq!(facts.git.commit, Some(sha));
    assert_eq!(facts.git.source, Some(facts::Source::Env));
    assert!(out.contains("cargo::rerun-if-env-changed=SHIPSTAMP_GIT_COMMIT"));
    let watched: Vec<&str> = out
        .lines()
        .filter_map(|l| l.strip_prefix("cargo::rerun-if-changed="))
        .collect();
    assert!(
        watched.len() == 1 && watched[0].ends_with("Cargo.toml"),
        "an override watches no git files, only the manifest (its repository is stamped): {out}"
    );
}

#[test]
fn unrelated_enclosing_repository_is_not_used() {
    let repo = Repo::new("unrelated");
    std::fs::write(repo.0.join(".gitignore"), "/target\n/vendored/\n").unwrap();
    repo.commit_all("first");
    let vendored = repo.0.join("vendored");
    std::fs::create_dir_all(&vendored).unwrap();
    std::fs::write(vendored.join("Cargo.toml"), "[package]\nname = \"v\"\n").unwrap();
    let inner = Repo(vendored);
    let (facts, out) = inner.run(&Config::new(), &[]);
    let facts = facts.unwrap();
    assert_eq!(facts.git.commit, None);
    assert!(
        out.contains("does not track `vendored/Cargo.toml`"),
        "{out}"
    );
    std::mem::forget(inner);
}

#[test]
fn no_repository_falls_back_to_ci_variable_then_warns() {
    let dir = std::env::temp_dir().join(format!("shipstamp-build-norepo-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let repo = Repo(dir);
    let sha = "b".repeat(40);
    let (facts, out) = repo.run(
        &Config::new(),
        &[("GITHUB_SHA", &sha), ("GITHUB_REF_NAME", "main")],
    );
    let facts = facts.unwrap();
    assert_eq!(facts.git.commit, Some(sha));
    assert_eq!(facts.git.dirty, None);
    assert_eq!(facts.git.branch.as_deref(), Some("main"));
    assert!(
        !out.contains("cargo::warning"),
        "a CI fallback is normal: {out}"
    );

    let (facts, out) = repo.run(&Config::new(), &[]);
    assert_eq!(facts.unwrap().git.commit, None);
    let warnings: Vec<&str> = out
        .lines()
        .filter(|l| l.starts_with("cargo::warning="))
        .collect();
    assert_eq!(warnings.len(), 1, "{out}");
    assert!(warnings[0].contains("no git repository"), "{out}");
    assert!(out.contains("\"commit\":null"));

    let (err, out) = repo.run(&Config::new().strict(true), &[]);
    let err = err.unwrap_err();
    assert_eq!(err.kind(), crate::ErrorKind::NoCommit);
    let err = err.to_string();
    assert!(
        err.contains("strict mode") && err.contains("no git repository"),
        "{err}"
    );
    assert!(out.is_empty(), "strict failure writes no stamp");
}

#[test]
fn source_date_epoch_is_honoured_and_validated() {
    let repo = Repo::new("sde");
    repo.commit_all("first");
    let (facts, out) = repo.run(&Config::new(), &[("SOURCE_DATE_EPOCH", "0")]);
    assert_eq!(facts.unwrap().build_time, 0);
    assert!(out.contains("\"time\":\"1970-01-01T00:00:00Z\""));
    assert!(out.contains("cargo::rerun-if-env-changed=SOURCE_DATE_EPOCH"));
    // Not a number, and numbers no RFC 3339 time can write (the runtime could not read the
    // stamp back): the build time is now, with a warning.
    for bad in ["yesterday", "-1", "253402300800", "99999999999999999"] {
        let (facts, out) = repo.run(&Config::new(), &[("SOURCE_DATE_EPOCH", bad)]);
        assert_eq!(facts.unwrap().build_time, 1_795_341_600, "{bad}");
        assert!(out.contains("ignored SOURCE_DATE_EPOCH"), "{bad}: {out}");
    }
}

#[test]
fn outside_a_build_script_is_an_error() {
    let env = BuildEnv::fixed(&[]);
    let err = Config::new().run(&env, 0, Vec::new()).unwrap_err();
    assert!(err.to_string().contains("CARGO_MANIFEST_DIR"));
}
