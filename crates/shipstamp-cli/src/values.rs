//! Values given on the command line and in fleet files, parsed once: durations and
//! `--resolve` entries.

use std::net::SocketAddr;
use std::time::Duration;

/// One `--resolve HOST:PORT:ADDR[,ADDR...]`.
#[derive(Debug, Clone)]
pub(crate) struct Resolve {
    pub(crate) host: String,
    pub(crate) port: u16,
    pub(crate) addresses: Vec<SocketAddr>,
}

pub(crate) fn parse_resolve(s: &str) -> Result<Resolve, String> {
    let bad = || {
        format!(
            "{s:?} is not HOST:PORT:ADDR[,ADDR...] (e.g. orders.internal:443:10.0.0.1,10.0.0.2)"
        )
    };
    let mut parts = s.splitn(3, ':');
    let (Some(host), Some(port), Some(addresses)) = (parts.next(), parts.next(), parts.next())
    else {
        return Err(bad());
    };
    let port: u16 = port.parse().map_err(|_| bad())?;
    let addresses = addresses
        .split(',')
        .map(|a| {
            a.trim()
                .trim_start_matches('[')
                .trim_end_matches(']')
                .parse::<std::net::IpAddr>()
                .map(|ip| SocketAddr::new(ip, port))
                .map_err(|_| bad())
        })
        .collect::<Result<Vec<_>, _>>()?;
    if host.is_empty() {
        return Err(bad());
    }
    Ok(Resolve {
        host: host.to_owned(),
        port,
        addresses,
    })
}

/// `500ms`, `30s`, `5m`, `1h`, or a number of seconds; at most a week.
pub(crate) fn parse_duration(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    let (number, unit) = match s.find(|c: char| !c.is_ascii_digit() && c != '.') {
        Some(i) => s.split_at(i),
        None => (s, "s"),
    };
    let value: f64 = number
        .parse()
        .map_err(|_| format!("{s:?} is not a duration such as 30s, 5m or 500ms"))?;
    let seconds = match unit {
        "ms" => value / 1000.0,
        "s" => value,
        "m" => value * 60.0,
        "h" => value * 3600.0,
        _ => return Err(format!("{s:?}: unknown unit {unit:?} (use ms, s, m or h)")),
    };
    if !seconds.is_finite() || seconds > 7.0 * 86_400.0 {
        return Err(format!("{s:?} is out of range"));
    }
    Ok(Duration::from_secs_f64(seconds))
}

/// A duration that must be at least 1 ms: a time limit or a wait of zero makes no sense.
pub(crate) fn parse_positive_duration(s: &str) -> Result<Duration, String> {
    let d = parse_duration(s)?;
    if d < Duration::from_millis(1) {
        return Err(format!("{:?} is too short (at least 1ms)", s.trim()));
    }
    Ok(d)
}

/// A path relative to the repository's top directory, as `--path` and `paths` take it: not
/// absolute, no `..`, no backslash (`services/orders`, `Cargo.lock`; `.` is all of it).
pub(crate) fn parse_repository_path(s: &str) -> Result<String, String> {
    if shipstamp_format::is_repository_relative(s) {
        Ok(s.to_owned())
    } else {
        Err(format!(
            "{s:?} is not a path relative to the repository's top directory (services/orders, \
             Cargo.lock; . for all of it)"
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repository_paths() {
        for good in [
            "services/orders",
            "Cargo.lock",
            ".",
            "services/orders/",
            "a b",
        ] {
            assert_eq!(parse_repository_path(good).as_deref(), Ok(good), "{good}");
        }
        for bad in [
            "",
            "/srv/orders",
            "../other",
            "services/../../x",
            "C:\\x",
            "a\nb",
        ] {
            let why = parse_repository_path(bad).unwrap_err();
            assert!(why.contains("not a path relative"), "{bad}: {why}");
        }
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("30s"), Ok(Duration::from_secs(30)));
        assert_eq!(parse_duration("5m"), Ok(Duration::from_secs(300)));
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("2"), Ok(Duration::from_secs(2)));
        assert_eq!(parse_duration("1.5h"), Ok(Duration::from_secs(5400)));
        assert_eq!(parse_duration("0s"), Ok(Duration::ZERO));
        for bad in ["", "s", "5x", "-1s", "1e999s", "9999h"] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
        assert!(parse_positive_duration("0s").is_err());
        assert!(parse_positive_duration("0.0001ms").is_err());
        assert_eq!(parse_positive_duration("1ms"), Ok(Duration::from_millis(1)));
    }

    #[test]
    fn resolve_entries() {
        let r = parse_resolve("orders.internal:443:10.0.0.1,[::1]").unwrap();
        assert_eq!((r.host.as_str(), r.port), ("orders.internal", 443));
        assert_eq!(
            r.addresses,
            [
                "10.0.0.1:443".parse::<SocketAddr>().unwrap(),
                "[::1]:443".parse().unwrap()
            ]
        );
        for bad in [
            "orders:443",
            ":443:10.0.0.1",
            "orders:x:10.0.0.1",
            "orders:443:nope",
        ] {
            assert!(parse_resolve(bad).is_err(), "{bad}");
        }
    }
}
