use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use crate::stub::Accepting;

/// A loopback gateway in front of a server that lets every path through but those starting
/// with a blocked prefix, which get a `404` page: as a proxy that exposes only part of an API
/// (or a server that lacks an endpoint, as Thanos and Mimir lack `/federate`). Stops accepting
/// when dropped.
#[derive(Debug)]
pub struct Gateway {
    accepting: Accepting,
}

impl Gateway {
    /// Forwards to `upstream`, one request per connection, but for paths starting with
    /// `blocked`.
    pub fn start(upstream: SocketAddr, blocked: &'static str) -> Gateway {
        let loopback = "127.0.0.1:0".parse().expect("address");
        let accepting = Accepting::start(loopback, move |conn| {
            let _ = forward(conn, upstream, blocked);
        });
        Gateway { accepting }
    }

    /// `http://ADDR:PORT`.
    pub fn url(&self) -> String {
        format!("http://{}", self.accepting.addr)
    }
}

fn forward(mut client: TcpStream, upstream: SocketAddr, blocked: &str) -> std::io::Result<()> {
    client.set_read_timeout(Some(Duration::from_secs(30)))?;
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        match client.read(&mut byte) {
            Ok(1) => head.push(byte[0]),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            _ => return Ok(()),
        }
    }
    let head = String::from_utf8_lossy(&head).into_owned();
    let path = head.split_whitespace().nth(1).unwrap_or("/");
    if path.starts_with(blocked) {
        let page = "<html><body><h1>404 Not Found</h1></body></html>";
        return write!(
            client,
            "HTTP/1.1 404 Not Found\r\nContent-Type: text/html\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{page}",
            page.len()
        );
    }
    // One request per connection: the upstream is told to close after its answer, which
    // then tells the client the same.
    let mut forwarded: String = head
        .trim_end()
        .split("\r\n")
        .filter(|line| !line.to_ascii_lowercase().starts_with("connection:"))
        .map(|line| format!("{line}\r\n"))
        .collect();
    forwarded.push_str("Connection: close\r\n\r\n");
    let mut server = TcpStream::connect(upstream)?;
    server.write_all(forwarded.as_bytes())?;
    std::io::copy(&mut server, &mut client)?;
    Ok(())
}
