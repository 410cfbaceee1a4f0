//! Every instance behind a name: `--each-address` and the fleet file's `dns`, on loopback
//! (several 127.0.0.x addresses on one port, each with its own build; `localhost` as the
//! system resolves it), and through the library's resolver seam for sets that change.

use std::net::{SocketAddr, ToSocketAddrs};
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use serde_json::Value;
use shipstamp_check::{Checker, EachAddress, Locator, Options, Repo, Resolver, Status, Target};
use shipstamp_tests::{Reply, StubServer, TempRepo};

use crate::util::{cli, code, names_and_statuses, text};

fn doc(commit: &str) -> Reply {
    Reply::shipstamp("svc", commit)
}

/// A port free on 127.0.0.1, 127.0.0.2 and 127.0.0.3 alike.
fn shared_port() -> u16 {
    loop {
        let first = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = first.local_addr().unwrap().port();
        drop(first);
        if (1..=3).all(|i| {
            std::net::TcpListener::bind(("127.0.0.".to_owned() + &i.to_string(), port)).is_ok()
        }) {
            return port;
        }
    }
}

fn history() -> (TempRepo, String, String) {
    let repo = TempRepo::new();
    let old = repo.commit_all("old");
    let new = repo.commit_all("new");
    (repo, old, new)
}

#[test]
fn each_address_is_its_own_instance_with_the_host_header_kept() {
    let (repo, old, new) = history();
    let port = shared_port();
    let at = |i: u8| SocketAddr::from(([127, 0, 0, i], port));
    let one = StubServer::start_at(at(1), vec![("/version", doc(&new))]);
    let two = StubServer::start_at(at(2), vec![("/version", doc(&old))]);
    let three = StubServer::start_at(at(3), vec![("/version", doc(&new))]);
    let url = format!("http://orders.test:{port}/version");
    let out = Command::new(cli())
        .args(["check", "--ref", "main", "--json", "--each-address", &url])
        .arg(format!(
            "--resolve=orders.test:{port}:127.0.0.2,127.0.0.1,127.0.0.3"
        ))
        .arg("--repo")
        .arg(repo.path())
        .output()
        .unwrap();
    assert_eq!(code(&out), 1, "one address is behind: {}", text(&out));
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    let instances: Vec<(String, String, String)> = doc["targets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            (
                t["name"].as_str().unwrap().to_owned(),
                t["url"].as_str().unwrap().to_owned(),
                t["status"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        instances,
        [
            ("orders.test@127.0.0.1".into(), url.clone(), "match".into()),
            ("orders.test@127.0.0.2".into(), url.clone(), "behind".into()),
            ("orders.test@127.0.0.3".into(), url.clone(), "match".into()),
        ]
    );
    for server in [&one, &two, &three] {
        let heads = server.request_heads();
        assert_eq!(heads.len(), 1, "each instance asked once: {heads:?}");
        assert!(
            heads[0]
                .to_ascii_lowercase()
                .contains(&format!("\r\nhost: orders.test:{port}\r\n")),
            "the Host header is the name, not the address: {}",
            heads[0]
        );
    }
}

/// `--resolve` is curl's: it names where a plain URL target's host is too, not only the hosts of
/// `--each-address` targets; a host it does not name resolves as usual.
#[test]
fn resolve_reaches_a_plain_url_target() {
    let (repo, _, new) = history();
    let port = shared_port();
    let server = StubServer::start_at(
        SocketAddr::from(([127, 0, 0, 2], port)),
        vec![("/version", doc(&new))],
    );
    let named = format!("http://orders.test:{port}/version");
    let out = Command::new(cli())
        .args(["check", "--ref", "main", "--json", &named])
        .arg(format!("--resolve=orders.test:{port}:127.0.0.2"))
        .arg("--repo")
        .arg(repo.path())
        .output()
        .unwrap();
    assert_eq!(code(&out), 0, "{}", text(&out));
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["targets"][0]["status"], "match", "{doc}");
    let heads = server.request_heads();
    assert_eq!(heads.len(), 1, "{heads:?}");
    assert!(
        heads[0]
            .to_ascii_lowercase()
            .contains(&format!("\r\nhost: orders.test:{port}\r\n")),
        "{}",
        heads[0]
    );
}

/// The server name a TLS client asks for in its ClientHello (SNI), read off the wire.
fn server_name_in_client_hello(hello: &[u8]) -> Option<String> {
    let u16_at =
        |i: usize| Some(usize::from(*hello.get(i)?) << 8 | usize::from(*hello.get(i + 1)?));
    // A handshake record holding a ClientHello: the record header (5), the handshake header
    // (4), the version (2) and the random (32), then the session id, ciphers and compression.
    if hello.first() != Some(&0x16) || hello.get(5) != Some(&0x01) {
        return None;
    }
    let mut i = 5 + 4 + 2 + 32;
    i += 1 + usize::from(*hello.get(i)?);
    i += 2 + u16_at(i)?;
    i += 1 + usize::from(*hello.get(i)?);
    let end = i + 2 + u16_at(i)?;
    i += 2;
    while i + 4 <= end {
        let (kind, len) = (u16_at(i)?, u16_at(i + 2)?);
        if kind == 0 {
            // server_name: the list's length (2), the name's type (1, host_name = 0), its length (2).
            let name_len = u16_at(i + 4 + 3)?;
            let name = hello.get(i + 4 + 5..i + 4 + 5 + name_len)?;
            return String::from_utf8(name.to_vec()).ok();
        }
        i += 4 + len;
    }
    None
}

#[test]
fn https_instances_keep_the_tls_server_name() {
    let repo = TempRepo::new();
    repo.commit_all("one");
    let port = shared_port();
    // Two "instances" that read the ClientHello, note the name it asks for, and hang up.
    let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
    for i in [2u8, 3] {
        let listener =
            std::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, i], port))).unwrap();
        let seen = Arc::clone(&seen);
        std::thread::spawn(move || {
            let (mut conn, _) = listener.accept().unwrap();
            conn.set_read_timeout(Some(std::time::Duration::from_secs(10)))
                .unwrap();
            let mut hello = vec![0; 16 * 1024];
            let mut read = 0;
            // The ClientHello fits one record; read until its declared length is in.
            while read < 5 || read < 5 + (usize::from(hello[3]) << 8 | usize::from(hello[4])) {
                match std::io::Read::read(&mut conn, &mut hello[read..]) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => read += n,
                }
            }
            seen.lock()
                .unwrap()
                .push((i, server_name_in_client_hello(&hello[..read])));
        });
    }
    let url = format!("https://orders.test:{port}/version");
    let out = Command::new(cli())
        .args(["check", "--ref", "main", "--each-address", &url])
        .arg(format!("--resolve=orders.test:{port}:127.0.0.2,127.0.0.3"))
        .arg("--repo")
        .arg(repo.path())
        .output()
        .unwrap();
    assert_eq!(
        code(&out),
        2,
        "no instance finished the handshake: {}",
        text(&out)
    );
    let mut seen = seen.lock().unwrap().clone();
    seen.sort();
    assert_eq!(
        seen,
        [
            (2, Some("orders.test".to_owned())),
            (3, Some("orders.test".to_owned()))
        ],
        "each address was asked for the name, not the address: {}",
        text(&out)
    );
    for instance in ["orders.test@127.0.0.2", "orders.test@127.0.0.3"] {
        assert!(
            text(&out)
                .lines()
                .any(|l| l.starts_with("unreachable") && l.contains(instance)),
            "{instance}: {}",
            text(&out)
        );
    }
}

#[test]
fn localhost_is_every_address_the_system_gives_it() {
    let (repo, old, new) = history();
    // The same port on IPv4 and IPv6 loopback, a different build behind each.
    let v4 = StubServer::start_at(
        "127.0.0.1:0".parse().unwrap(),
        vec![("/version", doc(&new))],
    );
    let port = v4.addr().port();
    let v6 = std::net::TcpListener::bind(("::1", port))
        .ok()
        .map(drop)
        .map(|()| {
            StubServer::start_at(
                SocketAddr::from((std::net::Ipv6Addr::LOCALHOST, port)),
                vec![("/version", doc(&old))],
            )
        });
    let mut expected: Vec<SocketAddr> = ("localhost", port).to_socket_addrs().unwrap().collect();
    expected.sort();
    expected.dedup();
    let out = Command::new(cli())
        .args(["check", "--ref", "main", "--json", "--each-address"])
        .arg(format!("http://localhost:{port}/version"))
        .arg("--repo")
        .arg(repo.path())
        .output()
        .unwrap();
    let doc: Value =
        serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", text(&out)));
    let got = names_and_statuses(&doc);
    let want: Vec<(String, String)> = expected
        .iter()
        .map(|a| {
            let status = match (a.is_ipv6(), &v6) {
                (false, _) => "match",
                (true, Some(_)) => "behind",
                (true, None) => "unreachable",
            };
            (format!("localhost@{}", a.ip()), status.to_owned())
        })
        .collect();
    assert_eq!(
        got, want,
        "as many instances as the system's addresses for localhost"
    );
}

#[test]
fn the_set_is_resolved_again_every_round_and_failures_are_unreachable() {
    let (repo, _old, new) = history();
    let port = shared_port();
    let servers: Vec<StubServer> = (1..=3)
        .map(|i| {
            StubServer::start_at(
                SocketAddr::from(([127, 0, 0, i], port)),
                vec![("/version", doc(&new))],
            )
        })
        .collect();
    // Round 1: two pods. Round 2: a third is scheduled and the first goes. Round 3: DNS fails.
    let round = Arc::new(AtomicUsize::new(0));
    let seen = Arc::clone(&round);
    let resolver = Resolver::new(move |host, port| {
        assert_eq!(host, "orders.test");
        let addr = |i: u8| SocketAddr::from(([127, 0, 0, i], port));
        match seen.load(Ordering::SeqCst) {
            0 => Ok(vec![addr(1), addr(2)]),
            1 => Ok(vec![addr(3), addr(2)]),
            _ => Err(std::io::Error::other("SERVFAIL")),
        }
    });
    let mut checker = Checker::new(
        Repo::open(repo.path()).unwrap(),
        Options::default().resolver(resolver),
    );
    let reference = checker.resolve_ref("main").unwrap();
    let source = EachAddress(vec![Target::named(
        Locator::url(format!("http://orders.test:{port}/version")).unwrap(),
        "orders",
    )]);
    let names = |checker: &mut Checker| -> Vec<(String, Status, Option<String>)> {
        let seen = checker.observe(&[&source]).pop().unwrap().unwrap();
        checker
            .judge(&seen, &reference)
            .unwrap()
            .into_iter()
            .map(|r| {
                (
                    r.name.unwrap_or_default(),
                    r.status,
                    r.reason.map(|r| r.to_string()),
                )
            })
            .collect()
    };
    assert_eq!(
        names(&mut checker),
        [
            ("orders@127.0.0.1".to_owned(), Status::Match, None),
            ("orders@127.0.0.2".to_owned(), Status::Match, None),
        ]
    );
    round.store(1, Ordering::SeqCst);
    assert_eq!(
        names(&mut checker),
        [
            ("orders@127.0.0.2".to_owned(), Status::Match, None),
            ("orders@127.0.0.3".to_owned(), Status::Match, None),
        ]
    );
    round.store(2, Ordering::SeqCst);
    let failed = names(&mut checker);
    assert_eq!(failed.len(), 1);
    assert_eq!(
        (failed[0].0.as_str(), failed[0].1),
        ("orders", Status::Unreachable)
    );
    assert_eq!(
        failed[0].2.as_deref(),
        Some("orders.test does not resolve: SERVFAIL")
    );
    drop(servers);
}

#[test]
fn a_fleet_files_dns_entries_expand_in_check_and_the_dashboard() {
    let (repo, old, new) = history();
    let port = shared_port();
    let _one = StubServer::start_at(
        SocketAddr::from(([127, 0, 0, 1], port)),
        vec![("/version", doc(&new))],
    );
    let _two = StubServer::start_at(
        SocketAddr::from(([127, 0, 0, 2], port)),
        vec![("/version", doc(&old))],
    );
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("fleet.toml"),
        format!(
            "[service.orders]\nrepo = {:?}\nref = \"main\"\n\n[service.orders.env.production]\n\
             dns = [\"http://orders-headless.test:{port}/version\"]\n",
            repo.path().display().to_string()
        ),
    )
    .unwrap();
    let resolve = format!("--resolve=orders-headless.test:{port}:127.0.0.1,127.0.0.2");
    let out = Command::new(cli())
        .args(["check", "--json", &resolve, "--fleet"])
        .arg(dir.path().join("fleet.toml"))
        .output()
        .unwrap();
    assert_eq!(code(&out), 1, "{}", text(&out));
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["cells"][0]["text"], "1/2 match, 1 behind 1, 2 builds");
    let html = dir.path().join("fleet.html");
    let out = Command::new(cli())
        .args(["dashboard", "--once", &resolve, "--fleet"])
        .arg(dir.path().join("fleet.toml"))
        .arg("--html")
        .arg(&html)
        .output()
        .unwrap();
    assert_eq!(code(&out), 1, "{}", text(&out));
    let page = std::fs::read_to_string(&html).unwrap();
    assert!(
        page.contains("orders-headless.test@127.0.0.2"),
        "instances on the page"
    );

    // Bad --resolve values are usage errors.
    for bad in [
        "nohost",
        "h:notaport:127.0.0.1",
        "h:80:not-an-ip",
        ":80:127.0.0.1",
    ] {
        let out = Command::new(cli())
            .args([
                "check",
                "--ref",
                "main",
                "http://127.0.0.1:9/v",
                "--resolve",
                bad,
            ])
            .output()
            .unwrap();
        assert_eq!(code(&out), 64, "{bad}: {}", text(&out));
    }
}
