//! Holding what instances run against a ref, round after round: sources observed side by side,
//! then judged with git's answers, which are kept across rounds.

use std::collections::HashMap;
use std::sync::Arc;

use shipstamp_format::is_repository_relative;

use crate::probe::Http;
use crate::repo::{
    Commit, Containment, KnownChanges, Lookup, Relation, Repo, RepoError, RepoState,
};
use crate::report::{Drift, Expected, Observation, Options, TargetReport};
use crate::source::{Context, Source, SourceError};
use crate::target::Target;
use crate::threads::{Limiter, join, map_in_parallel, map_on_threads};
use crate::verdict::{self, Answer, Standing, Within};

/// git processes run at once for one round's questions: a fleet in the middle of rollouts runs
/// tens of builds.
const GIT_AT_ONCE: usize = 4;

/// Checks every target against `reference` once: [`Checker::check`] with a checker made for
/// this call. Results come back in the order of `targets`.
pub fn check(
    targets: &[Target],
    repo: &Repo,
    reference: &Commit,
    options: &Options,
) -> Result<Vec<TargetReport>, RepoError> {
    Checker::new(repo.clone(), options.clone()).check(targets, reference)
}

/// Checks targets against a ref, round after round: one HTTP agent, and git's answers kept
/// across rounds.
///
/// What git says about a commit does not change, so each served commit is looked up once and
/// each (served commit, ref commit) pair is counted once. In steady state, when nothing served
/// changes and the ref does not move, a round (resolving the ref, then checking) starts one
/// `git` process, whatever the number of targets and commits. A served commit the repository
/// lacks is asked about again once the repository changes (a fetch, a commit, a new pack).
///
/// ```no_run
/// use shipstamp_check::{Checker, Options, Repo, Status, Target};
///
/// let mut checker = Checker::new(Repo::open(".")?, Options::default());
/// let targets = ["https://orders-1.internal/version".parse::<Target>()?];
/// loop {
///     let reference = checker.resolve_ref("origin/main")?;
///     let reports = checker.check(&targets, &reference)?;
///     let matching = reports.iter().filter(|r| r.status == Status::Match).count();
///     println!("{matching} of {} match", reports.len());
///     std::thread::sleep(std::time::Duration::from_secs(5));
/// }
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct Checker {
    repo: Repo,
    options: Options,
    http: Http,
    /// Served ids (as served) the repository has, with their full commit.
    found: HashMap<String, String>,
    /// Time and subject of full commit ids.
    commits: HashMap<String, Commit>,
    /// (served commit, ref commit) → relation, in a full clone.
    relations: HashMap<(String, String), Relation>,
    /// (served commit, ref commit, paths) → relation counting commits under the paths, in a
    /// full clone.
    scoped_relations: HashMap<ScopedKey, Relation>,
    /// (served commit, commit asked about) → where its change is, in a full clone.
    containments: HashMap<(String, String), Containment>,
    /// (served commit, ref commit, paths) → the oldest commit of the ref's history the served
    /// one lacks, in a full clone.
    missing: HashMap<ScopedKey, Option<String>>,
    /// The ref's recent history, for processes without a stamp judged by when they started.
    recent: Option<Recent>,
    /// The patch-ids of the changes asked about.
    changes: KnownChanges,
    /// What holds only until the repository changes.
    volatile: Volatile,
    /// Judgements so far.
    judgements: u64,
    /// The last judgement that used each commit id (as served, full, the ref's, the oldest
    /// missing): what none has used for [`FORGET_AFTER_JUDGEMENTS`] is forgotten, so that a
    /// watcher that runs for weeks, while refs move and builds come and go, stays bounded.
    last_used: HashMap<String, u64>,
}

/// How many judgements a commit no judgement used stays cached: a dashboard judges once per
/// round and cell, so this is minutes to an hour of rounds; forgetting costs a git process if
/// the commit is served again.
const FORGET_AFTER_JUDGEMENTS: u64 = 512;

/// Answers that hold only as long as the repository does not change: lookups that found
/// nothing (a fetch may bring the commit), and, in a shallow clone, its boundary and the
/// relations counted within it (a deeper fetch changes them).
#[derive(Debug, Default)]
struct Volatile {
    state: Option<RepoState>,
    not_found: HashMap<String, Lookup>,
    boundary: Vec<String>,
    shallow_relations: HashMap<(String, String), Relation>,
    shallow_scoped_relations: HashMap<ScopedKey, Relation>,
    shallow_containments: HashMap<(String, String), Containment>,
    shallow_missing: HashMap<ScopedKey, Option<String>>,
}

/// The commits of a ref's history made since some time (within some paths), oldest first.
#[derive(Debug)]
struct Recent {
    reference: String,
    paths: Vec<String>,
    since: i64,
    commits: Vec<(String, i64)>,
}

impl Checker {
    /// A checker for targets built from `repo`.
    pub fn new(repo: Repo, options: Options) -> Checker {
        Checker {
            #[cfg(feature = "http")]
            http: crate::fetch::Fetcher::new(options.timeout, options.resolver.clone()),
            #[cfg(not(feature = "http"))]
            http: Http,
            repo,
            options,
            found: HashMap::new(),
            commits: HashMap::new(),
            relations: HashMap::new(),
            scoped_relations: HashMap::new(),
            containments: HashMap::new(),
            missing: HashMap::new(),
            recent: None,
            changes: KnownChanges::default(),
            volatile: Volatile::default(),
            judgements: 0,
            last_used: HashMap::new(),
        }
    }

    /// The repository.
    pub fn repo(&self) -> &Repo {
        &self.repo
    }

    /// The options.
    pub fn options(&self) -> &Options {
        &self.options
    }

    /// Resolves `name` to a commit, as [`Repo::resolve_ref`] does; the commit's time and
    /// subject are asked once per commit, so this starts one `git` process when the ref has
    /// not moved.
    pub fn resolve_ref(&mut self, name: &str) -> Result<Commit, RepoError> {
        let id = self.repo.resolve_ref_id(name)?;
        self.learn_facts(std::slice::from_ref(&id))?;
        Ok(self.commit(&id))
    }

    /// Checks every target against `reference`, [`Options::concurrency`] at a time. Results
    /// come back in the order of `targets`.
    ///
    /// A target that does not answer, or answers something that is not a version document, is
    /// a report with that status. The error is for the repository: git failed (it is missing,
    /// the repository is damaged or gone), and no target can be judged.
    pub fn check(
        &mut self,
        targets: &[Target],
        expected: impl Into<Expected>,
    ) -> Result<Vec<TargetReport>, RepoError> {
        let limiter = Limiter::new(self.options.concurrency);
        let context = Context::new(&self.options, &limiter, &self.http);
        let observations = context.observe_targets(targets);
        self.judge(&observations, expected)
    }

    /// Observes every source, side by side, within one limit of [`Options::concurrency`]
    /// requests for all of them: the observations of each, or why it could say nothing, in the
    /// order of `sources`. (A source that fails does not stop the others.)
    pub fn observe(&self, sources: &[&dyn Source]) -> Vec<Result<Vec<Observation>, SourceError>> {
        let limiter = Limiter::new(self.options.concurrency);
        let context = Context::new(&self.options, &limiter, &self.http);
        match sources {
            [] => Vec::new(),
            [one] => vec![one.observe(&context)],
            many => std::thread::scope(|scope| {
                let handles: Vec<_> = many
                    .iter()
                    .map(|source| {
                        let context = &context;
                        scope.spawn(move || source.observe(context))
                    })
                    .collect();
                handles.into_iter().map(join).collect()
            }),
        }
    }

    /// Holds what instances were observed to run against `reference`: one report per
    /// observation, in order. Git is asked once per distinct commit served, and only what it
    /// has not answered before.
    ///
    /// `expected` is a ref's commit (`&reference`: `match`, `behind`, …), the same within some
    /// paths ([`Expected::RefWithin`]), or [`Expected::Contains`] (`includes`, `lacks`).
    pub fn judge(
        &mut self,
        observations: &[Observation],
        expected: impl Into<Expected>,
    ) -> Result<Vec<TargetReport>, RepoError> {
        let expected = expected.into();
        self.judgements += 1;
        let given = match &expected {
            Expected::RefWithin { paths, .. } => Some(scope_paths(paths)),
            _ => None,
        };
        // What each observation's commit is held against the ref within.
        let scopes: Vec<Option<Within>> = observations
            .iter()
            .map(|o| match (&given, &expected, &o.outcome) {
                (Some(given), _, _) => given.clone().map(|paths| Within {
                    paths,
                    from_build: false,
                }),
                (None, Expected::Ref(_), Ok(served)) => served
                    .paths
                    .as_deref()
                    .filter(|paths| paths.iter().all(|p| is_repository_relative(p)))
                    .and_then(scope_paths)
                    .map(|paths| Within {
                        paths,
                        from_build: true,
                    }),
                _ => None,
            })
            .collect();
        let mut keys: Vec<StandingKey<'_>> = observations
            .iter()
            .zip(&scopes)
            .filter_map(|(o, scope)| {
                let served = o.outcome.as_ref().ok()?;
                Some((served.commit.as_str(), scope.as_ref()))
            })
            .collect();
        keys.sort_unstable();
        keys.dedup();
        let standings = self.standings(&keys, &expected)?;
        let recent = self.recent_for(observations, &expected, given.as_ref())?;
        let asked: &[Commit] = match &expected {
            Expected::Ref(c) | Expected::RefWithin { reference: c, .. } => std::slice::from_ref(c),
            Expected::Contains(named) => named,
        };
        for commit in asked.iter().chain(&recent) {
            self.used(&commit.id);
        }
        if self.judgements % (FORGET_AFTER_JUDGEMENTS / 4) == 0 {
            self.forget_unused();
        }
        let allow_dirty = self.options.allow_dirty;
        let judged: Vec<(&Observation, &Option<Within>)> =
            observations.iter().zip(&scopes).collect();
        Ok(map_in_parallel(&judged, |(o, scope)| {
            let standing = o
                .outcome
                .as_ref()
                .ok()
                .and_then(|s| standings.get(&(s.commit.as_str(), scope.as_ref())));
            verdict::judge(o, standing, &expected, allow_dirty, &recent)
        }))
    }

    /// Notes that this judgement used `id`.
    fn used(&mut self, id: &str) {
        match self.last_used.get_mut(id) {
            Some(last) => *last = self.judgements,
            None => {
                self.last_used.insert(id.to_owned(), self.judgements);
            }
        }
    }

    /// Forgets every answer about a commit no judgement used for [`FORGET_AFTER_JUDGEMENTS`].
    fn forget_unused(&mut self) {
        let before = self.judgements.saturating_sub(FORGET_AFTER_JUDGEMENTS);
        self.last_used.retain(|_, last| *last > before);
        let used = &self.last_used;
        let used = |id: &str| used.contains_key(id);
        let pair = |(s, r): &(String, String)| used(s) && used(r);
        let triple = |(s, r, _): &ScopedKey| used(s) && used(r);
        self.found.retain(|_, full| used(full));
        self.commits.retain(|id, _| used(id));
        self.relations.retain(|k, _| pair(k));
        self.containments.retain(|k, _| pair(k));
        self.scoped_relations.retain(|k, _| triple(k));
        self.missing.retain(|k, _| triple(k));
        let v = &mut self.volatile;
        v.not_found.retain(|id, _| used(id));
        v.shallow_relations.retain(|k, _| pair(k));
        v.shallow_containments.retain(|k, _| pair(k));
        v.shallow_scoped_relations.retain(|k, _| triple(k));
        v.shallow_missing.retain(|k, _| triple(k));
    }

    /// The ref's commits made since the earliest start of a process without a stamp that
    /// started before the ref's commit (a `stale` one), oldest first, with their facts: which
    /// of them it misses says since when. Kept while the ref, the paths and that start hold.
    fn recent_for(
        &mut self,
        observations: &[Observation],
        expected: &Expected,
        given: Option<&Option<Vec<String>>>,
    ) -> Result<Vec<Commit>, RepoError> {
        let Some(reference) = expected.reference() else {
            return Ok(Vec::new());
        };
        let Some(made) = reference.time else {
            return Ok(Vec::new());
        };
        let starts: Vec<i64> = observations
            .iter()
            .filter(|o| matches!(&o.outcome, Err(f) if f.status == crate::Status::Unstamped))
            .filter_map(Observation::started_at)
            .filter(|started| *started < made)
            .map(|started| started.unix_seconds())
            .collect();
        let Some(earliest) = starts.iter().min() else {
            return Ok(Vec::new());
        };
        // Commits made after a process started: at least a second later.
        let since = earliest + 1;
        let paths = given.cloned().flatten().unwrap_or_default();
        let known = self
            .recent
            .as_ref()
            .is_some_and(|r| r.reference == reference.id && r.paths == paths && r.since <= since);
        if !known {
            let Ok(mut commits) = self.repo.commits_since(&reference.id, since, &paths) else {
                // Unsaid, as above.
                return Ok(Vec::new());
            };
            commits.sort_by_key(|(_, time)| *time);
            self.recent = Some(Recent {
                reference: reference.id.clone(),
                paths,
                since,
                commits,
            });
        }
        let Some(recent) = &self.recent else {
            return Ok(Vec::new());
        };
        // For each start, the oldest commit made after it.
        let mut ids: Vec<String> = starts
            .iter()
            .filter_map(|start| {
                let at = recent.commits.partition_point(|(_, time)| *time <= *start);
                recent.commits.get(at).map(|(id, _)| id.clone())
            })
            .collect();
        ids.sort_unstable();
        ids.dedup();
        self.learn_facts(&ids)?;
        let mut commits: Vec<Commit> = ids.iter().map(|id| self.commit(id)).collect();
        commits.sort_by_key(|c| c.time);
        Ok(commits)
    }

    /// Where each served id stands against what is expected (within its scope, if any),
    /// asking git only what it has not answered before.
    fn standings<'a>(
        &mut self,
        keys: &[StandingKey<'a>],
        expected: &Expected,
    ) -> Result<HashMap<StandingKey<'a>, Standing>, RepoError> {
        let state = self.repo.state();
        if self.volatile.state != Some(state) {
            self.volatile = Volatile {
                state: Some(state),
                boundary: self.repo.shallow_boundary(),
                ..Volatile::default()
            };
        }
        let mut ids: Vec<&str> = keys.iter().map(|(id, _)| *id).collect();
        ids.dedup();
        let new: Vec<&str> = ids
            .iter()
            .copied()
            .filter(|id| {
                !self.found.contains_key(*id) && !self.volatile.not_found.contains_key(*id)
            })
            .collect();
        if !new.is_empty() {
            for (id, lookup) in new.iter().zip(self.repo.lookup(&new)?) {
                match lookup {
                    Lookup::Found(full) => {
                        self.found.insert((*id).to_owned(), full);
                    }
                    other => {
                        self.volatile.not_found.insert((*id).to_owned(), other);
                    }
                }
            }
        }
        let mut full: Vec<String> = ids
            .iter()
            .filter_map(|id| self.found.get(*id).cloned())
            .collect();
        full.sort_unstable();
        full.dedup();
        self.learn_facts(&full)?;
        match expected {
            Expected::Ref(reference) | Expected::RefWithin { reference, .. } => {
                self.learn_relations(&full, &reference.id)?;
                let scoped: Vec<(String, &[String])> = keys
                    .iter()
                    .filter_map(|(id, scope)| {
                        Some((
                            self.found.get(*id)?.clone(),
                            scope.as_ref()?.paths.as_slice(),
                        ))
                    })
                    .collect();
                self.learn_scoped_relations(&scoped, &reference.id)?;
            }
            Expected::Contains(named) => self.learn_containments(&full, named)?,
        }
        let shallow = !self.volatile.boundary.is_empty();
        let mut answers: Vec<(StandingKey<'a>, Option<(String, Answer)>)> =
            Vec::with_capacity(keys.len());
        for &(id, scope) in keys {
            let Some(full) = self.found.get(id).cloned() else {
                answers.push(((id, scope), None));
                continue;
            };
            let answer = match expected {
                Expected::Ref(reference) | Expected::RefWithin { reference, .. } => {
                    let whole = self.relation(&full, &reference.id)?;
                    match scope {
                        None => Answer::Relation(whole),
                        Some(within) => Answer::Within {
                            relation: self.scoped_relation(
                                &full,
                                &reference.id,
                                &within.paths,
                                &whole,
                            )?,
                            whole,
                            within: within.clone(),
                        },
                    }
                }
                Expected::Contains(named) => Answer::Containment {
                    each: named
                        .iter()
                        .map(|n| self.containment(&full, &n.id))
                        .collect::<Result<_, _>>()?,
                    shallow,
                },
            };
            answers.push(((id, scope), Some((full, answer))));
        }
        // Since when each build that is behind or diverged has been missing something.
        let lacking: Vec<(String, &[String])> = answers
            .iter()
            .filter_map(|((_, scope), found)| {
                let (full, answer) = found.as_ref()?;
                let paths = scope.map_or(&[][..], |w| w.paths.as_slice());
                answer.lacks_ref_commits().then(|| (full.clone(), paths))
            })
            .collect();
        let reference = expected.reference().map(|r| r.id.clone());
        if let Some(reference) = &reference {
            self.learn_missing(&lacking, reference)?;
        }
        for &(id, _) in keys {
            self.used(id);
        }
        let mut standings = HashMap::with_capacity(keys.len());
        for (key, found) in answers {
            let standing = match found {
                Some((full, answer)) => {
                    self.used(&full);
                    let paths = key.1.map_or(&[][..], |w| w.paths.as_slice());
                    let missing = match &reference {
                        Some(reference) if answer.lacks_ref_commits() => self
                            .known_missing()
                            .get(&scoped_key(&full, reference, paths))
                            .cloned()
                            .flatten()
                            .and_then(|id| {
                                self.used(&id);
                                Drift::since_commit(&self.commit(&id))
                            })
                            .map(Arc::new),
                        _ => None,
                    };
                    Standing::Found {
                        commit: self.commit(&full),
                        answer,
                        missing,
                    }
                }
                None => Standing::NotFound {
                    lookup: self
                        .volatile
                        .not_found
                        .get(key.0)
                        .cloned()
                        .unwrap_or(Lookup::Missing),
                    shallow,
                },
            };
            standings.insert(key, standing);
        }
        Ok(standings)
    }

    /// Makes sure the oldest commit of `reference`'s history each (served commit, paths) lacks
    /// is known, with its facts: several git processes at once, once each.
    fn learn_missing(
        &mut self,
        lacking: &[(String, &[String])],
        reference: &str,
    ) -> Result<(), RepoError> {
        let mut todo: Vec<(String, &[String])> = Vec::new();
        for (served, paths) in lacking {
            let key = scoped_key(served, reference, paths);
            if !self.known_missing().contains_key(&key)
                && !todo.iter().any(|(s, p)| s == served && p == paths)
            {
                todo.push((served.clone(), paths));
            }
        }
        if !todo.is_empty() {
            let repo = &self.repo;
            let found = map_on_threads(&todo, GIT_AT_ONCE.min(todo.len()), |(s, p)| {
                repo.oldest_missing(s, reference, p)
            });
            // An age is a detail of the verdict: git failing here leaves it unsaid, not the
            // verdict (and it is asked again next round).
            for ((served, paths), oldest) in todo.into_iter().zip(found) {
                if let Ok(oldest) = oldest {
                    self.known_missing()
                        .insert(scoped_key(&served, reference, paths), oldest);
                }
            }
        }
        let ids: Vec<String> = lacking
            .iter()
            .filter_map(|(s, p)| {
                self.known_missing()
                    .get(&scoped_key(s, reference, p))
                    .cloned()
                    .flatten()
            })
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .collect();
        self.learn_facts(&ids)
    }

    /// The oldest missing commits already found, kept as [`Checker::known_relations`] are.
    fn known_missing(&mut self) -> &mut HashMap<ScopedKey, Option<String>> {
        if self.volatile.boundary.is_empty() {
            &mut self.missing
        } else {
            &mut self.volatile.shallow_missing
        }
    }

    /// Makes sure how each (served commit, paths) relates to `reference` within the paths is
    /// known, asking git for several at once.
    fn learn_scoped_relations(
        &mut self,
        scoped: &[(String, &[String])],
        reference: &str,
    ) -> Result<(), RepoError> {
        let mut missing: Vec<(String, &[String], Relation)> = Vec::new();
        for (served, paths) in scoped {
            let key = scoped_key(served, reference, paths);
            if self.known_scoped_relations().contains_key(&key)
                || missing.iter().any(|(s, p, _)| s == served && p == paths)
            {
                continue;
            }
            let whole = self.relation(served, reference)?;
            missing.push((served.clone(), paths, whole));
        }
        if missing.is_empty() {
            return Ok(());
        }
        let repo = &self.repo;
        let found = map_on_threads(&missing, GIT_AT_ONCE.min(missing.len()), |(s, p, whole)| {
            repo.relation_within(s, reference, p, whole)
        });
        for ((served, paths, _), relation) in missing.into_iter().zip(found) {
            self.known_scoped_relations()
                .insert(scoped_key(&served, reference, paths), relation?);
        }
        Ok(())
    }

    /// How `served` relates to `reference` within `paths`, from the cache or git.
    fn scoped_relation(
        &mut self,
        served: &str,
        reference: &str,
        paths: &[String],
        whole: &Relation,
    ) -> Result<Relation, RepoError> {
        let key = scoped_key(served, reference, paths);
        if let Some(relation) = self.known_scoped_relations().get(&key) {
            return Ok(relation.clone());
        }
        let relation = self.repo.relation_within(served, reference, paths, whole)?;
        self.known_scoped_relations().insert(key, relation.clone());
        Ok(relation)
    }

    /// The scoped relations already counted, kept as [`Checker::known_relations`] are.
    fn known_scoped_relations(&mut self) -> &mut HashMap<ScopedKey, Relation> {
        if self.volatile.boundary.is_empty() {
            &mut self.scoped_relations
        } else {
            &mut self.volatile.shallow_scoped_relations
        }
    }

    /// Makes sure where each named commit's change is, seen from each of `served`, is known:
    /// for several (served, named) pairs at once, once each (kept across rounds).
    fn learn_containments(&mut self, served: &[String], named: &[Commit]) -> Result<(), RepoError> {
        let missing: Vec<(String, String)> = served
            .iter()
            .flat_map(|s| named.iter().map(move |n| (s.clone(), n.id.clone())))
            .filter(|key| !self.known_containments().contains_key(key))
            .collect();
        if missing.is_empty() {
            return Ok(());
        }
        let (repo, changes) = (&self.repo, &self.changes);
        let found = map_on_threads(&missing, GIT_AT_ONCE.min(missing.len()), |(s, n)| {
            repo.containment(s, n, changes)
        });
        for (key, containment) in missing.into_iter().zip(found) {
            self.known_containments().insert(key, containment?);
        }
        Ok(())
    }

    /// Where `named`'s change is, seen from `served`, from the cache or git.
    fn containment(&mut self, served: &str, named: &str) -> Result<Containment, RepoError> {
        let key = (served.to_owned(), named.to_owned());
        if let Some(c) = self.known_containments().get(&key) {
            return Ok(c.clone());
        }
        let containment = self.repo.containment(served, named, &self.changes)?;
        self.known_containments().insert(key, containment.clone());
        Ok(containment)
    }

    /// The containments already found: for good in a full clone; in a shallow one, until the
    /// repository changes.
    fn known_containments(&mut self) -> &mut HashMap<(String, String), Containment> {
        if self.volatile.boundary.is_empty() {
            &mut self.containments
        } else {
            &mut self.volatile.shallow_containments
        }
    }

    /// Makes sure how each of `served` relates to `reference` is known, asking git for several
    /// at once: a fleet in the middle of rollouts runs tens of builds, one git process each.
    fn learn_relations(&mut self, served: &[String], reference: &str) -> Result<(), RepoError> {
        let missing: Vec<&String> = served
            .iter()
            .filter(|id| {
                !self
                    .known_relations()
                    .contains_key(&((*id).clone(), reference.to_owned()))
            })
            .collect();
        if missing.len() < 2 {
            return Ok(());
        }
        let (repo, boundary) = (&self.repo, &self.volatile.boundary);
        let found = map_on_threads(&missing, GIT_AT_ONCE.min(missing.len()), |id| {
            relation_by_git(repo, boundary, id, reference)
        });
        for (id, found) in missing.into_iter().zip(found) {
            self.learned_relation(id, reference, found?);
        }
        Ok(())
    }

    /// Keeps what git said of `served` against `reference`: the relation, and, when the same
    /// walk found it, the oldest commit `served` lacks.
    fn learned_relation(
        &mut self,
        served: &str,
        reference: &str,
        (relation, oldest): (Relation, Option<Option<Commit>>),
    ) -> Relation {
        if let Some(oldest) = oldest {
            let id = oldest.as_ref().map(|c| c.id.clone());
            if let Some(commit) = oldest {
                self.commits.entry(commit.id.clone()).or_insert(commit);
            }
            self.known_missing()
                .insert(scoped_key(served, reference, &[]), id);
        }
        self.known_relations()
            .insert((served.to_owned(), reference.to_owned()), relation.clone());
        relation
    }

    /// How `served` relates to `reference`, from the cache or git.
    fn relation(&mut self, served: &str, reference: &str) -> Result<Relation, RepoError> {
        let key = (served.to_owned(), reference.to_owned());
        if let Some(relation) = self.known_relations().get(&key) {
            return Ok(relation.clone());
        }
        let found = relation_by_git(&self.repo, &self.volatile.boundary, served, reference)?;
        Ok(self.learned_relation(served, reference, found))
    }

    /// The relations already counted: for good in a full clone; in a shallow one, until the
    /// repository changes (a deeper fetch moves the boundary they were counted within).
    fn known_relations(&mut self) -> &mut HashMap<(String, String), Relation> {
        if self.volatile.boundary.is_empty() {
            &mut self.relations
        } else {
            &mut self.volatile.shallow_relations
        }
    }

    /// Makes sure the time and subject of each full commit id are known.
    fn learn_facts(&mut self, ids: &[String]) -> Result<(), RepoError> {
        let missing: Vec<String> = ids
            .iter()
            .filter(|id| !self.commits.contains_key(*id))
            .cloned()
            .collect();
        for commit in self.repo.commit_facts(&missing)? {
            self.commits.insert(commit.id.clone(), commit);
        }
        Ok(())
    }

    /// The commit `id` with whatever facts are known.
    fn commit(&self, id: &str) -> Commit {
        self.commits.get(id).cloned().unwrap_or_else(|| Commit {
            id: id.to_owned(),
            time: None,
            subject: None,
        })
    }
}

/// A served id, and the scope its build is held within.
type StandingKey<'a> = (&'a str, Option<&'a Within>);

/// (served commit, ref commit, paths joined by newlines).
type ScopedKey = (String, String, String);

fn scoped_key(served: &str, reference: &str, paths: &[String]) -> ScopedKey {
    (served.to_owned(), reference.to_owned(), paths.join("\n"))
}

/// `paths` as git is given them: without `./` in front or `/` behind, sorted, each once; `None`
/// when one of them is the whole repository (`.`, or nothing).
fn scope_paths(paths: &[String]) -> Option<Vec<String>> {
    let mut scope = Vec::with_capacity(paths.len());
    for path in paths {
        let mut p = path.trim();
        while let Some(rest) = p.strip_prefix("./") {
            p = rest.trim_start_matches('/');
        }
        let p = p.trim_end_matches('/');
        if p.is_empty() || p == "." {
            return None;
        }
        scope.push(p.to_owned());
    }
    scope.sort_unstable();
    scope.dedup();
    (!scope.is_empty()).then_some(scope)
}

/// How `served` relates to `reference`, as git counts it: within `boundary` in a shallow clone.
/// In a full clone the same walk says which is the oldest commit `served` lacks (the inner
/// `Option`), with its facts; in a shallow one that is asked separately, when needed.
fn relation_by_git(
    repo: &Repo,
    boundary: &[String],
    served: &str,
    reference: &str,
) -> Result<(Relation, Option<Option<Commit>>), RepoError> {
    if boundary.is_empty() {
        let (relation, oldest) = repo.relation_and_oldest_missing(served, reference)?;
        Ok((relation, Some(oldest)))
    } else {
        Ok((repo.relation_in_shallow(served, reference, boundary)?, None))
    }
}

#[cfg(test)]
mod tests {
    use std::process::Command;

    use super::*;
    use crate::{Served, ServedShape};

    fn git(dir: &std::path::Path, args: &[&str]) -> String {
        let out = Command::new("git")
            .args(["-c", "user.name=t", "-c", "user.email=t@example.com"])
            .args([
                "-c",
                "init.defaultBranch=main",
                "-c",
                "commit.gpgsign=false",
            ])
            .args(args)
            .current_dir(dir)
            .output()
            .expect("git runs");
        assert!(out.status.success(), "git {args:?}: {out:?}");
        String::from_utf8(out.stdout).unwrap().trim().to_owned()
    }

    fn serving(commit: &str) -> Observation {
        let served = Served::new(ServedShape::Shipstamp, commit).unwrap();
        Observation::served("http://a/version", None, served)
    }

    /// A watcher whose ref moves and whose builds come and go forgets what no round asks
    /// about any more, and answers the same when it is asked again.
    #[test]
    fn answers_no_judgement_used_are_forgotten() {
        let dir = tempfile::tempdir().unwrap();
        git(dir.path(), &["init", "-q"]);
        let mut commits = Vec::new();
        for i in 0..3 {
            git(
                dir.path(),
                &["commit", "-q", "--allow-empty", "-m", &format!("c{i}")],
            );
            commits.push(git(dir.path(), &["rev-parse", "HEAD"]));
        }
        let mut checker = Checker::new(Repo::open(dir.path()).unwrap(), Options::default());
        let old_ref = checker.resolve_ref(&commits[1]).unwrap();
        let new_ref = checker.resolve_ref(&commits[2]).unwrap();
        let first = checker.judge(&[serving(&commits[0])], &old_ref).unwrap();
        assert_eq!(first[0].status, crate::Status::Behind);
        assert!(
            checker
                .relations
                .contains_key(&(commits[0].clone(), old_ref.id.clone()))
        );

        // Looked for every quarter of the window.
        for _ in 0..FORGET_AFTER_JUDGEMENTS + FORGET_AFTER_JUDGEMENTS / 4 {
            checker.judge(&[serving(&commits[1])], &new_ref).unwrap();
        }
        assert!(
            !checker
                .relations
                .contains_key(&(commits[0].clone(), old_ref.id.clone()))
        );
        assert!(!checker.found.contains_key(&commits[0]));
        assert!(!checker.last_used.contains_key(&commits[0]));
        // Still used every judgement: kept.
        assert!(
            checker
                .relations
                .contains_key(&(commits[1].clone(), new_ref.id.clone()))
        );
        assert_eq!(checker.relations.len(), 1);

        let again = checker.judge(&[serving(&commits[0])], &old_ref).unwrap();
        assert_eq!(again[0].status, first[0].status);
        assert_eq!(
            again[0].reason.as_ref().map(ToString::to_string),
            first[0].reason.as_ref().map(ToString::to_string)
        );
        assert_eq!(
            again[0].drift.as_ref().map(|d| d.commit.clone()),
            Some(commits[1].clone())
        );
    }
}
