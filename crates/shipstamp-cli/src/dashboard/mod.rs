//! `shipstamp dashboard`: versions per host, live in a browser or as one static page.
//!
//! A plain thread checks every target each `--interval` with the same code as `check` and
//! keeps the latest document serialized; the HTTP side (axum on a one-thread runtime) only
//! hands out those bytes, so a page left open costs the fleet nothing extra.

mod view;

use std::io::Write;
use std::net::{SocketAddr, TcpListener, ToSocketAddrs};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::Context;
use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use shipstamp_check::{Checker, Commit, Repo, Target, TargetReport};

use crate::args::{CheckFlags, parse_duration};
use crate::present::short;
use crate::{EXIT_UNDECIDED, EXIT_USAGE, repo_error};
use view::{Fleet, History};

/// The page: HTML, CSS and JavaScript in one file, no external resources.
const PAGE: &str = include_str!("page.html");
/// Where the page's data goes: `null` on the live page (it polls), the document on a static one.
const DATA_SLOT: &str = r#"<script id="fleet-data" type="application/json">null</script>"#;

/// A shorter interval would have the dashboard hammer the fleet it watches.
const MIN_INTERVAL: Duration = Duration::from_millis(100);

#[derive(Debug, clap::Args)]
pub(crate) struct DashboardArgs {
    #[command(flatten)]
    flags: CheckFlags,
    /// Address to serve the page on. Anything but loopback shows the fleet to the network.
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8080", value_parser = parse_listen)]
    listen: SocketAddr,
    /// Time between rounds of checks (at least 100ms). The ref is resolved again every round,
    /// so a branch that moves (after a `git fetch`) moves the dashboard with it.
    #[arg(long, value_name = "DURATION", value_parser = parse_duration, default_value = "5s")]
    interval: Duration,
    /// Check once, write the page to --html FILE and exit with check's exit code (0 every
    /// target matches, 1 drift, 2 undecided): a CI artefact.
    #[arg(long, requires = "html")]
    once: bool,
    /// With --once: the file to write the self-contained page to.
    #[arg(long, value_name = "FILE", requires = "once")]
    html: Option<PathBuf>,
}

fn parse_listen(s: &str) -> Result<SocketAddr, String> {
    let mut addrs = s.to_socket_addrs().map_err(|e| {
        format!("{s:?} is not an address to listen on (such as 127.0.0.1:8080): {e}")
    })?;
    addrs
        .next()
        .ok_or_else(|| format!("{s:?} names no address"))
}

/// Everything a round needs, and what it remembers between rounds.
struct Rounds {
    targets: Vec<Target>,
    checker: Checker,
    ref_name: String,
    reference: Commit,
    interval: Option<f64>,
    history: History,
    /// The last round whose checks completed: shown, with the error, when git fails.
    last: Option<Vec<TargetReport>>,
}

impl Rounds {
    /// One round of checks. The error is for a first round that could not judge anything.
    fn run(&mut self) -> Result<Fleet, String> {
        let mut errors = Vec::new();
        // The ref is resolved each round: a dashboard runs for days while the branch moves.
        match self.checker.resolve_ref(&self.ref_name) {
            Ok(commit) => self.reference = commit,
            Err(e) => errors.push(format!(
                "{e}; still comparing with {}",
                short(&self.reference.id)
            )),
        }
        match self.checker.check(&self.targets, &self.reference) {
            Ok(reports) => self.last = Some(reports),
            Err(e) => match self.last {
                Some(_) => errors.push(format!("{e}; showing the previous round")),
                None => return Err(e.to_string()),
            },
        }
        let reports = self.last.as_deref().unwrap_or_default();
        Ok(Fleet::new(
            &self.ref_name,
            &self.reference,
            reports,
            &mut self.history,
            self.interval,
            errors,
        ))
    }
}

pub(crate) fn run(args: &DashboardArgs, out: &mut impl Write) -> anyhow::Result<u8> {
    let targets = match args.flags.targets("dashboard") {
        Ok(t) => t,
        Err(why) => {
            eprintln!("shipstamp dashboard: {why}");
            return Ok(EXIT_USAGE);
        }
    };
    if !args.once && args.interval < MIN_INTERVAL {
        eprintln!("shipstamp dashboard: --interval must be at least 100ms");
        return Ok(EXIT_USAGE);
    }
    let repo = Repo::open(&args.flags.repo).map_err(repo_error)?;
    let mut checker = Checker::new(repo, args.flags.options());
    let reference = checker
        .resolve_ref(&args.flags.reference)
        .map_err(repo_error)?;
    let mut rounds = Rounds {
        targets,
        checker,
        ref_name: args.flags.reference.clone(),
        reference,
        interval: (!args.once).then_some(args.interval.as_secs_f64()),
        history: History::default(),
        last: None,
    };

    if let Some(path) = args.html.as_ref().filter(|_| args.once) {
        let fleet = rounds.run().map_err(anyhow::Error::msg)?;
        std::fs::write(path, static_page(&fleet)?)
            .with_context(|| format!("writing {}", path.display()))?;
        writeln!(out, "{}: {}", path.display(), fleet.one_line())?;
        return Ok(fleet.exit_code());
    }

    // Bound before anything else is started, so a taken port is a clear, immediate error.
    let listener = TcpListener::bind(args.listen)
        .with_context(|| format!("cannot listen on {}", args.listen))?;
    let addr = listener.local_addr()?;
    listener.set_nonblocking(true)?;
    let shared = Arc::new(Shared {
        latest: Mutex::new(Latest::Pending),
        targets: rounds.targets.len(),
    });
    {
        let shared = Arc::clone(&shared);
        let interval = args.interval;
        std::thread::Builder::new()
            .name("shipstamp-rounds".into())
            .spawn(move || {
                loop {
                    let started = Instant::now();
                    let latest = match rounds.run() {
                        Ok(fleet) => match serde_json::to_vec(&fleet) {
                            Ok(json) => Latest::Ready(Bytes::from(json)),
                            Err(e) => Latest::Failed(e.to_string()),
                        },
                        Err(why) => Latest::Failed(why),
                    };
                    *shared.lock() = latest;
                    std::thread::sleep(interval.saturating_sub(started.elapsed()));
                }
            })?;
    }
    eprintln!("listening on http://{addr}");
    let app = Router::new()
        .route("/", get(page))
        .route("/api/fleet.json", get(fleet_json))
        .fallback(|| async { (StatusCode::NOT_FOUND, "not found\n") })
        .with_state(shared);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let listener = tokio::net::TcpListener::from_std(listener)?;
        axum::serve(listener, app).await
    })?;
    // Serving ends only with an error (or a signal, which ends the process).
    Ok(EXIT_UNDECIDED)
}

/// What `/api/fleet.json` serves.
enum Latest {
    /// The first round is still running.
    Pending,
    /// The latest round's document.
    Ready(Bytes),
    /// No round has judged anything yet, and why.
    Failed(String),
}

struct Shared {
    latest: Mutex<Latest>,
    targets: usize,
}

impl Shared {
    fn lock(&self) -> std::sync::MutexGuard<'_, Latest> {
        // The lock is only held to swap or clone the document; nothing in between can panic.
        self.latest.lock().unwrap_or_else(|p| p.into_inner())
    }
}

fn no_store(mut response: Response, content_type: &'static str) -> Response {
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

async fn page() -> Response {
    let mut response = no_store(PAGE.into_response(), "text/html; charset=utf-8");
    // The page loads nothing from anywhere and talks only to this server.
    response.headers_mut().insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; \
             connect-src 'self'; img-src data:; base-uri 'none'; form-action 'none'",
        ),
    );
    response
}

async fn fleet_json(State(shared): State<Arc<Shared>>) -> Response {
    let error = match &*shared.lock() {
        Latest::Ready(json) => return no_store(json.clone().into_response(), "application/json"),
        Latest::Pending => format!(
            "the first round of checks ({} targets) is still running",
            shared.targets
        ),
        Latest::Failed(why) => format!("the checks failed: {why}"),
    };
    let body = serde_json::json!({ "schema": view::SCHEMA, "error": error });
    let mut response = no_store(
        (StatusCode::SERVICE_UNAVAILABLE, body.to_string()).into_response(),
        "application/json",
    );
    response
        .headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
    response
}

/// The page with the document inside: opens from a file, with no server and no network.
fn static_page(fleet: &Fleet) -> anyhow::Result<String> {
    let json = serde_json::to_string(fleet)?;
    // `<` only occurs inside JSON strings, where `\u003c` means the same; this keeps a
    // `</script>` in a target's name from ending the script element.
    let json = json.replace('<', "\\u003c");
    anyhow::ensure!(
        PAGE.contains(DATA_SLOT),
        "the page template has no data slot"
    );
    let filled = format!(r#"<script id="fleet-data" type="application/json">{json}</script>"#);
    Ok(PAGE.replacen(DATA_SLOT, &filled, 1))
}
