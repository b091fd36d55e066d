//! `decide`: signal + model policy + history + now -> decision.
//!
//! This is the principle "retrain only when necessary" as code. It never
//! fails and never reads a clock, so every rule here is tested by tables.
//! `decide` is the list of steps; each concern has a module of its own:
//!
//! - `route`: which models a signal is for, and the decisions that need no
//!   history (a stale event, an alarm that did not move into ALARM);
//! - `justify`: what justifies a start, one function per signal kind;
//! - `guards`: what holds a justified start back (in flight, budget, cooldown);
//! - `start`: the start request (parameters, texts cut to SageMaker's limits).

mod guards;
mod justify;
mod route;
mod start;
#[cfg(test)]
mod tests;

pub use guards::lookback;
pub use route::{precheck, route, Route};

use crate::key::{self, RequestToken, TriggerId};
use crate::outcome::{Outcome, Reason};
use crate::policy::ModelPolicy;
use crate::signal::Signal;
use crate::time::Timestamp;
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

/// Decides what to do about `signal` for `model`: the steps, in the order they apply.
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

    if let Some(execution_arn) = already_started(&history, &display_name) {
        let detail = format!(
            "This {} was already acted on: execution {execution_arn}.",
            describe(signal)
        );
        return decision(Action::AlreadyStarted { execution_arn }, Reason::AlreadyStarted, detail);
    }
    let last_start = history.executions.iter().map(|execution| execution.started_at).max();
    let case = match justify::case(signal, model, history.evidence, last_start, &trigger_id) {
        justify::Justified::Start(case) => case,
        justify::Justified::Other { action, reason, detail } => return decision(action, reason, detail),
    };
    if let Some((reason, detail)) = guards::holding_back(signal, model, history.executions, last_start, now) {
        return decision(Action::Defer(case.evidence), reason, detail);
    }
    let reason = case.reason;
    let ids = start::Ids {
        trigger_id: &trigger_id,
        token,
        trigger_type,
        display_name,
    };
    let (request, detail) = start::request(signal, model, ids, case);
    decision(Action::Start(request), reason, detail)
}

/// Exactly once: the ledger's record, or an execution carrying this
/// trigger's display name, means the start already happened.
fn already_started(history: &History<'_>, display_name: &str) -> Option<String> {
    history.recorded_execution.map(str::to_string).or_else(|| {
        history
            .executions
            .iter()
            .find(|execution| execution.display_name.as_deref() == Some(display_name))
            .map(|execution| execution.arn.clone())
    })
}

/// The event, as the detail of `already-started` names it.
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
