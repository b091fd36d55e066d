//! trigger-aws: the engine's parts made of AWS, and the Lambda glue.
//!
//! - `store`: SageMaker pipelines behind the engine's `PipelineStore`;
//! - `ledger`: per-model state in S3 behind the engine's `Ledger`, with conditional writes;
//! - `reports`: drift report objects in S3 behind the engine's `ReportReader`;
//! - `objects`: plain objects for the monitor function (streamed reads, listings, writes that never overwrite);
//! - `audit`: the audit trail in S3 behind the engine's `DecisionLog`, and its readers;
//! - `policy_source`: the policy kept in S3, re-read when its ETag changes;
//! - `clock`: the wall clock;
//! - `error`: what the SDK's failures mean;
//! - `config` and `lambda`: cold start from the environment and the Lambda conventions.
//!
//! The gather–decide–apply loop itself is `trigger-engine`, which knows no SDK.

pub mod audit;
pub mod clock;
pub mod config;
pub mod error;
pub mod lambda;
pub mod ledger;
pub mod location;
pub mod objects;
pub mod policy_source;
pub mod reports;
pub mod store;

pub use audit::S3DecisionLog;
pub use clock::{now, SystemClock};
pub use config::Config;
pub use ledger::S3Ledger;
pub use location::{S3Location, S3Object};
pub use objects::{Put, S3Objects};
pub use policy_source::S3Policy;
pub use reports::S3Reports;
pub use store::SageMakerStore;
