//! Reads what `aws sagemaker list-pipeline-executions --output json` prints,
//! to seed a replay with the executions that ran before it. Each execution's
//! pipeline is the name in its ARN
//! (`arn:aws:sagemaker:<region>:<account>:pipeline/<name>/execution/<id>`).

use crate::engine::SeededExecution;
use crate::error::BacktestError;
use crate::series::parse_timestamp;
use serde::Deserialize;
use serde_json::Value;
use trigger_decision::{ExecutionStatus, Timestamp};

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct RawListing {
    pipeline_execution_summaries: Vec<RawSummary>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct RawSummary {
    pipeline_execution_arn: Option<String>,
    start_time: Option<Value>,
    pipeline_execution_status: Option<String>,
}

/// Reads the listing in `text`; `file` names it in errors.
pub fn parse_executions(text: &str, file: &str) -> Result<Vec<SeededExecution>, BacktestError> {
    let listing: RawListing = serde_json::from_str(text).map_err(|error| BacktestError::ExecutionsJson {
        file: file.to_string(),
        line: error.line(),
        column: error.column(),
        problem: error.to_string(),
    })?;
    listing
        .pipeline_execution_summaries
        .into_iter()
        .enumerate()
        .map(|(index, raw)| seeded(raw, index, file))
        .collect()
}

fn seeded(raw: RawSummary, index: usize, file: &str) -> Result<SeededExecution, BacktestError> {
    let refuse = |field: &str, problem: &str| BacktestError::ExecutionField {
        file: file.to_string(),
        index,
        field: field.to_string(),
        problem: problem.to_string(),
    };
    let arn = raw
        .pipeline_execution_arn
        .ok_or_else(|| refuse("PipelineExecutionArn", "is missing"))?;
    let pipeline = pipeline_of(&arn).ok_or_else(|| {
        refuse(
            "PipelineExecutionArn",
            "is not a pipeline execution ARN (arn:aws:sagemaker:<region>:<account>:pipeline/<name>/execution/<id>)",
        )
    })?;
    let started_at = raw.start_time.as_ref().and_then(start_time).ok_or_else(|| {
        refuse(
            "StartTime",
            "is missing, or neither an RFC 3339 time nor seconds since the epoch",
        )
    })?;
    let status = raw
        .pipeline_execution_status
        .ok_or_else(|| refuse("PipelineExecutionStatus", "is missing"))?;
    Ok(SeededExecution {
        pipeline: pipeline.to_string(),
        status: ExecutionStatus::parse(&status),
        started_at,
    })
}

/// The pipeline's name in an execution ARN.
fn pipeline_of(arn: &str) -> Option<&str> {
    let (_, path) = arn.split_once(":pipeline/")?;
    let (name, execution) = path.split_once("/execution/")?;
    (!name.is_empty() && !execution.is_empty()).then_some(name)
}

/// The CLI prints an RFC 3339 string; the SDKs' raw JSON, seconds since the epoch.
fn start_time(value: &Value) -> Option<Timestamp> {
    match value {
        Value::String(text) => parse_timestamp(text),
        Value::Number(seconds) => {
            let millis = seconds.as_f64()? * 1000.0;
            millis
                .is_finite()
                .then(|| Timestamp::from_millis(millis.round() as i64))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_cli_listing_with_each_pipeline_from_its_arn() {
        let text = r#"{"PipelineExecutionSummaries": [
            {"PipelineExecutionArn": "arn:aws:sagemaker:us-east-1:123456789012:pipeline/housing-price-retrain/execution/abc123",
             "StartTime": "2024-01-03T06:00:12.500000+00:00", "PipelineExecutionStatus": "Executing",
             "PipelineExecutionDisplayName": "manual"},
            {"PipelineExecutionArn": "arn:aws:sagemaker:us-east-1:123456789012:pipeline/churn-retrain/execution/def",
             "StartTime": 1704067200, "PipelineExecutionStatus": "Failed"}
        ]}"#;
        let seeded = parse_executions(text, "executions.json").unwrap();
        assert_eq!(
            seeded,
            vec![
                SeededExecution {
                    pipeline: "housing-price-retrain".into(),
                    status: ExecutionStatus::Executing,
                    started_at: parse_timestamp("2024-01-03T06:00:12.5Z").unwrap(),
                },
                SeededExecution {
                    pipeline: "churn-retrain".into(),
                    status: ExecutionStatus::Failed,
                    started_at: parse_timestamp("2024-01-01T00:00:00Z").unwrap(),
                },
            ]
        );
    }

    fn refused(text: &str) -> String {
        parse_executions(text, "executions.json").unwrap_err().to_string()
    }

    #[test]
    fn bad_listings_name_the_file_the_entry_and_the_field() {
        assert_eq!(
            refused(r#"{"PipelineExecutionSummaries": [{"PipelineExecutionArn": "arn:aws:sagemaker:us-east-1:1:pipeline/p/execution/e", "StartTime": "yesterday", "PipelineExecutionStatus": "Succeeded"}]}"#),
            "executions.json: `StartTime` of execution 1: is missing, or neither an RFC 3339 time nor seconds since the epoch"
        );
        assert_eq!(
            refused(r#"{"PipelineExecutionSummaries": [{"PipelineExecutionArn": "arn:aws:sagemaker:us-east-1:1:model/p", "StartTime": 0, "PipelineExecutionStatus": "Succeeded"}]}"#),
            "executions.json: `PipelineExecutionArn` of execution 1: is not a pipeline execution ARN (arn:aws:sagemaker:<region>:<account>:pipeline/<name>/execution/<id>)"
        );
        assert!(refused("{\n  \"Pipelines\": []}").starts_with("executions.json: line 2, column "));
    }
}
