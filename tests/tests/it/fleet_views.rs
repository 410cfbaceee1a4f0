//! Fleet views beyond one dashboard process: the Prometheus exposition (read by a real parser),
//! the Grafana dashboard, and the deploy gate's workflow step run against loopback services.

use std::path::{Path, PathBuf};
use std::process::Command;

use shipstamp_tests::{
    PrometheusServer as Prometheus, Reply, StubServer, TempRepo, percent_encode, workspace_binary,
};

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .canonicalize()
        .unwrap()
}

fn parse_exposition(text: &str) -> prometheus_parse::Scrape {
    prometheus_parse::Scrape::parse(text.lines().map(|l| Ok(l.to_owned())))
        .expect("valid Prometheus text")
}

fn gauge(sample: &prometheus_parse::Sample) -> f64 {
    match sample.value {
        prometheus_parse::Value::Gauge(v) | prometheus_parse::Value::Untyped(v) => v,
        ref other => panic!("not a gauge: {other:?}"),
    }
}

#[test]
fn build_info_parses_with_a_prometheus_text_parser() {
    let stamp = shipstamp::stamp!();
    let scrape = parse_exposition(&stamp.build_info_metric());
    let info = scrape
        .samples
        .iter()
        .find(|s| s.metric == "shipstamp_tests_build_info")
        .expect("build_info sample");
    assert_eq!(gauge(info), 1.0);
    assert_eq!(info.labels.get("package"), Some("shipstamp-tests"));
    assert_eq!(
        info.labels.get("revision"),
        Some(stamp.git.commit.as_deref().unwrap_or(""))
    );
    assert!(info.labels.get("dirty").is_some());
    let started = scrape
        .samples
        .iter()
        .find(|s| s.metric == "shipstamp_tests_start_time_seconds")
        .expect("start time");
    assert_eq!(
        gauge(started) as i64,
        stamp.process().unwrap().started_at.unwrap().unix_seconds()
    );
    assert!(
        scrape.docs.contains_key("shipstamp_tests_build_info"),
        "HELP text"
    );

    // A fixed name, and label values that need escaping, still parse.
    let named = parse_exposition(&stamp.build_info_metric_named("shipstamp"));
    assert!(
        named
            .samples
            .iter()
            .any(|s| s.metric == "shipstamp_build_info")
    );
}

#[test]
fn the_example_services_metrics_route_parses() {
    let service = shipstamp_tests::Service::start(
        &workspace_binary("example-actix-service", "example-actix-service"),
        &[],
    );
    let res = shipstamp_tests::request(service.addr, "GET", "/metrics").unwrap();
    assert_eq!(res.status, 200);
    let scrape = parse_exposition(&res.text());
    let info = scrape
        .samples
        .iter()
        .find(|s| s.metric == "example_actix_service_build_info")
        .expect("sample");
    assert_eq!(info.labels.get("version"), Some("1.0.0"));
}

#[test]
fn grafana_dashboard_is_well_formed_and_queries_build_info() {
    let text =
        std::fs::read_to_string(workspace().join("integrations/prometheus/grafana-dashboard.json"))
            .unwrap();
    let dash: serde_json::Value = serde_json::from_str(&text).expect("valid JSON");
    assert_eq!(dash["uid"], "shipstamp-versions");
    let panels = dash["panels"].as_array().unwrap();
    let titles: Vec<&str> = panels
        .iter()
        .map(|p| p["title"].as_str().unwrap())
        .collect();
    for wanted in [
        "Distinct commits in the fleet",
        "Instance → commit → start time",
        "Which instances run which commit",
    ] {
        assert!(titles.contains(&wanted), "{titles:?}");
    }
    let mut ids = Vec::new();
    for panel in panels {
        ids.push(panel["id"].as_u64().unwrap());
        for target in panel["targets"].as_array().unwrap() {
            let expr = target["expr"].as_str().unwrap();
            // Every service's build_info, or the watcher's own series (docs/metrics.md).
            assert!(
                expr.contains("_build_info")
                    || ["shipstamp_targets", "shipstamp_target_drift_seconds"]
                        .iter()
                        .any(|m| expr.contains(&format!("{m})"))),
                "{expr}"
            );
            assert_eq!(
                expr.matches('(').count(),
                expr.matches(')').count(),
                "{expr}"
            );
            assert_eq!(
                expr.matches('{').count(),
                expr.matches('}').count(),
                "{expr}"
            );
            assert_eq!(target["datasource"]["uid"], "${datasource}");
        }
    }
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), panels.len(), "panel ids are unique");
    let vars: Vec<&str> = dash["templating"]["list"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["name"].as_str().unwrap())
        .collect();
    assert_eq!(vars, ["datasource", "package"]);
}

/// The workflow's gate step: its `run` script and its `env`.
fn gate_step() -> (String, Vec<(String, String)>) {
    use yaml_rust2::YamlLoader;
    let text =
        std::fs::read_to_string(workspace().join("integrations/deploy-gate/github-actions.yml"))
            .unwrap();
    let docs = YamlLoader::load_from_str(&text).expect("valid YAML");
    let workflow = &docs[0];
    assert_eq!(workflow["name"].as_str(), Some("deploy-gate"));
    assert!(
        !workflow["on"]["workflow_run"].is_badvalue(),
        "runs after the deploy workflow"
    );
    let steps = workflow["jobs"]["verify"]["steps"].as_vec().expect("steps");
    let checkout = &steps[0];
    assert_eq!(
        checkout["with"]["fetch-depth"].as_i64(),
        Some(0),
        "history for commit counts"
    );
    let step = steps
        .iter()
        .find(|s| s["name"].as_str() == Some("Wait until every host runs the deployed commit"))
        .expect("the gate step");
    let run = step["run"].as_str().expect("run script").to_owned();
    let env = step["env"]
        .as_hash()
        .expect("env")
        .iter()
        .map(|(k, v)| {
            let v = v
                .as_str()
                .map(str::to_owned)
                .or_else(|| v.as_i64().map(|n| n.to_string()))
                .unwrap_or_default();
            (k.as_str().unwrap().to_owned(), v)
        })
        .collect();
    (run, env)
}

#[test]
fn the_workflows_gate_step_passes_on_match_and_fails_on_drift() {
    let (run, env) = gate_step();
    assert!(
        env.iter().any(|(k, v)| k == "REF" && v.contains("${{")),
        "REF comes from the workflow: {env:?}"
    );

    let repo = TempRepo::new();
    let old = repo.commit_all("old");
    let new = repo.commit_all("new");
    let doc = |commit: &str| {
        Reply::Ok(
            "application/json",
            format!(r#"{{"schema":"shipstamp/v1","package":{{"name":"svc","version":"1"}},"git":{{"commit":"{commit}","dirty":false}}}}"#).into_bytes(),
        )
    };
    let server = StubServer::start(vec![
        ("/a", doc(&new)),
        ("/b", doc(&new)),
        ("/stale", doc(&old)),
    ]);
    let cli = crate::util::cli();
    let path = format!(
        "{}:{}",
        cli.parent().unwrap().display(),
        std::env::var("PATH").unwrap()
    );
    let targets = tempfile::NamedTempFile::new().unwrap();

    let gate = |lines: &str| {
        std::fs::write(targets.path(), lines).unwrap();
        let mut cmd = Command::new("bash");
        cmd.arg("-c").arg(&run).current_dir(workspace());
        // The workflow's own environment, with what GitHub would substitute filled in, and a
        // short WAIT and INTERVAL so the failing cases end quickly.
        for (k, v) in &env {
            cmd.env(k, v);
        }
        cmd.env("REF", &new)
            .env("TARGETS_FILE", targets.path())
            .env("WAIT", "3s")
            .env("INTERVAL", "200ms")
            .env("REPO", repo.path())
            .env("PATH", &path);
        cmd.output().unwrap()
    };
    let text = crate::util::text;

    let ok = gate(&format!(
        "# prod\n{} a\n{} b\n",
        server.url("/a"),
        server.url("/b")
    ));
    assert_eq!(ok.status.code(), Some(0), "{}", text(&ok));
    assert!(
        text(&ok).contains("deploy gate: every host runs"),
        "{}",
        text(&ok)
    );

    let drift = gate(&format!(
        "{} a\n{} stale\n",
        server.url("/a"),
        server.url("/stale")
    ));
    assert_eq!(drift.status.code(), Some(1), "{}", text(&drift));
    assert!(
        text(&drift).contains("FAILED, drift") && text(&drift).contains("behind 1"),
        "{}",
        text(&drift)
    );

    let refused = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let gone = gate(&format!(
        "{} a\nhttp://{refused}/version down\n",
        server.url("/a")
    ));
    assert_eq!(gone.status.code(), Some(2), "{}", text(&gone));
    assert!(text(&gone).contains("could not decide"), "{}", text(&gone));

    let bad = gate("not-a-url\n");
    assert_eq!(bad.status.code(), Some(64), "{}", text(&bad));
    assert!(text(&bad).contains("usage error"), "{}", text(&bad));
}

#[test]
#[ignore = "needs prometheus and promtool (apt-get install prometheus; .ci/run runs it)"]
fn grafana_panels_and_alerts_answer_in_a_real_prometheus() {
    let rules = workspace().join("integrations/prometheus/alerts.yml");
    let promtool = Command::new("promtool")
        .arg("check")
        .arg("rules")
        .arg(&rules)
        .output()
        .expect("promtool runs (apt-get install prometheus)");
    assert!(
        promtool.status.success(),
        "{}",
        String::from_utf8_lossy(&promtool.stdout)
    );

    let axum = shipstamp_tests::Service::start(
        &workspace_binary("example-axum-service", "example-axum-service"),
        &[],
    );
    let actix = shipstamp_tests::Service::start(
        &workspace_binary("example-actix-service", "example-actix-service"),
        &[],
    );
    let dirty_services = [&axum, &actix]
        .iter()
        .filter(|s| {
            let version = shipstamp_tests::request(s.addr, "GET", "/version").unwrap();
            shipstamp::Stamp::from_slice(&version.body)
                .unwrap()
                .git
                .dirty
                == Some(true)
        })
        .count();
    let prometheus = Prometheus::start(&format!(
        "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\nrule_files: [{rules:?}]\n\
         scrape_configs:\n  - job_name: examples\n    static_configs:\n      - targets: [\"{}\", \"{}\"]\n",
        axum.addr, actix.addr
    ));
    prometheus.wait_until(|p| p.query(r#"{__name__=~".+_build_info", package!=""}"#).len() == 2);

    let dash: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(
            workspace().join("integrations/prometheus/grafana-dashboard.json"),
        )
        .unwrap(),
    )
    .unwrap();
    // Grafana's "All" for a multi-value regex variable.
    let all = |expr: &str| expr.replace("$package", ".*");
    let panel = |title: &str| -> Vec<String> {
        dash["panels"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|p| p["title"] == title)
            .flat_map(|p| p["targets"].as_array().unwrap().iter())
            .map(|t| all(t["expr"].as_str().unwrap()))
            .collect()
    };
    let one = |title: &str| -> String {
        let exprs = panel(title);
        assert_eq!(exprs.len(), 1, "{title}: {exprs:?}");
        exprs[0].clone()
    };
    // Both examples are built from this workspace's one commit.
    assert_eq!(
        prometheus.scalar(&one("Distinct commits in the fleet")),
        1.0
    );
    assert_eq!(prometheus.scalar(&one("Instances")), 2.0);
    assert_eq!(
        prometheus.scalar(&one("Dirty builds running")),
        dirty_services as f64
    );
    let per_commit = prometheus.query(&one("Which instances run which commit"));
    let mut packages: Vec<&str> = per_commit
        .iter()
        .map(|s| s["metric"]["package"].as_str().unwrap())
        .collect();
    packages.sort();
    assert_eq!(packages, ["example-actix-service", "example-axum-service"]);
    let table = panel("Instance → commit → start time");
    assert_eq!(table.len(), 2);
    let rows = prometheus.query(&table[0]);
    assert_eq!(rows.len(), 2, "{rows:?}");
    let instances: Vec<String> = rows
        .iter()
        .map(|r| r["metric"]["instance"].as_str().unwrap().to_owned())
        .collect();
    assert!(instances.contains(&axum.addr.to_string()), "{instances:?}");
    let starts = prometheus.query(&table[1]);
    assert_eq!(starts.len(), 2, "{starts:?}");
    let now_ms = shipstamp::Timestamp::now().unix_seconds() as f64 * 1000.0;
    for s in &starts {
        let started: f64 = s["value"][1].as_str().unwrap().parse().unwrap();
        assert!(
            (now_ms - 3_600_000.0..=now_ms + 1000.0).contains(&started),
            "start time in ms, within the last hour: {s}"
        );
    }
    assert_eq!(
        prometheus
            .query(&one("Commit per instance over time"))
            .len(),
        2
    );
    // The `package` variable's own query, through the label values API.
    let path = format!(
        "/api/v1/label/package/values?match[]={}",
        percent_encode(r#"{__name__=~".+_build_info", package!=""}"#)
    );
    let values: serde_json::Value = serde_json::from_slice(
        &shipstamp_tests::request(prometheus.addr, "GET", &path)
            .unwrap()
            .body,
    )
    .unwrap();
    assert_eq!(
        values["data"],
        serde_json::json!(["example-actix-service", "example-axum-service"])
    );

    // The alert rules, loaded and evaluated: one commit, so no FleetRunsSeveralCommits;
    // DirtyBuildInProduction exactly when a service was built dirty.
    prometheus.wait_until(|p| {
        let res = shipstamp_tests::request(p.addr, "GET", "/api/v1/rules").unwrap();
        let body: serde_json::Value = serde_json::from_slice(&res.body).unwrap();
        body["data"]["groups"][0]["rules"]
            .as_array()
            .is_some_and(|r| r.len() == 2 && r.iter().all(|r| r["health"] == "ok"))
    });
    let yaml = yaml_rust2::YamlLoader::load_from_str(&std::fs::read_to_string(&rules).unwrap())
        .expect("valid YAML");
    let expr = |alert: &str| -> String {
        yaml[0]["groups"][0]["rules"]
            .as_vec()
            .unwrap()
            .iter()
            .find(|r| r["alert"].as_str() == Some(alert))
            .and_then(|r| r["expr"].as_str())
            .unwrap_or_else(|| panic!("no alert {alert}"))
            .to_owned()
    };
    assert!(
        prometheus
            .query(&expr("FleetRunsSeveralCommits"))
            .is_empty()
    );
    assert_eq!(
        prometheus.query(&expr("DirtyBuildInProduction")).len(),
        dirty_services
    );
}
