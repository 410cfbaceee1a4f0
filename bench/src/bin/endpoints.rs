//! What does `/version` cost to serve? For axum and for actix-web, one server (one worker
//! thread) serves three routes, and `wrk` (one thread, on the other core) loads each in turn:
//!
//! - `/static`: a fixed body of the same size as the `/version` body (the baseline);
//! - `/static-headers`: the same, with the three headers `/version` must send (`Content-Type`,
//!   `Cache-Control: no-store`, `ETag`), to separate their cost from shipstamp's own;
//! - `/version`: shipstamp's handler (pre-serialized, rebuilt at most once a second);
//! - `/serde`: a handler that runs `serde_json::to_vec(stamp)` on every request (for context).
//!
//! The measure is server CPU time per request (from `/proc/self/stat` around each run, divided by
//! the requests `wrk` completed): on a shared two-core machine requests/second swings by a
//! quarter between identical runs, CPU per request by a few percent. The server's threads run
//! on core 0 and `wrk` on core 1. Rounds are interleaved; medians are reported, with the ratio
//! `/static` cost ÷ route cost (1.0 = as cheap as the static route; the throughput a saturated
//! server would reach relative to `/static`).
//!
//! Run it with `cargo run -p shipstamp-bench --release --bin endpoints` (Linux; needs `wrk` and
//! `taskset`: `apt-get install wrk util-linux`; about two minutes).

use std::net::SocketAddr;
use std::process::Command;

use shipstamp::Stamp;

const ROUNDS: usize = 7;
const SECONDS: u32 = 3;
const CONNECTIONS: u32 = 16;
const ROUTES: [&str; 4] = ["/static", "/static-headers", "/version", "/serde"];

/// An ETag of the same length as the real one.
const STATIC_ETAG: &str = "W/\"0123456789abcdef0123456789abcdef01234567\"";

fn stamp() -> &'static Stamp {
    shipstamp::stamp!()
}

/// A body as large as the `/version` body, so the baseline differs only in the handler.
fn static_body() -> &'static [u8] {
    let len = stamp().to_json().len();
    Box::leak(vec![b'x'; len].into_boxed_slice())
}

fn axum_app() -> axum::Router {
    use axum::routing::get;
    let body = static_body();
    axum::Router::new()
        .route("/static", get(move || async move { body }))
        .route(
            "/static-headers",
            get(move || async move {
                // Built the way shipstamp-axum builds its response.
                use axum::http::HeaderValue;
                use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE, ETAG};
                let mut res = axum::http::Response::new(axum::body::Body::from(body));
                let headers = res.headers_mut();
                headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
                headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
                headers.insert(ETAG, HeaderValue::from_static(STATIC_ETAG));
                res
            }),
        )
        .merge(shipstamp_axum::router(stamp()))
        .route(
            "/serde",
            get(|| async { serde_json::to_vec(stamp()).unwrap_or_default() }),
        )
}

fn actix_app(
    body: &'static [u8],
) -> actix_web::App<
    impl actix_web::dev::ServiceFactory<
        actix_web::dev::ServiceRequest,
        Config = (),
        Response = actix_web::dev::ServiceResponse,
        Error = actix_web::Error,
        InitError = (),
    >,
> {
    use actix_web::{HttpResponse, web};
    actix_web::App::new()
        .route(
            "/static",
            web::get().to(move || async move { HttpResponse::Ok().body(body) }),
        )
        .route(
            "/static-headers",
            web::get().to(move || async move {
                // Built the way shipstamp-actix builds its response.
                use actix_web::http::StatusCode;
                use actix_web::http::header::{CACHE_CONTROL, CONTENT_TYPE, ETAG, HeaderValue};
                let mut res = HttpResponse::with_body(StatusCode::OK, body);
                let headers = res.headers_mut();
                headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
                headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
                headers.insert(ETAG, HeaderValue::from_static(STATIC_ETAG));
                res
            }),
        )
        .service(shipstamp_actix::version(stamp()))
        .route(
            "/serde",
            web::get().to(|| async {
                HttpResponse::Ok()
                    .content_type("application/json")
                    .body(serde_json::to_vec(stamp()).unwrap_or_default())
            }),
        )
}

fn serve_actix() -> SocketAddr {
    let body = static_body();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    std::thread::spawn(move || {
        actix_web::rt::System::new().block_on(async move {
            actix_web::HttpServer::new(move || actix_app(body))
                .workers(1)
                .listen(listener)
                .expect("listen")
                .run()
                .await
                .expect("serve");
        });
    });
    addr
}

/// One `wrk` run on core 1: (server CPU microseconds per request, requests per second).
fn measure(url: &str) -> (f64, f64) {
    let before = server_cpu_ticks();
    let out = Command::new("taskset")
        .args([
            "-c",
            "1",
            "wrk",
            "-t1",
            &format!("-c{CONNECTIONS}"),
            &format!("-d{SECONDS}s"),
            url,
        ])
        .output()
        .unwrap_or_else(|e| {
            panic!("could not run taskset/wrk ({e}); install them: apt-get install wrk util-linux")
        });
    let ticks = server_cpu_ticks() - before;
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(!text.contains("Non-2xx"), "{url} answered errors:\n{text}");
    let requests: f64 = text
        .lines()
        .find_map(|l| l.trim().split_once(" requests in "))
        .and_then(|(n, _)| n.parse().ok())
        .unwrap_or_else(|| panic!("no request count in wrk output:\n{text}"));
    let rps = text
        .lines()
        .find_map(|l| l.strip_prefix("Requests/sec:"))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("no Requests/sec in wrk output:\n{text}"));
    // USER_HZ is 100: a tick is 10 ms.
    (ticks as f64 * 10_000.0 / requests, rps)
}

/// Drives the app directly as a service (no sockets) for `calls` requests to `route`: exactly
/// the work of routing, the handler and the response body.
fn drive_in_process(framework: &str, route: &str, calls: u32) {
    match framework {
        "axum" => {
            use tower_service::Service;
            let rt = tokio::runtime::Builder::new_current_thread()
                .build()
                .expect("runtime");
            let mut app = axum_app();
            rt.block_on(async {
                for _ in 0..calls {
                    let req = axum::http::Request::get(route)
                        .body(axum::body::Body::empty())
                        .expect("request");
                    let res = app.call(req).await.expect("infallible");
                    assert!(res.status().is_success(), "{route}: {}", res.status());
                    let body = axum::body::to_bytes(res.into_body(), usize::MAX)
                        .await
                        .expect("body");
                    std::hint::black_box(body);
                }
            });
        }
        "actix" => {
            use actix_web::test;
            actix_web::rt::System::new().block_on(async {
                let app = test::init_service(actix_app(static_body())).await;
                for _ in 0..calls {
                    let res =
                        test::call_service(&app, test::TestRequest::get().uri(route).to_request())
                            .await;
                    assert!(res.status().is_success(), "{route}: {}", res.status());
                    std::hint::black_box(test::read_body(res).await);
                }
            });
        }
        other => panic!("unknown framework {other}"),
    }
}

/// Instructions per request of `route`, counted by callgrind: this binary runs itself twice
/// under valgrind, with `LOW` and `HIGH` requests, and the difference cancels start-up.
fn instructions_per_request(framework: &str, route: &str) -> f64 {
    const LOW: u32 = 2_000;
    const HIGH: u32 = 12_000;
    let count = |calls: u32| -> f64 {
        let out = Command::new("valgrind")
            .args(["--tool=callgrind", "--callgrind-out-file=/dev/null"])
            .arg(std::env::current_exe().expect("own path"))
            .args(["--drive", framework, route, &calls.to_string()])
            .output()
            .unwrap_or_else(|e| {
                panic!("could not run valgrind ({e}); install it: apt-get install valgrind")
            });
        let text = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "valgrind failed:\n{text}");
        text.lines()
            .find_map(|l| {
                l.split_once("Collected :")
                    .map(|(_, n)| n.trim().to_owned())
            })
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("no instruction count in callgrind output:\n{text}"))
    };
    (count(HIGH) - count(LOW)) / f64::from(HIGH - LOW)
}

/// User + system CPU time of this process (all server threads), in USER_HZ ticks.
fn server_cpu_ticks() -> u64 {
    let stat = std::fs::read_to_string("/proc/self/stat").expect("/proc/self/stat");
    let fields: Vec<&str> = stat[stat.rfind(')').expect("comm") + 2..]
        .split(' ')
        .collect();
    // Fields 14 and 15 (utime, stime), counted from 3 after the command name.
    fields[11].parse::<u64>().expect("utime") + fields[12].parse::<u64>().expect("stime")
}

fn pin_this_process_to_core_0() {
    let out = Command::new("taskset")
        .args(["-a", "-p", "-c", "0", &std::process::id().to_string()])
        .output()
        .expect("taskset (util-linux) runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The least-disturbed round: scheduling noise on a shared machine only ever adds time.
fn min(v: &[f64]) -> f64 {
    v.iter().copied().fold(f64::INFINITY, f64::min)
}

fn max(v: &[f64]) -> f64 {
    v.iter().copied().fold(0.0, f64::max)
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let [_, flag, framework, route, calls] = &args[..] {
        if flag == "--drive" {
            return drive_in_process(framework, route, calls.parse().expect("calls"));
        }
    }

    println!(
        "Instructions per request, the app driven in process (routing, handler, response body; no \
         sockets), counted by callgrind — deterministic, unlike time on a shared machine:\n"
    );
    println!(
        "| framework | /static | /static-headers | /version | /static ÷ /version | /static-headers ÷ /version | \
         /serde (serde_json per request) | /static ÷ /serde |"
    );
    println!("|---|---|---|---|---|---|---|---|");
    for (name, framework) in [("axum 0.8", "axum"), ("actix-web 4", "actix")] {
        let [s, h, v, j] = ROUTES.map(|route| instructions_per_request(framework, route));
        println!(
            "| {name} | {s:.0} | {h:.0} | {v:.0} | **{:.3}** | **{:.3}** | {j:.0} | {:.3} |",
            s / v,
            h / v,
            s / j
        );
    }
    if args.iter().any(|a| a == "--in-process-only") {
        return;
    }

    pin_this_process_to_core_0();
    println!(
        "\nOver loopback: server CPU µs per request and requests/second; one server worker thread on \
         core 0, wrk -t1 -c{CONNECTIONS} -d{SECONDS}s on core 1; best of {ROUNDS} interleaved rounds \
         (the spread of each route's rounds in brackets):\n"
    );
    println!(
        "| framework | /static | /static-headers | /version | /static ÷ /version | /static-headers ÷ /version | \
         /serde (serde_json per request) | /static ÷ /serde |"
    );
    println!("|---|---|---|---|---|---|---|---|");
    for (name, addr) in [
        ("axum 0.8", shipstamp_tests::serve_axum(axum_app(), 1)),
        ("actix-web 4", serve_actix()),
    ] {
        pin_this_process_to_core_0();
        // Warm up: connections, caches, the stamp's first parse.
        for route in ROUTES {
            measure(&format!("http://{addr}{route}"));
        }
        let mut cpu = vec![Vec::new(); ROUTES.len()];
        let mut rps = vec![Vec::new(); ROUTES.len()];
        for _ in 0..ROUNDS {
            for (i, route) in ROUTES.iter().enumerate() {
                let (c, r) = measure(&format!("http://{addr}{route}"));
                cpu[i].push(c);
                rps[i].push(r);
            }
        }
        let cell = |i: usize| {
            format!(
                "{:.2} µs [{:.1}–{:.1}], {:.0}/s",
                min(&cpu[i]),
                min(&cpu[i]),
                max(&cpu[i]),
                max(&rps[i])
            )
        };
        let [s, h, v, j] = [0, 1, 2, 3].map(|i| min(&cpu[i]));
        println!(
            "| {name} | {} | {} | {} | **{:.3}** | **{:.3}** | {} | {:.3} |",
            cell(0),
            cell(1),
            cell(2),
            s / v,
            h / v,
            cell(3),
            s / j
        );
    }
}
