//! Lenient field access on `serde_json::Value`, keeping each field's JSON path for error messages.
//!
//! The decoders read AWS payloads through `Object` rather than through serde
//! structs because real payloads vary (nulls, missing fields, numbers sent as
//! strings, JSON inside strings), and because an error must name the exact
//! path that was wrong. Optional readers never fail: a malformed optional
//! field is treated like an absent one. Required readers fail with an
//! `EventError` that names the field, what was expected and what was found.

use crate::error::EventError;
use crate::timestamp;
use serde_json::{Map, Value};
use trigger_decision::Timestamp;

/// CloudWatch's limit on alarm names, also applied to schedule names.
pub const MAX_NAME_CHARS: usize = 255;

/// How many characters of a found value an error message shows.
const SHOWN_CHARS: usize = 80;

/// How many keys of a found object an error message lists.
const SHOWN_KEYS: usize = 8;

/// A JSON object and the path it was found at (`""` for the event itself).
#[derive(Debug, Clone)]
pub(crate) struct Object<'a> {
    map: &'a Map<String, Value>,
    path: String,
}

impl<'a> Object<'a> {
    /// The object at `path`, or `None` when `value` is not an object.
    pub(crate) fn new(value: &'a Value, path: impl Into<String>) -> Option<Object<'a>> {
        value.as_object().map(|map| Object { map, path: path.into() })
    }

    pub(crate) fn path(&self) -> &str {
        &self.path
    }

    /// The object described for an error message: its keys.
    pub(crate) fn describe(&self) -> String {
        describe_keys(self.map)
    }

    /// The object's keys, in the order serde_json keeps them.
    pub(crate) fn keys(&self) -> impl Iterator<Item = &'a str> {
        self.map.keys().map(String::as_str)
    }

    /// The path of `key` inside this object.
    pub(crate) fn field_path(&self, key: &str) -> String {
        join(&self.path, key)
    }

    /// The value under `key`; null counts as absent.
    pub(crate) fn get(&self, key: &str) -> Option<&'a Value> {
        self.map.get(key).filter(|value| !value.is_null())
    }

    /// The value under `key`, or an error saying it is missing or null and why it is needed.
    pub(crate) fn required(&self, key: &str, needed: &'static str) -> Result<&'a Value, EventError> {
        match self.map.get(key) {
            Some(Value::Null) => Err(EventError::Missing {
                field: self.field_path(key),
                absence: "null",
                needed,
            }),
            Some(value) => Ok(value),
            None => Err(EventError::Missing {
                field: self.field_path(key),
                absence: "missing",
                needed,
            }),
        }
    }

    /// The object under `key`, when there is one.
    pub(crate) fn object(&self, key: &str) -> Option<Object<'a>> {
        self.get(key).and_then(|value| Object::new(value, self.field_path(key)))
    }

    /// The object under `key`, or an error when it is absent, null or not an object.
    pub(crate) fn required_object(&self, key: &str, needed: &'static str) -> Result<Object<'a>, EventError> {
        let value = self.required(key, needed)?;
        Object::new(value, self.field_path(key)).ok_or_else(|| EventError::WrongType {
            field: self.field_path(key),
            expected: "a JSON object",
            found: describe(value),
        })
    }

    /// The string under `key`, when there is one.
    pub(crate) fn str(&self, key: &str) -> Option<&'a str> {
        self.get(key).and_then(Value::as_str)
    }

    /// The string under `key`, or an error when it is absent, null or not a string.
    pub(crate) fn required_str(&self, key: &str, needed: &'static str) -> Result<&'a str, EventError> {
        let value = self.required(key, needed)?;
        value.as_str().ok_or_else(|| EventError::WrongType {
            field: self.field_path(key),
            expected: "a string",
            found: describe(value),
        })
    }

    /// The array under `key`, when there is one.
    pub(crate) fn array(&self, key: &str) -> Option<&'a [Value]> {
        self.get(key).and_then(Value::as_array).map(Vec::as_slice)
    }

    /// The number under `key`, also when sent as a numeric string.
    pub(crate) fn number(&self, key: &str) -> Option<f64> {
        self.get(key).and_then(number)
    }

    /// The alarm or schedule name under `key`, checked for length.
    pub(crate) fn required_name(&self, key: &str, needed: &'static str) -> Result<String, EventError> {
        let name = self.required_str(key, needed)?;
        check_name(&self.field_path(key), name)
    }

    /// The timestamp under `key`: a string in a format `timestamp::parse` reads,
    /// or a JSON number of epoch milliseconds.
    pub(crate) fn required_timestamp(&self, key: &str, needed: &'static str) -> Result<Timestamp, EventError> {
        let value = self.required(key, needed)?;
        timestamp::from_json(value).ok_or_else(|| EventError::BadTimestamp {
            field: self.field_path(key),
            found: describe(value),
        })
    }
}

/// `parent.key`, or `key` at the top level.
pub(crate) fn join(parent: &str, key: &str) -> String {
    if parent.is_empty() {
        key.to_string()
    } else {
        // Not format!: this runs for every object a decoder opens.
        let mut path = String::with_capacity(parent.len() + 1 + key.len());
        path.push_str(parent);
        path.push('.');
        path.push_str(key);
        path
    }
}

/// A finite number from a JSON number or a numeric string such as `"15000"`.
pub(crate) fn number(value: &Value) -> Option<f64> {
    let parsed = match value {
        Value::Number(number) => number.as_f64(),
        Value::String(text) => text.trim().parse::<f64>().ok(),
        _ => None,
    };
    parsed.filter(|number| number.is_finite())
}

/// Checks an alarm or schedule name found at `field`: non-empty and at most `MAX_NAME_CHARS`.
pub(crate) fn check_name(field: &str, name: &str) -> Result<String, EventError> {
    let length = name.chars().count();
    if name.trim().is_empty() || length > MAX_NAME_CHARS {
        let found = if name.is_empty() {
            "an empty string".to_string()
        } else if length > MAX_NAME_CHARS {
            format!("{length} characters starting {}", quote(name))
        } else {
            format!("only whitespace {}", quote(name))
        };
        return Err(EventError::BadName {
            field: field.to_string(),
            max: MAX_NAME_CHARS,
            found,
        });
    }
    Ok(name.to_string())
}

/// The text after the last `separator`, or all of it when there is none.
pub(crate) fn last_segment(text: &str, separator: char) -> &str {
    text.rsplit(separator).next().unwrap_or(text)
}

/// A short description of a found value for an error message.
pub(crate) fn describe(value: &Value) -> String {
    match value {
        Value::Null => "null".to_string(),
        Value::Bool(flag) => format!("the boolean {flag}"),
        Value::Number(number) => format!("the number {number}"),
        Value::String(text) if text.is_empty() => "an empty string".to_string(),
        Value::String(text) => format!("the string {}", quote(text)),
        Value::Array(items) => format!("an array of {} items", items.len()),
        Value::Object(map) => describe_keys(map),
    }
}

fn describe_keys(map: &Map<String, Value>) -> String {
    if map.is_empty() {
        return "an object with no keys".to_string();
    }
    let mut keys: Vec<String> = map.keys().take(SHOWN_KEYS).map(|key| shorten(key)).collect();
    if map.len() > SHOWN_KEYS {
        keys.push(format!("and {} more", map.len() - SHOWN_KEYS));
    }
    format!("an object with keys [{}]", keys.join(", "))
}

/// The text in double quotes, shortened and with control characters escaped.
pub(crate) fn quote(text: &str) -> String {
    format!("{:?}", shorten(text))
}

pub(crate) fn shorten(text: &str) -> String {
    if text.chars().count() <= SHOWN_CHARS {
        return text.to_string();
    }
    let mut short: String = text.chars().take(SHOWN_CHARS).collect();
    short.push('…');
    short
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn numbers_are_read_from_numbers_and_numeric_strings_only() {
        let check = |value: Value, expected: Option<f64>| assert_eq!(number(&value), expected, "{value}");
        check(json!(15000), Some(15000.0));
        check(json!(16250.5), Some(16250.5));
        check(json!("15000.0"), Some(15000.0));
        check(json!(" 42 "), Some(42.0));
        check(json!("NaN"), None);
        check(json!("inf"), None);
        check(json!("fifteen"), None);
        check(json!(null), None);
        check(json!(true), None);
        check(json!([1]), None);
    }

    #[test]
    fn names_must_be_one_to_255_characters() {
        assert!(check_name("alarmName", "housing-price-mae-high").is_ok());
        assert!(check_name("alarmName", &"é".repeat(255)).is_ok());
        for bad in [String::new(), "   ".to_string(), "a".repeat(256)] {
            let error = check_name("alarmName", &bad).unwrap_err().to_string();
            assert!(error.contains("`alarmName`"), "{error}");
        }
    }

    #[test]
    fn found_values_are_shortened_for_messages() {
        let long = "x".repeat(10_000);
        assert!(describe(&json!(long)).chars().count() < 100);
        let many: Map<String, Value> = (0..50).map(|index| (format!("key{index}"), json!(index))).collect();
        assert!(describe(&Value::Object(many)).contains("and 42 more"));
    }

    #[test]
    fn last_segment_takes_the_text_after_the_separator() {
        assert_eq!(last_segment("arn:aws:events:us-east-1:1:rule/bus/name", '/'), "name");
        assert_eq!(last_segment("plain", '/'), "plain");
        assert_eq!(last_segment("trailing/", '/'), "");
    }
}
