//! CloudWatch alarm state changes delivered through an SNS topic.
//!
//! SNS hands Lambda `{Records:[{Sns:{MessageId, Message, ...}}]}`, where
//! `Message` is a JSON document inside a string. On an alarm topic it holds
//! either CloudWatch's own notification (`AlarmName`, `NewStateValue`,
//! `StateChangeTime`, `Trigger`, ...) or, when an EventBridge rule publishes
//! to the topic, the EventBridge "CloudWatch Alarm State Change" event.
//!
//! Records are decoded one by one, so one bad record (say, a test message
//! someone published to a shared topic) does not hide the good ones. Only an
//! unusable envelope fails the whole event, as does an event beyond the bounds
//! in `limits` (256 KiB, 100 records).

use crate::alarm;
use crate::error::EventError;
use crate::field::{describe, shorten, Object};
use crate::limits::{check_event_size, check_record_count};
use serde_json::Value;
use trigger_decision::{AlarmChange, AlarmKind, Measurement, Path, Signal};

const ENVELOPE_ACCEPTED: &str =
    "an SNS Lambda event `{\"Records\": [{\"EventSource\": \"aws:sns\", \"Sns\": {\"Message\": \
                                 ...}}]}` with at least one record";

const MESSAGE_ACCEPTED: &str = "a CloudWatch alarm notification (`AlarmName`, `NewStateValue`, `StateChangeTime`, \
                                `Trigger` or `AlarmRule`), or an EventBridge event with `detail-type` \"CloudWatch \
                                Alarm State Change\" and the alarm in `detail`";

/// Marks an anomaly-detection alarm: its threshold is this band, not a number.
const ANOMALY_BAND_FUNCTION: &str = "ANOMALY_DETECTION_BAND";

/// Decodes every record of an SNS event, in order. The outer error is for an
/// envelope that is not an SNS event at all; each inner error is
/// `EventError::SnsRecord`, naming the zero-based record index and MessageId.
pub fn decode(event: &Value) -> Result<Vec<Result<Signal, EventError>>, EventError> {
    check_event_size(event)?;
    let Some(root) = Object::new(event, "") else {
        return Err(EventError::UnrecognisedShape {
            field: String::new(),
            wanted: "an SNS event",
            found: describe(event),
            accepted: ENVELOPE_ACCEPTED,
        });
    };
    let records = root.required("Records", "an SNS event carries its notifications in `Records`")?;
    let Some(records) = records.as_array() else {
        return Err(EventError::WrongType {
            field: root.field_path("Records"),
            expected: "an array of SNS records",
            found: describe(records),
        });
    };
    if records.is_empty() {
        return Err(EventError::WrongType {
            field: root.field_path("Records"),
            expected: "at least one SNS record",
            found: "an empty array".to_string(),
        });
    }
    let count = records.len();
    check_record_count(&root.field_path("Records"), count)?;
    let decoded = records
        .iter()
        .enumerate()
        .map(|(index, record)| {
            decode_record(index, record)
                .map(Signal::Alarm)
                .map_err(|problem| EventError::SnsRecord {
                    index,
                    count,
                    message_id: record.pointer("/Sns/MessageId").and_then(Value::as_str).map(shorten),
                    problem: Box::new(problem),
                })
        })
        .collect();
    Ok(decoded)
}

fn decode_record(index: usize, record: &Value) -> Result<AlarmChange, EventError> {
    let record_path = format!("Records[{index}]");
    let Some(record) = Object::new(record, record_path.as_str()) else {
        return Err(EventError::WrongType {
            field: record_path,
            expected: "an SNS record object",
            found: describe(record),
        });
    };
    let sns = record.required_object("Sns", "an SNS record carries the notification in `Sns`")?;
    let message_path = sns.field_path("Message");
    let message_value = sns.required("Message", "an SNS record carries the alarm notification in `Message`")?;
    let parsed;
    let message_value = match message_value {
        Value::String(text) => {
            parsed = serde_json::from_str::<Value>(text).map_err(|error| EventError::NotJson {
                field: message_path.clone(),
                problem: error.to_string(),
                found: describe(message_value),
            })?;
            &parsed
        }
        // Not what SNS sends, but a hand-made test event may hold the object itself.
        other => other,
    };
    let Some(message) = Object::new(message_value, message_path.as_str()) else {
        return Err(EventError::WrongType {
            field: message_path,
            expected: "a JSON object holding a CloudWatch alarm notification",
            found: describe(message_value),
        });
    };
    if message.get("AlarmName").is_some() {
        decode_notification(&message)
    } else if message.get("detail-type").is_some() {
        alarm::decode_eventbridge(&message, Path::Sns)
    } else {
        Err(EventError::UnrecognisedShape {
            field: message_path,
            wanted: "a CloudWatch alarm notification",
            found: message.describe(),
            accepted: MESSAGE_ACCEPTED,
        })
    }
}

/// Decodes CloudWatch's own SNS notification for a metric or composite alarm.
fn decode_notification(message: &Object<'_>) -> Result<AlarmChange, EventError> {
    let alarm_name = message.required_name("AlarmName", "an SNS alarm notification needs the alarm's name")?;
    let state = alarm::required_state(
        &message.field_path("NewStateValue"),
        message.required_str("NewStateValue", "an SNS alarm notification needs the new state")?,
    )?;
    let state_changed_at = message.required_timestamp(
        "StateChangeTime",
        "an SNS alarm notification needs the time of the state change, which identifies it",
    )?;
    let state_reason = message.str("NewStateReason").unwrap_or_default().to_string();

    // Composite alarms have no `Trigger`; they name their rule and the children that fired.
    let is_composite = message.get("AlarmRule").is_some() || message.get("TriggeringChildren").is_some();
    let trigger = message.object("Trigger");
    let (kind, measurement) = match (is_composite, trigger) {
        (true, _) => (AlarmKind::Composite, Measurement::default()),
        (false, None) => (
            AlarmKind::Metric,
            Measurement {
                value: value_from_reason(&state_reason),
                ..Measurement::default()
            },
        ),
        (false, Some(trigger)) => {
            let kind = trigger_kind(&trigger);
            let measurement = Measurement {
                metric: trigger_metric_name(kind, &trigger),
                value: value_from_reason(&state_reason),
                threshold: trigger.number("Threshold"),
                comparison: trigger
                    .str("ComparisonOperator")
                    .map(str::trim)
                    .filter(|operator| !operator.is_empty())
                    .map(str::to_string),
            };
            (kind, measurement)
        }
    };

    Ok(AlarmChange {
        alarm_name,
        alarm_arn: message.str("AlarmArn").map(str::to_string),
        kind,
        state,
        previous_state: message.str("OldStateValue").and_then(alarm::optional_state),
        state_reason,
        state_changed_at,
        measurement,
        triggering_alarms: alarm::names_from_arns(message.get("TriggeringChildren"), "Arn"),
        path: Path::Sns,
    })
}

/// Tells metric, metric-math and anomaly-detection alarms apart by their `Trigger`.
fn trigger_kind(trigger: &Object<'_>) -> AlarmKind {
    let queries = trigger.array("Metrics").unwrap_or(&[]);
    let expressions = || {
        queries
            .iter()
            .filter_map(|query| query.get("Expression").and_then(Value::as_str))
    };
    if expressions().any(|expression| expression.contains(ANOMALY_BAND_FUNCTION)) {
        AlarmKind::AnomalyDetection
    } else if trigger.str("MetricName").is_none() && expressions().next().is_some() {
        AlarmKind::MetricMath
    } else {
        AlarmKind::Metric
    }
}

/// `Trigger.MetricName`; for metric math, the expression the alarm returns, else the first
/// expression, else the first query id; for anomaly detection, the metric the band is drawn around.
fn trigger_metric_name(kind: AlarmKind, trigger: &Object<'_>) -> Option<String> {
    let queries = trigger.array("Metrics").unwrap_or(&[]);
    let stat_name = || {
        trigger.str("MetricName").or_else(|| {
            queries.iter().find_map(|query| {
                query
                    .get("MetricStat")
                    .and_then(|stat| stat.get("Metric"))
                    .and_then(|metric| metric.get("MetricName"))
                    .and_then(Value::as_str)
            })
        })
    };
    let expression = || {
        let returned = queries.iter().find(|query| {
            query.get("ReturnData").and_then(Value::as_bool).unwrap_or(false)
                && query.get("Expression").is_some_and(Value::is_string)
        });
        returned
            .or_else(|| {
                queries
                    .iter()
                    .find(|query| query.get("Expression").is_some_and(Value::is_string))
            })
            .and_then(|query| query.get("Expression"))
            .and_then(Value::as_str)
            .or_else(|| queries.iter().find_map(|query| query.get("Id").and_then(Value::as_str)))
    };
    let name = match kind {
        AlarmKind::MetricMath => expression().or_else(stat_name),
        _ => stat_name().or_else(expression),
    };
    name.map(str::to_string)
}

/// The value CloudWatch quotes in its standard reason, e.g. `16250.0` from
/// `... 1 datapoints [16250.0 (04/08/23 12:31:00)] was greater than ...`: the
/// first number inside the first `[`…`]`, when it parses. Other wordings give `None`.
pub(crate) fn value_from_reason(reason: &str) -> Option<f64> {
    let start = reason.find('[')?;
    let rest = reason.get(start + 1..)?;
    let inside = rest.get(..rest.find(']')?)?;
    let first = inside
        .split(|character: char| character.is_whitespace() || character == ',')
        .find(|word| !word.is_empty())?;
    first.parse::<f64>().ok().filter(|value| value.is_finite())
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn values_are_read_only_from_the_standard_reason() {
        let check = |reason: &str, expected: Option<f64>| assert_eq!(value_from_reason(reason), expected, "{reason:?}");
        check(
            "Threshold Crossed: 1 out of the last 1 datapoints [16250.0 (04/08/23 12:31:00)] was greater than the \
             threshold (15000.0) (minimum 1 datapoint for OK -> ALARM transition).",
            Some(16250.0),
        );
        check(
            "Threshold Crossed: 2 datapoints [0.0 (09/01/23 14:02:00), 1.0 (09/01/23 14:01:00)] were not greater",
            Some(0.0),
        );
        check(
            "Thresholds Crossed: 1 datapoints [239.0 (25/07/24 07:21:00)] upper thresholds [225.7]",
            Some(239.0),
        );
        check("[16250]", Some(16250.0));
        check("[-3.5e2, 1]", Some(-350.0));
        check("1 missing datapoint was treated as [NonBreaching].", None);
        check("[NaN (04/08/23 12:31:00)]", None);
        check("[]", None);
        check("[16250.0 (04/08/23 12:31:00)", None);
        check(
            "arn:aws:cloudwatch:us-east-1:123456789012:alarm:child transitioned to ALARM",
            None,
        );
        check("Insufficient Data: 5 datapoints were unknown.", None);
        check("", None);
        check("]16250.0[", None);
    }
}
