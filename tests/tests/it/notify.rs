//! `dashboard --notify URL`: one message per round in which targets entered or left drift,
//! delivered to a real receiver on loopback that fails, goes away and comes back.

use std::net::SocketAddr;
use std::process::Command;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;
use shipstamp_tests::{Reply, Service, StubServer, TempRepo, WebhookReceiver, request};

use crate::util::{cli, code, stderr};

fn eventually(what: &str, within: Duration, mut done: impl FnMut() -> bool) {
    let start = Instant::now();
    while !done() {
        assert!(start.elapsed() < within, "never: {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn fleet(addr: SocketAddr) -> Value {
    serde_json::from_slice(&request(addr, "GET", "/api/fleet.json").unwrap().body)
        .unwrap_or(Value::Null)
}

#[test]
fn one_message_per_transition_through_a_receiver_that_fails_and_restarts() {
    let repo = TempRepo::new();
    repo.write("a.txt", "1\n");
    let old = repo.commit_all("Add orders");
    let server = StubServer::start(vec![("/version", Reply::shipstamp("orders", &old))]);
    let dir = tempfile::tempdir().unwrap();
    let targets = dir.path().join("targets.txt");
    std::fs::write(&targets, format!("{}  web-1\n", server.url("/version"))).unwrap();

    let bodies = Arc::new(Mutex::new(Vec::new()));
    let receiver = WebhookReceiver::start_at("127.0.0.1:0".parse().unwrap(), Arc::clone(&bodies));
    // A token in the URL, as webhooks have: never printed, never served.
    let url = format!("http://{}/hooks/T000?token=s3cret", receiver.addr);
    let mut cmd = Command::new(cli());
    cmd.current_dir(repo.path())
        .args(["dashboard", "--ref", "main", "--targets"])
        .arg(&targets)
        .args(["--listen", "127.0.0.1:0", "--interval", "200ms"])
        .args(["--notify-after", "1s"])
        .env("SHIPSTAMP_NOTIFY_URL", &url);
    let dashboard = Service::spawn(cmd);
    eventually("a first round", Duration::from_secs(30), || {
        fleet(dashboard.addr)["targets"][0]["status"] == "match"
    });

    // The fix is merged; web-1 keeps running the old commit. While the receiver fails, the
    // message waits (retried); it is not sent twice once the receiver takes it.
    receiver.failing.store(true, Ordering::Relaxed);
    repo.write("a.txt", "2\n");
    repo.commit_all("Fix double emit");
    eventually("a failed delivery", Duration::from_secs(30), || {
        fleet(dashboard.addr)["notify"]["ok"] == false
    });
    let doc = fleet(dashboard.addr);
    assert_eq!(
        doc["notify"]["error"], "the receiver answered 503",
        "{doc:#}"
    );
    let metrics = request(dashboard.addr, "GET", "/metrics").unwrap().text();
    assert!(
        metrics
            .lines()
            .any(|l| l.starts_with("shipstamp_notify_failures_total ") && !l.ends_with(" 0")),
        "{metrics}"
    );
    for served in [doc.to_string(), metrics] {
        assert!(
            !served.contains("s3cret") && !served.contains("T000"),
            "{served}"
        );
    }
    receiver.failing.store(false, Ordering::Relaxed);
    eventually("the drift message", Duration::from_secs(30), || {
        !receiver.messages().is_empty()
    });
    let first = &receiver.messages()[0];
    assert_eq!(first["schema"], "shipstamp-notify/v1");
    assert_eq!(first["entered"][0]["target"], "web-1", "{first:#}");
    assert_eq!(first["entered"][0]["status"], "behind");
    assert_eq!(first["entered"][0]["revision"], old.as_str());
    assert_eq!(first["left"], serde_json::json!([]));
    let text = first["text"].as_str().unwrap();
    assert!(
        text.starts_with("shipstamp: 1 target drifted")
            && text.contains("DRIFT web-1: behind 1 for ")
            && text.contains(&format!("runs {}", &old[..7])),
        "{text}"
    );

    // The receiver goes away and comes back on the same address: nothing is repeated.
    let addr = receiver.addr;
    drop(receiver);
    std::thread::sleep(Duration::from_secs(2));
    let receiver = WebhookReceiver::start_at(addr, Arc::clone(&bodies));
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(receiver.messages().len(), 1, "{:#?}", receiver.messages());

    // Back at the ref (the fix reverted on main): recovery is sent, once.
    repo.git(&["reset", "-q", "--hard", &old]);
    eventually("the recovery message", Duration::from_secs(60), || {
        receiver.messages().len() >= 2
    });
    std::thread::sleep(Duration::from_secs(2));
    let all = receiver.messages();
    assert_eq!(all.len(), 2, "{all:#?}");
    assert_eq!(all[1]["left"][0]["target"], "web-1", "{:#}", all[1]);
    assert_eq!(all[1]["left"][0]["status"], "match");
    assert_eq!(all[1]["entered"], serde_json::json!([]));
    assert!(
        all[1]["text"].as_str().unwrap().contains("OK web-1: match"),
        "{:#}",
        all[1]
    );
}

#[test]
fn bad_notify_urls_are_usage_errors_that_do_not_print_them() {
    let repo = TempRepo::new();
    repo.write("a.txt", "1\n");
    repo.commit_all("one");
    for (flag, env) in [
        (Some("ftp://hooks.example/s3cret"), None),
        (None, Some("hooks.example/s3cret")),
    ] {
        let mut cmd = Command::new(cli());
        cmd.current_dir(repo.path())
            .args(["dashboard", "--ref", "main", "http://127.0.0.1:9/version"])
            .args(["--listen", "127.0.0.1:0"]);
        if let Some(flag) = flag {
            cmd.args(["--notify", flag]);
        }
        if let Some(env) = env {
            cmd.env("SHIPSTAMP_NOTIFY_URL", env);
        }
        let out = cmd.output().unwrap();
        assert_eq!(code(&out), 64, "{}", stderr(&out));
        assert!(
            stderr(&out).contains("not an http:// or https:// URL")
                && !stderr(&out).contains("s3cret"),
            "{}",
            stderr(&out)
        );
    }
    let html = tempfile::tempdir().unwrap();
    let out = Command::new(cli())
        .current_dir(repo.path())
        .args([
            "dashboard",
            "--ref",
            "main",
            "http://127.0.0.1:9/version",
            "--once",
            "--html",
        ])
        .arg(html.path().join("page.html"))
        .args(["--notify", "http://127.0.0.1:9/hook"])
        .output()
        .unwrap();
    assert_eq!(code(&out), 64, "{}", stderr(&out));
    let out = Command::new(cli())
        .current_dir(repo.path())
        .args([
            "dashboard",
            "--ref",
            "main",
            "http://127.0.0.1:9/version",
            "--notify-after",
            "soon",
        ])
        .output()
        .unwrap();
    assert_eq!(code(&out), 64, "{}", stderr(&out));
}
