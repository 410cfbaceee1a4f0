//! A package's scope in its repository: what it is built from, found in the manifests without
//! running cargo (a build script must stay cheap): the package's directory, the workspace's
//! `Cargo.toml` and `Cargo.lock`, cargo's configuration and toolchain files, the directories
//! of its path dependencies (followed through their manifests, through `workspace = true` and
//! `[patch]`), and what the build script lists. Where a manifest is unclear, more is taken in,
//! never less: a wider scope can only make a build dirty or behind that was not, never clean.

use std::collections::{BTreeSet, VecDeque};
use std::path::{Component, Path, PathBuf};

/// The scope of the package in `manifest_dir`, as absolute paths that exist (directories and
/// files), each once, none inside another; `also` are more paths, relative to the package.
pub(crate) fn package_scope(top: &Path, manifest_dir: &Path, also: &[PathBuf]) -> Vec<PathBuf> {
    let mut scope: BTreeSet<PathBuf> = BTreeSet::new();
    scope.insert(manifest_dir.to_path_buf());
    let root = workspace_root(top, manifest_dir);
    let root_manifest = root
        .as_deref()
        .map(|r| read_manifest(&r.join("Cargo.toml")));
    if let Some(root) = &root {
        scope.insert(root.join("Cargo.toml"));
        scope.insert(root.join("Cargo.lock"));
    }
    // Cargo reads its configuration from every directory up from where it runs; the
    // toolchain file from the workspace's directory up.
    for dir in manifest_dir.ancestors().take_while(|d| d.starts_with(top)) {
        for file in [
            ".cargo/config.toml",
            ".cargo/config",
            "rust-toolchain.toml",
            "rust-toolchain",
        ] {
            scope.insert(dir.join(file));
        }
    }
    if let Some(root_manifest) = &root_manifest {
        // [patch] and [replace] apply to the whole graph: every one of their paths counts.
        for path in &root_manifest.patches {
            scope.insert(normalize(&root_manifest.dir.join(path)));
        }
    }
    // Path dependencies, through their own manifests.
    let mut queue: VecDeque<PathBuf> = VecDeque::from([manifest_dir.to_path_buf()]);
    let mut seen: BTreeSet<PathBuf> = BTreeSet::new();
    while let Some(dir) = queue.pop_front() {
        if !seen.insert(dir.clone()) || seen.len() > 1_000 {
            continue;
        }
        let manifest = read_manifest(&dir.join("Cargo.toml"));
        let mut deps: Vec<PathBuf> = manifest.paths.iter().map(|p| dir.join(p)).collect();
        if let Some(root_manifest) = &root_manifest {
            for name in &manifest.inherited {
                if let Some((_, path)) =
                    root_manifest.workspace_deps.iter().find(|(n, _)| n == name)
                {
                    deps.push(root_manifest.dir.join(path));
                }
            }
        }
        for dep in deps {
            let dep = normalize(&dep);
            // A path to a manifest file names its directory.
            let dep = if dep.file_name().is_some_and(|n| n == "Cargo.toml") {
                dep.parent().map(Path::to_path_buf).unwrap_or(dep)
            } else {
                dep
            };
            if dep.is_dir() {
                scope.insert(dep.clone());
                queue.push_back(dep);
            } else if dep.exists() {
                scope.insert(dep);
            }
        }
    }
    for path in also {
        scope.insert(normalize(&manifest_dir.join(path)));
    }
    let mut kept: Vec<PathBuf> = Vec::new();
    for path in scope {
        if !path.exists() || kept.iter().any(|k| path.starts_with(k)) {
            continue;
        }
        kept.retain(|k| !k.starts_with(&path));
        kept.push(path);
    }
    kept
}

/// The directory of the workspace `manifest_dir`'s package belongs to: the one its manifest
/// names (`package.workspace`), else the nearest directory up, within the repository, whose
/// manifest has `[workspace]`; `None` when the package is its own workspace.
fn workspace_root(top: &Path, manifest_dir: &Path) -> Option<PathBuf> {
    let own = read_manifest(&manifest_dir.join("Cargo.toml"));
    if let Some(named) = &own.workspace_path {
        return Some(normalize(&manifest_dir.join(named)));
    }
    if own.is_workspace {
        return Some(manifest_dir.to_path_buf());
    }
    manifest_dir
        .ancestors()
        .skip(1)
        .take_while(|d| d.starts_with(top))
        .find(|d| read_manifest(&d.join("Cargo.toml")).is_workspace)
        .map(Path::to_path_buf)
}

/// What a manifest says about where the package's sources come from.
#[derive(Debug, Default, PartialEq, Eq)]
struct Manifest {
    dir: PathBuf,
    /// `[workspace]` is there.
    is_workspace: bool,
    /// `package.workspace`.
    workspace_path: Option<String>,
    /// `path` of dependencies and build dependencies (not dev dependencies: they are not in
    /// the binary), of `[lib]`, `[[bin]]` and `package.build`.
    paths: Vec<String>,
    /// Dependencies taken from the workspace (`name = { workspace = true }`).
    inherited: Vec<String>,
    /// `[workspace.dependencies]`: name and path.
    workspace_deps: Vec<(String, String)>,
    /// `path` in `[patch.*]` and `[replace]`.
    patches: Vec<String>,
}

fn read_manifest(path: &Path) -> Manifest {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let mut manifest = scan_manifest(&text);
    manifest.dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
    manifest
}

/// Where a table header puts the keys below it.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Table {
    Package,
    /// `[lib]`, `[[bin]]`: a `path` is a source file.
    Target,
    Workspace,
    /// `[dependencies]` (and build-, target-specific): each key is a dependency.
    Dependencies,
    /// `[dependencies.NAME]`: the keys are the dependency's.
    Dependency(String),
    /// `[workspace.dependencies]`.
    WorkspaceDependencies,
    /// `[workspace.dependencies.NAME]`.
    WorkspaceDependency(String),
    /// `[patch.SOURCE]`, `[replace]`: each key is a crate.
    Patches,
    /// `[patch.SOURCE.NAME]`.
    Patch,
    Other,
}

/// Reads the parts of a manifest that [`Manifest`] holds, line by line: TOML as manifests
/// write it (one-line inline tables, dotted keys, both kinds of strings), without a parser.
fn scan_manifest(text: &str) -> Manifest {
    let mut m = Manifest::default();
    let mut table = Table::Other;
    let mut in_multiline: Option<&str> = None;
    for raw in text.lines() {
        if let Some(close) = in_multiline {
            if raw.contains(close) {
                in_multiline = None;
            }
            continue;
        }
        let line = strip_comment(raw);
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        if line.starts_with('[') {
            let header = line.trim_start_matches('[').trim_end_matches(']').trim();
            let header = split_key(header);
            m.is_workspace |= header.first().is_some_and(|h| h == "workspace");
            table = classify(&header);
            continue;
        }
        let Some((key, value)) = line.split_once('=') else {
            continue;
        };
        let key = split_key(key.trim());
        let value = value.trim();
        for close in ["\"\"\"", "'''"] {
            if value.starts_with(close) && !value[3..].contains(close) {
                in_multiline = Some(close);
            }
        }
        let keys: Vec<&str> = key.iter().map(String::as_str).collect();
        match (&table, keys.as_slice()) {
            (Table::Package, ["workspace"]) => m.workspace_path = string_value(value),
            (Table::Package, ["build"]) | (Table::Target, ["path"]) => {
                m.paths.extend(string_value(value));
            }
            (Table::Workspace, ["dependencies", name, rest @ ..])
            | (Table::WorkspaceDependencies, [name, rest @ ..]) => {
                if let Some(path) = dependency_path(rest, value) {
                    m.workspace_deps.push(((*name).to_owned(), path));
                }
            }
            (Table::WorkspaceDependency(name), rest) => {
                if let Some(path) = dependency_path(rest, value) {
                    m.workspace_deps.push((name.clone(), path));
                }
            }
            (Table::Dependencies, [name, rest @ ..]) => {
                m.paths.extend(dependency_path(rest, value));
                if inherits(rest, value) {
                    m.inherited.push((*name).to_owned());
                }
            }
            (Table::Dependency(name), rest) => {
                m.paths.extend(dependency_path(rest, value));
                if inherits(rest, value) {
                    m.inherited.push(name.clone());
                }
            }
            (Table::Patches, [_, rest @ ..]) | (Table::Patch, rest) => {
                m.patches.extend(dependency_path(rest, value));
            }
            _ => {}
        }
    }
    m
}

fn classify(header: &[String]) -> Table {
    let h: Vec<&str> = header.iter().map(String::as_str).collect();
    // `[target.'cfg(unix)'.dependencies]` is `[dependencies]` for this purpose.
    let h: &[&str] = match h.as_slice() {
        ["target", _, rest @ ..] => rest,
        all => all,
    };
    let is_deps = |t: &str| t == "dependencies" || t == "build-dependencies";
    match h {
        ["package"] => Table::Package,
        ["lib"] | ["bin"] => Table::Target,
        ["workspace"] => Table::Workspace,
        ["workspace", "dependencies"] => Table::WorkspaceDependencies,
        ["workspace", "dependencies", name] => Table::WorkspaceDependency((*name).to_owned()),
        [t] if is_deps(t) => Table::Dependencies,
        [t, name] if is_deps(t) => Table::Dependency((*name).to_owned()),
        ["patch", _] | ["replace"] => Table::Patches,
        ["patch", _, _] | ["replace", _] => Table::Patch,
        _ => Table::Other,
    }
}

/// The `path` of a dependency entry: `rest` are the keys after the dependency's name (`path`
/// in `name.path = "…"`; none in `name = { path = "…" }`).
fn dependency_path(rest: &[&str], value: &str) -> Option<String> {
    match rest {
        ["path"] => string_value(value),
        [] => inline_value(value, "path").and_then(|v| string_value(&v)),
        _ => None,
    }
}

/// Whether a dependency entry takes its source from the workspace.
fn inherits(rest: &[&str], value: &str) -> bool {
    match rest {
        ["workspace"] => value.trim() == "true",
        [] => inline_value(value, "workspace").is_some_and(|v| v.trim() == "true"),
        _ => false,
    }
}

/// The raw value of `key` in a one-line inline table `{ a = 1, key = "v" }`.
fn inline_value(table: &str, key: &str) -> Option<String> {
    let inner = table
        .trim()
        .strip_prefix('{')?
        .trim_end()
        .strip_suffix('}')?;
    split_outside_quotes(inner, ',')
        .into_iter()
        .find_map(|pair| {
            let (k, v) = pair.split_once('=')?;
            (split_key(k.trim()) == [key]).then(|| v.trim().to_owned())
        })
}

/// A TOML string value, basic or literal.
fn string_value(value: &str) -> Option<String> {
    let value = value.trim();
    if let Some(rest) = value.strip_prefix('\'') {
        return rest.split_once('\'').map(|(s, _)| s.to_owned());
    }
    let rest = value.strip_prefix('"')?;
    let mut out = String::new();
    let mut chars = rest.chars();
    while let Some(c) = chars.next() {
        match c {
            '"' => return Some(out),
            '\\' => match chars.next()? {
                'n' => out.push('\n'),
                't' => out.push('\t'),
                other => out.push(other),
            },
            c => out.push(c),
        }
    }
    None
}

/// A dotted key or header, its parts unquoted: `target.'cfg(unix)'.dependencies`.
fn split_key(key: &str) -> Vec<String> {
    split_outside_quotes(key, '.')
        .into_iter()
        .map(|part| {
            let part = part.trim();
            string_value(part).unwrap_or_else(|| part.to_owned())
        })
        .collect()
}

fn split_outside_quotes(text: &str, at: char) -> Vec<&str> {
    let mut parts = Vec::new();
    let mut quote: Option<char> = None;
    let mut start = 0;
    for (i, c) in text.char_indices() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (None, '"' | '\'') => quote = Some(c),
            (None, c) if c == at => {
                parts.push(&text[start..i]);
                start = i + c.len_utf8();
            }
            _ => {}
        }
    }
    parts.push(&text[start..]);
    parts
}

/// A line without its `# comment` (outside strings).
fn strip_comment(line: &str) -> &str {
    let mut quote: Option<char> = None;
    for (i, c) in line.char_indices() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (None, '"' | '\'') => quote = Some(c),
            (None, '#') => return &line[..i],
            _ => {}
        }
    }
    line
}

/// `a/b/../c` as `a/c`, without touching the file system (a path may not exist yet).
fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for part in path.components() {
        match part {
            Component::ParentDir => {
                out.pop();
            }
            Component::CurDir => {}
            other => out.push(other),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manifests_as_they_are_written() {
        let m = scan_manifest(
            r#"
[package]
name = "a"   # a comment with path = "nothing"
description = """
[dependencies]
fake = { path = "../fake" }
"""
build = "../shared/build.rs"

[dependencies]
common = { path = "../../crates/common", version = "0.1" }
serde = "1"
util.path = '../util'
shared = { workspace = true }
logging.workspace = true

[dependencies.proto]
path = "../../proto"

[dev-dependencies]
testkit = { path = "../../testkit" }

[target.'cfg(unix)'.build-dependencies]
gen = { path = "../../tools/gen" }

[[bin]]
name = "a"
path = "src/main.rs"

[workspace.dependencies]
shared = { path = "crates/shared" }

[workspace.dependencies.logging]
path = "crates/logging"

[patch.crates-io]
serde = { path = "vendor/serde" }
"#,
        );
        assert_eq!(
            m.paths,
            [
                "../shared/build.rs",
                "../../crates/common",
                "../util",
                "../../proto",
                "../../tools/gen",
                "src/main.rs",
            ]
        );
        assert_eq!(m.inherited, ["shared", "logging"]);
        assert_eq!(
            m.workspace_deps,
            [
                ("shared".to_owned(), "crates/shared".to_owned()),
                ("logging".to_owned(), "crates/logging".to_owned())
            ]
        );
        assert_eq!(m.patches, ["vendor/serde"]);
        assert!(
            m.is_workspace,
            "[workspace.dependencies] is a workspace table"
        );
    }

    #[test]
    fn normalizes_without_the_file_system() {
        assert_eq!(
            normalize(Path::new("/r/services/a/../../crates/common")),
            Path::new("/r/crates/common")
        );
    }
}
