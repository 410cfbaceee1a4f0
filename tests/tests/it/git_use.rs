//! How `check` and `dashboard` use git: the processes they start (counted by a `git` shim on
//! `PATH` in front of the real one), and what they say when git is missing or fails.

use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::Value;
use shipstamp_tests::{GitShim, Reply, Service, StubServer, TempRepo, request};

use crate::util::{cli, code, stdout, text};

fn doc(commit: &str) -> Reply {
    Reply::shipstamp("svc", commit)
}

/// A repository with `n` commits on main, and a server where `/t/{i}` serves commit `i % n`,
/// for `targets` targets.
fn fleet(n: usize, targets: usize) -> (TempRepo, StubServer, Vec<String>) {
    let repo = TempRepo::new();
    let commits: Vec<String> = (0..n).map(|i| repo.commit_all(&format!("c{i}"))).collect();
    let routes: Vec<(String, Reply)> = (0..targets)
        .map(|i| (format!("/t/{i}"), doc(&commits[i % n])))
        .collect();
    let server = StubServer::start(
        routes
            .iter()
            .map(|(p, r)| (p.as_str(), r.clone()))
            .collect(),
    );
    let urls = (0..targets)
        .map(|i| server.url(&format!("/t/{i}")))
        .collect();
    (repo, server, urls)
}

#[test]
fn a_dashboard_in_steady_state_asks_git_once_per_round() {
    let (repo, _server, urls) = fleet(5, 30);
    let shim = GitShim::new();
    let mut cmd = Command::new(cli());
    cmd.args([
        "dashboard",
        "--ref",
        "main",
        "--interval",
        "300ms",
        "--listen",
        "127.0.0.1:0",
    ])
    .arg("--repo")
    .arg(repo.path())
    .args(&urls)
    .env("PATH", shim.path());
    let dashboard = Service::spawn(cmd);

    // The round number and the git processes started so far, once the round is done.
    let round = || -> (u64, usize) {
        loop {
            let r = request(dashboard.addr, "GET", "/api/fleet.json").expect("answers");
            if r.status == 200 {
                let doc: Value = serde_json::from_slice(&r.body).expect("JSON");
                assert_eq!(doc["summary"]["targets"], 30);
                assert_eq!(doc["summary"]["match"], 6, "one commit in five is main");
                return (
                    doc["round"].as_u64().expect("round"),
                    shim.invocations().len(),
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    };
    let (first, after_first) = round();
    let start = Instant::now();
    let (last, after_last) = loop {
        let (n, count) = round();
        if n >= first + 5 {
            break (n, count);
        }
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "rounds stopped at {n}"
        );
        std::thread::sleep(Duration::from_millis(100));
    };
    let rounds = (last - first) as usize;
    let later = &shim.invocations()[after_first..after_last];
    eprintln!(
        "git processes: {after_first} up to round {first}, then {} in {rounds} rounds",
        later.len()
    );
    // Round 1: open, resolve the ref (and its facts), one lookup for the five served commits,
    // their facts, one walk for each of the four that are not main (which counts it and finds
    // the oldest commit it lacks, with its facts: its drift's age).
    if first == 1 {
        assert!(after_first <= 10, "{:#?}", shim.invocations());
    }
    // Then each round only resolves the ref again (the next round's may have started).
    assert!((rounds..=rounds + 1).contains(&later.len()), "{later:#?}");
    assert!(
        later
            .iter()
            .all(|args| args.ends_with("rev-parse --verify --quiet --end-of-options main^{commit}")),
        "{later:#?}"
    );
}

#[test]
fn check_wait_asks_git_once_per_served_commit_however_many_polls() {
    let (repo, server, _) = fleet(3, 0);
    let commits: Vec<String> = ["HEAD~2", "HEAD~1", "HEAD"]
        .iter()
        .map(|r| repo.git(&["rev-parse", r]))
        .collect();
    // A rollout: old commits for a few polls, then main everywhere.
    let rolling = StubServer::start(vec![(
        "/v",
        Reply::Sequence(vec![
            doc(&commits[0]),
            doc(&commits[1]),
            doc(&commits[1]),
            doc(&commits[2]),
        ]),
    )]);
    drop(server);
    let shim = GitShim::new();
    let out = Command::new(cli())
        .args([
            "check",
            "--ref",
            "main",
            "--wait",
            "30s",
            "--interval",
            "100ms",
            "--repo",
        ])
        .arg(repo.path())
        .arg(rolling.url("/v"))
        .env("PATH", shim.path())
        .output()
        .expect("runs");
    assert_eq!(code(&out), 0, "{}", text(&out));
    assert!(text(&out).contains("4 polls"), "{}", text(&out));
    let counts = shim
        .invocations()
        .iter()
        // The walk that counts both sides (and finds the oldest commit missing).
        .filter(|a| a.starts_with("-C") && a.contains(" log --left-right "))
        .count();
    assert_eq!(
        counts,
        2,
        "one count per served commit other than main: {:#?}",
        shim.invocations()
    );
}

#[test]
fn without_git_check_says_so_and_exits_2() {
    let repo = TempRepo::new();
    repo.commit_all("one");
    let empty = tempfile::tempdir().expect("temp dir");
    let out = Command::new(cli())
        .args([
            "check",
            "--ref",
            "main",
            "http://127.0.0.1:9/version",
            "--repo",
        ])
        .arg(repo.path())
        .env("PATH", empty.path())
        .output()
        .expect("runs");
    assert_eq!(code(&out), 2, "{}", text(&out));
    assert!(
        text(&out).contains("the `git` program was not found"),
        "{}",
        text(&out)
    );
}

#[test]
fn a_failing_git_is_an_error_never_unknown_commit() {
    let repo = TempRepo::new();
    let head = repo.commit_all("one");
    let server = StubServer::start(vec![("/v", doc(&head))]);
    // Opening and resolving work; looking up the served commit fails, as in a repository
    // whose objects are damaged.
    let shim = GitShim::failing("cat-file");
    let out = Command::new(cli())
        .args(["check", "--json", "--ref", "main", "--repo"])
        .arg(repo.path())
        .arg(server.url("/v"))
        .env("PATH", shim.path())
        .output()
        .expect("runs");
    assert_eq!(code(&out), 2, "{}", text(&out));
    assert!(!stdout(&out).contains("unknown-commit"), "{}", text(&out));
    assert!(
        text(&out).contains("git cat-file exited with 128: simulated failure"),
        "{}",
        text(&out)
    );

    let html = tempfile::NamedTempFile::new().expect("temp file");
    let out = Command::new(cli())
        .args(["dashboard", "--once", "--ref", "main", "--html"])
        .arg(html.path())
        .arg("--repo")
        .arg(repo.path())
        .arg(server.url("/v"))
        .env("PATH", shim.path())
        .output()
        .expect("runs");
    assert_eq!(code(&out), 2, "{}", text(&out));
    assert!(text(&out).contains("simulated failure"), "{}", text(&out));
}

#[test]
fn ref_errors_say_which_kind() {
    let repo = TempRepo::new();
    repo.commit_all("one");
    let run = |reference: &str| {
        Command::new(cli())
            .args([
                "check",
                "--ref",
                reference,
                "http://127.0.0.1:9/version",
                "--repo",
            ])
            .arg(repo.path())
            .output()
            .expect("runs")
    };
    let out = run("no-such-branch");
    assert_eq!(code(&out), 2);
    assert!(
        text(&out).contains("unknown ref \"no-such-branch\""),
        "{}",
        text(&out)
    );
    // A repository git refuses to read is git's failure, in git's words, not "unknown ref".
    std::fs::write(repo.path().join(".git/HEAD"), "garbage\n").expect("break HEAD");
    let out = run("main");
    assert_eq!(code(&out), 2);
    assert!(!text(&out).contains("unknown ref"), "{}", text(&out));
}

#[test]
fn a_commit_unknown_to_the_dashboard_is_asked_again_after_a_fetch() {
    let repo = TempRepo::new();
    repo.commit_all("one");
    let upstream = tempfile::tempdir().expect("temp dir");
    let status = shipstamp_tests::git(repo.path())
        .args(["clone", "-q", "."])
        .arg(upstream.path())
        .status()
        .expect("git clone");
    assert!(status.success());
    let upstream = TempRepo::at(upstream.path());
    let fix = upstream.commit_all("the fix, not fetched yet");
    let server = StubServer::start(vec![("/v", doc(&fix))]);
    let shim = GitShim::new();
    let mut cmd = Command::new(cli());
    cmd.args([
        "dashboard",
        "--ref",
        "main",
        "--interval",
        "200ms",
        "--listen",
        "127.0.0.1:0",
    ])
    .arg("--repo")
    .arg(repo.path())
    .arg(server.url("/v"))
    .env("PATH", shim.path());
    let dashboard = Service::spawn(cmd);
    let status_of = || -> String {
        let r = request(dashboard.addr, "GET", "/api/fleet.json").expect("answers");
        if r.status != 200 {
            return String::new();
        }
        let doc: Value = serde_json::from_slice(&r.body).expect("JSON");
        doc["targets"][0]["status"]
            .as_str()
            .unwrap_or_default()
            .to_owned()
    };
    let wait_for = |want: &str| {
        let start = Instant::now();
        while status_of() != want {
            assert!(start.elapsed() < Duration::from_secs(30), "never {want}");
            std::thread::sleep(Duration::from_millis(50));
        }
    };
    wait_for("unknown-commit");
    let before = shim.invocations().len();
    std::thread::sleep(Duration::from_millis(1000));
    let quiet = &shim.invocations()[before..];
    assert!(
        quiet.iter().all(|a| a.contains("rev-parse --verify")),
        "an unknown commit is not asked about again while the repository is unchanged: {quiet:#?}"
    );

    let out = repo.try_git(&[
        "fetch",
        "-q",
        upstream.path().to_str().expect("utf-8"),
        "main",
    ]);
    assert!(out.status.success());
    wait_for("ahead");
}
