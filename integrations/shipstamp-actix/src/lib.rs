//! `GET /version` in one line for [actix-web] 4, from [shipstamp].
//!
//! ```
//! let app = actix_web::App::new()
//!     .service(shipstamp_actix::version(shipstamp::stamp!()));
//! ```
//!
//! (`stamp!()` needs your crate's one-line `build.rs`; `examples/actix-service` in the
//! repository is a whole service.)
//!
//! - [`version`]: `GET /version` with the `shipstamp/v1` JSON.
//! - [`resource`]: the same at a path of your choice, optionally in the Kubernetes or
//!   Dockerflow shape.
//! - [`build_info`]: Prometheus text (`<package>_build_info{…} 1`), e.g. at `/metrics`.
//! - [`commit_header`]: middleware adding `X-Build-Commit: <short commit>` to every response.
//!
//! Responses carry `Content-Type: application/json`, `Cache-Control: no-store` (caches kept
//! showing old commits after deploys) and a weak `ETag` of the commit. `HEAD` is answered, other
//! methods get `405`. The body is served from pre-serialized bytes, rebuilt at most once a second
//! for the uptime; no request input is read.
//!
//! [actix-web]: https://docs.rs/actix-web
//! [shipstamp]: https://docs.rs/shipstamp

use std::sync::Arc;

use actix_web::http::StatusCode;
use actix_web::http::header::{CACHE_CONTROL, CONTENT_TYPE, ETAG, HeaderValue};
use actix_web::middleware::DefaultHeaders;
use actix_web::web::{self, Bytes};
use actix_web::{HttpResponse, Resource};
use shipstamp::{Shape, Stamp, VersionEndpoint};

/// The header [`commit_header`] adds.
pub const COMMIT_HEADER: &str = "x-build-commit";

/// `GET /version` serving the `shipstamp/v1` document:
/// `.service(shipstamp_actix::version(stamp))`.
pub fn version(stamp: &'static Stamp) -> Resource {
    resource("/version", stamp, Shape::Shipstamp)
}

/// The version endpoint at `path`, in `shape`:
/// `.service(shipstamp_actix::resource("/__version__", stamp, Shape::Dockerflow))`.
pub fn resource(path: &str, stamp: &'static Stamp, shape: Shape) -> Resource {
    let endpoint = Arc::new(VersionEndpoint::<Bytes>::new(stamp, shape));
    let etag = endpoint.etag().and_then(|e| HeaderValue::from_str(e).ok());
    let handler = move || {
        let body = endpoint.body();
        let etag = etag.clone();
        async move {
            let mut res = HttpResponse::with_body(StatusCode::OK, body);
            let headers = res.headers_mut();
            headers.insert(
                CONTENT_TYPE,
                HeaderValue::from_static(VersionEndpoint::<Bytes>::CONTENT_TYPE),
            );
            headers.insert(
                CACHE_CONTROL,
                HeaderValue::from_static(VersionEndpoint::<Bytes>::CACHE_CONTROL),
            );
            if let Some(etag) = etag {
                headers.insert(ETAG, etag);
            }
            res
        }
    };
    web::resource(path)
        .route(web::get().to(handler.clone()))
        .route(web::head().to(handler))
}

/// Prometheus text exposition of the stamp's `build_info` (and process start time), built
/// once: `.service(shipstamp_actix::build_info("/metrics", stamp))`.
pub fn build_info(path: &str, stamp: &'static Stamp) -> Resource {
    let body = Bytes::from(stamp.build_info_metric());
    let handler = move || {
        let body = body.clone();
        async move {
            HttpResponse::Ok()
                .insert_header((
                    CONTENT_TYPE,
                    HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
                ))
                .body(body)
        }
    };
    web::resource(path)
        .route(web::get().to(handler.clone()))
        .route(web::head().to(handler))
}

/// Middleware that adds `X-Build-Commit: <short commit>` (`unknown` when not known) to every
/// response: `.wrap(shipstamp_actix::commit_header(stamp))`.
pub fn commit_header(stamp: &'static Stamp) -> DefaultHeaders {
    let short = stamp.git.short.as_deref().unwrap_or("unknown");
    let value = HeaderValue::from_str(short).unwrap_or(HeaderValue::from_static("unknown"));
    DefaultHeaders::new().add((COMMIT_HEADER, value))
}
