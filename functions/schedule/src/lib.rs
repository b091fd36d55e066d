//! schedule-trigger: an EventBridge scheduled rule, or an EventBridge
//! Scheduler input carrying the scheduled time. A schedule still asks
//! whether retraining is needed before it starts anything.

use serde_json::Value;
use trigger_engine::{Response, Trigger, TriggerError};

/// Decodes the event, decides it for every bound model, and applies the decisions.
pub async fn handle(trigger: &Trigger, event: &Value) -> Result<Response, TriggerError> {
    let signal = trigger_events::schedule::decode(event)?;
    trigger.respond(&[signal]).await
}
