//! "Never breaks a build": every environment without usable git still builds, with nulls and
//! one warning, or the facts from the next source in line.

use shipstamp::GitSource;
use shipstamp_tests::{Fixture, TempRepo};

const SHA: &str = "0123456789abcdef0123456789abcdef01234567";

fn warnings(stderr: &str) -> Vec<&str> {
    stderr
        .lines()
        .filter(|l| l.contains("warning: ") && l.contains("shipstamp:"))
        .collect()
}

#[test]
fn no_repository_builds_with_nulls_and_one_warning() {
    let dir = tempfile::tempdir().unwrap();
    let fx = Fixture::write(dir.path(), "nogit-svc");
    let (build, stamp) = fx.build_and_run(&[]);
    assert_eq!(stamp.git.commit, None);
    assert_eq!(stamp.git.source, None);
    assert_eq!(stamp.package.name, "nogit-svc");
    let w = warnings(&build.stderr);
    assert_eq!(w.len(), 1, "{}", build.stderr);
    assert!(w[0].contains("no git repository"), "{}", w[0]);
}

/// Outside git there is no repository to watch; the package's own manifest still is: its
/// `repository` is stamped, and an edit of it shows at the next build.
#[test]
fn outside_git_an_edited_repository_field_is_stamped_at_the_next_build() {
    let dir = tempfile::tempdir().unwrap();
    let fx = Fixture::write(dir.path(), "nogit-repo-svc");
    let set = |url: &str| {
        let manifest = std::fs::read_to_string(dir.path().join("Cargo.toml")).unwrap();
        let kept: Vec<&str> = manifest
            .lines()
            .filter(|l| !l.starts_with("repository"))
            .collect();
        let manifest = kept.join("\n").replacen(
            "edition = \"2024\"",
            &format!("edition = \"2024\"\nrepository = \"{url}\""),
            1,
        );
        std::fs::write(dir.path().join("Cargo.toml"), manifest + "\n").unwrap();
    };
    set("https://example.com/acme/old");
    let (_, stamp) = fx.build_and_run(&[]);
    assert_eq!(
        stamp.package.repository.as_deref(),
        Some("https://example.com/acme/old")
    );
    set("https://example.com/acme/new");
    let (_, stamp) = fx.build_and_run(&[]);
    assert_eq!(
        stamp.package.repository.as_deref(),
        Some("https://example.com/acme/new")
    );
}

#[test]
fn ci_variable_then_override_then_source_date_epoch() {
    let dir = tempfile::tempdir().unwrap();
    let fx = Fixture::write(dir.path(), "ci-svc");
    let (build, stamp) = fx.build_and_run(&[("GITHUB_SHA", SHA), ("GITHUB_REF_NAME", "release")]);
    assert_eq!(stamp.git.commit.as_deref(), Some(SHA));
    assert_eq!(stamp.git.short.as_deref(), Some("0123456"));
    assert_eq!(stamp.git.branch.as_deref(), Some("release"));
    assert_eq!(
        stamp.git.dirty, None,
        "a CI variable does not say whether the tree was dirty"
    );
    assert_eq!(stamp.git.source, Some(GitSource::Env));
    assert!(warnings(&build.stderr).is_empty(), "{}", build.stderr);

    // A changed variable is re-read (rerun-if-env-changed).
    let other = "f".repeat(40);
    let (_, stamp) = fx.build_and_run(&[("GITHUB_SHA", &other)]);
    assert_eq!(stamp.git.commit, Some(other));

    let (build, stamp) = fx.build_and_run(&[("GITHUB_SHA", "not-a-commit")]);
    assert_eq!(stamp.git.commit, None);
    assert!(
        build.stderr.contains("ignored GITHUB_SHA"),
        "{}",
        build.stderr
    );

    let (_, stamp) = fx.build_and_run(&[
        ("GITHUB_SHA", SHA),
        ("SHIPSTAMP_GIT_COMMIT", &"e".repeat(40)),
        ("SHIPSTAMP_GIT_DIRTY", "true"),
        ("SOURCE_DATE_EPOCH", "1700000000"),
    ]);
    assert_eq!(
        stamp.git.commit,
        Some("e".repeat(40)),
        "the override comes first"
    );
    assert_eq!(stamp.git.dirty, Some(true));
    assert_eq!(
        stamp.build.time.unwrap().to_string(),
        "2023-11-14T22:13:20Z"
    );
}

#[test]
fn cargo_vcs_info_json_is_used_without_a_repository() {
    let dir = tempfile::tempdir().unwrap();
    let fx = Fixture::write(dir.path(), "vcsinfo-svc");
    std::fs::write(
        dir.path().join(".cargo_vcs_info.json"),
        format!("{{\n  \"git\": {{\n    \"sha1\": \"{SHA}\"\n  }},\n  \"path_in_vcs\": \"\"\n}}"),
    )
    .unwrap();
    let (build, stamp) = fx.build_and_run(&[("GITHUB_SHA", &"f".repeat(40))]);
    assert_eq!(
        stamp.git.commit.as_deref(),
        Some(SHA),
        "the package's own record beats a CI variable"
    );
    assert_eq!(stamp.git.dirty, Some(false));
    assert_eq!(stamp.git.source, Some(GitSource::CargoVcsInfo));
    assert!(warnings(&build.stderr).is_empty(), "{}", build.stderr);
}

#[test]
fn shallow_clone_and_sha256_repository() {
    let origin = TempRepo::new();
    Fixture::write(origin.path(), "origin-svc");
    origin.commit_all("one");
    origin.commit_all("two");
    let head = origin.commit_all("three");
    let dir = tempfile::tempdir().unwrap();
    let clone = dir.path().join("clone");
    let url = format!("file://{}", origin.path().display());
    let out = shipstamp_tests::git(dir.path())
        .args(["clone", "-q", "--depth", "1", &url, clone.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let fx = Fixture::write(&clone, "shallow-svc");
    let clone_repo = TempRepo::at(&clone);
    let head2 = clone_repo.commit_all("rename in clone");
    let (build, stamp) = fx.build_and_run(&[]);
    assert_ne!(head, head2);
    assert_eq!(
        stamp.git.commit.as_deref(),
        Some(head2.as_str()),
        "{}",
        build.stderr
    );
    assert_eq!(stamp.git.dirty, Some(false));

    let repo = TempRepo::init(&["--object-format=sha256"]);
    let fx = Fixture::write(repo.path(), "sha256-svc");
    let head = repo.commit_all("first");
    assert_eq!(head.len(), 64);
    let (_, stamp) = fx.build_and_run(&[]);
    assert_eq!(stamp.git.commit, Some(head));
}

#[test]
fn crate_inside_an_unrelated_repository_is_not_stamped_with_its_head() {
    let outer = TempRepo::new();
    outer.write(".gitignore", "/vendor/\n");
    outer.commit_all("outer");
    let fx = Fixture::write(&outer.path().join("vendor/svc"), "vendored-svc");
    let (build, stamp) = fx.build_and_run(&[]);
    assert_eq!(stamp.git.commit, None, "{}", build.stderr);
    assert!(
        build
            .stderr
            .contains("does not track `vendor/svc/Cargo.toml`"),
        "{}",
        build.stderr
    );
}

#[test]
fn submodule_is_stamped_with_its_own_commit() {
    let inner = TempRepo::new();
    Fixture::write(inner.path(), "sub-origin-svc");
    let inner_head = inner.commit_all("inner");
    let outer = TempRepo::new();
    outer.commit_all("outer");
    let url = format!("file://{}", inner.path().display());
    outer.git(&[
        "-c",
        "protocol.file.allow=always",
        "submodule",
        "add",
        "-q",
        &url,
        "svc",
    ]);
    outer.commit_all("add submodule");
    let fx = Fixture::write(&outer.path().join("svc"), "sub-svc");
    let sub = TempRepo::at(outer.path().join("svc"));
    let sub_head = sub.commit_all("rename");
    assert_ne!(sub_head, inner_head);
    let (_, stamp) = fx.build_and_run(&[]);
    assert_eq!(stamp.git.commit, Some(sub_head));
    assert_eq!(stamp.git.dirty, Some(false));
}

#[test]
fn missing_git_binary_still_builds() {
    let repo = TempRepo::new();
    let fx = Fixture::write(repo.path(), "gitless-svc");
    repo.commit_all("first");
    // A PATH with every program but git.
    let bin = tempfile::tempdir().unwrap();
    let path = std::env::var("PATH").unwrap();
    for dir in std::env::split_paths(&path) {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for e in entries.flatten() {
            let name = e.file_name();
            let link = bin.path().join(&name);
            if name != "git" && !link.exists() {
                let _ = std::os::unix::fs::symlink(e.path(), link);
            }
        }
    }
    let build = fx.build_with(&[], |cmd| {
        cmd.env("PATH", bin.path());
    });
    assert!(build.success, "{}", build.stderr);
    let stamp = fx.run();
    assert_eq!(stamp.git.commit, None);
    assert!(
        build.stderr.contains("the `git` program was not found"),
        "{}",
        build.stderr
    );
}

#[test]
#[ignore = "needs root, to hand the repository to another user (.ci/run runs it)"]
fn dubious_ownership_still_builds() {
    assert!(is_root(), "run as root: only root can chown the repository");
    let repo = TempRepo::new();
    let fx = Fixture::write(repo.path(), "dubious-svc");
    repo.commit_all("first");
    let status = std::process::Command::new("chown")
        .args(["-R", "65534:65534"])
        .arg(repo.path())
        .status()
        .unwrap();
    assert!(status.success());
    // A home of its own, whose git configuration file exists (as it does once git is used).
    let home = tempfile::tempdir().unwrap();
    let gitconfig = home.path().join(".gitconfig");
    std::fs::write(&gitconfig, "").unwrap();
    let home_env = [("HOME", home.path().to_str().unwrap())];
    let (build, stamp) = fx.build_and_run(&home_env);
    assert_eq!(stamp.git.commit, None);
    assert!(
        build.stderr.contains("dubious ownership"),
        "{}",
        build.stderr
    );
    let (_, stamp) = fx.build_and_run(&[("SHIPSTAMP_GIT_COMMIT", SHA), home_env[0]]);
    assert_eq!(stamp.git.commit.as_deref(), Some(SHA));
    // The warning's own advice, followed: the next build stamps the commit, no touch needed.
    let (_, stamp) = fx.build_and_run(&home_env);
    assert_eq!(stamp.git.commit, None);
    let out = std::process::Command::new("git")
        .args(["config", "--file"])
        .arg(&gitconfig)
        .args(["--add", "safe.directory"])
        .arg(repo.path())
        .output()
        .unwrap();
    assert!(out.status.success());
    let (build, stamp) = fx.build_and_run(&home_env);
    assert!(
        stamp.git.commit.is_some(),
        "still null after safe.directory: {}",
        build.stderr
    );
}

#[test]
fn strict_mode_fails_the_build_with_a_reason() {
    let dir = tempfile::tempdir().unwrap();
    let fx = Fixture::write_with_build_rs(
        dir.path(),
        "strict-svc",
        "fn main() {\n    shipstamp_build::Config::new().strict(true).emit();\n}\n",
    );
    let build = fx.build(&[]);
    assert!(!build.success);
    assert!(
        build
            .stderr
            .contains("shipstamp (strict mode): no git commit known"),
        "{}",
        build.stderr
    );
    // It stamps nothing: it fails, and says so.
    assert!(
        build.stderr.contains("the build fails in strict mode") && !build.stderr.contains("null"),
        "{}",
        build.stderr
    );
    let (_, stamp) = fx.build_and_run(&[("CI_COMMIT_SHA", SHA)]);
    assert_eq!(stamp.git.commit.as_deref(), Some(SHA));
}

fn is_root() -> bool {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata("/proc/self")
        .map(|m| m.uid() == 0)
        .unwrap_or(false)
}
