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
                // vergen sets nothing when git fails (a dubious owner, no repository).
                "fn main() {\n    println!(\"{} {} {}\", option_env!(\"VERGEN_GIT_SHA\").unwrap_or(\"-\"), \
                option_env!(\"VERGEN_GIT_DIRTY\").unwrap_or(\"-\"), option_env!(\"VERGEN_GIT_BRANCH\").unwrap_or(\"-\"));\n}\n"
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
    /// A `HOME` of its own (its git configuration), cargo's and rustup's homes kept.
    home: Option<PathBuf>,
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
            home: None,
        }
    }

    /// A member `services/a` of a workspace with `services/b` and `crates/common` (a path
    /// dependency of a), stamped in package scope where the tool has one.
    fn write_monorepo(tool: Tool, repo: &TempRepo, name: &str) -> Fixture {
        repo.write(
            "Cargo.toml",
            "[workspace]\nmembers = [\"services/a\", \"services/b\", \"crates/common\"]\nresolver = \"2\"\n",
        );
        repo.write(".gitignore", "/target\n");
        for (dir, kind) in [("crates/common", "lib"), ("services/b", "main")] {
            let pkg = dir.rsplit('/').next().expect("name");
            repo.write(
                &format!("{dir}/Cargo.toml"),
                &format!("[package]\nname = \"{pkg}-{name}\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[dependencies]\n"),
            );
            let body = if kind == "lib" {
                "pub fn common() {}\n"
            } else {
                "fn main() {}\n"
            };
            repo.write(&format!("{dir}/src/{kind}.rs"), body);
        }
        let mut fx = Fixture::write(tool, &repo.path().join("services/a"), name);
        let manifest = std::fs::read_to_string(fx.dir.join("Cargo.toml")).expect("manifest");
        let manifest = manifest.replace("[workspace]\n", "").replace(
            "[dependencies]\n",
            &format!("[dependencies]\ncommon = {{ package = \"common-{name}\", path = \"../../crates/common\" }}\n"),
        );
        std::fs::write(fx.dir.join("Cargo.toml"), manifest).expect("manifest");
        std::fs::remove_file(fx.dir.join(".gitignore")).expect("rm .gitignore");
        if tool == Tool::Shipstamp {
            std::fs::write(
                fx.dir.join("build.rs"),
                "fn main() {\n    shipstamp_build::Config::new().scope_to_package().emit();\n}\n",
            )
            .expect("build.rs");
        }
        fx.target = bench_dir().join(format!("target-{name}"));
        fx
    }

    /// Builds; returns whether the build script ran.
    fn build(&self) -> bool {
        let mut cargo = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
        cargo
            .current_dir(&self.dir)
            .args(["build", "-v"])
            .env("CARGO_TARGET_DIR", &self.target)
            .env_remove("SOURCE_DATE_EPOCH");
        if let Some(home) = &self.home {
            let real_home = PathBuf::from(std::env::var_os("HOME").expect("HOME"));
            let keep = |var: &str, default: &str| {
                std::env::var_os(var).map_or_else(|| real_home.join(default), PathBuf::from)
            };
            cargo
                .env("CARGO_HOME", keep("CARGO_HOME", ".cargo"))
                .env("RUSTUP_HOME", keep("RUSTUP_HOME", ".rustup"))
                .env("HOME", home);
        }
        let out = cargo.output().expect("cargo runs");
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
    truth_within(repo, &[])
}

/// The same, with the dirty flag taken only under `scope` (the whole repository when empty).
fn truth_within(repo: &TempRepo, scope: &[&str]) -> String {
    let git = |args: &[&str]| {
        let out = shipstamp_tests::git(repo.path())
            .env("GIT_OPTIONAL_LOCKS", "0")
            .args(["-c", "safe.directory=*"])
            .args(args)
            .output()
            .expect("git runs");
        String::from_utf8_lossy(&out.stdout).trim().to_owned()
    };
    let status: Vec<&str> = ["status", "--porcelain", "--"]
        .into_iter()
        .chain(scope.iter().copied())
        .collect();
    let dirty = !git(&status).is_empty();
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

/// One tool's answers: each scenario's name and whether its stamp was right.
struct Column {
    rows: Vec<(&'static str, bool)>,
    noop_reruns: usize,
}

impl Column {
    /// Builds, holds the stamp against `truth`, then counts whether a no-op build reran.
    fn judge(&mut self, name: &'static str, fx: &Fixture, truth: impl Fn() -> String) {
        fx.build();
        self.rows.push((name, stamped(fx) == truth()));
        self.noop_reruns += usize::from(fx.build());
    }
}

fn tag(tool: Tool) -> &'static str {
    if tool == Tool::Shipstamp { "ss" } else { "vg" }
}

fn walk(tool: Tool) -> Column {
    let repo = TempRepo::new();
    let tag = tag(tool);
    let fx = Fixture::write(tool, repo.path(), &format!("bench-{tag}-svc"));
    repo.write("README.md", "# svc\n");
    repo.commit_all("first");
    let mut col = Column {
        rows: Vec::new(),
        noop_reruns: 0,
    };
    for (name, step) in STEPS {
        step(&repo);
        col.judge(name, &fx, || truth(&repo));
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
    let wt_fx = Fixture::write(tool, &wt_path, &format!("bench-{tag}-wt-svc"));
    wt.commit_all("worktree fixture");
    col.judge("linked worktree: first build", &wt_fx, || truth(&wt));
    wt.commit_all("commit in worktree");
    col.judge("linked worktree: commit", &wt_fx, || truth(&wt));

    // The main checkout and a second worktree of the same package building into one target
    // directory, as a global `build.target-dir` in cargo's configuration makes them.
    let wt2_path = wt_parent.join("wt2");
    repo.git(&[
        "worktree",
        "add",
        "-q",
        "-b",
        "wt2",
        wt2_path.to_str().expect("utf-8"),
        "main",
    ]);
    let wt2 = TempRepo::at(&wt2_path);
    let shared = |dir: &Path| Fixture {
        tool,
        dir: dir.to_path_buf(),
        name: fx.name.clone(),
        target: bench_dir().join(format!("target-bench-{tag}-shared")),
        home: None,
    };
    let (main_shared, wt2_shared) = (shared(repo.path()), shared(&wt2_path));
    let _ = std::fs::remove_dir_all(&main_shared.target);
    main_shared.build();
    col.judge("one target dir: a worktree after main", &wt2_shared, || {
        truth(&wt2)
    });
    repo.write("src/main.rs", &(read(&repo, "src/main.rs") + "// edit\n"));
    col.judge(
        "one target dir: main again, after an edit",
        &main_shared,
        || truth(&repo),
    );
    let _ = std::fs::remove_dir_all(wt_parent);
    col
}

/// The package-scoped stamp of `services/a` in a workspace monorepo. Its dirty flag is right
/// when it is git's status under a's scope: a, its path dependency, the workspace manifest and
/// lock file (vergen has no package scope: its flag is the whole repository's).
fn walk_monorepo(tool: Tool, col: &mut Column) {
    const SCOPE: &[&str] = &["services/a", "crates/common", "Cargo.toml", "Cargo.lock"];
    let repo = TempRepo::new();
    let fx = Fixture::write_monorepo(tool, &repo, &format!("bench-{}-mono-a", tag(tool)));
    // The lock file is part of the scope: made by a first build, then committed.
    repo.commit_all("monorepo");
    fx.build();
    repo.commit_all("Cargo.lock");
    let truth = || truth_within(&repo, SCOPE);
    col.judge("monorepo: first build", &fx, truth);
    repo.write("services/b/src/new.rs", "// new\n");
    col.judge("monorepo: untracked file in another service", &fx, truth);
    repo.write("services/b/src/main.rs", "fn main() { 1; }\n");
    col.judge("monorepo: edit in another service", &fx, truth);
    repo.commit_all("b only");
    col.judge("monorepo: commit to another service", &fx, truth);
    repo.write("crates/common/src/lib.rs", "pub fn common() { 1; }\n");
    col.judge("monorepo: edit in a path dependency", &fx, truth);
    repo.commit_all("common");
    col.judge("monorepo: commit it", &fx, truth);
    // b gains a dependency: cargo rewrites the workspace's Cargo.lock.
    let b = std::fs::read_to_string(repo.path().join("services/b/Cargo.toml")).expect("b");
    let common = format!(
        "common = {{ package = \"common-{}\", path = \"../../crates/common\" }}\n",
        fx.name
    );
    repo.write("services/b/Cargo.toml", &(b + &common));
    col.judge("monorepo: Cargo.lock changed", &fx, truth);
    repo.commit_all("b uses common");
    repo.write("services/a/src/extra.rs", "// new\n");
    col.judge("monorepo: untracked file in the service", &fx, truth);
}

/// Outside the everyday: a repository git refuses for "dubious ownership" until its warning's
/// advice is followed, and a repository created after the first build.
fn walk_setup(tool: Tool, col: &mut Column) {
    let tag = tag(tool);
    let repo = TempRepo::new();
    let mut fx = Fixture::write(tool, repo.path(), &format!("bench-{tag}-dubious-svc"));
    repo.commit_all("first");
    let chown = Command::new("chown")
        .args(["-R", "65534:65534"])
        .arg(repo.path())
        .status()
        .expect("chown");
    assert!(chown.success(), "chown needs root");
    let home = tempfile_dir();
    let gitconfig = home.join(".gitconfig");
    std::fs::write(&gitconfig, "").expect(".gitconfig");
    fx.home = Some(home.clone());
    fx.build();
    let safe = Command::new("git")
        .args(["config", "--file"])
        .arg(&gitconfig)
        .args(["--add", "safe.directory"])
        .arg(repo.path())
        .status()
        .expect("git config");
    assert!(safe.success());
    col.judge(
        "dubious ownership, then safe.directory as advised",
        &fx,
        || truth(&repo),
    );
    let _ = std::fs::remove_dir_all(home);

    let dir = tempfile_dir();
    let fx = Fixture::write(tool, &dir, &format!("bench-{tag}-later-svc"));
    fx.build();
    let repo = TempRepo::at(&dir);
    repo.git(&["init", "-q"]);
    repo.commit_all("first");
    col.judge("repository created after the first build", &fx, || {
        truth(&repo)
    });
    // `touch build.rs`: the same content, a new modification time.
    std::fs::write(dir.join("build.rs"), tool.build_rs()).expect("touch");
    col.judge("… then build.rs touched", &fx, || truth(&repo));
    let _ = std::fs::remove_dir_all(dir);
}

fn tempfile_dir() -> PathBuf {
    static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let d = bench_dir().join(format!("tmp-{}-{n}", std::process::id()));
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
    let columns: Vec<Column> = tools
        .iter()
        .map(|&t| {
            let mut col = walk(t);
            walk_monorepo(t, &mut col);
            walk_setup(t, &mut col);
            col
        })
        .collect();

    println!("Freshness: is the stamp right after the next `cargo build`? (git is the oracle)\n");
    println!("| scenario | {} | {} |", tools[0].name(), tools[1].name());
    println!("|---|---|---|");
    for (i, (name, _)) in columns[0].rows.iter().enumerate() {
        let mark = |c: &Column| if c.rows[i].1 { "right" } else { "**wrong**" };
        println!("| {name} | {} | {} |", mark(&columns[0]), mark(&columns[1]));
    }
    let total = |c: &Column| {
        format!(
            "{}/{}",
            c.rows.iter().filter(|(_, right)| *right).count(),
            c.rows.len()
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
        columns[0].rows.len(),
        columns[1].noop_reruns,
        columns[1].rows.len()
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
