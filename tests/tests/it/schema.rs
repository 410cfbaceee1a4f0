//! `schema/shipstamp-v1.schema.json` is the contract: every `shipstamp/v1` document the project
//! produces or shows validates against it — a live `/version` from both example services, the
//! stamps `inspect --json` reads out of a binary and a process, the README's example, the
//! example stamp the doctests use, and this crate's own stamp.

use std::path::Path;
use std::process::{Command, Stdio};

use serde_json::Value;
use shipstamp_tests::{Fixture, Service, TempRepo, request, spawn_fresh_binary, workspace_binary};

use crate::util::{cli, code, text};

fn workspace() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
}

fn validator() -> jsonschema::Validator {
    let schema: Value = serde_json::from_str(
        &std::fs::read_to_string(workspace().join("schema/shipstamp-v1.schema.json"))
            .expect("schema file"),
    )
    .expect("the schema is JSON");
    jsonschema::options()
        .should_validate_formats(true)
        .build(&schema)
        .expect("a valid JSON schema")
}

fn assert_valid(validator: &jsonschema::Validator, what: &str, doc: &Value) {
    let errors: Vec<String> = validator
        .iter_errors(doc)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    assert!(errors.is_empty(), "{what}: {errors:#?}\n{doc:#}");
}

/// The first ```json block after `heading` in `markdown`.
fn json_block_after(markdown: &str, heading: &str) -> Value {
    let after = &markdown[markdown.find(heading).expect("heading")..];
    let start = after.find("```json\n").expect("a json block") + "```json\n".len();
    let end = start + after[start..].find("```").expect("end of block");
    serde_json::from_str(&after[start..end]).expect("the block is JSON")
}

#[test]
fn the_schema_rejects_what_is_not_a_stamp() {
    let v = validator();
    for bad in [
        r#"{"package":{"name":"a","version":"1"}}"#,
        r#"{"schema":"shipstamp/v2","package":{"name":"a","version":"1"}}"#,
        r#"{"schema":"shipstamp/v1","package":{"name":"a","version":"1"},"git":{"commit":"main"}}"#,
        r#"{"schema":"shipstamp/v1","package":{"name":"a","version":"1"},"build":{"time":"yesterday"}}"#,
        r#"{"schema":"shipstamp/v1","package":{"name":"a","version":"1"},"git":{"source":"svn"}}"#,
        r#"{"schema":"shipstamp/v1","package":{"name":"a","version":"1"},"process":{"uptime_seconds":-1}}"#,
        r#"{"schema":"shipstamp/v1","package":{"name":"a","version":"1","repository":"not a url"}}"#,
    ] {
        let doc: Value = serde_json::from_str(bad).expect("JSON");
        assert!(!v.is_valid(&doc), "accepted {bad}");
    }
}

#[test]
fn documents_in_the_readme_and_the_doctest_stamp_validate() {
    let v = validator();
    let readme = std::fs::read_to_string(workspace().join("README.md")).expect("README");
    let example = json_block_after(&readme, "### The `shipstamp/v1` document");
    assert_valid(&v, "README example", &example);
    // The design's example and the README's are the same document.
    let stamp = shipstamp::Stamp::from_json(&example.to_string()).expect("the runtime reads it");
    assert_eq!(stamp.package.name, "orders-api");

    let config = std::fs::read_to_string(workspace().join(".cargo/config.toml")).expect("config");
    let line = config
        .lines()
        .find_map(|l| l.strip_prefix("SHIPSTAMP_STAMP_JSON = '"))
        .and_then(|l| l.strip_suffix('\''))
        .expect("the doctests' stamp");
    assert_valid(
        &v,
        ".cargo/config.toml",
        &serde_json::from_str(line).expect("JSON"),
    );

    let own: Value = serde_json::from_str(&shipstamp::stamp!().to_json()).expect("JSON");
    assert_valid(&v, "this crate's stamp", &own);
    assert_eq!(
        own["package"]["name"], "shipstamp-tests",
        "a crate's own build script wins over the doctests' example stamp"
    );
}

#[test]
fn live_version_of_both_example_services_validates() {
    let v = validator();
    for package in ["example-axum-service", "example-actix-service"] {
        let service = Service::start(&workspace_binary(package, package), &[]);
        let res = request(service.addr, "GET", "/version").expect("answers");
        let doc: Value = serde_json::from_slice(&res.body).expect("JSON");
        assert_valid(&v, package, &doc);
        assert_eq!(
            doc["process"]["started_at"].is_string(),
            cfg!(target_os = "linux"),
            "{doc}"
        );
    }
}

#[test]
fn stamps_that_inspect_reads_validate() {
    let v = validator();
    let repo = TempRepo::new();
    repo.git(&[
        "remote",
        "add",
        "origin",
        "https://deploy:t0ken@git.example.com/acme/svc.git",
    ]);
    let fx = Fixture::write(repo.path(), "schema-svc");
    repo.commit_all("first");
    let build = fx.build(&[]);
    assert!(build.success, "{}", build.stderr);
    let binary = fx.binary("debug");

    let out = Command::new(cli())
        .args(["inspect", "--json"])
        .arg(&binary)
        .output()
        .expect("runs");
    assert_eq!(code(&out), 0, "{}", text(&out));
    let doc: Value = serde_json::from_slice(&out.stdout).expect("JSON");
    for stamp in doc["stamps"].as_array().expect("stamps") {
        assert_valid(&v, "inspect PATH", stamp);
    }

    let mut child = spawn_fresh_binary(
        Command::new(&binary)
            .arg("--again")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped()),
    )
    .expect("runs");
    let mut lines =
        std::io::BufRead::lines(std::io::BufReader::new(child.stdout.take().expect("piped")));
    let printed: Value = serde_json::from_str(&lines.next().expect("a line").expect("text"))
        .expect("the fixture prints its stamp");
    assert_valid(&v, "the process's own to_json()", &printed);
    if cfg!(target_os = "linux") {
        let out = Command::new(cli())
            .args(["inspect", "--json", "--pid", &child.id().to_string()])
            .output()
            .expect("runs");
        assert_eq!(code(&out), 0, "{}", text(&out));
        let doc: Value = serde_json::from_slice(&out.stdout).expect("JSON");
        for stamp in doc["running"].as_array().expect("running") {
            assert_valid(&v, "inspect --pid", stamp);
        }
    }
    let _ = child.kill();
    let _ = child.wait();

    for golden in ["inspect-file.json", "inspect-process.json"] {
        let path = workspace().join("crates/shipstamp-cli/golden").join(golden);
        let doc: Value =
            serde_json::from_str(&std::fs::read_to_string(&path).expect("golden")).expect("JSON");
        let stamps = doc
            .get("stamps")
            .or_else(|| doc.get("running"))
            .and_then(Value::as_array)
            .expect("stamps");
        for stamp in stamps {
            assert_valid(&v, golden, stamp);
        }
    }
}
