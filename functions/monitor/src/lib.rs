//! monitor-trigger: model monitoring from SageMaker Data Capture, without
//! Model Monitor. Three inputs, each decoded by `trigger_events::monitor_event`:
//!
//! - a capture object created under a model's `[model.monitor] captures`
//!   prefix: streamed into a partial profile and prediction batches in the
//!   ledger bucket (`ingest`);
//! - a ground-truth object created under its `labels` prefix: indexed into
//!   label batches the same way (`ingest`);
//! - a window close: for every model with `[model.monitor]`, the window that
//!   ended `label_delay` ago gets its `statistics.json` (which drift-trigger
//!   then judges), its metrics as one EMF record, and its `quality.json` (`close`).
//!
//! Every write is `If-None-Match: *`, so a redelivered event changes nothing.
//! Where things go is `capture_monitor::layout`; the S3 calls are
//! `trigger_aws::objects`.

mod close;
mod emf;
mod ingest;

use serde_json::{json, Value};
use trigger_aws::lambda::MonitorParts;
use trigger_engine::TriggerError;
use trigger_events::monitor_event::MonitorInput;

/// Decodes the event and does what each of its inputs asks; the answer lists
/// what was done, object by object and model by model.
pub async fn handle(parts: &MonitorParts, event: &Value) -> Result<Value, TriggerError> {
    let inputs = trigger_events::monitor_event::decode(event)?;
    parts.policy.refresh().await;
    let policy = parts.policy.current();
    let mut objects = Vec::new();
    let mut closes = Vec::new();
    for input in inputs {
        match input {
            MonitorInput::Object(object) => objects.extend(ingest::object(parts, &policy, &object).await?),
            MonitorInput::Close { at } => closes.extend(close::every_model(parts, &policy, at).await?),
        }
    }
    Ok(json!({"objects": objects, "closes": closes}))
}
