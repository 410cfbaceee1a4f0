//! The example services, run as real processes the way a user runs them.

use shipstamp_tests::{Service, request, workspace_binary};

/// `profile`: as the startup line writes it (vergen does not record the profile).
fn check_example(package: &str, profile: &str) {
    let mut service = Service::start(&workspace_binary(package, package), &[]);
    let startup = service
        .startup
        .iter()
        .find(|l| l.starts_with("shipstamp: "))
        .unwrap_or_else(|| panic!("no startup line in {:?}", service.startup));
    assert!(
        startup.starts_with(&format!("shipstamp: {package} 1.0.0 commit=")),
        "{startup}"
    );
    for key in [" dirty=", " branch=", " built=", " started=", " rustc="] {
        assert!(startup.contains(key), "{key} in {startup}");
    }
    assert!(
        startup.contains(&format!(" profile={profile}")),
        "{startup}"
    );

    let hello = request(service.addr, "GET", "/").unwrap();
    assert_eq!(hello.status, 200);
    assert_eq!(hello.text(), format!("hello from {package}\n"));

    let res = request(service.addr, "GET", "/version").unwrap();
    assert_eq!(res.status, 200);
    let stamp = shipstamp::Stamp::from_slice(&res.body).unwrap();
    assert_eq!(stamp.package.name, package);
    let short = stamp.git.short.clone().unwrap_or_else(|| "unknown".into());
    assert!(
        startup.contains(&format!("commit={short} ")),
        "the log line and /version agree"
    );
    assert_eq!(hello.header("x-build-commit"), Some(short.as_str()));
    let started = stamp.process().unwrap().started_at.unwrap().to_string();
    assert!(
        startup.contains(&format!("started={started}")),
        "{startup} vs {started}"
    );

    let metrics = request(service.addr, "GET", "/metrics").unwrap();
    let prefix = package.replace('-', "_");
    assert!(
        metrics
            .text()
            .contains(&format!("{prefix}_build_info{{package=\"{package}\"")),
        "{}",
        metrics.text()
    );

    // In a container the service is PID 1, where an unhandled SIGTERM is ignored: `docker
    // stop` and Kubernetes would wait out their grace period, then kill it.
    let status = service.terminate(std::time::Duration::from_secs(10));
    assert!(
        status.is_some_and(|s| s.success()),
        "{package} stops cleanly on SIGTERM: {status:?}"
    );
}

#[test]
fn axum_example_service() {
    check_example("example-axum-service", "debug");
}

#[test]
fn actix_example_service() {
    check_example("example-actix-service", "debug");
}

#[test]
fn vergen_example_service() {
    check_example("example-vergen-service", "unknown");
}
