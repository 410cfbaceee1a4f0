//! `shipstamp`: what code is this service, binary or process running?
//!
//! Exit codes: 0 ok (every target matches), 1 drift (or a restart is needed), 2 could not
//! decide (unreachable, invalid response, unknown commit, no stamp), 64 usage error.

mod args;
mod check_cmd;
mod dashboard;
mod error;
mod fleet;
mod inspect_cmd;
mod output;
mod present;
mod rounds;
mod sources;
mod summary;
mod targets;
mod values;

use std::io;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// What code is this binary or process actually running?
#[derive(Debug, Parser)]
#[command(name = "shipstamp", version, about, max_term_width = 100)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Hold what targets run (live /version endpoints, binaries, running processes) against a
    /// git ref: match, behind N, ahead N, diverged, dirty, stale, unknown-commit, unreachable,
    /// invalid-response or unstamped per target. Exit 0: every target matches; 1: drift; 2:
    /// some target could not be decided; 64: usage.
    Check(check_cmd::CheckArgs),
    /// Read the build stamp out of a binary, or out of a running process's executable, without
    /// running it. Exit 0: stamp read (and, with --pid, the process runs what is on disk);
    /// 1: with --pid, a restart is needed; 2: no stamp or unreadable; 64: usage.
    Inspect(inspect_cmd::InspectArgs),
    /// Serve a live page of what every target runs against a git ref: one row per target,
    /// drift first, grouped by commit, updated every --interval; its data at /api/fleet.json.
    /// With --once --html FILE, write the page once and exit with check's exit code.
    Dashboard(dashboard::DashboardArgs),
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            // Help and --version go to stdout and succeed; anything else is a usage error.
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() {
                error::USAGE
            } else {
                error::OK
            });
        }
    };
    let mut out = io::stdout().lock();
    let (name, result) = match cli.command {
        Command::Check(args) => ("check", check_cmd::run(&args, &mut out)),
        Command::Inspect(args) => ("inspect", inspect_cmd::run(&args, &mut out)),
        Command::Dashboard(args) => ("dashboard", dashboard::run(&args, &mut out)),
    };
    // The one place an error becomes the process's exit.
    match result {
        Ok(code) => ExitCode::from(code),
        // `shipstamp … | head` closing the pipe early is not a failure.
        Err(e) if e.is_broken_pipe() => ExitCode::from(error::OK),
        Err(e) => {
            eprintln!("shipstamp {name}: {e}");
            ExitCode::from(e.code())
        }
    }
}
