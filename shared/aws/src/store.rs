//! SageMaker Pipelines behind the engine's `PipelineStore`, with the SDK.

use crate::error::from_sdk;
use async_trait::async_trait;
use aws_sdk_sagemaker::types::{Parameter, SortOrder, SortPipelineExecutionsBy};
use aws_smithy_types::DateTime;
use std::collections::HashMap;
use std::sync::Arc;
use tokio::sync::Mutex;
use trigger_decision::{ExecutionStatus, StartRequest, Timestamp};
use trigger_engine::{ListedExecution, PipelineStore, TriggerError};

/// The most pages of executions read per decision. At 100 a page this covers
/// 1,000 executions inside the look-back window, far more than any pipeline
/// that retrains only when necessary should have.
const MAX_EXECUTION_PAGES: usize = 10;

/// The SDK-backed store. Declared parameters are read once per pipeline per
/// process and cached, since a pipeline's definition changes only on deploy.
#[derive(Debug, Clone)]
pub struct SageMakerStore {
    client: aws_sdk_sagemaker::Client,
    declared: Arc<Mutex<HashMap<String, Vec<String>>>>,
}

impl SageMakerStore {
    pub fn new(client: aws_sdk_sagemaker::Client) -> Self {
        SageMakerStore {
            client,
            declared: Arc::default(),
        }
    }
}

#[async_trait]
impl PipelineStore for SageMakerStore {
    async fn recent_executions(&self, pipeline: &str, since: Timestamp) -> Result<Vec<ListedExecution>, TriggerError> {
        let mut executions = Vec::new();
        let mut next_token: Option<String> = None;
        for _ in 0..MAX_EXECUTION_PAGES {
            let page = self
                .client
                .list_pipeline_executions()
                .pipeline_name(pipeline)
                .created_after(DateTime::from_millis(since.millis()))
                .sort_by(SortPipelineExecutionsBy::CreationTime)
                .sort_order(SortOrder::Descending)
                .max_results(100)
                .set_next_token(next_token.take())
                .send()
                .await
                .map_err(|error| from_sdk(format!("SageMaker ListPipelineExecutions {pipeline}"), error))?;
            for summary in page.pipeline_execution_summaries() {
                let Some(arn) = summary.pipeline_execution_arn() else {
                    continue;
                };
                executions.push(ListedExecution {
                    arn: arn.to_string(),
                    status: ExecutionStatus::parse(summary.pipeline_execution_status().map_or("", |s| s.as_str())),
                    started_at: summary
                        .start_time()
                        .map(|started| Timestamp(started.to_millis().unwrap_or(i64::MAX))),
                    display_name: summary.pipeline_execution_display_name().map(str::to_string),
                });
            }
            match page.next_token() {
                Some(token) if !token.is_empty() => next_token = Some(token.to_string()),
                _ => break,
            }
        }
        Ok(executions)
    }

    async fn declared_parameters(&self, pipeline: &str) -> Result<Vec<String>, TriggerError> {
        let mut cache = self.declared.lock().await;
        if let Some(names) = cache.get(pipeline) {
            return Ok(names.clone());
        }
        let operation = format!("SageMaker DescribePipeline {pipeline}");
        let described = self
            .client
            .describe_pipeline()
            .pipeline_name(pipeline)
            .send()
            .await
            .map_err(|error| from_sdk(operation.clone(), error))?;
        let definition = described.pipeline_definition().unwrap_or("{}");
        let names =
            parameter_names(definition).map_err(|message| TriggerError::misconfigured(operation, message, None))?;
        cache.insert(pipeline.to_string(), names.clone());
        Ok(names)
    }

    async fn start(&self, request: &StartRequest) -> Result<String, TriggerError> {
        let parameters: Vec<Parameter> = request
            .parameters
            .iter()
            .map(|(name, value)| Parameter::builder().name(name).value(value).build())
            .collect();
        let started = self
            .client
            .start_pipeline_execution()
            .pipeline_name(&request.pipeline)
            .client_request_token(request.client_request_token.as_str())
            .pipeline_execution_display_name(&request.display_name)
            .pipeline_execution_description(&request.description)
            .set_pipeline_parameters(Some(parameters))
            .send()
            .await
            .map_err(|error| from_sdk(format!("SageMaker StartPipelineExecution {}", request.pipeline), error))?;
        started.pipeline_execution_arn().map(str::to_string).ok_or_else(|| {
            TriggerError::transient(
                format!("SageMaker StartPipelineExecution {}", request.pipeline),
                "the response carried no execution ARN",
            )
        })
    }
}

/// The `Parameters[].Name` entries of a pipeline definition (JSON).
pub fn parameter_names(definition: &str) -> Result<Vec<String>, String> {
    let value: serde_json::Value =
        serde_json::from_str(definition).map_err(|error| format!("the pipeline definition is not JSON: {error}"))?;
    Ok(value
        .get("Parameters")
        .and_then(serde_json::Value::as_array)
        .map(|parameters| {
            parameters
                .iter()
                .filter_map(|parameter| parameter.get("Name").and_then(serde_json::Value::as_str))
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn declared_parameters_come_from_the_definition() {
        let definition = r#"{"Version":"2020-12-01","Parameters":[{"Name":"TriggerType","Type":"String"},{"Name":"DataWindowDays","DefaultValue":"30"}],"Steps":[]}"#;
        assert_eq!(
            parameter_names(definition),
            Ok(vec!["TriggerType".to_string(), "DataWindowDays".to_string()])
        );
        assert_eq!(parameter_names(r#"{"Steps":[]}"#), Ok(vec![]));
        assert!(parameter_names("not json").is_err_and(|message| message.contains("not JSON")));
    }
}
