//! `decide`: signal + model policy + history + now -> decision.
//!
//! This is the principle "retrain only when necessary" as code. It never
//! fails and never reads a clock, so every rule here is tested by tables.

use crate::drift;
use crate::key::{self, RequestToken, TriggerId};
use crate::outcome::{Outcome, Reason};
use crate::policy::{Budget, ModelPolicy, ScheduleMode, MAX_PARAMETER_VALUE_CHARS};
use crate::signal::{AlarmState, Signal};
use crate::time::{Span, Timestamp};
use serde::{Deserialize, Serialize};

/// A SageMaker pipeline execution's status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExecutionStatus {
    Executing,
    Stopping,
    Stopped,
    Failed,
    Succeeded,
    Other(String),
}

impl ExecutionStatus {
    pub fn parse(text: &str) -> ExecutionStatus {
        match text {
            "Executing" => ExecutionStatus::Executing,
            "Stopping" => ExecutionStatus::Stopping,
            "Stopped" => ExecutionStatus::Stopped,
            "Failed" => ExecutionStatus::Failed,
            "Succeeded" => ExecutionStatus::Succeeded,
            other => ExecutionStatus::Other(other.to_string()),
        }
    }

    /// Whether the execution still holds the pipeline.
    pub fn is_in_flight(&self) -> bool {
        matches!(self, ExecutionStatus::Executing | ExecutionStatus::Stopping)
    }
}

/// One recent execution of a model's pipeline, whoever started it.
#[derive(Debug, Clone, PartialEq)]
pub struct Execution {
    pub arn: String,
    pub status: ExecutionStatus,
    pub started_at: Timestamp,
    pub display_name: Option<String>,
}

/// A reason to retrain that has not yet been acted on, kept in the ledger.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Evidence {
    pub trigger_id: TriggerId,
    pub summary: String,
    pub at: Timestamp,
}

/// What the decision may know about the past, gathered by the shell.
#[derive(Debug, Clone, Copy, Default)]
pub struct History<'a> {
    /// Executions of the pipeline started within the look-back window.
    pub executions: &'a [Execution],
    /// Evidence kept in the ledger for this model.
    pub evidence: &'a [Evidence],
    /// The execution the ledger recorded for this very trigger, if any.
    pub recorded_execution: Option<&'a str>,
}

/// Everything needed to start one pipeline execution.
#[derive(Debug, Clone, PartialEq)]
pub struct StartRequest {
    pub pipeline: String,
    pub client_request_token: RequestToken,
    pub display_name: String,
    pub description: String,
    /// Name and value, static parameters first, then the trigger's own.
    pub parameters: Vec<(String, String)>,
}

impl StartRequest {
    /// Keeps only the parameters the pipeline declares; SageMaker rejects the others.
    pub fn retain_declared(&mut self, declared: &[String]) {
        self.parameters
            .retain(|(name, _)| declared.iter().any(|known| known == name));
    }
}

/// What the shell must do.
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    Start(StartRequest),
    /// Nothing to start; this trigger's execution already exists.
    AlreadyStarted {
        execution_arn: String,
    },
    /// Not now; keep this evidence for a later schedule.
    Defer(Option<Evidence>),
    /// Not needed; any evidence given is still kept for a later schedule.
    Skip(Option<Evidence>),
    Ignore,
}

/// A decision for one model (or for no model, when none matched).
#[derive(Debug, Clone, PartialEq)]
pub struct Decision {
    pub model: Option<String>,
    pub action: Action,
    pub reason: Reason,
    /// A sentence for humans.
    pub detail: String,
    pub trigger_id: TriggerId,
}

impl Decision {
    pub fn outcome(&self) -> Outcome {
        match self.action {
            Action::Start(_) => Outcome::Started,
            Action::AlreadyStarted { .. } => Outcome::AlreadyStarted,
            Action::Defer(_) => Outcome::Deferred,
            Action::Skip(_) => Outcome::Skipped,
            Action::Ignore => Outcome::Ignored,
        }
    }
}

/// Where a signal goes.
#[derive(Debug)]
pub enum Route<'p> {
    /// The models bound to it, in policy order; each gets its own decision.
    Models(Vec<&'p ModelPolicy>),
    /// No model is bound to it: this is the decision.
    Unmatched(Decision),
}

/// The models a signal is for, or the decision that it is for none.
pub fn route<'p>(signal: &Signal, policy: &'p crate::Policy) -> Route<'p> {
    let (models, what) = match signal {
        Signal::Alarm(change) => (
            policy.models_for_alarm(&change.alarm_name, change.alarm_arn.as_deref()),
            format!("alarm {}", change.alarm_name),
        ),
        Signal::Schedule(tick) => (
            policy.models_for_schedule(&tick.schedule_name, tick.schedule_arn.as_deref()),
            format!("schedule {}", tick.schedule_name),
        ),
        Signal::Drift(report) => (
            policy.models_for_report(report.model.as_deref(), &report.source),
            format!(
                "drift report {} (with [model.drift] and a matching name or reports prefix)",
                report.source
            ),
        ),
        Signal::Manual(request) => (
            policy.model(&request.model).into_iter().collect(),
            format!("a model named {}", request.model),
        ),
    };
    if models.is_empty() {
        return Route::Unmatched(Decision {
            model: None,
            action: Action::Ignore,
            reason: Reason::NoMatchingModel,
            detail: format!("No model in the policy lists {what}."),
            trigger_id: key::trigger_id(&signal.dedupe_key()),
        });
    }
    Route::Models(models)
}

/// A decision that needs no history, if the signal allows one: an event whose
/// time is further from `now` than the model's `max_event_age` is stale, and
/// an alarm that did not move into ALARM is never evidence.
pub fn precheck(signal: &Signal, model: &ModelPolicy, now: Timestamp) -> Option<Decision> {
    if let Some(decision) = stale(signal, model, now) {
        return Some(decision);
    }
    let Signal::Alarm(change) = signal else { return None };
    if change.state == AlarmState::Alarm {
        return None;
    }
    Some(Decision {
        model: Some(model.name.clone()),
        action: Action::Ignore,
        reason: Reason::NotAlarmState,
        detail: format!(
            "Alarm {} moved to {}, which is not evidence that {} needs retraining.",
            change.alarm_name,
            change.state.as_str(),
            model.name
        ),
        trigger_id: key::trigger_id(&signal.dedupe_key()),
    })
}

/// `ignored/stale` for an alarm state change or schedule firing further than
/// `max_event_age` from `now`, in the past (a late redelivery, an old
/// dead-letter queue redriven) or in the future (a wrong or hand-made time).
/// Acting on it could start a pipeline for a state that has long changed.
fn stale(signal: &Signal, model: &ModelPolicy, now: Timestamp) -> Option<Decision> {
    let (what, at) = match signal {
        Signal::Alarm(change) => (
            format!("Alarm {}'s state change", change.alarm_name),
            change.state_changed_at,
        ),
        Signal::Schedule(tick) => (format!("Schedule {}'s firing", tick.schedule_name), tick.scheduled_time),
        // Other signals (drift reports) describe a window of data, not a delivery; their age is their policy's business.
        #[allow(unreachable_patterns)]
        _ => return None,
    };
    let when = if at < now.minus(model.max_event_age) {
        "before"
    } else if at > now.plus(model.max_event_age) {
        "after"
    } else {
        return None;
    };
    Some(Decision {
        model: Some(model.name.clone()),
        action: Action::Ignore,
        reason: Reason::Stale,
        detail: format!(
            "{what} at {at} is more than the {} maximum event age {when} now ({now}), so it is ignored for {}. \
             Raise max_event_age to act on older events, for example before redriving a dead-letter queue.",
            model.max_event_age, model.name
        ),
        trigger_id: key::trigger_id(&signal.dedupe_key()),
    })
}

/// Decides what to do about `signal` for `model`.
pub fn decide(signal: &Signal, model: &ModelPolicy, history: History<'_>, now: Timestamp) -> Decision {
    if let Some(decision) = precheck(signal, model, now) {
        return decision;
    }
    let dedupe_key = signal.dedupe_key();
    let trigger_id = key::trigger_id(&dedupe_key);
    let token = key::client_request_token(&model.pipeline, &dedupe_key);
    let trigger_type = signal.trigger_type().to_string();
    let display_name = key::display_name(&model.name, &trigger_type, &token);
    let decision = |action: Action, reason: Reason, detail: String| Decision {
        model: Some(model.name.clone()),
        action,
        reason,
        detail,
        trigger_id: trigger_id.clone(),
    };

    // Exactly once: the ledger's record, or an execution carrying this
    // trigger's display name, means the start already happened.
    let already = history.recorded_execution.map(str::to_string).or_else(|| {
        history
            .executions
            .iter()
            .find(|execution| execution.display_name.as_deref() == Some(display_name.as_str()))
            .map(|execution| execution.arn.clone())
    });
    if let Some(execution_arn) = already {
        let detail = format!(
            "This {} was already acted on: execution {execution_arn}.",
            describe(signal)
        );
        return decision(Action::AlreadyStarted { execution_arn }, Reason::AlreadyStarted, detail);
    }

    // What justifies a start, if anything.
    let last_start = history.executions.iter().map(|execution| execution.started_at).max();
    let fresh_evidence: Vec<&Evidence> = history
        .evidence
        .iter()
        .filter(|evidence| last_start.is_none_or(|started| evidence.at > started))
        .collect();
    let assessment = match (signal, &model.drift) {
        (Signal::Drift(report), Some(drift_policy)) => Some((drift::assess(report, drift_policy), drift_policy)),
        _ => None,
    };
    // Built once: the evidence and most justifications below quote it.
    let summary = signal.summary();
    let evidence_summary = match &assessment {
        Some((assessment, _)) => format!("{summary}: {}", assessment.top(5)),
        None => summary.clone(),
    };
    let new_evidence = match signal {
        Signal::Alarm(_) | Signal::Drift(_) | Signal::Manual(_) => Some(Evidence {
            trigger_id: trigger_id.clone(),
            summary: evidence_summary,
            at: signal.occurred_at(),
        }),
        Signal::Schedule(_) => None,
    };
    // Parameters that depend on what justified the start; they override static ones of the same name.
    let mut trigger_parameters = vec![("TrainingMode".to_string(), "full".to_string())];
    let (start_reason, justification) = match signal {
        Signal::Alarm(_) => (Reason::Alarm, summary),
        // A person's request is evidence in itself; `force` also skips the cooldown below.
        Signal::Manual(request) if request.force => (
            Reason::ManualForced,
            format!("{summary} (forced: the cooldown was skipped)"),
        ),
        Signal::Manual(_) => (Reason::Manual, summary),
        Signal::Drift(report) => {
            let Some((assessment, drift_policy)) = &assessment else {
                let detail = format!(
                    "Model {} has no [model.drift] policy, so drift reports are not for it.",
                    model.name
                );
                return decision(Action::Ignore, Reason::NoDriftPolicy, detail);
            };
            let drifted = assessment.drifted_count();
            if drifted == 0 {
                let detail = format!(
                    "Drift report {}: no feature of {} drifted beyond ε = {}{}.",
                    report.report_id,
                    model.name,
                    assessment.threshold,
                    largest(assessment)
                );
                return decision(Action::Skip(None), Reason::NoDrift, detail);
            }
            if drifted < drift_policy.min_drifted {
                let detail = format!(
                    "Drift report {}: {drifted} feature(s) drifted ({}), fewer than min_drifted = {}; kept as evidence.",
                    report.report_id,
                    assessment.top(5),
                    drift_policy.min_drifted
                );
                return decision(Action::Skip(new_evidence), Reason::BelowThreshold, detail);
            }
            let (reason, mode) = match (assessment.critical.is_empty(), assessment.severe) {
                (false, _) => (Reason::DriftCritical, "full"),
                (true, true) => (Reason::DriftSevere, "full"),
                (true, false) => (Reason::DriftMild, "incremental"),
            };
            trigger_parameters = vec![("TrainingMode".to_string(), mode.to_string())];
            if mode == "incremental" {
                trigger_parameters.push((
                    "RehearsalFraction".to_string(),
                    drift_policy.rehearsal_fraction.to_string(),
                ));
            }
            trigger_parameters.push(("DriftScore".to_string(), format!("{:.6}", assessment.score())));
            trigger_parameters.push((
                "DriftedFeatures".to_string(),
                assessment.drifted_features(MAX_PARAMETER_VALUE_CHARS),
            ));
            let why = match reason {
                Reason::DriftCritical => format!("critical feature(s) {} drifted", assessment.critical.join(", ")),
                Reason::DriftSevere => format!(
                    "largest distance {:.3} is at least severe = {}",
                    assessment.score(),
                    drift_policy.severe
                ),
                _ => format!(
                    "largest distance {:.3} is below severe = {}; fine-tune with {} rehearsal data",
                    assessment.score(),
                    drift_policy.severe,
                    drift_policy.rehearsal_fraction
                ),
            };
            (
                reason,
                format!(
                    "drift report {}: {drifted} feature(s) drifted beyond ε = {}: {}; {why}, so a {mode} retrain",
                    report.report_id,
                    assessment.threshold,
                    assessment.top(5)
                ),
            )
        }
        Signal::Schedule(tick) => match (model.schedule, fresh_evidence.is_empty()) {
            (ScheduleMode::IfEvidence, true) => {
                let since = last_start.map_or("yet".to_string(), |at| format!("since the last start at {at}"));
                let detail = format!(
                    "Schedule {} fired but no evidence has arrived {since}; {} does not need retraining.",
                    tick.schedule_name, model.name
                );
                return decision(Action::Skip(None), Reason::NoEvidence, detail);
            }
            (ScheduleMode::IfEvidence, false) => (
                Reason::ScheduledWithEvidence,
                format!(
                    "{summary}, with evidence: {}",
                    fresh_evidence
                        .iter()
                        .map(|e| e.summary.as_str())
                        .collect::<Vec<_>>()
                        .join("; ")
                ),
            ),
            (ScheduleMode::Always, _) => (Reason::Scheduled, format!("{summary} (schedule mode always)")),
        },
    };

    // Guards that hold for every trigger.
    if let Some(running) = history
        .executions
        .iter()
        .find(|execution| execution.status.is_in_flight())
    {
        let detail = format!(
            "Execution {} of {} is still {:?} (started {}); not starting another. The evidence is kept.",
            running.arn, model.pipeline, running.status, running.started_at
        );
        return decision(Action::Defer(new_evidence), Reason::InFlight, detail);
    }
    if let Some(detail) = model
        .max_starts
        .and_then(|budget| budget_exhausted(model, budget, history.executions, now))
    {
        return decision(Action::Defer(new_evidence), Reason::Budget, detail);
    }
    let forced = matches!(signal, Signal::Manual(request) if request.force);
    if let Some(started) = last_start.filter(|started| !forced && *started > now.minus(model.cooldown)) {
        let detail = format!(
            "{} started at {started}, inside the {} cooldown; the next start is possible after {}. The evidence is kept.",
            model.pipeline,
            model.cooldown,
            started.plus(model.cooldown)
        );
        return decision(Action::Defer(new_evidence), Reason::Cooldown, detail);
    }

    let reason_text = truncate_chars(justification.clone(), MAX_PARAMETER_VALUE_CHARS);
    let mut parameters: Vec<(String, String)> = model
        .parameters
        .iter()
        .filter(|(name, _)| !trigger_parameters.iter().any(|(set, _)| set == *name))
        .map(|(name, value)| (name.clone(), value.clone()))
        .collect();
    // A manual request may ask for a stricter approval than the policy's (`manual::check` refused looser ones).
    let approval = match signal {
        Signal::Manual(request) => request
            .approval
            .map_or(model.approval, |asked| asked.stricter(model.approval)),
        _ => model.approval,
    };
    parameters.extend([
        ("TriggerType".to_string(), trigger_type),
        ("TriggerReason".to_string(), reason_text.clone()),
        ("TriggerId".to_string(), trigger_id.to_string()),
        (
            "ModelApprovalStatus".to_string(),
            approval.model_approval_status().to_string(),
        ),
    ]);
    parameters.extend(trigger_parameters);
    // A manual request's overrides (names from `allow_overrides`, never reserved ones) replace any value.
    if let Signal::Manual(request) = signal {
        for (name, value) in &request.parameters {
            match parameters.iter_mut().find(|(set, _)| set == name) {
                Some(slot) => slot.1.clone_from(value),
                None => parameters.push((name.clone(), value.clone())),
            }
        }
    }
    let request = StartRequest {
        pipeline: model.pipeline.clone(),
        client_request_token: token,
        display_name,
        description: truncate_chars(format!("Retraining {}: {justification}", model.name), 3072),
        parameters,
    };
    decision(
        Action::Start(request),
        start_reason,
        format!("Starting {}: {reason_text}", model.pipeline),
    )
}

fn describe(signal: &Signal) -> String {
    match signal {
        Signal::Alarm(change) => format!(
            "state change of alarm {} at {}",
            change.alarm_name, change.state_changed_at
        ),
        Signal::Schedule(tick) => format!("firing of schedule {} at {}", tick.schedule_name, tick.scheduled_time),
        Signal::Drift(report) => format!("drift report {}", report.report_id),
        Signal::Manual(request) => format!("manual request {} by {}", request.request_id, request.requested_by),
    }
}

/// `; the largest was sqft at 0.041` when any feature was compared.
fn largest(assessment: &drift::Assessment) -> String {
    assessment
        .features
        .first()
        .map(|feature| format!("; the largest was {} at {:.3}", feature.feature, feature.distance))
        .unwrap_or_default()
}

/// `text` cut to its first `max_chars` characters.
fn truncate_chars(mut text: String, max_chars: usize) -> String {
    // A text of at most `max_chars` bytes has no more characters than that:
    // the usual case, answered without walking the characters.
    if text.len() > max_chars {
        if let Some((cut, _)) = text.char_indices().nth(max_chars) {
            text.truncate(cut);
        }
    }
    text
}

/// Why a start would exceed the model's budget, or `None` if it would not.
/// Every execution started inside the window counts, whoever started it and
/// however it ended: each one cost a training run.
fn budget_exhausted(model: &ModelPolicy, budget: Budget, executions: &[Execution], now: Timestamp) -> Option<String> {
    let window_start = now.minus(budget.window);
    let mut counted: Vec<Timestamp> = executions
        .iter()
        .map(|execution| execution.started_at)
        .filter(|started| *started > window_start)
        .collect();
    if counted.len() < budget.starts {
        return None;
    }
    counted.sort();
    // A start becomes possible once all but `starts - 1` of the counted ones have left the window.
    let frees_up = counted[counted.len() - budget.starts].plus(budget.window);
    Some(format!(
        "{} started {} time(s) in the last {}, the budget max_starts = \"{budget}\"; the next start is possible after {frees_up}. The evidence is kept.",
        model.pipeline,
        counted.len(),
        budget.window
    ))
}

/// How far back the shell must list executions for `decide` to see every
/// one that matters: any still running (pipelines can run for weeks, so at
/// least 30 days), any start inside the cooldown, and every start the budget counts.
pub fn lookback(model: &ModelPolicy) -> Span {
    let budget_window = model.max_starts.map_or(Span::ZERO, |budget| budget.window);
    model.cooldown.max(Span::from_secs(30 * 86_400)).max(budget_window)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;
    use crate::key::DedupeKey;
    use crate::path::Path;
    use crate::signal::{AlarmChange, AlarmKind, Measurement, ScheduleTick};
    use crate::Policy;

    const HOUR: i64 = 3_600_000;
    /// "Now" in every case: 2023-08-04T12:40:00Z.
    const NOW: Timestamp = Timestamp(1_691_152_800_000);

    fn policy(schedule_mode: &str) -> Policy {
        Policy::from_toml(&format!(
            r#"
    [defaults]
    cooldown = "6h"
    schedule = "{schedule_mode}"
    [[model]]
    name = "housing-price"
    pipeline = "housing-price-retrain"
    alarms = ["housing-price-mae-high"]
    schedules = ["housing-price-weekly"]
    [model.parameters]
    DataWindowDays = "30"
    "#
        ))
        .unwrap()
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
}
