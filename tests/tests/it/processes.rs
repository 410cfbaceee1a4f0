//! Is this process, this binary, running REF? Real processes, real binaries, real
//! repositories: a stamped service replaced on disk under its running process, script workers
//! without a stamp started before and after a fix, a library replaced under a process, a
//! pidfile rewritten by a restart while `--wait` runs, and every kind of bad input.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use shipstamp_tests::{Fixture, TempRepo, spawn_fresh_binary};

use crate::util::{check_in, cli, code, json, stdout, text};

/// A child killed on drop.
struct Running(Child);

impl Running {
    fn pid(&self) -> String {
        self.0.id().to_string()
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts a stamped fixture binary that prints its stamp and waits for a line on stdin.
fn start_stamped(binary: &Path) -> Running {
    let mut child = spawn_fresh_binary(
        Command::new(binary)
            .arg("--again")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped()),
    )
    .expect("the binary runs");
    let mut lines = BufReader::new(child.stdout.take().expect("piped")).lines();
    lines.next().expect("it prints its stamp").expect("text");
    Running(child)
}

/// Waits until the seconds of the clock have moved on: process start times and commit times
/// are whole seconds, and these tests need one strictly after the other.
fn next_second() {
    std::thread::sleep(Duration::from_millis(1100));
}

#[test]
fn a_stamped_service_replaced_on_disk_under_its_running_process() {
    let repo = TempRepo::new();
    let fixture = Fixture::write(repo.path(), "proc-svc");
    let first = repo.commit_all("first");
    repo.git(&["branch", "-M", "main"]);
    assert!(fixture.build(&[]).success);
    let dir = tempfile::tempdir().unwrap();
    let installed = dir.path().join("proc-svc");
    std::fs::copy(fixture.binary("debug"), &installed).unwrap();
    let running = start_stamped(&installed);
    let pid = format!("pid:{}", running.pid());

    let out = check_in(&repo, &["--ref", "main", "--json", &pid]);
    assert_eq!(code(&out), 0, "{}", text(&out));
    let t = &json(&out)["targets"][0];
    assert_eq!(
        (
            t["status"].as_str(),
            t["shape"].as_str(),
            t["commit"].as_str()
        ),
        (Some("match"), Some("process"), Some(first.as_str()))
    );
    assert_eq!(t["process"]["pid"], running.0.id());
    assert_eq!(Path::new(t["process"]["exe"].as_str().unwrap()), installed);
    assert!(t["started_at"].is_string());
    assert_eq!(t["exe_replaced"], false);

    // The fix is merged and built, and the new binary installed the way installers do (write
    // beside, rename over); nobody restarts the process.
    next_second();
    repo.write("src/fix.rs", "// the fix\n");
    let fix = repo.commit_all("the fix");
    assert!(fixture.build(&[]).success);
    let staged = dir.path().join("proc-svc.new");
    std::fs::copy(fixture.binary("debug"), &staged).unwrap();
    std::fs::rename(&staged, &installed).unwrap();

    let out = check_in(&repo, &["--ref", "main", "--json", &pid]);
    assert_eq!(code(&out), 1, "still the old build: {}", text(&out));
    let t = &json(&out)["targets"][0];
    assert_eq!(
        (t["status"].as_str(), t["behind"].as_u64()),
        (Some("behind"), Some(1))
    );
    assert_eq!(t["exe_replaced"], true, "a restart is pending");
    assert_eq!(t["started_before_ref"], true);
    let human = text(&check_in(&repo, &["--ref", "main", &pid]));
    assert!(
        human.contains("restart pending") && human.contains("never restarted?"),
        "{human}"
    );

    // The file on disk is the fix: as file:PATH and as a plain path.
    let file = format!("file:{}", installed.display());
    for target in [file.as_str(), installed.to_str().unwrap()] {
        let out = check_in(&repo, &["--ref", "main", "--json", target]);
        assert_eq!(code(&out), 0, "{target}: {}", text(&out));
        let t = &json(&out)["targets"][0];
        assert_eq!(
            (t["shape"].as_str(), t["commit"].as_str()),
            (Some("binary"), Some(fix.as_str()))
        );
    }
    // inspect --pid agrees: a restart is needed.
    let out = Command::new(cli())
        .args(["inspect", "--pid", &running.pid()])
        .output()
        .unwrap();
    assert_eq!(code(&out), 1, "{}", text(&out));
    assert!(stdout(&out).contains("restart needed"), "{}", text(&out));
}

/// A worker that read its source once, at start, and has served that logic since: the
/// interpreter carries no stamp.
/// A worker in its own process group: a shell script's `sleep` dies with it.
fn start_worker(interpreter: &str, script: &str, repo: &Path) -> shipstamp_tests::Group {
    shipstamp_tests::Group::spawn(
        Command::new(interpreter)
            .arg(script)
            .current_dir(repo)
            .stdin(Stdio::null())
            .stdout(Stdio::null()),
    )
    .unwrap_or_else(|e| panic!("{interpreter} runs ({e})"))
}

fn workers_judged_by_when_they_started(interpreter: &str, script: &str, source: &str) {
    let repo = TempRepo::new();
    repo.write(script, source);
    repo.write("rules/discounts.txt", "10%\n");
    repo.commit_all("the worker");
    repo.git(&["branch", "-M", "main"]);
    // Times are whole seconds: the worker starts in a later one than its first commit.
    next_second();
    let before = start_worker(interpreter, script, repo.path());
    next_second();
    repo.write("rules/discounts.txt", "10%, capped at 50\n");
    repo.commit_all("Cap discounts at 50");
    next_second();
    let after = start_worker(interpreter, script, repo.path());
    // An edit nobody committed, made while both run.
    repo.write("rules/extra.txt", "new\n");

    let out = check_in(
        &repo,
        &["--ref", "main", "--json", &format!("pid:{}", before.id())],
    );
    assert_eq!(code(&out), 1, "stale is drift: {}", text(&out));
    let t = &json(&out)["targets"][0];
    assert_eq!(t["status"], "stale", "{t:#}");
    // Missing since the first commit made after it started.
    assert_eq!(t["drift_commit"], repo.head(), "{t:#}");
    assert!(t["drift_seconds"].as_u64().is_some(), "{t:#}");
    let reason = t["reason"].as_str().unwrap();
    assert!(
        reason.contains("carries no stamp")
            && reason.contains("cannot be running it")
            && reason.contains("lazily or reloads"),
        "{reason}"
    );
    let changes = &t["process"]["source_changes"];
    assert_eq!(
        Path::new(changes["repository"].as_str().unwrap()),
        repo.path()
    );
    let first: Vec<&str> = changes["first"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p.as_str().unwrap())
        .collect();
    assert!(
        first.contains(&"rules/discounts.txt") && first.contains(&"rules/extra.txt"),
        "committed and edited since it started: {first:?}"
    );
    assert_eq!(changes["count"], 2);

    let out = check_in(
        &repo,
        &["--ref", "main", "--json", &format!("pid:{}", after.id())],
    );
    assert_eq!(code(&out), 2, "unstamped is undecided: {}", text(&out));
    let t = &json(&out)["targets"][0];
    assert_eq!(t["status"], "unstamped");
    assert!(t["reason"].as_str().unwrap().contains("proves nothing"));
    assert_eq!(t["process"]["source_changes"]["count"], 1, "only the edit");

    let out = check_in(
        &repo,
        &[
            "--ref",
            "main",
            &format!("pid:{}", before.id()),
            &format!("pid:{}", after.id()),
        ],
    );
    assert_eq!(code(&out), 1, "drift wins: {}", text(&out));
    assert!(
        stdout(&out).contains("changed since it started"),
        "{}",
        text(&out)
    );
    let stale = stdout(&out)
        .lines()
        .find(|l| l.starts_with("stale"))
        .unwrap()
        .to_owned();
    assert_eq!(
        stale.matches("before").count(),
        1,
        "said once that it started before the commit: {stale}"
    );
    assert!(
        stale.contains("; drifting for ") && stale.contains("\"Cap discounts at 50\""),
        "{stale}"
    );

    // inspect --pid says what Linux tells, instead of only "no stamp".
    let out = Command::new(cli())
        .args(["inspect", "--pid", &before.id().to_string()])
        .output()
        .unwrap();
    assert_eq!(code(&out), 2, "{}", text(&out));
    let report = stdout(&out);
    assert!(
        report.contains("running:  no stamp")
            && report.contains("started:")
            && report.contains("2 files changed since it started"),
        "{report}"
    );
    let out = Command::new(cli())
        .args(["inspect", "--json", "--pid", &before.id().to_string()])
        .output()
        .unwrap();
    let doc = json(&out);
    assert_eq!(doc["running"], serde_json::json!([]));
    assert_eq!(doc["source_changes"]["count"], 2);
}

#[test]
fn shell_workers_started_before_and_after_a_fix() {
    workers_judged_by_when_they_started(
        "sh",
        "worker.sh",
        "# reads its rules once, then serves them\nread -r rules < rules/discounts.txt\nsleep 600\n",
    );
}

#[test]
#[ignore = "needs python3 (apt-get install python3-minimal; .ci/run runs it)"]
fn python_workers_started_before_and_after_a_fix() {
    workers_judged_by_when_they_started(
        "python3",
        "worker.py",
        "# reads its rules once, then serves them\nrules = open('rules/discounts.txt').read()\nimport time\ntime.sleep(600)\n",
    );
}

/// zlib, which git links: on every machine that runs these tests.
fn a_system_library() -> PathBuf {
    let out = Command::new("ldd")
        .arg(
            std::env::split_paths(&std::env::var_os("PATH").unwrap())
                .map(|d| d.join("git"))
                .find(|p| p.is_file())
                .expect("git on PATH"),
        )
        .output();
    let listed = out
        .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
        .unwrap_or_default();
    listed
        .lines()
        .find(|l| l.contains("libz.so"))
        .and_then(|l| l.split("=>").nth(1))
        .and_then(|rest| rest.split_whitespace().next())
        .map(PathBuf::from)
        .or_else(|| {
            [
                "/lib/x86_64-linux-gnu/libz.so.1",
                "/usr/lib/x86_64-linux-gnu/libz.so.1",
                "/lib64/libz.so.1",
                "/usr/lib64/libz.so.1",
                "/lib/aarch64-linux-gnu/libz.so.1",
            ]
            .iter()
            .map(PathBuf::from)
            .find(|p| p.exists())
        })
        .expect("zlib, which git links, is on this machine")
}

#[test]
fn a_library_replaced_under_a_running_process() {
    let repo = TempRepo::new();
    repo.commit_all("one");
    repo.git(&["branch", "-M", "main"]);
    let dir = tempfile::tempdir().unwrap();
    let library = dir.path().join("libshipstamp-test.so");
    std::fs::copy(a_system_library(), &library).unwrap();
    let running = Running(
        Command::new("sleep")
            .arg("600")
            .env("LD_PRELOAD", &library)
            .spawn()
            .unwrap(),
    );
    let maps = format!("/proc/{}/maps", running.pid());
    let start = Instant::now();
    while !std::fs::read_to_string(&maps)
        .unwrap_or_default()
        .contains("libshipstamp-test.so")
    {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "the library was never mapped"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    // An upgrade replaces the library file; the process still runs the old one.
    let staged = dir.path().join("libshipstamp-test.so.new");
    std::fs::copy(a_system_library(), &staged).unwrap();
    std::fs::rename(&staged, &library).unwrap();

    let out = check_in(
        &repo,
        &["--ref", "main", "--json", &format!("pid:{}", running.pid())],
    );
    let t = &json(&out)["targets"][0];
    assert_eq!(
        t["process"]["replaced_libraries"],
        serde_json::json!([library.display().to_string()])
    );
    let human = text(&check_in(
        &repo,
        &["--ref", "main", &format!("pid:{}", running.pid())],
    ));
    assert!(
        human.contains(&format!(
            "the library {} was replaced on disk",
            library.display()
        )),
        "{human}"
    );
    let out = Command::new(cli())
        .args(["inspect", "--pid", &running.pid()])
        .output()
        .unwrap();
    assert_eq!(code(&out), 1, "{}", text(&out));
    assert!(
        stdout(&out).contains("restart needed: a library it runs was replaced"),
        "{}",
        text(&out)
    );
}

#[test]
fn wait_follows_a_pidfile_through_a_restart() {
    let repo = TempRepo::new();
    let fixture = Fixture::write(repo.path(), "pidfile-svc");
    repo.commit_all("old");
    repo.git(&["branch", "-M", "main"]);
    let bins = tempfile::tempdir().unwrap();
    assert!(fixture.build(&[]).success);
    let old = bins.path().join("old");
    std::fs::copy(fixture.binary("debug"), &old).unwrap();
    repo.write("src/fix.rs", "// fix\n");
    repo.commit_all("fix");
    assert!(fixture.build(&[]).success);
    let new = bins.path().join("new");
    std::fs::copy(fixture.binary("debug"), &new).unwrap();

    let pidfile = bins.path().join("svc.pid");
    let mut service = start_stamped(&old);
    std::fs::write(&pidfile, format!("{}\n", service.pid())).unwrap();
    let waiting = Command::new(cli())
        .args([
            "check",
            "--ref",
            "main",
            "--wait",
            "60s",
            "--interval",
            "200ms",
        ])
        .arg(format!("pidfile:{}", pidfile.display()))
        .arg("--repo")
        .arg(repo.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(800));
    // The restart: the new build starts, writes its pid, the old one goes.
    let restarted = start_stamped(&new);
    std::fs::write(&pidfile, format!("{}\n", restarted.pid())).unwrap();
    drop(std::mem::replace(&mut service, restarted));
    let out = waiting.wait_with_output().unwrap();
    assert_eq!(code(&out), 0, "{}", text(&out));
    assert!(text(&out).contains("all matched after"), "{}", text(&out));
}

#[test]
fn bad_process_and_file_targets_say_why() {
    let repo = TempRepo::new();
    repo.commit_all("one");
    repo.git(&["branch", "-M", "main"]);
    let dir = tempfile::tempdir().unwrap();
    let garbage = dir.path().join("garbage.pid");
    std::fs::write(&garbage, "not a pid\n").unwrap();
    let text_file = dir.path().join("notes.txt");
    std::fs::write(&text_file, "just text\n").unwrap();
    let cases = [
        (
            "pid:4294967295".to_owned(),
            "unreachable",
            "process 4294967295: no such process",
        ),
        (
            format!("pidfile:{}", garbage.display()),
            "invalid-response",
            "holds \"not a pid\", not a process id",
        ),
        (
            format!("pidfile:{}", dir.path().join("missing.pid").display()),
            "unreachable",
            "missing.pid: No such file",
        ),
        (
            text_file.display().to_string(),
            "invalid-response",
            "not an ELF, Mach-O or PE executable",
        ),
        (
            format!("file:{}", dir.path().display()),
            "invalid-response",
            "is a directory",
        ),
        (
            format!("file:{}", dir.path().join("gone").display()),
            "unreachable",
            "No such file",
        ),
    ];
    let mut args = vec!["--ref".to_owned(), "main".into(), "--json".into()];
    args.extend(cases.iter().map(|(t, ..)| t.clone()));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = check_in(&repo, &args);
    assert_eq!(code(&out), 2, "{}", text(&out));
    let doc = json(&out);
    for (i, (target, status, says)) in cases.iter().enumerate() {
        let t = &doc["targets"][i];
        assert_eq!(t["status"], *status, "{target}: {t:#}");
        assert!(
            t["reason"].as_str().unwrap_or("").contains(says),
            "{target}: {}",
            t["reason"]
        );
    }
    for bad in ["pid:abc", "pid:", "pid:0", "pidfile:"] {
        let out = check_in(&repo, &["--ref", "main", bad]);
        assert_eq!(code(&out), 64, "{bad}: {}", text(&out));
    }
    let out = Command::new(cli())
        .args(["inspect", "--pid", "4294967295"])
        .output()
        .unwrap();
    assert_eq!(code(&out), 2);
    assert!(
        text(&out).contains("no process with id 4294967295"),
        "{}",
        text(&out)
    );
}

#[test]
#[ignore = "needs root, to read a root process as another user (.ci/run runs it)"]
fn a_process_shipstamp_may_not_read() {
    use std::os::unix::fs::PermissionsExt;
    assert!(
        std::fs::metadata("/proc/self")
            .map(|m| std::os::unix::fs::MetadataExt::uid(&m))
            .unwrap_or(1)
            == 0,
        "run as root"
    );
    let root_process = Running(Command::new("sleep").arg("600").spawn().unwrap());
    // A repository nobody can read, and git told to trust it.
    let dir = tempfile::tempdir().unwrap();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let repo = TempRepo::at(dir.path().join("repo"));
    std::fs::create_dir(repo.path()).unwrap();
    repo.git(&["init", "-q", "-b", "main"]);
    repo.commit_all("one");
    let out = Command::new("setpriv")
        .args(["--reuid=65534", "--regid=65534", "--clear-groups"])
        .arg(cli())
        .args(["check", "--ref", "main", "--json"])
        .arg(format!("pid:{}", root_process.pid()))
        .arg("--repo")
        .arg(repo.path())
        .env("GIT_CONFIG_COUNT", "1")
        .env("GIT_CONFIG_KEY_0", "safe.directory")
        .env("GIT_CONFIG_VALUE_0", "*")
        .output()
        .expect("setpriv (util-linux) runs");
    assert_eq!(code(&out), 2, "{}", text(&out));
    let t = &json(&out)["targets"][0];
    assert_eq!(t["status"], "unreachable");
    assert!(
        t["reason"]
            .as_str()
            .unwrap()
            .contains("not permitted to read it"),
        "{t:#}"
    );
    let out = Command::new("setpriv")
        .args(["--reuid=65534", "--regid=65534", "--clear-groups"])
        .arg(cli())
        .args(["inspect", "--pid", &root_process.pid()])
        .output()
        .unwrap();
    assert_eq!(code(&out), 2, "{}", text(&out));
    assert!(
        text(&out).contains("not permitted to read process"),
        "{}",
        text(&out)
    );
}

/// A pidfile that outlived its process, whose pid now belongs to a process started long after
/// the file was written: that process is a stranger, never judged as the pidfile's.
#[test]
fn a_stale_pidfile_is_never_judged_as_the_process_that_now_has_its_pid() {
    let repo = TempRepo::new();
    repo.commit_all("one");
    repo.git(&["branch", "-M", "main"]);
    let stranger = shipstamp_tests::Group::spawn(
        Command::new("sleep")
            .arg("600")
            .stdin(Stdio::null())
            .stdout(Stdio::null()),
    )
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let pidfile = dir.path().join("worker.pid");
    std::fs::write(&pidfile, format!("{}\n", stranger.id())).unwrap();
    // Written an hour before the process that now has the pid started.
    let touched = Command::new("touch")
        .args(["-d", "1 hour ago"])
        .arg(&pidfile)
        .status()
        .unwrap();
    assert!(touched.success());
    let target = format!("pidfile:{}", pidfile.display());
    let out = check_in(&repo, &["--ref", "main", "--json", &target]);
    assert_eq!(code(&out), 2, "undecided, never a verdict: {}", text(&out));
    let t = &json(&out)["targets"][0];
    assert_eq!(t["status"], "unreachable", "{t:#}");
    let reason = t["reason"].as_str().unwrap();
    assert!(
        reason.contains("is stale")
            && reason.contains(&format!(
                "pid {} now belongs to a process started after it was written",
                stranger.id()
            )),
        "{reason}"
    );
    assert_eq!(
        t["process"],
        serde_json::Value::Null,
        "not the stranger's facts"
    );

    // Written now, after the process started: it is the pidfile's process.
    std::fs::write(&pidfile, format!("{}\n", stranger.id())).unwrap();
    let out = check_in(&repo, &["--ref", "main", "--json", &target]);
    let t = &json(&out)["targets"][0];
    assert_eq!(t["status"], "unstamped", "{t:#}");
    assert_eq!(t["process"]["pid"], stranger.id());
}
