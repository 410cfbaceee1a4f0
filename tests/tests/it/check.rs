//! `shipstamp check`: the real CLI against servers on 127.0.0.1 and real git repositories with
//! history made in the test, one status at a time, then every kind of bad input.

use std::io::Read;
use std::process::{Command, Stdio};

use serde_json::Value;
use shipstamp_tests::{Reply, StubServer, TempRepo};

use crate::util::{check_in, cli, code, json, text};

fn stamp_doc(commit: &str, dirty: bool, started_at: &str, exe_replaced: bool) -> Reply {
    Reply::Ok(
        "application/json",
        format!(
            r#"{{"schema":"shipstamp/v1","package":{{"name":"svc","version":"1.2.3"}},"git":{{"commit":"{commit}","dirty":{dirty}}},"process":{{"started_at":"{started_at}","uptime_seconds":5,"exe_replaced":{exe_replaced}}}}}"#
        )
        .into_bytes(),
    )
}

fn doc(commit: &str) -> Reply {
    stamp_doc(commit, false, "2099-01-01T00:00:00Z", false)
}

/// main: c1 - c2 - c3 - c4;  side: c2 - s1;  ahead: c4 - a1
struct History {
    repo: TempRepo,
    c2: String,
    c4: String,
    s1: String,
    a1: String,
}

fn history() -> History {
    let repo = TempRepo::new();
    repo.commit_all("c1");
    let c2 = repo.commit_all("c2");
    repo.commit_all("c3");
    let c4 = repo.commit_all("c4");
    repo.git(&["checkout", "-q", "-b", "side", &c2]);
    let s1 = repo.commit_all("s1");
    repo.git(&["checkout", "-q", "-b", "ahead", &c4]);
    let a1 = repo.commit_all("a1");
    repo.git(&["checkout", "-q", "main"]);
    History {
        repo,
        c2,
        c4,
        s1,
        a1,
    }
}

#[test]
fn each_status_with_its_counts_and_exit_code() {
    let h = history();
    let server = StubServer::start(vec![
        ("/match", doc(&h.c4)),
        ("/behind", doc(&h.c2)),
        ("/ahead", doc(&h.a1)),
        ("/diverged", doc(&h.s1)),
        ("/unknown", doc(&"e".repeat(40))),
        (
            "/dirty",
            stamp_doc(&h.c4, true, "2099-01-01T00:00:00Z", false),
        ),
        (
            "/k8s",
            Reply::Ok(
                "application/json",
                format!(r#"{{"gitCommit":"{}","gitTreeState":"clean"}}"#, h.c4).into_bytes(),
            ),
        ),
        (
            "/dockerflow",
            Reply::Ok(
                "application/json",
                format!(r#"{{"commit":"{}","version":"1"}}"#, h.c4).into_bytes(),
            ),
        ),
        (
            "/spring",
            Reply::Ok(
                "application/json",
                format!(r#"{{"git":{{"commit":{{"id":"{}"}}}}}}"#, &h.c4[..7]).into_bytes(),
            ),
        ),
        (
            "/plain",
            Reply::Ok("text/plain", format!("{}\n", h.c4).into_bytes()),
        ),
        (
            "/stale-process",
            stamp_doc(&h.c2, false, "2000-01-01T00:00:00Z", true),
        ),
    ]);
    let url = |p: &str| server.url(p);

    let out = check_in(
        &h.repo,
        &[
            "--ref",
            "main",
            &url("/match"),
            &url("/k8s"),
            &url("/dockerflow"),
            &url("/spring"),
            &url("/plain"),
        ],
    );
    assert_eq!(code(&out), 0, "{}", text(&out));
    assert!(text(&out).contains("5 targets, 5 match"), "{}", text(&out));

    let out = check_in(
        &h.repo,
        &[
            "--ref",
            "main",
            "--json",
            &url("/behind"),
            &url("/ahead"),
            &url("/diverged"),
            &url("/unknown"),
            &url("/dirty"),
            &url("/stale-process"),
        ],
    );
    assert_eq!(code(&out), 1, "drift wins over undecided: {}", text(&out));
    let doc = json(&out);
    assert_eq!(doc["ref"]["commit"], h.c4.as_str());
    assert_eq!(doc["exit_code"], 1);
    let t = &doc["targets"];
    assert_eq!(
        (t[0]["status"].as_str(), t[0]["behind"].as_u64()),
        (Some("behind"), Some(2))
    );
    assert_eq!(
        (t[1]["status"].as_str(), t[1]["ahead"].as_u64()),
        (Some("ahead"), Some(1))
    );
    assert_eq!(t[2]["status"], "diverged");
    assert_eq!(
        (t[2]["ahead"].as_u64(), t[2]["behind"].as_u64()),
        (Some(1), Some(2))
    );
    assert_eq!(t[2]["merge_base"], h.c2.as_str());
    assert_eq!(t[3]["status"], "unknown-commit");
    assert!(t[3]["reason"].as_str().unwrap().contains("git fetch"));
    assert_eq!(t[4]["status"], "dirty");
    assert_eq!(t[5]["started_before_ref"], true);
    assert_eq!(t[5]["exe_replaced"], true);

    let out = check_in(
        &h.repo,
        &[
            "--ref",
            "main",
            &url("/behind"),
            &url("/diverged"),
            &url("/stale-process"),
        ],
    );
    let human = text(&out);
    assert!(
        human.contains("behind 2 ") && human.contains("2 commits behind main"),
        "{human}"
    );
    assert!(
        human.contains(&format!("merge base {}", &h.c2[..7])),
        "{human}"
    );
    assert!(
        human.contains("before main's commit (never restarted?)"),
        "{human}"
    );
    assert!(human.contains("restart pending"), "{human}");
    assert!(!human.contains("\x1b["), "no colour when not a terminal");

    let out = check_in(&h.repo, &["--ref", "main", "--allow-dirty", &url("/dirty")]);
    assert_eq!(code(&out), 0, "{}", text(&out));
    // Other ways to name the ref: a short id, a tag, HEAD.
    h.repo.git(&["tag", "v1", &h.c2]);
    for r in [&h.c2[..8], "v1"] {
        let out = check_in(&h.repo, &["--ref", r, &url("/behind")]);
        assert_eq!(code(&out), 0, "--ref {r}: {}", text(&out));
    }
    assert_eq!(
        code(&check_in(&h.repo, &["--ref", "HEAD", &url("/match")])),
        0
    );

    let out = check_in(&h.repo, &["--ref", "main", &url("/unknown")]);
    assert_eq!(code(&out), 2, "undecided only: {}", text(&out));
}

#[test]
fn bad_responses_get_a_status_and_a_reason_never_a_hang() {
    let h = history();
    let refused = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap()
    };
    let server = StubServer::start(vec![
        (
            "/malformed",
            Reply::Ok("application/json", b"{\"commit\": ".to_vec()),
        ),
        (
            "/html",
            Reply::Status(502, "<!DOCTYPE html><html><body>Bad Gateway</body></html>"),
        ),
        (
            "/html200",
            Reply::Ok(
                "text/html",
                b"<!DOCTYPE html><html><body>Welcome</body></html>".to_vec(),
            ),
        ),
        ("/huge", Reply::Huge(100 * 1024 * 1024)),
        ("/hang", Reply::Hang),
        ("/close", Reply::Close),
        ("/loop", Reply::RedirectToSelf),
        (
            "/away",
            Reply::Redirect(format!(
                "http://deploy:S3CRET@{refused}/version?token=T0KEN#frag"
            )),
        ),
        ("/relative", Reply::Redirect("../missing/here".into())),
        ("/cut", Reply::CutShort(br#"{"commit":"3f9c2e1"#.to_vec())),
        ("/empty", Reply::Ok("text/plain", Vec::new())),
        (
            "/binary",
            Reply::Ok("application/octet-stream", vec![0xff, 0xfe, 0x00, 0x01]),
        ),
    ]);
    // Where a redirect went is said, without its secrets.
    let away = format!("connection refused (redirected to http://{refused}/version?…#…)");
    let relative = format!(
        "HTTP 404 Not Found (redirected to {})",
        server.url("/missing/here")
    );
    let cases = [
        (
            server.url("/malformed"),
            "invalid-response",
            "malformed JSON",
        ),
        (server.url("/html"), "invalid-response", "HTTP 502"),
        (server.url("/html200"), "invalid-response", "HTML page"),
        (
            server.url("/huge"),
            "invalid-response",
            "body larger than 1024 KiB",
        ),
        (server.url("/hang"), "unreachable", "timed out"),
        (
            server.url("/close"),
            "unreachable",
            "closed the connection without an answer",
        ),
        (
            server.url("/loop"),
            "invalid-response",
            "too many redirects",
        ),
        (server.url("/away"), "unreachable", away.as_str()),
        (
            server.url("/relative"),
            "invalid-response",
            relative.as_str(),
        ),
        (
            server.url("/cut"),
            "unreachable",
            "the answer broke off after 18 bytes of its body",
        ),
        (server.url("/empty"), "invalid-response", "empty"),
        (server.url("/binary"), "invalid-response", "not UTF-8"),
        (server.url("/missing"), "invalid-response", "HTTP 404"),
        (
            format!("http://{refused}/version"),
            "unreachable",
            "refused",
        ),
    ];
    let mut args: Vec<&str> = vec!["--ref", "main", "--json", "--timeout", "2s"];
    args.extend(cases.iter().map(|(u, ..)| u.as_str()));
    let out = check_in(&h.repo, &args);
    assert_eq!(code(&out), 2, "{}", text(&out));
    assert!(!text(&out).contains("panicked"));
    let doc = json(&out);
    for (i, (url, status, reason)) in cases.iter().enumerate() {
        let t = &doc["targets"][i];
        assert_eq!(t["url"], url.as_str());
        assert_eq!(t["status"], *status, "{url}: {t}");
        let why = t["reason"].as_str().unwrap_or_default();
        assert!(why.contains(reason), "{url}: {why}");
        assert!(!why.contains('\n'), "one line: {why}");
    }
    for secret in ["S3CRET", "T0KEN"] {
        assert!(!text(&out).contains(secret), "{secret}: {}", text(&out));
    }
}

#[test]
fn bad_arguments_refs_and_repositories() {
    let h = history();
    let server = StubServer::start(vec![("/v", doc(&h.c4))]);
    let v = server.url("/v");
    // Could not decide: exit 2 with a one-line reason.
    for (args, reason) in [
        (
            vec!["--ref", "no-such-branch", v.as_str()],
            "unknown ref \"no-such-branch\"",
        ),
        (vec!["--ref", "--all", v.as_str()], "unexpected argument"),
    ] {
        let out = check_in(&h.repo, &args);
        assert!(matches!(code(&out), 2 | 64), "{args:?}: {}", text(&out));
        assert!(text(&out).contains(reason), "{args:?}: {}", text(&out));
    }
    let not_repo = tempfile::tempdir().unwrap();
    let out = Command::new(cli())
        .args(["check", "--ref", "main", &v, "--repo"])
        .arg(not_repo.path())
        .output()
        .unwrap();
    assert_eq!(code(&out), 2);
    assert!(
        text(&out).contains("is not in a git repository"),
        "{}",
        text(&out)
    );

    // Usage: exit 64.
    for args in [
        vec![v.as_str()],
        vec!["--ref", "main"],
        vec!["--ref", "main", "ftp://example/version"],
        vec!["--ref", "main", "localhost:3000/version"],
        vec!["--ref", "main", "--timeout", "soon", v.as_str()],
        vec!["--ref", "main", "--wait", "5x", v.as_str()],
        vec!["--ref", "main", "--concurrency", "0", v.as_str()],
        vec!["--ref", "main", "--consecutive", "0", v.as_str()],
        vec!["--ref", "main", "--targets", "/no/such/file"],
    ] {
        let out = check_in(&h.repo, &args);
        assert_eq!(code(&out), 64, "{args:?}: {}", text(&out));
        assert!(!text(&out).contains("panicked"));
    }
}

#[test]
fn targets_file_and_stdin_with_names_and_comments() {
    let h = history();
    let server = StubServer::start(vec![("/a", doc(&h.c4)), ("/b", doc(&h.c2))]);
    let list = format!(
        "# fleet\n\n{} web-1\n  {}   web-2  \n",
        server.url("/a"),
        server.url("/b")
    );
    let file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(file.path(), &list).unwrap();
    let out = check_in(
        &h.repo,
        &["--ref", "main", "--targets", file.path().to_str().unwrap()],
    );
    assert_eq!(code(&out), 1);
    let human = text(&out);
    assert!(
        human.contains("web-1")
            && human.contains("web-2")
            && human.contains("2 targets, 1 match, 1 behind"),
        "{human}"
    );

    let mut child = Command::new(cli())
        .args([
            "check",
            "--ref",
            "main",
            "--json",
            "--targets",
            "-",
            "--repo",
        ])
        .arg(h.repo.path())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    std::io::Write::write_all(&mut child.stdin.take().unwrap(), list.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    let doc = json(&out);
    assert_eq!(doc["targets"][0]["name"], "web-1");
    assert_eq!(doc["targets"][1]["status"], "behind");

    std::fs::write(file.path(), "http://ok/version\nnot a url\n").unwrap();
    let out = check_in(
        &h.repo,
        &["--ref", "main", "--targets", file.path().to_str().unwrap()],
    );
    assert_eq!(code(&out), 64);
    assert!(
        text(&out).contains(":2: \"not\" is not a target: an http:// or https:// URL"),
        "{}",
        text(&out)
    );
}

#[test]
fn wait_until_the_rollout_lands_or_stop_early() {
    let h = history();
    let server = StubServer::start(vec![
        // Three polls still on the old commit, then the new one.
        (
            "/rolling",
            Reply::Sequence(vec![doc(&h.c2), doc(&h.c2), doc(&h.c2), doc(&h.c4)]),
        ),
        ("/diverged", doc(&h.s1)),
        ("/stuck", doc(&h.c2)),
    ]);
    let out = check_in(
        &h.repo,
        &[
            "--ref",
            "main",
            "--wait",
            "30s",
            "--interval",
            "100ms",
            "--consecutive",
            "2",
            &server.url("/rolling"),
        ],
    );
    assert_eq!(code(&out), 0, "{}", text(&out));
    assert!(
        text(&out).contains("all matched after") && text(&out).contains("5 polls"),
        "{}",
        text(&out)
    );

    let out = check_in(
        &h.repo,
        &[
            "--ref",
            "main",
            "--wait",
            "60s",
            "--interval",
            "100ms",
            "--json",
            &server.url("/diverged"),
        ],
    );
    assert_eq!(code(&out), 1);
    let doc = json(&out);
    assert_eq!(
        (
            doc["wait"]["polls"].as_u64(),
            doc["wait"]["stopped_early"].as_bool()
        ),
        (Some(1), Some(true))
    );

    let out = check_in(
        &h.repo,
        &[
            "--ref",
            "main",
            "--wait",
            "1s",
            "--interval",
            "200ms",
            &server.url("/stuck"),
        ],
    );
    assert_eq!(code(&out), 1, "time ran out while behind: {}", text(&out));
    assert!(text(&out).contains("behind 2"));
    assert!(
        text(&out).contains("time is up after")
            && text(&out).contains("not every target matches main"),
        "{}",
        text(&out)
    );
}

#[test]
fn a_closed_stdout_keeps_the_verdict_and_does_not_panic() {
    let h = history();
    // 1,500 distinct targets (a target listed twice is checked once): far more output than a
    // pipe holds.
    let paths: Vec<String> = (0..1500).map(|i| format!("/v{i}")).collect();
    let server = StubServer::start(paths.iter().map(|p| (p.as_str(), doc(&h.c2))).collect());
    let many: Vec<String> = paths.iter().map(|p| server.url(p)).collect();
    let mut child = Command::new(cli())
        .args(["check", "--ref", "main", "--repo"])
        .arg(h.repo.path())
        .args(&many)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = child.stdout.take().unwrap();
    let mut first = [0u8; 16];
    stdout.read_exact(&mut first).unwrap();
    drop(stdout);
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(1), "still drift");
    assert!(
        !String::from_utf8_lossy(&out.stderr).contains("panicked"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn the_real_example_service_built_in_a_repository() {
    // The example axum service, as a user's own repository holds it: built at one commit,
    // running, then checked against that commit and against the next.
    let repo = TempRepo::new();
    let fixture = shipstamp_tests::Fixture::write_axum_service(repo.path(), "check-orders");
    let built = repo.commit_all("Add the orders service");
    let build = fixture.build(&[]);
    assert!(build.success, "{}", build.stderr);
    let service = shipstamp_tests::Service::start(&fixture.binary("debug"), &[]);
    let url = format!("http://{}/version", service.addr);
    let check = |reference: &str| {
        Command::new(cli())
            .args(["check", "--ref", reference, &url, "--repo"])
            .arg(repo.path())
            .output()
            .unwrap()
    };
    let out = check("main");
    assert_eq!(code(&out), 0, "{}", text(&out));
    assert!(
        text(&out).contains(&format!("{}  check-orders 0.4.2", &built[..7])),
        "{}",
        text(&out)
    );
    repo.write("FIX.md", "a fix merged after the build\n");
    repo.commit_all("a fix merged after the build");
    let out = check("main");
    assert_eq!(code(&out), 1, "{}", text(&out));
    assert!(
        text(&out).contains("behind 1") && text(&out).contains("1 commit behind main"),
        "{}",
        text(&out)
    );
    let out = check(&built);
    assert_eq!(code(&out), 0, "{}", text(&out));
}

#[test]
fn a_shallow_clone_counts_what_it_holds_whole() {
    // c1..c5 in a line, cloned with --depth 3: c3 is the clone's boundary.
    let origin = TempRepo::new();
    let ids: Vec<String> = (1..=5)
        .map(|i| origin.commit_all(&format!("c{i}")))
        .collect();
    origin.git(&["branch", "-M", "main"]);
    let clone_dir = tempfile::tempdir().unwrap();
    let status = shipstamp_tests::git(clone_dir.path())
        .args(["clone", "-q", "--depth", "3", "--branch", "main"])
        .arg(format!("file://{}", origin.path().display()))
        .arg("clone")
        .status()
        .unwrap();
    assert!(status.success());
    let clone = TempRepo::at(clone_dir.path().join("clone"));
    let server = StubServer::start(vec![("/boundary", doc(&ids[2])), ("/inside", doc(&ids[3]))]);
    let out = check_in(
        &clone,
        &[
            "--ref",
            "main",
            "--json",
            &server.url("/boundary"),
            &server.url("/inside"),
        ],
    );
    let t = &json(&out)["targets"];
    // Both commits are in the clone, with every commit between them: the counts git gives.
    assert_eq!(
        (t[0]["status"].as_str(), t[0]["behind"].as_u64()),
        (Some("behind"), Some(2)),
        "{t}"
    );
    assert_eq!(
        (t[1]["status"].as_str(), t[1]["behind"].as_u64()),
        (Some("behind"), Some(1)),
        "{t}"
    );
}

#[test]
fn shallow_clones_say_what_they_cannot_know() {
    // origin: main c1..c5; side branched at c1 with s1..s3, merged into main as m;
    // other: one commit o on its own root, fetched later with --depth 1.
    let origin = TempRepo::new();
    let c1 = origin.commit_all("c1");
    let mut main = Vec::new();
    for i in 2..=5 {
        main.push(origin.commit_all(&format!("c{i}")));
    }
    let c5 = main.last().unwrap().clone();
    origin.git(&["checkout", "-q", "-b", "side", &c1]);
    let s1 = origin.commit_all("s1");
    origin.commit_all("s2");
    origin.commit_all("s3");
    origin.git(&["checkout", "-q", "main"]);
    origin.git(&["merge", "-q", "--no-ff", "-m", "m", "side"]);
    let m = origin.head();
    origin.git(&["checkout", "-q", "--orphan", "other"]);
    let o = origin.commit_all("o");
    origin.git(&["checkout", "-q", "main"]);

    let clone_dir = tempfile::tempdir().unwrap();
    let status = shipstamp_tests::git(clone_dir.path())
        .args(["clone", "-q", "--depth", "2", "--branch", "main"])
        .arg(format!("file://{}", origin.path().display()))
        .arg("clone")
        .status()
        .unwrap();
    assert!(status.success());
    let clone = TempRepo::at(clone_dir.path().join("clone"));
    clone.git(&["fetch", "-q", "--depth", "1", "origin", "other"]);

    let server = StubServer::start(vec![
        ("/old", doc(&c1)),
        ("/cut", doc(&c5)),
        ("/other", doc(&o)),
        ("/side", doc(&s1)),
        ("/m", doc(&m)),
    ]);
    let out = check_in(
        &clone,
        &[
            "--ref",
            "main",
            "--json",
            &server.url("/old"),
            &server.url("/cut"),
            &server.url("/other"),
            &server.url("/m"),
        ],
    );
    let doc = json(&out);
    let t = &doc["targets"];
    // Older than the clone's history: not here, and the message says why and what to do.
    assert_eq!(t[0]["status"], "unknown-commit", "{t}");
    assert!(
        t[0]["reason"]
            .as_str()
            .is_some_and(|r| r.contains("shallow clone") && r.contains("git fetch --unshallow")),
        "{t}"
    );
    // c5 is an ancestor of m through commits the clone has, but the side branch merged in
    // between is cut: behind, and no count (the clone would say 2; it is 4).
    assert_eq!(t[1]["status"], "behind", "{t}");
    assert_eq!(t[1]["behind"], Value::Null, "{t}");
    assert!(
        t[1]["reason"]
            .as_str()
            .is_some_and(|r| r.contains("is cut")),
        "{t}"
    );
    // Nothing relates o and main in the clone: not a made-up "diverged".
    assert_eq!(t[2]["status"], "unknown-commit", "{t}");
    assert!(
        t[2]["reason"]
            .as_str()
            .is_some_and(|r| r.contains("how it relates to the ref")),
        "{t}"
    );
    assert_eq!(t[3]["status"], "match");
    assert_eq!(code(&out), 1, "behind is drift: {}", text(&out));
    let human = text(&check_in(&clone, &["--ref", "main", &server.url("/cut")]));
    assert!(
        human.contains("behind ") && human.contains("--deepen"),
        "{human}"
    );

    // After a full fetch, the same targets get their real counts.
    clone.git(&["fetch", "-q", "--unshallow", "origin", "main"]);
    let out = check_in(
        &clone,
        &[
            "--ref",
            "main",
            "--json",
            &server.url("/cut"),
            &server.url("/side"),
        ],
    );
    let doc = json(&out);
    assert_eq!(doc["targets"][0]["behind"], 4, "{doc}");
    assert_eq!(doc["targets"][1]["behind"], 7, "{doc}");
}
