//! A real container engine for tests: podman, its Docker-compatible API served on a socket of
//! the test's own (`podman system service --time=0 unix://…`), and images built locally
//! `FROM scratch` out of a root file system the test makes, so that no registry is needed.
//!
//! What this machine needs, and CI machines like it (see also `tests/containers/`):
//! - `--runtime runc`: crun, podman's default, refuses the hybrid cgroups of these sandboxes;
//! - `--ulimit nofile=1024:1024 --ulimit nproc=4000:4000`: podman raises both limits by
//!   default, which a sandbox without CAP_SYS_RESOURCE refuses;
//! - `--network none`: no network is set up, nor needed;
//! - root: rootless podman needs user namespaces these sandboxes do not give.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::Group;

/// A podman API service for one test, and the containers and images it made, removed on drop.
#[derive(Debug)]
pub struct Podman {
    _service: Group,
    dir: tempfile::TempDir,
    socket: PathBuf,
    prefix: String,
}

impl Podman {
    /// Starts the API service on a socket of its own. Panics, saying how to get it, when podman
    /// is not installed.
    pub fn start(test: &str) -> Podman {
        let dir = tempfile::tempdir().expect("temp dir");
        let socket = dir.path().join("podman.sock");
        let service = Group::spawn(
            Command::new("podman")
                .args(["system", "service", "--time=0"])
                .arg(format!("unix://{}", socket.display()))
                .stdout(Stdio::null())
                .stderr(Stdio::null()),
        )
        .unwrap_or_else(|e| {
            panic!("cannot start podman ({e}): these tests need it (`apt-get install podman runc`, as root)")
        });
        let deadline = Instant::now() + Duration::from_secs(30);
        while !socket.exists() {
            assert!(
                Instant::now() < deadline,
                "podman's API socket never appeared"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        Podman {
            _service: service,
            dir,
            socket,
            prefix: format!("shipstamp-test-{}-{test}", std::process::id()),
        }
    }

    /// `unix:///…/podman.sock`, for `--engine`.
    pub fn engine(&self) -> String {
        format!("unix://{}", self.socket.display())
    }

    /// The socket's path.
    pub fn socket(&self) -> &Path {
        &self.socket
    }

    /// A container or image name of this test's own: `shipstamp-test-PID-TEST-name`.
    pub fn name(&self, name: &str) -> String {
        format!("{}-{name}", self.prefix)
    }

    /// Runs podman (with runc) and returns its standard output; panics when it fails.
    pub fn podman(&self, args: &[&str]) -> String {
        let out = Command::new("podman")
            .args(["--runtime", "runc"])
            .args(args)
            .stdin(Stdio::null())
            .output()
            .expect("podman runs");
        assert!(
            out.status.success(),
            "podman {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).trim().to_owned()
    }

    /// Builds `tag` from `root` (a directory that becomes `/`), with these labels and
    /// entrypoint, and returns its image id.
    pub fn build(
        &self,
        tag: &str,
        root: &Path,
        labels: &[(&str, &str)],
        entrypoint: &[&str],
    ) -> String {
        let context = tempfile::tempdir_in(self.dir.path()).expect("context dir");
        copy_tree(root, &context.path().join("root"));
        let mut file = String::from("FROM scratch\nCOPY root/ /\n");
        for (key, value) in labels {
            file.push_str(&format!("LABEL {key}={value:?}\n"));
        }
        file.push_str(&format!(
            "ENTRYPOINT {}\n",
            serde_json::to_string(entrypoint).expect("JSON")
        ));
        std::fs::write(context.path().join("Containerfile"), file).expect("write Containerfile");
        let context = context.path().to_str().expect("a UTF-8 path");
        self.podman(&["build", "-q", "-t", tag, context])
    }

    /// Starts container `name` from `image` in the background, with these labels.
    pub fn run(&self, name: &str, image: &str, labels: &[(&str, &str)]) -> String {
        let mut args: Vec<String> = ["run", "-d", "--name", name, "--network", "none"]
            .map(String::from)
            .into();
        args.extend(
            [
                "--ulimit",
                "nofile=1024:1024",
                "--ulimit",
                "nproc=4000:4000",
            ]
            .map(String::from),
        );
        for (key, value) in labels {
            args.push("--label".into());
            args.push(format!("{key}={value}"));
        }
        args.push(image.into());
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        self.podman(&args)
    }

    /// A container's main process id on this host.
    pub fn pid(&self, name: &str) -> u32 {
        self.podman(&["inspect", "--format", "{{.State.Pid}}", name])
            .parse()
            .expect("a pid")
    }

    /// A directory to make into an image holding `binary` as `/app` and the shared libraries
    /// it needs (from `ldd`), at their paths.
    pub fn root_with(&self, binary: &Path) -> tempfile::TempDir {
        let root = tempfile::tempdir_in(self.dir.path()).expect("root dir");
        std::fs::copy(binary, root.path().join("app")).expect("copy the binary");
        let ldd = Command::new("ldd").arg(binary).output().expect("ldd runs");
        for library in String::from_utf8_lossy(&ldd.stdout)
            .split_whitespace()
            .filter(|w| w.starts_with('/'))
        {
            let to = root.path().join(library.trim_start_matches('/'));
            std::fs::create_dir_all(to.parent().expect("a directory")).expect("mkdir");
            std::fs::copy(library, &to).expect("copy a library");
        }
        root
    }
}

impl Drop for Podman {
    fn drop(&mut self) {
        let containers = format!("name=^{}", self.prefix);
        remove_listed(
            &["ps", "-aq", "--filter", &containers],
            &["rm", "-f", "-t", "0"],
        );
        let images = format!("reference=*{}*", self.prefix);
        remove_listed(&["images", "-q", "--filter", &images], &["rmi", "-f"]);
    }
}

/// `podman REMOVE ids…` for the ids `podman LIST` prints, if any; failures are ignored (a
/// test that already failed must not panic again while unwinding).
fn remove_listed(list: &[&str], remove: &[&str]) {
    let Ok(out) = Command::new("podman").args(list).output() else {
        return;
    };
    let ids = String::from_utf8_lossy(&out.stdout);
    let ids: Vec<&str> = ids.split_whitespace().collect();
    if !ids.is_empty() {
        let _ = Command::new("podman").args(remove).args(&ids).output();
    }
}

fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for entry in std::fs::read_dir(from).expect("read dir") {
        let entry = entry.expect("entry");
        let target = to.join(entry.file_name());
        if entry.file_type().expect("file type").is_dir() {
            copy_tree(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).expect("copy");
        }
    }
}
