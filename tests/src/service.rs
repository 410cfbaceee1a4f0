use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Mutex, OnceLock};

/// Builds a package of this workspace (debug) and returns the path of its executable `bin`.
/// Builds each package once per test process.
pub fn workspace_binary(package: &str, bin: &str) -> PathBuf {
    static BUILT: OnceLock<Mutex<Vec<String>>> = OnceLock::new();
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut built = BUILT
        .get_or_init(Mutex::default)
        .lock()
        .unwrap_or_else(|p| p.into_inner());
    if !built.iter().any(|b| b == package) {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let out = Command::new(cargo)
            .current_dir(&workspace)
            .args(["build", "-p", package])
            .env_remove("CARGO_TARGET_DIR")
            .output()
            .expect("cargo runs");
        assert!(
            out.status.success(),
            "building {package}:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        built.push(package.to_owned());
    }
    workspace.join("target/debug").join(bin)
}

/// `cmd.spawn()`, retried while the executable is "busy". A binary this test process has just
/// copied can still be open for writing, for a moment, in a child that another test thread
/// forked before it exec'd (rust-lang/rust#114554); exec of the copy then fails with ETXTBSY.
pub fn spawn_fresh_binary(cmd: &mut Command) -> std::io::Result<Child> {
    let mut tries = 0;
    loop {
        match cmd.spawn() {
            Err(e) if e.kind() == std::io::ErrorKind::ExecutableFileBusy && tries < 100 => {
                tries += 1;
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
            spawned => return spawned,
        }
    }
}

/// A service process listening on loopback, killed on drop.
#[derive(Debug)]
pub struct Service {
    child: Child,
    /// The address it listens on.
    pub addr: SocketAddr,
    /// What it wrote to stderr up to and including its `listening on http://…` line.
    pub startup: Vec<String>,
}

impl Service {
    /// Starts `binary` with `LISTEN_ADDR=127.0.0.1:0` (plus `envs`) and waits for the
    /// `listening on http://ADDR` line it prints once bound.
    pub fn start(binary: &Path, envs: &[(&str, &str)]) -> Service {
        let mut cmd = Command::new(binary);
        cmd.env("LISTEN_ADDR", "127.0.0.1:0")
            .envs(envs.iter().copied());
        Service::spawn(cmd)
    }

    /// Starts `cmd` and waits for the `listening on http://ADDR` line it prints to stderr once
    /// bound (as the examples and `shipstamp dashboard` do).
    pub fn spawn(mut cmd: Command) -> Service {
        let binary = Path::new(cmd.get_program()).to_path_buf();
        cmd.stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        let mut child = spawn_fresh_binary(&mut cmd).expect("service starts");
        let stderr = child.stderr.take().expect("piped");
        let mut lines = BufReader::new(stderr).lines();
        let mut startup = Vec::new();
        let addr = loop {
            let Some(Ok(line)) = lines.next() else {
                let _ = child.kill();
                panic!(
                    "{} exited before listening; stderr: {startup:?}",
                    binary.display()
                );
            };
            let addr = line
                .strip_prefix("listening on http://")
                .map(|a| a.parse().expect("address"));
            startup.push(line);
            if let Some(addr) = addr {
                break addr;
            }
        };
        // Keep draining stderr so the service never blocks on a full pipe.
        std::thread::spawn(move || lines.for_each(drop));
        Service {
            child,
            addr,
            startup,
        }
    }
}

impl Service {
    /// Its process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Sends SIGTERM (as `docker stop`, Kubernetes and systemd do) and waits up to `within`
    /// for the process to exit; `None` if it is still running then (it is then killed).
    pub fn terminate(&mut self, within: std::time::Duration) -> Option<std::process::ExitStatus> {
        let pid = libc::pid_t::try_from(self.child.id()).expect("a pid");
        // SAFETY: kill(2) with a pid this Service owns and has not yet reaped.
        #[allow(unsafe_code)]
        let sent = unsafe { libc::kill(pid, libc::SIGTERM) };
        assert_eq!(sent, 0, "SIGTERM to {pid}");
        let deadline = std::time::Instant::now() + within;
        while std::time::Instant::now() < deadline {
            if let Some(status) = self.child.try_wait().expect("wait") {
                return Some(status);
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        self.kill();
        None
    }

    /// Stops the process now (as a crash or a `kill -9` would).
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        self.kill();
    }
}
