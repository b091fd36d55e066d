//! CloudWatch alarm state changes, from the alarm's Lambda action or from EventBridge.
//!
//! Both carry the same alarm object: the Lambda action as `alarmData` next to
//! `alarmArn`, EventBridge as `detail` inside its usual envelope with the ARN
//! in `resources`. Metric, metric-math, anomaly-detection and composite alarms
//! all arrive here; they differ in `configuration` and in `state.reasonData`,
//! a JSON document inside a string. The measurement read from them is for the
//! explanation only, so a missing, empty or unparseable `reasonData` leaves it
//! empty instead of failing the event.
//!
//! Nested fields are read with chained `get`s rather than `Value::pointer`,
//! which allocates for every segment of its path; this runs on every event.

use crate::error::EventError;
use crate::field::{describe, last_segment, number, quote, Object};
use crate::limits::check_event_size;
use serde_json::Value;
use std::borrow::Cow;
use trigger_decision::{AlarmChange, AlarmKind, AlarmState, Measurement, Path, Signal};

/// The EventBridge `detail-type` of an alarm state change.
pub const STATE_CHANGE_DETAIL_TYPE: &str = "CloudWatch Alarm State Change";

/// Marks an anomaly-detection alarm: its threshold is this band, not a number.
const ANOMALY_BAND_FUNCTION: &str = "ANOMALY_DETECTION_BAND";

const WANTED: &str = "a CloudWatch alarm event";

const ACCEPTED: &str = "the CloudWatch alarm Lambda-action payload (`source`, `alarmArn`, `alarmData`), \
                        or an EventBridge event with `detail-type` \"CloudWatch Alarm State Change\" and the alarm \
                        in `detail`";

/// Decodes a CloudWatch alarm state change delivered by the alarm's Lambda
/// action (`Path::AlarmAction`) or by an EventBridge rule (`Path::EventBridge`).
pub fn decode(event: &Value) -> Result<Signal, EventError> {
    check_event_size(event)?;
    let Some(root) = Object::new(event, "") else {
        return Err(unrecognised("", describe(event)));
    };
    if root.get("detail-type").is_some() {
        return decode_eventbridge(&root, Path::EventBridge).map(Signal::Alarm);
    }
    if root.get("alarmData").is_some() {
        let alarm_data = root.required_object("alarmData", "the Lambda action carries the alarm in `alarmData`")?;
        let alarm_arn = root.str("alarmArn").map(str::to_string);
        return decode_alarm_data(&alarm_data, alarm_arn, Path::AlarmAction).map(Signal::Alarm);
    }
    let mut found = root.describe();
    if root.get("Records").is_some() {
        found.push_str(" (an SNS or SQS event: SNS alarm notifications go to `sns::decode`)");
    }
    Err(unrecognised("", found))
}

/// Decodes an EventBridge "CloudWatch Alarm State Change" event found at
/// `envelope` (the event itself, or an SNS `Message`), reporting `path`.
pub(crate) fn decode_eventbridge(envelope: &Object<'_>, path: Path) -> Result<AlarmChange, EventError> {
    let detail_type = envelope.required_str("detail-type", "an EventBridge event names its kind in `detail-type`")?;
    if detail_type != STATE_CHANGE_DETAIL_TYPE {
        let found = format!("an EventBridge event with detail-type {}", quote(detail_type));
        return Err(unrecognised(envelope.path(), found));
    }
    // The AWS docs put the alarm in `detail`. aws-lambda-rust-runtime's
    // composite-with-suppressor example puts it in `alarmData` inside the
    // EventBridge envelope; accept that too rather than guess which is wrong.
    let body = match (envelope.get("detail"), envelope.object("alarmData")) {
        (None, Some(alarm_data)) => alarm_data,
        _ => envelope.required_object("detail", "an EventBridge alarm event carries the alarm in `detail`")?,
    };
    let alarm_arn = envelope
        .array("resources")
        .and_then(|resources| resources.iter().find_map(Value::as_str))
        .map(str::to_string);
    decode_alarm_data(&body, alarm_arn, path)
}

/// Decodes the alarm object both envelopes share: `{alarmName, state, previousState, configuration}`.
fn decode_alarm_data(body: &Object<'_>, alarm_arn: Option<String>, path: Path) -> Result<AlarmChange, EventError> {
    let alarm_name = body.required_name("alarmName", "a CloudWatch alarm event needs the alarm's name")?;
    let state = body.required_object("state", "a CloudWatch alarm event needs the new state")?;
    let state_value = required_state(
        &state.field_path("value"),
        state.required_str("value", "a CloudWatch alarm event needs the new state")?,
    )?;
    let state_changed_at = state.required_timestamp(
        "timestamp",
        "a CloudWatch alarm event needs the time of the state change, which identifies it",
    )?;
    let previous_state = body
        .object("previousState")
        .and_then(|previous| previous.str("value"))
        .and_then(optional_state);
    let reason_data = state.get("reasonData").and_then(parse_reason_data);
    let reason_data = reason_data.as_deref();
    let configuration = body.object("configuration");
    let metrics = configuration
        .as_ref()
        .and_then(|configuration| configuration.array("metrics"))
        .unwrap_or(&[]);
    let triggering_alarms = reason_data.map(triggering_alarms).unwrap_or_default();

    let is_composite = configuration
        .as_ref()
        .is_some_and(|configuration| configuration.get("alarmRule").is_some())
        || reason_data.is_some_and(|data| data.get("triggeringAlarms").is_some_and(Value::is_array));
    let kind = if is_composite {
        AlarmKind::Composite
    } else {
        metric_kind(metrics)
    };
    let measurement = match kind {
        AlarmKind::Composite => Measurement::default(),
        _ => Measurement {
            metric: metric_name(kind, metrics),
            value: reason_data.and_then(value_from_reason_data),
            threshold: reason_data.and_then(threshold_from_reason_data),
            // The alarm object carries no comparison operator; SNS notifications do.
            comparison: None,
        },
    };

    Ok(AlarmChange {
        alarm_name,
        alarm_arn,
        kind,
        state: state_value,
        previous_state,
        state_reason: state.str("reason").unwrap_or_default().to_string(),
        state_changed_at,
        measurement,
        triggering_alarms,
        path,
    })
}

/// Parses a state value that must be there, refusing an empty one.
pub(crate) fn required_state(field: &str, text: &str) -> Result<AlarmState, EventError> {
    optional_state(text).ok_or_else(|| EventError::WrongType {
        field: field.to_string(),
        expected: "an alarm state such as ALARM, OK or INSUFFICIENT_DATA",
        found: describe(&Value::String(text.to_string())),
    })
}

/// Parses a state value that may be absent; an empty one counts as absent.
pub(crate) fn optional_state(text: &str) -> Option<AlarmState> {
    let text = text.trim();
    (!text.is_empty()).then(|| AlarmState::parse(text))
}

/// `reasonData` is a JSON document in a string. Some producers send the object itself; take either.
fn parse_reason_data(value: &Value) -> Option<Cow<'_, Value>> {
    match value {
        Value::Object(_) => Some(Cow::Borrowed(value)),
        Value::String(text) => match serde_json::from_str::<Value>(text) {
            Ok(parsed) if parsed.is_object() => Some(Cow::Owned(parsed)),
            _ => None,
        },
        _ => None,
    }
}

/// Tells metric, metric-math and anomaly-detection alarms apart by their metric queries.
fn metric_kind(metrics: &[Value]) -> AlarmKind {
    let expressions = || {
        metrics
            .iter()
            .filter_map(|query| query.get("expression").and_then(Value::as_str))
    };
    if expressions().any(|expression| expression.contains(ANOMALY_BAND_FUNCTION)) {
        AlarmKind::AnomalyDetection
    } else if metrics
        .iter()
        .any(|query| query.get("expression").is_some_and(Value::is_string) && !has_value(query, "metricStat"))
    {
        AlarmKind::MetricMath
    } else {
        AlarmKind::Metric
    }
}

/// The metric an alarm watches: the expression it returns for metric math,
/// otherwise the name of its first metric (for anomaly detection, the metric the band is drawn around).
fn metric_name(kind: AlarmKind, metrics: &[Value]) -> Option<String> {
    let stat_name = || {
        metrics
            .iter()
            .find_map(|query| {
                query
                    .get("metricStat")
                    .and_then(|stat| stat.get("metric"))
                    .and_then(|metric| metric.get("name"))
                    .and_then(Value::as_str)
            })
            .map(str::to_string)
    };
    let expression = || {
        let returned = metrics.iter().find(|query| {
            query.get("returnData").and_then(Value::as_bool).unwrap_or(false)
                && query.get("expression").is_some_and(Value::is_string)
        });
        returned
            .or_else(|| {
                metrics
                    .iter()
                    .find(|query| query.get("expression").is_some_and(Value::is_string))
            })
            .and_then(|query| query.get("expression"))
            .and_then(Value::as_str)
            .map(str::to_string)
    };
    match kind {
        AlarmKind::MetricMath => expression().or_else(stat_name),
        _ => stat_name().or_else(expression),
    }
}

/// The newest evaluated datapoint, else the newest recent one (`recentDatapoints` is oldest first).
fn value_from_reason_data(reason_data: &Value) -> Option<f64> {
    reason_data
        .get("evaluatedDatapoints")
        .and_then(|points| points.get(0))
        .and_then(|point| point.get("value"))
        .and_then(number)
        .or_else(|| {
            reason_data
                .get("recentDatapoints")
                .and_then(Value::as_array)
                .and_then(|points| points.last())
                .and_then(number)
        })
}

/// The alarm's threshold. Anomaly-detection alarms have none; for them this is
/// the band edge the evaluated datapoint was compared with, when given.
fn threshold_from_reason_data(reason_data: &Value) -> Option<f64> {
    reason_data.get("threshold").and_then(number).or_else(|| {
        reason_data
            .get("evaluatedDatapoints")
            .and_then(|points| points.get(0))
            .and_then(|point| point.get("threshold"))
            .and_then(number)
    })
}

/// A composite alarm's children that caused the change, by name (the last `:` segment of each ARN).
fn triggering_alarms(reason_data: &Value) -> Vec<String> {
    names_from_arns(reason_data.get("triggeringAlarms"), "arn")
}

/// Alarm names from an array of objects holding alarm ARNs under `arn_key`; anything else is skipped.
pub(crate) fn names_from_arns(items: Option<&Value>, arn_key: &str) -> Vec<String> {
    items
        .and_then(Value::as_array)
        .map(|items| {
            items
                .iter()
                .filter_map(|item| item.get(arn_key).and_then(Value::as_str))
                .map(|arn| last_segment(arn, ':').trim())
                .filter(|name| !name.is_empty())
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default()
}

fn has_value(object: &Value, key: &str) -> bool {
    object.get(key).is_some_and(|value| !value.is_null())
}

/// `field` is the path of the document that is not an alarm event; empty for the event itself.
fn unrecognised(field: &str, found: String) -> EventError {
    EventError::UnrecognisedShape {
        field: field.to_string(),
        wanted: WANTED,
        found,
        accepted: ACCEPTED,
    }
}
