//! `shipstamp inspect`: the real CLI reading real binaries and running processes.

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Command, Output, Stdio};

use shipstamp_tests::{Fixture, TempRepo, spawn_fresh_binary};

use crate::util::{cli, code, stderr, stdout};

fn shipstamp(args: &[&str]) -> Output {
    Command::new(cli())
        .args(args)
        .output()
        .expect("shipstamp runs")
}

#[test]
fn inspect_reads_a_binary_without_running_it() {
    let repo = TempRepo::new();
    let fx = Fixture::write(repo.path(), "inspected-svc");
    let head = repo.commit_all("first");
    let build = fx.build(&[]);
    assert!(build.success, "{}", build.stderr);
    let bin = fx.binary("debug");
    let bin = bin.to_str().unwrap();

    let out = shipstamp(&["inspect", bin]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let text = stdout(&out);
    assert!(
        text.starts_with(&format!("{bin}: inspected-svc 0.4.2\n")),
        "{text}"
    );
    assert!(
        text.contains(&format!("  commit     {head} (clean)\n")),
        "{text}"
    );
    assert!(text.contains("  branch     main\n"), "{text}");
    assert!(
        text.contains("  git facts  from the git repository"),
        "{text}"
    );

    let out = shipstamp(&["inspect", "--json", bin]);
    assert_eq!(code(&out), 0);
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        doc["stamps"][0]["git"]["commit"].as_str(),
        Some(head.as_str())
    );
    assert_eq!(doc["stamps"][0]["schema"], "shipstamp/v1");
    assert!(
        doc["stamps"][0]["process"].is_null(),
        "a file has no process"
    );
}

#[test]
fn inspect_bad_input_exits_2_or_64_with_a_reason() {
    // Exit 2: could not read a stamp.
    // (The shipstamp binary carries its own stamp now: a system binary carries none.)
    for (path, reason) in [
        ("/bin/true", "no shipstamp stamp in this binary"),
        ("Cargo.toml", "not an ELF, Mach-O or PE executable"),
        ("/no/such/binary", "cannot read /no/such/binary"),
        ("/", "cannot read /"),
    ] {
        let out = Command::new(cli())
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .args(["inspect", path])
            .output()
            .unwrap();
        assert_eq!(code(&out), 2, "{path}: {}", stderr(&out));
        assert!(stderr(&out).contains(reason), "{path}: {}", stderr(&out));
        assert_eq!(
            stderr(&out).lines().count(),
            1,
            "one line: {}",
            stderr(&out)
        );
        assert!(!stderr(&out).contains("panicked"));
    }
    let out = shipstamp(&["inspect", "--pid", "4294967295"]);
    assert_eq!(code(&out), 2);
    assert!(
        stderr(&out).contains("no process with id 4294967295"),
        "{}",
        stderr(&out)
    );

    // Exit 64: usage.
    for args in [
        &[][..],
        &["inspect"],
        &["inspect", "a", "--pid", "1"],
        &["inspect", "--pid", "abc"],
        &["inspect", "--pid", "-5"],
        &["no-such-command"],
        &["inspect", "--no-such-flag", "x"],
    ] {
        let out = shipstamp(args);
        assert_eq!(code(&out), 64, "{args:?}: {}", stderr(&out));
        assert!(!stderr(&out).is_empty());
    }
    let help = shipstamp(&["inspect", "--help"]);
    assert_eq!(code(&help), 0);
    assert!(stdout(&help).contains("--pid <PID>"));
    assert_eq!(code(&shipstamp(&["--version"])), 0);
}

#[test]
fn inspect_pid_says_restart_needed_once_the_binary_on_disk_changes() {
    let repo = TempRepo::new();
    let fx = Fixture::write(repo.path(), "restart-svc");
    let old = repo.commit_all("old");
    assert!(fx.build(&[]).success);
    let dir = tempfile::tempdir().unwrap();
    let installed = dir.path().join("restart-svc");
    std::fs::copy(fx.binary("debug"), &installed).unwrap();

    // Runs until it reads a line; prints its stamp first so we know it is up.
    let mut child = spawn_fresh_binary(
        Command::new(&installed)
            .arg("--again")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped()),
    )
    .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    lines.next().unwrap().unwrap();
    let pid = child.id().to_string();

    let out = shipstamp(&["inspect", "--pid", &pid]);
    assert_eq!(code(&out), 0, "{}{}", stdout(&out), stderr(&out));
    assert!(stdout(&out).contains("up to date"), "{}", stdout(&out));

    // Deploy a new build the way installers do: write beside, rename over.
    repo.write("src/lib.rs", "// new\n");
    let new = repo.commit_all("new");
    assert!(fx.build(&[]).success);
    let staged = dir.path().join("restart-svc.new");
    std::fs::copy(fx.binary("debug"), &staged).unwrap();
    std::fs::rename(&staged, &installed).unwrap();

    let out = shipstamp(&["inspect", "--pid", &pid]);
    assert_eq!(code(&out), 1, "drift: {}{}", stdout(&out), stderr(&out));
    let text = stdout(&out);
    assert!(
        text.contains(&format!(
            "running:  restart-svc 0.4.2, commit {}",
            &old[..7]
        )),
        "{text}"
    );
    assert!(
        text.contains(&format!(
            "on disk:  restart-svc 0.4.2, commit {}",
            &new[..7]
        )),
        "{text}"
    );
    assert!(text.contains("restart needed"), "{text}");

    let out = shipstamp(&["inspect", "--pid", &pid, "--json"]);
    assert_eq!(code(&out), 1);
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["restart_needed"], true);
    assert_eq!(doc["exe_replaced"], true);
    assert_eq!(Path::new(doc["exe"].as_str().unwrap()), installed.as_path());
    assert_eq!(
        doc["running"][0]["git"]["commit"].as_str(),
        Some(old.as_str())
    );
    assert_eq!(
        doc["on_disk"][0]["git"]["commit"].as_str(),
        Some(new.as_str())
    );

    std::fs::remove_file(&installed).unwrap();
    let out = shipstamp(&["inspect", "--pid", &pid]);
    assert_eq!(code(&out), 1);
    assert!(
        stdout(&out).contains("on disk:  nothing at"),
        "{}",
        stdout(&out)
    );

    child.stdin.take().unwrap().write_all(b"\n").unwrap();
    assert!(child.wait().unwrap().success());
}

/// The section reader on damaged binaries: a real stamped executable, cut short anywhere and
/// with bytes overwritten in its headers, its section table, its section names and the stamp
/// itself. Every result is a stamp or a one-line error; nothing panics.
#[test]
fn the_section_reader_survives_damaged_binaries() {
    use proptest::prelude::*;
    use proptest::test_runner::{Config, TestRunner};

    let dir = tempfile::tempdir().unwrap();
    let fx = Fixture::write(dir.path(), "fuzzed-svc");
    let build = fx.build_with(&[("SHIPSTAMP_GIT_COMMIT", &"c".repeat(40))], |cmd| {
        cmd.arg("--release");
    });
    assert!(build.success, "{}", build.stderr);
    let pristine = std::fs::read(fx.binary("release")).unwrap();
    let stamps = shipstamp_check::read_stamps(&pristine).unwrap();
    assert_eq!(stamps[0].package.name, "fuzzed-svc");

    // Where the reader looks: the ELF header, the section table, and each section whose bytes
    // it reads (the names, the stamp).
    let u64_at = |at: usize| u64::from_le_bytes(pristine[at..at + 8].try_into().unwrap()) as usize;
    let u16_at = |at: usize| u16::from_le_bytes(pristine[at..at + 2].try_into().unwrap()) as usize;
    assert_eq!(&pristine[..5], b"\x7fELF\x02", "a 64-bit ELF fixture");
    let (shoff, shnum, shstrndx) = (u64_at(0x28), u16_at(0x3c), u16_at(0x3e));
    let section = |i: usize| {
        let h = shoff + i * 64;
        (u64_at(h + 0x18), u64_at(h + 0x20))
    };
    let names = section(shstrndx);
    let stamp = (0..shnum)
        .map(section)
        .find(|(off, size)| pristine[*off..off + size].starts_with(b"SHPSTAMP"))
        .expect("the stamp section");
    let regions = [
        (0, 64),
        (shoff, shnum * 64),
        (names.0, names.1),
        (stamp.0, stamp.1),
    ];

    let edit = (0..regions.len(), any::<prop::sample::Index>(), any::<u8>());
    let case = (
        prop::collection::vec(edit, 0..6),
        prop::option::of(any::<prop::sample::Index>()),
    );
    let mut runner = TestRunner::new(Config {
        cases: 1500,
        failure_persistence: None,
        ..Config::default()
    });
    runner
        .run(&case, |(edits, cut)| {
            let mut bytes = pristine.clone();
            for (region, at, value) in edits {
                let (start, len) = regions[region];
                bytes[start + at.index(len.max(1))] = value;
            }
            if let Some(cut) = cut {
                bytes.truncate(cut.index(pristine.len()));
            }
            match shipstamp_check::read_stamps(&bytes) {
                Ok(stamps) => prop_assert!(!stamps.is_empty()),
                Err(e) => {
                    let msg = e.to_string();
                    prop_assert!(!msg.is_empty() && !msg.contains('\n'), "{msg:?}");
                }
            }
            Ok(())
        })
        .unwrap();

    // And the messages a person sees, from the file on disk.
    let damaged = dir.path().join("damaged");
    std::fs::write(&damaged, &pristine[..shoff + 10]).unwrap();
    let out = shipstamp(&["inspect", damaged.to_str().unwrap()]);
    assert_eq!(code(&out), 2);
    assert!(
        stderr(&out).contains("a damaged ELF file"),
        "{}",
        stderr(&out)
    );
    std::fs::write(&damaged, &pristine[..40]).unwrap();
    let out = shipstamp(&["inspect", damaged.to_str().unwrap()]);
    assert_eq!(code(&out), 2);
    assert!(stderr(&out).contains("damaged ELF"), "{}", stderr(&out));
}
