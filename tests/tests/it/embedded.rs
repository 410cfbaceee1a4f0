//! The stamp embedded in the binary, and what must never be in it.

use std::process::Command;

use shipstamp_tests::{Fixture, TempRepo};

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
