//! How many `git` processes does a dashboard start per round? The release `shipstamp
//! dashboard` watches 1,000 loopback targets serving 20 distinct commits of one repository
//! (one axum server answering 1,000 paths), every second, for 10 rounds. A `git` shim on `PATH`
//! in front of the real git logs each invocation; the dashboard's `round` field says which
//! round each count belongs to.
//!
//! Run it with `cargo run -p shipstamp-bench --release --bin git_rounds` (about a minute, most
//! of it building the release binary). With `SHIPSTAMP_BASELINE=/path/to/shipstamp` (an older
//! build), it also counts the git processes of one `check` of the same fleet by that binary:
//! before the reusable checker, each dashboard round was such a check.

use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use shipstamp_tests::{GitShim, Service, TempRepo, request};

const TARGETS: usize = 1000;
const COMMITS: usize = 20;
const ROUNDS: u64 = 10;

/// `/t/{n}/version` serves commit `n % COMMITS`.
fn serve(commits: Vec<String>) -> std::net::SocketAddr {
    let bodies: &'static [String] = Box::leak(
        commits
            .iter()
            .map(|c| {
                format!(
                    r#"{{"schema":"shipstamp/v1","package":{{"name":"svc","version":"1.0.0"}},"git":{{"commit":"{c}","dirty":false}}}}"#
                )
            })
            .collect::<Vec<_>>()
            .into_boxed_slice(),
    );
    let app = axum::Router::new().route(
        "/t/{n}/version",
        axum::routing::get(
            move |axum::extract::Path(n): axum::extract::Path<usize>| async move {
                (
                    [(axum::http::header::CONTENT_TYPE, "application/json")],
                    bodies[n % bodies.len()].clone(),
                )
            },
        ),
    );
    shipstamp_tests::serve_axum(app, 2)
}

fn main() {
    let cli = shipstamp_bench::release_cli();
    let repo = TempRepo::new();
    let commits: Vec<String> = (0..COMMITS)
        .map(|i| repo.commit_all(&format!("commit {i}")))
        .collect();
    let addr = serve(commits);
    let targets = repo.path().join("targets.txt");
    let list: String = (0..TARGETS)
        .map(|n| format!("http://{addr}/t/{n}/version host-{n}\n"))
        .collect();
    std::fs::write(&targets, list).expect("targets file");

    let shim = GitShim::new();
    let mut cmd = Command::new(&cli);
    cmd.args([
        "dashboard",
        "--ref",
        "main",
        "--interval",
        "1s",
        "--concurrency",
        "64",
    ])
    .args(["--listen", "127.0.0.1:0", "--targets"])
    .arg(&targets)
    .arg("--repo")
    .arg(repo.path())
    .env("PATH", shim.path());
    let dashboard = Service::spawn(cmd);

    // Git processes started by the end of each round.
    let mut by_round: Vec<(u64, usize)> = Vec::new();
    let start = Instant::now();
    while by_round.last().is_none_or(|(n, _)| *n < ROUNDS) {
        assert!(start.elapsed() < Duration::from_secs(120), "{by_round:?}");
        let r = request(dashboard.addr, "GET", "/api/fleet.json").expect("dashboard answers");
        if r.status == 200 {
            let doc: serde_json::Value = serde_json::from_slice(&r.body).expect("JSON");
            assert_eq!(doc["summary"]["targets"], TARGETS as u64);
            let round = doc["round"].as_u64().expect("round");
            let count = shim.invocations().len();
            if by_round.last().is_none_or(|(n, _)| *n != round) {
                by_round.push((round, count));
            }
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    let (first_round, first_count) = by_round[0];
    assert_eq!(first_round, 1, "the first round was seen");
    let (last_round, last_count) = *by_round.last().expect("rounds");
    let later = last_count - first_count;
    let rounds = (last_round - first_round) as usize;
    println!(
        "shipstamp dashboard, {TARGETS} targets serving {COMMITS} distinct commits: \
         {first_count} git processes up to the end of round 1 (opening the repository included), \
         {later} in rounds 2..{last_round} ({:.2} per round)",
        later as f64 / rounds as f64
    );
    let mut kinds: Vec<(String, usize)> = Vec::new();
    for args in &shim.invocations()[..first_count] {
        let kind = args
            .split_whitespace()
            .skip(2)
            .find(|a| !a.starts_with('-') && !a.contains('='))
            .unwrap_or("?")
            .to_owned();
        match kinds.iter_mut().find(|(k, _)| *k == kind) {
            Some((_, n)) => *n += 1,
            None => kinds.push((kind, 1)),
        }
    }
    println!("round 1 by git subcommand: {kinds:?}");

    for (label, binary) in [
        ("this build", Some(cli)),
        (
            "baseline",
            std::env::var_os("SHIPSTAMP_BASELINE").map(PathBuf::from),
        ),
    ] {
        let Some(binary) = binary else { continue };
        let shim = GitShim::new();
        let out = Command::new(&binary)
            .args(["check", "--ref", "main", "--concurrency", "64", "--targets"])
            .arg(&targets)
            .arg("--repo")
            .arg(repo.path())
            .env("PATH", shim.path())
            .output()
            .expect("check runs");
        assert_eq!(
            out.status.code(),
            Some(1),
            "drift: 950 of 1000 targets are behind"
        );
        println!(
            "one `shipstamp check` of the same fleet, {label} ({}): {} git processes",
            binary.display(),
            shim.invocations().len()
        );
    }
}
