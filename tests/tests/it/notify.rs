//! `dashboard --notify URL`: one message per round in which targets entered or left drift,
//! delivered to a real receiver on loopback that fails, goes away and comes back.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener};
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;
use shipstamp_tests::{Reply, Service, StubServer, TempRepo, request};

use crate::util::{cli, code, stderr};

/// A webhook receiver: records each POSTed JSON body it takes; answers 503 while `failing`.
struct Receiver {
    addr: SocketAddr,
    bodies: Arc<Mutex<Vec<Value>>>,
    failing: Arc<AtomicBool>,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Receiver {
    fn start_at(addr: SocketAddr, bodies: Arc<Mutex<Vec<Value>>>) -> Receiver {
        let listener = TcpListener::bind(addr).unwrap();
        listener.set_nonblocking(true).unwrap();
        let addr = listener.local_addr().unwrap();
        let (failing, stop) = (
            Arc::new(AtomicBool::new(false)),
            Arc::new(AtomicBool::new(false)),
        );
        let (f, st, b) = (Arc::clone(&failing), Arc::clone(&stop), Arc::clone(&bodies));
        let thread = std::thread::spawn(move || {
            while !st.load(Ordering::Relaxed) {
                let Ok((conn, _)) = listener.accept() else {
                    std::thread::sleep(Duration::from_millis(10));
                    continue;
                };
                conn.set_nonblocking(false).unwrap();
                conn.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
                let mut reader = BufReader::new(conn);
                let mut length = 0;
                loop {
                    let mut line = String::new();
                    if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                        break;
                    }
                    if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                        length = v.trim().parse().unwrap_or(0);
                    }
                }
                let mut body = vec![0; length];
                if reader.read_exact(&mut body).is_err() {
                    continue;
                }
                let status = if f.load(Ordering::Relaxed) {
                    "503 Service Unavailable"
                } else {
                    b.lock()
                        .unwrap()
                        .push(serde_json::from_slice(&body).expect("JSON"));
                    "200 OK"
                };
                let _ = write!(
                    reader.get_mut(),
                    "HTTP/1.1 {status}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                );
            }
        });
        Receiver {
            addr,
            bodies,
            failing,
            stop,
            thread: Some(thread),
        }
    }

    fn messages(&self) -> Vec<Value> {
        self.bodies.lock().unwrap().clone()
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

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
    let receiver = Receiver::start_at("127.0.0.1:0".parse().unwrap(), Arc::clone(&bodies));
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
    let receiver = Receiver::start_at(addr, Arc::clone(&bodies));
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
