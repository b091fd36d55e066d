//! The errors a trigger can end with, and the stable `errorType` each has.
//!
//! The `error_type` is a contract: operators alarm on `InvalidEvent`
//! separately from `Transient`, and Lambda's retries and the dead-letter
//! queue keep the event in every case, because every one of these is
//! returned as an error. Errors are built here and in `trigger-aws`'s
//! `error` module (what the SDK's failures mean), nowhere else.

use thiserror::Error;
use trigger_events::EventError;

/// The underlying failure of an AWS call, kept for the debug log.
pub type Source = Box<dyn std::error::Error + Send + Sync + 'static>;

#[derive(Debug, Error)]
pub enum TriggerError {
    /// The event is malformed or of an unknown shape. Retrying will not help;
    /// the DLQ keeps it for a person to look at.
    #[error(transparent)]
    Event(#[from] EventError),

    /// The event decoded, but what it asks for cannot be done: a model the
    /// policy does not name, a report that does not exist, a request the
    /// model's policy does not allow. Retrying will not help either.
    #[error("{0}")]
    InvalidEvent(String),

    /// AWS was unreachable, throttled, timed out or failed with a 5xx after
    /// the SDK's own retries. Nothing was recorded as started that did not
    /// start; a retry is safe. `operation` names the call and its resource,
    /// `message` is one short clause; neither says "retry".
    #[error("{operation} failed: {message}; the event is safe to retry")]
    Transient {
        operation: String,
        message: String,
        #[source]
        source: Option<Source>,
    },

    /// AWS answered that something the policy or the deployment names is
    /// wrong: a missing pipeline or bucket, a permission the role lacks, a
    /// request it rejects; or the request could not be made as configured.
    /// A retry fails the same way until someone changes something.
    #[error(
        "{operation} failed: {message}; a retry will fail the same way until the policy's pipeline, \
         RETRAIN_LEDGER or the function's IAM role is fixed"
    )]
    Misconfigured {
        operation: String,
        message: String,
        #[source]
        source: Option<Source>,
    },

    /// A ledger object exists but cannot be read. The trigger refuses to act
    /// rather than treat it as empty, which could start a pipeline twice.
    #[error("ledger object {key} is unreadable ({message}); repair or restore a previous version before retrying")]
    LedgerCorrupt { key: String, message: String },

    /// The function's own configuration (environment or policy) is invalid.
    #[error("{0}")]
    Config(String),

    /// A bug in the function, such as a value it built that cannot be
    /// written as JSON. Neither the event nor the configuration is at fault.
    #[error("{operation} failed: {message}; this is a bug in the function, not in the event or its configuration")]
    Internal { operation: String, message: String },
}

impl TriggerError {
    /// The stable `errorType` Lambda reports.
    pub fn error_type(&self) -> &'static str {
        match self {
            TriggerError::Event(_) | TriggerError::InvalidEvent(_) => "InvalidEvent",
            TriggerError::Transient { .. } => "Transient",
            TriggerError::Misconfigured { .. } => "Misconfigured",
            TriggerError::LedgerCorrupt { .. } => "LedgerCorrupt",
            TriggerError::Config(_) => "InvalidConfig",
            TriggerError::Internal { .. } => "Internal",
        }
    }

    /// Whether the input is at fault (`InvalidEvent`), so that no retry can help.
    pub fn is_invalid_input(&self) -> bool {
        matches!(self, TriggerError::Event(_) | TriggerError::InvalidEvent(_))
    }

    /// A transient failure whose cause is told in `message` alone.
    pub fn transient(operation: impl Into<String>, message: impl Into<String>) -> Self {
        TriggerError::Transient {
            operation: operation.into(),
            message: message.into(),
            source: None,
        }
    }

    /// A transient failure caused by `source`, which the error keeps.
    pub fn transient_from(operation: impl Into<String>, message: impl Into<String>, source: impl Into<Source>) -> Self {
        TriggerError::Transient {
            operation: operation.into(),
            message: message.into(),
            source: Some(source.into()),
        }
    }

    /// A refusal that will repeat until someone changes something, caused by `source`.
    pub fn misconfigured(operation: impl Into<String>, message: impl Into<String>, source: Option<Source>) -> Self {
        TriggerError::Misconfigured {
            operation: operation.into(),
            message: message.into(),
            source,
        }
    }

    /// A value the function built could not be serialised: a bug.
    pub fn serialisation(what: impl Into<String>, error: &serde_json::Error) -> Self {
        TriggerError::Internal {
            operation: format!("serialising {}", what.into()),
            message: error.to_string(),
        }
    }
}

#[cfg(test)]
#[allow(clippy::expect_used)]
mod tests {
    use super::*;
    use std::error::Error as _;

    #[test]
    fn each_error_has_its_stable_type() {
        let check = |error: TriggerError, expected: &str| assert_eq!(error.error_type(), expected, "{error}");
        check(
            TriggerError::Event(EventError::EventTooLarge { max_bytes: 1 }),
            "InvalidEvent",
        );
        check(TriggerError::InvalidEvent("no such model".into()), "InvalidEvent");
        check(TriggerError::transient("S3 GetObject", "reset"), "Transient");
        check(
            TriggerError::misconfigured("S3 PutObject", "denied", None),
            "Misconfigured",
        );
        check(
            TriggerError::LedgerCorrupt {
                key: "k".into(),
                message: "m".into(),
            },
            "LedgerCorrupt",
        );
        check(
            TriggerError::Config("RETRAIN_LEDGER is not set".into()),
            "InvalidConfig",
        );
        let unreadable = serde_json::from_str::<u8>("x").expect_err("not a number");
        check(TriggerError::serialisation("the ledger", &unreadable), "Internal");
    }

    #[test]
    fn a_transient_failure_keeps_its_source_and_says_it_is_safe_to_retry() {
        let cause = std::io::Error::new(std::io::ErrorKind::ConnectionReset, "connection reset by peer");
        let error = TriggerError::transient_from("S3 GetObject s3://b/k", "connection reset by peer", cause);
        assert_eq!(
            error.to_string(),
            "S3 GetObject s3://b/k failed: connection reset by peer; the event is safe to retry"
        );
        let source = error.source().map(ToString::to_string);
        assert_eq!(source.as_deref(), Some("connection reset by peer"));
        assert!(TriggerError::transient("x", "y").source().is_none());
    }

    #[test]
    fn a_decoding_error_keeps_its_message_and_is_invalid_input() {
        let decoding = EventError::EventTooLarge { max_bytes: 262_144 };
        let error = TriggerError::from(decoding.clone());
        assert_eq!(error.to_string(), decoding.to_string());
        assert!(error.is_invalid_input());
        assert!(!TriggerError::Config("x".into()).is_invalid_input());
    }
}
