use std::net::SocketAddr;

/// Serves `app` on a free port of 127.0.0.1 from a background thread with its own tokio
/// runtime of `worker_threads` threads, for as long as the process lives.
pub fn serve_axum(app: axum::Router, worker_threads: usize) -> SocketAddr {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    listener
        .set_nonblocking(true)
        .expect("nonblocking listener");
    let addr = listener.local_addr().expect("bound address");
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(worker_threads.max(1))
            .enable_all()
            .build()
            .expect("tokio runtime");
        rt.block_on(async move {
            let listener = tokio::net::TcpListener::from_std(listener).expect("tokio listener");
            axum::serve(listener, app).await.expect("axum serves");
        });
    });
    addr
}
