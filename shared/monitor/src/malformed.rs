//! Lines that could not be read: counted, and a bounded number kept as
//! examples with their line number and first 200 characters, for the log.
//! A malformed line contributes nothing to a profile or a batch; the lines
//! around it are read as usual.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Examples kept per object; the count goes on beyond them.
pub const MAX_MALFORMED_EXAMPLES: usize = 100;

/// Why a line was not read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum MalformedReason {
    /// Not JSON at all.
    NotJson,
    /// JSON, but not a capture (or ground-truth) record: a required field is missing or of the wrong type.
    NotARecord,
    /// An `encoding` other than CSV, JSON or BASE64.
    UnknownEncoding,
    /// BASE64 data that does not decode, or whose bytes are not UTF-8 text.
    BadBase64,
    /// BASE64 data whose `observedContentType` is neither CSV nor JSON.
    UnknownContentType,
    /// A JSON payload that does not parse, or has a shape no feature list fits.
    BadJsonPayload,
    /// A row with more or fewer columns than there are features.
    WrongColumnCount,
    /// A numerical feature's value that is not a number.
    UnparsableNumber,
    /// No prediction where the settings say it is, or not one per input row.
    PredictionNotFound,
    /// A prediction (or label) that is not a value the problem can use.
    UnparsableValue,
    /// Longer than the longest line read.
    LineTooLong,
}

/// One line that was not read.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Malformed {
    /// 1-based, counting every line of the object.
    pub line: u64,
    pub reason: MalformedReason,
    /// What exactly, e.g. "3 columns for 4 features".
    pub detail: String,
    /// The line's first 200 characters.
    pub excerpt: String,
}

/// Every malformed line counted, by reason, with the first few kept.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct MalformedLog {
    pub count: u64,
    pub by_reason: BTreeMap<MalformedReason, u64>,
    pub examples: Vec<Malformed>,
}

impl MalformedLog {
    pub(crate) fn record(&mut self, line: u64, reason: MalformedReason, detail: String, text: &[u8]) {
        self.count += 1;
        *self.by_reason.entry(reason).or_default() += 1;
        if self.examples.len() < MAX_MALFORMED_EXAMPLES {
            self.examples.push(Malformed {
                line,
                reason,
                detail,
                excerpt: crate::lines::excerpt(text),
            });
        }
    }
}
