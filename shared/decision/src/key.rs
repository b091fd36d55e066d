//! Identifiers derived from a signal's dedupe key: the trigger id, the
//! SageMaker `ClientRequestToken` and the execution display name.
//!
//! All three are pure functions of the key (and the model), so every delivery
//! of one event, by any path, on any invocation, derives the same ones.

use sha2::{Digest, Sha256};

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
pub fn trigger_id(dedupe_key: &str) -> String {
    sha256_hex(&[dedupe_key])[..20].to_string()
}

/// The `ClientRequestToken` for starting `pipeline` for this event: 64 hex
/// characters, inside SageMaker's 32 to 128. One event bound to two models
/// gets two tokens, because each model's pipeline must start once.
pub fn client_request_token(pipeline: &str, dedupe_key: &str) -> String {
    sha256_hex(&[pipeline, dedupe_key])
}

/// The execution display name: `<model>-<trigger type>-<12 hex of the token>`.
///
/// It carries part of the token so that an execution this project started can
/// be recognised in `ListPipelineExecutions` even when the ledger never heard
/// of it (the process died after SageMaker accepted the start). It fits
/// SageMaker's pattern `[a-zA-Z0-9](-*[a-zA-Z0-9]){0,81}`.
pub fn display_name(model: &str, trigger_type: &str, token: &str) -> String {
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
mod tests {
    use super::*;

    #[test]
    fn tokens_depend_on_pipeline_and_key_and_fit_sagemaker_limits() {
        let token = client_request_token("housing-price-retrain", "alarm/a/1");
        assert_eq!(token.len(), 64);
        assert_eq!(token, client_request_token("housing-price-retrain", "alarm/a/1"));
        assert_ne!(token, client_request_token("churn-retrain", "alarm/a/1"));
        assert_ne!(token, client_request_token("housing-price-retrain", "alarm/a/2"));
        assert_ne!(client_request_token("ab", "c"), client_request_token("a", "bc"));
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
        let token = client_request_token("p", "k");
        let check = |model: &str, expected_prefix: &str| {
            let name = display_name(model, "metric", &token);
            assert!(name.len() <= 82, "{name}");
            assert!(name.starts_with(expected_prefix), "{name}");
            assert!(name.ends_with(&token[..12]), "{name}");
            assert!(name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-'), "{name}");
            assert!(!name.starts_with('-'));
        };
        check("housing-price", "housing-price-metric-");
        check("housing.price_v2", "housing-price-v2-metric-");
        check(&"x".repeat(200), "xxxx");
        check("__", "model-metric-");
    }
}
