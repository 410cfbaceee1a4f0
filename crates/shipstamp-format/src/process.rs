//! When a process started, as Linux tells it in `/proc/PID/stat` (field 22, `starttime`, in
//! ticks after boot), placed against the clock through `/proc/uptime`: to 10 ms, where `btime` in
//! `/proc/stat` is whole seconds and would put the start up to two seconds early.

/// The ticks of `/proc/PID/stat`'s times: USER_HZ, 100 on every Linux architecture Rust targets
/// (part of the ABI, unlike the kernel's HZ).
const USER_HZ: f64 = 100.0;

/// `starttime` (field 22) of a `/proc/PID/stat` line, in ticks after boot.
///
/// ```
/// let stat = "4242 (a (tricky) name) S 1 4242 4242 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 123456 1000 10 0";
/// assert_eq!(shipstamp_format::start_ticks(stat), Some(123456));
/// ```
pub fn start_ticks(stat: &str) -> Option<u64> {
    // The command name, field 2, is in parentheses and may itself hold spaces or ')'.
    let after_comm = &stat[stat.rfind(')')? + 1..];
    // Fields from 3 on; `starttime` is field 22.
    after_comm.split_whitespace().nth(19)?.parse().ok()
}

/// When process `pid` started (`None`: this process), in Unix seconds; `None` where `/proc`
/// does not tell (not Linux, no such process, not permitted).
pub fn process_started_at(pid: Option<u32>) -> Option<i64> {
    let stat = match pid {
        Some(pid) => std::fs::read_to_string(format!("/proc/{pid}/stat")),
        None => std::fs::read_to_string("/proc/self/stat"),
    }
    .ok()?;
    let ticks = start_ticks(&stat)? as f64;
    // Read together with the clock.
    let uptime: f64 = std::fs::read_to_string("/proc/uptime")
        .ok()?
        .split_whitespace()
        .next()?
        .parse()
        .ok()?;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .ok()?
        .as_secs_f64();
    let running_for = (uptime - ticks / USER_HZ).max(0.0);
    Some((now - running_for).floor() as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_with_parentheses_and_spaces() {
        let fields = "S 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 424242 20";
        for name in ["cat", "a b", "a) (b", ")", "(("] {
            let stat = format!("77 ({name}) {fields}");
            assert_eq!(start_ticks(&stat), Some(424_242), "{name}");
        }
        assert_eq!(start_ticks("77 (cat) S 1 2"), None);
        assert_eq!(start_ticks("no parenthesis"), None);
        assert_eq!(start_ticks(""), None);
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn this_process_started_just_now() {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs() as i64;
        let started = process_started_at(None).unwrap();
        assert!(started <= now && now - started < 3600, "{started} {now}");
        assert_eq!(process_started_at(Some(std::process::id())), Some(started));
        assert_eq!(process_started_at(Some(u32::MAX)), None);
    }
}
