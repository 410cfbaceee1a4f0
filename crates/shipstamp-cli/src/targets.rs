//! Targets given on the command line and in a targets file, shared by `check` and `dashboard`.

use std::io;
use std::path::Path;

use shipstamp_check::Target;

/// `urls`, then the targets in `file` ("-": standard input): one URL per line, optionally
/// followed by a name; blank lines and lines starting with `#` are skipped. The error is a
/// one-line reason, a usage error.
pub(crate) fn read_targets(urls: &[String], file: Option<&Path>) -> Result<Vec<Target>, String> {
    if let Some(bad) = urls.iter().find(|u| !is_http_url(u)) {
        return Err(format!("{bad:?} is not an http:// or https:// URL"));
    }
    let mut targets: Vec<Target> = urls.iter().map(Target::new).collect();
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
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let (url, name) = match line.split_once(char::is_whitespace) {
                Some((url, name)) => (url, Some(name.trim())),
                None => (line, None),
            };
            if !is_http_url(url) {
                return Err(format!(
                    "{label}:{}: {url:?} is not an http:// or https:// URL",
                    n + 1
                ));
            }
            targets.push(match name {
                Some(name) => Target::named(url, name),
                None => Target::new(url),
            });
        }
    }
    if targets.is_empty() {
        return Err("no targets: give URLs, or --targets FILE".into());
    }
    Ok(targets)
}

fn is_http_url(s: &str) -> bool {
    let rest = s
        .strip_prefix("http://")
        .or_else(|| s.strip_prefix("https://"));
    rest.is_some_and(|r| !r.is_empty() && !r.starts_with('/'))
}
