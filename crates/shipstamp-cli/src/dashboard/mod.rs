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
use shipstamp_check::{Commit, Options, Repo, Target, check};

use crate::check_cmd::parse_duration;
use crate::targets::read_targets;
use crate::{EXIT_UNDECIDED, EXIT_USAGE};
use view::{Fleet, History};

/// The page: HTML, CSS and JavaScript in one file, no external resources.
const PAGE: &str = include_str!("page.html");
/// Where the page's data goes: `null` on the live page (it polls), the document on a static one.
const DATA_SLOT: &str = r#"<script id="fleet-data" type="application/json">null</script>"#;

/// A shorter interval would have the dashboard hammer the fleet it watches.
const MIN_INTERVAL: Duration = Duration::from_millis(100);

#[derive(Debug, clap::Args)]
pub(crate) struct DashboardArgs {
    /// Version endpoints to show (http:// or https:// URLs), besides those in --targets.
    #[arg(value_name = "URL")]
    urls: Vec<String>,
    /// Read targets from FILE ("-": standard input): one URL per line, optionally followed by
    /// a name; blank lines and lines starting with # are skipped.
    #[arg(long, value_name = "FILE")]
    targets: Option<PathBuf>,
    /// The git ref the targets should run. Resolved again every round, so a branch that moves
    /// (after a `git fetch`) moves the dashboard with it.
    #[arg(long = "ref", value_name = "REF")]
    reference: String,
    /// The repository in which to resolve REF and the served commits.
    #[arg(long, value_name = "DIR", default_value = ".")]
    repo: PathBuf,
    /// Address to serve the page on. Anything but loopback shows the fleet to the network.
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8080", value_parser = parse_listen)]
    listen: SocketAddr,
    /// Time between rounds of checks.
    #[arg(long, value_name = "DURATION", value_parser = parse_duration, default_value = "5s")]
    interval: Duration,
    /// Time limit for each target's request, body included.
    #[arg(long, value_name = "DURATION", value_parser = parse_duration, default_value = "5s")]
    timeout: Duration,
    /// Judge a target built from uncommitted changes by its commit instead of as `dirty`.
    #[arg(long)]
    allow_dirty: bool,
    /// Targets checked at once.
    #[arg(long, value_name = "N", default_value_t = 32, value_parser = clap::value_parser!(u16).range(1..=1024))]
    concurrency: u16,
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

/// Everything a round needs.
struct Rounds {
    targets: Vec<Target>,
    repo: Repo,
    ref_name: String,
    reference: Commit,
    options: Options,
    interval: Option<f64>,
    history: History,
}

impl Rounds {
    fn run(&mut self) -> Fleet {
        let mut errors = Vec::new();
        // The ref is resolved each round: a dashboard runs for days while the branch moves.
        match self.repo.resolve_ref(&self.ref_name) {
            Ok(commit) => self.reference = commit,
            Err(e) => errors.push(format!(
                "{e}; still comparing with {}",
                crate::check_cmd::short(&self.reference.id)
            )),
        }
        let reports = check(&self.targets, &self.repo, &self.reference, &self.options);
        Fleet::new(
            &self.ref_name,
            &self.reference,
            &self.targets,
            reports,
            &mut self.history,
            self.interval,
            errors,
        )
    }
}

pub(crate) fn run(args: &DashboardArgs, out: &mut impl Write) -> anyhow::Result<u8> {
    let targets = match read_targets(&args.urls, args.targets.as_deref()) {
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
    let repo = Repo::open(&args.repo)?;
    let reference = repo.resolve_ref(&args.reference)?;
    let mut rounds = Rounds {
        targets,
        repo,
        ref_name: args.reference.clone(),
        reference,
        options: Options::default()
            .allow_dirty(args.allow_dirty)
            .timeout(args.timeout)
            .concurrency(args.concurrency.into()),
        interval: (!args.once).then_some(args.interval.as_secs_f64()),
        history: History::default(),
    };

    if let Some(path) = args.html.as_ref().filter(|_| args.once) {
        let fleet = rounds.run();
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
        latest: Mutex::new(None),
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
                    let fleet = rounds.run();
                    match serde_json::to_vec(&fleet) {
                        Ok(json) => *shared.lock() = Some(Bytes::from(json)),
                        Err(e) => eprintln!("shipstamp dashboard: {e}"),
                    }
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

struct Shared {
    /// The latest round's document; `None` until the first round is done.
    latest: Mutex<Option<Bytes>>,
    targets: usize,
}

impl Shared {
    fn lock(&self) -> std::sync::MutexGuard<'_, Option<Bytes>> {
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
    let latest = shared.lock().clone();
    match latest {
        Some(json) => no_store(json.into_response(), "application/json"),
        None => {
            let body = serde_json::json!({
                "schema": view::SCHEMA,
                "error": format!("the first round of checks ({} targets) is still running", shared.targets),
            });
            let mut response = no_store(
                (StatusCode::SERVICE_UNAVAILABLE, body.to_string()).into_response(),
                "application/json",
            );
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
            response
        }
    }
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
