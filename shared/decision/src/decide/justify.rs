//! What justifies a start, one function per signal kind. A signal that
//! justifies none gets its decision here instead: a skip (keeping any
//! evidence a later schedule may act on) or an ignore.

use super::{Action, Evidence};
use crate::drift::{self, Assessment, DriftReport};
use crate::key::TriggerId;
use crate::outcome::Reason;
use crate::policy::{DriftPolicy, ModelPolicy, ScheduleMode, MAX_PARAMETER_VALUE_CHARS};
use crate::signal::{ManualRequest, ScheduleTick, Signal};
use crate::time::Timestamp;

/// A start the signal justifies, before the guards have had their say.
#[derive(Debug)]
pub(super) struct Case {
    /// The reason code the start carries.
    pub(super) reason: Reason,
    /// The sentence behind `TriggerReason` and the execution's description.
    pub(super) justification: String,
    /// Parameters that depend on what justified the start; they override static ones of the same name.
    pub(super) parameters: Vec<(String, String)>,
    /// What is kept in the ledger if a guard defers the start.
    pub(super) evidence: Option<Evidence>,
}

/// What a signal justifies: a start (if the guards allow it), or a decision that is not one.
#[derive(Debug)]
pub(super) enum Justified {
    Start(Case),
    Other {
        action: Action,
        reason: Reason,
        detail: String,
    },
}

/// The start `signal` justifies for `model`, or the decision that it justifies none.
/// `kept` is the evidence in the ledger; `last_start` the newest execution's start.
pub(super) fn case(
    signal: &Signal,
    model: &ModelPolicy,
    kept: &[Evidence],
    last_start: Option<Timestamp>,
    trigger_id: &TriggerId,
) -> Justified {
    // Built once: the evidence and most justifications quote it.
    let summary = signal.summary();
    match signal {
        Signal::Alarm(_) => Justified::Start(Case {
            reason: Reason::Alarm,
            evidence: Some(evidence(signal, trigger_id, summary.clone())),
            justification: summary,
            parameters: full_retrain(),
        }),
        Signal::Manual(request) => Justified::Start(manual(request, signal, trigger_id, summary)),
        Signal::Drift(report) => drift(report, signal, model, trigger_id, summary),
        Signal::Schedule(tick) => schedule(tick, model, kept, last_start, summary),
    }
}

/// `TrainingMode=full`, what every start asks for unless a mild drift asks for less.
fn full_retrain() -> Vec<(String, String)> {
    vec![("TrainingMode".to_string(), "full".to_string())]
}

/// The signal as evidence for a later start, described by `summary`.
fn evidence(signal: &Signal, trigger_id: &TriggerId, summary: String) -> Evidence {
    Evidence {
        trigger_id: trigger_id.clone(),
        summary,
        at: signal.occurred_at(),
    }
}

/// A person's request is evidence in itself; `force` also skips the cooldown (see `guards`).
fn manual(request: &ManualRequest, signal: &Signal, trigger_id: &TriggerId, summary: String) -> Case {
    let evidence = Some(evidence(signal, trigger_id, summary.clone()));
    let (reason, justification) = if request.force {
        (
            Reason::ManualForced,
            format!("{summary} (forced: the cooldown was skipped)"),
        )
    } else {
        (Reason::Manual, summary)
    };
    Case {
        reason,
        justification,
        parameters: full_retrain(),
        evidence,
    }
}

/// A drift report, judged by the model's `[model.drift]` policy: no drift or
/// too few drifted features skip; otherwise mild drift fine-tunes, severe or
/// critical drift retrains in full.
fn drift(
    report: &DriftReport,
    signal: &Signal,
    model: &ModelPolicy,
    trigger_id: &TriggerId,
    summary: String,
) -> Justified {
    let Some(policy) = &model.drift else {
        return Justified::Other {
            action: Action::Ignore,
            reason: Reason::NoDriftPolicy,
            detail: format!(
                "Model {} has no [model.drift] policy, so drift reports are not for it.",
                model.name
            ),
        };
    };
    let assessment = drift::assess(report, policy);
    let evidence = evidence(signal, trigger_id, format!("{summary}: {}", assessment.top(5)));
    let drifted = assessment.drifted_count();
    if drifted == 0 {
        let detail = format!(
            "Drift report {}: no feature of {} drifted beyond ε = {}{}.",
            report.report_id,
            model.name,
            assessment.threshold,
            largest(&assessment)
        );
        return Justified::Other {
            action: Action::Skip(None),
            reason: Reason::NoDrift,
            detail,
        };
    }
    if drifted < policy.min_drifted {
        let detail = format!(
            "Drift report {}: {drifted} feature(s) drifted ({}), fewer than min_drifted = {}; kept as evidence.",
            report.report_id,
            assessment.top(5),
            policy.min_drifted
        );
        return Justified::Other {
            action: Action::Skip(Some(evidence)),
            reason: Reason::BelowThreshold,
            detail,
        };
    }
    let (reason, why) = drift_tier(&assessment, policy);
    let mode = match reason {
        Reason::DriftMild => "incremental",
        _ => "full",
    };
    let mut parameters = vec![("TrainingMode".to_string(), mode.to_string())];
    if reason == Reason::DriftMild {
        parameters.push(("RehearsalFraction".to_string(), policy.rehearsal_fraction.to_string()));
    }
    parameters.push(("DriftScore".to_string(), format!("{:.6}", assessment.score())));
    parameters.push((
        "DriftedFeatures".to_string(),
        assessment.drifted_features(MAX_PARAMETER_VALUE_CHARS),
    ));
    let justification = format!(
        "drift report {}: {drifted} feature(s) drifted beyond ε = {}: {}; {why}, so a {mode} retrain",
        report.report_id,
        assessment.threshold,
        assessment.top(5)
    );
    Justified::Start(Case {
        reason,
        justification,
        parameters,
        evidence: Some(evidence),
    })
}

/// How bad the drift is: critical features first, then severity; with why, in words.
fn drift_tier(assessment: &Assessment, policy: &DriftPolicy) -> (Reason, String) {
    if !assessment.critical.is_empty() {
        let why = format!("critical feature(s) {} drifted", assessment.critical.join(", "));
        (Reason::DriftCritical, why)
    } else if assessment.severe {
        let why = format!(
            "largest distance {:.3} is at least severe = {}",
            assessment.score(),
            policy.severe
        );
        (Reason::DriftSevere, why)
    } else {
        let why = format!(
            "largest distance {:.3} is below severe = {}; fine-tune with {} rehearsal data",
            assessment.score(),
            policy.severe,
            policy.rehearsal_fraction
        );
        (Reason::DriftMild, why)
    }
}

/// `; the largest was sqft at 0.041` when any feature was compared.
fn largest(assessment: &Assessment) -> String {
    assessment
        .features
        .first()
        .map(|feature| format!("; the largest was {} at {:.3}", feature.feature, feature.distance))
        .unwrap_or_default()
}

/// A schedule still asks whether retraining is needed: in `if-evidence` mode
/// only evidence newer than the last start justifies a start.
fn schedule(
    tick: &ScheduleTick,
    model: &ModelPolicy,
    kept: &[Evidence],
    last_start: Option<Timestamp>,
    summary: String,
) -> Justified {
    let fresh: Vec<&Evidence> = kept
        .iter()
        .filter(|evidence| last_start.is_none_or(|started| evidence.at > started))
        .collect();
    let (reason, justification) = match (model.schedule, fresh.is_empty()) {
        (ScheduleMode::IfEvidence, true) => {
            let since = last_start.map_or("yet".to_string(), |at| format!("since the last start at {at}"));
            let detail = format!(
                "Schedule {} fired but no evidence has arrived {since}; {} does not need retraining.",
                tick.schedule_name, model.name
            );
            return Justified::Other {
                action: Action::Skip(None),
                reason: Reason::NoEvidence,
                detail,
            };
        }
        (ScheduleMode::IfEvidence, false) => {
            let summaries: Vec<&str> = fresh.iter().map(|evidence| evidence.summary.as_str()).collect();
            (
                Reason::ScheduledWithEvidence,
                format!("{summary}, with evidence: {}", summaries.join("; ")),
            )
        }
        (ScheduleMode::Always, _) => (Reason::Scheduled, format!("{summary} (schedule mode always)")),
    };
    Justified::Start(Case {
        reason,
        justification,
        parameters: full_retrain(),
        evidence: None,
    })
}
