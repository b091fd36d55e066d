//! manual-trigger: a person asks for a retrain, with a reason. Invoked
//! directly (the answer is `{"decisions": [...]}`, failures are Lambda errors)
//! or through a function URL with AWS_IAM auth (the answer is always an HTTP
//! response: 200 with the decisions, 400 for a bad request, 503 when AWS
//! failed transiently and a retry is safe, 500 otherwise).

use serde::Serialize;
use serde_json::{json, Value};
use trigger_engine::log_line::log_failure;
use trigger_engine::{Response, Trigger, TriggerError};

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
pub async fn handle(
    trigger: &Trigger,
    event: &Value,
    invocation_request_id: &str,
) -> Result<ManualResponse, TriggerError> {
    let result = trigger_engine::manual::decide(trigger, event, invocation_request_id).await;
    if !trigger_events::manual::is_function_url(event) {
        return result.map(ManualResponse::Decisions);
    }
    // Behind a URL the caller waits for the answer and Lambda does not retry,
    // so every failure becomes an HTTP status; it is still logged with its errorType.
    let answer = match result {
        Ok(response) => http(200, &json!(response)),
        Err(error) => {
            log_failure(&error);
            let status = match &error {
                error if error.is_invalid_input() => 400,
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

fn http(status_code: u16, body: &Value) -> HttpResponse {
    let mut headers = serde_json::Map::new();
    headers.insert("content-type".to_string(), json!("application/json"));
    HttpResponse {
        status_code,
        headers,
        body: body.to_string(),
    }
}
