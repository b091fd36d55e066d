//! Metric values, one per alarm period, read from CSV text with the header
//! `timestamp,value` and RFC 3339 timestamps.
//!
//! A period without a row, or a row with an empty value, is missing data,
//! which the evaluator treats as the alarm's `TreatMissingData` says. Values
//! are stored densely, one slot per period from the first row, with NaN for
//! a missing period, so the evaluator walks them without lookups.

use crate::error::BacktestError;
use trigger_decision::{Span, Timestamp};

/// The most periods one series may span (19 years of 1-minute values), so a
/// mistyped year cannot make the dense store allocate without bound.
pub const MAX_PERIODS: usize = 10_000_000;

const DAY_MILLIS: i64 = 86_400_000;

/// A metric's values, one slot per period from `start`; NaN marks a missing period.
#[derive(Debug, Clone, PartialEq)]
pub struct MetricSeries {
    /// The timestamp of the first slot (the start of its period, as CloudWatch stamps datapoints).
    pub start: Timestamp,
    pub period: Span,
    pub values: Vec<f64>,
}

impl MetricSeries {
    /// A series from dense values; use `f64::NAN` for a missing period.
    pub fn new(start: Timestamp, period: Span, values: Vec<f64>) -> MetricSeries {
        MetricSeries { start, period, values }
    }

    /// The timestamp of slot `index`.
    pub fn time_of(&self, index: usize) -> Timestamp {
        let offset = i64::try_from(index).unwrap_or(i64::MAX);
        Timestamp::from_millis(
            self.start
                .millis()
                .saturating_add(offset.saturating_mul(self.period.millis())),
        )
    }

    /// Each period's timestamp and value, `None` where data is missing.
    pub fn points(&self) -> impl Iterator<Item = (Timestamp, Option<f64>)> + '_ {
        self.values
            .iter()
            .enumerate()
            .map(|(index, value)| (self.time_of(index), (!value.is_nan()).then_some(*value)))
    }
}

/// Parses `timestamp,value` CSV text whose rows are `period` apart. `file`
/// names the input in errors, which also give the line and what was expected.
pub fn parse_csv(text: &str, file: &str, period: Span) -> Result<MetricSeries, BacktestError> {
    let row_error = |line: usize, problem: String| BacktestError::SeriesRow {
        file: file.to_string(),
        line,
        problem,
    };
    let mut lines = text.lines().enumerate().map(|(index, line)| (index + 1, line.trim()));
    let header = lines.next().map(|(_, line)| line).unwrap_or_default();
    if !header.eq_ignore_ascii_case("timestamp,value") {
        return Err(BacktestError::SeriesHeader {
            file: file.to_string(),
            found: header.to_string(),
        });
    }
    let mut series: Option<MetricSeries> = None;
    let mut previous = Timestamp::from_millis(i64::MIN);
    for (line, row) in lines.filter(|(_, row)| !row.is_empty()) {
        let (time_text, value_text) = row
            .split_once(',')
            .ok_or_else(|| row_error(line, format!("found {row:?}; expected two columns, `timestamp,value`")))?;
        let at = parse_timestamp(time_text.trim()).ok_or_else(|| {
            row_error(
                line,
                format!("{time_text:?} is not a timestamp; expected RFC 3339, like 2024-03-01T00:05:00Z"),
            )
        })?;
        let value = parse_value(value_text.trim()).ok_or_else(|| {
            row_error(
                line,
                format!("{value_text:?} is not a value; expected a finite number, or nothing for a missing period"),
            )
        })?;
        if at <= previous {
            return Err(row_error(
                line,
                format!("{at} is not after the previous row's {previous}; expected increasing timestamps"),
            ));
        }
        previous = at;
        if series.is_none() && DAY_MILLIS % period.millis() == 0 && at.millis() % period.millis() != 0 {
            return Err(row_error(
                line,
                format!(
                    "{at} is not on a {period} boundary; CloudWatch stamps each datapoint at the start of its \
                     period, like 00:00:00, {} for {period}",
                    &Timestamp::from_millis(period.millis()).to_string()[11..19]
                ),
            ));
        }
        let series = series.get_or_insert_with(|| MetricSeries::new(at, period, Vec::new()));
        let offset = at.millis() - series.start.millis();
        if offset % period.millis() != 0 {
            return Err(row_error(
                line,
                format!(
                    "{at} is not a whole number of periods ({period}) after the first row's {}; expected one row per period",
                    series.start
                ),
            ));
        }
        let slot = usize::try_from(offset / period.millis()).unwrap_or(usize::MAX);
        if slot >= MAX_PERIODS {
            return Err(row_error(
                line,
                format!("{at} is more than {MAX_PERIODS} periods after the first row; expected a shorter range"),
            ));
        }
        series.values.resize(slot, f64::NAN);
        series.values.push(value.unwrap_or(f64::NAN));
    }
    series.ok_or_else(|| BacktestError::SeriesEmpty { file: file.to_string() })
}

/// An RFC 3339 timestamp as milliseconds since the epoch.
pub fn parse_timestamp(text: &str) -> Option<Timestamp> {
    chrono::DateTime::parse_from_rfc3339(text)
        .ok()
        .map(|at| Timestamp::from_millis(at.timestamp_millis()))
}

/// A finite number; `Some(None)` for an empty field (a missing period).
fn parse_value(text: &str) -> Option<Option<f64>> {
    if text.is_empty() {
        return Some(None);
    }
    text.parse::<f64>().ok().filter(|value| value.is_finite()).map(Some)
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINUTE: Span = Span::from_secs(60);

    fn at(text: &str) -> Timestamp {
        parse_timestamp(text).unwrap()
    }

    #[test]
    fn rows_fill_one_slot_per_period_and_gaps_are_missing() {
        let check = |text: &str, expected: &[Option<f64>]| {
            let series = parse_csv(text, "mae.csv", MINUTE).unwrap();
            assert_eq!(series.start, at("2024-03-01T00:00:00Z"), "{text}");
            let values: Vec<Option<f64>> = series.points().map(|(_, value)| value).collect();
            assert_eq!(values, expected, "{text}");
        };
        check("timestamp,value\n2024-03-01T00:00:00Z,1\n", &[Some(1.0)]);
        check(
            "timestamp,value\n2024-03-01T00:00:00Z,1\n2024-03-01T00:03:00Z,4.5\n",
            &[Some(1.0), None, None, Some(4.5)],
        );
        check(
            "Timestamp,Value\r\n2024-03-01T00:00:00Z,1\r\n2024-03-01T00:01:00Z,\r\n\n2024-03-01T00:02:00+00:00,-2e3\r\n",
            &[Some(1.0), None, Some(-2000.0)],
        );
        check(
            "timestamp,value\n2024-03-01T01:00:00+01:00,7\n2024-03-01T00:01:00Z,8\n",
            &[Some(7.0), Some(8.0)],
        );
    }

    #[test]
    fn bad_series_name_the_file_the_line_and_what_was_expected() {
        let check = |text: &str, expected: &[&str]| {
            let error = parse_csv(text, "mae.csv", MINUTE).unwrap_err().to_string();
            for fragment in expected {
                assert!(error.contains(fragment), "{error:?} lacks {fragment:?}");
            }
        };
        check(
            "time,mae\n",
            &["mae.csv", "line 1", "\"time,mae\"", "`timestamp,value`"],
        );
        check("", &["mae.csv", "line 1", "`timestamp,value`"]);
        check("timestamp,value\n\n", &["mae.csv", "no rows"]);
        check(
            "timestamp,value\n2024-03-01T00:00:00Z,1\n2024-03-01 00:01,2\n",
            &["mae.csv", "line 3", "\"2024-03-01 00:01\"", "RFC 3339"],
        );
        check(
            "timestamp,value\n2024-03-01T00:00:00Z,high\n",
            &["mae.csv", "line 2", "\"high\"", "finite number"],
        );
        check(
            "timestamp,value\n2024-03-01T00:00:00Z,NaN\n",
            &["line 2", "finite number"],
        );
        check("timestamp,value\n2024-03-01T00:00:00Z\n", &["line 2", "two columns"]);
        check(
            "timestamp,value\n2024-03-01T00:01:00Z,1\n2024-03-01T00:00:00Z,2\n",
            &[
                "mae.csv",
                "line 3",
                "not after the previous row's 2024-03-01T00:01:00.000Z",
                "increasing",
            ],
        );
        check(
            "timestamp,value\n2024-03-01T00:01:00Z,1\n2024-03-01T00:01:00Z,2\n",
            &["line 3", "increasing"],
        );
        check(
            "timestamp,value\n2024-03-01T00:00:00Z,1\n2024-03-01T00:01:30Z,2\n",
            &[
                "mae.csv",
                "line 3",
                "whole number of periods (1m)",
                "one row per period",
            ],
        );
        // Periods that divide a day start on their boundaries, as CloudWatch stamps them.
        let error = parse_csv(
            "timestamp,value\n2024-03-01T00:02:00Z,1\n",
            "mae.csv",
            Span::from_secs(300),
        )
        .unwrap_err()
        .to_string();
        assert!(
            error.contains("line 2") && error.contains("not on a 5m boundary") && error.contains("00:00:00, 00:05:00"),
            "{error}"
        );
        check(
            "timestamp,value\n2000-01-01T00:00:00Z,1\n2099-01-01T00:00:00Z,2\n",
            &["line 3", "more than 10000000 periods"],
        );
    }
}
