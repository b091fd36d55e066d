//! Timestamps as AWS writes them, turned into UTC epoch milliseconds.
//!
//! EventBridge and SNS envelopes use RFC 3339 (`2023-08-04T12:36:15Z`), but
//! CloudWatch writes alarm state times as `2023-08-04T12:36:15.490+0000`: an
//! offset without a colon, which RFC 3339 and so chrono's
//! `parse_from_rfc3339` reject. Both forms must give the same instant, since
//! the dedupe key of one alarm state change is built from it on every path.

use chrono::DateTime;
use serde_json::Value;
use trigger_decision::Timestamp;

/// chrono's own limit, and JavaScript's: about 273,790 years either side of 1970.
/// Epoch-millisecond numbers beyond it are not timestamps anyone sent on purpose.
const MAX_ABS_EPOCH_MILLIS: f64 = 8.64e15;

/// Parses RFC 3339 (`Z`, `+00:00`) or CloudWatch's `+0000` form, with or
/// without fractional seconds, into UTC milliseconds. Digits below a
/// millisecond are dropped. A time without an offset is refused: guessing its
/// zone could move a dedupe key by hours.
pub fn parse(text: &str) -> Option<Timestamp> {
    let text = text.trim();
    let parsed = DateTime::parse_from_rfc3339(text)
        .or_else(|_| DateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S%.f%z"))
        .ok()?;
    Some(Timestamp::from_millis(parsed.timestamp_millis()))
}

/// A timestamp from a JSON value: a string `parse` reads, or a number of epoch milliseconds.
pub(crate) fn from_json(value: &Value) -> Option<Timestamp> {
    match value {
        Value::String(text) => parse(text),
        Value::Number(number) => {
            if let Some(millis) = number.as_i64() {
                return (millis.unsigned_abs() as f64 <= MAX_ABS_EPOCH_MILLIS)
                    .then_some(Timestamp::from_millis(millis));
            }
            let millis = number.as_f64().filter(|millis| millis.abs() <= MAX_ABS_EPOCH_MILLIS)?;
            // In range by the check above, so the cast neither saturates nor wraps.
            Some(Timestamp::from_millis(millis.round() as i64))
        }
        _ => None,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use serde_json::json;

    /// 2023-08-04T12:36:15.490Z, the state change the fixtures share.
    const STATE_CHANGE: i64 = 1_691_152_575_490;

    #[test]
    fn timestamps_parse_in_every_form_aws_sends() {
        let check = |text: &str, expected: Option<i64>| {
            assert_eq!(parse(text).map(Timestamp::millis), expected, "{text:?}");
        };
        // CloudWatch's alarm state times: offset without a colon.
        check("2023-08-04T12:36:15.490+0000", Some(STATE_CHANGE));
        check("2023-08-04T12:36:15+0000", Some(STATE_CHANGE - 490));
        check("2023-08-04T14:36:15.490+0200", Some(STATE_CHANGE));
        check("2023-08-04T07:36:15.490-0500", Some(STATE_CHANGE));
        // RFC 3339, as EventBridge, SNS and Scheduler write it.
        check("2023-08-04T12:36:15.490Z", Some(STATE_CHANGE));
        check("2023-08-04T12:36:15.490+00:00", Some(STATE_CHANGE));
        check("2023-08-04T12:36:15Z", Some(STATE_CHANGE - 490));
        check("2023-08-04T07:36:15.490-05:00", Some(STATE_CHANGE));
        check("2023-08-04t12:36:15.490z", Some(STATE_CHANGE));
        check(" 2023-08-04T12:36:15.490Z\n", Some(STATE_CHANGE));
        // Sub-millisecond digits are dropped, not rounded.
        check("2023-08-04T12:36:15.490999Z", Some(STATE_CHANGE));
        check("2023-08-04T12:36:15.490999+0000", Some(STATE_CHANGE));
        check("2024-01-01T00:00:00Z", Some(1_704_067_200_000));
        check("1969-12-31T23:59:59.999Z", Some(-1));

        // No offset: the zone would be a guess.
        check("2023-08-04T12:36:15.490", None);
        check("2023-08-04T12:36:15", None);
        // The AWS docs page (and so the runtime's fixtures) show this spaced form. CloudWatch does not
        // send it, but chrono skips spaces before numeric fields and the instant is unambiguous.
        check("2023-08-04T12: 36: 15.490+0000", Some(STATE_CHANGE));
        check("2023-08-04", None);
        check("12:36:15", None);
        check("2023-13-04T12:36:15Z", None);
        check("2023-02-30T12:36:15Z", None);
        check("2023-08-04T25:36:15Z", None);
        check("2023-08-04T12:36:15+2500", None);
        check("1691152575490", None);
        check("<aws.scheduler.scheduled-time>", None);
        check("yesterday", None);
        check("", None);
    }

    #[test]
    fn json_numbers_are_epoch_milliseconds() {
        let check = |value: Value, expected: Option<i64>| {
            assert_eq!(from_json(&value).map(Timestamp::millis), expected, "{value}");
        };
        check(json!(STATE_CHANGE), Some(STATE_CHANGE));
        check(json!(1_691_152_575_490.4), Some(STATE_CHANGE));
        check(json!(0), Some(0));
        check(json!("2023-08-04T12:36:15.490+0000"), Some(STATE_CHANGE));
        check(json!(u64::MAX), None);
        check(json!(i64::MIN), None);
        check(json!(1e300), None);
        check(json!(null), None);
        check(json!(true), None);
        check(json!({"epoch": STATE_CHANGE}), None);
    }
}
