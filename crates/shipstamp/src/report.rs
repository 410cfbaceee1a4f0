//! The stamp as a startup log line and as Prometheus text.

use std::fmt::{self, Write as _};
use std::io::Write as _;

use shipstamp_format::{BUILD_INFO_LABELS, BUILD_INFO_SUFFIX, START_TIME_SUFFIX, push_label_value};

use crate::Stamp;
use crate::error::{Error, Repr};

/// The startup line of a stamp, from [`Stamp::startup_line`]:
/// `shipstamp: orders-api 1.4.2 commit=3f9c2e1 dirty=false branch=main built=… started=… rustc=1.95.0 profile=release`.
/// Unknown values are written as `unknown`.
#[derive(Debug, Clone, Copy)]
pub struct StartupLine<'a>(&'a Stamp);

struct Or<'a, T>(Option<T>, &'a str);

impl<T: fmt::Display> fmt::Display for Or<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0 {
            Some(v) => v.fmt(f),
            None => f.write_str(self.1),
        }
    }
}

impl fmt::Display for StartupLine<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = self.0;
        let started = s.process().and_then(|p| p.started_at);
        write!(
            f,
            "shipstamp: {} {} commit={} dirty={} branch={} built={} started={} rustc={} profile={}",
            s.package.name,
            s.package.version,
            Or(s.git.short.as_deref(), "unknown"),
            Or(s.git.dirty, "unknown"),
            Or(s.git.branch.as_deref(), "unknown"),
            Or(s.build.time, "unknown"),
            Or(started, "unknown"),
            Or(s.build.rustc.as_deref(), "unknown"),
            Or(s.build.profile.as_deref(), "unknown"),
        )
    }
}

impl Stamp {
    /// The one-line startup summary, to log however you like.
    pub fn startup_line(&self) -> StartupLine<'_> {
        StartupLine(self)
    }

    /// Logs the startup line once: through `tracing` (feature `tracing`) when a subscriber is
    /// installed, else through `log` (feature `log`) when a logger is, else to standard error.
    /// Never fails and never panics; see [`Stamp::try_log_startup`] to know where it went.
    pub fn log_startup(&self) {
        if self.log_through_framework().is_err() {
            let _ = writeln!(std::io::stderr(), "{}", self.startup_line());
        }
    }

    /// Like [`Stamp::log_startup`], but with the `tracing` or `log` feature on, an error instead
    /// of the standard-error fallback when no subscriber or logger is installed; without them,
    /// an error when standard error cannot be written.
    pub fn try_log_startup(&self) -> Result<(), Error> {
        if cfg!(any(feature = "tracing", feature = "log")) {
            return self.log_through_framework();
        }
        writeln!(std::io::stderr(), "{}", self.startup_line()).map_err(|e| Error::new(Repr::Io(e)))
    }

    fn log_through_framework(&self) -> Result<(), Error> {
        #[cfg(feature = "tracing")]
        {
            let installed =
                tracing::dispatcher::get_default(|d| !d.is::<tracing::subscriber::NoSubscriber>());
            if installed {
                tracing::info!(
                    target: "shipstamp",
                    package = %self.package.name,
                    version = %self.package.version,
                    commit = self.git.commit.as_deref(),
                    dirty = self.git.dirty,
                    "{}",
                    self.startup_line()
                );
                return Ok(());
            }
        }
        #[cfg(feature = "log")]
        {
            if log::max_level() != log::LevelFilter::Off {
                log::info!(target: "shipstamp", "{}", self.startup_line());
                return Ok(());
            }
        }
        Err(Error::new(Repr::NoLogger))
    }

    /// Prometheus text exposition of `<package>_build_info{…} 1` (the package name with every
    /// character outside `[a-zA-Z0-9_]` replaced by `_`), and `<package>_start_time_seconds`
    /// when the start time is known.
    ///
    /// Labels: `package`, `version`, `revision` (full commit), `short_revision`, `branch`,
    /// `dirty`, `rustc`, `target`, `profile`. Unknown values are empty labels.
    pub fn build_info_metric(&self) -> String {
        let mut prefix: String = self
            .package
            .name
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '_' {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        if prefix.is_empty() || prefix.starts_with(|c: char| c.is_ascii_digit()) {
            prefix.insert(0, '_');
        }
        self.build_info_metric_named(&prefix)
    }

    /// [`Stamp::build_info_metric`] with a fixed metric prefix, e.g. `shipstamp` for
    /// `shipstamp_build_info` on every service (one Grafana query for a whole fleet).
    pub fn build_info_metric_named(&self, prefix: &str) -> String {
        let mut out = String::with_capacity(512);
        let name = format!("{prefix}{BUILD_INFO_SUFFIX}");
        let _ = writeln!(
            out,
            "# HELP {name} Build of the running binary (shipstamp); the value is always 1."
        );
        let _ = writeln!(out, "# TYPE {name} gauge");
        let dirty = self.git.dirty.map(|d| if d { "true" } else { "false" });
        let values: [Option<&str>; BUILD_INFO_LABELS.len()] = [
            Some(&self.package.name),
            Some(&self.package.version),
            self.git.commit.as_deref(),
            self.git.short.as_deref(),
            self.git.branch.as_deref(),
            dirty,
            self.build.rustc.as_deref(),
            self.build.target.as_deref(),
            self.build.profile.as_deref(),
        ];
        let labels = BUILD_INFO_LABELS.iter().zip(values);
        out.push_str(&name);
        out.push('{');
        for (i, (label, value)) in labels.enumerate() {
            if i > 0 {
                out.push(',');
            }
            out.push_str(label);
            out.push_str("=\"");
            push_label_value(&mut out, value.unwrap_or(""));
            out.push('"');
        }
        out.push_str("} 1\n");
        if let Some(started) = self.process().and_then(|p| p.started_at) {
            let name = format!("{prefix}{START_TIME_SUFFIX}");
            let _ = writeln!(
                out,
                "# HELP {name} Start time of the process since the Unix epoch, in seconds."
            );
            let _ = writeln!(out, "# TYPE {name} gauge");
            let _ = writeln!(out, "{name} {}", started.unix_seconds());
        }
        out
    }
}
