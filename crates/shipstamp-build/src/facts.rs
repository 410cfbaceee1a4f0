//! The facts a build stamps, and their `shipstamp/v1` JSON form.

use crate::time::rfc3339;

/// Where the git facts came from; the `git.source` field of the stamp.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Source {
    /// The repository that tracks the package.
    Git,
    /// An override or CI variable.
    Env,
    /// `.cargo_vcs_info.json`, written by `cargo package`.
    CargoVcsInfo,
}

impl Source {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Source::Git => "git",
            Source::Env => "env",
            Source::CargoVcsInfo => "cargo-vcs-info",
        }
    }
}

/// Git facts; every field may be unknown.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct GitFacts {
    pub(crate) commit: Option<String>,
    pub(crate) short: Option<String>,
    pub(crate) dirty: Option<bool>,
    pub(crate) branch: Option<String>,
    pub(crate) describe: Option<String>,
    pub(crate) commit_time: Option<i64>,
    pub(crate) source: Option<Source>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Facts {
    pub(crate) package_name: String,
    pub(crate) package_version: String,
    /// The package's `repository` URL, without credentials.
    pub(crate) package_repository: Option<String>,
    pub(crate) git: GitFacts,
    pub(crate) build_time: i64,
    pub(crate) profile: Option<String>,
    pub(crate) target: Option<String>,
    pub(crate) rustc: Option<String>,
}

impl Facts {
    /// The stamp document without its `process` object, compact (no newlines, so it fits
    /// in one `cargo:rustc-env` line).
    pub(crate) fn to_json(&self) -> String {
        let mut j = Json::default();
        j.raw("{\"schema\":\"shipstamp/v1\",\"package\":{\"name\":");
        j.str(Some(&self.package_name));
        j.raw(",\"version\":");
        j.str(Some(&self.package_version));
        j.raw(",\"repository\":");
        j.str(self.package_repository.as_deref());
        j.raw("},\"git\":{\"commit\":");
        j.str(self.git.commit.as_deref());
        j.raw(",\"short\":");
        j.str(self.git.short.as_deref());
        j.raw(",\"dirty\":");
        j.bool(self.git.dirty);
        j.raw(",\"branch\":");
        j.str(self.git.branch.as_deref());
        j.raw(",\"describe\":");
        j.str(self.git.describe.as_deref());
        j.raw(",\"commit_time\":");
        j.str(self.git.commit_time.map(rfc3339).as_deref());
        j.raw(",\"source\":");
        j.str(self.git.source.map(Source::as_str));
        j.raw("},\"build\":{\"time\":");
        j.str(Some(&rfc3339(self.build_time)));
        j.raw(",\"profile\":");
        j.str(self.profile.as_deref());
        j.raw(",\"target\":");
        j.str(self.target.as_deref());
        j.raw(",\"rustc\":");
        j.str(self.rustc.as_deref());
        j.raw("}}");
        j.0
    }
}

#[derive(Default)]
struct Json(String);

impl Json {
    fn raw(&mut self, s: &str) {
        self.0.push_str(s);
    }

    fn bool(&mut self, b: Option<bool>) {
        self.raw(match b {
            Some(true) => "true",
            Some(false) => "false",
            None => "null",
        });
    }

    fn str(&mut self, s: Option<&str>) {
        let Some(s) = s else {
            return self.raw("null");
        };
        self.0.push('"');
        for c in s.chars() {
            match c {
                '"' => self.0.push_str("\\\""),
                '\\' => self.0.push_str("\\\\"),
                '\n' => self.0.push_str("\\n"),
                '\r' => self.0.push_str("\\r"),
                '\t' => self.0.push_str("\\t"),
                // As serde_json writes them: the runtime's serializer must give the same bytes.
                '\u{8}' => self.0.push_str("\\b"),
                '\u{c}' => self.0.push_str("\\f"),
                c if (c as u32) < 0x20 => self.0.push_str(&format!("\\u{:04x}", c as u32)),
                c => self.0.push(c),
            }
        }
        self.0.push('"');
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_escapes_and_nulls() {
        let facts = Facts {
            package_name: "a\"b\\c\n\u{1}".into(),
            package_version: "1.0.0".into(),
            package_repository: None,
            git: GitFacts::default(),
            build_time: 0,
            profile: None,
            target: None,
            rustc: None,
        };
        let json = facts.to_json();
        assert!(json.starts_with(
            r#"{"schema":"shipstamp/v1","package":{"name":"a\"b\\c\n\u0001","version":"1.0.0","repository":null}"#
        ));
        assert!(json.contains(r#""git":{"commit":null,"short":null,"dirty":null,"branch":null,"describe":null,"commit_time":null,"source":null}"#));
        assert!(json.ends_with(
            r#""build":{"time":"1970-01-01T00:00:00Z","profile":null,"target":null,"rustc":null}}"#
        ));
        assert!(!json.contains('\n'));
    }
}

/// A repository URL that is safe to stamp: `http(s)://`, `ssh://` or `git://`, with any
/// `user:password@`, query string and fragment removed (tokens live in all three). Anything else
/// (scp-like `git@host:path`, local paths) is dropped.
pub(crate) fn public_repository_url(url: &str) -> Option<String> {
    let url = url.trim();
    let (scheme, rest) = url.split_once("://")?;
    if !matches!(scheme, "https" | "http" | "ssh" | "git")
        || rest.is_empty()
        || url.contains(char::is_whitespace)
    {
        return None;
    }
    let rest = &rest[..rest.find(['?', '#']).unwrap_or(rest.len())];
    let authority_end = rest.find('/').unwrap_or(rest.len());
    let authority = &rest[..authority_end];
    let host = authority
        .rsplit_once('@')
        .map_or(authority, |(_, host)| host);
    if host.is_empty() {
        return None;
    }
    Some(format!("{scheme}://{host}{}", &rest[authority_end..]))
}

/// `shipstamp/v1` has one owner: the runtime crate reads and writes it, and this crate writes it
/// by hand (no dependencies). The same facts must give the same bytes through both.
#[cfg(test)]
mod one_owner {
    use super::*;
    use proptest::prelude::*;

    fn same_document(facts: &Facts) {
        let written = facts.to_json();
        let stamp = shipstamp::Stamp::from_json(&written)
            .unwrap_or_else(|e| panic!("the runtime cannot read {written}: {e}"));
        let serialized = stamp.to_json();
        let head = serialized
            .strip_suffix(",\"process\":null}")
            .expect("a parsed stamp has no process");
        assert_eq!(format!("{head}}}"), written);
    }

    fn text() -> impl Strategy<Value = String> {
        prop_oneof![
            "[ -~]{0,24}",
            "\\PC{0,12}",
            prop::collection::vec(0u32..0x80, 0..12)
                .prop_map(|v| v.into_iter().filter_map(char::from_u32).collect()),
        ]
    }

    fn hex(len: usize) -> impl Strategy<Value = String> {
        proptest::string::string_regex(&format!("[0-9a-f]{{{len}}}")).expect("regex")
    }

    fn facts() -> impl Strategy<Value = Facts> {
        let git = (
            prop_oneof![Just(None), hex(40).prop_map(Some), hex(64).prop_map(Some)],
            proptest::option::of(any::<bool>()),
            proptest::option::of(text()),
            proptest::option::of(text()),
            // Years 0 to 9999, the range RFC 3339 can write.
            proptest::option::of(-62_167_219_200i64..253_402_300_799),
            prop_oneof![
                Just(None),
                Just(Some(Source::Git)),
                Just(Some(Source::Env)),
                Just(Some(Source::CargoVcsInfo)),
            ],
        )
            .prop_map(
                |(commit, dirty, branch, describe, commit_time, source)| GitFacts {
                    short: commit.as_ref().map(|c: &String| c[..7].to_owned()),
                    commit,
                    dirty,
                    branch,
                    describe,
                    commit_time,
                    source,
                },
            );
        (
            text(),
            text(),
            proptest::option::of(text()),
            git,
            -62_167_219_200i64..253_402_300_799,
            (
                proptest::option::of(text()),
                proptest::option::of(text()),
                proptest::option::of(text()),
            ),
        )
            .prop_map(
                |(name, version, repository, git, build_time, (profile, target, rustc))| Facts {
                    package_name: name,
                    package_version: version,
                    package_repository: repository,
                    git,
                    build_time,
                    profile,
                    target,
                    rustc,
                },
            )
    }

    #[test]
    fn control_characters_and_unicode() {
        let mut facts = Facts {
            package_name: "a\"b\\c\n\r\t\u{1}\u{8}\u{c}\u{1f}\u{7f}é😀".into(),
            package_version: "1.0.0-beta+build.5".into(),
            package_repository: Some("https://github.com/acme/orders".into()),
            git: GitFacts::default(),
            build_time: 0,
            profile: Some("release".into()),
            target: None,
            rustc: Some("1.95.0".into()),
        };
        same_document(&facts);
        facts.git.commit = Some("3f9c2e1aa0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5".into());
        facts.git.source = Some(Source::Git);
        same_document(&facts);
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(1000))]

        #[test]
        fn writer_and_runtime_agree(facts in facts()) {
            same_document(&facts);
        }
    }
}

#[cfg(test)]
mod url_tests {
    use super::public_repository_url as u;

    #[test]
    fn credentials_never_survive() {
        assert_eq!(
            u("https://github.com/o/r").as_deref(),
            Some("https://github.com/o/r")
        );
        assert_eq!(
            u("https://user:tok@github.com/o/r").as_deref(),
            Some("https://github.com/o/r")
        );
        assert_eq!(
            u("https://tok@github.com").as_deref(),
            Some("https://github.com")
        );
        assert_eq!(
            u("https://github.com/o/r?access_token=s3cr3t#readme").as_deref(),
            Some("https://github.com/o/r")
        );
        assert_eq!(
            u("https://u:p@github.com?token=x").as_deref(),
            Some("https://github.com")
        );
        assert_eq!(u("https://?token=x"), None);
        assert_eq!(u("git@github.com:o/r.git"), None);
        assert_eq!(u("/home/me/repo"), None);
        assert_eq!(u("file:///home/me/repo"), None);
        assert_eq!(u("https://user@"), None);
        assert_eq!(u(""), None);
    }
}
