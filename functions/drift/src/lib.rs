//! drift-trigger: a drift report (a finished monitoring job, a new
//! `statistics.json` in S3, or a direct request) judged against each bound
//! model's `[model.drift]` policy: skip, fine-tune, or retrain in full.

use serde_json::Value;
use trigger_aws::engine::now;
use trigger_aws::reports::signals_for;
use trigger_aws::{respond, Ledger, PipelineStore, ReportReader, Response, Trigger, TriggerError};
use trigger_decision::Path;
use trigger_events::drift::DriftInput;

/// Decodes the event, reads the statistics it points at, and decides for every bound model.
pub async fn handle<S: PipelineStore, L: Ledger, R: ReportReader>(
    trigger: &Trigger<S, L>,
    reports: &R,
    event: &Value,
) -> Result<Response, TriggerError> {
    let inputs = trigger_events::drift::decode(event).map_err(|error| TriggerError::InvalidEvent(error.to_string()))?;
    let mut decisions = Vec::new();
    for input in inputs {
        match input {
            DriftInput::Report(request) => {
                let signals = signals_for(&request, &trigger.policy(), reports, now()).await?;
                decisions.extend(respond(trigger, &signals).await?.decisions);
            }
            DriftInput::NotAReport { reason, detail } => {
                decisions.push(
                    trigger
                        .ignore(reason, detail, &event.to_string(), path_of(event))
                        .await?,
                );
            }
        }
    }
    Ok(Response { decisions })
}

/// EventBridge events carry `detail-type`; any other input that is not a report came as an S3 notification.
fn path_of(event: &Value) -> Path {
    if event.get("detail-type").is_some() {
        Path::EventBridge
    } else {
        Path::S3
    }
}
