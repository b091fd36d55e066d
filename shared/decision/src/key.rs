//! Identifiers derived from a signal's dedupe key: the trigger id, the
//! SageMaker `ClientRequestToken` and the execution display name.
//!
//! All three are pure functions of the key (and the model), so every delivery
//! of one event, by any path, on any invocation, derives the same ones. The
//! key, the id and the token are strings of different meaning that travel
//! together, so each has a type of its own: one cannot be passed for another.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::fmt;

/// Declares a newtype over `String` that reads and writes as the bare string.
macro_rules! string_newtype {
    ($(#[$meta:meta])* $name:ident) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            pub fn as_str(&self) -> &str {
                &self.0
            }

            pub fn into_string(self) -> String {
                self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }
    };
}

string_newtype!(
    /// What an event means, not its envelope: `alarm/<name>/<state time ms>`,
    /// `schedule/<name>/<scheduled time ms>`, `drift/<report id>` or
    /// `manual/<request id>`. The ledger keys its triggers by it.
    DedupeKey
);

string_newtype!(
    /// A short id for one trigger event (20 hex of the key's SHA-256), shared
    /// by every model the event reaches; the audit trail and the evidence name it.
    TriggerId
);

string_newtype!(
    /// The `ClientRequestToken` of one start: 64 hex, one per pipeline and dedupe key.
    RequestToken
);

impl DedupeKey {
    pub fn new(key: impl Into<String>) -> DedupeKey {
        DedupeKey(key.into())
    }
}

fn sha256_hex(parts: &[&str]) -> String {
    let mut hasher = Sha256::new();
    for part in parts {
        hasher.update(part.as_bytes());
        // A separator that cannot occur inside names keeps ("ab","c") apart from ("a","bc").
        hasher.update([0u8]);
    }
    hex(&hasher.finalize())
}

/// Lower-case hex, two characters a byte, written straight into one string:
/// this runs three times for every decision that starts a pipeline.
fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut text = String::with_capacity(bytes.len() * 2);
    for byte in bytes {
        text.push(char::from(DIGITS[usize::from(byte >> 4)]));
        text.push(char::from(DIGITS[usize::from(byte & 0x0f)]));
    }
    text
}

/// The SHA-256 of a document's text, 64 hex: `sha256sum` of the policy file gives the same.
pub fn content_sha256(text: &str) -> String {
    hex(&Sha256::digest(text.as_bytes()))
}

/// A short id for the trigger event, shared by every model it reaches.
pub fn trigger_id(dedupe_key: &DedupeKey) -> TriggerId {
    let mut digest = sha256_hex(&[dedupe_key.as_str()]);
    digest.truncate(20);
    TriggerId(digest)
}

/// The `ClientRequestToken` for starting `pipeline` for this event: 64 hex
/// characters, inside SageMaker's 32 to 128. One event bound to two models
/// gets two tokens, because each model's pipeline must start once.
pub fn client_request_token(pipeline: &str, dedupe_key: &DedupeKey) -> RequestToken {
    RequestToken(sha256_hex(&[pipeline, dedupe_key.as_str()]))
}

/// The execution display name: `<model>-<trigger type>-<12 hex of the token>`.
///
/// It carries part of the token so that an execution this project started can
/// be recognised in `ListPipelineExecutions` even when the ledger never heard
/// of it (the process died after SageMaker accepted the start). It fits
/// SageMaker's pattern `[a-zA-Z0-9](-*[a-zA-Z0-9]){0,81}`.
pub fn display_name(model: &str, trigger_type: &str, token: &RequestToken) -> String {
    let token = token.as_str();
    let suffix = format!("-{trigger_type}-{}", &token[..12.min(token.len())]);
    let mut prefix: String = model
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    prefix.truncate(82 - suffix.len());
    let prefix = prefix.trim_matches('-');
    let prefix = if prefix.is_empty() { "model" } else { prefix };
    format!("{prefix}{suffix}")
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn tokens_depend_on_pipeline_and_key_and_fit_sagemaker_limits() {
        let key = |text: &str| DedupeKey::new(text);
        let token = client_request_token("housing-price-retrain", &key("alarm/a/1"));
        assert_eq!(token.as_str().len(), 64);
        assert_eq!(token, client_request_token("housing-price-retrain", &key("alarm/a/1")));
        assert_ne!(token, client_request_token("churn-retrain", &key("alarm/a/1")));
        assert_ne!(token, client_request_token("housing-price-retrain", &key("alarm/a/2")));
        assert_ne!(
            client_request_token("ab", &key("c")),
            client_request_token("a", &key("bc"))
        );
    }

    #[test]
    fn identifiers_read_and_write_as_bare_strings() {
        let key = DedupeKey::new("alarm/a/1");
        let id = trigger_id(&key);
        assert_eq!(id.as_str().len(), 20);
        assert!(id.as_str().bytes().all(|b| b.is_ascii_hexdigit()), "{id}");
        let written = serde_json::to_string(&(&key, &id)).unwrap();
        assert_eq!(written, format!("[\"alarm/a/1\",\"{id}\"]"));
        let read: (DedupeKey, TriggerId) = serde_json::from_str(&written).unwrap();
        assert_eq!(read, (key, id));
    }

    #[test]
    fn digests_are_lower_case_hex_as_sha256sum_prints_them() {
        // `printf '' | sha256sum` and `printf 'abc' | sha256sum`.
        assert_eq!(
            content_sha256(""),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        assert_eq!(
            content_sha256("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(hex(&[0x00, 0x0f, 0xf0, 0xff]), "000ff0ff");
    }

    #[test]
    fn display_names_match_the_sagemaker_pattern() {
        let token = client_request_token("p", &DedupeKey::new("k"));
        let check = |model: &str, expected_prefix: &str| {
            let name = display_name(model, "metric", &token);
            assert!(name.len() <= 82, "{name}");
            assert!(name.starts_with(expected_prefix), "{name}");
            assert!(name.ends_with(&token.as_str()[..12]), "{name}");
            assert!(name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-'), "{name}");
            assert!(!name.starts_with('-'));
        };
        check("housing-price", "housing-price-metric-");
        check("housing.price_v2", "housing-price-v2-metric-");
        check(&"x".repeat(200), "xxxx");
        check("__", "model-metric-");
    }
}
