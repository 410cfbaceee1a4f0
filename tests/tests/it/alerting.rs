//! Drift reaches people through the engines they alert with: a real Prometheus scrapes a real
//! `shipstamp dashboard` watching a real example service and a real unstamped Python worker,
//! evaluates `integrations/prometheus/drift-alerts.yml` (thresholds shortened), and a real
//! Alertmanager routes the alerts to a webhook receiver here.

use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;
use shipstamp_tests::{
    Group, PrometheusServer, Service, TempRepo, WebhookReceiver, request, workspace_binary,
};

use crate::util::cli;

fn free_addr() -> std::net::SocketAddr {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
}

/// Every alert the receiver got, as (status, alertname, target, description).
fn alerts(receiver: &WebhookReceiver) -> Vec<(String, String, String, String)> {
    receiver
        .messages()
        .iter()
        .flat_map(|m| m["alerts"].as_array().cloned().unwrap_or_default())
        .map(|a| {
            let s = |v: &Value| v.as_str().unwrap_or_default().to_owned();
            (
                s(&a["status"]),
                s(&a["labels"]["alertname"]),
                s(&a["labels"]["target"]),
                s(&a["annotations"]["description"]),
            )
        })
        .collect()
}

fn eventually(what: &str, done: impl Fn() -> bool) {
    let start = Instant::now();
    while !done() {
        assert!(start.elapsed() < Duration::from_secs(90), "never: {what}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// A Python worker without a stamp, started now, writing its pidfile.
fn start_worker(dir: &Path) -> Group {
    Group::spawn(
        Command::new("python3")
            .args(["-c", "import time\nwhile True: time.sleep(1)"])
            .stdin(Stdio::null())
            .stdout(Stdio::null()),
    )
    .inspect(|g| std::fs::write(dir.join("worker.pid"), format!("{}\n", g.id())).unwrap())
    .expect("python3 runs (apt-get install python3-minimal)")
}

#[test]
#[ignore = "needs prometheus, prometheus-alertmanager and python3 (.ci/run installs them)"]
fn drift_alerts_reach_a_receiver_through_alertmanager_and_resolve() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    // A clone of this workspace's history: the example service is stamped with its HEAD.
    let dir = tempfile::tempdir().unwrap();
    let repo = TempRepo::clone_without_checkout(&root, dir.path().join("repo"));
    let shipped = repo.git(&["rev-parse", "HEAD"]);
    repo.git(&["update-ref", "refs/heads/main", &shipped]);

    let web = Service::start(
        &workspace_binary("example-axum-service", "example-axum-service"),
        &[],
    );
    let mut worker = start_worker(dir.path());
    let targets = dir.path().join("targets.txt");
    std::fs::write(
        &targets,
        format!(
            "http://{}/version  orders-web\npidfile:{}  worker\n",
            web.addr,
            dir.path().join("worker.pid").display()
        ),
    )
    .unwrap();
    let mut cmd = Command::new(cli());
    cmd.args(["dashboard", "--ref", "main", "--repo"])
        .arg(repo.path())
        .arg("--targets")
        .arg(&targets)
        // The example may have been built from a work tree with changes: judged by its commit.
        .args([
            "--allow-dirty",
            "--listen",
            "127.0.0.1:0",
            "--interval",
            "500ms",
        ]);
    let dashboard = Service::spawn(cmd);

    // Alertmanager, without gossip, routing everything to the receiver at once.
    let receiver = WebhookReceiver::start_at(free_addr(), Arc::new(Mutex::new(Vec::new())));
    let am_dir = tempfile::tempdir().unwrap();
    std::fs::write(
        am_dir.path().join("alertmanager.yml"),
        format!(
            "route:\n  receiver: hook\n  group_by: [alertname, target]\n  group_wait: 1s\n  group_interval: 1s\n  repeat_interval: 1h\n\
             receivers:\n  - name: hook\n    webhook_configs:\n      - url: http://{}/alerts\n        send_resolved: true\n",
            receiver.addr
        ),
    )
    .unwrap();
    let am_addr = free_addr();
    let exe = std::env::var_os("SHIPSTAMP_ALERTMANAGER")
        .unwrap_or_else(|| "prometheus-alertmanager".into());
    let _alertmanager = Group::spawn(
        Command::new(&exe)
            .arg(format!(
                "--config.file={}",
                am_dir.path().join("alertmanager.yml").display()
            ))
            .arg(format!(
                "--storage.path={}",
                am_dir.path().join("data").display()
            ))
            .arg(format!("--web.listen-address={am_addr}"))
            .arg("--cluster.listen-address=")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null()),
    )
    .unwrap_or_else(|e| panic!("{exe:?} runs ({e}): apt-get install prometheus-alertmanager"));
    eventually("Alertmanager ready", || {
        request(am_addr, "GET", "/-/ready").is_ok_and(|r| r.status == 200)
    });

    // The rules as shipped, thresholds shortened: any drift, held for 2 s.
    let rules = std::fs::read_to_string(root.join("integrations/prometheus/drift-alerts.yml"))
        .unwrap()
        .replace("> 1800", "> 0")
        .replace("for: 1m", "for: 2s");
    let rules_file = am_dir.path().join("drift-alerts.yml");
    std::fs::write(&rules_file, rules).unwrap();
    let prometheus = PrometheusServer::start(&format!(
        "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\nrule_files: [{rules_file:?}]\n\
         alerting:\n  alertmanagers:\n    - static_configs:\n        - targets: ['{am_addr}']\n\
         scrape_configs:\n  - job_name: shipstamp\n    static_configs:\n      - targets: ['{}']\n",
        dashboard.addr
    ));
    prometheus.wait_until(|p| {
        !p.query(r#"shipstamp_targets{status="match"} == 1"#)
            .is_empty()
    });
    assert!(alerts(&receiver).is_empty(), "{:?}", alerts(&receiver));

    // The fix is merged; the worker keeps running, the service is not redeployed.
    std::thread::sleep(Duration::from_millis(1100));
    let tree = repo.git(&["rev-parse", "HEAD^{tree}"]);
    let fix = shipstamp_tests::git(repo.path())
        .args([
            "commit-tree",
            &tree,
            "-p",
            &shipped,
            "-m",
            "Fix double emit",
        ])
        .output()
        .unwrap();
    let fix = String::from_utf8_lossy(&fix.stdout).trim().to_owned();
    repo.git(&["update-ref", "refs/heads/main", &fix]);
    eventually("both alerts firing at the receiver", || {
        let got = alerts(&receiver);
        ["ShipstampProcessStale", "ShipstampTargetBehind"]
            .iter()
            .all(|name| got.iter().any(|(s, n, ..)| s == "firing" && n == name))
    });
    let got = alerts(&receiver);
    let behind = got
        .iter()
        .find(|(s, n, ..)| s == "firing" && n == "ShipstampTargetBehind")
        .unwrap();
    assert_eq!(behind.2, "orders-web");
    // Outside a fleet, no empty service or environment in the words.
    assert!(behind.3.starts_with("orders-web runs "), "{behind:?}");
    assert!(
        behind
            .3
            .contains(&format!("runs {shipped}, behind 1 commit against its ref")),
        "{behind:?}"
    );
    let stale = got
        .iter()
        .find(|(s, n, ..)| s == "firing" && n == "ShipstampProcessStale")
        .unwrap();
    assert_eq!(stale.2, "worker");
    assert!(stale.3.contains(&format!("(main = {fix})")), "{stale:?}");

    // The worker restarted, the service's ref back where it runs: both resolve.
    drop(worker);
    std::thread::sleep(Duration::from_millis(1100));
    worker = start_worker(dir.path());
    repo.git(&["update-ref", "refs/heads/main", &shipped]);
    eventually("both alerts resolved at the receiver", || {
        let got = alerts(&receiver);
        ["ShipstampProcessStale", "ShipstampTargetBehind"]
            .iter()
            .all(|name| got.iter().any(|(s, n, ..)| s == "resolved" && n == name))
    });
    drop(worker);
}
