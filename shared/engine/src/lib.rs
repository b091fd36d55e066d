//! trigger-engine: the imperative shell around `trigger_decision::decide`,
//! without AWS. It gathers a model's history, decides, and applies the
//! decision exactly once, however often and however concurrently the event
//! is delivered, through small traits shaped by what it needs:
//!
//! - `store::PipelineStore`: recent executions, declared parameters, start;
//! - `ledger::Ledger`: per-model state with conditional writes (`ModelState`);
//! - `audit::DecisionLog`: every decision as an immutable record;
//! - `reports::ReportReader`: drift report objects;
//! - `policy::PolicySource`: the policy in force;
//! - `clock::Clock`: now, and waiting.
//!
//! `trigger::Trigger` holds one of each (as trait objects; see ARCHITECTURE.md)
//! and runs the loop; `claim` is the exactly-once protocol; `log_line` writes
//! the decision log line, which is also an EMF metric. `trigger-aws`
//! implements the traits with the AWS SDK; `memory` implements every one in
//! memory, for tests, benchmarks and replays. This crate has no AWS SDK, no
//! lambda_runtime and no async runtime of its own.

pub mod audit;
mod claim;
pub mod clock;
pub mod error;
pub mod ledger;
pub mod log_line;
pub mod manual;
pub mod memory;
pub mod policy;
pub mod record;
pub mod reports;
pub mod store;
pub mod trigger;

pub use audit::{AuditRecord, DecisionLog};
pub use claim::{CLAIM_LEASE, CLAIM_POLL};
pub use clock::Clock;
pub use error::TriggerError;
pub use ledger::{Ledger, ModelState};
pub use policy::{FixedPolicy, PolicySource, Refresh};
pub use record::{DecisionRecord, Response};
pub use reports::ReportReader;
pub use store::{ListedExecution, PipelineStore};
pub use trigger::{Parts, Trigger};
