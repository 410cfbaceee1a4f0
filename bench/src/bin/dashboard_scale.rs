//! The dashboard at fleet scale: 5,000 hosts across 10 services × 3 environments of one
//! repository, served by one axum server on loopback, watched by the release `shipstamp
//! dashboard --fleet`.
//!
//! - **Round**: how long the first round takes (start to the first document).
//! - **Bytes per round** for a page left open: the first load (JSON as sent, gzip), then the
//!   polls of rounds in which nothing changed (`If-None-Match`: `304`), counted on the wire.
//! - **`/metrics`**: how long rendering it takes per round (reported by the dashboard itself),
//!   its size, and a scrape side by side with a `304` of the document (both from memory), with
//!   every target given series and with only those not at their ref.
//! - **Redraws** in headless Chromium, through DevTools, with the rounds paused (a 10-minute
//!   interval) so nothing else competes for the two cores: choosing a cell of the matrix,
//!   showing everything again, filtering, and turning a page of the host table; each timed in the
//!   page from the event to the end of layout, median of 15.
//!
//! Run it with `cargo run -p shipstamp-bench --release --bin dashboard_scale` (needs `chromium`;
//! about two minutes).

use std::process::Command;
use std::time::{Duration, Instant};

use shipstamp_tests::{BigFleet, Browser, Page, Service, request, request_with};

const SERVICES: usize = 10;
const ENVS: [&str; 3] = ["production", "staging", "canary"];
const HOSTS: usize = 5000;
const REDRAWS: usize = 15;

fn wait_for_document(addr: std::net::SocketAddr) -> Duration {
    let start = Instant::now();
    loop {
        let r = request(addr, "GET", "/api/fleet.json").expect("dashboard answers");
        if r.status == 200 {
            return start.elapsed();
        }
        assert!(start.elapsed() < Duration::from_secs(120), "no first round");
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// Runs `action` in the page and returns the milliseconds from just before it to the end of
/// the layout it caused.
fn redraw(page: &mut Page, action: &str) -> f64 {
    page.eval(&format!(
        "(() => {{ const t = performance.now(); {action}; document.body.getBoundingClientRect(); \
         return performance.now() - t; }})()"
    ))
    .as_f64()
    .unwrap_or(f64::NAN)
}

fn main() {
    let cli = shipstamp_bench::release_cli();
    let fleet = BigFleet::new(SERVICES, &ENVS, HOSTS);

    // Rounds every 3 s: the first round, then what an open page is sent.
    let mut cmd = Command::new(&cli);
    cmd.args(["dashboard", "--fleet"])
        .arg(&fleet.fleet_file)
        .args(["--listen", "127.0.0.1:0", "--interval", "3s"]);
    let started = Instant::now();
    let dashboard = Service::spawn(cmd);
    wait_for_document(dashboard.addr);
    let first_round = started.elapsed();
    let full = request_with(dashboard.addr, "GET", "/api/fleet.json", &[]).expect("answers");
    let gzipped = request_with(
        dashboard.addr,
        "GET",
        "/api/fleet.json",
        &[("Accept-Encoding", "gzip")],
    )
    .expect("answers");
    let etag = gzipped.header("etag").expect("ETag").to_owned();
    let round_of = |r: &shipstamp_tests::HttpResponse| {
        r.header("x-shipstamp-round")
            .and_then(|n| n.parse::<u64>().ok())
            .unwrap_or(0)
    };
    let first = round_of(&gzipped);
    let mut unchanged = Vec::new();
    let poll_start = Instant::now();
    while unchanged.len() < 5 && poll_start.elapsed() < Duration::from_secs(60) {
        let r = request_with(
            dashboard.addr,
            "GET",
            "/api/fleet.json",
            &[("Accept-Encoding", "gzip"), ("If-None-Match", &etag)],
        )
        .expect("answers");
        let round = round_of(&r);
        if round > first + unchanged.len() as u64 {
            unchanged.push((r.status, r.wire_bytes));
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    drop(dashboard);
    println!(
        "shipstamp dashboard --fleet, {HOSTS} hosts in {SERVICES} services × {} environments:",
        ENVS.len()
    );
    println!(
        "  first round: {:.2} s from start to the first document",
        first_round.as_secs_f64()
    );
    println!(
        "  an open page, first load: {:.0} KiB of JSON, {:.0} KiB gzipped",
        full.wire_bytes as f64 / 1024.0,
        gzipped.wire_bytes as f64 / 1024.0
    );
    println!(
        "  then, per round in which nothing changed: {:?} (status, bytes on the wire)",
        unchanged
    );

    // /metrics over the same fleet: every target with series of its own, then the default
    // (only those not at their ref). Rendered once per round; a scrape copies bytes.
    for which in ["all", "unmatched"] {
        let mut cmd = Command::new(&cli);
        cmd.args(["dashboard", "--fleet"])
            .arg(&fleet.fleet_file)
            .args(["--listen", "127.0.0.1:0", "--interval", "3s"])
            .args(["--metrics-targets", which]);
        let watcher = Service::spawn(cmd);
        wait_for_document(watcher.addr);
        // The render time of a round is reported by the next one.
        let start = Instant::now();
        let (text, render_ms) = loop {
            let text = request(watcher.addr, "GET", "/metrics")
                .expect("answers")
                .text();
            let render = text
                .lines()
                .find_map(|l| l.strip_prefix("shipstamp_metrics_render_seconds "))
                .and_then(|v| v.parse::<f64>().ok());
            if let Some(seconds) = render {
                break (text, seconds * 1000.0);
            }
            assert!(
                start.elapsed() < Duration::from_secs(120),
                "no second round"
            );
            std::thread::sleep(Duration::from_millis(200));
        };
        let samples = text.lines().filter(|l| !l.starts_with('#')).count();
        let per_target = text
            .lines()
            .filter(|l| l.starts_with("shipstamp_target_info{"))
            .count();
        // Served from memory: side by side with the document's `304`, which sends nothing.
        let etag = request(watcher.addr, "GET", "/api/fleet.json")
            .expect("answers")
            .header("etag")
            .expect("ETag")
            .to_owned();
        let (mut scrape, mut not_modified) = (Vec::new(), Vec::new());
        for _ in 0..41 {
            let t = Instant::now();
            request(watcher.addr, "GET", "/metrics").expect("answers");
            scrape.push(t.elapsed().as_secs_f64() * 1000.0);
            let t = Instant::now();
            request_with(
                watcher.addr,
                "GET",
                "/api/fleet.json",
                &[("If-None-Match", &etag)],
            )
            .expect("answers");
            not_modified.push(t.elapsed().as_secs_f64() * 1000.0);
        }
        let (scrape, not_modified) = (median(scrape), median(not_modified));
        println!(
            "  /metrics, --metrics-targets {which}: rendered in {render_ms:.1} ms per round (both formats);              {:.0} KiB, {samples} samples, {per_target} targets with series of their own;              a scrape {scrape:.2} ms against {not_modified:.2} ms for the document's 304 ({:.2}x), median of 41",
            text.len() as f64 / 1024.0,
            scrape / not_modified
        );
    }

    // Redraws, with the rounds paused.
    let mut cmd = Command::new(&cli);
    cmd.args(["dashboard", "--fleet"])
        .arg(&fleet.fleet_file)
        .args(["--listen", "127.0.0.1:0", "--interval", "10m"]);
    let quiet = Service::spawn(cmd);
    wait_for_document(quiet.addr);
    let browser = Browser::start();
    let mut page = browser.page();
    page.navigate(&format!("http://{}/", quiet.addr));
    page.wait_for(
        "document.querySelectorAll('#matrix td.cell').length",
        Duration::from_secs(60),
        |v| v.as_u64() == Some((SERVICES * ENVS.len()) as u64),
    );
    let first_draw = page
        .eval("window.shipstampRenderMs")
        .as_f64()
        .unwrap_or(f64::NAN);
    let (mut select, mut all, mut filter, mut next) = (vec![], vec![], vec![], vec![]);
    for i in 0..REDRAWS {
        let service = ["orders", "billing", "search", "pricing"][i % 4];
        let env = ENVS[i % ENVS.len()];
        select.push(redraw(
            &mut page,
            &format!(
                "document.querySelector('#matrix td.cell[data-service=\"{service}\"][data-env=\"{env}\"]').click()"
            ),
        ));
        all.push(redraw(
            &mut page,
            "document.querySelector('#matrix td.cell.selected').click()",
        ));
        // The filter redraws after a short pause for typing; time the redraw itself.
        page.eval(&format!(
            "document.getElementById('filter').value = '{}'; \
             document.getElementById('filter').dispatchEvent(new Event('input'))",
            ["hotfix", "billing", "cache", "orders-production"][i % 4]
        ));
        let renders = page.eval("window.shipstampRenders").as_u64().unwrap_or(0);
        page.wait_for("window.shipstampRenders", Duration::from_secs(10), |v| {
            v.as_u64().unwrap_or(0) > renders
        });
        filter.push(
            page.eval("window.shipstampRenderMs")
                .as_f64()
                .unwrap_or(f64::NAN),
        );
        page.eval(
            "document.getElementById('filter').value = ''; \
             document.getElementById('filter').dispatchEvent(new Event('input'))",
        );
        let renders = page.eval("window.shipstampRenders").as_u64().unwrap_or(0);
        page.wait_for("window.shipstampRenders", Duration::from_secs(10), |v| {
            v.as_u64().unwrap_or(0) > renders
        });
        next.push(redraw(
            &mut page,
            "document.getElementById('next-page').click()",
        ));
        redraw(&mut page, "document.getElementById('prev-page').click()");
    }
    println!("  first draw of the page: {first_draw:.1} ms (script)");
    println!(
        "  redraws, median of {REDRAWS} (script and layout): choose a cell {:.1} ms, show all again {:.1} ms, \
         next page of hosts {:.1} ms; filter {:.1} ms (script)",
        median(select),
        median(all),
        median(next),
        median(filter)
    );
}
