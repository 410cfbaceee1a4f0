//! What `shipstamp_axum::commit_header` costs per request, beside tower-http's
//! `SetResponseHeaderLayer` doing the same (`X-Build-Commit` on every response) and beside no
//! layer at all: instructions per request of a static route, the app driven in process and
//! counted by callgrind (deterministic, unlike time on a shared machine).
//!
//! Run it with `cargo run -p shipstamp-bench --release --bin commit_header` (needs valgrind).

use std::process::Command;

fn stamp() -> &'static shipstamp::Stamp {
    shipstamp::stamp!()
}

fn app(layer: &str) -> axum::Router {
    let router =
        axum::Router::new().route("/static", axum::routing::get(|| async { "static body" }));
    match layer {
        "none" => router,
        "shipstamp" => router.layer(shipstamp_axum::commit_header(stamp())),
        "tower-http" => router.layer(tower_http::set_header::SetResponseHeaderLayer::overriding(
            axum::http::HeaderName::from_static("x-build-commit"),
            axum::http::HeaderValue::from_str(stamp().git.short.as_deref().unwrap_or("unknown"))
                .expect("a header value"),
        )),
        other => panic!("unknown layer {other}"),
    }
}

fn drive(layer: &str, calls: u32) {
    use tower_service::Service;
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime");
    let mut app = app(layer);
    rt.block_on(async {
        for _ in 0..calls {
            let req = axum::http::Request::get("/static")
                .body(axum::body::Body::empty())
                .expect("request");
            let res = app.call(req).await.expect("infallible");
            assert!(res.status().is_success());
            std::hint::black_box(res.headers().get("x-build-commit").is_some() || layer == "none");
            let body = axum::body::to_bytes(res.into_body(), usize::MAX)
                .await
                .expect("body");
            std::hint::black_box(body);
        }
    });
}

fn instructions_per_request(layer: &str) -> f64 {
    const LOW: u32 = 2_000;
    const HIGH: u32 = 12_000;
    let count = |calls: u32| -> f64 {
        let out = Command::new("valgrind")
            .args(["--tool=callgrind", "--callgrind-out-file=/dev/null"])
            .arg(std::env::current_exe().expect("own path"))
            .args(["--drive", layer, &calls.to_string()])
            .output()
            .expect("valgrind runs (apt-get install valgrind)");
        let text = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "valgrind failed:\n{text}");
        text.lines()
            .find_map(|l| {
                l.split_once("Collected :")
                    .map(|(_, n)| n.trim().to_owned())
            })
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("no instruction count:\n{text}"))
    };
    (count(HIGH) - count(LOW)) / f64::from(HIGH - LOW)
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let [_, flag, layer, calls] = &args[..] {
        if flag == "--drive" {
            drive(layer, calls.parse().expect("a number of calls"));
            return;
        }
    }
    let none = instructions_per_request("none");
    let ours = instructions_per_request("shipstamp");
    let theirs = instructions_per_request("tower-http");
    println!(
        "instructions per request of a static axum route: no layer {none:.0}, \
         shipstamp_axum::commit_header {ours:.0} (+{:.0}), tower-http SetResponseHeaderLayer \
         {theirs:.0} (+{:.0})",
        ours - none,
        theirs - none
    );
}
