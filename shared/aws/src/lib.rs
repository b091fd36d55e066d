//! trigger-aws: everything that touches AWS or Lambda, around the pure core.
//!
//! - `store`: SageMaker pipelines behind the `PipelineStore` trait;
//! - `ledger`: per-model state in S3 behind the `Ledger` trait, with conditional writes;
//! - `reports`: drift report statistics read from S3, turned into drift signals;
//! - `audit`: every decision as an immutable record in the ledger bucket, behind the `DecisionLog` trait;
//! - `engine`: gather history, call `trigger_decision::decide`, apply the decision exactly once;
//! - `policy_source`: the policy in force, re-read from S3 when its ETag changes;
//! - `config` and `lambda`: cold start from the environment and the Lambda conventions.

pub mod audit;
pub mod config;
pub mod engine;
pub mod error;
pub mod lambda;
pub mod ledger;
pub mod policy_source;
pub mod reports;
pub mod store;

pub use audit::{AuditRecord, DecisionLog, S3DecisionLog};
pub use config::Config;
pub use engine::{DecisionRecord, Response, Trigger};
pub use error::TriggerError;
pub use ledger::{Ledger, S3Ledger, S3Location};
pub use reports::{ReportReader, S3Reports};
pub use store::{PipelineStore, SageMakerStore};

/// Decides decoded signals and collects the response; the common tail of every handler.
pub async fn respond<S: PipelineStore, L: Ledger>(
    trigger: &Trigger<S, L>,
    signals: &[trigger_decision::Signal],
) -> Result<Response, TriggerError> {
    let mut decisions = Vec::new();
    for signal in signals {
        decisions.extend(trigger.handle(signal).await?);
    }
    Ok(Response { decisions })
}
