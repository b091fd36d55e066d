//! sns-trigger: CloudWatch alarm notifications wrapped in SNS.
//!
//! One event may carry several records. A bad record must not cost the good
//! ones: the good ones are decided and applied first, then the invocation
//! fails with `InvalidEvent` naming the bad record, so the event is retried
//! (the good records answer `already-started` on the retry) and finally kept
//! by the dead-letter queue for a person to look at.

use serde_json::Value;
use trigger_engine::{Response, Trigger, TriggerError};

/// Decodes every record, decides the good ones, and reports the bad ones.
pub async fn handle(trigger: &Trigger, event: &Value) -> Result<Response, TriggerError> {
    let records = trigger_events::sns::decode(event)?;
    let (signals, problems): (Vec<_>, Vec<_>) = records.into_iter().partition(Result::is_ok);
    let signals: Vec<_> = signals.into_iter().flatten().collect();
    let response = trigger.respond(&signals).await?;
    if problems.is_empty() {
        return Ok(response);
    }
    let problems: Vec<String> = problems
        .into_iter()
        .filter_map(Result::err)
        .map(|error| error.to_string())
        .collect();
    let decided: Vec<String> = response
        .decisions
        .iter()
        .map(|decision| {
            format!(
                "{} {}",
                decision.model.as_deref().unwrap_or("(no model)"),
                decision.outcome.as_str()
            )
        })
        .collect();
    let invalid = format!(
        "{} of {} SNS records are invalid: {}",
        problems.len(),
        problems.len() + signals.len(),
        problems.join("; ")
    );
    // Say what was decided only when something was: an empty list tells a person nothing.
    Err(TriggerError::InvalidEvent(if decided.is_empty() {
        invalid
    } else {
        format!("{invalid}. The valid ones were decided: {}", decided.join(", "))
    }))
}
