//! Targets given on the command line and in a targets file, shared by `check` and `dashboard`.
//!
//! A targets file has one target per line: a URL, optionally a name after it, and optionally,
//! last, `field=/json/pointer` for a document in none of the known shapes. Blank lines and
//! lines starting with `#` are skipped.

use std::io;
use std::path::Path;

use shipstamp_check::Target;

use crate::present::display_url;

/// Targets read, and what to tell the user about them.
#[derive(Debug)]
pub(crate) struct Targets {
    pub(crate) targets: Vec<Target>,
    /// One line per target given more than once (checked once).
    pub(crate) warnings: Vec<String>,
}

/// `urls`, then the targets in `file` ("-": standard input), each read at `field` unless its
/// line says otherwise. The error is a one-line reason, a usage error.
pub(crate) fn read_targets(
    urls: &[String],
    file: Option<&Path>,
    field: Option<&str>,
) -> Result<Targets, String> {
    if let Some(pointer) = field {
        check_pointer(pointer).map_err(|why| format!("--field: {why}"))?;
    }
    let mut found: Vec<(Target, String)> = Vec::new();
    for url in urls {
        if !is_http_url(url) {
            return Err(format!(
                "{:?} is not an http:// or https:// URL",
                display_url(url)
            ));
        }
        found.push((Target::new(url), "the command line".into()));
    }
    if let Some(file) = file {
        let (text, label) = if file.as_os_str() == "-" {
            let mut text = String::new();
            io::Read::read_to_string(&mut io::stdin(), &mut text)
                .map_err(|e| format!("reading targets from stdin: {e}"))?;
            (text, "stdin".to_owned())
        } else {
            let text = std::fs::read_to_string(file)
                .map_err(|e| format!("reading targets from {}: {e}", file.display()))?;
            (text, file.display().to_string())
        };
        for (n, line) in text.lines().enumerate() {
            let at = format!("{label}:{}", n + 1);
            if let Some(target) = parse_line(line).map_err(|why| format!("{at}: {why}"))? {
                found.push((target, at));
            }
        }
    }
    if found.is_empty() {
        return Err("no targets: give URLs, or --targets FILE".into());
    }
    let mut targets: Vec<Target> = Vec::with_capacity(found.len());
    let mut first_at: Vec<String> = Vec::with_capacity(found.len());
    let mut warnings = Vec::new();
    for (mut target, at) in found {
        if target.field.is_none() {
            if let Some(pointer) = field {
                target = target.field(pointer);
            }
        }
        match targets
            .iter()
            .position(|t| t.url == target.url && t.field == target.field)
        {
            Some(i) => {
                let warning = format!(
                    "{} is listed more than once ({} and {at}); checked once",
                    display_url(&target.url),
                    first_at[i]
                );
                // One warning per target, however many times it repeats.
                if !warnings
                    .iter()
                    .any(|w: &String| w.starts_with(&display_url(&target.url)))
                {
                    warnings.push(warning);
                }
            }
            None => {
                targets.push(target);
                first_at.push(at);
            }
        }
    }
    Ok(Targets { targets, warnings })
}

/// One line of a targets file: `None` for blank lines and comments.
fn parse_line(line: &str) -> Result<Option<Target>, String> {
    let line = line.trim();
    if line.is_empty() || line.starts_with('#') {
        return Ok(None);
    }
    let (url, rest) = match line.split_once(char::is_whitespace) {
        Some((url, rest)) => (url, rest.trim()),
        None => (line, ""),
    };
    if !is_http_url(url) {
        return Err(format!(
            "{:?} is not an http:// or https:// URL",
            display_url(url)
        ));
    }
    let (name, field) = match rest.rsplit_once(char::is_whitespace) {
        Some((name, last)) if last.starts_with("field=") => (name.trim(), Some(last)),
        _ if rest.starts_with("field=") => ("", Some(rest)),
        _ => (rest, None),
    };
    let mut target = if name.is_empty() {
        Target::new(url)
    } else {
        Target::named(url, name)
    };
    if let Some(field) = field {
        let pointer = &field["field=".len()..];
        check_pointer(pointer)?;
        target = target.field(pointer);
    }
    Ok(Some(target))
}

/// A JSON pointer (RFC 6901): empty, or `/`-separated tokens.
fn check_pointer(pointer: &str) -> Result<(), String> {
    if pointer.is_empty() || pointer.starts_with('/') {
        Ok(())
    } else {
        Err(format!(
            "{pointer:?} is not a JSON pointer (one starts with /, e.g. /data/revision)"
        ))
    }
}

fn is_http_url(s: &str) -> bool {
    let rest = s
        .strip_prefix("http://")
        .or_else(|| s.strip_prefix("https://"));
    rest.is_some_and(|r| !r.is_empty() && !r.starts_with('/'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_with_names_and_fields() {
        let t = parse_line("  https://a/v   web 1  ").unwrap().unwrap();
        assert_eq!((t.name.as_deref(), t.field), (Some("web 1"), None));
        let t = parse_line("https://a/v web-1 field=/data/revision")
            .unwrap()
            .unwrap();
        assert_eq!(
            (t.name.as_deref(), t.field.as_deref()),
            (Some("web-1"), Some("/data/revision"))
        );
        let t = parse_line("https://a/v field=/sha").unwrap().unwrap();
        assert_eq!((t.name, t.field.as_deref()), (None, Some("/sha")));
        assert!(parse_line("# comment").unwrap().is_none());
        assert!(parse_line("https://a/v web field=data").is_err());
        assert!(parse_line("a/v").is_err());
    }

    #[test]
    fn duplicates_are_checked_once_with_one_warning() {
        let urls: Vec<String> = ["http://a/v", "http://b/v", "http://a/v", "http://a/v"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let read = read_targets(&urls, None, None).unwrap();
        assert_eq!(read.targets.len(), 2);
        assert_eq!(read.warnings.len(), 1, "{:?}", read.warnings);
        assert!(read.warnings[0].contains("http://a/v is listed more than once"));
        // The same URL read at two pointers is two targets.
        let read = read_targets(&urls[..1], None, Some("/x")).unwrap();
        assert_eq!(read.targets[0].field.as_deref(), Some("/x"));
        assert!(read_targets(&urls, None, Some("x")).is_err());
    }

    #[test]
    fn secrets_in_bad_urls_are_not_echoed() {
        let err = read_targets(&["ftp://user:pw@host/v?token=t0k".into()], None, None).unwrap_err();
        assert!(!err.contains("pw") && !err.contains("t0k"), "{err}");
    }
}
