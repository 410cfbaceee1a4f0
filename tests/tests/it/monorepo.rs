//! Monorepos, check side: a service's own paths decide its drift (`--path`, the fleet file's
//! `paths`, a served `git.paths`), with real git history, real servers and the real CLI.

use serde_json::Value;
use shipstamp_tests::{Reply, StubServer, TempRepo};

use crate::util::{check_in, cli, code, json, stderr, stdout, text};

/// A shipstamp document for `commit`, with `git.paths` when given.
fn doc(commit: &str, paths: Option<&[&str]>) -> Reply {
    let paths = paths
        .map(|p| format!(r#","paths":{}"#, serde_json::to_string(p).unwrap()))
        .unwrap_or_default();
    Reply::Ok(
        "application/json",
        format!(
            r#"{{"schema":"shipstamp/v1","package":{{"name":"a","version":"1"}},"git":{{"commit":"{commit}","dirty":false{paths}}}}}"#
        )
        .into_bytes(),
    )
}

/// A cargo workspace with services a and b, a's path dependency crates/common, and a
/// Cargo.lock; `a` is the commit that last changed a, then three commits change only b.
struct Monorepo {
    repo: TempRepo,
    a: String,
}

const A_PATHS: [&str; 3] = ["services/a", "crates/common", "Cargo.lock"];

fn monorepo() -> Monorepo {
    let repo = TempRepo::new();
    repo.write(
        "Cargo.toml",
        "[workspace]\nmembers = [\"services/a\", \"services/b\", \"crates/common\"]\n",
    );
    repo.write("Cargo.lock", "version = 4\n");
    repo.write(
        "services/a/Cargo.toml",
        "[package]\nname = \"a\"\n[dependencies]\ncommon = { path = \"../../crates/common\" }\n",
    );
    repo.write("services/a/src/main.rs", "fn main() {}\n");
    repo.write("services/b/Cargo.toml", "[package]\nname = \"b\"\n");
    repo.write("services/b/src/main.rs", "fn main() {}\n");
    repo.write("crates/common/src/lib.rs", "pub fn common() {}\n");
    repo.commit_all("Initial");
    repo.write("services/a/src/main.rs", "fn main() { println!(\"a\"); }\n");
    let a = repo.commit_all("a: say a");
    for i in 0..3 {
        repo.write("services/b/src/main.rs", &format!("fn main() {{ {i}; }}\n"));
        repo.commit_all(&format!("b: change {i}"));
    }
    Monorepo { repo, a }
}

fn paths_args() -> Vec<&'static str> {
    A_PATHS.iter().flat_map(|p| ["--path", *p]).collect()
}

/// The one target of a `--json` run.
fn target(out: &std::process::Output) -> Value {
    json(out)["targets"][0].clone()
}

#[test]
fn commits_elsewhere_are_not_drift() {
    let m = monorepo();
    let server = StubServer::start(vec![("/version", doc(&m.a, None))]);
    let url = server.url("/version");

    // The whole repository: three commits behind, as before.
    let out = check_in(&m.repo, &[&url, "--ref", "main"]);
    assert_eq!(code(&out), 1, "{}", text(&out));
    assert!(
        stdout(&out).contains("3 commits behind main"),
        "{}",
        text(&out)
    );

    // Within a's paths: a match, with the commits elsewhere said.
    let mut args = vec![url.as_str(), "--ref", "main"];
    args.extend(paths_args());
    let out = check_in(&m.repo, &args);
    assert_eq!(code(&out), 0, "{}", text(&out));
    let said = stdout(&out);
    assert!(said.starts_with("match"), "{said}");
    assert!(
        said.contains(
            "main is 3 commits ahead, none under Cargo.lock, crates/common and services/a"
        ),
        "{said}"
    );
    assert!(
        said.contains("under Cargo.lock, crates/common and services/a"),
        "the header names the paths: {said}"
    );
    args.push("--json");
    let t = target(&check_in(&m.repo, &args));
    assert_eq!(t["status"], "match");
    assert_eq!((t["behind"].as_u64(), t["ahead"].as_u64()), (Some(0), None));
    assert_eq!(
        t["scope"],
        serde_json::json!({
            "paths": ["Cargo.lock", "crates/common", "services/a"],
            "from": "given",
            "behind_total": 3,
            "ahead_total": null,
        })
    );
    assert_eq!(
        t["reason"],
        "main is 3 commits ahead, none under Cargo.lock, crates/common and services/a"
    );
    args.pop();

    // A commit to a's path dependency counts; so does one to Cargo.lock.
    m.repo
        .write("crates/common/src/lib.rs", "pub fn common() { 1; }\n");
    m.repo.commit_all("common: change");
    let out = check_in(&m.repo, &args);
    assert_eq!(code(&out), 1, "{}", text(&out));
    assert!(stdout(&out).starts_with("behind 1"), "{}", text(&out));
    assert!(
        stdout(&out).contains(
            "1 commit behind main under Cargo.lock, crates/common and services/a (4 in all)"
        ),
        "{}",
        text(&out)
    );
    m.repo.write("Cargo.lock", "version = 4\n# b\n");
    m.repo.commit_all("lock: update");
    args.push("--json");
    let t = target(&check_in(&m.repo, &args));
    assert_eq!(t["status"], "behind");
    assert_eq!(t["behind"], 2);
    assert_eq!(t["scope"]["behind_total"], 5);
    assert_eq!(t["reason"], Value::Null);
}

#[test]
fn renames_into_and_out_of_the_scope_count() {
    for (from, to) in [
        ("services/b/src/shared.rs", "services/a/src/shared.rs"),
        ("services/a/src/main.rs", "services/b/src/moved.rs"),
    ] {
        let m = monorepo();
        m.repo
            .write("services/b/src/shared.rs", "pub fn shared() {}\n");
        m.repo.commit_all("b: add shared");
        let before = m.repo.head();
        m.repo.git(&["mv", from, to]);
        m.repo.commit_all("move");
        let server = StubServer::start(vec![("/version", doc(&before, None))]);
        let url = server.url("/version");
        let out = check_in(
            &m.repo,
            &[&url, "--ref", "main", "--path", "services/a", "--json"],
        );
        let t = target(&out);
        assert_eq!(t["status"], "behind", "{from} -> {to}: {}", text(&out));
        assert_eq!(t["behind"], 1, "{from} -> {to}");
    }
}

#[test]
fn diverged_follows_the_same_rule() {
    let m = monorepo();
    // A hotfix branch from a's commit that changes only b: diverged from main, not under a.
    m.repo.git(&["checkout", "-q", "-b", "hotfix", &m.a]);
    m.repo.write("services/b/hotfix.txt", "b hotfix\n");
    let elsewhere = m.repo.commit_all("b: hotfix");
    // And one that changes a: diverged under a too.
    m.repo.write("services/a/hotfix.txt", "a hotfix\n");
    let under = m.repo.commit_all("a: hotfix");
    m.repo.git(&["checkout", "-q", "main"]);
    m.repo.write(
        "services/a/src/main.rs",
        "fn main() { println!(\"a2\"); }\n",
    );
    m.repo.commit_all("a: say a2");
    let server = StubServer::start(vec![
        ("/elsewhere", doc(&elsewhere, None)),
        ("/under", doc(&under, None)),
    ]);

    let head = m.repo.head();
    let held = |path: &str| {
        let out = check_in(
            &m.repo,
            &[
                &server.url("/elsewhere"),
                "--ref",
                &head,
                "--path",
                path,
                "--json",
            ],
        );
        (target(&out), text(&out))
    };
    // Under b, both sides have commits: diverged, counted there.
    let (t, said) = held("services/b");
    assert_eq!(t["status"], "diverged", "{said}");
    assert_eq!(
        (t["ahead"].as_u64(), t["behind"].as_u64()),
        (Some(1), Some(3))
    );
    assert_eq!(
        (
            t["scope"]["ahead_total"].as_u64(),
            t["scope"]["behind_total"].as_u64()
        ),
        (Some(1), Some(4))
    );
    // Under the hotfix's own file, only its side has one: ahead.
    let (t, said) = held("services/b/hotfix.txt");
    assert_eq!(t["status"], "ahead", "{said}");
    assert_eq!(
        (t["ahead"].as_u64(), t["behind"].as_u64()),
        (Some(1), Some(0))
    );

    let ref_name = "main";
    let out = check_in(
        &m.repo,
        &[
            &server.url("/elsewhere"),
            "--ref",
            ref_name,
            "--path",
            "crates/common",
        ],
    );
    assert_eq!(code(&out), 0, "{}", text(&out));
    assert!(
        stdout(&out).contains(
            "it and main have diverged (1 commit on its side, 4 on main's), none under crates/common"
        ),
        "{}",
        text(&out)
    );

    let out = check_in(
        &m.repo,
        &[
            &server.url("/under"),
            "--ref",
            "main",
            "--path",
            "services/a",
            "--json",
        ],
    );
    let t = target(&out);
    assert_eq!(t["status"], "diverged", "{}", text(&out));
    assert_eq!(
        (t["ahead"].as_u64(), t["behind"].as_u64()),
        (Some(1), Some(1))
    );
    assert_eq!(t["merge_base"], m.a.as_str());
}

#[test]
fn a_build_scoped_by_its_stamp_is_held_within_it() {
    let m = monorepo();
    let server = StubServer::start(vec![("/version", doc(&m.a, Some(&A_PATHS)))]);
    let url = server.url("/version");

    // No flag: the build's own paths, said so.
    let out = check_in(&m.repo, &[&url, "--ref", "main"]);
    assert_eq!(code(&out), 0, "{}", text(&out));
    assert!(
        stdout(&out).contains("(the paths its build is scoped to)"),
        "{}",
        text(&out)
    );
    let t = target(&check_in(&m.repo, &[&url, "--ref", "main", "--json"]));
    assert_eq!(t["scope"]["from"], "build");
    assert_eq!(t["scope"]["paths"][2], "services/a");

    // --path overrides it: under services/b, three commits behind.
    let t = target(&check_in(
        &m.repo,
        &[&url, "--ref", "main", "--path", "services/b", "--json"],
    ));
    assert_eq!(t["status"], "behind");
    assert_eq!(t["behind"], 3);
    assert_eq!(t["scope"]["from"], "given");

    // --path . is the whole repository, whatever the stamp says.
    let t = target(&check_in(
        &m.repo,
        &[&url, "--ref", "main", "--path", ".", "--json"],
    ));
    assert_eq!(t["status"], "behind");
    assert_eq!(t["scope"], Value::Null);

    // A stamp whose paths are not the repository's (absolute, ..) is held against all of it.
    let bad = StubServer::start(vec![("/version", doc(&m.a, Some(&["/srv/a"])))]);
    let out = check_in(&m.repo, &[&bad.url("/version"), "--ref", "main", "--json"]);
    assert_eq!(code(&out), 2, "an invalid document: {}", text(&out));
}

#[test]
fn opened_from_a_subdirectory_and_in_a_shallow_clone() {
    let m = monorepo();
    let server = StubServer::start(vec![("/version", doc(&m.a, None))]);
    let url = server.url("/version");
    // Paths are the repository's, wherever --repo points inside it.
    let sub = TempRepo::at(m.repo.path().join("services/b"));
    let out = check_in(&sub, &[&url, "--ref", "main", "--path", "services/a"]);
    assert_eq!(code(&out), 0, "{}", text(&out));

    // A shallow clone that holds both commits counts within the paths as well.
    let clone_dir = tempfile::tempdir().unwrap();
    let source = format!("file://{}", m.repo.path().display());
    let out = shipstamp_tests::git(clone_dir.path())
        .args(["clone", "-q", "--depth", "5", &source, "shallow"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out));
    let shallow = TempRepo::at(clone_dir.path().join("shallow"));
    let out = check_in(
        &shallow,
        &[&url, "--ref", "HEAD", "--path", "services/a", "--json"],
    );
    let t = target(&out);
    assert_eq!(t["status"], "match", "{}", text(&out));
    assert_eq!(t["scope"]["behind_total"], 3);
    let out = check_in(
        &shallow,
        &[&url, "--ref", "HEAD", "--path", "services/b", "--json"],
    );
    assert_eq!(target(&out)["behind"], 3, "{}", text(&out));
}

#[test]
fn the_fleet_file_sets_paths_per_service_or_environment() {
    let m = monorepo();
    let server = StubServer::start(vec![("/version", doc(&m.a, None))]);
    let url = server.url("/version");
    let dir = tempfile::tempdir().unwrap();
    let fleet = dir.path().join("fleet.toml");
    std::fs::write(
        &fleet,
        format!(
            r#"
[service.a]
repo = "{repo}"
ref = "main"
paths = ["services/a", "crates/common", "Cargo.lock"]
env.production.targets = ["{url}"]
env.whole.targets = ["{url}"]
env.whole.paths = []

[service.b]
repo = "{repo}"
ref = "main"
paths = ["services/b"]
env.production.targets = ["{url}"]
"#,
            repo = m.repo.path().display()
        ),
    )
    .unwrap();
    let run = |extra: &[&str]| {
        std::process::Command::new(cli())
            .arg("check")
            .arg("--fleet")
            .arg(&fleet)
            .args(extra)
            .output()
            .unwrap()
    };
    let out = run(&["--json"]);
    let doc = json(&out);
    let statuses: Vec<(String, String, String)> = doc["targets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            (
                t["service"].as_str().unwrap().to_owned(),
                t["environment"].as_str().unwrap().to_owned(),
                t["status"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        statuses,
        [
            ("a".into(), "production".into(), "match".into()),
            ("a".into(), "whole".into(), "behind".into()),
            ("b".into(), "production".into(), "behind".into()),
        ],
        "{}",
        text(&out)
    );
    assert_eq!(doc["cells"][0]["text"], "1/1 match (main +3 elsewhere)");
    assert_eq!(
        doc["cells"][0]["builds"][0]["label"],
        "match (main +3 elsewhere)"
    );

    // --contains is not scoped by paths.
    let out = run(&["--contains", &m.a, "--service", "b"]);
    assert_eq!(code(&out), 0, "{}", text(&out));

    // A path outside the repository is the file's mistake, with its line.
    std::fs::write(
        &fleet,
        format!(
            "[service.a]\nrepo = \"{}\"\nref = \"main\"\npaths = [\"../other\"]\nenv.p.targets = [\"{url}\"]\n",
            m.repo.path().display()
        ),
    )
    .unwrap();
    let out = run(&[]);
    assert_eq!(code(&out), 64, "{}", text(&out));
    assert!(
        stderr(&out).contains(":4: service.a.paths[0]: \"../other\" is not a path relative"),
        "{}",
        text(&out)
    );
}

#[test]
fn bad_paths_are_usage_errors() {
    let m = monorepo();
    for (args, says) in [
        (
            vec!["http://127.0.0.1:1/", "--ref", "main", "--path", "/srv/a"],
            "is not a path relative to the repository's top",
        ),
        (
            vec![
                "http://127.0.0.1:1/",
                "--ref",
                "main",
                "--path",
                "a/../../b",
            ],
            "is not a path relative",
        ),
        (
            vec![
                "http://127.0.0.1:1/",
                "--contains",
                "main",
                "--path",
                "services/a",
            ],
            "cannot be used with",
        ),
    ] {
        let out = check_in(&m.repo, &args);
        assert_eq!(code(&out), 64, "{args:?}: {}", text(&out));
        assert!(stderr(&out).contains(says), "{args:?}: {}", text(&out));
    }
}

// The build side: a package-scoped stamp in a real cargo workspace, built with real cargo.

/// A cargo workspace in a repository: `services/a` (package-scoped, depends on `crates/common`
/// by path and on `crates/shared` through `workspace = true`) and `services/b`; `tag` makes the
/// package names unique in the shared target directory.
fn workspace(tag: &str) -> (TempRepo, shipstamp_tests::Fixture) {
    let crates = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../crates")
        .canonicalize()
        .unwrap();
    let repo = TempRepo::new();
    let a = format!("mono-a-{tag}");
    repo.write(
        "Cargo.toml",
        &format!(
            "[workspace]\nmembers = [\"services/a\", \"services/b\", \"crates/common\", \"crates/shared\"]\n\
             resolver = \"3\"\n\n[workspace.dependencies]\nshared = {{ path = \"crates/shared\" }}\n\
             shipstamp = {{ path = {:?} }}\nshipstamp-build = {{ path = {:?} }}\n",
            crates.join("shipstamp"),
            crates.join("shipstamp-build"),
        ),
    );
    repo.write(
        "services/a/Cargo.toml",
        &format!(
            "[package]\nname = \"{a}\"\nversion = \"0.1.0\"\nedition = \"2024\"\n\n\
             [dependencies]\ncommon = {{ path = \"../../crates/common\" }}\nshared.workspace = true\n\
             shipstamp.workspace = true\n\n[build-dependencies]\nshipstamp-build.workspace = true\n\n\
             [dev-dependencies]\ntestkit = {{ path = \"../../crates/testkit\" }}\n"
        ),
    );
    repo.write(
        "services/a/build.rs",
        "fn main() {\n    shipstamp_build::Config::new().scope_to_package().emit();\n}\n",
    );
    repo.write(
        "services/a/src/main.rs",
        "fn main() {\n    common::common();\n    shared::shared();\n    println!(\"{}\", shipstamp::stamp!().to_json());\n}\n",
    );
    repo.write(
        "services/b/Cargo.toml",
        &format!("[package]\nname = \"mono-b-{tag}\"\nversion = \"0.1.0\"\nedition = \"2024\"\n"),
    );
    repo.write("services/b/src/main.rs", "fn main() {}\n");
    for lib in ["common", "shared", "testkit"] {
        repo.write(
            &format!("crates/{lib}/Cargo.toml"),
            &format!("[package]\nname = \"{lib}\"\nversion = \"0.1.0\"\nedition = \"2024\"\n"),
        );
        repo.write(
            &format!("crates/{lib}/src/lib.rs"),
            &format!("pub fn {lib}() {{}}\n"),
        );
    }
    repo.write(".gitignore", "/target\n");
    // Dependencies resolve offline from the workspace's own lock file.
    std::fs::copy(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../Cargo.lock"),
        repo.path().join("Cargo.lock"),
    )
    .unwrap();
    let fixture = shipstamp_tests::Fixture::existing(&repo.path().join("services/a"), &a);
    let build = fixture.build(&[]);
    assert!(build.success, "{}", build.stderr);
    repo.commit_all("Initial");
    (repo, fixture)
}

/// Builds a (asserting success) and reads its stamp: (dirty, paths, whether the build script ran).
fn built(fixture: &shipstamp_tests::Fixture) -> (Option<bool>, Option<Vec<String>>, bool) {
    let (build, stamp) = fixture.build_and_run(&[]);
    (
        stamp.git.dirty,
        stamp.git.paths.clone(),
        build.ran_build_script,
    )
}

#[test]
fn a_package_scoped_build_is_dirty_only_within_its_scope() {
    let (repo, a) = workspace("dirty");
    let (dirty, paths, _) = built(&a);
    assert_eq!(dirty, Some(false));
    assert_eq!(
        paths.unwrap(),
        [
            "Cargo.lock",
            "Cargo.toml",
            "crates/common",
            "crates/shared",
            "services/a"
        ],
        "the package, the workspace's files, its path dependencies (not dev-dependencies)"
    );
    // A no-op build does not run the build script.
    assert!(!built(&a).2, "a no-op build reran the build script");

    // Another service's untracked file or edit: clean, and nothing reruns.
    repo.write("services/b/notes.txt", "scratch\n");
    repo.write("services/b/src/main.rs", "fn main() { 1; }\n");
    let (dirty, _, ran) = built(&a);
    assert_eq!(dirty, Some(false), "b's changes make a dirty");
    assert!(!ran, "b's changes reran a's build script");
    // A dev-dependency is not in the binary.
    repo.write("crates/testkit/src/lib.rs", "pub fn testkit() { 1; }\n");
    assert_eq!(built(&a).0, Some(false));

    // Within the scope: each is dirty, and back to clean once undone.
    for (path, contents) in [
        ("services/a/new.txt", "untracked in a\n"),
        (
            "services/a/src/main.rs",
            "fn main() { common::common(); shared::shared(); println!(\"{}\", shipstamp::stamp!().to_json()); }\n",
        ),
        ("crates/common/src/lib.rs", "pub fn common() { 2; }\n"),
        ("crates/shared/src/lib.rs", "pub fn shared() { 2; }\n"),
        (
            "Cargo.toml",
            &format!(
                "{}\n# edited\n",
                std::fs::read_to_string(repo.path().join("Cargo.toml")).unwrap()
            ),
        ),
    ] {
        let before = std::fs::read_to_string(repo.path().join(path)).ok();
        repo.write(path, contents);
        assert_eq!(built(&a).0, Some(true), "{path}: not dirty");
        match before {
            Some(b) => repo.write(path, &b),
            None => std::fs::remove_file(repo.path().join(path)).unwrap(),
        }
        assert_eq!(built(&a).0, Some(false), "{path}: still dirty once undone");
    }
    // Cargo.lock: a dependency added to b changes the workspace's lock file (cargo rewrites
    // it), and a changed lock file is a changed build of a too.
    let b_manifest = repo.path().join("services/b/Cargo.toml");
    let before = std::fs::read_to_string(&b_manifest).unwrap();
    std::fs::write(
        &b_manifest,
        format!("{before}\n[dependencies]\nshared.workspace = true\n"),
    )
    .unwrap();
    assert_eq!(built(&a).0, Some(true), "Cargo.lock: not dirty");
    assert!(repo.git(&["status", "--porcelain"]).contains("Cargo.lock"));
    std::fs::write(&b_manifest, before).unwrap();
    assert_eq!(
        built(&a).0,
        Some(false),
        "Cargo.lock: still dirty once undone"
    );
}

#[test]
fn check_holds_a_scoped_binary_within_its_own_paths() {
    let (repo, a) = workspace("check");
    let (build, stamp) = a.build_and_run(&[]);
    assert!(build.success);
    assert_eq!(stamp.git.commit.as_deref(), Some(repo.head().as_str()));
    let binary = a.binary("debug");
    // Keep the binary as deployed: the next builds replace it.
    let deployed_dir = tempfile::tempdir().unwrap();
    let deployed = deployed_dir.path().join("a");
    std::fs::copy(&binary, &deployed).unwrap();
    let deployed = format!("file:{}", deployed.display());

    for i in 0..3 {
        repo.write("services/b/src/main.rs", &format!("fn main() {{ {i}; }}\n"));
        repo.commit_all(&format!("b: {i}"));
    }
    let out = check_in(&repo, &[&deployed, "--ref", "main", "--json"]);
    let t = target(&out);
    assert_eq!(t["status"], "match", "{}", text(&out));
    assert_eq!(t["scope"]["from"], "build");
    assert_eq!(t["scope"]["behind_total"], 3);
    assert!(
        t["reason"]
            .as_str()
            .unwrap()
            .contains("main is 3 commits ahead, none under Cargo.lock"),
        "{}",
        text(&out)
    );

    repo.write("crates/common/src/lib.rs", "pub fn common() { 3; }\n");
    repo.commit_all("common: 3");
    let out = check_in(&repo, &[&deployed, "--ref", "main"]);
    assert_eq!(code(&out), 1, "{}", text(&out));
    assert!(stdout(&out).starts_with("behind 1"), "{}", text(&out));
}
