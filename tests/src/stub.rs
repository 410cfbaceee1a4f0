use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// What a [`StubServer`] route answers.
#[derive(Debug, Clone)]
pub enum Reply {
    /// `200` with this content type and body.
    Ok(&'static str, Vec<u8>),
    /// `200`, JSON, with this `Content-Encoding` and these (encoded) body bytes.
    Encoded(&'static str, Vec<u8>),
    /// This status with an HTML body.
    Status(u16, &'static str),
    /// Accepts the request and never answers.
    Hang,
    /// Reads the request and closes the connection without a word (a crashing worker, a
    /// proxy dropping it).
    Close,
    /// `200` with a body of this many bytes, streamed.
    Huge(u64),
    /// `200`, JSON, that promises twice these bytes, sends them and hangs up.
    CutShort(Vec<u8>),
    /// A `302` to itself, forever.
    RedirectToSelf,
    /// A `302` to this location.
    Redirect(String),
    /// Each request gets the next reply; the last one repeats.
    Sequence(Vec<Reply>),
}

impl Reply {
    /// A clean `shipstamp/v1` document of `package`, version 1, at `commit`: what most tests'
    /// servers serve.
    pub fn shipstamp(package: &str, commit: &str) -> Reply {
        Reply::Ok(
            "application/json",
            format!(
                r#"{{"schema":"shipstamp/v1","package":{{"name":"{package}","version":"1"}},"git":{{"commit":"{commit}","dirty":false}}}}"#
            )
            .into_bytes(),
        )
    }
}

/// A tiny HTTP/1.1 server on 127.0.0.1 for tests of clients: fixed routes, misbehaviour on
/// demand. Stops accepting when dropped.
#[derive(Debug)]
pub struct StubServer {
    accepting: Accepting,
    heads: Arc<Mutex<Vec<String>>>,
}

type Routes = Arc<Vec<(String, Reply, AtomicUsize)>>;

impl StubServer {
    /// Starts serving `routes` (exact paths) on a free port of 127.0.0.1; other paths get
    /// `404`.
    pub fn start(routes: Vec<(&str, Reply)>) -> StubServer {
        StubServer::start_at("127.0.0.1:0".parse().expect("address"), routes)
    }

    /// [`StubServer::start`] on `addr` (another loopback address, a given port).
    pub fn start_at(addr: SocketAddr, routes: Vec<(&str, Reply)>) -> StubServer {
        let routes: Routes = Arc::new(
            routes
                .into_iter()
                .map(|(p, r)| (p.to_owned(), r, AtomicUsize::new(0)))
                .collect(),
        );
        let heads = Arc::new(Mutex::new(Vec::new()));
        let seen = heads.clone();
        let accepting = Accepting::start(addr, move |conn| serve(conn, &routes, &seen));
        StubServer { accepting, heads }
    }

    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.accepting.addr
    }

    /// The head (request line and headers) of every request so far.
    pub fn request_heads(&self) -> Vec<String> {
        self.heads.lock().map(|h| h.clone()).unwrap_or_default()
    }

    /// `http://ADDR:PORT{path}`.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.accepting.addr)
    }
}

/// A listener on loopback that hands each connection to a handler, on a thread of its own,
/// until it is dropped: the accepting half of [`StubServer`] and [`crate::Gateway`].
#[derive(Debug)]
pub(crate) struct Accepting {
    pub(crate) addr: SocketAddr,
    stop: Arc<AtomicBool>,
}

impl Accepting {
    pub(crate) fn start(
        addr: SocketAddr,
        handle: impl Fn(TcpStream) + Send + Sync + 'static,
    ) -> Accepting {
        let listener = TcpListener::bind(addr).expect("bind");
        let addr = listener.local_addr().expect("addr");
        let stop = Arc::new(AtomicBool::new(false));
        let stopping = stop.clone();
        let handle = Arc::new(handle);
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                if stopping.load(Ordering::Relaxed) {
                    break;
                }
                let Ok(conn) = conn else { continue };
                let handle = handle.clone();
                std::thread::spawn(move || handle(conn));
            }
        });
        Accepting { addr, stop }
    }
}

impl Drop for Accepting {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        // Wakes the accepting thread, which then sees the flag.
        let _ = TcpStream::connect(self.addr);
    }
}

fn serve(mut conn: TcpStream, routes: &Routes, seen: &Mutex<Vec<String>>) {
    let _ = conn.set_read_timeout(Some(Duration::from_secs(30)));
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        match conn.read(&mut byte) {
            // Not an HTTP request (a TLS handshake, say): answer as HTTP servers do.
            Ok(1) if head.is_empty() && !byte[0].is_ascii_uppercase() => {
                let _ = conn.write_all(
                    b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
                );
                return;
            }
            Ok(1) => head.push(byte[0]),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            _ => return,
        }
    }
    let head = String::from_utf8_lossy(&head).into_owned();
    if let Ok(mut seen) = seen.lock() {
        seen.push(head.clone());
    }
    let path = head.split_whitespace().nth(1).unwrap_or("/").to_owned();
    // A route without a query string answers whatever the query.
    let bare = path.split('?').next().unwrap_or("");
    let route = routes
        .iter()
        .find(|(p, ..)| *p == path)
        .or_else(|| routes.iter().find(|(p, ..)| !p.contains('?') && p == bare));
    let reply = match route {
        Some((_, Reply::Sequence(replies), n)) => {
            let i = n.fetch_add(1, Ordering::Relaxed).min(replies.len() - 1);
            replies[i].clone()
        }
        Some((_, reply, _)) => reply.clone(),
        None => Reply::Status(404, "<html><body>not found</body></html>"),
    };
    respond(conn, &path, reply);
}

fn respond(mut conn: TcpStream, path: &str, reply: Reply) {
    let _ = match reply {
        Reply::Ok(content_type, body) => write!(
            conn,
            "HTTP/1.1 200 OK\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
            body.len()
        )
        .and_then(|_| conn.write_all(&body)),
        Reply::Encoded(encoding, body) => write!(
            conn,
            "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Encoding: {encoding}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
            body.len()
        )
        .and_then(|_| conn.write_all(&body)),
        Reply::Status(code, body) => write!(
            conn,
            "HTTP/1.1 {code} Oops\r\nContent-Type: text/html\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        ),
        Reply::CutShort(body) => write!(
            conn,
            "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
            body.len() * 2
        )
        .and_then(|_| conn.write_all(&body)),
        Reply::Hang => {
            std::thread::sleep(Duration::from_secs(60));
            Ok(())
        }
        Reply::Close => Ok(()),
        Reply::Huge(len) => {
            let chunk = vec![b'a'; 64 * 1024];
            let mut sent = 0;
            let header = format!("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {len}\r\n\r\n");
            let mut result = conn.write_all(header.as_bytes());
            while result.is_ok() && sent < len {
                let n = chunk.len().min((len - sent) as usize);
                result = conn.write_all(&chunk[..n]);
                sent += n as u64;
            }
            result
        }
        Reply::RedirectToSelf => write!(
            conn,
            "HTTP/1.1 302 Found\r\nLocation: {path}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
        ),
        Reply::Redirect(location) => write!(
            conn,
            "HTTP/1.1 302 Found\r\nLocation: {location}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
        ),
        Reply::Sequence(_) => Ok(()),
    };
}
