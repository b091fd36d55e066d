//! The audit trail in memory: each record kept once under its key, as the
//! S3 trail keeps it, with scripted failures.

use crate::audit::{AuditRecord, DecisionLog};
use crate::error::TriggerError;
use async_trait::async_trait;
use std::collections::BTreeMap;
use std::sync::{Mutex, MutexGuard, PoisonError};

#[derive(Debug, Default)]
struct Records {
    by_key: BTreeMap<String, AuditRecord>,
    failures: usize,
}

/// Decision records in memory.
#[derive(Debug, Default)]
pub struct MemoryDecisionLog {
    records: Mutex<Records>,
}

impl MemoryDecisionLog {
    pub fn new() -> MemoryDecisionLog {
        MemoryDecisionLog::default()
    }

    fn lock(&self) -> MutexGuard<'_, Records> {
        self.records.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Every record, oldest first.
    pub fn records(&self) -> Vec<AuditRecord> {
        let mut records: Vec<AuditRecord> = self.lock().by_key.values().cloned().collect();
        records.sort_by_key(|record| record.recorded_at);
        records
    }

    /// Fails the next write of a record with `Transient`.
    pub fn fail_next(&self) {
        self.lock().failures += 1;
    }
}

#[async_trait]
impl DecisionLog for MemoryDecisionLog {
    async fn record(&self, record: &AuditRecord) -> Result<(), TriggerError> {
        let mut records = self.lock();
        if records.failures > 0 {
            records.failures -= 1;
            return Err(TriggerError::transient(
                format!("recording the decision at memory://{}", record.relative_key()),
                "the write failed",
            ));
        }
        // Records are immutable: the same decision, to the millisecond, was already recorded.
        records
            .by_key
            .entry(record.relative_key())
            .or_insert_with(|| record.clone());
        Ok(())
    }
}
