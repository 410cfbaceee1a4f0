//! What a stamp costs a build, side by side in one run:
//!
//! 1. on a small repository, no-op and touch rebuilds of the trivial fixture crate, stamped
//!    (the whole repository, and `scope_to_package()`) against the same crate without a stamp;
//! 2. the build script on a rerun: the git processes it starts and its wall time;
//! 3. in a generated 50,000-file monorepo, the no-op `cargo build` of a stamped crate against
//!    the same crate without shipstamp.
//!
//! `SHIPSTAMP_BENCH_CRATES=DIR` builds against another checkout's `crates/` (the figures before a
//! change); a checkout without `scope_to_package()` measures the whole-repository stamp only.
//!
//! ```text
//! cargo run -p shipstamp-bench --release --bin build_cost
//! ```

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use shipstamp_tests::{GitShim, TempRepo};

const RUNS: usize = 21;

const STAMPED_MAIN: &str = "fn main() {\n    println!(\"{}\", shipstamp::stamp!().to_json());\n}\n";

const FIXED_STAMP: &str = r#"{"schema":"shipstamp/v1","package":{"name":"fixed","version":"0.1.0"},"git":{"commit":"3f9c2e1aa0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5","dirty":false},"build":{"time":"2026-11-22T10:00:00Z"}}"#;

fn crates_dir() -> PathBuf {
    std::env::var_os("SHIPSTAMP_BENCH_CRATES")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../crates"))
        .canonicalize()
        .expect("crates dir")
}

/// How a crate is stamped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stamp {
    /// No build script, no shipstamp.
    Free,
    /// The same crate and `main`, without the build script: a fixed stamp through cargo's
    /// `[env]`. What the dependency and `stamp!()` cost, apart from the build script.
    Runtime,
    /// `shipstamp_build::stamp()`: the whole repository.
    Whole,
    /// `Config::new().scope_to_package()`.
    Scoped,
}

impl Stamp {
    fn name(self) -> &'static str {
        match self {
            Stamp::Free => "no stamp",
            Stamp::Runtime => "a fixed stamp, no build script",
            Stamp::Whole => "stamp()",
            Stamp::Scoped => "scope_to_package()",
        }
    }
}

/// A crate in `dir` named `name`, stamped as `stamp`, with its own target directory inside
/// (ignored, as in a real repository).
struct Crate {
    dir: PathBuf,
    name: String,
    stamp: Stamp,
}

impl Crate {
    fn write(dir: &Path, name: &str, stamp: Stamp) -> Crate {
        let crates = crates_dir();
        std::fs::create_dir_all(dir.join("src")).expect("mkdir");
        let (deps, build_deps, build_rs, main_rs) = match stamp {
            Stamp::Free => (
                String::new(),
                String::new(),
                None,
                "fn main() {\n    println!(\"free\");\n}\n",
            ),
            Stamp::Runtime => (
                format!("shipstamp = {{ path = {:?} }}\n", crates.join("shipstamp")),
                String::new(),
                None,
                STAMPED_MAIN,
            ),
            Stamp::Whole | Stamp::Scoped => (
                format!("shipstamp = {{ path = {:?} }}\n", crates.join("shipstamp")),
                format!(
                    "shipstamp-build = {{ path = {:?} }}\n",
                    crates.join("shipstamp-build")
                ),
                Some(if stamp == Stamp::Whole {
                    "fn main() {\n    shipstamp_build::stamp();\n}\n"
                } else {
                    "fn main() {\n    shipstamp_build::Config::new().scope_to_package().emit();\n}\n"
                }),
                STAMPED_MAIN,
            ),
        };
        std::fs::write(
            dir.join("Cargo.toml"),
            format!(
                "[package]\nname = \"{name}\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n\
                 [dependencies]\n{deps}\n[build-dependencies]\n{build_deps}\n[workspace]\n"
            ),
        )
        .expect("manifest");
        if let Some(build_rs) = build_rs {
            std::fs::write(dir.join("build.rs"), build_rs).expect("build.rs");
        }
        std::fs::write(dir.join("src/main.rs"), main_rs).expect("main.rs");
        if stamp == Stamp::Runtime {
            std::fs::create_dir_all(dir.join(".cargo")).expect("mkdir");
            std::fs::write(
                dir.join(".cargo/config.toml"),
                format!("[env]\nSHIPSTAMP_STAMP_JSON = '{FIXED_STAMP}'\n"),
            )
            .expect("config");
        }
        // Resolved offline from the workspace's lock file.
        let lock = Path::new(env!("CARGO_MANIFEST_DIR")).join("../Cargo.lock");
        std::fs::copy(lock, dir.join("Cargo.lock")).expect("Cargo.lock");
        Crate {
            dir: dir.to_path_buf(),
            name: name.to_owned(),
            stamp,
        }
    }

    fn cargo(&self) -> Command {
        let mut cmd = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
        cmd.current_dir(&self.dir)
            .args(["build", "--offline"])
            .env("CARGO_TARGET_DIR", self.dir.join("target"))
            .env_remove("SOURCE_DATE_EPOCH")
            .env_remove("SHIPSTAMP_GIT_COMMIT");
        cmd
    }

    /// One build's wall time.
    fn build(&self) -> f64 {
        let start = Instant::now();
        let out = self.cargo().output().expect("cargo runs");
        let seconds = start.elapsed().as_secs_f64();
        assert!(
            out.status.success(),
            "{}: {}",
            self.name,
            String::from_utf8_lossy(&out.stderr)
        );
        seconds
    }

    /// One no-op build's wall time.
    fn no_op(&self) -> f64 {
        self.build()
    }

    /// One build's wall time after `touch src/main.rs`.
    fn touch(&self) -> f64 {
        let main = self.dir.join("src/main.rs");
        let file = std::fs::File::options().append(true).open(&main).unwrap();
        file.set_modified(std::time::SystemTime::now()).unwrap();
        self.build()
    }

    /// The build script as cargo runs it: its binary, and the environment it needs.
    fn build_script(&self) -> Command {
        let build = self.dir.join("target/debug/build");
        let dirs: Vec<PathBuf> = std::fs::read_dir(&build)
            .expect("build dir")
            .flatten()
            .map(|e| e.path())
            .filter(|p| {
                p.file_name()
                    .and_then(|n| n.to_str())
                    .is_some_and(|n| n.starts_with(&format!("{}-", self.name)))
            })
            .collect();
        let script = dirs
            .iter()
            .map(|d| d.join("build-script-build"))
            .find(|p| p.is_file())
            .expect("the build script's binary");
        let out_dir = dirs
            .iter()
            .map(|d| d.join("out"))
            .find(|p| p.is_dir())
            .expect("the build script's OUT_DIR");
        let mut cmd = Command::new(script);
        cmd.current_dir(&self.dir)
            .env("CARGO_MANIFEST_DIR", &self.dir)
            .env("OUT_DIR", out_dir)
            .env("CARGO_PKG_NAME", &self.name)
            .env("CARGO_PKG_VERSION", "0.1.0")
            .env("PROFILE", "debug")
            .env("TARGET", "x86_64-unknown-linux-gnu")
            .env("RUSTC", "rustc")
            .env_remove("SOURCE_DATE_EPOCH");
        cmd
    }

    /// The build script's git processes (through a counting shim) and median wall time.
    fn build_script_cost(&self) -> (usize, f64) {
        let shim = GitShim::new();
        let out = self
            .build_script()
            .env("PATH", shim.path())
            .output()
            .expect("the build script runs");
        assert!(out.status.success());
        let gits = shim.invocations().len();
        let times = (0..RUNS)
            .map(|_| {
                let start = Instant::now();
                let out = self.build_script().output().expect("runs");
                assert!(out.status.success());
                start.elapsed().as_secs_f64()
            })
            .collect();
        (gits, median(times))
    }
}

/// The median of `runs` measurements of each crate, taken in turns (so that the machine's
/// drift falls on all of them alike).
fn medians(crates: &[Crate], runs: usize, measure: impl Fn(&Crate) -> f64) -> Vec<f64> {
    for c in crates {
        c.build();
    }
    let mut times: Vec<Vec<f64>> = vec![Vec::new(); crates.len()];
    for _ in 0..runs {
        for (c, t) in crates.iter().zip(&mut times) {
            t.push(measure(c));
        }
    }
    times.into_iter().map(median).collect()
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn ms(s: f64) -> String {
    format!("{:.1} ms", s * 1000.0)
}

fn has_scope() -> bool {
    std::fs::read_to_string(crates_dir().join("shipstamp-build/src/lib.rs"))
        .is_ok_and(|s| s.contains("fn scope_to_package"))
}

fn commit_all(repo: &TempRepo) {
    repo.git(&["add", "-A"]);
    repo.git(&["commit", "-q", "-m", "bench"]);
}

fn main() {
    let stamps: Vec<Stamp> = if has_scope() {
        vec![Stamp::Free, Stamp::Runtime, Stamp::Whole, Stamp::Scoped]
    } else {
        vec![Stamp::Free, Stamp::Runtime, Stamp::Whole]
    };
    println!("crates: {}", crates_dir().display());

    // 1 and 2: a small repository.
    let small = TempRepo::new();
    small.write(".gitignore", "target/\n");
    let crates: Vec<Crate> = stamps
        .iter()
        .enumerate()
        .map(|(i, s)| {
            Crate::write(
                &small.path().join(format!("crate-{i}")),
                &format!("cost{i}"),
                *s,
            )
        })
        .collect();
    for c in &crates {
        c.build();
    }
    commit_all(&small);
    println!(
        "\nsmall repository: median wall time of {RUNS} builds, the crates in turns; the ratios \
         against the crate without a stamp, then against the same crate without its build script"
    );
    println!("| crate | no-op build | touch src/main.rs, build |");
    println!("|---|---|---|");
    let no_ops = medians(&crates, RUNS, Crate::no_op);
    let touches = medians(&crates, RUNS, Crate::touch);
    for (i, c) in crates.iter().enumerate() {
        println!(
            "| {} | {} ({:.2}×, {:.2}×) | {} ({:.2}×, {:.2}×) |",
            c.stamp.name(),
            ms(no_ops[i]),
            no_ops[i] / no_ops[0],
            no_ops[i] / no_ops[1],
            ms(touches[i]),
            touches[i] / touches[0],
            touches[i] / touches[1],
        );
    }
    println!("\nthe build script on a rerun, run as cargo runs it (median of {RUNS}):");
    println!("| build script | git processes | wall time |");
    println!("|---|---|---|");
    for c in crates
        .iter()
        .filter(|c| matches!(c.stamp, Stamp::Whole | Stamp::Scoped))
    {
        let (gits, seconds) = c.build_script_cost();
        println!("| {} | {gits} | {} |", c.stamp.name(), ms(seconds));
    }

    // 3: a 50,000-file monorepo.
    let mono = TempRepo::new();
    mono.write(".gitignore", "target/\n");
    let start = Instant::now();
    for service in 0..50 {
        for module in 0..20 {
            let dir = mono
                .path()
                .join(format!("services/svc-{service:02}/src/module-{module:02}"));
            std::fs::create_dir_all(&dir).unwrap();
            for file in 0..50 {
                std::fs::write(dir.join(format!("f{file:02}.rs")), "pub fn f() {}\n").unwrap();
            }
        }
    }
    let crates: Vec<Crate> = stamps
        .iter()
        .enumerate()
        .map(|(i, s)| {
            Crate::write(
                &mono.path().join(format!("services/measured-{i}")),
                &format!("mono{i}"),
                *s,
            )
        })
        .collect();
    for c in &crates {
        c.build();
    }
    commit_all(&mono);
    let files = mono.git(&["ls-files"]).lines().count();
    println!(
        "\nmonorepo of {files} tracked files (made in {:.1} s): no-op `cargo build`, median of {RUNS}",
        start.elapsed().as_secs_f64()
    );
    println!("| crate | no-op build | more than without the build script |");
    println!("|---|---|---|");
    let no_ops = medians(&crates, RUNS, Crate::no_op);
    for (i, c) in crates.iter().enumerate() {
        println!(
            "| {} | {} | {} |",
            c.stamp.name(),
            ms(no_ops[i]),
            ms(no_ops[i] - no_ops[1])
        );
    }
}
