//! What can stop a monitoring command (`baseline`, `profile`, `quality`), in
//! three kinds a script can tell apart by the exit status: the input is wrong
//! (fix the command, the policy or the file), AWS or the system refused
//! (permissions, a missing bucket), or a failure that a retry may cure.

use trigger_engine::TriggerError;

#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// The command's input is wrong: an unknown model, a model without
    /// `[model.monitor]`, a CSV without a feature's column, a bad URI.
    #[error("{0}")]
    Invalid(String),
    /// AWS or the system refused, and will refuse again until something
    /// changes: access denied, no such bucket, a file that cannot be written.
    #[error("{operation} was refused: {message}; check the location and your permissions")]
    Refused { operation: String, message: String },
    /// S3 was unreachable, throttled, or failed after the SDK's retries, or
    /// an object's body was cut short. Nothing was written; run it again.
    #[error("{operation} failed transiently: {message}; nothing was written, run the command again")]
    Transient { operation: String, message: String },
}

/// The exit status of an invalid input, as for a usage error.
pub const EXIT_INVALID: u8 = 2;
/// The exit status of a refusal (and of any other failure).
pub const EXIT_REFUSED: u8 = 1;
/// The exit status of a transient failure: sysexits' EX_TEMPFAIL, "try again later".
pub const EXIT_TRANSIENT: u8 = 75;

impl CliError {
    pub fn exit_code(&self) -> u8 {
        match self {
            CliError::Invalid(_) => EXIT_INVALID,
            CliError::Refused { .. } => EXIT_REFUSED,
            CliError::Transient { .. } => EXIT_TRANSIENT,
        }
    }

    pub fn refused(operation: impl Into<String>, message: impl std::fmt::Display) -> CliError {
        CliError::Refused {
            operation: operation.into(),
            message: message.to_string(),
        }
    }

    /// An AWS failure as `trigger_aws::error` sorted it: transient stays
    /// transient, anything else (access denied, no such bucket) is a refusal.
    pub fn from_aws(error: TriggerError) -> CliError {
        match error {
            TriggerError::Transient { operation, message, .. } => CliError::Transient { operation, message },
            TriggerError::Misconfigured { operation, message, .. } => CliError::Refused { operation, message },
            other => CliError::Refused {
                operation: "AWS".to_string(),
                message: other.to_string(),
            },
        }
    }
}
