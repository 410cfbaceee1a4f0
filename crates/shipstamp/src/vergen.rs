//! [`stamp_from_vergen!()`](crate::stamp_from_vergen!): a `shipstamp/v1` record written at
//! compile time from the `VERGEN_*` variables a vergen build script sets, so a service that
//! keeps vergen gets the same embedded section, `/version` and `inspect` as one built with
//! `shipstamp-build`.
//!
//! Everything here is `const fn`: the record must exist as bytes in the binary's link section,
//! so the JSON is written by the compiler, not at startup.

use shipstamp_format::{Document, parse_rfc3339};

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
    // The head, and the document's closing brace: a compiled-in document has no `process`.
    document(vars).head_len() + 1
}

/// The `shipstamp/v1` document of `vars`; `N` is [`vergen_json_len`].
pub const fn vergen_json<const N: usize>(vars: &VergenVars) -> [u8; N] {
    let mut buf = [0u8; N];
    let written = document(vars).write_head(&mut buf);
    assert!(written + 1 == N, "shipstamp: vergen record length mismatch");
    buf[written] = b'}';
    buf
}

/// The document as `&str`; it is UTF-8 by construction (whole `&str`s and ASCII).
pub const fn utf8(bytes: &[u8]) -> &str {
    match core::str::from_utf8(bytes) {
        Ok(s) => s,
        Err(_) => panic!("shipstamp: vergen record is not UTF-8"),
    }
}

/// What vergen's variables say, in the form every writer of `shipstamp/v1` shares.
const fn document(v: &VergenVars) -> Document<'static> {
    let (commit, short) = commit_and_short(known(v.git_sha));
    let dirty = match known(v.git_dirty) {
        Some(d) if eq(d, b"true") => Some(true),
        Some(d) if eq(d, b"false") => Some(false),
        _ => None,
    };
    // vergen names a detached HEAD "HEAD"; the schema says `null`.
    let branch = match known(v.git_branch) {
        Some(b) if eq(b, b"HEAD") => None,
        branch => branch,
    };
    // The facts are vergen's when its git instructions ran at all, placeholders included.
    let ran = v.git_sha.is_some()
        || v.git_dirty.is_some()
        || v.git_branch.is_some()
        || v.git_describe.is_some()
        || v.git_commit_timestamp.is_some();
    Document {
        package_repository: Some(v.package_repository),
        git_commit: text(commit),
        git_short: text(short),
        git_dirty: dirty,
        git_branch: text(branch),
        git_describe: text(known(v.git_describe)),
        git_commit_time: time(known(v.git_commit_timestamp)),
        git_source: if ran { Some("vergen") } else { None },
        build_time: time(known(v.build_timestamp)),
        // vergen does not record the cargo profile (VERGEN_CARGO_DEBUG is the debuginfo setting).
        build_profile: None,
        build_target: text(known(v.cargo_target_triple)),
        build_rustc: text(known(v.rustc_semver)),
        ..Document::new(v.package_name, v.package_version)
    }
}

/// Bytes cut from a variable's `&str` at ASCII boundaries, as `&str` again.
const fn text(bytes: Option<&'static [u8]>) -> Option<&'static str> {
    match bytes {
        Some(b) => Some(utf8(b)),
        None => None,
    }
}

/// An RFC 3339 time as the runtime reads it; anything else is not a time.
const fn time(value: Option<&[u8]>) -> Option<i64> {
    match value {
        Some(v) => parse_rfc3339(v),
        None => None,
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

    fn json(vars: &VergenVars) -> String {
        document(vars).to_json()
    }

    /// The document, which the runtime must read and write back byte for byte.
    fn stamp(vars: &VergenVars) -> Stamp {
        let json = json(vars);
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

    /// Repository URLs, through the writer every stamp shares.
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
