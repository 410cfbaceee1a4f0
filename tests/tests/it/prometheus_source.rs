//! Prometheus as the source of instances: a real Prometheus scraping the example service built
//! at two commits of a real repository, one instance stopped to get `up == 0`; and every way a
//! Prometheus (or what is at its address) can fail.

use std::path::PathBuf;
use std::process::{Command, Output};
use std::time::Duration;

use serde_json::Value;
use shipstamp_tests::{Fixture, Gateway, PrometheusServer, Reply, Service, StubServer, TempRepo};

use crate::util::{cli, code, text};

/// `shipstamp check --ref main --prometheus URL --selector SELECTOR --repo REPO`, then `extra`.
fn check_prometheus(
    repo: &TempRepo,
    url: &str,
    selector: &str,
    extra: &[&str],
    envs: &[(&str, &str)],
) -> Output {
    let repo = repo.path().to_str().unwrap();
    let args = [
        "check",
        "--ref",
        "main",
        "--prometheus",
        url,
        "--selector",
        selector,
    ];
    run(&[&args[..], &["--repo", repo], extra].concat(), envs)
}

fn run(args: &[&str], envs: &[(&str, &str)]) -> Output {
    Command::new(cli())
        .args(args)
        .env_remove("SHIPSTAMP_PROMETHEUS_TOKEN")
        .env_remove("SHIPSTAMP_PROMETHEUS_USER")
        .env_remove("SHIPSTAMP_PROMETHEUS_PASSWORD")
        .envs(envs.iter().copied())
        .output()
        .expect("runs")
}

#[test]
#[ignore = "needs prometheus (apt-get install prometheus; .ci/run runs it)"]
fn every_instance_prometheus_scrapes_judged_without_contacting_them() {
    let repo = TempRepo::new();
    let fixture = Fixture::write_axum_service(repo.path(), "prom-orders");
    let bins = tempfile::tempdir().unwrap();
    let build = |label: &str| -> PathBuf {
        let b = fixture.build(&[]);
        assert!(b.success, "{}", b.stderr);
        let to = bins.path().join(format!("orders-{label}"));
        std::fs::copy(fixture.binary("debug"), &to).unwrap();
        to
    };
    repo.commit_all("Add the orders service");
    repo.git(&["branch", "-M", "main"]);
    let old = build("old");
    // Started before the fix is merged, and never restarted.
    let stale = Service::start(&old, &[]);
    std::thread::sleep(Duration::from_millis(1100));
    repo.write("FIX.md", "the fix\n");
    let fix = repo.commit_all("Fix the rounding");
    let new = build("new");
    let fresh = Service::start(&new, &[]);
    let mut doomed = Service::start(&new, &[]);

    let prometheus = PrometheusServer::start(&format!(
        "global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: orders\n    \
         static_configs:\n      - targets: [\"{}\", \"{}\", \"{}\"]\n",
        stale.addr, fresh.addr, doomed.addr
    ));
    prometheus.wait_until(|p| p.query("prom_orders_build_info").len() == 3);
    prometheus.wait_until(|p| p.query("prom_orders_start_time_seconds").len() == 3);
    let url = format!("http://{}", prometheus.addr);
    let selector = r#"prom_orders_build_info{job="orders"}"#;
    let check_at = |url: &str| check_prometheus(&repo, url, selector, &["--json"], &[]);
    let check = || check_at(&url);
    let out = check();
    assert_eq!(code(&out), 1, "one instance is behind: {}", text(&out));
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    let by_instance = |doc: &Value, addr: &std::net::SocketAddr| -> Value {
        doc["targets"]
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["url"] == addr.to_string())
            .cloned()
            .unwrap_or_else(|| panic!("{addr} in {doc:#}"))
    };
    let stale_t = by_instance(&doc, &stale.addr);
    assert_eq!(stale_t["status"], "behind");
    assert_eq!(stale_t["behind"], 1);
    assert_eq!(stale_t["shape"], "prometheus");
    assert_eq!(stale_t["package"], "prom-orders");
    assert_eq!(
        stale_t["started_before_ref"], true,
        "started before the fix: never restarted"
    );
    let fresh_t = by_instance(&doc, &fresh.addr);
    assert_eq!(fresh_t["status"], "match");
    assert_eq!(fresh_t["commit"], fix.as_str());
    assert_eq!(fresh_t["started_before_ref"], false);
    assert!(fresh_t["started_at"].is_string());
    // Judged from Prometheus alone: no instance was asked for /version.
    // (Their /metrics were scraped by Prometheus; shipstamp only asked Prometheus.)

    // Before Prometheus 2.53 the builds and start times are read through /federate, as
    // Prometheus counts; later releases answer the query API faster. Behind a gateway without
    // /federate (as Thanos and Mimir are), the query API gives the same judgement.
    let federated = prometheus.federate_requests();
    if prometheus.version() < (2, 53) {
        assert!(federated >= 2, "{federated} requests to /federate");
    } else {
        assert_eq!(federated, 0, "{federated} requests to /federate");
    }
    let gateway = Gateway::start(prometheus.addr, "/federate");
    let through_api = check_at(&gateway.url());
    assert_eq!(code(&through_api), 1, "{}", text(&through_api));
    let sorted_targets = |out: &Output| {
        let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
        let mut targets = doc["targets"].as_array().unwrap().clone();
        targets.sort_by_key(|t| t["url"].to_string());
        // How long drift has lasted is as of each run; since when it has is compared.
        for t in &mut targets {
            t["drift_seconds"] = Value::Null;
        }
        targets
    };
    assert_eq!(sorted_targets(&through_api), sorted_targets(&out));
    assert_eq!(prometheus.federate_requests(), federated);

    // One instance stops: its scrape fails, its build_info goes stale, and it is unreachable
    // with when it stopped and the last build seen.
    let doomed_addr = doomed.addr;
    doomed.kill();
    prometheus.wait_until(|p| {
        p.query(&format!("up{{instance=\"{doomed_addr}\"}} == 0"))
            .len()
            == 1
    });
    let out = check();
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    let down = by_instance(&doc, &doomed_addr);
    assert_eq!(down["status"], "unreachable", "{down:#}");
    let reason = down["reason"].as_str().unwrap();
    assert!(
        reason.contains("stopped reporting build_info at")
            && reason.contains(&fix[..7])
            && reason.contains("prom-orders"),
        "{reason}"
    );
    assert_eq!(code(&out), 1, "drift wins: {}", text(&out));

    // The same source in a fleet file, through the dashboard.
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("fleet.toml"),
        format!(
            "[service.orders]\nrepo = {:?}\nref = \"main\"\n\n[service.orders.env.production]\n\
             prometheus = {{ url = {url:?}, selector = {selector:?} }}\n",
            repo.path().display().to_string()
        ),
    )
    .unwrap();
    let html = dir.path().join("fleet.html");
    let out = run(
        &[
            "dashboard",
            "--once",
            "--fleet",
            dir.path().join("fleet.toml").to_str().unwrap(),
            "--html",
            html.to_str().unwrap(),
        ],
        &[],
    );
    assert_eq!(code(&out), 1, "{}", text(&out));
    assert!(
        text(&out).contains("1/3 match in 1 service, 1 environment"),
        "{}",
        text(&out)
    );

    // A selector that matches nothing, and one Prometheus rejects.
    for (selector, says) in [
        ("nothing_build_info", "matches no series"),
        ("prom_orders_build_info{", "refused the query"),
    ] {
        let out = check_prometheus(&repo, &url, selector, &[], &[]);
        assert_eq!(code(&out), 2, "{selector}: {}", text(&out));
        assert!(text(&out).contains(says), "{selector}: {}", text(&out));
    }
    drop((stale, fresh));
}

/// `orders_build_info` as a service exports it, with its own `instance` label when given.
fn exposition(instance: Option<&str>, commit: &str) -> Reply {
    let own = instance
        .map(|i| format!("instance=\"{i}\","))
        .unwrap_or_default();
    Reply::Ok(
        "text/plain; version=0.0.4",
        format!(
            "# TYPE orders_build_info gauge\n\
             orders_build_info{{{own}package=\"orders\",version=\"1.4.2\",revision=\"{commit}\",dirty=\"false\"}} 1\n\
             # TYPE orders_start_time_seconds gauge\n\
             orders_start_time_seconds{{{own}}} 1795341600\n"
        )
        .into_bytes(),
    )
}

/// An instance that stops reporting is never dropped, whatever its labels: one whose
/// `instance` label comes from itself (`honor_labels`, so `up` carries its scrape address
/// instead), and one scraped by two jobs (one instance, not two), through every form of
/// selector the README shows: a series selector, a `{__name__=~…}` selector and an expression.
#[test]
#[ignore = "needs prometheus (apt-get install prometheus; .ci/run runs it)"]
fn an_instance_that_stops_reporting_is_never_dropped() {
    let repo = TempRepo::new();
    repo.commit_all("one");
    let main = repo.commit_all("two");
    repo.git(&["branch", "-M", "main"]);
    let honored = StubServer::start(vec![("/metrics", exposition(Some("orders-a"), &main))]);
    let plain = StubServer::start(vec![("/metrics", exposition(None, &main))]);
    let address = |s: &StubServer| s.url("").trim_start_matches("http://").to_owned();
    let prometheus = PrometheusServer::start(&format!(
        "global:\n  scrape_interval: 1s\nscrape_configs:\n\
         \x20 - job_name: honored\n    honor_labels: true\n    static_configs:\n      - targets: [\"{a}\"]\n\
         \x20 - job_name: orders\n    static_configs:\n      - targets: [\"{b}\"]\n\
         \x20 - job_name: orders-again\n    static_configs:\n      - targets: [\"{b}\"]\n",
        a = address(&honored),
        b = address(&plain),
    ));
    prometheus.wait_until(|p| p.query("orders_build_info").len() == 3);
    let reporting_since = std::time::Instant::now();
    let url = format!("http://{}", prometheus.addr);
    let selectors = [
        "orders_build_info",
        r#"{__name__=~".+_build_info", package!=""}"#,
        "orders_build_info or nothing_build_info",
    ];
    let judged = |selector: &str| -> (i32, Vec<(String, String, String)>) {
        let out = check_prometheus(&repo, &url, selector, &["--json"], &[]);
        let doc: Value = serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|e| panic!("{selector}: {e}: {}", text(&out)));
        let mut targets: Vec<(String, String, String)> = doc["targets"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| {
                (
                    t["url"].as_str().unwrap_or_default().to_owned(),
                    t["status"].as_str().unwrap_or_default().to_owned(),
                    t["reason"].as_str().unwrap_or_default().to_owned(),
                )
            })
            .collect();
        targets.sort();
        (code(&out), targets)
    };
    for selector in selectors {
        let (exit, targets) = judged(selector);
        assert_eq!(exit, 0, "{selector}: {targets:?}");
        let instances: Vec<&str> = targets.iter().map(|(u, ..)| u.as_str()).collect();
        assert_eq!(
            instances,
            [address(&plain).as_str(), "orders-a"],
            "{selector}: two jobs, one instance"
        );
    }

    // The instance with its own label stops: its scrape fails, and `up` says so under the
    // scrape address, which is not its `instance`.
    let gone = address(&honored);
    // An expression is looked at every 5 s of the window: an instance that reported for less
    // than that may be missed (documented). This one reports for longer.
    std::thread::sleep(std::time::Duration::from_secs(7).saturating_sub(reporting_since.elapsed()));
    drop(honored);
    prometheus.wait_until(|p| {
        !p.query(&format!("up{{instance=\"{gone}\"}} == 0"))
            .is_empty()
            && p.query("orders_build_info{instance=\"orders-a\"}")
                .is_empty()
    });
    for selector in selectors {
        let (exit, targets) = judged(selector);
        assert_eq!(
            exit, 2,
            "{selector}: never a pass with an instance missing: {targets:?}"
        );
        let (_, status, reason) = targets
            .iter()
            .find(|(u, ..)| u == "orders-a")
            .unwrap_or_else(|| panic!("{selector}: orders-a was dropped: {targets:?}"));
        assert_eq!(status, "unreachable", "{selector}");
        assert!(
            reason.contains("stopped reporting build_info")
                && reason.contains(&main[..7])
                && reason.contains("orders 1.4.2"),
            "{selector}: {reason}"
        );
        // A series selector can be narrowed to it: when it stopped is known.
        if !selector.contains(" or ") {
            assert!(
                reason.contains("stopped reporting build_info at 20"),
                "{selector}: {reason}"
            );
        }
    }

    // A selector Prometheus cannot parse: where it is wrong is said in the selector's own
    // columns, not those of the query built around it.
    let out = check_prometheus(&repo, &url, "orders_build_info{", &[], &[]);
    assert_eq!(code(&out), 2, "{}", text(&out));
    assert!(text(&out).contains("1:19"), "{}", text(&out));
    drop(plain);
}

#[test]
fn a_prometheus_that_fails_says_why_and_exits_2() {
    let repo = TempRepo::new();
    repo.commit_all("one");
    let refused = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let html = StubServer::start(vec![(
        "/api/v1/query",
        Reply::Ok(
            "text/html",
            b"<!doctype html><html><body>Grafana login</body></html>".to_vec(),
        ),
    )]);
    let locked = StubServer::start(vec![]);
    let check = |url: &str, envs: &[(&str, &str)]| {
        check_prometheus(&repo, url, "orders_build_info", &[], envs)
    };
    let out = check(&format!("http://{refused}"), &[]);
    assert_eq!(code(&out), 2, "{}", text(&out));
    assert!(
        text(&out).contains(&format!("Prometheus at http://{refused}")),
        "{}",
        text(&out)
    );

    // The stub answers 404 with HTML to every path: not the Prometheus API.
    let out = check(&locked.url(""), &[]);
    assert_eq!(code(&out), 2, "{}", text(&out));
    assert!(
        text(&out).contains("HTML page, not the Prometheus HTTP API"),
        "{}",
        text(&out)
    );
    let out = check(&html.url(""), &[]);
    assert_eq!(code(&out), 2);
    assert!(text(&out).contains("HTML page"), "{}", text(&out));

    // JSON that is not an answer, an answer cut off halfway, and a body of 64 MiB that is not
    // JSON at all (refused at its first bytes, not read to its end).
    let broken = StubServer::start(vec![(
        "/api/v1/query",
        Reply::Ok("application/json", br#"{"status": "succ"#.to_vec()),
    )]);
    let out = check(&broken.url(""), &[]);
    assert_eq!(code(&out), 2, "{}", text(&out));
    assert!(
        text(&out).contains("not a Prometheus API answer"),
        "{}",
        text(&out)
    );
    let cut = StubServer::start(vec![(
        "/api/v1/query",
        Reply::CutShort(
            br#"{"status":"success","data":{"resultType":"vector","result":[{"metric":{"#.to_vec(),
        ),
    )]);
    let out = check(&cut.url(""), &[]);
    assert_eq!(code(&out), 2, "{}", text(&out));
    assert!(
        text(&out).contains("the answer broke off"),
        "{}",
        text(&out)
    );
    let huge = StubServer::start(vec![("/api/v1/query", Reply::Huge(64 << 20))]);
    let out = check(&huge.url(""), &[]);
    assert_eq!(code(&out), 2, "{}", text(&out));
    assert!(
        text(&out).contains("does not open as a JSON object"),
        "{}",
        text(&out)
    );

    // Credentials come from the environment, are sent, and never printed.
    let auth = StubServer::start(vec![(
        "/api/v1/query",
        Reply::Status(401, "<html>401 Unauthorized</html>"),
    )]);
    let out = check(&auth.url(""), &[]);
    assert_eq!(code(&out), 2, "{}", text(&out));
    assert!(
        text(&out).contains("needs credentials, and none were given")
            && text(&out).contains("SHIPSTAMP_PROMETHEUS_TOKEN"),
        "{}",
        text(&out)
    );
    let out = check(
        &auth.url(""),
        &[("SHIPSTAMP_PROMETHEUS_TOKEN", "t0p-s3cret")],
    );
    assert_eq!(code(&out), 2);
    assert!(text(&out).contains("refuses those given"), "{}", text(&out));
    assert!(!text(&out).contains("t0p-s3cret"));
    let sent = auth.request_heads().join("\n");
    assert!(
        sent.contains("Bearer t0p-s3cret"),
        "the token is sent: {sent}"
    );
    let out = check(
        &auth.url(""),
        &[
            ("SHIPSTAMP_PROMETHEUS_USER", "grafana"),
            ("SHIPSTAMP_PROMETHEUS_PASSWORD", "pa55"),
        ],
    );
    assert_eq!(code(&out), 2);
    assert!(!text(&out).contains("pa55"));
    assert!(
        auth.request_heads()
            .join("\n")
            .contains("Basic Z3JhZmFuYTpwYTU1")
    );

    // Credentials on the command line are refused, without echoing them.
    let out = check(&format!("http://admin:hunter2@{refused}"), &[]);
    assert_eq!(code(&out), 64, "{}", text(&out));
    assert!(
        text(&out).contains("through the environment"),
        "{}",
        text(&out)
    );
    assert!(!text(&out).contains("hunter2"));
    // --prometheus without --selector, and the reverse.
    let out = run(&["check", "--ref", "main", "--prometheus", "http://x"], &[]);
    assert_eq!(code(&out), 64, "{}", text(&out));
    let out = run(&["check", "--ref", "main", "--selector", "x"], &[]);
    assert_eq!(code(&out), 64, "{}", text(&out));
}

#[test]
fn federate_is_asked_where_it_is_faster_and_the_query_api_answers_where_it_fails() {
    let repo = TempRepo::new();
    let head = repo.commit_all("one");
    // The query API knows one instance at HEAD; /federate answers a login page, or text that is
    // not the exposition format (both with status 200).
    let answer = format!(
        r#"{{"status":"success","data":{{"resultType":"vector","result":[{{"metric":{{"instance":"10.0.0.1:8080","job":"orders","revision":"{head}","package":"orders","version":"1.0.0"}},"value":[1796165756.5,"1"]}}]}}}}"#
    );
    // A release whose /federate is faster than its query API (as Prometheus 2.42's is) is
    // asked there first; a later one only through the query API, whatever /federate would say.
    let wrong = "orders_build_info{instance=\"10.0.0.1:8080\",revision=\"0000000\"} 1\n";
    for (release, content_type, federated, asked) in [
        (
            "2.42.0",
            "text/html",
            "<!doctype html><html><body>Sign in</body></html>",
            true,
        ),
        (
            "2.42.0",
            "text/plain; version=0.0.4",
            "orders_build_info{instance=\"x} 1\n",
            true,
        ),
        ("3.5.3", "text/plain; version=0.0.4", wrong, false),
    ] {
        let release = format!(r#"{{"status":"success","data":{{"version":"{release}"}}}}"#);
        let stub = StubServer::start(vec![
            (
                "/api/v1/status/buildinfo",
                Reply::Ok("application/json", release.into_bytes()),
            ),
            (
                "/federate",
                Reply::Ok(content_type, federated.as_bytes().to_vec()),
            ),
            (
                "/api/v1/query",
                Reply::Ok("application/json", answer.clone().into_bytes()),
            ),
        ]);
        let out = check_prometheus(&repo, &stub.url(""), "orders_build_info", &[], &[]);
        assert_eq!(code(&out), 0, "{content_type}: {}", text(&out));
        assert!(
            text(&out).contains("match") && text(&out).contains("10.0.0.1:8080"),
            "{}",
            text(&out)
        );
        let heads = stub.request_heads();
        assert_eq!(
            heads.iter().any(|h| h.starts_with("GET /federate?")),
            asked,
            "{heads:#?}"
        );
    }
}

#[test]
fn a_server_without_federate_is_not_asked_there_again() {
    // Says it is Prometheus 2.42 (whose /federate is the faster way), but has no /federate: a
    // gateway that passes only /api/v1, as in front of Thanos or Mimir.
    let answer = br#"{"status":"success","data":{"resultType":"vector","result":[{"metric":{"instance":"10.0.0.1:8080","job":"orders","revision":"3f9c2e1aa0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5"},"value":[1796165756.5,"1"]}]}}"#;
    let stub = StubServer::start(vec![
        (
            "/api/v1/status/buildinfo",
            Reply::Ok(
                "application/json",
                br#"{"status":"success","data":{"version":"2.42.0"}}"#.to_vec(),
            ),
        ),
        (
            "/api/v1/query",
            Reply::Ok("application/json", answer.to_vec()),
        ),
    ]);
    let source = shipstamp_check::Prometheus::new(&stub.url(""), "orders_build_info").unwrap();
    let repo = TempRepo::new();
    repo.commit_all("c1");
    let checker = shipstamp_check::Checker::new(
        shipstamp_check::Repo::open(repo.path()).unwrap(),
        shipstamp_check::Options::default(),
    );
    let observe =
        |source: &shipstamp_check::Prometheus| checker.observe(&[source]).pop().unwrap().unwrap();
    let federate_asks = || {
        stub.request_heads()
            .iter()
            .filter(|h| h.starts_with("GET /federate?"))
            .count()
    };
    // A dashboard's rounds: the first finds /federate missing, the later ones do not ask it.
    let first = observe(&source);
    assert_eq!(first.len(), 1);
    let asked = federate_asks();
    assert!((1..=2).contains(&asked), "{asked}");
    let again = observe(&source.clone());
    assert_eq!(again.len(), 1);
    assert_eq!(federate_asks(), asked);
    assert_eq!(again[0].url, "10.0.0.1:8080");
}
