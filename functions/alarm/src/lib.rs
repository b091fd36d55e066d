//! alarm-trigger: a CloudWatch alarm's state change, delivered by the alarm's
//! Lambda action or by EventBridge ("CloudWatch Alarm State Change").

use serde_json::Value;
use trigger_aws::{respond, Ledger, PipelineStore, Response, Trigger, TriggerError};

/// Decodes the event, decides it for every bound model, and applies the decisions.
pub async fn handle<S: PipelineStore, L: Ledger>(
    trigger: &Trigger<S, L>,
    event: &Value,
) -> Result<Response, TriggerError> {
    let signal = trigger_events::alarm::decode(event).map_err(|error| TriggerError::InvalidEvent(error.to_string()))?;
    respond(trigger, &[signal]).await
}
