//! `shipstamp check` against a fleet: 1,000 targets on loopback (one server answering 1,000
//! paths), checked by the release `shipstamp` binary. Prints wall time and peak memory
//! (the child's own maximum resident set, from `wait4`). Target: under 2 s.
//!
//! Run it with `cargo run -p shipstamp-bench --release --bin fleet` (about a minute, most of it
//! building the release binary).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use shipstamp_tests::TempRepo;

const TARGETS: usize = 1000;
const ROUNDS: usize = 5;

fn release_cli() -> PathBuf {
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let out = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
        .current_dir(&workspace)
        .args(["build", "--release", "-p", "shipstamp-cli"])
        .output()
        .expect("cargo runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    workspace.join("target/release/shipstamp")
}

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
    let start = Instant::now();
    // Reaped by `wait4` below, which also reports this child's own peak memory.
    #[allow(clippy::zombie_processes)]
    let child = Command::new(cli)
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
        .arg(repo)
        .stdout(Stdio::piped())
        .spawn()
        .expect("shipstamp runs");
    let pid = child.id() as libc::pid_t;
    let mut stdout = child.stdout.expect("piped");
    let mut text = String::new();
    std::io::Read::read_to_string(&mut stdout, &mut text).expect("read stdout");
    let mut status = 0;
    // SAFETY: an all-zero rusage is valid, and wait4 only writes into the two pointers given.
    #[allow(unsafe_code)]
    let usage = unsafe {
        let mut usage: libc::rusage = std::mem::zeroed();
        let waited = libc::wait4(pid, &mut status, 0, &mut usage);
        assert_eq!(waited, pid, "wait4 failed");
        usage
    };
    let seconds = start.elapsed().as_secs_f64();
    let code = if libc::WIFEXITED(status) {
        libc::WEXITSTATUS(status)
    } else {
        -1
    };
    (seconds, usage.ru_maxrss, code, text)
}

fn main() {
    let cli = release_cli();
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
