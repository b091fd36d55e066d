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
use crate::field::{describe, shorten, Object, Required};
use crate::lenient::{Lenient, Record};
use crate::limits::{check_event_size, check_record_count};
use serde::{Deserialize, Deserializer};
use serde_json::Value;
use std::borrow::Cow;
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
    let message = sns.required("Message", "an SNS record carries the alarm notification in `Message`")?;
    let Value::String(text) = message else {
        // Not what SNS sends, but a hand-made test event may hold the object itself.
        return decode_message(message, &message_path);
    };
    // CloudWatch's own notification, the common case, is read straight from
    // the text (see `lenient`). Anything else, including text that is not
    // JSON, is parsed whole, and errors come from there.
    if let Ok(Lenient::Is(notification)) = serde_json::from_str::<Lenient<Notification<'_>>>(text) {
        if notification.is_alarm() {
            return decode_notification(&notification, &message_path);
        }
    }
    let parsed = serde_json::from_str::<Value>(text).map_err(|error| EventError::NotJson {
        field: message_path.clone(),
        problem: error.to_string(),
        found: describe(message),
    })?;
    decode_message(&parsed, &message_path)
}

/// Decodes an SNS `Message` already parsed, found at `message_path`.
fn decode_message(message_value: &Value, message_path: &str) -> Result<AlarmChange, EventError> {
    let Some(message) = Object::new(message_value, message_path) else {
        return Err(EventError::WrongType {
            field: message_path.to_string(),
            expected: "a JSON object holding a CloudWatch alarm notification",
            found: describe(message_value),
        });
    };
    if message.get("AlarmName").is_some() {
        // An object cannot fail to read as a `Notification`, whose fields are all lenient.
        let notification = Notification::deserialize(message_value).map_err(|error| EventError::WrongType {
            field: message_path.to_string(),
            expected: "a CloudWatch alarm notification",
            found: error.to_string(),
        })?;
        decode_notification(&notification, message_path)
    } else if message.get("detail-type").is_some() {
        alarm::decode_eventbridge(&message, Path::Sns)
    } else {
        Err(EventError::UnrecognisedShape {
            field: message_path.to_string(),
            wanted: "a CloudWatch alarm notification",
            found: message.describe(),
            accepted: MESSAGE_ACCEPTED,
        })
    }
}

/// What a signal is made from in CloudWatch's SNS notification for a metric
/// or composite alarm; other keys are skipped.
#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "PascalCase")]
struct Notification<'a> {
    // Required, so kept as found (null included) for the error that names them.
    #[serde(deserialize_with = "found")]
    alarm_name: Option<Value>,
    #[serde(deserialize_with = "found")]
    new_state_value: Option<Value>,
    #[serde(deserialize_with = "found")]
    state_change_time: Option<Value>,
    #[serde(borrow)]
    new_state_reason: Lenient<Cow<'a, str>>,
    #[serde(borrow)]
    alarm_arn: Lenient<Cow<'a, str>>,
    #[serde(borrow)]
    old_state_value: Lenient<Cow<'a, str>>,
    #[serde(borrow)]
    alarm_rule: Lenient<Cow<'a, str>>,
    #[serde(borrow)]
    triggering_children: Lenient<Vec<Lenient<Child<'a>>>>,
    #[serde(borrow)]
    trigger: Lenient<Trigger<'a>>,
}

impl Notification<'_> {
    /// Whether this is CloudWatch's notification: it names the alarm.
    fn is_alarm(&self) -> bool {
        self.alarm_name.as_ref().is_some_and(|name| !name.is_null())
    }
}

/// A composite alarm's child that fired.
#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "PascalCase")]
struct Child<'a> {
    #[serde(borrow)]
    arn: Lenient<Cow<'a, str>>,
}

/// The metric alarm's `Trigger`: a metric, or metric-math and anomaly-detection queries.
#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "PascalCase")]
struct Trigger<'a> {
    #[serde(borrow)]
    metric_name: Lenient<Cow<'a, str>>,
    threshold: Lenient<f64>,
    #[serde(borrow)]
    comparison_operator: Lenient<Cow<'a, str>>,
    #[serde(borrow)]
    metrics: Lenient<Vec<Lenient<Query<'a>>>>,
}

/// One of `Trigger.Metrics`.
#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "PascalCase")]
struct Query<'a> {
    #[serde(borrow)]
    id: Lenient<Cow<'a, str>>,
    #[serde(borrow)]
    expression: Lenient<Cow<'a, str>>,
    return_data: Lenient<bool>,
    #[serde(borrow)]
    metric_stat: Lenient<MetricStat<'a>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "PascalCase")]
struct MetricStat<'a> {
    #[serde(borrow)]
    metric: Lenient<Metric<'a>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "PascalCase")]
struct Metric<'a> {
    #[serde(borrow)]
    metric_name: Lenient<Cow<'a, str>>,
}

impl Record for Notification<'_> {}
impl Record for Child<'_> {}
impl Record for Trigger<'_> {}
impl Record for Query<'_> {}
impl Record for MetricStat<'_> {}
impl Record for Metric<'_> {}

/// A required field as found: null is kept, so that it is told apart from a missing one.
fn found<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<Value>, D::Error> {
    Value::deserialize(deserializer).map(Some)
}

/// Decodes CloudWatch's own SNS notification, found at `message_path`.
fn decode_notification(message: &Notification<'_>, message_path: &str) -> Result<AlarmChange, EventError> {
    fn required<'v, 'p>(value: &'v Option<Value>, parent: &'p str, key: &'p str) -> Required<'v, 'p> {
        Required {
            value: value.as_ref(),
            parent,
            key,
        }
    }
    let alarm_name = required(&message.alarm_name, message_path, "AlarmName")
        .name("an SNS alarm notification needs the alarm's name")?;
    let state_field = required(&message.new_state_value, message_path, "NewStateValue");
    let state = alarm::required_state(
        &state_field.path(),
        state_field.str("an SNS alarm notification needs the new state")?,
    )?;
    let state_changed_at = required(&message.state_change_time, message_path, "StateChangeTime")
        .timestamp("an SNS alarm notification needs the time of the state change, which identifies it")?;
    let state_reason = message.new_state_reason.as_str().unwrap_or_default().to_string();

    // Composite alarms have no `Trigger`; they name their rule and the children that fired.
    let is_composite = message.alarm_rule.is_present() || message.triggering_children.is_present();
    let (kind, measurement) = match (is_composite, message.trigger.get()) {
        (true, _) => (AlarmKind::Composite, Measurement::default()),
        (false, None) => (
            AlarmKind::Metric,
            Measurement {
                value: value_from_reason(&state_reason),
                ..Measurement::default()
            },
        ),
        (false, Some(trigger)) => {
            let kind = trigger_kind(trigger);
            let measurement = Measurement {
                metric: trigger_metric_name(kind, trigger),
                value: value_from_reason(&state_reason),
                threshold: trigger.threshold.number(),
                comparison: trigger
                    .comparison_operator
                    .as_str()
                    .map(str::trim)
                    .filter(|operator| !operator.is_empty())
                    .map(str::to_string),
            };
            (kind, measurement)
        }
    };
    let triggering_alarms = message
        .triggering_children
        .get()
        .map(|children| {
            alarm::names_from_arns(
                children
                    .iter()
                    .filter_map(|child| child.get().and_then(|child| child.arn.as_str())),
            )
        })
        .unwrap_or_default();

    Ok(AlarmChange {
        alarm_name,
        alarm_arn: message.alarm_arn.as_str().map(str::to_string),
        kind,
        state,
        previous_state: message.old_state_value.as_str().and_then(alarm::optional_state),
        state_reason,
        state_changed_at,
        measurement,
        triggering_alarms,
        path: Path::Sns,
    })
}

/// `Trigger.Metrics`, skipping items that are not objects.
fn queries<'t, 'a>(trigger: &'t Trigger<'a>) -> impl Iterator<Item = &'t Query<'a>> + Clone {
    trigger
        .metrics
        .get()
        .map_or(&[][..], Vec::as_slice)
        .iter()
        .filter_map(Lenient::get)
}

/// Tells metric, metric-math and anomaly-detection alarms apart by their `Trigger`.
fn trigger_kind(trigger: &Trigger<'_>) -> AlarmKind {
    let mut expressions = queries(trigger).filter_map(|query| query.expression.as_str());
    if expressions
        .clone()
        .any(|expression| expression.contains(ANOMALY_BAND_FUNCTION))
    {
        AlarmKind::AnomalyDetection
    } else if trigger.metric_name.get().is_none() && expressions.next().is_some() {
        AlarmKind::MetricMath
    } else {
        AlarmKind::Metric
    }
}

/// `Trigger.MetricName`; for metric math, the expression the alarm returns, else the first
/// expression, else the first query id; for anomaly detection, the metric the band is drawn around.
fn trigger_metric_name(kind: AlarmKind, trigger: &Trigger<'_>) -> Option<String> {
    let stat_name = || {
        trigger.metric_name.as_str().or_else(|| {
            queries(trigger).find_map(|query| {
                query
                    .metric_stat
                    .get()
                    .and_then(|stat| stat.metric.get())
                    .and_then(|metric| metric.metric_name.as_str())
            })
        })
    };
    let expression = || {
        queries(trigger)
            .find(|query| query.return_data.get() == Some(&true) && query.expression.get().is_some())
            .or_else(|| queries(trigger).find(|query| query.expression.get().is_some()))
            .and_then(|query| query.expression.as_str())
            .or_else(|| queries(trigger).find_map(|query| query.id.as_str()))
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
