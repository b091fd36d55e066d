//! manual-trigger: a person asks for a retrain, with a reason. Invoked
//! directly (the answer is `{"decisions": [...]}`, failures are Lambda errors)
//! or through a function URL with AWS_IAM auth (the answer is always an HTTP
//! response: 200 with the decisions, 400 for a bad request, 503 when AWS
//! failed transiently and a retry is safe, 500 otherwise).

use serde::Serialize;
use serde_json::{json, Value};
use trigger_aws::{respond, Ledger, PipelineStore, Response, Trigger, TriggerError};
use trigger_decision::Signal;

/// What the function answers: the decisions, or for a function URL an HTTP response.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum ManualResponse {
    Decisions(Response),
    Http(HttpResponse),
}

/// A function URL response (payload format 2.0).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct HttpResponse {
    pub status_code: u16,
    pub headers: serde_json::Map<String, Value>,
    /// JSON text, as function URLs expect.
    pub body: String,
}

/// Decodes the request, checks it against the model's policy, decides and applies it.
/// `invocation_request_id` is the Lambda request id, the dedupe key of a direct request without its own.
pub async fn handle<S: PipelineStore, L: Ledger>(
    trigger: &Trigger<S, L>,
    event: &Value,
    invocation_request_id: &str,
) -> Result<ManualResponse, TriggerError> {
    // Boxed: one more level of nested futures than the other functions would
    // exceed the compiler's default depth when laying out main's future.
    let result = Box::pin(decide(trigger, event, invocation_request_id)).await;
    if !trigger_events::manual::is_function_url(event) {
        return result.map(ManualResponse::Decisions);
    }
    // Behind a URL the caller waits for the answer and Lambda does not retry,
    // so every failure becomes an HTTP status; it is still logged with its errorType.
    let answer = match trigger_aws::lambda::finish(result) {
        Ok(response) => http(200, &json!(response)),
        Err(error) => {
            let status = match &error {
                TriggerError::InvalidEvent(_) => 400,
                TriggerError::Transient { .. } => 503,
                _ => 500,
            };
            http(
                status,
                &json!({"errorType": error.error_type(), "errorMessage": error.to_string()}),
            )
        }
    };
    Ok(ManualResponse::Http(answer))
}

async fn decide<S: PipelineStore, L: Ledger>(
    trigger: &Trigger<S, L>,
    event: &Value,
    invocation_request_id: &str,
) -> Result<Response, TriggerError> {
    let invalid = |message: String| TriggerError::InvalidEvent(message);
    let request = trigger_events::manual::decode(event, invocation_request_id, trigger_aws::engine::now())
        .map_err(|error| invalid(error.to_string()))?;
    let policy = trigger.policy();
    let Some(model) = policy.model(&request.model) else {
        let known: Vec<&str> = policy.models.iter().map(|model| model.name.as_str()).collect();
        return Err(invalid(format!(
            "`model`: no model named {:?} in the policy; known models: {}",
            request.model,
            known.join(", ")
        )));
    };
    trigger_decision::manual::check(&request, model).map_err(|error| invalid(error.to_string()))?;
    respond(trigger, &[Signal::Manual(request)]).await
}

fn http(status_code: u16, body: &Value) -> HttpResponse {
    let mut headers = serde_json::Map::new();
    headers.insert("content-type".to_string(), json!("application/json"));
    HttpResponse {
        status_code,
        headers,
        body: body.to_string(),
    }
}
