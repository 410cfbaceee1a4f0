//! Rounds of checks over a fleet: each service with its own repository and checker (git's
//! answers kept from round to round), the services side by side, each environment's sources
//! observed side by side and held against the environment's own ref.
//!
//! A part that cannot be checked (a repository that is missing, a ref that does not resolve, a
//! source that does not answer) is reported on that part and tried again next round; the rest
//! of the fleet is checked as usual.

use std::ops::Range;
use std::path::PathBuf;
use std::sync::Arc;

use shipstamp_check::{Checker, Commit, Expected, Options, Repo, Source, TargetReport};

use crate::args::Question;
use crate::error::repo_message;
use crate::fleet::{Env, Fleet};
use crate::present::short;
use crate::sources::source_message;
use crate::summary::RoundSummary;

/// The results of one environment of one service.
#[derive(Debug, Clone)]
pub(crate) struct Cell {
    pub(crate) service: Option<String>,
    pub(crate) env: Option<String>,
    /// What was asked, as given: the ref's name, or the commits' (`64b8e19, v1.4.3`).
    pub(crate) ref_name: String,
    /// What the targets should run: the ref's commit, or builds that contain these.
    pub(crate) expected: Expected,
    /// Shared with the rounds' memory of the last complete round: not copied.
    pub(crate) reports: Arc<Vec<TargetReport>>,
}

/// A part of the fleet that could not be checked this round, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Broken {
    pub(crate) service: Option<String>,
    /// `None` when the whole service is broken (its repository).
    pub(crate) env: Option<String>,
    pub(crate) message: String,
}

impl Cell {
    /// The ref's commit, when the question is a ref.
    pub(crate) fn reference(&self) -> Option<&Commit> {
        self.expected.reference()
    }

    /// The commits asked about, with `--contains`.
    pub(crate) fn contains(&self) -> Option<&[Commit]> {
        match &self.expected {
            Expected::Contains(commits) => Some(commits),
            _ => None,
        }
    }
}

impl std::fmt::Display for Broken {
    /// `orders · staging: unknown ref …`, or just the message for the command line's one
    /// service.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match (&self.service, &self.env) {
            (Some(s), Some(e)) => write!(f, "{s} · {e}: ")?,
            (Some(s), None) => write!(f, "{s}: ")?,
            _ => {}
        }
        f.write_str(&self.message)
    }
}

/// One round: the cells that have results, and what could not be checked.
#[derive(Debug, Clone)]
pub(crate) struct Round {
    pub(crate) cells: Vec<Cell>,
    pub(crate) broken: Vec<Broken>,
}

impl Round {
    /// The round counted: the one place its counts and exit code come from.
    pub(crate) fn summary(&self) -> RoundSummary {
        RoundSummary::of(
            self.cells
                .iter()
                .map(|c| (c.reports.as_slice(), c.ref_name.as_str())),
            self.broken.len(),
        )
    }
}

/// A fleet being checked, round after round.
#[derive(Debug)]
pub(crate) struct Rounds {
    services: Vec<ServiceRounds>,
}

#[derive(Debug)]
struct ServiceRounds {
    name: Option<String>,
    repo_path: PathBuf,
    repo_at: Option<String>,
    options: Options,
    /// The checker, or why the repository cannot be opened (tried again every round).
    checker: Result<Checker, String>,
    envs: Vec<Env>,
    /// What the targets are asked.
    question: Question,
    /// With `--contains`, the commits asked about as this repository resolves them (once),
    /// or why it cannot.
    named: Option<Result<Vec<Commit>, String>>,
    /// What each environment's targets should run, as last resolved, or why it never was.
    refs: Vec<Result<Expected, String>>,
    /// Each environment's last results, and which of them came from which source.
    last: Vec<Option<Last>>,
    /// Refs that failed to resolve again this time (each still compared with its last
    /// commit), to be reported by the round.
    pending: Vec<(usize, String)>,
}

/// An environment's last results: the reports, and the range of them each source gave.
#[derive(Debug, Clone)]
struct Last {
    reports: Arc<Vec<TargetReport>>,
    spans: Vec<Range<usize>>,
}

impl Rounds {
    pub(crate) fn new(fleet: Fleet, options: &Options, question: &Question) -> Rounds {
        Rounds {
            services: fleet
                .services
                .into_iter()
                .map(|s| ServiceRounds {
                    name: s.name,
                    repo_path: s.repo_path,
                    repo_at: s.repo_at,
                    checker: s.repo.map(|repo| Checker::new(repo, options.clone())),
                    options: options.clone(),
                    question: question.clone(),
                    named: None,
                    refs: vec![Err(String::new()); s.envs.len()],
                    last: vec![None; s.envs.len()],
                    pending: Vec::new(),
                    envs: s.envs,
                })
                .collect(),
        }
    }

    /// The repositories that could be opened, by service name, for fetching.
    pub(crate) fn repos(&self) -> Vec<(Option<String>, Repo)> {
        self.services
            .iter()
            .filter_map(|s| Some((s.name.clone(), s.checker.as_ref().ok()?.repo().clone())))
            .collect()
    }

    /// Where each service's repository is, by service name.
    pub(crate) fn repo_paths(&self) -> Vec<(Option<String>, std::path::PathBuf)> {
        self.services
            .iter()
            .map(|s| (s.name.clone(), s.repo_path.clone()))
            .collect()
    }

    /// How many targets are listed, and how many sources may find more (DNS, Prometheus).
    pub(crate) fn listed(&self) -> (usize, usize) {
        let envs = self.services.iter().flat_map(|s| &s.envs);
        let targets = envs.clone().map(|e| e.listed).sum();
        let finding = envs.map(|e| e.sources.len()).sum::<usize>();
        (targets, finding)
    }

    /// Resolves every environment's ref; what cannot be resolved is reported by every round
    /// until it is. The first problem, if any: for the command line's one service and ref,
    /// that is the end of it (a typo, most likely); a fleet goes on without that part.
    pub(crate) fn resolve_all(&mut self) -> Option<String> {
        for service in &mut self.services {
            service.open();
            service.resolve();
        }
        self.services.iter().find_map(|s| match &s.checker {
            Err(why) => Some(why.clone()),
            Ok(_) => s.refs.iter().find_map(|r| r.as_ref().err().cloned()),
        })
    }

    /// One round: with `resolve`, every ref is resolved again first (a dashboard runs while
    /// branches move) and repositories that could not be opened are tried again.
    pub(crate) fn run(&mut self, resolve: bool) -> Round {
        let results: Vec<Round> = std::thread::scope(|scope| {
            let handles: Vec<_> = self
                .services
                .iter_mut()
                .map(|service| scope.spawn(move || service.round(resolve)))
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
                .collect()
        });
        let mut round = Round {
            cells: Vec::new(),
            broken: Vec::new(),
        };
        for r in results {
            round.cells.extend(r.cells);
            round.broken.extend(r.broken);
        }
        round
    }
}

impl ServiceRounds {
    fn broken(&self, env: Option<&str>, message: String) -> Broken {
        Broken {
            service: self.name.clone(),
            env: env.map(str::to_owned),
            message,
        }
    }

    /// Opens the repository when it could not be opened before.
    fn open(&mut self) {
        if self.checker.is_err() {
            self.checker = Repo::open(&self.repo_path)
                .map(|repo| Checker::new(repo, self.options.clone()))
                .map_err(|e| repo_message(&e, self.repo_at.as_deref()));
        }
    }

    /// Resolves each environment's ref, keeping the previous commit when it fails; with
    /// `--contains`, the commits asked about, once (again each round until it works: a fetch
    /// may bring them).
    fn resolve(&mut self) {
        let Ok(checker) = &mut self.checker else {
            return;
        };
        if let Question::Contains(names) = &self.question {
            if !matches!(self.named, Some(Ok(_))) {
                let named: Result<Vec<Commit>, String> = names
                    .iter()
                    .map(|name| {
                        checker.resolve_ref(name).map_err(|e| {
                            format!(
                                "the repository does not have {name:?}, asked about with \
                                 --contains ({})",
                                repo_message(&e, None)
                            )
                        })
                    })
                    .collect();
                let expected = named.clone().map(Expected::Contains);
                self.refs = vec![expected; self.envs.len()];
                self.named = Some(named);
            }
            return;
        }
        let mut resolved: Vec<(String, Result<Commit, String>)> = Vec::new();
        for (i, env) in self.envs.iter().enumerate() {
            // Environments that follow the same ref resolve it once.
            let result = match resolved.iter().find(|(name, _)| *name == env.reference) {
                Some((_, r)) => r.clone(),
                None => {
                    let r = checker
                        .resolve_ref(&env.reference)
                        .map_err(|e| repo_message(&e, None));
                    resolved.push((env.reference.clone(), r.clone()));
                    r
                }
            };
            let previous = self.refs[i].as_ref().ok().and_then(Expected::reference);
            match (result, previous) {
                (Ok(commit), _) => {
                    self.refs[i] = Ok(match &env.paths {
                        Some(paths) => Expected::RefWithin {
                            reference: commit,
                            paths: paths.clone(),
                        },
                        None => Expected::Ref(commit),
                    });
                }
                (Err(why), Some(previous)) => {
                    // Still compared with the commit it resolved to last; said every round.
                    let still = format!("{why}; still comparing with {}", short(&previous.id));
                    self.pending.push((i, still));
                }
                (Err(why), None) => self.refs[i] = Err(why),
            }
        }
    }

    fn round(&mut self, resolve: bool) -> Round {
        if resolve {
            self.open();
            self.resolve();
        }
        let mut broken: Vec<Broken> = std::mem::take(&mut self.pending)
            .into_iter()
            .map(|(i, why)| self.broken(self.envs[i].name.as_deref(), why))
            .collect();
        let checker = match &mut self.checker {
            Ok(checker) => checker,
            Err(why) => {
                broken.push(Broken {
                    service: self.name.clone(),
                    env: None,
                    message: why.clone(),
                });
                return Round {
                    cells: Vec::new(),
                    broken,
                };
            }
        };
        // Environments whose ref has never resolved cannot be checked.
        let ready: Vec<usize> = (0..self.envs.len())
            .filter(|i| match &self.refs[*i] {
                Ok(_) => true,
                Err(why) => {
                    broken.push(Broken {
                        service: self.name.clone(),
                        env: self.envs[*i].name.clone(),
                        message: why.clone(),
                    });
                    false
                }
            })
            .collect();
        let sources: Vec<&dyn Source> = ready
            .iter()
            .flat_map(|i| self.envs[*i].sources.iter().map(|s| &**s))
            .collect();
        let mut observed = checker.observe(&sources).into_iter();
        for i in ready {
            let env = &self.envs[i];
            let Ok(reference) = &self.refs[i] else {
                continue;
            };
            let mut reports: Vec<TargetReport> = Vec::new();
            let mut spans = Vec::with_capacity(env.sources.len());
            let mut failed = None;
            for (s, seen) in observed.by_ref().take(env.sources.len()).enumerate() {
                let start = reports.len();
                let judged = match seen {
                    Ok(seen) => checker.judge(&seen, reference).map_err(|e| {
                        // Git failing decides nothing for any source of this service.
                        let why = repo_message(&e, None);
                        failed = Some(why.clone());
                        why
                    }),
                    Err(e) => Err(source_message(&e)),
                };
                match judged {
                    // (100,000 reports are not copied into an empty list.)
                    Ok(more) if reports.is_empty() => reports = more,
                    Ok(more) => reports.extend(more),
                    Err(why) => {
                        let previous = self.last[i]
                            .as_ref()
                            .and_then(|last| Some(&last.reports[last.spans.get(s)?.clone()]));
                        let keep = previous.is_some_and(|p| !p.is_empty());
                        if let Some(previous) = previous {
                            reports.extend_from_slice(previous);
                        }
                        broken.push(Broken {
                            service: self.name.clone(),
                            env: env.name.clone(),
                            message: format!(
                                "{why}{}",
                                if keep {
                                    "; showing the previous round"
                                } else {
                                    ""
                                }
                            ),
                        });
                    }
                }
                spans.push(start..reports.len());
            }
            if failed.is_none() {
                self.last[i] = Some(Last {
                    reports: Arc::new(reports),
                    spans,
                });
            }
        }
        let cells = self
            .envs
            .iter()
            .zip(&self.refs)
            .zip(&self.last)
            .filter_map(|((env, reference), last)| {
                Some(Cell {
                    service: self.name.clone(),
                    env: env.name.clone(),
                    ref_name: match &self.question {
                        Question::Refs => env.reference.clone(),
                        Question::Contains(names) => names.join(", "),
                    },
                    expected: reference.as_ref().ok()?.clone(),
                    reports: Arc::clone(&last.as_ref()?.reports),
                })
            })
            .collect();
        Round { cells, broken }
    }
}
