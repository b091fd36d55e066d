//! The JSON log lines: one per decision, one per failed invocation, one per
//! invalid policy version. Each decision line is both the structured
//! decision log and a CloudWatch Embedded Metric Format record: CloudWatch
//! turns its `_aws` block into metrics, with no SDK call.

use crate::error::TriggerError;
use crate::record::DecisionRecord;
use serde_json::{json, Value};
use std::sync::atomic::{AtomicU8, Ordering};
use trigger_decision::{Path, Reason, Signal, Timestamp};

/// The CloudWatch metrics namespace of every metric the lines carry.
pub const NAMESPACE: &str = "RetrainTriggers";

/// Where the JSON log lines go: stdout, stderr, or nowhere; see the functions below.
static LOG_LINES_TO: AtomicU8 = AtomicU8::new(STDOUT);
const STDOUT: u8 = 0;
const STDERR: u8 = 1;
const NOWHERE: u8 = 2;

/// Sends the JSON log lines to stderr from now on. In Lambda they belong on
/// stdout, which goes to CloudWatch Logs, where the EMF records become
/// metrics; a command-line tool whose answer is the JSON on its stdout
/// (`retrain start`) calls this first, so that the answer stays one document.
pub fn log_lines_to_stderr() {
    LOG_LINES_TO.store(STDERR, Ordering::Relaxed);
}

/// Drops the JSON log lines from now on. A backtest replays thousands of
/// decisions in one process: their lines would bury its table, and nothing
/// turns them into metrics. The decisions themselves are still returned
/// and recorded in the audit trail.
pub fn discard_log_lines() {
    LOG_LINES_TO.store(NOWHERE, Ordering::Relaxed);
}

/// Whether log lines are dropped, so that a caller can skip building them.
pub fn log_lines_discarded() -> bool {
    LOG_LINES_TO.load(Ordering::Relaxed) == NOWHERE
}

/// Writes one JSON log line where log lines go: stdout, unless `log_lines_to_stderr`
/// or `discard_log_lines` was called.
pub fn write_log_line(line: impl std::fmt::Display) {
    match LOG_LINES_TO.load(Ordering::Relaxed) {
        STDOUT => println!("{line}"),
        STDERR => eprintln!("{line}"),
        _ => {}
    }
}

/// The metric a reason is also counted under, by model, so that it can be
/// alarmed on: late deliveries and exhausted budgets.
pub fn own_metric(reason: Reason) -> Option<&'static str> {
    match reason {
        Reason::Stale => Some("StaleEvent"),
        Reason::Budget => Some("BudgetExhausted"),
        _ => None,
    }
}

/// One JSON line per decision. It is both the structured decision log and a
/// CloudWatch Embedded Metric Format record: CloudWatch turns the `_aws`
/// block into the metric `RetrainTriggers/Decisions` by `Model` and
/// `Outcome`, and keeps the other fields searchable in Logs Insights.
pub fn decision_log_line(record: &DecisionRecord, signal: &Signal, at: Timestamp) -> String {
    let context = json!({
        "trigger_type": signal.trigger_type().to_string(),
        "path": signal.path().as_str(),
        "dedupe_key": signal.dedupe_key(),
        "signal": signal.summary(),
    });
    log_line(record, context, at)
}

/// The decision line for an input that carried no signal, identified by `input`.
pub fn ignored_input_line(record: &DecisionRecord, path: Path, input: &str, at: Timestamp) -> String {
    log_line(record, json!({"path": path.as_str(), "input": input}), at)
}

fn log_line(record: &DecisionRecord, context: Value, at: Timestamp) -> String {
    let mut line = json!({
        "_aws": {
            "Timestamp": at.millis(),
            "CloudWatchMetrics": [{
                "Namespace": NAMESPACE,
                "Dimensions": [["Model", "Outcome"]],
                "Metrics": [{"Name": "Decisions", "Unit": "Count"}],
            }],
        },
        "Model": record.model.as_deref().unwrap_or("none"),
        "Outcome": record.outcome.as_str(),
        "Decisions": 1,
        "message": "retrain decision",
        "reason": record.reason,
        "detail": record.detail,
        "trigger_id": record.trigger_id,
        "execution_arn": record.execution_arn,
    });
    if let (Some(line), Value::Object(context)) = (line.as_object_mut(), context) {
        line.extend(context);
    }
    if let Some(metric) = own_metric(record.reason) {
        if let Some(fields) = line.as_object_mut() {
            fields.insert(metric.to_string(), json!(1));
        }
        if let Some(directives) = line
            .pointer_mut("/_aws/CloudWatchMetrics")
            .and_then(|d| d.as_array_mut())
        {
            directives.push(json!({
                "Namespace": NAMESPACE,
                "Dimensions": [["Model"]],
                "Metrics": [{"Name": metric, "Unit": "Count"}],
            }));
        }
    }
    line.to_string()
}

/// An error-level log line that is also the EMF metric `RetrainTriggers/PolicyInvalid`:
/// a new version of the policy at `policy` (its ETag `etag`) does not parse.
pub fn policy_invalid_line(policy: &str, etag: &str, error: &str, at: Timestamp) -> String {
    json!({
        "_aws": {
            "Timestamp": at.millis(),
            "CloudWatchMetrics": [{
                "Namespace": NAMESPACE,
                "Dimensions": [[]],
                "Metrics": [{"Name": "PolicyInvalid", "Unit": "Count"}],
            }],
        },
        "PolicyInvalid": 1,
        "level": "ERROR",
        "message": "the new policy version is invalid; the last good policy stays in force",
        "policy": policy,
        "etag": etag,
        "error": error,
    })
    .to_string()
}

/// Logs a failed invocation as one JSON line carrying `errorType`, which the
/// stack's metric filter counts.
pub fn log_failure(error: &TriggerError) {
    write_log_line(error_line(error.error_type(), &error.to_string()));
}

/// A failed invocation's log line.
pub fn error_line(error_type: &str, message: &str) -> String {
    json!({
        "level": "ERROR",
        "errorType": error_type,
        "errorMessage": message,
    })
    .to_string()
}
