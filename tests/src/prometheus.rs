//! A real Prometheus on loopback, for the tests and benchmarks.

use std::process::Command;

/// A Prometheus server (Debian's `prometheus`, installed by `.ci/run`) on loopback, killed on
/// drop.
#[derive(Debug)]
pub struct PrometheusServer {
    child: std::process::Child,
    /// Where it listens.
    pub addr: std::net::SocketAddr,
    _dir: tempfile::TempDir,
}

impl PrometheusServer {
    /// Starts Prometheus with `config` as its configuration file, and waits until it is ready.
    pub fn start(config: &str) -> PrometheusServer {
        PrometheusServer::start_with(config, None, &[])
    }

    /// [`PrometheusServer::start`] with `data` as its storage (a backfilled one) when given,
    /// and more command-line flags.
    pub fn start_with(
        config: &str,
        data: Option<&std::path::Path>,
        flags: &[&str],
    ) -> PrometheusServer {
        let dir = tempfile::tempdir().unwrap();
        let data = data.map_or_else(|| dir.path().join("data"), std::path::Path::to_path_buf);
        std::fs::write(dir.path().join("prometheus.yml"), config).unwrap();
        let addr = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap();
        let exe = std::env::var_os("SHIPSTAMP_PROMETHEUS").unwrap_or_else(|| "prometheus".into());
        let child = Command::new(&exe)
            .arg(format!(
                "--config.file={}",
                dir.path().join("prometheus.yml").display()
            ))
            .arg(format!("--storage.tsdb.path={}", data.display()))
            .arg(format!("--web.listen-address={addr}"))
            .args(flags)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap_or_else(|e| {
                panic!("cannot start {exe:?} ({e}): this test needs Prometheus (`apt-get install prometheus`, or SHIPSTAMP_PROMETHEUS=path)")
            });
        let prometheus = PrometheusServer {
            child,
            addr,
            _dir: dir,
        };
        prometheus.wait_until(|p| {
            crate::request(p.addr, "GET", "/-/ready").is_ok_and(|r| r.status == 200)
        });
        prometheus
    }

    /// Polls `ready` for at most 60 s (a loaded CI machine); not a speed claim.
    pub fn wait_until(&self, ready: impl Fn(&PrometheusServer) -> bool) {
        let start = std::time::Instant::now();
        while !ready(self) {
            assert!(
                start.elapsed() < std::time::Duration::from_secs(60),
                "Prometheus never got there"
            );
            std::thread::sleep(std::time::Duration::from_millis(200));
        }
    }

    /// The `data.result` of an instant query; panics on a PromQL error.
    pub fn query(&self, promql: &str) -> Vec<serde_json::Value> {
        let path = format!("/api/v1/query?query={}", percent_encode(promql));
        let res = crate::request(self.addr, "GET", &path).unwrap();
        let body: serde_json::Value = serde_json::from_slice(&res.body).unwrap();
        assert_eq!(body["status"], "success", "{promql}: {body}");
        body["data"]["result"].as_array().unwrap().clone()
    }

    /// The (major, minor) release this Prometheus says it is.
    pub fn version(&self) -> (u32, u32) {
        let info = crate::request(self.addr, "GET", "/api/v1/status/buildinfo").expect("buildinfo");
        let info: serde_json::Value = serde_json::from_slice(&info.body).expect("buildinfo JSON");
        let version = info["data"]["version"].as_str().expect("a version");
        let mut parts = version
            .split(['.', '+', '-'])
            .map(|p| p.parse().unwrap_or(0));
        (parts.next().unwrap_or(0), parts.next().unwrap_or(0))
    }

    /// How many requests this Prometheus answered at `/federate`, as it counts them itself.
    pub fn federate_requests(&self) -> u64 {
        let metrics = crate::request(self.addr, "GET", "/metrics").expect("/metrics");
        String::from_utf8_lossy(&metrics.body)
            .lines()
            .filter(|l| {
                l.starts_with("prometheus_http_requests_total{")
                    && l.contains(r#"handler="/federate""#)
            })
            .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
            .sum::<f64>() as u64
    }

    /// The single value of a query that yields one sample.
    pub fn scalar(&self, promql: &str) -> f64 {
        let result = self.query(promql);
        assert_eq!(result.len(), 1, "{promql}: {result:?}");
        result[0]["value"][1].as_str().unwrap().parse().unwrap()
    }
}

impl Drop for PrometheusServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `s` percent-encoded for a query string.
pub fn percent_encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}
