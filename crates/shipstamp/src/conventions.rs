//! The stamp in the conventions other tools already use: OpenTelemetry resource attributes,
//! release names (Sentry and the like), Datadog's unified service tags.

use crate::Stamp;

/// The OpenTelemetry semantic conventions [`Stamp::otel_attributes`] follows: the `vcs.*`
/// names are those of 1.29.0 and later (`vcs.repository.ref.revision` became
/// `vcs.ref.head.revision`), unchanged through 1.44.0.
pub const OTEL_SCHEMA_URL: &str = "https://opentelemetry.io/schemas/1.44.0";

impl Stamp {
    /// OpenTelemetry resource attributes for this build, each only when known:
    /// `service.name` (the package), `service.version`, `vcs.ref.head.revision` (the full
    /// commit), `vcs.ref.head.name` (the branch) and `vcs.repository.url.full` (the
    /// `repository` of `Cargo.toml`, without `.git`), as the semantic conventions of
    /// [`OTEL_SCHEMA_URL`] name them. Without the SDK; with the `opentelemetry` feature,
    /// [`Stamp::otel_resource`] builds the SDK's `Resource`.
    ///
    /// ```
    /// let stamp = shipstamp::Stamp::from_json(r#"{"schema":"shipstamp/v1",
    ///     "package":{"name":"orders-api","version":"1.4.2","repository":"https://github.com/acme/orders.git"},
    ///     "git":{"commit":"3f9c2e1aa0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5","branch":"main"}}"#)?;
    /// assert_eq!(stamp.otel_attributes(), [
    ///     ("service.name", "orders-api".to_owned()),
    ///     ("service.version", "1.4.2".to_owned()),
    ///     ("vcs.ref.head.revision", "3f9c2e1aa0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5".to_owned()),
    ///     ("vcs.ref.head.name", "main".to_owned()),
    ///     ("vcs.repository.url.full", "https://github.com/acme/orders".to_owned()),
    /// ]);
    /// # Ok::<(), shipstamp::Error>(())
    /// ```
    pub fn otel_attributes(&self) -> Vec<(&'static str, String)> {
        let mut attributes = vec![
            ("service.name", self.package.name.clone()),
            ("service.version", self.package.version.clone()),
        ];
        if let Some(commit) = &self.git.commit {
            attributes.push(("vcs.ref.head.revision", commit.clone()));
        }
        if let Some(branch) = &self.git.branch {
            attributes.push(("vcs.ref.head.name", branch.clone()));
        }
        if let Some(url) = &self.package.repository {
            // "In Git Version Control Systems, the canonical URL SHOULD NOT include the .git
            // extension."
            let url = url.strip_suffix(".git").unwrap_or(url);
            attributes.push(("vcs.repository.url.full", url.to_owned()));
        }
        attributes
    }

    /// An OpenTelemetry SDK `Resource` of [`Stamp::otel_attributes`], with the semantic
    /// conventions' schema URL: give it to a tracer, meter or logger provider, alone or
    /// merged with the resources your detectors find.
    ///
    /// ```
    /// let resource = shipstamp::stamp!().otel_resource();
    /// let provider = opentelemetry_sdk::trace::SdkTracerProvider::builder()
    ///     .with_resource(resource)
    ///     .build();
    /// # drop(provider);
    /// ```
    #[cfg(feature = "opentelemetry")]
    pub fn otel_resource(&self) -> opentelemetry_sdk::Resource {
        let attributes = self
            .otel_attributes()
            .into_iter()
            .map(|(key, value)| opentelemetry::KeyValue::new(key, value));
        opentelemetry_sdk::Resource::builder_empty()
            .with_schema_url(attributes, OTEL_SCHEMA_URL)
            .build()
    }

    /// `name@version+short`, with `.dirty` for a build made from uncommitted changes:
    /// `orders-api@1.4.2+3f9c2e1`. For Sentry's `release` and tools like it, which want one
    /// string per build. Without a known commit, `name@version`.
    ///
    /// ```
    /// let stamp = shipstamp::Stamp::from_json(r#"{"schema":"shipstamp/v1",
    ///     "package":{"name":"orders-api","version":"1.4.2"},
    ///     "git":{"commit":"3f9c2e1aa0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5","short":"3f9c2e1","dirty":true}}"#)?;
    /// assert_eq!(stamp.release_name(), "orders-api@1.4.2+3f9c2e1.dirty");
    /// # Ok::<(), shipstamp::Error>(())
    /// ```
    pub fn release_name(&self) -> String {
        let mut release = format!("{}@{}", self.package.name, self.package.version);
        let short = self
            .git
            .short
            .clone()
            .or_else(|| self.git.commit.as_ref().map(|c| c[..7].to_owned()));
        if let Some(short) = short {
            release.push('+');
            release.push_str(&short);
            if self.git.dirty == Some(true) {
                release.push_str(".dirty");
            }
        }
        release
    }

    /// Datadog's unified service tags for this build, each only when known: `DD_VERSION`
    /// (the package version), `DD_GIT_COMMIT_SHA` and `DD_GIT_REPOSITORY_URL`. The tracer
    /// reads them from the environment when it starts: set them for the process that runs the
    /// service (`Command::envs`, a systemd `EnvironmentFile`, `docker run --env-file`; `shipstamp
    /// inspect --dd-env` prints them from the binary).
    pub fn datadog_env(&self) -> Vec<(&'static str, String)> {
        let mut env = vec![("DD_VERSION", self.package.version.clone())];
        if let Some(commit) = &self.git.commit {
            env.push(("DD_GIT_COMMIT_SHA", commit.clone()));
        }
        if let Some(url) = &self.package.repository {
            env.push(("DD_GIT_REPOSITORY_URL", url.clone()));
        }
        env
    }

    /// OCI image annotation labels for this build, each only when known:
    /// `org.opencontainers.image.revision`, `.version`, `.created` and `.source`. Give them to
    /// `docker build --label` or `buildah config --label` (`shipstamp inspect --oci-labels`
    /// prints them from the binary).
    pub fn oci_labels(&self) -> Vec<(&'static str, String)> {
        let mut labels = Vec::new();
        if let Some(commit) = &self.git.commit {
            labels.push(("org.opencontainers.image.revision", commit.clone()));
        }
        labels.push((
            "org.opencontainers.image.version",
            self.package.version.clone(),
        ));
        if let Some(time) = self.build.time {
            labels.push(("org.opencontainers.image.created", time.to_string()));
        }
        if let Some(url) = &self.package.repository {
            labels.push(("org.opencontainers.image.source", url.clone()));
        }
        labels
    }
}

#[cfg(test)]
mod tests {
    use crate::Stamp;

    fn stamp(git: &str, repository: &str) -> Stamp {
        Stamp::from_json(&format!(
            r#"{{"schema":"shipstamp/v1","package":{{"name":"orders-api","version":"1.4.2","repository":{repository}}},"git":{git},"build":{{"time":"2026-11-22T10:00:00Z"}}}}"#
        ))
        .unwrap()
    }

    #[test]
    fn unknown_values_are_left_out() {
        let unknown = stamp("{}", "null");
        assert_eq!(
            unknown.otel_attributes(),
            [
                ("service.name", "orders-api".to_owned()),
                ("service.version", "1.4.2".to_owned())
            ]
        );
        assert_eq!(unknown.release_name(), "orders-api@1.4.2");
        assert_eq!(unknown.datadog_env(), [("DD_VERSION", "1.4.2".to_owned())]);
        assert_eq!(
            unknown.oci_labels(),
            [
                ("org.opencontainers.image.version", "1.4.2".to_owned()),
                (
                    "org.opencontainers.image.created",
                    "2026-11-22T10:00:00Z".to_owned()
                )
            ]
        );
    }

    #[test]
    fn release_names() {
        let commit = "3f9c2e1aa0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5";
        let clean = stamp(&format!(r#"{{"commit":"{commit}","dirty":false}}"#), "null");
        assert_eq!(clean.release_name(), "orders-api@1.4.2+3f9c2e1");
        let dirty = stamp(&format!(r#"{{"commit":"{commit}","dirty":true}}"#), "null");
        assert_eq!(dirty.release_name(), "orders-api@1.4.2+3f9c2e1.dirty");
        let full = stamp(
            &format!(r#"{{"commit":"{commit}"}}"#),
            r#""https://github.com/acme/orders""#,
        );
        assert_eq!(full.oci_labels().len(), 4);
        assert_eq!(full.datadog_env().len(), 3);
    }
}
