//! The ledger in memory, with S3's conditional writes: a write whose
//! condition fails is a conflict (S3's 412) and changes nothing, whatever
//! the interleaving, because each check-and-write happens under one lock.
//! Documents are kept as the JSON bytes `S3Ledger` would store, so one that
//! does not parse is `LedgerCorrupt` here too. Failures are scripted per
//! call, including the ones no real service lets a test order: a write that
//! lands but whose answer is lost, and a hook run between a write landing
//! and its answer, to put another invocation's work in that gap.

use crate::error::TriggerError;
use crate::ledger::{ETag, Ledger, ModelState, Write};
use async_trait::async_trait;
use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard, PoisonError};

/// How a scripted ledger write fails.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WriteFault {
    /// The write loses a race (412): nothing is written, the answer is a conflict.
    Conflict,
    /// S3 fails (5xx after the SDK's retries): nothing is written, `Transient`.
    Transient,
    /// The write lands, its answer is lost, and the SDK's retry of it fails
    /// its condition (412): written, yet answered as a conflict.
    LandsThenConflict,
    /// The write lands, its answer is lost and not retried: written, yet `Transient`.
    LandsThenTransient,
}

/// Something to do between a scripted write landing and its answer.
pub type Hook = Box<dyn FnOnce() + Send>;

/// A scripted failure of writes `first..first + times` (1-based, counted
/// from when it was scripted), as the fault proxy in front of moto scripts them.
struct WriteRule {
    first: usize,
    times: usize,
    fault: WriteFault,
    /// Run once, at the first write the rule fails.
    hook: Option<Hook>,
    seen: usize,
}

#[derive(Default)]
struct Documents {
    /// The stored bytes and their version, by model.
    by_model: HashMap<String, (Vec<u8>, u64)>,
    /// The last version given out; every write gets a new one, like an ETag.
    last_version: u64,
    write_rules: Vec<WriteRule>,
    /// Reads still to fail, as a read cut short in transit.
    read_failures: usize,
    writes: usize,
    reads: usize,
}

impl Documents {
    /// The scripted failure of this write, if any, with its hook.
    fn take_fault(&mut self) -> Option<(WriteFault, Option<Hook>)> {
        let mut found = None;
        for rule in &mut self.write_rules {
            rule.seen += 1;
            let applies = rule.seen >= rule.first && rule.seen < rule.first + rule.times;
            if applies && found.is_none() {
                found = Some((rule.fault, rule.hook.take()));
            }
        }
        found
    }
}

impl std::fmt::Debug for Documents {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Documents")
            .field("models", &self.by_model.keys().collect::<Vec<_>>())
            .field("last_version", &self.last_version)
            .field("write_rules", &self.write_rules.len())
            .finish()
    }
}

/// The ledger in memory.
#[derive(Debug, Default)]
pub struct MemoryLedger {
    documents: Mutex<Documents>,
}

impl MemoryLedger {
    pub fn new() -> MemoryLedger {
        MemoryLedger::default()
    }

    fn lock(&self) -> MutexGuard<'_, Documents> {
        self.documents.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The model's state as stored, or `None` when it has none (or it does not parse).
    pub fn state(&self, model: &str) -> Option<ModelState> {
        let documents = self.lock();
        let (bytes, _) = documents.by_model.get(model)?;
        ModelState::from_json(bytes).ok()
    }

    /// The models that have a document.
    pub fn models(&self) -> Vec<String> {
        let mut models: Vec<String> = self.lock().by_model.keys().cloned().collect();
        models.sort();
        models
    }

    /// How many pieces of evidence the model's state keeps.
    pub fn evidence(&self, model: &str) -> usize {
        self.state(model).map_or(0, |state| state.evidence.len())
    }

    /// Stores `bytes` as the model's document unconditionally, as an operator (or a bug) might.
    pub fn put_raw(&self, model: &str, bytes: &[u8]) {
        let mut documents = self.lock();
        documents.last_version += 1;
        let version = documents.last_version;
        documents.by_model.insert(model.to_string(), (bytes.to_vec(), version));
    }

    /// Removes the model's document, as an operator might.
    pub fn delete(&self, model: &str) {
        self.lock().by_model.remove(model);
    }

    /// Fails writes number `first` to `first + times - 1` (1-based, counted
    /// from now) with `fault`.
    pub fn fail_writes(&self, first: usize, times: usize, fault: WriteFault) {
        self.lock().write_rules.push(WriteRule {
            first,
            times,
            fault,
            hook: None,
            seen: 0,
        });
    }

    /// Fails write number `first` (counted from now) with `fault`, running
    /// `hook` after it landed (or was refused) and before it is answered: the
    /// gap in which another invocation's work can be put.
    pub fn fail_write_then(&self, first: usize, fault: WriteFault, hook: impl FnOnce() + Send + 'static) {
        self.lock().write_rules.push(WriteRule {
            first,
            times: 1,
            fault,
            hook: Some(Box::new(hook)),
            seen: 0,
        });
    }

    /// Fails the next read with `Transient`, as a read cut short in transit.
    pub fn fail_next_read(&self) {
        self.lock().read_failures += 1;
    }

    /// How many writes were attempted (each conditional write, scripted ones included).
    pub fn writes(&self) -> usize {
        self.lock().writes
    }

    /// How many reads were attempted.
    pub fn reads(&self) -> usize {
        self.lock().reads
    }

    /// The conditional write itself: S3's rules, under the lock.
    fn write(documents: &mut Documents, model: &str, bytes: Vec<u8>, expected: Option<&ETag>) -> Write {
        let current = documents.by_model.get(model).map(|(_, version)| etag(*version));
        // If-None-Match: * fails when a document exists; If-Match when the
        // document changed or is gone (S3 answers 404 there, which `S3Ledger`
        // also takes as a lost race: the reread finds no document).
        if current.as_ref() != expected {
            return Write::Conflict;
        }
        documents.last_version += 1;
        let version = documents.last_version;
        documents.by_model.insert(model.to_string(), (bytes, version));
        Write::Written(Some(etag(version)))
    }
}

fn etag(version: u64) -> ETag {
    ETag(format!("\"{version:016x}\""))
}

fn lost(model: &str) -> TriggerError {
    TriggerError::transient(
        format!("memory ledger PutObject {model}"),
        "connection reset before the answer arrived",
    )
}

#[async_trait]
impl Ledger for MemoryLedger {
    async fn load(&self, model: &str) -> Result<Option<(ModelState, ETag)>, TriggerError> {
        let mut documents = self.lock();
        documents.reads += 1;
        if documents.read_failures > 0 {
            documents.read_failures -= 1;
            return Err(TriggerError::transient(
                format!("reading memory ledger {model}"),
                "the body was cut short",
            ));
        }
        let Some((bytes, version)) = documents.by_model.get(model) else {
            return Ok(None);
        };
        let state = ModelState::from_json(bytes).map_err(|message| TriggerError::LedgerCorrupt {
            key: format!("memory://ledger/state/{model}.json"),
            message,
        })?;
        Ok(Some((state, etag(*version))))
    }

    async fn store(&self, model: &str, state: &ModelState, expected: Option<&ETag>) -> Result<Write, TriggerError> {
        let bytes = state.to_json()?;
        let (fault, hook) = {
            let mut documents = self.lock();
            documents.writes += 1;
            match documents.take_fault() {
                None => return Ok(MemoryLedger::write(&mut documents, model, bytes, expected)),
                Some((fault, hook)) => {
                    if matches!(fault, WriteFault::LandsThenConflict | WriteFault::LandsThenTransient) {
                        MemoryLedger::write(&mut documents, model, bytes, expected);
                    }
                    (fault, hook)
                }
            }
        };
        // Outside the lock: the hook may use this ledger, as another invocation would.
        if let Some(hook) = hook {
            hook();
        }
        match fault {
            WriteFault::Conflict | WriteFault::LandsThenConflict => Ok(Write::Conflict),
            WriteFault::Transient | WriteFault::LandsThenTransient => Err(lost(model)),
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)]
mod tests {
    use super::*;
    use trigger_decision::{key, DedupeKey, Evidence, Timestamp};

    fn with_evidence(id: &str) -> ModelState {
        let mut state = ModelState::default();
        state.keep_evidence(Evidence {
            trigger_id: key::trigger_id(&DedupeKey::new(id)),
            summary: id.to_string(),
            at: Timestamp(1),
        });
        state
    }

    #[tokio::test]
    async fn conditional_writes_conflict_exactly_where_s3_refuses_them() {
        let ledger = MemoryLedger::new();
        assert_eq!(ledger.load("m").await.unwrap(), None);
        // If-None-Match: * on a new document writes it; again, it conflicts.
        let Write::Written(Some(written)) = ledger.store("m", &with_evidence("a"), None).await.unwrap() else {
            panic!("a new document is written, and its version told")
        };
        assert_eq!(
            ledger.store("m", &with_evidence("b"), None).await.unwrap(),
            Write::Conflict
        );
        let (state, first) = ledger.load("m").await.unwrap().unwrap();
        assert_eq!(state, with_evidence("a"));
        assert_eq!(first, written, "a write's version is the one a read then sees");
        // If-Match with the version read writes; with an older one, it conflicts.
        assert!(matches!(
            ledger.store("m", &with_evidence("c"), Some(&first)).await.unwrap(),
            Write::Written(Some(_))
        ));
        assert_eq!(
            ledger.store("m", &with_evidence("d"), Some(&first)).await.unwrap(),
            Write::Conflict
        );
        assert_eq!(ledger.state("m"), Some(with_evidence("c")));
        // If-Match on a document that was deleted meanwhile conflicts too.
        let (_, current) = ledger.load("m").await.unwrap().unwrap();
        ledger.delete("m");
        assert_eq!(
            ledger.store("m", &with_evidence("e"), Some(&current)).await.unwrap(),
            Write::Conflict
        );
        assert_eq!(ledger.state("m"), None);
    }

    #[tokio::test]
    async fn scripted_faults_land_or_not_as_named_and_run_their_hook_before_answering() {
        let ledger = std::sync::Arc::new(MemoryLedger::new());
        let racer = std::sync::Arc::clone(&ledger);
        ledger.fail_write_then(1, WriteFault::LandsThenConflict, move || {
            racer.put_raw("other", b"{}");
        });
        assert_eq!(
            ledger.store("m", &with_evidence("a"), None).await.unwrap(),
            Write::Conflict
        );
        assert_eq!(ledger.state("m"), Some(with_evidence("a")), "it landed");
        assert_eq!(ledger.state("other"), Some(ModelState::default()), "the hook ran");

        ledger.fail_writes(1, 1, WriteFault::Transient);
        let (_, version) = ledger.load("m").await.unwrap().unwrap();
        let error = ledger
            .store("m", &with_evidence("b"), Some(&version))
            .await
            .unwrap_err();
        assert_eq!(error.error_type(), "Transient");
        assert_eq!(ledger.state("m"), Some(with_evidence("a")), "it did not land");

        ledger.fail_writes(1, 1, WriteFault::LandsThenTransient);
        assert!(ledger.store("m", &with_evidence("b"), Some(&version)).await.is_err());
        assert_eq!(ledger.state("m"), Some(with_evidence("b")), "it landed");
        assert_eq!(ledger.writes(), 3);
    }

    #[tokio::test]
    async fn a_document_that_does_not_parse_is_corrupt_and_a_cut_read_is_transient() {
        let ledger = MemoryLedger::new();
        ledger.put_raw("m", b"[]");
        let error = ledger.load("m").await.unwrap_err();
        assert_eq!(error.error_type(), "LedgerCorrupt", "{error}");
        ledger.put_raw("m", b"{}");
        ledger.fail_next_read();
        assert_eq!(ledger.load("m").await.unwrap_err().error_type(), "Transient");
        assert!(ledger.load("m").await.unwrap().is_some());
    }
}
