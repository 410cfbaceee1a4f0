//! `shipstamp dashboard`, used as a person would: the real example service built at several
//! commits of a real repository and run as processes, the real CLI serving the page, and
//! headless Chromium reading the rendered page. The screenshot is kept in
//! `target/test-artefacts/` (and refreshes `docs/dashboard.png` with
//! `SHIPSTAMP_UPDATE_SCREENSHOT=1`).

use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use serde_json::Value;
use shipstamp_tests::{Browser, Fixture, Reply, Service, StubServer, TempRepo, request};

use crate::util::{cli, code, stdout, text};

/// Generous limits for a page to fetch and redraw on a loaded CI machine; not speed claims.
const PATIENCE: Duration = Duration::from_secs(30);

/// A port nothing listens on.
fn dead_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port()
}

fn artefact(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../target/test-artefacts")
        .join(name)
}

/// The example axum service, built at four points of one repository's history.
struct Builds {
    repo: TempRepo,
    _bins: tempfile::TempDir,
    /// At the first commit: two behind `main`.
    old: PathBuf,
    /// At `main`.
    reference: PathBuf,
    /// On a hotfix branch cut from main~1: diverged.
    hotfix: PathBuf,
    /// At `main` with an uncommitted edit.
    dirty: PathBuf,
}

fn build_at_four_commits() -> Builds {
    let repo = TempRepo::new();
    let bins = tempfile::tempdir().expect("temp dir");
    let fixture = Fixture::write_axum_service(repo.path(), "dashboard-orders");
    let build = |label: &str| -> PathBuf {
        let b = fixture.build(&[]);
        assert!(b.success, "building at {label}:\n{}", b.stderr);
        let to = bins.path().join(format!("orders-{label}"));
        std::fs::copy(fixture.binary("debug"), &to).expect("copy binary");
        to
    };
    repo.commit_all("Add the orders service");
    repo.git(&["branch", "-M", "main"]);
    let old = build("old");
    repo.write("CHANGELOG.md", "- Round order totals half-even\n");
    repo.commit_all("Round order totals half-even");
    repo.write(
        "CHANGELOG.md",
        "- Round order totals half-even\n- Retry payment webhooks with backoff\n",
    );
    repo.commit_all("Retry payment webhooks with backoff");
    let reference = build("ref");
    repo.git(&["checkout", "-q", "-b", "hotfix", "main~1"]);
    repo.write("HOTFIX.md", "Bypass the price cache during the incident.\n");
    repo.commit_all("Hotfix: bypass the price cache");
    let hotfix = build("hotfix");
    repo.git(&["checkout", "-q", "main"]);
    repo.write("CHANGELOG.md", "- an edit nobody committed\n");
    let dirty = build("dirty");
    repo.git(&["checkout", "-q", "--", "CHANGELOG.md"]);
    Builds {
        repo,
        _bins: bins,
        old,
        reference,
        hotfix,
        dirty,
    }
}

fn start_dashboard(repo: &Path, targets: &Path) -> Service {
    let mut cmd = Command::new(cli());
    cmd.arg("dashboard")
        .arg("--targets")
        .arg(targets)
        .args(["--ref", "main", "--repo"])
        .arg(repo)
        .args([
            "--listen",
            "127.0.0.1:0",
            "--interval",
            "300ms",
            "--timeout",
            "2s",
        ]);
    Service::spawn(cmd)
}

/// `/api/fleet.json` once the first round is done.
fn fleet_json(addr: SocketAddr) -> Value {
    let start = Instant::now();
    loop {
        let r = request(addr, "GET", "/api/fleet.json").expect("dashboard answers");
        if r.status == 200 {
            assert_eq!(r.header("content-type"), Some("application/json"));
            assert_eq!(r.header("cache-control"), Some("no-store"));
            return serde_json::from_slice(&r.body).expect("JSON");
        }
        assert_eq!(r.status, 503, "{}", r.text());
        assert!(start.elapsed() < PATIENCE, "no first round");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// `[[target, status, label], …]` as the page shows them, top to bottom.
const ROWS: &str = "JSON.stringify([...document.querySelectorAll('#targets tbody tr')]\
    .map(r => [r.dataset.target, r.dataset.status, r.dataset.label]))";

fn rows(value: &Value) -> Vec<(String, String, String)> {
    serde_json::from_str(value.as_str().unwrap_or("[]")).expect("rows JSON")
}

fn row_text(target: &str) -> String {
    format!(
        "[...document.querySelectorAll('#targets tbody tr')]\
         .find(r => r.dataset.target === {target:?})?.innerText ?? ''"
    )
}

fn triples(rows: &[(&str, &str, &str)]) -> Vec<(String, String, String)> {
    rows.iter()
        .map(|(a, b, c)| (a.to_string(), b.to_string(), c.to_string()))
        .collect()
}

#[test]
#[ignore = "needs chromium (apt-get install chromium; .ci/run runs it)"]
fn live_dashboard_in_chromium_follows_the_fleet() {
    let builds = build_at_four_commits();
    let web1 = Service::start(&builds.reference, &[]);
    let mut web2 = Service::start(&builds.reference, &[]);
    let web3 = Service::start(&builds.old, &[]);
    let web4 = Service::start(&builds.hotfix, &[]);
    let web5 = Service::start(&builds.dirty, &[]);
    let dead = dead_port();
    let targets = builds.repo.path().join("../dashboard-targets.txt");
    std::fs::write(
        &targets,
        format!(
            "# the orders fleet\nhttp://{}/version web-1\nhttp://{}/version web-2\n\
             http://{}/version web-3\n\n# the canary\nhttp://{}/version web-4\n\
             http://{}/version web-5\nhttp://127.0.0.1:{dead}/version web-6\n",
            web1.addr, web2.addr, web3.addr, web4.addr, web5.addr
        ),
    )
    .expect("targets file");
    let mut dashboard = start_dashboard(builds.repo.path(), &targets);
    let main = builds.repo.git(&["rev-parse", "main"]);

    // The documented JSON endpoint.
    let doc = fleet_json(dashboard.addr);
    assert_eq!(doc["schema"], "shipstamp-dashboard/v1");
    assert_eq!(doc["ref"]["commit"], main.as_str());
    assert_eq!(doc["ref"]["subject"], "Retry payment webhooks with backoff");
    assert_eq!(
        doc["summary"],
        serde_json::json!({"targets": 6, "match": 2, "drift": 3, "undecided": 1,
            "statuses": [["diverged", 1], ["dirty", 1], ["behind", 1], ["unreachable", 1], ["match", 2]],
            "exit_code": 1})
    );
    let listed: Vec<(String, String, String)> = doc["targets"]
        .as_array()
        .expect("targets")
        .iter()
        .map(|t| {
            (
                t["display"].as_str().unwrap_or("").to_owned(),
                t["status"].as_str().unwrap_or("").to_owned(),
                t["label"].as_str().unwrap_or("").to_owned(),
            )
        })
        .collect();
    let expected = triples(&[
        ("web-4", "diverged", "diverged"),
        ("web-5", "dirty", "dirty"),
        ("web-3", "behind", "behind 2"),
        ("web-6", "unreachable", "unreachable"),
        ("web-1", "match", "match"),
        ("web-2", "match", "match"),
    ]);
    assert_eq!(
        listed, expected,
        "drift first, then undecided, then matches"
    );
    let web3_doc = &doc["targets"][2];
    assert_eq!(web3_doc["commit_subject"], "Add the orders service");
    assert_eq!(web3_doc["package"], "dashboard-orders");
    assert!(web3_doc["built_at"].is_string() && web3_doc["started_at"].is_string());
    let groups = doc["groups"].as_array().expect("groups");
    assert_eq!(groups.len(), 5, "{groups:#?}");
    let at_main: Vec<&Value> = groups
        .iter()
        .filter(|g| g["commit"] == main.as_str())
        .collect();
    assert_eq!(at_main.len(), 2, "clean and dirty builds of main are apart");
    assert!(
        at_main
            .iter()
            .any(|g| g["dirty"] == false && g["targets"] == serde_json::json!(["web-1", "web-2"]))
    );
    // Drift first (the worst kind first), then the undecided, then what matches.
    let order: Vec<&str> = groups
        .iter()
        .map(|g| g["label"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(
        order,
        ["diverged", "dirty", "behind 2", "unreachable", "match"]
    );
    assert_eq!(groups[3]["commit"], Value::Null, "no answer: no commit");
    assert_eq!(groups[3]["targets"], serde_json::json!(["web-6"]));

    // The page, as a browser draws it.
    let browser = Browser::start();
    let mut page = browser.page();
    page.navigate(&format!("http://{}/", dashboard.addr));
    let drawn = page.wait_for(ROWS, PATIENCE, |v| rows(v).len() == 6);
    assert_eq!(rows(&drawn), expected);
    assert_eq!(
        page.eval("document.getElementById('match-count').textContent"),
        "2 / 6 match"
    );
    let title = page.eval("document.title");
    assert_eq!(title, "2/6 match main · shipstamp");
    let web3_row = page.eval(&row_text("web-3"));
    let web3_row = web3_row.as_str().unwrap_or("");
    for expected in [
        "behind 2",
        "dashboard-orders",
        "Add the orders service",
        "committed",
        "up ",
    ] {
        assert!(web3_row.contains(expected), "{expected:?} in {web3_row:?}");
    }
    let web5_row = page.eval(&row_text("web-5"));
    assert!(
        web5_row
            .as_str()
            .is_some_and(|t| t.contains("uncommitted changes")),
        "{web5_row}"
    );
    let cards = page.eval(
        "JSON.stringify([...document.querySelectorAll('.group')].map(g => \
         [g.querySelector('.pill').textContent, [...g.querySelectorAll('.host')].map(h => h.textContent)]))",
    );
    let cards: Vec<(String, Vec<String>)> =
        serde_json::from_str(cards.as_str().unwrap_or("[]")).expect("cards");
    assert_eq!(cards.len(), 5, "{cards:?}");
    assert!(
        cards.contains(&("match".into(), vec!["web-1".into(), "web-2".into()])),
        "{cards:?}"
    );
    assert!(cards.contains(&("behind 2".into(), vec!["web-3".into()])));
    // How long it has drifted, beside its pill: on its card and its row.
    let ages = page.eval(
        "JSON.stringify([...document.querySelectorAll('.group .age, #targets .age')].map(a => a.textContent))",
    );
    let ages: Vec<String> = serde_json::from_str(ages.as_str().unwrap_or("[]")).expect("ages");
    assert!(
        ages.len() >= 2
            && ages.iter().all(|a| {
                let mut words = a.split(' ');
                words.next() == Some("·")
                    && words.next().is_some_and(|n| n.parse::<u64>().is_ok())
                    && words
                        .next()
                        .is_some_and(|u| ["s", "min", "h", "d"].contains(&u))
            }),
        "{ages:?}"
    );
    // A page left open: rounds in which nothing changed answer 304 and move only the
    // document's time; the ages move with it.
    let web3_age = "[...document.querySelectorAll('#targets tbody tr')]\
        .find(r => r.dataset.target === 'web-3')?.querySelector('.age')";
    let before = page.eval(&format!("{web3_age}?.textContent ?? ''"));
    let before = before.as_str().unwrap_or("").to_owned();
    let settled = page.wait_for(
        &format!(
            "JSON.stringify([window.shipstampNotModified || 0, {web3_age}?.textContent ?? '', \
             Math.floor((Date.parse(window.shipstampGeneratedAt) - Number({web3_age}?.dataset.driftSince)) / 1000)])"
        ),
        PATIENCE,
        |v| {
            let (polls, shown, seconds): (u32, String, i64) =
                serde_json::from_str(v.as_str().unwrap_or("[0,\"\",0]")).unwrap_or_default();
            polls >= 2 && (!before.ends_with(" s") || shown != before) && seconds >= 0
        },
    );
    let (_, shown, seconds): (u32, String, i64) =
        serde_json::from_str(settled.as_str().unwrap()).unwrap();
    if seconds < 60 {
        assert_eq!(shown, format!("· {seconds} s"), "as of the latest round");
    }
    assert_eq!(
        cards.first(),
        Some(&("diverged".into(), vec!["web-4".into()])),
        "drift first"
    );
    assert!(cards.contains(&("unreachable".into(), vec!["web-6".into()])));
    assert_eq!(
        page.eval("document.getElementById('matrix-section').hidden"),
        true,
        "one repository and ref: no matrix"
    );
    let shot = artefact("dashboard.png");
    page.screenshot(&shot);
    eprintln!("screenshot: {}", shot.display());
    if std::env::var_os("SHIPSTAMP_UPDATE_SCREENSHOT").is_some() {
        let docs = Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/dashboard.png");
        std::fs::copy(&shot, docs).expect("update docs/dashboard.png");
    }

    // A host stops answering: its row turns unreachable in the open page, without a reload.
    page.eval("window.sameDocument = true");
    web2.kill();
    let redrawn = page.wait_for(ROWS, PATIENCE, |v| {
        rows(v)
            .iter()
            .any(|(t, s, _)| t == "web-2" && s == "unreachable")
    });
    let redrawn = rows(&redrawn);
    assert!(
        redrawn.contains(&("web-2".into(), "unreachable".into(), "unreachable".into())),
        "{redrawn:?}"
    );
    assert_eq!(page.eval("window.sameDocument === true"), true, "reloaded");
    assert_eq!(
        page.eval("document.getElementById('match-count').textContent"),
        "1 / 6 match"
    );
    let web2_row = page.eval(&row_text("web-2"));
    let web2_row = web2_row.as_str().unwrap_or("");
    assert!(
        web2_row.contains("last answered") && web2_row.contains(&main[..7]),
        "the last commit it served stays visible: {web2_row:?}"
    );
    assert!(
        page.eval(&row_text("web-6"))
            .as_str()
            .is_some_and(|t| t.contains("has not answered yet"))
    );
    page.screenshot(&artefact("dashboard-host-down.png"));

    // And when the dashboard itself goes away, the page says so instead of looking current.
    dashboard.kill();
    let banner = page.wait_for(
        "document.getElementById('server-down')?.textContent ?? ''",
        PATIENCE,
        |v| v.as_str().is_some_and(|t| !t.is_empty()),
    );
    assert!(
        banner.as_str().is_some_and(|t| t.contains("not answering")),
        "{banner}"
    );
    drop((web1, web3, web4, web5));
}

fn stamp_body(commit: &str, name: &str) -> Reply {
    Reply::Ok(
        "application/json",
        format!(
            r#"{{"schema":"shipstamp/v1","package":{{"name":"{name}","version":"2.0.0"}},"git":{{"commit":"{commit}","dirty":false}},"build":{{"time":"2026-11-20T10:00:00Z"}}}}"#
        )
        .into_bytes(),
    )
}

/// A `--once` page of three targets, one a name with markup and one a URL with credentials
/// and a token: the page's path.
fn write_once_page(dir: &Path) -> (PathBuf, Output) {
    let repo = TempRepo::new();
    let first = repo.commit_all("Start billing");
    let main = repo.commit_all("Bill in the customer's currency");
    repo.git(&["branch", "-M", "main"]);
    let current = StubServer::start(vec![("/version", stamp_body(&main, "billing"))]);
    let k8s = StubServer::start(vec![(
        "/version",
        Reply::Ok(
            "application/json",
            format!(r#"{{"gitCommit":"{first}","gitTreeState":"clean","buildDate":"2026-11-19T08:00:00Z"}}"#)
                .into_bytes(),
        ),
    )]);
    let html_page = StubServer::start(vec![(
        "/version?token=s3cr3t",
        Reply::Status(502, "<html><body>Bad Gateway</body></html>"),
    )]);
    let targets = dir.join("targets.txt");
    // A name with markup, and a URL with credentials and a token: neither may reach the page
    // as anything but text, and the secrets not at all.
    std::fs::write(
        &targets,
        format!(
            "{}  billing-1\n{}  <img src=x onerror=\"window.injected=1\">\n\
             http://deploy:hunter2@{}  gateway\n",
            current.url("/version"),
            k8s.url("/version"),
            html_page
                .url("/version?token=s3cr3t")
                .trim_start_matches("http://"),
        ),
    )
    .expect("targets");
    let html = dir.join("fleet.html");
    let out: Output = Command::new(cli())
        .args(["dashboard", "--once", "--html"])
        .arg(&html)
        .arg("--targets")
        .arg(&targets)
        .args(["--ref", "main", "--repo"])
        .arg(repo.path())
        .output()
        .expect("runs");
    drop((current, k8s, html_page));
    (html, out)
}

#[test]
fn once_writes_a_self_contained_page_for_ci() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (html, out) = write_once_page(dir.path());
    assert_eq!(code(&out), 1, "drift exits 1 as check does: {}", text(&out));
    assert!(stdout(&out).contains("1/3 match main"), "{}", stdout(&out));
    let page_source = std::fs::read_to_string(&html).expect("page written");
    for outside in ["src=\"http", "href=\"http", "<link", "@import", "url("] {
        assert!(!page_source.contains(outside), "loads {outside}");
    }
    for secret in ["hunter2", "s3cr3t", "deploy:"] {
        assert!(!page_source.contains(secret), "{secret} in the page");
    }

    let data = page_source
        .split(r#"<script id="fleet-data" type="application/json">"#)
        .nth(1)
        .and_then(|rest| rest.split("</script>").next())
        .expect("the embedded document");
    let doc: Value = serde_json::from_str(data).expect("the embedded document is JSON");
    assert_eq!(doc["schema"], "shipstamp-dashboard/v1");
    assert_eq!(doc["interval_seconds"], Value::Null, "a snapshot");
    assert_eq!(doc["summary"]["exit_code"], 1);
}

#[test]
#[ignore = "needs chromium (apt-get install chromium; .ci/run runs it)"]
fn once_page_draws_in_chromium_as_text_only() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (html, _) = write_once_page(dir.path());
    let browser = Browser::start();
    let mut page = browser.page();
    page.navigate(&format!("file://{}", html.display()));
    let drawn = page.wait_for(ROWS, PATIENCE, |v| rows(v).len() == 3);
    let evil = "<img src=x onerror=\"window.injected=1\">";
    assert_eq!(
        rows(&drawn),
        triples(&[
            (evil, "behind", "behind 1"),
            ("gateway", "invalid-response", "invalid-response"),
            ("billing-1", "match", "match"),
        ])
    );
    assert_eq!(page.eval("document.querySelectorAll('img').length"), 0);
    assert_eq!(page.eval("window.injected === undefined"), true);
    let gateway = page.eval(&row_text("gateway"));
    assert!(
        gateway.as_str().is_some_and(|t| t.contains("HTTP 502")),
        "the reason is shown: {gateway}"
    );
    let freshness = page.eval("document.getElementById('freshness').innerText");
    assert!(
        freshness
            .as_str()
            .is_some_and(|t| t.contains("snapshot of")),
        "{freshness}"
    );
    page.screenshot(&artefact("dashboard-once.png"));
}

#[test]
fn bad_input_gets_a_reason_and_the_documented_exit_code() {
    let repo = TempRepo::new();
    repo.commit_all("one");
    let dir = tempfile::tempdir().expect("temp dir");
    let targets = dir.path().join("targets.txt");
    std::fs::write(&targets, "http://127.0.0.1:9/version\n").expect("targets");
    let run = |args: &[&str]| -> Output {
        Command::new(cli())
            .arg("dashboard")
            .args(args)
            .arg("--repo")
            .arg(repo.path())
            .output()
            .expect("runs")
    };
    let t = targets.to_str().expect("utf-8 path");
    let empty = dir.path().join("empty.txt");
    std::fs::write(&empty, "# nothing here\n\n").expect("empty");
    let not_url = dir.path().join("not-url.txt");
    std::fs::write(&not_url, "orders-1.internal/version\n").expect("not-url");
    let html = dir.path().join("x.html");
    let h = html.to_str().expect("utf-8 path");
    for (args, says) in [
        (vec!["--targets", t], "--ref"),
        (vec!["--targets", t, "--ref", "HEAD", "--once"], "--html"),
        (vec!["--targets", t, "--ref", "HEAD", "--html", h], "--once"),
        (
            vec!["--targets", t, "--ref", "HEAD", "--listen", "nonsense"],
            "nonsense",
        ),
        (
            vec!["--targets", t, "--ref", "HEAD", "--interval", "5 parsecs"],
            "parsecs",
        ),
        (
            vec!["--targets", empty.to_str().unwrap_or(""), "--ref", "HEAD"],
            "no targets",
        ),
        (
            vec!["--targets", not_url.to_str().unwrap_or(""), "--ref", "HEAD"],
            "not-url.txt:1",
        ),
        (vec!["--ref", "HEAD", "ftp://x/version"], "ftp://x"),
        (
            vec!["--targets", t, "--ref", "HEAD", "--interval", "0s"],
            "at least 100ms",
        ),
    ] {
        let out = run(&args);
        assert_eq!(code(&out), 64, "{args:?}: {}", text(&out));
        assert!(text(&out).contains(says), "{args:?}: {}", text(&out));
    }

    let out = run(&["--targets", t, "--ref", "no-such-branch"]);
    assert_eq!(code(&out), 2, "{}", text(&out));
    assert!(text(&out).contains("unknown ref \"no-such-branch\""));
    let out = Command::new(cli())
        .args(["dashboard", "--targets", t, "--ref", "HEAD", "--repo"])
        .arg(dir.path())
        .output()
        .expect("runs");
    assert_eq!(code(&out), 2);
    assert!(
        text(&out).contains("not in a git repository"),
        "{}",
        text(&out)
    );
    let taken = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = taken.local_addr().expect("addr").to_string();
    let out = run(&["--targets", t, "--ref", "HEAD", "--listen", &port]);
    assert_eq!(code(&out), 2);
    assert!(
        text(&out).contains(&format!("cannot listen on {port}")),
        "{}",
        text(&out)
    );
}

#[test]
fn the_json_endpoint_says_when_the_first_round_is_still_running() {
    let repo = TempRepo::new();
    repo.commit_all("one");
    let hang = StubServer::start(vec![("/version", Reply::Hang)]);
    let mut cmd = Command::new(cli());
    cmd.args(["dashboard", "--ref", "HEAD", "--timeout", "3s", "--repo"])
        .arg(repo.path())
        .args(["--listen", "127.0.0.1:0"])
        .arg(hang.url("/version"));
    let dashboard = Service::spawn(cmd);
    let first = request(dashboard.addr, "GET", "/api/fleet.json").expect("answers");
    assert_eq!(first.status, 503, "{}", first.text());
    assert_eq!(first.header("retry-after"), Some("1"));
    let why: Value = serde_json::from_slice(&first.body).expect("JSON");
    assert!(
        why["error"]
            .as_str()
            .is_some_and(|e| e.contains("still running")),
        "{why}"
    );
    let doc = fleet_json(dashboard.addr);
    assert_eq!(doc["targets"][0]["status"], "unreachable");
    assert!(
        doc["targets"][0]["reason"]
            .as_str()
            .is_some_and(|r| r.contains("timed out") || r.contains("timeout")),
        "{}",
        doc["targets"][0]["reason"]
    );
    let page = request(dashboard.addr, "GET", "/").expect("page");
    assert_eq!(page.status, 200);
    assert!(page.header("content-security-policy").is_some());
    assert!(page.text().contains("api/fleet.json"));
    assert_eq!(
        request(dashboard.addr, "GET", "/etc/passwd")
            .expect("answers")
            .status,
        404
    );
}
