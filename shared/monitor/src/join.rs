//! Joining predictions with ground-truth labels, in bounded memory.
//!
//! A window can hold millions of predictions, and labels arrive hours later,
//! so neither side is held whole. Both readers split what they read into
//! [`JOIN_SHARDS`] shards by a stable hash of the join key and hand out
//! batches of at most a fixed number of entries, one shard each; the caller
//! stores every batch as its own object. At the window's close the join runs
//! shard by shard ([`join`] over that shard's prediction and label batches),
//! holding one shard's labels at a time, and the outcomes merge
//! ([`JoinOutcome::merge`]): a hash join partitioned the way Grace's is.
//!
//! The join key is the capture's `inferenceId` when it has one, otherwise its
//! `eventId`: the key a ground-truth record's `eventMetadata.eventId` carries.
//! A capture record holding a batch of N rows gives its rows the keys
//! `<id>#0` to `<id>#<N-1>`; labels for such rows must use the same keys.

use crate::error::{FormatError, MergeError};
pub use crate::outcome::Outcome;
use crate::quality::QualityAccumulator;
use crate::settings::MonitorSettings;
use crate::stored::{decode, encode, StoredKind};
use serde::{Deserialize, Serialize};
use std::collections::hash_map::Entry;
use std::collections::{HashMap, VecDeque};

/// Shards of the join. With 16, a window of 4 million predictions (100
/// million a day, hourly windows) joins about 260,000 pairs at a time.
pub const JOIN_SHARDS: u16 = 16;
/// Entries per batch object by default: 16 shards of 4,096 keep at most
/// 65,536 pending entries (a few MB) whatever the object's size.
pub const DEFAULT_BATCH_CAPACITY: usize = 4096;

/// The shard of a join key: FNV-1a, fixed here so that every version of the
/// readers puts a key in the same shard.
pub fn shard_of(key: &str) -> u16 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in key.bytes() {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    (hash % u64::from(JOIN_SHARDS)) as u16
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Prediction {
    pub key: String,
    pub value: Outcome,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Label {
    pub key: String,
    pub value: Outcome,
}

/// Predictions of one shard, to be stored as one object.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PredictionBatch {
    pub shard: u16,
    pub predictions: Vec<Prediction>,
}

/// Labels of one shard, to be stored as one object.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LabelBatch {
    pub shard: u16,
    pub labels: Vec<Label>,
}

impl PredictionBatch {
    pub fn to_bytes(&self) -> Result<Vec<u8>, FormatError> {
        encode(StoredKind::PredictionBatch, self)
    }

    pub fn from_bytes(bytes: &[u8]) -> Result<PredictionBatch, FormatError> {
        decode(StoredKind::PredictionBatch, bytes)
    }
}

impl LabelBatch {
    pub fn to_bytes(&self) -> Result<Vec<u8>, FormatError> {
        encode(StoredKind::LabelBatch, self)
    }

    pub fn from_bytes(bytes: &[u8]) -> Result<LabelBatch, FormatError> {
        decode(StoredKind::LabelBatch, bytes)
    }
}

/// Per-shard buffers that hand out full batches: the readers' bounded store.
#[derive(Debug)]
pub(crate) struct Sharded<T> {
    capacity: usize,
    buffers: Vec<Vec<T>>,
    full: VecDeque<(u16, Vec<T>)>,
}

impl<T> Sharded<T> {
    pub(crate) fn new(capacity: usize) -> Sharded<T> {
        Sharded {
            capacity: capacity.max(1),
            buffers: (0..JOIN_SHARDS).map(|_| Vec::new()).collect(),
            full: VecDeque::new(),
        }
    }

    /// Adds an entry to the shard of its key (`shard_of`).
    pub(crate) fn push(&mut self, shard: u16, entry: T) {
        let shard = shard % JOIN_SHARDS;
        let buffer = &mut self.buffers[usize::from(shard)];
        if buffer.capacity() == 0 {
            // Room for a whole batch at once: growing to it would copy it about twice.
            buffer.reserve(self.capacity.min(DEFAULT_BATCH_CAPACITY));
        }
        buffer.push(entry);
        if buffer.len() >= self.capacity {
            let batch = std::mem::take(buffer);
            self.full.push_back((shard, batch));
        }
    }

    pub(crate) fn next_full(&mut self) -> Option<(u16, Vec<T>)> {
        self.full.pop_front()
    }

    /// Every batch left, full or not, in shard order.
    pub(crate) fn drain(mut self) -> Vec<(u16, Vec<T>)> {
        let mut batches: Vec<(u16, Vec<T>)> = self.full.drain(..).collect();
        for (shard, buffer) in self.buffers.into_iter().enumerate() {
            if !buffer.is_empty() {
                batches.push((shard as u16, buffer));
            }
        }
        batches
    }
}

/// What a join found, and the metrics of the pairs it matched.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct JoinOutcome {
    /// Pairs matched and added to the metrics.
    pub matched: u64,
    /// Predictions no label named (yet): `count` versus captured records.
    pub unmatched_predictions: u64,
    /// Labels that named no prediction: `UnmatchedLabels`.
    pub unmatched_labels: u64,
    /// A key's second and later labels, which are ignored (the first one counts).
    pub duplicate_labels: u64,
    /// A key's second and later predictions, which are ignored.
    pub duplicate_predictions: u64,
    /// Matched pairs whose values do not fit the problem (a class name for a regression).
    pub unusable_pairs: u64,
    pub quality: QualityAccumulator,
}

impl JoinOutcome {
    pub fn empty(settings: &MonitorSettings) -> JoinOutcome {
        JoinOutcome {
            matched: 0,
            unmatched_predictions: 0,
            unmatched_labels: 0,
            duplicate_labels: 0,
            duplicate_predictions: 0,
            unusable_pairs: 0,
            quality: QualityAccumulator::new(settings.problem, settings.threshold),
        }
    }

    /// Adds another shard's outcome.
    pub fn merge(&mut self, other: &JoinOutcome) -> Result<(), MergeError> {
        self.quality.merge(&other.quality)?;
        self.matched += other.matched;
        self.unmatched_predictions += other.unmatched_predictions;
        self.unmatched_labels += other.unmatched_labels;
        self.duplicate_labels += other.duplicate_labels;
        self.duplicate_predictions += other.duplicate_predictions;
        self.unusable_pairs += other.unusable_pairs;
        Ok(())
    }
}

/// Joins predictions with labels by key. Memory is one entry per label
/// given; call it once per shard with that shard's batches (any batches give
/// the same answer, in more memory).
pub fn join<'a>(
    settings: &MonitorSettings,
    predictions: impl IntoIterator<Item = &'a PredictionBatch>,
    labels: impl IntoIterator<Item = &'a LabelBatch>,
) -> JoinOutcome {
    let mut outcome = JoinOutcome::empty(settings);
    // Each key's first label, and whether a prediction has taken it.
    let mut by_key: HashMap<&str, (&Outcome, bool)> = HashMap::new();
    for label in labels.into_iter().flat_map(|batch| &batch.labels) {
        match by_key.entry(label.key.as_str()) {
            Entry::Occupied(_) => outcome.duplicate_labels += 1,
            Entry::Vacant(slot) => {
                slot.insert((&label.value, false));
            }
        }
    }
    for prediction in predictions.into_iter().flat_map(|batch| &batch.predictions) {
        match by_key.get_mut(prediction.key.as_str()) {
            None => outcome.unmatched_predictions += 1,
            Some((_, true)) => outcome.duplicate_predictions += 1,
            Some((label, taken)) => {
                *taken = true;
                if outcome.quality.add(&prediction.value, label) {
                    outcome.matched += 1;
                } else {
                    outcome.unusable_pairs += 1;
                }
            }
        }
    }
    outcome.unmatched_labels = by_key.values().filter(|(_, taken)| !taken).count() as u64;
    outcome
}

/// The labels of one slot being judged: each is settled by the first
/// prediction with its key that it is shown, and what is never settled is
/// unmatched. Memory is one key per label of the slot (one shard at a time).
#[derive(Debug, Default)]
pub struct LabelAudit {
    pending: std::collections::HashSet<String>,
}

impl LabelAudit {
    /// The distinct keys of these labels, all pending.
    pub fn new<'a>(labels: impl IntoIterator<Item = &'a LabelBatch>) -> LabelAudit {
        LabelAudit {
            pending: labels
                .into_iter()
                .flat_map(|batch| &batch.labels)
                .map(|label| label.key.clone())
                .collect(),
        }
    }

    /// Settles every pending label a prediction of the batch names; returns how many.
    pub fn settle(&mut self, predictions: &PredictionBatch) -> u64 {
        let mut settled = 0;
        for prediction in &predictions.predictions {
            if self.pending.remove(&prediction.key) {
                settled += 1;
            }
        }
        settled
    }

    /// Labels still pending.
    pub fn pending(&self) -> u64 {
        self.pending.len() as u64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn label(key: &str) -> Label {
        Label {
            key: key.to_string(),
            value: Outcome::Number(1.0),
        }
    }

    fn predictions(keys: &[&str]) -> PredictionBatch {
        PredictionBatch {
            shard: 0,
            predictions: keys
                .iter()
                .map(|key| Prediction {
                    key: key.to_string(),
                    value: Outcome::Number(1.0),
                })
                .collect(),
        }
    }

    #[test]
    fn an_audit_settles_each_label_once_and_keeps_the_rest() {
        let labels = LabelBatch {
            shard: 0,
            labels: vec![label("a"), label("b"), label("b"), label("c")],
        };
        let mut audit = LabelAudit::new([&labels]);
        assert_eq!(audit.pending(), 3, "one key labelled twice is one label to settle");
        assert_eq!(audit.settle(&predictions(&["a", "x", "a"])), 1);
        assert_eq!(audit.settle(&predictions(&["b"])), 1);
        assert_eq!(audit.pending(), 1);
    }
}
