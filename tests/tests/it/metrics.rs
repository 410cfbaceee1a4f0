//! The dashboard's `GET /metrics`: drift as Prometheus series, rendered once per round, with
//! real git history, real servers, the real CLI (and `promtool` where installed).

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use shipstamp_tests::{
    PrometheusServer, Reply, Service, StubServer, TempRepo, request, request_with,
};

fn doc(commit: &str) -> Reply {
    Reply::Ok(
        "application/json",
        format!(
            r#"{{"schema":"shipstamp/v1","package":{{"name":"orders","version":"1"}},"git":{{"commit":"{commit}","dirty":false}},"process":{{"exe_replaced":true}}}}"#
        )
        .into_bytes(),
    )
}

/// A repository with an old and a new commit; one server serves each; a dashboard watches
/// both (the behind one through a URL with credentials and a token) on `main`.
struct Setup {
    _repo: TempRepo,
    _servers: [StubServer; 2],
    _dir: tempfile::TempDir,
    old: String,
    dashboard: Service,
}

fn setup(extra: &[&str]) -> Setup {
    let repo = TempRepo::new();
    repo.write("a.txt", "1\n");
    let old = repo.commit_all("Add orders");
    repo.write("a.txt", "2\n");
    let new = repo.commit_all("Fix double emit");
    let (behind, matching) = (
        StubServer::start(vec![("/version", doc(&old))]),
        StubServer::start(vec![("/version", doc(&new))]),
    );
    let dir = tempfile::tempdir().unwrap();
    let targets = dir.path().join("targets.txt");
    let secret =
        behind
            .url("/version?token=s3cret")
            .replacen("http://", "http://deploy:hunter2@", 1);
    std::fs::write(
        &targets,
        format!("{secret}\n{}  web-2\n", matching.url("/version")),
    )
    .unwrap();
    let mut cmd = Command::new(crate::util::cli());
    cmd.current_dir(repo.path())
        .args(["dashboard", "--ref", "main", "--targets"])
        .arg(&targets)
        .args(["--listen", "127.0.0.1:0", "--interval", "200ms"])
        .args(extra);
    let dashboard = Service::spawn(cmd);
    Setup {
        _repo: repo,
        _servers: [behind, matching],
        _dir: dir,
        old,
        dashboard,
    }
}

fn metrics(s: &Setup, accept: Option<&str>) -> (String, String) {
    for _ in 0..200 {
        let headers: Vec<(&str, &str)> = accept.map(|a| ("Accept", a)).into_iter().collect();
        let r = request_with(s.dashboard.addr, "GET", "/metrics", &headers).unwrap();
        if r.status == 200 {
            let kind = r.header("content-type").unwrap_or_default().to_owned();
            return (kind, r.text());
        }
        assert_eq!(r.status, 503, "{}", r.text());
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("no /metrics");
}

#[test]
fn drift_and_counts_as_series() {
    let s = setup(&[]);
    let (kind, text) = metrics(&s, None);
    assert!(kind.starts_with("text/plain; version=0.0.4"), "{kind}");
    for line in [
        r#"shipstamp_targets{service="",environment="",status="behind"} 1"#,
        r#"shipstamp_targets{service="",environment="",status="match"} 1"#,
        r#"shipstamp_targets{service="",environment="",status="stale"} 0"#,
        "# TYPE shipstamp_target_info gauge",
        "# TYPE shipstamp_fetch_failures_total counter",
        "shipstamp_broken 0",
    ] {
        assert!(text.lines().any(|l| l == line), "{line} in:\n{text}");
    }
    // One target is behind: its series, named without credentials or query; the match has
    // none by default.
    let info: Vec<&str> = text
        .lines()
        .filter(|l| l.starts_with("shipstamp_target_info{"))
        .collect();
    assert_eq!(info.len(), 1, "{text}");
    assert!(
        info[0].contains(&format!(r#"status="behind",revision="{}"}} 1"#, s.old)),
        "{}",
        info[0]
    );
    assert!(info[0].contains("/version?…"), "{}", info[0]);
    assert!(
        !text.contains("hunter2") && !text.contains("s3cret") && !text.contains("deploy"),
        "{text}"
    );
    for family in [
        "shipstamp_target_commits_behind{",
        "shipstamp_target_drift_seconds{",
        "shipstamp_target_restart_pending{",
    ] {
        assert_eq!(
            text.lines().filter(|l| l.starts_with(family)).count(),
            1,
            "{family}: {text}"
        );
    }
    // Its executable was replaced on disk: a restart is pending.
    assert!(
        text.lines()
            .any(|l| l.starts_with("shipstamp_target_restart_pending{") && l.ends_with("} 1")),
        "{text}"
    );
    assert!(
        text.lines()
            .any(|l| l.starts_with("shipstamp_ref_info{") && l.contains(r#"ref="main""#))
    );
    assert!(
        text.lines()
            .any(|l| l.starts_with("shipstamp_ref_commit_timestamp_seconds{"))
    );
    assert!(
        text.lines()
            .any(|l| l.starts_with("shipstamp_last_round_timestamp_seconds "))
    );
    assert!(
        text.lines()
            .any(|l| l.starts_with("shipstamp_round_duration_seconds "))
    );
    // Its own build, from its own stamp.
    assert!(
        text.lines()
            .any(|l| l.starts_with("shipstamp_build_info{package=\"shipstamp-cli\"")),
        "{text}"
    );
    assert!(!text.contains("# EOF"));

    // OpenMetrics when asked, as Prometheus asks.
    let (kind, om) = metrics(
        &s,
        Some(
            "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1",
        ),
    );
    assert!(
        kind.starts_with("application/openmetrics-text; version=1.0.0"),
        "{kind}"
    );
    assert!(om.ends_with("# EOF\n"), "{om}");
    assert!(om.contains("# TYPE shipstamp_target info\n"), "{om}");
    assert!(
        om.contains("# TYPE shipstamp_fetch_failures counter\n"),
        "{om}"
    );
    assert!(om.contains("# TYPE shipstamp_build info\n"), "{om}");
    // Refused at q=0: the text format.
    let (kind, _) = metrics(&s, Some("application/openmetrics-text;q=0"));
    assert!(kind.starts_with("text/plain"), "{kind}");
}

#[test]
fn which_targets_get_series() {
    let s = setup(&["--metrics-targets", "all"]);
    let (_, text) = metrics(&s, None);
    let info = text
        .lines()
        .filter(|l| l.starts_with("shipstamp_target_info{"))
        .count();
    assert_eq!(info, 2, "every target: {text}");
    assert!(text.contains(r#"target="web-2",status="match""#), "{text}");
    drop(s);
    let s = setup(&["--metrics-targets", "none"]);
    let (_, text) = metrics(&s, None);
    assert!(!text.contains("shipstamp_target_info{"), "{text}");
    assert!(
        text.contains(r#"status="behind"} 1"#),
        "counts stay: {text}"
    );

    // A bad value is a usage error.
    let out = Command::new(crate::util::cli())
        .args([
            "dashboard",
            "--ref",
            "main",
            "--metrics-targets",
            "some",
            "http://127.0.0.1:9/",
        ])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(64),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
#[ignore = "needs prometheus and promtool (apt-get install prometheus; .ci/run runs it)"]
fn promtool_and_a_real_prometheus_read_it() {
    let s = setup(&["--metrics-targets", "all"]);
    // The text format, as promtool lints it.
    let (_, body) = metrics(&s, None);
    let mut promtool = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("promtool runs");
    use std::io::Write as _;
    promtool
        .stdin
        .take()
        .unwrap()
        .write_all(body.as_bytes())
        .unwrap();
    let out = promtool.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}{}\n{body}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    // The drift alert rules: valid, and their unit tests pass.
    let rules = Path::new(env!("CARGO_MANIFEST_DIR")).join("../integrations/prometheus");
    for args in [
        ["check", "rules", "drift-alerts.yml"],
        ["test", "rules", "drift-alerts.test.yml"],
    ] {
        let out = Command::new("promtool")
            .args(args)
            .current_dir(&rules)
            .output()
            .expect("promtool runs");
        assert!(
            out.status.success(),
            "promtool {args:?}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    // OpenMetrics, as a real Prometheus scrapes it (it asks for OpenMetrics first), with the
    // rules loaded.
    let prometheus = PrometheusServer::start(&format!(
        "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\nrule_files: [{:?}]\nscrape_configs:\n  - job_name: shipstamp\n    static_configs:\n      - targets: ['{}']\n",
        rules.join("drift-alerts.yml").canonicalize().unwrap(),
        s.dashboard.addr
    ));
    prometheus.wait_until(|p| {
        !p.query(r#"shipstamp_target_info{status="behind"}"#)
            .is_empty()
    });
    let behind = prometheus.query(r#"shipstamp_target_commits_behind"#);
    assert_eq!(behind.len(), 1, "{behind:?}");
    assert_eq!(behind[0]["value"][1], "1");
    assert_eq!(behind[0]["metric"]["revision"], s.old.as_str());
    assert!(!prometheus.query("shipstamp_build_info").is_empty());
    prometheus.wait_until(|p| !p.query("shipstamp_round_interval_seconds").is_empty());
    let rule_groups = request(prometheus.addr, "GET", "/api/v1/rules")
        .unwrap()
        .text();
    assert!(
        rule_groups.contains("ShipstampTargetBehind"),
        "{rule_groups}"
    );
    // Before the first scrape the watcher is absent, so the alert may be pending; once rounds
    // are scraped and the rule is evaluated again it is not (within Prometheus' patience).
    prometheus.wait_until(|p| {
        p.query(r#"ALERTS{alertname="ShipstampWatcherDown"}"#)
            .is_empty()
    });
    assert_eq!(
        prometheus.query(r#"shipstamp_targets{status="match"}"#)[0]["value"][1],
        "1"
    );
    // The Grafana dashboard's panels on the watcher's series answer.
    let grafana: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(rules.join("grafana-dashboard.json")).unwrap(),
    )
    .unwrap();
    let expr = |title: &str| -> String {
        let panel = grafana["panels"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["title"] == title)
            .unwrap_or_else(|| panic!("no panel {title:?}"));
        panel["targets"][0]["expr"].as_str().unwrap().to_owned()
    };
    let longest = prometheus.query(&expr("Longest drift per service and environment"));
    assert_eq!(longest.len(), 1, "{longest:?}");
    let mut by_status: Vec<(String, String)> = prometheus
        .query(&expr("Targets by status"))
        .iter()
        .map(|s| {
            (
                s["metric"]["status"].as_str().unwrap().to_owned(),
                s["value"][1].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    by_status.sort();
    assert_eq!(
        by_status,
        [("behind".into(), "1".into()), ("match".into(), "1".into())]
    );
    let r = request(s.dashboard.addr, "GET", "/metrics").unwrap();
    assert_eq!(r.header("cache-control"), Some("no-store"));
}

#[test]
fn check_writes_the_same_metrics_to_a_file_for_cron() {
    let repo = TempRepo::new();
    repo.write("a.txt", "1\n");
    let old = repo.commit_all("Add orders");
    repo.write("a.txt", "2\n");
    let new = repo.commit_all("Fix double emit");
    let (behind, matching) = (
        StubServer::start(vec![("/version", doc(&old))]),
        StubServer::start(vec![("/version", doc(&new))]),
    );
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("shipstamp.prom");
    let file_arg = file.to_str().unwrap();

    let out = crate::util::check_in(
        &repo,
        &[
            &behind.url("/version"),
            "--ref",
            "main",
            "--openmetrics",
            file_arg,
        ],
    );
    assert_eq!(crate::util::code(&out), 1, "{}", crate::util::text(&out));
    let text = std::fs::read_to_string(&file).unwrap();
    assert!(
        text.lines().any(|l| l.starts_with("shipstamp_target_info{")
            && l.contains(&format!(r#"status="behind",revision="{old}""#))),
        "{text}"
    );
    assert!(
        text.contains("shipstamp_last_round_timestamp_seconds "),
        "{text}"
    );
    assert!(!text.contains("# EOF"), "the text format: {text}");
    // Replaced whole, nothing else left in the directory.
    let out = crate::util::check_in(
        &repo,
        &[
            &matching.url("/version"),
            "--ref",
            "main",
            "--openmetrics",
            file_arg,
        ],
    );
    assert_eq!(crate::util::code(&out), 0, "{}", crate::util::text(&out));
    let text = std::fs::read_to_string(&file).unwrap();
    assert!(!text.contains("shipstamp_target_info{"), "{text}");
    assert!(text.contains(r#"status="match"} 1"#), "{text}");
    let names: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names, ["shipstamp.prom"]);

    // A file that cannot be written: said, and exit 2 unless drift was found (which wins).
    let nowhere = dir.path().join("no/such/dir/shipstamp.prom");
    let nowhere = nowhere.to_str().unwrap();
    let out = crate::util::check_in(
        &repo,
        &[
            &matching.url("/version"),
            "--ref",
            "main",
            "--openmetrics",
            nowhere,
        ],
    );
    assert_eq!(crate::util::code(&out), 2, "{}", crate::util::text(&out));
    assert!(
        crate::util::stderr(&out).contains("cannot write")
            && crate::util::stdout(&out).starts_with("match"),
        "{}",
        crate::util::text(&out)
    );
    let out = crate::util::check_in(
        &repo,
        &[
            &behind.url("/version"),
            "--ref",
            "main",
            "--openmetrics",
            nowhere,
        ],
    );
    assert_eq!(crate::util::code(&out), 1, "{}", crate::util::text(&out));
}
