//! The ledger: per-model state, written only with conditional writes.
//!
//! One JSON document per model holds the triggers this project claimed or
//! started and the evidence not yet acted on. Every write names the version
//! it read (`If-Match`), or that there was none (`If-None-Match: *`), so two
//! invocations can never both believe they own a start. See
//! ARCHITECTURE.md, "Exactly once". `trigger-aws`'s `S3Ledger` keeps it in
//! S3; `memory::MemoryLedger` in memory, with the same conflicts.

use crate::error::TriggerError;
use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use trigger_decision::{DedupeKey, Evidence, Execution, ExecutionStatus, RequestToken, Span, Timestamp, TriggerId};

/// How long the ledger remembers a trigger: longer than any delivery path
/// retries (Lambda async 6 h, EventBridge 24 h, SNS up to 23 days for
/// Lambda endpoints with a custom policy), with a margin.
pub const TRIGGER_RETENTION: Span = Span::from_secs(30 * 86_400);

/// The most evidence entries kept per model. Older ones are dropped first;
/// one is enough to justify a scheduled start, the rest are for the record.
pub const MAX_EVIDENCE: usize = 100;

/// The status of a start the ledger records but SageMaker does not list (yet).
pub const RECORDED: &str = "recorded";

/// One trigger this project claimed for a model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TriggerRecord {
    pub trigger_id: TriggerId,
    pub client_request_token: RequestToken,
    pub claimed_at: Timestamp,
    /// Which invocation claimed it (`Claimant`), so that one whose claim
    /// write landed unanswered knows the claim for its own. Absent in
    /// records written before it existed, and in records of a start found
    /// without a claim.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub claimed_by: Option<String>,
    /// Set once SageMaker accepted the start.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub execution_arn: Option<String>,
}

/// A model's ledger document.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelState {
    /// Claimed or started triggers, by dedupe key.
    #[serde(default)]
    pub triggers: BTreeMap<DedupeKey, TriggerRecord>,
    /// Evidence not yet acted on, oldest first.
    #[serde(default)]
    pub evidence: Vec<Evidence>,
}

/// The trigger a claim or a start is for: its dedupe key and the ids derived from it.
#[derive(Debug, Clone, Copy)]
pub struct TriggerKey<'a> {
    pub dedupe_key: &'a DedupeKey,
    pub trigger_id: &'a TriggerId,
    pub token: &'a RequestToken,
}

impl TriggerKey<'_> {
    fn record(&self, at: Timestamp) -> TriggerRecord {
        TriggerRecord {
            trigger_id: self.trigger_id.clone(),
            client_request_token: self.token.clone(),
            claimed_at: at,
            claimed_by: None,
            execution_arn: None,
        }
    }
}

impl ModelState {
    /// Reads a ledger document. Through a JSON object first: serde would also
    /// read a struct from an array, so `[]` would pass as an empty ledger, a
    /// silent reset. `Err` carries what is wrong, for `LedgerCorrupt`.
    pub fn from_json(bytes: &[u8]) -> Result<ModelState, String> {
        serde_json::from_slice::<serde_json::Map<String, serde_json::Value>>(bytes)
            .and_then(|fields| serde_json::from_value(serde_json::Value::Object(fields)))
            .map_err(|error| error.to_string())
    }

    /// The ledger document, as it is stored.
    pub fn to_json(&self) -> Result<Vec<u8>, TriggerError> {
        serde_json::to_vec_pretty(self).map_err(|error| TriggerError::serialisation("the ledger state", &error))
    }

    /// Records `claimant`'s claim on the trigger, unless a start is already recorded for it.
    pub fn claim(&mut self, key: TriggerKey<'_>, claimant: &str, now: Timestamp) {
        let record = self
            .triggers
            .entry(key.dedupe_key.clone())
            .or_insert_with(|| key.record(now));
        if record.execution_arn.is_none() {
            record.claimed_at = now;
            record.claimed_by = Some(claimant.to_string());
        }
    }

    /// Whether `claimant` holds the claim on `key` and nothing has started for it yet.
    pub fn claimed_by(&self, key: &DedupeKey, claimant: &str) -> bool {
        self.triggers
            .get(key)
            .is_some_and(|record| record.execution_arn.is_none() && record.claimed_by.as_deref() == Some(claimant))
    }

    /// Whether any claim without a recorded start is younger than `lease` at `now`:
    /// an invocation is starting the model's pipeline right now.
    pub fn fresh_claim(&self, now: Timestamp, lease: Span) -> bool {
        self.triggers
            .values()
            .any(|claim| claim.execution_arn.is_none() && claim.claimed_at > now.minus(lease))
    }

    /// Drops a claim that never led to a start, so a retry may claim again at once.
    pub fn release(&mut self, key: &DedupeKey) {
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
    pub fn record_start(&mut self, key: TriggerKey<'_>, execution_arn: &str, at: Timestamp, consumed: &[TriggerId]) {
        let record = self
            .triggers
            .entry(key.dedupe_key.clone())
            .or_insert_with(|| key.record(at));
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

    /// Forgets triggers older than the retention, so the document stays small.
    pub fn prune(&mut self, now: Timestamp) {
        let horizon = now.minus(TRIGGER_RETENTION);
        self.triggers.retain(|_, record| record.claimed_at > horizon);
        self.evidence.retain(|evidence| evidence.at > horizon);
    }

    /// The starts this document records since `since` that `listed` lacks,
    /// as executions started when they were claimed. Their status is not
    /// known (`recorded`): they count for the cooldown and the budget, never
    /// as in flight.
    pub fn recorded_starts(&self, since: Timestamp, listed: &[Execution]) -> Vec<Execution> {
        self.triggers
            .values()
            .filter(|record| record.claimed_at >= since)
            .filter_map(|record| {
                let arn = record.execution_arn.as_deref()?;
                let unlisted = !listed.iter().any(|execution| execution.arn == arn);
                unlisted.then(|| Execution {
                    arn: arn.to_string(),
                    status: ExecutionStatus::Other(RECORDED.to_string()),
                    started_at: record.claimed_at,
                    display_name: None,
                })
            })
            .collect()
    }

    pub fn execution_for(&self, key: &DedupeKey) -> Option<&str> {
        self.triggers
            .get(key)
            .and_then(|record| record.execution_arn.as_deref())
    }
}

/// A document version as the store names it, for `If-Match`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ETag(pub String);

/// The result of a conditional write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Write {
    /// Written; the new version, when the store said it.
    Written(Option<ETag>),
    /// Someone else wrote first; read again and redo the change.
    Conflict,
}

/// Per-model state with compare-and-swap writes.
#[async_trait]
pub trait Ledger: Send + Sync + std::fmt::Debug {
    /// The model's state and its version, or `None` if the model has none yet.
    /// A document that does not parse is `LedgerCorrupt`, never an empty state.
    async fn load(&self, model: &str) -> Result<Option<(ModelState, ETag)>, TriggerError>;

    /// Writes `state` if the stored version is still `expected` (`None`: if
    /// there is still no document). A lost race is `Write::Conflict`.
    async fn store(&self, model: &str, state: &ModelState, expected: Option<&ETag>) -> Result<Write, TriggerError>;
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use trigger_decision::key;

    fn evidence(id: &str, at: i64) -> Evidence {
        Evidence {
            trigger_id: id_of(id),
            summary: format!("evidence {id}"),
            at: Timestamp(at),
        }
    }

    fn id_of(name: &str) -> TriggerId {
        key::trigger_id(&DedupeKey::new(name))
    }

    /// A dedupe key with its trigger id and a token, as the engine derives them.
    struct Ids {
        key: DedupeKey,
        trigger_id: TriggerId,
        token: RequestToken,
    }

    impl Ids {
        fn of(name: &str) -> Ids {
            let key = DedupeKey::new(name);
            Ids {
                trigger_id: key::trigger_id(&key),
                token: key::client_request_token("p", &key),
                key,
            }
        }

        fn key(&self) -> TriggerKey<'_> {
            TriggerKey {
                dedupe_key: &self.key,
                trigger_id: &self.trigger_id,
                token: &self.token,
            }
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
        let k = Ids::of("k");
        state.claim(k.key(), "invocation-1", Timestamp(15));
        state.record_start(k.key(), "arn:1", Timestamp(20), &[id_of("c")]);
        assert_eq!(state.execution_for(&k.key), Some("arn:1"));
        // `a` is older than the start but arrived after its decision: kept, not lost.
        assert_eq!(state.evidence, vec![evidence("a", 10), evidence("b", 30)]);
    }

    #[test]
    fn a_claim_belongs_to_its_last_claimant_until_the_start_is_recorded() {
        let mut state = ModelState::default();
        let k = Ids::of("k");
        state.claim(k.key(), "first", Timestamp(1));
        assert!(state.claimed_by(&k.key, "first"));
        assert!(!state.claimed_by(&k.key, "second"));
        assert!(!state.claimed_by(&DedupeKey::new("other"), "first"));
        // A claim whose lease ran out is taken over.
        state.claim(k.key(), "second", Timestamp(200_000));
        assert!(state.claimed_by(&k.key, "second") && !state.claimed_by(&k.key, "first"));
        state.record_start(k.key(), "arn:1", Timestamp(200_001), &[]);
        assert!(!state.claimed_by(&k.key, "second"));
        // Once started, nobody claims it again.
        state.claim(k.key(), "third", Timestamp(300_000));
        assert!(!state.claimed_by(&k.key, "third"));
        assert_eq!(state.triggers[&k.key].claimed_by.as_deref(), Some("second"));
    }

    #[test]
    fn ledger_objects_written_before_claimants_still_read() {
        let state = ModelState::from_json(
            br#"{"triggers": {"k": {"trigger_id": "t", "client_request_token": "tok", "claimed_at": 1}}}"#,
        )
        .unwrap();
        let k = DedupeKey::new("k");
        assert_eq!(state.triggers[&k].claimed_by, None);
        assert!(!state.claimed_by(&k, "anyone"));
        let written = String::from_utf8(state.to_json().unwrap()).unwrap();
        assert!(!written.contains("claimed_by"), "{written}");
    }

    #[test]
    fn a_document_that_is_not_a_ledger_object_is_refused_never_read_as_empty() {
        for corrupt in [
            "",
            "[]",
            "{\"triggers\": [",
            "null",
            "{\"unknown\": 1}",
            "{\"triggers\": 5}",
        ] {
            assert!(ModelState::from_json(corrupt.as_bytes()).is_err(), "{corrupt:?}");
        }
        assert_eq!(ModelState::from_json(b"{}").unwrap(), ModelState::default());
    }

    #[test]
    fn release_drops_only_unstarted_claims() {
        let mut state = ModelState::default();
        let (pending, started) = (Ids::of("pending"), Ids::of("started"));
        state.claim(pending.key(), "invocation-1", Timestamp(1));
        state.record_start(started.key(), "arn:2", Timestamp(1), &[]);
        state.release(&pending.key);
        state.release(&started.key);
        assert!(!state.triggers.contains_key(&pending.key));
        assert_eq!(state.execution_for(&started.key), Some("arn:2"));
    }

    #[test]
    fn prune_forgets_only_what_is_past_retention() {
        let mut state = ModelState::default();
        let now = Timestamp(TRIGGER_RETENTION.millis() * 2);
        let (old, new) = (Ids::of("old"), Ids::of("new"));
        state.record_start(old.key(), "arn:1", Timestamp(1), &[]);
        state.record_start(new.key(), "arn:2", now.minus(Span::from_secs(60)), &[]);
        state.prune(now);
        assert_eq!(state.triggers.keys().collect::<Vec<_>>(), [&new.key]);
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
    fn recorded_starts_the_listing_lacks_count_as_started_when_claimed() {
        let mut state = ModelState::default();
        let (listed, unlisted, old, claimed) = (
            Ids::of("listed"),
            Ids::of("unlisted"),
            Ids::of("old"),
            Ids::of("claimed"),
        );
        state.record_start(listed.key(), "arn:listed", Timestamp(5_000), &[]);
        state.record_start(unlisted.key(), "arn:unlisted", Timestamp(6_000), &[]);
        state.record_start(old.key(), "arn:old", Timestamp(1_000), &[]);
        state.claim(claimed.key(), "invocation-1", Timestamp(7_000));
        let listing = [Execution {
            arn: "arn:listed".into(),
            status: ExecutionStatus::Succeeded,
            started_at: Timestamp(5_001),
            display_name: None,
        }];
        let recorded = state.recorded_starts(Timestamp(2_000), &listing);
        assert_eq!(
            recorded,
            [Execution {
                arn: "arn:unlisted".into(),
                status: ExecutionStatus::Other(RECORDED.into()),
                started_at: Timestamp(6_000),
                display_name: None,
            }]
        );
        assert!(!recorded[0].status.is_in_flight());
    }

    #[test]
    fn a_fresh_claim_is_one_without_a_start_inside_the_lease() {
        let lease = Span::from_secs(90);
        let mut state = ModelState::default();
        assert!(!state.fresh_claim(Timestamp(1_000_000), lease));
        let (claimed, started) = (Ids::of("claimed"), Ids::of("started"));
        state.record_start(started.key(), "arn:1", Timestamp(1_000_000), &[]);
        assert!(
            !state.fresh_claim(Timestamp(1_000_000), lease),
            "a recorded start is no claim"
        );
        state.claim(claimed.key(), "invocation-1", Timestamp(1_000_000));
        assert!(state.fresh_claim(Timestamp(1_000_000 + 89_999), lease));
        assert!(
            !state.fresh_claim(Timestamp(1_000_000 + 90_000), lease),
            "the lease ran out"
        );
    }
}
