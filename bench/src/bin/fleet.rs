//! `shipstamp check` against a fleet: 1,000 targets on loopback (one server answering 1,000
//! paths), checked by the release `shipstamp` binary. Prints wall time and peak memory
//! (the child's own maximum resident set, from `wait4`). Target: under 2 s.
//!
//! Run it with `cargo run -p shipstamp-bench --release --bin fleet` (about a minute, most of it
//! building the release binary).

use std::path::Path;
use std::process::Command;

use shipstamp_tests::TempRepo;

const TARGETS: usize = 1000;
const ROUNDS: usize = 5;

/// Serves the same shipstamp/v1 document for `commit` at `/t/{n}/version`.
fn serve(commit: &str) -> std::net::SocketAddr {
    let body: &'static str = Box::leak(
        format!(
            r#"{{"schema":"shipstamp/v1","package":{{"name":"svc","version":"1.0.0"}},"git":{{"commit":"{commit}","dirty":false}},"process":{{"started_at":"2099-01-01T00:00:00Z","uptime_seconds":1,"exe_replaced":false}}}}"#
        )
        .into_boxed_str(),
    );
    let app = axum::Router::new().route(
        "/t/{n}/version",
        axum::routing::get(move || async move {
            (
                [(axum::http::header::CONTENT_TYPE, "application/json")],
                body,
            )
        }),
    );
    shipstamp_tests::serve_axum(app, 2)
}

/// Runs the CLI once: (seconds, peak resident KiB, exit code, stdout).
fn run_once(cli: &Path, repo: &Path, targets: &Path) -> (f64, i64, i32, String) {
    let run = shipstamp_bench::measure(
        Command::new(cli)
            .args([
                "check",
                "--ref",
                "HEAD",
                "--json",
                "--concurrency",
                "64",
                "--targets",
            ])
            .arg(targets)
            .arg("--repo")
            .arg(repo),
    );
    (run.seconds, run.peak_kib, run.code, run.stdout)
}

fn main() {
    let cli = shipstamp_bench::release_cli();
    let repo = TempRepo::new();
    repo.commit_all("one");
    let head = repo.commit_all("two");
    let addr = serve(&head);
    let targets = repo.path().join("targets.txt");
    let list: String = (0..TARGETS)
        .map(|n| format!("http://{addr}/t/{n}/version host-{n}\n"))
        .collect();
    std::fs::write(&targets, list).expect("targets file");
    // Warm-up, not measured: disk and page caches, the server's first connections.
    let _ = run_once(&cli, repo.path(), &targets);

    let mut runs = Vec::new();
    for _ in 0..ROUNDS {
        let (seconds, kib, code, out) = run_once(&cli, repo.path(), &targets);
        let doc: serde_json::Value = serde_json::from_str(&out).expect("JSON output");
        let matching = doc["targets"]
            .as_array()
            .map_or(0, |t| t.iter().filter(|t| t["status"] == "match").count());
        assert_eq!((code, matching), (0, TARGETS), "every target should match");
        runs.push((seconds, kib));
    }
    runs.sort_by(|a, b| a.0.total_cmp(&b.0));
    let (median, peak) = (
        runs[ROUNDS / 2].0,
        runs.iter().map(|r| r.1).max().unwrap_or(0),
    );
    println!(
        "shipstamp check, {TARGETS} loopback targets, --concurrency 64, {ROUNDS} runs: \
         wall time median {median:.2} s (best {:.2} s, worst {:.2} s), peak memory {:.1} MiB; target: under 2 s.",
        runs[0].0,
        runs[ROUNDS - 1].0,
        peak as f64 / 1024.0
    );
}
