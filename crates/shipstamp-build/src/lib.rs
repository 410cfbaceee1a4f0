//! The build-script half of [shipstamp]: bakes the git commit, dirty flag, build time and
//! toolchain facts into your binary, where `shipstamp::stamp!()` reads them.
//!
//! ```no_run
//! // build.rs
//! fn main() {
//!     shipstamp_build::stamp();
//! }
//! ```
//!
//! With options:
//!
//! ```no_run
//! // build.rs
//! use shipstamp_build::{Config, UntrackedFiles};
//!
//! fn main() {
//!     Config::new()
//!         .strict(std::env::var_os("RELEASE").is_some()) // fail the build when no commit is known
//!         .untracked_files(UntrackedFiles::Ignore)      // untracked files do not make a build dirty
//!         .commit_env("MY_CI_COMMIT")                   // one more CI variable to read the commit from
//!         .emit();
//! }
//! ```
//!
//! # Never stale
//!
//! The build script tells cargo to run it again exactly when the facts can have changed: when
//! HEAD, the current branch, tags, the index or packed refs change, when any tracked file (or a
//! directory where an untracked file may appear) changes, and when one of the environment
//! variables it read changes. A no-op `cargo build` does not run it. Git paths come from
//! `git rev-parse --git-path`, so linked worktrees and submodules work; git runs with
//! `GIT_OPTIONAL_LOCKS=0`, so a build never takes the index lock from your own git.
//!
//! # Monorepos
//!
//! [`Config::scope_to_package`] judges and watches only what the package is built from (its
//! directory, the workspace's `Cargo.toml` and `Cargo.lock`, cargo's configuration and
//! toolchain files, its path dependencies, what [`Config::also_watch`] adds) and records it as
//! `git.paths`, so that `shipstamp check` counts only the commits there: a commit to another
//! service is not drift, and an untracked file in its directory does not make this build dirty.
//!
//! # Never breaks a build
//!
//! Without a repository, without `git`, in a shallow clone, a worktree, on a detached HEAD,
//! in a submodule, or when git refuses a repository it considers of "dubious ownership", the build
//! succeeds: unknown values are stamped as `null` and one `cargo:warning` says why. Only
//! [`Config::strict`] turns "no commit known" into a build failure.
//!
//! Where the git facts come from, in order (recorded as `git.source`):
//!
//! 1. `SHIPSTAMP_GIT_COMMIT` (with optional `SHIPSTAMP_GIT_DIRTY`, `SHIPSTAMP_GIT_BRANCH`): `"env"`;
//! 2. the git repository, if it tracks this package's `Cargo.toml` (a crate inside an unrelated
//!    repository is never stamped with that repository's HEAD): `"git"`;
//! 3. `.cargo_vcs_info.json`, written by `cargo package` into published crates: `"cargo-vcs-info"`;
//! 4. CI variables: [`Config::commit_env`] names, then `GITHUB_SHA`, `CI_COMMIT_SHA`,
//!    `BUILDKITE_COMMIT`, `CIRCLE_SHA1`, `TRAVIS_COMMIT`, `BITBUCKET_COMMIT`, `DRONE_COMMIT_SHA`,
//!    `BUILD_SOURCEVERSION`, `SEMAPHORE_GIT_SHA`, `CODEBUILD_RESOLVED_SOURCE_VERSION`,
//!    `SOURCE_VERSION`, `GIT_COMMIT`: `"env"`.
//!
//! `.cargo_vcs_info.json` comes before CI variables because it describes this package, while a
//! CI variable describes whatever repository the CI job checked out.
//! Values from the environment must be full commit ids (40 or 64 hex digits); others are
//! ignored with a warning.
//!
//! # Dirty
//!
//! A build is dirty when `git status` reports anything: modified, staged or deleted tracked
//! files, and (by default) untracked files that git does not ignore, since those can be compiled
//! in — Go's `vcs.modified` counts them too. [`UntrackedFiles::Ignore`] changes that.
//! The cargo target directory never counts.
//!
//! # What is never stamped
//!
//! Git remote URLs, absolute paths, user names, host names, or any environment variable other than
//! the commit and branch variables above. The package's own `repository` field from
//! `Cargo.toml` is stamped (without any `user:password@`, query string or fragment), for
//! Dockerflow's `source`.
//!
//! [shipstamp]: https://docs.rs/shipstamp

// The examples are whole `build.rs` files, so they show `fn main` on purpose.
#![allow(clippy::needless_doctest_main)]

mod env;
mod facts;
mod git;
mod scope;

use std::fmt;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{SystemTime, UNIX_EPOCH};

use env::{BuildEnv, Rejected};
use facts::{Facts, GitFacts};

/// The variable `shipstamp::stamp!()` reads: the stamp as compact `shipstamp/v1` JSON
/// (without the `process` object).
const STAMP_VAR: &str = "SHIPSTAMP_STAMP_JSON";

/// Stamps the build with the default [`Config`]. Call it from `build.rs`.
///
/// Never fails the build: what cannot be known is stamped as `null`, with a `cargo:warning`.
pub fn stamp() {
    Config::new().emit();
}

/// Whether untracked files that git does not ignore make a build dirty.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum UntrackedFiles {
    /// They count as dirty (the default): an untracked `src/new.rs` can be compiled in.
    #[default]
    Dirty,
    /// Only tracked files count.
    Ignore,
}

/// Options for stamping a build. [`stamp()`] is `Config::new().emit()`.
#[derive(Debug, Clone, Default)]
pub struct Config {
    strict: bool,
    untracked: UntrackedFiles,
    commit_env: Vec<String>,
    scoped: bool,
    also_watch: Vec<PathBuf>,
}

impl Config {
    /// The defaults: not strict, untracked files count as dirty, the built-in CI variables.
    pub fn new() -> Self {
        Config::default()
    }

    /// In strict mode the build fails, with a message saying why, when no commit is known.
    /// For release pipelines that must never ship an unidentifiable binary.
    pub fn strict(mut self, strict: bool) -> Self {
        self.strict = strict;
        self
    }

    /// Whether untracked, non-ignored files make the build dirty.
    pub fn untracked_files(mut self, policy: UntrackedFiles) -> Self {
        self.untracked = policy;
        self
    }

    /// Also read the commit from this environment variable, before the built-in CI variables.
    pub fn commit_env(mut self, name: impl Into<String>) -> Self {
        self.commit_env.push(name.into());
        self
    }

    /// Judges and watches only what the package is built from, for a monorepo: the package's
    /// directory, the workspace's `Cargo.toml` and `Cargo.lock`, cargo's configuration
    /// (`.cargo/config.toml` from the package's directory up) and toolchain files
    /// (`rust-toolchain.toml`), the directories of its path dependencies (followed through
    /// their manifests, `workspace = true` and `[patch]`; dev-dependencies are not in the
    /// binary), and what [`Config::also_watch`] lists.
    ///
    /// Within that scope, and nowhere else: a change makes the build dirty, and the build script
    /// reruns. The stamp records the scope as `git.paths` (repository-relative), and
    /// `shipstamp check` then counts only the commits that change something under it: a commit
    /// to another service is not drift.
    ///
    /// What cargo does not know is not in the scope: code generated from files elsewhere, a
    /// build script reading outside the package, `include_str!("../../../x")`. List those with
    /// [`Config::also_watch`].
    ///
    /// ```no_run
    /// // services/orders/build.rs
    /// fn main() {
    ///     shipstamp_build::Config::new()
    ///         .scope_to_package()
    ///         .also_watch(["../../proto/orders.proto"])
    ///         .emit();
    /// }
    /// ```
    pub fn scope_to_package(mut self) -> Self {
        self.scoped = true;
        self
    }

    /// More paths the build is made from, relative to the package's directory (as cargo's
    /// `rerun-if-changed` paths are): a `.proto` directory, a shared asset. They join the
    /// scope of [`Config::scope_to_package`]; without it, the whole repository is watched
    /// already, and only paths outside it are added. Never list a directory that holds the
    /// target directory: cargo would rerun the build script on every build.
    pub fn also_watch<P: Into<PathBuf>>(mut self, paths: impl IntoIterator<Item = P>) -> Self {
        self.also_watch.extend(paths.into_iter().map(Into::into));
        self
    }

    /// Writes the cargo directives to standard output. On an error (only possible in strict
    /// mode, or outside a build script) prints it and exits the build script with status 1.
    pub fn emit(&self) {
        let stdout = io::stdout();
        if let Err(e) = self.emit_to(stdout.lock()) {
            eprintln!("error: {e}");
            std::process::exit(1);
        }
    }

    /// Writes the cargo directives to `out` instead of standard output.
    pub fn emit_to(&self, out: impl Write) -> Result<(), Error> {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs() as i64);
        self.run(&BuildEnv::process(), now, out).map(drop)
    }

    fn run(&self, env: &BuildEnv, now: i64, mut out: impl Write) -> Result<Facts, Error> {
        let manifest_dir = env
            .cargo("CARGO_MANIFEST_DIR")
            .map(PathBuf::from)
            .ok_or(Error(Repr::NotInBuildScript))?;
        let mut rejected = Vec::new();
        let mut watch = Vec::new();
        let mut repo_problem = None;

        let git = match env::override_facts(env, &mut rejected) {
            Some(facts) => Some(facts),
            None => {
                let target_dir = env
                    .cargo("OUT_DIR")
                    .map(PathBuf::from)
                    .and_then(|o| target_dir(&o));
                let report = git::read(
                    &manifest_dir,
                    git::Options {
                        untracked_is_dirty: self.untracked == UntrackedFiles::Dirty,
                        target_dir: target_dir.as_deref(),
                        scoped: self.scoped,
                        also: &self.also_watch,
                    },
                );
                watch = report.watch;
                if report.facts == Err(git::RepoProblem::DubiousOwnership) {
                    // Following git's own advice (safe.directory) changes one of these.
                    watch.extend(git_config_files(env));
                }
                report.facts.map_err(|p| repo_problem = Some(p)).ok()
            }
        };
        // The package's own manifest: its `repository` is stamped, and with any rerun-if
        // directive (there always is one) cargo no longer reruns for package files by itself.
        let manifest = manifest_dir.join("Cargo.toml");
        if manifest.is_file() {
            watch.push(manifest);
        }
        let git = git
            .or_else(|| {
                let vcs_info = manifest_dir.join(".cargo_vcs_info.json");
                if vcs_info.exists() {
                    watch.push(vcs_info);
                }
                env::cargo_vcs_info(&manifest_dir, &mut rejected)
            })
            .or_else(|| env::ci_facts(env, &self.commit_env, &mut rejected))
            .unwrap_or_default();

        let build_time = match env.user("SOURCE_DATE_EPOCH") {
            // RFC 3339 writes years up to 9999.
            Some(s) => match s.trim().parse::<i64>() {
                Ok(t) if (0..=253_402_300_799).contains(&t) => t,
                _ => {
                    rejected.push(Rejected {
                        name: "SOURCE_DATE_EPOCH".into(),
                        why: "not a number of seconds between 1970 and 9999",
                    });
                    now
                }
            },
            None => now,
        };
        let facts = Facts {
            package_name: env.cargo("CARGO_PKG_NAME").unwrap_or_default(),
            package_version: env.cargo("CARGO_PKG_VERSION").unwrap_or_default(),
            package_repository: env
                .cargo("CARGO_PKG_REPOSITORY")
                .and_then(|u| shipstamp_format::stampable_url(&u)),
            git,
            build_time,
            profile: env.cargo("PROFILE"),
            target: env.cargo("TARGET"),
            rustc: env.cargo("RUSTC").and_then(|r| {
                rustc_version(&r, env.cargo("OUT_DIR").map(PathBuf::from).as_deref())
            }),
        };

        let warning = warning(&facts.git, repo_problem.as_ref(), &rejected, self.strict);
        if self.strict && facts.git.commit.is_none() {
            return Err(Error(Repr::NoCommit(
                warning.unwrap_or_else(|| "no commit known".into()),
            )));
        }
        write_directives(&mut out, &facts, env, &watch, warning.as_deref())
            .map_err(|e| Error(Repr::Io(e)))?;
        Ok(facts)
    }
}

fn write_directives(
    out: &mut impl Write,
    facts: &Facts,
    env: &BuildEnv,
    watch: &[PathBuf],
    warning: Option<&str>,
) -> io::Result<()> {
    writeln!(out, "cargo::rustc-env={STAMP_VAR}={}", facts.to_json())?;
    for name in env.read_names() {
        writeln!(out, "cargo::rerun-if-env-changed={name}")?;
    }
    for path in watch {
        // A directive is one line of UTF-8; a path that cannot be written as one is skipped.
        if let Some(p) = path.to_str().filter(|p| !p.contains(['\n', '\r'])) {
            writeln!(out, "cargo::rerun-if-changed={p}")?;
        }
    }
    if let Some(w) = warning {
        writeln!(out, "cargo::warning=shipstamp: {w}")?;
    }
    out.flush()
}

/// One line saying why something is unknown or was ignored, or `None` when all is well.
fn warning(
    git: &GitFacts,
    problem: Option<&git::RepoProblem>,
    rejected: &[Rejected],
    strict: bool,
) -> Option<String> {
    let mut parts = Vec::new();
    match (problem, git.commit.is_some()) {
        (Some(p), false) => {
            let outcome = if strict {
                "the build fails in strict mode"
            } else {
                "stamping null"
            };
            let later = match p {
                // Nothing to watch for a repository that does not exist yet.
                git::RepoProblem::NoRepository => {
                    " (a repository created here later is seen after `touch build.rs`)"
                }
                _ => "",
            };
            parts.push(format!(
                "no git commit known ({p}); {outcome}. Set SHIPSTAMP_GIT_COMMIT to provide \
                 one{later}"
            ));
        }
        // A fallback found the commit; still say when git itself is broken here.
        (
            Some(
                p @ (git::RepoProblem::GitMissing
                | git::RepoProblem::DubiousOwnership
                | git::RepoProblem::GitFailed(_)),
            ),
            true,
        ) => parts.push(format!(
            "{p}; used {}",
            git.source.map_or("?", |s| s.as_str())
        )),
        _ => {}
    }
    parts.extend(
        rejected
            .iter()
            .map(|r| format!("ignored {}: {}", r.name, r.why)),
    );
    (!parts.is_empty()).then(|| parts.join("; "))
}

/// The cargo target directory holding `out_dir`: the nearest ancestor with cargo's
/// `CACHEDIR.TAG`, else `<target>` from `<target>/<profile>/build/<pkg>/out`.
/// git's global and system configuration files that exist: where `safe.directory` is set.
fn git_config_files(env: &BuildEnv) -> Vec<PathBuf> {
    let home = env.user("HOME").map(PathBuf::from);
    let xdg = env
        .user("XDG_CONFIG_HOME")
        .map(PathBuf::from)
        .or_else(|| home.as_ref().map(|h| h.join(".config")));
    let mut files: Vec<PathBuf> = Vec::new();
    files.extend(env.user("GIT_CONFIG_GLOBAL").map(PathBuf::from));
    files.extend(home.map(|h| h.join(".gitconfig")));
    files.extend(xdg.map(|x| x.join("git/config")));
    files.push(PathBuf::from("/etc/gitconfig"));
    files.retain(|f| f.is_file());
    files
}

fn target_dir(out_dir: &Path) -> Option<PathBuf> {
    out_dir
        .ancestors()
        .find(|a| a.join("CACHEDIR.TAG").is_file())
        .or_else(|| out_dir.ancestors().nth(4))
        .map(Path::to_path_buf)
}

/// `1.95.0` from `rustc 1.95.0 (59807616e 2026-04-14)`, kept in `OUT_DIR` for the next run:
/// `rustc -V` (through rustup's proxy) is most of a rerun's time. A different compiler gets
/// another `OUT_DIR` (cargo hashes the compiler's version into it); the file also names the
/// `rustc` it came from.
fn rustc_version(rustc: &str, out_dir: Option<&Path>) -> Option<String> {
    let kept = out_dir.map(|d| d.join("shipstamp-rustc-version"));
    if let Some(text) = kept.as_ref().and_then(|k| std::fs::read_to_string(k).ok()) {
        if let Some((from, version)) = text.split_once('\n') {
            if from == rustc && !version.is_empty() {
                return Some(version.to_owned());
            }
        }
    }
    let out = Command::new(rustc).arg("-V").output().ok()?;
    let text = String::from_utf8(out.stdout).ok()?;
    let version = text.split_whitespace().nth(1)?.to_owned();
    if let Some(kept) = kept.filter(|_| !rustc.contains('\n')) {
        // Only a cache: a failed write costs the next run one `rustc -V`.
        let _ = std::fs::write(kept, format!("{rustc}\n{version}"));
    }
    Some(version)
}

/// Why stamping failed. Only strict mode, running outside a build script, or a failed write
/// produce one.
#[derive(Debug)]
pub struct Error(Repr);

#[derive(Debug)]
enum Repr {
    NotInBuildScript,
    NoCommit(String),
    Io(io::Error),
}

/// What kind of failure an [`Error`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// Called outside a build script (cargo's variables are missing).
    NotInBuildScript,
    /// Strict mode, and no commit is known.
    NoCommit,
    /// Writing cargo's directives failed.
    Io,
}

impl Error {
    /// What kind of failure this is.
    pub fn kind(&self) -> ErrorKind {
        match self.0 {
            Repr::NotInBuildScript => ErrorKind::NotInBuildScript,
            Repr::NoCommit(_) => ErrorKind::NoCommit,
            Repr::Io(_) => ErrorKind::Io,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0 {
            Repr::NotInBuildScript => {
                f.write_str("shipstamp: CARGO_MANIFEST_DIR is not set; call shipstamp_build from a build script")
            }
            Repr::NoCommit(why) => write!(f, "shipstamp (strict mode): {why}"),
            Repr::Io(e) => write!(f, "shipstamp: could not write cargo directives: {e}"),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match &self.0 {
            Repr::Io(e) => Some(e),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests;
