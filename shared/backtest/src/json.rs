//! How the report's JSON writes times and spans: instants as RFC 3339 UTC
//! strings (`2024-03-04T10:00:00.000Z`), which a person can read and every
//! JSON consumer can parse, and spans as whole seconds.

use serde::Serializer;
use trigger_decision::{Span, Timestamp};

pub fn timestamp<S: Serializer>(at: &Timestamp, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.collect_str(at)
}

pub fn optional_timestamp<S: Serializer>(at: &Option<Timestamp>, serializer: S) -> Result<S::Ok, S::Error> {
    match at {
        Some(at) => serializer.collect_str(at),
        None => serializer.serialize_none(),
    }
}

pub fn timestamps<S: Serializer>(all: &[Timestamp], serializer: S) -> Result<S::Ok, S::Error> {
    serializer.collect_seq(all.iter().map(Timestamp::to_string))
}

pub fn span_seconds<S: Serializer>(span: &Span, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_i64(span.millis() / 1000)
}
