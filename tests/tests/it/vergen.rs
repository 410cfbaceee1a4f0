//! A service that keeps its vergen build script (real `vergen-gitcl` 10.0.1, pinned as in the
//! example and the bench) and gets shipstamp's runtime through `stamp_from_vergen!()`:
//! `/version`, the startup line, `build_info`, the embedded section, `inspect` and `check`.

use std::process::Command;

use shipstamp_tests::{Fixture, Service, TempRepo, request};

use crate::util::{cli, code, stderr, stdout, text};

#[test]
fn a_vergen_service_serves_reports_and_embeds_its_commit() {
    let repo = TempRepo::new();
    let fx = Fixture::write_vergen_service(repo.path(), "vergen-svc");
    let head = repo.commit_all("first");
    let build = fx.build(&[]);
    assert!(build.success, "{}", build.stderr);
    let commit_time = repo.git(&["log", "-1", "--format=%cd", "--date=iso-strict-local"]);
    let commit_time: shipstamp::Timestamp = commit_time.trim().parse().unwrap();

    let service = Service::start(&fx.binary("debug"), &[]);
    let res = request(service.addr, "GET", "/version").unwrap();
    assert_eq!(res.status, 200);
    let json = res.text();
    let stamp = shipstamp::Stamp::from_json(&json).unwrap();
    assert_eq!(stamp.package.name, "vergen-svc");
    assert_eq!(stamp.git.commit.as_deref(), Some(head.as_str()));
    assert_eq!(stamp.git.short.as_deref(), Some(&head[..7]));
    assert_eq!(stamp.git.dirty, Some(false));
    assert_eq!(stamp.git.branch.as_deref(), Some("main"));
    assert_eq!(stamp.git.commit_time, Some(commit_time));
    assert_eq!(stamp.git.source, Some(shipstamp::GitSource::Vergen));
    assert!(stamp.build.time.is_some());
    assert!(stamp.build.rustc.is_some());
    assert!(json.contains("\"source\":\"vergen\""), "{json}");
    // vergen also records the author's name and email; a stamp never carries them.
    let author = repo.git(&["log", "-1", "--format=%ae"]);
    assert!(!json.contains(author.trim()), "{json}");
    assert_eq!(res.header("x-build-commit"), Some(&head[..7]));

    let startup = service
        .startup
        .iter()
        .find(|l| l.starts_with("shipstamp: "))
        .expect("a startup line");
    assert!(
        startup.starts_with(&format!(
            "shipstamp: vergen-svc 0.4.2 commit={} dirty=false branch=main ",
            &head[..7]
        )),
        "{startup}"
    );
    let metrics = request(service.addr, "GET", "/metrics").unwrap().text();
    assert!(
        metrics.contains(&format!("revision=\"{head}\"")),
        "{metrics}"
    );

    // The embedded section, read offline.
    let out = Command::new(cli())
        .arg("inspect")
        .arg(fx.binary("debug"))
        .output()
        .unwrap();
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(
        stdout(&out).contains(&format!("  commit     {head} (clean)\n")),
        "{}",
        stdout(&out)
    );
    assert!(
        stdout(&out).contains("  git facts  from vergen's build script\n"),
        "{}",
        stdout(&out)
    );

    // And `check` against the repository: the running service is at main.
    let url = format!("http://{}/version", service.addr);
    let out = Command::new(cli())
        .args(["check", "--ref", "main", &url, "--repo"])
        .arg(repo.path())
        .output()
        .unwrap();
    assert_eq!(code(&out), 0, "{}", text(&out));
    assert!(stdout(&out).contains("match"), "{}", text(&out));

    // One commit later the same binary is behind.
    std::fs::write(repo.path().join("NOTES"), "fix\n").unwrap();
    repo.commit_all("fix");
    let out = Command::new(cli())
        .args(["check", "--ref", "main", &url, "--repo"])
        .arg(repo.path())
        .output()
        .unwrap();
    assert_eq!(code(&out), 1, "{}", text(&out));
    assert!(stdout(&out).contains("behind 1"), "{}", text(&out));
}

#[test]
fn vergen_placeholders_and_missing_variables_are_never_a_commit() {
    // A container build context: the service without `.git`.
    let dir = tempfile::tempdir().unwrap();
    let fx = Fixture::write_vergen_service(dir.path(), "vergen-nogit-svc");

    // vergen's default outside a repository: the git variables are not set at all.
    let build = fx.build(&[]);
    assert!(build.success, "{}", build.stderr);
    assert!(
        build.stderr.contains("Unable to set VERGEN_GIT_SHA"),
        "{}",
        build.stderr
    );
    let json = served_json(&fx);
    let stamp = shipstamp::Stamp::from_json(&json).unwrap();
    assert_eq!(stamp.git, shipstamp::Git::default(), "{json}");
    assert!(stamp.build.time.is_some(), "{json}");

    // VERGEN_IDEMPOTENT=1: vergen writes its placeholder for every git fact and the build time.
    let build = fx.build(&[("VERGEN_IDEMPOTENT", "1")]);
    assert!(build.success, "{}", build.stderr);
    assert!(build.ran_build_script);
    let json = served_json(&fx);
    assert!(!json.contains("VERGEN_IDEMPOTENT_OUTPUT"), "{json}");
    let stamp = shipstamp::Stamp::from_json(&json).unwrap();
    assert_eq!(stamp.git.commit, None, "{json}");
    assert_eq!(stamp.git.short, None, "{json}");
    assert_eq!(stamp.git.branch, None, "{json}");
    assert_eq!(stamp.git.dirty, None, "{json}");
    assert_eq!(stamp.git.commit_time, None, "{json}");
    assert_eq!(stamp.build.time, None, "{json}");
    assert_eq!(stamp.git.source, Some(shipstamp::GitSource::Vergen));

    // The binary says so offline, and `check` cannot call it a match.
    let out = Command::new(cli())
        .arg("inspect")
        .arg(fx.binary("debug"))
        .output()
        .unwrap();
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(
        stdout(&out).contains("  commit     unknown\n"),
        "{}",
        stdout(&out)
    );
    let repo = TempRepo::new();
    std::fs::write(repo.path().join("README"), "x\n").unwrap();
    repo.commit_all("first");
    let out = Command::new(cli())
        .args(["check", "--ref", "main", "--repo"])
        .arg(repo.path())
        .arg(format!("file:{}", fx.binary("debug").display()))
        .output()
        .unwrap();
    assert_eq!(code(&out), 2, "{}", text(&out));
    assert!(!stdout(&out).contains("match"), "{}", text(&out));
}

/// What the service built in `fx` serves at `/version`.
fn served_json(fx: &Fixture) -> String {
    let service = Service::start(&fx.binary("debug"), &[]);
    let res = request(service.addr, "GET", "/version").unwrap();
    assert_eq!(res.status, 200);
    res.text()
}
