//! The decision engine behind the replay: `trigger_engine::Trigger`, the
//! code the functions run in Lambda, over `trigger_engine::memory`'s parts
//! under a virtual clock. Every decision a backtest reports is the engine's:
//! it routes, claims, gathers the history, decides and records exactly as a
//! function would, only against memory instead of SageMaker and S3.
//!
//! A start's execution stays `Executing` for the replay's run duration, then
//! succeeds (`MemoryStore::set_duration`), so the in-flight check, the
//! cooldown and the budget see what they would have seen. Executions from
//! `list-pipeline-executions` seed the store first (`SeededExecution`).

use crate::replay::{Engine, EngineDecision, Run};
use std::future::Future;
use std::pin::pin;
use std::task::{Context, Poll, Waker};
use trigger_decision::{ExecutionStatus, Outcome, Policy, Signal, Span, Timestamp};
use trigger_engine::memory::Memory;
use trigger_engine::{DecisionRecord, Trigger, TriggerError};

/// An execution that happened before the replay, as `list-pipeline-executions` lists it.
#[derive(Debug, Clone, PartialEq)]
pub struct SeededExecution {
    pub pipeline: String,
    pub status: ExecutionStatus,
    pub started_at: Timestamp,
}

/// `trigger_engine::Trigger` over in-memory parts, for one replay.
#[derive(Debug)]
pub struct ReplayEngine {
    memory: Memory,
    trigger: Trigger,
    run_duration: Span,
}

impl ReplayEngine {
    /// An engine deciding under `policy`, its clock at `start`, every
    /// pipeline's executions running for `run_duration`, with `seeded` already listed.
    pub fn new(policy: &Policy, start: Timestamp, run_duration: Span, seeded: &[SeededExecution]) -> ReplayEngine {
        let memory = Memory::new(start);
        let trigger = memory.trigger(policy.clone());
        for model in &policy.models {
            memory.store.set_duration(&model.pipeline, run_duration);
        }
        for execution in seeded {
            let arn = memory.store.add_execution(
                &execution.pipeline,
                execution.status.clone(),
                Some(execution.started_at),
            );
            // A listing taken while an execution ran says nothing of its end:
            // it is given the replay's run duration, like the replay's own.
            if execution.status.is_in_flight() {
                memory.store.finish_at(
                    &arn,
                    execution.started_at.plus(run_duration),
                    ExecutionStatus::Succeeded,
                );
            }
        }
        ReplayEngine {
            memory,
            trigger,
            run_duration,
        }
    }

    /// The in-memory parts, to look into after a replay (audit records, ledger, executions).
    pub fn memory(&self) -> &Memory {
        &self.memory
    }

    /// The replay's view of one of the engine's records.
    fn convert(&self, record: DecisionRecord, now: Timestamp) -> EngineDecision {
        let run = match (&record.outcome, &record.execution_arn) {
            (Outcome::Started, Some(arn)) => Some(Run {
                execution_arn: arn.clone(),
                started_at: now,
                ends_at: now.plus(self.run_duration),
            }),
            _ => None,
        };
        let evidence_kept = matches!(record.outcome, Outcome::Deferred | Outcome::Skipped)
            && record.model.as_deref().is_some_and(|model| {
                self.memory.ledger.state(model).is_some_and(|state| {
                    state
                        .evidence
                        .iter()
                        .any(|evidence| evidence.trigger_id == record.trigger_id)
                })
            });
        EngineDecision {
            model: record.model,
            outcome: record.outcome,
            reason: record.reason.to_string(),
            detail: record.detail,
            evidence_kept,
            run,
        }
    }
}

impl Engine for ReplayEngine {
    type Error = TriggerError;

    async fn advance_to(&mut self, now: Timestamp) -> Result<(), TriggerError> {
        // The store ends each execution by the clock: moving it is all it takes.
        self.memory.clock.set(now);
        Ok(())
    }

    async fn deliver(&mut self, now: Timestamp, signal: &Signal) -> Result<Vec<EngineDecision>, TriggerError> {
        self.memory.clock.set(now);
        let records = self.trigger.handle(signal).await?;
        Ok(records.into_iter().map(|record| self.convert(record, now)).collect())
    }
}

/// How many times `block_on` polls before it gives up: far more than the
/// engine's longest wait (a claim wait of 20 s polled every 200 ms) needs.
const MOST_POLLS: usize = 1_000_000;

/// Runs a replay's future to its end on the calling thread, without an
/// async runtime. The in-memory parts never wait on anything outside: the
/// only time one is pending is the virtual clock's `sleep`, which has
/// already asked to be polled again. `None` if the future is still
/// pending after `MOST_POLLS` polls, which would be a bug in those parts.
pub fn block_on<F: Future>(future: F) -> Option<F::Output> {
    let mut future = pin!(future);
    let mut context = Context::from_waker(Waker::noop());
    for _ in 0..MOST_POLLS {
        if let Poll::Ready(output) = future.as_mut().poll(&mut context) {
            return Some(output);
        }
    }
    None
}
