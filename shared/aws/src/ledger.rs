//! The ledger: per-model state in S3, written only with conditional puts.
//!
//! One JSON object per model, `<prefix>/state/<model>.json`, holds the
//! triggers this project claimed or started and the evidence not yet acted
//! on. Every write names the version it read (`If-Match`), or that there was
//! none (`If-None-Match: *`), so two invocations can never both believe they
//! own a start. See ARCHITECTURE.md, "Exactly once".

use crate::error::TriggerError;
use aws_sdk_s3::primitives::ByteStream;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::future::Future;
use trigger_decision::{Evidence, Span, Timestamp};

/// How long the ledger remembers a trigger: longer than any delivery path
/// retries (Lambda async 6 h, EventBridge 24 h, SNS up to 23 days for
/// Lambda endpoints with a custom policy), with a margin.
pub const TRIGGER_RETENTION: Span = Span::from_secs(30 * 86_400);

/// The most evidence entries kept per model. Older ones are dropped first;
/// one is enough to justify a scheduled start, the rest are for the record.
pub const MAX_EVIDENCE: usize = 100;

/// One trigger this project claimed for a model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TriggerRecord {
    pub trigger_id: String,
    pub client_request_token: String,
    pub claimed_at: Timestamp,
    /// Which invocation claimed it (`engine::claimant`), so that one whose
    /// claim write landed unanswered knows the claim for its own. Absent in
    /// records written before it existed, and in records of a start found
    /// without a claim.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub claimed_by: Option<String>,
    /// Set once SageMaker accepted the start.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub execution_arn: Option<String>,
}

/// A model's ledger object.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelState {
    /// Claimed or started triggers, by dedupe key.
    #[serde(default)]
    pub triggers: BTreeMap<String, TriggerRecord>,
    /// Evidence not yet acted on, oldest first.
    #[serde(default)]
    pub evidence: Vec<Evidence>,
}

impl ModelState {
    /// Records `claimant`'s claim on `key`, unless a start is already recorded for it.
    pub fn claim(&mut self, key: &str, trigger_id: &str, token: &str, claimant: &str, now: Timestamp) {
        let record = self.triggers.entry(key.to_string()).or_insert_with(|| TriggerRecord {
            trigger_id: trigger_id.to_string(),
            client_request_token: token.to_string(),
            claimed_at: now,
            claimed_by: None,
            execution_arn: None,
        });
        if record.execution_arn.is_none() {
            record.claimed_at = now;
            record.claimed_by = Some(claimant.to_string());
        }
    }

    /// Whether `claimant` holds the claim on `key` and nothing has started for it yet.
    pub fn claimed_by(&self, key: &str, claimant: &str) -> bool {
        self.triggers
            .get(key)
            .is_some_and(|record| record.execution_arn.is_none() && record.claimed_by.as_deref() == Some(claimant))
    }

    /// Drops a claim that never led to a start, so a retry may claim again at once.
    pub fn release(&mut self, key: &str) {
        if self
            .triggers
            .get(key)
            .is_some_and(|record| record.execution_arn.is_none())
        {
            self.triggers.remove(key);
        }
    }

    /// Records a start and consumes the evidence it acted on: the entries named
    /// in `consumed` (what the decision saw). Evidence that arrived meanwhile
    /// stays, whatever its time: it was kept by a delivery this start did not
    /// see, and consuming it by age would lose it. (Evidence older than the
    /// last start never justifies a scheduled start, so what stays is harmless.)
    pub fn record_start(
        &mut self,
        key: &str,
        trigger_id: &str,
        token: &str,
        execution_arn: &str,
        at: Timestamp,
        consumed: &[String],
    ) {
        let record = self.triggers.entry(key.to_string()).or_insert_with(|| TriggerRecord {
            trigger_id: trigger_id.to_string(),
            client_request_token: token.to_string(),
            claimed_at: at,
            claimed_by: None,
            execution_arn: None,
        });
        record.execution_arn = Some(execution_arn.to_string());
        self.evidence
            .retain(|evidence| !consumed.contains(&evidence.trigger_id));
    }

    /// Keeps evidence for later, once per trigger. Returns whether it was new.
    pub fn keep_evidence(&mut self, evidence: Evidence) -> bool {
        if self.evidence.iter().any(|kept| kept.trigger_id == evidence.trigger_id) {
            return false;
        }
        self.evidence.push(evidence);
        self.evidence.sort_by_key(|kept| kept.at);
        let excess = self.evidence.len().saturating_sub(MAX_EVIDENCE);
        self.evidence.drain(..excess);
        true
    }

    /// Forgets triggers older than the retention, so the object stays small.
    pub fn prune(&mut self, now: Timestamp) {
        let horizon = now.minus(TRIGGER_RETENTION);
        self.triggers.retain(|_, record| record.claimed_at > horizon);
        self.evidence.retain(|evidence| evidence.at > horizon);
    }

    pub fn execution_for(&self, key: &str) -> Option<&str> {
        self.triggers
            .get(key)
            .and_then(|record| record.execution_arn.as_deref())
    }
}

/// An object version as S3 names it, for `If-Match`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ETag(pub String);

/// The result of a conditional write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Write {
    Written,
    /// Someone else wrote first; read again and redo the change.
    Conflict,
}

/// Per-model state with compare-and-swap writes.
pub trait Ledger: Send + Sync {
    /// The model's state and its version, or `None` if the model has none yet.
    fn load(&self, model: &str) -> impl Future<Output = Result<Option<(ModelState, ETag)>, TriggerError>> + Send;

    /// Writes `state` if the stored version is still `expected` (`None`: if
    /// there is still no object).
    fn store(
        &self,
        model: &str,
        state: &ModelState,
        expected: Option<&ETag>,
    ) -> impl Future<Output = Result<Write, TriggerError>> + Send;
}

/// A location `s3://bucket/prefix`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct S3Location {
    pub bucket: String,
    pub prefix: String,
}

impl S3Location {
    pub fn parse(uri: &str) -> Option<S3Location> {
        let rest = uri.strip_prefix("s3://")?;
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        if bucket.is_empty() {
            return None;
        }
        Some(S3Location {
            bucket: bucket.to_string(),
            prefix: prefix.trim_matches('/').to_string(),
        })
    }

    pub fn key(&self, relative: &str) -> String {
        if self.prefix.is_empty() {
            relative.to_string()
        } else {
            format!("{}/{relative}", self.prefix)
        }
    }
}

/// The ledger in S3.
#[derive(Debug, Clone)]
pub struct S3Ledger {
    client: aws_sdk_s3::Client,
    location: S3Location,
}

impl S3Ledger {
    pub fn new(client: aws_sdk_s3::Client, location: S3Location) -> Self {
        S3Ledger { client, location }
    }

    /// The S3 client, for other readers that share the function's connection pool.
    pub fn client(&self) -> &aws_sdk_s3::Client {
        &self.client
    }

    pub fn state_key(&self, model: &str) -> String {
        self.location.key(&format!("state/{model}.json"))
    }
}

impl Ledger for S3Ledger {
    async fn load(&self, model: &str) -> Result<Option<(ModelState, ETag)>, TriggerError> {
        let key = self.state_key(model);
        let response = match self
            .client
            .get_object()
            .bucket(&self.location.bucket)
            .key(&key)
            .send()
            .await
        {
            Ok(response) => response,
            Err(error) if error.as_service_error().is_some_and(|e| e.is_no_such_key()) => return Ok(None),
            Err(error) => {
                return Err(TriggerError::from_sdk(
                    format!("S3 GetObject s3://{}/{key}", self.location.bucket),
                    error,
                ))
            }
        };
        let etag = response.e_tag().map(|tag| ETag(tag.to_string()));
        let body = response
            .body
            .collect()
            .await
            .map_err(|error| {
                TriggerError::transient(
                    format!("reading s3://{}/{key}", self.location.bucket),
                    error.to_string(),
                )
            })?
            .into_bytes();
        // Through a JSON object first: serde would also read a struct from an
        // array, so `[]` would pass as an empty ledger, a silent reset.
        let state: ModelState = serde_json::from_slice::<serde_json::Map<String, serde_json::Value>>(&body)
            .and_then(|fields| serde_json::from_value(serde_json::Value::Object(fields)))
            .map_err(|error| TriggerError::LedgerCorrupt {
                key: format!("s3://{}/{key}", self.location.bucket),
                message: error.to_string(),
            })?;
        let Some(etag) = etag else {
            return Err(TriggerError::transient(
                format!("S3 GetObject s3://{}/{key}", self.location.bucket),
                "the response had no ETag, so a conditional write is impossible",
            ));
        };
        Ok(Some((state, etag)))
    }

    async fn store(&self, model: &str, state: &ModelState, expected: Option<&ETag>) -> Result<Write, TriggerError> {
        let key = self.state_key(model);
        let body = serde_json::to_vec_pretty(state)
            .map_err(|error| TriggerError::Config(format!("cannot serialise the ledger state: {error}")))?;
        let request = self
            .client
            .put_object()
            .bucket(&self.location.bucket)
            .key(&key)
            .content_type("application/json")
            .body(ByteStream::from(body));
        let request = match expected {
            Some(etag) => request.if_match(&etag.0),
            None => request.if_none_match("*"),
        };
        match request.send().await {
            Ok(_) => Ok(Write::Written),
            Err(error) => {
                // 412: the precondition failed; 409: a concurrent conditional write is in progress.
                let status = error.raw_response().map(|response| response.status().as_u16());
                if matches!(status, Some(412 | 409)) {
                    Ok(Write::Conflict)
                } else {
                    Err(TriggerError::from_sdk(
                        format!("S3 PutObject s3://{}/{key}", self.location.bucket),
                        error,
                    ))
                }
            }
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn evidence(id: &str, at: i64) -> Evidence {
        Evidence {
            trigger_id: id.into(),
            summary: format!("evidence {id}"),
            at: Timestamp(at),
        }
    }

    #[test]
    fn a_start_consumes_the_evidence_its_decision_saw_and_keeps_the_rest() {
        let mut state = ModelState::default();
        assert!(state.keep_evidence(evidence("a", 10)));
        assert!(state.keep_evidence(evidence("b", 30)));
        assert!(!state.keep_evidence(evidence("a", 10)));
        assert!(state.keep_evidence(evidence("c", 40)));
        assert_eq!(state.evidence.len(), 3, "the same trigger is kept once");
        state.claim("k", "t", "tok", "invocation-1", Timestamp(15));
        state.record_start("k", "t", "tok", "arn:1", Timestamp(20), &["c".to_string()]);
        assert_eq!(state.execution_for("k"), Some("arn:1"));
        // `a` is older than the start but arrived after its decision: kept, not lost.
        assert_eq!(state.evidence, vec![evidence("a", 10), evidence("b", 30)]);
    }

    #[test]
    fn a_claim_belongs_to_its_last_claimant_until_the_start_is_recorded() {
        let mut state = ModelState::default();
        state.claim("k", "t", "tok", "first", Timestamp(1));
        assert!(state.claimed_by("k", "first"));
        assert!(!state.claimed_by("k", "second"));
        assert!(!state.claimed_by("other", "first"));
        // A claim whose lease ran out is taken over.
        state.claim("k", "t", "tok", "second", Timestamp(200_000));
        assert!(state.claimed_by("k", "second") && !state.claimed_by("k", "first"));
        state.record_start("k", "t", "tok", "arn:1", Timestamp(200_001), &[]);
        assert!(!state.claimed_by("k", "second"));
        // Once started, nobody claims it again.
        state.claim("k", "t", "tok", "third", Timestamp(300_000));
        assert!(!state.claimed_by("k", "third"));
        assert_eq!(state.triggers["k"].claimed_by.as_deref(), Some("second"));
    }

    #[test]
    fn ledger_objects_written_before_claimants_still_read() {
        let state: ModelState = serde_json::from_str(
            r#"{"triggers": {"k": {"trigger_id": "t", "client_request_token": "tok", "claimed_at": 1}}}"#,
        )
        .unwrap();
        assert_eq!(state.triggers["k"].claimed_by, None);
        assert!(!state.claimed_by("k", "anyone"));
        let written = serde_json::to_string(&state).unwrap();
        assert!(!written.contains("claimed_by"), "{written}");
    }

    #[test]
    fn release_drops_only_unstarted_claims() {
        let mut state = ModelState::default();
        state.claim("pending", "t1", "tok1", "invocation-1", Timestamp(1));
        state.record_start("started", "t2", "tok2", "arn:2", Timestamp(1), &[]);
        state.release("pending");
        state.release("started");
        assert!(!state.triggers.contains_key("pending"));
        assert_eq!(state.execution_for("started"), Some("arn:2"));
    }

    #[test]
    fn prune_forgets_only_what_is_past_retention() {
        let mut state = ModelState::default();
        let now = Timestamp(TRIGGER_RETENTION.millis() * 2);
        state.record_start("old", "t1", "tok1", "arn:1", Timestamp(1), &[]);
        state.record_start("new", "t2", "tok2", "arn:2", now.minus(Span::from_secs(60)), &[]);
        state.prune(now);
        assert_eq!(state.triggers.keys().collect::<Vec<_>>(), ["new"]);
    }

    #[test]
    fn evidence_is_bounded_oldest_first() {
        let mut state = ModelState::default();
        for at in 0..(MAX_EVIDENCE as i64 + 5) {
            state.keep_evidence(evidence(&format!("e{at}"), at));
        }
        assert_eq!(state.evidence.len(), MAX_EVIDENCE);
        assert_eq!(state.evidence[0].at, Timestamp(5));
    }

    #[test]
    fn ledger_uris_parse() {
        let check = |uri: &str, expected: Option<(&str, &str)>| {
            let parsed = S3Location::parse(uri);
            assert_eq!(
                parsed.as_ref().map(|l| (l.bucket.as_str(), l.prefix.as_str())),
                expected,
                "{uri}"
            );
        };
        check("s3://bucket/ledger", Some(("bucket", "ledger")));
        check("s3://bucket/a/b/", Some(("bucket", "a/b")));
        check("s3://bucket", Some(("bucket", "")));
        check("s3:///x", None);
        check("https://bucket/x", None);
        assert_eq!(S3Location::parse("s3://b").unwrap().key("state/m.json"), "state/m.json");
    }
}
