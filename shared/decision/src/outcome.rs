//! What a decision is called: the kind of answer (`Outcome`) and the code
//! that says why (`Reason`). Both are enums that code matches on, written
//! kebab-case for the outside world: the function's response, the decision
//! log line, its metrics and the audit records.

use serde::{Deserialize, Serialize};
use std::fmt;

/// The kind of answer, as the response and metrics name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Outcome {
    Started,
    AlreadyStarted,
    Deferred,
    Skipped,
    Ignored,
    DryRun,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Started => "started",
            Outcome::AlreadyStarted => "already-started",
            Outcome::Deferred => "deferred",
            Outcome::Skipped => "skipped",
            Outcome::Ignored => "ignored",
            Outcome::DryRun => "dry-run",
        }
    }
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a decision came out as it did: one code per rule in ARCHITECTURE.md's
/// "Decision rules", plus the inputs that carry no signal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Reason {
    /// Started: an alarm moved into ALARM.
    Alarm,
    /// Started: a schedule in `if-evidence` mode found evidence since the last start.
    ScheduledWithEvidence,
    /// Started: a schedule in `always` mode.
    Scheduled,
    /// Started: a person asked.
    Manual,
    /// Started: a person asked with `force`, which skips the cooldown.
    ManualForced,
    /// Started: a drift report with mild drift, fine-tuned with rehearsal data.
    DriftMild,
    /// Started: a drift report whose largest distance reaches `severe`.
    DriftSevere,
    /// Started: a drift report in which a critical feature drifted.
    DriftCritical,
    /// This event was already acted on.
    AlreadyStarted,
    /// Deferred: an execution is still running.
    InFlight,
    /// Deferred: the model's `max_starts` budget is used up.
    Budget,
    /// Deferred: an execution started inside the cooldown.
    Cooldown,
    /// Skipped: a schedule in `if-evidence` mode found no evidence.
    NoEvidence,
    /// Skipped: no feature drifted.
    NoDrift,
    /// Skipped: fewer features drifted than `min_drifted`.
    BelowThreshold,
    /// Ignored: a drift report for a model without `[model.drift]`.
    NoDriftPolicy,
    /// Ignored: an alarm moved to a state other than ALARM.
    NotAlarmState,
    /// Ignored: the event's own time is further from now than `max_event_age`.
    Stale,
    /// Ignored: no model in the policy is bound to the signal.
    NoMatchingModel,
    /// Ignored: a monitoring job that did not complete, so there is no report.
    JobNotCompleted,
    /// Ignored: an S3 object that is not a `statistics.json`.
    NotStatistics,
    /// A dry run would have started.
    DryRun,
}

impl Reason {
    /// Every reason, for tables and tests.
    pub const ALL: [Reason; 22] = [
        Reason::Alarm,
        Reason::ScheduledWithEvidence,
        Reason::Scheduled,
        Reason::Manual,
        Reason::ManualForced,
        Reason::DriftMild,
        Reason::DriftSevere,
        Reason::DriftCritical,
        Reason::AlreadyStarted,
        Reason::InFlight,
        Reason::Budget,
        Reason::Cooldown,
        Reason::NoEvidence,
        Reason::NoDrift,
        Reason::BelowThreshold,
        Reason::NoDriftPolicy,
        Reason::NotAlarmState,
        Reason::Stale,
        Reason::NoMatchingModel,
        Reason::JobNotCompleted,
        Reason::NotStatistics,
        Reason::DryRun,
    ];

    /// The kebab-case code, as serde writes it.
    pub fn as_str(self) -> &'static str {
        match self {
            Reason::Alarm => "alarm",
            Reason::ScheduledWithEvidence => "scheduled-with-evidence",
            Reason::Scheduled => "scheduled",
            Reason::Manual => "manual",
            Reason::ManualForced => "manual-forced",
            Reason::DriftMild => "drift-mild",
            Reason::DriftSevere => "drift-severe",
            Reason::DriftCritical => "drift-critical",
            Reason::AlreadyStarted => "already-started",
            Reason::InFlight => "in-flight",
            Reason::Budget => "budget",
            Reason::Cooldown => "cooldown",
            Reason::NoEvidence => "no-evidence",
            Reason::NoDrift => "no-drift",
            Reason::BelowThreshold => "below-threshold",
            Reason::NoDriftPolicy => "no-drift-policy",
            Reason::NotAlarmState => "not-alarm-state",
            Reason::Stale => "stale",
            Reason::NoMatchingModel => "no-matching-model",
            Reason::JobNotCompleted => "job-not-completed",
            Reason::NotStatistics => "not-statistics",
            Reason::DryRun => "dry-run",
        }
    }
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    /// The codes the response, the decision log and the audit records carry:
    /// written by serde exactly as `as_str` spells them, and read back.
    #[test]
    fn every_reason_is_written_and_read_as_its_kebab_case_code() {
        let check = |reason: Reason, code: &str| {
            assert_eq!(reason.as_str(), code);
            assert_eq!(serde_json::to_string(&reason).unwrap(), format!("\"{code}\""));
            assert_eq!(serde_json::from_str::<Reason>(&format!("\"{code}\"")).unwrap(), reason);
        };
        let codes = [
            "alarm",
            "scheduled-with-evidence",
            "scheduled",
            "manual",
            "manual-forced",
            "drift-mild",
            "drift-severe",
            "drift-critical",
            "already-started",
            "in-flight",
            "budget",
            "cooldown",
            "no-evidence",
            "no-drift",
            "below-threshold",
            "no-drift-policy",
            "not-alarm-state",
            "stale",
            "no-matching-model",
            "job-not-completed",
            "not-statistics",
            "dry-run",
        ];
        for (reason, code) in Reason::ALL.into_iter().zip(codes) {
            check(reason, code);
        }
        assert!(serde_json::from_str::<Reason>("\"Alarm\"").is_err());
    }

    #[test]
    fn every_outcome_is_written_and_read_as_its_kebab_case_code() {
        for outcome in [
            Outcome::Started,
            Outcome::AlreadyStarted,
            Outcome::Deferred,
            Outcome::Skipped,
            Outcome::Ignored,
            Outcome::DryRun,
        ] {
            let written = serde_json::to_string(&outcome).unwrap();
            assert_eq!(written, format!("\"{}\"", outcome.as_str()));
            assert_eq!(serde_json::from_str::<Outcome>(&written).unwrap(), outcome);
        }
    }
}
