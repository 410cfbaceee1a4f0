//! Helpers shared by the benchmarks (unpublished): the release `shipstamp` binary, and one
//! run of a child process measured from the outside.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

/// Builds `shipstamp-cli` in release mode and returns the path of `shipstamp`.
pub fn release_cli() -> PathBuf {
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let out = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
        .current_dir(&workspace)
        .args(["build", "--release", "-p", "shipstamp-cli"])
        .output()
        .expect("cargo runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    workspace.join("target/release/shipstamp")
}

/// One run of a child process, measured from outside.
#[derive(Debug, Clone)]
pub struct Run {
    /// Wall time, spawn to exit.
    pub seconds: f64,
    /// The child's own peak resident set, in KiB (`wait4`'s `ru_maxrss`).
    pub peak_kib: i64,
    /// Its exit code (-1 when killed by a signal).
    pub code: i32,
    /// What it wrote to standard output.
    pub stdout: String,
}

/// Runs `cmd` to completion and measures it.
pub fn measure(cmd: &mut Command) -> Run {
    let start = Instant::now();
    // Reaped by `wait4` below, which also reports this child's own peak memory.
    #[allow(clippy::zombie_processes)]
    let child = cmd
        .stdout(Stdio::piped())
        .spawn()
        .expect("the command runs");
    let pid = child.id() as libc::pid_t;
    let mut stdout = child.stdout.expect("piped");
    let mut text = String::new();
    std::io::Read::read_to_string(&mut stdout, &mut text).expect("read stdout");
    let mut status = 0;
    // SAFETY: an all-zero rusage is valid, and wait4 only writes into the two pointers given.
    #[allow(unsafe_code)]
    let usage = unsafe {
        let mut usage: libc::rusage = std::mem::zeroed();
        let waited = libc::wait4(pid, &mut status, 0, &mut usage);
        assert_eq!(waited, pid, "wait4 failed");
        usage
    };
    let seconds = start.elapsed().as_secs_f64();
    let code = if libc::WIFEXITED(status) {
        libc::WEXITSTATUS(status)
    } else {
        -1
    };
    Run {
        seconds,
        peak_kib: usage.ru_maxrss,
        code,
        stdout: text,
    }
}

/// The median of `runs`' wall times and the largest peak memory among them.
pub fn median_and_peak(runs: &mut [Run]) -> (f64, f64) {
    runs.sort_by(|a, b| a.seconds.total_cmp(&b.seconds));
    let median = runs.get(runs.len() / 2).map_or(0.0, |r| r.seconds);
    let peak = runs.iter().map(|r| r.peak_kib).max().unwrap_or(0) as f64 / 1024.0;
    (median, peak)
}
