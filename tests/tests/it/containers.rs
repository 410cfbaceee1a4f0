//! `examples/Dockerfile` without a container engine: its build stage's `RUN` commands, run as
//! written in a copy of the build context made by `.dockerignore` (so without `.git`), with the
//! build arguments the README passes; then the service it built, as the image would start it.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use shipstamp_tests::{BUILD_INPUT_VARS, Service, git, request};

use crate::util::{cli, code, stderr, stdout, text};

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .canonicalize()
        .unwrap()
}

/// One stage of a Dockerfile: its `ARG` names, `RUN` commands and `LABEL`s, continuation
/// lines joined.
#[derive(Debug, Default)]
struct Stage {
    args: Vec<String>,
    runs: Vec<String>,
    labels: Vec<String>,
    copies: Vec<String>,
}

fn stages(dockerfile: &str) -> Vec<Stage> {
    let mut joined = Vec::new();
    let mut current = String::new();
    for line in dockerfile.lines() {
        if current.is_empty() && (line.trim_start().starts_with('#') || line.trim().is_empty()) {
            continue;
        }
        match line.strip_suffix('\\') {
            Some(head) => current.push_str(head),
            None => {
                current.push_str(line);
                joined.push(std::mem::take(&mut current));
            }
        }
    }
    let mut stages: Vec<Stage> = Vec::new();
    for instruction in joined {
        let (keyword, rest) = instruction.split_once(' ').expect("an instruction");
        let rest = rest.trim().to_owned();
        match keyword {
            "FROM" => stages.push(Stage::default()),
            "ARG" => stages.last_mut().unwrap().args.push(rest),
            "RUN" => stages.last_mut().unwrap().runs.push(rest),
            "LABEL" => stages.last_mut().unwrap().labels.push(rest),
            "COPY" => stages.last_mut().unwrap().copies.push(rest),
            _ => {}
        }
    }
    stages
}

/// Copies `from` into `to`, leaving out what `.dockerignore` names (top-level entries).
fn copy_context(from: &Path, to: &Path, ignored: &[String]) {
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let name = entry.file_name().into_string().unwrap();
        if ignored.contains(&name) {
            continue;
        }
        copy_tree(&entry.path(), &to.join(&name));
    }
}

fn copy_tree(from: &Path, to: &Path) {
    let meta = std::fs::symlink_metadata(from).unwrap();
    if meta.is_dir() {
        std::fs::create_dir_all(to).unwrap();
        for entry in std::fs::read_dir(from).unwrap() {
            let entry = entry.unwrap();
            copy_tree(&entry.path(), &to.join(entry.file_name()));
        }
    } else if meta.is_file() {
        std::fs::copy(from, to).unwrap();
    }
}

/// Runs the stage's `RUN` commands in `context` with the build arguments, as `docker build`
/// does (arguments are environment variables of `RUN`); returns cargo's standard error.
fn run_stage(stage: &Stage, context: &Path, build_args: &BTreeMap<&str, &str>) -> String {
    let mut log = String::new();
    for run in &stage.runs {
        let mut cmd = Command::new("sh");
        cmd.arg("-c").arg(run).current_dir(context);
        for var in BUILD_INPUT_VARS {
            cmd.env_remove(var);
        }
        for arg in &stage.args {
            cmd.env(arg, build_args.get(arg.as_str()).copied().unwrap_or(""));
        }
        let out = cmd.output().expect("sh runs");
        log.push_str(&String::from_utf8_lossy(&out.stderr));
        assert!(out.status.success(), "RUN {run}:\n{log}");
    }
    log
}

#[test]
fn the_example_dockerfile_stamps_a_build_without_git() {
    let root = workspace();
    let dockerfile = std::fs::read_to_string(root.join("examples/Dockerfile")).unwrap();
    let ignored: Vec<String> = std::fs::read_to_string(root.join(".dockerignore"))
        .unwrap()
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .map(|l| l.trim().trim_matches('/').to_owned())
        .collect();
    assert!(ignored.iter().any(|i| i == ".git"), "{ignored:?}");
    let stages = stages(&dockerfile);
    assert_eq!(stages.len(), 2, "a build stage and a runtime stage");
    let (build, runtime) = (&stages[0], &stages[1]);
    for arg in ["GIT_COMMIT", "GIT_DIRTY", "GIT_BRANCH"] {
        assert!(build.args.iter().any(|a| a == arg), "ARG {arg}");
    }
    // COPY --from=build /src/target/release/BIN …: the binary the image runs.
    let binary = runtime.copies[0]
        .split_whitespace()
        .nth(1)
        .and_then(|p| p.strip_prefix("/src/"))
        .expect("COPY --from=build /src/…")
        .to_owned();

    let head_out = git(&root).args(["rev-parse", "HEAD"]).output().unwrap();
    let head = String::from_utf8(head_out.stdout)
        .unwrap()
        .trim()
        .to_owned();
    let context = tempfile::tempdir().unwrap();
    copy_context(&root, context.path(), &ignored);
    assert!(!context.path().join(".git").exists());

    // With the README's build arguments: the commit, clean, on main.
    let args = BTreeMap::from([
        ("GIT_COMMIT", head.as_str()),
        ("GIT_DIRTY", "false"),
        ("GIT_BRANCH", "main"),
    ]);
    run_stage(build, context.path(), &args);
    let bin = context.path().join(&binary);
    let service = Service::start(&bin, &[]);
    let res = request(service.addr, "GET", "/version").unwrap();
    let stamp = shipstamp::Stamp::from_slice(&res.body).unwrap();
    assert_eq!(stamp.git.commit.as_deref(), Some(head.as_str()));
    assert_eq!(stamp.git.dirty, Some(false));
    assert_eq!(stamp.git.branch.as_deref(), Some("main"));
    assert_eq!(stamp.git.source, Some(shipstamp::GitSource::Env));
    assert_eq!(stamp.build.profile.as_deref(), Some("release"));
    // `check` against this repository: the image runs HEAD.
    let url = format!("http://{}/version", service.addr);
    let out = Command::new(cli())
        .args(["check", "--ref", &head, &url, "--repo"])
        .arg(&root)
        .output()
        .unwrap();
    assert_eq!(code(&out), 0, "{}", text(&out));
    drop(service);

    // The image's revision label is the commit the binary carries.
    let label = runtime
        .labels
        .iter()
        .find_map(|l| l.strip_prefix("org.opencontainers.image.revision="))
        .expect("a revision label")
        .trim_matches('"')
        .replace("$GIT_COMMIT", &head);
    let out = Command::new(cli())
        .args(["inspect", "--oci-labels"])
        .arg(&bin)
        .output()
        .unwrap();
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(
        stdout(&out).contains(&format!("org.opencontainers.image.revision={label}\n")),
        "{}",
        stdout(&out)
    );

    // Without the build arguments: `null` and a warning that says what to set, never a commit.
    let log = run_stage(build, context.path(), &BTreeMap::new());
    assert!(log.contains("SHIPSTAMP_GIT_COMMIT"), "{log}");
    let service = Service::start(&bin, &[]);
    let res = request(service.addr, "GET", "/version").unwrap();
    let stamp = shipstamp::Stamp::from_slice(&res.body).unwrap();
    assert_eq!(stamp.git.commit, None, "{}", res.text());
    assert_eq!(stamp.git.source, None);
}
