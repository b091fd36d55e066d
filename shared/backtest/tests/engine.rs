//! The replay's engine adapter: `trigger_engine::Trigger` over the in-memory
//! parts, under the virtual clock. These tests check what the adapter adds
//! (executions that run for the run duration, seeded history, evidence and
//! runs read back from the engine), never the rules, which are the engine's.

#![allow(clippy::panic, clippy::unwrap_used, clippy::expect_used)]

mod support;

use support::at;
use trigger_backtest::{block_on, replay, Decided, ReplayEngine, SeededExecution, Timeline};
use trigger_decision::{
    AlarmChange, AlarmKind, AlarmState, ExecutionStatus, Measurement, Outcome, Path, Policy, ScheduleTick, Span,
};

const POLICY: &str = r#"
[[model]]
name = "m"
pipeline = "m-retrain"
alarms = ["m-high"]
schedules = ["m-weekly"]
cooldown = "0s"
schedule = "always"
"#;

fn tick(time: &str) -> ScheduleTick {
    ScheduleTick {
        schedule_name: "m-weekly".into(),
        schedule_arn: None,
        scheduled_time: at(time),
        path: Path::Scheduler,
    }
}

fn alarm(time: &str) -> AlarmChange {
    AlarmChange {
        alarm_name: "m-high".into(),
        alarm_arn: None,
        kind: AlarmKind::Metric,
        state: AlarmState::Alarm,
        previous_state: Some(AlarmState::Ok),
        state_reason: "mae above the threshold".into(),
        state_changed_at: at(time),
        measurement: Measurement::default(),
        triggering_alarms: Vec::new(),
        path: Path::AlarmAction,
    }
}

/// Replays `alarms` and `ticks` from midnight to 23:00 of 2024-01-01 under `policy`.
fn replay_day(
    policy: &str,
    seeded: &[SeededExecution],
    alarms: Vec<AlarmChange>,
    ticks: Vec<ScheduleTick>,
) -> (Vec<Decided>, ReplayEngine) {
    let policy = Policy::from_toml(policy).unwrap();
    let start = at("2024-01-01T00:00:00Z");
    let timeline = Timeline::merge(start, at("2024-01-01T23:00:00Z"), alarms, ticks, Vec::new()).unwrap();
    let mut engine = ReplayEngine::new(&policy, start, Span::from_secs(2 * 3600), seeded);
    let decided = block_on(replay(&mut engine, &timeline)).unwrap().unwrap();
    (decided, engine)
}

fn outcomes(decided: &[Decided]) -> Vec<(Outcome, &str)> {
    decided
        .iter()
        .map(|decided| (decided.outcome(), decided.decision.reason.as_str()))
        .collect()
}

#[test]
fn a_start_stays_in_flight_for_the_run_duration_then_succeeds() {
    let (decided, engine) = replay_day(
        POLICY,
        &[],
        Vec::new(),
        vec![
            tick("2024-01-01T01:00:00Z"),
            tick("2024-01-01T02:59:00Z"),
            tick("2024-01-01T03:00:00Z"),
        ],
    );
    assert_eq!(
        outcomes(&decided),
        [
            (Outcome::Started, "scheduled"),
            (Outcome::Deferred, "in-flight"),
            (Outcome::Started, "scheduled")
        ]
    );
    let run = decided[0].decision.run.as_ref().unwrap();
    assert_eq!(
        (run.started_at, run.ends_at),
        (at("2024-01-01T01:00:00Z"), at("2024-01-01T03:00:00Z"))
    );
    // The runs are the engine's executions, and both have finished by the replay's end.
    let executions = engine.memory().store.executions("m-retrain");
    assert_eq!(executions.len(), 2);
    assert_eq!(executions[0].arn, run.execution_arn);
    assert!(executions
        .iter()
        .all(|execution| execution.status == ExecutionStatus::Succeeded));
    // Every decision went through the engine's audit trail.
    assert_eq!(engine.memory().decision_log.records().len(), decided.len());
}

#[test]
fn seeded_executions_count_for_in_flight_and_cooldown() {
    let seeded = |status: ExecutionStatus, started: &str| SeededExecution {
        pipeline: "m-retrain".into(),
        status,
        started_at: at(started),
    };
    // Listed while running at 23:00 the day before: it runs the run duration, to 01:00.
    let (decided, _) = replay_day(
        POLICY,
        &[seeded(ExecutionStatus::Executing, "2023-12-31T23:00:00Z")],
        Vec::new(),
        vec![tick("2024-01-01T00:30:00Z"), tick("2024-01-01T01:00:00Z")],
    );
    assert_eq!(
        outcomes(&decided),
        [(Outcome::Deferred, "in-flight"), (Outcome::Started, "scheduled")]
    );
    let cooled = POLICY.replace("cooldown = \"0s\"", "cooldown = \"12h\"");
    let (decided, _) = replay_day(
        &cooled,
        &[seeded(ExecutionStatus::Succeeded, "2023-12-31T20:00:00Z")],
        Vec::new(),
        vec![tick("2024-01-01T07:00:00Z"), tick("2024-01-01T08:00:00Z")],
    );
    assert_eq!(
        outcomes(&decided),
        [(Outcome::Deferred, "cooldown"), (Outcome::Started, "scheduled")]
    );
}

#[test]
fn a_deferred_alarm_is_kept_as_evidence_for_the_next_schedule() {
    let policy = POLICY
        .replace("cooldown = \"0s\"", "cooldown = \"6h\"")
        .replace("\"always\"", "\"if-evidence\"");
    let (decided, engine) = replay_day(
        &policy,
        &[],
        vec![alarm("2024-01-01T01:00:00Z"), alarm("2024-01-01T04:00:00Z")],
        vec![tick("2024-01-01T05:00:00Z"), tick("2024-01-01T08:00:00Z")],
    );
    assert_eq!(
        outcomes(&decided),
        [
            (Outcome::Started, "alarm"),
            (Outcome::Deferred, "cooldown"),
            (Outcome::Deferred, "cooldown"),
            (Outcome::Started, "scheduled-with-evidence"),
        ]
    );
    let kept: Vec<bool> = decided.iter().map(|decided| decided.decision.evidence_kept).collect();
    assert_eq!(kept, [false, true, false, false]);
    // The start consumed it.
    assert_eq!(engine.memory().ledger.evidence("m"), 0);
    assert_eq!(decided[3].at, at("2024-01-01T08:00:00Z"));
    assert!(decided.iter().all(|decided| decided.model() == Some("m")));
}
