//! A person's request to retrain one model: decoded, checked against the
//! model's policy (only `allow_overrides` parameters, only a stricter
//! approval), then decided like every other signal. The `manual-trigger`
//! function and the `retrain start` command both come through here.

use crate::error::TriggerError;
use crate::record::Response;
use crate::trigger::Trigger;
use serde_json::Value;
use trigger_decision::Signal;

/// Decodes the request, checks it against the model's policy, decides and applies it.
/// `invocation_request_id` is the dedupe key of a request that names none of its own.
pub async fn decide(trigger: &Trigger, event: &Value, invocation_request_id: &str) -> Result<Response, TriggerError> {
    let request = trigger_events::manual::decode(event, invocation_request_id, trigger.now())?;
    let policy = trigger.policy();
    let Some(model) = policy.model(&request.model) else {
        let known: Vec<&str> = policy.models.iter().map(|model| model.name.as_str()).collect();
        return Err(TriggerError::InvalidEvent(format!(
            "`model`: no model named {:?} in the policy; known models: {}",
            request.model,
            known.join(", ")
        )));
    };
    trigger_decision::manual::check(&request, model).map_err(|error| TriggerError::InvalidEvent(error.to_string()))?;
    trigger.respond(&[Signal::Manual(request)]).await
}
