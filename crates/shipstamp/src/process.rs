//! Facts about the running process: when it started, and whether its executable has been
//! replaced on disk since (a restart is pending).

use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use crate::{Process, Timestamp};

/// A snapshot of the current process's facts.
pub(crate) fn current() -> Process {
    let started_at = start_time();
    let uptime_seconds = started_at.map(|s| {
        Timestamp::now()
            .unix_seconds()
            .saturating_sub(s.unix_seconds())
            .max(0) as u64
    });
    Process {
        started_at,
        uptime_seconds,
        exe_replaced: exe_replaced(),
    }
}

/// The real start time of this process (Linux: from `/proc`, not the first call), or `None`
/// where the platform does not tell.
pub(crate) fn start_time() -> Option<Timestamp> {
    static START: OnceLock<Option<Timestamp>> = OnceLock::new();
    *START.get_or_init(os::start_time)
}

/// Whether the executable this process started from has since been replaced or deleted,
/// re-checked at most once a second (a check per request measured at +50 % server CPU).
pub(crate) fn exe_replaced() -> Option<bool> {
    // One atomic holds both when the last check ran and what it found, `tick << 2 | state`,
    // so a reader never sees a check time without its result. A tick is one second since
    // `EPOCH`, plus one.
    static CHECKED: AtomicU64 = AtomicU64::new(0);
    static EPOCH: OnceLock<(Instant, Option<os::ExeId>)> = OnceLock::new();
    const UNKNOWN: u64 = 2;
    let encode = |replaced: Option<bool>| replaced.map_or(UNKNOWN, u64::from);

    let (epoch, original) = EPOCH.get_or_init(|| {
        let original = os::exe_id();
        // The first check runs here, before any caller can read the state.
        let state = original
            .as_ref()
            .map_or(UNKNOWN, |o| encode(os::exe_replaced(o)));
        CHECKED.store(1 << 2 | state, Ordering::Release);
        (Instant::now(), original)
    });
    let original = original.as_ref()?;
    let tick = epoch.elapsed().as_secs() + 1;
    let checked = CHECKED.load(Ordering::Acquire);
    let mut state = checked & 3;
    // One caller per second wins the exchange and checks again; the others answer with the
    // previous result, at most a second old.
    if checked >> 2 != tick
        && CHECKED
            .compare_exchange(
                checked,
                tick << 2 | state,
                Ordering::AcqRel,
                Ordering::Acquire,
            )
            .is_ok()
    {
        state = encode(os::exe_replaced(original));
        CHECKED.store(tick << 2 | state, Ordering::Release);
    }
    match state {
        0 => Some(false),
        1 => Some(true),
        _ => None,
    }
}

#[cfg(target_os = "linux")]
mod os {
    use std::os::unix::fs::MetadataExt;

    use crate::Timestamp;

    pub(super) fn start_time() -> Option<Timestamp> {
        shipstamp_format::process_started_at(None).map(Timestamp::from_unix_seconds)
    }

    #[derive(Debug, PartialEq, Eq)]
    pub(super) struct ExeId {
        dev: u64,
        ino: u64,
    }

    /// The identity of the file this process was started from (the kernel keeps it even
    /// when the path now names another file or none).
    pub(super) fn exe_id() -> Option<ExeId> {
        let m = std::fs::metadata("/proc/self/exe").ok()?;
        Some(ExeId {
            dev: m.dev(),
            ino: m.ino(),
        })
    }

    pub(super) fn exe_replaced(original: &ExeId) -> Option<bool> {
        let path = std::fs::read_link("/proc/self/exe").ok()?;
        match std::fs::metadata(&path) {
            Ok(m) => Some(m.dev() != original.dev || m.ino() != original.ino),
            // The link reads "<path> (deleted)" once the file is gone.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Some(true),
            Err(_) => None,
        }
    }
}

#[cfg(not(target_os = "linux"))]
mod os {
    use crate::Timestamp;

    #[derive(Debug)]
    pub(super) enum ExeId {}

    pub(super) fn start_time() -> Option<Timestamp> {
        None
    }

    pub(super) fn exe_id() -> Option<ExeId> {
        None
    }

    pub(super) fn exe_replaced(original: &ExeId) -> Option<bool> {
        match *original {}
    }
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;

    #[test]
    fn start_time_is_the_process_start_not_first_use() {
        let started = start_time().expect("linux has /proc");
        let now = Timestamp::now().unix_seconds();
        assert!(started.unix_seconds() <= now);
        assert!(now - started.unix_seconds() < 24 * 3600, "{started}");
    }

    #[test]
    #[ignore = "needs ps (procps; .ci/run installs it and runs it)"]
    fn start_time_agrees_with_ps() {
        let started = start_time().expect("linux has /proc");
        let now = Timestamp::now().unix_seconds();
        // `ps` uses the same counters, rounded differently: it agrees to the second.
        let out = std::process::Command::new("ps")
            .args(["-o", "etimes=", "-p", &std::process::id().to_string()])
            .output()
            .expect("ps runs (apt-get install procps)");
        assert!(out.status.success());
        let elapsed: i64 = String::from_utf8_lossy(&out.stdout).trim().parse().unwrap();
        assert!((now - started.unix_seconds() - elapsed).abs() <= 2);
    }

    #[test]
    fn concurrent_callers_never_see_an_unknown_state() {
        // Many threads across a second boundary: one re-checks, the others must answer with
        // the previous result, never "unknown" (a race that once served `null`).
        let threads: Vec<_> = (0..8)
            .map(|_| {
                std::thread::spawn(|| {
                    let until = Instant::now() + std::time::Duration::from_millis(1300);
                    let mut calls = 0;
                    while Instant::now() < until {
                        assert_eq!(exe_replaced(), Some(false));
                        calls += 1;
                    }
                    calls
                })
            })
            .collect();
        for t in threads {
            assert!(t.join().unwrap() > 0);
        }
    }

    #[test]
    fn test_binary_is_not_replaced() {
        assert_eq!(exe_replaced(), Some(false));
        assert_eq!(current().exe_replaced, Some(false));
    }
}
