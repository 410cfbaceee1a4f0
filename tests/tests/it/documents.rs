//! `shipstamp check` against the documents other systems really serve, compressed bodies,
//! misbehaving servers, and secrets in URLs, through the real CLI and servers on loopback.

use std::io::Write as _;
use std::process::Command;

use serde_json::Value;
use shipstamp_tests::{Reply, StubServer, TempRepo};

use crate::util::{check_in, cli, code, json, stderr, stdout, text};

fn body(doc: String) -> Reply {
    Reply::Ok("application/json", doc.into_bytes())
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    e.write_all(data).expect("gzip");
    e.finish().expect("gzip")
}

fn deflate(data: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(data).expect("deflate");
    e.finish().expect("deflate")
}

#[test]
fn a_dirty_spring_build_is_dirty_never_match() {
    let repo = TempRepo::new();
    let head = repo.commit_all("one");
    // Spring Boot Actuator's /actuator/info with management.info.git.mode=full.
    let full = |dirty: &str| {
        body(format!(
            r#"{{"git":{{"branch":"main","commit":{{"time":"2026-11-22T09:58:11Z","id":{{"describe":"v1","abbrev":"{}","full":"{head}"}},"user":{{"name":"ci"}}}},"dirty":{dirty},"build":{{"version":"1.4.2"}}}},"build":{{"artifact":"orders","name":"orders-api","version":"1.4.2","group":"com.acme"}}}}"#,
            &head[..7]
        ))
    };
    let server = StubServer::start(vec![
        ("/full-dirty", full("\"true\"")),
        ("/full-clean", full("\"false\"")),
        (
            "/simple-dirty",
            body(format!(
                r#"{{"git":{{"branch":"main","commit":{{"id":"{}","time":"x"}},"dirty":true}}}}"#,
                &head[..7]
            )),
        ),
    ]);
    let out = check_in(
        &repo,
        &["--ref", "main", "--json", &server.url("/full-dirty")],
    );
    assert_eq!(code(&out), 1, "a dirty build is drift: {}", text(&out));
    let t = &json(&out)["targets"][0];
    assert_eq!(
        (
            t["status"].as_str(),
            t["dirty"].as_bool(),
            t["shape"].as_str()
        ),
        (Some("dirty"), Some(true), Some("spring-actuator"))
    );
    assert_eq!(
        (t["package"].as_str(), t["version"].as_str()),
        (Some("orders"), Some("1.4.2"))
    );
    let out = check_in(
        &repo,
        &["--ref", "main", "--json", &server.url("/simple-dirty")],
    );
    assert_eq!(json(&out)["targets"][0]["status"], "dirty");
    let out = check_in(&repo, &["--ref", "main", &server.url("/full-clean")]);
    assert_eq!(code(&out), 0, "{}", text(&out));
    assert!(stdout(&out).contains("orders 1.4.2"), "{}", text(&out));
}

#[test]
fn every_shape_and_any_shape_with_field() {
    let repo = TempRepo::new();
    let head = repo.commit_all("one");
    let server = StubServer::start(vec![
        (
            "/dockerflow",
            body(format!(
                r#"{{"source":"https://github.com/acme/orders","version":"2.0.1","commit":"{head}","build":"https://ci/42"}}"#
            )),
        ),
        (
            "/k8s",
            body(format!(
                r#"{{"major":"1","minor":"31","gitVersion":"v1.31.0","gitCommit":"{head}","gitTreeState":"dirty","buildDate":"2026-11-22T10:00:00Z"}}"#
            )),
        ),
        (
            "/prometheus",
            body(format!(
                r#"{{"status":"success","data":{{"version":"3.5.0","revision":"{head}","branch":"HEAD","buildUser":"root@buildkitsandbox","buildDate":"20251014-09:01:02","goVersion":"go1.24.6"}}}}"#
            )),
        ),
        (
            "/go",
            body(format!(r#"{{"version":"0.9.1","revision":"{head}"}}"#)),
        ),
        (
            "/custom",
            body(format!(r#"{{"app":{{"build":{{"sha":"{head}"}}}}}}"#)),
        ),
        (
            "/custom-2",
            body(format!(r#"{{"meta":{{"rev":"{}"}}}}"#, &head[..10])),
        ),
        (
            "/described",
            Reply::Ok(
                "text/plain",
                format!("v2.0.1-0-g{}-dirty\n", &head[..7]).into_bytes(),
            ),
        ),
    ]);
    let out = check_in(
        &repo,
        &[
            "--ref",
            "main",
            "--json",
            &server.url("/dockerflow"),
            &server.url("/k8s"),
            &server.url("/prometheus"),
            &server.url("/go"),
            &server.url("/described"),
        ],
    );
    let doc = json(&out);
    let got: Vec<(String, String, Value, Value)> = doc["targets"]
        .as_array()
        .expect("targets")
        .iter()
        .map(|t| {
            (
                t["shape"].as_str().unwrap_or("").to_owned(),
                t["status"].as_str().unwrap_or("").to_owned(),
                t["version"].clone(),
                t["dirty"].clone(),
            )
        })
        .collect();
    let want = [
        ("dockerflow", "match", Value::from("2.0.1"), Value::Null),
        (
            "kubernetes",
            "dirty",
            Value::from("v1.31.0"),
            Value::from(true),
        ),
        (
            "prometheus-buildinfo",
            "match",
            Value::from("3.5.0"),
            Value::Null,
        ),
        (
            "version-revision",
            "match",
            Value::from("0.9.1"),
            Value::Null,
        ),
        ("plain-text", "dirty", Value::Null, Value::from(true)),
    ];
    let want: Vec<(String, String, Value, Value)> = want
        .into_iter()
        .map(|(a, b, c, d)| (a.to_owned(), b.to_owned(), c, d))
        .collect();
    assert_eq!(got, want, "{doc}");

    // A document in no known shape: the message names --field; with it, any document.
    let out = check_in(&repo, &["--ref", "main", &server.url("/custom")]);
    assert_eq!(code(&out), 2);
    assert!(text(&out).contains("--field"), "{}", text(&out));
    let out = check_in(
        &repo,
        &[
            "--ref",
            "main",
            "--field",
            "/app/build/sha",
            &server.url("/custom"),
        ],
    );
    assert_eq!(code(&out), 0, "{}", text(&out));
    let out = check_in(
        &repo,
        &["--ref", "main", "--field", "/nope", &server.url("/custom")],
    );
    assert_eq!(code(&out), 2);
    assert!(text(&out).contains("nothing at /nope"), "{}", text(&out));
    // Per target, in a targets file; the flag is the default for lines without their own.
    let list = tempfile::NamedTempFile::new().expect("temp file");
    std::fs::write(
        list.path(),
        format!(
            "{} custom field=/app/build/sha\n{} custom-2\n",
            server.url("/custom"),
            server.url("/custom-2")
        ),
    )
    .expect("targets");
    let out = check_in(
        &repo,
        &[
            "--ref",
            "main",
            "--json",
            "--field",
            "/meta/rev",
            "--targets",
            list.path().to_str().expect("utf-8"),
        ],
    );
    assert_eq!(code(&out), 0, "{}", text(&out));
    let doc = json(&out);
    assert_eq!(doc["targets"][0]["shape"], "json-pointer");
    assert_eq!(
        doc["targets"][1]["commit"],
        head.as_str(),
        "abbreviated, resolved"
    );
    let out = check_in(
        &repo,
        &[
            "--ref",
            "main",
            "--field",
            "app/sha",
            &server.url("/custom"),
        ],
    );
    assert_eq!(code(&out), 64, "{}", text(&out));
    assert!(text(&out).contains("not a JSON pointer"), "{}", text(&out));
}

#[test]
fn compressed_bodies_and_byte_order_marks() {
    let repo = TempRepo::new();
    let head = repo.commit_all("one");
    let doc = format!(
        r#"{{"schema":"shipstamp/v1","package":{{"name":"svc","version":"1"}},"git":{{"commit":"{head}","dirty":false}}}}"#
    );
    let bom = |s: &str| [b"\xef\xbb\xbf".as_slice(), s.as_bytes()].concat();
    // 64 MiB of zeros: 64 KB of gzip.
    let bomb = gzip(&vec![b'0'; 64 * 1024 * 1024]);
    assert!(bomb.len() < 128 * 1024);
    let server = StubServer::start(vec![
        ("/gzip", Reply::Encoded("gzip", gzip(doc.as_bytes()))),
        (
            "/deflate",
            Reply::Encoded("deflate", deflate(doc.as_bytes())),
        ),
        ("/gzip-bom", Reply::Encoded("gzip", gzip(&bom(&doc)))),
        ("/bom-json", Reply::Ok("application/json", bom(&doc))),
        (
            "/bom-text",
            Reply::Ok("text/plain", bom(&format!("{head}\r\n"))),
        ),
        ("/bomb", Reply::Encoded("gzip", bomb)),
        (
            "/brotli",
            Reply::Encoded("br", vec![0x1b, 0x03, 0x00, 0xf8]),
        ),
        (
            "/broken",
            Reply::Encoded("gzip", b"\x1f\x8b\x08 not gzip".to_vec()),
        ),
    ]);
    let out = check_in(
        &repo,
        &[
            "--ref",
            "main",
            &server.url("/gzip"),
            &server.url("/deflate"),
            &server.url("/gzip-bom"),
            &server.url("/bom-json"),
            &server.url("/bom-text"),
        ],
    );
    assert_eq!(code(&out), 0, "{}", text(&out));
    let out = check_in(
        &repo,
        &[
            "--ref",
            "main",
            "--json",
            &server.url("/bomb"),
            &server.url("/brotli"),
            &server.url("/broken"),
        ],
    );
    assert_eq!(code(&out), 2, "{}", text(&out));
    let doc = json(&out);
    let reasons: Vec<(&str, &str)> = doc["targets"]
        .as_array()
        .expect("targets")
        .iter()
        .map(|t| {
            (
                t["status"].as_str().unwrap_or(""),
                t["reason"].as_str().unwrap_or(""),
            )
        })
        .collect();
    assert_eq!(
        reasons[0],
        (
            "invalid-response",
            "body larger than 1024 KiB once decompressed (gzip)"
        )
    );
    assert_eq!(
        reasons[1],
        ("invalid-response", "compressed body (br), not decoded")
    );
    assert_eq!(reasons[2].0, "invalid-response");
    assert!(
        reasons[2].1.starts_with("a damaged gzip body"),
        "{reasons:?}"
    );
}

#[test]
fn small_things_a_careful_user_hits() {
    let repo = TempRepo::new();
    let head = repo.commit_all("one");
    let server = StubServer::start(vec![("/v", body(format!(r#"{{"commit":"{head}"}}"#)))]);
    let url = server.url("/v");
    // Listed twice (and a third time in a file): checked once, one warning.
    let list = tempfile::NamedTempFile::new().expect("temp file");
    std::fs::write(list.path(), format!("{url} again\n")).expect("targets");
    let out = check_in(
        &repo,
        &[
            "--ref",
            "main",
            &url,
            &url,
            "--targets",
            list.path().to_str().expect("utf-8"),
        ],
    );
    assert_eq!(code(&out), 0, "{}", text(&out));
    assert!(stdout(&out).contains("1 target, 1 match"), "{}", text(&out));
    let err = stderr(&out);
    let warnings: Vec<&str> = err.lines().filter(|l| l.contains("warning")).collect();
    assert_eq!(warnings.len(), 1, "{}", stderr(&out));
    assert!(
        warnings[0].contains("listed more than once"),
        "{warnings:?}"
    );

    // Durations that make no sense.
    for args in [
        vec!["--timeout", "0s"],
        vec!["--timeout", "0"],
        vec!["--wait", "0s"],
        vec!["--wait", "10s", "--interval", "0s"],
        vec!["--timeout", "-5s"],
    ] {
        let mut all = vec!["--ref", "main", url.as_str()];
        all.extend(&args);
        let out = check_in(&repo, &all);
        assert_eq!(code(&out), 64, "{args:?}: {}", text(&out));
    }
    let out = Command::new(cli())
        .args([
            "dashboard",
            "--ref",
            "main",
            "--timeout",
            "0s",
            &url,
            "--repo",
        ])
        .arg(repo.path())
        .output()
        .expect("runs");
    assert_eq!(code(&out), 64, "{}", text(&out));

    // https:// to a port that speaks plain HTTP.
    let tls = url.replacen("http://", "https://", 1);
    let out = check_in(&repo, &["--ref", "main", "--json", "--timeout", "3s", &tls]);
    assert_eq!(code(&out), 2);
    let t = &json(&out)["targets"][0];
    assert_eq!(t["status"], "unreachable");
    assert_eq!(
        t["reason"],
        "the server does not speak TLS here (plain HTTP? try http://)"
    );
}

/// Secrets planted in target URLs, in `Cargo.toml`'s `repository` and in a git remote never
/// reach output, a page, or a stamp.
#[test]
fn no_secret_is_printed_or_stamped() {
    let repo = TempRepo::new();
    let fx = shipstamp_tests::Fixture::write(repo.path(), "secretive-svc");
    let manifest = std::fs::read_to_string(fx.dir().join("Cargo.toml")).expect("manifest");
    std::fs::write(
        fx.dir().join("Cargo.toml"),
        manifest.replacen(
            "edition = \"2024\"\n",
            "edition = \"2024\"\nrepository = \"https://ci-bot:cargo-pw-1@git.example.com/acme/svc?access_token=cargo-tok-2#frag-3\"\n",
            1,
        ),
    )
    .expect("manifest");
    // A remote on loopback that refuses: `git fetch` fails, and says so with the URL.
    let refused = std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr");
    repo.git(&[
        "remote",
        "add",
        "origin",
        &format!("http://deploy:remote-pw-4@{refused}/acme/svc.git?token=remote-tok-5"),
    ]);
    let head = repo.commit_all("one");
    let build = fx.build(&[]);
    assert!(build.success, "{}", build.stderr);
    let binary = std::fs::read(fx.binary("debug")).expect("binary");
    let stamp = shipstamp_check::read_stamps(&binary).expect("stamped");
    assert_eq!(
        stamp[0].package.repository.as_deref(),
        Some("https://git.example.com/acme/svc")
    );

    let served = StubServer::start(vec![
        ("/v", body(format!(r#"{{"commit":"{head}"}}"#))),
        (
            "/v?token=url-tok-6",
            body(format!(r#"{{"commit":"{head}"}}"#)),
        ),
        ("/gone", Reply::Status(502, "<html>bad gateway</html>")),
        (
            "/away",
            Reply::Redirect(format!(
                "http://u:redirect-pw-17@{refused}/v?token=redirect-tok-18"
            )),
        ),
    ]);
    let port = served.url("").trim_start_matches("http://").to_owned();
    let urls = [
        format!("http://user-7:url-pw-8@{port}/v"),
        format!("http://{port}/v?token=url-tok-6"),
        format!("http://u:url-pw-9@{port}/gone?sig=url-sig-10"),
        format!("http://u:url-pw-11@{refused}/v?key=url-key-12"),
        format!("https://u:url-pw-13@{port}/v?key=url-key-14"),
        format!("http://{port}/away"),
    ];
    let list = tempfile::NamedTempFile::new().expect("temp file");
    std::fs::write(list.path(), urls.join("\n")).expect("targets");
    let mut outputs = Vec::new();
    for extra in [
        vec![],
        vec!["--json"],
        vec!["--wait", "1s", "--interval", "200ms"],
        vec!["--json", "--wait", "1s", "--interval", "200ms"],
    ] {
        let mut args = vec!["--ref", "main", "--timeout", "2s", "--targets"];
        args.push(list.path().to_str().expect("utf-8"));
        args.extend(extra);
        outputs.push(text(&check_in(&repo, &args)));
    }
    // A URL with secrets that is not a URL at all: the usage error must not echo it either.
    outputs.push(text(&check_in(
        &repo,
        &["--ref", "main", "ftp://u:url-pw-15@host/v?token=url-tok-16"],
    )));
    // Prometheus URLs with credentials or a token: refused, without being echoed.
    for url in [
        "http://u:prom-pw-19@127.0.0.1:9".to_owned(),
        format!("http://{refused}/?token=prom-tok-20"),
    ] {
        let out = check_in(
            &repo,
            &[
                "--ref",
                "main",
                "--prometheus",
                &url,
                "--selector",
                "x_build_info",
            ],
        );
        assert_eq!(code(&out), 64, "{}", text(&out));
        outputs.push(text(&out));
    }
    // A live dashboard whose `git fetch` fails: the error is shown, without the remote's
    // secrets, in /api/fleet.json.
    let mut cmd = Command::new(cli());
    cmd.arg("dashboard")
        .arg("--targets")
        .arg(list.path())
        .args(["--ref", "main", "--repo"])
        .arg(repo.path())
        .args([
            "--listen",
            "127.0.0.1:0",
            "--interval",
            "300ms",
            "--timeout",
            "2s",
            "--fetch",
            "1s",
        ]);
    let dashboard = shipstamp_tests::Service::spawn(cmd);
    let start = std::time::Instant::now();
    let fleet = loop {
        let r =
            shipstamp_tests::request(dashboard.addr, "GET", "/api/fleet.json").expect("answers");
        let doc: serde_json::Value = serde_json::from_slice(&r.body).unwrap_or_default();
        if doc["fetches"][0]["ok"] == false {
            break r.text();
        }
        assert!(
            start.elapsed() < std::time::Duration::from_secs(30),
            "no failed fetch: {}",
            r.text()
        );
        std::thread::sleep(std::time::Duration::from_millis(200));
    };
    assert!(fleet.contains("git fetch"), "{fleet}");
    assert!(
        fleet.contains(&refused.to_string()),
        "the remote is named: {fleet}"
    );
    outputs.push(fleet);
    drop(dashboard);
    let html = tempfile::NamedTempFile::new().expect("temp file");
    let out = Command::new(cli())
        .args([
            "dashboard",
            "--once",
            "--ref",
            "main",
            "--timeout",
            "2s",
            "--html",
        ])
        .arg(html.path())
        .arg("--targets")
        .arg(list.path())
        .arg("--repo")
        .arg(repo.path())
        .output()
        .expect("runs");
    outputs.push(text(&out));
    outputs.push(std::fs::read_to_string(html.path()).expect("page"));
    let inspect = Command::new(cli())
        .arg("inspect")
        .arg(fx.binary("debug"))
        .output()
        .expect("runs");
    outputs.push(text(&inspect));
    let inspect = Command::new(cli())
        .args(["inspect", "--json"])
        .arg(fx.binary("debug"))
        .output()
        .expect("runs");
    outputs.push(text(&inspect));

    let secrets: Vec<String> = (1..=20)
        .map(|i| {
            [
                "",
                "cargo-pw-",
                "cargo-tok-",
                "frag-",
                "remote-pw-",
                "remote-tok-",
                "url-tok-",
                "user-",
                "url-pw-",
                "url-pw-",
                "url-sig-",
                "url-pw-",
                "url-key-",
                "url-pw-",
                "url-key-",
                "url-pw-",
                "url-tok-",
                "redirect-pw-",
                "redirect-tok-",
                "prom-pw-",
                "prom-tok-",
            ][i]
                .to_owned()
                + &i.to_string()
        })
        .collect();
    for (n, output) in outputs.iter().enumerate() {
        assert!(!output.is_empty(), "output {n} is empty");
        for secret in &secrets {
            assert!(
                !output.contains(secret.as_str()),
                "{secret} in output {n}:\n{output}"
            );
        }
    }
    for secret in &secrets {
        assert!(
            !binary.windows(secret.len()).any(|w| w == secret.as_bytes()),
            "{secret} in the binary"
        );
    }
    // The outputs still name the targets, without the secrets.
    assert!(
        outputs[0].contains(&format!("http://{port}/v?…")),
        "{}",
        outputs[0]
    );
}
