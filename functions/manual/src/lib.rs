//! manual-trigger: a person asks for a retrain, with a reason. Invoked
//! directly (the answer is `{"decisions": [...]}`, failures are Lambda errors)
//! or through a function URL with AWS_IAM auth (the answer is always an HTTP
//! response: 200 with the decisions, 400 for a bad request, 503 when AWS
//! failed transiently and a retry is safe, 500 otherwise).

use aws_lambda_events::http::HeaderValue;
use aws_lambda_events::lambda_function_urls::LambdaFunctionUrlResponse;
use serde::Serialize;
use serde_json::{json, Value};
use trigger_engine::log_line::log_failure;
use trigger_engine::{Response, Trigger, TriggerError};

/// A function URL's response (payload format 2.0), as `aws_lambda_events` writes it.
pub type HttpResponse = LambdaFunctionUrlResponse;

/// What the function answers: the decisions, or for a function URL an HTTP response.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum ManualResponse {
    Decisions(Response),
    Http(HttpResponse),
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

/// A JSON answer for a function URL: the status and the body as text, as function URLs expect.
fn http(status_code: i64, body: &Value) -> HttpResponse {
    // The type is non-exhaustive: built from its default, field by field.
    let mut response = HttpResponse::default();
    response.status_code = status_code;
    response
        .headers
        .insert("content-type", HeaderValue::from_static("application/json"));
    response.body = Some(body.to_string());
    response
}
