//! `/version` through shipstamp-axum and shipstamp-actix: real servers on 127.0.0.1, real
//! HTTP requests, the stamp of this crate (it has the one-line build.rs).

use std::net::SocketAddr;
use std::path::Path;

use shipstamp::{Shape, Stamp};
use shipstamp_tests::{HttpResponse, request};

fn stamp() -> &'static Stamp {
    shipstamp::stamp!()
}

/// HEAD of the repository these tests are built from, if it is one.
fn workspace_head() -> Option<String> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    let out = shipstamp_tests::git(dir)
        .args(["rev-parse", "HEAD"])
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_owned())
}

fn serve_actix(
    configure: fn(&mut actix_web::web::ServiceConfig),
    commit_header: bool,
) -> SocketAddr {
    use actix_web::middleware::Condition;
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        actix_web::rt::System::new().block_on(async move {
            actix_web::HttpServer::new(move || {
                actix_web::App::new()
                    .wrap(Condition::new(
                        commit_header,
                        shipstamp_actix::commit_header(stamp()),
                    ))
                    .configure(configure)
            })
            .workers(1)
            .listen(listener)
            .unwrap()
            .run()
            .await
            .unwrap();
        });
    });
    addr
}

/// What every `/version` response must be, whichever framework served it.
fn assert_version_response(res: &HttpResponse) -> Stamp {
    assert_eq!(res.status, 200, "{res:?}");
    assert_eq!(res.header("content-type"), Some("application/json"));
    assert_eq!(res.header("cache-control"), Some("no-store"));
    let served = Stamp::from_slice(&res.body).expect("a shipstamp/v1 body");
    assert_eq!(served.package.name, "shipstamp-tests");
    assert_eq!(served.git.commit, stamp().git.commit);
    match workspace_head() {
        Some(head) => assert_eq!(
            served.git.commit.as_deref(),
            Some(head.as_str()),
            "the commit of the repository"
        ),
        // Built from an export without .git: only a CI variable can have named the commit.
        None => assert!(
            served.git.commit.is_none() || served.git.source == Some(shipstamp::GitSource::Env),
            "{:?}",
            served.git
        ),
    }
    match &served.git.commit {
        Some(commit) => assert!(
            res.header("etag")
                .unwrap()
                .starts_with(&format!("W/\"{commit}"))
        ),
        None => assert_eq!(res.header("etag"), None),
    }
    let process = served.process().expect("process facts");
    if cfg!(target_os = "linux") {
        assert!(process.started_at.is_some() && process.uptime_seconds.is_some());
        assert_eq!(process.exe_replaced, Some(false));
    } else {
        // Documented: null where the platform cannot tell.
        assert_eq!((process.started_at, process.exe_replaced), (None, None));
    }
    served
}

fn assert_head_and_other_methods(addr: SocketAddr, path: &str) {
    let head = request(addr, "HEAD", path).unwrap();
    assert_eq!(head.status, 200);
    assert!(head.body.is_empty(), "HEAD has no body");
    assert_eq!(head.header("content-type"), Some("application/json"));
    for method in ["POST", "PUT", "DELETE", "PATCH"] {
        let res = request(addr, method, path).unwrap();
        assert_eq!(res.status, 405, "{method} {path}");
        let allow = res.header("allow").unwrap_or_default().replace(' ', "");
        assert!(allow.contains("GET") && allow.contains("HEAD"), "{allow}");
    }
}

fn assert_commit_header(res: &HttpResponse) {
    let want = stamp().git.short.as_deref().unwrap_or("unknown");
    assert_eq!(res.header("x-build-commit"), Some(want), "{res:?}");
}

fn assert_build_info(res: &HttpResponse) {
    assert_eq!(res.status, 200);
    assert!(
        res.header("content-type")
            .unwrap()
            .starts_with("text/plain; version=0.0.4")
    );
    let text = res.text();
    assert!(
        text.contains("# TYPE shipstamp_tests_build_info gauge"),
        "{text}"
    );
    let revision = stamp().git.commit.clone().unwrap_or_default();
    assert!(text.contains(&format!("revision=\"{revision}\"")), "{text}");
    assert!(
        text.lines()
            .any(|l| l.starts_with("shipstamp_tests_build_info{") && l.ends_with("} 1"))
    );
}

#[test]
fn axum_version_route_headers_methods_layer_and_metrics() {
    let app = axum::Router::new()
        .route("/", axum::routing::get(|| async { "hello" }))
        .merge(shipstamp_axum::router(stamp()))
        .route("/_meta/version", shipstamp_axum::version(stamp()))
        .route(
            "/k8s",
            shipstamp_axum::version_with_shape(stamp(), Shape::Kubernetes),
        )
        .route(
            "/__version__",
            shipstamp_axum::version_with_shape(stamp(), Shape::Dockerflow),
        )
        .route("/metrics", shipstamp_axum::build_info(stamp()))
        .layer(shipstamp_axum::commit_header(stamp()));
    assert_all_routes(shipstamp_tests::serve_axum(app, 1));
}

#[test]
fn actix_version_service_headers_methods_middleware_and_metrics() {
    let addr = serve_actix(
        |cfg| {
            cfg.route("/", actix_web::web::get().to(|| async { "hello" }))
                .service(shipstamp_actix::version(stamp()))
                .service(shipstamp_actix::resource(
                    "/_meta/version",
                    stamp(),
                    Shape::Shipstamp,
                ))
                .service(shipstamp_actix::resource(
                    "/k8s",
                    stamp(),
                    Shape::Kubernetes,
                ))
                .service(shipstamp_actix::resource(
                    "/__version__",
                    stamp(),
                    Shape::Dockerflow,
                ))
                .service(shipstamp_actix::build_info("/metrics", stamp()));
        },
        true,
    );
    assert_all_routes(addr);
}

#[test]
fn actix_without_the_middleware_adds_no_header() {
    let addr = serve_actix(
        |cfg| {
            cfg.service(shipstamp_actix::version(stamp()));
        },
        false,
    );
    let res = request(addr, "GET", "/version").unwrap();
    assert_version_response(&res);
    assert_eq!(res.header("x-build-commit"), None);
}

/// Both frameworks mount the same routes: `/`, `/version`, `/_meta/version`, `/k8s`,
/// `/__version__`, `/metrics`, all behind the commit header.
fn assert_all_routes(addr: SocketAddr) {
    let res = request(addr, "GET", "/version").unwrap();
    assert_version_response(&res);
    assert_commit_header(&res);
    assert_head_and_other_methods(addr, "/version");
    assert_version_response(&request(addr, "GET", "/_meta/version").unwrap());
    // Request input does not reach the handler: a query string changes nothing.
    assert_version_response(&request(addr, "GET", "/version?format=xml&x=%3Cscript%3E").unwrap());

    let hello = request(addr, "GET", "/").unwrap();
    assert_eq!(hello.text(), "hello");
    assert_commit_header(&hello);
    assert_commit_header(&request(addr, "GET", "/no-such-route").unwrap());

    assert_shapes(addr);
    assert_build_info(&request(addr, "GET", "/metrics").unwrap());
}

fn assert_shapes(addr: SocketAddr) {
    let k8s = request(addr, "GET", "/k8s").unwrap();
    assert_eq!(k8s.header("content-type"), Some("application/json"));
    assert_eq!(k8s.header("cache-control"), Some("no-store"));
    let k8s: serde_json::Value = serde_json::from_slice(&k8s.body).unwrap();
    assert_eq!(k8s["gitCommit"].as_str(), stamp().git.commit.as_deref());
    let tree = stamp().git.dirty.map(|d| if d { "dirty" } else { "clean" });
    assert_eq!(k8s["gitTreeState"].as_str(), tree);
    let df: serde_json::Value =
        serde_json::from_slice(&request(addr, "GET", "/__version__").unwrap().body).unwrap();
    assert_eq!(df["commit"].as_str(), stamp().git.commit.as_deref());
    assert_eq!(df["version"], "0.0.0");
}
