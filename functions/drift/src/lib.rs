//! drift-trigger: a drift report (a finished monitoring job, a new
//! `statistics.json` in S3, or a direct request) judged against each bound
//! model's `[model.drift]` policy: skip, fine-tune, or retrain in full.

use serde_json::Value;
use trigger_engine::reports::signals_for;
use trigger_engine::{Response, Trigger, TriggerError};
use trigger_events::drift::DriftInput;

/// Decodes the event, reads the statistics it points at, and decides for every bound model.
pub async fn handle(trigger: &Trigger, event: &Value) -> Result<Response, TriggerError> {
    let inputs = trigger_events::drift::decode(event)?;
    let mut decisions = Vec::new();
    for input in inputs {
        match input {
            DriftInput::Report(request) => {
                let signals = signals_for(
                    &request,
                    &trigger.policy(),
                    trigger.parts.reports.as_ref(),
                    trigger.now(),
                )
                .await?;
                decisions.extend(trigger.respond(&signals).await?.decisions);
            }
            DriftInput::NotAReport {
                reason,
                detail,
                input,
                path,
            } => decisions.push(trigger.ignore(reason, detail, &input, path).await?),
        }
    }
    Ok(Response { decisions })
}
