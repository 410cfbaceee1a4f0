//! A small actix-web service that knows what it is running.
//!
//! ```sh
//! cargo run -p example-actix-service         # listens on LISTEN_ADDR, default 127.0.0.1:3001
//! curl -s localhost:3001/version
//! ```

use actix_web::{App, HttpServer, web};

#[actix_web::main]
async fn main() -> std::io::Result<()> {
    let stamp = shipstamp::stamp!();
    stamp.log_startup();

    let addr = std::env::var("LISTEN_ADDR").unwrap_or_else(|_| "127.0.0.1:3001".into());
    let server = HttpServer::new(move || {
        App::new()
            .wrap(shipstamp_actix::commit_header(stamp))
            .route(
                "/",
                web::get().to(|| async { "hello from example-actix-service\n" }),
            )
            .service(shipstamp_actix::version(stamp))
            .service(shipstamp_actix::build_info("/metrics", stamp))
    })
    .bind(&addr)?;
    for bound in server.addrs() {
        eprintln!("listening on http://{bound}");
    }
    server.run().await
}
