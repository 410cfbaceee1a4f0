//! RFC 3339 times in UTC, as every shipstamp document writes them: `const fn`s, so that a
//! document written at compile time (`stamp_from_vergen!()`) uses the same code as one written
//! by a build script or at run time.

/// RFC 3339 (`YYYY-MM-DDTHH:MM:SS`, an optional fraction, dropped, then `Z` or `±HH:MM`) as
/// seconds since the epoch. A `const fn`, so `stamp_from_vergen!()` normalizes vergen's
/// timestamps at compile time with the parser the runtime uses.
pub const fn parse_rfc3339(b: &[u8]) -> Option<i64> {
    if b.len() < 20
        || b[4] != b'-'
        || b[7] != b'-'
        || !matches!(b[10], b'T' | b't' | b' ')
        || b[13] != b':'
        || b[16] != b':'
    {
        return None;
    }
    let (Some(year), Some(month), Some(day)) = (digits(b, 0, 4), digits(b, 5, 7), digits(b, 8, 10))
    else {
        return None;
    };
    let (Some(hour), Some(min), Some(sec)) =
        (digits(b, 11, 13), digits(b, 14, 16), digits(b, 17, 19))
    else {
        return None;
    };
    if month < 1
        || month > 12
        || day < 1
        || day > days_in_month(year, month)
        || hour > 23
        || min > 59
        || sec > 60
    {
        return None;
    }
    let mut i = 19;
    if b[i] == b'.' {
        i += 1;
        let fraction = i;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        if i == fraction {
            return None;
        }
    }
    let offset = match b.len() - i {
        1 if b[i] == b'Z' || b[i] == b'z' => 0,
        6 if (b[i] == b'+' || b[i] == b'-') && b[i + 3] == b':' => {
            let (Some(oh), Some(om)) = (digits(b, i + 1, i + 3), digits(b, i + 4, i + 6)) else {
                return None;
            };
            if oh > 23 || om > 59 {
                return None;
            }
            if b[i] == b'+' {
                oh * 3600 + om * 60
            } else {
                -(oh * 3600 + om * 60)
            }
        }
        _ => return None,
    };
    let days = days_from_civil(year, month as u32, day as u32);
    // A leap second (:60) is folded into the next second.
    Some(days * 86_400 + hour * 3600 + min * 60 + sec - offset)
}

/// `b[from..to]` as a decimal number, if it is all ASCII digits.
const fn digits(b: &[u8], from: usize, to: usize) -> Option<i64> {
    let mut n = 0;
    let mut i = from;
    while i < to {
        if !b[i].is_ascii_digit() {
            return None;
        }
        n = n * 10 + (b[i] - b'0') as i64;
        i += 1;
    }
    Some(n)
}

/// `2026-11-22T10:00:00Z`: how every shipstamp document writes a time; `None` outside years
/// 0 to 9999.
pub const fn format_rfc3339(unix_seconds: i64) -> Option<[u8; 20]> {
    let days = unix_seconds.div_euclid(86_400);
    let secs = unix_seconds.rem_euclid(86_400);
    let (year, month, day) = civil_from_days(days);
    if year < 0 || year > 9999 {
        return None;
    }
    let mut out = *b"0000-00-00T00:00:00Z";
    let fields = [
        (0, 4, year),
        (5, 2, month as i64),
        (8, 2, day as i64),
        (11, 2, secs / 3600),
        (14, 2, secs % 3600 / 60),
        (17, 2, secs % 60),
    ];
    let mut f = 0;
    while f < fields.len() {
        let (at, width, mut value) = fields[f];
        let mut i = at + width;
        while i > at {
            i -= 1;
            out[i] = b'0' + (value % 10) as u8;
            value /= 10;
        }
        f += 1;
    }
    Some(out)
}

const fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        2 if year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Howard Hinnant's `civil_from_days` / `days_from_civil`, proleptic Gregorian.
const fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (yoe + era * 400 + (month <= 2) as i64, month, day)
}

const fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let m = month as i64;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + day as i64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    fn written(secs: i64) -> Option<String> {
        format_rfc3339(secs).map(|b| String::from_utf8(b.to_vec()).unwrap())
    }

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
            let text = written(secs).expect("in range");
            assert_eq!(parse_rfc3339(text.as_bytes()), Some(secs), "{text}");
        }
        assert_eq!(
            written(1_795_341_600).as_deref(),
            Some("2026-11-22T10:00:00Z")
        );
        assert_eq!(written(0).as_deref(), Some("1970-01-01T00:00:00Z"));
        assert_eq!(
            written(951_782_400).as_deref(),
            Some("2000-02-29T00:00:00Z")
        );
        assert_eq!(format_rfc3339(-62_167_219_201), None, "year -1");
        assert_eq!(format_rfc3339(253_402_300_800), None, "year 10000");
    }

    #[test]
    fn parses_offsets_and_fractions() {
        let t = |s: &str| parse_rfc3339(s.as_bytes());
        assert_eq!(t("2026-11-22T10:00:00Z"), Some(1_795_341_600));
        assert_eq!(t("2026-11-22T10:00:00.123456Z"), Some(1_795_341_600));
        assert_eq!(t("2026-11-22T11:30:00+01:30"), Some(1_795_341_600));
        assert_eq!(t("2026-11-22T05:00:00-05:00"), Some(1_795_341_600));
        assert_eq!(t("2026-11-22t10:00:00z"), Some(1_795_341_600));
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
            "\u{ff12}026-11-22T10:00:00Z",
            "2026-11-22T10:00:00Zjunk",
            "+026-11-22T10:00:00Z",
        ] {
            assert_eq!(parse_rfc3339(bad.as_bytes()), None, "{bad:?}");
        }
    }

    mod every_day {
        use super::*;
        use proptest::prelude::*;

        proptest! {
            #[test]
            fn written_times_read_back(secs in -62_135_596_800i64..253_402_300_799) {
                let text = written(secs).unwrap();
                prop_assert_eq!(parse_rfc3339(text.as_bytes()), Some(secs));
            }
        }
    }
}
