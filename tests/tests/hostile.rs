//! Hostile and malformed input, generated with proptest and sent through the
//! real handlers (`alarm_trigger::handle`, `sns_trigger::handle`,
//! `schedule_trigger::handle`) and the policy parser.
//!
//! Structurally valid events of every supported shape are generated (unicode
//! names, huge optional strings, every timestamp form, times fresh, far past
//! and far future), then mutated: required and optional fields dropped, set
//! to null or to the wrong type, names made too long, timestamps made
//! unreadable or stale, the event blown past the size bound, SNS events given
//! thousands of records. An oracle knows, for each case, whether the input is
//! still valid and what it says; the handler must then answer exactly that
//! decision, or `InvalidEvent` when the input is not valid, and nothing else:
//! no other error, no panic, and no decision for an invalid input.
//!
//! These tests are about the logic, not about AWS, so the store and the
//! ledger are in memory; everything else is the code Lambda runs. Seeds are
//! fixed, so every run tries the same cases.

// Helpers here are test code too: an unexpected result should fail the test loudly.
#![allow(clippy::panic, clippy::unwrap_used, clippy::expect_used)]

use chrono::{DateTime, FixedOffset};
use integration_tests::fixture;
use proptest::prelude::*;
use proptest::test_runner::{RngSeed, TestCaseError, TestRunner};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::Mutex;
use trigger_decision::{
    key, DedupeKey, Execution, ExecutionStatus, Outcome, Policy, Signal, Span, Timestamp, TriggerId,
};
use trigger_engine::memory::{Memory, MemoryLedger, MemoryStore};
use trigger_engine::{Response, Trigger, TriggerError};

const HOUR: i64 = 3_600_000;
/// The default maximum event age.
const MAX_AGE: i64 = 24 * HOUR;
/// Earliest and latest instants every string timestamp form can write with a
/// four-digit year, a day inside the edges so any offset stays inside too.
const EARLIEST_STRING_TIME: i64 = -62_135_596_800_000 + 24 * HOUR;
const LATEST_STRING_TIME: i64 = 253_402_300_799_999 - 24 * HOUR;

/// The proptest configuration: a fixed seed, so every run tries the same cases, and no regression files.
fn config(cases: u32) -> ProptestConfig {
    ProptestConfig {
        cases,
        rng_seed: RngSeed::Fixed(0x7e7_7a11),
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

// ---------------------------------------------------------------------------
// In-memory AWS

/// A trigger working through the engine's in-memory parts, with the parts at hand.
#[derive(Debug)]
struct MemoryTrigger {
    trigger: Trigger,
    store: Arc<MemoryStore>,
    ledger: Arc<MemoryLedger>,
}

const MODEL: &str = "hostile";

/// One model, `hostile`, bound to these alarms and schedules; schedules start whether or not there is evidence.
fn trigger(alarms: &[&str], schedules: &[&str]) -> MemoryTrigger {
    let mut policy =
        Policy::from_toml("[[model]]\nname = \"hostile\"\npipeline = \"hostile-retrain\"\nschedule = \"always\"\n")
            .unwrap();
    policy.models[0].alarms = alarms.iter().map(|name| name.to_string()).collect();
    policy.models[0].schedules = schedules.iter().map(|name| name.to_string()).collect();
    // The clock stands at the wall clock's now, the time the events are generated around.
    let memory = Memory::new(trigger_aws::now());
    MemoryTrigger {
        trigger: memory.trigger(policy),
        store: memory.store,
        ledger: memory.ledger,
    }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

#[derive(Debug, Clone, Copy)]
enum Handler {
    Alarm,
    Sns,
    Schedule,
}

async fn handle(trigger: &MemoryTrigger, handler: Handler, event: &Value) -> Result<Response, TriggerError> {
    let trigger = &trigger.trigger;
    match handler {
        Handler::Alarm => alarm_trigger::handle(trigger, event).await,
        Handler::Sns => sns_trigger::handle(trigger, event).await,
        Handler::Schedule => schedule_trigger::handle(trigger, event).await,
    }
}

// ---------------------------------------------------------------------------
// What an event says, and what it must be answered with

/// The answer the oracle expects.
#[derive(Debug, Clone, PartialEq)]
enum Expected {
    /// One decision for model `hostile` (or none bound), with this outcome, reason and trigger id.
    Decision {
        model: Option<&'static str>,
        outcome: Outcome,
        reason: &'static str,
        trigger_id: TriggerId,
    },
    Invalid,
}

/// Checks a handler's answer against the oracle; any other error, or a decision for an invalid input, fails.
fn check(answer: Result<Response, TriggerError>, expected: &Expected, event: &Value) -> Result<(), TestCaseError> {
    let shown = || {
        let text = event.to_string();
        text.chars().take(600).collect::<String>()
    };
    match (answer, expected) {
        (
            Ok(response),
            Expected::Decision {
                model,
                outcome,
                reason,
                trigger_id,
            },
        ) => {
            prop_assert_eq!(response.decisions.len(), 1, "{:?}\n{}", response, shown());
            let decision = &response.decisions[0];
            prop_assert_eq!(
                (
                    decision.model.as_deref(),
                    decision.outcome,
                    decision.reason.as_str(),
                    &decision.trigger_id
                ),
                (*model, *outcome, *reason, trigger_id),
                "{}\n{}",
                decision.detail,
                shown()
            );
        }
        (Err(error), Expected::Invalid) => {
            prop_assert_eq!(error.error_type(), "InvalidEvent", "{}\n{}", error, shown());
            prop_assert!(!error.to_string().is_empty());
        }
        (Ok(response), Expected::Invalid) => {
            prop_assert!(false, "an invalid event was decided: {:?}\n{}", response, shown());
        }
        (Err(error), Expected::Decision { .. }) => {
            prop_assert!(
                false,
                "a valid event was refused: {}: {}\n{}",
                error.error_type(),
                error,
                shown()
            );
        }
    }
    Ok(())
}

/// How a timestamp is written.
#[derive(Debug, Clone, Copy)]
enum TimeForm {
    /// `2023-08-04T12:36:15.490Z`, as EventBridge and Scheduler write.
    Utc,
    /// `2023-08-04T12:36:15.490+0000`, as CloudWatch writes.
    CloudWatch,
    /// Local time with an offset in minutes, `+0530` style.
    Offset(i32),
    /// Epoch milliseconds as a JSON number.
    EpochMillis,
}

fn render_time(at: i64, form: TimeForm) -> Value {
    let utc = || Timestamp(at).to_string();
    match form {
        TimeForm::Utc => Value::String(utc()),
        TimeForm::CloudWatch => Value::String(utc().replace('Z', "+0000")),
        TimeForm::Offset(minutes) => {
            let offset = FixedOffset::east_opt(minutes * 60).unwrap();
            let local = DateTime::from_timestamp_millis(at).unwrap().with_timezone(&offset);
            Value::String(local.format("%Y-%m-%dT%H:%M:%S%.3f%z").to_string())
        }
        TimeForm::EpochMillis => json!(at),
    }
}

fn time_form() -> impl Strategy<Value = TimeForm> {
    prop_oneof![
        Just(TimeForm::Utc),
        Just(TimeForm::CloudWatch),
        (-12 * 60..=14 * 60).prop_map(TimeForm::Offset),
        Just(TimeForm::EpochMillis),
    ]
}

/// An event time relative to `now`: fresh (inside the 24h maximum age, with an
/// hour of margin either side) or stale (far past, far future, or just outside).
fn event_time(now: i64) -> impl Strategy<Value = i64> {
    prop_oneof![
        4 => now - MAX_AGE + HOUR..now + MAX_AGE - HOUR,
        1 => now - 400 * 24 * HOUR..now - MAX_AGE - HOUR,
        1 => now + MAX_AGE + HOUR..now + 400 * 24 * HOUR,
        1 => EARLIEST_STRING_TIME..LATEST_STRING_TIME,
    ]
}

fn is_fresh(at: i64, now: i64) -> bool {
    (at - now).abs() <= MAX_AGE
}

/// Alarm and schedule names: unicode, short or up to CloudWatch's 255 characters, never blank.
fn name() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => "\\PC{1,40}",
        1 => "[a-z0-9.-]{200,255}",
        1 => "\\PC{250,255}",
    ]
    .prop_filter("a name is not blank", |name| !name.trim().is_empty())
}

/// `state.reason` and its kin: optional text the decision does not depend on, sometimes huge.
fn reason() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => "\\PC{0,80}",
        1 => (1_000usize..120_000).prop_map(|length| "x".repeat(length)),
    ]
}

// ---------------------------------------------------------------------------
// Alarm events in all four envelopes

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum AlarmEnvelope {
    /// The alarm's Lambda action.
    Action,
    /// EventBridge "CloudWatch Alarm State Change".
    EventBridge,
    /// CloudWatch's own SNS notification.
    Sns,
    /// The EventBridge event published to SNS.
    SnsEventBridge,
}

impl AlarmEnvelope {
    fn handler(self) -> Handler {
        match self {
            AlarmEnvelope::Action | AlarmEnvelope::EventBridge => Handler::Alarm,
            AlarmEnvelope::Sns | AlarmEnvelope::SnsEventBridge => Handler::Sns,
        }
    }
}

#[derive(Debug, Clone)]
struct AlarmCase {
    envelope: AlarmEnvelope,
    name: String,
    /// Whether the policy lists the alarm.
    bound: bool,
    state: &'static str,
    at: i64,
    form: TimeForm,
    reason: String,
}

fn alarm_case(now: i64) -> impl Strategy<Value = AlarmCase> {
    (
        prop_oneof![
            Just(AlarmEnvelope::Action),
            Just(AlarmEnvelope::EventBridge),
            Just(AlarmEnvelope::Sns),
            Just(AlarmEnvelope::SnsEventBridge)
        ],
        name(),
        prop::bool::weighted(0.9),
        prop_oneof![4 => Just("ALARM"), 1 => Just("OK"), 1 => Just("INSUFFICIENT_DATA")],
        event_time(now),
        time_form(),
        reason(),
    )
        .prop_map(|(envelope, name, bound, state, at, form, reason)| AlarmCase {
            envelope,
            name,
            bound,
            state,
            at,
            form,
            reason,
        })
}

/// An alarm event as JSON, in two parts: the outer event, and for SNS the
/// document inside `Records[0].Sns.Message`, which is put in by `assemble`.
#[derive(Debug, Clone)]
struct AlarmEvent {
    outer: Value,
    message: Option<Value>,
}

impl AlarmEvent {
    fn assemble(&self) -> Value {
        let mut event = self.outer.clone();
        if let (Some(message), Some(slot)) = (&self.message, event.pointer_mut("/Records/0/Sns/Message")) {
            *slot = Value::String(message.to_string());
        }
        event
    }
}

fn alarm_arn(name: &str) -> String {
    format!("arn:aws:cloudwatch:us-east-1:123456789012:alarm:{name}")
}

/// The EventBridge alarm event for `case`, as delivered directly or inside SNS.
fn eventbridge_alarm(case: &AlarmCase) -> Value {
    let mut event = fixture("example-eventbridge-alarm-state-change.json");
    event["resources"] = json!([alarm_arn(&case.name)]);
    event["detail"]["alarmName"] = json!(case.name);
    event["detail"]["state"]["value"] = json!(case.state);
    event["detail"]["state"]["timestamp"] = render_time(case.at, case.form);
    event["detail"]["state"]["reason"] = json!(case.reason);
    event
}

fn render_alarm(case: &AlarmCase) -> AlarmEvent {
    match case.envelope {
        AlarmEnvelope::Action => {
            let mut event = fixture("example-cloudwatch-alarm-metric.json");
            event["alarmArn"] = json!(alarm_arn(&case.name));
            event["alarmData"]["alarmName"] = json!(case.name);
            event["alarmData"]["state"]["value"] = json!(case.state);
            event["alarmData"]["state"]["timestamp"] = render_time(case.at, case.form);
            event["alarmData"]["state"]["reason"] = json!(case.reason);
            AlarmEvent {
                outer: event,
                message: None,
            }
        }
        AlarmEnvelope::EventBridge => AlarmEvent {
            outer: eventbridge_alarm(case),
            message: None,
        },
        AlarmEnvelope::Sns => {
            let outer = fixture("example-sns-cloudwatch-alarm.json");
            let mut message: Value =
                serde_json::from_str(outer["Records"][0]["Sns"]["Message"].as_str().unwrap()).unwrap();
            message["AlarmName"] = json!(case.name);
            message["AlarmArn"] = json!(alarm_arn(&case.name));
            message["NewStateValue"] = json!(case.state);
            message["StateChangeTime"] = render_time(case.at, case.form);
            message["NewStateReason"] = json!(case.reason);
            AlarmEvent {
                outer,
                message: Some(message),
            }
        }
        AlarmEnvelope::SnsEventBridge => AlarmEvent {
            outer: fixture("example-sns-eventbridge-alarm.json"),
            message: Some(eventbridge_alarm(case)),
        },
    }
}

/// What the handler must answer for an alarm state change of `name` in `state` at `at`.
fn expected_alarm(name: &str, bound: bool, state: &str, at: i64, now: i64) -> Expected {
    let trigger_id = key::trigger_id(&DedupeKey::new(format!("alarm/{name}/{at}")));
    let (model, outcome, reason) = if !bound {
        (None, Outcome::Ignored, "no-matching-model")
    } else if !is_fresh(at, now) {
        (Some(MODEL), Outcome::Ignored, "stale")
    } else if state != "ALARM" {
        (Some(MODEL), Outcome::Ignored, "not-alarm-state")
    } else {
        (Some(MODEL), Outcome::Started, "alarm")
    };
    Expected::Decision {
        model,
        outcome,
        reason,
        trigger_id,
    }
}

fn alarm_trigger_for(case: &AlarmCase) -> MemoryTrigger {
    let bound = [case.name.as_str()];
    trigger(if case.bound { &bound } else { &[] }, &[])
}

/// Where in an alarm event a field lives: the outer event, or the SNS message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Doc {
    Outer,
    Message,
}

/// What a field is to the decoder, which decides what a mutation of it must do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    /// The alarm or schedule name: required, 1 to 255 characters.
    Name,
    /// The new state: required, a non-empty string.
    State,
    /// The time that identifies the event: required, a timestamp.
    Time,
    /// A required object on the way to the fields above, or a required marker such as `detail-type`.
    Structure,
    /// Anything else: the decoder reads it leniently or not at all.
    Optional,
}

/// The fields of each alarm envelope that the mutations touch, with their role.
fn alarm_fields(envelope: AlarmEnvelope) -> Vec<(Doc, &'static str, Role)> {
    use Doc::*;
    use Role::*;
    let eventbridge = |doc: Doc| {
        vec![
            (doc, "/detail-type", Structure),
            (doc, "/detail", Structure),
            (doc, "/detail/alarmName", Name),
            (doc, "/detail/state", Structure),
            (doc, "/detail/state/value", State),
            (doc, "/detail/state/timestamp", Time),
            (doc, "/detail/state/reason", Optional),
            (doc, "/detail/state/reasonData", Optional),
            (doc, "/detail/previousState", Optional),
            (doc, "/detail/configuration", Optional),
            (doc, "/resources", Optional),
            (doc, "/id", Optional),
            (doc, "/time", Optional),
            (doc, "/source", Optional),
            (doc, "/region", Optional),
        ]
    };
    let sns_envelope = vec![
        (Outer, "/Records", Structure),
        (Outer, "/Records/0", Structure),
        (Outer, "/Records/0/Sns", Structure),
        (Outer, "/Records/0/Sns/Message", Structure),
        (Outer, "/Records/0/EventSource", Optional),
        (Outer, "/Records/0/Sns/MessageId", Optional),
        (Outer, "/Records/0/Sns/Subject", Optional),
        (Outer, "/Records/0/Sns/Timestamp", Optional),
    ];
    match envelope {
        AlarmEnvelope::Action => vec![
            (Outer, "/alarmData", Structure),
            (Outer, "/alarmData/alarmName", Name),
            (Outer, "/alarmData/state", Structure),
            (Outer, "/alarmData/state/value", State),
            (Outer, "/alarmData/state/timestamp", Time),
            (Outer, "/alarmData/state/reason", Optional),
            (Outer, "/alarmData/state/reasonData", Optional),
            (Outer, "/alarmData/previousState", Optional),
            (Outer, "/alarmData/configuration", Optional),
            (Outer, "/alarmArn", Optional),
            (Outer, "/source", Optional),
            (Outer, "/time", Optional),
            (Outer, "/region", Optional),
        ],
        AlarmEnvelope::EventBridge => eventbridge(Outer),
        AlarmEnvelope::Sns => {
            let mut fields = sns_envelope;
            fields.extend([
                (Message, "/AlarmName", Name),
                (Message, "/NewStateValue", State),
                (Message, "/StateChangeTime", Time),
                (Message, "/NewStateReason", Optional),
                (Message, "/OldStateValue", Optional),
                (Message, "/AlarmArn", Optional),
                (Message, "/AlarmDescription", Optional),
                (Message, "/Trigger", Optional),
                (Message, "/Region", Optional),
            ]);
            fields
        }
        AlarmEnvelope::SnsEventBridge => {
            let mut fields = sns_envelope;
            fields.extend(eventbridge(Message));
            fields
        }
    }
}

/// One change to one field.
#[derive(Debug, Clone)]
enum Mutation {
    Remove,
    /// Puts this value in place of the field.
    Replace(Value),
    /// A string of this many characters in place of the field.
    Huge(usize),
    /// Adds an unknown field next to the others (only where the field is an object).
    AddUnknown(Value),
}

/// What a mutation does to the answer.
#[derive(Debug, Clone, PartialEq)]
enum Effect {
    /// The input stays valid and says the same.
    Same,
    /// The input stays valid, but its time is now this (epoch ms).
    NewTime(i64),
    /// The input is invalid.
    Invalid,
}

/// Replacement values of the wrong type or an unusable value for each role.
/// None of them is valid for a required field.
fn wrong_values(role: Role) -> Vec<Value> {
    let common = vec![json!(null), json!(true), json!([]), json!([1, "x"]), json!({"x": 1})];
    let more = match role {
        Role::Name | Role::State => vec![json!(42), json!(""), json!("   ")],
        // Numbers are epoch milliseconds, so only unreadable strings and numbers beyond any date are wrong.
        Role::Time => vec![
            json!(""),
            json!("yesterday"),
            json!("2023-08-04T12:36:15.490"),
            json!("2023-13-40T25:61:61Z"),
            json!("<aws.scheduler.scheduled-time>"),
            json!(1e300),
            json!(u64::MAX),
            json!(-9.0e15),
        ],
        Role::Structure => vec![json!(42), json!("x"), json!("")],
        Role::Optional => vec![],
    };
    common.into_iter().chain(more).collect()
}

/// Times that are valid but stale, as (JSON, epoch ms).
fn stale_times() -> Vec<(Value, i64)> {
    vec![
        (json!("1970-01-01T00:00:00Z"), 0),
        (json!(0), 0),
        (json!("9999-12-31T23:59:59.999+0000"), 253_402_300_799_999),
        (json!("2000-02-29T12:00:00+1400"), 951_775_200_000),
        (json!(-8_640_000_000_000_000_i64), -8_640_000_000_000_000),
        (json!(8_640_000_000_000_000_i64), 8_640_000_000_000_000),
    ]
}

/// Every mutation of one field of this role, with its effect on the answer.
fn mutations(role: Role) -> Vec<(Mutation, Effect)> {
    let required = role != Role::Optional;
    let broken = if required { Effect::Invalid } else { Effect::Same };
    let mut mutations = vec![(Mutation::Remove, broken.clone())];
    let any_values = [
        json!(null),
        json!(42),
        json!(true),
        json!(""),
        json!([]),
        json!({}),
        json!("x"),
    ];
    match role {
        Role::Optional => mutations.extend(
            any_values
                .into_iter()
                .map(|value| (Mutation::Replace(value), Effect::Same)),
        ),
        _ => mutations.extend(
            wrong_values(role)
                .into_iter()
                .map(|value| (Mutation::Replace(value), Effect::Invalid)),
        ),
    }
    match role {
        Role::Name => mutations.extend([256, 1_000, 100_000].map(|length| (Mutation::Huge(length), Effect::Invalid))),
        Role::Optional => mutations.extend([(Mutation::Huge(200_000), Effect::Same)]),
        _ => {}
    }
    // Past the 256 KiB bound the event is refused whatever the field.
    mutations.push((Mutation::Huge(300_000), Effect::Invalid));
    if role == Role::Time {
        mutations.extend(
            stale_times()
                .into_iter()
                .map(|(value, at)| (Mutation::Replace(value), Effect::NewTime(at))),
        );
    }
    if role == Role::Structure {
        mutations.push((Mutation::AddUnknown(json!({"nested": [1, null, "é"]})), Effect::Same));
    }
    mutations
}

fn apply(document: &mut Value, pointer: &str, mutation: &Mutation) {
    let (parent, key) = pointer.rsplit_once('/').unwrap();
    let Some(parent) = document.pointer_mut(parent) else {
        return;
    };
    match (parent, mutation) {
        (Value::Object(map), Mutation::Remove) => {
            map.remove(key);
        }
        (Value::Array(items), Mutation::Remove) => {
            let index: usize = key.parse().unwrap();
            if index < items.len() {
                items.remove(index);
            }
        }
        (parent, Mutation::Replace(value)) => {
            if let Some(slot) = parent.pointer_mut(&format!("/{key}")) {
                *slot = value.clone();
            }
        }
        (parent, Mutation::Huge(length)) => {
            if let Some(slot) = parent.pointer_mut(&format!("/{key}")) {
                *slot = Value::String("é".repeat(length / 2) + &"x".repeat(length - length / 2));
            }
        }
        (parent, Mutation::AddUnknown(value)) => {
            if let Some(Value::Object(map)) = parent.pointer_mut(&format!("/{key}")) {
                map.insert("x-unknown-field".to_string(), value.clone());
            }
        }
        _ => {}
    }
}

/// A huge string counts characters, but the size bound counts bytes: `é` is two.
fn huge_effect(mutation: &Mutation, effect: Effect, event: &Value) -> Effect {
    match mutation {
        Mutation::Huge(_) if serde_json::to_vec(event).unwrap().len() > trigger_events::MAX_EVENT_BYTES => {
            Effect::Invalid
        }
        _ => effect,
    }
}

#[test]
fn valid_alarm_events_of_every_envelope_are_decided_as_they_say() {
    let now = trigger_aws::now().millis();
    let runtime = runtime();
    let mut runner = TestRunner::new(config(512));
    runner
        .run(&alarm_case(now), |case| {
            let event = render_alarm(&case).assemble();
            let trigger = alarm_trigger_for(&case);
            let answer = runtime.block_on(handle(&trigger, case.envelope.handler(), &event));
            check(
                answer,
                &expected_alarm(&case.name, case.bound, case.state, case.at, now),
                &event,
            )?;
            let started = usize::from(case.bound && is_fresh(case.at, now) && case.state == "ALARM");
            prop_assert_eq!(trigger.store.starts(), started);
            Ok(())
        })
        .unwrap();
}

#[test]
fn mutated_alarm_events_are_decided_only_while_still_valid() {
    let now = trigger_aws::now().millis();
    let runtime = runtime();
    // How many cases of each effect ran, so the test cannot pass by trying only one kind.
    let tried: Mutex<HashMap<&'static str, usize>> = Mutex::default();
    let mut runner = TestRunner::new(config(1024));
    let strategy = alarm_case(now).prop_flat_map(|case| {
        let fields = alarm_fields(case.envelope);
        (Just(case), (0..fields.len()), any::<prop::sample::Index>())
    });
    runner
        .run(&strategy, |(case, field, pick)| {
            let (doc, pointer, role) = alarm_fields(case.envelope)[field];
            let choices = mutations(role);
            let (mutation, effect) = choices[pick.index(choices.len())].clone();
            // A field of the SNS message changes before the message is put in its
            // string; a field of the outer event (the string itself included) after.
            let mut event = render_alarm(&case);
            if doc == Doc::Message {
                apply(event.message.as_mut().unwrap(), pointer, &mutation);
            }
            let mut assembled = event.assemble();
            if doc == Doc::Outer {
                apply(&mut assembled, pointer, &mutation);
            }
            let effect = huge_effect(&mutation, effect, &assembled);
            let expected = match effect {
                Effect::Same => expected_alarm(&case.name, case.bound, case.state, case.at, now),
                Effect::NewTime(at) => expected_alarm(&case.name, case.bound, case.state, at, now),
                Effect::Invalid => Expected::Invalid,
            };
            let kind = match (&effect, &mutation) {
                (Effect::Invalid, Mutation::Huge(length)) if *length >= 300_000 => "over the size bound",
                (Effect::Invalid, _) => "invalid",
                (Effect::NewTime(_), _) => "stale time",
                (Effect::Same, _) if role == Role::Optional => "optional field changed",
                (Effect::Same, _) => "unknown field added",
            };
            *tried.lock().unwrap().entry(kind).or_default() += 1;
            let trigger = alarm_trigger_for(&case);
            let answer = runtime.block_on(handle(&trigger, case.envelope.handler(), &assembled));
            check(answer, &expected, &assembled)?;
            if expected == Expected::Invalid {
                prop_assert_eq!(trigger.store.starts(), 0, "an invalid event started nothing");
            }
            Ok(())
        })
        .unwrap();
    let tried = tried.into_inner().unwrap();
    for kind in [
        "invalid",
        "over the size bound",
        "stale time",
        "optional field changed",
        "unknown field added",
    ] {
        assert!(
            tried.get(kind).copied().unwrap_or(0) >= 10,
            "too few cases of {kind}: {tried:?}"
        );
    }
}

// ---------------------------------------------------------------------------
// Schedule events in both shapes

#[derive(Debug, Clone)]
struct ScheduleCase {
    /// `true`: an EventBridge scheduled rule; `false`: an EventBridge Scheduler input.
    rule: bool,
    /// For Scheduler input: the schedule ARN rather than its plain name.
    by_arn: bool,
    name: String,
    bound: bool,
    at: i64,
    form: TimeForm,
}

fn schedule_name() -> impl Strategy<Value = String> {
    name().prop_filter("a schedule name as the decoder reads it back", |name| {
        name.trim() == name && !name.contains('/') && !name.starts_with("arn:") && !name.starts_with("<aws.scheduler.")
    })
}

fn schedule_case(now: i64) -> impl Strategy<Value = ScheduleCase> {
    (
        any::<bool>(),
        any::<bool>(),
        schedule_name(),
        prop::bool::weighted(0.9),
        event_time(now),
        time_form(),
    )
        .prop_map(|(rule, by_arn, name, bound, at, form)| ScheduleCase {
            rule,
            by_arn,
            name,
            bound,
            at,
            form,
        })
}

fn render_schedule(case: &ScheduleCase) -> Value {
    if case.rule {
        let mut event = fixture("example-eventbridge-scheduled-event.json");
        event["resources"] = json!([format!("arn:aws:events:us-east-1:123456789012:rule/{}", case.name)]);
        event["time"] = render_time(case.at, case.form);
        event
    } else {
        let schedule = match case.by_arn {
            true => format!(
                "arn:aws:scheduler:us-east-1:123456789012:schedule/default/{}",
                case.name
            ),
            false => case.name.clone(),
        };
        json!({"schedule": schedule, "scheduled_time": render_time(case.at, case.form), "execution_id": "e-1"})
    }
}

fn expected_schedule(case: &ScheduleCase, at: i64, now: i64) -> Expected {
    let trigger_id = key::trigger_id(&DedupeKey::new(format!("schedule/{}/{at}", case.name)));
    let (model, outcome, reason) = if !case.bound {
        (None, Outcome::Ignored, "no-matching-model")
    } else if !is_fresh(at, now) {
        (Some(MODEL), Outcome::Ignored, "stale")
    } else {
        (Some(MODEL), Outcome::Started, "scheduled")
    };
    Expected::Decision {
        model,
        outcome,
        reason,
        trigger_id,
    }
}

fn schedule_fields(rule: bool) -> Vec<(&'static str, Role)> {
    if rule {
        vec![
            ("/detail-type", Role::Structure),
            ("/resources", Role::Structure),
            ("/resources/0", Role::Name),
            ("/time", Role::Time),
            ("/detail", Role::Optional),
            ("/id", Role::Optional),
            ("/source", Role::Optional),
            ("/account", Role::Optional),
            ("/region", Role::Optional),
        ]
    } else {
        vec![
            ("/schedule", Role::Name),
            ("/scheduled_time", Role::Time),
            ("/execution_id", Role::Optional),
        ]
    }
}

#[test]
fn schedule_events_valid_or_mutated_are_decided_only_while_valid() {
    let now = trigger_aws::now().millis();
    let runtime = runtime();
    let mut runner = TestRunner::new(config(1024));
    let strategy = schedule_case(now).prop_flat_map(|case| {
        let fields = schedule_fields(case.rule).len();
        // One case in four is sent as generated, the rest with one field mutated.
        (
            Just(case),
            prop::option::weighted(0.75, (0..fields, any::<prop::sample::Index>())),
        )
    });
    runner
        .run(&strategy, |(case, mutation)| {
            let mut event = render_schedule(&case);
            let mut effect = Effect::Same;
            if let Some((field, pick)) = mutation {
                let (pointer, role) = schedule_fields(case.rule)[field];
                let choices = mutations(role);
                let (mutation, chosen) = choices[pick.index(choices.len())].clone();
                apply(&mut event, pointer, &mutation);
                effect = huge_effect(&mutation, chosen, &event);
                // Removing the schedule leaves only `scheduled_time`, still the Scheduler shape: invalid all the same.
            }
            let expected = match effect {
                Effect::Same => expected_schedule(&case, case.at, now),
                Effect::NewTime(at) => expected_schedule(&case, at, now),
                Effect::Invalid => Expected::Invalid,
            };
            let bound = [case.name.as_str()];
            let trigger = trigger(&[], if case.bound { &bound } else { &[] });
            let answer = runtime.block_on(handle(&trigger, Handler::Schedule, &event));
            check(answer, &expected, &event)
        })
        .unwrap();
}

// ---------------------------------------------------------------------------
// SNS events with many records

/// One record of a generated SNS event, from the fixture's `template` record: a
/// state change of the bound alarm, or a record that is not one.
fn sns_record(template: &Value, name: &str, at: i64, good: bool) -> Value {
    let mut record = template.clone();
    let message = if good {
        json!({"AlarmName": name, "NewStateValue": "ALARM", "StateChangeTime": render_time(at, TimeForm::CloudWatch)})
            .to_string()
    } else {
        "{\"Type\": \"a test message someone published to the topic\"}".to_string()
    };
    record["Sns"]["Message"] = Value::String(message);
    record
}

#[test]
fn sns_events_with_up_to_thousands_of_records_are_bounded_and_keep_every_good_record() {
    let now = trigger_aws::now().millis();
    let runtime = runtime();
    let mut runner = TestRunner::new(config(96));
    let template = fixture("example-sns-cloudwatch-alarm.json")["Records"][0].clone();
    let strategy = (
        prop_oneof![6 => 1usize..=130, 1 => 1_000usize..=5_000],
        prop::collection::vec(prop::bool::weighted(0.8), 130),
        name(),
    );
    runner
        .run(&strategy, |(count, goodness, name)| {
            // Distinct state changes of one alarm, seconds apart; some records are not alarms at all.
            let good = |index: usize| goodness[index % goodness.len()];
            let records: Vec<Value> = (0..count)
                .map(|index| sns_record(&template, &name, now - 60_000 - index as i64 * 1000, good(index)))
                .collect();
            let event = json!({ "Records": records });
            let trigger = trigger(&[name.as_str()], &[]);
            let answer = runtime.block_on(handle(&trigger, Handler::Sns, &event));
            let good_count = (0..count).filter(|index| good(*index)).count();
            let too_large = serde_json::to_vec(&event).unwrap().len() > trigger_events::MAX_EVENT_BYTES;
            if count > trigger_events::MAX_SNS_RECORDS || too_large {
                let error = answer.expect_err("over the bounds");
                prop_assert_eq!(error.error_type(), "InvalidEvent");
                prop_assert!(
                    error.to_string().contains("256 KiB") || error.to_string().contains("more than the 100"),
                    "{}",
                    error
                );
                prop_assert_eq!(trigger.store.starts(), 0);
                return Ok(());
            }
            match answer {
                Ok(response) => {
                    prop_assert_eq!(good_count, count);
                    prop_assert_eq!(response.decisions.len(), count);
                }
                Err(error) => {
                    prop_assert_eq!(error.error_type(), "InvalidEvent", "{}", error);
                    let summary = format!("{} of {count} SNS records are invalid", count - good_count);
                    prop_assert!(error.to_string().contains(&summary), "{}", error);
                }
            }
            // The good records were decided before the bad ones were reported: one start, the rest kept as evidence.
            prop_assert_eq!(trigger.store.starts(), usize::from(good_count > 0));
            prop_assert_eq!(trigger.ledger.evidence(MODEL), good_count.saturating_sub(1));
            Ok(())
        })
        .unwrap();
}

// ---------------------------------------------------------------------------
// Anything at all

fn any_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<f64>()
            .prop_filter("JSON has no NaN or infinity", |x| x.is_finite())
            .prop_map(Value::from),
        "\\PC{0,30}".prop_map(Value::from),
        prop_oneof![
            Just("ALARM"),
            Just("CloudWatch Alarm State Change"),
            Just("Scheduled Event"),
            Just("2023-08-04T12:36:15.490+0000")
        ]
        .prop_map(Value::from),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        let key = prop_oneof![
            Just("alarmData".to_string()),
            Just("detail".to_string()),
            Just("detail-type".to_string()),
            Just("state".to_string()),
            Just("Records".to_string()),
            Just("Sns".to_string()),
            Just("Message".to_string()),
            Just("schedule".to_string()),
            Just("scheduled_time".to_string()),
            "\\PC{0,8}",
        ];
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::from),
            prop::collection::btree_map(key, inner, 0..6).prop_map(|map| Value::Object(map.into_iter().collect())),
        ]
    })
}

#[test]
fn any_json_whatever_gets_a_decision_or_invalid_event_from_every_handler() {
    let runtime = runtime();
    let mut runner = TestRunner::new(config(1024));
    runner
        .run(&any_json(), |event| {
            for handler in [Handler::Alarm, Handler::Sns, Handler::Schedule] {
                let trigger = trigger(&["ALARM"], &["ALARM"]);
                match runtime.block_on(handle(&trigger, handler, &event)) {
                    Ok(response) => prop_assert!(!response.decisions.is_empty()),
                    Err(error) => prop_assert_eq!(error.error_type(), "InvalidEvent", "{}", error),
                }
            }
            Ok(())
        })
        .unwrap();
}

// ---------------------------------------------------------------------------
// The pure core with extreme times

#[test]
fn decide_never_panics_and_is_stale_exactly_outside_the_maximum_age() {
    let runner_config = config(2048);
    let mut runner = TestRunner::new(runner_config);
    let instant = prop_oneof![any::<i64>(), (-8_640_000_000_000_000i64..8_640_000_000_000_000)];
    let strategy = (
        instant.clone(),
        instant.clone(),
        prop::collection::vec((instant.clone(), 0usize..5), 0..4),
        prop::collection::vec(instant, 0..4),
        1i64..=400 * 24 * 3600,
        any::<bool>(),
    );
    let policy = Policy::from_toml("[[model]]\nname = \"m\"\npipeline = \"p\"\nalarms = [\"a\"]\n").unwrap();
    runner
        .run(&strategy, |(at, now, executions, evidence, max_age_secs, alarm)| {
            let mut model = policy.models[0].clone();
            model.max_event_age = Span::from_secs(max_age_secs);
            let signal = match alarm {
                true => {
                    let event = render_alarm(&AlarmCase {
                        envelope: AlarmEnvelope::Action,
                        name: "a".into(),
                        bound: true,
                        state: "ALARM",
                        at: 0,
                        form: TimeForm::EpochMillis,
                        reason: String::new(),
                    })
                    .assemble();
                    let Signal::Alarm(mut change) = trigger_events::alarm::decode(&event).unwrap() else {
                        unreachable!()
                    };
                    change.state_changed_at = Timestamp(at);
                    Signal::Alarm(change)
                }
                false => {
                    let Signal::Schedule(mut tick) =
                        trigger_events::schedule::decode(&json!({"schedule": "s", "scheduled_time": 0})).unwrap()
                    else {
                        unreachable!()
                    };
                    tick.scheduled_time = Timestamp(at);
                    Signal::Schedule(tick)
                }
            };
            let statuses = ["Executing", "Stopping", "Succeeded", "Failed", "Stopped"];
            let executions: Vec<Execution> = executions
                .into_iter()
                .map(|(started, status)| Execution {
                    arn: format!("arn:{started}"),
                    status: ExecutionStatus::parse(statuses[status]),
                    started_at: Timestamp(started),
                    display_name: None,
                })
                .collect();
            let evidence: Vec<trigger_decision::Evidence> = evidence
                .into_iter()
                .map(|at| trigger_decision::Evidence {
                    trigger_id: key::trigger_id(&DedupeKey::new(format!("e{at}"))),
                    summary: "kept".into(),
                    at: Timestamp(at),
                })
                .collect();
            let history = trigger_decision::History {
                executions: &executions,
                evidence: &evidence,
                recorded_execution: None,
            };
            let decision = trigger_decision::decide(&signal, &model, history, Timestamp(now));
            let distance = (i128::from(at) - i128::from(now)).abs();
            let stale = distance > i128::from(model.max_event_age.millis());
            prop_assert_eq!(decision.reason.as_str() == "stale", stale, "{}", decision.detail);
            prop_assert!(!decision.detail.is_empty());
            Ok(())
        })
        .unwrap();
}

// ---------------------------------------------------------------------------
// Policies

/// A part of a generated policy: its TOML text, and the field named in the error when it is wrong.
#[derive(Debug, Clone)]
struct Part {
    toml: String,
    invalid_field: Option<&'static str>,
}

fn part(field: &'static str, valid: &[&str], invalid: &[&str], quote: bool) -> impl Strategy<Value = Part> {
    let render = move |value: &str| {
        if quote {
            format!("{field} = {}", toml_string(value))
        } else {
            format!("{field} = {value}")
        }
    };
    let valid: Vec<Part> = valid
        .iter()
        .map(|value| Part {
            toml: render(value),
            invalid_field: None,
        })
        .collect();
    let invalid: Vec<Part> = invalid
        .iter()
        .map(|value| Part {
            toml: render(value),
            invalid_field: Some(field),
        })
        .collect();
    prop_oneof![
        4 => prop::sample::select(valid),
        1 => prop::sample::select(invalid),
        2 => Just(Part { toml: String::new(), invalid_field: None }),
    ]
}

/// A TOML basic string. JSON's escapes are TOML's, for the characters a `\PC` name can hold.
fn toml_string(text: &str) -> String {
    serde_json::to_string(text).unwrap()
}

fn settings() -> impl Strategy<Value = Vec<Part>> {
    (
        part(
            "cooldown",
            &["90s", "15m", "6h", "7d", "0s"],
            &["6x", "", "-1h", "1.5h", "h", "99999999999999999999d"],
            true,
        ),
        part(
            "max_event_age",
            &["24h", "1s", "30d", "90m"],
            &["0s", "0h", "1 day", "x"],
            true,
        ),
        part("schedule", &["always", "if-evidence"], &["weekly", "ALWAYS"], true),
        part("approval", &["manual", "auto"], &["yes", ""], true),
    )
        .prop_map(|(cooldown, age, schedule, approval)| vec![cooldown, age, schedule, approval])
}

#[derive(Debug, Clone)]
struct GeneratedModel {
    name: String,
    parts: Vec<Part>,
}

fn generated_model() -> impl Strategy<Value = GeneratedModel> {
    let model_name = prop_oneof![
        6 => "[A-Za-z0-9_-][A-Za-z0-9._-]{0,30}".prop_map(|name| (name, None)),
        1 => prop::sample::select(vec!["", ".hidden", "has space", "modèle", "a/b"])
            .prop_map(|name| (name.to_string(), Some("name"))),
        1 => "[a-z]{129,140}".prop_map(|name| (name, Some("name"))),
    ];
    let pipeline = prop_oneof![
        6 => "[a-zA-Z0-9]([a-zA-Z0-9-]{0,20}[a-zA-Z0-9])?".prop_map(|name| Part { toml: format!("pipeline = \"{name}\""), invalid_field: None }),
        1 => prop::sample::select(vec!["bad_pipeline", "-x", "x-", "", "ünïcode"]).prop_map(|name| Part {
            toml: format!("pipeline = {}", toml_string(name)),
            invalid_field: Some("pipeline"),
        }),
    ];
    let alarms = prop_oneof![
        6 => prop::collection::vec(name(), 0..3).prop_map(|names| Part {
            toml: format!("alarms = [{}]", names.iter().map(|n| toml_string(n)).collect::<Vec<_>>().join(", ")),
            invalid_field: None,
        }),
        1 => prop::sample::select(vec!["\"\"", "\"   \"", "\"ok\", \"\""]).prop_map(|list| Part {
            toml: format!("alarms = [{list}]"),
            invalid_field: Some("alarms"),
        }),
    ];
    let parameters = prop_oneof![
        4 => Just(Part { toml: String::new(), invalid_field: None }),
        2 => ("[A-Za-z0-9_-]{1,20}", "\\PC{0,40}").prop_filter("not a reserved name", |(name, _)| {
            !trigger_decision::policy::TRIGGER_PARAMETERS.contains(&name.as_str())
        }).prop_map(|(name, value)| Part {
            toml: format!("[model.parameters]\n{name} = {}", toml_string(&value)),
            invalid_field: None,
        }),
        1 => Just(Part { toml: format!("[model.parameters]\nLong = \"{}\"", "v".repeat(1025)), invalid_field: Some("parameters.Long") }),
        1 => Just(Part { toml: "[model.parameters]\nTriggerType = \"x\"".to_string(), invalid_field: Some("parameters.TriggerType") }),
        1 => Just(Part { toml: "[model.parameters]\n\"bad name\" = \"x\"".to_string(), invalid_field: Some("parameters.bad name") }),
    ];
    (model_name, pipeline, alarms, settings(), parameters).prop_map(
        |((name, name_problem), pipeline, alarms, settings, parameters)| {
            let mut parts = vec![
                Part {
                    toml: format!("name = {}", toml_string(&name)),
                    invalid_field: name_problem,
                },
                pipeline,
                alarms,
            ];
            parts.extend(settings);
            // Tables come last in TOML: after them, keys belong to the table.
            parts.push(parameters);
            GeneratedModel { name, parts }
        },
    )
}

#[test]
fn generated_policies_parse_exactly_when_every_part_is_valid_and_errors_name_the_field() {
    let mut runner = TestRunner::new(config(1024));
    let strategy = (settings(), prop::collection::vec(generated_model(), 0..4));
    runner
        .run(&strategy, |(defaults, models)| {
            let mut toml = String::from("[defaults]\n");
            for part in &defaults {
                toml.push_str(&part.toml);
                toml.push('\n');
            }
            for model in &models {
                toml.push_str("\n[[model]]\n");
                for part in &model.parts {
                    toml.push_str(&part.toml);
                    toml.push('\n');
                }
            }
            let mut problems: Vec<&str> = defaults.iter().filter_map(|part| part.invalid_field).collect();
            problems.extend(
                models
                    .iter()
                    .flat_map(|model| model.parts.iter().filter_map(|part| part.invalid_field)),
            );
            let names: Vec<&str> = models.iter().map(|model| model.name.as_str()).collect();
            let duplicate = (1..names.len()).any(|index| names[..index].contains(&names[index]));
            match Policy::from_toml(&toml) {
                Ok(policy) => {
                    prop_assert!(
                        problems.is_empty() && !models.is_empty() && !duplicate,
                        "accepted:\n{}",
                        toml
                    );
                    let parsed: Vec<&str> = policy.models.iter().map(|model| model.name.as_str()).collect();
                    prop_assert_eq!(parsed, names);
                    for model in &policy.models {
                        prop_assert!(model.max_event_age > Span::ZERO);
                    }
                }
                Err(error) => {
                    let message = error.to_string();
                    let explained = problems.iter().any(|field| message.contains(&format!("`{field}`")))
                        || (models.is_empty() && message.contains("no [[model]]"))
                        || (duplicate && message.contains("unique"));
                    prop_assert!(explained, "{} does not name any of {:?}:\n{}", message, problems, toml);
                }
            }
            Ok(())
        })
        .unwrap();
}

#[test]
fn any_text_as_a_policy_is_parsed_or_refused_never_a_panic() {
    let valid = "[defaults]\ncooldown = \"6h\"\nmax_event_age = \"24h\"\n[[model]]\nname = \"m\"\npipeline = \"p\"\nalarms = [\"a\"]\n[model.parameters]\nX = \"1\"\n";
    let mut runner = TestRunner::new(config(1024));
    let strategy = prop_oneof![
        "\\PC{0,200}",
        any::<String>(),
        // Cut the valid policy short anywhere, or splice text into it.
        (0..valid.len(), "\\PC{0,20}").prop_map(move |(cut, splice)| format!("{}{splice}", &valid[..cut])),
    ];
    runner
        .run(&strategy, |text| {
            match Policy::from_toml(&text) {
                Ok(policy) => prop_assert!(!policy.models.is_empty()),
                Err(error) => prop_assert!(!error.to_string().is_empty()),
            }
            Ok(())
        })
        .unwrap();
}

// ---------------------------------------------------------------------------
// The StaleEvent metric

#[test]
fn a_stale_event_is_ignored_and_counted_by_the_stale_event_metric() {
    let runtime = runtime();
    let event = render_alarm(&AlarmCase {
        envelope: AlarmEnvelope::Action,
        name: "late-alarm".into(),
        bound: true,
        state: "ALARM",
        at: trigger_aws::now().millis() - 3 * MAX_AGE,
        form: TimeForm::CloudWatch,
        reason: String::new(),
    })
    .assemble();
    let trigger = trigger(&["late-alarm"], &[]);
    let response = runtime.block_on(handle(&trigger, Handler::Alarm, &event)).unwrap();
    let record = &response.decisions[0];
    assert_eq!((record.outcome, record.reason.as_str()), (Outcome::Ignored, "stale"));
    assert!(
        record.detail.contains("maximum event age before now") && record.detail.contains("max_event_age"),
        "{}",
        record.detail
    );
    assert_eq!(trigger.store.starts(), 0);
    assert!(trigger.ledger.models().is_empty(), "a stale event touches no ledger");

    let signal = trigger_events::alarm::decode(&event).unwrap();
    let line: Value = serde_json::from_str(&trigger_engine::log_line::decision_log_line(
        record,
        &signal,
        Timestamp(0),
    ))
    .unwrap();
    assert_eq!(line["StaleEvent"], json!(1));
    assert_eq!(line["Model"], json!(MODEL));
    let directives = line["_aws"]["CloudWatchMetrics"].as_array().unwrap();
    assert!(
        directives.contains(&json!({
            "Namespace": "RetrainTriggers",
            "Dimensions": [["Model"]],
            "Metrics": [{"Name": "StaleEvent", "Unit": "Count"}],
        })),
        "{line}"
    );
    // Other decisions carry no StaleEvent.
    let fresh = response.decisions[0].clone();
    let fresh = trigger_engine::DecisionRecord {
        reason: trigger_decision::Reason::Alarm,
        outcome: Outcome::Started,
        ..fresh
    };
    let line: Value = serde_json::from_str(&trigger_engine::log_line::decision_log_line(
        &fresh,
        &signal,
        Timestamp(0),
    ))
    .unwrap();
    assert_eq!(line.get("StaleEvent"), None);
    assert_eq!(line["_aws"]["CloudWatchMetrics"].as_array().unwrap().len(), 1);
}
