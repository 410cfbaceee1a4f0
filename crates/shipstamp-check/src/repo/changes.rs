//! Whether a commit's change is in another commit's history: by ancestry, or by the same change
//! (`git patch-id --stable`) since the two histories parted, as a cherry-pick, a rebase or a
//! squash merge brings it.

use super::{Repo, RepoError};

#[cfg(test)]
mod tests;

/// The most commits searched for the same change since the histories parted: a release branch
/// or a long-lived fork is rarely further from its base, and the search is one `git log -p`.
pub(crate) const MAX_SEARCHED: usize = 2000;

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
    /// second. `None` for an empty change.
    pub(crate) fn patch_ids_of(
        &self,
        commit: &str,
        since: Option<&str>,
    ) -> Result<Vec<String>, RepoError> {
        let parent = format!("{commit}^1");
        let has_parent = self
            .run_status(&[
                "rev-parse",
                "--verify",
                "--quiet",
                "--end-of-options",
                &parent,
            ])?
            .0;
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
            let parent_id = if has_parent {
                Some(self.run(
                    &["rev-parse", "--verify", "--end-of-options", &parent],
                    None,
                )?)
            } else {
                None
            };
            if parent_id.as_deref() != Some(base) && base != commit {
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
    /// [`MAX_SEARCHED`], each with its patch-id; and whether there were more.
    pub(crate) fn patch_ids_since(
        &self,
        base: Option<&str>,
        tip: &str,
    ) -> Result<(Vec<(String, String)>, bool), RepoError> {
        let range = match base {
            Some(base) => format!("{base}..{tip}"),
            None => tip.to_owned(),
        };
        let cap = (MAX_SEARCHED + 1).to_string();
        let listed = self.run(
            &[
                "rev-list",
                "--no-merges",
                "--max-count",
                &cap,
                "--end-of-options",
                &range,
            ],
            None,
        )?;
        let capped = listed.lines().count() > MAX_SEARCHED;
        let max = MAX_SEARCHED.to_string();
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
            return Ok((Vec::new(), capped));
        }
        let ids = self.run(&["patch-id", "--stable"], Some(&log))?;
        let pairs = ids
            .lines()
            .filter_map(|l| {
                let (patch, commit) = l.split_once(' ')?;
                Some((patch.to_owned(), commit.trim().to_owned()))
            })
            .collect();
        Ok((pairs, capped))
    }

    /// Where the change of the full commit `named` is, as seen from the full commit `served`.
    pub(crate) fn containment(&self, served: &str, named: &str) -> Result<Containment, RepoError> {
        if self.is_ancestor(named, served)? {
            return Ok(Containment::Ancestor);
        }
        let base = self.merge_base(served, named)?;
        let wanted = self.patch_ids_of(named, base.as_deref())?;
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
        let before = if self.is_ancestor(served, named)? {
            let range = format!("{served}..{named}");
            let n = self.run(&["rev-list", "--count", "--end-of-options", &range], None)?;
            n.trim().parse().ok()
        } else {
            None
        };
        Ok(Containment::Missing { before, capped })
    }
}
