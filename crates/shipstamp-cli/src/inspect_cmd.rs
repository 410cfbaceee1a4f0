//! `shipstamp inspect`.

use std::io::{self, Write};
use std::path::PathBuf;

use clap::ArgGroup;
use shipstamp::Stamp;
use shipstamp_check::{
    ContainerInspection, Engine, ProcessInspection, inspect_container, inspect_process,
    read_stamps_from_file,
};

use crate::error::{CliError, DRIFT, OK, UNDECIDED};
use crate::output::{ContainerInspectDoc, FileDoc, ProcessDoc};

#[derive(Debug, clap::Args)]
#[command(group(ArgGroup::new("target").required(true).args(["path", "pid"])))]
pub(crate) struct InspectArgs {
    /// The binary to read, or container:NAME (a container's name or id: what it runs beside
    /// what its image reference names now).
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
    /// For container:NAME: the container engine's Docker API socket, unix:///path [default:
    /// DOCKER_HOST, else /var/run/docker.sock, else /run/podman/podman.sock]
    #[arg(long, value_name = "unix:///PATH", conflicts_with = "pid")]
    engine: Option<String>,
}

/// How long the engine may take to answer each request.
const ENGINE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);

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
    if let Some(name) = path.to_str().and_then(|p| p.strip_prefix("container:")) {
        return inspect_container_cmd(args, name, out);
    }
    if args.engine.is_some() {
        return Err(CliError::usage("--engine is for inspect container:NAME"));
    }
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

fn inspect_container_cmd(
    args: &InspectArgs,
    name: &str,
    out: &mut impl Write,
) -> Result<u8, CliError> {
    if args.oci_labels || args.dd_env {
        return Err(CliError::usage(
            "--oci-labels and --dd-env read a binary, not a container",
        ));
    }
    let engine = match &args.engine {
        Some(engine) => engine.parse::<Engine>(),
        None => Engine::from_env(),
    }
    .map_err(|e| CliError::usage(e.to_string()))?;
    let seen = inspect_container(name, &engine, ENGINE_TIMEOUT)
        .map_err(|e| CliError::undecided(e.to_string()))?;
    if args.json {
        writeln!(
            out,
            "{}",
            serde_json::to_string(&ContainerInspectDoc::new(&seen))?
        )?;
    } else {
        write_container(out, &seen)?;
    }
    let known = !seen.running.is_empty() || seen.revision_label.is_some();
    Ok(if seen.facts.recreate_needed {
        DRIFT
    } else if known && seen.facts.state == "running" {
        OK
    } else {
        // Without a stamp or a label, or not running: what it runs cannot be said.
        UNDECIDED
    })
}

fn write_container(out: &mut impl Write, seen: &ContainerInspection) -> io::Result<()> {
    let c = &seen.facts;
    let compose = match (&c.compose_project, &c.compose_service) {
        (Some(project), Some(_)) => format!(" ({} of compose project {project})", c.display_name()),
        _ => String::new(),
    };
    let since = c
        .started_at
        .map(|t| format!(" since {t}"))
        .unwrap_or_default();
    let exit = c
        .exit_code
        .map(|code| format!(" with exit code {code}"))
        .unwrap_or_default();
    writeln!(
        out,
        "container {}{compose}: {}{exit}{since}",
        c.name, c.state
    )?;
    match (seen.running.first(), &seen.revision_label) {
        (Some(stamp), _) => writeln!(
            out,
            "  runs:     {} (the stamp of its main process)",
            one_line(stamp)
        )?,
        (None, Some(label)) => writeln!(
            out,
            "  runs:     commit {label} (its image's {} label)",
            shipstamp_check::REVISION_LABEL
        )?,
        (None, None) => writeln!(
            out,
            "  runs:     unknown: no stamp and no {} label",
            shipstamp_check::REVISION_LABEL
        )?,
    }
    if let Some(why) = seen.process_error.as_ref().filter(|_| c.state == "running") {
        writeln!(out, "  process:  cannot be read ({why})")?;
    }
    writeln!(
        out,
        "  image:    {} {} (what it runs)",
        c.image,
        image_id(&c.image_running)
    )?;
    match (&c.image_now, c.recreate_needed) {
        (None, _) => writeln!(out, "  now:      no image is named {} any more", c.image)?,
        (Some(_), false) => writeln!(out, "  now:      {} is still that image", c.image)?,
        (Some(now), true) => {
            let revision = c
                .image_now_revision
                .as_deref()
                .map(|r| format!(", commit {}", crate::present::short(r)))
                .unwrap_or_default();
            writeln!(
                out,
                "  now:      {} is {}{revision}: recreate needed ({})",
                c.image,
                image_id(now),
                c.recreate_command()
            )?;
        }
    }
    Ok(())
}

/// `sha256:` and the first 12 digits of an image id.
fn image_id(id: &str) -> String {
    let digits = id.strip_prefix("sha256:").unwrap_or(id);
    format!("sha256:{}", &digits[..digits.len().min(12)])
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
