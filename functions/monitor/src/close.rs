//! The window close: for each model with `[model.monitor]`, the window that
//! ended `label_delay` before the close.
//!
//! In this order:
//! 1. If the window's `quality.json` exists, the window is closed: nothing
//!    is read, written or emitted again.
//! 2. Its partial profiles become `statistics.json` under `drift.reports`
//!    (none when the window has no captures), written `If-None-Match: *`;
//!    its Object Created event reaches drift-trigger as any report's does.
//! 3. Its predictions are joined with the labels that arrived from its start
//!    to the close, shard by shard, and the labels of its first slot, read
//!    for the last time, are judged: matched by some window, late, or unmatched.
//! 4. `quality.json` is written `If-None-Match: *`. That write is the claim:
//!    only the close that wrote it emits the metrics (one EMF record), so
//!    two closes of one window, however concurrent, emit once. The record
//!    follows the write, never precedes it: a close that fails before the
//!    write emits nothing and its retry emits once. The price is that a
//!    process killed between the write and the line loses that window's
//!    datapoint, which an alarm treats as missing data, rather than
//!    counting it twice.

use crate::emf::{metric_values, QualityLine};
use capture_monitor::layout::{self, Window};
use capture_monitor::{
    join, JoinOutcome, LabelAudit, LabelBatch, MonitorSettings, PredictionBatch, QualityReport, Statistics,
    WindowError, WindowStatistics, JOIN_SHARDS,
};
use serde_json::{json, Value};
use trigger_aws::lambda::MonitorParts;
use trigger_aws::objects::Put;
use trigger_aws::S3Object;
use trigger_decision::{ModelPolicy, Policy, Timestamp};
use trigger_engine::TriggerError;

/// Stored partials held in memory at once before the statistics are made
/// in two passes instead (each partial read twice, one held at a time).
const PARTIALS_HELD: usize = 64 << 20;

/// Closes the due window of every model with `[model.monitor]`.
pub(crate) async fn every_model(
    parts: &MonitorParts,
    policy: &Policy,
    at: Timestamp,
) -> Result<Vec<Value>, TriggerError> {
    let mut closed = Vec::new();
    for model in &policy.models {
        if let Some(settings) = &model.monitor {
            closed.push(Close::new(parts, model, settings, at).run().await?);
        }
    }
    Ok(closed)
}

/// One model's close.
struct Close<'a> {
    parts: &'a MonitorParts,
    model: &'a ModelPolicy,
    settings: &'a MonitorSettings,
    at: Timestamp,
    window: Window,
}

/// How the window's labels were judged.
#[derive(Debug, Default)]
struct Labels {
    unmatched: u64,
    late: u64,
}

impl<'a> Close<'a> {
    fn new(parts: &'a MonitorParts, model: &'a ModelPolicy, settings: &'a MonitorSettings, at: Timestamp) -> Self {
        let window = Window::closed_at(at, settings.window, settings.label_delay);
        Close {
            parts,
            model,
            settings,
            at,
            window,
        }
    }

    fn destinations(&self) -> Result<(Option<S3Object>, S3Object), TriggerError> {
        destinations(self.parts, self.model, self.window)
    }

    async fn run(&self) -> Result<Value, TriggerError> {
        let (statistics_at, quality_at) = self.destinations()?;
        let mut answer = json!({
            "model": self.model.name,
            "window_start": self.window.start.to_string(),
            "window_end": self.window.end.to_string(),
            "quality": quality_at.to_string(),
        });
        if self.parts.objects.exists(&quality_at).await? {
            answer["outcome"] = json!("already-closed");
            return Ok(answer);
        }
        let statistics_written = self.write_statistics(statistics_at.as_ref()).await?;
        let (outcome, labels) = self.join().await?;
        let report = outcome.quality.report();
        let quality = self.quality_document(&outcome, &report, &labels, statistics_written.as_deref());
        let put = self
            .parts
            .objects
            .put_if_absent(&quality_at, quality.to_string().into_bytes(), "application/json")
            .await?;
        answer["statistics"] = json!(statistics_written);
        answer["count"] = json!(outcome.matched);
        if put == Put::AlreadyThere {
            answer["outcome"] = json!("already-closed");
            return Ok(answer);
        }
        let line = QualityLine {
            namespace: &self.parts.namespace,
            model: &self.model.name,
            endpoint: &self.settings.endpoint,
            at: self.at,
            report: &report,
            unmatched_labels: labels.unmatched,
            late_labels: labels.late,
            context: json!({
                "window_start": self.window.start.to_string(),
                "window_end": self.window.end.to_string(),
                "predictions": predictions(&outcome),
                "unmatched_predictions": outcome.unmatched_predictions,
            }),
        };
        trigger_engine::log_line::write_log_line(line.render());
        answer["outcome"] = json!("closed");
        Ok(answer)
    }

    /// Writes the window's statistics where they go; `None` when the window has
    /// no captures, or the model no `drift.reports` (its partials are then not read).
    async fn write_statistics(&self, destination: Option<&S3Object>) -> Result<Option<String>, TriggerError> {
        let Some(destination) = destination else {
            tracing::info!(model = %self.model.name, "no drift.reports: the window's statistics are not written");
            return Ok(None);
        };
        let Some(statistics) = self.statistics().await? else {
            return Ok(None);
        };
        let text = statistics.to_json().map_err(|error| TriggerError::Internal {
            operation: "writing statistics.json".to_string(),
            message: error.to_string(),
        })?;
        self.parts
            .objects
            .put_if_absent(destination, text.into_bytes(), "application/json")
            .await?;
        Ok(Some(destination.to_string()))
    }

    fn quality_document(
        &self,
        outcome: &JoinOutcome,
        report: &QualityReport,
        labels: &Labels,
        statistics: Option<&str>,
    ) -> Value {
        let mut metrics = serde_json::Map::new();
        for (name, value) in metric_values(report) {
            metrics.insert(name.to_string(), json!(value));
        }
        json!({
            "model": self.model.name,
            "endpoint": self.settings.endpoint,
            "problem": self.settings.problem.name(),
            "window_start": self.window.start.to_string(),
            "window_end": self.window.end.to_string(),
            "closed_at": self.at.to_string(),
            "count": report.count,
            "metrics": metrics,
            "predictions": predictions(outcome),
            "unmatched_predictions": outcome.unmatched_predictions,
            "unmatched_labels": labels.unmatched,
            "late_labels": labels.late,
            "duplicate_labels": outcome.duplicate_labels,
            "duplicate_predictions": outcome.duplicate_predictions,
            "unusable_pairs": outcome.unusable_pairs,
            "statistics": statistics,
        })
    }

    /// The window's statistics from its stored partials; `None` without any.
    async fn statistics(&self) -> Result<Option<Statistics>, TriggerError> {
        let prefix = self
            .parts
            .ledger
            .key(&layout::partials_prefix(&self.model.name, self.window));
        let keys = self.parts.objects.list(&self.parts.ledger.bucket, &prefix).await?;
        let mut first_pass = WindowStatistics::new(self.settings.buckets);
        let mut held = Vec::new();
        let mut held_bytes = 0;
        for key in &keys {
            let bytes = self.read_stored(key).await?;
            first_pass.add(&bytes).map_err(|error| self.window_error(key, error))?;
            held_bytes += bytes.len();
            if held_bytes <= PARTIALS_HELD {
                held.push(bytes);
            }
        }
        let mut second_pass = first_pass.into_counting();
        for (index, key) in keys.iter().enumerate() {
            let fetched;
            let bytes = match held.get(index) {
                Some(bytes) => bytes,
                None => {
                    fetched = self.read_stored(key).await?;
                    &fetched
                }
            };
            second_pass
                .count(bytes)
                .map_err(|error| self.window_error(key, error))?;
        }
        second_pass.finish().map_err(|error| self.window_error(&prefix, error))
    }

    fn window_error(&self, key: &str, error: WindowError) -> TriggerError {
        let uri = format!("s3://{}/{key}", self.parts.ledger.bucket);
        match error {
            WindowError::Merge(merge) => TriggerError::misconfigured(
                format!("merging the partial profiles of model {:?}", self.model.name),
                format!("{uri}: {merge}; delete the window's partials made under the old settings, or restore them"),
                None,
            ),
            other => TriggerError::LedgerCorrupt {
                key: uri,
                message: other.to_string(),
            },
        }
    }

    /// A stored partial or batch that must exist: it was just listed.
    async fn read_stored(&self, key: &str) -> Result<Vec<u8>, TriggerError> {
        let object = S3Object {
            bucket: self.parts.ledger.bucket.clone(),
            key: key.to_string(),
        };
        self.parts.objects.read(&object).await?.ok_or_else(|| {
            TriggerError::transient(
                format!("S3 GetObject {object}"),
                "the object was listed but is gone; the window's objects are being changed",
            )
        })
    }

    /// Every stored batch under a prefix, decoded.
    async fn batches<T>(
        &self,
        prefix: &str,
        decode: fn(&[u8]) -> Result<T, capture_monitor::FormatError>,
    ) -> Result<Vec<T>, TriggerError> {
        let prefix = self.parts.ledger.key(prefix);
        let mut batches = Vec::new();
        for key in self.parts.objects.list(&self.parts.ledger.bucket, &prefix).await? {
            let bytes = self.read_stored(&key).await?;
            batches.push(decode(&bytes).map_err(|error| TriggerError::LedgerCorrupt {
                key: format!("s3://{}/{key}", self.parts.ledger.bucket),
                message: error.to_string(),
            })?);
        }
        Ok(batches)
    }

    async fn predictions_of(&self, window: Window, shard: u16) -> Result<Vec<PredictionBatch>, TriggerError> {
        let prefix = layout::predictions_prefix(&self.model.name, window, shard);
        self.batches(&prefix, PredictionBatch::from_bytes).await
    }

    /// The join, shard by shard, and the judgement of the first slot's labels.
    async fn join(&self) -> Result<(JoinOutcome, Labels), TriggerError> {
        let slots = layout::label_slots(self.window, self.at);
        let mut total = JoinOutcome::empty(self.settings);
        let mut labels_judged = Labels::default();
        for shard in 0..JOIN_SHARDS {
            let predictions = self.predictions_of(self.window, shard).await?;
            let mut by_slot: Vec<Vec<LabelBatch>> = Vec::with_capacity(slots.len());
            for slot in &slots {
                let prefix = layout::labels_prefix(&self.model.name, *slot, shard);
                by_slot.push(self.batches(&prefix, LabelBatch::from_bytes).await?);
            }
            let outcome = join(self.settings, &predictions, by_slot.iter().flatten());
            total.merge(&outcome).map_err(|error| TriggerError::Internal {
                operation: "adding up the join's shards".to_string(),
                message: error.to_string(),
            })?;
            if let Some(first_slot) = by_slot.first().filter(|batches| !batches.is_empty()) {
                let judged = self.judge(first_slot, &predictions, shard).await?;
                labels_judged.unmatched += judged.unmatched;
                labels_judged.late += judged.late;
            }
        }
        Ok((total, labels_judged))
    }

    /// The labels of the window's first slot, read for the last time: settled
    /// by this window's predictions or those of earlier windows still open
    /// when they arrived; else late (an already closed window's), else unmatched.
    async fn judge(
        &self,
        labels: &[LabelBatch],
        predictions: &[PredictionBatch],
        shard: u16,
    ) -> Result<Labels, TriggerError> {
        let mut audit = LabelAudit::new(labels);
        for batch in predictions {
            audit.settle(batch);
        }
        let delay = self.settings.label_delay;
        for earlier in layout::on_time_windows(self.window, delay).into_iter().skip(1) {
            if audit.pending() == 0 {
                break;
            }
            for batch in self.predictions_of(earlier, shard).await? {
                audit.settle(&batch);
            }
        }
        let mut late = 0;
        for closed in layout::late_windows(self.window, delay) {
            if audit.pending() == 0 {
                break;
            }
            for batch in self.predictions_of(closed, shard).await? {
                late += audit.settle(&batch);
            }
        }
        Ok(Labels {
            unmatched: audit.pending(),
            late,
        })
    }
}

/// Where a window's statistics and `quality.json` go: beside each other under
/// `drift.reports`; without it, no statistics and `quality.json` in the ledger.
/// A window whose `quality.json` exists is closed.
pub(crate) fn destinations(
    parts: &MonitorParts,
    model: &ModelPolicy,
    window: Window,
) -> Result<(Option<S3Object>, S3Object), TriggerError> {
    let Some((statistics, quality)) = layout::report_uris(model, window) else {
        return Ok((
            None,
            parts.ledger.object(&layout::ledger_quality_key(&model.name, window)),
        ));
    };
    let parse = |uri: &str| {
        S3Object::parse(uri).ok_or_else(|| {
            TriggerError::Config(format!(
                "model {:?}: drift.reports gives {uri}, which is not an S3 object URI",
                model.name
            ))
        })
    };
    Ok((Some(parse(&statistics)?), parse(&quality)?))
}

/// Every prediction the window captured: `count` is how many of them found a label.
fn predictions(outcome: &JoinOutcome) -> u64 {
    outcome.matched + outcome.unmatched_predictions + outcome.duplicate_predictions + outcome.unusable_pairs
}
