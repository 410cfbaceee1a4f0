//! Builds the same fixture service with `shipstamp-build` and with `vergen-gitcl` (pinned to
//! 10.0.1, the last release that builds on rustc 1.95), walks the everyday git scenarios, and
//! prints which stamps were right, how often a no-op build reran the build script, and the
//! cold build cost of each dependency.
//!
//! Run it with `cargo run -p shipstamp-bench --release --bin freshness` (about two minutes on two cores; needs
//! crates.io for vergen).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use shipstamp_tests::TempRepo;

#[derive(Clone, Copy, PartialEq)]
enum Tool {
    Shipstamp,
    Vergen,
}

impl Tool {
    fn name(self) -> &'static str {
        match self {
            Tool::Shipstamp => "shipstamp-build",
            Tool::Vergen => "vergen-gitcl 10.0.1",
        }
    }

    fn build_deps(self) -> String {
        match self {
            Tool::Shipstamp => format!(
                "shipstamp-build = {{ path = {:?} }}\n",
                crate_dir("shipstamp-build")
            ),
            // All three pinned, or cargo resolves vergen 10.0.3, which needs rustc 1.96.
            Tool::Vergen => {
                "vergen-gitcl = \"=10.0.1\"\nvergen = \"=10.0.1\"\nvergen-lib = \"=10.0.1\"\n"
                    .into()
            }
        }
    }

    fn build_rs(self) -> &'static str {
        match self {
            Tool::Shipstamp => "fn main() {\n    shipstamp_build::stamp();\n}\n",
            Tool::Vergen => {
                "use vergen_gitcl::{Emitter, Gitcl};\n\
                fn main() -> Result<(), Box<dyn std::error::Error>> {\n\
                    // Full sha, dirty including untracked files, branch.\n\
                    let gitcl = Gitcl::builder().sha(false).dirty(true).branch(true).build();\n\
                    Emitter::default().add_instructions(&gitcl)?.emit()?;\n\
                    Ok(())\n}\n"
            }
        }
    }

    fn main_rs(self) -> &'static str {
        match self {
            Tool::Shipstamp => {
                "fn main() {\n    let s = shipstamp::stamp!();\n    \
                println!(\"{} {} {}\", s.git.commit.as_deref().unwrap_or(\"-\"), \
                s.git.dirty.map_or(\"-\".to_string(), |d| d.to_string()), s.git.branch.as_deref().unwrap_or(\"-\"));\n}\n"
            }
            Tool::Vergen => {
                "fn main() {\n    println!(\"{} {} {}\", env!(\"VERGEN_GIT_SHA\"), env!(\"VERGEN_GIT_DIRTY\"), \
                env!(\"VERGEN_GIT_BRANCH\"));\n}\n"
            }
        }
    }

    fn runtime_dep(self) -> String {
        match self {
            Tool::Shipstamp => format!("shipstamp = {{ path = {:?} }}\n", crate_dir("shipstamp")),
            Tool::Vergen => String::new(),
        }
    }
}

fn crate_dir(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../crates")
        .join(name)
        .canonicalize()
        .expect("crate dir")
}

fn bench_dir() -> PathBuf {
    let d = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/bench");
    std::fs::create_dir_all(&d).expect("bench dir");
    d.canonicalize().expect("bench dir")
}

/// A fixture crate of one tool in a directory.
struct Fixture {
    tool: Tool,
    dir: PathBuf,
    name: String,
    target: PathBuf,
}

impl Fixture {
    fn write(tool: Tool, dir: &Path, name: &str) -> Fixture {
        std::fs::create_dir_all(dir.join("src")).expect("mkdir");
        let manifest = format!(
            "[package]\nname = \"{name}\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[dependencies]\n{}\n\
             [build-dependencies]\n{}\n[workspace]\n",
            tool.runtime_dep(),
            tool.build_deps()
        );
        std::fs::write(dir.join("Cargo.toml"), manifest).expect("manifest");
        std::fs::write(dir.join("build.rs"), tool.build_rs()).expect("build.rs");
        std::fs::write(dir.join("src/main.rs"), tool.main_rs()).expect("main.rs");
        std::fs::write(dir.join(".gitignore"), "/target\nCargo.lock\n").expect(".gitignore");
        Fixture {
            tool,
            dir: dir.to_path_buf(),
            name: name.to_owned(),
            target: bench_dir().join(format!("target-{}", name)),
        }
    }

    /// Builds; returns whether the build script ran.
    fn build(&self) -> bool {
        let out = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
            .current_dir(&self.dir)
            .args(["build", "-v"])
            .env("CARGO_TARGET_DIR", &self.target)
            .env_remove("SOURCE_DATE_EPOCH")
            .output()
            .expect("cargo runs");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            out.status.success(),
            "{} build failed:\n{stderr}",
            self.tool.name()
        );
        let script = format!("/build/{}-", self.name);
        stderr.lines().any(|l| {
            l.contains("Running `") && l.contains(&script) && l.contains("build-script-build`")
        })
    }

    fn run(&self) -> String {
        let out = Command::new(self.target.join("debug").join(&self.name))
            .output()
            .expect("fixture runs");
        String::from_utf8_lossy(&out.stdout).trim().to_owned()
    }
}

/// What git itself says: the oracle every stamp is held against. It runs with
/// `GIT_OPTIONAL_LOCKS=0` so that it does not refresh the index itself (a plain `git status`
/// rewrites the index, which triggers one rerun of any build script that watches it).
fn truth(repo: &TempRepo) -> String {
    let git = |args: &[&str]| {
        let out = shipstamp_tests::git(repo.path())
            .env("GIT_OPTIONAL_LOCKS", "0")
            .args(args)
            .output()
            .expect("git runs");
        String::from_utf8_lossy(&out.stdout).trim().to_owned()
    };
    let dirty = !git(&["status", "--porcelain"]).is_empty();
    let branch = git(&["symbolic-ref", "-q", "--short", "HEAD"]);
    format!(
        "{} {} {}",
        git(&["rev-parse", "HEAD"]),
        dirty,
        if branch.is_empty() { "-" } else { &branch }
    )
}

/// The stamp as `commit dirty branch`, with vergen's `HEAD` for "no branch" written as `-`.
fn stamped(fx: &Fixture) -> String {
    let out = fx.run();
    match out.strip_suffix(" HEAD") {
        Some(rest) => format!("{rest} -"),
        None => out,
    }
}

type Step = (&'static str, fn(&TempRepo));

const STEPS: &[Step] = &[
    ("first build", |_| {}),
    ("edit a tracked .rs file", |r| {
        r.write("src/main.rs", &(read(r, "src/main.rs") + "// edit\n"))
    }),
    ("revert the edit", |r| {
        drop(r.git(&["checkout", "--", "src/main.rs"]))
    }),
    ("edit a tracked non-Rust file", |r| {
        r.write("README.md", "edited\n")
    }),
    ("stage the edit", |r| drop(r.git(&["add", "README.md"]))),
    ("commit the staged edit", |r| {
        drop(r.git(&["commit", "-q", "-m", "staged"]))
    }),
    ("new untracked file in src/", |r| {
        r.write("src/new.rs", "// new\n")
    }),
    ("remove the untracked file", |r| {
        std::fs::remove_file(r.path().join("src/new.rs")).expect("rm")
    }),
    ("empty commit", |r| drop(r.commit_all("empty"))),
    ("amend", |r| {
        drop(r.git(&["commit", "-q", "--amend", "--allow-empty", "-m", "amended"]))
    }),
    ("new branch and commit on it", |r| {
        r.git(&["checkout", "-q", "-b", "feature"]);
        r.commit_all("on feature");
    }),
    ("checkout back to main", |r| {
        drop(r.git(&["checkout", "-q", "main"]))
    }),
    ("git pack-refs, then commit", |r| {
        r.git(&["pack-refs", "--all"]);
        r.commit_all("after pack-refs");
    }),
    ("detached HEAD", |r| {
        drop(r.git(&["checkout", "-q", "--detach", "HEAD~1"]))
    }),
];

fn read(r: &TempRepo, rel: &str) -> String {
    std::fs::read_to_string(r.path().join(rel)).expect("read")
}

struct Column {
    right: Vec<bool>,
    noop_reruns: usize,
}

fn walk(tool: Tool) -> Column {
    let repo = TempRepo::new();
    let tag = if tool == Tool::Shipstamp { "ss" } else { "vg" };
    let fx = Fixture::write(tool, repo.path(), &format!("bench-{tag}-svc"));
    repo.write("README.md", "# svc\n");
    repo.commit_all("first");
    let mut col = Column {
        right: Vec::new(),
        noop_reruns: 0,
    };
    for (_, step) in STEPS {
        step(&repo);
        fx.build();
        col.right.push(stamped(&fx) == truth(&repo));
        col.noop_reruns += usize::from(fx.build());
    }

    // A linked worktree: its HEAD and index live under .git/worktrees/<name>.
    let wt_parent = tempfile_dir();
    let wt_path = wt_parent.join("wt");
    repo.git(&["checkout", "-q", "main"]);
    repo.git(&[
        "worktree",
        "add",
        "-q",
        "-b",
        "wt",
        wt_path.to_str().expect("utf-8"),
    ]);
    let wt = TempRepo::at(&wt_path);
    let fx = Fixture::write(tool, &wt_path, &format!("bench-{tag}-wt-svc"));
    wt.commit_all("worktree fixture");
    fx.build();
    col.right.push(stamped(&fx) == truth(&wt));
    col.noop_reruns += usize::from(fx.build());
    wt.commit_all("commit in worktree");
    fx.build();
    col.right.push(stamped(&fx) == truth(&wt));
    col.noop_reruns += usize::from(fx.build());
    let _ = std::fs::remove_dir_all(wt_parent);
    col
}

fn tempfile_dir() -> PathBuf {
    let d = bench_dir().join(format!(
        "wt-{}-{}",
        std::process::id(),
        Instant::now().elapsed().as_nanos()
    ));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).expect("mkdir");
    d
}

/// Cold `cargo build --release` of a crate whose only dependency is the tool (as a
/// build-dependency), downloads excluded: (seconds, crates compiled).
fn cold_cost(tool: Tool) -> (f64, usize) {
    let dir = bench_dir().join(format!(
        "cold-{}",
        if tool == Tool::Shipstamp { "ss" } else { "vg" }
    ));
    let _ = std::fs::remove_dir_all(&dir);
    let name = "cold-svc";
    let mut fx = Fixture::write(tool, &dir, name);
    std::fs::write(dir.join("src/main.rs"), "fn main() {}\n").expect("main.rs");
    let manifest = std::fs::read_to_string(dir.join("Cargo.toml")).expect("manifest");
    let without_runtime = manifest.replace(&tool.runtime_dep(), "");
    std::fs::write(dir.join("Cargo.toml"), without_runtime).expect("manifest");
    fx.target = dir.join("target");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let fetch = Command::new(&cargo)
        .current_dir(&dir)
        .arg("fetch")
        .output()
        .expect("cargo fetch");
    assert!(
        fetch.status.success(),
        "{}",
        String::from_utf8_lossy(&fetch.stderr)
    );
    let start = Instant::now();
    let out = Command::new(&cargo)
        .current_dir(&dir)
        .args(["build", "--release", "--offline"])
        .env("CARGO_TARGET_DIR", &fx.target)
        .output()
        .expect("cargo build");
    let secs = start.elapsed().as_secs_f64();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let crates = String::from_utf8_lossy(&out.stderr)
        .lines()
        .filter(|l| l.trim_start().starts_with("Compiling "))
        .count();
    // The fixture itself is not the dependency's cost.
    (secs, crates.saturating_sub(1))
}

fn main() {
    let tools = [Tool::Shipstamp, Tool::Vergen];
    let columns: Vec<Column> = tools.iter().map(|&t| walk(t)).collect();

    println!("Freshness: is the stamp right after the next `cargo build`? (git is the oracle)\n");
    println!("| scenario | {} | {} |", tools[0].name(), tools[1].name());
    println!("|---|---|---|");
    let names = STEPS
        .iter()
        .map(|(n, _)| *n)
        .chain(["linked worktree: first build", "linked worktree: commit"]);
    for (i, name) in names.enumerate() {
        let mark = |c: &Column| if c.right[i] { "right" } else { "**wrong**" };
        println!("| {name} | {} | {} |", mark(&columns[0]), mark(&columns[1]));
    }
    let total = |c: &Column| {
        format!(
            "{}/{}",
            c.right.iter().filter(|r| **r).count(),
            c.right.len()
        )
    };
    println!(
        "| **right, in all** | {} | {} |",
        total(&columns[0]),
        total(&columns[1])
    );
    println!(
        "| no-op builds that reran the build script | {} of {} | {} of {} |",
        columns[0].noop_reruns,
        columns[0].right.len(),
        columns[1].noop_reruns,
        columns[1].right.len()
    );

    println!(
        "\nCold `cargo build --release` of the build dependency alone (downloads excluded):\n"
    );
    let costs: Vec<(f64, usize)> = tools.iter().map(|&t| cold_cost(t)).collect();
    println!("| dependency | wall time | crates compiled |");
    println!("|---|---|---|");
    for (t, (secs, crates)) in tools.iter().zip(&costs) {
        println!("| {} | {secs:.1} s | {crates} |", t.name());
    }
    println!(
        "\nshipstamp-build costs {:.2}x the time of vergen-gitcl (target: at most 0.10x).",
        costs[0].0 / costs[1].0
    );
}
