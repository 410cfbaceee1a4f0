use std::io::{BufRead, BufReader};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tungstenite::{Message, WebSocket, stream::MaybeTlsStream};

/// Debian's headless Chromium, driven over the DevTools protocol on loopback. Killed on drop.
///
/// The executable is `$SHIPSTAMP_CHROMIUM`, else `chromium` on `PATH` (`.ci/run` installs it).
#[derive(Debug)]
pub struct Browser {
    child: Child,
    devtools_port: u16,
    _profile: tempfile::TempDir,
}

/// One tab of a [`Browser`].
#[derive(Debug)]
pub struct Page {
    socket: WebSocket<MaybeTlsStream<TcpStream>>,
    next_id: u64,
}

impl Browser {
    /// Starts Chromium headless with a fresh profile and no background networking (this
    /// machine has no network beyond loopback, and tests must not reach for it).
    pub fn start() -> Browser {
        let exe = std::env::var_os("SHIPSTAMP_CHROMIUM")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from("chromium"));
        let profile = tempfile::Builder::new()
            .prefix("shipstamp-chromium-")
            .tempdir()
            .expect("profile dir");
        let mut child = Command::new(&exe)
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--disable-dev-shm-usage",
                "--remote-debugging-address=127.0.0.1",
                "--remote-debugging-port=0",
                "--window-size=1400,900",
            ])
            .arg(format!("--user-data-dir={}", profile.path().display()))
            .arg("about:blank")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| {
                panic!(
                    "cannot start {} ({e}): the browser tests need headless Chromium \
                     (`apt-get install chromium`, or SHIPSTAMP_CHROMIUM=/path/to/chrome)",
                    exe.display()
                )
            });
        // Read stderr on a thread, so a browser that never gets to listening fails the test
        // instead of hanging it.
        let stderr = child.stderr.take().expect("piped");
        let (lines_tx, lines_rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if lines_tx.send(line).is_err() {
                    break;
                }
            }
        });
        let deadline = Instant::now() + Duration::from_secs(60);
        let mut seen = Vec::new();
        let devtools_port = loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let Ok(line) = lines_rx.recv_timeout(left) else {
                let _ = child.kill();
                panic!("chromium did not open DevTools within 60 s; it said: {seen:#?}");
            };
            // "DevTools listening on ws://127.0.0.1:PORT/devtools/browser/ID"
            if let Some(rest) = line.split("ws://127.0.0.1:").nth(1) {
                let port = rest.split('/').next().and_then(|p| p.parse().ok());
                break port.expect("DevTools port");
            }
            seen.push(line);
        };
        // Keep draining what it writes later, so it never blocks on a full pipe.
        std::thread::spawn(move || lines_rx.into_iter().for_each(drop));
        Browser {
            child,
            devtools_port,
            _profile: profile,
        }
    }

    /// Connects to the browser's first tab.
    pub fn page(&self) -> Page {
        let addr = format!("127.0.0.1:{}", self.devtools_port)
            .parse()
            .expect("addr");
        let list = crate::request(addr, "GET", "/json/list").expect("DevTools /json/list");
        let tabs: Value = serde_json::from_slice(&list.body).expect("DevTools JSON");
        let ws = tabs
            .as_array()
            .and_then(|t| t.iter().find(|t| t["type"] == "page"))
            .and_then(|t| t["webSocketDebuggerUrl"].as_str())
            .expect("a page tab")
            .to_owned();
        let (socket, _) = tungstenite::connect(ws).expect("DevTools websocket");
        if let MaybeTlsStream::Plain(s) = socket.get_ref() {
            s.set_read_timeout(Some(Duration::from_secs(30)))
                .expect("timeout");
        }
        let mut page = Page { socket, next_id: 0 };
        page.call(
            "Emulation.setDeviceMetricsOverride",
            json!({"width": 1400, "height": 900, "deviceScaleFactor": 1, "mobile": false}),
        );
        page
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Page {
    /// Sends one DevTools command and returns its result; events in between are skipped.
    pub fn call(&mut self, method: &str, params: Value) -> Value {
        self.next_id += 1;
        let id = self.next_id;
        let msg = json!({"id": id, "method": method, "params": params});
        self.socket
            .send(Message::text(msg.to_string()))
            .expect("send to DevTools");
        loop {
            let msg = match self.socket.read() {
                Ok(msg) => msg,
                // A signal (or the machine pausing the process) interrupts a read that has a
                // timeout even under SA_RESTART; nothing was consumed, so read again.
                Err(tungstenite::Error::Io(e)) if e.kind() == std::io::ErrorKind::Interrupted => {
                    continue;
                }
                Err(e) => panic!("read from DevTools: {e:?}"),
            };
            let Message::Text(text) = msg else { continue };
            let value: Value = serde_json::from_str(text.as_str()).expect("DevTools JSON");
            if value["id"] == id {
                assert!(value["error"].is_null(), "{method}: {}", value["error"]);
                return value["result"].clone();
            }
        }
    }

    /// Loads `url` in this tab.
    pub fn navigate(&mut self, url: &str) {
        let result = self.call("Page.navigate", json!({"url": url}));
        assert!(
            result["errorText"].is_null(),
            "navigating to {url}: {}",
            result["errorText"]
        );
    }

    /// The value of a JavaScript expression in the page (JSON-serializable values only).
    pub fn eval(&mut self, expression: &str) -> Value {
        let result = self.call(
            "Runtime.evaluate",
            json!({"expression": expression, "returnByValue": true}),
        );
        assert!(
            result["exceptionDetails"].is_null(),
            "{expression}: {}",
            result["exceptionDetails"]
        );
        result["result"]["value"].clone()
    }

    /// Evaluates `expression` until `done` accepts its value, for at most `limit`; the last
    /// value either way. Waiting is for a page that fetches and redraws, not a speed claim.
    pub fn wait_for(
        &mut self,
        expression: &str,
        limit: Duration,
        done: impl Fn(&Value) -> bool,
    ) -> Value {
        let start = Instant::now();
        loop {
            let value = self.eval(expression);
            if done(&value) || start.elapsed() > limit {
                return value;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// A PNG of the whole page, written to `path`.
    pub fn screenshot(&mut self, path: &Path) {
        self.capture(
            path,
            json!({"format": "png", "captureBeyondViewport": true}),
        );
    }

    /// A PNG of the top `height` pixels of the page (1400 wide), written to `path`.
    pub fn screenshot_top(&mut self, path: &Path, height: u32) {
        self.capture(
            path,
            json!({"format": "png", "captureBeyondViewport": true,
                   "clip": {"x": 0, "y": 0, "width": 1400, "height": height, "scale": 1}}),
        );
    }

    fn capture(&mut self, path: &Path, params: Value) {
        let result = self.call("Page.captureScreenshot", params);
        let data = result["data"].as_str().expect("screenshot data");
        let png = data_encoding::BASE64
            .decode(data.as_bytes())
            .expect("base64 PNG");
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).expect("artefact dir");
        }
        std::fs::write(path, png).expect("write screenshot");
    }
}
