//! How an event reached the function: the delivery path, kept for the logs
//! and the audit trail. The dedupe key ignores it, so one event delivered by
//! several paths is acted on once.

/// How the event reached the function. Only for logs: the dedupe key ignores it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Path {
    AlarmAction,
    EventBridge,
    Sns,
    Scheduler,
    /// An S3 event notification delivered straight to the function.
    S3,
    /// A request made directly (`aws lambda invoke`, `cargo lambda invoke`).
    Direct,
    /// A Lambda function URL request (AWS_IAM auth).
    FunctionUrl,
}

impl Path {
    pub fn as_str(self) -> &'static str {
        match self {
            Path::AlarmAction => "alarm-action",
            Path::EventBridge => "eventbridge",
            Path::Sns => "sns",
            Path::Scheduler => "scheduler",
            Path::S3 => "s3",
            Path::Direct => "direct",
            Path::FunctionUrl => "function-url",
        }
    }
}
