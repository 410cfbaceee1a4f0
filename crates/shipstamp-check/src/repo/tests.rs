use super::*;

/// A repository with `n` commits on `main`, made in one `git fast-import` with fixed times
/// and identity, so the ids are the same on every machine.
fn repo_with_commits(n: usize) -> (tempfile::TempDir, Repo, Vec<String>) {
    let dir = tempfile::tempdir().unwrap();
    let git = |args: &[&str], input: Option<&str>| -> String {
        let mut child = Command::new("git")
            .arg("-C")
            .arg(dir.path())
            .args(args)
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("GIT_CONFIG_GLOBAL", "/dev/null")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let mut stdin = child.stdin.take().unwrap();
        stdin.write_all(input.unwrap_or("").as_bytes()).unwrap();
        drop(stdin);
        let out = child.wait_with_output().unwrap();
        assert!(out.status.success(), "git {args:?}");
        String::from_utf8(out.stdout).unwrap()
    };
    git(&["init", "-q", "-b", "main"], None);
    let mut stream = String::new();
    for i in 0..n {
        let message = format!("c{i}\n");
        let from = if i == 0 {
            String::new()
        } else {
            format!("from :{i}\n")
        };
        stream.push_str(&format!(
            "commit refs/heads/main\nmark :{}\ncommitter T <t@example.com> {} +0000\ndata {}\n{message}{from}M 644 inline f\ndata {}\n{i}\n\n",
            i + 1,
            1_700_000_000 + i,
            message.len(),
            i.to_string().len() + 1,
        ));
    }
    git(&["fast-import", "--quiet"], Some(&stream));
    let ids = git(&["rev-list", "--reverse", "main"], None)
        .lines()
        .map(str::to_owned)
        .collect();
    let repo = Repo::open(dir.path()).unwrap();
    (dir, repo, ids)
}

#[test]
fn not_a_repository() {
    let dir = tempfile::tempdir().unwrap();
    let err = Repo::open(dir.path()).unwrap_err();
    assert_eq!(err.kind(), RepoErrorKind::NotARepository, "{err}");
    assert!(
        err.to_string().ends_with("is not in a git repository"),
        "{err}"
    );
    let err = Repo::open(dir.path().join("missing")).unwrap_err();
    assert_eq!(err.kind(), RepoErrorKind::NotARepository, "{err}");
    assert!(err.to_string().ends_with("is not a directory"), "{err}");
}

#[test]
fn refs_resolve_or_say_why_not() {
    let (_dir, repo, ids) = repo_with_commits(400);
    let head = repo.resolve_ref("main").unwrap();
    assert_eq!(head.id, ids[399]);
    assert_eq!(head.subject.as_deref(), Some("c399"));
    assert_eq!(head.time.map(|t| t.unix_seconds()), Some(1_700_000_399));
    assert_eq!(repo.resolve_ref(&ids[3][..10]).unwrap().id, ids[3]);
    for name in ["no-such-branch", "", "-n", "main\nHEAD", "0000000"] {
        let err = repo.resolve_ref(name).unwrap_err();
        assert_eq!(err.kind(), RepoErrorKind::UnknownRef, "{name:?}: {err}");
    }
    // 400 commits share many 4-digit prefixes.
    let mut sorted = ids.clone();
    sorted.sort();
    let prefix = sorted
        .windows(2)
        .find(|w| w[0][..4] == w[1][..4])
        .map(|w| w[0][..4].to_owned())
        .expect("a shared prefix among 400 commits");
    let err = repo.resolve_ref(&prefix).unwrap_err();
    assert_eq!(err.kind(), RepoErrorKind::AmbiguousRef, "{err}");
    assert!(err.to_string().contains("names several commits"), "{err}");

    let lookups = repo
        .lookup(&[&ids[7], &ids[8][..7], &"e".repeat(40), &prefix])
        .unwrap();
    assert_eq!(
        lookups,
        [
            Lookup::Found(ids[7].clone()),
            Lookup::Found(ids[8].clone()),
            Lookup::Missing,
            Lookup::Ambiguous
        ]
    );
}

#[test]
fn relations_and_their_counts() {
    let (_dir, repo, ids) = repo_with_commits(10);
    assert_eq!(repo.relation(&ids[9], &ids[9]).unwrap(), Relation::Same);
    assert_eq!(
        repo.relation(&ids[2], &ids[9]).unwrap(),
        Relation::Behind(7)
    );
    assert_eq!(repo.relation(&ids[9], &ids[6]).unwrap(), Relation::Ahead(3));
    let facts = repo
        .commit_facts(&[ids[1].clone(), ids[0].clone()])
        .unwrap();
    assert_eq!(
        facts
            .iter()
            .map(|c| c.subject.as_deref())
            .collect::<Vec<_>>(),
        [Some("c1"), Some("c0")]
    );
}

#[test]
fn a_damaged_repository_is_git_failing() {
    let (dir, repo, _) = repo_with_commits(2);
    std::fs::write(dir.path().join(".git/HEAD"), "garbage\n").unwrap();
    let err = repo.resolve_ref("main").unwrap_err();
    assert_eq!(err.kind(), RepoErrorKind::GitFailed, "{err}");
    assert!(err.git_stderr().is_some_and(|s| !s.is_empty()), "{err}");
}

#[test]
fn state_changes_when_commits_can_arrive() {
    let (dir, repo, _) = repo_with_commits(2);
    let before = repo.state();
    assert_eq!(repo.state(), before, "reading the state changes nothing");
    std::fs::write(dir.path().join(".git/FETCH_HEAD"), "x\n").unwrap();
    assert_ne!(repo.state(), before);
}
