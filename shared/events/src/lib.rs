//! trigger-events: lenient decoders that turn AWS event JSON into `trigger-decision` signals.
//!
//! Each Lambda's handler hands the raw event (`serde_json::Value`) to one
//! decoder and gets back a `Signal` whose dedupe key describes what happened,
//! not how it was delivered:
//!
//! - `alarm::decode`: the CloudWatch alarm Lambda action, or EventBridge's
//!   "CloudWatch Alarm State Change" event;
//! - `sns::decode`: an SNS event whose records carry CloudWatch alarm
//!   notifications (or EventBridge alarm events published to the topic),
//!   one result per record;
//! - `schedule::decode`: an EventBridge scheduled-rule event, or an
//!   EventBridge Scheduler input;
//! - `manual::decode`: a person's retraining request, invoked directly or
//!   through a Lambda function URL (the requester then comes from IAM);
//! - `monitor_event::decode`: the monitor function's inputs, a capture or
//!   ground-truth object created, or a window close;
//! - `object::decode`: an S3 "Object Created" in either envelope, shared by
//!   the drift and monitor decoders.
//!
//! Decoding is lenient where AWS payloads vary (nulls, absent optional fields,
//! numbers sent as strings, unknown extra fields, `reasonData` that is missing
//! or unparseable) and strict only about what a signal cannot exist without:
//! the alarm or schedule name and the time that identifies the event. It does
//! no I/O and never panics on input. This crate is the only one that knows
//! the shape of AWS event JSON. Every decoder first checks the bounds in
//! `limits`: events over 256 KiB and SNS events of more than 100 records are
//! refused before anything else is read.

pub mod alarm;
pub mod drift;
pub mod error;
mod field;
pub mod limits;
pub mod manual;
pub mod monitor;
pub mod monitor_event;
pub mod object;
pub mod schedule;
pub mod sns;
pub mod timestamp;

#[cfg(test)]
mod tests;

pub use error::EventError;
pub use field::MAX_NAME_CHARS;
pub use limits::{MAX_EVENT_BYTES, MAX_SNS_RECORDS};
