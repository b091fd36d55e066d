//! The imperative shell around `trigger_decision::decide`: gather history,
//! decide, and apply the decision through the store and the ledger, exactly
//! once however often and however concurrently the event is delivered.

use crate::audit::{AuditRecord, DecisionLog, SeenHistory, NO_MODEL};
use crate::error::TriggerError;
use crate::ledger::{Ledger, ModelState, Write};
use crate::policy_source::PolicyCell;
use crate::store::PipelineStore;
use serde::Serialize;
use std::collections::hash_map::RandomState;
use std::hash::BuildHasher;
use std::sync::atomic::{AtomicBool, Ordering};
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

/// A name for the claims of one decision, different from every other
/// invocation's: it lets an invocation whose claim write landed unanswered
/// (the SDK's retry then fails its condition) know the claim for its own.
/// std's `RandomState` is seeded from the operating system and gives every
/// instance other keys, so its hash of the time differs from one invocation
/// to the next, in one process or in many.
fn claimant() -> String {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |since| since.as_nanos());
    format!("{:016x}", RandomState::new().hash_one(nanos))
}

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
    /// The policy in force; swapped when an S3 policy changes (`policy_source`).
    pub policy: PolicyCell,
    pub store: S,
    pub ledger: L,
    /// Decide everything, start nothing, write nothing.
    pub dry_run: bool,
    /// How long to wait for another invocation's fresh claim before giving up with `Transient`.
    pub claim_wait: Duration,
    /// Where every decision is recorded (the audit trail); `None` records nothing,
    /// for in-memory fakes only. `live_trigger` always sets the S3 one.
    pub decision_log: Option<Arc<dyn DecisionLog>>,
}

/// What a decision saw and passed on, for its audit record.
#[derive(Debug, Default)]
struct Seen {
    history: Option<SeenHistory>,
    parameters: Vec<(String, String)>,
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
            policy: PolicyCell::fixed(policy),
            store,
            ledger,
            dry_run,
            claim_wait: Duration::from_secs(20),
            decision_log: None,
        }
    }

    /// The policy in force now.
    pub fn policy(&self) -> Arc<Policy> {
        self.policy.current()
    }

    /// Decides one signal for every model it is bound to.
    pub async fn handle(&self, signal: &Signal) -> Result<Vec<DecisionRecord>, TriggerError> {
        self.policy.refresh().await;
        let policy = self.policy();
        let models = match route(signal, &policy) {
            Route::Models(models) => models,
            Route::Unmatched(decision) => {
                tracing::warn!(signal = %signal.summary(), "no model in the policy is bound to this signal");
                let record = emit(signal, decision, None, None);
                self.audit(Some(signal), &record, &policy.sha256, Seen::default(), None)
                    .await?;
                return Ok(vec![record]);
            }
        };
        let mut records = Vec::with_capacity(models.len());
        for model in models {
            let mut seen = Seen::default();
            let record = self.handle_for(signal, model, &mut seen).await?;
            self.audit(Some(signal), &record, &policy.sha256, seen, None).await?;
            records.push(record);
        }
        Ok(records)
    }

    /// The decision for a valid input that carries no signal (see `ignore_input`), recorded like every other.
    pub async fn ignore(
        &self,
        reason: &str,
        detail: String,
        input_id: &str,
        path: Path,
    ) -> Result<DecisionRecord, TriggerError> {
        let record = ignore_input(reason, detail, input_id, path);
        let sha256 = self.policy().sha256.clone();
        self.audit(None, &record, &sha256, Seen::default(), Some(path)).await?;
        Ok(record)
    }

    /// Writes the decision's audit record; nothing in a dry run, which writes nothing.
    async fn audit(
        &self,
        signal: Option<&Signal>,
        record: &DecisionRecord,
        policy_sha256: &str,
        seen: Seen,
        path: Option<Path>,
    ) -> Result<(), TriggerError> {
        let Some(log) = self.decision_log.as_ref().filter(|_| !self.dry_run) else {
            return Ok(());
        };
        let at = now();
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
            outcome: record.outcome.as_str().to_string(),
            reason: record.reason.clone(),
            detail: record.detail.clone(),
            execution_arn: record.execution_arn.clone(),
            parameters: seen.parameters.into_iter().collect(),
        };
        log.record(&audit).await
    }

    async fn handle_for(
        &self,
        signal: &Signal,
        model: &ModelPolicy,
        seen: &mut Seen,
    ) -> Result<DecisionRecord, TriggerError> {
        if let Some(decision) = precheck(signal, model, now()) {
            return Ok(emit(signal, decision, None, None));
        }
        let dedupe_key = signal.dedupe_key();
        let claimant = claimant();
        let deadline = Instant::now() + self.claim_wait;
        let mut first_attempt = true;
        loop {
            if !std::mem::take(&mut first_attempt) && Instant::now() >= deadline {
                return Err(TriggerError::transient(
                    format!("deciding {} for model {}", signal.summary(), model.name),
                    "another invocation holds a fresh claim on this model's pipeline, or the ledger kept changing",
                ));
            }
            let now = now();
            let (mut state, etag) = match self.ledger.load(&model.name).await? {
                Some((state, etag)) => (state, Some(etag)),
                None => (ModelState::default(), None),
            };
            let executions = self
                .store
                .recent_executions(&model.pipeline, now.minus(lookback(model)))
                .await?;
            let history = History {
                executions: &executions,
                evidence: &state.evidence,
                recorded_execution: state.execution_for(&dedupe_key),
            };
            seen.history = Some(SeenHistory::new(&executions, &state.evidence));
            let decision = decide(signal, model, history, now);
            // A fresh claim without a recorded start, for this trigger or another
            // of the model, means an invocation is starting the pipeline right now.
            // A decision to start has not seen that start, and would be a second
            // one inside the cooldown: wait for it to be recorded, or for its lease.
            // Unless the claim is this invocation's own: a claim write that
            // landed though its answer was lost, whose retry then lost its condition.
            let already_claimed = state.claimed_by(&dedupe_key, &claimant);
            let starting = !already_claimed
                && state
                    .triggers
                    .values()
                    .any(|claim| claim.execution_arn.is_none() && claim.claimed_at > now.minus(CLAIM_LEASE));
            if starting && matches!(decision.action, Action::Start(_)) {
                tokio::time::sleep(CLAIM_POLL).await;
                continue;
            }
            match &decision.action {
                Action::Start(request) if self.dry_run => {
                    seen.parameters.clone_from(&request.parameters);
                    return Ok(emit(signal, decision, Some(Outcome::DryRun), None));
                }
                Action::Start(request) => {
                    let mut request = request.clone();
                    request.retain_declared(&self.store.declared_parameters(&model.pipeline).await?);
                    seen.parameters.clone_from(&request.parameters);
                    let consumed: Vec<String> = state.evidence.iter().map(|e| e.trigger_id.clone()).collect();
                    if !already_claimed {
                        state.prune(now);
                        state.claim(
                            &dedupe_key,
                            &decision.trigger_id,
                            &request.client_request_token,
                            &claimant,
                            now,
                        );
                        if self.ledger.store(&model.name, &state, etag.as_ref()).await? == Write::Conflict {
                            continue;
                        }
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

/// Whether the JSON log lines (decisions, errors, policy problems) go to
/// stderr rather than stdout; see `log_lines_to_stderr`.
static LOG_LINES_TO_STDERR: AtomicBool = AtomicBool::new(false);

/// Sends the JSON log lines to stderr from now on. In Lambda they belong on
/// stdout, which goes to CloudWatch Logs, where the EMF records become
/// metrics; a command-line tool whose answer is the JSON on its stdout
/// (`retrain start`) calls this first, so that the answer stays one document.
pub fn log_lines_to_stderr() {
    LOG_LINES_TO_STDERR.store(true, Ordering::Relaxed);
}

/// Writes one JSON log line where log lines go: stdout, unless `log_lines_to_stderr` was called.
pub(crate) fn write_log_line(line: impl std::fmt::Display) {
    if LOG_LINES_TO_STDERR.load(Ordering::Relaxed) {
        eprintln!("{line}");
    } else {
        println!("{line}");
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
    write_log_line(decision_log_line(&record, signal, now()));
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
    // A stale event and a budget deferral are also counted on their own, by
    // model, so late deliveries and exhausted budgets can be alarmed on.
    let own_metric = match record.reason.as_str() {
        "stale" => Some("StaleEvent"),
        "budget" => Some("BudgetExhausted"),
        _ => None,
    };
    if let Some(metric) = own_metric {
        if let Some(fields) = line.as_object_mut() {
            fields.insert(metric.to_string(), serde_json::json!(1));
        }
        if let Some(directives) = line
            .pointer_mut("/_aws/CloudWatchMetrics")
            .and_then(|d| d.as_array_mut())
        {
            directives.push(serde_json::json!({
                "Namespace": "RetrainTriggers",
                "Dimensions": [["Model"]],
                "Metrics": [{"Name": metric, "Unit": "Count"}],
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
    write_log_line(log_line(&record, context, now()));
    record
}
