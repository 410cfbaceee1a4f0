//! Targets given on the command line and in a targets file, shared by `check` and `dashboard`.
//!
//! A targets file has one target per line: a URL, a binary or a process, optionally a name
//! after it, and optionally, last, `field=/json/pointer` for a document in none of the known
//! shapes. Blank lines and lines starting with `#` are skipped; a line longer than
//! [`MAX_LINE`] bytes is refused.

use std::io;
use std::path::Path;

use shipstamp_check::{Locator, Target};

use crate::present::display_url;

/// The longest line of a targets file (and entry of a fleet file's lists): a URL with a name is
/// far shorter, and a 10 MB line is a mistake to report, not a target to show.
pub(crate) const MAX_LINE: usize = 8 * 1024;

/// Targets read, and what to tell the user about them.
#[derive(Debug, Default)]
pub(crate) struct Targets {
    /// Targets asked one by one.
    pub(crate) targets: Vec<Target>,
    /// URLs whose every address is an instance.
    pub(crate) each_address: Vec<Target>,
    /// One line per target given more than once (checked once).
    pub(crate) warnings: Vec<String>,
}

/// A target and where it was given, for messages.
#[derive(Debug)]
pub(crate) struct Line {
    pub(crate) target: Target,
    /// Every address its host resolves to is an instance.
    pub(crate) each_address: bool,
    pub(crate) at: String,
}

/// `urls`, the URLs whose every address is an instance (`each_address`), then the targets in
/// `file` ("-": standard input), each read at `field` unless its line says otherwise. The error
/// is a one-line reason, a usage error.
pub(crate) fn read_targets(
    urls: &[String],
    each_address: &[String],
    file: Option<&Path>,
    field: Option<&str>,
) -> Result<Targets, String> {
    if let Some(pointer) = field {
        check_pointer(pointer).map_err(|why| format!("--field: {why}"))?;
    }
    let mut lines: Vec<Line> = Vec::new();
    for url in urls {
        lines.push(Line {
            target: url.parse().map_err(|e| format!("{e}"))?,
            each_address: false,
            at: "the command line".into(),
        });
    }
    for url in each_address {
        let locator = Locator::url(url.as_str()).map_err(|e| format!("--each-address {e}"))?;
        lines.push(Line {
            target: Target::new(locator),
            each_address: true,
            at: "--each-address".into(),
        });
    }
    if let Some(file) = file {
        lines.extend(read_lines(file)?);
    }
    if lines.is_empty() {
        return Err("no targets: give URLs, --each-address URL, or --targets FILE".into());
    }
    Ok(dedupe(lines, field))
}

/// The targets in a targets file ("-": standard input).
pub(crate) fn read_lines(file: &Path) -> Result<Vec<Line>, String> {
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
    let mut lines = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let at = format!("{label}:{}", n + 1);
        if let Some(target) = parse_line(line).map_err(|why| format!("{at}: {why}"))? {
            lines.push(Line {
                target,
                each_address: false,
                at,
            });
        }
    }
    Ok(lines)
}

/// Each target once, in the order first given, read at `field` unless it has its own
/// pointer; a warning for each target given more than once.
pub(crate) fn dedupe(lines: Vec<Line>, field: Option<&str>) -> Targets {
    let mut kept: Vec<(Target, bool)> = Vec::with_capacity(lines.len());
    let mut first_at: Vec<String> = Vec::with_capacity(lines.len());
    // Looked up by what makes a target the same: 100,000 lines are not compared pairwise.
    let mut index: std::collections::HashMap<(Locator, Option<String>, bool), usize> =
        std::collections::HashMap::with_capacity(lines.len());
    let mut warned: Vec<usize> = Vec::new();
    let mut warnings = Vec::new();
    for Line {
        mut target,
        each_address,
        at,
    } in lines
    {
        if target.field.is_none() {
            if let Some(pointer) = field {
                target = target.field(pointer);
            }
        }
        let key = (target.locator.clone(), target.field.clone(), each_address);
        match index.get(&key) {
            // One warning per target, however many times it repeats.
            Some(&i) if !warned.contains(&i) => {
                warned.push(i);
                warnings.push(format!(
                    "{} is listed more than once ({} and {at}); checked once",
                    display_url(&target.locator.to_string()),
                    first_at[i]
                ));
            }
            Some(_) => {}
            None => {
                index.insert(key, kept.len());
                kept.push((target, each_address));
                first_at.push(at);
            }
        }
    }
    let mut read = Targets {
        warnings,
        ..Targets::default()
    };
    for (target, each_address) in kept {
        if each_address {
            read.each_address.push(target);
        } else {
            read.targets.push(target);
        }
    }
    read
}

/// One line of a targets file: `None` for blank lines and comments.
pub(crate) fn parse_line(line: &str) -> Result<Option<Target>, String> {
    if line.len() > MAX_LINE {
        return Err(format!(
            "a line of {} bytes, longer than any target ({MAX_LINE} at most)",
            line.len()
        ));
    }
    let line = line.trim();
    if line.is_empty() || line.starts_with('#') {
        return Ok(None);
    }
    let (url, rest) = match line.split_once(char::is_whitespace) {
        Some((url, rest)) => (url, rest.trim()),
        None => (line, ""),
    };
    let locator: Locator = url.parse().map_err(|e| format!("{e}"))?;
    let (name, field) = match rest.rsplit_once(char::is_whitespace) {
        Some((name, last)) if last.starts_with("field=") => (name.trim(), Some(last)),
        _ if rest.starts_with("field=") => ("", Some(rest)),
        _ => (rest, None),
    };
    let mut target = if name.is_empty() {
        Target::new(locator)
    } else {
        Target::named(locator, name)
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
        for local in [
            "/usr/local/bin/orders",
            "./target/release/orders",
            "file:orders",
            "pid:42",
            "pidfile:/run/orders.pid",
        ] {
            assert!(parse_line(local).unwrap().is_some(), "{local}");
        }
        for bad in [
            "pid:", "pid:abc", "pid:0", "pid:-1", "file:", "pidfile:", "orders",
        ] {
            assert!(parse_line(bad).is_err(), "{bad}");
        }
        let long = format!("https://a/{}", "x".repeat(MAX_LINE));
        let err = parse_line(&long).unwrap_err();
        assert!(err.contains("longer than any target"), "{err}");
    }

    #[test]
    fn duplicates_are_checked_once_with_one_warning() {
        let urls: Vec<String> = ["http://a/v", "http://b/v", "http://a/v", "http://a/v"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let read = read_targets(&urls, &[], None, None).unwrap();
        assert_eq!(read.targets.len(), 2);
        assert_eq!(read.warnings.len(), 1, "{:?}", read.warnings);
        assert!(read.warnings[0].contains("http://a/v is listed more than once"));
        // The same URL read at two pointers is two targets.
        let read = read_targets(&urls[..1], &[], None, Some("/x")).unwrap();
        assert_eq!(read.targets[0].field.as_deref(), Some("/x"));
        assert!(read_targets(&urls, &[], None, Some("x")).is_err());
    }

    #[test]
    fn secrets_in_bad_urls_are_not_echoed() {
        let err =
            read_targets(&["ftp://user:pw@host/v?token=t0k".into()], &[], None, None).unwrap_err();
        assert!(!err.contains("pw") && !err.contains("t0k"), "{err}");
    }
}
