use std::fmt::Write as _;
use std::net::SocketAddr;
use std::path::PathBuf;

use crate::repo::TempRepo;

/// A fleet of many hosts for the scale tests and benchmarks: `services` services of one
/// repository (a monorepo), each in the environments given, `hosts` instances in all, served
/// by one axum server on loopback (`/h/{cell}/{n}`), with a fleet file describing it.
///
/// Most instances run their environment's ref. In the first cell a rollout stopped a third of
/// the way (the rest behind); in the fifth, five hosts run a hotfix (diverged); in the eighth,
/// two run dirty builds; in the twelfth, three are down (a port nothing listens on); one
/// environment near the end was never deployed (all behind).
#[derive(Debug)]
pub struct BigFleet {
    /// The repository, the fleet file and its targets live here.
    pub dir: tempfile::TempDir,
    /// The fleet file.
    pub fleet_file: PathBuf,
    /// How many instances it lists.
    pub hosts: usize,
    /// The server answering for every instance but the unreachable ones.
    pub server: SocketAddr,
}

impl BigFleet {
    /// Writes the repository, the fleet file and its targets files, and starts the server.
    pub fn new(services: usize, envs: &[&str], hosts: usize) -> BigFleet {
        let dir = tempfile::tempdir().expect("temp dir");
        let repo_dir = dir.path().join("monorepo");
        std::fs::create_dir(&repo_dir).expect("mkdir");
        let status = crate::git(&repo_dir)
            .args(["init", "-q"])
            .status()
            .expect("git");
        assert!(status.success());
        let repo = TempRepo::at(&repo_dir);
        let subjects = [
            "Add the orders service",
            "Round order totals half-even",
            "Retry payment webhooks with backoff",
            "Bill in the customer's currency",
            "Cache prices for a minute",
        ];
        let commits: Vec<String> = subjects.iter().map(|s| repo.commit_all(s)).collect();
        repo.git(&["branch", "-M", "main"]);
        repo.git(&["branch", "release", &commits[3]]);
        repo.git(&["checkout", "-q", "-b", "hotfix", &commits[2]]);
        let hotfix = repo.commit_all("Hotfix: bypass the price cache");
        repo.git(&["checkout", "-q", "main"]);
        let main = commits[4].clone();
        let release = commits[3].clone();
        let old = commits[1].clone();

        let cells = services * envs.len();
        // The commit each instance serves, and whether dirty: most cells run their ref; a few
        // show what goes wrong in a real fleet.
        let plan: Vec<(String, bool)> = (0..hosts)
            .map(|i| {
                let cell = i % cells;
                let nth = i / cells;
                let env = cell % envs.len();
                let reference = if envs[env] == "staging" {
                    &release
                } else {
                    &main
                };
                match cell {
                    // A rollout that stopped a third of the way.
                    0 => ((if nth % 3 == 0 { reference } else { &old }).clone(), false),
                    // A hotfix deployed by hand to a few hosts.
                    4 if nth < 5 => (hotfix.clone(), false),
                    // Two builds from someone's working tree.
                    7 if nth < 2 => (reference.clone(), true),
                    // A whole environment never deployed.
                    c if c == cells.saturating_sub(5) => (old.clone(), false),
                    _ => (reference.clone(), false),
                }
            })
            .collect();
        let bodies: &'static [String] = Box::leak(
            plan.iter()
                .map(|(commit, dirty)| {
                    format!(
                        r#"{{"schema":"shipstamp/v1","package":{{"name":"svc","version":"1.0.0"}},"git":{{"commit":"{commit}","dirty":{dirty}}},"build":{{"time":"2026-11-20T10:00:00Z"}},"process":{{"started_at":"2026-11-22T10:00:00Z","uptime_seconds":1,"exe_replaced":false}}}}"#
                    )
                })
                .collect::<Vec<_>>()
                .into_boxed_slice(),
        );
        let app = axum::Router::new().route(
            "/h/{n}",
            axum::routing::get(
                move |axum::extract::Path(n): axum::extract::Path<usize>| async move {
                    (
                        [(axum::http::header::CONTENT_TYPE, "application/json")],
                        bodies[n % bodies.len()].clone(),
                    )
                },
            ),
        );
        let server = crate::serve_axum(app, 2);
        let dead = std::net::TcpListener::bind("127.0.0.1:0")
            .expect("bind")
            .local_addr()
            .expect("addr");

        let mut toml = String::from("[defaults]\ntimeout = \"3s\"\nconcurrency = 64\n\n");
        let service_names = [
            "orders", "billing", "payments", "search", "catalog", "checkout", "shipping",
            "accounts", "reviews", "pricing",
        ];
        for s in 0..services {
            let name = service_names
                .get(s)
                .map_or_else(|| format!("service-{s}"), |n| (*n).to_owned());
            let _ = writeln!(
                toml,
                "[service.{name}]\nrepo = \"monorepo\"\nref = \"main\"\n"
            );
            for (e, env) in envs.iter().enumerate() {
                let cell = s * envs.len() + e;
                let _ = writeln!(toml, "[service.{name}.env.{env}]");
                if *env == "staging" {
                    let _ = writeln!(toml, "ref = \"release\"");
                }
                let file = format!("{name}-{env}.txt");
                let _ = writeln!(toml, "targets_file = \"{file}\"\n");
                let mut list = String::new();
                for i in (0..hosts).filter(|i| i % cells == cell) {
                    // Three hosts of one cell are down.
                    let addr = if cell == 11 && i / cells < 3 {
                        dead
                    } else {
                        server
                    };
                    let _ = writeln!(list, "http://{addr}/h/{i} {name}-{env}-{i}");
                }
                std::fs::write(dir.path().join(file), list).expect("targets file");
            }
        }
        let fleet_file = dir.path().join("fleet.toml");
        std::fs::write(&fleet_file, toml).expect("fleet file");
        BigFleet {
            dir,
            fleet_file,
            hosts,
            server,
        }
    }
}
