use std::fmt;
use std::str::FromStr;
use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use shipstamp_format::{format_rfc3339, parse_rfc3339};

/// A point in time with one-second precision, written as RFC 3339 UTC (`2026-11-22T10:00:00Z`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp {
    unix_seconds: i64,
}

impl Timestamp {
    /// The instant `unix_seconds` after 1970-01-01T00:00:00Z.
    pub const fn from_unix_seconds(unix_seconds: i64) -> Self {
        Timestamp { unix_seconds }
    }

    /// Seconds since 1970-01-01T00:00:00Z.
    pub const fn unix_seconds(self) -> i64 {
        self.unix_seconds
    }

    /// The current time, from the system clock.
    pub fn now() -> Self {
        let secs = match SystemTime::now().duration_since(UNIX_EPOCH) {
            Ok(d) => d.as_secs() as i64,
            Err(e) => -(e.duration().as_secs() as i64),
        };
        Timestamp::from_unix_seconds(secs)
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match format_rfc3339(self.unix_seconds) {
            // ASCII digits and separators.
            Some(text) => f.write_str(std::str::from_utf8(&text).unwrap_or_default()),
            // Outside the years 0 to 9999, which RFC 3339 cannot write.
            None => write!(f, "@{}", self.unix_seconds),
        }
    }
}

/// The error of parsing a [`Timestamp`] that is not RFC 3339.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseTimestampError(());

impl fmt::Display for ParseTimestampError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("not an RFC 3339 time such as 2026-11-22T10:00:00Z")
    }
}

impl std::error::Error for ParseTimestampError {}

impl FromStr for Timestamp {
    type Err = ParseTimestampError;

    /// Parses RFC 3339: `YYYY-MM-DDTHH:MM:SS`, optional fraction (dropped), then `Z` or `±HH:MM`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        parse_rfc3339(s.as_bytes())
            .map(Timestamp::from_unix_seconds)
            .ok_or(ParseTimestampError(()))
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips() {
        for secs in [
            0,
            951_782_400,
            1_795_341_600,
            -1,
            4_102_444_799,
            -62_135_596_800,
        ] {
            let t = Timestamp::from_unix_seconds(secs);
            assert_eq!(t.to_string().parse::<Timestamp>(), Ok(t), "{t}");
        }
        assert_eq!(
            Timestamp::from_unix_seconds(1_795_341_600).to_string(),
            "2026-11-22T10:00:00Z"
        );
        assert_eq!(
            Timestamp::from_unix_seconds(253_402_300_800).to_string(),
            "@253402300800",
            "year 10000"
        );
    }

    #[test]
    fn parses_offsets_and_fractions() {
        let t = |s: &str| s.parse::<Timestamp>().map(Timestamp::unix_seconds);
        assert_eq!(t("2026-11-22T10:00:00Z"), Ok(1_795_341_600));
        assert_eq!(t("2026-11-22T10:00:00.123456Z"), Ok(1_795_341_600));
        assert_eq!(t("2026-11-22T11:30:00+01:30"), Ok(1_795_341_600));
        assert_eq!(t("2026-11-22T05:00:00-05:00"), Ok(1_795_341_600));
        assert_eq!(t("2026-11-22t10:00:00z"), Ok(1_795_341_600));
    }

    #[test]
    fn rejects_malformed() {
        for bad in [
            "",
            "2026-11-22",
            "2026-11-22T10:00:00",
            "2026-13-01T00:00:00Z",
            "2026-02-30T00:00:00Z",
            "2026-11-22T24:00:00Z",
            "2026-11-22T10:00:00+0100",
            "2026-11-22T10:00:00.Z",
            "２026-11-22T10:00:00Z",
            "2026-11-22T10:00:00Zjunk",
            "+026-11-22T10:00:00Z",
        ] {
            assert!(bad.parse::<Timestamp>().is_err(), "{bad:?}");
        }
    }
}
