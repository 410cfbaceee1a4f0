//! A watcher that runs for weeks, in minutes: the release `shipstamp dashboard` over thousands
//! of rounds in which its instances churn, and its memory read every few hundred rounds.
//!
//! - Every round, the name behind `--each-address` resolves to new addresses (32 instances
//!   on 127.x.y.z, each a real server that answers), as pods behind a headless Service do in
//!   a rollout: every round brings instance names never seen before.
//! - Every 50 rounds the ref moves (a commit on `main`), and the instances serve the commit
//!   before it (`behind 1`) or the ref's: the checker meets new commits and pairs of commits.
//! - `/metrics` is scraped every 10 rounds.
//!
//! Run side by side: `--forget-after 10s` (an instance is remembered 100 rounds after it left),
//! against the default hour, which no instance of this run outlives: what forgetting bounds.
//! The dashboard gets `/etc/hosts` of its own (a bind mount in a mount namespace of its own,
//! so it needs root and `unshare`); nothing outside it changes.
//!
//! Run it with `cargo run -p shipstamp-bench --release --bin soak` (about 12 minutes;
//! `SOAK_ROUNDS=N` for another length, default 3,000).

use std::net::SocketAddr;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use shipstamp_bench::release_cli;
use shipstamp_tests::{Reply, Service, StubServer, TempRepo, request};

const INSTANCES: usize = 32;
const PORT: u16 = 39_917;
const MOVE_REF_EVERY: u64 = 50;
const SCRAPE_EVERY: u64 = 10;
const SAMPLES: usize = 6;

fn main() {
    let rounds: u64 = std::env::var("SOAK_ROUNDS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(3000);
    if !Command::new("unshare")
        .args(["--mount", "true"])
        .status()
        .is_ok_and(|s| s.success())
    {
        eprintln!("soak needs root and unshare(1): the dashboard gets an /etc/hosts of its own");
        std::process::exit(1);
    }
    let cli = release_cli();
    println!(
        "{rounds} rounds of {INSTANCES} instances, all new every round; the ref moves every \
         {MOVE_REF_EVERY} rounds. Resident memory (VmRSS, MiB) of the dashboard after round:"
    );
    let marks: Vec<u64> = (1..=SAMPLES as u64)
        .map(|i| rounds * i / SAMPLES as u64)
        .collect();
    println!(
        "{:<24} {}",
        "",
        marks.iter().map(|m| format!("{m:>7}")).collect::<String>()
    );
    for forget_after in ["10s", "1h"] {
        let (rss, seconds) = soak(&cli, rounds, forget_after, &marks);
        println!(
            "{:<24} {}   ({:.0} s, {:.0} ms a round)",
            format!("--forget-after {forget_after}"),
            rss.iter().map(|r| format!("{r:>7.1}")).collect::<String>(),
            seconds,
            seconds * 1000.0 / rounds as f64
        );
    }
}

/// One dashboard over `rounds` churning rounds: its VmRSS in MiB after each of `marks`, and the
/// wall time.
fn soak(cli: &Path, rounds: u64, forget_after: &str, marks: &[u64]) -> (Vec<f64>, f64) {
    let repo = TempRepo::new();
    let mut commits = vec![repo.commit_all("first"), repo.commit_all("second")];
    repo.git(&["branch", "-M", "main"]);
    let dir = tempfile::tempdir().expect("temp dir");
    let hosts = dir.path().join("hosts");
    let mut addresses = Addresses::default();
    let mut servers = serve(&mut addresses, &commits, &hosts);

    let script = format!(
        "mount --bind {} /etc/hosts && exec \"$0\" \"$@\"",
        hosts.display()
    );
    let mut cmd = Command::new("unshare");
    cmd.args(["--mount", "sh", "-c", &script])
        .arg(cli)
        .args([
            "dashboard",
            "--listen",
            "127.0.0.1:0",
            "--interval",
            "100ms",
        ])
        .args(["--forget-after", forget_after, "--ref", "main", "--repo"])
        .arg(repo.path())
        .arg("--each-address")
        .arg(format!("http://soak.test:{PORT}/version"));
    let dashboard = Service::spawn(cmd);
    let start = Instant::now();
    let mut round = 0;
    let mut rss = Vec::new();
    while round < rounds {
        let now = wait_for_round_after(dashboard.addr, round);
        if now / MOVE_REF_EVERY != round / MOVE_REF_EVERY {
            commits.push(repo.commit_all(&format!("commit at round {now}")));
        }
        round = now;
        // The old servers stop before the new ones start: their addresses are never reused.
        drop(servers);
        servers = serve(&mut addresses, &commits, &hosts);
        if round % SCRAPE_EVERY == 0 {
            let metrics = request(dashboard.addr, "GET", "/metrics").expect("/metrics");
            assert_eq!(metrics.status, 200);
        }
        while rss.len() < marks.len() && round >= marks[rss.len()] {
            rss.push(resident_mib(dashboard.pid()));
        }
    }
    let seconds = start.elapsed().as_secs_f64();
    // The instances answered: a churn of unreachable ones would measure less.
    let last = request(dashboard.addr, "GET", "/api/fleet.json").expect("document");
    let document: serde_json::Value = serde_json::from_slice(&last.body).expect("JSON");
    println!("  last round: {}", document["summary"]["statuses"]);
    (rss, seconds)
}

/// Addresses on 127/8 never handed out before.
#[derive(Default)]
struct Addresses(u32);

impl Addresses {
    fn next(&mut self) -> SocketAddr {
        self.0 += 1;
        let n = self.0;
        SocketAddr::from(([127, 1 + (n >> 16) as u8, (n >> 8) as u8, n as u8], PORT))
    }
}

/// New instances behind `soak.test`: half serve the ref's commit, half the one before.
fn serve(addresses: &mut Addresses, commits: &[String], hosts: &Path) -> Vec<StubServer> {
    let [.., before, latest] = commits else {
        unreachable!("two commits at least")
    };
    let servers: Vec<StubServer> = (0..INSTANCES)
        .map(|i| {
            let commit = if i % 2 == 0 { latest } else { before };
            StubServer::start_at(
                addresses.next(),
                vec![("/version", Reply::shipstamp("soak", commit))],
            )
        })
        .collect();
    let lines: String = servers
        .iter()
        .map(|s| format!("{} soak.test\n", s.addr().ip()))
        .collect();
    // In place: the bind mount holds this file's inode.
    std::fs::write(hosts, lines).expect("write hosts");
    servers
}

/// Waits for a round after `round` to be published, and returns its number.
fn wait_for_round_after(addr: SocketAddr, round: u64) -> u64 {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let published = request(addr, "GET", "/api/fleet.json")
            .ok()
            .and_then(|r| r.header("x-shipstamp-round")?.parse::<u64>().ok());
        if let Some(now) = published.filter(|now| *now > round) {
            return now;
        }
        assert!(Instant::now() < deadline, "no round after {round}");
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn resident_mib(pid: u32) -> f64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("status");
    let kib: f64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmRSS");
    kib / 1024.0
}
