//! `shipstamp dashboard`: versions per host, live in a browser or as one static page, for one
//! repository or a fleet of services × environments.
//!
//! A plain thread checks every target each `--interval` with the same code as `check` and
//! keeps the latest document serialized (and gzipped); the HTTP side (axum on a one-thread
//! runtime) only hands out those bytes, so a page left open costs the fleet nothing extra. A
//! page that already has the latest data gets `304 Not Modified`: the document's `ETag` changes
//! only when something in it other than the time does.

mod contains;
mod metrics;
mod notify;
mod view;

use std::io::Write;
use std::net::{SocketAddr, TcpListener, ToSocketAddrs};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use headers::{Header as _, HeaderMapExt as _};
use shipstamp::Timestamp;
use shipstamp_check::Repo;

use crate::args::CheckFlags;
use crate::error::{CliError, UNDECIDED};
use crate::rounds::Rounds;
use crate::values::parse_positive_duration;
pub(crate) use metrics::{Metrics, MetricsTargets};
use notify::Notifier;
use view::FetchView;
pub(crate) use view::{Background, Fleet, History};

/// The page: HTML, CSS and JavaScript in one file, no external resources.
const PAGE: &str = include_str!("page.html");
/// Where the page's data goes: `null` on the live page (it polls), the document on a static one.
const DATA_SLOT: &str = r#"<script id="fleet-data" type="application/json">null</script>"#;

/// A shorter interval would have the dashboard hammer the fleet it watches.
const MIN_INTERVAL: Duration = Duration::from_millis(100);
const DEFAULT_INTERVAL: Duration = Duration::from_secs(5);
/// Fetching more often than this helps nobody and loads the git server.
const MIN_FETCH: Duration = Duration::from_secs(1);

#[derive(Debug, clap::Args)]
pub(crate) struct DashboardArgs {
    #[command(flatten)]
    flags: CheckFlags,
    /// Address to serve the page on. Anything but loopback shows the fleet to the network.
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8080", value_parser = parse_listen)]
    listen: SocketAddr,
    /// Time between rounds of checks (at least 100ms) [default: 5s]. The refs are resolved
    /// again every round, so a branch that moves (after a `git fetch`) moves the dashboard.
    #[arg(long, value_name = "DURATION", value_parser = parse_interval)]
    interval: Option<Duration>,
    /// Run `git fetch` in each repository this often, in the background, so `origin/main`
    /// moves by itself after a merge (a fleet file's `fetch` per service wins). At least 1s.
    #[arg(long, value_name = "DURATION", value_parser = parse_positive_duration)]
    fetch: Option<Duration>,
    /// Check once, write the page to --html FILE and exit with check's exit code (0 every
    /// target matches, 1 drift, 2 undecided): a CI artefact.
    #[arg(long, requires = "html")]
    once: bool,
    /// With --once: the file to write the self-contained page to.
    #[arg(long, value_name = "FILE", requires = "once")]
    html: Option<PathBuf>,
    /// Which targets get series of their own on /metrics (counts per status are always
    /// there): `unmatched` (every target that is not match or includes), `all`, or `none`.
    #[arg(long, value_name = "WHICH", value_enum, default_value = "unmatched")]
    metrics_targets: MetricsTargets,
    /// POST a JSON message (with a `text` that Slack and Mattermost show) to URL in each round
    /// in which targets entered or left drift; SHIPSTAMP_NOTIFY_URL when not given. The URL is
    /// never printed.
    #[arg(long, value_name = "URL")]
    notify: Option<String>,
    /// With --notify: a target counts as entered once its drift has lasted this long.
    #[arg(long, value_name = "DURATION", value_parser = crate::values::parse_duration, default_value = "10m")]
    notify_after: Duration,
    /// How long an instance that has left the rounds (a rollout replaced it) is remembered:
    /// its last answer, and since when it was in drift. Memory follows the fleet, not its
    /// history.
    #[arg(long, value_name = "DURATION", value_parser = crate::values::parse_duration, default_value = "1h")]
    forget_after: Duration,
}

fn parse_interval(s: &str) -> Result<Duration, String> {
    let d = crate::values::parse_duration(s)?;
    if d < MIN_INTERVAL {
        return Err("must be at least 100ms".into());
    }
    Ok(d)
}

fn parse_listen(s: &str) -> Result<SocketAddr, String> {
    let mut addrs = s.to_socket_addrs().map_err(|e| {
        format!("{s:?} is not an address to listen on (such as 127.0.0.1:8080): {e}")
    })?;
    addrs
        .next()
        .ok_or_else(|| format!("{s:?} names no address"))
}

pub(crate) fn run(args: &DashboardArgs, out: &mut impl Write) -> Result<u8, CliError> {
    let plan = args.flags.plan("dashboard")?;
    let interval = args
        .interval
        .or(plan.fleet.defaults.interval)
        .unwrap_or(DEFAULT_INTERVAL);
    if !args.once && interval < MIN_INTERVAL {
        return Err(CliError::usage(
            "the interval between rounds must be at least 100ms",
        ));
    }
    let fetch_every: Vec<(Option<String>, Duration)> = plan
        .fleet
        .services
        .iter()
        .filter_map(|s| Some((s.name.clone(), s.fetch.or(args.fetch)?)))
        .collect();
    if let Some((_, every)) = fetch_every.iter().find(|(_, every)| *every < MIN_FETCH) {
        return Err(CliError::usage(format!(
            "fetching every {}ms is too often (at least 1s)",
            every.as_millis()
        )));
    }
    if args.once && args.notify.is_some() {
        return Err(CliError::usage(
            "--notify is for a dashboard that runs, not --once",
        ));
    }
    let notify_url = args
        .notify
        .clone()
        .or_else(|| std::env::var("SHIPSTAMP_NOTIFY_URL").ok())
        .filter(|url| !url.is_empty() && !args.once);
    if let Some(url) = &notify_url {
        let scheme = url.split_once("://").map(|(s, _)| s.to_ascii_lowercase());
        if !matches!(scheme.as_deref(), Some("http" | "https")) {
            // Not the URL itself: it is often a secret.
            return Err(CliError::usage(
                "the notify URL (--notify or SHIPSTAMP_NOTIFY_URL) is not an http:// or https:// URL",
            ));
        }
    }
    let single = args.flags.fleet.is_none();
    let mut rounds = Rounds::new(plan.fleet, &plan.options, &plan.question);
    // In a fleet, a part that cannot be checked yet (a missing clone, a ref not pushed yet) is
    // shown on the page and tried again every round: the dashboard starts anyway.
    if let Some(why) = rounds.resolve_all().filter(|_| single) {
        return Err(CliError::undecided(why));
    }
    let mut history = History::forgetting_after(args.forget_after.as_secs() as i64);

    if let Some(path) = args.html.as_ref().filter(|_| args.once) {
        let round = rounds.run(false);
        for broken in &round.broken {
            eprintln!("shipstamp dashboard: {broken}");
        }
        let summary = round.summary();
        let fleet = Fleet::new(
            &round,
            &summary,
            single,
            &mut history,
            None,
            Background::default(),
        );
        std::fs::File::create(path)
            .map_err(CliError::from)
            .and_then(|file| write_static_page(&fleet, file))
            .map_err(|e| e.context(format!("writing {}", path.display())))?;
        writeln!(out, "{}: {}", path.display(), fleet.one_line())?;
        return Ok(summary.exit_code());
    }

    // Bound before anything else is started, so a taken port is a clear, immediate error.
    let listener = TcpListener::bind(args.listen)
        .map_err(|e| CliError::from(e).context(format!("cannot listen on {}", args.listen)))?;
    let addr = listener.local_addr()?;
    listener.set_nonblocking(true)?;
    let (listed, sources) = rounds.listed();
    let shared = Arc::new(Shared {
        latest: Mutex::new(Latest::Pending),
        metrics: Mutex::new(None),
        listed,
        sources,
    });
    let metrics_targets = args.metrics_targets;
    let fetches = start_fetches(&rounds.repos(), &fetch_every)?;
    let mut notifier = match notify_url {
        Some(url) => Some(Notifier::start(url, args.notify_after)?),
        None => None,
    };
    let asker = contains::Asker::new(rounds.repo_paths(), plan.options.clone());
    {
        let shared = Arc::clone(&shared);
        let asker = Arc::clone(&asker);
        std::thread::Builder::new()
            .name("shipstamp-rounds".into())
            .spawn(move || {
                let mut last_render = None;
                loop {
                    let started = Instant::now();
                    let round = rounds.run(true);
                    asker.round(&round.cells);
                    let summary = round.summary();
                    let background = Background {
                        fetches: fetches.iter().map(|f| f.view()).collect(),
                        notify: notifier.as_ref().map(Notifier::view),
                    };
                    let fleet = Fleet::new(
                        &round,
                        &summary,
                        single,
                        &mut history,
                        Some(interval.as_secs_f64()),
                        background,
                    );
                    if let Some(notifier) = &mut notifier {
                        notifier.round(&fleet);
                    }
                    let failures: Vec<(Option<String>, u64)> = fetches
                        .iter()
                        .map(|f| (f.service.clone(), f.failures.load(Ordering::Relaxed)))
                        .collect();
                    let seconds = started.elapsed().as_secs_f64();
                    let rendering = Instant::now();
                    let metrics =
                        Metrics::render(&fleet, metrics_targets, seconds, last_render, &failures);
                    last_render = Some(rendering.elapsed().as_secs_f64());
                    let latest = match Document::new(&fleet) {
                        Ok(doc) => Latest::Ready(doc),
                        Err(e) => Latest::Failed(e.to_string()),
                    };
                    *shared.lock() = latest;
                    *shared.metrics.lock().unwrap_or_else(|p| p.into_inner()) =
                        Some(Arc::new(metrics));
                    std::thread::sleep(interval.saturating_sub(started.elapsed()));
                }
            })?;
    }
    eprintln!("listening on http://{addr}");
    let app = Router::new()
        .route("/", get(page))
        .route("/api/fleet.json", get(fleet_json))
        .route("/metrics", get(metrics_text))
        .route(
            "/api/contains",
            get(move |query: RawQuery| contains_json(Arc::clone(&asker), query)),
        )
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
    Ok(UNDECIDED)
}

/// The background `git fetch` of one repository, and how its last run went.
struct Fetch {
    service: Option<String>,
    every: Duration,
    last: Arc<Mutex<LastFetch>>,
    /// Fetches that failed since the dashboard started.
    failures: Arc<AtomicU64>,
}

/// When the last fetch finished, and how.
type LastFetch = (Option<Timestamp>, Option<Result<(), String>>);

impl Fetch {
    fn view(&self) -> FetchView {
        let (at, result) = self.last.lock().map(|l| l.clone()).unwrap_or_default();
        FetchView {
            service: self.service.clone(),
            at,
            ok: result.as_ref().map(Result::is_ok),
            error: result.and_then(Result::err),
            every_seconds: self.every.as_secs_f64(),
        }
    }
}

/// One thread per repository that fetches: a fetch that hangs is stopped after `every`, and
/// never holds up the checks.
fn start_fetches(
    repos: &[(Option<String>, Repo)],
    every: &[(Option<String>, Duration)],
) -> std::io::Result<Vec<Fetch>> {
    let mut fetches = Vec::new();
    for (service, every) in every {
        let Some((_, repo)) = repos.iter().find(|(name, _)| name == service) else {
            continue;
        };
        let last = Arc::new(Mutex::new((None, None)));
        let failures = Arc::new(AtomicU64::new(0));
        let (repo, every_thread, last_thread) = (repo.clone(), *every, Arc::clone(&last));
        let failures_thread = Arc::clone(&failures);
        std::thread::Builder::new()
            .name("shipstamp-fetch".into())
            .spawn(move || {
                loop {
                    let started = Instant::now();
                    let result = repo.fetch(every_thread).map_err(|e| e.to_string());
                    if result.is_err() {
                        failures_thread.fetch_add(1, Ordering::Relaxed);
                    }
                    if let Ok(mut last) = last_thread.lock() {
                        *last = (Some(Timestamp::now()), Some(result));
                    }
                    std::thread::sleep(every_thread.saturating_sub(started.elapsed()));
                }
            })?;
        fetches.push(Fetch {
            service: service.clone(),
            every: *every,
            last,
            failures,
        });
    }
    Ok(fetches)
}

/// One round's document, ready to serve.
struct Document {
    json: Bytes,
    gzip: Bytes,
    /// Changes only when the content does (not the times or the round number).
    etag: HeaderValue,
    round: HeaderValue,
    generated_at: HeaderValue,
}

impl Document {
    fn new(fleet: &Fleet) -> Result<Document, CliError> {
        let json = serde_json::to_vec(fleet)?;
        let mut gz = flate2::write::GzEncoder::new(
            Vec::with_capacity(json.len() / 8),
            flate2::Compression::fast(),
        );
        gz.write_all(&json)?;
        // A hex hash and an RFC 3339 time are always valid header values.
        let header = |text: String| {
            HeaderValue::try_from(text).map_err(|e| CliError::undecided(e.to_string()))
        };
        Ok(Document {
            etag: header(format!("\"{:016x}\"", fleet.content_hash()))?,
            round: HeaderValue::from(fleet.round()),
            generated_at: header(fleet.generated_at().to_string())?,
            gzip: Bytes::from(gz.finish()?),
            json: Bytes::from(json),
        })
    }
}

/// What `/api/fleet.json` serves.
enum Latest {
    /// The first round is still running.
    Pending,
    /// The latest round's document.
    Ready(Document),
    /// No round has judged anything yet, and why.
    Failed(String),
}

struct Shared {
    latest: Mutex<Latest>,
    /// The last round's `/metrics`; `None` until the first round is done.
    metrics: Mutex<Option<Arc<Metrics>>>,
    /// Targets listed, and sources that may find more (for the first round's message).
    listed: usize,
    sources: usize,
}

impl Shared {
    fn lock(&self) -> std::sync::MutexGuard<'_, Latest> {
        // The lock is only held to swap the document or copy out its bytes; nothing in
        // between can panic.
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

async fn fleet_json(State(shared): State<Arc<Shared>>, request: HeaderMap) -> Response {
    let error = match &*shared.lock() {
        Latest::Ready(doc) => return serve(doc, &request),
        Latest::Pending => format!(
            "the first round of checks ({} targets listed, from {} sources) is still running",
            shared.listed, shared.sources
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

/// `GET /metrics`: OpenMetrics when the scraper accepts it (Prometheus asks for it first),
/// else the Prometheus text format; 503 until the first round is done.
async fn metrics_text(State(shared): State<Arc<Shared>>, request: HeaderMap) -> Response {
    let metrics = shared
        .metrics
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .clone();
    let Some(metrics) = metrics else {
        let mut response = no_store(
            (
                StatusCode::SERVICE_UNAVAILABLE,
                "the first round of checks is still running\n",
            )
                .into_response(),
            "text/plain; charset=utf-8",
        );
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
        return response;
    };
    if accepts_openmetrics(&request) {
        no_store(
            metrics.openmetrics.clone().into_response(),
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )
    } else {
        no_store(
            metrics.text.clone().into_response(),
            "text/plain; version=0.0.4; charset=utf-8",
        )
    }
}

/// Whether `Accept` lists `application/openmetrics-text` with a quality above 0.
fn accepts_openmetrics(request: &HeaderMap) -> bool {
    request
        .get_all(header::ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|item| {
            let mut parts = item.split(';').map(str::trim);
            parts
                .next()
                .is_some_and(|t| t.eq_ignore_ascii_case("application/openmetrics-text"))
                && !parts.any(|p| {
                    p.strip_prefix("q=")
                        .and_then(|q| q.parse::<f32>().ok())
                        .is_some_and(|q| q <= 0.0)
                })
        })
}

/// `GET /api/contains?commit=…`: answered off the server's one thread (it asks git).
async fn contains_json(asker: Arc<contains::Asker>, RawQuery(query): RawQuery) -> Response {
    let asked = query
        .as_deref()
        .unwrap_or("")
        .split('&')
        .find_map(|pair| pair.strip_prefix("commit="))
        .map(percent_decoded);
    let answer = match asked {
        Some(Some(asked)) => tokio::task::spawn_blocking(move || asker.answer(&asked))
            .await
            .unwrap_or_else(|e| Err((500, e.to_string()))),
        _ => Err((400, "give ?commit= a commit id or a ref".into())),
    };
    let (status, body) =
        match answer.and_then(|doc| serde_json::to_vec(&doc).map_err(|e| (500, e.to_string()))) {
            Ok(body) => (StatusCode::OK, body),
            Err((status, why)) => (
                StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
                serde_json::json!({ "schema": view::SCHEMA, "error": why })
                    .to_string()
                    .into_bytes(),
            ),
        };
    no_store((status, body).into_response(), "application/json")
}

/// A query string value, percent-decoded (`+` is a space); `None` when it is not UTF-8.
fn percent_decoded(value: &str) -> Option<String> {
    let bytes = value.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).ok();
                match hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                    Some(b) => {
                        out.push(b);
                        i += 2;
                    }
                    None => out.push(b'%'),
                }
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8(out).ok()
}

fn serve(doc: &Document, request: &HeaderMap) -> Response {
    // RFC 7232's weak comparison, `*` and lists included.
    let unchanged = match (
        request.typed_get::<headers::IfNoneMatch>(),
        headers::ETag::decode(&mut std::iter::once(&doc.etag)),
    ) {
        (Some(condition), Ok(etag)) => !condition.precondition_passes(&etag),
        _ => false,
    };
    let gzip = accepts_gzip(request);
    let mut response = if unchanged {
        StatusCode::NOT_MODIFIED.into_response()
    } else if gzip {
        let mut r = doc.gzip.clone().into_response();
        r.headers_mut()
            .insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
        r
    } else {
        doc.json.clone().into_response()
    };
    let response_headers = response.headers_mut();
    response_headers.insert(header::ETAG, doc.etag.clone());
    response_headers.insert(header::VARY, HeaderValue::from_static("Accept-Encoding"));
    response_headers.insert("x-shipstamp-round", doc.round.clone());
    response_headers.insert("x-shipstamp-generated-at", doc.generated_at.clone());
    no_store(response, "application/json")
}

/// Whether `Accept-Encoding` takes gzip: named, or `*`, with a quality above zero (`q=0`,
/// `q=0.0` and `q=0.000` refuse it).
fn accepts_gzip(request: &HeaderMap) -> bool {
    let mut gzip = None;
    let mut any = None;
    for coding in request
        .get_all(header::ACCEPT_ENCODING)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
    {
        let mut parts = coding.split(';');
        let name = parts.next().unwrap_or("").trim().to_ascii_lowercase();
        let quality = parts
            .filter_map(|p| p.trim().strip_prefix("q=").or(p.trim().strip_prefix("Q=")))
            .find_map(|q| q.trim().parse::<f32>().ok())
            .unwrap_or(1.0);
        match name.as_str() {
            "gzip" | "x-gzip" => gzip = Some(quality > 0.0),
            "*" => any = Some(quality > 0.0),
            _ => {}
        }
    }
    gzip.or(any).unwrap_or(false)
}

/// The page with the document inside: opens from a file, with no server and no network.
/// Written as it is made: at 100,000 hosts the document is tens of megabytes.
fn write_static_page(fleet: &Fleet, out: impl Write) -> Result<(), CliError> {
    let (before, after) = PAGE
        .split_once(DATA_SLOT)
        .ok_or_else(|| CliError::undecided("the page template has no data slot"))?;
    let mut out = std::io::BufWriter::new(out);
    out.write_all(before.as_bytes())?;
    out.write_all(br#"<script id="fleet-data" type="application/json">"#)?;
    serde_json::to_writer(EscapeLessThan(&mut out), fleet)?;
    out.write_all(b"</script>")?;
    out.write_all(after.as_bytes())?;
    out.flush()?;
    Ok(())
}

/// Writes JSON with `<` as `\u003c`, which means the same inside a JSON string (the only
/// place it occurs), so that a `</script>` in a target's name cannot end the script element.
struct EscapeLessThan<W>(W);

impl<W: Write> Write for EscapeLessThan<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        for (i, part) in buf.split(|b| *b == b'<').enumerate() {
            if i > 0 {
                self.0.write_all(b"\\u003c")?;
            }
            self.0.write_all(part)?;
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.0.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_values_are_percent_decoded() {
        for (raw, decoded) in [
            ("64b8e19", Some("64b8e19")),
            ("origin%2Fmain", Some("origin/main")),
            ("v1.4.3+x", Some("v1.4.3 x")),
            ("50%", Some("50%")),
            ("%zz", Some("%zz")),
            ("%ff", None),
        ] {
            assert_eq!(percent_decoded(raw).as_deref(), decoded, "{raw}");
        }
    }

    #[test]
    fn gzip_only_when_its_quality_is_above_zero() {
        for (accept, gzip) in [
            ("gzip", true),
            ("gzip, deflate, br", true),
            ("deflate, GZIP;q=0.5", true),
            ("gzip;q=0", false),
            ("gzip;q=0.0", false),
            ("gzip; q=0.000", false),
            ("*", true),
            ("*;q=0", false),
            ("br, *;q=0.1", true),
            ("gzip;q=0, *", false),
            ("identity", false),
            ("", false),
        ] {
            let mut headers = HeaderMap::new();
            headers.insert(header::ACCEPT_ENCODING, HeaderValue::from_static(accept));
            assert_eq!(accepts_gzip(&headers), gzip, "{accept:?}");
        }
        assert!(!accepts_gzip(&HeaderMap::new()));
    }

    #[test]
    fn not_modified_by_the_weak_comparison() {
        let etag = HeaderValue::from_static("\"00ab\"");
        let passes = |if_none_match: &'static str| {
            let mut headers = HeaderMap::new();
            headers.insert(
                header::IF_NONE_MATCH,
                HeaderValue::from_static(if_none_match),
            );
            let condition = headers.typed_get::<headers::IfNoneMatch>().unwrap();
            condition
                .precondition_passes(&headers::ETag::decode(&mut std::iter::once(&etag)).unwrap())
        };
        assert!(!passes("\"00ab\""));
        assert!(!passes("W/\"00ab\""));
        assert!(!passes("\"x\", \"00ab\""));
        assert!(!passes("*"));
        assert!(passes("\"00ac\""));
    }

    #[test]
    fn no_less_than_sign_reaches_the_embedded_document() {
        let name = "</script><script>alert(1)</script>";
        let mut page = Vec::new();
        serde_json::to_writer(
            EscapeLessThan(&mut page),
            &serde_json::json!({ "name": name, "n": 1 }),
        )
        .unwrap();
        let page = String::from_utf8(page).unwrap();
        assert!(!page.contains('<'), "{page}");
        assert!(page.contains(r"\u003c/script>"), "{page}");
        let back: serde_json::Value = serde_json::from_str(&page).unwrap();
        assert_eq!(back["name"], name);
        // Written piece by piece, as a buffered writer hands it over.
        let mut pieces = Vec::new();
        let mut writer = EscapeLessThan(&mut pieces);
        for part in ["<", "a<<", "", "b<"] {
            assert_eq!(writer.write(part.as_bytes()).unwrap(), part.len());
        }
        assert_eq!(pieces, br"\u003ca\u003c\u003cb\u003c");
    }
}
