//! `git fetch`, bounded in time: a dashboard that runs for days keeps `origin/main` current.

use std::process::Stdio;

use super::{Repo, RepoError, RepoErrorKind, spawn_error};

impl Repo {
    /// `git fetch` from the default remote, given at most `timeout` (then killed): a dashboard
    /// that runs for days keeps `origin/main` current this way. Never prompts for credentials.
    pub fn fetch(&self, timeout: std::time::Duration) -> Result<(), RepoError> {
        let mut cmd = Repo::command(&self.dir, &["fetch", "--quiet"]);
        cmd.stdin(Stdio::null()).stdout(Stdio::null());
        // Its own process group: git runs a remote helper (git-remote-https, ssh) that a hung
        // fetch is stuck in, and that must be stopped with it.
        #[cfg(unix)]
        std::os::unix::process::CommandExt::process_group(&mut cmd, 0);
        let mut child = cmd.spawn().map_err(|e| spawn_error(&["fetch"], e))?;
        // Read what git says while it runs, so a chatty git cannot block on a full pipe.
        let stderr = child.stderr.take();
        let (said_tx, said) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut text = String::new();
            if let Some(mut stderr) = stderr {
                let _ = std::io::Read::read_to_string(&mut stderr, &mut text);
            }
            let _ = said_tx.send(text);
        });
        let started = std::time::Instant::now();
        let status = loop {
            match child.try_wait() {
                Ok(Some(status)) => break Some(status),
                Ok(None) if started.elapsed() >= timeout => {
                    stop_group(&mut child);
                    break None;
                }
                Ok(None) => std::thread::sleep(std::time::Duration::from_millis(20)),
                Err(e) => return Err(spawn_error(&["fetch"], e)),
            }
        };
        // Everything git and its helpers wrote, once they have all exited.
        let stderr = said
            .recv_timeout(std::time::Duration::from_secs(1))
            .unwrap_or_default()
            .trim()
            .to_owned();
        match status {
            Some(s) if s.success() => Ok(()),
            Some(s) => Err(RepoError {
                stderr: (!stderr.is_empty()).then_some(stderr),
                ..RepoError::new(
                    RepoErrorKind::GitFailed,
                    format!(
                        "git fetch {}",
                        s.code().map_or_else(
                            || "was killed".to_owned(),
                            |c| format!("exited with {c}")
                        )
                    ),
                )
            }),
            None => Err(RepoError::new(
                RepoErrorKind::GitFailed,
                format!(
                    "git fetch did not finish within {}s, and was stopped",
                    timeout.as_secs_f64().round()
                ),
            )),
        }
    }
}

/// Kills `child`'s process group (git and the helpers it started), then reaps `child`.
fn stop_group(child: &mut std::process::Child) {
    #[cfg(unix)]
    if let Ok(pgid) = libc::pid_t::try_from(child.id()) {
        // SAFETY: kill(2) takes plain integers and touches no memory of ours; the group is the
        // one `process_group(0)` made for this child, whose id is `pgid` until it is reaped
        // below.
        #[allow(unsafe_code)]
        unsafe {
            libc::kill(-pgid, libc::SIGKILL);
        }
    }
    let _ = child.kill();
    let _ = child.wait();
}
