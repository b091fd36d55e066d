//! The exactly-once protocol for one model's decision: gather the history,
//! decide, and apply the decision through the ledger and the store, however
//! often and however concurrently the event is delivered. Starting is claim,
//! start, record; ARCHITECTURE.md ("Exactly once") gives the argument, and
//! the tests in `tests/exactly_once.rs` run every race it names in memory.

use crate::audit::SeenHistory;
use crate::error::TriggerError;
use crate::ledger::{ETag, ModelState, TriggerKey, Write};
use crate::record::DecisionRecord;
use crate::store::ListedExecution;
use crate::trigger::{Seen, Trigger};
use futures_util::future::join;
use std::collections::hash_map::RandomState;
use std::hash::BuildHasher;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::PoisonError;
use trigger_decision::{
    decide, key, lookback, precheck, Action, Decision, DedupeKey, Evidence, Execution, History, ModelPolicy, Outcome,
    RequestToken, Signal, Span, StartRequest, Timestamp, TriggerId,
};

/// How long a claim without a recorded start holds off other invocations.
/// Longer than a start takes (one SageMaker call with the SDK's retries),
/// shorter than the gap before Lambda's second async retry, so the event
/// is never stuck behind a process that died between claiming and starting.
pub const CLAIM_LEASE: Span = Span::from_secs(90);

/// How often a waiting invocation re-reads a claim held by another.
pub const CLAIM_POLL: Span = Span::from_millis(200);

/// How many times a read-change-write of the ledger is redone on conflict.
const MAX_LEDGER_ATTEMPTS: usize = 25;

/// A name for the claims of one decision, different from every other
/// invocation's: it lets an invocation whose claim write landed unanswered
/// (the SDK's retry then fails its condition) know the claim for its own.
/// std's `RandomState` is seeded from the operating system, and every
/// instance gets other keys, so its hash of a counter differs from one
/// decision to the next, in one process or in many.
fn claimant() -> String {
    static DECISIONS: AtomicU64 = AtomicU64::new(0);
    let decision = DECISIONS.fetch_add(1, Ordering::Relaxed);
    format!("{:016x}", RandomState::new().hash_one(decision))
}

/// One model's decision about one signal, across its attempts.
#[derive(Debug)]
struct Attempt<'a> {
    signal: &'a Signal,
    model: &'a ModelPolicy,
    dedupe_key: DedupeKey,
    claimant: String,
}

/// What one attempt read, both at once: the model's ledger state and its
/// version, and the pipeline's recent executions.
#[derive(Debug)]
struct Gathered {
    state: ModelState,
    etag: Option<ETag>,
    executions: Vec<Execution>,
}

/// The ledger document a claim left, and its version: the document as this
/// invocation wrote (or, for a claim of its own, read) it, or `None` when its
/// version is not known.
type Claimed = Option<(ModelState, Option<ETag>)>;

/// How an attempt ended.
#[derive(Debug)]
enum Step {
    Done(Applied),
    /// Another invocation is starting the pipeline: wait, then try again.
    Wait,
    /// A conditional write lost a race: read again and decide again.
    Again,
}

/// A decision, applied but for the ledger's record of a start, which is
/// written together with the decision's audit record (`Trigger::finish`).
#[derive(Debug)]
struct Applied {
    record: DecisionRecord,
    start: Option<Box<StartRecord>>,
}

impl Applied {
    fn decided(record: DecisionRecord) -> Applied {
        Applied { record, start: None }
    }
}

/// The ledger's record of an execution SageMaker accepted for a trigger.
#[derive(Debug)]
struct StartRecord {
    model: String,
    dedupe_key: DedupeKey,
    trigger_id: TriggerId,
    token: RequestToken,
    execution_arn: String,
    at: Timestamp,
    /// The evidence the decision acted on, consumed by the start.
    consumed: Vec<TriggerId>,
    /// The document as this invocation last wrote or read it, with its
    /// version: the record is one conditional write on it. `None` when the
    /// version is not known, and the document is read first.
    base: Claimed,
}

impl StartRecord {
    fn apply(&self, state: &mut ModelState) {
        let key = TriggerKey {
            dedupe_key: &self.dedupe_key,
            trigger_id: &self.trigger_id,
            token: &self.token,
        };
        state.record_start(key, &self.execution_arn, self.at, &self.consumed);
    }
}

impl Trigger {
    /// Decides `signal` for `model`, applies the decision exactly once, logs
    /// it and writes its audit record under the policy `policy_sha256`.
    pub(crate) async fn decide_for(
        &self,
        signal: &Signal,
        model: &ModelPolicy,
        policy_sha256: &str,
    ) -> Result<DecisionRecord, TriggerError> {
        let mut seen = Seen::default();
        let applied = self.apply(signal, model, &mut seen).await?;
        self.finish(signal, applied, policy_sha256, seen).await
    }

    /// Logs the decision and writes its audit record. A start's record in the
    /// ledger and its audit record do not depend on each other, so they are
    /// written at once; the decision log line follows the ledger's record, as
    /// it follows the decision everywhere else.
    async fn finish(
        &self,
        signal: &Signal,
        applied: Applied,
        policy_sha256: &str,
        seen: Seen,
    ) -> Result<DecisionRecord, TriggerError> {
        let Applied { record, start } = applied;
        let audit = self.audit(Some(signal), &record, policy_sha256, seen, None);
        match start {
            None => {
                self.log(signal, &record);
                audit.await?;
            }
            Some(start) => {
                let (recorded, audited) = join(self.record_start(start), audit).await;
                recorded?;
                self.log(signal, &record);
                audited?;
            }
        }
        Ok(record)
    }

    /// Decides `signal` for `model` and applies the decision exactly once,
    /// but for the record of a start (see `Applied`).
    async fn apply(&self, signal: &Signal, model: &ModelPolicy, seen: &mut Seen) -> Result<Applied, TriggerError> {
        let now = self.parts.clock.now();
        if let Some(decision) = precheck(signal, model, now) {
            return Ok(Applied::decided(self.record_of(decision, None, None)));
        }
        let attempt = Attempt {
            signal,
            model,
            dedupe_key: signal.dedupe_key(),
            claimant: claimant(),
        };
        let deadline = now.plus(self.claim_wait);
        let mut first_attempt = true;
        loop {
            if !std::mem::take(&mut first_attempt) && self.parts.clock.now() >= deadline {
                return Err(TriggerError::transient(
                    format!("deciding {} for model {}", signal.summary(), model.name),
                    "another invocation holds a fresh claim on this model's pipeline, or the ledger kept changing",
                ));
            }
            match self.attempt(&attempt, seen).await? {
                Step::Done(applied) => return Ok(applied),
                Step::Wait => self.parts.clock.sleep(CLAIM_POLL).await,
                Step::Again => {}
            }
        }
    }

    /// Reads, decides and applies once.
    async fn attempt(&self, attempt: &Attempt<'_>, seen: &mut Seen) -> Result<Step, TriggerError> {
        let now = self.parts.clock.now();
        let gathered = self.gather(attempt.model, now).await?;
        let history = History {
            executions: &gathered.executions,
            evidence: &gathered.state.evidence,
            recorded_execution: gathered.state.execution_for(&attempt.dedupe_key),
        };
        seen.history = Some(SeenHistory::new(&gathered.executions, &gathered.state.evidence));
        let decision = decide(attempt.signal, attempt.model, history, now);
        // A fresh claim without a recorded start, for this trigger or another
        // of the model, means an invocation is starting the pipeline right now.
        // A decision to start has not seen that start, and would be a second
        // one inside the cooldown: wait for it to be recorded, or for its lease.
        // Unless the claim is this invocation's own: a claim write that
        // landed though its answer was lost, whose retry then lost its condition.
        let own_claim = gathered.state.claimed_by(&attempt.dedupe_key, &attempt.claimant);
        let starting = !own_claim && gathered.state.fresh_claim(now, CLAIM_LEASE);
        match &decision.action {
            Action::Start(_) if starting => Ok(Step::Wait),
            Action::Start(request) if self.dry_run => {
                seen.parameters.clone_from(&request.parameters);
                let record = self.record_of(decision, Some(Outcome::DryRun), None);
                Ok(Step::Done(Applied::decided(record)))
            }
            Action::Start(request) => {
                let request = request.clone();
                self.start(attempt, (decision, request), gathered, now, seen).await
            }
            Action::AlreadyStarted { execution_arn } => {
                let execution_arn = execution_arn.clone();
                Ok(Step::Done(self.repair(attempt, decision, execution_arn, gathered, now)))
            }
            Action::Defer(Some(evidence)) | Action::Skip(Some(evidence)) if !self.dry_run => {
                let evidence = evidence.clone();
                self.keep(attempt, decision, evidence, gathered, now).await
            }
            _ => {
                // A claim of this invocation's that landed unanswered, for a
                // decision that is no longer a start, would hold every other
                // trigger of the model off until its lease ran out.
                if own_claim {
                    self.release_claim(&attempt.model.name, &attempt.dedupe_key).await;
                }
                Ok(Step::Done(Applied::decided(self.record_of(decision, None, None))))
            }
        }
    }

    /// The model's ledger state and the pipeline's executions in its
    /// look-back window, read at once: neither depends on the other.
    async fn gather(&self, model: &ModelPolicy, now: Timestamp) -> Result<Gathered, TriggerError> {
        let since = now.minus(lookback(model));
        let (ledger, listed) = join(
            self.load(&model.name),
            self.parts.store.recent_executions(&model.pipeline, since),
        )
        .await;
        let (state, etag) = ledger?;
        let mut executions = self.executions_since(listed?, since, now);
        // The listing was read at the same time as the ledger, so it may
        // predate a start the ledger already records: count that start too.
        executions.extend(state.recorded_starts(since, &executions));
        Ok(Gathered {
            state,
            etag,
            executions,
        })
    }

    /// Claims the trigger (unless the claim is already this invocation's own),
    /// reading the pipeline's declared parameters meanwhile, and starts the
    /// pipeline with the derived token; the start's record is written by
    /// `Trigger::finish`, together with the audit record.
    async fn start(
        &self,
        attempt: &Attempt<'_>,
        (decision, mut request): (Decision, StartRequest),
        gathered: Gathered,
        now: Timestamp,
        seen: &mut Seen,
    ) -> Result<Step, TriggerError> {
        let model = attempt.model;
        let consumed: Vec<TriggerId> = gathered.state.evidence.iter().map(|e| e.trigger_id.clone()).collect();
        let key = TriggerKey {
            dedupe_key: &attempt.dedupe_key,
            trigger_id: &decision.trigger_id,
            token: &request.client_request_token,
        };
        // The claim and the declared parameters do not depend on each other.
        let (claimed, declared) = join(
            self.claim(attempt, key, gathered, now),
            self.parts.store.declared_parameters(&model.pipeline),
        )
        .await;
        let Some(base) = claimed? else {
            return Ok(Step::Again);
        };
        let declared = match declared {
            Ok(declared) => declared,
            Err(error) => {
                self.release_claim(&model.name, &attempt.dedupe_key).await;
                return Err(error);
            }
        };
        request.retain_declared(&declared);
        seen.parameters.clone_from(&request.parameters);
        let execution_arn = match self.parts.store.start(&request).await {
            Ok(arn) => arn,
            Err(error) => {
                self.release_claim(&model.name, &attempt.dedupe_key).await;
                return Err(error);
            }
        };
        let start = StartRecord {
            model: model.name.clone(),
            dedupe_key: attempt.dedupe_key.clone(),
            trigger_id: decision.trigger_id.clone(),
            token: request.client_request_token,
            execution_arn: execution_arn.clone(),
            at: now,
            consumed,
            base,
        };
        let record = self.record_of(decision, None, Some(execution_arn));
        Ok(Step::Done(Applied {
            record,
            start: Some(Box::new(start)),
        }))
    }

    /// Writes the claim on `key` into the document `gathered` read, unless the
    /// claim there is already this invocation's own. `None` when the write
    /// lost a race; else the document as claimed (see `Claimed`).
    async fn claim(
        &self,
        attempt: &Attempt<'_>,
        key: TriggerKey<'_>,
        gathered: Gathered,
        now: Timestamp,
    ) -> Result<Option<Claimed>, TriggerError> {
        if gathered.state.claimed_by(&attempt.dedupe_key, &attempt.claimant) {
            return Ok(Some(Some((gathered.state, gathered.etag))));
        }
        let mut state = gathered.state;
        state.prune(now);
        state.claim(key, &attempt.claimant, now);
        Ok(
            match self
                .parts
                .ledger
                .store(&attempt.model.name, &state, gathered.etag.as_ref())
                .await?
            {
                Write::Conflict => None,
                Write::Written(Some(etag)) => Some(Some((state, Some(etag)))),
                // The new version is not known: the record reads the document first.
                Write::Written(None) => Some(None),
            },
        )
    }

    /// An execution carrying this trigger's display name, which the ledger
    /// never recorded (the process died, or the write recording it failed):
    /// the start happened. It is recorded now, so the ledger is consistent.
    fn repair(
        &self,
        attempt: &Attempt<'_>,
        decision: Decision,
        execution_arn: String,
        gathered: Gathered,
        now: Timestamp,
    ) -> Applied {
        let recorded = gathered.state.execution_for(&attempt.dedupe_key).is_some();
        let start = (!recorded).then(|| {
            Box::new(StartRecord {
                model: attempt.model.name.clone(),
                dedupe_key: attempt.dedupe_key.clone(),
                trigger_id: decision.trigger_id.clone(),
                token: key::client_request_token(&attempt.model.pipeline, &attempt.dedupe_key),
                execution_arn: execution_arn.clone(),
                at: now,
                consumed: Vec::new(),
                base: Some((gathered.state, gathered.etag)),
            })
        });
        Applied {
            record: self.record_of(decision, None, Some(execution_arn)),
            start,
        }
    }

    /// Keeps the evidence of a deferred or skipped signal for a later start,
    /// and releases, in the same write, a claim of this invocation's that
    /// landed unanswered (see `attempt`).
    async fn keep(
        &self,
        attempt: &Attempt<'_>,
        decision: Decision,
        evidence: Evidence,
        mut gathered: Gathered,
        now: Timestamp,
    ) -> Result<Step, TriggerError> {
        let own_claim = gathered.state.claimed_by(&attempt.dedupe_key, &attempt.claimant);
        if own_claim {
            gathered.state.release(&attempt.dedupe_key);
        }
        gathered.state.prune(now);
        let kept = gathered.state.keep_evidence(evidence);
        if (kept || own_claim)
            && self
                .parts
                .ledger
                .store(&attempt.model.name, &gathered.state, gathered.etag.as_ref())
                .await?
                == Write::Conflict
        {
            return Ok(Step::Again);
        }
        Ok(Step::Done(Applied::decided(self.record_of(decision, None, None))))
    }

    /// Records a start in the ledger: one conditional write on the document as
    /// this invocation last saw it, or, when that lost a race or the version
    /// is not known, a read-change-write redone on conflict. Evidence that
    /// other deliveries kept meanwhile changed the version, so it is reread
    /// and kept, never overwritten.
    async fn record_start(&self, start: Box<StartRecord>) -> Result<(), TriggerError> {
        if let Some((mut state, etag)) = start.base.clone() {
            start.apply(&mut state);
            if self.parts.ledger.store(&start.model, &state, etag.as_ref()).await? != Write::Conflict {
                return Ok(());
            }
        }
        self.update(&start.model, |state| start.apply(state)).await
    }

    /// The model's ledger state and its version; an empty state when there is none yet.
    async fn load(&self, model: &str) -> Result<(ModelState, Option<ETag>), TriggerError> {
        Ok(match self.parts.ledger.load(model).await? {
            Some((state, etag)) => (state, Some(etag)),
            None => (ModelState::default(), None),
        })
    }

    /// Read, change, conditionally write; redone on conflict.
    async fn update(&self, model: &str, change: impl Fn(&mut ModelState)) -> Result<(), TriggerError> {
        for _ in 0..MAX_LEDGER_ATTEMPTS {
            let (mut state, etag) = self.load(model).await?;
            change(&mut state);
            if self.parts.ledger.store(model, &state, etag.as_ref()).await? != Write::Conflict {
                return Ok(());
            }
        }
        Err(TriggerError::transient(
            format!("updating the ledger of model {model}"),
            format!("{MAX_LEDGER_ATTEMPTS} conditional writes in a row lost to concurrent writers"),
        ))
    }

    /// Best effort: drops a claim that led to no start (the start failed, or
    /// the decision changed), so that a retry or another trigger may go ahead
    /// at once. If this fails too, the claim's lease runs out instead.
    async fn release_claim(&self, model: &str, dedupe_key: &DedupeKey) {
        if let Err(error) = self.update(model, |state| state.release(dedupe_key)).await {
            tracing::warn!(%error, model, "could not release a claim that led to no start; it expires with its lease");
        }
    }

    /// The executions `decide` sees: those listed as started at or after
    /// `since` (not every endpoint honours the listing's lower bound). One
    /// listed without a start time is taken as started when this process
    /// first saw it (`now` at the first listing): it cost a training run like
    /// any other, so the budget and the cooldown count it.
    fn executions_since(&self, listed: Vec<ListedExecution>, since: Timestamp, now: Timestamp) -> Vec<Execution> {
        let mut first_seen = self.first_seen.lock().unwrap_or_else(PoisonError::into_inner);
        listed
            .into_iter()
            .filter_map(|listed| {
                let started_at = match listed.started_at {
                    Some(started_at) => started_at,
                    None => *first_seen.entry(listed.arn.clone()).or_insert(now),
                };
                (started_at >= since).then_some(Execution {
                    arn: listed.arn,
                    status: listed.status,
                    started_at,
                    display_name: listed.display_name,
                })
            })
            .collect()
    }
}
