//! `shipstamp`: what code is this service, binary or process running?
//!
//! Exit codes: 0 ok (every target matches), 1 drift (or a restart is needed), 2 could not
//! decide (unreachable, invalid response, unknown commit, no stamp), 64 usage error.

mod check_cmd;
mod dashboard;
mod targets;

use std::io::{self, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{ArgGroup, Parser, Subcommand};
use shipstamp::Stamp;
use shipstamp_check::{ProcessInspection, inspect_process, read_stamps_from_file};

pub(crate) const EXIT_OK: u8 = 0;
pub(crate) const EXIT_DRIFT: u8 = 1;
pub(crate) const EXIT_UNDECIDED: u8 = 2;
pub(crate) const EXIT_USAGE: u8 = 64;

/// What code is this binary or process actually running?
#[derive(Debug, Parser)]
#[command(name = "shipstamp", version, about, max_term_width = 100)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Hold live /version endpoints against a git ref: match, behind N, ahead N, diverged,
    /// dirty, unknown-commit, unreachable or invalid-response per target. Exit 0: every target
    /// matches; 1: drift; 2: some target could not be decided; 64: usage.
    Check(check_cmd::CheckArgs),
    /// Read the build stamp out of a binary, or out of a running process's executable, without
    /// running it. Exit 0: stamp read (and, with --pid, the process runs what is on disk);
    /// 1: with --pid, a restart is needed; 2: no stamp or unreadable; 64: usage.
    Inspect(InspectArgs),
    /// Serve a live page of what every target runs against a git ref: one row per target,
    /// drift first, grouped by commit, updated every --interval; its data at /api/fleet.json.
    /// With --once --html FILE, write the page once and exit with check's exit code.
        Dashboard(dashboard::DashboardArgs),
}

#[derive(Debug, clap::Args)]
#[command(group(ArgGroup::new("target").required(true).args(["path", "pid"])))]
struct InspectArgs {
    /// The binary to read.
    path: Option<PathBuf>,
    /// Read the executable of this running process (Linux) and compare it with the file now at
    /// its path: a process started before a deploy still runs the old file.
    #[arg(long, value_name = "PID")]
    pid: Option<u32>,
    /// Print one JSON document instead of text.
    #[arg(long)]
    json: bool,
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            // Help and --version go to stdout and succeed; anything else is a usage error.
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() { EXIT_USAGE } else { EXIT_OK });
        }
    };
    let mut out = io::stdout().lock();
    let result = match cli.command {
        Command::Check(args) => check_cmd::run(&args, &mut out),
        Command::Inspect(args) => inspect(&args, &mut out),
                Command::Dashboard(args) => dashboard::run(&args, &mut out),
    };
    match result {
        Ok(code) => ExitCode::from(code),
        // `shipstamp … | head` closing the pipe early is not a failure.
        Err(e) if is_broken_pipe(&e) => ExitCode::from(EXIT_OK),
        Err(e) => {
            eprintln!("shipstamp: {e:#}");
            ExitCode::from(EXIT_UNDECIDED)
        }
    }
}

fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.downcast_ref::<io::Error>()
        .is_some_and(|e| e.kind() == io::ErrorKind::BrokenPipe)
}

fn inspect(args: &InspectArgs, out: &mut impl Write) -> anyhow::Result<u8> {
    if let Some(pid) = args.pid {
        let inspection = inspect_process(pid)?;
        if args.json {
            writeln!(
                out,
                "{}",
                serde_json::to_string(&ProcessDoc::new(&inspection))?
            )?;
        } else {
            write_process(out, &inspection)?;
        }
        return Ok(if inspection.restart_needed() {
            EXIT_DRIFT
        } else {
            EXIT_OK
        });
    }
    let Some(path) = &args.path else {
        // clap's argument group already demands one of them; never panic if that changes.
        eprintln!("shipstamp: inspect needs a PATH or --pid PID");
        return Ok(EXIT_USAGE);
    };
    let stamps =
        read_stamps_from_file(path).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
    if args.json {
        #[derive(serde::Serialize)]
        struct Doc<'a> {
            path: &'a std::path::Path,
            stamps: &'a [Stamp],
        }
        writeln!(
            out,
            "{}",
            serde_json::to_string(&Doc {
                path,
                stamps: &stamps
            })?
        )?;
    } else {
        for stamp in &stamps {
            writeln!(
                out,
                "{}: {} {}",
                path.display(),
                stamp.package.name,
                stamp.package.version
            )?;
            write_details(out, stamp)?;
        }
    }
    Ok(EXIT_OK)
}

fn or_unknown(v: Option<&str>) -> &str {
    v.unwrap_or("unknown")
}

fn tree_state(stamp: &Stamp) -> &'static str {
    match stamp.git.dirty {
        Some(true) => " (dirty: built from uncommitted changes)",
        Some(false) => " (clean)",
        None => "",
    }
}

fn write_details(out: &mut impl Write, stamp: &Stamp) -> io::Result<()> {
    let git = &stamp.git;
    let build = &stamp.build;
    writeln!(
        out,
        "  commit     {}{}",
        or_unknown(git.commit.as_deref()),
        tree_state(stamp)
    )?;
    writeln!(out, "  branch     {}", or_unknown(git.branch.as_deref()))?;
    if let Some(describe) = &git.describe {
        writeln!(out, "  describe   {describe}")?;
    }
    if let Some(time) = git.commit_time {
        writeln!(out, "  committed  {time}")?;
    }
    let time = build.time.map(|t| t.to_string());
    writeln!(
        out,
        "  built      {}, {} profile, {}, rustc {}",
        or_unknown(time.as_deref()),
        or_unknown(build.profile.as_deref()),
        or_unknown(build.target.as_deref()),
        or_unknown(build.rustc.as_deref()),
    )?;
    let source = match git.source {
        Some(shipstamp::GitSource::Git) => "the git repository",
        Some(shipstamp::GitSource::Env) => "an environment variable",
        Some(shipstamp::GitSource::CargoVcsInfo) => ".cargo_vcs_info.json",
        _ => "nowhere (unknown)",
    };
    writeln!(out, "  git facts  from {source}")
}

fn one_line(stamp: &Stamp) -> String {
    let short = or_unknown(stamp.git.short.as_deref());
    let built = stamp
        .build
        .time
        .map_or_else(|| "unknown".into(), |t| t.to_string());
    format!(
        "{} {}, commit {short}{}, built {built}",
        stamp.package.name,
        stamp.package.version,
        tree_state(stamp)
    )
}

fn write_process(out: &mut impl Write, p: &ProcessInspection) -> io::Result<()> {
    let deleted = if p.exe_deleted {
        " (replaced or deleted on disk since it started)"
    } else {
        ""
    };
    writeln!(out, "process {}: {}{deleted}", p.pid, p.exe_path.display())?;
    for stamp in &p.running {
        writeln!(out, "  running:  {}", one_line(stamp))?;
    }
    match &p.on_disk {
        None => writeln!(out, "  on disk:  nothing at {}", p.exe_path.display())?,
        Some(Ok(stamps)) => {
            for stamp in stamps {
                writeln!(out, "  on disk:  {}", one_line(stamp))?;
            }
        }
        Some(Err(e)) => writeln!(out, "  on disk:  {e}")?,
    }
    if p.restart_needed() {
        writeln!(
            out,
            "restart needed: the process runs a different build than the one now on disk"
        )
    } else {
        writeln!(
            out,
            "up to date: the process runs the build that is on disk"
        )
    }
}

/// `inspect --pid --json`; a struct rather than `json!` so each stamp keeps its schema order.
#[derive(serde::Serialize)]
struct ProcessDoc<'a> {
    pid: u32,
    exe: &'a std::path::Path,
    exe_deleted: bool,
    running: &'a [Stamp],
    on_disk: Option<&'a [Stamp]>,
    on_disk_error: Option<String>,
    restart_needed: bool,
}

impl<'a> ProcessDoc<'a> {
    fn new(p: &'a ProcessInspection) -> Self {
        let (on_disk, on_disk_error) = match &p.on_disk {
            None => (None, Some(format!("nothing at {}", p.exe_path.display()))),
            Some(Ok(stamps)) => (Some(stamps.as_slice()), None),
            Some(Err(e)) => (None, Some(e.to_string())),
        };
        ProcessDoc {
            pid: p.pid,
            exe: &p.exe_path,
            exe_deleted: p.exe_deleted,
            running: &p.running,
            on_disk,
            on_disk_error,
            restart_needed: p.restart_needed(),
        }
    }
}
