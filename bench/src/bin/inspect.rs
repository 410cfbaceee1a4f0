//! What does `shipstamp inspect` cost on a large binary? A stamped fixture service, built in
//! release mode (about 0.5 MB), and the same binary padded to 200 MB with
//! `objcopy --add-section` (a section that is never loaded, as debug info would be). The release
//! `shipstamp inspect PATH` and `inspect --pid PID` (the padded binary running) are timed over
//! 11 runs each: median wall time and the largest peak memory (the child's own `ru_maxrss`).
//!
//! Run it with `cargo run -p shipstamp-bench --release --bin inspect` (Linux, needs `objcopy`
//! from binutils; about a minute). `SHIPSTAMP_BASELINE=/path/to/shipstamp` also measures an
//! older build for comparison.

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use shipstamp_bench::{Run, measure, median_and_peak, release_cli};
use shipstamp_tests::{Fixture, TempRepo, spawn_fresh_binary};

const RUNS: usize = 11;
const PAD_MIB: usize = 200;

fn inspect(cli: &Path, args: &[&str]) -> (f64, f64) {
    let mut runs: Vec<Run> = (0..RUNS)
        .map(|_| {
            let run = measure(Command::new(cli).arg("inspect").args(args));
            assert!(
                matches!(run.code, 0 | 1),
                "inspect {args:?} exited {}",
                run.code
            );
            assert!(run.stdout.contains("bench-svc"), "{}", run.stdout);
            run
        })
        .collect();
    median_and_peak(&mut runs)
}

fn main() {
    let cli = release_cli();
    let repo = TempRepo::new();
    let fixture = Fixture::write(repo.path(), "bench-svc");
    repo.commit_all("the service");
    let build = fixture.build_with(&[], |cmd| {
        cmd.arg("--release");
    });
    assert!(build.success, "{}", build.stderr);
    let dir = tempfile::tempdir().expect("temp dir");
    let small = dir.path().join("small");
    std::fs::copy(fixture.binary("release"), &small).expect("copy");
    let pad = dir.path().join("pad");
    // Not all zeros, so no layer can treat it as a hole.
    let pattern: Vec<u8> = (0..1024 * 1024).map(|i| (i * 7 % 251) as u8).collect();
    let mut file = std::fs::File::create(&pad).expect("pad file");
    for _ in 0..PAD_MIB {
        file.write_all(&pattern).expect("write pad");
    }
    drop(file);
    let big = dir.path().join("big");
    let status = Command::new("objcopy")
        .arg(format!("--add-section=.bench_pad={}", pad.display()))
        .arg("--set-section-flags=.bench_pad=noload,readonly")
        .arg(&small)
        .arg(&big)
        .status()
        .expect("objcopy (binutils) runs");
    assert!(status.success(), "objcopy failed");
    let size = |p: &Path| std::fs::metadata(p).expect("size").len() as f64 / 1024.0 / 1024.0;
    println!(
        "binaries: {:.1} MiB, padded {:.1} MiB",
        size(&small),
        size(&big)
    );

    let mut running = spawn_fresh_binary(
        Command::new(&big)
            .arg("--again")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped()),
    )
    .expect("the padded binary runs");
    let mut lines = BufReader::new(running.stdout.take().expect("piped")).lines();
    lines.next().expect("it prints its stamp").expect("text");
    let pid = running.id().to_string();

    let mut clis: Vec<(String, PathBuf)> = vec![("this build".into(), cli)];
    if let Some(baseline) = std::env::var_os("SHIPSTAMP_BASELINE") {
        clis.push(("baseline".into(), PathBuf::from(baseline)));
    }
    for (label, cli) in &clis {
        for (what, args) in [
            ("inspect PATH, small", vec![small.to_str().expect("utf-8")]),
            ("inspect PATH, 200 MB", vec![big.to_str().expect("utf-8")]),
            ("inspect --pid, 200 MB", vec!["--pid", pid.as_str()]),
        ] {
            let (median, peak) = inspect(cli, &args);
            println!(
                "{label}: {what}: median {:.1} ms, peak memory {peak:.1} MiB",
                median * 1000.0
            );
        }
    }
    drop(running.stdin.take());
    let _ = running.kill();
    let _ = running.wait();
}
