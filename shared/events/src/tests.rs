//! Fixture-driven tests of the three decoders.
//!
//! Every fixture under `tests/fixtures/events/` is compiled in with
//! `include_str!` and listed in `CASES` (decodable) or `INVALID` (refused),
//! with the expected result written as one line per signal. The directory
//! walk at the end fails when a fixture file is added without being listed,
//! without decoding by the decoder its name prefix names, or without a line
//! in the fixtures README saying where its shape comes from.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::{alarm, schedule, sns, EventError};
use serde_json::{json, Value};
use std::collections::BTreeSet;
use trigger_decision::{AlarmKind, AlarmState, Path, Signal};

/// A fixture's file name and its text.
#[derive(Debug, Clone, Copy)]
struct Fixture {
    name: &'static str,
    text: &'static str,
}

macro_rules! fixture {
    ($name:literal) => {
        Fixture {
            name: $name,
            text: include_str!(concat!("../../../tests/fixtures/events/", $name)),
        }
    };
}

/// The instant of the state change the metric, EventBridge and SNS fixtures share.
const SHARED_STATE_CHANGE_MILLIS: i64 = 1_691_152_575_490;

const MAE_HIGH_ARN: &str = "arn:aws:cloudwatch:us-east-1:123456789012:alarm:housing-price-mae-high";

/// Which decoder a fixture is for, from its name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Decoder {
    Alarm,
    Sns,
    Schedule,
}

fn decoder_for(name: &str) -> Option<Decoder> {
    let has_prefix = |prefixes: &[&str]| prefixes.iter().any(|prefix| name.starts_with(prefix));
    if has_prefix(&["example-cloudwatch-alarm-", "example-eventbridge-alarm-"]) {
        Some(Decoder::Alarm)
    } else if has_prefix(&["example-sns-"]) {
        Some(Decoder::Sns)
    } else if has_prefix(&["example-eventbridge-scheduled-", "example-scheduler-"]) {
        Some(Decoder::Schedule)
    } else {
        None
    }
}

/// Runs a decoder, giving every decoder the SNS result shape: one result per signal.
fn run(decoder: Decoder, event: &Value) -> Result<Vec<Result<Signal, EventError>>, EventError> {
    match decoder {
        Decoder::Alarm => alarm::decode(event).map(|signal| vec![Ok(signal)]),
        Decoder::Sns => sns::decode(event),
        Decoder::Schedule => schedule::decode(event).map(|signal| vec![Ok(signal)]),
    }
}

fn parse(fixture: Fixture) -> Value {
    serde_json::from_str(fixture.text).unwrap_or_else(|error| panic!("{} is not JSON: {error}", fixture.name))
}

fn or_dash<T: ToString>(value: Option<T>) -> String {
    value.map_or_else(|| "-".to_string(), |value| value.to_string())
}

/// One line holding everything a signal says, for compact expectations.
fn render(signal: &Signal) -> String {
    match signal {
        Signal::Alarm(change) => format!(
            "{} {} {} {}->{} @{} metric={} value={} threshold={} cmp={} triggers=[{}] arn={}",
            change.path.as_str(),
            change.kind.as_str(),
            change.alarm_name,
            or_dash(change.previous_state.as_ref().map(AlarmState::as_str)),
            change.state.as_str(),
            change.state_changed_at.millis(),
            or_dash(change.measurement.metric.as_deref()),
            or_dash(change.measurement.value),
            or_dash(change.measurement.threshold),
            or_dash(change.measurement.comparison.as_deref()),
            change.triggering_alarms.join(","),
            or_dash(change.alarm_arn.as_deref()),
        ),
        Signal::Schedule(tick) => format!(
            "{} schedule {} @{} arn={}",
            tick.path.as_str(),
            tick.schedule_name,
            tick.scheduled_time.millis(),
            or_dash(tick.schedule_arn.as_deref()),
        ),
        Signal::Drift(report) => format!("{} drift {}", report.path.as_str(), report.report_id),
        Signal::Manual(request) => format!(
            "{} manual {} by {} id={}",
            request.path.as_str(),
            request.model,
            request.requested_by,
            request.request_id
        ),
    }
}

/// A failed record renders as the field it names, so the line stays short.
fn render_result(result: &Result<Signal, EventError>) -> String {
    match result {
        Ok(signal) => render(signal),
        Err(error) => format!("error at {}", or_dash(error.field())),
    }
}

/// Decodes `fixture` with the decoder its name names and compares each signal with `expected`.
fn check(fixture: Fixture, expected: &[&str]) {
    let decoder = decoder_for(fixture.name).unwrap_or_else(|| panic!("{}: no decoder for this prefix", fixture.name));
    let results = run(decoder, &parse(fixture)).unwrap_or_else(|error| panic!("{}: {error}", fixture.name));
    let actual: Vec<String> = results.iter().map(render_result).collect();
    assert_eq!(actual, expected, "{}", fixture.name);
}

/// Every decodable fixture with what it must decode to.
const CASES: &[(Fixture, &[&str])] = &[
    (
        fixture!("example-cloudwatch-alarm-metric.json"),
        &[
            "alarm-action metric housing-price-mae-high OK->ALARM @1691152575490 metric=mae value=16250 \
           threshold=15000 cmp=- triggers=[] \
           arn=arn:aws:cloudwatch:us-east-1:123456789012:alarm:housing-price-mae-high",
        ],
    ),
    (
        fixture!("example-cloudwatch-alarm-ok.json"),
        &[
            "alarm-action metric housing-price-mae-high ALARM->OK @1691174763105 metric=mae value=14100 \
           threshold=15000 cmp=- triggers=[] \
           arn=arn:aws:cloudwatch:us-east-1:123456789012:alarm:housing-price-mae-high",
        ],
    ),
    (
        fixture!("example-cloudwatch-alarm-nulls.json"),
        &[
            "alarm-action metric housing-price-mae-high -->INSUFFICIENT_DATA @1691205044021 metric=mae value=- \
           threshold=- cmp=- triggers=[] arn=-",
        ],
    ),
    (
        fixture!("example-cloudwatch-alarm-metric-math.json"),
        &[
            "alarm-action metric-math housing-price-mae-rise-pct OK->ALARM @1691227511840 \
           metric=100 * (m1 - m2) / m2 value=8.333333333333334 threshold=5 cmp=- triggers=[] \
           arn=arn:aws:cloudwatch:us-east-1:123456789012:alarm:housing-price-mae-rise-pct",
        ],
    ),
    (
        fixture!("example-cloudwatch-alarm-anomaly-detection.json"),
        &[
            "alarm-action anomaly-detection housing-price-mae-anomaly OK->ALARM @1691152576005 metric=mae \
           value=16250 threshold=14210.5 cmp=- triggers=[] \
           arn=arn:aws:cloudwatch:us-east-1:123456789012:alarm:housing-price-mae-anomaly",
        ],
    ),
    (
        fixture!("example-cloudwatch-alarm-composite.json"),
        &[
            "alarm-action composite housing-price-retrain-needed OK->ALARM @1691152576731 metric=- value=- \
           threshold=- cmp=- triggers=[housing-price-mae-high] \
           arn=arn:aws:cloudwatch:us-east-1:123456789012:alarm:housing-price-retrain-needed",
        ],
    ),
    (
        fixture!("example-eventbridge-alarm-state-change.json"),
        &[
            "eventbridge metric housing-price-mae-high OK->ALARM @1691152575490 metric=mae value=16250 \
           threshold=15000 cmp=- triggers=[] \
           arn=arn:aws:cloudwatch:us-east-1:123456789012:alarm:housing-price-mae-high",
        ],
    ),
    (
        fixture!("example-eventbridge-alarm-composite.json"),
        &[
            "eventbridge composite housing-price-retrain-needed OK->ALARM @1691152576731 metric=- value=- \
           threshold=- cmp=- triggers=[housing-price-mae-high] \
           arn=arn:aws:cloudwatch:us-east-1:123456789012:alarm:housing-price-retrain-needed",
        ],
    ),
    (
        fixture!("example-eventbridge-alarm-composite-alarmdata.json"),
        &[
            "eventbridge composite housing-price-retrain-needed OK->ALARM @1691152576731 metric=- value=- \
           threshold=- cmp=- triggers=[housing-price-mae-high] \
           arn=arn:aws:cloudwatch:us-east-1:123456789012:alarm:housing-price-retrain-needed",
        ],
    ),
    (
        fixture!("example-sns-cloudwatch-alarm.json"),
        &[
            "sns metric housing-price-mae-high OK->ALARM @1691152575490 metric=mae value=16250 threshold=15000 \
           cmp=GreaterThanThreshold triggers=[] \
           arn=arn:aws:cloudwatch:us-east-1:123456789012:alarm:housing-price-mae-high",
        ],
    ),
    (
        fixture!("example-sns-cloudwatch-alarm-metric-math.json"),
        &[
            "sns metric-math housing-price-mae-rise-pct OK->ALARM @1691227511840 metric=100 * (m1 - m2) / m2 \
           value=8.333333333333334 threshold=5 cmp=GreaterThanThreshold triggers=[] \
           arn=arn:aws:cloudwatch:us-east-1:123456789012:alarm:housing-price-mae-rise-pct",
        ],
    ),
    (
        fixture!("example-sns-cloudwatch-alarm-composite.json"),
        &[
            "sns composite housing-price-retrain-needed OK->ALARM @1691152576731 metric=- value=- threshold=- \
           cmp=- triggers=[housing-price-mae-high] \
           arn=arn:aws:cloudwatch:us-east-1:123456789012:alarm:housing-price-retrain-needed",
        ],
    ),
    (
        fixture!("example-sns-eventbridge-alarm.json"),
        &[
            "sns metric housing-price-mae-high OK->ALARM @1691152575490 metric=mae value=16250 threshold=15000 \
           cmp=- triggers=[] arn=arn:aws:cloudwatch:us-east-1:123456789012:alarm:housing-price-mae-high",
        ],
    ),
    (
        fixture!("example-sns-multiple-records-one-bad.json"),
        &[
            "sns metric housing-price-mae-high OK->ALARM @1691152575490 metric=mae value=16250 threshold=15000 \
             cmp=GreaterThanThreshold triggers=[] \
             arn=arn:aws:cloudwatch:us-east-1:123456789012:alarm:housing-price-mae-high",
            "error at Records[1].Sns.Message",
            "sns metric housing-price-rmse-high ALARM->OK @1691153175902 metric=rmse value=19870.5 \
             threshold=22000 cmp=GreaterThanThreshold triggers=[] \
             arn=arn:aws:cloudwatch:us-east-1:123456789012:alarm:housing-price-rmse-high",
        ],
    ),
    (
        fixture!("example-eventbridge-scheduled-event.json"),
        &["eventbridge schedule housing-price-weekly @1704067200000 \
           arn=arn:aws:events:us-east-1:123456789012:rule/housing-price-weekly"],
    ),
    (
        fixture!("example-scheduler-input.json"),
        &["scheduler schedule housing-price-weekly @1704067200000 arn=-"],
    ),
    (
        fixture!("example-scheduler-input-arn.json"),
        &["scheduler schedule housing-price-weekly @1704067200000 \
           arn=arn:aws:scheduler:us-east-1:123456789012:schedule/default/housing-price-weekly"],
    ),
];

/// Every refused fixture, the decoder it is refused by, and a part of the message that names the field.
const INVALID: &[(Fixture, Decoder, &str)] = &[
    (
        fixture!("invalid/not-an-alarm.json"),
        Decoder::Alarm,
        "the event is not a CloudWatch alarm event: found an EventBridge event with detail-type \
         \"EC2 Instance State-change Notification\"; accepted: the CloudWatch alarm Lambda-action payload \
         (`source`, `alarmArn`, `alarmData`), or an EventBridge event with `detail-type`",
    ),
    (
        fixture!("invalid/alarm-missing-timestamp.json"),
        Decoder::Alarm,
        "`alarmData.state.timestamp` is missing: a CloudWatch alarm event needs the time of the state change",
    ),
    (
        fixture!("invalid/alarm-missing-state-value.json"),
        Decoder::Alarm,
        "`detail.state.value` is missing: a CloudWatch alarm event needs the new state",
    ),
    (
        fixture!("invalid/alarm-timestamp-without-offset.json"),
        Decoder::Alarm,
        "`detail.state.timestamp` is not a timestamp: found the string \"2023-08-04T12:36:15.490\"; expected RFC 3339",
    ),
    (
        fixture!("invalid/alarm-name-too-long.json"),
        Decoder::Alarm,
        "`alarmData.alarmName` should be a name of 1 to 255 characters, found 264 characters starting \
         \"housing-price-xxx",
    ),
    (
        fixture!("invalid/sns-no-records.json"),
        Decoder::Sns,
        "`Records` should be at least one SNS record, found an empty array",
    ),
    (
        fixture!("invalid/scheduler-placeholder-not-substituted.json"),
        Decoder::Schedule,
        "`scheduled_time` is still the placeholder `<aws.scheduler.scheduled-time>`: the EventBridge Scheduler \
         target Input was not substituted",
    ),
    (
        fixture!("invalid/scheduled-event-no-resources.json"),
        Decoder::Schedule,
        "`resources` should be an array holding the rule ARN, found an array of 0 items",
    ),
];

#[test]
fn every_listed_fixture_decodes_to_what_it_shows() {
    for &(fixture, expected) in CASES {
        check(fixture, expected);
    }
}

#[test]
fn one_alarm_state_change_gives_one_dedupe_key_on_every_path() {
    let decode_one = |fixture: Fixture| {
        let decoder = decoder_for(fixture.name).unwrap();
        let mut results = run(decoder, &parse(fixture)).unwrap();
        assert_eq!(results.len(), 1, "{}", fixture.name);
        results.remove(0).unwrap()
    };
    let signals = [
        decode_one(fixture!("example-cloudwatch-alarm-metric.json")),
        decode_one(fixture!("example-eventbridge-alarm-state-change.json")),
        decode_one(fixture!("example-sns-cloudwatch-alarm.json")),
        decode_one(fixture!("example-sns-eventbridge-alarm.json")),
    ];
    let paths: Vec<Path> = signals.iter().map(Signal::path).collect();
    assert_eq!(paths, [Path::AlarmAction, Path::EventBridge, Path::Sns, Path::Sns]);
    for signal in &signals {
        assert_eq!(
            signal.dedupe_key().as_str(),
            format!("alarm/housing-price-mae-high/{SHARED_STATE_CHANGE_MILLIS}")
        );
        let Signal::Alarm(change) = signal else {
            panic!("not an alarm: {signal:?}")
        };
        assert_eq!(change.alarm_arn.as_deref(), Some(MAE_HIGH_ARN));
        assert_eq!(change.kind, AlarmKind::Metric);
        assert!(
            change.state_reason.contains("[16250.0 (04/08/23 12:31:00)]"),
            "{}",
            change.state_reason
        );
    }
    // The OK transition of the same alarm is a different change, so a different key.
    let recovered = decode_one(fixture!("example-cloudwatch-alarm-ok.json"));
    assert_ne!(recovered.dedupe_key(), signals[0].dedupe_key());
}

#[test]
fn a_bad_sns_record_is_reported_by_index_and_the_others_still_decode() {
    let results = sns::decode(&parse(fixture!("example-sns-multiple-records-one-bad.json"))).unwrap();
    assert_eq!(results.len(), 3);
    assert!(results[0].is_ok() && results[2].is_ok(), "{results:?}");
    let error = results[1].as_ref().unwrap_err();
    match error {
        EventError::SnsRecord {
            index,
            count,
            message_id,
            problem,
        } => {
            assert_eq!((*index, *count), (1, 3));
            assert_eq!(message_id.as_deref(), Some("0b2e6f3a-8c1d-5b47-9a2e-4d6c8f0b1a36"));
            assert!(matches!(**problem, EventError::UnrecognisedShape { .. }), "{problem:?}");
        }
        other => panic!("expected an SnsRecord error, got {other:?}"),
    }
    let message = error.to_string();
    assert!(
        message.starts_with(
            "SNS record 1 of 3 (zero-based), MessageId 0b2e6f3a-8c1d-5b47-9a2e-4d6c8f0b1a36: \
             `Records[1].Sns.Message` is not a CloudWatch alarm notification: found an object with keys"
        ),
        "{message}"
    );
    assert!(message.contains("Service"), "the found keys are shown: {message}");
}

#[test]
fn every_invalid_fixture_is_refused_with_a_message_naming_the_field() {
    for &(fixture, decoder, expected) in INVALID {
        let messages: Vec<String> = match run(decoder, &parse(fixture)) {
            Err(error) => vec![error.to_string()],
            Ok(results) => results
                .into_iter()
                .filter_map(Result::err)
                .map(|error| error.to_string())
                .collect(),
        };
        assert!(!messages.is_empty(), "{} decoded without error", fixture.name);
        assert!(
            messages.iter().any(|message| message.contains(expected)),
            "{}: expected a message containing\n  {expected}\ngot\n  {}",
            fixture.name,
            messages.join("\n  ")
        );
    }
}

#[test]
fn every_fixture_file_is_listed_decodes_by_its_prefix_and_has_a_provenance_line() {
    let directory = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/events");
    let readme = std::fs::read_to_string(directory.join("README.md")).expect("tests/fixtures/events/README.md");
    let json_files = |subdirectory: &str| -> BTreeSet<String> {
        std::fs::read_dir(directory.join(subdirectory))
            .unwrap()
            .map(|entry| entry.unwrap())
            .filter(|entry| entry.file_type().unwrap().is_file())
            .map(|entry| entry.file_name().into_string().unwrap())
            .filter(|name| name.ends_with(".json"))
            .collect()
    };

    let root_files = json_files(".");
    assert!(root_files.len() >= CASES.len(), "{root_files:?}");
    for name in &root_files {
        let decoder = decoder_for(name).unwrap_or_else(|| {
            panic!(
                "{name}: the prefix names no decoder; use example-cloudwatch-alarm-, example-eventbridge-alarm-, \
                 example-sns-, example-eventbridge-scheduled- or example-scheduler-"
            )
        });
        let text = std::fs::read_to_string(directory.join(name)).unwrap();
        let event: Value = serde_json::from_str(&text).unwrap_or_else(|error| panic!("{name}: {error}"));
        let results = run(decoder, &event).unwrap_or_else(|error| panic!("{name}: {error}"));
        let failures = results.iter().filter(|result| result.is_err()).count();
        let allowed_failures = usize::from(name.contains("-one-bad"));
        assert_eq!(failures, allowed_failures, "{name}: {results:?}");
        assert!(
            CASES.iter().any(|(fixture, _)| fixture.name == name),
            "{name} has no entry in CASES"
        );
        assert!(
            readme.contains(&format!("`{name}`")),
            "{name} has no provenance line in README.md"
        );
    }

    let invalid_files = json_files("invalid");
    for name in &invalid_files {
        let listed = format!("invalid/{name}");
        assert!(
            INVALID.iter().any(|(fixture, ..)| fixture.name == listed),
            "{listed} has no entry in INVALID"
        );
        assert!(
            readme.contains(&format!("`{listed}`")),
            "{listed} has no provenance line in README.md"
        );
    }
    assert_eq!(
        invalid_files.len(),
        INVALID.len(),
        "INVALID lists a fixture that is not on disk"
    );
}

/// Decodes an inline event as an alarm and renders it, or renders the error message.
fn alarm_line(event: Value) -> String {
    match alarm::decode(&event) {
        Ok(signal) => render(&signal),
        Err(error) => format!("error: {error}"),
    }
}

fn schedule_line(event: Value) -> String {
    match schedule::decode(&event) {
        Ok(signal) => render(&signal),
        Err(error) => format!("error: {error}"),
    }
}

/// A Lambda-action alarm event whose `state` is `state`, for the leniency cases.
fn action_event(state: Value) -> Value {
    json!({
        "source": "aws.cloudwatch",
        "alarmArn": MAE_HIGH_ARN,
        "alarmData": {
            "alarmName": "housing-price-mae-high",
            "state": state,
            "configuration": {"metrics": [{"id": "m1", "metricStat": {"metric": {"name": "mae"}}}]}
        }
    })
}

#[test]
fn reason_data_that_is_absent_null_empty_or_unparseable_leaves_the_measurement_empty() {
    let empty = "alarm-action metric housing-price-mae-high -->ALARM @1691152575490 metric=mae value=- threshold=- \
                 cmp=- triggers=[] arn=arn:aws:cloudwatch:us-east-1:123456789012:alarm:housing-price-mae-high";
    let reason_data_cases = [
        json!(null),
        json!(""),
        json!("   "),
        json!("{not json"),
        json!("[16250.0]"),
        json!("\"a string\""),
        json!(42),
        json!({}),
        json!({"evaluatedDatapoints": "no", "recentDatapoints": {}, "threshold": [1]}),
        json!({"evaluatedDatapoints": [], "recentDatapoints": [], "threshold": "fifteen"}),
    ];
    for reason_data in reason_data_cases {
        let event = action_event(json!({
            "value": "ALARM",
            "timestamp": "2023-08-04T12:36:15.490+0000",
            "reasonData": reason_data
        }));
        assert_eq!(alarm_line(event), empty, "reasonData {reason_data}");
    }
}

#[test]
fn numbers_sent_as_strings_and_epoch_millis_are_accepted() {
    // reasonData as an object rather than a string, with numbers as strings and no evaluated datapoints.
    let event = action_event(json!({
        "value": "ALARM",
        "timestamp": SHARED_STATE_CHANGE_MILLIS,
        "reasonData": {"recentDatapoints": ["15100", "16250.0"], "threshold": "15000"}
    }));
    assert_eq!(
        alarm_line(event),
        "alarm-action metric housing-price-mae-high -->ALARM @1691152575490 metric=mae value=16250 \
         threshold=15000 cmp=- triggers=[] arn=arn:aws:cloudwatch:us-east-1:123456789012:alarm:housing-price-mae-high"
    );
}

#[test]
fn composite_alarms_are_recognised_from_reason_data_alone() {
    let event = json!({
        "alarmData": {
            "alarmName": "housing-price-retrain-needed",
            "state": {
                "value": "ALARM",
                "timestamp": "2023-08-04T12:36:16.731Z",
                "reasonData": json!({"triggeringAlarms": [
                    {"arn": "arn:aws:cloudwatch:us-east-1:123456789012:alarm:a"},
                    {"arn": 7},
                    {"arn": "b"}
                ]})
                .to_string()
            }
        }
    });
    assert_eq!(
        alarm_line(event),
        "alarm-action composite housing-price-retrain-needed -->ALARM @1691152576731 metric=- value=- threshold=- \
         cmp=- triggers=[a,b] arn=-"
    );
}

#[test]
fn alarm_events_that_cannot_be_signals_are_refused_naming_the_field() {
    let check = |event: Value, expected: &str| {
        let line = alarm_line(event.clone());
        assert!(
            line.starts_with(expected),
            "{event}\n  expected {expected}\n  got      {line}"
        );
    };
    let state = json!({"value": "ALARM", "timestamp": "2023-08-04T12:36:15.490+0000"});
    check(
        json!(null),
        "error: the event is not a CloudWatch alarm event: found null",
    );
    check(
        json!([1, 2]),
        "error: the event is not a CloudWatch alarm event: found an array of 2 items",
    );
    check(
        json!({}),
        "error: the event is not a CloudWatch alarm event: found an object with no keys",
    );
    check(
        json!({"Records": []}),
        "error: the event is not a CloudWatch alarm event: found an object with keys [Records] (an SNS or SQS event",
    );
    check(
        json!({"alarmData": "x"}),
        "error: `alarmData` should be a JSON object, found the string \"x\"",
    );
    check(
        json!({"alarmData": {"state": state}}),
        "error: `alarmData.alarmName` is missing: a CloudWatch alarm event needs the alarm's name",
    );
    check(
        json!({"alarmData": {"alarmName": "", "state": state}}),
        "error: `alarmData.alarmName` should be a name of 1 to 255 characters, found an empty string",
    );
    check(
        json!({"alarmData": {"alarmName": 7, "state": state}}),
        "error: `alarmData.alarmName` should be a string, found the number 7",
    );
    check(
        json!({"alarmData": {"alarmName": "a", "state": null}}),
        "error: `alarmData.state` is null: a CloudWatch alarm event needs the new state",
    );
    check(
        json!({"alarmData": {"alarmName": "a", "state": {"value": "", "timestamp": "2023-08-04T12:36:15Z"}}}),
        "error: `alarmData.state.value` should be an alarm state such as ALARM, OK or INSUFFICIENT_DATA, found an \
         empty string",
    );
    check(
        json!({"detail-type": "CloudWatch Alarm State Change", "resources": [MAE_HIGH_ARN]}),
        "error: `detail` is missing: an EventBridge alarm event carries the alarm in `detail`",
    );
    check(
        json!({"detail-type": 3}),
        "error: `detail-type` should be a string, found the number 3",
    );
    check(
        json!({"detail-type": "Scheduled Event", "detail": {}}),
        "error: the event is not a CloudWatch alarm event: found an EventBridge event with detail-type \
         \"Scheduled Event\"",
    );
}

#[test]
fn sns_envelopes_and_records_that_cannot_be_read_are_refused_naming_the_field() {
    let outer = |event: Value, expected: &str| {
        let message = sns::decode(&event).map(|_| ()).unwrap_err().to_string();
        assert!(
            message.starts_with(expected),
            "{event}\n  expected {expected}\n  got      {message}"
        );
    };
    outer(
        json!("Records"),
        "the event is not an SNS event: found the string \"Records\"",
    );
    outer(
        json!({"detail": {}}),
        "`Records` is missing: an SNS event carries its notifications in `Records`",
    );
    outer(
        json!({"Records": {}}),
        "`Records` should be an array of SNS records, found an object with no keys",
    );

    let record = |record: Value, expected: &str| {
        let results = sns::decode(&json!({"Records": [record]})).unwrap();
        let message = results[0].as_ref().unwrap_err().to_string();
        assert!(
            message.contains(expected),
            "{record}\n  expected {expected}\n  got      {message}"
        );
    };
    record(
        json!(5),
        "SNS record 0 of 1 (zero-based): `Records[0]` should be an SNS record object",
    );
    record(
        json!({}),
        "`Records[0].Sns` is missing: an SNS record carries the notification in `Sns`",
    );
    record(
        json!({"Sns": {"MessageId": "m-1", "Message": "Hello\r\nworld!"}}),
        "SNS record 0 of 1 (zero-based), MessageId m-1: `Records[0].Sns.Message` should be a JSON document \
         (expected value at line 1 column 1), found the string \"Hello\\r\\nworld!\"",
    );
    record(
        json!({"Sns": {"Message": "[1]"}}),
        "`Records[0].Sns.Message` should be a JSON object holding a CloudWatch alarm notification, found an array",
    );
    record(
        json!({"Sns": {"Message": "{\"AlarmName\":\"a\",\"NewStateValue\":\"ALARM\"}"}}),
        "`Records[0].Sns.Message.StateChangeTime` is missing",
    );
    record(
        json!({"Sns": {"Message": "{\"AlarmName\":\"a\",\"NewStateValue\":\"ALARM\",\"StateChangeTime\":\"now\"}"}}),
        "`Records[0].Sns.Message.StateChangeTime` is not a timestamp: found the string \"now\"",
    );
    record(
        json!({"Sns": {"Message": json!({
            "detail-type": "CloudWatch Alarm State Change",
            "detail": {"alarmName": "a"}
        })
        .to_string()}}),
        "`Records[0].Sns.Message.detail.state` is missing",
    );
}

#[test]
fn sns_notifications_without_a_trigger_or_a_quoted_value_still_decode() {
    let message = json!({
        "AlarmName": "housing-price-mae-high",
        "NewStateValue": "ALARM",
        "NewStateReason": "Threshold Crossed: no datapoints were received for 1 period and 1 missing datapoint \
                           was treated as [Breaching].",
        "StateChangeTime": "2023-08-04T12:36:15.490+0000",
        "OldStateValue": "",
        "Trigger": {"MetricName": "mae", "Threshold": null, "ComparisonOperator": ""}
    });
    let results = sns::decode(&json!({"Records": [{"Sns": {"Message": message.to_string()}}]})).unwrap();
    assert_eq!(
        results.iter().map(render_result).collect::<Vec<_>>(),
        [
            "sns metric housing-price-mae-high -->ALARM @1691152575490 metric=mae value=- threshold=- cmp=- \
          triggers=[] arn=-"
        ]
    );
}

#[test]
fn schedule_events_decode_from_both_shapes_and_refuse_what_cannot_key_a_tick() {
    let check = |event: Value, expected: &str| {
        let line = schedule_line(event.clone());
        assert!(
            line.starts_with(expected),
            "{event}\n  expected {expected}\n  got      {line}"
        );
    };
    check(
        json!({
            "detail-type": "Scheduled Event",
            "time": "2024-01-01T00:00:00Z",
            "resources": ["arn:aws:events:us-east-1:123456789012:rule/retrain-bus/housing-price-weekly"]
        }),
        "eventbridge schedule housing-price-weekly @1704067200000 \
         arn=arn:aws:events:us-east-1:123456789012:rule/retrain-bus/housing-price-weekly",
    );
    check(
        json!({"schedule": "housing-price-weekly", "scheduled_time": 1_704_067_200_000_i64, "extra": [1, 2]}),
        "scheduler schedule housing-price-weekly @1704067200000 arn=-",
    );
    check(
        json!({"schedule": "<aws.scheduler.schedule-arn>", "scheduled_time": "<aws.scheduler.scheduled-time>"}),
        "error: `schedule` is still the placeholder `<aws.scheduler.schedule-arn>`: the EventBridge Scheduler target \
         Input was not substituted",
    );
    check(
        json!({"schedule": "housing-price-weekly"}),
        "error: `scheduled_time` is missing: a Scheduler input needs the scheduled time",
    );
    check(
        json!({"schedule": "housing-price-weekly", "scheduled_time": "2024-01-01"}),
        "error: `scheduled_time` is not a timestamp: found the string \"2024-01-01\"",
    );
    check(
        json!({"schedule": "arn:aws:scheduler:us-east-1:123456789012:schedule/default/", "scheduled_time": 0}),
        "error: `schedule` should be a name of 1 to 255 characters, found an empty string",
    );
    check(
        json!({"schedule": "s".repeat(256), "scheduled_time": 0}),
        "error: `schedule` should be a name of 1 to 255 characters, found 256 characters",
    );
    check(
        json!({}),
        "error: the event is not a schedule event: found an object with no keys; accepted:",
    );
    check(
        json!(17),
        "error: the event is not a schedule event: found the number 17",
    );
    check(
        json!({"detail-type": "Scheduled Event", "time": "2024-01-01T00:00:00Z", "resources": [42]}),
        "error: `resources[0]` should be the rule ARN as a string, found the number 42",
    );
    check(
        json!({"detail-type": "Scheduled Event", "resources": ["arn:aws:events:us-east-1:1:rule/r"]}),
        "error: `time` is missing: a scheduled event says when it fired in `time`",
    );
    check(
        json!({"detail-type": "CloudWatch Alarm State Change", "detail": {}}),
        "error: the event is not a schedule event: found an EventBridge event with detail-type \
         \"CloudWatch Alarm State Change\"",
    );
}

#[test]
fn events_beyond_the_size_and_record_bounds_are_refused_before_decoding() {
    use crate::{MAX_EVENT_BYTES, MAX_SNS_RECORDS};
    // A valid alarm event padded past 256 KiB in a field the decoder would otherwise ignore.
    let mut padded = parse(fixture!("example-cloudwatch-alarm-metric.json"));
    padded["alarmData"]["state"]["reason"] = json!("x".repeat(MAX_EVENT_BYTES));
    let too_large = EventError::EventTooLarge {
        max_bytes: MAX_EVENT_BYTES,
    };
    for decoder in [Decoder::Alarm, Decoder::Sns, Decoder::Schedule] {
        assert_eq!(run(decoder, &padded).unwrap_err(), too_large, "{decoder:?}");
    }
    // Just under the bound it still decodes: the bound is on size, not on the field.
    let room = MAX_EVENT_BYTES
        - serde_json::to_vec(&parse(fixture!("example-cloudwatch-alarm-metric.json")))
            .unwrap()
            .len();
    let mut fits = parse(fixture!("example-cloudwatch-alarm-metric.json"));
    let original_reason = fits["alarmData"]["state"]["reason"].as_str().unwrap().to_string();
    fits["alarmData"]["state"]["reason"] = json!(format!("{original_reason}{}", "x".repeat(room)));
    assert_eq!(serde_json::to_vec(&fits).unwrap().len(), MAX_EVENT_BYTES);
    assert!(alarm::decode(&fits).is_ok());

    // SNS record count: the bound itself decodes, one more is refused as a whole.
    let record = parse(fixture!("example-sns-cloudwatch-alarm.json"))["Records"][0].clone();
    let records = |count: usize| json!({ "Records": vec![record.clone(); count] });
    let decoded = sns::decode(&records(MAX_SNS_RECORDS)).unwrap();
    assert_eq!(decoded.iter().filter(|result| result.is_ok()).count(), MAX_SNS_RECORDS);
    let error = sns::decode(&records(MAX_SNS_RECORDS + 1)).unwrap_err();
    assert_eq!(
        error,
        EventError::TooManyRecords {
            field: "Records".into(),
            count: MAX_SNS_RECORDS + 1,
            max: MAX_SNS_RECORDS
        }
    );
    assert_eq!(error.field(), Some("Records"));
    // Thousands of records are over both bounds; the size check answers first, without reading them.
    assert_eq!(sns::decode(&records(5000)).unwrap_err(), too_large);
}

/// The event with every string that holds a JSON object (an SNS `Message`,
/// a `reasonData`) replaced by that object, as hand-made events send them.
fn with_inner_json_inlined(value: &Value) -> Value {
    match value {
        Value::String(text) => match serde_json::from_str::<Value>(text) {
            Ok(inner @ Value::Object(_)) => with_inner_json_inlined(&inner),
            _ => value.clone(),
        },
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(key, child)| (key.clone(), with_inner_json_inlined(child)))
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(with_inner_json_inlined).collect()),
        Value::Null | Value::Bool(_) | Value::Number(_) => value.clone(),
    }
}

/// JSON inside a string (an SNS `Message`, an alarm's `reasonData`) and the
/// same JSON as an object, as hand-made events send it, are one document to
/// the decoders: they give the same signal, or the same error, for every event.
#[test]
fn json_inside_strings_decodes_alike_from_its_text_and_as_an_object() {
    let render_all = |results: Result<Vec<Result<Signal, EventError>>, EventError>| match results {
        Ok(results) => results
            .iter()
            .map(|result| match result {
                Ok(signal) => render(signal),
                Err(error) => format!("error: {error}"),
            })
            .collect::<Vec<_>>(),
        Err(error) => vec![format!("error: {error}")],
    };
    let mut compared = 0_usize;
    for (fixture, _) in CASES {
        let Some(decoder @ (Decoder::Alarm | Decoder::Sns)) = decoder_for(fixture.name) else {
            continue;
        };
        for event in mutations(&parse(*fixture)) {
            let inlined = with_inner_json_inlined(&event);
            if inlined == event {
                continue;
            }
            let from_text = render_all(run(decoder, &event));
            let from_object = render_all(run(decoder, &inlined));
            assert_eq!(from_text, from_object, "{}: {event}", fixture.name);
            compared += 1;
        }
    }
    assert!(compared > 500, "only {compared} events hold JSON inside strings");
}

/// A key given twice inside JSON text is read as a `Value` reads it, the last one winning.
#[test]
fn a_key_given_twice_inside_json_text_takes_the_last_value() {
    let message = r#"{"AlarmName": "churn-auc-low", "AlarmName": "housing-price-mae-high", "NewStateValue": "ALARM",
        "StateChangeTime": "2023-08-04T12:36:15.490+0000", "NewStateReason": "[16250.0 (04/08/23 12:31:00)]",
        "Trigger": {"MetricName": "mae", "Threshold": 1, "Threshold": 15000, "ComparisonOperator": "GreaterThanThreshold"}}"#;
    let results = sns::decode(&json!({"Records": [{"Sns": {"Message": message}}]})).unwrap();
    assert_eq!(
        results.iter().map(render_result).collect::<Vec<_>>(),
        [
            "sns metric housing-price-mae-high -->ALARM @1691152575490 metric=mae value=16250 threshold=15000 \
          cmp=GreaterThanThreshold triggers=[] arn=-"
        ]
    );
    let reason_data = r#"{"threshold": 1, "threshold": 15000, "evaluatedDatapoints": [{"value": 16250.0}]}"#;
    let event = action_event(json!({
        "value": "ALARM",
        "timestamp": "2023-08-04T12:36:15.490+0000",
        "reasonData": reason_data
    }));
    assert_eq!(
        alarm_line(event),
        "alarm-action metric housing-price-mae-high -->ALARM @1691152575490 metric=mae value=16250 \
         threshold=15000 cmp=- triggers=[] arn=arn:aws:cloudwatch:us-east-1:123456789012:alarm:housing-price-mae-high"
    );
}

/// Every value the mutation test puts in place of a field.
fn replacements() -> Vec<Value> {
    vec![
        json!(null),
        json!(true),
        json!(""),
        json!(0),
        json!(-1.5e300),
        json!(u64::MAX),
        json!("é".repeat(300)),
        json!("[1 (x)]"),
        json!([]),
        json!([null]),
        json!({}),
    ]
}

/// The event with each field in turn replaced, removed, or (for JSON inside a string) mutated inside.
fn mutations(value: &Value) -> Vec<Value> {
    let mut variants = replacements();
    match value {
        Value::Object(map) => {
            for (key, child) in map {
                let mut without = map.clone();
                without.remove(key);
                variants.push(Value::Object(without));
                for variant in mutations(child) {
                    let mut changed = map.clone();
                    changed.insert(key.clone(), variant);
                    variants.push(Value::Object(changed));
                }
            }
        }
        Value::Array(items) => {
            for (index, child) in items.iter().enumerate() {
                for variant in mutations(child) {
                    let mut changed = items.clone();
                    changed[index] = variant;
                    variants.push(Value::Array(changed));
                }
            }
        }
        Value::String(text) => {
            if let Ok(inner @ Value::Object(_)) = serde_json::from_str::<Value>(text) {
                variants.extend(
                    mutations(&inner)
                        .into_iter()
                        .map(|variant| Value::String(variant.to_string())),
                );
            }
        }
        Value::Null | Value::Bool(_) | Value::Number(_) => {}
    }
    variants
}

#[test]
fn no_decoder_panics_on_any_mutation_of_any_fixture() {
    let mut decoded = 0_usize;
    for fixture in CASES
        .iter()
        .map(|(fixture, _)| *fixture)
        .chain(INVALID.iter().map(|(fixture, ..)| *fixture))
    {
        for event in mutations(&parse(fixture)) {
            // Each decoder sees every shape: a handler can be sent anything.
            for decoder in [Decoder::Alarm, Decoder::Sns, Decoder::Schedule] {
                if let Ok(results) = run(decoder, &event) {
                    decoded += results.iter().filter(|result| result.is_ok()).count();
                }
            }
        }
    }
    assert!(
        decoded > 1000,
        "the mutations should mostly still decode, got {decoded}"
    );
}
