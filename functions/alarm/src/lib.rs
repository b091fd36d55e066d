//! alarm-trigger: a CloudWatch alarm's state change, delivered by the alarm's
//! Lambda action or by EventBridge ("CloudWatch Alarm State Change").

use serde_json::Value;
use trigger_engine::{Response, Trigger, TriggerError};

/// Decodes the event, decides it for every bound model, and applies the decisions.
pub async fn handle(trigger: &Trigger, event: &Value) -> Result<Response, TriggerError> {
    let signal = trigger_events::alarm::decode(event)?;
    trigger.respond(&[signal]).await
}
