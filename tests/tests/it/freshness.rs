//! "Never stale": after every everyday git operation, the next `cargo build` (no clean) carries
//! the true commit, branch and dirty flag; a no-op build does not rerun the build script.

use shipstamp_tests::{Fixture, TempRepo};

/// What the stamp must say after a step.
struct Expect<'a> {
    commit: &'a str,
    dirty: bool,
    branch: Option<&'a str>,
}

fn check(fx: &Fixture, step: &str, want: Expect<'_>) {
    let (build, stamp) = fx.build_and_run(&[]);
    let git = &stamp.git;
    assert_eq!(
        git.commit.as_deref(),
        Some(want.commit),
        "{step}: commit\n{}",
        build.stderr
    );
    assert_eq!(
        git.dirty,
        Some(want.dirty),
        "{step}: dirty\n{}",
        build.stderr
    );
    assert_eq!(git.branch.as_deref(), want.branch, "{step}: branch");
    let noop = fx.build(&[]);
    assert!(
        !noop.ran_build_script,
        "{step}: a no-op build reran the build script:\n{}",
        noop.stderr
    );
}

#[test]
fn stamp_follows_every_everyday_git_operation() {
    let repo = TempRepo::new();
    let fx = Fixture::write(repo.path(), "fresh-svc");
    repo.write("README.md", "# svc\n");
    let c1 = repo.commit_all("first");
    let main = Some("main");
    check(
        &fx,
        "initial build",
        Expect {
            commit: &c1,
            dirty: false,
            branch: main,
        },
    );

    repo.write("src/lib.rs", "pub fn f() {}\n");
    let c2 = repo.commit_all("new commit");
    check(
        &fx,
        "new commit",
        Expect {
            commit: &c2,
            dirty: false,
            branch: main,
        },
    );

    let c3 = repo.commit_all("empty commit");
    check(
        &fx,
        "empty commit",
        Expect {
            commit: &c3,
            dirty: false,
            branch: main,
        },
    );

    repo.git(&["commit", "-q", "--amend", "--allow-empty", "-m", "amended"]);
    let c3a = repo.head();
    assert_ne!(c3, c3a);
    check(
        &fx,
        "amend",
        Expect {
            commit: &c3a,
            dirty: false,
            branch: main,
        },
    );

    repo.git(&["checkout", "-q", "-b", "feature"]);
    check(
        &fx,
        "branch switch",
        Expect {
            commit: &c3a,
            dirty: false,
            branch: Some("feature"),
        },
    );
    repo.write("src/lib.rs", "pub fn g() {}\n");
    let c4 = repo.commit_all("on feature");
    check(
        &fx,
        "commit on feature",
        Expect {
            commit: &c4,
            dirty: false,
            branch: Some("feature"),
        },
    );

    repo.git(&["checkout", "-q", "main"]);
    check(
        &fx,
        "checkout back",
        Expect {
            commit: &c3a,
            dirty: false,
            branch: main,
        },
    );

    // After pack-refs the loose ref file is gone; the next commit must still be seen.
    repo.git(&["pack-refs", "--all"]);
    check(
        &fx,
        "pack-refs",
        Expect {
            commit: &c3a,
            dirty: false,
            branch: main,
        },
    );
    let c5 = repo.commit_all("after pack-refs");
    check(
        &fx,
        "commit after pack-refs",
        Expect {
            commit: &c5,
            dirty: false,
            branch: main,
        },
    );
    repo.git(&["gc", "-q"]);
    let c6 = repo.commit_all("after gc");
    check(
        &fx,
        "commit after gc",
        Expect {
            commit: &c6,
            dirty: false,
            branch: main,
        },
    );

    // Any tracked file, Rust or not.
    repo.write("README.md", "# svc, edited\n");
    check(
        &fx,
        "edit a tracked non-Rust file",
        Expect {
            commit: &c6,
            dirty: true,
            branch: main,
        },
    );
    repo.git(&["checkout", "--", "README.md"]);
    check(
        &fx,
        "revert the edit",
        Expect {
            commit: &c6,
            dirty: false,
            branch: main,
        },
    );

    repo.write(
        "src/main.rs",
        &format!(
            "{}// edited\n",
            std::fs::read_to_string(fx.dir().join("src/main.rs")).unwrap()
        ),
    );
    check(
        &fx,
        "edit a Rust file",
        Expect {
            commit: &c6,
            dirty: true,
            branch: main,
        },
    );
    repo.git(&["add", "src/main.rs"]);
    check(
        &fx,
        "stage the edit",
        Expect {
            commit: &c6,
            dirty: true,
            branch: main,
        },
    );
    repo.git(&["commit", "-q", "-m", "commit the staged edit"]);
    let c7 = repo.head();
    check(
        &fx,
        "commit the staged edit",
        Expect {
            commit: &c7,
            dirty: false,
            branch: main,
        },
    );

    repo.write("src/new_module.rs", "// untracked\n");
    check(
        &fx,
        "untracked file in src",
        Expect {
            commit: &c7,
            dirty: true,
            branch: main,
        },
    );
    std::fs::remove_file(repo.path().join("src/new_module.rs")).unwrap();
    check(
        &fx,
        "untracked file removed",
        Expect {
            commit: &c7,
            dirty: false,
            branch: main,
        },
    );

    repo.write("notes.log", "ignored\n");
    repo.write(".gitignore", "/target\nCargo.lock\n*.log\n");
    repo.commit_all("ignore logs");
    let c8 = repo.head();
    check(
        &fx,
        "ignored file",
        Expect {
            commit: &c8,
            dirty: false,
            branch: main,
        },
    );
    repo.write("notes.log", "ignored, rewritten\n");
    let noop = fx.build(&[]);
    assert!(
        !noop.ran_build_script,
        "an ignored file's change must not rerun:\n{}",
        noop.stderr
    );

    // At HEAD~1 `*.log` is not ignored yet, so the log file would rightly make it dirty.
    std::fs::remove_file(repo.path().join("notes.log")).unwrap();
    repo.git(&["checkout", "-q", "--detach", "HEAD~1"]);
    check(
        &fx,
        "detached HEAD",
        Expect {
            commit: &c7,
            dirty: false,
            branch: None,
        },
    );
    repo.git(&["checkout", "-q", "main"]);
    repo.git(&["reset", "-q", "--hard", &c5]);
    check(
        &fx,
        "reset --hard",
        Expect {
            commit: &c5,
            dirty: false,
            branch: main,
        },
    );
}

#[test]
fn linked_worktree_is_stamped_and_stays_fresh() {
    let repo = TempRepo::new();
    let _fx = Fixture::write(repo.path(), "wt-main-svc");
    repo.commit_all("first");
    let wt_dir = tempfile::tempdir().unwrap();
    let wt_path = wt_dir.path().join("wt");
    repo.git(&[
        "worktree",
        "add",
        "-q",
        "-b",
        "wt-branch",
        wt_path.to_str().unwrap(),
    ]);
    let wt = TempRepo::at(&wt_path);
    // A second fixture name, so the two binaries do not collide in the shared target dir.
    let fx = Fixture::write(wt.path(), "wt-svc");
    let c1 = wt.commit_all("rename in worktree");
    check(
        &fx,
        "worktree build",
        Expect {
            commit: &c1,
            dirty: false,
            branch: Some("wt-branch"),
        },
    );
    let c2 = wt.commit_all("commit in worktree");
    check(
        &fx,
        "commit in worktree",
        Expect {
            commit: &c2,
            dirty: false,
            branch: Some("wt-branch"),
        },
    );
    wt.write("build.rs", "fn main() { shipstamp_build::stamp(); }\n");
    check(
        &fx,
        "edit in worktree",
        Expect {
            commit: &c2,
            dirty: true,
            branch: Some("wt-branch"),
        },
    );
    // A commit in the main work tree does not move the worktree's HEAD.
    repo.commit_all("main moves on");
    let (_, stamp) = fx.build_and_run(&[]);
    assert_eq!(stamp.git.commit.as_deref(), Some(c2.as_str()));
}
