use super::*;

const FULL: &str = r#"{"schema":"shipstamp/v1","package":{"name":"orders-api","version":"1.4.2","repository":"https://github.com/acme/orders"},"git":{"commit":"3f9c2e1aa0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5","short":"3f9c2e1","dirty":false,"branch":"main","describe":"v1.4.2-3-g3f9c2e1","commit_time":"2026-11-22T09:58:11Z","source":"git"},"build":{"time":"2026-11-22T10:00:00Z","profile":"release","target":"x86_64-unknown-linux-gnu","rustc":"1.95.0"},"process":{"started_at":"2026-11-22T10:05:00Z","uptime_seconds":3600,"exe_replaced":false}}"#;

#[test]
fn parses_and_reserializes_the_design_document() {
    let stamp = Stamp::from_json(FULL).unwrap();
    assert_eq!(stamp.package.name, "orders-api");
    assert_eq!(stamp.git.source, Some(GitSource::Git));
    assert_eq!(
        stamp.git.commit_time.unwrap().to_string(),
        "2026-11-22T09:58:11Z"
    );
    assert_eq!(
        stamp.to_json(),
        FULL,
        "write_json is byte-identical to the document"
    );
    assert_eq!(
        serde_json::to_string(&stamp).unwrap(),
        FULL,
        "Serialize agrees with write_json"
    );
}

#[test]
fn tolerant_of_unknown_fields_nulls_and_missing_sections() {
    let doc = r#"{"schema":"shipstamp/v1","extra":1,"package":{"name":"a","version":"1","x":2},
        "git":{"commit":null,"source":"some-future-source","new":true}}"#;
    let stamp = Stamp::from_json(doc).unwrap();
    assert_eq!(stamp.git, Git::default());
    assert_eq!(stamp.build, Build::default());
    assert_eq!(stamp.process(), None);
    assert!(stamp.to_json().ends_with(r#""process":null}"#));
}

#[test]
fn rejects_what_is_not_a_v1_stamp() {
    for (doc, why) in [
        ("", "EOF"),
        ("<html>502 Bad Gateway</html>", "expected value"),
        (
            r#"{"package":{"name":"a","version":"1"}}"#,
            "missing \"schema\"",
        ),
        (
            r#"{"schema":"shipstamp/v2","package":{"name":"a","version":"1"}}"#,
            "unsupported schema",
        ),
        (r#"{"schema":"shipstamp/v1"}"#, "missing field `package`"),
        (
            r#"{"schema":"shipstamp/v1","package":{"name":"a","version":"1"},"git":{"commit":"main"}}"#,
            "not a full commit id",
        ),
        (
            r#"{"schema":"shipstamp/v1","package":{"name":"a","version":"1"},"git":{"short":"xyz"}}"#,
            "abbreviated",
        ),
        (
            r#"{"schema":"shipstamp/v1","package":{"name":"a","version":"1"},"build":{"time":"yesterday"}}"#,
            "RFC 3339",
        ),
        (
            r#"{"schema":"shipstamp/v1","package":{"name":"a","version":"1"},"git":{"dirty":"no"}}"#,
            "invalid type",
        ),
    ] {
        let err = Stamp::from_json(doc).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Document, "{doc}");
        let err = err.to_string();
        assert!(err.contains(why), "{doc}: {err}");
    }
}

#[test]
fn sha256_commits_are_accepted_and_lowercased() {
    let commit = "AB".repeat(32);
    let doc = format!(
        r#"{{"schema":"shipstamp/v1","package":{{"name":"a","version":"1"}},"git":{{"commit":"{commit}"}}}}"#
    );
    assert_eq!(
        Stamp::from_json(&doc).unwrap().git.commit,
        Some("ab".repeat(32))
    );
}

#[test]
fn startup_line_is_key_value() {
    let stamp = Stamp::from_json(FULL).unwrap();
    assert_eq!(
        stamp.startup_line().to_string(),
        "shipstamp: orders-api 1.4.2 commit=3f9c2e1 dirty=false branch=main built=2026-11-22T10:00:00Z \
         started=2026-11-22T10:05:00Z rustc=1.95.0 profile=release"
    );
    let unknown =
        Stamp::from_json(r#"{"schema":"shipstamp/v1","package":{"name":"a","version":"1"}}"#)
            .unwrap();
    assert!(
        unknown
            .startup_line()
            .to_string()
            .contains("commit=unknown dirty=unknown")
    );
}

#[test]
fn build_info_is_prometheus_text() {
    let stamp = Stamp::from_json(FULL).unwrap();
    let text = stamp.build_info_metric();
    assert!(
        text.contains("# TYPE orders_api_build_info gauge\n"),
        "{text}"
    );
    assert!(
        text.contains(
            "orders_api_build_info{package=\"orders-api\",version=\"1.4.2\",\
         revision=\"3f9c2e1aa0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5\",short_revision=\"3f9c2e1\",\
         branch=\"main\",dirty=\"false\",rustc=\"1.95.0\",target=\"x86_64-unknown-linux-gnu\",\
         profile=\"release\"} 1\n"
        ),
        "{text}"
    );
    assert!(
        text.contains("orders_api_start_time_seconds 1795341900\n"),
        "{text}"
    );
    let named = stamp.build_info_metric_named("shipstamp");
    assert!(named.contains("shipstamp_build_info{package=\"orders-api\""));
}

#[test]
fn build_info_escapes_label_values() {
    let doc = r#"{"schema":"shipstamp/v1","package":{"name":"9 lives","version":"1"},"git":{"branch":"a\"b\\c\nd"}}"#;
    let text = Stamp::from_json(doc).unwrap().build_info_metric();
    assert!(text.contains("_9_lives_build_info{"), "{text}");
    assert!(text.contains(r#"branch="a\"b\\c\nd""#), "{text}");
}

#[test]
fn live_stamp_reports_this_process() {
    let doc = r#"{"schema":"shipstamp/v1","package":{"name":"a","version":"1"}}"#;
    let stamp = Stamp::live(doc.as_bytes()).unwrap();
    let json = stamp.to_json();
    let back: serde_json::Value = serde_json::from_str(&json).unwrap();
    if cfg!(target_os = "linux") {
        assert!(back["process"]["started_at"].is_string(), "{json}");
        assert!(back["process"]["uptime_seconds"].is_u64(), "{json}");
        assert_eq!(back["process"]["exe_replaced"], false);
    } else {
        assert_eq!(
            back["process"],
            serde_json::json!({"started_at": null, "uptime_seconds": null, "exe_replaced": null})
        );
    }
}

#[test]
fn no_logger_is_an_error_for_try_but_not_for_log_startup() {
    let stamp = Stamp::from_json(FULL).unwrap();
    stamp.log_startup();
    if cfg!(any(feature = "tracing", feature = "log")) {
        assert!(
            stamp
                .try_log_startup()
                .unwrap_err()
                .to_string()
                .contains("no tracing subscriber")
        );
    } else {
        stamp.try_log_startup().unwrap();
    }
}

#[cfg(feature = "tracing")]
#[test]
fn startup_line_goes_through_an_installed_tracing_subscriber() {
    use std::sync::{Arc, Mutex};

    #[derive(Clone, Default)]
    struct Captured(Arc<Mutex<Vec<u8>>>);
    impl std::io::Write for Captured {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .finish();
    let stamp = Stamp::from_json(FULL).unwrap();
    tracing::subscriber::with_default(subscriber, || stamp.try_log_startup()).unwrap();
    let out = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    assert!(
        out.contains("INFO shipstamp: shipstamp: orders-api 1.4.2 commit=3f9c2e1 dirty=false"),
        "{out}"
    );
    assert!(
        out.contains("package=orders-api"),
        "structured fields too: {out}"
    );
}

#[test]
fn alternative_shapes() {
    let stamp = Stamp::from_json(FULL).unwrap();
    let k8s: serde_json::Value =
        serde_json::from_str(&stamp.to_json_shape(Shape::Kubernetes)).unwrap();
    assert_eq!(k8s["gitCommit"], "3f9c2e1aa0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5");
    assert_eq!(k8s["gitTreeState"], "clean");
    assert_eq!(k8s["gitVersion"], "v1.4.2-3-g3f9c2e1");
    assert_eq!(
        (k8s["major"].as_str(), k8s["minor"].as_str()),
        (Some("1"), Some("4"))
    );
    assert_eq!(k8s["buildDate"], "2026-11-22T10:00:00Z");
    let df: serde_json::Value =
        serde_json::from_str(&stamp.to_json_shape(Shape::Dockerflow)).unwrap();
    assert_eq!(df["commit"], "3f9c2e1aa0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5");
    assert_eq!(df["version"], "1.4.2");
    assert_eq!(df["source"], "https://github.com/acme/orders");
    assert_eq!(stamp.to_json_shape(Shape::Shipstamp), FULL);
}

#[test]
fn etag_names_the_commit_and_dirtiness() {
    let stamp = Stamp::from_json(FULL).unwrap();
    assert_eq!(
        stamp.etag().as_deref(),
        Some("W/\"3f9c2e1aa0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5\"")
    );
    let dirty = Stamp::from_json(&FULL.replace("\"dirty\":false", "\"dirty\":true")).unwrap();
    assert!(dirty.etag().unwrap().ends_with("-dirty\""));
    let unknown =
        Stamp::from_json(r#"{"schema":"shipstamp/v1","package":{"name":"a","version":"1"}}"#)
            .unwrap();
    assert_eq!(unknown.etag(), None);
}

#[test]
fn endpoint_body_is_cached_and_current() {
    let stamp: &'static Stamp = Box::leak(Box::new(
        Stamp::live(br#"{"schema":"shipstamp/v1","package":{"name":"a","version":"1"}}"#).unwrap(),
    ));
    let endpoint = VersionEndpoint::<std::sync::Arc<[u8]>>::new(stamp, Shape::Shipstamp);
    let a = endpoint.body();
    let b = endpoint.body();
    let parsed = Stamp::from_slice(&b).unwrap();
    assert_eq!(parsed.package.name, "a");
    if std::sync::Arc::ptr_eq(&a, &b) {
        // Same second: the very same allocation was served twice.
    } else {
        assert_ne!(a, b, "a rebuilt body only comes with a new second");
    }
    std::thread::sleep(std::time::Duration::from_millis(1100));
    assert!(
        !std::sync::Arc::ptr_eq(&b, &endpoint.body()),
        "rebuilt once the second changed"
    );
}

/// `shipstamp/v1` has one writer (`shipstamp_format::Document`), which `shipstamp-build`,
/// `stamp_from_vergen!()` and `Stamp::to_json` all use. The runtime also serializes a `Stamp`
/// through serde (inside other documents, such as `inspect --json`): every document the one
/// writer makes must read back, and come out of both the same bytes.
mod one_writer {
    use super::*;
    use proptest::prelude::*;
    use shipstamp_format::Document;

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

    /// Owned strings for a [`Document`] to borrow.
    #[derive(Debug, Clone)]
    struct Facts {
        strings: [Option<String>; 9],
        dirty: Option<bool>,
        commit_time: Option<i64>,
        build_time: Option<i64>,
        source: Option<&'static str>,
    }

    fn facts() -> impl Strategy<Value = Facts> {
        // Years 0 to 9999, the range RFC 3339 can write.
        let time = || proptest::option::of(-62_167_219_200i64..253_402_300_799);
        let repository = prop_oneof![
            Just(None),
            text().prop_map(Some),
            "(https?|ssh|git|ftp)://([a-z]{1,4}(:[a-z0-9]{1,4})?@)?[a-z.]{0,8}(/[a-z]{0,4}){0,2}(\\?[a-z=]{0,5})?(#[a-z]{0,3})?"
                .prop_map(Some),
        ];
        (
            (text(), text(), repository),
            prop_oneof![Just(None), hex(40).prop_map(Some), hex(64).prop_map(Some)],
            [
                proptest::option::of(text()),
                proptest::option::of(text()),
                proptest::option::of(text()),
                proptest::option::of(text()),
                proptest::option::of(text()),
            ],
            (proptest::option::of(any::<bool>()), time(), time()),
            prop_oneof![
                Just(None),
                Just(Some("git")),
                Just(Some("env")),
                Just(Some("cargo-vcs-info")),
                Just(Some("vergen")),
            ],
        )
            .prop_map(
                |(
                    (name, version, repository),
                    commit,
                    [branch, describe, profile, target, rustc],
                    (dirty, commit_time, build_time),
                    source,
                )| {
                    let short = commit.as_ref().map(|c: &String| c[..7].to_owned());
                    Facts {
                        strings: [
                            Some(name),
                            Some(version),
                            repository,
                            commit,
                            short,
                            branch,
                            describe,
                            profile,
                            target.or(rustc),
                        ],
                        dirty,
                        commit_time,
                        build_time,
                        source,
                    }
                },
            )
    }

    fn same_bytes(facts: &Facts) {
        let s = |i: usize| facts.strings[i].as_deref();
        let doc = Document {
            package_repository: s(2),
            git_commit: s(3),
            git_short: s(4),
            git_dirty: facts.dirty,
            git_branch: s(5),
            git_describe: s(6),
            git_commit_time: facts.commit_time,
            git_source: facts.source,
            build_time: facts.build_time,
            build_profile: s(7),
            build_target: s(8),
            build_rustc: s(8),
            ..Document::new(s(0).unwrap_or(""), s(1).unwrap_or(""))
        };
        let written = doc.to_json();
        let stamp = Stamp::from_json(&written)
            .unwrap_or_else(|e| panic!("the runtime cannot read {written}: {e}"));
        let with_process = format!("{},\"process\":null}}", &written[..written.len() - 1]);
        assert_eq!(stamp.to_json(), with_process, "to_json");
        assert_eq!(
            serde_json::to_string(&stamp).unwrap(),
            with_process,
            "serde"
        );
    }

    #[test]
    fn control_characters_and_unicode() {
        let mut facts = Facts {
            strings: [
                Some("a\"b\\c\n\r\t\u{1}\u{8}\u{c}\u{1f}\u{7f}é😀".into()),
                Some("1.0.0-beta+build.5".into()),
                Some("https://u:p@github.com/acme/orders?t=1".into()),
                None,
                None,
                None,
                None,
                Some("release".into()),
                Some("1.95.0".into()),
            ],
            dirty: None,
            commit_time: None,
            build_time: Some(0),
            source: None,
        };
        same_bytes(&facts);
        facts.strings[3] = Some("3f9c2e1aa0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5".into());
        facts.source = Some("git");
        same_bytes(&facts);
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(1000))]

        #[test]
        fn every_writer_agrees(facts in facts()) {
            same_bytes(&facts);
        }
    }
}
