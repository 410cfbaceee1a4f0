//! The smallest HTTP/1.1 client that asks a container engine over its Unix socket: `GET`, one
//! request per connection (`Connection: close`), `Content-Length`, chunked or read-to-close
//! bodies, every size and the whole exchange limited.
//!
//! Why not ureq, which fetches version endpoints: reading containers must work without the
//! `http` feature (rustls, ring), as processes and binaries do, and ureq 3 reaches a Unix socket
//! only through a transport of our own; this is smaller than that transport.

use std::path::Path;
use std::time::{Duration, Instant};

/// The status line and headers of an answer.
const MAX_HEAD: usize = 64 * 1024;
/// A body: a list of every container of a host is the largest answer asked for.
pub(crate) const MAX_BODY: usize = 16 * 1024 * 1024;

/// An answer: its status and body.
#[derive(Debug)]
pub(crate) struct Answer {
    pub(crate) status: u16,
    pub(crate) body: Vec<u8>,
}

/// Why asking failed.
#[derive(Debug)]
pub(crate) enum ClientError {
    /// Connecting failed (no such socket, refused, not permitted): the error as connect gave it.
    Connect(std::io::Error),
    /// The exchange took longer than the time limit.
    TimedOut,
    /// Reading or writing failed midway.
    Io(std::io::Error),
    /// The answer is not HTTP/1.x as we read it, or too large: what was wrong.
    Malformed(String),
}

/// `GET path` on the engine at `socket`: Unix sockets exist on Unix only.
#[cfg(not(unix))]
pub(crate) fn get(_: &Path, _: &str, _: Duration) -> Result<Answer, ClientError> {
    Err(ClientError::Connect(std::io::Error::new(
        std::io::ErrorKind::Unsupported,
        "container engines are reached through Unix sockets, which this platform lacks",
    )))
}

/// `GET path` on the engine at `socket`, within `timeout`.
#[cfg(unix)]
pub(crate) fn get(socket: &Path, path: &str, timeout: Duration) -> Result<Answer, ClientError> {
    use std::io::{Read, Write};
    use std::os::unix::net::UnixStream;

    let deadline = Instant::now() + timeout;
    let mut stream = UnixStream::connect(socket).map_err(ClientError::Connect)?;
    let left = |deadline: Instant| {
        deadline
            .checked_duration_since(Instant::now())
            .filter(|d| !d.is_zero())
            .ok_or(ClientError::TimedOut)
    };
    stream
        .set_write_timeout(Some(left(deadline)?))
        .map_err(ClientError::Io)?;
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: docker\r\nUser-Agent: shipstamp\r\nAccept: application/json\r\nConnection: close\r\n\r\n"
    )
    .map_err(|e| timed_out_or(e, ClientError::Io))?;
    let mut raw = Vec::with_capacity(8192);
    let mut head_end = None;
    let mut chunk = [0u8; 16 * 1024];
    loop {
        stream
            .set_read_timeout(Some(left(deadline)?))
            .map_err(ClientError::Io)?;
        let n = stream
            .read(&mut chunk)
            .map_err(|e| timed_out_or(e, ClientError::Io))?;
        if n == 0 {
            break;
        }
        raw.extend_from_slice(&chunk[..n]);
        if raw.len() > MAX_HEAD + MAX_BODY + 64 * 1024 {
            return Err(ClientError::Malformed(format!(
                "an answer larger than {} MiB",
                MAX_BODY / (1024 * 1024)
            )));
        }
        // A complete answer ends the exchange even when the engine keeps the connection.
        if complete(&raw, &mut head_end) {
            break;
        }
        if head_end.is_none() && raw.len() > MAX_HEAD {
            return Err(ClientError::Malformed(
                "not an HTTP answer (no end of headers within 64 KiB)".into(),
            ));
        }
    }
    parse(&raw)
}

fn timed_out_or(e: std::io::Error, other: fn(std::io::Error) -> ClientError) -> ClientError {
    match e.kind() {
        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut => ClientError::TimedOut,
        _ => other(e),
    }
}

/// Whether `raw` holds a whole answer: its head and as much body as it announces. `head_end`
/// keeps where the head ends once found, so that a large body is not searched again on every
/// read.
fn complete(raw: &[u8], head_end: &mut Option<usize>) -> bool {
    let end = match *head_end {
        Some(end) => end,
        None => match find(raw, b"\r\n\r\n") {
            Some(end) => *head_end.insert(end),
            // A head that never ends is cut off by the size limit.
            None => return false,
        },
    };
    let Ok((_, framing)) = head(&raw[..end]) else {
        return true;
    };
    let body = &raw[end + 4..];
    match framing {
        Framing::Length(n) => body.len() >= n,
        // Only a body that ends like a last chunk is decoded to make sure.
        Framing::Chunked => body.ends_with(b"0\r\n\r\n") && dechunk(body).is_ok(),
        Framing::Close => false,
    }
}

enum Framing {
    Length(usize),
    Chunked,
    Close,
}

/// Reads a whole answer.
pub(crate) fn parse(raw: &[u8]) -> Result<Answer, ClientError> {
    let bad = |why: &str| ClientError::Malformed(why.to_owned());
    if raw.is_empty() {
        return Err(bad("the engine closed the connection without answering"));
    }
    let end = find(raw, b"\r\n\r\n")
        .filter(|end| *end <= MAX_HEAD)
        .ok_or_else(|| bad("not an HTTP answer (no end of headers)"))?;
    let (status, framing) = head(&raw[..end])?;
    let body = &raw[end + 4..];
    let body = match framing {
        Framing::Length(n) if body.len() >= n => body[..n].to_vec(),
        Framing::Length(n) => {
            return Err(ClientError::Malformed(format!(
                "the answer broke off after {} of {n} bytes",
                body.len()
            )));
        }
        Framing::Chunked => dechunk(body)?,
        Framing::Close => body.to_vec(),
    };
    if body.len() > MAX_BODY {
        return Err(bad("an answer larger than the limit"));
    }
    Ok(Answer { status, body })
}

/// The status and how the body is framed.
fn head(head: &[u8]) -> Result<(u16, Framing), ClientError> {
    let bad = |why: String| ClientError::Malformed(why);
    let text = std::str::from_utf8(head).map_err(|_| bad("headers that are not text".into()))?;
    let mut lines = text.split("\r\n");
    let status_line = lines.next().unwrap_or("");
    let mut parts = status_line.splitn(3, ' ');
    let version = parts.next().unwrap_or("");
    let status = parts
        .next()
        .filter(|_| version.starts_with("HTTP/1."))
        .and_then(|s| s.parse::<u16>().ok())
        .filter(|s| (100..600).contains(s))
        .ok_or_else(|| {
            bad(format!(
                "not an HTTP answer: {:?}",
                status_line.chars().take(60).collect::<String>()
            ))
        })?;
    let mut framing = Framing::Close;
    for line in lines {
        let Some((name, value)) = line.split_once(':') else {
            return Err(bad("a header line without a colon".into()));
        };
        let (name, value) = (name.trim(), value.trim());
        if name.eq_ignore_ascii_case("transfer-encoding") {
            if value.eq_ignore_ascii_case("chunked") {
                framing = Framing::Chunked;
            } else {
                return Err(bad(format!("a transfer encoding not spoken: {value:?}")));
            }
        } else if name.eq_ignore_ascii_case("content-length")
            && !matches!(framing, Framing::Chunked)
        {
            let n = value
                .parse::<usize>()
                .map_err(|_| bad(format!("a bad Content-Length: {value:?}")))?;
            if n > MAX_BODY {
                return Err(bad(format!(
                    "an answer of {n} bytes, larger than the limit ({MAX_BODY})"
                )));
            }
            framing = Framing::Length(n);
        }
    }
    Ok((status, framing))
}

/// A chunked body, decoded; an error until it is whole.
fn dechunk(mut body: &[u8]) -> Result<Vec<u8>, ClientError> {
    let bad = |why: &str| ClientError::Malformed(why.to_owned());
    let mut out = Vec::new();
    loop {
        let line_end = find(body, b"\r\n").ok_or_else(|| bad("a chunked answer that broke off"))?;
        let line = std::str::from_utf8(&body[..line_end]).map_err(|_| bad("a bad chunk size"))?;
        let size = line.split(';').next().unwrap_or("").trim();
        if size.is_empty() || size.len() > 8 {
            return Err(bad("a bad chunk size"));
        }
        let size = usize::from_str_radix(size, 16).map_err(|_| bad("a bad chunk size"))?;
        body = &body[line_end + 2..];
        if size == 0 {
            return Ok(out);
        }
        if out.len() + size > MAX_BODY {
            return Err(bad("an answer larger than the limit"));
        }
        if body.len() < size + 2 {
            return Err(bad("a chunked answer that broke off"));
        }
        if &body[size..size + 2] != b"\r\n" {
            return Err(bad("a chunk that does not end where its size says"));
        }
        out.extend_from_slice(&body[..size]);
        body = &body[size + 2..];
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn lengths_chunks_and_closes() {
        let a = parse(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}").unwrap();
        assert_eq!((a.status, a.body.as_slice()), (200, &b"{}"[..]));
        let a = parse(b"HTTP/1.1 404 Not Found\r\nTransfer-Encoding: chunked\r\n\r\n3;x=y\r\n{\"a\r\n2\r\n\":\r\n2\r\n1}\r\n0\r\n\r\n")
            .unwrap();
        assert_eq!((a.status, a.body.as_slice()), (404, &b"{\"a\":1}"[..]));
        let a = parse(b"HTTP/1.0 200 OK\r\n\r\nto the end").unwrap();
        assert_eq!(a.body, b"to the end");
        let whole = |raw: &[u8]| complete(raw, &mut None);
        assert!(whole(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}"));
        assert!(!whole(b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\n{}"));
        assert!(whole(
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"
        ));
    }

    #[test]
    fn garbage_is_an_error() {
        for raw in [
            &b""[..],
            b"garbage",
            b"SSH-2.0-OpenSSH_9.2\r\n\r\n",
            b"HTTP/1.1 abc OK\r\n\r\n",
            b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n{}",
            b"HTTP/1.1 200 OK\r\nContent-Length: 99999999999999\r\n\r\n",
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\n{}",
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nfffffffff\r\n",
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n",
            b"HTTP/1.1 200 OK\r\nno colon\r\n\r\n",
        ] {
            assert!(
                matches!(parse(raw), Err(ClientError::Malformed(_))),
                "{:?}",
                String::from_utf8_lossy(raw)
            );
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]

        /// Whatever the engine sends, the reader answers or says why; it never panics.
        #[test]
        fn any_bytes(raw in proptest::collection::vec(any::<u8>(), 0..512)) {
            let _ = complete(&raw, &mut None);
            let _ = parse(&raw);
        }

        /// Any HTTP-shaped answer, with any framing: never a panic, and a body that fits its
        /// framing comes back whole.
        #[test]
        fn framed(body in proptest::collection::vec(any::<u8>(), 0..300), chunk in 1usize..64, chunked: bool, cut in 0usize..400) {
            let mut raw = b"HTTP/1.1 200 OK\r\n".to_vec();
            if chunked {
                raw.extend_from_slice(b"Transfer-Encoding: chunked\r\n\r\n");
                for part in body.chunks(chunk) {
                    raw.extend_from_slice(format!("{:x}\r\n", part.len()).as_bytes());
                    raw.extend_from_slice(part);
                    raw.extend_from_slice(b"\r\n");
                }
                raw.extend_from_slice(b"0\r\n\r\n");
            } else {
                raw.extend_from_slice(format!("Content-Length: {}\r\n\r\n", body.len()).as_bytes());
                raw.extend_from_slice(&body);
            }
            prop_assert!(complete(&raw, &mut None));
            prop_assert_eq!(&parse(&raw).unwrap().body, &body);
            let _ = parse(&raw[..cut.min(raw.len())]);
        }
    }
}
