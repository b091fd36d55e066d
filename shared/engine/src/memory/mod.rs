//! In-memory parts for every trait the engine works through, faithful
//! enough to run the exactly-once protocol's races without AWS: the ledger
//! answers conditional writes as S3 does, the store starts at most one
//! execution per token and moves executions along a virtual clock, and each
//! can be told to fail, or to lose an answer, at a chosen call. The engine's
//! own tests, `tests/tests/hostile.rs`, the benchmarks and replays use them.
//!
//! A replay starts executions through the trigger (or `MemoryStore::add_execution`),
//! gives each pipeline a duration (`MemoryStore::set_duration`) or ends an
//! execution at a chosen time (`MemoryStore::finish_at`), and moves the
//! `ManualClock` between events.

mod clock;
mod ledger;
mod log;
mod reports;
mod store;

pub use clock::ManualClock;
pub use ledger::{Hook, MemoryLedger, WriteFault};
pub use log::MemoryDecisionLog;
pub use reports::MemoryReports;
pub use store::{MemoryStore, StoreCall, StoreFault};

use crate::policy::FixedPolicy;
use crate::trigger::{Parts, Trigger};
use std::sync::Arc;
use trigger_decision::{Policy, Timestamp};

/// Every parameter the triggers can pass, as the reference pipeline declares them
/// (`infra/pipeline/retrain-pipeline.json`), plus the policies' `DataWindowDays`.
pub const TRIGGER_PARAMETERS: [&str; 5] = [
    "TriggerType",
    "TriggerReason",
    "TriggerId",
    "ModelApprovalStatus",
    "DataWindowDays",
];

/// One set of in-memory parts sharing one clock, kept at hand to look into
/// and to script while a trigger works through them.
#[derive(Debug, Clone)]
pub struct Memory {
    pub clock: Arc<ManualClock>,
    pub store: Arc<MemoryStore>,
    pub ledger: Arc<MemoryLedger>,
    pub decision_log: Arc<MemoryDecisionLog>,
    pub reports: Arc<MemoryReports>,
}

impl Memory {
    /// Empty parts, the clock at `start`.
    pub fn new(start: Timestamp) -> Memory {
        let clock = Arc::new(ManualClock::new(start));
        Memory {
            store: Arc::new(MemoryStore::new(clock.clone())),
            clock,
            ledger: Arc::new(MemoryLedger::new()),
            decision_log: Arc::new(MemoryDecisionLog::new()),
            reports: Arc::new(MemoryReports::new()),
        }
    }

    /// The parts, for a trigger deciding under `policy`.
    pub fn parts(&self, policy: Policy) -> Parts {
        Parts {
            policy: Arc::new(FixedPolicy::new(policy)),
            store: self.store.clone(),
            ledger: self.ledger.clone(),
            decision_log: self.decision_log.clone(),
            reports: self.reports.clone(),
            clock: self.clock.clone(),
        }
    }

    /// A trigger deciding under `policy` through these parts, every model's
    /// pipeline declared with `TRIGGER_PARAMETERS`.
    pub fn trigger(&self, policy: Policy) -> Trigger {
        for model in &policy.models {
            self.store.declare(&model.pipeline, &TRIGGER_PARAMETERS);
        }
        Trigger::new(self.parts(policy), false)
    }
}
