//! [`stamp_from_vergen!()`](crate::stamp_from_vergen!): a `shipstamp/v1` record written at
//! compile time from the `VERGEN_*` variables a vergen build script sets, so a service that
//! keeps vergen gets the same embedded section, `/version` and `inspect` as one built with
//! `shipstamp-build`.
//!
//! Everything here is `const fn`: the record must exist as bytes in the binary's link section,
//! so the JSON is written by the compiler, not at startup.

use crate::time::{format_rfc3339, parse_rfc3339};

/// What vergen writes when it cannot or may not tell (`VERGEN_IDEMPOTENT=1`, no repository).
const PLACEHOLDER: &[u8] = b"VERGEN_IDEMPOTENT_OUTPUT";

/// The variables `stamp_from_vergen!()` reads, as the calling crate was compiled with them;
/// each field is the variable of its name (`git_sha`: `VERGEN_GIT_SHA`).
#[doc(hidden)]
#[derive(Debug, Clone, Copy)]
pub struct VergenVars {
    pub package_name: &'static str,
    pub package_version: &'static str,
    /// `CARGO_PKG_REPOSITORY`: empty when `Cargo.toml` names none.
    pub package_repository: &'static str,
    pub git_sha: Option<&'static str>,
    pub git_dirty: Option<&'static str>,
    pub git_branch: Option<&'static str>,
    pub git_describe: Option<&'static str>,
    pub git_commit_timestamp: Option<&'static str>,
    pub build_timestamp: Option<&'static str>,
    pub cargo_target_triple: Option<&'static str>,
    pub rustc_semver: Option<&'static str>,
}

/// The length of [`vergen_json`]'s document.
pub const fn vergen_json_len(vars: &VergenVars) -> usize {
    let mut out = Out {
        buf: &mut [],
        len: 0,
    };
    write_document(vars, &mut out);
    out.len
}

/// The `shipstamp/v1` document of `vars`; `N` is [`vergen_json_len`].
pub const fn vergen_json<const N: usize>(vars: &VergenVars) -> [u8; N] {
    let mut buf = [0u8; N];
    let mut out = Out {
        buf: &mut buf,
        len: 0,
    };
    write_document(vars, &mut out);
    assert!(out.len == N, "shipstamp: vergen record length mismatch");
    buf
}

/// The document as `&str`; it is UTF-8 by construction (whole `&str`s and ASCII).
pub const fn utf8(bytes: &[u8]) -> &str {
    match core::str::from_utf8(bytes) {
        Ok(s) => s,
        Err(_) => panic!("shipstamp: vergen record is not UTF-8"),
    }
}

/// A byte sink that counts what does not fit, so one writer serves length and content.
struct Out<'a> {
    buf: &'a mut [u8],
    len: usize,
}

impl Out<'_> {
    const fn byte(&mut self, b: u8) {
        if self.len < self.buf.len() {
            self.buf[self.len] = b;
        }
        self.len += 1;
    }

    const fn raw(&mut self, bytes: &[u8]) {
        let mut i = 0;
        while i < bytes.len() {
            self.byte(bytes[i]);
            i += 1;
        }
    }

    /// A JSON string, escaped as `serde_json` escapes it.
    const fn string(&mut self, bytes: &[u8]) {
        self.byte(b'"');
        self.escaped(bytes);
        self.byte(b'"');
    }

    /// The inside of a JSON string.
    const fn escaped(&mut self, bytes: &[u8]) {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        let mut i = 0;
        while i < bytes.len() {
            let b = bytes[i];
            match b {
                b'"' => self.raw(b"\\\""),
                b'\\' => self.raw(b"\\\\"),
                b'\n' => self.raw(b"\\n"),
                b'\r' => self.raw(b"\\r"),
                b'\t' => self.raw(b"\\t"),
                0x08 => self.raw(b"\\b"),
                0x0c => self.raw(b"\\f"),
                0..0x20 => {
                    self.raw(b"\\u00");
                    self.byte(HEX[(b >> 4) as usize]);
                    self.byte(HEX[(b & 0xf) as usize]);
                }
                _ => self.byte(b),
            }
            i += 1;
        }
    }

    const fn string_or_null(&mut self, value: Option<&[u8]>) {
        match value {
            Some(v) => self.string(v),
            None => self.raw(b"null"),
        }
    }

    const fn time_or_null(&mut self, value: Option<&[u8]>) {
        let seconds = match value {
            Some(v) => parse_rfc3339(v),
            None => None,
        };
        let written = match seconds {
            Some(s) => format_rfc3339(s),
            None => None,
        };
        match written {
            Some(w) => self.string(&w),
            None => self.raw(b"null"),
        }
    }
}

/// A variable vergen set to a real value: present, not empty, not its placeholder.
const fn known(value: Option<&'static str>) -> Option<&'static [u8]> {
    match value {
        Some(v) if !v.is_empty() && !eq(v.as_bytes(), PLACEHOLDER) => Some(v.as_bytes()),
        _ => None,
    }
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

const fn all_lower_hex(b: &[u8]) -> bool {
    let mut i = 0;
    while i < b.len() {
        if !matches!(b[i], b'0'..=b'9' | b'a'..=b'f') {
            return false;
        }
        i += 1;
    }
    true
}

/// `(commit, short)` from `VERGEN_GIT_SHA`: a full id is both; vergen's `sha(true)` (short
/// ids) gives only `short`; anything else is neither.
const fn commit_and_short(
    sha: Option<&'static [u8]>,
) -> (Option<&'static [u8]>, Option<&'static [u8]>) {
    let Some(sha) = sha else {
        return (None, None);
    };
    if !all_lower_hex(sha) {
        return (None, None);
    }
    match sha.len() {
        40 | 64 => (Some(sha), Some(sha.split_at(7).0)),
        4..40 => (None, Some(sha)),
        _ => (None, None),
    }
}

/// `(scheme, host, path)` of a repository URL safe to stamp, as `shipstamp-build` keeps it:
/// `http(s)://`, `ssh://` or `git://`, without `user:password@`, query or fragment (tokens
/// live in all three). Anything else (scp-like `git@host:path`, local paths) is `None`.
const fn public_repository_url(url: &[u8]) -> Option<(&[u8], &[u8], &[u8])> {
    let mut i = 0;
    while i < url.len() {
        if url[i].is_ascii_whitespace() {
            return None;
        }
        i += 1;
    }
    // The scheme, up to "://".
    let mut s = 0;
    while s + 3 <= url.len() && !(url[s] == b':' && url[s + 1] == b'/' && url[s + 2] == b'/') {
        s += 1;
    }
    if s + 3 > url.len() {
        return None;
    }
    let (scheme, rest) = url.split_at(s);
    let rest = rest.split_at(3).1;
    if !(eq(scheme, b"https") || eq(scheme, b"http") || eq(scheme, b"ssh") || eq(scheme, b"git"))
        || rest.is_empty()
    {
        return None;
    }
    let mut end = 0;
    while end < rest.len() && rest[end] != b'?' && rest[end] != b'#' {
        end += 1;
    }
    let rest = rest.split_at(end).0;
    let mut authority_end = 0;
    while authority_end < rest.len() && rest[authority_end] != b'/' {
        authority_end += 1;
    }
    let (authority, path) = rest.split_at(authority_end);
    // The host follows the last '@' of the authority.
    let mut host_start = authority.len();
    while host_start > 0 && authority[host_start - 1] != b'@' {
        host_start -= 1;
    }
    let host = authority.split_at(host_start).1;
    if host.is_empty() {
        return None;
    }
    Some((scheme, host, path))
}

const fn write_document(v: &VergenVars, out: &mut Out<'_>) {
    out.raw(b"{\"schema\":\"shipstamp/v1\",\"package\":{\"name\":");
    out.string(v.package_name.as_bytes());
    out.raw(b",\"version\":");
    out.string(v.package_version.as_bytes());
    out.raw(b",\"repository\":");
    match public_repository_url(v.package_repository.as_bytes()) {
        Some((scheme, host, path)) => {
            out.byte(b'"');
            out.escaped(scheme);
            out.raw(b"://");
            out.escaped(host);
            out.escaped(path);
            out.byte(b'"');
        }
        None => out.raw(b"null"),
    }
    let (commit, short) = commit_and_short(known(v.git_sha));
    out.raw(b"},\"git\":{\"commit\":");
    out.string_or_null(commit);
    out.raw(b",\"short\":");
    out.string_or_null(short);
    out.raw(b",\"dirty\":");
    match known(v.git_dirty) {
        Some(d) if eq(d, b"true") => out.raw(b"true"),
        Some(d) if eq(d, b"false") => out.raw(b"false"),
        _ => out.raw(b"null"),
    }
    out.raw(b",\"branch\":");
    // vergen names a detached HEAD "HEAD"; the schema says `null`.
    match known(v.git_branch) {
        Some(b) if eq(b, b"HEAD") => out.raw(b"null"),
        branch => out.string_or_null(branch),
    }
    out.raw(b",\"describe\":");
    out.string_or_null(known(v.git_describe));
    out.raw(b",\"commit_time\":");
    out.time_or_null(known(v.git_commit_timestamp));
    out.raw(b",\"source\":");
    // The facts are vergen's when its git instructions ran at all, placeholders included.
    if v.git_sha.is_some()
        || v.git_dirty.is_some()
        || v.git_branch.is_some()
        || v.git_describe.is_some()
        || v.git_commit_timestamp.is_some()
    {
        out.raw(b"\"vergen\"");
    } else {
        out.raw(b"null");
    }
    out.raw(b"},\"build\":{\"time\":");
    out.time_or_null(known(v.build_timestamp));
    // vergen does not record the cargo profile (VERGEN_CARGO_DEBUG is the debuginfo setting).
    out.raw(b",\"profile\":null,\"target\":");
    out.string_or_null(known(v.cargo_target_triple));
    out.raw(b",\"rustc\":");
    out.string_or_null(known(v.rustc_semver));
    out.raw(b"}}");
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{GitSource, Stamp};

    const NONE: VergenVars = VergenVars {
        package_name: "orders-api",
        package_version: "1.4.2",
        package_repository: "",
        git_sha: None,
        git_dirty: None,
        git_branch: None,
        git_describe: None,
        git_commit_timestamp: None,
        build_timestamp: None,
        cargo_target_triple: None,
        rustc_semver: None,
    };

    const SHA: &str = "3f9c2e1aa0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5";

    fn document(vars: &VergenVars) -> String {
        let mut buf = vec![0; vergen_json_len(vars)];
        let mut out = Out {
            buf: &mut buf,
            len: 0,
        };
        write_document(vars, &mut out);
        assert_eq!(out.len, buf.len());
        String::from_utf8(buf).unwrap()
    }

    /// The document, which the runtime must read and write back byte for byte.
    fn stamp(vars: &VergenVars) -> Stamp {
        let json = document(vars);
        let stamp = Stamp::from_json(&json).unwrap_or_else(|e| panic!("{json}: {e}"));
        assert_eq!(
            stamp.to_json(),
            format!("{},\"process\":null}}", &json[..json.len() - 1])
        );
        stamp
    }

    #[test]
    fn a_full_vergen_build() {
        let s = stamp(&VergenVars {
            package_repository: "https://github.com/acme/orders.git",
            git_sha: Some(SHA),
            git_dirty: Some("true"),
            git_branch: Some("main"),
            git_describe: Some("v1.4.2-3-g3f9c2e1"),
            git_commit_timestamp: Some("2026-11-22T10:58:11+01:00"),
            build_timestamp: Some("2026-11-22T10:00:00.123456789Z"),
            cargo_target_triple: Some("x86_64-unknown-linux-gnu"),
            rustc_semver: Some("1.95.0"),
            ..NONE
        });
        assert_eq!(s.git.commit.as_deref(), Some(SHA));
        assert_eq!(s.git.short.as_deref(), Some("3f9c2e1"));
        assert_eq!(s.git.dirty, Some(true));
        assert_eq!(s.git.branch.as_deref(), Some("main"));
        assert_eq!(s.git.describe.as_deref(), Some("v1.4.2-3-g3f9c2e1"));
        assert_eq!(
            s.git.commit_time.unwrap().to_string(),
            "2026-11-22T09:58:11Z"
        );
        assert_eq!(s.git.source, Some(GitSource::Vergen));
        assert_eq!(s.build.time.unwrap().to_string(), "2026-11-22T10:00:00Z");
        assert_eq!(s.build.profile, None);
        assert_eq!(s.build.target.as_deref(), Some("x86_64-unknown-linux-gnu"));
        assert_eq!(s.build.rustc.as_deref(), Some("1.95.0"));
        assert_eq!(
            s.package.repository.as_deref(),
            Some("https://github.com/acme/orders.git")
        );
    }

    #[test]
    fn placeholders_and_missing_variables_are_null() {
        let p = Some("VERGEN_IDEMPOTENT_OUTPUT");
        let s = stamp(&VergenVars {
            git_sha: p,
            git_dirty: p,
            git_branch: p,
            git_describe: p,
            git_commit_timestamp: p,
            build_timestamp: p,
            cargo_target_triple: p,
            rustc_semver: p,
            ..NONE
        });
        assert_eq!(s.git.commit, None);
        assert_eq!(s.git.short, None);
        assert_eq!(s.git.dirty, None);
        assert_eq!(s.git.branch, None);
        assert_eq!(s.git.describe, None);
        assert_eq!(s.git.commit_time, None);
        assert_eq!(s.build.time, None);
        assert_eq!(s.build.target, None);
        assert_eq!(s.build.rustc, None);
        // vergen's git instructions ran; they could not tell.
        assert_eq!(s.git.source, Some(GitSource::Vergen));
        assert!(!s.to_json().contains("VERGEN"), "{}", s.to_json());

        let s = stamp(&NONE);
        assert_eq!(s.git, crate::Git::default());
        assert_eq!(s.package.name, "orders-api");
        assert_eq!(s.package.repository, None);
    }

    #[test]
    fn only_a_real_commit_id_is_a_commit() {
        let sha = |v: &'static str| {
            stamp(&VergenVars {
                git_sha: Some(v),
                ..NONE
            })
            .git
        };
        // vergen's sha(true): a short id, no full commit.
        let short = sha("3f9c2e1");
        assert_eq!(
            (short.commit, short.short.as_deref()),
            (None, Some("3f9c2e1"))
        );
        let sha256 = sha("3f9c2e1aa0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d53f9c2e1aa0b1c2d3e4f5a6b7");
        assert_eq!(sha256.commit.as_ref().map(String::len), Some(64));
        for bad in [
            "",
            "HEAD",
            "3F9C2E1AA0B1C2D3E4F5A6B7C8D9E0F1A2B3C4D5",
            "abc",
            "3f9c2e1 ",
        ] {
            let git = sha(bad);
            assert_eq!((git.commit, git.short), (None, None), "{bad:?}");
        }
        let detached = stamp(&VergenVars {
            git_branch: Some("HEAD"),
            ..NONE
        });
        assert_eq!(detached.git.branch, None);
        for dirty in ["yes", "1", "TRUE"] {
            let git = stamp(&VergenVars {
                git_dirty: Some(dirty),
                ..NONE
            })
            .git;
            assert_eq!(git.dirty, None, "{dirty:?}");
        }
        let bad_time = stamp(&VergenVars {
            build_timestamp: Some("2026-11-22"),
            git_commit_timestamp: Some("yesterday"),
            ..NONE
        });
        assert_eq!(
            (bad_time.build.time, bad_time.git.commit_time),
            (None, None)
        );
    }

    #[test]
    fn strings_are_escaped() {
        let s = stamp(&VergenVars {
            package_name: "a\"b\\c",
            git_branch: Some("feat/\u{1}\n\u{8}\u{c}\t\r\u{7f}é"),
            ..NONE
        });
        assert_eq!(s.package.name, "a\"b\\c");
        assert_eq!(
            s.git.branch.as_deref(),
            Some("feat/\u{1}\n\u{8}\u{c}\t\r\u{7f}é")
        );
    }

    /// The cases of `shipstamp-build`'s `public_repository_url`: the two must agree.
    #[test]
    fn credentials_never_survive() {
        let u = |url: &'static str| {
            stamp(&VergenVars {
                package_repository: url,
                ..NONE
            })
            .package
            .repository
        };
        for (url, kept) in [
            ("https://github.com/o/r", Some("https://github.com/o/r")),
            (
                "https://user:tok@github.com/o/r",
                Some("https://github.com/o/r"),
            ),
            ("https://tok@github.com", Some("https://github.com")),
            (
                "https://github.com/o/r?access_token=s3cr3t#readme",
                Some("https://github.com/o/r"),
            ),
            ("https://u:p@github.com?token=x", Some("https://github.com")),
            (
                "ssh://git@github.com/o/r.git",
                Some("ssh://github.com/o/r.git"),
            ),
            ("https://?token=x", None),
            ("git@github.com:o/r.git", None),
            ("/home/me/repo", None),
            ("file:///home/me/repo", None),
            ("https://github.com/o/r with space", None),
            ("", None),
        ] {
            assert_eq!(u(url).as_deref(), kept, "{url:?}");
        }
    }
}
