//! Explicit bounds on what a decoder will read, so a hostile or broken event
//! is refused with a clear `InvalidEvent` instead of costing memory, time or
//! log space.
//!
//! No AWS source comes near these bounds: Lambda refuses asynchronous
//! payloads over 256 KiB, and SNS hands Lambda one record per invocation. An
//! event beyond them was made by hand or by a bug, and the dead-letter queue
//! is the right place for it.

use crate::error::EventError;
use serde_json::Value;
use std::io;

/// The largest event, in bytes of compact JSON, that a decoder reads: 256 KiB,
/// Lambda's limit for an asynchronous invocation's payload (the alarm action,
/// SNS and EventBridge all invoke asynchronously).
pub const MAX_EVENT_BYTES: usize = 256 * 1024;

/// The most records one SNS event may carry. SNS delivers one record per
/// invocation; the margin is for hand-made batches, not for anything AWS sends.
pub const MAX_SNS_RECORDS: usize = 100;

/// Refuses an event whose compact JSON is longer than `MAX_EVENT_BYTES`,
/// counting strings as they are held, unescaped.
///
/// The event arrives already parsed, so its size is added up by walking it,
/// which stops as soon as the bound is passed: a huge event costs at most
/// `MAX_EVENT_BYTES` of work, and an ordinary one a fraction of what
/// serialising it would (this runs on every invocation). Unescaped strings
/// are never longer than what Lambda received, so a payload Lambda accepted
/// passes; and they are what the decoders will read.
pub(crate) fn check_event_size(event: &Value) -> Result<(), EventError> {
    let mut remaining = MAX_EVENT_BYTES;
    if spend(event, &mut remaining) {
        Ok(())
    } else {
        Err(EventError::EventTooLarge {
            max_bytes: MAX_EVENT_BYTES,
        })
    }
}

/// Takes `value`'s size from `remaining`; `false` once that would go below zero.
fn spend(value: &Value, remaining: &mut usize) -> bool {
    match value {
        Value::Null | Value::Bool(true) => take(remaining, 4),
        Value::Bool(false) => take(remaining, 5),
        Value::Number(number) => take(remaining, number_length(number)),
        Value::String(text) => take(remaining, text.len() + 2),
        // Brackets and commas first, so a huge collection is refused before it is walked.
        Value::Array(items) => {
            take(remaining, items.len().saturating_add(1).max(2)) && items.iter().all(|item| spend(item, remaining))
        }
        // As above; each key adds its quotes and a colon.
        Value::Object(fields) => {
            take(remaining, fields.len().saturating_add(1).max(2))
                && fields
                    .iter()
                    .all(|(key, item)| take(remaining, key.len() + 3) && spend(item, remaining))
        }
    }
}

fn take(remaining: &mut usize, bytes: usize) -> bool {
    match remaining.checked_sub(bytes) {
        Some(left) => {
            *remaining = left;
            true
        }
        None => false,
    }
}

/// The length of a number as compact JSON: its digits for an integer; a
/// float, rare in events, is written out to a counter to measure it exactly.
fn number_length(number: &serde_json::Number) -> usize {
    let digits = |magnitude: u64| magnitude.checked_ilog10().map_or(1, |log| log as usize + 1);
    if let Some(unsigned) = number.as_u64() {
        return digits(unsigned);
    }
    if let Some(signed) = number.as_i64() {
        return 1 + digits(signed.unsigned_abs());
    }
    let mut counter = Counter(0);
    match serde_json::to_writer(&mut counter, number) {
        Ok(()) => counter.0,
        // Writing to a counter cannot fail; if it somehow did, count the float as long as any.
        Err(_) => 24,
    }
}

/// Refuses an SNS event with more than `MAX_SNS_RECORDS` records; `field` is the path of `Records`.
pub(crate) fn check_record_count(field: &str, count: usize) -> Result<(), EventError> {
    if count > MAX_SNS_RECORDS {
        return Err(EventError::TooManyRecords {
            field: field.to_string(),
            count,
            max: MAX_SNS_RECORDS,
        });
    }
    Ok(())
}

/// A writer that only counts what is written to it.
struct Counter(usize);

impl io::Write for Counter {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        self.0 += bytes.len();
        Ok(bytes.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use serde_json::json;

    /// An event whose compact JSON is exactly `bytes` long: `{"a":"xxx…"}` is 8 bytes plus the string.
    fn event_of(bytes: usize) -> Value {
        json!({ "a": "x".repeat(bytes - 8) })
    }

    #[test]
    fn events_up_to_the_limit_pass_and_one_byte_more_is_refused() {
        assert_eq!(serde_json::to_vec(&event_of(1000)).unwrap().len(), 1000);
        assert_eq!(check_event_size(&event_of(MAX_EVENT_BYTES)), Ok(()));
        let error = check_event_size(&event_of(MAX_EVENT_BYTES + 1)).unwrap_err();
        assert_eq!(
            error,
            EventError::EventTooLarge {
                max_bytes: MAX_EVENT_BYTES
            }
        );
        let message = error.to_string();
        assert!(
            message.contains("262144 bytes") && message.contains("256 KiB"),
            "{message}"
        );
    }

    #[test]
    fn the_size_is_compact_json_with_strings_unescaped() {
        let check = |event: Value| {
            let mut remaining = MAX_EVENT_BYTES;
            assert!(spend(&event, &mut remaining), "{event}");
            let unescaped = serde_json::to_string(&event).unwrap().replace("\\\"", "\"");
            assert_eq!(MAX_EVENT_BYTES - remaining, unescaped.len(), "{event}");
        };
        check(json!(null));
        check(json!(false));
        check(json!([]));
        check(json!({}));
        check(json!([1, -22, 333, u64::MAX, i64::MIN, 0.5, -1.25e300, 1e-7]));
        check(json!({"alarmData": {"alarmName": "é\"ü", "state": [true, null, {"x": ""}]}}));
        // A collection too large is refused before it is walked.
        let mut remaining = MAX_EVENT_BYTES;
        assert!(!spend(
            &Value::Array(vec![Value::Null; MAX_EVENT_BYTES]),
            &mut remaining
        ));
    }

    #[test]
    fn record_counts_up_to_the_limit_pass() {
        assert_eq!(check_record_count("Records", MAX_SNS_RECORDS), Ok(()));
        let message = check_record_count("Records", MAX_SNS_RECORDS + 1)
            .unwrap_err()
            .to_string();
        assert!(
            message.contains("`Records`") && message.contains("101") && message.contains("100"),
            "{message}"
        );
    }
}
