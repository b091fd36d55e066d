//! The monitor function's inputs: an S3 object created under a model's
//! Data Capture or ground-truth prefix (an EventBridge "Object Created"
//! event or an S3 notification, read by [`crate::object`], the decoder the
//! drift function shares), or a window close from EventBridge Scheduler,
//! whose target input is `{"close": "<aws.scheduler.scheduled-time>"}`.
//! Which model an object is for, and whether it holds captures or labels,
//! is the policy's business, not this decoder's.

use crate::error::EventError;
use crate::field::{describe, shorten, Object};
use crate::limits::check_event_size;
use crate::object::{self, CreatedObject};
use serde_json::Value;
use trigger_decision::Timestamp;

/// One thing for the monitor function to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MonitorInput {
    /// A new object: a capture object or a ground-truth object.
    Object(CreatedObject),
    /// Close the windows due at this instant (the schedule's scheduled time).
    Close { at: Timestamp },
}

const ACCEPTED: &str = "an S3 \"Object Created\" event (EventBridge, or an S3 notification with `Records[].s3`) \
                        for a capture or ground-truth object, or a window close `{\"close\": \
                        \"<aws.scheduler.scheduled-time>\"}` from EventBridge Scheduler";

/// Decodes a monitor input. An S3 notification may carry several objects.
pub fn decode(event: &Value) -> Result<Vec<MonitorInput>, EventError> {
    check_event_size(event)?;
    let Some(root) = Object::new(event, "") else {
        return Err(unrecognised(describe(event)));
    };
    if root.get("close").is_some() {
        return close(&root).map(|at| vec![MonitorInput::Close { at }]);
    }
    match root.str("detail-type") {
        Some(object::OBJECT_CREATED_DETAIL_TYPE) => {}
        Some(other) => {
            return Err(unrecognised(format!(
                "an EventBridge event with detail-type {}",
                crate::field::quote(other)
            )))
        }
        None if root.get("Records").is_some() => {}
        None => return Err(unrecognised(root.describe())),
    }
    Ok(object::decode(event)?.into_iter().map(MonitorInput::Object).collect())
}

fn close(root: &Object<'_>) -> Result<Timestamp, EventError> {
    if let Some(text) = root
        .str("close")
        .filter(|text| text.trim().starts_with("<aws.scheduler."))
    {
        return Err(EventError::PlaceholderNotSubstituted {
            field: root.field_path("close"),
            placeholder: shorten(text.trim()),
        });
    }
    root.required_timestamp(
        "close",
        "a window close says when it fired (`<aws.scheduler.scheduled-time>` in the template)",
    )
}

fn unrecognised(found: String) -> EventError {
    EventError::UnrecognisedShape {
        field: String::new(),
        wanted: "a monitor input",
        found,
        accepted: ACCEPTED,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use serde_json::json;
    use trigger_decision::Path;

    fn fixture(name: &str) -> Value {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../tests/fixtures/events/monitor")
            .join(name);
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap()
    }

    #[test]
    fn a_capture_object_decodes_from_both_envelopes() {
        let by_eventbridge = decode(&fixture("example-eventbridge-capture-object-created.json")).unwrap();
        let by_notification = decode(&fixture("example-s3-notification-ground-truth.json")).unwrap();
        let [MonitorInput::Object(capture)] = by_eventbridge.as_slice() else {
            panic!("{by_eventbridge:?}")
        };
        assert_eq!(
            capture.uri(),
            "s3://captures/datacapture/housing-price-prod/AllTraffic/2026/12/02/04/capture-04-12-55-000.jsonl"
        );
        assert_eq!(capture.path, Path::EventBridge);
        let [MonitorInput::Object(labels)] = by_notification.as_slice() else {
            panic!("{by_notification:?}")
        };
        assert_eq!(
            labels.uri(),
            "s3://captures/ground-truth/housing-price/2026/12/02/09/labels 1.jsonl"
        );
        assert_eq!(labels.path, Path::S3);
    }

    #[test]
    fn a_window_close_carries_its_scheduled_time() {
        let decoded = decode(&fixture("example-scheduler-window-close.json")).unwrap();
        assert_eq!(
            decoded,
            vec![MonitorInput::Close {
                at: crate::timestamp::parse("2026-12-02T11:00:00Z").unwrap()
            }]
        );
    }

    #[test]
    fn bad_monitor_inputs_name_the_field() {
        let check = |event: Value, fragment: &str| {
            let error = decode(&event).unwrap_err().to_string();
            assert!(error.contains(fragment), "{error:?} lacks {fragment:?}");
        };
        check(
            json!({"close": "<aws.scheduler.scheduled-time>"}),
            "`close` is still the placeholder",
        );
        check(json!({"close": "yesterday"}), "`close` is not a timestamp");
        check(json!({"close": 12.5e20}), "`close` is not a timestamp");
        check(
            json!({"detail-type": "Scheduled Event", "detail": {}}),
            "not a monitor input",
        );
        check(json!({"hello": 1}), "not a monitor input");
        check(json!("close"), "not a monitor input");
        check(json!({"Records": []}), "at least one S3 record");
        check(
            json!({"detail-type": "Object Created", "detail": {"bucket": {"name": "b"}}}),
            "`detail.object` is missing",
        );
    }
}
