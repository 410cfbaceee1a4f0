//! The one writer of the `shipstamp/v1` document (without its `process` object, which only a
//! running process knows). It is a `const fn`: `stamp_from_vergen!()` writes its document at
//! compile time with it, `shipstamp-build` in the build script, and the runtime when it serves
//! `/version`. Strings are escaped as `serde_json` escapes them, so a document read and written
//! again by any of them is the same bytes.

use crate::time::format_rfc3339;
use crate::url::UrlParts;

/// The schema this crate writes: `shipstamp/v1`.
pub const SCHEMA: &str = "shipstamp/v1";

/// What a `shipstamp/v1` document says, borrowed. `None` is written as `null`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Document<'a> {
    /// `package.name`.
    pub package_name: &'a str,
    /// `package.version`.
    pub package_version: &'a str,
    /// `package.repository`, written only when it may be stamped
    /// ([`UrlParts::stampable`]), and then without credentials, query or fragment.
    pub package_repository: Option<&'a str>,
    /// `git.commit`.
    pub git_commit: Option<&'a str>,
    /// `git.short`.
    pub git_short: Option<&'a str>,
    /// `git.dirty`.
    pub git_dirty: Option<bool>,
    /// `git.branch`.
    pub git_branch: Option<&'a str>,
    /// `git.describe`.
    pub git_describe: Option<&'a str>,
    /// `git.commit_time`, in Unix seconds.
    pub git_commit_time: Option<i64>,
    /// `git.source`: `git`, `env`, `cargo-vcs-info`, `vergen`.
    pub git_source: Option<&'a str>,
    /// `git.paths`: the repository-relative paths a package-scoped build was made from; the
    /// key is left out when `None` (a whole-repository build).
    pub git_paths: Option<&'a [&'a str]>,
    /// `build.time`, in Unix seconds.
    pub build_time: Option<i64>,
    /// `build.profile`.
    pub build_profile: Option<&'a str>,
    /// `build.target`.
    pub build_target: Option<&'a str>,
    /// `build.rustc`.
    pub build_rustc: Option<&'a str>,
}

/// Whether `path` can be one of `git.paths`: relative to the repository's top and inside it
/// (not empty, not absolute, no `..`, no drive letter or backslash, no control character).
/// A scope read from a document is used only when each of its paths is.
///
/// ```
/// use shipstamp_format::is_repository_relative;
///
/// assert!(is_repository_relative("services/orders"));
/// assert!(!is_repository_relative("/home/ci/orders"));
/// assert!(!is_repository_relative("services/../../etc"));
/// ```
pub fn is_repository_relative(path: &str) -> bool {
    let absolute = path.starts_with('/') || (path.len() > 1 && path.as_bytes()[1] == b':');
    let odd = path.contains('\\') || path.contains(|c: char| c.is_control());
    !path.is_empty() && !absolute && !odd && path.split('/').all(|part| part != "..")
}

impl<'a> Document<'a> {
    /// A document that knows the package and nothing else.
    pub const fn new(package_name: &'a str, package_version: &'a str) -> Document<'a> {
        Document {
            package_name,
            package_version,
            package_repository: None,
            git_commit: None,
            git_short: None,
            git_dirty: None,
            git_branch: None,
            git_describe: None,
            git_commit_time: None,
            git_source: None,
            git_paths: None,
            build_time: None,
            build_profile: None,
            build_target: None,
            build_rustc: None,
        }
    }

    /// The length in bytes of [`Document::write_head`]'s output.
    pub const fn head_len(&self) -> usize {
        let mut out = Out {
            buf: &mut [],
            len: 0,
        };
        self.head(&mut out);
        out.len
    }

    /// Writes the document up to its `process` object into `buf`, from its opening `{` to the
    /// `}` of `build` (the document's own closing brace is left out, for the `process` object
    /// to follow), and returns the length written. `buf` must be at least
    /// [`Document::head_len`] bytes; a shorter one gets as much as fits.
    pub const fn write_head(&self, buf: &mut [u8]) -> usize {
        let mut out = Out { buf, len: 0 };
        self.head(&mut out);
        out.len
    }

    /// The whole document without a `process` object, compact (one line).
    ///
    /// ```
    /// let mut doc = shipstamp_format::Document::new("orders-api", "1.4.2");
    /// doc.git_dirty = Some(false);
    /// assert_eq!(
    ///     doc.to_json(),
    ///     r#"{"schema":"shipstamp/v1","package":{"name":"orders-api","version":"1.4.2","repository":null},"git":{"commit":null,"short":null,"dirty":false,"branch":null,"describe":null,"commit_time":null,"source":null},"build":{"time":null,"profile":null,"target":null,"rustc":null}}"#
    /// );
    /// ```
    pub fn to_json(&self) -> String {
        let mut json = self.head_string();
        json.push('}');
        json
    }

    /// [`Document::write_head`] into a new string.
    pub fn head_string(&self) -> String {
        let mut buf = vec![0; self.head_len()];
        let written = self.write_head(&mut buf);
        debug_assert_eq!(written, buf.len());
        // Whole `&str`s and ASCII: UTF-8 by construction.
        String::from_utf8(buf).unwrap_or_default()
    }

    const fn head(&self, out: &mut Out<'_>) {
        out.raw(b"{\"schema\":\"shipstamp/v1\",\"package\":{\"name\":");
        out.string(self.package_name.as_bytes());
        out.raw(b",\"version\":");
        out.string(self.package_version.as_bytes());
        out.raw(b",\"repository\":");
        let repository = match self.package_repository {
            Some(url) => UrlParts::stampable(trim(url.as_bytes())),
            None => None,
        };
        match repository {
            Some(parts) => {
                out.byte(b'"');
                out.escaped(parts.scheme);
                out.raw(b"://");
                out.escaped(parts.host);
                out.escaped(parts.path);
                out.byte(b'"');
            }
            None => out.raw(b"null"),
        }
        out.raw(b"},\"git\":{\"commit\":");
        out.string_or_null(self.git_commit);
        out.raw(b",\"short\":");
        out.string_or_null(self.git_short);
        out.raw(b",\"dirty\":");
        out.bool_or_null(self.git_dirty);
        out.raw(b",\"branch\":");
        out.string_or_null(self.git_branch);
        out.raw(b",\"describe\":");
        out.string_or_null(self.git_describe);
        out.raw(b",\"commit_time\":");
        out.time_or_null(self.git_commit_time);
        out.raw(b",\"source\":");
        out.string_or_null(self.git_source);
        if let Some(paths) = self.git_paths {
            out.raw(b",\"paths\":[");
            let mut i = 0;
            while i < paths.len() {
                if i > 0 {
                    out.byte(b',');
                }
                out.string(paths[i].as_bytes());
                i += 1;
            }
            out.byte(b']');
        }
        out.raw(b"},\"build\":{\"time\":");
        out.time_or_null(self.build_time);
        out.raw(b",\"profile\":");
        out.string_or_null(self.build_profile);
        out.raw(b",\"target\":");
        out.string_or_null(self.build_target);
        out.raw(b",\"rustc\":");
        out.string_or_null(self.build_rustc);
        out.raw(b"}");
    }
}

/// `bytes` without ASCII whitespace at either end.
const fn trim(bytes: &[u8]) -> &[u8] {
    let mut bytes = bytes;
    while let [first, rest @ ..] = bytes {
        if !first.is_ascii_whitespace() {
            break;
        }
        bytes = rest;
    }
    while let [rest @ .., last] = bytes {
        if !last.is_ascii_whitespace() {
            break;
        }
        bytes = rest;
    }
    bytes
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

    const fn string_or_null(&mut self, value: Option<&str>) {
        match value {
            Some(v) => self.string(v.as_bytes()),
            None => self.raw(b"null"),
        }
    }

    const fn bool_or_null(&mut self, value: Option<bool>) {
        self.raw(match value {
            Some(true) => b"true",
            Some(false) => b"false",
            None => b"null",
        });
    }

    /// A time outside the years 0 to 9999 cannot be written in RFC 3339: `null`.
    const fn time_or_null(&mut self, value: Option<i64>) {
        let written = match value {
            Some(s) => format_rfc3339(s),
            None => None,
        };
        match written {
            Some(w) => self.string(&w),
            None => self.raw(b"null"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_and_nulls() {
        let doc = Document {
            package_repository: Some("https://user:pw@example.com/a?token=x"),
            git_commit_time: Some(0),
            build_time: Some(1_795_341_600),
            ..Document::new("a\"b\\c\n\u{1}\u{8}\u{c}é", "1.0.0")
        };
        let json = doc.to_json();
        assert!(json.starts_with(
            r#"{"schema":"shipstamp/v1","package":{"name":"a\"b\\c\n\u0001\b\fé","version":"1.0.0","repository":"https://example.com/a"}"#
        ), "{json}");
        assert!(json.contains(r#""git":{"commit":null,"short":null,"dirty":null,"branch":null,"describe":null,"commit_time":"1970-01-01T00:00:00Z","source":null}"#), "{json}");
        assert!(json.ends_with(
            r#""build":{"time":"2026-11-22T10:00:00Z","profile":null,"target":null,"rustc":null}}"#
        ), "{json}");
        assert!(!json.contains('\n'));
        assert_eq!(doc.head_len() + 1, json.len());
    }

    #[test]
    fn paths_only_when_scoped() {
        let paths = ["services/orders", "Cargo.lock"];
        let doc = Document {
            git_paths: Some(&paths),
            ..Document::new("orders", "1")
        };
        assert!(
            doc.to_json()
                .contains(r#""source":null,"paths":["services/orders","Cargo.lock"]},"build""#)
        );
        assert!(!Document::new("orders", "1").to_json().contains("paths"));
    }

    #[test]
    fn written_at_compile_time() {
        const DOC: Document<'static> = Document::new("orders", "1");
        const LEN: usize = DOC.head_len();
        const HEAD: [u8; LEN] = {
            let mut buf = [0; LEN];
            DOC.write_head(&mut buf);
            buf
        };
        assert_eq!(HEAD.as_slice(), DOC.head_string().as_bytes());
    }

    #[test]
    fn a_short_buffer_gets_what_fits() {
        let doc = Document::new("orders", "1");
        let mut buf = [0u8; 10];
        assert_eq!(doc.write_head(&mut buf), doc.head_len());
        assert_eq!(&buf, b"{\"schema\":");
    }
}
