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

/// Refuses an event whose compact JSON is longer than `MAX_EVENT_BYTES`.
///
/// The event arrives already parsed, so its size is measured by serialising
/// it into a counter that gives up at the limit: nothing is allocated, and a
/// huge event costs at most `MAX_EVENT_BYTES` of work. Compact JSON is never
/// longer than what Lambda received, so a payload Lambda accepted passes.
pub(crate) fn check_event_size(event: &Value) -> Result<(), EventError> {
    let mut budget = Budget {
        written: 0,
        limit: MAX_EVENT_BYTES,
    };
    match serde_json::to_writer(&mut budget, event) {
        Ok(()) => Ok(()),
        Err(_) => Err(EventError::EventTooLarge {
            max_bytes: MAX_EVENT_BYTES,
        }),
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

/// A writer that only counts, and fails once more than `limit` bytes were written.
struct Budget {
    written: usize,
    limit: usize,
}

impl io::Write for Budget {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        self.written = self.written.saturating_add(bytes.len());
        if self.written > self.limit {
            return Err(io::Error::other("over the event size limit"));
        }
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
