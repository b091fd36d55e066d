//! The audit trail: every decision of every function as an immutable
//! record. A record holds what an operator needs to answer "why did this
//! model retrain on Tuesday?" and "why didn't it when the alarm fired?": the
//! trigger and a summary of its event, the policy's content hash, the history
//! the decision saw, and the outcome with the execution and its parameters.
//! `trigger-aws`'s `S3DecisionLog` writes each record once under
//! `<prefix>/decisions/<model>/<yyyy>/<mm>/<dd>/<timestamp>-<trigger_id>.json`;
//! `memory::MemoryDecisionLog` keeps them in memory.

use crate::error::TriggerError;
use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use trigger_decision::{DedupeKey, Evidence, Execution, ExecutionStatus, Outcome, Reason, Timestamp, TriggerId};

/// The model name under which decisions for no model are filed.
pub const NO_MODEL: &str = "none";

/// One decision, as the audit trail keeps it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditRecord {
    /// When the decision was made, RFC 3339 UTC.
    pub time: String,
    pub recorded_at: Timestamp,
    /// The model, or `none` when no model was bound to the event.
    pub model: String,
    pub trigger_id: TriggerId,
    /// `metric`, `schedule`, `drift` or `manual`; `None` for an input that carried no signal.
    pub trigger_type: Option<String>,
    /// How the event arrived, e.g. `sns` or `function-url`.
    pub path: String,
    pub dedupe_key: Option<DedupeKey>,
    /// The source event in one line: the alarm with its value and threshold,
    /// the report, the schedule, or who asked and why.
    pub source: String,
    /// SHA-256 of the policy text the decision was made under.
    pub policy_sha256: String,
    /// What the decision saw; `None` when it needed no history (an ignored or stale event).
    pub history: Option<SeenHistory>,
    pub outcome: Outcome,
    pub reason: Reason,
    pub detail: String,
    pub execution_arn: Option<String>,
    /// The parameters passed to (or, in a dry run, that would have gone to) the pipeline.
    pub parameters: BTreeMap<String, String>,
}

/// The history a decision saw.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct SeenHistory {
    /// The most recent execution of the pipeline, whoever started it.
    pub last_start: Option<SeenExecution>,
    /// An execution still `Executing` or `Stopping`.
    pub in_flight: Option<SeenExecution>,
    /// Executions listed in the look-back window.
    pub executions: usize,
    /// Evidence kept in the ledger, not yet acted on.
    pub evidence: usize,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SeenExecution {
    pub arn: String,
    pub status: String,
    pub started_at: String,
}

impl SeenHistory {
    pub fn new(executions: &[Execution], evidence: &[Evidence]) -> SeenHistory {
        let seen = |execution: &Execution| SeenExecution {
            arn: execution.arn.clone(),
            status: match &execution.status {
                ExecutionStatus::Other(text) => text.clone(),
                known => format!("{known:?}"),
            },
            started_at: execution.started_at.to_string(),
        };
        SeenHistory {
            last_start: executions.iter().max_by_key(|execution| execution.started_at).map(seen),
            in_flight: executions
                .iter()
                .find(|execution| execution.status.is_in_flight())
                .map(seen),
            executions: executions.len(),
            evidence: evidence.len(),
        }
    }
}

impl AuditRecord {
    /// The record's key under the ledger prefix:
    /// `decisions/<model>/<yyyy>/<mm>/<dd>/<yyyymmddThhmmssmmmZ>-<trigger_id>.json`.
    pub fn relative_key(&self) -> String {
        // `2024-01-04T09:15:30.123Z`: the date parts name the folders, the compact form the file.
        let time = self.recorded_at.to_string();
        let (year, month, day) = (&time[0..4], &time[5..7], &time[8..10]);
        let stamp: String = time.chars().filter(|c| !matches!(c, '-' | ':' | '.')).collect();
        format!(
            "decisions/{}/{year}/{month}/{day}/{stamp}-{}.json",
            self.model, self.trigger_id
        )
    }
}

/// Where decision records go. A record is written once and never changed;
/// writing the same record again is not an error. A failure fails the
/// invocation as any AWS call's does: `Transient` when a retry can succeed
/// (the retry answers `already-started`, or decides again, and records again),
/// `Misconfigured` when the store refused (no such bucket, access denied).
#[async_trait]
pub trait DecisionLog: Send + Sync + std::fmt::Debug {
    async fn record(&self, record: &AuditRecord) -> Result<(), TriggerError>;
}
