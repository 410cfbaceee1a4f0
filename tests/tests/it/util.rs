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
