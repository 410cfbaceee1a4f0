//! Fetching a version endpoint, with a time limit for the whole exchange and a size limit for
//! the body, before and after decompression.

use std::cell::RefCell;
use std::io::Read;
use std::net::SocketAddr;
use std::time::Duration;

use ureq::unversioned::resolver::{DefaultResolver, ResolvedSocketAddrs, Resolver};
use ureq::unversioned::transport::{DefaultConnector, NextTimeout};

/// Bodies larger than this are refused, as sent and once decompressed: a version document is a
/// few hundred bytes.
pub const MAX_BODY: u64 = 1024 * 1024;

/// Why a fetch produced no body to read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum FetchError {
    /// No answer: refused, unresolvable, timed out, TLS failure.
    Unreachable(String),
    /// An answer that is not a version document: an error status, too large, a redirect loop.
    Invalid(String),
}

/// Redirects followed before giving up (a loop, most likely).
const MAX_REDIRECTS: usize = 5;

#[derive(Debug)]
pub(crate) struct Fetcher {
    /// For the whole exchange, redirects included.
    timeout: Duration,
    agent: ureq::Agent,
    /// For instances reached at a given address: connections are not kept, since the next
    /// request to the same host may be for another address.
    pinned: ureq::Agent,
}

thread_local! {
    /// The host whose address this thread's request must connect to, and that address.
    static PINNED: RefCell<Option<(String, SocketAddr)>> = const { RefCell::new(None) };
}

/// Resolves through the user's resolver when there is one (`--resolve`), else as the system
/// does; and to the one address this thread pinned for its request, when it did.
#[derive(Debug)]
struct PinnedResolver {
    system: DefaultResolver,
    user: Option<crate::Resolver>,
}

impl Resolver for PinnedResolver {
    fn resolve(
        &self,
        uri: &ureq::http::Uri,
        config: &ureq::config::Config,
        timeout: NextTimeout,
    ) -> Result<ResolvedSocketAddrs, ureq::Error> {
        // Only the pinned host: a redirect to another host resolves as usual.
        let pinned = PINNED.with(|p| {
            p.borrow()
                .as_ref()
                .filter(|(host, _)| Some(host.as_str()) == uri.host())
                .map(|(_, address)| *address)
        });
        if let Some(address) = pinned {
            let mut addresses = self.empty();
            addresses.push(address);
            return Ok(addresses);
        }
        let (Some(user), Some((host, port))) = (&self.user, host_and_port(uri)) else {
            return self.system.resolve(uri, config, timeout);
        };
        let found = user.resolve(&host, port).map_err(ureq::Error::Io)?;
        let mut addresses = self.empty();
        // As many as ureq tries (it keeps a fixed number).
        for address in found.into_iter().take(16) {
            addresses.push(address);
        }
        if addresses.is_empty() {
            return Err(ureq::Error::HostNotFound);
        }
        Ok(addresses)
    }
}

/// The host (without brackets) and port of a URI.
pub(crate) fn host_and_port(uri: &ureq::http::Uri) -> Option<(String, u16)> {
    let host = uri.host()?.trim_start_matches('[').trim_end_matches(']');
    let port = uri.port_u16().unwrap_or(match uri.scheme_str() {
        Some("https") => 443,
        _ => 80,
    });
    Some((host.to_owned(), port))
}

impl Fetcher {
    pub(crate) fn new(timeout: Duration, resolver: Option<crate::Resolver>) -> Fetcher {
        let config = || {
            ureq::Agent::config_builder()
                .timeout_global(Some(timeout))
                // Followed here, so that a failure can say where it was sent.
                .max_redirects(0)
                .http_status_as_error(false)
                .user_agent(concat!("shipstamp/", env!("CARGO_PKG_VERSION")))
        };
        let resolve = || PinnedResolver {
            system: DefaultResolver::default(),
            user: resolver.clone(),
        };
        Fetcher {
            timeout,
            agent: ureq::Agent::with_parts(config().build(), DefaultConnector::new(), resolve()),
            pinned: ureq::Agent::with_parts(
                config().max_idle_connections(0).build(),
                DefaultConnector::new(),
                resolve(),
            ),
        }
    }

    /// The body at `url`, connecting to `address` when given (the `Host` header and the TLS
    /// server name stay the URL's host).
    pub(crate) fn get(
        &self,
        url: &str,
        address: Option<SocketAddr>,
    ) -> Result<Vec<u8>, FetchError> {
        let host = address.and_then(|_| {
            url.parse::<ureq::http::Uri>()
                .ok()?
                .host()
                .map(str::to_owned)
        });
        let (Some(address), Some(host)) = (address, host) else {
            return self.get_with(&self.agent, url);
        };
        PINNED.with(|p| *p.borrow_mut() = Some((host, address)));
        let result = self.get_with(&self.pinned, url);
        PINNED.with(|p| *p.borrow_mut() = None);
        result
    }

    /// The body at `url`, following redirects (each failure after one names, without
    /// secrets, where it was sent), within one time limit for the whole exchange.
    fn get_with(&self, agent: &ureq::Agent, url: &str) -> Result<Vec<u8>, FetchError> {
        let deadline = std::time::Instant::now() + self.timeout;
        let mut at = url.to_owned();
        let mut redirected = false;
        for _ in 0..=MAX_REDIRECTS {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            if left.is_zero() {
                return Err(after_redirect(
                    FetchError::Unreachable("timed out".into()),
                    redirected.then_some(at.as_str()),
                ));
            }
            let sent_to = redirected.then_some(at.as_str());
            let mut res = agent
                .get(&at)
                .header("Accept", "application/json, text/plain;q=0.9")
                .header("Accept-Encoding", "gzip, deflate")
                .config()
                .timeout_global(Some(left))
                .build()
                .call()
                .map_err(|e| after_redirect(classify(e), sent_to))?;
            let status = res.status();
            if status.is_redirection() {
                let location = res
                    .headers()
                    .get("location")
                    .and_then(|v| v.to_str().ok())
                    .and_then(|l| resolve_location(&at, l))
                    .ok_or_else(|| {
                        after_redirect(
                            FetchError::Invalid(format!(
                                "HTTP {status}: a redirect that cannot be followed"
                            )),
                            sent_to,
                        )
                    })?;
                at = location;
                redirected = true;
                continue;
            }
            if !status.is_success() {
                return Err(after_redirect(
                    FetchError::Invalid(format!("HTTP {status}")),
                    sent_to,
                ));
            }
            let encoding = res.headers().get("content-encoding").map(|v| {
                String::from_utf8_lossy(v.as_bytes())
                    .trim()
                    .to_ascii_lowercase()
            });
            let raw = read_body(res.body_mut()).map_err(|e| after_redirect(e, sent_to))?;
            return decode(encoding.as_deref(), raw)
                .map_err(|e| after_redirect(FetchError::Invalid(e), sent_to));
        }
        Err(FetchError::Invalid(
            "too many redirects (a redirect loop?)".into(),
        ))
    }
}

/// The body, at most [`MAX_BODY`] bytes; one that breaks off says how much of it arrived.
fn read_body(body: &mut ureq::Body) -> Result<Vec<u8>, FetchError> {
    let mut reader = body.with_config().limit(MAX_BODY).reader();
    let mut raw = Vec::new();
    let mut chunk = [0u8; 8192];
    loop {
        match reader.read(&mut chunk) {
            Ok(0) => return Ok(raw),
            Ok(n) => raw.extend_from_slice(&chunk[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => {
                return Err(FetchError::Unreachable(format!(
                    "the answer broke off after {} bytes of its body (the server closed the \
                     connection)",
                    raw.len()
                )));
            }
            Err(e) => {
                let why = classify_io(e);
                return Err(match why {
                    FetchError::Unreachable(what) => FetchError::Unreachable(format!(
                        "the answer broke off after {} bytes of its body ({what})",
                        raw.len()
                    )),
                    invalid => invalid,
                });
            }
        }
    }
}

/// What a failure says once the request was redirected: where to, without secrets.
fn after_redirect(e: FetchError, redirected_to: Option<&str>) -> FetchError {
    let Some(to) = redirected_to else { return e };
    let to = shipstamp_format::shown_url(to);
    match e {
        FetchError::Unreachable(why) => {
            FetchError::Unreachable(format!("{why} (redirected to {to})"))
        }
        FetchError::Invalid(why) => FetchError::Invalid(format!("{why} (redirected to {to})")),
    }
}

/// `location` (absolute, scheme-relative, absolute-path or relative) against the URL `base`.
fn resolve_location(base: &str, location: &str) -> Option<String> {
    let location = location.trim();
    if location.starts_with("http://") || location.starts_with("https://") {
        return Some(location.to_owned());
    }
    let (scheme, rest) = base.split_once("://")?;
    if let Some(authority_and_path) = location.strip_prefix("//") {
        return Some(format!("{scheme}://{authority_and_path}"));
    }
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let authority = &rest[..authority_end];
    if location.starts_with('/') {
        return Some(format!(
            "{scheme}://{authority}{}",
            without_dot_segments(location)
        ));
    }
    if location.is_empty() || location.contains("://") {
        return None;
    }
    let path = &rest[authority_end..];
    let path = &path[..path.find(['?', '#']).unwrap_or(path.len())];
    let dir = &path[..path.rfind('/').map_or(0, |i| i + 1)];
    let dir = if dir.is_empty() { "/" } else { dir };
    Some(format!(
        "{scheme}://{authority}{}",
        without_dot_segments(&format!("{dir}{location}"))
    ))
}

/// An absolute path with its `.` and `..` segments resolved (RFC 3986, 5.2.4); the query and
/// fragment kept as they are.
fn without_dot_segments(path: &str) -> String {
    let end = path.find(['?', '#']).unwrap_or(path.len());
    let (path, tail) = path.split_at(end);
    let mut out: Vec<&str> = Vec::new();
    let segments: Vec<&str> = path.split('/').skip(1).collect();
    for (i, segment) in segments.iter().enumerate() {
        let last = i + 1 == segments.len();
        match *segment {
            "." | ".." => {
                if *segment == ".." {
                    out.pop();
                }
                // A path that ends in a dot segment names a directory.
                if last {
                    out.push("");
                }
            }
            s => out.push(s),
        }
    }
    format!("/{}{tail}", out.join("/"))
}

/// The body as sent, decompressed for `Content-Encoding` gzip or deflate, at most [`MAX_BODY`]
/// bytes once decoded: a few kilobytes of gzip can expand to gigabytes.
pub(crate) fn decode(encoding: Option<&str>, raw: Vec<u8>) -> Result<Vec<u8>, String> {
    let limit = |reader: &mut dyn Read, name: &str| -> Result<Vec<u8>, String> {
        let mut out = Vec::new();
        reader
            .take(MAX_BODY + 1)
            .read_to_end(&mut out)
            .map_err(|e| format!("a damaged {name} body ({e})"))?;
        if out.len() as u64 > MAX_BODY {
            return Err(format!(
                "body larger than {} KiB once decompressed ({name})",
                MAX_BODY / 1024
            ));
        }
        Ok(out)
    };
    match encoding {
        None | Some("" | "identity") => Ok(raw),
        Some("gzip" | "x-gzip") => limit(&mut flate2::read::MultiGzDecoder::new(&raw[..]), "gzip"),
        // "deflate" is the zlib format; some servers send raw deflate instead.
        Some("deflate") => {
            limit(&mut flate2::read::ZlibDecoder::new(&raw[..]), "deflate").or_else(|zlib| {
                limit(&mut flate2::read::DeflateDecoder::new(&raw[..]), "deflate").map_err(|_| zlib)
            })
        }
        Some(other) => Err(format!("compressed body ({other}), not decoded")),
    }
}

/// An I/O error while the body was read, as [`classify`] words it.
fn classify_io(e: std::io::Error) -> FetchError {
    // ureq wraps its own errors (a body over the limit) in the I/O error it hands out.
    match e.downcast::<ureq::Error>() {
        Ok(inner) => classify(inner),
        Err(e) => classify(ureq::Error::Io(e)),
    }
}

fn classify(e: ureq::Error) -> FetchError {
    use ureq::Error as E;
    match e {
        E::BodyExceedsLimit(_) => {
            FetchError::Invalid(format!("body larger than {} KiB", MAX_BODY / 1024))
        }
        E::TooManyRedirects => FetchError::Invalid("too many redirects (a redirect loop?)".into()),
        E::RedirectFailed => FetchError::Invalid("a redirect that cannot be followed".into()),
        E::BadUri(why) => FetchError::Invalid(format!("bad URL: {why}")),
        E::Timeout(_) => FetchError::Unreachable("timed out".into()),
        E::HostNotFound => FetchError::Unreachable("host not found".into()),
        E::ConnectionFailed => FetchError::Unreachable("connection failed".into()),
        E::Io(io) if io.kind() == std::io::ErrorKind::ConnectionRefused => {
            FetchError::Unreachable("connection refused".into())
        }
        E::Io(io) if io.kind() == std::io::ErrorKind::TimedOut => {
            FetchError::Unreachable("timed out".into())
        }
        // Also where a TLS handshake is cut off.
        E::Io(io) if io.kind() == std::io::ErrorKind::UnexpectedEof => {
            FetchError::Unreachable("the server closed the connection without an answer".into())
        }
        E::Io(io) if io.kind() == std::io::ErrorKind::ConnectionReset => {
            FetchError::Unreachable("connection reset by the server".into())
        }
        // What comes back is not a TLS record: most often a plain HTTP server. (rustls' error
        // arrives inside an I/O error or on its own, depending on where the handshake fails.)
        E::Io(io) if is_not_tls(io.get_ref()) => not_tls(),
        E::Rustls(rustls::Error::InvalidMessage(_)) => not_tls(),
        E::Io(io) => FetchError::Unreachable(io.to_string()),
        E::Rustls(e) => FetchError::Unreachable(format!("TLS: {e}")),
        E::Protocol(p) => FetchError::Invalid(format!("not HTTP: {p}")),
        other => FetchError::Unreachable(other.to_string()),
    }
}

fn is_not_tls(inner: Option<&(dyn std::error::Error + Send + Sync + 'static)>) -> bool {
    matches!(
        inner.and_then(|e| e.downcast_ref::<rustls::Error>()),
        Some(rustls::Error::InvalidMessage(_))
    )
}

fn not_tls() -> FetchError {
    FetchError::Unreachable("the server does not speak TLS here (plain HTTP? try http://)".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redirect_locations_against_the_url() {
        let base = "http://a.internal:8080/api/v1/version?x=1";
        for (location, resolved) in [
            ("https://b.internal/v", Some("https://b.internal/v")),
            ("//c.internal/v", Some("http://c.internal/v")),
            ("/other", Some("http://a.internal:8080/other")),
            ("info", Some("http://a.internal:8080/api/v1/info")),
            ("../info?y=2", Some("http://a.internal:8080/api/info?y=2")),
            ("./", Some("http://a.internal:8080/api/v1/")),
            ("../../../../x", Some("http://a.internal:8080/x")),
            ("/a/./b/../c", Some("http://a.internal:8080/a/c")),
            ("", None),
            ("ftp://x/y", None),
        ] {
            assert_eq!(
                resolve_location(base, location).as_deref(),
                resolved,
                "{location}"
            );
        }
    }
    use std::io::Write;

    /// Failures that the loopback tests cannot produce without touching a network (a DNS
    /// lookup goes to the machine's resolver) are classified here.
    #[test]
    fn transport_failures_are_classified() {
        use std::io::{Error, ErrorKind};
        let cases = [
            (
                ureq::Error::HostNotFound,
                FetchError::Unreachable("host not found".into()),
            ),
            (
                ureq::Error::ConnectionFailed,
                FetchError::Unreachable("connection failed".into()),
            ),
            (
                ureq::Error::Io(Error::from(ErrorKind::ConnectionRefused)),
                FetchError::Unreachable("connection refused".into()),
            ),
            (
                ureq::Error::Io(Error::from(ErrorKind::TimedOut)),
                FetchError::Unreachable("timed out".into()),
            ),
            (
                ureq::Error::Io(Error::from(ErrorKind::ConnectionReset)),
                FetchError::Unreachable("connection reset by the server".into()),
            ),
            (
                ureq::Error::TooManyRedirects,
                FetchError::Invalid("too many redirects (a redirect loop?)".into()),
            ),
            (
                ureq::Error::BodyExceedsLimit(MAX_BODY),
                FetchError::Invalid("body larger than 1024 KiB".into()),
            ),
        ];
        for (error, want) in cases {
            assert_eq!(classify(error), want);
        }
    }

    #[test]
    fn bad_urls_are_invalid_not_panics() {
        let fetcher = Fetcher::new(std::time::Duration::from_secs(1), None);
        for url in ["http://", "http://exa mple/", "http://[::1/", "not a url"] {
            assert!(fetcher.get(url, None).is_err(), "{url}");
        }
    }

    fn gzip(data: &[u8]) -> Vec<u8> {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        e.write_all(data).unwrap();
        e.finish().unwrap()
    }

    #[test]
    fn decodes_gzip_and_both_deflates() {
        let doc = br#"{"commit":"3f9c2e1aa0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5"}"#;
        assert_eq!(decode(Some("gzip"), gzip(doc)).unwrap(), doc);
        let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
        z.write_all(doc).unwrap();
        assert_eq!(decode(Some("deflate"), z.finish().unwrap()).unwrap(), doc);
        let mut d = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::default());
        d.write_all(doc).unwrap();
        assert_eq!(decode(Some("deflate"), d.finish().unwrap()).unwrap(), doc);
        assert_eq!(decode(Some("identity"), doc.to_vec()).unwrap(), doc);
    }

    #[test]
    fn bombs_damage_and_unknown_encodings_are_errors() {
        // 1 GiB of zeros is about a megabyte of gzip; 64 MiB is about 64 KB.
        let bomb = gzip(&vec![0u8; 64 * 1024 * 1024]);
        assert!(bomb.len() < 100 * 1024, "{}", bomb.len());
        let err = decode(Some("gzip"), bomb).unwrap_err();
        assert_eq!(err, "body larger than 1024 KiB once decompressed (gzip)");
        let err = decode(Some("gzip"), b"\x1f\x8b not really".to_vec()).unwrap_err();
        assert!(err.starts_with("a damaged gzip body"), "{err}");
        let err = decode(Some("br"), b"\x0b\x02\x80".to_vec()).unwrap_err();
        assert_eq!(err, "compressed body (br), not decoded");
        let err = decode(Some("gzip, br"), Vec::new()).unwrap_err();
        assert_eq!(err, "compressed body (gzip, br), not decoded");
    }

    mod fuzz {
        use super::*;
        use proptest::prelude::*;

        const DOCS: [&str; 4] = [
            r#"{"schema":"shipstamp/v1","package":{"name":"a","version":"1"},"git":{"commit":"3f9c2e1aa0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5","dirty":false}}"#,
            r#"{"git":{"commit":{"id":{"abbrev":"3f9c2e1","full":"3f9c2e1aa0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5"}},"dirty":"true"}}"#,
            r#"{"status":"success","data":{"revision":"3f9c2e1aa0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5","version":"3"}}"#,
            "v1.4.2-3-g3f9c2e1-dirty\n",
        ];

        /// A body as a server might send it: a document or noise, maybe with a BOM, maybe
        /// compressed, maybe cut or damaged on the way.
        fn sent() -> impl Strategy<Value = (Option<&'static str>, Vec<u8>)> {
            let body = prop_oneof![
                (0..DOCS.len()).prop_map(|i| DOCS[i].as_bytes().to_vec()),
                prop::collection::vec(any::<u8>(), 0..256),
            ];
            (
                body,
                any::<bool>(),
                prop_oneof![Just(None), Just(Some("gzip")), Just(Some("deflate"))],
                prop::option::of((any::<prop::sample::Index>(), any::<u8>())),
                prop::option::of(any::<prop::sample::Index>()),
            )
                .prop_map(|(mut body, bom, encoding, damage, cut)| {
                    if bom {
                        body.splice(0..0, "\u{feff}".bytes());
                    }
                    let mut sent = match encoding {
                        Some("gzip") => gzip(&body),
                        Some(_) => {
                            let mut z = flate2::write::ZlibEncoder::new(
                                Vec::new(),
                                flate2::Compression::default(),
                            );
                            z.write_all(&body).unwrap();
                            z.finish().unwrap()
                        }
                        None => body,
                    };
                    if let (Some((at, byte)), false) = (damage, sent.is_empty()) {
                        let i = at.index(sent.len());
                        sent[i] = byte;
                    }
                    if let (Some(cut), false) = (cut, sent.is_empty()) {
                        sent.truncate(cut.index(sent.len()));
                    }
                    (encoding, sent)
                })
        }

        fn one_line(e: &impl std::fmt::Display) -> bool {
            let msg = e.to_string();
            !msg.is_empty() && !msg.contains('\n')
        }

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(3000))]

            #[test]
            fn decoding_then_parsing_never_panics((encoding, sent) in sent(), pointer in "(/[a-z]{0,6}){0,3}") {
                match decode(encoding, sent) {
                    Ok(body) => {
                        prop_assert!(body.len() as u64 <= MAX_BODY);
                        for parsed in [crate::parse_served(&body), crate::parse_served_at(&body, &pointer)] {
                            match parsed {
                                Ok(served) => prop_assert!((7..=64).contains(&served.commit.len())),
                                Err(e) => prop_assert!(one_line(&e), "{e}"),
                            }
                        }
                    }
                    Err(e) => prop_assert!(one_line(&e), "{e}"),
                }
            }
        }

        #[test]
        fn every_document_survives_bom_and_compression() {
            for doc in DOCS {
                let mut body = "\u{feff}".as_bytes().to_vec();
                body.extend_from_slice(doc.as_bytes());
                let decoded = decode(Some("gzip"), gzip(&body)).unwrap();
                let served = crate::parse_served(&decoded).unwrap();
                assert!(served.commit.starts_with("3f9c2e1"), "{doc}");
            }
        }
    }
}
