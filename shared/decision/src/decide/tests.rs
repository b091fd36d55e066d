//! Tables of decisions: every rule of `decide`, by signal kind and guard.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use super::start::truncate_chars;
use super::*;
use crate::key::{self, DedupeKey};
use crate::path::Path;
use crate::policy::Budget;
use crate::signal::{AlarmChange, AlarmKind, AlarmState, Measurement, ScheduleTick};
use crate::time::Span;
use crate::Policy;

const HOUR: i64 = 3_600_000;
/// "Now" in every case: 2023-08-04T12:40:00Z.
const NOW: Timestamp = Timestamp(1_691_152_800_000);

/// The housing-price policy the tests and benchmarks share, its schedules in `schedule_mode`.
fn policy(schedule_mode: &str) -> Policy {
    let text = include_str!("../../../../tests/fixtures/policies/housing-price.toml")
        .replace("schedule = \"if-evidence\"", &format!("schedule = \"{schedule_mode}\""));
    Policy::from_toml(&text).unwrap()
}

fn alarm(state: &str, minutes_ago: i64) -> Signal {
    Signal::Alarm(AlarmChange {
        alarm_name: "housing-price-mae-high".into(),
        alarm_arn: None,
        kind: AlarmKind::Metric,
        state: AlarmState::parse(state),
        previous_state: Some(AlarmState::Ok),
        state_reason: "Threshold Crossed".into(),
        state_changed_at: Timestamp(NOW.0 - minutes_ago * 60_000),
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

fn tick() -> Signal {
    Signal::Schedule(ScheduleTick {
        schedule_name: "housing-price-weekly".into(),
        schedule_arn: None,
        scheduled_time: NOW,
        path: Path::Scheduler,
    })
}

fn execution(status: &str, hours_ago: i64) -> Execution {
    Execution {
        arn: format!("arn:exec/{status}-{hours_ago}h"),
        status: ExecutionStatus::parse(status),
        started_at: Timestamp(NOW.0 - hours_ago * HOUR),
        display_name: Some("someone-else".into()),
    }
}

fn evidence(hours_ago: i64) -> Evidence {
    Evidence {
        trigger_id: key::trigger_id(&DedupeKey::new(format!("ev{hours_ago}"))),
        summary: format!("alarm fired {hours_ago}h ago"),
        at: Timestamp(NOW.0 - hours_ago * HOUR),
    }
}

/// Decides and checks the outcome and reason code.
fn check(signal: Signal, mode: &str, executions: &[Execution], kept: &[Evidence], expected: (Outcome, &str)) {
    let policy = policy(mode);
    let model = &policy.models[0];
    let history = History {
        executions,
        evidence: kept,
        recorded_execution: None,
    };
    let decision = decide(&signal, model, history, NOW);
    assert_eq!(
        (decision.outcome(), decision.reason.as_str()),
        expected,
        "{}",
        decision.detail
    );
}

#[test]
fn texts_are_cut_by_characters_not_bytes() {
    let check = |text: &str, max_chars: usize, expected: &str| {
        assert_eq!(
            truncate_chars(text.to_string(), max_chars),
            expected,
            "{text:?} to {max_chars}"
        );
    };
    check("", 3, "");
    check("abc", 3, "abc");
    check("abcd", 3, "abc");
    // Two bytes a character: more bytes than `max_chars`, yet nothing to cut.
    check("ééé", 3, "ééé");
    check("éééé", 3, "ééé");
    check("aé€😀b", 4, "aé€😀");
    check("aé€😀b", 0, "");
}

#[test]
fn alarm_decisions() {
    use Outcome::*;
    check(alarm("ALARM", 1), "if-evidence", &[], &[], (Started, "alarm"));
    check(
        alarm("ALARM", 1),
        "if-evidence",
        &[execution("Succeeded", 7)],
        &[],
        (Started, "alarm"),
    );
    check(
        alarm("ALARM", 1),
        "if-evidence",
        &[execution("Succeeded", 5)],
        &[],
        (Deferred, "cooldown"),
    );
    check(
        alarm("ALARM", 1),
        "if-evidence",
        &[execution("Failed", 1)],
        &[],
        (Deferred, "cooldown"),
    );
    check(
        alarm("ALARM", 1),
        "if-evidence",
        &[execution("Executing", 100)],
        &[],
        (Deferred, "in-flight"),
    );
    check(
        alarm("ALARM", 1),
        "if-evidence",
        &[execution("Stopping", 100)],
        &[],
        (Deferred, "in-flight"),
    );
    check(alarm("OK", 1), "if-evidence", &[], &[], (Ignored, "not-alarm-state"));
    check(
        alarm("INSUFFICIENT_DATA", 1),
        "always",
        &[],
        &[],
        (Ignored, "not-alarm-state"),
    );
}

#[test]
fn schedule_decisions() {
    use Outcome::*;
    check(tick(), "if-evidence", &[], &[], (Skipped, "no-evidence"));
    check(
        tick(),
        "if-evidence",
        &[execution("Succeeded", 48)],
        &[evidence(72)],
        (Skipped, "no-evidence"),
    );
    check(
        tick(),
        "if-evidence",
        &[execution("Succeeded", 48)],
        &[evidence(24)],
        (Started, "scheduled-with-evidence"),
    );
    check(
        tick(),
        "if-evidence",
        &[],
        &[evidence(24)],
        (Started, "scheduled-with-evidence"),
    );
    check(
        tick(),
        "if-evidence",
        &[execution("Succeeded", 5)],
        &[evidence(1)],
        (Deferred, "cooldown"),
    );
    check(
        tick(),
        "if-evidence",
        &[execution("Executing", 48)],
        &[evidence(1)],
        (Deferred, "in-flight"),
    );
    check(tick(), "always", &[], &[], (Started, "scheduled"));
    check(
        tick(),
        "always",
        &[execution("Succeeded", 5)],
        &[],
        (Deferred, "cooldown"),
    );
}

#[test]
fn a_start_passes_static_and_trigger_parameters() {
    let policy = policy("if-evidence");
    let decision = decide(&alarm("ALARM", 1), &policy.models[0], History::default(), NOW);
    let Action::Start(request) = decision.action else {
        panic!("expected a start: {}", decision.detail)
    };
    let parameter = |name: &str| {
        request
            .parameters
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    };
    assert_eq!(parameter("DataWindowDays"), Some("30"));
    assert_eq!(parameter("TriggerType"), Some("metric"));
    assert_eq!(parameter("ModelApprovalStatus"), Some("PendingManualApproval"));
    assert_eq!(parameter("TriggerId"), Some(decision.trigger_id.as_str()));
    let reason = parameter("TriggerReason").unwrap();
    assert!(
        reason.contains("housing-price-mae-high") && reason.contains("mae 16250 > 15000"),
        "{reason}"
    );
    assert_eq!(request.pipeline, "housing-price-retrain");
    assert_eq!(
        request.client_request_token,
        key::client_request_token("housing-price-retrain", &alarm("ALARM", 1).dedupe_key())
    );
    assert!(request.description.contains(reason));
}

#[test]
fn undeclared_parameters_are_dropped_before_the_start() {
    let policy = policy("if-evidence");
    let decision = decide(&alarm("ALARM", 1), &policy.models[0], History::default(), NOW);
    let Action::Start(mut request) = decision.action else {
        panic!("expected a start")
    };
    request.retain_declared(&["DataWindowDays".to_string(), "TriggerType".to_string()]);
    let names: Vec<&str> = request.parameters.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["DataWindowDays", "TriggerType"]);
}

#[test]
fn a_deferred_alarm_keeps_its_evidence() {
    let policy = policy("if-evidence");
    let executions = [execution("Succeeded", 1)];
    let history = History {
        executions: &executions,
        ..History::default()
    };
    let decision = decide(&alarm("ALARM", 1), &policy.models[0], history, NOW);
    let Action::Defer(Some(kept)) = decision.action else {
        panic!("expected a deferral with evidence")
    };
    assert_eq!(kept.at, Timestamp(NOW.0 - 60_000));
    assert!(kept.summary.contains("housing-price-mae-high"));
}

#[test]
fn a_recorded_or_recognisable_execution_means_already_started() {
    let policy = policy("if-evidence");
    let model = &policy.models[0];
    let signal = alarm("ALARM", 1);
    let recorded = History {
        recorded_execution: Some("arn:exec/1"),
        ..History::default()
    };
    let decision = decide(&signal, model, recorded, NOW);
    assert_eq!(
        decision.action,
        Action::AlreadyStarted {
            execution_arn: "arn:exec/1".into()
        }
    );

    // The ledger lost the record, but SageMaker has an execution with this trigger's display name.
    let token = key::client_request_token(&model.pipeline, &signal.dedupe_key());
    let mut ours = execution("Executing", 0);
    ours.display_name = Some(key::display_name(&model.name, "metric", &token));
    let executions = [ours.clone()];
    let listed = History {
        executions: &executions,
        ..History::default()
    };
    let decision = decide(&signal, model, listed, NOW);
    assert_eq!(
        decision.action,
        Action::AlreadyStarted {
            execution_arn: ours.arn
        }
    );
}

#[test]
fn unknown_alarms_and_schedules_route_nowhere() {
    let policy = policy("always");
    let Signal::Alarm(mut change) = alarm("ALARM", 1) else {
        unreachable!()
    };
    change.alarm_name = "some-other-alarm".into();
    let Route::Unmatched(decision) = route(&Signal::Alarm(change), &policy) else {
        panic!("no model lists it")
    };
    assert_eq!(
        (decision.outcome(), decision.reason.as_str()),
        (Outcome::Ignored, "no-matching-model")
    );
    assert_eq!(decision.model, None);
    assert!(decision.detail.contains("some-other-alarm"));
    let Route::Models(models) = route(&tick(), &policy) else {
        panic!("the schedule is bound")
    };
    assert_eq!(models[0].name, "housing-price");
}

fn manual(force: bool, parameters: &[(&str, &str)], approval: Option<crate::Approval>) -> Signal {
    Signal::Manual(crate::ManualRequest {
        model: "housing-price".into(),
        reason: "zipcode boundaries changed".into(),
        requested_by: "arn:aws:iam::123456789012:user/ana".into(),
        force,
        parameters: parameters
            .iter()
            .map(|(name, value)| (name.to_string(), value.to_string()))
            .collect(),
        approval,
        request_id: "req-1".into(),
        requested_at: NOW,
        path: Path::Direct,
    })
}

#[test]
fn manual_decisions_force_skips_only_the_cooldown() {
    use Outcome::*;
    for mode in ["if-evidence", "always"] {
        // A request is evidence in itself, so no schedule-style evidence gate applies.
        check(manual(false, &[], None), mode, &[], &[], (Started, "manual"));
        check(manual(true, &[], None), mode, &[], &[], (Started, "manual-forced"));
        check(
            manual(false, &[], None),
            mode,
            &[execution("Succeeded", 1)],
            &[],
            (Deferred, "cooldown"),
        );
        check(
            manual(true, &[], None),
            mode,
            &[execution("Succeeded", 1)],
            &[],
            (Started, "manual-forced"),
        );
        check(
            manual(true, &[], None),
            mode,
            &[execution("Executing", 1)],
            &[],
            (Deferred, "in-flight"),
        );
    }
    check_budget(manual(true, &[], None), "1/7d", &[3], (Deferred, "budget"));
    check_budget(manual(true, &[], None), "2/7d", &[3], (Started, "manual-forced"));
}

#[test]
fn a_manual_start_carries_requester_reason_overrides_and_the_stricter_approval() {
    let mut policy = policy("if-evidence");
    let model = &mut policy.models[0];
    model.approval = crate::Approval::Auto;
    let parameter = |decision: &Decision, name: &str| {
        let Action::Start(request) = &decision.action else {
            panic!("expected a start: {}", decision.detail)
        };
        request
            .parameters
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.clone())
    };
    let signal = manual(true, &[("DataWindowDays", "90"), ("TrainingMode", "incremental")], None);
    let decision = decide(&signal, model, History::default(), NOW);
    assert_eq!(parameter(&decision, "TriggerType").as_deref(), Some("manual"));
    assert_eq!(parameter(&decision, "DataWindowDays").as_deref(), Some("90"));
    assert_eq!(parameter(&decision, "TrainingMode").as_deref(), Some("incremental"));
    assert_eq!(parameter(&decision, "ModelApprovalStatus").as_deref(), Some("Approved"));
    let reason = parameter(&decision, "TriggerReason").unwrap();
    assert!(
        reason.contains("user/ana") && reason.contains("zipcode boundaries changed") && reason.contains("forced"),
        "{reason}"
    );
    assert!(decision.detail.contains("forced"), "{}", decision.detail);

    let stricter = decide(
        &manual(false, &[], Some(crate::Approval::Manual)),
        model,
        History::default(),
        NOW,
    );
    assert_eq!(
        parameter(&stricter, "ModelApprovalStatus").as_deref(),
        Some("PendingManualApproval")
    );
    assert!(!parameter(&stricter, "TriggerReason").unwrap().contains("forced"));
    // The request id is the dedupe key: the same request again is already started.
    assert_eq!(stricter.trigger_id, key::trigger_id(&DedupeKey::new("manual/req-1")));
}

#[test]
fn lookback_covers_long_cooldowns_and_budget_windows() {
    let mut model = policy("always").models[0].clone();
    assert_eq!(lookback(&model), Span::from_secs(30 * 86_400));
    model.cooldown = Span::from_secs(60 * 86_400);
    assert_eq!(lookback(&model), model.cooldown);
    model.max_starts = Some(Budget {
        starts: 2,
        window: Span::from_secs(90 * 86_400),
    });
    assert_eq!(lookback(&model), Span::from_secs(90 * 86_400));
}

/// Decides with a budget of `max_starts` (cooldown 1h, so only the budget binds
/// for starts older than an hour) and checks the outcome and reason code.
fn check_budget(signal: Signal, max_starts: &str, started_hours_ago: &[i64], expected: (Outcome, &str)) {
    let mut policy = policy("always");
    let model = &mut policy.models[0];
    model.cooldown = Span::from_secs(3600);
    model.max_starts = Policy::from_toml(&format!(
        "[[model]]\nname = \"m\"\npipeline = \"p\"\nmax_starts = \"{max_starts}\"\n"
    ))
    .unwrap()
    .models[0]
        .max_starts;
    let executions: Vec<Execution> = started_hours_ago
        .iter()
        .map(|hours| execution("Succeeded", *hours))
        .collect();
    let history = History {
        executions: &executions,
        ..History::default()
    };
    let decision = decide(&signal, model, history, NOW);
    assert_eq!(
        (decision.outcome(), decision.reason.as_str()),
        expected,
        "{max_starts} with starts {started_hours_ago:?} h ago: {}",
        decision.detail
    );
}

#[test]
fn budget_edges() {
    use Outcome::*;
    let day = 24;
    // Fewer than N starts inside the window: allowed.
    check_budget(alarm("ALARM", 1), "3/7d", &[], (Started, "alarm"));
    check_budget(alarm("ALARM", 1), "3/7d", &[2, 3 * day], (Started, "alarm"));
    // Exactly N inside: the (N+1)th is deferred, for every trigger.
    check_budget(alarm("ALARM", 1), "3/7d", &[2, 3 * day, 6 * day], (Deferred, "budget"));
    check_budget(tick(), "3/7d", &[2, 3 * day, 6 * day], (Deferred, "budget"));
    check_budget(alarm("ALARM", 1), "1/12h", &[2], (Deferred, "budget"));
    // Once the oldest slides out of the window, a start is allowed again.
    check_budget(alarm("ALARM", 1), "3/7d", &[2, 3 * day, 7 * day], (Started, "alarm"));
    check_budget(
        alarm("ALARM", 1),
        "3/7d",
        &[2, 3 * day, 7 * day + 1, 30 * day],
        (Started, "alarm"),
    );
    check_budget(alarm("ALARM", 1), "1/12h", &[12], (Started, "alarm"));
    // In flight is reported before the budget; the budget before the cooldown.
    check_budget(alarm("ALARM", 1), "1/7d", &[0], (Deferred, "budget"));
}

#[test]
fn a_budget_deferral_keeps_the_evidence_and_says_when_a_start_is_possible() {
    let mut policy = policy("always");
    let model = &mut policy.models[0];
    model.cooldown = Span::ZERO;
    model.max_starts = Some(Budget {
        starts: 2,
        window: Span::from_secs(86_400),
    });
    let executions = [
        execution("Failed", 20),
        execution("Stopped", 4),
        execution("Succeeded", 10),
    ];
    let history = History {
        executions: &executions,
        ..History::default()
    };
    let decision = decide(&alarm("ALARM", 1), model, history, NOW);
    let Action::Defer(Some(kept)) = &decision.action else {
        panic!("expected a deferral with evidence: {}", decision.detail)
    };
    assert!(kept.summary.contains("housing-price-mae-high"));
    // Three starts in the last day, budget 2: possible once the two oldest (20h, 10h ago) have left.
    let frees_up = Timestamp(NOW.0 - 10 * HOUR).plus(Span::from_secs(86_400));
    assert!(
        decision.detail.contains("3 time(s) in the last 1d")
            && decision.detail.contains("\"2/1d\"")
            && decision.detail.contains(&frees_up.to_string()),
        "{}",
        decision.detail
    );
    let running = [
        execution("Executing", 2),
        execution("Succeeded", 3),
        execution("Succeeded", 4),
    ];
    let history = History {
        executions: &running,
        ..History::default()
    };
    assert_eq!(
        decide(&alarm("ALARM", 1), model, history, NOW).reason.as_str(),
        "in-flight"
    );
}

#[test]
fn events_further_from_now_than_the_maximum_age_are_stale() {
    use Outcome::*;
    let day_in_minutes = 24 * 60;
    // The default maximum age is 24h, either side of now, whatever the state or the history.
    check(
        alarm("ALARM", day_in_minutes - 1),
        "if-evidence",
        &[],
        &[],
        (Started, "alarm"),
    );
    check(
        alarm("ALARM", day_in_minutes + 1),
        "if-evidence",
        &[],
        &[],
        (Ignored, "stale"),
    );
    check(
        alarm("ALARM", -(day_in_minutes + 1)),
        "if-evidence",
        &[],
        &[],
        (Ignored, "stale"),
    );
    check(
        alarm("OK", 10 * 365 * day_in_minutes),
        "if-evidence",
        &[],
        &[],
        (Ignored, "stale"),
    );
    check(
        alarm("ALARM", day_in_minutes + 1),
        "if-evidence",
        &[execution("Executing", 1)],
        &[evidence(1)],
        (Ignored, "stale"),
    );
    let Signal::Schedule(mut late) = tick() else {
        unreachable!()
    };
    late.scheduled_time = Timestamp(NOW.0 - 25 * HOUR);
    check(Signal::Schedule(late), "always", &[], &[], (Ignored, "stale"));

    // Extreme timestamps neither overflow nor panic.
    let policy = policy("always");
    let model = &policy.models[0];
    for at in [i64::MIN, -8_640_000_000_000_000, 8_640_000_000_000_000, i64::MAX] {
        let Signal::Alarm(mut change) = alarm("ALARM", 0) else {
            unreachable!()
        };
        change.state_changed_at = Timestamp(at);
        let decision = decide(&Signal::Alarm(change), model, History::default(), NOW);
        assert_eq!(
            (decision.outcome(), decision.reason.as_str()),
            (Ignored, "stale"),
            "{at}"
        );
    }

    // The bound is per model, and the detail says how to act on older events.
    let mut model = model.clone();
    model.max_event_age = Span::from_secs(3600);
    let decision = decide(&alarm("ALARM", 61), &model, History::default(), NOW);
    assert_eq!(decision.reason.as_str(), "stale");
    assert!(
        decision.detail.contains("1h maximum event age before now") && decision.detail.contains("max_event_age"),
        "{}",
        decision.detail
    );
    assert_eq!(precheck(&alarm("ALARM", 59), &model, NOW), None);
}
