//! The systemd unit: systemd's own reading of it, and its command line run for real.

use std::path::Path;
use std::process::Command;

use shipstamp_tests::{Reply, Service, StubServer, TempRepo, request};

use crate::util::cli;

fn unit() -> String {
    std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../integrations/systemd/shipstamp-dashboard.service"),
    )
    .unwrap()
}

/// The unit's `ExecStart=`, split into words (it quotes nothing).
fn exec_start(unit: &str) -> Vec<String> {
    unit.lines()
        .find_map(|l| l.strip_prefix("ExecStart="))
        .expect("ExecStart=")
        .split_whitespace()
        .map(str::to_owned)
        .collect()
}

#[test]
fn the_units_command_line_starts_a_dashboard() {
    let unit = unit();
    for line in [
        "Restart=on-failure",
        "DynamicUser=yes",
        "StateDirectory=shipstamp",
    ] {
        assert!(unit.lines().any(|l| l == line), "{line}");
    }
    let repo = TempRepo::new();
    let head = repo.commit_all("one");
    let server = StubServer::start(vec![("/version", Reply::shipstamp("orders", &head))]);
    // As the README sets the state directory up: the fleet file beside the clone.
    let state = tempfile::tempdir().unwrap();
    TempRepo::clone_without_checkout(repo.path(), state.path().join("orders"));
    std::fs::write(
        state.path().join("fleet.toml"),
        format!(
            "[service.orders]\nrepo = \"orders\"\nref = \"origin/main\"\n\n[service.orders.env.production]\ntargets = [\"{}\"]\n",
            server.url("/version")
        ),
    )
    .unwrap();
    let words = exec_start(&unit);
    assert_eq!(words[0], "/usr/local/bin/shipstamp");
    let args: Vec<String> = words[1..]
        .iter()
        .map(|a| match a.as_str() {
            "/var/lib/shipstamp/fleet.toml" => {
                state.path().join("fleet.toml").display().to_string()
            }
            "127.0.0.1:8080" => "127.0.0.1:0".to_owned(),
            _ => a.clone(),
        })
        .collect();
    let mut cmd = Command::new(cli());
    cmd.args(&args).current_dir(state.path());
    let dashboard = Service::spawn(cmd);
    let start = std::time::Instant::now();
    loop {
        let r = request(dashboard.addr, "GET", "/api/fleet.json").unwrap();
        if r.status == 200 {
            let doc: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
            assert_eq!(doc["targets"][0]["status"], "match", "{doc:#}");
            // --fetch runs against the clone's origin.
            assert_eq!(doc["fetches"][0]["every_seconds"], 60.0, "{doc:#}");
            break;
        }
        assert!(start.elapsed() < std::time::Duration::from_secs(30));
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
}

#[test]
#[ignore = "needs systemd-analyze (apt-get install systemd; .ci/run runs it)"]
fn systemd_reads_the_unit() {
    let dir = tempfile::tempdir().unwrap();
    // verify wants the program to exist: the one built here.
    let unit = unit().replace("/usr/local/bin/shipstamp", cli().to_str().unwrap());
    let path = dir.path().join("shipstamp-dashboard.service");
    std::fs::write(&path, &unit).unwrap();
    let out = Command::new("systemd-analyze")
        .arg("verify")
        .arg(&path)
        .output()
        .expect("systemd-analyze runs (apt-get install systemd)");
    assert!(
        out.status.success() && out.stderr.is_empty(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    // And it does fail on a broken unit, so its silence above means something.
    std::fs::write(&path, unit.replace("RestartSec=5s", "RestartSec=soon")).unwrap();
    let out = Command::new("systemd-analyze")
        .arg("verify")
        .arg(&path)
        .output()
        .unwrap();
    assert!(!out.stderr.is_empty(), "a bad value is reported");
}
