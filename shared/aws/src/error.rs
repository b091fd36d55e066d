//! What the SDK's failures mean for a trigger: transient (a retry helps) or
//! a refusal that will repeat until someone changes something. Every SDK
//! error becomes a `TriggerError` here, and nowhere else.
//!
//! The message a person reads is one short clause (what AWS said, or what
//! went wrong on the way); the SDK's full error, with its headers and body,
//! goes to the log at debug level (`RUST_LOG=debug`).

use aws_credential_types::provider::error::CredentialsError;
use aws_sdk_s3::config::http::HttpResponse;
use aws_sdk_s3::error::{ProvideErrorMetadata, SdkError};
use trigger_engine::TriggerError;

/// The longest cause, in characters, quoted from a lower layer (a socket
/// error, an endpoint rule); anything longer is cut, the whole is in the debug log.
const MAX_CAUSE_CHARS: usize = 200;

/// What a failed call means for the event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    /// Throttling, a 5xx, a timeout or a failed connection: a retry can succeed.
    Transient,
    /// AWS refused, or the request could not be made as configured: a retry
    /// fails the same way until someone changes something.
    Refused,
}

/// Sorts an SDK failure of `operation` into transient (retry helps) or
/// misconfigured (it will fail the same way until someone changes something),
/// keeping the SDK's error as the source and its full text in the debug log.
pub fn from_sdk<E>(operation: impl Into<String>, error: SdkError<E, HttpResponse>) -> TriggerError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    let operation = operation.into();
    let (failure, cause) = classify(&error);
    tracing::debug!(
        %operation,
        error = %aws_sdk_s3::error::DisplayErrorContext(&error),
        "AWS call failed"
    );
    match failure {
        Failure::Transient => TriggerError::transient_from(operation, cause, error),
        Failure::Refused => TriggerError::misconfigured(operation, cause, Some(Box::new(error))),
    }
}

/// Whether `error` is transient, and a short cause for a person to read.
pub fn classify<E: ProvideErrorMetadata + std::error::Error + 'static>(
    error: &SdkError<E, HttpResponse>,
) -> (Failure, String) {
    match error {
        SdkError::ServiceError(service) => service_failure(
            service.raw().status().as_u16(),
            service.err().code(),
            service.err().message(),
        ),
        SdkError::TimeoutError(_) => (Failure::Transient, "the call timed out".to_string()),
        SdkError::ResponseError(response) => (
            Failure::Transient,
            format!(
                "the response (HTTP {}) could not be read: {}",
                response.raw().status().as_u16(),
                root_cause(error)
            ),
        ),
        SdkError::DispatchFailure(dispatch) => {
            let cause = root_cause(error);
            if dispatch.is_timeout() {
                (Failure::Transient, format!("the connection timed out ({cause})"))
            } else if dispatch.is_io() {
                (Failure::Transient, format!("could not connect ({cause})"))
            } else if let Some(credentials) = find_source::<CredentialsError>(error) {
                credentials_failure(credentials)
            } else if dispatch
                .as_other()
                .is_some_and(|kind| kind == aws_smithy_types::retry::ErrorKind::TransientError)
            {
                (Failure::Transient, format!("the connection failed ({cause})"))
            } else {
                // Before anything is sent: the endpoint (region, endpoint URL)
                // or signing could not be resolved. It will not resolve on a retry.
                (Failure::Refused, format!("the request could not be sent: {cause}"))
            }
        }
        // A request the SDK could not build (a field we set is invalid) is
        // built the same way on every retry.
        SdkError::ConstructionFailure(_) => (
            Failure::Refused,
            format!("the request could not be built: {}", root_cause(error)),
        ),
        _ => (Failure::Transient, format!("the call failed: {}", root_cause(error))),
    }
}

/// A service's answer: throttling, a timeout it reports, or a 5xx is
/// transient; any other answer (403, 404, a validation error) is a refusal.
fn service_failure(status: u16, code: Option<&str>, message: Option<&str>) -> (Failure, String) {
    let code_text = code.unwrap_or("no error code");
    let said = match message.filter(|message| !message.is_empty()) {
        Some(message) => format!("{code_text}: {}", shorten(message)),
        None => code_text.to_string(),
    };
    let code = code.unwrap_or_default();
    // The SDK's own lists, so what its retries treat as transient and what we call transient agree.
    let throttled = aws_runtime::retries::classifiers::THROTTLING_ERRORS.contains(&code);
    let timed_out = aws_runtime::retries::classifiers::TRANSIENT_ERRORS.contains(&code);
    let failure = if status >= 500 || status == 429 || throttled || timed_out {
        Failure::Transient
    } else {
        Failure::Refused
    };
    let what = match (failure, status) {
        (Failure::Transient, _) if throttled || status == 429 => "AWS throttled the call",
        (Failure::Transient, _) if timed_out => "AWS timed the call out",
        (Failure::Transient, _) => "AWS failed",
        (Failure::Refused, 403) => "access denied",
        (Failure::Refused, 404) => "not found",
        (Failure::Refused, _) if code.contains("NotFound") || code.starts_with("NoSuch") => "not found",
        (Failure::Refused, _) if code.contains("AccessDenied") || code.contains("Unauthorized") => "access denied",
        (Failure::Refused, _) => "AWS rejected the request",
    };
    (failure, format!("{what} (HTTP {status}, {said})"))
}

/// No credentials, or credentials configured wrongly, is a refusal; a
/// credentials service that timed out or failed may answer next time.
pub(crate) fn credentials_failure(error: &CredentialsError) -> (Failure, String) {
    let cause = shorten(&innermost(error));
    match error {
        CredentialsError::CredentialsNotLoaded(_) => (
            Failure::Refused,
            "no AWS credentials were found (set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE)"
                .to_string(),
        ),
        CredentialsError::InvalidConfiguration(_) => (
            Failure::Refused,
            format!("the AWS credentials are misconfigured: {cause}"),
        ),
        _ => (
            Failure::Transient,
            format!("the AWS credentials could not be loaded: {cause}"),
        ),
    }
}

/// The first error of type `T` in `error`'s chain of sources.
fn find_source<'a, T: std::error::Error + 'static>(error: &'a (dyn std::error::Error + 'static)) -> Option<&'a T> {
    let mut next = Some(error);
    while let Some(current) = next {
        if let Some(found) = current.downcast_ref::<T>() {
            return Some(found);
        }
        next = current.source();
    }
    None
}

/// The innermost cause of `error`, shortened: the one sentence of its chain
/// that says what actually happened ("Connection refused", "A region must be set").
fn root_cause(error: &(dyn std::error::Error + 'static)) -> String {
    shorten(&innermost(error))
}

fn innermost(error: &(dyn std::error::Error + 'static)) -> String {
    let mut current = error;
    while let Some(source) = current.source() {
        current = source;
    }
    current.to_string()
}

/// One line of at most `MAX_CAUSE_CHARS` characters.
fn shorten(text: &str) -> String {
    let line = text.lines().next().unwrap_or_default().trim().trim_end_matches('.');
    match line.char_indices().nth(MAX_CAUSE_CHARS) {
        Some((cut, _)) => format!("{}…", &line[..cut]),
        None => line.to_string(),
    }
}

/// A transient failure while reading a response body (cut short, reset).
pub fn body_error(operation: impl Into<String>, error: impl std::error::Error + Send + Sync + 'static) -> TriggerError {
    let cause = format!("the response was cut short ({})", root_cause(&error));
    tracing::debug!(error = %aws_sdk_s3::error::DisplayErrorContext(&error), "reading a response body failed");
    TriggerError::transient_from(operation, cause, error)
}
