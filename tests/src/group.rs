//! A child process in its own process group, killed with everything it started: a shell
//! script's `sleep` must not outlive the test (it would hold the test's output pipe open, and
//! whoever waits for that pipe, CI, would wait for it).

use std::os::unix::process::CommandExt as _;
use std::process::{Child, Command};

/// A child leading its own process group; the group is killed on drop.
#[derive(Debug)]
pub struct Group(Child);

impl Group {
    /// Spawns `cmd` as the leader of a new process group.
    pub fn spawn(cmd: &mut Command) -> std::io::Result<Group> {
        cmd.process_group(0).spawn().map(Group)
    }

    /// The leader's process id.
    pub fn id(&self) -> u32 {
        self.0.id()
    }
}

impl Drop for Group {
    fn drop(&mut self) {
        if let Ok(pgid) = libc::pid_t::try_from(self.0.id()) {
            // SAFETY: kill(2) with the id of the group this child leads; the child is not
            // reaped yet (below), so the id is still ours.
            #[allow(unsafe_code)]
            unsafe {
                libc::kill(-pgid, libc::SIGKILL);
            }
        }
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}
