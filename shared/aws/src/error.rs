//! The errors a trigger function can end with, and how each reaches Lambda.
//!
//! The `error_type` is a stable contract: operators alarm on `InvalidEvent`
//! separately from `Transient`, and Lambda's retries and the DLQ keep the
//! event in every case, because every one of these is returned as an error.

use aws_sdk_s3::config::http::HttpResponse;
use aws_sdk_s3::error::{ProvideErrorMetadata, SdkError};
use lambda_runtime::Diagnostic;
use thiserror::Error;

#[derive(Debug, Error)]
pub enum TriggerError {
    /// The event is malformed or of an unknown shape. Retrying will not help;
    /// the DLQ keeps it for a person to look at.
    #[error("{0}")]
    InvalidEvent(String),

    /// AWS was unreachable, throttled or failed after the SDK's own retries.
    /// Nothing was recorded as started that did not start; a retry is safe.
    #[error("{operation} failed transiently: {message}; the event is safe to retry")]
    Transient { operation: String, message: String },

    /// AWS answered that something the policy or the deployment names is
    /// wrong: a missing pipeline or bucket, or a permission the role lacks.
    #[error("{operation} was refused: {message}; check the policy and the function's IAM role")]
    Misconfigured { operation: String, message: String },

    /// A ledger object exists but cannot be read. The trigger refuses to act
    /// rather than treat it as empty, which could start a pipeline twice.
    #[error("ledger object {key} is unreadable ({message}); repair or restore a previous version before retrying")]
    LedgerCorrupt { key: String, message: String },

    /// The function's own configuration (environment or policy) is invalid.
    #[error("{0}")]
    Config(String),
}

impl TriggerError {
    /// The stable `errorType` Lambda reports.
    pub fn error_type(&self) -> &'static str {
        match self {
            TriggerError::InvalidEvent(_) => "InvalidEvent",
            TriggerError::Transient { .. } => "Transient",
            TriggerError::Misconfigured { .. } => "Misconfigured",
            TriggerError::LedgerCorrupt { .. } => "LedgerCorrupt",
            TriggerError::Config(_) => "InvalidConfig",
        }
    }

    pub fn transient(operation: impl Into<String>, message: impl Into<String>) -> Self {
        TriggerError::Transient {
            operation: operation.into(),
            message: message.into(),
        }
    }

    /// Sorts an SDK failure into transient (retry helps) or misconfigured
    /// (it will fail the same way until someone changes something).
    pub fn from_sdk<E>(operation: impl Into<String>, error: SdkError<E, HttpResponse>) -> Self
    where
        E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    {
        let operation = operation.into();
        let message = aws_sdk_s3::error::DisplayErrorContext(&error).to_string();
        match &error {
            SdkError::ServiceError(service) => {
                let status = service.raw().status().as_u16();
                let code = service.err().code().unwrap_or_default();
                if status >= 500 || status == 429 || is_throttling(code) {
                    TriggerError::Transient { operation, message }
                } else {
                    TriggerError::Misconfigured { operation, message }
                }
            }
            // Construction failures are bugs in the request we built, not the network.
            SdkError::ConstructionFailure(_) => TriggerError::Misconfigured { operation, message },
            _ => TriggerError::Transient { operation, message },
        }
    }
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

impl From<TriggerError> for Diagnostic {
    fn from(error: TriggerError) -> Diagnostic {
        Diagnostic {
            error_type: error.error_type().to_string(),
            error_message: error.to_string(),
        }
    }
}
