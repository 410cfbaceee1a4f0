//! The facts a build stamps, and their `shipstamp/v1` JSON form.

use shipstamp_format::Document;

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
    /// The repository-relative paths a package-scoped build watched and judged dirty within.
    pub(crate) paths: Option<Vec<String>>,
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
    /// in one `cargo:rustc-env` line), through the writer every stamp shares.
    pub(crate) fn to_json(&self) -> String {
        let git = &self.git;
        let paths: Option<Vec<&str>> = git
            .paths
            .as_ref()
            .map(|p| p.iter().map(String::as_str).collect());
        Document {
            package_repository: self.package_repository.as_deref(),
            git_commit: git.commit.as_deref(),
            git_short: git.short.as_deref(),
            git_dirty: git.dirty,
            git_branch: git.branch.as_deref(),
            git_describe: git.describe.as_deref(),
            git_commit_time: git.commit_time,
            git_source: git.source.map(Source::as_str),
            git_paths: paths.as_deref(),
            build_time: Some(self.build_time),
            build_profile: self.profile.as_deref(),
            build_target: self.target.as_deref(),
            build_rustc: self.rustc.as_deref(),
            ..Document::new(&self.package_name, &self.package_version)
        }
        .to_json()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_fact_in_its_field() {
        let facts = Facts {
            package_name: "orders-api".into(),
            package_version: "1.4.2".into(),
            package_repository: Some("https://ci:t0ken@github.com/acme/orders?x".into()),
            git: GitFacts {
                commit: Some("3f9c2e1aa0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5".into()),
                short: Some("3f9c2e1".into()),
                dirty: Some(true),
                branch: Some("main".into()),
                describe: Some("v1.4.2-3-g3f9c2e1".into()),
                commit_time: Some(1_795_341_491),
                source: Some(Source::CargoVcsInfo),
                paths: Some(vec!["Cargo.lock".into(), "services/orders".into()]),
            },
            build_time: 1_795_341_600,
            profile: Some("release".into()),
            target: Some("x86_64-unknown-linux-gnu".into()),
            rustc: Some("1.95.0".into()),
        };
        assert_eq!(
            facts.to_json(),
            r#"{"schema":"shipstamp/v1","package":{"name":"orders-api","version":"1.4.2","repository":"https://github.com/acme/orders"},"git":{"commit":"3f9c2e1aa0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5","short":"3f9c2e1","dirty":true,"branch":"main","describe":"v1.4.2-3-g3f9c2e1","commit_time":"2026-11-22T09:58:11Z","source":"cargo-vcs-info","paths":["Cargo.lock","services/orders"]},"build":{"time":"2026-11-22T10:00:00Z","profile":"release","target":"x86_64-unknown-linux-gnu","rustc":"1.95.0"}}"#
        );
    }
}
