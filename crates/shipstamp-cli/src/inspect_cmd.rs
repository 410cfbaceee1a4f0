//! `shipstamp inspect`.

use std::io::{self, Write};
use std::path::PathBuf;

use clap::ArgGroup;
use shipstamp::Stamp;
use shipstamp_check::{ProcessInspection, inspect_process, read_stamps_from_file};

use crate::error::{CliError, DRIFT, OK, UNDECIDED};
use crate::output::{FileDoc, ProcessDoc};

#[derive(Debug, clap::Args)]
#[command(group(ArgGroup::new("target").required(true).args(["path", "pid"])))]
pub(crate) struct InspectArgs {
    /// The binary to read.
    path: Option<PathBuf>,
    /// Read the executable of this running process (Linux) and compare it with the file now at
    /// its path: a process started before a deploy still runs the old file.
    #[arg(long, value_name = "PID")]
    pid: Option<u32>,
    /// Print one JSON document instead of text.
    #[arg(long, conflicts_with_all = ["oci_labels", "dd_env"])]
    json: bool,
    /// Print the binary's OCI image labels as KEY=VALUE lines (org.opencontainers.image.revision,
    /// .version, .created, .source), for `docker build --label` or `buildah config --label`.
    #[arg(long, conflicts_with_all = ["pid", "dd_env"])]
    oci_labels: bool,
    /// Print the binary's Datadog unified service tags as KEY=VALUE lines (DD_VERSION,
    /// DD_GIT_COMMIT_SHA, DD_GIT_REPOSITORY_URL), for an environment file.
    #[arg(long, conflicts_with = "pid")]
    dd_env: bool,
}

pub(crate) fn run(args: &InspectArgs, out: &mut impl Write) -> Result<u8, CliError> {
    if let Some(pid) = args.pid {
        let inspection = inspect_process(pid).map_err(|e| CliError::undecided(e.to_string()))?;
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
            DRIFT
        } else if inspection.running.is_empty() {
            // Without a stamp, which build it runs cannot be said.
            UNDECIDED
        } else {
            OK
        });
    }
    let Some(path) = &args.path else {
        // clap's argument group already demands one of them; never panic if that changes.
        return Err(CliError::usage("inspect needs a PATH or --pid PID"));
    };
    let stamps = read_stamps_from_file(path)
        .map_err(|e| CliError::undecided(format!("{}: {e}", path.display())))?;
    if args.oci_labels || args.dd_env {
        let stamp = main_stamp(&stamps, path);
        let pairs = if args.oci_labels {
            stamp.oci_labels()
        } else {
            stamp.datadog_env()
        };
        for (key, value) in pairs {
            // One line each: a value with a line break (never seen in a stamp) is cut there.
            writeln!(out, "{key}={}", value.lines().next().unwrap_or(""))?;
        }
        return Ok(OK);
    }
    if args.json {
        let doc = FileDoc {
            path,
            stamps: &stamps,
        };
        writeln!(out, "{}", serde_json::to_string(&doc)?)?;
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
    Ok(OK)
}

/// The stamp of the binary's own package (named like the file), else the first: a binary that
/// links several stamped crates carries one stamp each.
fn main_stamp<'a>(stamps: &'a [Stamp], path: &std::path::Path) -> &'a Stamp {
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
    stamps
        .iter()
        .find(|s| s.package.name == name)
        .unwrap_or(&stamps[0])
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
        Some(shipstamp::GitSource::Vergen) => "vergen's build script",
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
    let deleted = if p.exe_replaced {
        " (replaced or deleted on disk since it started)"
    } else {
        ""
    };
    writeln!(out, "process {}: {}{deleted}", p.pid, p.exe_path.display())?;
    let facts = &p.process;
    if let Some(started) = facts.started_at {
        writeln!(out, "  started:  {started}")?;
    }
    if p.running.is_empty() {
        writeln!(
            out,
            "  running:  no stamp (an interpreter, or a binary built without shipstamp): which commit it runs cannot be read"
        )?;
    }
    for stamp in &p.running {
        writeln!(out, "  running:  {}", one_line(stamp))?;
    }
    match &p.on_disk {
        None if p.running.is_empty() => {}
        None => writeln!(out, "  on disk:  nothing at {}", p.exe_path.display())?,
        Some(Ok(stamps)) => {
            for stamp in stamps {
                writeln!(out, "  on disk:  {}", one_line(stamp))?;
            }
        }
        Some(Err(e)) => writeln!(out, "  on disk:  {e}")?,
    }
    for library in &facts.replaced_libraries {
        writeln!(
            out,
            "  library:  {} (replaced or deleted on disk since it started)",
            library.display()
        )?;
    }
    if let Some(changes) = &facts.source_changes {
        if changes.count == 0 {
            writeln!(
                out,
                "  source:   {}: nothing changed since it started",
                changes.repository.display()
            )?;
        } else {
            let more = changes.count.saturating_sub(changes.first.len());
            writeln!(
                out,
                "  source:   {}: {} {} changed since it started, committed or edited: {}{}",
                changes.repository.display(),
                changes.count,
                if changes.count == 1 { "file" } else { "files" },
                changes.first.join(", "),
                if more > 0 {
                    format!(" and {more} more")
                } else {
                    String::new()
                }
            )?;
        }
    }
    if p.restart_needed() {
        let why = if p.exe_replaced {
            "its executable was replaced or deleted on disk"
        } else if !facts.replaced_libraries.is_empty() {
            "a library it runs was replaced or deleted on disk"
        } else {
            "it runs a different build than the one now on disk"
        };
        writeln!(out, "restart needed: {why}")
    } else if p.running.is_empty() {
        writeln!(
            out,
            "undecided: nothing on disk was replaced under it, but without a stamp its commit cannot be read"
        )
    } else {
        writeln!(
            out,
            "up to date: the process runs the build that is on disk"
        )
    }
}
