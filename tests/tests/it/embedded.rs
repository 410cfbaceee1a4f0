//! The stamp embedded in the binary, and what must never be in it.

use std::process::Command;

use shipstamp_tests::{Fixture, TempRepo, spawn_fresh_binary};

#[test]
fn release_binary_carries_a_readable_section_and_no_secrets() {
    let repo = TempRepo::new();
    let fx = Fixture::write(repo.path(), "secret-svc");
    repo.git(&[
        "remote",
        "add",
        "origin",
        "https://deploy-user:s3cr3t-t0ken@git.example.com/team/svc.git",
    ]);
    let head = repo.commit_all("first");
    let build = fx.build_with(&[], |cmd| {
        cmd.arg("--release");
    });
    assert!(build.success, "{}", build.stderr);
    let binary = std::fs::read(fx.binary("release")).unwrap();

    for secret in [
        "s3cr3t-t0ken",
        "deploy-user",
        "git.example.com",
        repo.path().to_str().unwrap(),
    ] {
        assert!(
            !binary.windows(secret.len()).any(|w| w == secret.as_bytes()),
            "{secret:?} is in the binary"
        );
    }

    let section = tempfile::NamedTempFile::new().unwrap();
    let status = Command::new("objcopy")
        .arg(format!(
            "--dump-section=.shipstamp={}",
            section.path().display()
        ))
        .arg(fx.binary("release"))
        .arg(tempfile::NamedTempFile::new().unwrap().path())
        .status()
        .expect("objcopy (binutils) runs");
    assert!(status.success());
    let bytes = std::fs::read(section.path()).unwrap();
    assert!(
        bytes.len() < 600,
        "the record stays small: {} bytes",
        bytes.len()
    );
    let stamps = shipstamp::stamps_in_section(&bytes).unwrap();
    assert_eq!(stamps.len(), 1);
    assert_eq!(stamps[0].git.commit.as_deref(), Some(head.as_str()));
    assert_eq!(stamps[0].package.name, "secret-svc");
    assert_eq!(stamps[0].build.profile.as_deref(), Some("release"));
}

#[test]
fn exe_replaced_turns_true_when_the_binary_is_replaced_under_a_running_process() {
    use std::io::{BufRead, BufReader, Write};

    let dir = tempfile::tempdir().unwrap();
    let fx = Fixture::write(dir.path(), "replaced-svc");
    let build = fx.build(&[]);
    assert!(build.success, "{}", build.stderr);
    let installed = dir.path().join("installed-svc");
    std::fs::copy(fx.binary("debug"), &installed).unwrap();

    let mut child = spawn_fresh_binary(
        Command::new(&installed)
            .arg("--again")
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped()),
    )
    .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let before = shipstamp::Stamp::from_json(&lines.next().unwrap().unwrap()).unwrap();
    let process = before.process().unwrap();
    assert_eq!(process.exe_replaced, Some(false));
    assert!(process.started_at.is_some());

    // Deploy a new binary the way installers do: write beside it, rename over it.
    let staged = dir.path().join("installed-svc.new");
    std::fs::copy(fx.binary("debug"), &staged).unwrap();
    std::fs::rename(&staged, &installed).unwrap();
    // The flag is re-checked at most once a second.
    std::thread::sleep(std::time::Duration::from_millis(1100));
    child.stdin.take().unwrap().write_all(b"\n").unwrap();
    let after = shipstamp::Stamp::from_json(&lines.next().unwrap().unwrap()).unwrap();
    assert_eq!(
        after.process().unwrap().exe_replaced,
        Some(true),
        "a restart is pending"
    );
    assert_eq!(after.process().unwrap().started_at, process.started_at);
    assert!(child.wait().unwrap().success());
}
