//! Breach episodes and waits, by table.

use super::*;
use crate::replay::{EngineDecision, TriggerKind};
use trigger_decision::{AlarmKind, Measurement, Path};

const HOUR: i64 = 3_600_000;

fn hour(hours: i64) -> Timestamp {
    Timestamp::from_millis(hours * HOUR)
}

fn policy() -> Policy {
    Policy::from_toml(
        "[[model]]\nname = \"housing-price\"\npipeline = \"housing-price-retrain\"\n\
         alarms = [\"mae-high\", \"arn:aws:cloudwatch:us-east-1:123456789012:alarm:rmse-high\"]\n\
         [[model]]\nname = \"churn\"\npipeline = \"churn-retrain\"\nalarms = [\"auc-low\"]\n",
    )
    .unwrap()
}

/// `"mae-high ALARM 2"`: the alarm, its new state and the hour it changed.
fn change(text: &str) -> AlarmChange {
    let [alarm, state, at] = text.split_whitespace().collect::<Vec<_>>()[..] else {
        panic!("{text:?} is not `alarm STATE hour`")
    };
    AlarmChange {
        alarm_name: alarm.to_string(),
        alarm_arn: Some(format!("arn:aws:cloudwatch:us-east-1:123456789012:alarm:{alarm}")),
        kind: AlarmKind::Metric,
        state: AlarmState::parse(state),
        previous_state: None,
        state_reason: String::new(),
        state_changed_at: hour(at.parse().unwrap()),
        measurement: Measurement::default(),
        triggering_alarms: Vec::new(),
        path: Path::AlarmAction,
    }
}

fn decided(model: &str, at: i64, outcome: Outcome, reason: &str) -> Decided {
    Decided {
        at: hour(at),
        trigger: TriggerKind::Alarm,
        source: "mae-high".into(),
        decision: EngineDecision {
            model: Some(model.into()),
            outcome,
            reason: reason.into(),
            detail: String::new(),
            evidence_kept: outcome == Outcome::Deferred,
            run: None,
        },
    }
}

/// Replays `changes` and `starts` (hours) for housing-price over hours 0 to 24
/// and checks its episodes as (start, end, wait) in hours.
fn check(changes: &[&str], starts: &[i64], expected: &[(i64, i64, i64)]) {
    let changes: Vec<AlarmChange> = changes.iter().map(|text| change(text)).collect();
    let decisions: Vec<Decided> = starts
        .iter()
        .map(|at| decided("housing-price", *at, Outcome::Started, "alarm"))
        .collect();
    let summaries = summarize(&policy(), &changes, &decisions, hour(0), hour(24), None);
    let found: Vec<(i64, i64, i64)> = summaries[0]
        .breaches
        .iter()
        .map(|episode| {
            (
                episode.start.millis() / HOUR,
                episode.end.millis() / HOUR,
                episode.wait_millis() / HOUR,
            )
        })
        .collect();
    assert_eq!(found, expected, "changes {changes:?}, starts {starts:?}");
    let waits: Vec<i64> = expected.iter().map(|(_, _, wait)| *wait).collect();
    let summary = &summaries[0];
    assert_eq!(summary.breach_hours_before_start, waits.iter().sum::<i64>() as f64);
    assert_eq!(
        summary.longest_wait_hours,
        waits.iter().copied().max().unwrap_or(0) as f64
    );
    let breach: i64 = expected.iter().map(|(from, to, _)| to - from).sum();
    assert_eq!(summary.breach_hours, breach as f64);
}

#[test]
fn waits_run_from_the_move_into_alarm_to_the_first_start_or_the_breachs_end() {
    // A start during the breach ends the wait.
    check(&["mae-high ALARM 2", "mae-high OK 10"], &[5], &[(2, 10, 3)]);
    // A start at the very instant of the move into ALARM: no wait.
    check(&["mae-high ALARM 2", "mae-high OK 10"], &[2], &[(2, 10, 0)]);
    // No start: the whole breach is waited.
    check(&["mae-high ALARM 2", "mae-high OK 10"], &[], &[(2, 10, 8)]);
    // Starts before the breach or after it do not end its wait.
    check(&["mae-high ALARM 2", "mae-high OK 10"], &[1, 12], &[(2, 10, 8)]);
    // INSUFFICIENT_DATA ends a breach as OK does.
    check(&["mae-high ALARM 2", "mae-high INSUFFICIENT_DATA 4"], &[], &[(2, 4, 2)]);
    // A breach still open at the end lasts until the end.
    check(&["mae-high ALARM 20"], &[], &[(20, 24, 4)]);
    // A breach under way before the replay counts from the replay's start.
    check(&["mae-high ALARM -5", "mae-high OK 3"], &[2], &[(0, 3, 2)]);
    // Changes after the end are not seen.
    check(&["mae-high ALARM 30"], &[], &[]);
}

#[test]
fn overlapping_alarms_of_one_model_make_one_breach_and_unbound_alarms_none() {
    // Two bound alarms (one bound by ARN) overlapping: one episode from the first move to the last return.
    check(
        &[
            "mae-high ALARM 2",
            "rmse-high ALARM 4",
            "mae-high OK 6",
            "rmse-high OK 9",
        ],
        &[7],
        &[(2, 9, 5)],
    );
    check(&["auc-low ALARM 2", "auc-low OK 9"], &[], &[]);
    // Two episodes: the waits are summed and the longest kept.
    check(
        &[
            "mae-high ALARM 1",
            "mae-high OK 3",
            "mae-high ALARM 10",
            "mae-high OK 20",
        ],
        &[2, 13],
        &[(1, 3, 1), (10, 20, 3)],
    );
}

#[test]
fn decisions_are_counted_per_model_by_outcome_and_reason_with_cost() {
    let decisions = [
        decided("housing-price", 1, Outcome::Started, "alarm"),
        decided("housing-price", 2, Outcome::Deferred, "cooldown"),
        decided("housing-price", 3, Outcome::Deferred, "cooldown"),
        decided("housing-price", 4, Outcome::Deferred, "in-flight"),
        decided("housing-price", 5, Outcome::Started, "scheduled-with-evidence"),
        decided("housing-price", 6, Outcome::Started, "alarm"),
        decided("housing-price", 7, Outcome::Skipped, "no-evidence"),
        decided("housing-price", 8, Outcome::Ignored, "not-alarm-state"),
        decided("churn", 9, Outcome::Started, "alarm"),
    ];
    let summaries = summarize(&policy(), &[], &decisions, hour(0), hour(24), Some(12.5));
    let housing = &summaries[0];
    assert_eq!((housing.starts, housing.deferred, housing.skipped), (3, 3, 1));
    assert_eq!(
        housing.starts_by_reason,
        BTreeMap::from([("alarm".to_string(), 2), ("scheduled-with-evidence".to_string(), 1)])
    );
    assert_eq!(
        housing.deferred_by_reason,
        BTreeMap::from([("cooldown".to_string(), 2), ("in-flight".to_string(), 1)])
    );
    assert_eq!(housing.cost, Some(37.5));
    assert_eq!((summaries[1].model.as_str(), summaries[1].starts), ("churn", 1));
    let all = totals(&summaries);
    assert_eq!((all.starts, all.deferred, all.skipped, all.cost), (4, 3, 1, Some(50.0)));
    assert_eq!(
        totals(&summarize(&policy(), &[], &decisions, hour(0), hour(24), None)).cost,
        None
    );
}
