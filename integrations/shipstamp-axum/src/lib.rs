//! `GET /version` in one line for [axum] 0.8, from [shipstamp].
//!
//! ```
//! let app: axum::Router = axum::Router::new()
//!     .route("/", axum::routing::get(|| async { "hello" }))
//!     .merge(shipstamp_axum::router(shipstamp::stamp!()));
//! ```
//!
//! (`stamp!()` needs your crate's one-line `build.rs`; `examples/axum-service` in the
//! repository is a whole service.)
//!
//! - [`router`]: `GET /version` with the `shipstamp/v1` JSON.
//! - [`version`] / [`version_with_shape`]: the same handler, to mount at any path, optionally in
//!   the Kubernetes or Dockerflow shape.
//! - [`build_info`]: Prometheus text (`<package>_build_info{…} 1`), e.g. at `/metrics`.
//! - [`commit_header`]: a layer adding `X-Build-Commit: <short commit>` to every response.
//!
//! Responses carry `Content-Type: application/json`, `Cache-Control: no-store` (caches kept
//! showing old commits after deploys) and a weak `ETag` of the commit. `HEAD` is answered, other
//! methods get `405`. The body is served from pre-serialized bytes, rebuilt at most once a second
//! for the uptime; no request input is read.
//!
//! [axum]: https://docs.rs/axum
//! [shipstamp]: https://docs.rs/shipstamp

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use axum::Router;
use axum::body::{Body, Bytes};
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE, ETAG};
use axum::http::{HeaderName, HeaderValue, Request, Response};
use axum::routing::{MethodRouter, get};
use shipstamp::{Shape, Stamp, VersionEndpoint};

/// The header [`commit_header`] adds.
pub const COMMIT_HEADER: HeaderName = HeaderName::from_static("x-build-commit");

/// `GET /version` serving the `shipstamp/v1` document: `.merge(shipstamp_axum::router(stamp))`.
pub fn router<S>(stamp: &'static Stamp) -> Router<S>
where
    S: Clone + Send + Sync + 'static,
{
    Router::new().route("/version", version(stamp))
}

/// The `/version` handler, to mount at a path of your choice:
/// `.route("/_meta/version", shipstamp_axum::version(stamp))`.
pub fn version<S>(stamp: &'static Stamp) -> MethodRouter<S>
where
    S: Clone + Send + Sync + 'static,
{
    version_with_shape(stamp, Shape::Shipstamp)
}

/// The `/version` handler serving another [`Shape`] of the same stamp.
pub fn version_with_shape<S>(stamp: &'static Stamp, shape: Shape) -> MethodRouter<S>
where
    S: Clone + Send + Sync + 'static,
{
    let endpoint = Arc::new(VersionEndpoint::<Bytes>::new(stamp, shape));
    let etag = endpoint.etag().and_then(|e| HeaderValue::from_str(e).ok());
    get(move || {
        let body = endpoint.body();
        let etag = etag.clone();
        async move {
            let mut res = Response::new(Body::from(body));
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
    })
}

/// Prometheus text exposition of the stamp's `build_info` (and process start time), built
/// once: `.route("/metrics", shipstamp_axum::build_info(stamp))`.
pub fn build_info<S>(stamp: &'static Stamp) -> MethodRouter<S>
where
    S: Clone + Send + Sync + 'static,
{
    let body = Bytes::from(stamp.build_info_metric());
    get(move || {
        let body = body.clone();
        async move {
            let mut res = Response::new(Body::from(body));
            res.headers_mut().insert(
                CONTENT_TYPE,
                HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
            );
            res
        }
    })
}

/// A layer that adds `X-Build-Commit: <short commit>` (`unknown` when not known) to every
/// response: `.layer(shipstamp_axum::commit_header(stamp))`.
pub fn commit_header(stamp: &'static Stamp) -> CommitHeaderLayer {
    let short = stamp.git.short.as_deref().unwrap_or("unknown");
    CommitHeaderLayer {
        value: HeaderValue::from_str(short).unwrap_or(HeaderValue::from_static("unknown")),
    }
}

/// The layer from [`commit_header`].
#[derive(Debug, Clone)]
pub struct CommitHeaderLayer {
    value: HeaderValue,
}

impl<S> tower_layer::Layer<S> for CommitHeaderLayer {
    type Service = CommitHeader<S>;

    fn layer(&self, inner: S) -> Self::Service {
        CommitHeader {
            inner,
            value: self.value.clone(),
        }
    }
}

/// The service [`CommitHeaderLayer`] wraps around yours.
#[derive(Debug, Clone)]
pub struct CommitHeader<S> {
    inner: S,
    value: HeaderValue,
}

impl<S, ReqBody, ResBody> tower_service::Service<Request<ReqBody>> for CommitHeader<S>
where
    S: tower_service::Service<Request<ReqBody>, Response = Response<ResBody>>,
{
    type Response = Response<ResBody>;
    type Error = S::Error;
    type Future = CommitHeaderFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<ReqBody>) -> Self::Future {
        CommitHeaderFuture {
            inner: self.inner.call(req),
            value: Some(self.value.clone()),
        }
    }
}

pin_project_lite::pin_project! {
    /// The response future of [`CommitHeader`].
    #[derive(Debug)]
    pub struct CommitHeaderFuture<F> {
        #[pin]
        inner: F,
        value: Option<HeaderValue>,
    }
}

impl<F, ResBody, E> Future for CommitHeaderFuture<F>
where
    F: Future<Output = Result<Response<ResBody>, E>>,
{
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let mut res = std::task::ready!(this.inner.poll(cx))?;
        if let Some(value) = this.value.take() {
            res.headers_mut().insert(COMMIT_HEADER, value);
        }
        Poll::Ready(Ok(res))
    }
}
