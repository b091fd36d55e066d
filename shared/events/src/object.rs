//! S3 "Object Created", in both envelopes it arrives in: an EventBridge
//! event (`detail-type` "Object Created", `detail.bucket.name`,
//! `detail.object.key`) and an S3 event notification (`Records[].s3`). The
//! drift decoder and the monitor decoder both read objects through here, so
//! there is one way to read an object's bucket and key.

use crate::error::EventError;
use crate::field::{describe, Object};
use crate::timestamp;
use serde_json::Value;
use trigger_decision::{Path, Timestamp};

/// The EventBridge `detail-type` of an S3 object creation.
pub const OBJECT_CREATED_DETAIL_TYPE: &str = "Object Created";

/// One created object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreatedObject {
    pub bucket: String,
    /// The key as S3 stores it (a notification's form encoding undone).
    pub key: String,
    /// When S3 says the object was created, when the envelope says.
    pub created_at: Option<Timestamp>,
    /// How the event arrived: `EventBridge` or `S3` (a notification).
    pub path: Path,
    /// The JSON path of the object's key in the event, for error messages.
    pub field: String,
}

impl CreatedObject {
    /// `s3://bucket/key`.
    pub fn uri(&self) -> String {
        format!("s3://{}/{}", self.bucket, self.key)
    }
}

/// Whether the event is an S3 object creation in either envelope: an
/// EventBridge "Object Created" event, or an object with `Records`.
pub fn is_object_created(root: &Value) -> bool {
    root.get("detail-type").and_then(Value::as_str) == Some(OBJECT_CREATED_DETAIL_TYPE)
        || (root.get("detail-type").is_none() && root.get("Records").is_some())
}

/// The objects an EventBridge "Object Created" event or an S3 notification
/// announces: one for EventBridge, one per record for a notification.
pub fn decode(event: &Value) -> Result<Vec<CreatedObject>, EventError> {
    let root = Object::new(event, "").ok_or_else(|| EventError::WrongType {
        field: String::new(),
        expected: "an S3 Object Created event",
        found: describe(event),
    })?;
    if root.get("detail-type").is_some() {
        return eventbridge(&root).map(|object| vec![object]);
    }
    let records = root.required("Records", "an S3 notification carries its objects in `Records`")?;
    let records = records.as_array().ok_or_else(|| EventError::WrongType {
        field: "Records".to_string(),
        expected: "an array of S3 records",
        found: describe(records),
    })?;
    if records.is_empty() {
        return Err(EventError::WrongType {
            field: "Records".to_string(),
            expected: "at least one S3 record",
            found: "an empty array".to_string(),
        });
    }
    records
        .iter()
        .enumerate()
        .map(|(index, record)| notification_record(record, &format!("Records[{index}]")))
        .collect()
}

fn eventbridge(root: &Object<'_>) -> Result<CreatedObject, EventError> {
    let detail = root.required_object("detail", "an S3 Object Created event carries the object in `detail`")?;
    let bucket = detail.required_object("bucket", "the object's bucket is needed")?;
    let object = detail.required_object("object", "the object's key is needed")?;
    Ok(CreatedObject {
        bucket: non_empty(&bucket, "name", "the bucket name is needed")?,
        key: non_empty(&object, "key", "the object key is needed")?,
        created_at: root.get("time").and_then(timestamp::from_json),
        path: Path::EventBridge,
        field: object.field_path("key"),
    })
}

fn notification_record(record: &Value, path: &str) -> Result<CreatedObject, EventError> {
    let record = Object::new(record, path).ok_or_else(|| EventError::WrongType {
        field: path.to_string(),
        expected: "an S3 event record",
        found: describe(record),
    })?;
    let s3 = record.required_object("s3", "an S3 event record carries the bucket and object in `s3`")?;
    let bucket = s3.required_object("bucket", "the object's bucket is needed")?;
    let object = s3.required_object("object", "the object's key is needed")?;
    // S3 notifications URL-encode keys (a space arrives as `+`).
    let key = decode_key(&non_empty(&object, "key", "the object key is needed")?);
    Ok(CreatedObject {
        bucket: non_empty(&bucket, "name", "the bucket name is needed")?,
        key,
        created_at: record.get("eventTime").and_then(timestamp::from_json),
        path: Path::S3,
        field: object.field_path("key"),
    })
}

/// A required string that is not empty: an object with no bucket or key cannot exist.
fn non_empty(object: &Object<'_>, key: &str, needed: &'static str) -> Result<String, EventError> {
    let text = object.required_str(key, needed)?;
    if text.is_empty() {
        return Err(EventError::WrongType {
            field: object.field_path(key),
            expected: "a non-empty string",
            found: "\"\"".to_string(),
        });
    }
    Ok(text.to_string())
}

/// Undoes the form encoding S3 notifications apply to keys (`+` for a space, `%XX` for a byte).
pub(crate) fn decode_key(key: &str) -> String {
    fn hex(byte: u8) -> Option<u8> {
        (byte as char).to_digit(16).and_then(|digit| u8::try_from(digit).ok())
    }
    let bytes = key.as_bytes();
    let mut decoded = Vec::with_capacity(bytes.len());
    let mut index = 0;
    while let Some(&byte) = bytes.get(index) {
        let escaped = match (
            byte,
            bytes.get(index + 1).copied().and_then(hex),
            bytes.get(index + 2).copied().and_then(hex),
        ) {
            (b'%', Some(high), Some(low)) => Some(high * 16 + low),
            _ => None,
        };
        match (byte, escaped) {
            (_, Some(value)) => {
                decoded.push(value);
                index += 3;
            }
            (b'+', None) => {
                decoded.push(b' ');
                index += 1;
            }
            (other, None) => {
                decoded.push(other);
                index += 1;
            }
        }
    }
    String::from_utf8_lossy(&decoded).into_owned()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn notification_keys_are_url_decoded() {
        assert_eq!(decode_key("a+b%2Fc%3D%zz%"), "a b/c=%zz%");
        assert_eq!(decode_key("ünïcode%C3%A9"), "ünïcodeé");
    }

    #[test]
    fn both_envelopes_give_the_same_object() {
        let eventbridge = json!({"detail-type": "Object Created", "time": "2026-12-02T04:00:00Z",
            "detail": {"bucket": {"name": "b"}, "object": {"key": "a b/c.jsonl"}}});
        let notification = json!({"Records": [{"eventTime": "2026-12-02T04:00:00Z",
            "s3": {"bucket": {"name": "b"}, "object": {"key": "a+b/c.jsonl"}}}]});
        let by_eventbridge = decode(&eventbridge).unwrap();
        let by_notification = decode(&notification).unwrap();
        assert_eq!(by_eventbridge[0].uri(), "s3://b/a b/c.jsonl");
        assert_eq!(by_notification[0].uri(), by_eventbridge[0].uri());
        assert_eq!(by_notification[0].created_at, by_eventbridge[0].created_at);
        assert_eq!(
            (by_eventbridge[0].path, by_notification[0].path),
            (Path::EventBridge, Path::S3)
        );
        assert!(is_object_created(&eventbridge) && is_object_created(&notification));
    }

    #[test]
    fn an_object_that_cannot_exist_is_named() {
        let check = |event: Value, fragment: &str| {
            let error = decode(&event).unwrap_err().to_string();
            assert!(error.contains(fragment), "{error:?} lacks {fragment:?}");
        };
        check(json!({"Records": []}), "at least one S3 record");
        check(json!({"Records": {}}), "`Records` should be an array");
        check(
            json!({"Records": [{"s3": {"bucket": {"name": "b"}, "object": {"key": ""}}}]}),
            "`Records[0].s3.object.key` should be a non-empty string",
        );
        check(
            json!({"detail-type": "Object Created", "detail": {"bucket": {"name": "b"}, "object": {}}}),
            "`detail.object.key` is missing",
        );
        check(
            json!({"Records": [{"s3": {"bucket": {"name": "b"}}}]}),
            "Records[0].s3.object",
        );
    }
}
