//! The streaming reader of Data Capture objects.
//!
//! A [`CaptureReader`] takes an object's bytes in chunks as they arrive
//! ([`CaptureReader::push`]) or whole lines ([`CaptureReader::push_line`]),
//! profiles every row's features, and collects each row's prediction with its
//! join key into per-shard batches. Full batches are handed out as they fill
//! ([`CaptureReader::next_batch`]), so memory stays bounded whatever the
//! object's size: one line, the profile (sketches of fixed size), the
//! malformed-line examples (at most 100) and at most `capacity` predictions
//! per shard. [`CaptureReader::finish`] gives the partial profile, the
//! remaining batches and the malformed-line log.
//!
//! ```text
//! for chunk in object { reader.push(chunk); while let Some(batch) = reader.next_batch() { store(batch) } }
//! let capture = reader.finish();   // capture.profile, capture.batches, capture.malformed
//! ```

use crate::error::FormatError;
use crate::join::{shard_of, Outcome, Prediction, PredictionBatch, Sharded, DEFAULT_BATCH_CAPACITY};
use crate::lines::{Line, LineSplitter};
use crate::malformed::{MalformedLog, MalformedReason};
use crate::payload::{self, Cell, Refusal};
use crate::profile::{FeatureSummary, Profile};
use crate::record::{self, EventMetadata};
use crate::settings::MonitorSettings;
use crate::stored::{decode, encode, StoredKind};

/// What reading one capture object produced.
#[derive(Debug)]
pub struct CaptureSummary {
    /// The object's partial profile, to store ([`Profile::to_bytes`]).
    pub profile: Profile,
    /// The prediction batches not yet handed out by `next_batch`.
    pub batches: Vec<PredictionBatch>,
    pub malformed: MalformedLog,
}

/// Reads one capture object; see the module documentation.
#[derive(Debug)]
pub struct CaptureReader<'s> {
    splitter: LineSplitter,
    state: State<'s>,
}

#[derive(Debug)]
struct State<'s> {
    settings: &'s MonitorSettings,
    profile: Profile,
    batches: Sharded<Prediction>,
    malformed: MalformedLog,
    line: u64,
    cells: Vec<Cell>,
    predictions: Vec<Outcome>,
    /// Per feature, the numerical values not yet handed to its profile
    /// (empty for categorical features), at most `column_capacity` each.
    columns: Vec<Vec<f64>>,
    column_capacity: usize,
}

/// Numerical values buffered in all before they are handed to the profiles
/// in blocks (1 MiB), at most [`MAX_COLUMN_VALUES`] and at least
/// [`MIN_COLUMN_VALUES`] per feature. A block of thousands is sketched several
/// times faster than the same values one by one (`kll_blocks`).
const BUFFERED_VALUES: usize = 1 << 17;
const MAX_COLUMN_VALUES: usize = 4096;
const MIN_COLUMN_VALUES: usize = 256;

/// How many numerical values of each feature a reader buffers before handing
/// them to the feature's profile as one block (the training CSV reader too).
pub(crate) fn column_capacity(features: usize) -> usize {
    (BUFFERED_VALUES / features.max(1)).clamp(MIN_COLUMN_VALUES, MAX_COLUMN_VALUES)
}

impl<'s> CaptureReader<'s> {
    pub fn new(settings: &'s MonitorSettings) -> CaptureReader<'s> {
        Self::with_batch_capacity(settings, DEFAULT_BATCH_CAPACITY)
    }

    /// A reader whose batches hold at most `capacity` predictions.
    pub fn with_batch_capacity(settings: &'s MonitorSettings, capacity: usize) -> CaptureReader<'s> {
        CaptureReader {
            splitter: LineSplitter::default(),
            state: State {
                settings,
                profile: Profile::new(settings),
                batches: Sharded::new(capacity),
                malformed: MalformedLog::default(),
                line: 0,
                cells: Vec::new(),
                predictions: Vec::new(),
                columns: vec![Vec::new(); settings.features.len()],
                column_capacity: column_capacity(settings.features.len()),
            },
        }
    }

    /// Reads the next bytes of the object, wherever the chunk ends.
    pub fn push(&mut self, chunk: &[u8]) {
        let state = &mut self.state;
        self.splitter.push(chunk, |line| state.line(line));
    }

    /// Reads one whole line (without its newline). Do not mix with `push`
    /// while a chunk's last line is incomplete.
    pub fn push_line(&mut self, line: &[u8]) {
        self.state.line(Line::Complete(line));
    }

    /// A full batch of predictions, when one is ready.
    pub fn next_batch(&mut self) -> Option<PredictionBatch> {
        self.state
            .batches
            .next_full()
            .map(|(shard, predictions)| PredictionBatch { shard, predictions })
    }

    /// Ends the object: reads a last line without a newline, and gives what was read.
    pub fn finish(mut self) -> CaptureSummary {
        let state = &mut self.state;
        self.splitter.finish(|line| state.line(line));
        state.flush_columns();
        let State {
            profile,
            batches,
            malformed,
            ..
        } = self.state;
        CaptureSummary {
            profile,
            batches: batches
                .drain()
                .into_iter()
                .map(|(shard, predictions)| PredictionBatch { shard, predictions })
                .collect(),
            malformed,
        }
    }
}

impl State<'_> {
    fn line(&mut self, line: Line<'_>) {
        self.line += 1;
        let text = match line {
            Line::Complete(text) => text,
            Line::TooLong(start) => {
                let detail = format!("longer than {} bytes", crate::lines::MAX_LINE_BYTES);
                self.malformed
                    .record(self.line, MalformedReason::LineTooLong, detail, start);
                self.profile.malformed += 1;
                return;
            }
        };
        if text.iter().all(u8::is_ascii_whitespace) {
            return;
        }
        if let Err((reason, detail)) = self.record(text) {
            self.malformed.record(self.line, reason, detail, text);
            self.profile.malformed += 1;
        }
    }

    /// Reads one record; nothing of it is kept unless all of it reads.
    fn record(&mut self, text: &[u8]) -> Result<(), Refusal> {
        // One UTF-8 check of the whole line, so serde_json does not check string by string.
        let text = std::str::from_utf8(text)
            .map_err(|error| (MalformedReason::NotJson, format!("not UTF-8 text: {error}")))?;
        let record = record::read(text)?;
        let input = record.capture.input.as_ref().ok_or_else(|| {
            (
                MalformedReason::NotARecord,
                "no endpointInput: capture the input too (CaptureOptions)".to_string(),
            )
        })?;
        let (input_text, format) =
            payload::text(&input.data, input.encoding.as_deref(), input.content_type.as_deref())?;
        let rows = payload::input_rows(&input_text, format, self.settings, &mut self.cells)?;
        if rows == 0 {
            return Err((MalformedReason::WrongColumnCount, "the input holds no row".to_string()));
        }
        let has_output = match &record.capture.output {
            Some(output) => {
                let (text, format) =
                    payload::text(&output.data, output.encoding.as_deref(), output.content_type.as_deref())?;
                payload::predictions(&text, format, self.settings, rows, &mut self.predictions)?;
                true
            }
            None => false,
        };
        self.commit(rows, has_output, &record.metadata);
        Ok(())
    }

    /// Hands every buffered value to its feature's profile.
    fn flush_columns(&mut self) {
        for (feature, column) in self.profile.features.iter_mut().zip(self.columns.iter_mut()) {
            if let FeatureSummary::Numeric(numeric) = &mut feature.summary {
                numeric.add_all(column);
            }
            column.clear();
        }
    }

    fn commit(&mut self, rows: usize, has_output: bool, metadata: &EventMetadata<'_>) {
        let width = self.settings.features.len();
        for row in self.cells.chunks_exact(width) {
            let features = self.profile.features.iter_mut().zip(self.columns.iter_mut());
            for (cell, (feature, column)) in row.iter().zip(features) {
                match (&mut feature.summary, cell) {
                    (FeatureSummary::Numeric(numeric), Cell::Number(value)) if value.is_finite() => {
                        column.push(*value);
                        if column.len() >= self.column_capacity {
                            numeric.add_all(column);
                            column.clear();
                        }
                    }
                    (FeatureSummary::Numeric(numeric), _) => numeric.add(None),
                    (FeatureSummary::Categorical(categorical), Cell::Text(text)) => categorical.add(Some(text)),
                    (FeatureSummary::Categorical(categorical), _) => categorical.add(None),
                }
            }
        }
        self.profile.records += 1;
        self.profile.rows += rows as u64;
        if !has_output {
            self.profile.records_without_output += 1;
            return;
        }
        let id = match &metadata.inference_id {
            Some(inference_id) if !inference_id.trim().is_empty() => inference_id,
            _ => &metadata.event_id,
        };
        for (row, value) in self.predictions.drain(..).enumerate() {
            let key = if rows == 1 {
                id.to_string()
            } else {
                format!("{id}#{row}")
            };
            self.batches.push(shard_of(&key), Prediction { key, value });
        }
    }
}

impl Profile {
    /// The stored form of a partial profile.
    pub fn to_bytes(&self) -> Result<Vec<u8>, FormatError> {
        encode(StoredKind::Profile, self)
    }

    pub fn from_bytes(bytes: &[u8]) -> Result<Profile, FormatError> {
        decode(StoredKind::Profile, bytes)
    }
}
