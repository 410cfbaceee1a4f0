use std::fmt;
use std::str::FromStr;
use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Deserializer, Serialize, Serializer};

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
        let days = self.unix_seconds.div_euclid(86_400);
        let secs = self.unix_seconds.rem_euclid(86_400);
        let (y, m, d) = civil_from_days(days);
        write!(
            f,
            "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
            secs / 3600,
            secs % 3600 / 60,
            secs % 60
        )
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
        let err = ParseTimestampError(());
        let b = s.as_bytes();
        // ASCII only, so the byte ranges below are char boundaries.
        if !s.is_ascii()
            || b.len() < 20
            || b[4] != b'-'
            || b[7] != b'-'
            || !matches!(b[10], b'T' | b't' | b' ')
            || b[13] != b':'
            || b[16] != b':'
        {
            return Err(err);
        }
        let num = |r: std::ops::Range<usize>| num_of(&s[r]);
        let (year, month, day) = (num(0..4)?, num(5..7)?, num(8..10)?);
        let (hour, min, sec) = (num(11..13)?, num(14..16)?, num(17..19)?);
        if !(1..=12).contains(&month)
            || day < 1
            || day > days_in_month(year, month)
            || hour > 23
            || min > 59
            || sec > 60
        {
            return Err(err);
        }
        let mut rest = &s[19..];
        if let Some(frac) = rest.strip_prefix('.') {
            let digits = frac.bytes().take_while(u8::is_ascii_digit).count();
            if digits == 0 {
                return Err(err);
            }
            rest = &frac[digits..];
        }
        let offset = match rest.as_bytes() {
            [b'Z' | b'z'] => 0,
            [sign @ (b'+' | b'-'), _, _, b':', _, _] => {
                let (oh, om) = (num_of(&rest[1..3])?, num_of(&rest[4..6])?);
                if oh > 23 || om > 59 {
                    return Err(err);
                }
                let off = oh * 3600 + om * 60;
                if *sign == b'+' { off } else { -off }
            }
            _ => return Err(err),
        };
        let days = days_from_civil(year, month as u32, day as u32);
        // A leap second (:60) is folded into the next second.
        Ok(Timestamp::from_unix_seconds(
            days * 86_400 + hour * 3600 + min * 60 + sec - offset,
        ))
    }
}

fn num_of(s: &str) -> Result<i64, ParseTimestampError> {
    if s.bytes().all(|c| c.is_ascii_digit()) {
        s.parse().map_err(|_| ParseTimestampError(()))
    } else {
        Err(ParseTimestampError(()))
    }
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        2 if year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Howard Hinnant's `civil_from_days` / `days_from_civil`, proleptic Gregorian.
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (yoe + era * 400 + i64::from(month <= 2), month, day)
}

fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let m = i64::from(month);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
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
