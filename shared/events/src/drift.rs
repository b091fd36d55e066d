//! Drift report locations, from the three ways a report announces itself:
//!
//! - EventBridge "SageMaker Processing Job State Change" for a finished
//!   monitoring job: the current statistics are `statistics.json` under the
//!   job's processing output, and the baseline, when the job names one, is
//!   its `statistics.json` input;
//! - S3 "Object Created" for a `statistics.json`, through EventBridge or as
//!   an S3 event notification;
//! - a direct request `{"model", "baseline", "current", "report_id"}`.
//!
//! Decoding only finds where the statistics are; `monitor` parses them once
//! they have been read.

use crate::error::EventError;
use crate::field::{describe, Object};
use crate::limits::check_event_size;
use crate::object::{self, CreatedObject};
use crate::timestamp;
use serde_json::Value;
use trigger_decision::{Path, Reason, Timestamp};

/// Where one drift report's statistics live.
#[derive(Debug, Clone, PartialEq)]
pub struct DriftRequest {
    /// The model, when the source names it; otherwise the policy's `drift.reports` prefixes route it.
    pub model: Option<String>,
    /// What identifies the report. For monitoring jobs and S3 events it is the
    /// current `statistics.json` URI, so the job's completion and the object's
    /// creation, which announce the same report, share one dedupe key.
    pub report_id: String,
    /// The current `statistics.json`.
    pub current: String,
    /// The baseline `statistics.json`, when the source names it.
    pub baseline: Option<String>,
    /// Model Monitor's `constraints.json`, when the source names it.
    pub constraints: Option<String>,
    /// When the report was produced, when the source says.
    pub observed_at: Option<Timestamp>,
    pub path: Path,
}

/// A decoded drift input: a report to judge, or an event that is valid but carries none.
#[derive(Debug, Clone, PartialEq)]
pub enum DriftInput {
    Report(DriftRequest),
    /// For example a monitoring job that failed, or an object that is not a `statistics.json`.
    NotAReport {
        reason: Reason,
        detail: String,
        /// What the input is about (the job, or the object's URI), so that its
        /// redeliveries are recognised as one.
        input: String,
        /// How the input arrived.
        path: Path,
    },
}

pub const PROCESSING_JOB_DETAIL_TYPE: &str = "SageMaker Processing Job State Change";
pub use crate::object::OBJECT_CREATED_DETAIL_TYPE;
const STATISTICS_FILE: &str = "statistics.json";

const ACCEPTED: &str = "an EventBridge \"SageMaker Processing Job State Change\" event, an S3 \"Object Created\" \
                        event (EventBridge, or an S3 notification with `Records[].s3`), or a direct request \
                        `{\"model\", \"baseline\", \"current\", \"report_id\"}` with s3:// URIs";

/// Decodes any of the three drift inputs. An S3 notification may carry several records.
pub fn decode(event: &Value) -> Result<Vec<DriftInput>, EventError> {
    check_event_size(event)?;
    let Some(root) = Object::new(event, "") else {
        return Err(unrecognised(describe(event)));
    };
    match root.str("detail-type") {
        Some(PROCESSING_JOB_DETAIL_TYPE) => return processing_job(&root).map(|input| vec![input]),
        Some(OBJECT_CREATED_DETAIL_TYPE) => return objects_created(event),
        Some(_) => return Err(unrecognised(root.describe())),
        None => {}
    }
    if root.array("Records").is_some() {
        return objects_created(event);
    }
    if root.get("current").is_some() || root.get("baseline").is_some() {
        return direct(&root).map(|request| vec![DriftInput::Report(request)]);
    }
    Err(unrecognised(root.describe()))
}

fn unrecognised(found: String) -> EventError {
    EventError::UnrecognisedShape {
        field: String::new(),
        wanted: "a drift report event",
        found,
        accepted: ACCEPTED,
    }
}

fn processing_job(root: &Object<'_>) -> Result<DriftInput, EventError> {
    let detail = root.required_object("detail", "a processing job event carries the job in `detail`")?;
    let job = detail
        .str("ProcessingJobArn")
        .or_else(|| detail.str("ProcessingJobName"))
        .map(str::to_string)
        .ok_or_else(|| EventError::Missing {
            field: detail.field_path("ProcessingJobName"),
            absence: "missing",
            needed: "a monitoring job event must name the job",
        })?;
    let status = detail.str("ProcessingJobStatus").unwrap_or_default();
    if status != "Completed" {
        return Ok(DriftInput::NotAReport {
            reason: Reason::JobNotCompleted,
            detail: format!("Monitoring job {job} is {status:?}, not Completed; it produced no report to judge."),
            input: job,
            path: Path::EventBridge,
        });
    }
    let output = detail
        .object("ProcessingOutputConfig")
        .and_then(|config| config.array("Outputs").map(<[Value]>::to_vec))
        .unwrap_or_default()
        .iter()
        .find_map(|output| {
            output
                .pointer("/S3Output/S3Uri")
                .and_then(Value::as_str)
                .map(str::to_string)
        })
        .ok_or_else(|| EventError::Missing {
            field: detail.field_path("ProcessingOutputConfig.Outputs[].S3Output.S3Uri"),
            absence: "missing",
            needed: "a monitoring job event must say where the job wrote its statistics",
        })?;
    check_s3_uri(
        &detail.field_path("ProcessingOutputConfig.Outputs[].S3Output.S3Uri"),
        &output,
    )?;
    // Model Monitor passes the baseline as processing inputs; take them when the event lists them.
    let inputs: Vec<String> = detail
        .array("ProcessingInputs")
        .unwrap_or_default()
        .iter()
        .filter_map(|input| {
            input
                .pointer("/S3Input/S3Uri")
                .and_then(Value::as_str)
                .map(str::to_string)
        })
        .collect();
    let input_ending = |suffix: &str| inputs.iter().find(|uri| uri.ends_with(suffix)).cloned();
    let current = format!("{}/{STATISTICS_FILE}", output.trim_end_matches('/'));
    Ok(DriftInput::Report(DriftRequest {
        model: None,
        report_id: current.clone(),
        current,
        baseline: input_ending(STATISTICS_FILE),
        constraints: input_ending("constraints.json"),
        observed_at: root.get("time").and_then(timestamp::from_json),
        path: Path::EventBridge,
    }))
}

/// Each created object, through the S3 object decoder the monitor function shares.
fn objects_created(event: &Value) -> Result<Vec<DriftInput>, EventError> {
    Ok(object::decode(event)?.into_iter().map(report_object).collect())
}

fn report_object(object: CreatedObject) -> DriftInput {
    let uri = object.uri();
    let (observed_at, path) = (object.created_at, object.path);
    if !object.key.ends_with(STATISTICS_FILE) {
        return DriftInput::NotAReport {
            reason: Reason::NotStatistics,
            detail: format!("{uri} is not a {STATISTICS_FILE}; only statistics are compared."),
            input: uri,
            path,
        };
    }
    DriftInput::Report(DriftRequest {
        model: None,
        report_id: uri.clone(),
        current: uri,
        baseline: None,
        constraints: None,
        observed_at,
        path,
    })
}

fn direct(root: &Object<'_>) -> Result<DriftRequest, EventError> {
    let model = root.required_str("model", "a direct drift request names the model")?;
    let current = root.required_str("current", "a direct drift request names the current statistics.json")?;
    check_s3_uri("current", current)?;
    let baseline = root.str("baseline").map(str::to_string);
    if let Some(baseline) = &baseline {
        check_s3_uri("baseline", baseline)?;
    }
    let constraints = root.str("constraints").map(str::to_string);
    if let Some(constraints) = &constraints {
        check_s3_uri("constraints", constraints)?;
    }
    Ok(DriftRequest {
        model: Some(crate::field::check_name("model", model)?),
        report_id: root
            .str("report_id")
            .filter(|id| !id.is_empty())
            .unwrap_or(current)
            .to_string(),
        current: current.to_string(),
        baseline,
        constraints,
        observed_at: root.get("observed_at").and_then(timestamp::from_json),
        path: Path::Direct,
    })
}

fn check_s3_uri(field: &str, uri: &str) -> Result<(), EventError> {
    let valid = uri
        .strip_prefix("s3://")
        .and_then(|rest| rest.split_once('/'))
        .is_some_and(|(bucket, key)| !bucket.is_empty() && !key.is_empty());
    if valid {
        Ok(())
    } else {
        Err(EventError::WrongType {
            field: field.to_string(),
            expected: "an S3 URI like s3://bucket/key",
            found: crate::field::quote(uri),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(name: &str) -> Value {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../tests/fixtures/events/drift")
            .join(name);
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap()
    }

    fn report(name: &str) -> DriftRequest {
        match decode(&fixture(name)).unwrap().as_slice() {
            [DriftInput::Report(request)] => request.clone(),
            other => panic!("{name}: {other:?}"),
        }
    }

    const CURRENT: &str = "s3://monitoring-reports/housing-price/reports/2023/08/05/01/statistics.json";

    #[test]
    fn a_completed_monitoring_job_points_at_its_statistics_and_baseline() {
        let request = report("example-sagemaker-processing-job-completed.json");
        assert_eq!(request.current, CURRENT);
        assert_eq!(
            request.baseline.as_deref(),
            Some("s3://monitoring-reports/housing-price/baseline/statistics.json")
        );
        assert_eq!(
            request.constraints.as_deref(),
            Some("s3://monitoring-reports/housing-price/baseline/constraints.json")
        );
        assert_eq!(
            request.report_id, CURRENT,
            "the job and the object it wrote are one report"
        );
        assert_eq!((request.model, request.path), (None, Path::EventBridge));
        assert_eq!(request.observed_at, timestamp::parse("2023-08-05T01:12:40Z"));
    }

    #[test]
    fn both_object_created_envelopes_name_the_same_report() {
        let by_eventbridge = report("example-eventbridge-s3-object-created.json");
        let by_notification = report("example-s3-notification-statistics.json");
        assert_eq!(by_eventbridge.current, CURRENT);
        assert_eq!(by_eventbridge.report_id, by_notification.report_id);
        assert_eq!(by_eventbridge.report_id, CURRENT);
        assert_eq!(
            (by_eventbridge.path, by_notification.path),
            (Path::EventBridge, Path::S3)
        );
    }

    #[test]
    fn a_direct_request_names_model_baseline_and_report() {
        let request = report("example-drift-direct-request.json");
        assert_eq!(request.model.as_deref(), Some("housing-price"));
        assert_eq!(request.report_id, "housing-price-2023-08-05T01");
        assert_eq!(request.path, Path::Direct);
    }

    #[test]
    fn valid_inputs_without_a_report_are_not_errors() {
        let failed = decode(&fixture("example-sagemaker-processing-job-failed.json")).unwrap();
        assert!(matches!(
            failed.as_slice(),
            [DriftInput::NotAReport {
                reason: Reason::JobNotCompleted,
                path: Path::EventBridge,
                ..
            }]
        ));
        let mut other_object = fixture("example-eventbridge-s3-object-created.json");
        other_object["detail"]["object"]["key"] = Value::from("housing-price/reports/constraint_violations.json");
        let decoded = decode(&other_object).unwrap();
        assert!(matches!(
            decoded.as_slice(),
            [DriftInput::NotAReport {
                reason: Reason::NotStatistics,
                path: Path::EventBridge,
                ..
            }]
        ));
    }

    #[test]
    fn bad_drift_inputs_name_what_is_wrong() {
        let check = |event: Value, fragment: &str| {
            let error = decode(&event).expect_err(fragment).to_string();
            assert!(error.contains(fragment), "{error:?} lacks {fragment:?}");
        };
        check(
            serde_json::json!({"model": "m", "current": "/tmp/statistics.json"}),
            "`current` should be an S3 URI",
        );
        check(
            serde_json::json!({"current": "s3://b/k/statistics.json"}),
            "`model` is missing",
        );
        check(
            serde_json::json!({"model": "m", "current": "s3://b/statistics.json", "baseline": "s3://b"}),
            "`baseline`",
        );
        check(serde_json::json!({"Records": []}), "at least one S3 record");
        check(
            serde_json::json!({"Records": [{"s3": {"bucket": {"name": "b"}}}]}),
            "Records[0].s3.object",
        );
        check(
            serde_json::json!({"detail-type": "Something Else", "detail": {}}),
            "not a drift report event",
        );
        check(serde_json::json!([1, 2]), "not a drift report event");
        let mut no_output = fixture("example-sagemaker-processing-job-completed.json");
        no_output["detail"]["ProcessingOutputConfig"] = Value::Null;
        check(no_output, "S3Output.S3Uri");
    }
}
