//! `dashboard --notify URL`: one JSON message per round in which targets entered or left drift,
//! POSTed from a thread of its own, so a slow or dead receiver never delays a round. Messages
//! go out in order, each until the receiver takes it (retried with backoff), and never twice.
//!
//! The URL (often a Slack or Mattermost incoming webhook, a secret) is never printed: errors
//! say what the receiver did, not where it is.

use std::collections::{HashMap, VecDeque};
use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde::Serialize;
use shipstamp::Timestamp;

use super::view::Fleet;
use crate::output::TargetDoc;
use crate::present::{age, short};

/// The `schema` of a message.
pub(crate) const SCHEMA: &str = "shipstamp-notify/v1";
/// Time limit of one delivery.
const TIMEOUT: Duration = Duration::from_secs(10);
/// Retries wait from 1 s, doubling, to at most this long.
const MAX_BACKOFF: Duration = Duration::from_secs(60);
/// Messages kept while the receiver does not take them; older ones are dropped first (and
/// counted as failures).
const MAX_PENDING: usize = 1000;

/// Statuses that are drift (as `Status::is_drift`).
const DRIFT: [&str; 6] = ["behind", "ahead", "diverged", "dirty", "stale", "lacks"];
/// Statuses that are what was asked for.
const OK: [&str; 2] = ["match", "includes"];

/// One message.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Message {
    schema: &'static str,
    /// What Slack and Mattermost incoming webhooks show as is.
    text: String,
    generated_at: Timestamp,
    round: u64,
    entered: Vec<Entered>,
    left: Vec<Left>,
}

/// A target whose drift has lasted `--notify-after`.
#[derive(Debug, Clone, Serialize)]
struct Entered {
    service: Option<String>,
    environment: Option<String>,
    target: String,
    status: &'static str,
    label: String,
    revision: Option<String>,
    behind: Option<u64>,
    drift_since: Option<Timestamp>,
    drift_seconds: Option<u64>,
    reason: Option<String>,
}

/// A target announced as in drift that no longer is: it matches now, or it left the fleet.
#[derive(Debug, Clone, Serialize)]
struct Left {
    service: Option<String>,
    environment: Option<String>,
    target: String,
    /// Its status now; `null` when it is gone from the rounds.
    status: Option<&'static str>,
    revision: Option<String>,
}

/// How deliveries go, for the page and `/metrics`.
#[derive(Debug, Clone, Default, Serialize)]
pub(crate) struct NotifyView {
    /// When the last delivery was tried, and whether it worked.
    pub(crate) at: Option<Timestamp>,
    pub(crate) ok: Option<bool>,
    /// Why the last one failed.
    pub(crate) error: Option<String>,
    /// Messages delivered, and waiting to be.
    pub(crate) sent: u64,
    pub(crate) pending: usize,
    /// Deliveries that failed (each retry counts).
    pub(crate) failures: u64,
}

/// (service, environment, target as shown).
type Key = (Option<String>, Option<String>, String);

/// What the rounds thread keeps: which targets were announced, and since when each target has
/// been seen in drift.
pub(crate) struct Notifier {
    after: Duration,
    announced: HashMap<Key, Option<String>>,
    drifting_since: HashMap<Key, Timestamp>,
    queue: Sender<Message>,
    view: Arc<Mutex<NotifyView>>,
}

impl Notifier {
    /// Starts the delivery thread for `url`; a target counts as entered once its drift has
    /// lasted `after`.
    pub(crate) fn start(url: String, after: Duration) -> std::io::Result<Notifier> {
        let (queue, messages) = std::sync::mpsc::channel();
        let view = Arc::new(Mutex::new(NotifyView::default()));
        let thread_view = Arc::clone(&view);
        std::thread::Builder::new()
            .name("shipstamp-notify".into())
            .spawn(move || deliver(&url, &messages, &thread_view))?;
        Ok(Notifier {
            after,
            announced: HashMap::new(),
            drifting_since: HashMap::new(),
            queue,
            view,
        })
    }

    /// How deliveries go.
    pub(crate) fn view(&self) -> NotifyView {
        self.view.lock().map(|v| v.clone()).unwrap_or_default()
    }

    /// Queues the message of this round, if targets entered or left drift.
    pub(crate) fn round(&mut self, fleet: &Fleet) {
        if let Some(message) = self.transitions(fleet) {
            // The thread ends only with the process.
            let _ = self.queue.send(message);
        }
    }

    fn transitions(&mut self, fleet: &Fleet) -> Option<Message> {
        let now = fleet.generated_at();
        let after = i64::try_from(self.after.as_secs()).unwrap_or(i64::MAX);
        let mut listed: HashMap<Key, &TargetDoc> = HashMap::with_capacity(fleet.targets.len());
        let (mut entered, mut left) = (Vec::new(), Vec::new());
        for view in &fleet.targets {
            let t = &view.target;
            let key = (
                t.service.clone(),
                t.environment.clone(),
                view.display.clone(),
            );
            listed.insert(key.clone(), t);
            if OK.contains(&t.status) {
                self.drifting_since.remove(&key);
                if let Some(revision) = self.announced.remove(&key) {
                    left.push((key, Some(t.status), t.commit.clone().or(revision)));
                }
                continue;
            }
            // Unreachable, unknown: neither in nor out of drift.
            if !DRIFT.contains(&t.status) {
                continue;
            }
            let seen = *self.drifting_since.entry(key.clone()).or_insert(now);
            let since = t.drift_since.map_or(seen, |d| d.min(seen));
            if now.unix_seconds() - since.unix_seconds() < after
                || self.announced.contains_key(&key)
            {
                continue;
            }
            self.announced.insert(key.clone(), t.commit.clone());
            entered.push(Entered {
                service: key.0,
                environment: key.1,
                target: key.2,
                status: t.status,
                label: view.label.clone(),
                revision: t.commit.clone(),
                behind: t.behind,
                drift_since: t.drift_since,
                drift_seconds: t.drift_seconds,
                reason: t.reason.clone(),
            });
        }
        // Gone from the rounds (an instance a rollout replaced): out of drift, and forgotten.
        let gone: Vec<Key> = self
            .announced
            .keys()
            .filter(|k| !listed.contains_key(*k))
            .cloned()
            .collect();
        for key in gone {
            let revision = self.announced.remove(&key).flatten();
            left.push((key, None, revision));
        }
        self.drifting_since.retain(|k, _| listed.contains_key(k));
        if entered.is_empty() && left.is_empty() {
            return None;
        }
        let left: Vec<Left> = left
            .into_iter()
            .map(|((service, environment, target), status, revision)| Left {
                service,
                environment,
                target,
                status,
                revision,
            })
            .collect();
        Some(Message {
            schema: SCHEMA,
            text: text(&entered, &left),
            generated_at: now,
            round: fleet.round(),
            entered,
            left,
        })
    }
}

/// `orders/production web-3`, or `web-3` outside a fleet.
fn place(service: &Option<String>, environment: &Option<String>, target: &str) -> String {
    match (service, environment) {
        (Some(s), Some(e)) => format!("{s}/{e} {target}"),
        _ => target.to_owned(),
    }
}

/// The message in words, a line per target.
fn text(entered: &[Entered], left: &[Left]) -> String {
    let count = |n: usize| format!("{n} {}", if n == 1 { "target" } else { "targets" });
    let mut head = Vec::new();
    if !entered.is_empty() {
        head.push(format!("{} drifted", count(entered.len())));
    }
    if !left.is_empty() {
        head.push(format!("{} back at the ref", count(left.len())));
    }
    let mut text = format!("shipstamp: {}", head.join(", "));
    for e in entered {
        text.push_str(&format!(
            "\nDRIFT {}: {}",
            place(&e.service, &e.environment, &e.target),
            e.label
        ));
        if let Some(seconds) = e.drift_seconds {
            text.push_str(&format!(" for {}", age(seconds)));
        }
        if let Some(revision) = &e.revision {
            text.push_str(&format!(", runs {}", short(revision)));
        }
    }
    for l in left {
        text.push_str(&format!(
            "\nOK {}: {}",
            place(&l.service, &l.environment, &l.target),
            l.status.unwrap_or("gone from the fleet")
        ));
    }
    text
}

/// The delivery thread: messages in order, each until the receiver takes it.
fn deliver(url: &str, messages: &Receiver<Message>, view: &Mutex<NotifyView>) {
    let agent = ureq::Agent::config_builder()
        .timeout_global(Some(TIMEOUT))
        .http_status_as_error(true)
        .max_redirects(0)
        .build()
        .new_agent();
    let mut pending: VecDeque<Vec<u8>> = VecDeque::new();
    let mut backoff = Duration::from_secs(1);
    let mut retry_at = Instant::now();
    let update = |f: &dyn Fn(&mut NotifyView)| {
        if let Ok(mut v) = view.lock() {
            f(&mut v);
        }
    };
    loop {
        // Nothing to send: wait for a message. A delivery failed: wait out the backoff,
        // taking new messages meanwhile.
        let wait = retry_at.saturating_duration_since(Instant::now());
        let received = match (pending.is_empty(), wait.is_zero()) {
            (true, _) => messages.recv().map_err(|_| RecvTimeoutError::Disconnected),
            (false, false) => messages.recv_timeout(wait),
            (false, true) => messages.try_recv().map_err(|e| match e {
                std::sync::mpsc::TryRecvError::Empty => RecvTimeoutError::Timeout,
                std::sync::mpsc::TryRecvError::Disconnected => RecvTimeoutError::Disconnected,
            }),
        };
        match received {
            Ok(message) => {
                // Serializing a message cannot fail.
                pending.push_back(serde_json::to_vec(&message).unwrap_or_default());
                let dropped = pending.len().saturating_sub(MAX_PENDING);
                pending.drain(..dropped);
                let waiting = pending.len();
                update(&|v| {
                    v.failures += dropped as u64;
                    v.pending = waiting;
                });
                continue;
            }
            Err(RecvTimeoutError::Disconnected) => return,
            Err(RecvTimeoutError::Timeout) => {}
        }
        while let Some(body) = pending.front() {
            let result = agent
                .post(url)
                .header("Content-Type", "application/json")
                .send(&body[..]);
            let at = Some(Timestamp::now());
            let sent = result.is_ok();
            if sent {
                pending.pop_front();
                backoff = Duration::from_secs(1);
            } else {
                retry_at = Instant::now() + backoff;
                backoff = (backoff * 2).min(MAX_BACKOFF);
            }
            let why = result.err().map(|e| failure(&e));
            let waiting = pending.len();
            update(&|v| {
                v.at = at;
                v.ok = Some(sent);
                v.error.clone_from(&why);
                v.pending = waiting;
                if sent {
                    v.sent += 1;
                } else {
                    v.failures += 1;
                }
            });
            if !sent {
                break;
            }
        }
    }
}

/// What went wrong, without the URL.
fn failure(e: &ureq::Error) -> String {
    match e {
        ureq::Error::StatusCode(code) => format!("the receiver answered {code}"),
        ureq::Error::Timeout(_) => format!("no answer within {}s", TIMEOUT.as_secs()),
        ureq::Error::Io(io) => format!("could not reach the receiver ({})", io.kind()),
        ureq::Error::HostNotFound => "the receiver's host was not found".into(),
        ureq::Error::ConnectionFailed => "could not connect to the receiver".into(),
        ureq::Error::Tls(_) | ureq::Error::Rustls(_) => "TLS failed with the receiver".into(),
        _ => "the delivery failed".into(),
    }
}
