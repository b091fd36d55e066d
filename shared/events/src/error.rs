//! Why an event could not be turned into a signal.
//!
//! Every message names the field by its full JSON path (for example
//! `alarmData.state.timestamp` or `Records[1].Sns.Message.AlarmName`), says
//! what was expected there, and shows what was found, so an operator can fix
//! the event source from the log line alone. Found values are shortened, so a
//! hostile or huge payload cannot flood the log.

use thiserror::Error;

/// A reason an AWS event was refused. Decoding is lenient: optional fields
/// that are absent, null or malformed are skipped, so these errors are only
/// for what a signal cannot exist without.
#[derive(Debug, Clone, Error, PartialEq)]
pub enum EventError {
    /// The event, or an embedded document, is a JSON object but of no shape this decoder knows.
    #[error("{} is not {wanted}: found {found}; accepted: {accepted}", location_label(.field))]
    UnrecognisedShape {
        /// The path of the embedded document, e.g. `Records[1].Sns.Message`; empty for the event itself.
        field: String,
        /// What the decoder wanted, e.g. `a CloudWatch alarm event`.
        wanted: &'static str,
        found: String,
        /// The shapes this decoder accepts, naming the fields that tell them apart.
        accepted: &'static str,
    },

    /// A required field is absent or null.
    #[error("`{field}` is {absence}: {needed}")]
    Missing {
        field: String,
        /// `missing` or `null`.
        absence: &'static str,
        /// Why the field is needed, e.g. `a CloudWatch alarm event needs the new state`.
        needed: &'static str,
    },

    /// A field is present but of the wrong JSON type or an unusable value.
    #[error("`{field}` should be {expected}, found {found}")]
    WrongType {
        field: String,
        expected: &'static str,
        found: String,
    },

    /// A timestamp field is present but in no format we read.
    #[error(
        "`{field}` is not a timestamp: found {found}; expected RFC 3339 such as `2023-08-04T12:36:15.490Z`, \
         CloudWatch's `2023-08-04T12:36:15.490+0000`, or epoch milliseconds as a JSON number"
    )]
    BadTimestamp { field: String, found: String },

    /// An alarm or schedule name is empty or longer than CloudWatch allows.
    #[error("`{field}` should be a name of 1 to {max} characters, found {found}")]
    BadName { field: String, max: usize, found: String },

    /// A field that holds JSON inside a string (the SNS `Message`) does not parse.
    #[error("`{field}` should be a JSON document ({problem}), found {found}")]
    NotJson {
        field: String,
        /// serde_json's description of where parsing failed.
        problem: String,
        found: String,
    },

    /// An EventBridge Scheduler context attribute reached us unreplaced.
    #[error(
        "`{field}` is still the placeholder `{placeholder}`: the EventBridge Scheduler target Input was not \
         substituted. Scheduler replaces `<aws.scheduler.*>` attributes only when the schedule itself invokes \
         the target; an event copied from the template or sent by hand keeps them. Send a real value instead"
    )]
    PlaceholderNotSubstituted { field: String, placeholder: String },

    /// The event is larger than any AWS source sends; it was refused before being read.
    #[error(
        "the event is more than {max_bytes} bytes of JSON, the 256 KiB Lambda allows for an asynchronous \
         invocation: no alarm, SNS or schedule event is this large, so it was refused unread; trim or split it"
    )]
    EventTooLarge { max_bytes: usize },

    /// An SNS event holds more records than one invocation may carry.
    #[error(
        "`{field}` holds {count} SNS records, more than the {max} one invocation may carry: SNS delivers one \
         record per invocation, so this event was not sent by SNS; split it into events of at most {max} records"
    )]
    TooManyRecords { field: String, count: usize, max: usize },

    /// One record of an SNS event could not be decoded; the other records may still be fine.
    /// `index` is zero-based, like the `Records[index]` in the field paths.
    #[error("SNS record {index} of {count} (zero-based){}: {problem}", message_id_label(.message_id))]
    SnsRecord {
        index: usize,
        count: usize,
        message_id: Option<String>,
        problem: Box<EventError>,
    },
}

fn location_label(field: &str) -> String {
    if field.is_empty() {
        "the event".to_string()
    } else {
        format!("`{field}`")
    }
}

fn message_id_label(message_id: &Option<String>) -> String {
    match message_id {
        Some(id) => format!(", MessageId {id}"),
        None => String::new(),
    }
}

impl EventError {
    /// The JSON path of the field the error is about, when it is about one field.
    /// For an SNS record error this is the inner error's field.
    pub fn field(&self) -> Option<&str> {
        match self {
            EventError::UnrecognisedShape { field, .. } => (!field.is_empty()).then_some(field.as_str()),
            EventError::Missing { field, .. }
            | EventError::WrongType { field, .. }
            | EventError::BadTimestamp { field, .. }
            | EventError::BadName { field, .. }
            | EventError::NotJson { field, .. }
            | EventError::PlaceholderNotSubstituted { field, .. }
            | EventError::TooManyRecords { field, .. } => Some(field),
            EventError::EventTooLarge { .. } => None,
            EventError::SnsRecord { problem, .. } => problem.field(),
        }
    }
}
