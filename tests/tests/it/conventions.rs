//! The stamp in other tools' conventions, through those tools' own code where it runs here:
//! the OpenTelemetry SDK exporting spans, the Sentry client capturing an event, a shell reading
//! the Datadog environment file, and the OCI labels `docker build --label` takes.

use std::process::Command;
use std::sync::{Arc, Mutex};

use opentelemetry::trace::{Tracer, TracerProvider};
use opentelemetry::{Key, Value};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::trace::{SdkTracerProvider, SpanData, SpanExporter};
use shipstamp_tests::{Fixture, TempRepo, git};

use crate::util::{cli, code, stderr, stdout};

/// What an OTLP exporter sends: each span with the provider's resource. The SDK's
/// `InMemorySpanExporter` keeps the resource to itself, so this one keeps both.
#[derive(Debug, Clone, Default)]
struct Capture {
    resource: Arc<Mutex<Option<Resource>>>,
    spans: Arc<Mutex<Vec<SpanData>>>,
}

impl SpanExporter for Capture {
    async fn export(&self, batch: Vec<SpanData>) -> OTelSdkResult {
        self.spans.lock().unwrap().extend(batch);
        Ok(())
    }

    fn set_resource(&mut self, resource: &Resource) {
        *self.resource.lock().unwrap() = Some(resource.clone());
    }
}

/// Spans exported by a tracer provider built with `resources` (in that order), with the
/// resource the exporter was given.
fn export_one_span(resources: Vec<Resource>) -> (Resource, Vec<SpanData>) {
    let capture = Capture::default();
    let mut builder = SdkTracerProvider::builder().with_simple_exporter(capture.clone());
    for resource in resources {
        builder = builder.with_resource(resource);
    }
    let provider = builder.build();
    provider.tracer("orders").in_span("GET /orders", |_cx| {});
    provider.force_flush().expect("flush");
    provider.shutdown().expect("shutdown");
    let resource = capture.resource.lock().unwrap().clone().expect("resource");
    let spans = capture.spans.lock().unwrap().clone();
    (resource, spans)
}

fn attribute(resource: &Resource, key: &'static str) -> Option<String> {
    resource.get(&Key::from_static_str(key)).map(|v| match v {
        Value::String(s) => s.to_string(),
        other => panic!("{key} is not a string: {other:?}"),
    })
}

fn workspace_head() -> String {
    let out = git(std::path::Path::new(env!("CARGO_MANIFEST_DIR")))
        .args(["rev-parse", "HEAD"])
        .output()
        .expect("git runs");
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

#[test]
fn a_tracer_provider_exports_spans_with_the_build_as_its_resource() {
    // This crate's own stamp, made by shipstamp-build from this repository.
    let stamp = shipstamp::stamp!();
    let head = workspace_head();
    assert_eq!(stamp.git.commit.as_deref(), Some(head.as_str()));

    let (resource, spans) = export_one_span(vec![stamp.otel_resource()]);
    assert_eq!(spans.len(), 1);
    assert_eq!(spans[0].name, "GET /orders");
    assert_eq!(
        attribute(&resource, "service.name").as_deref(),
        Some("shipstamp-tests")
    );
    assert_eq!(
        attribute(&resource, "service.version").as_deref(),
        Some("0.0.0")
    );
    assert_eq!(
        attribute(&resource, "vcs.ref.head.revision"),
        Some(head.clone())
    );
    assert_eq!(attribute(&resource, "vcs.ref.head.name"), stamp.git.branch);
    assert_eq!(
        resource.schema_url(),
        Some("https://opentelemetry.io/schemas/1.44.0")
    );
    // The names before semantic conventions 1.29.0 are not used.
    assert_eq!(attribute(&resource, "vcs.repository.ref.revision"), None);
    // The tests crate has no `repository` in Cargo.toml: left out, not made up.
    assert_eq!(attribute(&resource, "vcs.repository.url.full"), None);
    assert_eq!(resource.len(), stamp.otel_attributes().len());

    // Layered over the SDK's own detectors, as the README shows: the SDK's facts stay, the
    // stamp's service name wins over `unknown_service`.
    let (resource, spans) =
        export_one_span(vec![Resource::builder().build(), stamp.otel_resource()]);
    assert_eq!(spans.len(), 1);
    assert_eq!(
        attribute(&resource, "service.name").as_deref(),
        Some("shipstamp-tests")
    );
    assert_eq!(
        attribute(&resource, "telemetry.sdk.language").as_deref(),
        Some("rust")
    );
    assert_eq!(attribute(&resource, "vcs.ref.head.revision"), Some(head));
}

#[test]
fn sentry_events_carry_the_release_name() {
    let stamp = shipstamp::stamp!();
    let release = stamp.release_name();
    let short = &stamp.git.commit.as_deref().expect("a commit")[..7];
    let expected = match stamp.git.dirty {
        Some(true) => format!("shipstamp-tests@0.0.0+{short}.dirty"),
        _ => format!("shipstamp-tests@0.0.0+{short}"),
    };
    assert_eq!(release, expected);

    // The README's one-liner, with Sentry's test transport instead of a DSN.
    let events = sentry::test::with_captured_events_options(
        || {
            sentry::capture_message("checkout failed", sentry::Level::Error);
        },
        sentry::ClientOptions {
            release: Some(stamp.release_name().into()),
            ..Default::default()
        },
    );
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].release.as_deref(), Some(expected.as_str()));
}

/// A stamped service whose `Cargo.toml` names its repository, built in a real repository.
fn build_service_with_repository(name: &str) -> (TempRepo, Fixture, String) {
    let repo = TempRepo::new();
    let fx = Fixture::write(repo.path(), name);
    let manifest_path = fx.dir().join("Cargo.toml");
    let manifest = std::fs::read_to_string(&manifest_path).unwrap().replacen(
        "edition = \"2024\"\n",
        "edition = \"2024\"\nrepository = \"https://github.com/acme/orders.git\"\n",
        1,
    );
    std::fs::write(&manifest_path, manifest).unwrap();
    let head = repo.commit_all("first");
    let build = fx.build(&[]);
    assert!(build.success, "{}", build.stderr);
    (repo, fx, head)
}

#[test]
fn inspect_prints_oci_labels_and_the_datadog_environment_of_a_binary() {
    let (_repo, fx, head) = build_service_with_repository("labelled-svc");
    let bin = fx.binary("debug");
    let stamp = fx.run();

    let out = Command::new(cli())
        .args(["inspect", "--oci-labels"])
        .arg(&bin)
        .output()
        .unwrap();
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let created = stamp.build.time.expect("a build time").to_string();
    assert_eq!(
        stdout(&out),
        format!(
            "org.opencontainers.image.revision={head}\n\
             org.opencontainers.image.version=0.4.2\n\
             org.opencontainers.image.created={created}\n\
             org.opencontainers.image.source=https://github.com/acme/orders.git\n"
        )
    );
    // The README's `docker build $(… | sed 's/^/--label /')`: one word per label.
    let words = Command::new("sh")
        .arg("-c")
        .arg(format!(
            "set -- $(\"$0\" inspect --oci-labels {} | sed 's/^/--label /'); echo $#",
            bin.display()
        ))
        .arg(cli())
        .output()
        .unwrap();
    assert_eq!(stdout(&words).trim(), "8");

    let out = Command::new(cli())
        .args(["inspect", "--dd-env"])
        .arg(&bin)
        .output()
        .unwrap();
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(
        stdout(&out),
        format!(
            "DD_VERSION=0.4.2\nDD_GIT_COMMIT_SHA={head}\n\
             DD_GIT_REPOSITORY_URL=https://github.com/acme/orders.git\n"
        )
    );
    // As an environment file, read the way systemd and `docker run --env-file` do:
    // what the tracer in the started process sees.
    let env_file = fx.dir().join("dd.env");
    std::fs::write(&env_file, &out.stdout).unwrap();
    let seen = Command::new("sh")
        .arg("-c")
        .arg("set -a; . \"$0\"; exec printenv DD_VERSION DD_GIT_COMMIT_SHA DD_GIT_REPOSITORY_URL")
        .arg(&env_file)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap())
        .output()
        .unwrap();
    assert_eq!(
        stdout(&seen),
        format!("0.4.2\n{head}\nhttps://github.com/acme/orders.git\n")
    );

    // The library gives the same pairs.
    let lines: Vec<String> = stamp
        .oci_labels()
        .into_iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    assert_eq!(lines.len(), 4);
    assert_eq!(stamp.datadog_env()[1], ("DD_GIT_COMMIT_SHA", head.clone()));
}

#[test]
fn oci_labels_bad_input_exits_2_or_64() {
    let dir = tempfile::tempdir().unwrap();
    let not_a_binary = dir.path().join("notes.txt");
    std::fs::write(&not_a_binary, "hello").unwrap();
    let out = Command::new(cli())
        .args(["inspect", "--oci-labels"])
        .arg(&not_a_binary)
        .output()
        .unwrap();
    assert_eq!(code(&out), 2, "{}", stderr(&out));
    assert!(stdout(&out).is_empty());
    assert!(stderr(&out).contains("notes.txt"), "{}", stderr(&out));

    for args in [
        &["inspect", "--oci-labels", "--json", "x"][..],
        &["inspect", "--oci-labels", "--pid", "1"][..],
        &["inspect", "--oci-labels", "--dd-env", "x"][..],
    ] {
        let out = Command::new(cli()).args(args).output().unwrap();
        assert_eq!(code(&out), 64, "{args:?}: {}", stderr(&out));
    }
}
