//! The imperative shell around `trigger_decision::decide`: gather history,
//! decide, and apply the decision through the store and the ledger, exactly
//! once however often and however concurrently the event is delivered.

use crate::error::TriggerError;
use crate::ledger::{Ledger, ModelState, Write};
use crate::store::PipelineStore;
use serde::Serialize;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use trigger_decision::Route;
use trigger_decision::{
    decide, key, lookback, precheck, route, Action, Decision, History, ModelPolicy, Outcome, Policy,
};
use trigger_decision::{Path, Signal, Span, Timestamp};

/// How long a claim without a recorded start holds off other invocations.
/// Longer than a start takes (one SageMaker call with the SDK's retries),
/// shorter than the gap before Lambda's second async retry, so the event
/// is never stuck behind a process that died between claiming and starting.
pub const CLAIM_LEASE: Span = Span::from_secs(90);

/// How often a waiting invocation re-reads a claim held by another.
const CLAIM_POLL: Duration = Duration::from_millis(200);

/// How many times a read-change-write of the ledger is redone on conflict.
const MAX_LEDGER_ATTEMPTS: usize = 25;

/// One decision, as the function returns it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DecisionRecord {
    pub model: Option<String>,
    pub outcome: Outcome,
    pub reason: String,
    pub detail: String,
    pub trigger_id: String,
    pub execution_arn: Option<String>,
}

/// The function's response: `{"decisions": [...]}`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Response {
    pub decisions: Vec<DecisionRecord>,
}

/// Everything a trigger function needs after cold start.
#[derive(Debug)]
pub struct Trigger<S, L> {
    pub policy: Arc<Policy>,
    pub store: S,
    pub ledger: L,
    /// Decide everything, start nothing, write nothing.
    pub dry_run: bool,
    /// How long to wait for another invocation's fresh claim before giving up with `Transient`.
    pub claim_wait: Duration,
}

/// The wall clock, read only by the shell.
pub fn now() -> Timestamp {
    let millis = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |since| since.as_millis());
    Timestamp(i64::try_from(millis).unwrap_or(i64::MAX))
}

impl<S: PipelineStore, L: Ledger> Trigger<S, L> {
    pub fn new(policy: Policy, store: S, ledger: L, dry_run: bool) -> Self {
        Trigger {
            policy: Arc::new(policy),
            store,
            ledger,
            dry_run,
            claim_wait: Duration::from_secs(20),
        }
    }

    /// Decides one signal for every model it is bound to.
    pub async fn handle(&self, signal: &Signal) -> Result<Vec<DecisionRecord>, TriggerError> {
        let models = match route(signal, &self.policy) {
            Route::Models(models) => models,
            Route::Unmatched(decision) => {
                tracing::warn!(signal = %signal.summary(), "no model in the policy is bound to this signal");
                return Ok(vec![emit(signal, decision, None, None)]);
            }
        };
        let mut records = Vec::with_capacity(models.len());
        for model in models {
            records.push(self.handle_for(signal, model).await?);
        }
        Ok(records)
    }

    async fn handle_for(&self, signal: &Signal, model: &ModelPolicy) -> Result<DecisionRecord, TriggerError> {
        if let Some(decision) = precheck(signal, model, now()) {
            return Ok(emit(signal, decision, None, None));
        }
        let dedupe_key = signal.dedupe_key();
        let deadline = Instant::now() + self.claim_wait;
        let mut first_attempt = true;
        loop {
            if !std::mem::take(&mut first_attempt) && Instant::now() >= deadline {
                return Err(TriggerError::transient(
                    format!("deciding {} for model {}", signal.summary(), model.name),
                    "another invocation holds a fresh claim on this trigger, or the ledger kept changing",
                ));
            }
            let now = now();
            let (mut state, etag) = match self.ledger.load(&model.name).await? {
                Some((state, etag)) => (state, Some(etag)),
                None => (ModelState::default(), None),
            };
            if let Some(claim) = state.triggers.get(&dedupe_key) {
                if claim.execution_arn.is_none() && claim.claimed_at > now.minus(CLAIM_LEASE) {
                    // Another invocation is starting this very trigger; wait for its result.
                    tokio::time::sleep(CLAIM_POLL).await;
                    continue;
                }
            }
            let executions = self
                .store
                .recent_executions(&model.pipeline, now.minus(lookback(model)))
                .await?;
            let history = History {
                executions: &executions,
                evidence: &state.evidence,
                recorded_execution: state.execution_for(&dedupe_key),
            };
            let decision = decide(signal, model, history, now);
            match &decision.action {
                Action::Start(_) if self.dry_run => {
                    return Ok(emit(signal, decision, Some(Outcome::DryRun), None));
                }
                Action::Start(request) => {
                    let mut request = request.clone();
                    request.retain_declared(&self.store.declared_parameters(&model.pipeline).await?);
                    let consumed: Vec<String> = state.evidence.iter().map(|e| e.trigger_id.clone()).collect();
                    state.prune(now);
                    state.claim(&dedupe_key, &decision.trigger_id, &request.client_request_token, now);
                    if self.ledger.store(&model.name, &state, etag.as_ref()).await? == Write::Conflict {
                        continue;
                    }
                    let execution_arn = match self.store.start(&request).await {
                        Ok(arn) => arn,
                        Err(error) => {
                            self.release_claim(&model.name, &dedupe_key).await;
                            return Err(error);
                        }
                    };
                    self.update(&model.name, |state| {
                        state.record_start(
                            &dedupe_key,
                            &decision.trigger_id,
                            &request.client_request_token,
                            &execution_arn,
                            now,
                            &consumed,
                        )
                    })
                    .await?;
                    return Ok(emit(signal, decision, None, Some(execution_arn)));
                }
                Action::AlreadyStarted { execution_arn } => {
                    if state.execution_for(&dedupe_key).is_none() {
                        // Found through its display name: the start happened but was
                        // never recorded. Record it now so the ledger is consistent.
                        let token = key::client_request_token(&model.pipeline, &dedupe_key);
                        self.update(&model.name, |state| {
                            state.record_start(&dedupe_key, &decision.trigger_id, &token, execution_arn, now, &[])
                        })
                        .await?;
                    }
                    let execution_arn = execution_arn.clone();
                    return Ok(emit(signal, decision, None, Some(execution_arn)));
                }
                Action::Defer(Some(evidence)) | Action::Skip(Some(evidence)) if !self.dry_run => {
                    state.prune(now);
                    if state.keep_evidence(evidence.clone())
                        && self.ledger.store(&model.name, &state, etag.as_ref()).await? == Write::Conflict
                    {
                        continue;
                    }
                    return Ok(emit(signal, decision, None, None));
                }
                _ => return Ok(emit(signal, decision, None, None)),
            }
        }
    }

    /// Read, change, conditionally write; redone on conflict.
    async fn update(&self, model: &str, change: impl Fn(&mut ModelState)) -> Result<(), TriggerError> {
        for _ in 0..MAX_LEDGER_ATTEMPTS {
            let (mut state, etag) = match self.ledger.load(model).await? {
                Some((state, etag)) => (state, Some(etag)),
                None => (ModelState::default(), None),
            };
            change(&mut state);
            if self.ledger.store(model, &state, etag.as_ref()).await? == Write::Written {
                return Ok(());
            }
        }
        Err(TriggerError::transient(
            format!("updating the ledger of model {model}"),
            format!("{MAX_LEDGER_ATTEMPTS} conditional writes in a row lost to concurrent writers"),
        ))
    }

    /// Best effort: lets a retry claim again at once after a failed start. If
    /// this fails too, the claim's lease runs out and a later retry takes over.
    async fn release_claim(&self, model: &str, dedupe_key: &str) {
        if let Err(error) = self.update(model, |state| state.release(dedupe_key)).await {
            tracing::warn!(%error, model, "could not release the claim after a failed start; it expires with its lease");
        }
    }
}

/// Turns a decision into its record and writes the decision log line.
fn emit(
    signal: &Signal,
    decision: Decision,
    outcome: Option<Outcome>,
    execution_arn: Option<String>,
) -> DecisionRecord {
    let outcome = outcome.unwrap_or_else(|| decision.outcome());
    let (reason, detail) = match outcome {
        Outcome::DryRun => ("dry-run", format!("Dry run: would have started. {}", decision.detail)),
        _ => (decision.reason, decision.detail),
    };
    let record = DecisionRecord {
        model: decision.model,
        outcome,
        reason: reason.to_string(),
        detail,
        trigger_id: decision.trigger_id,
        execution_arn,
    };
    println!("{}", decision_log_line(&record, signal, now()));
    record
}

/// One JSON line per decision. It is both the structured decision log and a
/// CloudWatch Embedded Metric Format record: CloudWatch turns the `_aws`
/// block into the metric `RetrainTriggers/Decisions` by `Model` and
/// `Outcome`, and keeps the other fields searchable in Logs Insights.
pub fn decision_log_line(record: &DecisionRecord, signal: &Signal, at: Timestamp) -> String {
    let context = serde_json::json!({
        "trigger_type": signal.trigger_type().to_string(),
        "path": signal.path().as_str(),
        "dedupe_key": signal.dedupe_key(),
        "signal": signal.summary(),
    });
    log_line(record, context, at)
}

fn log_line(record: &DecisionRecord, context: serde_json::Value, at: Timestamp) -> String {
    let mut line = serde_json::json!({
        "_aws": {
            "Timestamp": at.millis(),
            "CloudWatchMetrics": [{
                "Namespace": "RetrainTriggers",
                "Dimensions": [["Model", "Outcome"]],
                "Metrics": [{"Name": "Decisions", "Unit": "Count"}],
            }],
        },
        "Model": record.model.as_deref().unwrap_or("none"),
        "Outcome": record.outcome.as_str(),
        "Decisions": 1,
        "message": "retrain decision",
        "reason": record.reason,
        "detail": record.detail,
        "trigger_id": record.trigger_id,
        "execution_arn": record.execution_arn,
    });
    if let (Some(line), serde_json::Value::Object(context)) = (line.as_object_mut(), context) {
        line.extend(context);
    }
    // A stale event is also counted on its own, by model, so late deliveries can be alarmed on.
    if record.reason == "stale" {
        if let Some(fields) = line.as_object_mut() {
            fields.insert("StaleEvent".to_string(), serde_json::json!(1));
        }
        if let Some(directives) = line
            .pointer_mut("/_aws/CloudWatchMetrics")
            .and_then(|d| d.as_array_mut())
        {
            directives.push(serde_json::json!({
                "Namespace": "RetrainTriggers",
                "Dimensions": [["Model"]],
                "Metrics": [{"Name": "StaleEvent", "Unit": "Count"}],
            }));
        }
    }
    line.to_string()
}

/// The decision for a valid input that carries no signal, such as a monitoring
/// job that did not complete or an object that is not a report: `ignored`,
/// for no model, logged like every other decision.
pub fn ignore_input(reason: &str, detail: String, input_id: &str, path: Path) -> DecisionRecord {
    let record = DecisionRecord {
        model: None,
        outcome: Outcome::Ignored,
        reason: reason.to_string(),
        detail,
        trigger_id: key::trigger_id(input_id),
        execution_arn: None,
    };
    let context = serde_json::json!({"path": path.as_str(), "input": input_id});
    println!("{}", log_line(&record, context, now()));
    record
}
