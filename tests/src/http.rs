use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

/// A response read off the wire.
#[derive(Debug)]
pub struct HttpResponse {
    /// Status code.
    pub status: u16,
    /// Headers, names lowercased, in order.
    pub headers: Vec<(String, String)>,
    /// Body bytes (empty for `HEAD`).
    pub body: Vec<u8>,
    /// Bytes received: the status line, the headers and the body.
    pub wire_bytes: usize,
}

impl HttpResponse {
    /// The first value of header `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        let name = name.to_ascii_lowercase();
        self.headers
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.as_str())
    }

    /// The body as UTF-8 text.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// One HTTP/1.1 request over a fresh loopback connection (`Connection: close`), with a
/// 10-second timeout. Enough for tests: `Content-Length` bodies (or a body up to the close),
/// no chunking, no TLS.
pub fn request(addr: SocketAddr, method: &str, path: &str) -> std::io::Result<HttpResponse> {
    request_with(addr, method, path, &[])
}

/// [`request`] with extra request headers.
pub fn request_with(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
) -> std::io::Result<HttpResponse> {
    let mut stream = TcpStream::connect_timeout(&addr, Duration::from_secs(10))?;
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    let extra: String = headers
        .iter()
        .map(|(name, value)| format!("{name}: {value}\r\n"))
        .collect();
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n{extra}Content-Length: 0\r\n\r\n"
    )?;
    let mut raw = Vec::new();
    let mut chunk = [0u8; 8192];
    let split = loop {
        if let Some(i) = raw.windows(4).position(|w| w == b"\r\n\r\n") {
            break i;
        }
        match read_some(&mut stream, &mut chunk)? {
            0 => return Err(std::io::Error::other("no end of headers")),
            n => raw.extend_from_slice(&chunk[..n]),
        }
    };
    let head = String::from_utf8_lossy(&raw[..split]).into_owned();
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| std::io::Error::other("no status line"))?;
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    let mut body = raw.split_off(split + 4);
    let length = headers
        .iter()
        .find(|(n, _)| n == "content-length")
        .and_then(|(_, v)| v.parse::<usize>().ok());
    match length {
        // Some servers (Chromium's DevTools) keep the connection open despite `close`.
        _ if method == "HEAD" || status == 304 => body.clear(),
        Some(length) => {
            while body.len() < length {
                match read_some(&mut stream, &mut chunk)? {
                    0 => break,
                    n => body.extend_from_slice(&chunk[..n]),
                }
            }
            body.truncate(length);
        }
        None => {
            stream.read_to_end(&mut body)?;
        }
    }
    Ok(HttpResponse {
        status,
        wire_bytes: split + 4 + body.len(),
        headers,
        body,
    })
}

/// `Read::read`, again when a signal interrupts it: a socket with a read timeout sees `EINTR`
/// even where the signal handler asked for restarts.
fn read_some(stream: &mut TcpStream, buf: &mut [u8]) -> std::io::Result<usize> {
    loop {
        match stream.read(buf) {
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            other => return other,
        }
    }
}
