//! Fleets: two services from two repositories, each in environments that follow different
//! branches, through `check --fleet` and `dashboard --fleet`; the example fleet file; every
//! mistake a fleet file can hold.

use std::path::Path;
use std::process::{Command, Output};

use serde_json::{Value, json};
use shipstamp_tests::{Reply, StubServer, TempRepo};

use crate::util::{cli, code, json, stdout, text};

fn doc(commit: &str) -> Reply {
    Reply::shipstamp("svc", commit)
}

/// orders: main o1 - o2 - o3, staging at o2. billing: main b1 - b2.
struct Repos {
    dir: tempfile::TempDir,
    orders: Vec<String>,
    billing: Vec<String>,
}

fn repos() -> Repos {
    let dir = tempfile::tempdir().unwrap();
    let init = |name: &str, commits: &[&str]| -> Vec<String> {
        let path = dir.path().join(name);
        std::fs::create_dir(&path).unwrap();
        let status = shipstamp_tests::git(&path)
            .args(["init", "-q"])
            .status()
            .unwrap();
        assert!(status.success());
        let repo = TempRepo::at(&path);
        commits.iter().map(|c| repo.commit_all(c)).collect()
    };
    let orders = init("orders", &["o1", "o2", "o3"]);
    TempRepo::at(dir.path().join("orders")).git(&["branch", "staging", &orders[1]]);
    let billing = init("billing", &["b1", "b2"]);
    Repos {
        dir,
        orders,
        billing,
    }
}

fn run(dir: &Path, args: &[&str]) -> Output {
    Command::new(cli())
        .args(args)
        .current_dir(dir)
        .output()
        .expect("runs")
}

#[test]
fn two_services_two_environments_each_against_its_ref() {
    let r = repos();
    let server = StubServer::start(vec![
        ("/orders-prod-1", doc(&r.orders[2])),
        ("/orders-prod-2", doc(&r.orders[0])),
        ("/orders-stg-1", doc(&r.orders[1])),
        ("/billing-prod-1", doc(&r.billing[1])),
        ("/billing-stg-1", doc(&r.billing[1])),
    ]);
    std::fs::write(
        r.dir.path().join("staging-hosts.txt"),
        format!("# staging\n{} stg-1\n", server.url("/orders-stg-1")),
    )
    .unwrap();
    std::fs::write(
        r.dir.path().join("fleet.toml"),
        format!(
            r#"[defaults]
timeout = "3s"

[service.orders]
repo = "orders"
ref = "main"

[service.orders.env.production]
targets = ["{} prod-1", "{} prod-2"]

[service.orders.env.staging]
ref = "staging"
targets_file = "staging-hosts.txt"

[service.billing]
repo = "billing"
ref = "main"

[service.billing.env.production]
targets = ["{}"]

[service.billing.env.staging]
targets = ["{} billing-stg"]
"#,
            server.url("/orders-prod-1"),
            server.url("/orders-prod-2"),
            server.url("/billing-prod-1"),
            server.url("/billing-stg-1"),
        ),
    )
    .unwrap();

    let out = run(r.dir.path(), &["check", "--fleet", "fleet.toml", "--json"]);
    assert_eq!(code(&out), 1, "orders prod-2 is behind: {}", text(&out));
    let doc = json(&out);
    assert_eq!(doc["ref"], Value::Null, "each cell has its own ref");
    let cells: Vec<(String, String, String, String)> = doc["cells"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["service"].as_str().unwrap().to_owned(),
                c["environment"].as_str().unwrap().to_owned(),
                c["ref"]["commit"].as_str().unwrap().to_owned(),
                c["text"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let o = &r.orders;
    let b = &r.billing;
    assert_eq!(
        cells,
        [
            (
                "orders".into(),
                "production".into(),
                o[2].clone(),
                "1/2 match, 1 behind 2, 2 builds".into()
            ),
            (
                "orders".into(),
                "staging".into(),
                o[1].clone(),
                "1/1 match".into()
            ),
            (
                "billing".into(),
                "production".into(),
                b[1].clone(),
                "1/1 match".into()
            ),
            (
                "billing".into(),
                "staging".into(),
                b[1].clone(),
                "1/1 match".into()
            ),
        ]
    );
    let orders_prod = &doc["cells"][0];
    assert_eq!(
        orders_prod["summary"],
        json!({"targets": 2, "match": 1, "drift": 1, "undecided": 0,
               "statuses": [["behind", 1], ["match", 1]], "exit_code": 1})
    );
    assert_eq!(orders_prod["builds"][1]["subject"], "o1");
    let targets: Vec<(String, String, String)> = doc["targets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            (
                t["service"].as_str().unwrap().to_owned(),
                t["environment"].as_str().unwrap().to_owned(),
                t["status"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(targets.len(), 5);
    assert!(targets.contains(&("orders".into(), "staging".into(), "match".into())));
    assert!(targets.contains(&("orders".into(), "production".into(), "behind".into())));

    let out = run(r.dir.path(), &["check", "--fleet", "fleet.toml"]);
    let human = stdout(&out);
    assert!(
        human.contains("orders · production · main = ")
            && human.contains("orders · staging · staging = ")
            && human.contains("behind 2         prod-2")
            && human.contains("2 services, 4 environments: 5 targets, 4 match, 1 behind"),
        "{human}"
    );

    // Filters: each repeatable, and names that do not exist are usage errors.
    let out = run(
        r.dir.path(),
        &[
            "check",
            "--fleet",
            "fleet.toml",
            "--env",
            "staging",
            "--json",
        ],
    );
    assert_eq!(code(&out), 0, "{}", text(&out));
    let envs: Vec<Value> = json(&out)["cells"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["environment"].clone())
        .collect();
    assert_eq!(envs, [json!("staging"), json!("staging")]);
    let out = run(
        r.dir.path(),
        &[
            "check",
            "--fleet",
            "fleet.toml",
            "--service",
            "billing",
            "--service",
            "orders",
            "--env",
            "production",
            "--json",
        ],
    );
    assert_eq!(json(&out)["cells"].as_array().unwrap().len(), 2);
    for (args, says) in [
        (
            vec!["--service", "shipping"],
            "--service shipping: no such service (the fleet has orders, billing)",
        ),
        (vec!["--env", "canary"], "--env canary: no such environment"),
        (vec!["--ref", "main"], "cannot be used with"),
        (vec!["--field", "/x"], "--field goes in the fleet file"),
    ] {
        let mut all = vec!["check", "--fleet", "fleet.toml"];
        all.extend(&args);
        let out = run(r.dir.path(), &all);
        assert_eq!(code(&out), 64, "{args:?}: {}", text(&out));
        assert!(text(&out).contains(says), "{args:?}: {}", text(&out));
    }
    let out = run(
        r.dir.path(),
        &[
            "check",
            "--service",
            "orders",
            "--ref",
            "main",
            "http://127.0.0.1:9/v",
        ],
    );
    assert_eq!(code(&out), 64, "--service needs --fleet: {}", text(&out));

    // The same fleet as a page, for CI.
    let out = run(
        r.dir.path(),
        &[
            "dashboard",
            "--fleet",
            "fleet.toml",
            "--once",
            "--html",
            "fleet.html",
        ],
    );
    assert_eq!(code(&out), 1, "{}", text(&out));
    assert!(
        stdout(&out).contains("fleet.html: 4/5 match in 2 services, 4 environments"),
        "{}",
        text(&out)
    );
    let page = std::fs::read_to_string(r.dir.path().join("fleet.html")).unwrap();
    let data = page
        .split(r#"<script id="fleet-data" type="application/json">"#)
        .nth(1)
        .and_then(|rest| rest.split("</script>").next())
        .unwrap();
    let page_doc: Value = serde_json::from_str(data).unwrap();
    assert_eq!(page_doc["cells"].as_array().unwrap().len(), 4);
    assert_eq!(page_doc["groups"][0]["label"], "behind 2", "drift first");
    assert_eq!(page_doc["groups"][0]["service"], "orders");
}

#[test]
fn a_ref_that_does_not_resolve_names_its_service_and_environment() {
    let r = repos();
    std::fs::write(
        r.dir.path().join("fleet.toml"),
        "[service.orders]\nrepo = \"orders\"\nref = \"main\"\n\n\
         [service.orders.env.production]\ntargets = [\"http://127.0.0.1:9/v\"]\n\n\
         [service.orders.env.canary]\nref = \"canary\"\ntargets = [\"http://127.0.0.1:9/v\"]\n",
    )
    .unwrap();
    let out = run(r.dir.path(), &["check", "--fleet", "fleet.toml"]);
    assert_eq!(code(&out), 2, "{}", text(&out));
    assert!(
        text(&out).contains("orders · canary: unknown ref \"canary\""),
        "{}",
        text(&out)
    );
}

#[test]
fn every_mistake_in_a_fleet_file_names_the_file_line_and_key() {
    let r = repos();
    let plain_dir = r.dir.path().join("not-a-repo");
    std::fs::create_dir(&plain_dir).unwrap();
    let ok_env = "[service.orders.env.production]\ntargets = [\"http://127.0.0.1:9/v\"]\n";
    let cases: Vec<(String, u8, &str)> = vec![
        ("[service.orders\nrepo = 1\n".into(), 64, "fleet.toml:1:"),
        (
            format!("[service.orders]\nrepo = \"orders\"\nrefs = \"main\"\n{ok_env}"),
            64,
            "fleet.toml:3: unknown field `refs`",
        ),
        (
            format!("[defaults]\ntimeout = \"soon\"\n[service.orders]\nrepo = \"orders\"\nref = \"main\"\n{ok_env}"),
            64,
            "fleet.toml:2: defaults.timeout: \"soon\" is not a duration",
        ),
        (
            format!("[defaults]\ninterval = \"0s\"\n[service.orders]\nrepo = \"orders\"\nref = \"main\"\n{ok_env}"),
            64,
            "fleet.toml:2: defaults.interval: \"0s\" is too short",
        ),
        (
            format!("[defaults]\nconcurrency = 0\n[service.orders]\nrepo = \"orders\"\nref = \"main\"\n{ok_env}"),
            64,
            "fleet.toml:2: defaults.concurrency: a number from 1 to 1024",
        ),
        (
            format!("[service.orders]\nref = \"main\"\n{ok_env}"),
            64,
            "service.orders: no repo",
        ),
        (
            format!("[service.orders]\nrepo = \"orders\"\n{ok_env}"),
            64,
            "service.orders.env.production: no ref, and service.orders has none either",
        ),
        (
            "[service.orders]\nrepo = \"orders\"\nref = \"main\"\n".into(),
            64,
            "service.orders: no environments",
        ),
        (
            "[service.orders]\nrepo = \"orders\"\nref = \"main\"\n[service.orders.env.production]\n".into(),
            64,
            "service.orders.env.production: no targets",
        ),
        (
            "[service.orders]\nrepo = \"orders\"\nref = \"main\"\n[service.orders.env.production]\ntargets = [\"orders-1/version\"]\n".into(),
            64,
            "fleet.toml:5: service.orders.env.production.targets[0]: \"orders-1/version\" is not a target: an http:// or https:// URL",
        ),
        (
            "[service.orders]\nrepo = \"orders\"\nref = \"main\"\n[service.orders.env.production]\ncontainers = { project = \"shop\", label = \"team=a\" }\n".into(),
            64,
            "fleet.toml:5: service.orders.env.production.containers: give project = \"NAME\" or label = \"KEY=VALUE\", one of them",
        ),
        (
            "[service.orders]\nrepo = \"orders\"\nref = \"main\"\n[service.orders.env.production]\ncontainers = { image = \"orders\" }\n".into(),
            64,
            "unknown field `image`, expected `project` or `label`",
        ),
        (
            format!("[service.orders]\nrepo = \"orders\"\nref = \"main\"\nengine = \"tcp://10.0.0.1:2375\"\n{ok_env}"),
            64,
            "fleet.toml:4: service.orders.engine: a container engine is reached through its Unix socket (unix:///path), not tcp://",
        ),
        (
            "[service.orders]\nrepo = \"orders\"\nref = \"main\"\n[service.orders.env.production]\ntargets = [\"container:../images\"]\n".into(),
            64,
            "fleet.toml:5: service.orders.env.production.targets[0]: \"container:../images\": a container's name or id is letters, digits, _, . and -",
        ),
        (
            "[service.orders]\nrepo = \"orders\"\nref = \"main\"\n[service.orders.env.production]\ntargets_file = \"missing.txt\"\n".into(),
            64,
            "fleet.toml:5: service.orders.env.production.targets_file: reading targets from",
        ),
        (
            format!("[service.orders]\nrepo = \"orders\"\nref = \"main\"\nfield = \"data\"\n{ok_env}"),
            64,
            "fleet.toml:4: service.orders.field: \"data\" is not a JSON pointer",
        ),
        ("# nothing yet\n".into(), 64, "no services"),
        (
            format!("[service.orders]\nrepo = \"gone\"\nref = \"main\"\n{ok_env}"),
            2,
            "fleet.toml:2: service.orders.repo:",
        ),
        (
            format!("[service.orders]\nrepo = \"not-a-repo\"\nref = \"main\"\n{ok_env}"),
            2,
            "is not in a git repository",
        ),
    ];
    for (content, exit, says) in cases {
        std::fs::write(r.dir.path().join("fleet.toml"), &content).unwrap();
        // The dashboard once: a live one starts whatever a repository says (and shows it).
        for command in [
            &["check"][..],
            &["dashboard", "--once", "--html", "page.html"],
        ] {
            let out = run(
                r.dir.path(),
                &[command, &["--fleet", "fleet.toml"]].concat(),
            );
            assert_eq!(
                code(&out),
                i32::from(exit),
                "{command:?} {content}: {}",
                text(&out)
            );
            assert!(
                text(&out).contains(says),
                "{command:?} {content}:\n{}",
                text(&out)
            );
            assert!(!text(&out).contains("panicked"));
        }
    }
    let out = run(r.dir.path(), &["check", "--fleet", "no-such-fleet.toml"]);
    assert_eq!(code(&out), 64);
    assert!(text(&out).contains("no-such-fleet.toml"), "{}", text(&out));
}

#[test]
fn the_example_fleet_file_loads() {
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let out = run(
        &workspace,
        &[
            "check",
            "--fleet",
            "examples/fleet/fleet.toml",
            "--json",
            "--timeout",
            "1s",
        ],
    );
    // Whether the example services run here or not, the file loads and every cell is there.
    assert!(matches!(code(&out), 0..=2), "{}", text(&out));
    let doc = json(&out);
    let cells: Vec<(Value, Value, Value)> = doc["cells"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["service"].clone(),
                c["environment"].clone(),
                c["ref"]["name"].clone(),
            )
        })
        .collect();
    assert_eq!(
        cells,
        [
            (json!("axum-example"), json!("local"), json!("HEAD")),
            (json!("actix-example"), json!("local"), json!("HEAD")),
        ]
    );
    let names: Vec<&str> = doc["targets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(names, ["axum-1", "actix-1"]);
}

/// The fleet view in a browser, at 5,000 hosts: 10 services × 3 environments. Cells, a cell's
/// hosts, the filter, the collapsed cards, the pages of the table; and how long a redraw takes
/// (printed, and measured properly by `cargo run -p shipstamp-bench --release --bin
/// dashboard_scale`).
#[test]
#[ignore = "needs chromium (apt-get install chromium; .ci/run runs it)"]
fn five_thousand_hosts_stay_readable_in_chromium() {
    use shipstamp_tests::{BigFleet, Browser, Service};
    use std::time::Duration;

    let fleet = BigFleet::new(10, &["production", "staging", "canary"], 5000);
    let mut cmd = Command::new(cli());
    cmd.args(["dashboard", "--fleet"])
        .arg(&fleet.fleet_file)
        .args(["--listen", "127.0.0.1:0", "--interval", "2s"]);
    let dashboard = Service::spawn(cmd);
    let browser = Browser::start();
    let mut page = browser.page();
    page.navigate(&format!("http://{}/", dashboard.addr));
    let patience = Duration::from_secs(60);
    let count = |v: &Value| v.as_u64().unwrap_or(0);
    page.wait_for(
        "document.querySelectorAll('#matrix td.cell').length",
        patience,
        |v| count(v) == 30,
    );
    let cells: Vec<String> = serde_json::from_str(
        page.eval("JSON.stringify([...document.querySelectorAll('#matrix td.cell .text')].map(c => c.textContent))")
            .as_str()
            .unwrap(),
    )
    .unwrap();
    assert_eq!(cells.len(), 30);
    assert!(cells.iter().all(|c| c.contains(" match")), "{cells:?}");
    assert!(cells.iter().any(|c| c.contains("behind")), "{cells:?}");
    assert_eq!(
        page.eval("document.querySelectorAll('#matrix tbody tr').length"),
        10,
        "one row per service"
    );
    assert_eq!(
        page.eval(
            "[...document.querySelectorAll('#matrix thead th')].map(t => t.textContent).join(',')"
        ),
        "service,production,staging,canary"
    );
    let pager = page.eval("document.getElementById('pager').textContent");
    assert!(
        pager
            .as_str()
            .is_some_and(|p| p.contains("showing 1–50 of 5,000")),
        "{pager}"
    );
    assert_eq!(
        page.eval("document.querySelectorAll('#targets tbody tr').length"),
        50
    );
    let first_status = page.eval("document.querySelector('#targets tbody tr').dataset.status");
    assert_eq!(first_status, "diverged", "drift first");
    let more = page
        .eval("[...document.querySelectorAll('.group .more')].map(m => m.textContent)[0] || ''");
    assert!(
        more.as_str()
            .is_some_and(|m| m.starts_with("and ") && m.ends_with(" more")),
        "cards collapse: {more}"
    );
    page.screenshot(&artefact_path("dashboard-fleet.png"));

    // A redraw: select a cell (a click), then filter; each timed with layout included.
    let timed = |page: &mut shipstamp_tests::Page, action: &str| -> f64 {
        let v = page.eval(&format!(
            "(() => {{ const t = performance.now(); {action}; document.body.getBoundingClientRect(); \
             return performance.now() - t; }})()"
        ));
        v.as_f64().unwrap_or(f64::NAN)
    };
    let click_ms = timed(
        &mut page,
        "document.querySelector('#matrix td.cell[data-service=\"billing\"][data-env=\"staging\"]').click()",
    );
    let rows: Vec<(String, String)> = serde_json::from_str(
        page.eval("JSON.stringify([...document.querySelectorAll('#targets tbody tr')].map(r => [r.dataset.service, r.dataset.env]))")
            .as_str()
            .unwrap(),
    )
    .unwrap();
    assert!(!rows.is_empty());
    assert!(
        rows.iter().all(|(s, e)| s == "billing" && e == "staging"),
        "only the cell's hosts: {rows:?}"
    );
    assert!(
        page.eval("document.getElementById('selection').textContent")
            .as_str()
            .is_some_and(|t| t.contains("billing · staging")),
    );
    let unselect_ms = timed(
        &mut page,
        "document.querySelector('#matrix td.cell.selected').click()",
    );
    eprintln!(
        "phases: {}",
        page.eval("JSON.stringify(window.shipstampRenderPhases)")
    );
    page.eval("document.getElementById('filter').value = 'hotfix'");
    page.eval("document.getElementById('filter').dispatchEvent(new Event('input'))");
    let filtered = page.wait_for(
        "[...document.querySelectorAll('#targets tbody tr')].map(r => r.dataset.status).join(',')",
        patience,
        |v| {
            v.as_str()
                .is_some_and(|s| !s.is_empty() && s.split(',').all(|x| x == "diverged"))
        },
    );
    assert!(
        filtered
            .as_str()
            .is_some_and(|s| s.split(',').all(|x| x == "diverged")),
        "the filter finds the hotfix's hosts: {filtered}"
    );
    let render_ms = page.eval("window.shipstampRenderMs");
    eprintln!(
        "redraws over 5,000 hosts: select a cell {click_ms:.1} ms, show all {unselect_ms:.1} ms, \
         filter {:.1} ms (layout included for the clicks)",
        render_ms.as_f64().unwrap_or(f64::NAN)
    );
    page.screenshot(&artefact_path("dashboard-fleet-filtered.png"));
    if std::env::var_os("SHIPSTAMP_UPDATE_SCREENSHOT").is_some() {
        page.eval("document.getElementById('clear-selection').click()");
        page.screenshot_top(&artefact_path("dashboard-fleet.png"), 1500);
        let docs = Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/dashboard-fleet.png");
        std::fs::copy(artefact_path("dashboard-fleet.png"), docs).expect("update docs");
    }
}

fn artefact_path(name: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../target/test-artefacts")
        .join(name)
}

#[test]
fn an_open_page_is_sent_only_what_changed() {
    use shipstamp_tests::{Service, request_with};
    use std::io::Read as _;
    use std::time::{Duration, Instant};

    let r = repos();
    // One host changes what it serves after a few requests; the other never does.
    let server = StubServer::start(vec![
        ("/steady", doc(&r.orders[2])),
        (
            "/rolling",
            Reply::Sequence(vec![
                doc(&r.orders[1]),
                doc(&r.orders[1]),
                doc(&r.orders[1]),
                doc(&r.orders[1]),
                doc(&r.orders[2]),
            ]),
        ),
    ]);
    let mut cmd = Command::new(cli());
    cmd.args([
        "dashboard",
        "--ref",
        "main",
        "--interval",
        "300ms",
        "--listen",
        "127.0.0.1:0",
        "--repo",
    ])
    .arg(r.dir.path().join("orders"))
    .arg(server.url("/steady"))
    .arg(server.url("/rolling"));
    let dashboard = Service::spawn(cmd);
    let get = |headers: &[(&str, &str)]| loop {
        let res = request_with(dashboard.addr, "GET", "/api/fleet.json", headers).expect("answers");
        if res.status != 503 {
            return res;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let first = get(&[("Accept-Encoding", "gzip, deflate")]);
    assert_eq!(first.status, 200);
    assert_eq!(first.header("content-encoding"), Some("gzip"));
    assert_eq!(first.header("vary"), Some("Accept-Encoding"));
    let mut json = Vec::new();
    flate2::read::GzDecoder::new(&first.body[..])
        .read_to_end(&mut json)
        .expect("gzip");
    let doc: Value = serde_json::from_slice(&json).expect("JSON");
    assert_eq!(doc["schema"], "shipstamp-dashboard/v1");
    let etag = first.header("etag").expect("an ETag").to_owned();
    assert!(json.len() > first.body.len(), "compressed");

    // The same content in later rounds: 304, no body, and which round answered.
    let start = Instant::now();
    let mut saw_304 = false;
    let mut saw_change = false;
    while start.elapsed() < Duration::from_secs(20) && !(saw_304 && saw_change) {
        let res = get(&[("If-None-Match", &etag)]);
        match res.status {
            304 => {
                assert!(res.body.is_empty());
                assert!(res.header("x-shipstamp-round").is_some());
                assert!(res.header("x-shipstamp-generated-at").is_some());
                assert!(res.wire_bytes < 512, "{} bytes", res.wire_bytes);
                saw_304 = true;
            }
            200 => {
                // Something changed: the rolling host now runs main.
                let doc: Value = serde_json::from_slice(&res.body).expect("JSON");
                assert_ne!(res.header("etag"), Some(etag.as_str()));
                if doc["summary"]["match"] == 2 {
                    saw_change = true;
                }
            }
            other => panic!("status {other}"),
        }
        std::thread::sleep(Duration::from_millis(150));
    }
    assert!(saw_304, "unchanged rounds answer 304");
    assert!(saw_change, "a change is sent in full");
    let plain = get(&[]);
    assert_eq!(
        plain.header("content-encoding"),
        None,
        "no gzip unless asked"
    );
    assert!(serde_json::from_slice::<Value>(&plain.body).is_ok());
}

/// `--fetch` and `fetch = "…"`: the dashboard fetches in the background, so a commit pushed to
/// the remote becomes the ref by itself; a fetch that fails or hangs is shown and the checks go
/// on.
#[test]
fn the_dashboard_fetches_and_follows_a_push() {
    use shipstamp_tests::{Service, request};
    use std::time::{Duration, Instant};

    let dir = tempfile::tempdir().unwrap();
    let git_in = |cwd: &Path, args: &[&str]| {
        let out = shipstamp_tests::git(cwd).args(args).output().unwrap();
        assert!(
            out.status.success(),
            "git {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    git_in(dir.path(), &["init", "-q", "--bare", "remote.git"]);
    git_in(dir.path(), &["clone", "-q", "remote.git", "developer"]);
    let developer = TempRepo::at(dir.path().join("developer"));
    let deployed = developer.commit_all("deployed");
    developer.git(&["push", "-q", "origin", "HEAD:main"]);
    git_in(
        dir.path(),
        &[
            "clone",
            "-q",
            "--branch",
            "main",
            "remote.git",
            "dashboard-clone",
        ],
    );
    let server = StubServer::start(vec![("/v", doc(&deployed))]);
    std::fs::write(
        dir.path().join("fleet.toml"),
        format!(
            "[service.orders]\nrepo = \"dashboard-clone\"\nref = \"origin/main\"\nfetch = \"1s\"\n\n\
             [service.orders.env.production]\ntargets = [\"{} web-1\"]\n",
            server.url("/v")
        ),
    )
    .unwrap();
    let mut cmd = Command::new(cli());
    cmd.args(["dashboard", "--fleet"])
        .arg(dir.path().join("fleet.toml"))
        .args(["--listen", "127.0.0.1:0", "--interval", "300ms"]);
    let dashboard = Service::spawn(cmd);
    let fleet_doc = || -> Value {
        loop {
            let r = request(dashboard.addr, "GET", "/api/fleet.json").unwrap();
            if r.status == 200 {
                return serde_json::from_slice(&r.body).unwrap();
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    };
    let wait_for = |what: &str, done: &dyn Fn(&Value) -> bool| -> Value {
        let start = Instant::now();
        loop {
            let doc = fleet_doc();
            if done(&doc) {
                return doc;
            }
            assert!(
                start.elapsed() < Duration::from_secs(30),
                "never {what}: {doc:#}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    };
    wait_for("matching", &|d| d["targets"][0]["status"] == "match");

    // A fix is merged and pushed; nobody fetches by hand.
    developer.write("fix.txt", "the fix\n");
    let fix = developer.commit_all("the fix");
    developer.git(&["push", "-q", "origin", "HEAD:main"]);
    let doc = wait_for("behind the pushed fix", &|d| {
        d["targets"][0]["status"] == "behind"
    });
    assert_eq!(doc["cells"][0]["ref"]["commit"], fix.as_str());
    assert_eq!(doc["targets"][0]["behind"], 1);
    assert_eq!(doc["fetches"][0]["service"], "orders");
    assert_eq!(doc["fetches"][0]["ok"], true);
    assert_eq!(doc["fetches"][0]["every_seconds"], 1.0);

    // The remote goes away: the failure is shown, with git's reason, and rounds go on.
    TempRepo::at(dir.path().join("dashboard-clone")).git(&[
        "remote",
        "set-url",
        "origin",
        dir.path().join("gone.git").to_str().unwrap(),
    ]);
    let doc = wait_for("a failed fetch", &|d| d["fetches"][0]["ok"] == false);
    let error = doc["fetches"][0]["error"].as_str().unwrap_or_default();
    assert!(error.contains("git fetch exited with 128"), "{error}");
    let round = doc["round"].as_u64().unwrap();
    wait_for("more rounds", &|d| d["round"].as_u64().unwrap() > round + 2);

    // A remote that accepts the connection and never answers: the fetch is stopped.
    let hang = StubServer::start(vec![(
        "/repo.git/info/refs?service=git-upload-pack",
        Reply::Hang,
    )]);
    TempRepo::at(dir.path().join("dashboard-clone")).git(&[
        "remote",
        "set-url",
        "origin",
        &hang.url("/repo.git"),
    ]);
    let doc = wait_for("a hung fetch", &|d| {
        d["fetches"][0]["error"]
            .as_str()
            .is_some_and(|e| e.contains("did not finish within 1s"))
    });
    let round = doc["round"].as_u64().unwrap();
    wait_for("rounds despite the hung fetch", &|d| {
        d["round"].as_u64().unwrap() > round + 2
    });
    assert_eq!(
        fleet_doc()["targets"][0]["status"],
        "behind",
        "checks go on"
    );
}

/// A fleet whose statuses are mixed, with one service whose repository is missing: what the
/// round counts, and its exit code, as `check` writes them in text and JSON and as the
/// dashboard's document and page show them.
struct Mixed {
    r: Repos,
    _server: StubServer,
}

fn mixed_fleet() -> Mixed {
    let r = repos();
    let server = StubServer::start(vec![
        ("/orders-1", doc(&r.orders[2])),
        ("/orders-2", doc(&r.orders[0])),
        ("/orders-3", doc(&r.orders[0])),
        ("/orders-4", Reply::Status(502, "bad gateway")),
        ("/billing-1", doc(&r.billing[1])),
        ("/billing-2", doc(&"e".repeat(40))),
    ]);
    std::fs::write(
        r.dir.path().join("fleet.toml"),
        format!(
            r#"[service.orders]
repo = "orders"
ref = "main"

[service.orders.env.production]
targets = ["{}", "{}", "{}", "{}"]

[service.billing]
repo = "billing"
ref = "main"

[service.billing.env.production]
targets = ["{}", "{}"]

[service.shipping]
repo = "shipping-not-cloned-yet"
ref = "main"

[service.shipping.env.production]
targets = ["{}"]
"#,
            server.url("/orders-1"),
            server.url("/orders-2"),
            server.url("/orders-3"),
            server.url("/orders-4"),
            server.url("/billing-1"),
            server.url("/billing-2"),
            server.url("/billing-1"),
        ),
    )
    .unwrap();
    Mixed { r, _server: server }
}

/// Each cell's service and its counts by status.
type CellCounts = Vec<(&'static str, Vec<(&'static str, u64)>)>;

/// The counts every rendering must show, and the exit code.
fn expected_counts() -> (CellCounts, i32) {
    (
        vec![
            (
                "orders",
                vec![("match", 1), ("behind", 2), ("invalid-response", 1)],
            ),
            ("billing", vec![("match", 1), ("unknown-commit", 1)]),
        ],
        1,
    )
}

/// `[[status, n], …]` of a summary object, as (status, n) sorted by status.
fn statuses(summary: &Value) -> Vec<(String, u64)> {
    let mut s: Vec<(String, u64)> = summary["statuses"]
        .as_array()
        .expect("statuses")
        .iter()
        .map(|p| (p[0].as_str().unwrap().to_owned(), p[1].as_u64().unwrap()))
        .collect();
    s.sort();
    s
}

fn sorted(counts: &[(&str, u64)]) -> Vec<(String, u64)> {
    let mut s: Vec<(String, u64)> = counts.iter().map(|(k, n)| ((*k).to_owned(), *n)).collect();
    s.sort();
    s
}

/// The summaries of a `shipstamp-check/v1` or `shipstamp-dashboard/v1` document: per cell,
/// and the total (the dashboard's own, or the cells' sum for check).
fn document_counts(doc: &Value) -> Vec<(String, Vec<(String, u64)>)> {
    doc["cells"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["service"].as_str().unwrap().to_owned(),
                statuses(&c["summary"]),
            )
        })
        .collect()
}

#[test]
fn every_rendering_counts_the_round_the_same() {
    let m = mixed_fleet();
    let dir = m.r.dir.path();
    let (cells, exit) = expected_counts();
    let want: Vec<(String, Vec<(String, u64)>)> = cells
        .iter()
        .map(|(s, c)| ((*s).to_owned(), sorted(c)))
        .collect();

    // check, text: each cell's counts line, then the fleet's.
    let out = run(dir, &["check", "--fleet", "fleet.toml"]);
    assert_eq!(code(&out), exit, "{}", text(&out));
    let said = stdout(&out);
    for (service, counts) in &cells {
        let total: u64 = counts.iter().map(|(_, n)| n).sum();
        let line = said
            .lines()
            .skip_while(|l| !l.starts_with(&format!("{service} · production")))
            .find(|l| l.starts_with("  "))
            .unwrap_or_else(|| panic!("{service}'s counts: {said}"));
        assert!(line.contains(&format!("{total} targets")), "{line}");
        for (status, n) in counts {
            assert!(
                line.contains(&format!(", {n} {status}")),
                "{status}: {line}"
            );
        }
    }
    assert!(
        said.contains("3 services, 2 environments: 6 targets"),
        "the broken service is counted as a service: {said}"
    );
    assert!(
        text(&out).contains("shipping: fleet.toml:")
            && text(&out).contains("service.shipping.repo"),
        "the broken service is named, with where the file names it: {}",
        text(&out)
    );

    // check --json.
    let out = run(dir, &["check", "--fleet", "fleet.toml", "--json"]);
    assert_eq!(code(&out), exit, "{}", text(&out));
    let check = json(&out);
    assert_eq!(document_counts(&check), want);
    assert_eq!(check["exit_code"], exit);
    assert_eq!(check["errors"][0]["service"], "shipping");
    assert_eq!(check["errors"][0]["environment"], Value::Null);

    // The dashboard's document, embedded in the page.
    let out = run(
        dir,
        &[
            "dashboard",
            "--fleet",
            "fleet.toml",
            "--once",
            "--html",
            "page.html",
        ],
    );
    assert_eq!(code(&out), exit, "{}", text(&out));
    let page = std::fs::read_to_string(dir.join("page.html")).unwrap();
    let start = page
        .find(r#"<script id="fleet-data" type="application/json">"#)
        .unwrap()
        + r#"<script id="fleet-data" type="application/json">"#.len();
    let end = start + page[start..].find("</script>").unwrap();
    let dashboard: Value = serde_json::from_str(&page[start..end]).unwrap();
    assert_eq!(document_counts(&dashboard), want);
    let mut total: Vec<(String, u64)> = Vec::new();
    for (_, counts) in &want {
        for (status, n) in counts {
            match total.iter_mut().find(|(s, _)| s == status) {
                Some((_, m)) => *m += n,
                None => total.push((status.clone(), *n)),
            }
        }
    }
    total.sort();
    assert_eq!(statuses(&dashboard["summary"]), total);
    assert_eq!(dashboard["summary"]["exit_code"], exit);
    assert_eq!(dashboard["broken"][0]["service"], "shipping");
}

#[test]
#[ignore = "needs chromium (apt-get install chromium; .ci/run runs it)"]
fn the_page_shows_the_rounds_counts_and_its_broken_cell() {
    let m = mixed_fleet();
    let dir = m.r.dir.path();
    let out = run(
        dir,
        &[
            "dashboard",
            "--fleet",
            "fleet.toml",
            "--once",
            "--html",
            "page.html",
        ],
    );
    assert_eq!(code(&out), 1, "{}", text(&out));
    let browser = shipstamp_tests::Browser::start();
    let mut page = browser.page();
    page.navigate(&format!("file://{}", dir.join("page.html").display()));
    let patience = std::time::Duration::from_secs(30);
    let shown = page.wait_for(
        "JSON.stringify({count: (document.getElementById('match-count') || {}).innerText, \
         chips: [...document.querySelectorAll('#summary .chips .pill')].map(p => p.innerText), \
         broken: [...document.querySelectorAll('#matrix td.broken')].map(td => td.innerText)})",
        patience,
        |v| v.as_str().is_some_and(|s| s.contains("match")),
    );
    let shown: Value = serde_json::from_str(shown.as_str().unwrap()).unwrap();
    assert_eq!(shown["count"], "2 / 6 match", "{shown}");
    let mut chips: Vec<String> = shown["chips"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap().to_owned())
        .collect();
    chips.sort();
    assert_eq!(
        chips,
        ["1 invalid-response", "1 unknown-commit", "2 behind"],
        "{shown}"
    );
    let broken = shown["broken"].as_array().unwrap();
    assert_eq!(broken.len(), 1, "{shown}");
    assert!(
        broken[0].as_str().unwrap().contains("cannot be checked"),
        "{shown}"
    );
}

/// A watcher that runs for weeks does not go dark because one of its repositories moved: the
/// dashboard starts with a missing clone and a ref not pushed yet, shows each where it is, and
/// picks both up, without a restart, once they are there. `--service` never opens a repository
/// it leaves out.
#[test]
fn a_broken_service_is_shown_retried_and_picked_up() {
    let r = repos();
    let server = StubServer::start(vec![
        ("/orders", doc(&r.orders[2])),
        ("/billing", doc(&r.billing[1])),
    ]);
    std::fs::write(
        r.dir.path().join("fleet.toml"),
        format!(
            r#"[service.orders]
repo = "orders"
ref = "main"

[service.orders.env.production]
targets = ["{orders}"]

[service.billing]
repo = "billing"
ref = "release"

[service.billing.env.production]
targets = ["{billing}"]

[service.shipping]
repo = "shipping"
ref = "main"

[service.shipping.env.production]
targets = ["{orders}"]
"#,
            orders = server.url("/orders"),
            billing = server.url("/billing"),
        ),
    )
    .unwrap();

    // Left out: never looked at.
    let out = run(
        r.dir.path(),
        &["check", "--fleet", "fleet.toml", "--service", "orders"],
    );
    assert_eq!(code(&out), 0, "{}", text(&out));
    assert!(
        !text(&out).contains("shipping") && !text(&out).contains("billing"),
        "{}",
        text(&out)
    );
    // Checked: the others are reported where they are, orders is checked as usual.
    let out = run(r.dir.path(), &["check", "--fleet", "fleet.toml", "--json"]);
    assert_eq!(code(&out), 2, "{}", text(&out));
    let doc = json(&out);
    let broken: Vec<(String, Value)> = doc["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["service"].as_str().unwrap().to_owned(),
                e["environment"].clone(),
            )
        })
        .collect();
    assert_eq!(
        broken,
        [
            ("billing".to_owned(), Value::from("production")),
            ("shipping".to_owned(), Value::Null)
        ]
    );
    assert_eq!(doc["cells"][0]["service"], "orders");
    assert_eq!(doc["cells"][0]["summary"]["match"], 1);

    let mut cmd = Command::new(cli());
    cmd.current_dir(r.dir.path()).args([
        "dashboard",
        "--fleet",
        "fleet.toml",
        "--listen",
        "127.0.0.1:0",
        "--interval",
        "300ms",
    ]);
    let dashboard = shipstamp_tests::Service::spawn(cmd);
    let fleet = |until: &dyn Fn(&Value) -> bool| -> Value {
        let start = std::time::Instant::now();
        loop {
            let res = shipstamp_tests::request(dashboard.addr, "GET", "/api/fleet.json")
                .expect("the dashboard answers");
            if res.status == 200 {
                let doc: Value = serde_json::from_slice(&res.body).unwrap();
                if until(&doc) {
                    return doc;
                }
            }
            assert!(
                start.elapsed() < std::time::Duration::from_secs(30),
                "{}",
                res.text()
            );
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
    };
    let first = fleet(&|d| d["broken"].as_array().is_some_and(|b| b.len() == 2));
    assert_eq!(first["cells"].as_array().unwrap().len(), 1, "{first}");
    assert!(
        first["broken"][1]["message"]
            .as_str()
            .is_some_and(|m| m.contains("service.shipping.repo")),
        "{first}"
    );

    // The clone appears, the ref is pushed: both are checked from the next round on.
    let shipping = r.dir.path().join("shipping");
    std::fs::create_dir(&shipping).unwrap();
    let status = shipstamp_tests::git(&shipping)
        .args(["init", "-q"])
        .status()
        .unwrap();
    assert!(status.success());
    TempRepo::at(&shipping).commit_all("s1");
    TempRepo::at(r.dir.path().join("billing")).git(&["branch", "release", &r.billing[1]]);
    let healed = fleet(&|d| d["broken"].as_array().is_some_and(|b| b.is_empty()));
    let services: Vec<&str> = healed["cells"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["service"].as_str().unwrap())
        .collect();
    assert_eq!(services, ["orders", "billing", "shipping"], "{healed}");
    drop(dashboard);
}

/// A 10 MB line in a targets file is refused with its line number (exit 64), not shown.
#[test]
fn a_line_longer_than_any_target_is_refused_with_its_number() {
    let r = repos();
    let list = r.dir.path().join("targets.txt");
    std::fs::write(
        &list,
        format!(
            "http://127.0.0.1:9/v\nhttp://127.0.0.1:9/{}\n",
            "x".repeat(10 << 20)
        ),
    )
    .unwrap();
    let out = run(
        r.dir.path(),
        &[
            "check",
            "--ref",
            "main",
            "--repo",
            "orders",
            "--targets",
            "targets.txt",
        ],
    );
    assert_eq!(
        code(&out),
        64,
        "{}",
        &text(&out)[..200.min(text(&out).len())]
    );
    assert!(
        text(&out).contains("targets.txt:2:"),
        "{}",
        &text(&out)[..200]
    );
    assert!(text(&out).len() < 1000, "the line is not echoed");
}
