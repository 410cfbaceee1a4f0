//! `check --contains COMMIT`: is the fix running? Through ancestry, cherry-picks, squash merges
//! and merge commits, with real git history, real servers and processes, the real CLI.

use std::process::{Command, Stdio};

use serde_json::Value;
use shipstamp_tests::{Reply, StubServer, TempRepo};

use crate::util::{check_in, cli, code, json, stdout, text};

fn doc(commit: &str) -> Reply {
    Reply::shipstamp("svc", commit)
}

/// main: c1 - fix - c3 - c4 - c5 - sq (p1 squashed) - m (topic merged);
/// release (from c1): r1 - pick (the fix, cherry-picked); pr (from c5): p1; topic (from c3): t1.
struct History {
    repo: TempRepo,
    fix: String,
    c3: String,
    c5: String,
    r1: String,
    pick: String,
    p1: String,
    sq: String,
    m: String,
}

fn history() -> History {
    let repo = TempRepo::new();
    let c1 = repo.commit_all("c1");
    repo.git(&["branch", "-M", "main"]);
    repo.write("emit.txt", "emit once\n");
    let fix = repo.commit_all("Fix double emit");
    let c3 = repo.commit_all("c3");
    repo.commit_all("c4");
    let c5 = repo.commit_all("c5");
    repo.git(&["checkout", "-q", "-b", "release", &c1]);
    repo.write("release.txt", "1.4\n");
    let r1 = repo.commit_all("r1");
    repo.git(&["cherry-pick", &fix]);
    let pick = repo.head();
    repo.git(&["checkout", "-q", "-b", "pr", &c5]);
    repo.write("pr.txt", "the pull request\n");
    let p1 = repo.commit_all("p1");
    repo.git(&["checkout", "-q", "main"]);
    repo.git(&["merge", "-q", "--squash", "pr"]);
    let sq = repo.commit_all("Squashed: p1 (#42)");
    repo.git(&["checkout", "-q", "-b", "topic", &c3]);
    repo.write("topic.txt", "topic\n");
    repo.commit_all("t1");
    repo.git(&["checkout", "-q", "main"]);
    repo.git(&["merge", "-q", "--no-ff", "-m", "Merge topic", "topic"]);
    let m = repo.head();
    History {
        repo,
        fix,
        c3,
        c5,
        r1,
        pick,
        p1,
        sq,
        m,
    }
}

/// Each target's (status, reason) in a `--json` run.
fn judged(out: &std::process::Output) -> Vec<(String, String)> {
    json(out)["targets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            (
                t["status"].as_str().unwrap().to_owned(),
                t["reason"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect()
}

#[test]
fn ancestry_cherry_picks_squashes_and_merges() {
    let h = history();
    let server = StubServer::start(vec![
        ("/fix", doc(&h.fix)),
        ("/past", doc(&h.c5)),
        ("/release", doc(&h.r1)),
        ("/picked", doc(&h.pick)),
        ("/squashed", doc(&h.sq)),
        ("/merged", doc(&h.m)),
    ]);
    let url = |p: &str| server.url(p);
    let short = |c: &str| c[..7].to_owned();

    // The fix itself, and a service three commits past it: it is running (exit 0).
    let out = check_in(
        &h.repo,
        &[
            "--contains",
            &short(&h.fix),
            "--json",
            &url("/fix"),
            &url("/past"),
        ],
    );
    assert_eq!(code(&out), 0, "{}", text(&out));
    for (status, reason) in judged(&out) {
        assert_eq!(status, "includes", "{reason}");
        assert_eq!(reason, format!("includes {}", short(&h.fix)));
    }
    let document = json(&out);
    assert_eq!(document["ref"], Value::Null);
    assert_eq!(document["contains"][0]["commit"], h.fix.as_str());
    assert_eq!(document["contains"][0]["subject"], "Fix double emit");
    assert_eq!(
        document["targets"][1]["includes"][0]["commit"],
        h.fix.as_str()
    );
    assert_eq!(document["targets"][1]["includes"][0]["as"], Value::Null);

    // A release branch without the fix lacks it; the same branch after `git cherry-pick`
    // includes it, as the pick.
    let out = check_in(
        &h.repo,
        &[
            "--contains",
            &h.fix,
            "--json",
            &url("/release"),
            &url("/picked"),
        ],
    );
    assert_eq!(code(&out), 1, "lacks is drift: {}", text(&out));
    let judged_now = judged(&out);
    assert_eq!(judged_now[0].0, "lacks");
    assert!(
        judged_now[0]
            .1
            .contains(&format!("lacks {} \"Fix double emit\"", short(&h.fix)))
            && judged_now[0].1.contains("which does not have it"),
        "{}",
        judged_now[0].1
    );
    assert_eq!(judged_now[1].0, "includes");
    assert!(
        judged_now[1]
            .1
            .contains(&format!("as {} (the same change", short(&h.pick))),
        "{}",
        judged_now[1].1
    );
    assert_eq!(
        json(&out)["targets"][1]["includes"][0]["as"],
        h.pick.as_str()
    );
    assert_eq!(json(&out)["targets"][0]["lacks"][0], h.fix.as_str());

    // A squash-merged pull request, named by its own commit: the squash carries its change.
    let out = check_in(&h.repo, &["--contains", &h.p1, "--json", &url("/squashed")]);
    assert_eq!(code(&out), 0, "{}", text(&out));
    assert!(judged(&out)[0].1.contains(&format!("as {}", short(&h.sq))));

    // A merge commit: in what runs after it; not in what ran before it.
    let out = check_in(
        &h.repo,
        &["--contains", &h.m, "--json", &url("/merged"), &url("/past")],
    );
    assert_eq!(code(&out), 1, "{}", text(&out));
    let j = judged(&out);
    assert_eq!((j[0].0.as_str(), j[1].0.as_str()), ("includes", "lacks"));

    // Two commits asked about, one missing: lacks, and which one.
    let out = check_in(
        &h.repo,
        &[
            "--contains",
            &h.fix,
            "--contains",
            &h.m,
            "--json",
            &url("/past"),
        ],
    );
    assert_eq!(code(&out), 1, "{}", text(&out));
    let t = &json(&out)["targets"][0];
    assert_eq!(t["includes"][0]["commit"], h.fix.as_str());
    assert_eq!(t["lacks"], serde_json::json!([h.m]));

    // Before the fix, on its own line: how many commits before it.
    let old = StubServer::start(vec![("/old", doc(&h.c3))]);
    let out = check_in(&h.repo, &["--contains", &h.m, &old.url("/old")]);
    assert!(stdout(&out).contains("lacks"), "{}", text(&out));

    // Text: the header says what was asked.
    let out = check_in(&h.repo, &["--contains", &short(&h.fix), &url("/past")]);
    assert!(
        stdout(&out).contains(&format!("contains {} \"Fix double emit\"", short(&h.fix))),
        "{}",
        text(&out)
    );
}

#[test]
fn what_cannot_be_asked_says_so() {
    let h = history();
    let server = StubServer::start(vec![("/past", doc(&h.c5))]);
    // A commit the repository does not have.
    let unknown = "e".repeat(40);
    let out = check_in(&h.repo, &["--contains", &unknown, &server.url("/past")]);
    assert_eq!(code(&out), 2, "{}", text(&out));
    assert!(
        text(&out).contains(&unknown),
        "the reason names it: {}",
        text(&out)
    );
    // --contains and --ref together.
    let out = check_in(
        &h.repo,
        &["--contains", &h.fix, "--ref", "main", &server.url("/past")],
    );
    assert_eq!(code(&out), 64, "{}", text(&out));
    assert!(text(&out).contains("--ref") && text(&out).contains("--contains"));
}

/// A process without a stamp that started before the fix was made cannot contain it; one that
/// started after proves nothing.
#[test]
fn unstamped_processes_started_before_and_after_the_fix() {
    let repo = TempRepo::new();
    repo.commit_all("one");
    repo.git(&["branch", "-M", "main"]);
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let before = shipstamp_tests::Group::spawn(
        Command::new("sleep")
            .arg("600")
            .stdin(Stdio::null())
            .stdout(Stdio::null()),
    )
    .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(1100));
    repo.write("fix.txt", "fixed\n");
    let fix = repo.commit_all("Fix double emit");
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let after = shipstamp_tests::Group::spawn(
        Command::new("sleep")
            .arg("600")
            .stdin(Stdio::null())
            .stdout(Stdio::null()),
    )
    .unwrap();
    let out = check_in(
        &repo,
        &[
            "--contains",
            &fix,
            "--json",
            &format!("pid:{}", before.id()),
            &format!("pid:{}", after.id()),
        ],
    );
    assert_eq!(code(&out), 1, "{}", text(&out));
    let j = judged(&out);
    assert_eq!(j[0].0, "lacks", "{}", j[0].1);
    assert!(j[0].1.contains("cannot contain it"), "{}", j[0].1);
    assert_eq!(j[1].0, "unstamped", "{}", j[1].1);
}

/// A deploy gate after a hotfix: wait until the restarted service includes it.
#[test]
fn wait_until_the_restarted_service_includes_it() {
    let h = history();
    let server = StubServer::start(vec![(
        "/v",
        Reply::Sequence(vec![doc(&h.r1), doc(&h.r1), doc(&h.c5)]),
    )]);
    let out = Command::new(cli())
        .args([
            "check",
            "--contains",
            &h.fix,
            "--wait",
            "20s",
            "--interval",
            "200ms",
            "--json",
        ])
        .arg(server.url("/v"))
        .arg("--repo")
        .arg(h.repo.path())
        .output()
        .unwrap();
    assert_eq!(code(&out), 0, "{}", text(&out));
    let doc = json(&out);
    assert_eq!(doc["targets"][0]["status"], "includes");
    assert_eq!(doc["wait"]["polls"], 3);
    assert_eq!(doc["wait"]["settled"], true);
}

/// In a fleet, each service's repository resolves the commit; one that lacks it is reported as
/// such, and the others are checked.
#[test]
fn a_fleet_asks_each_repository() {
    let h = history();
    let other = TempRepo::new();
    other.commit_all("elsewhere");
    let server = StubServer::start(vec![("/orders", doc(&h.c5)), ("/other", doc(&h.c5))]);
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("fleet.toml"),
        format!(
            "[service.orders]\nrepo = {:?}\nref = \"main\"\n[service.orders.env.production]\n\
             targets = [\"{}\"]\n\n[service.billing]\nrepo = {:?}\nref = \"main\"\n\
             [service.billing.env.production]\ntargets = [\"{}\"]\n",
            h.repo.path().display().to_string(),
            server.url("/orders"),
            other.path().display().to_string(),
            server.url("/other"),
        ),
    )
    .unwrap();
    let out = Command::new(cli())
        .args([
            "check",
            "--fleet",
            "fleet.toml",
            "--contains",
            &h.fix,
            "--json",
        ])
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert_eq!(code(&out), 2, "{}", text(&out));
    let doc = json(&out);
    assert_eq!(doc["cells"][0]["service"], "orders");
    assert_eq!(doc["cells"][0]["summary"]["match"], 1);
    assert_eq!(doc["targets"][0]["status"], "includes");
    assert_eq!(doc["errors"][0]["service"], "billing");
    assert!(
        doc["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("does not have"),
        "{doc}"
    );
}

/// The deploy gate's hotfix form: `FIX_SHA=… ./deploy-gate.sh`.
#[test]
fn the_deploy_gate_waits_for_a_hotfix() {
    let h = history();
    let server = StubServer::start(vec![
        ("/past", doc(&h.c5)),
        ("/picked", doc(&h.pick)),
        ("/release", doc(&h.r1)),
    ]);
    let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../integrations/deploy-gate/deploy-gate.sh");
    let gate = |urls: &[String]| {
        Command::new("bash")
            .arg(&script)
            .args(urls)
            .env("SHIPSTAMP", cli())
            .env("FIX_SHA", &h.fix[..7])
            .env("REPO", h.repo.path())
            .env("WAIT", "2s")
            .env("INTERVAL", "200ms")
            .env("CONSECUTIVE", "1")
            .env_remove("REF")
            .output()
            .unwrap()
    };
    let out = gate(&[server.url("/past"), server.url("/picked")]);
    assert_eq!(code(&out), 0, "{}", text(&out));
    assert!(
        text(&out).contains("every host runs a build containing"),
        "{}",
        text(&out)
    );
    let out = gate(&[server.url("/release")]);
    assert_eq!(code(&out), 1, "{}", text(&out));
    assert!(text(&out).contains("lacks"), "{}", text(&out));
}

/// A live dashboard over hosts that run the fix, newer code, a release branch with and without
/// it as a cherry-pick.
fn start_dashboard(h: &History, server: &StubServer, extra: &[&str]) -> shipstamp_tests::Service {
    let targets = h.repo.path().join("../contains-targets.txt");
    std::fs::write(
        &targets,
        format!(
            "{} fix-host\n{} newer-host\n{} release-old\n{} release-picked\n",
            server.url("/fix"),
            server.url("/past"),
            server.url("/release"),
            server.url("/picked")
        ),
    )
    .unwrap();
    let mut cmd = Command::new(cli());
    cmd.arg("dashboard")
        .arg("--targets")
        .arg(&targets)
        .arg("--repo")
        .arg(h.repo.path())
        .args(extra)
        .args(["--listen", "127.0.0.1:0", "--interval", "300ms"]);
    shipstamp_tests::Service::spawn(cmd)
}

fn fleet_server(h: &History) -> StubServer {
    StubServer::start(vec![
        ("/fix", doc(&h.fix)),
        ("/past", doc(&h.c5)),
        ("/release", doc(&h.r1)),
        ("/picked", doc(&h.pick)),
    ])
}

/// `GET /api/contains?commit=…`: every host's answer, from the latest round.
#[test]
fn the_dashboard_answers_which_hosts_include_a_commit() {
    let h = history();
    let server = fleet_server(&h);
    let dashboard = start_dashboard(&h, &server, &["--ref", "main"]);
    let ask = |q: &str| -> (u16, Value) {
        let start = std::time::Instant::now();
        loop {
            let r = shipstamp_tests::request(
                dashboard.addr,
                "GET",
                &format!("/api/contains?commit={q}"),
            )
            .expect("answers");
            if r.status != 503 || start.elapsed() > std::time::Duration::from_secs(30) {
                return (r.status, serde_json::from_slice(&r.body).expect("JSON"));
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
    };
    let (status, answer) = ask(&h.fix[..7]);
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["commit"]["commit"], h.fix.as_str());
    let by_host: std::collections::HashMap<String, String> = answer["targets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            (
                t["display"].as_str().unwrap().to_owned(),
                t["status"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    for (host, status) in [
        ("fix-host", "includes"),
        ("newer-host", "includes"),
        ("release-old", "lacks"),
        ("release-picked", "includes"),
    ] {
        assert_eq!(
            by_host.get(host).map(String::as_str),
            Some(status),
            "{host}: {answer}"
        );
    }
    // A ref works too (percent-encoded), and a name the repository lacks says so.
    let (status, answer) = ask("refs%2Fheads%2Fmain");
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["commit"]["commit"], h.m.as_str());
    let (status, answer) = ask("no-such-thing");
    assert_eq!(status, 200);
    assert_eq!(answer["commit"], Value::Null);
    assert!(
        answer["errors"][0]
            .as_str()
            .unwrap()
            .contains("no-such-thing"),
        "{answer}"
    );
    let (status, _) = ask("");
    assert_eq!(status, 400);
}

/// `dashboard --contains`: the page's counts and pills say include and lacks.
#[test]
fn the_dashboard_asks_contains_for_every_round() {
    let h = history();
    let server = fleet_server(&h);
    let dir = tempfile::tempdir().unwrap();
    let html = dir.path().join("page.html");
    let targets = h.repo.path().join("../contains-once.txt");
    std::fs::write(
        &targets,
        format!("{}\n{}\n", server.url("/past"), server.url("/release")),
    )
    .unwrap();
    let out = Command::new(cli())
        .args(["dashboard", "--once", "--contains", &h.fix, "--html"])
        .arg(&html)
        .arg("--targets")
        .arg(&targets)
        .arg("--repo")
        .arg(h.repo.path())
        .output()
        .unwrap();
    assert_eq!(code(&out), 1, "{}", text(&out));
    assert!(
        stdout(&out).contains(&format!("1/2 include {}", &h.fix[..7])),
        "{}",
        text(&out)
    );
}

/// Typing a commit id into the live page's filter shows, for every host, whether it includes it.
#[test]
#[ignore = "needs chromium (apt-get install chromium; .ci/run runs it)"]
fn typing_a_commit_into_the_filter_shows_who_has_it() {
    let h = history();
    let server = fleet_server(&h);
    let dashboard = start_dashboard(&h, &server, &["--ref", "main"]);
    let browser = shipstamp_tests::Browser::start();
    let mut page = browser.page();
    page.navigate(&format!("http://{}/", dashboard.addr));
    let patience = std::time::Duration::from_secs(30);
    let rows = "JSON.stringify([...document.querySelectorAll('#targets tbody tr')]\
        .map(r => [r.dataset.target, r.dataset.contains || '']))";
    page.wait_for(rows, patience, |v| {
        v.as_str()
            .is_some_and(|s| s.matches("-host").count() + s.matches("release-").count() == 4)
    });
    page.eval(&format!(
        "(() => {{ const f = document.getElementById('filter'); f.value = '{}'; \
         f.dispatchEvent(new Event('input')); }})()",
        &h.fix[..7]
    ));
    let answered = page.wait_for(rows, patience, |v| {
        v.as_str()
            .is_some_and(|s| s.contains("includes") && s.contains("lacks"))
    });
    let answered: Vec<(String, String)> = serde_json::from_str(answered.as_str().unwrap()).unwrap();
    let mut answered = answered;
    answered.sort();
    assert_eq!(
        answered,
        [
            ("fix-host".to_owned(), "includes".to_owned()),
            ("newer-host".into(), "includes".into()),
            ("release-old".into(), "lacks".into()),
            ("release-picked".into(), "includes".into()),
        ]
    );
    let said = page.eval("document.getElementById('selection').textContent");
    assert!(
        said.as_str()
            .is_some_and(|s| s.contains("3 include it, 1 lack it")),
        "{said}"
    );
}
