//! Time helpers. Credence keeps instants as UTC [`jiff::Timestamp`]s with
//! second precision; the clock is always a parameter, never read here.

use jiff::Timestamp;

/// Seconds in a day.
pub const DAY_SECONDS: i64 = 86_400;

/// Average Gregorian month in seconds (365.2425 / 12 days). Month-based
/// features count in these units so they are exact integer arithmetic and do
/// not depend on a calendar or time zone.
const MONTH_SECONDS: i64 = 2_629_746;

/// A number of days as people write it: "1 day", "12 days".
pub fn count_days(days: impl Into<i64>) -> String {
    match days.into() {
        1 => "1 day".to_string(),
        n => format!("{n} days"),
    }
}

/// Whole days from `from` to `to` (negative when `to` is earlier).
pub fn days_between(from: Timestamp, to: Timestamp) -> i64 {
    (to.as_second() - from.as_second()).div_euclid(DAY_SECONDS)
}

/// Whole average months from `from` to `to` (negative when `to` is earlier).
pub fn months_between(from: Timestamp, to: Timestamp) -> i64 {
    (to.as_second() - from.as_second()).div_euclid(MONTH_SECONDS)
}

/// Parses an RFC 3339 instant (`2025-03-01T12:00:00Z`, any offset) or a bare
/// date (`2025-03-01`, read as midnight UTC). Sub-second parts are dropped so
/// that every backend stores exactly the same value.
pub fn parse_instant(raw: &str) -> Result<Timestamp, String> {
    let trimmed = raw.trim();
    let parsed = if trimmed.len() == 10 {
        trimmed
            .parse::<jiff::civil::Date>()
            .map_err(|e| e.to_string())
            .and_then(|date| {
                date.to_zoned_datetime(jiff::tz::TimeZone::UTC)
                    .map(|z| z.timestamp())
                    .map_err(|e| e.to_string())
            })
    } else {
        strict(trimmed).and_then(|()| trimmed.parse::<Timestamp>().map_err(|e| e.to_string()))
    };
    let instant = parsed.map_err(|e| {
        format!("{raw:?} is not a date or time ({e}); use RFC 3339, such as 2025-03-01T09:30:00Z, or a date, such as 2025-03-01")
    })?;
    Timestamp::from_second(instant.as_second()).map_err(|e| e.to_string())
}

/// Refuses what the parser would take but store as another instant or
/// take against RFC 3339: a leap second (read as :59, a second early) and
/// an offset of 24 hours or more (RFC 3339's hours stop at 23).
fn strict(text: &str) -> Result<(), String> {
    let Some(at) = text.find(['T', 't', ' ']) else {
        return Ok(());
    };
    let time = &text[at + 1..];
    if time.as_bytes().get(5) == Some(&b':') && time.get(6..8) == Some("60") {
        return Err("a leap second (:60) cannot be stored as itself; write 23:59:59 or the next second's 00".into());
    }
    if let Some(sign) = time.rfind(['+', '-']) {
        let hours: Option<u32> = time.get(sign + 1..sign + 3).and_then(|h| h.parse().ok());
        if hours.is_some_and(|h| h > 23) {
            return Err(format!("the offset {} is beyond ±23:59", &time[sign..]));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_day_is_singular() {
        assert_eq!(count_days(1), "1 day");
        assert_eq!(count_days(0), "0 days");
        assert_eq!(count_days(45u32), "45 days");
    }

    #[test]
    fn parses_dates_and_instants() {
        let date = parse_instant("2025-03-01").expect("date");
        assert_eq!(date.to_string(), "2025-03-01T00:00:00Z");
        let offset = parse_instant("2025-03-01T08:00:00.75+08:00").expect("offset");
        assert_eq!(offset, date);
        assert!(parse_instant("yesterday").is_err());
    }

    #[test]
    fn a_leap_second_or_an_impossible_offset_is_refused_not_moved() {
        for (raw, says) in [
            ("2016-12-31T23:59:60Z", "leap second"),
            ("2026-01-01T00:00:00+25:00", "beyond"),
            ("2026-01-01T00:00:00-24:00", "beyond"),
        ] {
            let refused = parse_instant(raw);
            assert!(
                refused.as_ref().is_err_and(|e| e.contains(says)),
                "{raw}: {refused:?}"
            );
        }
        for fine in [
            "2026-01-01T00:00:00+23:59",
            "2026-01-01T23:59:59-12:00",
            "2026-06-30 23:59:59Z",
        ] {
            assert!(parse_instant(fine).is_ok(), "{fine}");
        }
    }

    #[test]
    fn spans() {
        let a = parse_instant("2025-01-01").expect("date");
        let b = parse_instant("2026-01-01").expect("date");
        assert_eq!(days_between(a, b), 365);
        assert_eq!(months_between(a, b), 11); // 365 days is just short of 12 average months
        assert_eq!(days_between(b, a), -365);
    }
}
