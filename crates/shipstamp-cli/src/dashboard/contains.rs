//! `GET /api/contains?commit=…`: for every host of the latest round, whether what it runs
//! contains a commit (or a ref's commit), as `check --contains` would say. Answered from the
//! commits the round saw, with a checker of its own per repository, whose answers are kept: a
//! second question about the same commit asks git nothing new (once per distinct served commit).

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use serde::Serialize;
use shipstamp_check::{
    Checker, Commit, Expected, Observation, Options, Repo, Served, ServedShape, Status,
};

use crate::error::repo_message;
use crate::output::RefDoc;
use crate::present::{display_name, reason_text};
use crate::rounds::Cell;

/// The longest commit or ref name asked about: ids are 64 hex digits, refs rarely long.
const MAX_ASKED: usize = 256;

/// What answers the question: the latest round's cells, and a checker per repository.
#[derive(Debug)]
pub(crate) struct Asker {
    /// The latest round's cells (their reports shared, not copied).
    latest: Mutex<Vec<Cell>>,
    /// Per service, its repository's path and a checker once it could be opened.
    checkers: Mutex<Vec<ServiceChecker>>,
    options: Options,
}

/// A service's name, its repository's path, and a checker once the repository could be opened.
type ServiceChecker = (Option<String>, PathBuf, Option<Checker>);

/// The answer.
#[derive(Debug, Serialize)]
pub(crate) struct ContainsDoc {
    schema: &'static str,
    /// The commit asked about, as the first repository that has it resolves it.
    commit: Option<RefDoc>,
    targets: Vec<HostAnswer>,
    /// Repositories that do not have it, or could not be asked.
    errors: Vec<String>,
}

/// One host's answer.
#[derive(Debug, Serialize)]
struct HostAnswer {
    service: Option<String>,
    environment: Option<String>,
    /// As the page names the host.
    display: String,
    /// `includes`, `lacks`, `unknown-commit` (its commit is not in the repository), or
    /// `unknown` (it served no commit this round).
    status: &'static str,
    reason: Option<String>,
    /// The commit of its history that carries the same change (a cherry-pick, a squash).
    #[serde(rename = "as")]
    carrier: Option<String>,
}

/// Why a question cannot be answered: (HTTP status, message).
pub(crate) type Refusal = (u16, String);

impl Asker {
    pub(crate) fn new(repos: Vec<(Option<String>, PathBuf)>, options: Options) -> Arc<Asker> {
        Arc::new(Asker {
            latest: Mutex::new(Vec::new()),
            checkers: Mutex::new(repos.into_iter().map(|(s, p)| (s, p, None)).collect()),
            options,
        })
    }

    /// Remembers a round's cells, for the questions until the next round.
    pub(crate) fn round(&self, cells: &[Cell]) {
        *self.latest.lock().unwrap_or_else(|p| p.into_inner()) = cells.to_vec();
    }

    /// Whether every host of the latest round contains `asked`.
    pub(crate) fn answer(&self, asked: &str) -> Result<ContainsDoc, Refusal> {
        let asked = asked.trim();
        if asked.is_empty() || asked.len() > MAX_ASKED || asked.contains(char::is_control) {
            return Err((400, "give ?commit= a commit id or a ref".into()));
        }
        let cells = self
            .latest
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        if cells.is_empty() {
            return Err((503, "the first round of checks is still running".into()));
        }
        let mut checkers = self.checkers.lock().unwrap_or_else(|p| p.into_inner());
        let mut doc = ContainsDoc {
            schema: super::view::SCHEMA,
            commit: None,
            targets: Vec::new(),
            errors: Vec::new(),
        };
        for cell in &cells {
            let Some((_, path, checker)) = checkers.iter_mut().find(|(s, ..)| *s == cell.service)
            else {
                continue;
            };
            if checker.is_none() {
                *checker = Repo::open(path.as_path())
                    .ok()
                    .map(|repo| Checker::new(repo, self.options.clone()));
            }
            let Some(checker) = checker else {
                doc.errors.push(format!(
                    "{}: the repository cannot be opened",
                    cell.service.as_deref().unwrap_or("")
                ));
                continue;
            };
            let commit = match checker.resolve_ref(asked) {
                Ok(commit) => commit,
                Err(e) => {
                    doc.errors.push(repo_message(&e, None));
                    continue;
                }
            };
            doc.commit
                .get_or_insert_with(|| RefDoc::new(asked, &commit));
            match answers(checker, cell, &commit) {
                Ok(answers) => doc.targets.extend(answers),
                Err(why) => doc.errors.push(why),
            }
        }
        Ok(doc)
    }
}

/// Each host of `cell`, asked whether what it ran this round contains `commit`.
fn answers(checker: &mut Checker, cell: &Cell, commit: &Commit) -> Result<Vec<HostAnswer>, String> {
    let mut asked = Vec::new();
    let mut answers: Vec<Option<HostAnswer>> = Vec::new();
    for r in cell.reports.iter() {
        let served = r
            .commit
            .as_deref()
            .and_then(|c| Served::new(r.shape.unwrap_or(ServedShape::PlainText), c).ok());
        match served {
            Some(served) => {
                asked.push(Observation::served(r.url.clone(), r.name.clone(), served));
                answers.push(None);
            }
            None => answers.push(Some(HostAnswer {
                service: cell.service.clone(),
                environment: cell.env.clone(),
                display: display_name(r),
                status: "unknown",
                reason: Some("it served no commit in the latest round".into()),
                carrier: None,
            })),
        }
    }
    let judged = checker
        .judge(&asked, Expected::Contains(vec![commit.clone()]))
        .map_err(|e| repo_message(&e, None))?;
    let mut judged = judged.into_iter();
    Ok(answers
        .into_iter()
        .zip(cell.reports.iter())
        .filter_map(|(answer, r)| {
            answer.or_else(|| {
                let j = judged.next()?;
                Some(HostAnswer {
                    service: cell.service.clone(),
                    environment: cell.env.clone(),
                    display: display_name(r),
                    status: match j.status {
                        Status::Includes => "includes",
                        Status::Lacks => "lacks",
                        _ => "unknown-commit",
                    },
                    reason: j.reason.as_ref().map(reason_text),
                    carrier: j.includes.first().and_then(|i| i.carrier.clone()),
                })
            })
        })
        .collect())
}
