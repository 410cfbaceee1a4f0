//! The documents this command prints and serves, as structs that exist only to be serialized:
//! `shipstamp-check/v1` (`check --json`, `docs/check-json.md`), the targets inside
//! `shipstamp-dashboard/v1` (`docs/dashboard-api.md`), and `inspect --json`. The library's
//! types can change without changing a field users parse; the golden tests below pin every
//! field name.

use serde::Serialize;
use shipstamp::{Stamp, Timestamp};
use shipstamp_check::{Commit, ProcessInspection, TargetReport};

use crate::present::display_url;

/// The `schema` of `check --json`.
pub(crate) const CHECK_SCHEMA: &str = "shipstamp-check/v1";

/// `check --json`.
#[derive(Debug, Serialize)]
pub(crate) struct CheckDoc {
    pub(crate) schema: &'static str,
    #[serde(rename = "ref")]
    pub(crate) reference: RefDoc,
    pub(crate) targets: Vec<TargetDoc>,
    /// `null` without `--wait`.
    pub(crate) wait: Option<WaitDoc>,
    pub(crate) exit_code: u8,
}

/// The ref as given and the commit it resolved to.
#[derive(Debug, Serialize)]
pub(crate) struct RefDoc {
    pub(crate) name: String,
    pub(crate) commit: String,
    pub(crate) commit_time: Option<Timestamp>,
    pub(crate) subject: Option<String>,
}

impl RefDoc {
    pub(crate) fn new(name: &str, commit: &Commit) -> RefDoc {
        RefDoc {
            name: name.to_owned(),
            commit: commit.id.clone(),
            commit_time: commit.time,
            subject: commit.subject.clone(),
        }
    }
}

/// How a `--wait` went.
#[derive(Debug, Serialize)]
pub(crate) struct WaitDoc {
    pub(crate) polls: u32,
    pub(crate) seconds: f64,
    pub(crate) stopped_early: bool,
    pub(crate) settled: bool,
}

/// One target's result, in `check --json` and in the dashboard's document.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct TargetDoc {
    /// Without `user:password@`; a query string shows as `?…`.
    pub(crate) url: String,
    pub(crate) name: Option<String>,
    pub(crate) status: &'static str,
    pub(crate) reason: Option<String>,
    pub(crate) commit: Option<String>,
    pub(crate) commit_subject: Option<String>,
    pub(crate) commit_time: Option<Timestamp>,
    pub(crate) shape: Option<&'static str>,
    pub(crate) package: Option<String>,
    pub(crate) version: Option<String>,
    pub(crate) dirty: Option<bool>,
    pub(crate) behind: Option<u64>,
    pub(crate) ahead: Option<u64>,
    pub(crate) merge_base: Option<String>,
    pub(crate) built_at: Option<Timestamp>,
    pub(crate) started_at: Option<Timestamp>,
    pub(crate) started_before_ref: bool,
    pub(crate) exe_replaced: Option<bool>,
}

impl TargetDoc {
    pub(crate) fn new(r: &TargetReport) -> TargetDoc {
        TargetDoc {
            url: display_url(&r.url),
            name: r.name.clone(),
            status: r.status.as_str(),
            reason: r.reason.clone(),
            commit: r.commit.clone(),
            commit_subject: r.commit_subject.clone(),
            commit_time: r.commit_time,
            shape: r.shape.map(|s| s.as_str()),
            package: r.package.clone(),
            version: r.version.clone(),
            dirty: r.dirty,
            behind: r.behind,
            ahead: r.ahead,
            merge_base: r.merge_base.clone(),
            built_at: r.built_at,
            started_at: r.started_at,
            started_before_ref: r.started_before_ref,
            exe_replaced: r.exe_replaced,
        }
    }
}

/// `inspect PATH --json`.
#[derive(Debug, Serialize)]
pub(crate) struct FileDoc<'a> {
    pub(crate) path: &'a std::path::Path,
    /// `shipstamp/v1` documents without `process` (`null`): a file runs nowhere.
    pub(crate) stamps: &'a [Stamp],
}

/// `inspect --pid PID --json`.
#[derive(Debug, Serialize)]
pub(crate) struct ProcessDoc<'a> {
    pub(crate) pid: u32,
    pub(crate) exe: &'a std::path::Path,
    pub(crate) exe_replaced: bool,
    pub(crate) running: &'a [Stamp],
    pub(crate) on_disk: Option<&'a [Stamp]>,
    pub(crate) on_disk_error: Option<String>,
    pub(crate) restart_needed: bool,
}

impl<'a> ProcessDoc<'a> {
    pub(crate) fn new(p: &'a ProcessInspection) -> Self {
        let (on_disk, on_disk_error) = match &p.on_disk {
            None => (None, Some(format!("nothing at {}", p.exe_path.display()))),
            Some(Ok(stamps)) => (Some(stamps.as_slice()), None),
            Some(Err(e)) => (None, Some(e.to_string())),
        };
        ProcessDoc {
            pid: p.pid,
            exe: &p.exe_path,
            exe_replaced: p.exe_replaced,
            running: &p.running,
            on_disk,
            on_disk_error,
            restart_needed: p.restart_needed(),
        }
    }
}

/// Golden documents: every field name of every document, in order. A change here is a change
/// users' scripts see; make it on purpose, in the docs and the README's changelog too.
#[cfg(test)]
pub(crate) mod golden {
    use super::*;

    pub(crate) fn time(s: &str) -> Timestamp {
        s.parse().expect("RFC 3339")
    }

    pub(crate) fn target() -> TargetDoc {
        TargetDoc {
            url: "http://10.0.0.13:3000/version".into(),
            name: Some("web-3".into()),
            status: "behind",
            reason: None,
            commit: Some("a934ad8a4c1b1f0a9dbfd5f0e2b3c4d5e6f70812".into()),
            commit_subject: Some("Add the orders service".into()),
            commit_time: Some(time("2026-11-23T14:43:24Z")),
            shape: Some("shipstamp"),
            package: Some("orders-api".into()),
            version: Some("1.4.2".into()),
            dirty: Some(false),
            behind: Some(2),
            ahead: None,
            merge_base: None,
            built_at: Some(time("2026-11-23T14:43:24Z")),
            started_at: Some(time("2026-11-23T14:43:30Z")),
            started_before_ref: false,
            exe_replaced: Some(false),
        }
    }

    /// Compares `value` with the golden file `name`; `SHIPSTAMP_UPDATE_GOLDEN=1` rewrites the
    /// file instead (then review the diff).
    pub(crate) fn assert_golden(name: &str, value: &impl Serialize) {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("golden")
            .join(name);
        let actual = serde_json::to_string_pretty(value).expect("serializes") + "\n";
        if std::env::var_os("SHIPSTAMP_UPDATE_GOLDEN").is_some() {
            std::fs::write(&path, &actual).expect("write golden file");
        }
        let expected = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            actual == expected,
            "{} differs from the document now written:\n{actual}",
            path.display()
        );
    }

    /// The keys of every object in `v`, with their paths, in order.
    fn keys(v: &serde_json::Value, path: &str, out: &mut Vec<String>) {
        match v {
            serde_json::Value::Object(map) => {
                for (k, v) in map {
                    out.push(format!("{path}/{k}"));
                    keys(v, &format!("{path}/{k}"), out);
                }
            }
            serde_json::Value::Array(items) => {
                for item in items {
                    keys(item, &format!("{path}/0"), out);
                }
            }
            _ => {}
        }
    }

    /// The documentation shows the documents with the golden files' fields.
    pub(crate) fn assert_documented(doc: &str, golden: &str) {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
        let text = std::fs::read_to_string(root.join("docs").join(doc)).expect("doc");
        let start = text.find("```json\n").expect("a json block") + "```json\n".len();
        let end = start + text[start..].find("```").expect("end of block");
        let shown: serde_json::Value =
            serde_json::from_str(&text[start..end].replace('…', "")).expect("the example is JSON");
        let pinned: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(
                std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                    .join("golden")
                    .join(golden),
            )
            .expect("golden"),
        )
        .expect("JSON");
        let (mut a, mut b) = (Vec::new(), Vec::new());
        keys(&shown, "", &mut a);
        keys(&pinned, "", &mut b);
        for k in [&mut a, &mut b] {
            k.sort();
            k.dedup();
        }
        assert_eq!(a, b, "docs/{doc} and golden/{golden} name different fields");
    }

    #[test]
    fn documented_as_written() {
        assert_documented("check-json.md", "check.json");
        assert_documented("dashboard-api.md", "dashboard.json");
    }

    #[test]
    fn check_document() {
        let doc = CheckDoc {
            schema: CHECK_SCHEMA,
            reference: RefDoc {
                name: "main".into(),
                commit: "50ff55809891d2b0c3e4f5a6b7c8d9e0f1a2b3c4".into(),
                commit_time: Some(time("2026-11-23T14:43:27Z")),
                subject: Some("Retry payment webhooks with backoff".into()),
            },
            targets: vec![target()],
            wait: Some(WaitDoc {
                polls: 3,
                seconds: 4.5,
                stopped_early: false,
                settled: true,
            }),
            exit_code: 1,
        };
        assert_golden("check.json", &doc);
    }

    #[test]
    fn inspect_documents() {
        let stamp = Stamp::from_json(
            r#"{"schema":"shipstamp/v1","package":{"name":"orders-api","version":"1.4.2","repository":null},"git":{"commit":"3f9c2e1aa0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5","short":"3f9c2e1","dirty":false,"branch":"main","describe":null,"commit_time":"2026-11-22T09:58:11Z","source":"git"},"build":{"time":"2026-11-22T10:00:00Z","profile":"release","target":"x86_64-unknown-linux-gnu","rustc":"1.95.0"}}"#,
        )
        .expect("stamp");
        let stamps = [stamp];
        assert_golden(
            "inspect-file.json",
            &FileDoc {
                path: "target/release/orders-api".as_ref(),
                stamps: &stamps,
            },
        );
        assert_golden(
            "inspect-process.json",
            &ProcessDoc {
                pid: 4242,
                exe: "/srv/orders-api".as_ref(),
                exe_replaced: true,
                running: &stamps,
                on_disk: None,
                on_disk_error: Some("nothing at /srv/orders-api".into()),
                restart_needed: true,
            },
        );
    }
}
