//! The streaming reader of ground-truth objects.
//!
//! Each line is `{"groundTruthData": {"data": "498000", "encoding": "CSV"},
//! "eventMetadata": {"eventId": "..."}, "eventVersion": "0"}`, where
//! `eventId` is the capture's `inferenceId`, or its `eventId` when it had
//! none. `data` holds only the label: the first CSV cell, or a JSON scalar
//! (or a one-element array). Labels go into per-shard batches exactly as
//! predictions do, bounded the same way.

use crate::join::{shard_of, Label, LabelBatch, Outcome, Sharded, DEFAULT_BATCH_CAPACITY};
use crate::lines::{Line, LineSplitter};
use crate::malformed::{MalformedLog, MalformedReason};
use crate::payload::Refusal;
use crate::record::refusal_of;
use crate::settings::Problem;
use serde::Deserialize;
use serde_json::Value;
use std::borrow::Cow;

#[derive(Deserialize)]
struct GroundTruthRecord<'a> {
    #[serde(rename = "groundTruthData", borrow)]
    data: GroundTruthData<'a>,
    #[serde(rename = "eventMetadata", borrow)]
    metadata: GroundTruthMetadata<'a>,
}

#[derive(Deserialize)]
struct GroundTruthData<'a> {
    #[serde(borrow)]
    data: Cow<'a, str>,
    #[serde(borrow, default)]
    encoding: Option<Cow<'a, str>>,
}

#[derive(Deserialize)]
struct GroundTruthMetadata<'a> {
    #[serde(rename = "eventId", borrow)]
    event_id: Cow<'a, str>,
}

/// What reading one ground-truth object produced.
#[derive(Debug)]
pub struct LabelSummary {
    /// Labels read.
    pub labels: u64,
    /// The label batches not yet handed out by `next_batch`.
    pub batches: Vec<LabelBatch>,
    pub malformed: MalformedLog,
}

/// Reads one ground-truth object, in chunks or lines, like [`crate::CaptureReader`].
#[derive(Debug)]
pub struct LabelReader {
    splitter: LineSplitter,
    state: LabelState,
}

#[derive(Debug)]
struct LabelState {
    problem: Problem,
    batches: Sharded<Label>,
    malformed: MalformedLog,
    line: u64,
    labels: u64,
}

impl LabelReader {
    pub fn new(problem: Problem) -> LabelReader {
        Self::with_batch_capacity(problem, DEFAULT_BATCH_CAPACITY)
    }

    pub fn with_batch_capacity(problem: Problem, capacity: usize) -> LabelReader {
        LabelReader {
            splitter: LineSplitter::default(),
            state: LabelState {
                problem,
                batches: Sharded::new(capacity),
                malformed: MalformedLog::default(),
                line: 0,
                labels: 0,
            },
        }
    }

    pub fn push(&mut self, chunk: &[u8]) {
        let state = &mut self.state;
        self.splitter.push(chunk, |line| state.line(line));
    }

    pub fn push_line(&mut self, line: &[u8]) {
        self.state.line(Line::Complete(line));
    }

    pub fn next_batch(&mut self) -> Option<LabelBatch> {
        self.state
            .batches
            .next_full()
            .map(|(shard, labels)| LabelBatch { shard, labels })
    }

    pub fn finish(mut self) -> LabelSummary {
        let state = &mut self.state;
        self.splitter.finish(|line| state.line(line));
        LabelSummary {
            labels: self.state.labels,
            batches: self
                .state
                .batches
                .drain()
                .into_iter()
                .map(|(shard, labels)| LabelBatch { shard, labels })
                .collect(),
            malformed: self.state.malformed,
        }
    }
}

impl LabelState {
    fn line(&mut self, line: Line<'_>) {
        self.line += 1;
        let result = match line {
            Line::Complete(text) if text.iter().all(u8::is_ascii_whitespace) => return,
            Line::Complete(text) => self.record(text).map_err(|refusal| (refusal, text)),
            Line::TooLong(start) => Err((
                (
                    MalformedReason::LineTooLong,
                    format!("longer than {} bytes", crate::lines::MAX_LINE_BYTES),
                ),
                start,
            )),
        };
        if let Err(((reason, detail), text)) = result {
            self.malformed.record(self.line, reason, detail, text);
        }
    }

    fn record(&mut self, text: &[u8]) -> Result<(), Refusal> {
        let record: GroundTruthRecord<'_> = serde_json::from_slice(text).map_err(refusal_of)?;
        let label_text = label_text(&record.data.data, record.data.encoding.as_deref())?;
        let value = Outcome::label(&label_text, self.problem).ok_or_else(|| {
            (
                MalformedReason::UnparsableValue,
                format!("label {label_text:?} is not a {} label", self.problem.name()),
            )
        })?;
        let key = record.metadata.event_id.into_owned();
        self.labels += 1;
        self.batches.push(shard_of(&key), Label { key, value });
        Ok(())
    }
}

fn label_text(data: &str, encoding: Option<&str>) -> Result<String, Refusal> {
    let encoding = encoding.unwrap_or("CSV");
    if encoding.eq_ignore_ascii_case("CSV") {
        let first = data.lines().next().unwrap_or("").split(',').next().unwrap_or("");
        return Ok(first.trim().trim_matches('"').to_string());
    }
    if !encoding.eq_ignore_ascii_case("JSON") {
        return Err((MalformedReason::UnknownEncoding, format!("encoding {encoding:?}")));
    }
    let value: Value =
        serde_json::from_str(data).map_err(|error| (MalformedReason::BadJsonPayload, error.to_string()))?;
    let scalar = match &value {
        Value::Array(items) if items.len() == 1 => &items[0],
        other => other,
    };
    match scalar {
        Value::String(text) => Ok(text.clone()),
        Value::Number(number) => Ok(number.to_string()),
        Value::Bool(flag) => Ok(flag.to_string()),
        other => Err((
            MalformedReason::BadJsonPayload,
            format!("the label is {other}, not a scalar"),
        )),
    }
}
