//! `integrations/kubernetes`, as far as a machine without a cluster allows: the manifests
//! parsed and read, the fleet file run with its Service names resolved to loopback, and (with
//! `kubectl` and `promtool`) the kustomization rendered, the manifests read by Kubernetes' own
//! types, the jsonpath one-liner run against a loopback stand-in for the API server, and the
//! scrape configuration checked.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde_json::Value;
use shipstamp_tests::{Reply, StubServer, TempRepo};
use yaml_rust2::{Yaml, YamlLoader};

use crate::util::{cli, code, text};

fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../integrations/kubernetes")
}

fn yaml(file: &str) -> Yaml {
    let text = std::fs::read_to_string(dir().join(file)).unwrap();
    let mut docs = YamlLoader::load_from_str(&text).unwrap_or_else(|e| panic!("{file}: {e}"));
    assert_eq!(docs.len(), 1, "{file}: one document");
    docs.remove(0)
}

fn args(container: &Yaml) -> Vec<String> {
    container["args"]
        .as_vec()
        .unwrap()
        .iter()
        .map(|a| {
            a.as_str()
                .map(str::to_owned)
                .unwrap_or_else(|| format!("{a:?}"))
        })
        .collect()
}

fn doc(commit: &str) -> Reply {
    Reply::shipstamp("orders", commit)
}

#[test]
fn the_manifests_say_what_the_readme_says() {
    let job = yaml("job.yaml");
    assert_eq!(job["kind"].as_str(), Some("Job"));
    assert_eq!(
        job["spec"]["backoffLimit"].as_i64(),
        Some(0),
        "fails at the first failure"
    );
    let pod = &job["spec"]["template"]["spec"];
    assert_eq!(pod["restartPolicy"].as_str(), Some("Never"));
    assert_eq!(pod["securityContext"]["runAsNonRoot"].as_bool(), Some(true));
    let main = &pod["containers"][0];
    let a = args(main);
    assert_eq!(&a[..3], ["check", "--fleet", "/etc/shipstamp/fleet.toml"]);
    assert!(a.windows(2).any(|w| w[0] == "--wait"), "{a:?}");
    assert_eq!(
        main["securityContext"]["readOnlyRootFilesystem"].as_bool(),
        Some(true)
    );
    let clone = args(&pod["initContainers"][0]);
    assert!(
        clone.contains(&"--filter=blob:none".to_owned()),
        "history for the counts: {clone:?}"
    );
    assert!(clone.contains(&"/work/orders".to_owned()));
    let volumes = pod["volumes"].as_vec().unwrap();
    assert!(
        volumes
            .iter()
            .any(|v| v["configMap"]["name"].as_str() == Some("shipstamp-fleet"))
    );

    let cron = yaml("cronjob.yaml");
    assert_eq!(cron["kind"].as_str(), Some("CronJob"));
    assert_eq!(cron["spec"]["schedule"].as_str(), Some("*/15 * * * *"));
    assert_eq!(cron["spec"]["concurrencyPolicy"].as_str(), Some("Forbid"));
    let a = args(&cron["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"][0]);
    assert_eq!(a, ["check", "--fleet", "/etc/shipstamp/fleet.toml"]);

    let kustomization = yaml("kustomization.yaml");
    let generated = &kustomization["configMapGenerator"][0];
    assert_eq!(generated["name"].as_str(), Some("shipstamp-fleet"));
    assert_eq!(generated["files"][0].as_str(), Some("fleet.toml"));
    let service = yaml("headless-service.yaml");
    assert_eq!(
        service["spec"]["clusterIP"].as_str(),
        Some("None"),
        "headless"
    );
    let scrape = yaml("prometheus-scrape.yaml");
    assert_eq!(
        scrape["scrape_configs"][0]["kubernetes_sd_configs"][0]["role"].as_str(),
        Some("pod")
    );
}

/// The fleet file as the Job runs it, with the headless Services' names resolved to loopback
/// addresses (one pod behind, one up to date) and the clone in a temporary directory.
#[test]
fn the_fleet_file_checks_every_pod_behind_each_service_name() {
    let repo = TempRepo::new();
    let old = repo.commit_all("old");
    let new = repo.commit_all("new");
    repo.git(&["branch", "-M", "main"]);
    repo.git(&["update-ref", "refs/remotes/origin/main", &new]);
    repo.git(&["update-ref", "refs/remotes/origin/staging", &old]);
    // A port free on the three loopback addresses the "pods" use.
    let port = loop {
        let p = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        if (2..=4).all(|i| std::net::TcpListener::bind((format!("127.0.0.{i}"), p)).is_ok()) {
            break p;
        }
    };
    let at = |i: u8| std::net::SocketAddr::from(([127, 0, 0, i], port));
    let _prod_a = StubServer::start_at(at(2), vec![("/version", doc(&new))]);
    let _prod_b = StubServer::start_at(at(3), vec![("/version", doc(&old))]);
    let _staging = StubServer::start_at(at(4), vec![("/version", doc(&old))]);
    let work = tempfile::tempdir().unwrap();
    let fleet = std::fs::read_to_string(dir().join("fleet.toml"))
        .unwrap()
        .replace("/work/orders", repo.path().to_str().unwrap())
        .replace(":8080", &format!(":{port}"));
    std::fs::write(work.path().join("fleet.toml"), fleet).unwrap();
    let out = Command::new(cli())
        .args(["check", "--json", "--fleet"])
        .arg(work.path().join("fleet.toml"))
        .arg(format!(
            "--resolve=orders-headless.production.svc.cluster.local:{port}:127.0.0.2,127.0.0.3"
        ))
        .arg(format!(
            "--resolve=orders-headless.staging.svc.cluster.local:{port}:127.0.0.4"
        ))
        .output()
        .unwrap();
    assert_eq!(code(&out), 1, "{}", text(&out));
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    let cells: Vec<(&str, &str)> = doc["cells"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["environment"].as_str().unwrap(),
                c["text"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        cells,
        [
            ("production", "1/2 match, 1 behind 1, 2 builds"),
            ("staging", "1/1 match")
        ]
    );
}

#[test]
#[ignore = "needs kubectl (apt-get install kubernetes-client; .ci/run runs it)"]
fn kubectl_renders_reads_and_runs_the_one_liner() {
    let kubectl = |args: &[&str]| {
        Command::new("kubectl")
            .args(args)
            .output()
            .expect("kubectl runs (apt-get install kubernetes-client)")
    };
    // The kustomization renders offline: the ConfigMap holds the fleet file.
    let out = kubectl(&["kustomize", dir().to_str().unwrap()]);
    assert!(out.status.success(), "{}", text(&out));
    let rendered = String::from_utf8_lossy(&out.stdout);
    let docs = YamlLoader::load_from_str(&rendered).unwrap();
    let mut kinds: Vec<&str> = docs.iter().filter_map(|d| d["kind"].as_str()).collect();
    kinds.sort_unstable();
    assert_eq!(
        kinds,
        ["ConfigMap", "CronJob", "Deployment", "Job", "Service"]
    );
    assert!(
        docs.iter()
            .all(|d| d["metadata"]["namespace"].as_str() == Some("shipstamp"))
    );
    assert!(docs.iter().any(|d| {
        d["data"]["fleet.toml"]
            .as_str()
            .is_some_and(|f| f.contains("[service.orders.env.production]"))
    }));
    // Kubernetes' own types read each manifest (no cluster needed with --local).
    for file in [
        "job.yaml",
        "cronjob.yaml",
        "headless-service.yaml",
        "watcher.yaml",
    ] {
        let out = kubectl(&[
            "label",
            "--local",
            "-f",
            dir().join(file).to_str().unwrap(),
            "checked=yes",
            "-o",
            "jsonpath={.kind}",
        ]);
        assert!(out.status.success(), "{file}: {}", text(&out));
    }

    // The one-liner, against a loopback stand-in for the API server with two pods whose
    // "pod IPs" are loopback services, piped into shipstamp.
    let repo = TempRepo::new();
    let old = repo.commit_all("old");
    let new = repo.commit_all("new");
    repo.git(&["branch", "-M", "main"]);
    let port = loop {
        let p = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        if (5..=6).all(|i| std::net::TcpListener::bind((format!("127.0.0.{i}"), p)).is_ok()) {
            break p;
        }
    };
    let _pod_a = StubServer::start_at(([127, 0, 0, 5], port).into(), vec![("/version", doc(&new))]);
    let _pod_b = StubServer::start_at(([127, 0, 0, 6], port).into(), vec![("/version", doc(&old))]);
    let pod = |name: &str, ip: &str| {
        format!(
            r#"{{"apiVersion":"v1","kind":"Pod","metadata":{{"name":"{name}","namespace":"orders","labels":{{"app":"orders"}}}},"spec":{{"containers":[{{"name":"orders","image":"orders"}}]}},"status":{{"phase":"Running","podIP":"{ip}"}}}}"#
        )
    };
    let pods = format!(
        r#"{{"apiVersion":"v1","kind":"PodList","metadata":{{"resourceVersion":"1"}},"items":[{},{}]}}"#,
        pod("orders-7d9c-a", "127.0.0.5"),
        pod("orders-7d9c-b", "127.0.0.6")
    );
    let json = |body: &str| Reply::Ok("application/json", body.as_bytes().to_vec());
    let api = StubServer::start(vec![
        (
            "/api",
            json(
                r#"{"kind":"APIVersions","versions":["v1"],"serverAddressByClientCIDRs":[{"clientCIDR":"0.0.0.0/0","serverAddress":"127.0.0.1"}]}"#,
            ),
        ),
        (
            "/apis",
            json(r#"{"kind":"APIGroupList","apiVersion":"v1","groups":[]}"#),
        ),
        (
            "/api/v1",
            json(
                r#"{"kind":"APIResourceList","groupVersion":"v1","resources":[{"name":"pods","singularName":"pod","namespaced":true,"kind":"Pod","verbs":["get","list"],"shortNames":["po"]}]}"#,
            ),
        ),
        ("/api/v1/namespaces/orders/pods", json(&pods)),
    ]);
    let kubeconfig = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(
        kubeconfig.path(),
        format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: stand-in\n  cluster:\n    server: {}\n\
             contexts:\n- name: stand-in\n  context:\n    cluster: stand-in\n    user: nobody\n\
             current-context: stand-in\nusers:\n- name: nobody\n  user: {{}}\n",
            api.url("")
        ),
    )
    .unwrap();
    let readme = std::fs::read_to_string(dir().join("README.md")).unwrap();
    let template = readme
        .split("-o jsonpath='")
        .nth(1)
        .and_then(|rest| rest.split('\'').next())
        .expect("the one-liner's template")
        .replace(":8080", &format!(":{port}"));
    let listed = Command::new("kubectl")
        .arg(format!("--kubeconfig={}", kubeconfig.path().display()))
        .args(["get", "pods", "-n", "orders", "-l", "app=orders", "-o"])
        .arg(format!("jsonpath={template}"))
        .output()
        .unwrap();
    assert!(listed.status.success(), "{}", text(&listed));
    let lines = String::from_utf8_lossy(&listed.stdout).into_owned();
    assert_eq!(
        lines,
        format!(
            "http://127.0.0.5:{port}/version orders-7d9c-a\nhttp://127.0.0.6:{port}/version orders-7d9c-b\n"
        )
    );
    assert!(
        api.request_heads()
            .iter()
            .any(|h| h.starts_with("GET /api/v1/namespaces/orders/pods?")
                && h.contains("labelSelector=app%3Dorders")),
        "{:?}",
        api.request_heads()
    );
    let mut check = Command::new(cli())
        .args(["check", "--ref", "main", "--targets", "-", "--repo"])
        .arg(repo.path())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    std::io::Write::write_all(&mut check.stdin.take().unwrap(), lines.as_bytes()).unwrap();
    let out = check.wait_with_output().unwrap();
    assert_eq!(code(&out), 1, "{}", text(&out));
    let report = text(&out);
    assert!(
        report.contains("orders-7d9c-a")
            && report.contains("behind 1")
            && report.contains("orders-7d9c-b"),
        "{report}"
    );
}

/// The scrape configuration's relabelling, in a real Prometheus, feeding `check --prometheus`.
/// Debian's Prometheus is built without Kubernetes discovery, so the pod is described by a file
/// (`file_sd`) carrying the same `__meta_kubernetes_*` labels Kubernetes discovery would; the
/// relabelling rules are the file's own.
#[test]
#[ignore = "needs prometheus and promtool (apt-get install prometheus; .ci/run runs it)"]
fn the_scrape_configuration_makes_the_prometheus_source_work() {
    use shipstamp_tests::PrometheusServer;

    let repo = TempRepo::new();
    let commit = repo.commit_all("one");
    repo.git(&["branch", "-M", "main"]);
    let exposition = format!(
        "# TYPE orders_build_info gauge\norders_build_info{{package=\"orders\",version=\"1.0.0\",revision=\"{commit}\",dirty=\"false\"}} 1\n\
         # TYPE orders_start_time_seconds gauge\norders_start_time_seconds 1795341900\n"
    );
    let pod = StubServer::start(vec![(
        "/internal/metrics",
        Reply::Ok("text/plain; version=0.0.4", exposition.into_bytes()),
    )]);
    let work = tempfile::tempdir().unwrap();
    let targets = work.path().join("pods.json");
    std::fs::write(
        &targets,
        serde_json::json!([{
            // Kubernetes discovery gives the pod's IP and its container port's number.
            "targets": [format!("127.0.0.1:1")],
            "labels": {
                "__meta_kubernetes_namespace": "production",
                "__meta_kubernetes_pod_name": "orders-7d9c-a",
                "__meta_kubernetes_pod_label_app": "orders",
                "__meta_kubernetes_pod_annotation_prometheus_io_scrape": "true",
                "__meta_kubernetes_pod_annotation_prometheus_io_path": "/internal/metrics",
                "__meta_kubernetes_pod_annotation_prometheus_io_port": pod.addr().port().to_string(),
            }
        }, {
            "targets": ["127.0.0.1:2"],
            "labels": { "__meta_kubernetes_namespace": "production" }
        }])
        .to_string(),
    )
    .unwrap();
    let config = std::fs::read_to_string(dir().join("prometheus-scrape.yaml"))
        .unwrap()
        .replace(
            "kubernetes_sd_configs:\n      - role: pod",
            &format!(
                "file_sd_configs:\n      - files: [{:?}]",
                targets.display().to_string()
            ),
        )
        .replace("scrape_interval: 30s", "scrape_interval: 1s");
    assert!(
        config.contains("file_sd_configs"),
        "the discovery block was found"
    );
    std::fs::write(work.path().join("prometheus.yml"), &config).unwrap();
    let out = Command::new("promtool")
        .args(["check", "config"])
        .arg(work.path().join("prometheus.yml"))
        .output()
        .expect("promtool runs");
    assert!(out.status.success(), "{}", text(&out));

    let prometheus = PrometheusServer::start(&config);
    prometheus.wait_until(|p| p.query(r#"orders_build_info{env="production"}"#).len() == 1);
    let series = prometheus.query(r#"orders_build_info{env="production"}"#);
    let labels = &series[0]["metric"];
    assert_eq!(labels["pod"], "orders-7d9c-a");
    assert_eq!(labels["app"], "orders");
    assert_eq!(labels["job"], "kubernetes-pods");
    assert_eq!(
        prometheus.query("up").len(),
        1,
        "only the annotated pod is scraped"
    );
    let out = Command::new(cli())
        .args(["check", "--json", "--ref", "main", "--prometheus"])
        .arg(format!("http://{}", prometheus.addr))
        .args([
            "--selector",
            r#"orders_build_info{env="production"}"#,
            "--repo",
        ])
        .arg(repo.path())
        .output()
        .unwrap();
    assert_eq!(code(&out), 0, "{}", text(&out));
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["targets"][0]["status"], "match");
    assert_eq!(doc["targets"][0]["started_at"], "2026-11-22T10:05:00Z");
}

/// The watcher's Deployment runs the real command line: with its arguments (the fleet file and
/// the listen address pointed at this machine), the dashboard starts, fetches and serves the
/// page its probes ask for and the /metrics its annotations name.
#[test]
fn the_watcher_runs_as_its_manifest_says() {
    let text = std::fs::read_to_string(dir().join("watcher.yaml")).unwrap();
    let docs = YamlLoader::load_from_str(&text).unwrap();
    let deployment = docs
        .iter()
        .find(|d| d["kind"].as_str() == Some("Deployment"))
        .unwrap();
    let service = docs
        .iter()
        .find(|d| d["kind"].as_str() == Some("Service"))
        .unwrap();
    let pod = &deployment["spec"]["template"];
    assert_eq!(
        deployment["spec"]["replicas"].as_i64(),
        Some(1),
        "one watcher, one message"
    );
    let container = &pod["spec"]["containers"][0];
    let probe_paths = [
        container["readinessProbe"]["httpGet"]["path"]
            .as_str()
            .unwrap(),
        container["livenessProbe"]["httpGet"]["path"]
            .as_str()
            .unwrap(),
    ];
    for annotations in [
        &pod["metadata"]["annotations"],
        &service["metadata"]["annotations"],
    ] {
        assert_eq!(annotations["prometheus.io/path"].as_str(), Some("/metrics"));
        assert_eq!(annotations["prometheus.io/port"].as_str(), Some("8080"));
    }
    assert_eq!(
        service["spec"]["selector"],
        deployment["spec"]["selector"]["matchLabels"]
    );

    let repo = TempRepo::new();
    let head = repo.commit_all("one");
    let server = StubServer::start(vec![("/version", doc(&head))]);
    let fleet = repo.path().join("fleet.toml");
    std::fs::write(
        &fleet,
        format!(
            "[service.orders]\nrepo = \".\"\nref = \"main\"\n\n[service.orders.env.production]\ntargets = [\"{}\"]\n",
            server.url("/version")
        ),
    )
    .unwrap();
    let args: Vec<String> = args(container)
        .into_iter()
        .map(|a| match a.as_str() {
            "/etc/shipstamp/fleet.toml" => fleet.to_str().unwrap().to_owned(),
            "0.0.0.0:8080" => "127.0.0.1:0".to_owned(),
            _ => a,
        })
        .collect();
    assert!(args.contains(&"--fetch".to_owned()), "{args:?}");
    let mut cmd = Command::new(cli());
    cmd.args(&args);
    let watcher = shipstamp_tests::Service::spawn(cmd);
    let start = std::time::Instant::now();
    for path in probe_paths.into_iter().chain(["/metrics"]) {
        loop {
            let r = shipstamp_tests::request(watcher.addr, "GET", path).unwrap();
            if r.status == 200 {
                break;
            }
            assert!(
                start.elapsed() < std::time::Duration::from_secs(30),
                "{path}: {}",
                r.status
            );
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
    }
}
