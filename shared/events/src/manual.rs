//! Manual retraining requests, invoked directly or through a Lambda function URL.
//!
//! Directly (`aws lambda invoke`, `cargo lambda invoke`), the event is the
//! request itself: `{"model", "reason", "requested_by", "force", "parameters",
//! "approval", "request_id"}`. Through a function URL with `AWS_IAM` auth, the
//! event is the URL's request (payload format 2.0): the request is the `body`
//! (base64 when `isBase64Encoded`), and the requester is the caller's IAM
//! identity in `requestContext.authorizer.iam`, never anything the body says,
//! so a caller cannot act in someone else's name.
//!
//! The dedupe key is the request id: the body's `request_id` when given, else
//! the function URL's `requestContext.requestId`, else the invocation's own
//! request id, which Lambda keeps across its retries of an asynchronous event.

use crate::error::EventError;
use crate::field::{describe, quote, Object};
use crate::limits::check_event_size;
use base64::Engine;
use serde_json::Value;
use std::collections::BTreeMap;
use trigger_decision::{Approval, ManualRequest, Path, Timestamp};

/// The keys a request body may hold.
const REQUEST_KEYS: [&str; 7] = [
    "model",
    "reason",
    "requested_by",
    "force",
    "parameters",
    "approval",
    "request_id",
];

/// The longest `reason`, `requested_by` or `request_id` accepted: the reason
/// goes into `TriggerReason`, which SageMaker caps at 1,024 characters.
const MAX_TEXT_CHARS: usize = 1024;

/// Whether the event is a Lambda function URL request (payload format 2.0),
/// whose answer must be an HTTP response. True even for a request that does
/// not decode, so that it can be answered with a 400.
pub fn is_function_url(event: &Value) -> bool {
    event.pointer("/requestContext/http").is_some_and(Value::is_object)
}

/// Decodes a manual request. `invocation_request_id` is the Lambda invocation's
/// request id; `now` stands in for the request time when the event carries none.
pub fn decode(event: &Value, invocation_request_id: &str, now: Timestamp) -> Result<ManualRequest, EventError> {
    check_event_size(event)?;
    if is_function_url(event) {
        return decode_function_url(event, now);
    }
    let Some(body) = Object::new(event, "") else {
        return Err(unrecognised("", describe(event)));
    };
    let requested_by = text(
        &body,
        "requested_by",
        "a direct request names who asks in `requested_by`",
    )?;
    decode_body(&body, requested_by, invocation_request_id, now, Path::Direct)
}

fn decode_function_url(event: &Value, now: Timestamp) -> Result<ManualRequest, EventError> {
    let Some(root) = Object::new(event, "") else {
        return Err(unrecognised("", describe(event)));
    };
    let context = root.required_object("requestContext", "a function URL request carries its requestContext")?;
    let method = context
        .required_object("http", "a function URL request carries requestContext.http")?
        .required_str("method", "a function URL request names its HTTP method")?;
    if method != "POST" {
        return Err(EventError::WrongType {
            field: "requestContext.http.method".to_string(),
            expected: "POST, with the request as a JSON body",
            found: quote(method),
        });
    }
    let identity = context
        .object("authorizer")
        .and_then(|authorizer| authorizer.object("iam"))
        .ok_or(EventError::Missing {
            field: "requestContext.authorizer.iam".to_string(),
            absence: "missing",
            needed: "the function URL must use AWS_IAM auth, so the caller's identity names the requester",
        })?;
    let requested_by = text(&identity, "userArn", "the caller's IAM identity names the requester")?;
    let url_request_id = text(&context, "requestId", "a function URL request carries its request id")?;
    let requested_at = context
        .get("timeEpoch")
        .and_then(crate::timestamp::from_json)
        .unwrap_or(now);
    let raw_body = root.required_str("body", "a function URL request carries the request as a JSON body")?;
    let body_text = if root.get("isBase64Encoded").and_then(Value::as_bool) == Some(true) {
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(raw_body.trim())
            .map_err(|error| EventError::NotJson {
                field: "body".to_string(),
                problem: format!("isBase64Encoded is true but it is not base64: {error}"),
                found: quote(raw_body),
            })?;
        String::from_utf8(bytes).map_err(|_| EventError::NotJson {
            field: "body".to_string(),
            problem: "its base64 does not decode to UTF-8 text".to_string(),
            found: quote(raw_body),
        })?
    } else {
        raw_body.to_string()
    };
    let body_value: Value = serde_json::from_str(&body_text).map_err(|error| EventError::NotJson {
        field: "body".to_string(),
        problem: error.to_string(),
        found: quote(&body_text),
    })?;
    let Some(body) = Object::new(&body_value, "body") else {
        return Err(unrecognised("body", describe(&body_value)));
    };
    decode_body(&body, requested_by, &url_request_id, requested_at, Path::FunctionUrl)
}

/// The request fields, wherever the body came from. A `requested_by` in the
/// body is ignored here: the caller chose which to pass.
fn decode_body(
    body: &Object<'_>,
    requested_by: String,
    default_request_id: &str,
    requested_at: Timestamp,
    path: Path,
) -> Result<ManualRequest, EventError> {
    if let Some(unknown) = body.keys().find(|key| !REQUEST_KEYS.contains(key)) {
        return Err(EventError::WrongType {
            field: body.field_path(unknown),
            expected: "absent: a request holds only model, reason, requested_by, force, parameters, approval \
                       and request_id",
            found: body.get(unknown).map_or_else(|| "null".to_string(), describe),
        });
    }
    Ok(ManualRequest {
        model: text(body, "model", "a request names the model to retrain")?,
        reason: text(body, "reason", "a request says why the model should retrain")?,
        requested_by,
        force: force(body)?,
        parameters: parameters(body)?,
        approval: approval(body)?,
        request_id: request_id(body, default_request_id)?,
        requested_at,
        path,
    })
}

/// `force`: a boolean, false when absent.
fn force(body: &Object<'_>) -> Result<bool, EventError> {
    match body.get("force") {
        None => Ok(false),
        Some(Value::Bool(flag)) => Ok(*flag),
        Some(other) => Err(EventError::WrongType {
            field: body.field_path("force"),
            expected: "true or false",
            found: describe(other),
        }),
    }
}

/// `parameters`: an object of names to string values, empty when absent.
fn parameters(body: &Object<'_>) -> Result<BTreeMap<String, String>, EventError> {
    let mut parameters = BTreeMap::new();
    let Some(value) = body.get("parameters") else {
        return Ok(parameters);
    };
    let Some(object) = value.as_object() else {
        return Err(EventError::WrongType {
            field: body.field_path("parameters"),
            expected: "an object of parameter names to string values",
            found: describe(value),
        });
    };
    for (name, value) in object {
        let Some(value) = value.as_str() else {
            return Err(EventError::WrongType {
                field: format!("{}.{name}", body.field_path("parameters")),
                expected: "a string (SageMaker pipeline parameters are passed as text)",
                found: describe(value),
            });
        };
        parameters.insert(name.clone(), value.to_string());
    }
    Ok(parameters)
}

/// `approval`: `"manual"` or `"auto"`, or absent.
fn approval(body: &Object<'_>) -> Result<Option<Approval>, EventError> {
    match body.get("approval") {
        None => Ok(None),
        Some(Value::String(text)) if text == "manual" => Ok(Some(Approval::Manual)),
        Some(Value::String(text)) if text == "auto" => Ok(Some(Approval::Auto)),
        Some(other) => Err(EventError::WrongType {
            field: body.field_path("approval"),
            expected: "\"manual\" or \"auto\"",
            found: describe(other),
        }),
    }
}

/// `request_id`, else the invocation's own request id; never blank.
fn request_id(body: &Object<'_>, default_request_id: &str) -> Result<String, EventError> {
    let request_id = match body.get("request_id") {
        Some(_) => text(body, "request_id", "a request id identifies the request across retries")?,
        None => default_request_id.to_string(),
    };
    if request_id.trim().is_empty() {
        return Err(EventError::Missing {
            field: body.field_path("request_id"),
            absence: "missing",
            needed: "the invocation had no request id; pass one in `request_id`",
        });
    }
    Ok(request_id)
}

/// A required, non-blank string of at most `MAX_TEXT_CHARS` characters.
fn text(object: &Object<'_>, key: &str, needed: &'static str) -> Result<String, EventError> {
    let value = object.required_str(key, needed)?;
    let length = value.chars().count();
    if value.trim().is_empty() || length > MAX_TEXT_CHARS {
        return Err(EventError::WrongType {
            field: object.field_path(key),
            expected: "text of 1 to 1,024 characters",
            found: if length > MAX_TEXT_CHARS {
                format!("{length} characters")
            } else {
                describe(&Value::String(value.to_string()))
            },
        });
    }
    Ok(value.to_string())
}

fn unrecognised(field: &str, found: String) -> EventError {
    EventError::UnrecognisedShape {
        field: field.to_string(),
        wanted: "a manual retraining request",
        found,
        accepted: "a direct request {\"model\", \"reason\", \"requested_by\", \"force\", \"parameters\", \
                   \"approval\", \"request_id\"}, or a Lambda function URL request (AWS_IAM auth) whose JSON \
                   body holds the same fields without requested_by",
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use serde_json::json;

    const NOW: Timestamp = Timestamp(1_704_360_000_000);

    fn fixture(name: &str) -> Value {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../tests/fixtures/events/manual")
            .join(name);
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap()
    }

    #[test]
    fn a_direct_request_takes_requester_from_the_body_and_id_from_the_invocation() {
        let request = decode(&fixture("example-manual-direct-request.json"), "lambda-req-1", NOW).unwrap();
        assert_eq!(request.model, "housing-price");
        assert_eq!(request.requested_by, "ana@example.com");
        assert_eq!(request.request_id, "lambda-req-1");
        assert_eq!(request.requested_at, NOW);
        assert_eq!(request.path, Path::Direct);
        assert!(!request.force);
        assert_eq!(request.approval, Some(Approval::Manual));
        assert_eq!(request.parameters.get("DataWindowDays").map(String::as_str), Some("90"));
    }

    #[test]
    fn a_function_url_request_takes_requester_from_iam_never_from_the_body() {
        let event = fixture("example-function-url-iam.json");
        assert!(is_function_url(&event));
        let request = decode(&event, "lambda-req-ignored", NOW).unwrap();
        // The body says someone-else@example.com; the signed caller is ana.
        assert_eq!(request.requested_by, "arn:aws:iam::123456789012:user/ana");
        assert_eq!(request.request_id, "c7a1f9e2-5d4b-4a8e-9f3c-2b6d8e1a0f47");
        assert_eq!(request.requested_at, Timestamp(1_704_359_730_000));
        assert_eq!(request.path, Path::FunctionUrl);
        assert!(request.force);

        let request = decode(&fixture("example-function-url-iam-base64.json"), "x", NOW).unwrap();
        assert_eq!(request.reason, "new feature zipcode_cluster added upstream");
        assert_eq!(request.requested_by, "arn:aws:iam::123456789012:user/ana");
        assert_eq!(request.parameters.get("DataWindowDays").map(String::as_str), Some("60"));
    }

    #[test]
    fn a_body_request_id_overrides_the_invocation_id() {
        let event = json!({"model": "m", "reason": "r", "requested_by": "ana", "request_id": "ticket-42"});
        assert_eq!(decode(&event, "lambda-req-1", NOW).unwrap().request_id, "ticket-42");
    }

    /// Each bad request is refused with a message naming the field.
    #[test]
    fn bad_requests_name_the_field() {
        let check = |event: Value, expected: &[&str]| {
            let error = decode(&event, "lambda-req-1", NOW)
                .expect_err(&event.to_string())
                .to_string();
            for fragment in expected {
                assert!(error.contains(fragment), "{error:?} lacks {fragment:?}");
            }
        };
        check(json!({"model": "m", "requested_by": "ana"}), &["`reason`", "missing"]);
        check(
            json!({"model": "m", "reason": "  ", "requested_by": "ana"}),
            &["`reason`", "1 to 1,024"],
        );
        check(json!({"model": "m", "reason": "r"}), &["`requested_by`", "missing"]);
        check(json!({"reason": "r", "requested_by": "ana"}), &["`model`"]);
        check(
            json!({"model": "m", "reason": "r", "requested_by": "ana", "force": "yes"}),
            &["`force`", "true or false"],
        );
        check(
            json!({"model": "m", "reason": "r", "requested_by": "ana", "approval": "none"}),
            &["`approval`", "\"manual\" or \"auto\""],
        );
        check(
            json!({"model": "m", "reason": "r", "requested_by": "ana", "parameters": {"DataWindowDays": 90}}),
            &["`parameters.DataWindowDays`", "a string"],
        );
        check(
            json!({"model": "m", "reason": "r", "requested_by": "ana", "forse": true}),
            &["`forse`", "only model, reason"],
        );
        check(json!([1]), &["manual retraining request"]);

        let url = fixture("example-function-url-iam.json");
        let mut no_iam = url.clone();
        no_iam["requestContext"]["authorizer"] = Value::Null;
        check(no_iam, &["`requestContext.authorizer.iam`", "AWS_IAM"]);
        let mut get = url.clone();
        get["requestContext"]["http"]["method"] = json!("GET");
        check(get, &["`requestContext.http.method`", "POST"]);
        let mut not_json = url.clone();
        not_json["body"] = json!("model=m");
        check(not_json, &["`body`", "JSON"]);
        let mut not_base64 = url.clone();
        not_base64["isBase64Encoded"] = json!(true);
        not_base64["body"] = json!("{not base64");
        check(not_base64, &["`body`", "base64"]);
    }
}
