use std::ffi::OsString;
use std::path::{Path, PathBuf};

/// A `git` on `PATH` in front of the real one: it logs every invocation's arguments, one line
/// each, and runs the real git — or, for one subcommand, fails the way a broken repository
/// makes git fail. Counts the git processes a program starts, from the outside.
#[derive(Debug)]
pub struct GitShim {
    dir: tempfile::TempDir,
    log: PathBuf,
}

impl GitShim {
    /// A shim that runs the real git every time.
    pub fn new() -> GitShim {
        GitShim::with_script("")
    }

    /// A shim under which `git SUBCOMMAND …` prints `fatal: simulated failure` and exits 128.
    pub fn failing(subcommand: &str) -> GitShim {
        GitShim::with_script(&format!(
            "for a in \"$@\"; do\n  if [ \"$a\" = \"{subcommand}\" ]; then\n    \
             echo 'fatal: simulated failure' >&2\n    exit 128\n  fi\ndone\n"
        ))
    }

    fn with_script(extra: &str) -> GitShim {
        let real = real_git();
        let dir = tempfile::Builder::new()
            .prefix("shipstamp-git-shim-")
            .tempdir()
            .expect("temp dir");
        let log = dir.path().join("invocations.log");
        let script = format!(
            "#!/bin/sh\nprintf '%s\\n' \"$*\" >> '{}'\n{extra}exec '{}' \"$@\"\n",
            log.display(),
            real.display()
        );
        let shim = dir.path().join("git");
        std::fs::write(&shim, script).expect("write shim");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&shim, std::fs::Permissions::from_mode(0o755))
                .expect("chmod shim");
        }
        GitShim { dir, log }
    }

    /// A `PATH` with the shim first.
    pub fn path(&self) -> OsString {
        let mut dirs = vec![self.dir.path().to_path_buf()];
        dirs.extend(std::env::split_paths(
            &std::env::var_os("PATH").unwrap_or_default(),
        ));
        std::env::join_paths(dirs).expect("PATH")
    }

    /// Every invocation so far: its arguments, space-separated.
    pub fn invocations(&self) -> Vec<String> {
        std::fs::read_to_string(&self.log)
            .unwrap_or_default()
            .lines()
            .map(str::to_owned)
            .collect()
    }
}

impl Default for GitShim {
    fn default() -> Self {
        GitShim::new()
    }
}

/// The `git` that `PATH` names.
fn real_git() -> PathBuf {
    std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default())
        .map(|d| d.join("git"))
        .find(|p| is_executable(p))
        .expect("git on PATH")
}

fn is_executable(p: &Path) -> bool {
    p.metadata().is_ok_and(|m| m.is_file())
}
