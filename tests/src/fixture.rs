use std::path::{Path, PathBuf};
use std::process::Command;

/// The environment variables shipstamp-build (and vergen) read; cleared for fixture builds so
/// the machine's own CI variables cannot leak into a test.
pub const BUILD_INPUT_VARS: &[&str] = &[
    "SHIPSTAMP_GIT_COMMIT",
    "SHIPSTAMP_GIT_DIRTY",
    "SHIPSTAMP_GIT_BRANCH",
    "SOURCE_DATE_EPOCH",
    "GITHUB_SHA",
    "GITHUB_REF_NAME",
    "CI_COMMIT_SHA",
    "CI_COMMIT_REF_NAME",
    "BUILDKITE_COMMIT",
    "BUILDKITE_BRANCH",
    "CIRCLE_SHA1",
    "CIRCLE_BRANCH",
    "TRAVIS_COMMIT",
    "TRAVIS_BRANCH",
    "BITBUCKET_COMMIT",
    "BITBUCKET_BRANCH",
    "DRONE_COMMIT_SHA",
    "DRONE_BRANCH",
    "BUILD_SOURCEVERSION",
    "BUILD_SOURCEBRANCHNAME",
    "SEMAPHORE_GIT_SHA",
    "SEMAPHORE_GIT_BRANCH",
    "CODEBUILD_RESOLVED_SOURCE_VERSION",
    "SOURCE_VERSION",
    "GIT_COMMIT",
    "GIT_BRANCH",
    "CARGO_TARGET_DIR",
    "CARGO_BUILD_TARGET_DIR",
    "GIT_DIR",
    "GIT_WORK_TREE",
    "GIT_INDEX_FILE",
    // vergen's own switches, for the fixtures that run vergen.
    "VERGEN_IDEMPOTENT",
    "VERGEN_DEFAULT_ON_ERROR",
];

/// A small service crate, written the way a user writes one: a one-line `build.rs` and a
/// `main` that prints `shipstamp::stamp!().to_json()`. Built with real cargo into a target
/// directory shared by all fixtures (so dependencies compile once).
#[derive(Debug, Clone)]
pub struct Fixture {
    dir: PathBuf,
    name: String,
    target_dir: PathBuf,
}

/// The outcome of one `cargo build -v`.
#[derive(Debug)]
pub struct Build {
    /// Whether cargo succeeded.
    pub success: bool,
    /// Whether the fixture's build script ran in this build.
    pub ran_build_script: bool,
    /// cargo's standard error.
    pub stderr: String,
}

impl Fixture {
    /// Writes the fixture crate `name` into `dir` (which may be a repository's work tree).
    /// `name` must be unique among concurrently running tests: it names the binary in the
    /// shared target directory.
    pub fn write(dir: &Path, name: &str) -> Fixture {
        Fixture::write_with_build_rs(dir, name, "fn main() {\n    shipstamp_build::stamp();\n}\n")
    }

    /// [`Fixture::write`] with a given `build.rs`.
    pub fn write_with_build_rs(dir: &Path, name: &str, build_rs: &str) -> Fixture {
        let crates = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../crates")
            .canonicalize()
            .expect("crates dir");
        std::fs::create_dir_all(dir.join("src")).expect("mkdir");
        let manifest = format!(
            "[package]\nname = \"{name}\"\nversion = \"0.4.2\"\nedition = \"2024\"\n\n\
             [dependencies]\nshipstamp = {{ path = {:?} }}\n\n\
             [build-dependencies]\nshipstamp-build = {{ path = {:?} }}\n\n\
             [workspace]\n\n[profile.release]\ndebug = false\n",
            crates.join("shipstamp"),
            crates.join("shipstamp-build"),
        );
        std::fs::write(dir.join("Cargo.toml"), manifest).expect("write manifest");
        std::fs::write(dir.join("build.rs"), build_rs).expect("write build.rs");
        std::fs::write(
            dir.join("src/main.rs"),
            "fn main() {\n    let stamp = shipstamp::stamp!();\n    println!(\"{}\", stamp.to_json());\n    \
             // `--again`: print the stamp once more after a line on stdin.\n    \
             if std::env::args().any(|a| a == \"--again\") {\n        \
             let _ = std::io::stdin().read_line(&mut String::new());\n        \
             println!(\"{}\", stamp.to_json());\n    }\n}\n",
        )
        .expect("write main.rs");
        // The lock file is the fixture's own business, not a source edit.
        std::fs::write(dir.join(".gitignore"), "/target\nCargo.lock\n").expect("write .gitignore");
        let lock = Path::new(env!("CARGO_MANIFEST_DIR")).join("../Cargo.lock");
        let _ = std::fs::copy(lock, dir.join("Cargo.lock"));
        Fixture {
            dir: dir.to_path_buf(),
            name: name.to_owned(),
            target_dir: shared_target_dir(),
        }
    }

    /// A package already written into `dir` (a workspace member, say) named `name`, built and
    /// run as the others: its `main` prints `shipstamp::stamp!().to_json()`.
    pub fn existing(dir: &Path, name: &str) -> Fixture {
        Fixture {
            dir: dir.to_path_buf(),
            name: name.to_owned(),
            target_dir: shared_target_dir(),
        }
    }

    /// Writes `examples/axum-service` (its `main.rs` and `build.rs`, as they are in this
    /// workspace) into `dir` as the package `name`: a real service to build at any commit.
    pub fn write_axum_service(dir: &Path, name: &str) -> Fixture {
        let fixture = Fixture::write_with_build_rs(
            dir,
            name,
            include_str!("../../examples/axum-service/build.rs"),
        );
        let integrations = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../integrations")
            .canonicalize()
            .expect("integrations dir");
        let manifest_path = dir.join("Cargo.toml");
        let manifest = std::fs::read_to_string(&manifest_path).expect("manifest");
        let manifest = manifest.replacen(
            "[dependencies]\n",
            &format!(
                "[dependencies]\nshipstamp-axum = {{ path = {:?} }}\n\
                 axum = {{ version = \"0.8\", default-features = false, features = [\"http1\", \"tokio\"] }}\n\
                 tokio = {{ version = \"1.38\", features = [\"rt-multi-thread\", \"net\", \"macros\", \"signal\"] }}\n",
                integrations.join("shipstamp-axum")
            ),
            1,
        );
        std::fs::write(&manifest_path, manifest).expect("write manifest");
        std::fs::write(
            dir.join("src/main.rs"),
            include_str!("../../examples/axum-service/src/main.rs"),
        )
        .expect("write main.rs");
        fixture
    }

    /// Writes `examples/vergen-service` (its vergen `build.rs` and its `main.rs`, as they are in
    /// this workspace) into `dir` as the package `name`: a service that keeps vergen and reads
    /// it through `stamp_from_vergen!()`.
    pub fn write_vergen_service(dir: &Path, name: &str) -> Fixture {
        let fixture = Fixture::write_axum_service(dir, name);
        let manifest_path = dir.join("Cargo.toml");
        let manifest = std::fs::read_to_string(&manifest_path).expect("manifest");
        let (head, tail) = manifest
            .split_once("[build-dependencies]\n")
            .expect("build-dependencies");
        let (_shipstamp_build, tail) = tail.split_once('\n').expect("one line");
        // Pinned as in the example (and so in the workspace's Cargo.lock, which fixtures copy).
        let manifest = format!(
            "{head}[build-dependencies]\n\
             vergen-gitcl = {{ version = \"=10.0.1\", features = [\"build\", \"cargo\", \"rustc\"] }}\n\
             vergen = \"=10.0.1\"\nvergen-lib = \"=10.0.1\"\n{tail}"
        );
        std::fs::write(&manifest_path, manifest).expect("write manifest");
        std::fs::write(
            dir.join("build.rs"),
            include_str!("../../examples/vergen-service/build.rs"),
        )
        .expect("write build.rs");
        std::fs::write(
            dir.join("src/main.rs"),
            include_str!("../../examples/vergen-service/src/main.rs"),
        )
        .expect("write main.rs");
        fixture
    }

    /// The crate directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// `cargo build -v` with the shipstamp inputs cleared, then `envs` set.
    pub fn build(&self, envs: &[(&str, &str)]) -> Build {
        self.build_with(envs, |_| {})
    }

    /// [`Fixture::build`], letting the caller adjust the command (PATH, release, …).
    pub fn build_with(&self, envs: &[(&str, &str)], adjust: impl FnOnce(&mut Command)) -> Build {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let mut cmd = Command::new(cargo);
        cmd.current_dir(&self.dir).args(["build", "-v"]);
        for var in BUILD_INPUT_VARS {
            cmd.env_remove(var);
        }
        cmd.env("CARGO_TARGET_DIR", &self.target_dir)
            .envs(envs.iter().copied());
        adjust(&mut cmd);
        let out = cmd.output().expect("cargo runs");
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        let script = format!("/build/{}-", self.name);
        let ran_build_script = stderr.lines().any(|l| {
            l.contains("Running `") && l.contains(&script) && l.contains("build-script-build`")
        });
        Build {
            success: out.status.success(),
            ran_build_script,
            stderr,
        }
    }

    /// The path of the built binary.
    pub fn binary(&self, profile: &str) -> PathBuf {
        self.target_dir.join(profile).join(&self.name)
    }

    /// Runs the debug binary and parses the stamp it prints.
    pub fn run(&self) -> shipstamp::Stamp {
        let out = Command::new(self.binary("debug"))
            .output()
            .expect("fixture binary runs");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        shipstamp::Stamp::from_slice(&out.stdout).expect("fixture prints a stamp")
    }

    /// Builds (asserting success) and runs.
    pub fn build_and_run(&self, envs: &[(&str, &str)]) -> (Build, shipstamp::Stamp) {
        let build = self.build(envs);
        assert!(build.success, "cargo build failed:\n{}", build.stderr);
        (build, self.run())
    }
}

/// One target directory for every fixture of this test run.
fn shared_target_dir() -> PathBuf {
    let base = std::env::var_os("SHIPSTAMP_E2E_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/e2e"));
    std::fs::create_dir_all(&base).expect("target dir");
    base
}
