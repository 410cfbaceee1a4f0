//! A small axum service that knows what it is running.
//!
//! ```sh
//! cargo run -p example-axum-service          # listens on LISTEN_ADDR, default 127.0.0.1:3000
//! curl -s localhost:3000/version
//! ```

use axum::Router;
use axum::routing::get;

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let stamp = shipstamp::stamp!();
    stamp.log_startup();

    let app = Router::new()
        .route("/", get(|| async { "hello from example-axum-service\n" }))
        .merge(shipstamp_axum::router(stamp))
        .route("/metrics", shipstamp_axum::build_info(stamp))
        .layer(shipstamp_axum::commit_header(stamp));

    let addr = std::env::var("LISTEN_ADDR").unwrap_or_else(|_| "127.0.0.1:3000".into());
    let listener = tokio::net::TcpListener::bind(&addr).await?;
    eprintln!("listening on http://{}", listener.local_addr()?);
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown())
        .await
}

/// Ctrl-C, or the SIGTERM that `docker stop`, Kubernetes and systemd send: without it, the
/// service as a container's PID 1 ignores SIGTERM and is killed after the grace period.
async fn shutdown() {
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut sigterm) => drop(sigterm.recv().await),
            Err(_) => std::future::pending().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        () = terminate => {}
    }
}
