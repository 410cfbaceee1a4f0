//! `container:` targets and compose projects, read through a real podman's Docker-compatible
//! API: a container at the ref; its image rebuilt and re-tagged at a fix while it keeps
//! running the old one (behind, recreate needed, with compose's command); recreated; an image
//! with only the OCI revision label; an unstamped one started before the fix; a compose project
//! where one service was refreshed and the other not; a stopped container; and engines that are
//! missing, forbidden, too old, broken or silent.

use std::io::{Read, Write};
use std::os::unix::net::UnixListener;
use std::path::Path;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use shipstamp_tests::{Fixture, Podman, Service, TempRepo, request};

use crate::util::{cli, code, json, names_and_statuses, stdout, text};

/// `shipstamp ARGS --engine ENGINE`.
fn shipstamp(podman: &Podman, args: &[&str]) -> Output {
    Command::new(cli())
        .args(args)
        .args(["--engine", &podman.engine()])
        .output()
        .expect("runs")
}

/// A stamped binary that keeps running: the fixture crate with a `main` that sleeps.
fn stamped_sleeper(repo: &TempRepo, name: &str) -> Fixture {
    let fixture = Fixture::write(repo.path(), name);
    std::fs::write(
        fixture.dir().join("src/main.rs"),
        "fn main() {\n    println!(\"{}\", shipstamp::stamp!().to_json());\n    \
         loop {\n        std::thread::sleep(std::time::Duration::from_secs(3600));\n    }\n}\n",
    )
    .unwrap();
    fixture
}

fn build(fixture: &Fixture) -> std::path::PathBuf {
    let build = fixture.build(&[]);
    assert!(build.success, "cargo build failed:\n{}", build.stderr);
    fixture.binary("debug")
}

fn compose_labels<'a>(project: &'a str, service: &'a str) -> [(&'a str, &'a str); 3] {
    [
        ("com.docker.compose.project", project),
        ("com.docker.compose.service", service),
        ("com.docker.compose.container-number", "1"),
    ]
}

/// The story this feature exists for: the fix is merged, the image is rebuilt and re-tagged,
/// and the container still runs the old one.
#[test]
#[ignore = "needs podman and runc, as root (.ci/run installs them and runs it)"]
fn a_rebuilt_image_whose_container_was_not_recreated() {
    let podman = Podman::start("story");
    let repo = TempRepo::new();
    let fixture = stamped_sleeper(&repo, "ctr-orders");
    let first = repo.commit_all("Add the orders service");
    repo.git(&["branch", "-M", "main"]);
    let image = format!("localhost/{}:latest", podman.name("orders"));
    let container = podman.name("orders-1");
    let project = podman.name("shop");
    let labels = compose_labels(&project, "orders");

    let root = podman.root_with(&build(&fixture));
    podman.build(&image, root.path(), &[], &["/app"]);
    podman.run(&container, &image, &labels);
    let target = format!("container:{container}");
    let repo_path = repo.path().to_str().unwrap();
    let check = |extra: &[&str]| {
        let mut args = vec![
            "check", "--ref", "main", "--repo", repo_path, "--json", &target,
        ];
        args.extend_from_slice(extra);
        shipstamp(&podman, &args)
    };
    let out = check(&[]);
    assert_eq!(code(&out), 0, "{}", text(&out));
    let t = &json(&out)["targets"][0];
    assert_eq!(t["status"], "match");
    assert_eq!(t["shape"], "process", "read from its main process's stamp");
    assert_eq!(t["commit"], first.as_str());
    assert_eq!(t["container"]["name"], container.as_str());
    assert_eq!(t["container"]["image"], image.as_str());
    assert_eq!(t["container"]["recreate_needed"], false);
    assert_eq!(t["container"]["compose_service"], "orders");

    // A process in a container is compared with the file at its own root: no false alarm.
    let pid = podman.pid(&container).to_string();
    let out = Command::new(cli())
        .args(["inspect", "--pid", &pid])
        .output()
        .unwrap();
    assert_eq!(code(&out), 0, "{}", text(&out));
    assert!(!stdout(&out).contains("nothing at"), "{}", text(&out));

    // The fix: committed, built, the image rebuilt under the same tag; the container is not
    // recreated.
    repo.write("fix.txt", "double emit fixed\n");
    let fix = repo.commit_all("Fix double emit");
    let root = podman.root_with(&build(&fixture));
    let rebuilt = podman.build(&image, root.path(), &[], &["/app"]);
    let out = check(&[]);
    assert_eq!(code(&out), 1, "{}", text(&out));
    let t = &json(&out)["targets"][0];
    assert_eq!(t["status"], "behind");
    assert_eq!(t["behind"], 1);
    assert_eq!(t["commit"], first.as_str());
    assert_eq!(t["container"]["recreate_needed"], true);
    assert!(
        t["container"]["image_now"]
            .as_str()
            .is_some_and(|now| now.ends_with(&rebuilt)),
        "{t}"
    );
    let reason = t["reason"].as_str().unwrap();
    assert_eq!(
        reason,
        format!(
            "runs {} (the stamp of its main process); the image {image} now names another \
             image ({}): recreate the container (docker compose up -d orders)",
            &first[..7],
            &rebuilt[..12]
        ),
        "an image without a revision label: its commit is not known, its id is"
    );
    // The text a person reads says the same.
    let out = shipstamp(
        &podman,
        &["check", "--ref", "main", "--repo", repo_path, &target],
    );
    assert!(
        text(&out).contains("recreate the container (docker compose up -d orders)"),
        "{}",
        text(&out)
    );
    let out = shipstamp(&podman, &["inspect", &target]);
    assert_eq!(code(&out), 1, "{}", text(&out));
    assert!(
        stdout(&out).contains("recreate needed (docker compose up -d orders)"),
        "{}",
        text(&out)
    );

    // Rebuilt again with its revision label, as examples/Dockerfile does: the reason names it.
    let labelled = [("org.opencontainers.image.revision", fix.as_str())];
    podman.build(&image, root.path(), &labelled, &["/app"]);
    let out = check(&[]);
    let reason = json(&out)["targets"][0]["reason"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        reason.contains(&format!("the image {image} is rebuilt at {} (the ref's commit): recreate the container (docker compose up -d orders)", &fix[..7])),
        "{reason}"
    );

    // Recreated: it runs the fix.
    podman.podman(&["rm", "-f", "-t", "0", &container]);
    podman.run(&container, &image, &labels);
    let out = check(&["--wait", "30s"]);
    assert_eq!(code(&out), 0, "{}", text(&out));
    let t = &json(&out)["targets"][0];
    assert_eq!(
        (t["status"].as_str(), t["commit"].as_str()),
        (Some("match"), Some(fix.as_str()))
    );
    assert_eq!(t["container"]["recreate_needed"], false);
    let out = shipstamp(&podman, &["inspect", &target, "--json"]);
    assert_eq!(code(&out), 0, "{}", text(&out));
    let doc = json(&out);
    assert_eq!(doc["evidence"], "stamp");
    assert_eq!(doc["running"][0]["git"]["commit"], fix.as_str());
}

/// A label is evidence when the main process has no stamp; neither, and the start time
/// judges; a container that is not running is not judged at all.
#[test]
#[ignore = "needs podman and runc, as root (.ci/run installs them and runs it)"]
fn labels_start_times_and_stopped_containers() {
    let podman = Podman::start("labels");
    let repo = TempRepo::new();
    repo.write("README", "worker\n");
    let first = repo.commit_all("first");
    repo.git(&["branch", "-M", "main"]);
    let root = podman.root_with(Path::new("/bin/sleep"));
    let labelled_image = format!("localhost/{}:latest", podman.name("labelled"));
    let labelled = [("org.opencontainers.image.revision", first.as_str())];
    podman.build(&labelled_image, root.path(), &labelled, &["/app", "3600"]);
    let bare_image = format!("localhost/{}:latest", podman.name("bare"));
    podman.build(&bare_image, root.path(), &[], &["/app", "3600"]);
    let failing_image = format!("localhost/{}:latest", podman.name("failing"));
    podman.build(&failing_image, root.path(), &[], &["/app", "not-a-number"]);
    let (labelled_ctr, bare_ctr, failing_ctr) = (
        podman.name("labelled-1"),
        podman.name("bare-1"),
        podman.name("failing-1"),
    );
    podman.run(&labelled_ctr, &labelled_image, &[]);
    podman.run(&bare_ctr, &bare_image, &[]);
    podman.run(&failing_ctr, &failing_image, &[]);

    // A fix committed after they all started (a second later, by the clock of the commit).
    let later = (shipstamp::Timestamp::now().unix_seconds() + 2).to_string();
    repo.write("fix.txt", "fixed\n");
    repo.git(&["add", "-A"]);
    let out = Command::new("git")
        .current_dir(repo.path())
        .args([
            "-c",
            "user.name=t",
            "-c",
            "user.email=t@example.com",
            "commit",
            "-q",
            "-m",
            "fix",
        ])
        .env("GIT_COMMITTER_DATE", format!("@{later} +0000"))
        .env("GIT_AUTHOR_DATE", format!("@{later} +0000"))
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");

    let targets: Vec<String> = [
        &labelled_ctr,
        &bare_ctr,
        &failing_ctr,
        &podman.name("missing"),
    ]
    .iter()
    .map(|c| format!("container:{c}"))
    .collect();
    let mut args = vec![
        "check",
        "--ref",
        "main",
        "--json",
        "--repo",
        repo.path().to_str().unwrap(),
    ];
    args.extend(targets.iter().map(String::as_str));
    let out = Command::new(cli())
        .args(&args)
        .env("DOCKER_HOST", podman.engine())
        .output()
        .unwrap();
    assert_eq!(
        code(&out),
        1,
        "drift wins over the stopped and the missing; {}",
        text(&out)
    );
    let doc = json(&out);
    let t = &doc["targets"];
    let by_url = |url: &str| {
        t.as_array()
            .unwrap()
            .iter()
            .find(|x| x["url"] == url)
            .unwrap_or_else(|| panic!("{url} in {doc}"))
            .clone()
    };
    let labelled = by_url(&targets[0]);
    assert_eq!(labelled["status"], "behind", "{labelled}");
    assert_eq!(labelled["shape"], "image-label");
    assert_eq!(
        labelled["reason"],
        format!(
            "runs {} (its image's org.opencontainers.image.revision label)",
            &first[..7]
        )
    );
    let bare = by_url(&targets[1]);
    assert_eq!(bare["status"], "stale", "{bare}");
    let reason = bare["reason"].as_str().unwrap();
    assert!(
        reason.contains(
            "carries no stamp and no org.opencontainers.image.revision label; it started"
        ),
        "{reason}"
    );
    assert!(bare["drift_since"].is_string(), "{bare}");
    let failing = by_url(&targets[2]);
    assert_eq!(failing["status"], "unreachable", "{failing}");
    assert_eq!(
        failing["reason"],
        format!("container {failing_ctr} is exited with exit code 1")
    );
    assert_eq!(failing["container"]["state"], "exited");
    assert_eq!(failing["container"]["exit_code"], 1);
    let missing = by_url(&targets[3]);
    assert_eq!(missing["status"], "unreachable");
    assert!(
        missing["reason"]
            .as_str()
            .unwrap()
            .starts_with(&format!("no such container: {}", podman.name("missing"))),
        "{missing}"
    );

    // Its image's name removed (the image it runs stays, as engines keep it while a container
    // uses it): still judged by what it runs, with nothing to recreate from.
    podman.podman(&["untag", &labelled_image]);
    let out = Command::new(cli())
        .args([
            "check",
            "--ref",
            "main",
            "--json",
            "--repo",
            repo.path().to_str().unwrap(),
            &targets[0],
        ])
        .env("DOCKER_HOST", podman.engine())
        .output()
        .unwrap();
    assert_eq!(code(&out), 1, "{}", text(&out));
    let t = &json(&out)["targets"][0];
    assert_eq!(
        (t["status"].as_str(), t["shape"].as_str()),
        (Some("behind"), Some("image-label")),
        "{t}"
    );
    assert_eq!(t["container"]["image_now"], serde_json::Value::Null);
    assert_eq!(t["container"]["recreate_needed"], false);
}

/// One service refreshed, the other still running stale output: the compose project is
/// listed every round, each container named by its service.
#[test]
#[ignore = "needs podman and runc, as root (.ci/run installs them and runs it)"]
fn a_compose_project_with_one_service_refreshed() {
    let podman = Podman::start("compose");
    let repo = TempRepo::new();
    repo.write("README", "shop\n");
    let first = repo.commit_all("first");
    repo.git(&["branch", "-M", "main"]);
    let root = podman.root_with(Path::new("/bin/sleep"));
    let project = podman.name("shop");
    let image = |service: &str| format!("localhost/{}:latest", podman.name(service));
    let build_at = |service: &str, commit: &str| {
        let label = [("org.opencontainers.image.revision", commit)];
        podman.build(&image(service), root.path(), &label, &["/app", "3600"]);
    };
    for service in ["api", "dashboard"] {
        build_at(service, &first);
        podman.run(
            &podman.name(&format!("{service}-1")),
            &image(service),
            &compose_labels(&project, service),
        );
    }
    // A container of another project is not checked.
    podman.run(
        &podman.name("other-1"),
        &image("api"),
        &compose_labels(&podman.name("elsewhere"), "api"),
    );

    repo.write("fix.txt", "fixed\n");
    let fix = repo.commit_all("Fix stale output");
    for service in ["api", "dashboard"] {
        build_at(service, &fix);
    }
    // `docker compose up -d api`: only the api is recreated.
    let api = podman.name("api-1");
    podman.podman(&["rm", "-f", "-t", "0", &api]);
    podman.run(&api, &image("api"), &compose_labels(&project, "api"));

    let repo_path = repo.path().to_str().unwrap();
    let out = shipstamp(
        &podman,
        &[
            "check",
            "--ref",
            "main",
            "--repo",
            repo_path,
            "--compose-project",
            &project,
            "--json",
        ],
    );
    assert_eq!(code(&out), 1, "{}", text(&out));
    let doc = json(&out);
    let mut seen = names_and_statuses(&doc);
    seen.sort();
    assert_eq!(
        seen,
        [
            ("api-1".to_owned(), "match".to_owned()),
            ("dashboard-1".to_owned(), "behind".to_owned()),
        ],
        "{doc}"
    );
    let dashboard = doc["targets"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == "dashboard-1")
        .unwrap();
    assert!(
        dashboard["reason"].as_str().unwrap().ends_with(&format!(
            "is rebuilt at {} (the ref's commit): recreate the container (docker compose up -d dashboard)",
            &fix[..7]
        )),
        "{dashboard}"
    );

    // The same from a fleet file, and on the dashboard's page.
    let fleet = repo.path().join("fleet.toml");
    std::fs::write(
        &fleet,
        format!(
            "[service.shop]\nrepo = {repo_path:?}\nref = \"main\"\nengine = {:?}\n\n\
             [service.shop.env.local]\ncontainers = {{ project = {project:?} }}\n\n\
             [service.shop.env.labelled]\n\
             containers = {{ label = \"com.docker.compose.project={project}\" }}\n",
            podman.engine()
        ),
    )
    .unwrap();
    let out = Command::new(cli())
        .args(["check", "--fleet", fleet.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(code(&out), 1, "{}", text(&out));
    assert!(stdout(&out).contains("dashboard-1"), "{}", text(&out));
    let out = Command::new(cli())
        .args(["check", "--fleet", fleet.to_str().unwrap(), "--json"])
        .output()
        .unwrap();
    let cells: Vec<(String, String)> = json(&out)["cells"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["environment"].as_str().unwrap().to_owned(),
                c["text"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        cells,
        [
            (
                "local".to_owned(),
                "1/2 match, 1 behind 1, 2 builds".to_owned()
            ),
            (
                "labelled".to_owned(),
                "1/2 match, 1 behind 1, 2 builds".to_owned()
            ),
        ],
        "by project and by label alike"
    );
    let page = repo.path().join("page.html");
    let out = Command::new(cli())
        .args([
            "dashboard",
            "--once",
            "--html",
            page.to_str().unwrap(),
            "--fleet",
            fleet.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert_eq!(code(&out), 1, "{}", text(&out));
    let html = std::fs::read_to_string(&page).unwrap();
    assert!(
        html.contains("docker compose up -d dashboard"),
        "the page says what to do"
    );

    // A watcher: the container to recreate is a pending restart on /metrics.
    let mut cmd = Command::new(cli());
    cmd.args([
        "dashboard",
        "--listen",
        "127.0.0.1:0",
        "--interval",
        "1s",
        "--fleet",
    ])
    .arg(&fleet);
    let watcher = Service::spawn(cmd);
    let deadline = Instant::now() + Duration::from_secs(60);
    let metrics = loop {
        let r = request(watcher.addr, "GET", "/metrics").unwrap();
        if r.status == 200 && r.text().contains("shipstamp_target_restart_pending{") {
            break r.text();
        }
        assert!(Instant::now() < deadline, "no round: {}", r.text());
        std::thread::sleep(Duration::from_millis(200));
    };
    let pending: Vec<&str> = metrics
        .lines()
        .filter(|l| l.starts_with("shipstamp_target_restart_pending{"))
        .collect();
    assert!(
        pending
            .iter()
            .any(|l| l.contains("target=\"dashboard-1\"") && l.ends_with("} 1")),
        "{pending:?}"
    );
    drop(watcher);

    // A project with no containers says so, on that environment.
    let out = shipstamp(
        &podman,
        &[
            "check",
            "--ref",
            "main",
            "--repo",
            repo_path,
            "--compose-project",
            &podman.name("none"),
        ],
    );
    assert_eq!(code(&out), 2, "{}", text(&out));
    assert!(
        text(&out).contains("no container carries the label com.docker.compose.project="),
        "{}",
        text(&out)
    );
}

/// An engine socket served by the test: what it answers, or nothing.
fn fake_engine(
    dir: &Path,
    answer: &'static [u8],
) -> (std::path::PathBuf, std::thread::JoinHandle<()>) {
    let socket = dir.join("engine.sock");
    let listener = UnixListener::bind(&socket).unwrap();
    let handle = std::thread::spawn(move || {
        // Answers until the test's checks are done (a few connections), then stops.
        listener.set_nonblocking(true).unwrap();
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            match listener.accept() {
                Ok((mut conn, _)) => {
                    conn.set_nonblocking(false).unwrap();
                    let mut request = [0u8; 4096];
                    let _ = conn.read(&mut request);
                    if answer.is_empty() {
                        std::thread::sleep(Duration::from_secs(3));
                    } else {
                        let _ = conn.write_all(answer);
                    }
                }
                Err(_) => std::thread::sleep(Duration::from_millis(10)),
            }
        }
    });
    (socket, handle)
}

#[test]
fn engines_missing_forbidden_old_broken_or_silent() {
    let repo = TempRepo::new();
    repo.write("README", "x\n");
    repo.commit_all("first");
    let inspect = |engine: &str, extra: &[&str]| {
        Command::new(cli())
            .args([
                "check",
                "--ref",
                "HEAD",
                "--repo",
                repo.path().to_str().unwrap(),
                "container:orders-1",
                "--engine",
                engine,
            ])
            .args(extra)
            .output()
            .unwrap()
    };
    let dir = tempfile::tempdir().unwrap();
    let out = inspect(&format!("unix://{}/none.sock", dir.path().display()), &[]);
    assert_eq!(code(&out), 2, "{}", text(&out));
    assert!(
        text(&out).contains("is Docker or podman running? set DOCKER_HOST"),
        "{}",
        text(&out)
    );

    // Nothing set, nothing at the usual places.
    let out = Command::new(cli())
        .args(["inspect", "container:orders-1"])
        .env_remove("DOCKER_HOST")
        .output()
        .unwrap();
    if !Path::new("/var/run/docker.sock").exists() && !Path::new("/run/podman/podman.sock").exists()
    {
        assert_eq!(code(&out), 2, "{}", text(&out));
        assert!(
            text(&out)
                .contains("no container engine at /var/run/docker.sock or /run/podman/podman.sock"),
            "{}",
            text(&out)
        );
    }
    let out = Command::new(cli())
        .args([
            "inspect",
            "container:orders-1",
            "--engine",
            "tcp://10.0.0.1:2375",
        ])
        .output()
        .unwrap();
    assert_eq!(code(&out), 64, "{}", text(&out));

    // Bad arguments are usage errors.
    for args in [
        &["check", "--ref", "HEAD", "container:a/json"][..],
        &[
            "check",
            "--ref",
            "HEAD",
            "container:x",
            "--engine",
            "tcp://10.0.0.1:2375",
        ],
        &[
            "check",
            "--fleet",
            "fleet.toml",
            "--compose-project",
            "shop",
        ],
        &["inspect", "container:x", "--oci-labels"],
    ] {
        let out = Command::new(cli())
            .args(args)
            .current_dir(repo.path())
            .output()
            .unwrap();
        assert_eq!(code(&out), 64, "{args:?}: {}", text(&out));
    }

    let cases: [(&str, &'static [u8], &str); 4] = [
        (
            "old",
            b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 23\r\n\r\n{\"ApiVersion\":\"1.12\"}\r\n",
            "speaks API 1.12, too old: shipstamp needs 1.24 or later",
        ),
        ("garbage", b"SSH-2.0-OpenSSH_9.2\r\n", "answered something that is not its API"),
        (
            "html",
            b"HTTP/1.1 200 OK\r\nContent-Length: 13\r\n\r\n<html></html>",
            "a 200 answer that is not JSON",
        ),
        ("silent", b"", "did not answer within 1000 ms"),
    ];
    for (what, answer, says) in cases {
        let dir = tempfile::tempdir().unwrap();
        let (socket, _server) = fake_engine(dir.path(), answer);
        let started = Instant::now();
        let out = inspect(
            &format!("unix://{}", socket.display()),
            &["--timeout", "1s"],
        );
        assert_eq!(code(&out), 2, "{what}: {}", text(&out));
        assert!(text(&out).contains(says), "{what}: {}", text(&out));
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "{what}: no hang"
        );
    }
}

#[test]
#[ignore = "needs root, to ask a root-only socket as another user (.ci/run runs it)"]
fn an_engine_socket_this_user_may_not_use() {
    // A socket only root may use, asked by another user.
    let dir = tempfile::tempdir().unwrap();
    let (socket, _server) = fake_engine(
        dir.path(),
        b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}",
    );
    std::fs::set_permissions(&socket, std::os::unix::fs::PermissionsExt::from_mode(0o600)).unwrap();
    std::fs::set_permissions(
        dir.path(),
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .unwrap();
    let out = Command::new("setpriv")
        .args(["--reuid=65534", "--regid=65534", "--clear-groups"])
        .arg(cli())
        .args(["inspect", "container:orders-1", "--engine"])
        .arg(format!("unix://{}", socket.display()))
        .output()
        .expect("setpriv (util-linux) runs");
    assert_eq!(code(&out), 2, "{}", text(&out));
    assert!(
        text(&out).contains("run as root, or as a member of the docker group"),
        "{}",
        text(&out)
    );
}
