//! Git facts that come from outside the repository: the explicit override, `.cargo_vcs_info.json`,
//! and CI variables. Every value is validated before it is stamped.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::path::Path;

use crate::facts::{GitFacts, Source};

/// Environment access that remembers which user-settable variables were read, so exactly those
/// are emitted as `rerun-if-env-changed`.
#[derive(Debug)]
pub(crate) struct BuildEnv {
    /// `None`: the process environment. `Some`: a fixed map (unit tests).
    fixed: Option<BTreeMap<String, String>>,
    read: RefCell<Vec<String>>,
}

impl BuildEnv {
    pub(crate) fn process() -> Self {
        BuildEnv {
            fixed: None,
            read: RefCell::default(),
        }
    }

    #[cfg(test)]
    pub(crate) fn fixed(vars: &[(&str, &str)]) -> Self {
        BuildEnv {
            fixed: Some(
                vars.iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect(),
            ),
            read: RefCell::default(),
        }
    }

    /// A variable cargo sets for build scripts; cargo already reruns when these change.
    pub(crate) fn cargo(&self, name: &str) -> Option<String> {
        match &self.fixed {
            Some(map) => map.get(name).cloned(),
            None => std::env::var(name).ok(),
        }
    }

    /// A variable the user or CI sets; recorded for `rerun-if-env-changed`.
    pub(crate) fn user(&self, name: &str) -> Option<String> {
        {
            let mut read = self.read.borrow_mut();
            if !read.iter().any(|n| n == name) {
                read.push(name.to_owned());
            }
        }
        self.cargo(name).filter(|v| !v.trim().is_empty())
    }

    pub(crate) fn read_names(&self) -> Vec<String> {
        self.read.borrow().clone()
    }
}

/// `SHIPSTAMP_GIT_COMMIT` (and `_DIRTY`, `_BRANCH`): the explicit override, first in line.
pub(crate) const OVERRIDE_COMMIT: &str = "SHIPSTAMP_GIT_COMMIT";
pub(crate) const OVERRIDE_DIRTY: &str = "SHIPSTAMP_GIT_DIRTY";
pub(crate) const OVERRIDE_BRANCH: &str = "SHIPSTAMP_GIT_BRANCH";

/// Commit variables of common CI systems, with the branch variable of the same system.
pub(crate) const CI_VARIABLES: &[(&str, Option<&str>)] = &[
    ("GITHUB_SHA", Some("GITHUB_REF_NAME")),
    ("CI_COMMIT_SHA", Some("CI_COMMIT_REF_NAME")),
    ("BUILDKITE_COMMIT", Some("BUILDKITE_BRANCH")),
    ("CIRCLE_SHA1", Some("CIRCLE_BRANCH")),
    ("TRAVIS_COMMIT", Some("TRAVIS_BRANCH")),
    ("BITBUCKET_COMMIT", Some("BITBUCKET_BRANCH")),
    ("DRONE_COMMIT_SHA", Some("DRONE_BRANCH")),
    ("BUILD_SOURCEVERSION", Some("BUILD_SOURCEBRANCHNAME")),
    ("SEMAPHORE_GIT_SHA", Some("SEMAPHORE_GIT_BRANCH")),
    ("CODEBUILD_RESOLVED_SOURCE_VERSION", None),
    ("SOURCE_VERSION", None),
    ("GIT_COMMIT", Some("GIT_BRANCH")),
];

/// A full commit id: 40 hex digits (SHA-1) or 64 (SHA-256), returned lowercase.
pub(crate) fn valid_commit(s: &str) -> Option<String> {
    let s = s.trim();
    ((s.len() == 40 || s.len() == 64) && s.bytes().all(|b| b.is_ascii_hexdigit()))
        .then(|| s.to_ascii_lowercase())
}

fn parse_bool(s: &str) -> Option<bool> {
    match s.trim().to_ascii_lowercase().as_str() {
        "1" | "true" | "yes" => Some(true),
        "0" | "false" | "no" => Some(false),
        _ => None,
    }
}

/// A value that was set but could not be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Rejected {
    pub(crate) name: String,
    pub(crate) why: &'static str,
}

fn from_commit(commit: String, source: Source) -> GitFacts {
    GitFacts {
        short: Some(commit[..7].to_owned()),
        commit: Some(commit),
        source: Some(source),
        ..GitFacts::default()
    }
}

pub(crate) fn override_facts(env: &BuildEnv, rejected: &mut Vec<Rejected>) -> Option<GitFacts> {
    let raw = env.user(OVERRIDE_COMMIT)?;
    let Some(commit) = valid_commit(&raw) else {
        rejected.push(Rejected {
            name: OVERRIDE_COMMIT.into(),
            why: "not a full commit id (40 or 64 hex digits)",
        });
        return None;
    };
    let mut facts = from_commit(commit, Source::Env);
    if let Some(d) = env.user(OVERRIDE_DIRTY) {
        facts.dirty = parse_bool(&d);
        if facts.dirty.is_none() {
            rejected.push(Rejected {
                name: OVERRIDE_DIRTY.into(),
                why: "not true/false/1/0",
            });
        }
    }
    facts.branch = env.user(OVERRIDE_BRANCH);
    Some(facts)
}

pub(crate) fn ci_facts(
    env: &BuildEnv,
    extra: &[String],
    rejected: &mut Vec<Rejected>,
) -> Option<GitFacts> {
    let extra = extra.iter().map(|n| (n.as_str(), None));
    for (commit_var, branch_var) in extra.chain(CI_VARIABLES.iter().copied()) {
        let Some(raw) = env.user(commit_var) else {
            continue;
        };
        let Some(commit) = valid_commit(&raw) else {
            rejected.push(Rejected {
                name: commit_var.into(),
                why: "not a full commit id (40 or 64 hex digits)",
            });
            continue;
        };
        let mut facts = from_commit(commit, Source::Env);
        facts.branch = branch_var.and_then(|b| env.user(b));
        return Some(facts);
    }
    None
}

/// `.cargo_vcs_info.json`, which `cargo package` writes into the package it publishes:
/// `{"git": {"sha1": "…", "dirty": true}, "path_in_vcs": "…"}` (`dirty` only when dirty).
pub(crate) fn cargo_vcs_info(
    manifest_dir: &Path,
    rejected: &mut Vec<Rejected>,
) -> Option<GitFacts> {
    let text = std::fs::read_to_string(manifest_dir.join(".cargo_vcs_info.json")).ok()?;
    let sha = json_string_after(&text, "\"sha1\"").and_then(valid_commit);
    let Some(commit) = sha else {
        rejected.push(Rejected {
            name: ".cargo_vcs_info.json".into(),
            why: "has no valid git.sha1",
        });
        return None;
    };
    let mut facts = from_commit(commit, Source::CargoVcsInfo);
    facts.dirty = Some(json_true_after(&text, "\"dirty\""));
    Some(facts)
}

/// The string value following `key` in cargo's small, fixed-shape JSON file.
fn json_string_after<'t>(text: &'t str, key: &str) -> Option<&'t str> {
    let rest = &text[text.find(key)? + key.len()..];
    let rest = rest
        .trim_start()
        .strip_prefix(':')?
        .trim_start()
        .strip_prefix('"')?;
    Some(&rest[..rest.find('"')?])
}

fn json_true_after(text: &str, key: &str) -> bool {
    text.find(key).is_some_and(|i| {
        let rest = text[i + key.len()..].trim_start();
        rest.strip_prefix(':')
            .is_some_and(|r| r.trim_start().starts_with("true"))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const SHA: &str = "3f9c2e1aa0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5";

    #[test]
    fn commit_validation() {
        assert_eq!(valid_commit(SHA).as_deref(), Some(SHA));
        assert_eq!(
            valid_commit(&SHA.to_uppercase()).as_deref(),
            Some(SHA),
            "normalised to lowercase"
        );
        assert!(valid_commit(&"ab".repeat(32)).is_some(), "sha-256");
        assert!(
            valid_commit("3f9c2e1").is_none(),
            "short ids are not commits"
        );
        assert!(valid_commit(&format!("{}x", &SHA[..39])).is_none());
        assert!(valid_commit("").is_none());
    }

    #[test]
    fn override_wins_and_is_validated() {
        let env = BuildEnv::fixed(&[
            (OVERRIDE_COMMIT, SHA),
            (OVERRIDE_DIRTY, "true"),
            (OVERRIDE_BRANCH, "release"),
        ]);
        let mut rejected = vec![];
        let f = override_facts(&env, &mut rejected).unwrap();
        assert_eq!(f.commit.as_deref(), Some(SHA));
        assert_eq!(f.short.as_deref(), Some("3f9c2e1"));
        assert_eq!(f.dirty, Some(true));
        assert_eq!(f.branch.as_deref(), Some("release"));
        assert_eq!(f.source, Some(Source::Env));
        assert!(rejected.is_empty());

        let env = BuildEnv::fixed(&[(OVERRIDE_COMMIT, "main")]);
        assert!(override_facts(&env, &mut rejected).is_none());
        assert_eq!(rejected[0].name, OVERRIDE_COMMIT);
    }

    #[test]
    fn ci_variables_in_order_skipping_invalid() {
        let other = "b".repeat(40);
        let env = BuildEnv::fixed(&[
            ("GITHUB_SHA", "not-a-sha"),
            ("CI_COMMIT_SHA", &other),
            ("CI_COMMIT_REF_NAME", "feature/x"),
            ("GITHUB_REF_NAME", "ignored"),
        ]);
        let mut rejected = vec![];
        let f = ci_facts(&env, &[], &mut rejected).unwrap();
        assert_eq!(f.commit.as_deref(), Some(other.as_str()));
        assert_eq!(f.branch.as_deref(), Some("feature/x"));
        assert_eq!(
            f.dirty, None,
            "CI variables do not say whether the tree was dirty"
        );
        assert_eq!(rejected[0].name, "GITHUB_SHA");
        assert!(env.read_names().contains(&"CI_COMMIT_SHA".to_string()));
    }

    #[test]
    fn extra_variable_is_consulted_first() {
        let env = BuildEnv::fixed(&[("MY_SHA", SHA), ("GITHUB_SHA", &"c".repeat(40))]);
        let f = ci_facts(&env, &["MY_SHA".into()], &mut vec![]).unwrap();
        assert_eq!(f.commit.as_deref(), Some(SHA));
    }

    #[test]
    fn vcs_info_parsing() {
        let dir = std::env::temp_dir().join(format!("shipstamp-vcs-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join(".cargo_vcs_info.json");
        std::fs::write(&file, format!("{{\n  \"git\": {{\n    \"sha1\": \"{SHA}\",\n    \"dirty\": true\n  }},\n  \"path_in_vcs\": \"\"\n}}")).unwrap();
        let f = cargo_vcs_info(&dir, &mut vec![]).unwrap();
        assert_eq!((f.commit.as_deref(), f.dirty), (Some(SHA), Some(true)));
        assert_eq!(f.source, Some(Source::CargoVcsInfo));
        std::fs::write(
            &file,
            format!("{{\"git\":{{\"sha1\":\"{SHA}\"}},\"path_in_vcs\":\"x\"}}"),
        )
        .unwrap();
        assert_eq!(
            cargo_vcs_info(&dir, &mut vec![]).unwrap().dirty,
            Some(false)
        );
        std::fs::write(&file, "{\"git\":{\"sha1\":\"zz\"}}").unwrap();
        let mut rejected = vec![];
        assert!(cargo_vcs_info(&dir, &mut rejected).is_none());
        assert_eq!(rejected.len(), 1);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
