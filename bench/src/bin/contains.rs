//! `check --contains` beside `check --ref`, in one run: 1,000 loopback targets serving 20
//! distinct commits, a release branch among them that received the fix by cherry-pick (so the
//! patch-id search runs too). Each question asked of the same fleet by the release binary,
//! alternating, 7 runs each; medians and their ratio. Target: `--contains` at most 1.10×
//! `--ref`.
//!
//! Run it with `cargo run -p shipstamp-bench --release --bin contains` (about a minute, most of
//! it building the release binary).

use std::process::Command;

use shipstamp_bench::{measure, release_cli};
use shipstamp_tests::TempRepo;

const TARGETS: usize = 1000;
const COMMITS: usize = 20;
const RUNS: usize = 7;

/// Serves `commits[n % commits.len()]` at `/t/{n}/version`.
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
                    bodies[n % bodies.len()].as_str(),
                )
            },
        ),
    );
    shipstamp_tests::serve_axum(app, 2)
}

fn main() {
    let cli = release_cli();
    // main: 18 commits, the fix the 3rd; release (from the 1st): one commit, then the fix
    // cherry-picked. Served: the 18 commits of main and the two of release.
    let repo = TempRepo::new();
    let mut main = vec![repo.commit_all("c0")];
    repo.git(&["branch", "-M", "main"]);
    repo.write("emit.txt", "emit once\n");
    let fix = repo.commit_all("Fix double emit");
    main.push(fix.clone());
    while main.len() < COMMITS - 2 {
        main.push(repo.commit_all(&format!("c{}", main.len())));
    }
    repo.git(&["checkout", "-q", "-b", "release", &main[0]]);
    repo.write("release.txt", "1.4\n");
    let mut served = main.clone();
    served.push(repo.commit_all("release 1.4"));
    repo.git(&["cherry-pick", &fix]);
    served.push(repo.head());
    repo.git(&["checkout", "-q", "main"]);
    assert_eq!(served.len(), COMMITS);
    let addr = serve(served);
    let targets = repo.path().join("targets.txt");
    let list: String = (0..TARGETS)
        .map(|n| format!("http://{addr}/t/{n}/version host-{n}\n"))
        .collect();
    std::fs::write(&targets, list).expect("targets file");
    let run = |question: &[&str]| {
        let mut cmd = Command::new(&cli);
        cmd.arg("check")
            .args(question)
            .args(["--json", "--concurrency", "64", "--targets"])
            .arg(&targets)
            .arg("--repo")
            .arg(repo.path());
        measure(&mut cmd)
    };
    let by_ref = ["--ref", "main"];
    let by_contains = ["--contains", &fix[..7]];
    // Warm-up, not measured.
    let _ = (run(&by_ref), run(&by_contains));
    let (mut refs, mut contains) = (Vec::new(), Vec::new());
    for _ in 0..RUNS {
        let r = run(&by_ref);
        assert_eq!(r.code, 1, "most targets are behind main");
        refs.push(r.seconds);
        let c = run(&by_contains);
        let doc: serde_json::Value = serde_json::from_str(&c.stdout).expect("JSON");
        let lacking = doc["targets"]
            .as_array()
            .map_or(0, |t| t.iter().filter(|t| t["status"] == "lacks").count());
        // c0 and release 1.4 lack the fix: 2 of every 20 targets.
        assert_eq!(
            (c.code, lacking),
            (1, TARGETS / COMMITS * 2),
            "{}",
            c.stdout.len()
        );
        contains.push(c.seconds);
    }
    let median = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    let (r, c) = (median(&mut refs), median(&mut contains));
    println!(
        "shipstamp check, {TARGETS} loopback targets serving {COMMITS} commits (one a cherry-pick \
         of the fix), medians of {RUNS} alternating runs: --ref {r:.3} s, --contains {c:.3} s, \
         ratio {:.2} (target: at most 1.10)",
        c / r
    );
}
