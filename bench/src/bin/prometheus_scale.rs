//! `shipstamp check --prometheus` at 100,000 instances: one real Prometheus holds the
//! `orders_build_info` series of 100,000 instances running 20 distinct commits (with their `up`
//! and `orders_start_time_seconds`), backfilled with `promtool tsdb create-blocks-from
//! openmetrics`. The release `shipstamp check` judges every instance against `main`, end to end:
//! wall time and peak memory (the child's own `ru_maxrss`), median of 5 runs. Then the
//! dashboard's round over the same data (`dashboard --once`).
//!
//! Run it with `cargo run -p shipstamp-bench --release --bin prometheus_scale` (needs
//! `prometheus`, `promtool` and `curl`; about two minutes). Target: 2 s. Most of that time is
//! Prometheus' own: `SHIPSTAMP_PROMETHEUS=path` measures against another Prometheus binary.
//! Also measured: the same `check` through a gateway that hides `/federate`, so that the
//! series come from the query API whatever the release (as from Thanos or Mimir).

use std::io::Write;
use std::process::Command;

use shipstamp_bench::{Run, measure, median_and_peak, release_cli};
use shipstamp_tests::{Gateway, PrometheusServer, TempRepo};

const INSTANCES: usize = 100_000;
const COMMITS: usize = 20;
const RUNS: usize = 5;

fn main() {
    let cli = release_cli();
    let repo = TempRepo::new();
    let commits: Vec<String> = (0..COMMITS)
        .map(|i| repo.commit_all(&format!("commit {i}")))
        .collect();
    repo.git(&["branch", "-M", "main"]);
    let dir = tempfile::tempdir().expect("temp dir");

    // Two scrapes, 30 s and 10 s ago, so an instant query now sees them. Written as it is
    // made: the file is hundreds of megabytes, and this process's own peak memory would count
    // in its children's (a forked child's peak includes its parent's pages until it execs).
    let now = shipstamp::Timestamp::now().unix_seconds();
    let input = dir.path().join("fleet.om");
    let mut out = std::io::BufWriter::new(std::fs::File::create(&input).expect("openmetrics file"));
    let instance = |i: usize| format!("10.{}.{}.{}:8080", i >> 16, (i >> 8) & 255, i & 255);
    let series = |name: &str, help: &str, out: &mut dyn Write| {
        writeln!(out, "# HELP {name} {help}\n# TYPE {name} gauge").expect("write");
    };
    series(
        "orders_build_info",
        "Build of the running binary.",
        &mut out,
    );
    for t in [now - 30, now - 10] {
        for i in 0..INSTANCES {
            writeln!(
                out,
                "orders_build_info{{instance=\"{}\",job=\"orders\",env=\"prod\",package=\"orders\",version=\"1.{}.0\",revision=\"{}\",dirty=\"{}\"}} 1 {t}",
                instance(i),
                i % COMMITS,
                commits[i % COMMITS],
                i % 997 == 0
            )
            .expect("write");
        }
    }
    series(
        "orders_start_time_seconds",
        "Start time of the process.",
        &mut out,
    );
    for t in [now - 30, now - 10] {
        for i in 0..INSTANCES {
            writeln!(
                out,
                "orders_start_time_seconds{{instance=\"{}\",job=\"orders\",env=\"prod\"}} {} {t}",
                instance(i),
                now - 86_400 + (i as i64 % 3600)
            )
            .expect("write");
        }
    }
    series("up", "Whether the scrape worked.", &mut out);
    for t in [now - 30, now - 10] {
        for i in 0..INSTANCES {
            writeln!(
                out,
                "up{{instance=\"{}\",job=\"orders\",env=\"prod\"}} 1 {t}",
                instance(i)
            )
            .expect("write");
        }
    }
    writeln!(out, "# EOF").expect("write");
    out.flush().expect("flush");
    drop(out);
    let data = dir.path().join("data");
    let status = Command::new("promtool")
        .args(["tsdb", "create-blocks-from", "openmetrics", "--quiet"])
        .arg(&input)
        .arg(&data)
        .status()
        .expect("promtool runs (apt-get install prometheus)");
    assert!(status.success(), "promtool failed");

    // Prometheus logs every query it runs: the baseline below replays the ones `check` sent.
    let query_log = dir.path().join("queries.log");
    let prometheus = PrometheusServer::start_with(
        &format!(
            "global:\n  scrape_interval: 1h\n  query_log_file: {}\nscrape_configs: []\n",
            query_log.display()
        ),
        Some(&data),
        &["--query.max-samples=100000000"],
    );
    prometheus.wait_until(|p| {
        p.query("count(orders_build_info)")
            .first()
            .and_then(|r| r["value"][1].as_str().map(str::to_owned))
            .as_deref()
            == Some(&INSTANCES.to_string())
    });
    let url = format!("http://{}", prometheus.addr);
    let selector = r#"orders_build_info{env="prod"}"#;

    let fix = commits[COMMITS / 2].clone();
    let ask_at = |url: &str, json: bool, keep_output: bool, question: [&str; 2]| -> Run {
        let mut cmd = Command::new(&cli);
        cmd.args([
            "check",
            question[0],
            question[1],
            "--prometheus",
            url,
            "--selector",
            selector,
            "--repo",
        ])
        .arg(repo.path());
        if json {
            cmd.arg("--json");
        }
        let mut run = measure(&mut cmd);
        assert_eq!(run.code, 1, "19 in 20 are behind; half lack the fix");
        // Not kept: a large output held here would count in the next child's peak memory.
        if !keep_output {
            run.stdout = String::new();
        }
        run
    };
    let check_at = |url: &str, json: bool, keep_output: bool| {
        ask_at(url, json, keep_output, ["--ref", "main"])
    };
    let check = |json: bool, keep_output: bool| check_at(&url, json, keep_output);
    let contains = || ask_at(&url, false, false, ["--contains", &fix]);
    // Warm-up (Prometheus' caches, the page cache), and the answer checked (by counting, not
    // parsing: a parsed document of 100,000 targets would grow this process).
    let logged_before = std::fs::read_to_string(&query_log).map_or(0, |l| l.lines().count());
    let federated_before = prometheus.federate_requests();
    {
        let warm = check(true, true);
        assert!(warm.stdout.starts_with(r#"{"schema":"shipstamp-check/v1""#));
        assert_eq!(warm.stdout.matches(r#""url":"10."#).count(), INSTANCES);
        let matching = warm.stdout.matches(r#""status":"match""#).count();
        // The instances at main's commit, but for the dirty ones.
        let expected = (0..INSTANCES)
            .filter(|i| i % COMMITS == COMMITS - 1 && i % 997 != 0)
            .count();
        assert_eq!(matching, expected);
    }
    // What the warm-up asked, before the measured runs ask it again.
    let queries: Vec<String> = std::fs::read_to_string(&query_log)
        .expect("Prometheus' query log")
        .lines()
        .skip(logged_before)
        .map(|line| {
            let entry: serde_json::Value = serde_json::from_str(line).expect("a query log line");
            entry["params"]["query"]
                .as_str()
                .expect("a query")
                .to_owned()
        })
        .collect();
    // Before Prometheus 2.53, the builds and the start times through /federate and the
    // failing scrapes by a query; from 2.53, three queries.
    let federated: &[&str] = if prometheus.version() < (2, 53) {
        &[selector, r#"orders_start_time_seconds{env="prod"}"#]
    } else {
        &[]
    };
    assert_eq!(
        prometheus.federate_requests() - federated_before,
        federated.len() as u64,
        "check's requests to /federate"
    );
    assert_eq!(
        queries.len(),
        3 - federated.len(),
        "check's queries: {queries:?}"
    );
    // `--ref` and `--contains` alternating, so that both see the same machine.
    let (mut text_runs, mut contains_runs): (Vec<Run>, Vec<Run>) =
        (0..RUNS).map(|_| (check(false, false), contains())).unzip();
    let (contains_median, contains_peak) = median_and_peak(&mut contains_runs);
    let mut json_runs: Vec<Run> = (0..RUNS).map(|_| check(true, false)).collect();
    // (The JSON document is tens of megabytes; the text, one line per instance.)
    let (text_median, text_peak) = median_and_peak(&mut text_runs);
    let (json_median, json_peak) = median_and_peak(&mut json_runs);

    // Prometheus alone: the requests the warm-up `check` sent (the builds running now, the
    // failing scrapes, the start times: the queries as Prometheus logged them), asked by one
    // curl each, all at once, bodies thrown away. The difference is shipstamp's own work.
    let curl = |path: &str, param: &str, value: &str| {
        format!(
            "curl -sSf -o /dev/null -G '{url}{path}' --data-urlencode '{param}={}' &",
            value.replace('\'', r"'\''")
        )
    };
    let curls: Vec<String> = federated
        .iter()
        .map(|s| curl("/federate", "match[]", s))
        .chain(queries.iter().map(|q| curl("/api/v1/query", "query", q)))
        .collect();
    let script = format!("{}\nwait", curls.join("\n"));
    let mut alone_runs: Vec<Run> = (0..RUNS)
        .map(|_| measure(Command::new("sh").args(["-c", &script])))
        .collect();
    assert!(
        alone_runs.iter().all(|r| r.code == 0),
        "curl (apt-get install curl)"
    );
    let (alone_median, _) = median_and_peak(&mut alone_runs);

    // The same through a gateway without /federate (as Thanos and Mimir are): the query API,
    // whatever the release.
    let gateway = Gateway::start(prometheus.addr, "/federate");
    let mut api_runs: Vec<Run> = (0..RUNS)
        .map(|_| check_at(&gateway.url(), false, false))
        .collect();
    let (api_median, api_peak) = median_and_peak(&mut api_runs);
    drop(gateway);

    let html = dir.path().join("fleet.html");
    let mut dashboard_runs: Vec<Run> = (0..RUNS)
        .map(|_| {
            measure(
                Command::new(&cli)
                    .args(["dashboard", "--once", "--ref", "main", "--prometheus", &url])
                    .args(["--selector", selector, "--html"])
                    .arg(&html)
                    .arg("--repo")
                    .arg(repo.path()),
            )
        })
        .collect();
    let (dashboard_median, dashboard_peak) = median_and_peak(&mut dashboard_runs);
    // The metrics of one run (as the dashboard's /metrics): by default only the targets not at
    // their ref get series, so their size follows the drift, not the fleet.
    let prom_file = dir.path().join("shipstamp.prom");
    let metrics_run = measure(
        Command::new(&cli)
            .args(["check", "--ref", "main", "--prometheus", &url])
            .args(["--selector", selector, "--openmetrics"])
            .arg(&prom_file)
            .arg("--repo")
            .arg(repo.path()),
    );
    assert_eq!(metrics_run.code, 1);
    let metrics_text = std::fs::read_to_string(&prom_file).expect("the metrics file");
    let per_target = metrics_text
        .lines()
        .filter(|l| l.starts_with("shipstamp_target_info{"))
        .count();
    let drifting = metrics_text
        .lines()
        .filter(|l| l.starts_with("shipstamp_targets{") && !l.contains(r#"status="match""#))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<usize>().ok())
        .sum::<usize>();
    let exe = std::env::var_os("SHIPSTAMP_PROMETHEUS").unwrap_or_else(|| "prometheus".into());
    let version = Command::new(exe)
        .arg("--version")
        .output()
        .map(|o| {
            String::from_utf8_lossy(&o.stdout)
                .lines()
                .next()
                .unwrap_or("")
                .to_owned()
        })
        .unwrap_or_default();
    println!(
        "shipstamp check --prometheus, {INSTANCES} instances, {COMMITS} distinct commits, median of {RUNS} ({version}):"
    );
    println!("  text:   {text_median:.2} s, peak memory {text_peak:.0} MiB");
    println!("  --json: {json_median:.2} s, peak memory {json_peak:.0} MiB");
    println!(
        "  --contains (half the fleet lacks the commit), alternating with the text runs: \
         {contains_median:.2} s, peak memory {contains_peak:.0} MiB, {:.2}x --ref (target: at \
         most 1.10x)",
        contains_median / text_median
    );
    println!(
        "  Prometheus alone, the same three requests at once (curl): {alone_median:.2} s, so shipstamp's own work is {:.2} s of the text run",
        text_median - alone_median
    );
    println!(
        "  text through a gateway without /federate (the query API): {api_median:.2} s, peak memory {api_peak:.0} MiB"
    );
    println!(
        "  dashboard --once over the same data: {dashboard_median:.2} s, peak memory {dashboard_peak:.0} MiB (page: {:.1} MiB)",
        std::fs::metadata(&html).map_or(0, |m| m.len()) as f64 / 1024.0 / 1024.0
    );
    println!(
        "  check --openmetrics (the dashboard's metrics, default targets): {:.1} MiB, {per_target} \
         targets with series of their own for {drifting} not at the ref, {:.0} bytes per such \
         target; {:.2} s",
        metrics_text.len() as f64 / 1024.0 / 1024.0,
        metrics_text.len() as f64 / per_target.max(1) as f64,
        metrics_run.seconds
    );
}
