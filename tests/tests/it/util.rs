//! Helpers shared by the tests that run the `shipstamp` CLI.

use std::path::PathBuf;
use std::process::Output;

use shipstamp_tests::workspace_binary;

/// The `shipstamp` binary of this workspace, built once per test run.
pub(crate) fn cli() -> PathBuf {
    workspace_binary("shipstamp-cli", "shipstamp")
}

/// The exit code; panics when the process was killed by a signal.
pub(crate) fn code(out: &Output) -> i32 {
    out.status.code().expect("exited")
}

pub(crate) fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

pub(crate) fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Standard output followed by standard error, for assertions and failure messages.
pub(crate) fn text(out: &Output) -> String {
    stdout(out) + &stderr(out)
}

/// `shipstamp check ARGS --repo REPO`.
pub(crate) fn check_in(repo: &shipstamp_tests::TempRepo, args: &[&str]) -> Output {
    std::process::Command::new(cli())
        .arg("check")
        .args(args)
        .arg("--repo")
        .arg(repo.path())
        .output()
        .expect("runs")
}

/// Standard output as JSON; panics with the whole output when it is not.
pub(crate) fn json(out: &Output) -> serde_json::Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", text(out)))
}

/// `[(name, status)]` of a check document's targets, in order.
pub(crate) fn names_and_statuses(doc: &serde_json::Value) -> Vec<(String, String)> {
    doc["targets"]
        .as_array()
        .expect("targets")
        .iter()
        .map(|t| {
            (
                t["name"].as_str().expect("a name").to_owned(),
                t["status"].as_str().expect("a status").to_owned(),
            )
        })
        .collect()
}
