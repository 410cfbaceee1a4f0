//! Whether a commit's change is in another commit's history: by ancestry, or by the same change
//! (`git patch-id --stable`) since the two histories parted, as a cherry-pick, a rebase or a
//! squash merge brings it.

use super::{Repo, RepoError};

#[cfg(test)]
mod tests;

/// The most commits searched for the same change since the histories parted: a release branch
/// or a long-lived fork is rarely further from its base, and the search is one `git log -p`.
pub(crate) const MAX_SEARCHED: usize = 2000;

/// The patch-ids of named commits' changes, by (named commit, the base they are taken since):
/// shared by the questions of one checker (and its threads).
pub(crate) type KnownChanges =
    std::sync::Mutex<std::collections::HashMap<(String, Option<String>), Vec<String>>>;

/// Where a named commit's change is, as seen from a served commit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Containment {
    /// The named commit is the served one, or one of its ancestors.
    Ancestor,
    /// The same change is in the served history, as this commit.
    SameChange { carrier: String },
    /// The change is not there. `before`: the served commit is an ancestor of the named one,
    /// this many commits before it. `capped`: the search for the same change stopped at
    /// [`MAX_SEARCHED`] commits.
    Missing { before: Option<u64>, capped: bool },
}

impl Repo {
    /// Whether `ancestor` is an ancestor of, or the same as, `descendant`: one git process.
    pub(crate) fn is_ancestor(&self, ancestor: &str, descendant: &str) -> Result<bool, RepoError> {
        Ok(self
            .run_status(&[
                "merge-base",
                "--is-ancestor",
                "--end-of-options",
                ancestor,
                descendant,
            ])?
            .0)
    }

    /// The patch-ids of the change `commit` makes (against its first parent; a root commit
    /// against nothing), and, when `since` is given and is not its parent, of everything
    /// between `since` and it: a squash merge of a branch that ended at `commit` carries the
    /// second. Empty for an empty change.
    pub(crate) fn patch_ids_of(
        &self,
        commit: &str,
        since: Option<&str>,
    ) -> Result<Vec<String>, RepoError> {
        let (has_parent, parent) = self.run_status(&[
            "rev-parse",
            "--verify",
            "--quiet",
            "--end-of-options",
            &format!("{commit}^1"),
        ])?;
        let own = if has_parent {
            self.diff_patch_id(&parent, commit)?
        } else {
            let diff = self.run_raw(&[
                "diff-tree",
                "-p",
                "--root",
                "--no-commit-id",
                "--no-color",
                "--no-ext-diff",
                "--end-of-options",
                commit,
            ])?;
            self.patch_id(&diff)?
        };
        let mut ids: Vec<String> = own.into_iter().collect();
        if let Some(base) = since {
            if (!has_parent || parent != base) && base != commit {
                if let Some(whole) = self.diff_patch_id(base, commit)? {
                    if !ids.contains(&whole) {
                        ids.push(whole);
                    }
                }
            }
        }
        Ok(ids)
    }

    /// The patch-id of the diff between two commits.
    fn diff_patch_id(&self, from: &str, to: &str) -> Result<Option<String>, RepoError> {
        let diff = self.run_raw(&[
            "diff",
            "--no-color",
            "--no-ext-diff",
            "--end-of-options",
            from,
            to,
        ])?;
        self.patch_id(&diff)
    }

    /// `git patch-id --stable` of a diff; `None` for an empty one.
    fn patch_id(&self, diff: &str) -> Result<Option<String>, RepoError> {
        if diff.trim().is_empty() {
            return Ok(None);
        }
        let out = self.run(&["patch-id", "--stable"], Some(diff))?;
        Ok(out.split_whitespace().next().map(str::to_owned))
    }

    /// The non-merge commits reachable from `tip` and not from `base`, newest first, at most
    /// [`MAX_SEARCHED`], each with its patch-id; and whether there were more. Two processes.
    pub(crate) fn patch_ids_since(
        &self,
        base: Option<&str>,
        tip: &str,
    ) -> Result<(Vec<(String, String)>, bool), RepoError> {
        let range = match base {
            Some(base) => format!("{base}..{tip}"),
            None => tip.to_owned(),
        };
        // One more than searched, to know whether there were more.
        let max = (MAX_SEARCHED + 1).to_string();
        let log = self.run_raw(&[
            "-c",
            "log.showSignature=false",
            "log",
            "-p",
            "--no-merges",
            "--no-color",
            "--no-ext-diff",
            "--format=commit %H",
            "--max-count",
            &max,
            "--end-of-options",
            &range,
        ])?;
        if log.trim().is_empty() {
            return Ok((Vec::new(), false));
        }
        let ids = self.run(&["patch-id", "--stable"], Some(&log))?;
        let mut pairs: Vec<(String, String)> = ids
            .lines()
            .filter_map(|l| {
                let (patch, commit) = l.split_once(' ')?;
                Some((patch.to_owned(), commit.trim().to_owned()))
            })
            .collect();
        // Commits without a change (empty ones) have no patch-id: counted from the log.
        let listed = log.lines().filter(|l| l.starts_with("commit ")).count();
        let capped = listed > MAX_SEARCHED;
        if capped {
            pairs.retain(|(_, commit)| {
                log.lines()
                    .filter(|l| l.starts_with("commit "))
                    .take(MAX_SEARCHED)
                    .any(|l| l.ends_with(commit.as_str()))
            });
        }
        Ok((pairs, capped))
    }

    /// Where the change of the full commit `named` is, as seen from the full commit `served`.
    /// `known` keeps the patch-ids of named changes, which many served commits share.
    pub(crate) fn containment(
        &self,
        served: &str,
        named: &str,
        known: &KnownChanges,
    ) -> Result<Containment, RepoError> {
        if self.is_ancestor(named, served)? {
            return Ok(Containment::Ancestor);
        }
        let base = self.merge_base(served, named)?;
        let key = (named.to_owned(), base.clone());
        let cached = known
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&key)
            .cloned();
        let wanted = match cached {
            Some(ids) => ids,
            None => {
                let ids = self.patch_ids_of(named, base.as_deref())?;
                known
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .insert(key, ids.clone());
                ids
            }
        };
        let (seen, capped) = if wanted.is_empty() {
            (Vec::new(), false)
        } else {
            self.patch_ids_since(base.as_deref(), served)?
        };
        if let Some((_, carrier)) = seen.iter().find(|(patch, _)| wanted.contains(patch)) {
            return Ok(Containment::SameChange {
                carrier: carrier.clone(),
            });
        }
        // The served commit is an ancestor of the named one when it has nothing the named one
        // lacks: then it is this many commits before it.
        let range = format!("{served}...{named}");
        let counts = self.run(
            &[
                "rev-list",
                "--left-right",
                "--count",
                "--end-of-options",
                &range,
            ],
            None,
        )?;
        let mut counts = counts.split_whitespace().map(str::parse::<u64>);
        let before = match (counts.next(), counts.next()) {
            (Some(Ok(0)), Some(Ok(behind))) => Some(behind),
            _ => None,
        };
        Ok(Containment::Missing { before, capped })
    }
}
