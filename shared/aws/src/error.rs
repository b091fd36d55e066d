//! What the SDK's failures mean for a trigger: transient (a retry helps) or
//! a refusal that will repeat until someone changes something. Every SDK
//! error becomes a `TriggerError` here, and nowhere else.

use aws_sdk_s3::config::http::HttpResponse;
use aws_sdk_s3::error::{ProvideErrorMetadata, SdkError};
use trigger_engine::TriggerError;

/// Sorts an SDK failure of `operation` into transient (retry helps) or
/// misconfigured (it will fail the same way until someone changes something),
/// keeping the SDK's error as the source.
pub fn from_sdk<E>(operation: impl Into<String>, error: SdkError<E, HttpResponse>) -> TriggerError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    let operation = operation.into();
    let message = aws_sdk_s3::error::DisplayErrorContext(&error).to_string();
    let transient = match &error {
        SdkError::ServiceError(service) => {
            let status = service.raw().status().as_u16();
            let code = service.err().code().unwrap_or_default();
            status >= 500 || status == 429 || is_throttling(code)
        }
        // Construction failures are bugs in the request we built, not the network.
        SdkError::ConstructionFailure(_) => false,
        _ => true,
    };
    if transient {
        TriggerError::transient_from(operation, message, error)
    } else {
        TriggerError::misconfigured(operation, message, Some(Box::new(error)))
    }
}

/// A transient failure while reading a response body (cut short, reset).
pub fn body_error(operation: impl Into<String>, error: impl std::error::Error + Send + Sync + 'static) -> TriggerError {
    TriggerError::transient_from(operation, error.to_string(), error)
}

fn is_throttling(code: &str) -> bool {
    matches!(
        code,
        "ThrottlingException"
            | "Throttling"
            | "ThrottledException"
            | "TooManyRequestsException"
            | "RequestLimitExceeded"
            | "SlowDown"
            | "RequestTimeout"
            | "ServiceUnavailable"
            | "InternalError"
    )
}
