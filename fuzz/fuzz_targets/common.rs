//! What every decoder target checks once a decoder accepted an input: the
//! signal keeps the decoders' promises, and the pure core decides it
//! without panicking, whatever its name or time.

use trigger_decision::{decide, History, Policy, Signal, Timestamp};

/// "Now" for every decision: 2026-01-01T00:00:00Z. Fixed, so a crash reproduces.
const NOW: Timestamp = Timestamp(1_767_225_600_000);

/// Checks a decoded signal and decides it for a model bound to it.
pub fn check_signal(signal: &Signal) {
    let (name, prefix) = match signal {
        Signal::Alarm(change) => (change.alarm_name.as_str(), "alarm/"),
        Signal::Schedule(tick) => (tick.schedule_name.as_str(), "schedule/"),
        _ => return,
    };
    let length = name.chars().count();
    assert!(
        (1..=trigger_events::MAX_NAME_CHARS).contains(&length) && !name.trim().is_empty(),
        "a decoder accepted the name {name:?}"
    );
    assert!(signal.dedupe_key().as_str().starts_with(prefix));
    let mut policy = Policy::from_toml("[[model]]\nname = \"m\"\npipeline = \"p\"\nschedule = \"always\"\n")
        .expect("the fuzz policy parses");
    policy.models[0].alarms = vec![name.to_string()];
    policy.models[0].schedules = vec![name.to_string()];
    for now in [NOW, signal.occurred_at()] {
        let decision = decide(signal, &policy.models[0], History::default(), now);
        assert!(!decision.detail.is_empty());
    }
}
