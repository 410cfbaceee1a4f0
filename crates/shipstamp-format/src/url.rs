//! URLs split once, then made safe: to stamp into a binary (no credentials, query or fragment at
//! all) or to show (no credentials; a query as `?…`, a fragment as `#…`). Tokens live in all
//! three places: `user:token@`, `?access_token=…`, `#token=…`.

use std::fmt;

/// A URL's parts, borrowed from it; anything without `://` is all authority and path (a path, an
/// address, `pid:42`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UrlParts<'a> {
    /// `https`, or empty when there is no `://`.
    pub scheme: &'a [u8],
    /// The host and port, after any `user:password@`.
    pub host: &'a [u8],
    /// From the first `/` after the authority, up to the query or fragment.
    pub path: &'a [u8],
    /// Whether there was a `user:password@` (or just `user@`).
    pub had_userinfo: bool,
    /// Whether there was a query string.
    pub had_query: bool,
    /// Whether there was a fragment.
    pub had_fragment: bool,
}

impl<'a> UrlParts<'a> {
    /// Splits `url`. A `const fn`, for documents written at compile time.
    pub const fn split(url: &'a [u8]) -> UrlParts<'a> {
        // The scheme, up to "://".
        let mut s = 0;
        let mut found = false;
        while s + 3 <= url.len() {
            if url[s] == b':' && url[s + 1] == b'/' && url[s + 2] == b'/' {
                found = true;
                break;
            }
            if url[s] == b'/' || url[s] == b'?' || url[s] == b'#' {
                break;
            }
            s += 1;
        }
        // A scheme is a letter, then letters, digits, `+`, `-` or `.`: anything else before
        // `://` (a `user:pw@` with no scheme) is not one.
        let mut i = 0;
        while found && i < s {
            let c = url[i];
            if !(c.is_ascii_alphabetic()
                || (i > 0 && (c.is_ascii_digit() || matches!(c, b'+' | b'-' | b'.'))))
            {
                found = false;
            }
            i += 1;
        }
        let (scheme, rest) = if found {
            let (scheme, rest) = url.split_at(s);
            (scheme, rest.split_at(3).1)
        } else {
            (url.split_at(0).0, url)
        };
        // The query starts at the first '?', the fragment at the first '#' (a '?' after it is
        // the fragment's).
        let mut end = 0;
        while end < rest.len() && rest[end] != b'?' && rest[end] != b'#' {
            end += 1;
        }
        let (before, after) = rest.split_at(end);
        let mut had_query = false;
        let mut had_fragment = false;
        if !after.is_empty() {
            if after[0] == b'?' {
                had_query = true;
                let mut i = 0;
                while i < after.len() {
                    if after[i] == b'#' {
                        had_fragment = true;
                    }
                    i += 1;
                }
            } else {
                had_fragment = true;
            }
        }
        let mut authority_end = 0;
        while authority_end < before.len() && before[authority_end] != b'/' {
            authority_end += 1;
        }
        let (authority, path) = before.split_at(authority_end);
        // The host follows the last '@' of the authority.
        let mut host_start = authority.len();
        while host_start > 0 && authority[host_start - 1] != b'@' {
            host_start -= 1;
        }
        UrlParts {
            scheme,
            host: authority.split_at(host_start).1,
            path,
            had_userinfo: host_start > 0,
            had_query,
            had_fragment,
        }
    }

    /// The parts of a repository URL that may be stamped into a binary: `http(s)://`, `ssh://`
    /// or `git://` with a host, and no whitespace, so that `scheme://host/path` is the URL
    /// without credentials, query or fragment. `None` for anything else (scp-like
    /// `git@host:path`, local paths), which is then not stamped at all.
    pub const fn stampable(url: &'a [u8]) -> Option<UrlParts<'a>> {
        let mut i = 0;
        while i < url.len() {
            if url[i].is_ascii_whitespace() {
                return None;
            }
            i += 1;
        }
        let parts = UrlParts::split(url);
        let scheme = parts.scheme;
        if !(eq(scheme, b"https")
            || eq(scheme, b"http")
            || eq(scheme, b"ssh")
            || eq(scheme, b"git"))
            || parts.host.is_empty()
        {
            return None;
        }
        Some(parts)
    }
}

/// `url` with the query and fragment dropped and no credentials, when it may be stamped
/// ([`UrlParts::stampable`]).
///
/// ```
/// assert_eq!(
///     shipstamp_format::stampable_url("https://ci:t0ken@github.com/acme/orders?x=1#y").as_deref(),
///     Some("https://github.com/acme/orders")
/// );
/// assert_eq!(shipstamp_format::stampable_url("git@github.com:acme/orders"), None);
/// ```
pub fn stampable_url(url: &str) -> Option<String> {
    let parts = UrlParts::stampable(url.trim().as_bytes())?;
    Some(format!(
        "{}://{}{}",
        lossy(parts.scheme),
        lossy(parts.host),
        lossy(parts.path)
    ))
}

/// `url` fit to print, log or show on a page that may be shared: without `user:password@`, with
/// a query shown as `?…` and a fragment as `#…`. Written as it is displayed: 100,000 targets
/// need no copies.
///
/// ```
/// let shown = shipstamp_format::shown_url("https://deploy:s3cret@orders-1.internal:8443/version?token=abc#x");
/// assert_eq!(shown.to_string(), "https://orders-1.internal:8443/version?…#…");
/// assert_eq!(shipstamp_format::shown_url("pidfile:/run/orders.pid").to_string(), "pidfile:/run/orders.pid");
/// ```
pub fn shown_url(url: &str) -> ShownUrl<'_> {
    ShownUrl(UrlParts::split(url.as_bytes()))
}

/// `text` with every URL in it (`scheme://…`, up to whitespace, a quote or an angle bracket)
/// written as [`shown_url`] writes it: for messages from other programs (git's, a server's)
/// that may quote a URL with its credentials.
///
/// ```
/// let said = "fatal: unable to access 'https://ci:t0ken@git.example.com/orders.git/': 403";
/// assert_eq!(
///     shipstamp_format::shown_text(said),
///     "fatal: unable to access 'https://git.example.com/orders.git/': 403"
/// );
/// ```
pub fn shown_text(text: &str) -> std::borrow::Cow<'_, str> {
    if !text.contains("://") {
        return std::borrow::Cow::Borrowed(text);
    }
    let ends = |c: char| c.is_whitespace() || matches!(c, '\'' | '"' | '<' | '>' | '`');
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find("://") {
        // The whole word around `://`: whatever precedes it up to a delimiter is part of it
        // (a scheme, or a `user:password@` that is not one).
        let start = rest[..at].rfind(ends).map_or(0, |i| {
            i + rest[i..].chars().next().map_or(1, char::len_utf8)
        });
        let end = rest[at..].find(ends).map_or(rest.len(), |i| at + i);
        out.push_str(&rest[..start]);
        out.push_str(&shown_url(&rest[start..end]).to_string());
        rest = &rest[end..];
    }
    out.push_str(rest);
    std::borrow::Cow::Owned(out)
}

/// See [`shown_url`].
#[derive(Debug, Clone, Copy)]
pub struct ShownUrl<'a>(UrlParts<'a>);

impl fmt::Display for ShownUrl<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let p = &self.0;
        if !p.scheme.is_empty() {
            write!(f, "{}://", lossy(p.scheme))?;
        }
        f.write_str(&lossy(p.host))?;
        f.write_str(&lossy(p.path))?;
        if p.had_query {
            f.write_str("?…")?;
        }
        if p.had_fragment {
            f.write_str("#…")?;
        }
        Ok(())
    }
}

/// The parts are cut at ASCII bytes of a `&str`, so they are UTF-8.
fn lossy(bytes: &[u8]) -> std::borrow::Cow<'_, str> {
    String::from_utf8_lossy(bytes)
}

const fn eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let mut i = 0;
    while i < a.len() {
        if a[i] != b[i] {
            return false;
        }
        i += 1;
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shown_without_secrets() {
        for (url, shown) in [
            (
                "https://deploy:s3cret@orders-1.internal:8443/version?token=abc",
                "https://orders-1.internal:8443/version?…",
            ),
            (
                "http://127.0.0.1:3000/version",
                "http://127.0.0.1:3000/version",
            ),
            ("http://a@b@host", "http://host"),
            ("http://host#frag", "http://host#…"),
            ("http://host/p?t=1", "http://host/p?…"),
            ("http://host/p?t=1#f", "http://host/p?…#…"),
            ("http://host/p#f?t=1", "http://host/p#…"),
            ("http://user:pw@host?x", "http://host?…"),
            ("10.0.0.1:8080", "10.0.0.1:8080"),
            ("pid:42", "pid:42"),
            ("/usr/bin/orders", "/usr/bin/orders"),
            ("user:pw@host/path", "host/path"),
            ("", ""),
        ] {
            assert_eq!(shown_url(url).to_string(), shown, "{url}");
        }
    }

    #[test]
    fn stamped_only_when_public() {
        for (url, stamped) in [
            (
                "https://github.com/acme/orders",
                Some("https://github.com/acme/orders"),
            ),
            (
                "https://ci:t0k@github.com/a/b.git?x=1#y",
                Some("https://github.com/a/b.git"),
            ),
            ("ssh://git@example.com/a", Some("ssh://example.com/a")),
            ("git://example.com/a", Some("git://example.com/a")),
            ("  https://x/y  ", Some("https://x/y")),
            ("git@github.com:acme/orders", None),
            ("/srv/repo", None),
            ("ftp://x/y", None),
            ("https://", None),
            ("https://user@/x", None),
            ("https://x/a b", None),
            ("", None),
        ] {
            assert_eq!(stampable_url(url).as_deref(), stamped, "{url}");
        }
    }

    #[test]
    fn urls_in_text() {
        for (text, shown) in [
            ("no url here", "no url here"),
            (
                "fatal: unable to access 'https://u:p@h/r.git/': The requested URL returned error: 403",
                "fatal: unable to access 'https://h/r.git/': The requested URL returned error: 403",
            ),
            (
                "from http://a@b/c?t=1 to \"https://d/e#f\" and ssh://git@x/y",
                "from http://b/c?… to \"https://d/e#…\" and ssh://x/y",
            ),
            ("://weird", "weird"),
            ("x :S3CR3T@://h?T0KEN y", "x ://h?… y"),
        ] {
            assert_eq!(shown_text(text), shown, "{text}");
        }
    }

    mod never_a_secret {
        use super::*;
        use proptest::prelude::*;

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(2000))]

            #[test]
            fn neither_way(
                scheme in "(https?|ssh|git|ftp|)",
                user in "[a-z]{0,5}",
                secret in "S3CR3T[a-z]{0,4}",
                host in "[a-z0-9.:-]{0,12}",
                path in "(/[a-z?#@]{0,6}){0,3}",
                token in "T0KEN[a-z]{0,4}",
            ) {
                for url in [
                    format!("{scheme}://{user}:{secret}@{host}{path}?t={token}"),
                    format!("{scheme}://{secret}@{host}{path}#{token}"),
                    format!("{user}:{secret}@{host}{path}?{token}"),
                ] {
                    let shown = shown_url(&url).to_string();
                    prop_assert!(!shown.contains("S3CR3T") && !shown.contains("T0KEN"), "{url} -> {shown}");
                    let said = shown_text(&format!("error: '{url}' failed")).into_owned();
                    prop_assert!(
                        !said.contains("S3CR3T") && !said.contains("T0KEN") || !url.contains("://"),
                        "{url} -> {said}"
                    );
                    if let Some(stamped) = stampable_url(&url) {
                        prop_assert!(!stamped.contains("S3CR3T") && !stamped.contains("T0KEN"), "{url} -> {stamped}");
                        prop_assert_eq!(stampable_url(&stamped), Some(stamped.clone()), "idempotent");
                    }
                }
            }
        }
    }
}
