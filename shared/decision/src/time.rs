//! Instants and spans as plain integers, so the core never reads a clock.
//!
//! The shell reads the clock once per step and passes `now` in; the core only
//! compares and formats. Milliseconds since the Unix epoch are what both the
//! alarm payloads and SageMaker give, so nothing is lost in conversion.

use std::fmt;

/// An instant, in milliseconds since the Unix epoch (UTC).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize)]
#[serde(transparent)]
pub struct Timestamp(pub i64);

impl Timestamp {
    pub fn from_millis(millis: i64) -> Self {
        Timestamp(millis)
    }

    pub fn millis(self) -> i64 {
        self.0
    }

    /// The instant `span` before this one, saturating at the far past.
    pub fn minus(self, span: Span) -> Timestamp {
        Timestamp(self.0.saturating_sub(span.millis()))
    }

    /// The instant `span` after this one, saturating at the far future.
    pub fn plus(self, span: Span) -> Timestamp {
        Timestamp(self.0.saturating_add(span.millis()))
    }
}

impl fmt::Display for Timestamp {
    /// Formats as RFC 3339 in UTC with milliseconds, e.g. `2023-08-04T12:36:15.490Z`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (days, millis_of_day) = (self.0.div_euclid(86_400_000), self.0.rem_euclid(86_400_000));
        let (year, month, day) = civil_from_days(days);
        let seconds_of_day = millis_of_day / 1000;
        write!(
            f,
            "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:03}Z",
            seconds_of_day / 3600,
            seconds_of_day / 60 % 60,
            seconds_of_day % 60,
            millis_of_day % 1000
        )
    }
}

/// Converts days since 1970-01-01 to a proleptic Gregorian (year, month, day).
/// This is Howard Hinnant's `civil_from_days`, exact for every i64 day count we can meet.
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z.rem_euclid(146_097);
    let year_of_era = (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_index = (5 * day_of_year + 2) / 153;
    let day = (day_of_year - (153 * month_index + 2) / 5 + 1) as u32;
    let month = if month_index < 10 {
        month_index + 3
    } else {
        month_index - 9
    } as u32;
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// A length of time, in milliseconds. Written in policies as `90s`, `15m`, `6h` or `7d`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Span(i64);

impl Span {
    pub const ZERO: Span = Span(0);

    pub const fn from_millis(millis: i64) -> Self {
        Span(if millis < 0 { 0 } else { millis })
    }

    pub const fn from_secs(secs: i64) -> Self {
        Span::from_millis(secs.saturating_mul(1000))
    }

    pub const fn millis(self) -> i64 {
        self.0
    }

    /// Parses `<whole number><unit>` where unit is s, m, h or d. Returns `None`
    /// for anything else, so the caller can say what would be valid.
    pub fn parse(text: &str) -> Option<Span> {
        let text = text.trim();
        let unit = text.chars().last()?;
        let seconds_per_unit: i64 = match unit {
            's' => 1,
            'm' => 60,
            'h' => 3600,
            'd' => 86_400,
            _ => return None,
        };
        let number = &text[..text.len() - 1];
        if number.is_empty() || !number.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let count: i64 = number.parse().ok()?;
        Some(Span::from_secs(count.checked_mul(seconds_per_unit)?))
    }
}

impl fmt::Display for Span {
    /// Formats in the largest unit that divides the span exactly, as policies write it.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let seconds = self.0 / 1000;
        if self.0 % 1000 != 0 {
            return write!(f, "{}ms", self.0);
        }
        for (unit, size) in [("d", 86_400), ("h", 3600), ("m", 60)] {
            if seconds != 0 && seconds % size == 0 {
                return write!(f, "{}{unit}", seconds / size);
            }
        }
        write!(f, "{seconds}s")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spans_parse_in_every_unit_and_reject_the_rest() {
        let check = |text: &str, expected: Option<i64>| {
            assert_eq!(Span::parse(text).map(Span::millis), expected, "{text:?}");
        };
        check("90s", Some(90_000));
        check("15m", Some(900_000));
        check("6h", Some(21_600_000));
        check("7d", Some(604_800_000));
        check(" 0s ", Some(0));
        check("6", None);
        check("h", None);
        check("-1h", None);
        check("1.5h", None);
        check("6x", None);
        check("", None);
        check("99999999999999999999d", None);
    }

    #[test]
    fn spans_print_in_the_largest_exact_unit() {
        assert_eq!(Span::from_secs(21_600).to_string(), "6h");
        assert_eq!(Span::from_secs(90).to_string(), "90s");
        assert_eq!(Span::from_secs(7 * 86_400).to_string(), "7d");
        assert_eq!(Span::ZERO.to_string(), "0s");
    }

    #[test]
    fn timestamps_print_as_rfc3339_utc() {
        assert_eq!(Timestamp(0).to_string(), "1970-01-01T00:00:00.000Z");
        assert_eq!(Timestamp(1_691_152_575_490).to_string(), "2023-08-04T12:36:15.490Z");
        assert_eq!(Timestamp(951_782_400_000).to_string(), "2000-02-29T00:00:00.000Z");
        assert_eq!(Timestamp(-1).to_string(), "1969-12-31T23:59:59.999Z");
    }
}
