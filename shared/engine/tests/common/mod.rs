//! What the engine's tests share: the housing-price policy every test
//! decides under, in-memory parts around a trigger, and the alarm state
//! changes they deliver.

#![allow(dead_code, clippy::panic)]

use serde_json::Value;
use trigger_decision::{Policy, Signal, Timestamp};
use trigger_engine::memory::Memory;
use trigger_engine::{DecisionRecord, Trigger, TriggerError};

/// The policy file the tests, the integration tests and the benchmarks share.
pub const POLICY: &str = include_str!("../../../../tests/fixtures/policies/housing-price.toml");
pub const MODEL: &str = "housing-price";
pub const PIPELINE: &str = "housing-price-retrain";

/// "Now" when each test begins: 2023-08-04T12:40:00Z.
pub const NOW: Timestamp = Timestamp(1_691_152_800_000);

/// In-memory parts, the clock at `NOW`, and a trigger deciding under `policy`.
pub fn setup_with(policy: &str) -> (Memory, Trigger) {
    let memory = Memory::new(NOW);
    let policy = Policy::from_toml(policy).unwrap_or_else(|error| panic!("the test policy: {error}"));
    let trigger = memory.trigger(policy);
    (memory, trigger)
}

/// `setup_with` the shared housing-price policy.
pub fn setup() -> (Memory, Trigger) {
    setup_with(POLICY)
}

/// The housing-price alarm moving into ALARM `minutes_ago` before `NOW`, as
/// its Lambda action delivers it: the fixture, its state time moved.
pub fn alarm(minutes_ago: i64) -> Signal {
    let mut event: Value = serde_json::from_str(include_str!(
        "../../../../tests/fixtures/events/example-cloudwatch-alarm-metric.json"
    ))
    .unwrap_or_else(|error| panic!("the alarm fixture: {error}"));
    let at = Timestamp(NOW.millis() - minutes_ago * 60_000);
    event["alarmData"]["state"]["timestamp"] = Value::String(at.to_string());
    trigger_events::alarm::decode(&event).unwrap_or_else(|error| panic!("the alarm fixture: {error}"))
}

/// The one decision of a delivery bound to one model.
pub fn single(result: Result<Vec<DecisionRecord>, TriggerError>) -> DecisionRecord {
    let mut decisions =
        result.unwrap_or_else(|error| panic!("expected a decision, got {}: {error}", error.error_type()));
    assert_eq!(decisions.len(), 1, "{decisions:?}");
    decisions.remove(0)
}
