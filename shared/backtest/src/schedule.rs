//! EventBridge schedule expressions, `rate(value unit)` and six-field
//! `cron(minutes hours day-of-month month day-of-week year)`, in UTC, and
//! their firings between two instants.
//!
//! Cron expressions are evaluated by croner, configured for EventBridge's
//! dialect: weekdays numbered as in Quartz (1 = SUN ... 7 = SAT), the year
//! field required, steps like `0/15` accepted. croner also accepts things
//! EventBridge refuses, so the rules EventBridge adds are checked here first:
//! exactly one of the two day fields is `?`; `#` stands alone; each field
//! uses only its own wildcards and names; years lie in 1970-2199. A lone `L`
//! in the day-of-week field means the last day of the week, Saturday, which
//! croner would otherwise take for a condition that never holds.

use crate::error::BacktestError;
use crate::warning::Warning;
use chrono::{DateTime, Utc};
use croner::parser::{CronParser, Seconds, Year};
use croner::{Cron, Direction};
use trigger_decision::{Path, Policy, ScheduleTick, Span, Timestamp};

/// A parsed schedule expression.
#[derive(Debug, Clone)]
pub enum ScheduleExpression {
    /// `rate(value unit)`: every `Span`, counted from the replay's start.
    Rate(Span),
    /// `cron(...)`: the six fields as written, and croner's pattern for them.
    Cron { fields: String, cron: Box<Cron> },
}

/// A schedule bound to models, with its expression.
#[derive(Debug, Clone)]
pub struct Schedule {
    pub name: String,
    pub arn: Option<String>,
    /// The expression as given, e.g. `cron(0 6 ? * MON *)`.
    pub text: String,
    pub expression: ScheduleExpression,
}

impl Schedule {
    /// Parses `text` as the expression of the schedule named `name`.
    pub fn parse(name: &str, text: &str) -> Result<Schedule, BacktestError> {
        let refuse = |problem: String| BacktestError::Schedule {
            schedule: name.to_string(),
            expression: text.to_string(),
            problem,
        };
        let trimmed = text.trim();
        let expression = if let Some(inner) = inner(trimmed, "rate(") {
            ScheduleExpression::Rate(parse_rate(inner).map_err(refuse)?)
        } else if let Some(inner) = inner(trimmed, "cron(") {
            let cron = parse_cron(inner).map_err(refuse)?;
            ScheduleExpression::Cron {
                fields: inner.trim().to_string(),
                cron: Box::new(cron),
            }
        } else {
            return Err(refuse(
                "is not a schedule expression; expected rate(value unit), like rate(7 days), or \
                 cron(minutes hours day-of-month month day-of-week year), like cron(0 6 ? * MON *)"
                    .to_string(),
            ));
        };
        Ok(Schedule {
            name: name.to_string(),
            arn: None,
            text: trimmed.to_string(),
            expression,
        })
    }

    /// Every firing at or after `start` and before `end`, in order. A rate
    /// schedule is taken as created at `start`: it fires one interval later,
    /// then every interval, as a rule created then would.
    pub fn firings(&self, start: Timestamp, end: Timestamp) -> Vec<Timestamp> {
        match &self.expression {
            ScheduleExpression::Rate(every) => {
                let mut firings = Vec::new();
                let mut at = start.plus(*every);
                while at < end {
                    firings.push(at);
                    at = at.plus(*every);
                }
                firings
            }
            ScheduleExpression::Cron { cron, .. } => {
                let Some(from) = DateTime::<Utc>::from_timestamp_millis(start.millis()) else {
                    return Vec::new();
                };
                cron.iter_from(from, Direction::Forward)
                    .map(|at| Timestamp::from_millis(at.timestamp_millis()))
                    .take_while(|at| *at < end)
                    .collect()
            }
        }
    }

    /// The firings as the signals the schedule function decodes from them.
    pub fn ticks(&self, start: Timestamp, end: Timestamp) -> Vec<ScheduleTick> {
        self.firings(start, end)
            .into_iter()
            .map(|scheduled_time| ScheduleTick {
                schedule_name: self.name.clone(),
                schedule_arn: self.arn.clone(),
                scheduled_time,
                path: Path::Scheduler,
            })
            .collect()
    }
}

/// Checks that every schedule a model lists has an expression; an expression
/// for a schedule no model lists is a warning.
pub fn check_schedules(policy: &Policy, schedules: &[Schedule]) -> Result<Vec<Warning>, BacktestError> {
    for model in &policy.models {
        for bound in &model.schedules {
            let named = |schedule: &&Schedule| schedule.name == *bound || schedule.arn.as_deref() == Some(bound);
            if !schedules.iter().any(|schedule| named(&schedule)) {
                return Err(BacktestError::ScheduleMissing {
                    model: model.name.clone(),
                    schedule: bound.clone(),
                });
            }
        }
    }
    Ok(schedules
        .iter()
        .filter(|schedule| {
            policy
                .models_for_schedule(&schedule.name, schedule.arn.as_deref())
                .is_empty()
        })
        .map(|schedule| Warning::UnboundSchedule {
            schedule: schedule.name.clone(),
        })
        .collect())
}

/// The text between `prefix` and a final `)`, if `text` has that shape.
fn inner<'t>(text: &'t str, prefix: &str) -> Option<&'t str> {
    text.strip_prefix(prefix)?.strip_suffix(')')
}

/// `5 minutes`, `1 hour`, `7 days`: singular for 1, plural otherwise, as EventBridge requires.
fn parse_rate(inner: &str) -> Result<Span, String> {
    let expected = "expected rate(value unit) with a whole value of at least 1 and a unit minute(s), hour(s) or \
                    day(s), singular for 1 (rate(1 hour)) and plural above (rate(7 days))";
    let mut parts = inner.split_whitespace();
    let (Some(value), Some(unit), None) = (parts.next(), parts.next(), parts.next()) else {
        return Err(format!("is not a rate; {expected}"));
    };
    let count: i64 = match value.parse() {
        Ok(count) if count >= 1 && value.bytes().all(|b| b.is_ascii_digit()) => count,
        _ => return Err(format!("has value {value:?}; {expected}")),
    };
    let (seconds, singular) = match unit {
        "minute" | "minutes" => (60, unit == "minute"),
        "hour" | "hours" => (3600, unit == "hour"),
        "day" | "days" => (86_400, unit == "day"),
        _ => return Err(format!("has unit {unit:?}; {expected}")),
    };
    if singular != (count == 1) {
        return Err(format!("writes {count} {unit}; {expected}"));
    }
    count
        .checked_mul(seconds)
        .map(Span::from_secs)
        .ok_or_else(|| format!("is too long; {expected}"))
}

const MONTH_NAMES: [&str; 12] = [
    "JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC",
];
const DAY_NAMES: [&str; 7] = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"];

/// Checks EventBridge's rules, then hands the fields to croner (with a
/// seconds field of 0 in front, as croner counts fields).
fn parse_cron(inner: &str) -> Result<Cron, String> {
    let fields: Vec<String> = inner.split_whitespace().map(str::to_ascii_uppercase).collect();
    let [minutes, hours, day_of_month, month, day_of_week, year] = fields.as_slice() else {
        return Err(format!(
            "has {} fields; expected six: minutes hours day-of-month month day-of-week year, like cron(0 6 ? * MON *)",
            fields.len()
        ));
    };
    check_field("minutes", minutes, ",-*/", &[])?;
    check_field("hours", hours, ",-*/", &[])?;
    check_field("day-of-month", day_of_month, ",-*/?LW", &[])?;
    check_field("month", month, ",-*/", &MONTH_NAMES)?;
    check_field("day-of-week", day_of_week, ",-*?L#", &DAY_NAMES)?;
    check_field("year", year, ",-*/", &[])?;
    for (field, text) in [("day-of-month", day_of_month), ("day-of-week", day_of_week)] {
        if text.contains('?') && text != "?" {
            return Err(format!(
                "has `?` inside the {field} field {text:?}; `?` must stand alone"
            ));
        }
    }
    if (day_of_month == "?") == (day_of_week == "?") {
        return Err(
            "must have `?` in exactly one of day-of-month and day-of-week: EventBridge cannot \
                    take both, so write a value or * in one and ? in the other"
                .to_string(),
        );
    }
    if day_of_week.contains('#') && day_of_week.contains(',') {
        return Err(format!(
            "lists {day_of_week:?} in day-of-week; a `#` expression must stand alone, like 3#2"
        ));
    }
    // The years a part names: `2024`, `2024-2026`, `2024/2` (the step after `/` is not a year).
    let named_years = year
        .split(',')
        .flat_map(|part| part.split('/').next().unwrap_or_default().split('-'))
        .filter(|number| !number.is_empty() && *number != "*");
    for number in named_years {
        if !number.parse::<u32>().is_ok_and(|year| (1970..=2199).contains(&year)) {
            return Err(format!("has year {number}; expected years from 1970 to 2199"));
        }
    }
    // A lone L in day-of-week is the last day of the week: Saturday, 7 in Quartz numbering.
    let day_of_week = if day_of_week == "L" { "7" } else { day_of_week.as_str() };
    let pattern = format!("0 {minutes} {hours} {day_of_month} {month} {day_of_week} {year}");
    CronParser::builder()
        .seconds(Seconds::Required)
        .year(Year::Required)
        .alternative_weekdays(true)
        .sloppy_ranges(true)
        .build()
        .parse(&pattern)
        .map_err(|error| format!("does not parse: {error}"))
}

/// Refuses characters and names the field does not allow.
fn check_field(field: &str, text: &str, wildcards: &str, names: &[&str]) -> Result<(), String> {
    let mut rest = text.to_string();
    for name in names {
        rest = rest.replace(name, "");
    }
    if let Some(bad) = rest.chars().find(|c| !c.is_ascii_digit() && !wildcards.contains(*c)) {
        let names_note = if names.is_empty() {
            String::new()
        } else {
            format!(" and the names {}-{}", names[0], names[names.len() - 1])
        };
        return Err(format!(
            "has {bad:?} in the {field} field {text:?}; that field takes digits, the wildcards {wildcards}{names_note}"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::series::parse_timestamp;

    fn at(text: &str) -> Timestamp {
        parse_timestamp(text).unwrap()
    }

    fn check(expression: &str, from: &str, expected: &[&str]) {
        let schedule = Schedule::parse("weekly", expression).unwrap();
        let found: Vec<String> = schedule
            .firings(at(from), at(from).plus(Span::from_secs(400 * 86_400)))
            .into_iter()
            .take(expected.len())
            .map(|at| at.to_string()[..16].to_string())
            .collect();
        assert_eq!(found, expected, "{expression}");
    }

    /// Examples from the EventBridge user guide's cron section, and each wildcard.
    #[test]
    fn cron_expressions_fire_as_eventbridge_defines_them() {
        check(
            "cron(0 10 * * ? *)",
            "2024-01-01T10:00:00Z",
            &["2024-01-01T10:00", "2024-01-02T10:00"],
        );
        check(
            "cron(15 12 * * ? *)",
            "2024-01-01T00:00:00Z",
            &["2024-01-01T12:15", "2024-01-02T12:15"],
        );
        check(
            "cron(0 18 ? * MON-FRI *)",
            "2024-01-05T00:00:00Z",
            &["2024-01-05T18:00", "2024-01-08T18:00"],
        );
        check(
            "cron(0 8 1 * ? *)",
            "2024-01-02T00:00:00Z",
            &["2024-02-01T08:00", "2024-03-01T08:00"],
        );
        check(
            "cron(0/15 * * * ? *)",
            "2024-01-01T00:07:00Z",
            &["2024-01-01T00:15", "2024-01-01T00:30"],
        );
        check(
            "cron(0/10 * ? * MON-FRI *)",
            "2024-01-06T00:00:00Z",
            &["2024-01-08T00:00", "2024-01-08T00:10"],
        );
        check(
            "cron(0/5 8-17 ? * MON-FRI *)",
            "2024-01-08T17:56:00Z",
            &["2024-01-09T08:00", "2024-01-09T08:05"],
        );
        check(
            "cron(0 9 ? * 2#1 *)",
            "2024-01-02T00:00:00Z",
            &["2024-02-05T09:00", "2024-03-04T09:00"],
        );
        // Weekdays are numbered from Sunday = 1, as in Quartz.
        check("cron(0 6 ? * 2 *)", "2024-01-01T07:00:00Z", &["2024-01-08T06:00"]);
        check(
            "cron(0 6 ? * mon,fri *)",
            "2024-01-01T07:00:00Z",
            &["2024-01-05T06:00", "2024-01-08T06:00"],
        );
        check(
            "cron(0 0 L * ? *)",
            "2024-02-01T00:00:00Z",
            &["2024-02-29T00:00", "2024-03-31T00:00"],
        );
        check(
            "cron(0 0 LW * ? *)",
            "2024-03-01T00:00:00Z",
            &["2024-03-29T00:00", "2024-04-30T00:00"],
        );
        check(
            "cron(0 0 15W * ? *)",
            "2024-06-01T00:00:00Z",
            &["2024-06-14T00:00", "2024-07-15T00:00"],
        );
        check(
            "cron(0 0 ? * 6L *)",
            "2024-01-01T00:00:00Z",
            &["2024-01-26T00:00", "2024-02-23T00:00"],
        );
        check(
            "cron(0 0 ? * L *)",
            "2024-01-01T00:00:00Z",
            &["2024-01-06T00:00", "2024-01-13T00:00"],
        );
        check(
            "cron(30 2 ? JAN,JUL MON 2025)",
            "2024-01-01T00:00:00Z",
            &["2025-01-06T02:30"],
        );
        check(
            "cron(0 12 1 1/6 ? 2024-2025)",
            "2024-01-02T00:00:00Z",
            &["2024-07-01T12:00", "2025-01-01T12:00"],
        );
    }

    #[test]
    fn firings_stop_before_the_end_and_include_the_start() {
        let schedule = Schedule::parse("daily", "cron(0 0 * * ? *)").unwrap();
        let firings = schedule.firings(at("2024-01-01T00:00:00Z"), at("2024-01-04T00:00:00Z"));
        assert_eq!(firings.len(), 3);
        let ticks = schedule.ticks(at("2024-01-01T00:00:00Z"), at("2024-01-02T00:00:00Z"));
        assert_eq!(ticks.len(), 1);
        assert_eq!(
            (ticks[0].schedule_name.as_str(), ticks[0].scheduled_time),
            ("daily", at("2024-01-01T00:00:00Z"))
        );
    }

    #[test]
    fn rates_fire_every_interval_after_the_start() {
        let check = |expression: &str, expected_span: Span, count: usize| {
            let schedule = Schedule::parse("rate", expression).unwrap();
            let start = at("2024-01-01T00:00:00Z");
            let firings = schedule.firings(start, at("2024-01-15T00:00:00Z"));
            assert_eq!(firings.len(), count, "{expression}");
            assert_eq!(firings[0], start.plus(expected_span), "{expression}");
        };
        check("rate(7 days)", Span::from_secs(7 * 86_400), 1);
        check("rate(1 day)", Span::from_secs(86_400), 13);
        check("rate(12 hours)", Span::from_secs(12 * 3600), 27);
        check(" rate(1 minute) ", Span::from_secs(60), 14 * 1440 - 1);
    }

    #[test]
    fn every_listed_schedule_needs_an_expression_and_unlisted_ones_are_warned_about() {
        let policy =
            Policy::from_toml("[[model]]\nname = \"housing-price\"\npipeline = \"hp\"\nschedules = [\"weekly\"]\n")
                .unwrap();
        let weekly = Schedule::parse("weekly", "cron(0 6 ? * MON *)").unwrap();
        let daily = Schedule::parse("daily", "rate(1 day)").unwrap();
        assert_eq!(check_schedules(&policy, std::slice::from_ref(&weekly)).unwrap(), []);
        assert_eq!(
            check_schedules(&policy, &[weekly, daily.clone()]).unwrap(),
            [Warning::UnboundSchedule {
                schedule: "daily".into()
            }]
        );
        let error = check_schedules(&policy, &[daily]).unwrap_err().to_string();
        for fragment in ["model \"housing-price\"", "\"weekly\"", "no expression", "weekly=cron("] {
            assert!(error.contains(fragment), "{error:?} lacks {fragment:?}");
        }
    }

    #[test]
    fn bad_expressions_name_the_schedule_and_what_was_expected() {
        let check = |expression: &str, expected: &[&str]| {
            let error = Schedule::parse("weekly", expression).unwrap_err().to_string();
            assert!(error.contains("schedule \"weekly\""), "{error}");
            for fragment in expected {
                assert!(error.contains(fragment), "{error:?} lacks {fragment:?}");
            }
        };
        check("every monday", &["rate(value unit)", "cron(minutes hours"]);
        check("rate(0 days)", &["\"0\"", "at least 1"]);
        check("rate(1 days)", &["1 days", "singular for 1"]);
        check("rate(7 day)", &["7 day", "plural"]);
        check("rate(7 weeks)", &["\"weeks\"", "day(s)"]);
        check("cron(0 6 * * MON)", &["5 fields", "expected six"]);
        check("cron(0 6 * * MON *)", &["exactly one", "?"]);
        check("cron(0 6 ? * ? *)", &["exactly one"]);
        check("cron(0 6 1,? * MON *)", &["stand alone"]);
        check("cron(0 6 ? * 2#1,6#3 *)", &["\"2#1,6#3\"", "stand alone"]);
        check("cron(0 6 ? * MON 1969)", &["1969", "1970 to 2199"]);
        check("cron(0 6 ? * MON 2200)", &["2200", "1970 to 2199"]);
        check("cron(MON 6 ? * 2 *)", &["minutes field", "'M'"]);
        check("cron(0 6 ? * 2/2 *)", &["day-of-week field", "'/'"]);
        check("cron(0 6 ? FOO 2 *)", &["month field", "JAN-DEC"]);
        check("cron(0 25 ? * 2 *)", &["does not parse"]);
        check("cron(0 6 ? * FRI-MON *)", &["does not parse"]);
        check("cron(0 6 ? * +2 *)", &["'+'"]);
    }
}
