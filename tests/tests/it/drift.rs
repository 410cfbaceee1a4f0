//! How long drift has lasted: since the oldest commit a target lacks was made, in `check`'s
//! text and JSON and on the dashboard, with real git history (committer times set), real
//! servers and the real CLI.

use std::process::Command;

use serde_json::Value;
use shipstamp_tests::{Reply, StubServer, TempRepo};

use crate::util::{check_in, code, json, stdout, text};

fn doc(commit: &str) -> Reply {
    Reply::shipstamp("orders", commit)
}

/// Commits `rel` with committer and author time `unix` (seconds).
fn commit_at(repo: &TempRepo, rel: &str, message: &str, unix: i64) -> String {
    repo.write(rel, &format!("{message}\n"));
    repo.git(&["add", "-A"]);
    let date = format!("@{unix} +0000");
    let out = shipstamp_tests::git(repo.path())
        .env("GIT_COMMITTER_DATE", &date)
        .env("GIT_AUTHOR_DATE", &date)
        .args(["commit", "-q", "-m", message])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    repo.head()
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

const HOUR: i64 = 3600;
const DAY: i64 = 86_400;

#[test]
fn behind_for_as_long_as_the_oldest_missing_commit() {
    let repo = TempRepo::new();
    let t0 = now() - 3 * DAY;
    let served = commit_at(&repo, "services/a/main.rs", "Add orders", t0);
    // Two days and four hours ago, the fix; then a change elsewhere, an hour ago.
    let fix = commit_at(
        &repo,
        "services/a/main.rs",
        "Fix double emit",
        now() - (2 * DAY + 4 * HOUR + 60),
    );
    commit_at(&repo, "services/b/main.rs", "b: tweak", now() - HOUR);
    let server = StubServer::start(vec![("/version", doc(&served))]);
    let url = server.url("/version");

    let out = check_in(&repo, &[&url, "--ref", "main"]);
    assert_eq!(code(&out), 1, "{}", text(&out));
    let line = stdout(&out).lines().next().unwrap().to_owned();
    assert!(
        line.contains(&format!(
            "2 commits behind main; behind 2 for 2 d 4 h, since {} \"Fix double emit\"",
            &fix[..7]
        )),
        "{line}"
    );

    let out = check_in(&repo, &[&url, "--ref", "main", "--json"]);
    let t: Value = json(&out)["targets"][0].clone();
    assert_eq!(t["drift_commit"], fix.as_str());
    let seconds = t["drift_seconds"].as_u64().unwrap();
    assert!(
        (2 * DAY + 4 * HOUR) as u64 <= seconds && seconds < (2 * DAY + 5 * HOUR) as u64,
        "{t:#}"
    );
    assert_eq!(t["drift_seen"], false);
    let since = t["drift_since"].as_str().unwrap();
    assert!(since.ends_with('Z'), "RFC 3339 UTC: {since}");

    // Within a's paths only the fix counts, and it is still the oldest.
    let out = check_in(
        &repo,
        &[&url, "--ref", "main", "--path", "services/a", "--json"],
    );
    let t: Value = json(&out)["targets"][0].clone();
    assert_eq!(
        (t["behind"].as_u64(), t["drift_commit"].as_str()),
        (Some(1), Some(fix.as_str()))
    );

    // Within b's paths the served build lacks only the tweak: an hour.
    let out = check_in(
        &repo,
        &[&url, "--ref", "main", "--path", "services/b", "--json"],
    );
    let t: Value = json(&out)["targets"][0].clone();
    let seconds = t["drift_seconds"].as_u64().unwrap();
    assert!(
        (HOUR as u64..(HOUR + 600) as u64).contains(&seconds),
        "{t:#}"
    );

    // At the ref, or ahead of it: no drift, no age.
    let out = check_in(&repo, &[&url, "--ref", &served, "--json"]);
    let t: Value = json(&out)["targets"][0].clone();
    assert_eq!(t["status"], "match");
    assert_eq!(
        (t["drift_since"].is_null(), t["drift_seconds"].is_null()),
        (true, true)
    );
}

#[test]
fn diverged_and_lacking_are_aged_too() {
    let repo = TempRepo::new();
    let t0 = now() - 10 * DAY;
    let base = commit_at(&repo, "a.txt", "Initial", t0);
    let fix = commit_at(&repo, "a.txt", "Fix double emit", now() - 5 * DAY);
    commit_at(&repo, "a.txt", "Later on main", now() - DAY);
    // A release branch from before the fix, with a commit of its own.
    repo.git(&["checkout", "-q", "-b", "release", &base]);
    let release = commit_at(&repo, "r.txt", "Release 1.0", now() - 6 * DAY);
    repo.git(&["checkout", "-q", "main"]);
    let server = StubServer::start(vec![("/version", doc(&release))]);
    let url = server.url("/version");

    let out = check_in(&repo, &[&url, "--ref", "main", "--json"]);
    let t: Value = json(&out)["targets"][0].clone();
    assert_eq!(t["status"], "diverged");
    assert_eq!(t["drift_commit"], fix.as_str(), "{t:#}");
    let seconds = t["drift_seconds"].as_u64().unwrap();
    assert!(
        (5 * DAY as u64..(5 * DAY + 600) as u64).contains(&seconds),
        "{t:#}"
    );

    let out = check_in(&repo, &[&url, "--contains", &fix[..7], "--json"]);
    assert_eq!(code(&out), 1, "{}", text(&out));
    let t: Value = json(&out)["targets"][0].clone();
    assert_eq!(t["status"], "lacks");
    assert_eq!(t["drift_commit"], fix.as_str(), "{t:#}");
    let out = check_in(&repo, &[&url, "--contains", &fix[..7]]);
    assert!(stdout(&out).contains("drifting for 5 d"), "{}", text(&out));
}

#[test]
fn the_dashboard_dates_drift_from_the_round_that_saw_it_begin() {
    let repo = TempRepo::new();
    let served = commit_at(&repo, "a.txt", "Initial", now() - 10 * DAY);
    let server = StubServer::start(vec![("/version", doc(&served))]);
    let url = server.url("/version");
    let dir = tempfile::tempdir().unwrap();
    let targets = dir.path().join("targets.txt");
    std::fs::write(&targets, format!("{url}\n")).unwrap();

    // A dashboard on `main`, which the target matches.
    let mut cmd = Command::new(crate::util::cli());
    cmd.current_dir(repo.path())
        .args(["dashboard", "--ref", "main", "--targets"])
        .arg(&targets)
        .args(["--listen", "127.0.0.1:0", "--interval", "200ms"]);
    let dashboard = shipstamp_tests::Service::spawn(cmd);
    let fleet = |want: &dyn Fn(&Value) -> bool| -> Value {
        for _ in 0..200 {
            if let Ok(r) = shipstamp_tests::request(dashboard.addr, "GET", "/api/fleet.json") {
                if let Ok(v) = serde_json::from_slice::<Value>(&r.body) {
                    if want(&v) {
                        return v;
                    }
                }
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        panic!("the dashboard never showed what was expected");
    };
    fleet(&|v| v["targets"][0]["status"] == "match");

    // The ref moves to include a commit made two days ago (a branch merged by fast-forward):
    // the drift is dated from the round that saw it begin, and both are said.
    let old = commit_at(&repo, "a.txt", "Fix made two days ago", now() - 2 * DAY);
    let v = fleet(&|v| v["targets"][0]["status"] == "behind");
    let t = &v["targets"][0];
    assert_eq!(t["drift_seen"], true, "{t:#}");
    assert_eq!(t["drift_commit"], old.as_str());
    assert!(t["drift_seconds"].as_u64().unwrap() < 600, "{t:#}");
    let notes: Vec<&str> = t["notes"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert!(
        notes.iter().any(
            |n| n.contains("(seen beginning; the oldest commit it lacks, ")
                && n.contains("\"Fix made two days ago\", was made 2 d")
        ),
        "{notes:?}"
    );
}
