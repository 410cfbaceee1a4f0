use std::path::Path;
use std::process::Command;

use super::*;

/// git in `dir`, as a test user, on a fixed clock (ids repeat across runs).
fn git(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_AUTHOR_NAME", "T")
        .env("GIT_AUTHOR_EMAIL", "t@example.com")
        .env("GIT_COMMITTER_NAME", "T")
        .env("GIT_COMMITTER_EMAIL", "t@example.com")
        .env("GIT_AUTHOR_DATE", "2026-11-22T10:00:00Z")
        .env("GIT_COMMITTER_DATE", "2026-11-22T10:00:00Z")
        .output()
        .expect("git runs");
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

/// Writes `file` with `text` and commits it as `message`: the new commit's id.
fn commit(dir: &Path, file: &str, text: &str, message: &str) -> String {
    std::fs::write(dir.join(file), text).unwrap();
    git(dir, &["add", "-A"]);
    git(dir, &["commit", "-q", "-m", message]);
    git(dir, &["rev-parse", "HEAD"])
}

/// main: a - fix - b - c; release (from a): r1 - pick(fix); pr (from b): p1 - p2, squashed
/// into main as `squash`; topic (from a): t1, merged into main as `merge`.
struct History {
    _dir: tempfile::TempDir,
    repo: Repo,
    a: String,
    fix: String,
    c: String,
    r1: String,
    pick: String,
    p1: String,
    p2: String,
    squash: String,
    t1: String,
    merge: String,
}

fn history() -> History {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    git(d, &["init", "-q", "-b", "main"]);
    let a = commit(d, "a.txt", "a\n", "a");
    let fix = commit(d, "fix.txt", "the fix\n", "Fix double emit");
    commit(d, "b.txt", "b\n", "b");
    let c = commit(d, "c.txt", "c\n", "c");
    git(d, &["checkout", "-q", "-b", "release", &a]);
    let r1 = commit(d, "r.txt", "r\n", "r1");
    git(d, &["cherry-pick", &fix]);
    let pick = git(d, &["rev-parse", "HEAD"]);
    git(d, &["checkout", "-q", "-b", "pr", &c]);
    let p1 = commit(d, "p.txt", "p1\n", "p1");
    let p2 = commit(d, "q.txt", "p2\n", "p2");
    git(d, &["checkout", "-q", "main"]);
    git(d, &["merge", "-q", "--squash", "pr"]);
    git(d, &["commit", "-q", "-m", "Squashed PR"]);
    let squash = git(d, &["rev-parse", "HEAD"]);
    git(d, &["checkout", "-q", "-b", "topic", &a]);
    let t1 = commit(d, "t.txt", "t\n", "t1");
    git(d, &["checkout", "-q", "main"]);
    git(d, &["merge", "-q", "--no-ff", "-m", "Merge topic", "topic"]);
    let merge = git(d, &["rev-parse", "HEAD"]);
    let repo = Repo::open(d).unwrap();
    History {
        _dir: dir,
        repo,
        a,
        fix,
        c,
        r1,
        pick,
        p1,
        p2,
        squash,
        t1,
        merge,
    }
}

#[test]
fn ancestry_cherry_picks_squashes_and_merges() {
    let h = history();
    let known = KnownChanges::default();
    let at = |served: &str, named: &str| h.repo.containment(served, named, &known).unwrap();
    // Ancestor and equal.
    assert_eq!(at(&h.c, &h.fix), Containment::Ancestor);
    assert_eq!(at(&h.fix, &h.fix), Containment::Ancestor);
    // Three commits past the fix: contains it.
    assert_eq!(at(&h.merge, &h.fix), Containment::Ancestor);
    // A release branch without the fix, and the same branch after the cherry-pick.
    assert_eq!(
        at(&h.r1, &h.fix),
        Containment::Missing {
            before: None,
            capped: false
        }
    );
    assert_eq!(
        at(&h.pick, &h.fix),
        Containment::SameChange {
            carrier: h.pick.clone()
        }
    );
    // A squash merge, named by the pull request's commits: its last one carries the whole
    // change since the branch left main; its first alone is not the squash's change.
    assert_eq!(
        at(&h.squash, &h.p2),
        Containment::SameChange {
            carrier: h.squash.clone()
        }
    );
    assert!(matches!(at(&h.squash, &h.p1), Containment::Missing { .. }));
    // A merge commit: an ancestor of what runs, or not.
    assert_eq!(at(&h.merge, &h.merge), Containment::Ancestor);
    assert_eq!(at(&h.merge, &h.t1), Containment::Ancestor);
    assert!(matches!(at(&h.c, &h.merge), Containment::Missing { .. }));
    // Before the fix on its own line: how many commits before it.
    assert_eq!(
        at(&h.a, &h.fix),
        Containment::Missing {
            before: Some(1),
            capped: false
        }
    );
    assert_eq!(
        at(&h.a, &h.c),
        Containment::Missing {
            before: Some(3),
            capped: false
        }
    );
}
