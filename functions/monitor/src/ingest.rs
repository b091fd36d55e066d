//! A capture or ground-truth object created: read as a stream into a
//! partial profile and prediction batches, or into label batches, each
//! written to the ledger bucket with `If-None-Match: *`. The object's last
//! write (its partial profile, or its labels' marker) says it is done, so a
//! redelivery that finds it reads nothing, and one that follows a failure
//! halfway rewrites only what is missing.

use crate::close::destinations;
use crate::emf::{late_capture_line, malformed_line};
use capture_monitor::layout::{self, ObjectKind, Window};
use capture_monitor::{CaptureReader, LabelBatch, LabelReader, MalformedLog, MonitorSettings, PredictionBatch};
use serde_json::{json, Value};
use trigger_aws::lambda::MonitorParts;
use trigger_aws::objects::{ObjectStream, Put};
use trigger_aws::{now, S3Object};
use trigger_decision::{ModelPolicy, Policy};
use trigger_engine::TriggerError;
use trigger_events::object::CreatedObject;

const BINARY: &str = "application/octet-stream";

/// Reads one created object for every model whose prefixes hold it.
pub(crate) async fn object(
    parts: &MonitorParts,
    policy: &Policy,
    created: &CreatedObject,
) -> Result<Vec<Value>, TriggerError> {
    let uri = created.uri();
    let routed = layout::route(policy, &uri);
    if routed.is_empty() {
        return Err(TriggerError::InvalidEvent(format!(
            "{uri} (`{}`) is under no model's [model.monitor] captures or labels prefix; check the policy and \
             the prefixes of the rules that send objects to this function",
            created.field
        )));
    }
    let hour = layout::hour_in_key(&created.key).ok_or_else(|| {
        TriggerError::InvalidEvent(format!(
            "{uri} (`{}`) does not end in <yyyy>/<mm>/<dd>/<hh>/<name>, as every Data Capture and ground-truth \
             object does; no capture or label object can be named so",
            created.field
        ))
    })?;
    let source = S3Object {
        bucket: created.bucket.clone(),
        key: created.key.clone(),
    };
    let at = created.created_at.unwrap_or_else(now);
    let mut done = Vec::with_capacity(routed.len());
    for (model, kind) in routed {
        let Some(settings) = model.monitor.as_ref() else {
            continue;
        };
        let target = Target {
            parts,
            model,
            settings,
            source: &source,
            id: layout::object_id(&uri),
            slot: Window::holding(hour, settings.window),
        };
        let summary = match kind {
            ObjectKind::Captures => target.captures().await?,
            ObjectKind::Labels => target.labels().await?,
        };
        if let (Some(malformed), true) = (&summary.malformed, summary.written) {
            if malformed.count > 0 {
                let line = malformed_line(&parts.namespace, &model.name, &uri, malformed.count, at);
                trigger_engine::log_line::write_log_line(line);
            }
        }
        let mut answer = json!({
            "model": model.name,
            "kind": kind.as_str(),
            "object": uri,
            "window": target.slot.path(),
            "read": summary.written,
            "records": summary.records,
            "malformed": summary.malformed.as_ref().map_or(0, |log| log.count),
        });
        if kind == ObjectKind::Captures && summary.written {
            answer["late"] = json!(target.count_if_late(&uri, summary.records, at).await?);
        }
        done.push(answer);
    }
    Ok(done)
}

/// One object, for one model.
struct Target<'a> {
    parts: &'a MonitorParts,
    model: &'a ModelPolicy,
    settings: &'a MonitorSettings,
    source: &'a S3Object,
    /// The id the object's derived keys carry.
    id: String,
    /// The window (captures) or label slot (ground truth) of the object's hour.
    slot: Window,
}

/// What reading an object did: nothing (`written` false, already read), or read it all.
struct Summary {
    written: bool,
    records: u64,
    malformed: Option<MalformedLog>,
}

impl Summary {
    fn already_read() -> Summary {
        Summary {
            written: false,
            records: 0,
            malformed: None,
        }
    }
}

impl Target<'_> {
    /// Whether the capture object's window had already closed when its
    /// partial profile was written: then no close will merge it, so its
    /// records are counted (`LateCaptureRecords`) and logged, not lost
    /// silently. A close that lists the partials in the moment between this
    /// write and this check is not seen; the window is closed `label_delay`
    /// after it ends, long after Data Capture writes its objects.
    async fn count_if_late(
        &self,
        uri: &str,
        records: u64,
        at: trigger_decision::Timestamp,
    ) -> Result<bool, TriggerError> {
        let (_, quality) = destinations(self.parts, self.model, self.slot)?;
        if !self.parts.objects.exists(&quality).await? {
            return Ok(false);
        }
        tracing::warn!(
            model = %self.model.name,
            object = uri,
            window = %self.slot.path(),
            records,
            "a capture object arrived after its window closed; its records are in no window's statistics"
        );
        let line = late_capture_line(&self.parts.namespace, &self.model.name, uri, records, at);
        trigger_engine::log_line::write_log_line(line);
        Ok(true)
    }

    async fn open(&self) -> Result<ObjectStream, TriggerError> {
        self.parts.objects.open(self.source).await?.ok_or_else(|| {
            TriggerError::InvalidEvent(format!(
                "{} was announced as created but does not exist (deleted since?); there is nothing to read",
                self.source
            ))
        })
    }

    /// A capture object: prediction batches as they fill, then the rest, then the partial profile.
    async fn captures(&self) -> Result<Summary, TriggerError> {
        let model = self.model.name.as_str();
        let partial = self
            .parts
            .ledger
            .object(&layout::partial_key(model, self.slot, &self.id));
        if self.parts.objects.exists(&partial).await? {
            return Ok(Summary::already_read());
        }
        let mut stream = self.open().await?;
        let mut reader = CaptureReader::new(self.settings);
        let mut sequences = Sequences::default();
        while stream.next_chunk(|chunk| reader.push(chunk)).await? {
            while let Some(batch) = reader.next_batch() {
                self.put_predictions(&batch, &mut sequences).await?;
            }
        }
        let summary = reader.finish();
        for batch in &summary.batches {
            self.put_predictions(batch, &mut sequences).await?;
        }
        log_malformed(model, self.source, &summary.malformed);
        let bytes = summary
            .profile
            .to_bytes()
            .map_err(|error| internal("a partial profile", error))?;
        let put = self.parts.objects.put_if_absent(&partial, bytes, BINARY).await?;
        Ok(Summary {
            written: put == Put::Written,
            records: summary.profile.records,
            malformed: Some(summary.malformed),
        })
    }

    async fn put_predictions(&self, batch: &PredictionBatch, sequences: &mut Sequences) -> Result<(), TriggerError> {
        let sequence = sequences.next(batch.shard);
        let key = layout::prediction_key(&self.model.name, self.slot, batch.shard, &self.id, sequence);
        let bytes = batch
            .to_bytes()
            .map_err(|error| internal("a prediction batch", error))?;
        self.parts
            .objects
            .put_if_absent(&self.parts.ledger.object(&key), bytes, BINARY)
            .await?;
        Ok(())
    }

    /// A ground-truth object: label batches, then the marker saying the object is indexed.
    async fn labels(&self) -> Result<Summary, TriggerError> {
        let model = self.model.name.as_str();
        let marker = self
            .parts
            .ledger
            .object(&layout::labels_done_key(model, self.slot, &self.id));
        if self.parts.objects.exists(&marker).await? {
            return Ok(Summary::already_read());
        }
        let mut stream = self.open().await?;
        let mut reader = LabelReader::new(self.settings.problem);
        let mut sequences = Sequences::default();
        while stream.next_chunk(|chunk| reader.push(chunk)).await? {
            while let Some(batch) = reader.next_batch() {
                self.put_labels(&batch, &mut sequences).await?;
            }
        }
        let summary = reader.finish();
        for batch in &summary.batches {
            self.put_labels(batch, &mut sequences).await?;
        }
        log_malformed(model, self.source, &summary.malformed);
        let body =
            json!({"object": self.source.to_string(), "labels": summary.labels, "malformed": summary.malformed.count});
        let put = self
            .parts
            .objects
            .put_if_absent(&marker, body.to_string().into_bytes(), "application/json")
            .await?;
        Ok(Summary {
            written: put == Put::Written,
            records: summary.labels,
            malformed: Some(summary.malformed),
        })
    }

    async fn put_labels(&self, batch: &LabelBatch, sequences: &mut Sequences) -> Result<(), TriggerError> {
        let sequence = sequences.next(batch.shard);
        let key = layout::label_key(&self.model.name, self.slot, batch.shard, &self.id, sequence);
        let bytes = batch.to_bytes().map_err(|error| internal("a label batch", error))?;
        self.parts
            .objects
            .put_if_absent(&self.parts.ledger.object(&key), bytes, BINARY)
            .await?;
        Ok(())
    }
}

/// The next batch number of each shard: the readers hand batches out in the
/// same order for the same object, so a redelivery names the same keys.
#[derive(Default)]
struct Sequences(std::collections::HashMap<u16, usize>);

impl Sequences {
    fn next(&mut self, shard: u16) -> usize {
        let slot = self.0.entry(shard).or_default();
        *slot += 1;
        *slot - 1
    }
}

/// Each malformed line kept as an example: its number, why, and its first 200 characters.
fn log_malformed(model: &str, object: &S3Object, malformed: &MalformedLog) {
    if malformed.count == 0 {
        return;
    }
    let object = object.to_string();
    for example in &malformed.examples {
        tracing::warn!(
            model,
            object,
            line = example.line,
            reason = ?example.reason,
            detail = %example.detail,
            excerpt = %example.excerpt,
            "a line could not be read; it was counted and skipped"
        );
    }
    if malformed.count > malformed.examples.len() as u64 {
        tracing::warn!(
            model,
            object,
            count = malformed.count,
            "more malformed lines than examples kept"
        );
    }
}

fn internal(what: &str, error: capture_monitor::FormatError) -> TriggerError {
    TriggerError::Internal {
        operation: format!("encoding {what}"),
        message: error.to_string(),
    }
}
