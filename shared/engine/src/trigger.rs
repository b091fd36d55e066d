//! The trigger: the parts it works through, and the gather–decide–apply loop
//! for one signal. This module routes the signal to its models and holds what
//! every decision goes through (its record, its log line, its audit record);
//! `claim` holds the exactly-once protocol each bound model's decision takes.

use crate::audit::{AuditRecord, DecisionLog, SeenHistory, NO_MODEL};
use crate::clock::Clock;
use crate::error::TriggerError;
use crate::ledger::Ledger;
use crate::log_line::{decision_log_line, ignored_input_line, log_lines_discarded, write_log_line};
use crate::policy::PolicySource;
use crate::record::{DecisionRecord, Response};
use crate::reports::ReportReader;
use crate::store::PipelineStore;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use trigger_decision::{
    key, route, Decision, DedupeKey, Outcome, Path, Policy, Reason, Route, Signal, Span, Timestamp,
};

/// How long, by default, an invocation waits for another's fresh claim
/// before giving up with `Transient`.
pub const DEFAULT_CLAIM_WAIT: Span = Span::from_secs(20);

/// The replaceable parts a trigger works through. Each is a trait object:
/// see ARCHITECTURE.md, "One mechanism for every part".
#[derive(Debug, Clone)]
pub struct Parts {
    /// The policy in force, and where it is re-read from.
    pub policy: Arc<dyn PolicySource>,
    pub store: Arc<dyn PipelineStore>,
    pub ledger: Arc<dyn Ledger>,
    /// Where every decision is recorded (the audit trail).
    pub decision_log: Arc<dyn DecisionLog>,
    /// Where drift reports are read from.
    pub reports: Arc<dyn ReportReader>,
    pub clock: Arc<dyn Clock>,
}

/// Everything a trigger function needs after cold start.
#[derive(Debug)]
pub struct Trigger {
    pub parts: Parts,
    /// Decide everything, start nothing, write nothing.
    pub dry_run: bool,
    /// How long to wait for another invocation's fresh claim before giving up with `Transient`.
    pub claim_wait: Span,
    /// When this process first listed each execution that had no start time, by ARN.
    pub(crate) first_seen: Mutex<HashMap<String, Timestamp>>,
}

/// What a decision saw and passed on, for its audit record.
#[derive(Debug, Default)]
pub(crate) struct Seen {
    pub(crate) history: Option<SeenHistory>,
    pub(crate) parameters: Vec<(String, String)>,
}

impl Trigger {
    pub fn new(parts: Parts, dry_run: bool) -> Trigger {
        Trigger {
            parts,
            dry_run,
            claim_wait: DEFAULT_CLAIM_WAIT,
            first_seen: Mutex::default(),
        }
    }

    /// The policy in force now.
    pub fn policy(&self) -> Arc<Policy> {
        self.parts.policy.current()
    }

    /// The current instant, by the trigger's clock.
    pub fn now(&self) -> Timestamp {
        self.parts.clock.now()
    }

    /// Decides decoded signals and collects the response; the common tail of every handler.
    pub async fn respond(&self, signals: &[Signal]) -> Result<Response, TriggerError> {
        let mut decisions = Vec::new();
        for signal in signals {
            decisions.extend(self.handle(signal).await?);
        }
        Ok(Response { decisions })
    }

    /// Decides one signal for every model it is bound to.
    pub async fn handle(&self, signal: &Signal) -> Result<Vec<DecisionRecord>, TriggerError> {
        self.parts.policy.refresh().await;
        let policy = self.policy();
        let models = match route(signal, &policy) {
            Route::Models(models) => models,
            Route::Unmatched(decision) => {
                tracing::warn!(signal = %signal.summary(), "no model in the policy is bound to this signal");
                let record = self.record_of(decision, None, None);
                self.log(signal, &record);
                self.audit(Some(signal), &record, &policy.sha256, Seen::default(), None)
                    .await?;
                return Ok(vec![record]);
            }
        };
        let mut records = Vec::with_capacity(models.len());
        for model in models {
            records.push(self.decide_for(signal, model, &policy.sha256).await?);
        }
        Ok(records)
    }

    /// The decision for a valid input that carries no signal, such as a
    /// monitoring job that did not complete or an object that is not a
    /// report: `ignored`, for no model, logged and recorded like every other.
    /// `input` identifies the input (a job or an object), so that its
    /// redeliveries share one trigger id.
    pub async fn ignore(
        &self,
        reason: Reason,
        detail: String,
        input: &str,
        path: Path,
    ) -> Result<DecisionRecord, TriggerError> {
        let record = DecisionRecord {
            model: None,
            outcome: Outcome::Ignored,
            reason,
            detail,
            trigger_id: key::trigger_id(&DedupeKey::new(input)),
            execution_arn: None,
        };
        write_log_line(ignored_input_line(&record, path, input, self.parts.clock.now()));
        let sha256 = self.policy().sha256.clone();
        self.audit(None, &record, &sha256, Seen::default(), Some(path)).await?;
        Ok(record)
    }

    /// A decision's record, with the outcome it ended in when that is not its
    /// own (a dry run), and the execution it started or found.
    pub(crate) fn record_of(
        &self,
        decision: Decision,
        outcome: Option<Outcome>,
        execution_arn: Option<String>,
    ) -> DecisionRecord {
        let outcome = outcome.unwrap_or_else(|| decision.outcome());
        let (reason, detail) = match outcome {
            Outcome::DryRun => (
                Reason::DryRun,
                format!("Dry run: would have started. {}", decision.detail),
            ),
            _ => (decision.reason, decision.detail),
        };
        DecisionRecord {
            model: decision.model,
            outcome,
            reason,
            detail,
            trigger_id: decision.trigger_id,
            execution_arn,
        }
    }

    /// Writes the decision log line.
    pub(crate) fn log(&self, signal: &Signal, record: &DecisionRecord) {
        if log_lines_discarded() {
            return;
        }
        write_log_line(decision_log_line(record, signal, self.parts.clock.now()));
    }

    /// Writes the decision's audit record; nothing in a dry run, which writes nothing.
    pub(crate) async fn audit(
        &self,
        signal: Option<&Signal>,
        record: &DecisionRecord,
        policy_sha256: &str,
        seen: Seen,
        path: Option<Path>,
    ) -> Result<(), TriggerError> {
        if self.dry_run {
            return Ok(());
        }
        let at = self.parts.clock.now();
        let audit = AuditRecord {
            time: at.to_string(),
            recorded_at: at,
            model: record.model.clone().unwrap_or_else(|| NO_MODEL.to_string()),
            trigger_id: record.trigger_id.clone(),
            trigger_type: signal.map(|signal| signal.trigger_type().to_string()),
            path: signal
                .map(Signal::path)
                .or(path)
                .map_or("unknown", Path::as_str)
                .to_string(),
            dedupe_key: signal.map(Signal::dedupe_key),
            source: signal.map_or_else(|| record.detail.clone(), Signal::summary),
            policy_sha256: policy_sha256.to_string(),
            history: seen.history,
            outcome: record.outcome,
            reason: record.reason,
            detail: record.detail.clone(),
            execution_arn: record.execution_arn.clone(),
            parameters: seen.parameters.into_iter().collect(),
        };
        self.parts.decision_log.record(&audit).await
    }
}
