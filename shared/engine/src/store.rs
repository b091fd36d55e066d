//! The pipeline store: what the engine needs from SageMaker Pipelines, and
//! nothing more. `trigger-aws`'s `SageMakerStore` implements it with the SDK,
//! `memory::MemoryStore` in memory.

use crate::error::TriggerError;
use async_trait::async_trait;
use trigger_decision::{ExecutionStatus, StartRequest, Timestamp};

/// One execution as the store lists it. SageMaker's listing may leave the
/// start time out; the engine decides what such an execution counts as.
#[derive(Debug, Clone, PartialEq)]
pub struct ListedExecution {
    pub arn: String,
    pub status: ExecutionStatus,
    pub started_at: Option<Timestamp>,
    pub display_name: Option<String>,
}

/// SageMaker pipelines, seen as the trigger needs them.
#[async_trait]
pub trait PipelineStore: Send + Sync + std::fmt::Debug {
    /// Executions of `pipeline` created at or after `since`, whoever started them.
    async fn recent_executions(&self, pipeline: &str, since: Timestamp) -> Result<Vec<ListedExecution>, TriggerError>;

    /// The parameter names the pipeline's definition declares.
    async fn declared_parameters(&self, pipeline: &str) -> Result<Vec<String>, TriggerError>;

    /// Starts an execution and returns its ARN. The request's token makes a
    /// repeat of the same request return the same execution.
    async fn start(&self, request: &StartRequest) -> Result<String, TriggerError>;
}
