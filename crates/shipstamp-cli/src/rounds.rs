//! Rounds of checks over a fleet: each service with its own repository and checker (git's
//! answers kept from round to round), the services side by side, each environment against its
//! own ref.

use std::sync::Arc;

use shipstamp_check::{Checker, Commit, Options, PrometheusErrorKind, Repo, TargetReport};

use crate::fleet::{Env, Fleet};
use crate::present::short;

/// The results of one environment of one service.
#[derive(Debug, Clone)]
pub(crate) struct Cell {
    pub(crate) service: Option<String>,
    pub(crate) env: Option<String>,
    pub(crate) ref_name: String,
    pub(crate) reference: Commit,
    /// Shared with the rounds' memory of the last complete round: not copied.
    pub(crate) reports: Arc<Vec<TargetReport>>,
}

/// A fleet being checked, round after round.
#[derive(Debug)]
pub(crate) struct Rounds {
    services: Vec<ServiceRounds>,
}

#[derive(Debug)]
struct ServiceRounds {
    name: Option<String>,
    checker: Checker,
    envs: Vec<Env>,
    /// What each environment's ref resolved to last.
    refs: Vec<Option<Commit>>,
    /// The last round whose checks completed, per environment.
    last: Option<Vec<Arc<Vec<TargetReport>>>>,
}

impl Rounds {
    pub(crate) fn new(fleet: Fleet, options: &Options) -> Rounds {
        Rounds {
            services: fleet
                .services
                .into_iter()
                .map(|s| ServiceRounds {
                    name: s.name,
                    checker: Checker::new(s.repo, options.clone()),
                    refs: vec![None; s.envs.len()],
                    envs: s.envs,
                    last: None,
                })
                .collect(),
        }
    }

    /// The repositories, by service name, for fetching.
    pub(crate) fn repos(&self) -> Vec<(Option<String>, Repo)> {
        self.services
            .iter()
            .map(|s| (s.name.clone(), s.checker.repo().clone()))
            .collect()
    }

    pub(crate) fn target_count(&self) -> usize {
        self.services
            .iter()
            .flat_map(|s| &s.envs)
            .map(|e| e.targets.len())
            .sum()
    }

    /// Resolves every environment's ref; the error names the first that cannot be resolved.
    pub(crate) fn resolve_all(&mut self) -> Result<(), String> {
        for service in &mut self.services {
            let errors = service.resolve();
            if let Some(first) = errors.into_iter().next() {
                return Err(first);
            }
        }
        Ok(())
    }

    /// One round: with `resolve`, every ref is resolved again first (a dashboard runs while
    /// branches move). The cells of every service whose checks completed at least once, and
    /// what went wrong this round.
    pub(crate) fn run(&mut self, resolve: bool) -> (Vec<Cell>, Vec<String>) {
        let results: Vec<(Vec<Cell>, Vec<String>)> = std::thread::scope(|scope| {
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
        let mut cells = Vec::new();
        let mut errors = Vec::new();
        for (c, e) in results {
            cells.extend(c);
            errors.extend(e);
        }
        (cells, errors)
    }
}

impl ServiceRounds {
    /// Where a message is about: `orders: ` (nothing for the command line's one service).
    fn prefix(&self, env: Option<&str>) -> String {
        match (&self.name, env) {
            (Some(s), Some(e)) => format!("{s} · {e}: "),
            (Some(s), None) => format!("{s}: "),
            _ => String::new(),
        }
    }

    /// Resolves each environment's ref, keeping the previous commit when it fails.
    fn resolve(&mut self) -> Vec<String> {
        let mut errors = Vec::new();
        let mut resolved: Vec<(String, Result<Commit, String>)> = Vec::new();
        for (i, env) in self.envs.iter().enumerate() {
            // Environments that follow the same ref resolve it once.
            let result = match resolved.iter().find(|(name, _)| *name == env.reference) {
                Some((_, r)) => r.clone(),
                None => {
                    let r = self
                        .checker
                        .resolve_ref(&env.reference)
                        .map_err(|e| format!("{:#}", crate::repo_error(e)));
                    resolved.push((env.reference.clone(), r.clone()));
                    r
                }
            };
            match result {
                Ok(commit) => self.refs[i] = Some(commit),
                Err(why) => errors.push(format!(
                    "{}{why}{}",
                    self.prefix(env.name.as_deref()),
                    self.refs[i]
                        .as_ref()
                        .map(|c| format!("; still comparing with {}", short(&c.id)))
                        .unwrap_or_default()
                )),
            }
        }
        errors
    }

    fn round(&mut self, resolve: bool) -> (Vec<Cell>, Vec<String>) {
        let mut errors = if resolve { self.resolve() } else { Vec::new() };
        // Environments whose ref has never resolved cannot be checked.
        let ready: Vec<usize> = (0..self.envs.len())
            .filter(|i| self.refs[*i].is_some())
            .collect();
        let groups: Vec<(&[shipstamp_check::Target], &Commit)> = ready
            .iter()
            .filter_map(|i| Some((&self.envs[*i].targets[..], self.refs[*i].as_ref()?)))
            .collect();
        match self.checker.check_groups(&groups) {
            Ok(reports) => {
                let mut all = self.last.take().unwrap_or_else(|| {
                    (0..self.envs.len()).map(|_| Arc::new(Vec::new())).collect()
                });
                for (i, mut r) in ready.iter().copied().zip(reports) {
                    // What Prometheus knows about this environment's instances.
                    if let (Some(source), Some(reference)) =
                        (&self.envs[i].prometheus, &self.refs[i])
                    {
                        let judged = source
                            .observe()
                            .map_err(|e| match e.kind() {
                                PrometheusErrorKind::NeedsAuth => format!(
                                    "{e} (set SHIPSTAMP_PROMETHEUS_TOKEN, or \
                                     SHIPSTAMP_PROMETHEUS_USER and SHIPSTAMP_PROMETHEUS_PASSWORD)"
                                ),
                                _ => e.to_string(),
                            })
                            .and_then(|seen| {
                                self.checker
                                    .judge(&seen, reference)
                                    .map_err(|e| e.to_string())
                            });
                        match judged {
                            // (100,000 reports are not copied into an empty list.)
                            Ok(more) if r.is_empty() => r = more,
                            Ok(more) => r.extend(more),
                            Err(why) => {
                                let keep = !all[i].is_empty();
                                errors.push(format!(
                                    "{}{why}{}",
                                    self.prefix(self.envs[i].name.as_deref()),
                                    if keep {
                                        "; showing the previous round"
                                    } else {
                                        ""
                                    }
                                ));
                                if keep {
                                    continue;
                                }
                            }
                        }
                    }
                    all[i] = Arc::new(r);
                }
                self.last = Some(all);
            }
            Err(e) => errors.push(format!(
                "{}{e}{}",
                self.prefix(None),
                if self.last.is_some() {
                    "; showing the previous round"
                } else {
                    ""
                }
            )),
        }
        let Some(last) = &self.last else {
            return (Vec::new(), errors);
        };
        let cells = self
            .envs
            .iter()
            .zip(&self.refs)
            .zip(last)
            .filter_map(|((env, reference), reports)| {
                Some(Cell {
                    service: self.name.clone(),
                    env: env.name.clone(),
                    ref_name: env.reference.clone(),
                    reference: reference.clone()?,
                    reports: Arc::clone(reports),
                })
            })
            .collect();
        (cells, errors)
    }
}
