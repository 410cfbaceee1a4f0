//! Fetching a version endpoint, with a time limit for the whole exchange and a size limit for
//! the body.

use std::time::Duration;

/// Bodies larger than this are refused: a version document is a few hundred bytes.
pub const MAX_BODY: u64 = 1024 * 1024;

/// Why a fetch produced no body to read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum FetchError {
    /// No answer: refused, unresolvable, timed out, TLS failure.
    Unreachable(String),
    /// An answer that is not a version document: an error status, too large, a redirect loop.
    Invalid(String),
}

#[derive(Debug)]
pub(crate) struct Fetcher {
    agent: ureq::Agent,
}

impl Fetcher {
    pub(crate) fn new(timeout: Duration) -> Fetcher {
        let agent = ureq::Agent::config_builder()
            .timeout_global(Some(timeout))
            .max_redirects(5)
            .http_status_as_error(false)
            .user_agent(concat!("shipstamp/", env!("CARGO_PKG_VERSION")))
            .build()
            .into();
        Fetcher { agent }
    }

    pub(crate) fn get(&self, url: &str) -> Result<Vec<u8>, FetchError> {
        let mut res = self
            .agent
            .get(url)
            .header("Accept", "application/json, text/plain;q=0.9")
            .call()
            .map_err(classify)?;
        let status = res.status();
        if !status.is_success() {
            return Err(FetchError::Invalid(format!("HTTP {status}")));
        }
        res.body_mut()
            .with_config()
            .limit(MAX_BODY)
            .read_to_vec()
            .map_err(classify)
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
        E::Io(io) => FetchError::Unreachable(io.to_string()),
        E::Protocol(p) => FetchError::Invalid(format!("not HTTP: {p}")),
        other => FetchError::Unreachable(other.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
        let fetcher = Fetcher::new(std::time::Duration::from_secs(1));
        for url in ["http://", "http://exa mple/", "http://[::1/", "not a url"] {
            assert!(fetcher.get(url).is_err(), "{url}");
        }
    }
}
