//! How results are put into words: one place for the status labels, the sentences that explain
//! a status, and how URLs are shown, used by `check`'s text and JSON and by the dashboard.

use std::fmt;

use shipstamp::Timestamp;
use shipstamp_check::{Drift, ParseErrorKind, Reason, ReasonKind, Scope, Status, TargetReport};

/// A reason as the command says it: the library's sentence, and the flag that changes the
/// answer where there is one.
pub(crate) fn reason_text(reason: &Reason) -> String {
    match reason.kind() {
        ReasonKind::Dirty => format!("{reason} (--allow-dirty to judge it by its commit)"),
        ReasonKind::BadDocument(ParseErrorKind::UnknownShape) => {
            format!("{reason}; give --field /json/pointer to where the commit is")
        }
        _ => reason.to_string(),
    }
}

/// A target's reason as the command says it, naming the ref where the library says "the ref"
/// (a match within paths: "main is 3 commits ahead, none under services/a").
pub(crate) fn reason_of(r: &TargetReport, ref_name: &str) -> Option<String> {
    let reason = r.reason.as_ref()?;
    if reason.kind() == ReasonKind::Scope {
        if let Some(note) = r.scope.as_ref().and_then(|s| elsewhere(s, ref_name)) {
            return Some(note);
        }
    }
    Some(reason_text(reason))
}

/// Why a build that differs from the ref is a match within its paths; `None` when it does not
/// differ.
fn elsewhere(scope: &Scope, ref_name: &str) -> Option<String> {
    let what = match (scope.behind_total, scope.ahead_total) {
        (Some(b), None) => format!("{ref_name} is {b} {} ahead", commits(b)),
        (None, Some(a)) => format!("it is {a} {} ahead of {ref_name}", commits(a)),
        (Some(b), Some(a)) => format!(
            "it and {ref_name} have diverged ({a} {} on its side, {b} on {ref_name}'s)",
            commits(a)
        ),
        (None, None) => return None,
    };
    let from = if scope.from_build {
        " (the paths its build is scoped to)"
    } else {
        ""
    };
    Some(format!(
        "{what}, none under {}{from}",
        paths_listed(&scope.paths)
    ))
}

/// `a`, `a and b`, `a, b and c`, `a, b, c and 2 more`.
pub(crate) fn paths_listed(paths: &[String]) -> String {
    const SHOWN: usize = 3;
    match paths {
        [] => String::new(),
        [only] => only.clone(),
        _ if paths.len() <= SHOWN => format!(
            "{} and {}",
            paths[..paths.len() - 1].join(", "),
            paths[paths.len() - 1]
        ),
        _ => format!(
            "{} and {} more",
            paths[..SHOWN].join(", "),
            paths.len() - SHOWN
        ),
    }
}

/// The first 7 digits of a commit id.
pub(crate) fn short(id: &str) -> &str {
    &id[..id.len().min(7)]
}

/// The status as shown: `match`, `behind 3`, `ahead 1`, `diverged`, `unknown-commit`, …
pub(crate) fn label(r: &TargetReport) -> String {
    match (r.status, r.behind, r.ahead) {
        (Status::Behind, Some(n), _) => format!("behind {n}"),
        (Status::Ahead, _, Some(n)) => format!("ahead {n}"),
        (status, _, _) => status.as_str().to_owned(),
    }
}

/// The label of a match within paths that differs from the ref elsewhere: `match (main +3
/// elsewhere)`, so that a page does not hide the difference; otherwise [`label`].
pub(crate) fn shown_label(r: &TargetReport, ref_name: &str) -> String {
    match elsewhere_label(r, ref_name) {
        Some(elsewhere) => format!("{} ({elsewhere})", label(r)),
        None => label(r),
    }
}

/// What a match within paths leaves aside: `main +3 elsewhere`, `ahead 2 elsewhere`; `None`
/// for anything else.
pub(crate) fn elsewhere_label(r: &TargetReport, ref_name: &str) -> Option<String> {
    if r.status != Status::Match {
        return None;
    }
    let scope = r.scope.as_ref()?;
    match (scope.behind_total, scope.ahead_total) {
        (Some(b), None) => Some(format!("{ref_name} +{b} elsewhere")),
        (None, Some(a)) => Some(format!("ahead {a} elsewhere")),
        (Some(b), Some(a)) => Some(format!("{ref_name} +{b}, ahead {a} elsewhere")),
        (None, None) => None,
    }
}

fn commits(n: u64) -> &'static str {
    if n == 1 { "commit" } else { "commits" }
}

/// Where the served commit stands against the ref, as a sentence; `None` for a match and for
/// targets that served no commit.
pub(crate) fn position<'a>(r: &'a TargetReport, ref_name: &'a str) -> Option<Position<'a>> {
    let place = match (r.status, r.behind, r.ahead) {
        (Status::Behind, Some(n), _) => Place::Behind(n),
        (Status::Ahead, _, Some(n)) => Place::Ahead(n),
        (Status::Diverged, Some(behind), Some(ahead)) => Place::Diverged {
            ahead,
            behind,
            merge_base: r.merge_base.as_deref(),
        },
        _ => return None,
    };
    Some(Position {
        place,
        ref_name,
        scope: r.scope.as_ref(),
    })
}

/// See [`position`]: written straight into the output (a fleet has 100,000 lines of them).
pub(crate) struct Position<'a> {
    place: Place<'a>,
    ref_name: &'a str,
    /// The paths the counts are within, and the counts of every commit.
    scope: Option<&'a Scope>,
}

enum Place<'a> {
    Behind(u64),
    Ahead(u64),
    Diverged {
        ahead: u64,
        behind: u64,
        merge_base: Option<&'a str>,
    },
}

impl fmt::Display for Position<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ref_name = self.ref_name;
        let under = |f: &mut fmt::Formatter<'_>| match self.scope {
            Some(scope) => write!(f, " under {}", paths_listed(&scope.paths)),
            None => Ok(()),
        };
        let in_all = |f: &mut fmt::Formatter<'_>, n: Option<u64>| match n {
            Some(n) => write!(f, " ({n} in all)"),
            None => Ok(()),
        };
        let scope = self.scope;
        match self.place {
            Place::Behind(n) => {
                write!(f, "{n} {} behind {ref_name}", commits(n))?;
                under(f)?;
                in_all(f, scope.and_then(|s| s.behind_total))
            }
            Place::Ahead(n) => {
                write!(f, "{n} {} ahead of {ref_name}", commits(n))?;
                under(f)?;
                in_all(f, scope.and_then(|s| s.ahead_total))
            }
            Place::Diverged {
                ahead,
                behind,
                merge_base,
            } => {
                write!(f, "{ahead} ahead, {behind} behind {ref_name}")?;
                under(f)?;
                write!(
                    f,
                    " (merge base {}",
                    merge_base.map(short).unwrap_or("none")
                )?;
                if let Some((a, b)) = scope.and_then(|s| s.ahead_total.zip(s.behind_total)) {
                    write!(f, "; {a} ahead, {b} behind in all")?;
                }
                f.write_str(")")
            }
        }
    }
}

/// How long, to the minute and the two largest units: `2 d 4 h`, `3 h 5 min`, `12 min`, `40 s`.
/// Written straight into the output (100,000 lines of `check` may each carry one).
pub(crate) fn age(seconds: u64) -> Age {
    Age(seconds)
}

/// See [`age`].
#[derive(Debug, Clone, Copy)]
pub(crate) struct Age(u64);

impl fmt::Display for Age {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let seconds = self.0;
        let (d, h, m) = (seconds / 86_400, seconds / 3_600 % 24, seconds / 60 % 60);
        match (d, h, m) {
            (0, 0, 0) => write!(f, "{seconds} s"),
            (0, 0, m) => write!(f, "{m} min"),
            (0, h, 0) => write!(f, "{h} h"),
            (0, h, m) => write!(f, "{h} h {m} min"),
            (d, 0, _) => write!(f, "{d} d"),
            (d, h, _) => write!(f, "{d} d {h} h"),
        }
    }
}

/// Seconds from `earlier` to `later`; 0 when a clock skew puts them the other way round.
fn seconds_between(earlier: Timestamp, later: Timestamp) -> u64 {
    u64::try_from(later.unix_seconds() - earlier.unix_seconds()).unwrap_or(0)
}

/// Since when a target has drifted, as seen at `now`: from its oldest missing commit, or from
/// when a watcher saw the drift begin (`observed`), when that is later: a ref moved by a fetch
/// makes an old commit new drift.
#[derive(Debug, Clone, Copy)]
pub(crate) struct DriftAge<'a> {
    pub(crate) drift: &'a Drift,
    pub(crate) observed: Option<Timestamp>,
    pub(crate) now: Timestamp,
}

impl<'a> DriftAge<'a> {
    /// The drift of `r`, if it has one.
    pub(crate) fn of(
        r: &'a TargetReport,
        observed: Option<Timestamp>,
        now: Timestamp,
    ) -> Option<Self> {
        Some(DriftAge {
            drift: r.drift.as_ref()?,
            observed: observed.filter(|o| Some(*o) > r.drift.as_ref().map(|d| d.since)),
            now,
        })
    }

    /// When it began: seen by the watcher, or else when the oldest missing commit was made.
    pub(crate) fn since(&self) -> Timestamp {
        self.observed.unwrap_or(self.drift.since)
    }

    /// How long it has lasted.
    pub(crate) fn seconds(&self) -> u64 {
        seconds_between(self.since(), self.now)
    }
}

impl fmt::Display for DriftAge<'_> {
    /// `for 2 d 4 h, since 64b8e19 "Fix double emit"`, or, seen beginning later than that
    /// commit: `for 5 min, since 2026-12-03T10:05:00Z (seen beginning; the oldest commit it
    /// lacks, 64b8e19 "Fix double emit", was made 2 d 4 h before)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let d = self.drift;
        let commit = |f: &mut fmt::Formatter<'_>| {
            f.write_str(short(&d.commit))?;
            match &d.subject {
                Some(subject) => write!(f, " {subject:?}"),
                None => Ok(()),
            }
        };
        write!(f, "for {}, since ", age(self.seconds()))?;
        match self.observed {
            None => commit(f),
            Some(seen) => {
                write!(f, "{seen} (seen beginning; the oldest commit it lacks, ")?;
                commit(f)?;
                let before = seconds_between(d.since, seen);
                write!(f, ", was made {} before)", age(before))
            }
        }
    }
}

/// The signs that a target needs a restart, as sentences.
pub(crate) fn restart_notes(r: &TargetReport, ref_name: &str) -> Vec<String> {
    let mut notes = Vec::new();
    let _ = each_restart_note(r, ref_name, |note| {
        notes.push(note.to_string());
        Ok(())
    });
    notes
}

/// Gives `write` each sign that a target needs a restart, as a sentence.
fn each_restart_note(
    r: &TargetReport,
    ref_name: &str,
    mut write: impl FnMut(fmt::Arguments<'_>) -> fmt::Result,
) -> fmt::Result {
    // A stale process's reason already says it started before the ref's commit; and a commit
    // the repository lacks cannot be placed before or after the ref, so neither can a restart.
    if r.started_before_ref
        && !matches!(
            r.status,
            Status::Match | Status::Includes | Status::Stale | Status::UnknownCommit
        )
    {
        if let Some(t) = r.started_at {
            write(format_args!(
                "process started {t}, before {ref_name}'s commit (never restarted?)"
            ))?;
        }
    }
    if r.exe_replaced == Some(true) {
        write(format_args!(
            "its executable was replaced on disk: restart pending"
        ))?;
    }
    if let Some(p) = &r.process {
        match p.replaced_libraries.as_slice() {
            [] => {}
            [one] => write(format_args!(
                "the library {} was replaced on disk since it started: restart pending",
                one.display()
            ))?,
            many => write(format_args!(
                "{} libraries were replaced on disk since it started ({}): restart pending",
                many.len(),
                many.iter()
                    .take(3)
                    .map(|l| l.display().to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            ))?,
        }
        if let Some(changes) = p.source_changes.as_ref().filter(|c| c.count > 0) {
            let more = changes.count.saturating_sub(changes.first.len());
            write(format_args!(
                "{} {} of {} changed since it started, committed or edited: {}{}",
                changes.count,
                if changes.count == 1 { "file" } else { "files" },
                changes.repository.display(),
                changes.first.join(", "),
                if more > 0 {
                    format!(" and {more} more")
                } else {
                    String::new()
                }
            ))?;
        }
    }
    Ok(())
}

/// Every sentence that explains a target's status: the reason, where it stands and for how
/// long, the restart signs.
pub(crate) fn notes(r: &TargetReport, ref_name: &str, drift: Option<DriftAge<'_>>) -> Vec<String> {
    let mut notes: Vec<String> = reason_of(r, ref_name).into_iter().collect();
    notes.extend(position(r, ref_name).map(|p| p.to_string()));
    notes.extend(drift.map(|d| format!("{} {d}", drifting(r))));
    notes.extend(restart_notes(r, ref_name));
    notes
}

/// The word for a drift that lasts: `behind 3` (`behind 3 for 2 d 4 h, since …`), `drifting`.
fn drifting(r: &TargetReport) -> String {
    match r.status {
        Status::Behind | Status::Diverged => label(r),
        _ => "drifting".to_owned(),
    }
}

/// The detail column of `check`'s text output: the short commit, then what explains the
/// status, each part after the first behind `; `.
pub(crate) fn detail<'a>(
    r: &'a TargetReport,
    ref_name: &'a str,
    drift: Option<DriftAge<'a>>,
) -> Detail<'a> {
    Detail { r, ref_name, drift }
}

/// See [`detail`].
pub(crate) struct Detail<'a> {
    r: &'a TargetReport,
    ref_name: &'a str,
    drift: Option<DriftAge<'a>>,
}

impl fmt::Display for Detail<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (r, ref_name) = (self.r, self.ref_name);
        let mut empty = false;
        match (r.status, r.commit.as_deref().map(short)) {
            (Status::Match, Some(c)) => {
                match (&r.package, &r.version) {
                    (Some(p), Some(v)) => write!(f, "{c}  {p} {v}")?,
                    _ => f.write_str(c)?,
                }
                // Commits elsewhere than the build's paths: said, as they are not drift.
                if let Some(note) = reason_of(r, ref_name) {
                    write!(f, "; {note}")?;
                }
            }
            // The commit is a column of its own, whatever explains the status.
            (_, Some(c)) => match (position(r, ref_name), &r.reason) {
                // A container's reason says where its commit came from and what to recreate.
                (Some(position), Some(why))
                    if matches!(why.kind(), ReasonKind::Container | ReasonKind::Recreate) =>
                {
                    write!(f, "{c}  {position}; {}", reason_text(why))?;
                }
                (Some(position), _) => write!(f, "{c}  {position}")?,
                (None, Some(_)) => {
                    write!(f, "{c}  {}", reason_of(r, ref_name).unwrap_or_default())?;
                }
                (None, None) => f.write_str(c)?,
            },
            _ => match &r.reason {
                Some(reason) => f.write_str(&reason_text(reason))?,
                None => empty = true,
            },
        }
        if let Some(drift) = &self.drift {
            if !std::mem::take(&mut empty) {
                f.write_str("; ")?;
            }
            write!(f, "{} {drift}", drifting(r))?;
        }
        each_restart_note(r, ref_name, |note| {
            if !std::mem::take(&mut empty) {
                f.write_str("; ")?;
            }
            f.write_fmt(note)
        })
    }
}

/// Drift first (the worst kind first), then the undecided, then matches.
pub(crate) fn rank(status: Status) -> u8 {
    match status {
        Status::Diverged => 0,
        Status::Dirty => 1,
        Status::Stale => 2,
        Status::Behind => 2,
        Status::Ahead => 3,
        Status::Unreachable => 4,
        Status::InvalidResponse => 5,
        Status::UnknownCommit => 6,
        Status::Unstamped => 7,
        Status::Lacks => 2,
        _ => 8,
    }
}

/// `text` in the status's colour, for a terminal.
pub(crate) fn paint(status: Status, text: &str) -> String {
    let code = match status {
        Status::Match | Status::Includes => "32",
        Status::Behind | Status::Ahead | Status::Stale | Status::Lacks => "33",
        _ => "31",
    };
    format!("\x1b[{code}m{text}\x1b[0m")
}

/// A URL fit to print, store or show on a page that may be shared: no `user:password@`, a query
/// string shown as `?…` and a fragment as `#…` (where tokens live too).
pub(crate) fn display_url(url: &str) -> String {
    shipstamp_format::shown_url(url).to_string()
}

/// How a target is named in output: its name, or else its URL without secrets.
pub(crate) fn display_name(r: &TargetReport) -> String {
    r.name.clone().unwrap_or_else(|| display_url(&r.url))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_lose_credentials_and_queries() {
        assert_eq!(
            display_url("https://deploy:s3cret@orders-1.internal:8443/version?token=abc"),
            "https://orders-1.internal:8443/version?…"
        );
        assert_eq!(
            display_url("http://127.0.0.1:3000/version"),
            "http://127.0.0.1:3000/version"
        );
        assert_eq!(display_url("http://a@b@host"), "http://host");
        assert_eq!(display_url("http://host#frag"), "http://host#…");
        assert_eq!(display_url("http://host?t=1"), "http://host?…");
    }

    #[test]
    fn rows_have_a_commit_column_and_only_the_notes_that_hold() {
        let commit = "8d1e0a4b5c6d7e8f9a0b1c2d3e4f5a6b7c8d9e0f";
        let mut dirty = TargetReport::new("http://a", Status::Dirty);
        dirty.commit = Some(commit.into());
        dirty.reason = Some(Reason::new(
            ReasonKind::Dirty,
            "built from uncommitted changes on top of 8d1e0a4b5c6d",
        ));
        assert_eq!(
            detail(&dirty, "main", None).to_string(),
            "8d1e0a4  built from uncommitted changes on top of 8d1e0a4b5c6d (--allow-dirty to \
             judge it by its commit)"
        );
        // A commit the repository lacks cannot be placed before or after the ref: no
        // "never restarted?" for it, though its process started before the ref's commit.
        let mut unknown = TargetReport::new("http://a", Status::UnknownCommit);
        unknown.commit = Some(commit.into());
        unknown.started_before_ref = true;
        unknown.started_at = "2026-11-22T10:05:00Z".parse().ok();
        unknown.reason = Some(Reason::new(ReasonKind::NotInRepository, "not here"));
        let said = detail(&unknown, "main", None).to_string();
        assert_eq!(said, "8d1e0a4  not here");
        let mut behind = TargetReport::new("http://a", Status::Behind);
        behind.commit = Some(commit.into());
        behind.behind = Some(2);
        behind.started_before_ref = true;
        behind.started_at = "2026-11-22T10:05:00Z".parse().ok();
        assert!(
            detail(&behind, "main", None)
                .to_string()
                .contains("(never restarted?)"),
            "behind keeps it"
        );
    }

    #[test]
    fn drift_says_for_how_long_and_since_what() {
        assert_eq!(age(40).to_string(), "40 s");
        assert_eq!(age(12 * 60 + 5).to_string(), "12 min");
        assert_eq!(age(3 * 3600).to_string(), "3 h");
        assert_eq!(age(3 * 3600 + 5 * 60).to_string(), "3 h 5 min");
        assert_eq!(age(2 * 86_400 + 4 * 3600 + 59).to_string(), "2 d 4 h");
        assert_eq!(age(86_400 + 59 * 60).to_string(), "1 d");
        let made: Timestamp = "2026-12-01T06:00:00Z".parse().unwrap();
        let now: Timestamp = "2026-12-03T10:30:00Z".parse().unwrap();
        let mut behind = TargetReport::new("http://a", Status::Behind);
        behind.commit = Some("8d1e0a4b5c6d7e8f9a0b1c2d3e4f5a6b7c8d9e0f".into());
        behind.behind = Some(3);
        let mut drift = Drift::since_commit(&shipstamp_check::Commit::new(
            "64b8e19aa0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5",
        ));
        assert!(drift.is_none(), "no time, no age");
        let mut fix = shipstamp_check::Commit::new("64b8e19aa0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5");
        fix.time = Some(made);
        fix.subject = Some("Fix double emit".into());
        drift = Drift::since_commit(&fix);
        behind.drift = drift.map(std::sync::Arc::new);
        let age_now = DriftAge::of(&behind, None, now);
        assert_eq!(
            detail(&behind, "main", age_now).to_string(),
            "8d1e0a4  3 commits behind main; behind 3 for 2 d 4 h, since 64b8e19 \"Fix double emit\""
        );
        // Seen beginning later than the commit was made: since then, and both said.
        let seen: Timestamp = "2026-12-03T10:25:00Z".parse().unwrap();
        let later = DriftAge::of(&behind, Some(seen), now).unwrap();
        assert_eq!(later.seconds(), 300);
        assert_eq!(
            later.to_string(),
            "for 5 min, since 2026-12-03T10:25:00Z (seen beginning; the oldest commit it lacks, \
             64b8e19 \"Fix double emit\", was made 2 d 4 h before)"
        );
        // Seen beginning earlier than the commit (it was in drift when first seen): the commit.
        let earlier: Timestamp = "2026-11-30T00:00:00Z".parse().unwrap();
        assert_eq!(
            DriftAge::of(&behind, Some(earlier), now).unwrap().since(),
            made
        );
    }

    #[test]
    fn drift_sorts_first_and_matches_last() {
        let mut order = [
            Status::Match,
            Status::Unreachable,
            Status::Behind,
            Status::Diverged,
            Status::UnknownCommit,
            Status::Dirty,
        ];
        order.sort_by_key(|s| rank(*s));
        assert_eq!(
            order,
            [
                Status::Diverged,
                Status::Dirty,
                Status::Behind,
                Status::Unreachable,
                Status::UnknownCommit,
                Status::Match
            ]
        );
    }
}
