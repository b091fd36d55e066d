//! What the engine's tests share: the housing-price policy every test
//! decides under, in-memory parts around a trigger, and the alarm state
//! changes they deliver.

#![allow(dead_code, clippy::panic)]

use trigger_decision::{AlarmChange, AlarmKind, AlarmState, Measurement, Path, Policy, Signal, Timestamp};
use trigger_engine::memory::Memory;
use trigger_engine::{DecisionRecord, Trigger, TriggerError};

/// The policy file the tests, the integration tests and the benchmarks share.
pub const POLICY: &str = include_str!("../../../../tests/fixtures/policies/housing-price.toml");
pub const MODEL: &str = "housing-price";
pub const PIPELINE: &str = "housing-price-retrain";
pub const ALARM: &str = "housing-price-mae-high";

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

/// The housing-price alarm moving into ALARM `minutes_ago` before `NOW`,
/// delivered by its Lambda action.
pub fn alarm(minutes_ago: i64) -> Signal {
    Signal::Alarm(AlarmChange {
        alarm_name: ALARM.into(),
        alarm_arn: None,
        kind: AlarmKind::Metric,
        state: AlarmState::Alarm,
        previous_state: Some(AlarmState::Ok),
        state_reason: "Threshold Crossed".into(),
        state_changed_at: Timestamp(NOW.millis() - minutes_ago * 60_000),
        measurement: Measurement {
            metric: Some("mae".into()),
            value: Some(16250.0),
            threshold: Some(15000.0),
            comparison: Some("GreaterThanThreshold".into()),
        },
        triggering_alarms: vec![],
        path: Path::AlarmAction,
    })
}

/// The one decision of a delivery bound to one model.
pub fn single(result: Result<Vec<DecisionRecord>, TriggerError>) -> DecisionRecord {
    let mut decisions =
        result.unwrap_or_else(|error| panic!("expected a decision, got {}: {error}", error.error_type()));
    assert_eq!(decisions.len(), 1, "{decisions:?}");
    decisions.remove(0)
}
