use super::*;

const SHA: &str = "3f9c2e1aa0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5";

#[test]
fn every_shape() {
    let ok = |body: &str| parse_served(body.as_bytes()).unwrap();
    let s = ok(&format!(
        r#"{{"schema":"shipstamp/v1","package":{{"name":"a","version":"1"}},"git":{{"commit":"{SHA}","dirty":true}},"process":{{"started_at":"2026-11-22T10:05:00Z","uptime_seconds":1,"exe_replaced":true}}}}"#
    ));
    assert_eq!(
        (s.shape, s.commit.as_str(), s.dirty, s.exe_replaced),
        (ServedShape::Shipstamp, SHA, Some(true), Some(true))
    );
    assert_eq!(s.started_at.unwrap().to_string(), "2026-11-22T10:05:00Z");
    let k = ok(&format!(
        r#"{{"gitCommit":"{SHA}","gitTreeState":"clean","gitVersion":"v1"}}"#
    ));
    assert_eq!((k.shape, k.dirty), (ServedShape::Kubernetes, Some(false)));
    assert_eq!(
        ok(&format!(
            r#"{{"commit":"{SHA}","version":"1","source":"x"}}"#
        ))
        .shape,
        ServedShape::Dockerflow
    );
    let spring = ok(r#"{"git":{"branch":"main","commit":{"id":"3F9C2E1","time":"x"}}}"#);
    assert_eq!(
        (spring.shape, spring.commit.as_str()),
        (ServedShape::SpringActuator, "3f9c2e1")
    );
    let full = ok(&format!(
        r#"{{"git":{{"commit":{{"id":{{"abbrev":"3f9c2e1","full":"{SHA}"}}}}}}}}"#
    ));
    assert_eq!(full.commit, SHA);
    assert_eq!(ok(&format!("{SHA}\n")).shape, ServedShape::PlainText);
    assert_eq!(ok("3f9c2e1").commit, "3f9c2e1");
}

#[test]
fn every_dirty_signal_and_version_is_read() {
    let ok = |body: &str| parse_served(body.as_bytes()).unwrap();
    // Spring Boot Actuator, `full` git mode: the id is an object, `dirty` a string.
    let spring_full = ok(&format!(
        r#"{{"git":{{"branch":"main","commit":{{"id":{{"abbrev":"3f9c2e1","full":"{SHA}","describe":"v1-dirty"}},"time":"2026-11-22T09:58:11Z"}},"dirty":"true"}},"build":{{"artifact":"orders","name":"orders-api","version":"1.4.2","time":"2026-11-22T10:00:00Z"}}}}"#
    ));
    assert_eq!(
        (
            spring_full.shape,
            spring_full.commit.as_str(),
            spring_full.dirty
        ),
        (ServedShape::SpringActuator, SHA, Some(true))
    );
    assert_eq!(spring_full.package.as_deref(), Some("orders"));
    assert_eq!(spring_full.version.as_deref(), Some("1.4.2"));
    assert_eq!(
        spring_full.built_at.map(|t| t.to_string()).as_deref(),
        Some("2026-11-22T10:00:00Z")
    );
    // `simple` mode: the abbreviated id, `dirty` a boolean (or a string).
    for (dirty, want) in [
        ("true", Some(true)),
        ("false", Some(false)),
        ("\"false\"", Some(false)),
        ("null", None),
    ] {
        let simple = ok(&format!(
            r#"{{"git":{{"commit":{{"id":"3f9c2e1"}},"dirty":{dirty}}}}}"#
        ));
        assert_eq!(simple.dirty, want, "{dirty}");
    }
    let k8s = ok(&format!(
        r#"{{"gitCommit":"{SHA}","gitTreeState":"dirty","gitVersion":"v1.31.0","buildDate":"2026-11-22T10:00:00Z"}}"#
    ));
    assert_eq!(
        (k8s.dirty, k8s.version.as_deref()),
        (Some(true), Some("v1.31.0"))
    );
    let dockerflow = ok(&format!(
        r#"{{"source":"https://github.com/acme/orders","version":"1.4.2","commit":"{SHA}","build":"https://ci/1"}}"#
    ));
    assert_eq!(
        (dockerflow.shape, dockerflow.version.as_deref()),
        (ServedShape::Dockerflow, Some("1.4.2"))
    );
    let prometheus = ok(&format!(
        r#"{{"status":"success","data":{{"version":"3.5.0","revision":"{SHA}","branch":"HEAD","buildUser":"root@x","buildDate":"20251014-09:01:02","goVersion":"go1.24"}}}}"#
    ));
    assert_eq!(
        (
            prometheus.shape,
            prometheus.version.as_deref(),
            prometheus.commit.as_str()
        ),
        (ServedShape::PrometheusBuildInfo, Some("3.5.0"), SHA)
    );
    let go = ok(&format!(
        r#"{{"version":"0.9.1","revision":"{SHA}","modified":true}}"#
    ));
    assert_eq!(
        (go.shape, go.version.as_deref(), go.dirty),
        (ServedShape::VersionRevision, Some("0.9.1"), Some(true))
    );
    let go = ok(&format!(r#"{{"version":"0.9.1","revision":"{SHA}"}}"#));
    assert_eq!(go.dirty, None);
    // Plain text, as `git describe --always --dirty` writes it.
    let plain = ok("3F9C2E1-dirty\n");
    assert_eq!(
        (plain.commit.as_str(), plain.dirty),
        ("3f9c2e1", Some(true))
    );
    let described = ok("v1.4.2-3-g3f9c2e1");
    assert_eq!(
        (described.commit.as_str(), described.dirty),
        ("3f9c2e1", None)
    );
}

#[test]
fn a_byte_order_mark_is_skipped() {
    let mut body = "\u{feff}".as_bytes().to_vec();
    body.extend_from_slice(format!(r#"{{"commit":"{SHA}"}}"#).as_bytes());
    assert_eq!(parse_served(&body).unwrap().commit, SHA);
    let mut body = "\u{feff}".as_bytes().to_vec();
    body.extend_from_slice(format!("{SHA}\r\n").as_bytes());
    assert_eq!(parse_served(&body).unwrap().shape, ServedShape::PlainText);
}

#[test]
fn any_document_at_a_json_pointer() {
    let body = format!(r#"{{"data":{{"build":{{"sha":"{SHA}"}}}},"commit":"not read"}}"#);
    let served = parse_served_at(body.as_bytes(), "/data/build/sha").unwrap();
    assert_eq!(
        (served.shape, served.commit.as_str()),
        (ServedShape::JsonPointer, SHA)
    );
    for (pointer, why) in [
        ("/data/missing", "nothing at /data/missing"),
        ("/data", "/data is not a string"),
        ("/commit", "/commit \"not read\" is not a commit id"),
    ] {
        let err = parse_served_at(body.as_bytes(), pointer).unwrap_err();
        assert_eq!(err.kind(), ParseErrorKind::BadCommit);
        assert!(err.to_string().contains(why), "{pointer}: {err}");
    }
    let err = parse_served_at(b"3f9c2e1", "/sha").unwrap_err();
    assert_eq!(err.kind(), ParseErrorKind::MalformedJson);
    let err = parse_served(br#"{"build":{"sha":"3f9c2e1"}}"#).unwrap_err();
    assert_eq!(err.kind(), ParseErrorKind::UnknownShape, "{err}");
    assert!(!err.to_string().contains("--field"), "{err}");
}

#[test]
fn bad_bodies_say_what_is_wrong() {
    for (body, why) in [
        (&b""[..], "empty"),
        (b"   \n", "empty"),
        (b"\xff\xfe", "not UTF-8"),
        (
            b"<!DOCTYPE html><html><body>502 Bad Gateway</body></html>",
            "HTML page",
        ),
        (b"<html>oops</html>", "HTML page"),
        (b"OK", "not a version document"),
        (b"{\"commit\":", "malformed JSON"),
        (b"{\"status\":\"UP\"}", "JSON without a commit"),
        (b"{\"commit\":42}", "not a string"),
        (b"{\"commit\":\"main\"}", "not a commit id"),
        (b"{\"gitCommit\":\"\"}", "not a commit id"),
        (
            b"{\"schema\":\"shipstamp/v2\",\"package\":{\"name\":\"a\",\"version\":\"1\"}}",
            "unsupported schema",
        ),
        (
            b"{\"schema\":\"shipstamp/v1\",\"package\":{\"name\":\"a\",\"version\":\"1\"}}",
            "no git.commit",
        ),
        (b"[1,2,3]", "not a version document"),
    ] {
        let err = parse_served(body).unwrap_err().to_string();
        assert!(err.contains(why), "{body:?}: {err}");
    }
}

mod fuzz {
    use super::*;
    use proptest::prelude::*;

    const VALID: &str = r#"{"schema":"shipstamp/v1","package":{"name":"a","version":"1"},"git":{"commit":"3f9c2e1aa0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5","dirty":false},"process":{"started_at":"2026-11-22T10:05:00Z","uptime_seconds":1,"exe_replaced":false}}"#;

    /// JSON trees that use the keys the parser looks for, nested anywhere.
    fn json_value() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(Value::from),
            "[0-9a-fA-F]{0,70}".prop_map(Value::String),
            ".{0,20}".prop_map(Value::String),
            Just(Value::String("shipstamp/v1".into())),
            Just(Value::String("2026-11-22T10:05:00Z".into())),
        ];
        let key = prop_oneof![
            Just("schema"),
            Just("package"),
            Just("name"),
            Just("version"),
            Just("git"),
            Just("commit"),
            Just("id"),
            Just("full"),
            Just("abbrev"),
            Just("gitCommit"),
            Just("gitTreeState"),
            Just("dirty"),
            Just("process"),
            Just("started_at"),
            Just("exe_replaced"),
            Just("short"),
            Just("x"),
        ];
        leaf.prop_recursive(4, 48, 6, move |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
                prop::collection::vec((key.clone(), inner), 0..6).prop_map(|kv| {
                    Value::Object(kv.into_iter().map(|(k, v)| (k.to_owned(), v)).collect())
                }),
            ]
        })
    }

    fn check_result(r: Result<Served, ParseError>) {
        match r {
            Ok(s) => {
                assert!((7..=64).contains(&s.commit.len()), "{s:?}");
                assert!(
                    s.commit
                        .bytes()
                        .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()),
                    "{s:?}"
                );
            }
            Err(why) => {
                let why = why.to_string();
                assert!(!why.is_empty() && !why.contains('\n'), "{why:?}");
            }
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]

        #[test]
        fn any_bytes(body in prop::collection::vec(any::<u8>(), 0..512)) {
            check_result(parse_served(&body));
        }

        #[test]
        fn mutated_valid_document(at in 0..VALID.len(), byte in any::<u8>(), cut in 0..=VALID.len()) {
            let mut body = VALID.as_bytes()[..cut].to_vec();
            if at < body.len() {
                body[at] = byte;
            }
            check_result(parse_served(&body));
        }

        #[test]
        fn generated_json(value in json_value()) {
            check_result(parse_served(value.to_string().as_bytes()));
        }
    }
}
