//! The streaming reader of a training set's CSV, for a baseline profiled
//! exactly as captures are.
//!
//! A [`TrainingReader`] takes a CSV file's bytes in chunks, wherever they end
//! ([`TrainingReader::push`]). The first record is the header: each of the
//! settings' features is found by name among its columns (extra columns are
//! ignored; a missing feature is a [`TrainingError`]). Every later record is
//! a row, profiled into the same [`Profile`] a capture object gives, so a
//! baseline and a window's statistics come from one profiler.
//!
//! Parsing is csv-core's: a push-based state machine (RFC 4180 quoting,
//! doubled quotes, CRLF, newlines inside quoted fields, a UTF-8 byte-order
//! mark) that does no I/O and keeps no more than the record being read. A row
//! that cannot be read (a different number of columns than the header, a
//! numerical feature that is not a number) is counted in the
//! [`MalformedLog`] with its record number and skipped, as a bad capture line
//! is; blank lines are skipped. Memory is bounded whatever the file's size:
//! one record (at most [`MAX_LINE_BYTES`]), the profile and the values
//! waiting to be sketched in blocks.

use crate::capture::column_capacity;
use crate::error::TrainingError;
use crate::lines::MAX_LINE_BYTES;
use crate::malformed::{MalformedLog, MalformedReason};
use crate::payload::Refusal;
use crate::profile::{FeatureSummary, Profile};
use crate::settings::MonitorSettings;
use csv_core::{ReadRecordResult, Reader};

/// What reading one training CSV produced.
#[derive(Debug)]
pub struct TrainingSummary {
    /// The rows' profile; `records` and `rows` both count data rows.
    pub profile: Profile,
    /// Rows not read. An example's `line` is the record's number, the header
    /// being 1: the line number unless a quoted field holds a newline or
    /// blank lines come before it.
    pub malformed: MalformedLog,
}

/// Reads one training CSV; see the module documentation.
#[derive(Debug)]
pub struct TrainingReader<'s> {
    settings: &'s MonitorSettings,
    csv: Reader,
    /// The record being read: its fields' bytes, one after another, and where each ends.
    fields: Vec<u8>,
    ends: Vec<usize>,
    fields_len: usize,
    ends_len: usize,
    /// The record being read is longer than [`MAX_LINE_BYTES`]: its bytes are dropped.
    too_long: bool,
    /// For each feature, its column in the header; `None` until the header is read.
    columns: Option<Vec<usize>>,
    header_width: usize,
    records: u64,
    profile: Profile,
    malformed: MalformedLog,
    /// Per feature, the numerical values not yet handed to its profile.
    pending: Vec<Vec<f64>>,
    pending_capacity: usize,
    /// One row's values, checked whole before any is profiled.
    row: Vec<Value>,
}

/// One feature's value in one row.
#[derive(Debug, Clone, Copy)]
enum Value {
    Missing,
    Number(f64),
    /// A categorical value: its field's index in the record.
    Text(usize),
}

const FIRST_FIELDS_BYTES: usize = 4096;
/// The most fields a record may have (8 MiB of end positions); a record with
/// more is reported as too long.
const MAX_FIELDS: usize = 1 << 20;
const FIRST_ENDS: usize = 64;

impl<'s> TrainingReader<'s> {
    pub fn new(settings: &'s MonitorSettings) -> TrainingReader<'s> {
        TrainingReader {
            settings,
            csv: Reader::new(),
            fields: vec![0; FIRST_FIELDS_BYTES],
            ends: vec![0; FIRST_ENDS],
            fields_len: 0,
            ends_len: 0,
            too_long: false,
            columns: None,
            header_width: 0,
            records: 0,
            profile: Profile::new(settings),
            malformed: MalformedLog::default(),
            pending: vec![Vec::new(); settings.features.len()],
            pending_capacity: column_capacity(settings.features.len()),
            row: Vec::with_capacity(settings.features.len()),
        }
    }

    /// Reads the next bytes of the file, wherever the chunk ends. Fails only
    /// on the header: a feature it does not name, or a feature named twice.
    pub fn push(&mut self, chunk: &[u8]) -> Result<(), TrainingError> {
        let mut input = chunk;
        // An empty input means the end to csv-core: a chunk is never empty here.
        while !input.is_empty() {
            let consumed = self.read(input)?;
            input = &input[consumed..];
        }
        Ok(())
    }

    /// Ends the file: reads a last record without a newline, and gives what was read.
    pub fn finish(mut self) -> Result<TrainingSummary, TrainingError> {
        // csv-core ends within a few calls (the last record, more room for its
        // end positions, the end); the bound only guards against a loop.
        for _ in 0..64 {
            if self.read(&[])? == 0 {
                break;
            }
        }
        if self.columns.is_none() {
            return Err(TrainingError::NoHeader);
        }
        for (feature, pending) in self.profile.features.iter_mut().zip(self.pending.iter_mut()) {
            if let FeatureSummary::Numeric(numeric) = &mut feature.summary {
                numeric.add_all(pending);
            }
            pending.clear();
        }
        Ok(TrainingSummary {
            profile: self.profile,
            malformed: self.malformed,
        })
    }

    /// Reads from `input` up to the end of a record or of the input; returns
    /// the bytes consumed. At the end (`input` empty) it returns `usize::MAX`
    /// while records remain and 0 once csv-core says the file has ended.
    fn read(&mut self, input: &[u8]) -> Result<usize, TrainingError> {
        let (result, consumed, written, ended) = self.csv.read_record(
            input,
            &mut self.fields[self.fields_len..],
            &mut self.ends[self.ends_len..],
        );
        self.fields_len += written;
        self.ends_len += ended;
        match result {
            ReadRecordResult::InputEmpty => {}
            ReadRecordResult::OutputFull => self.grow_fields(),
            ReadRecordResult::OutputEndsFull => self.grow_ends(),
            ReadRecordResult::Record => {
                self.record()?;
                self.fields_len = 0;
                self.ends_len = 0;
                self.too_long = false;
            }
            ReadRecordResult::End => return Ok(0),
        }
        Ok(if input.is_empty() { usize::MAX } else { consumed })
    }

    /// Room for a longer record, up to [`MAX_LINE_BYTES`]; beyond it the
    /// record's bytes are overwritten (its end positions then mean nothing)
    /// and the record is reported as too long.
    fn grow_fields(&mut self) {
        if self.fields.len() < MAX_LINE_BYTES {
            let larger = (self.fields.len() * 2).min(MAX_LINE_BYTES);
            self.fields.resize(larger, 0);
        } else {
            self.too_long = true;
            self.fields_len = 0;
        }
    }

    fn grow_ends(&mut self) {
        if self.ends.len() < MAX_FIELDS {
            let larger = (self.ends.len() * 2).min(MAX_FIELDS);
            self.ends.resize(larger, 0);
        } else {
            self.too_long = true;
            self.ends_len = 0;
        }
    }

    /// The record read so far.
    fn current(&self) -> Fields<'_> {
        Fields {
            bytes: &self.fields,
            ends: &self.ends[..self.ends_len],
        }
    }

    /// A whole record: the header, or a row.
    fn record(&mut self) -> Result<(), TrainingError> {
        self.records += 1;
        if self.columns.is_none() {
            return self.header();
        }
        if self.too_long {
            let detail = format!("longer than {MAX_LINE_BYTES} bytes");
            self.malformed
                .record(self.records, MalformedReason::LineTooLong, detail, b"");
            self.profile.malformed += 1;
            return Ok(());
        }
        match self.row() {
            Ok(()) => self.commit(),
            Err((reason, detail)) => {
                let excerpt = self.excerpt();
                self.malformed.record(self.records, reason, detail, &excerpt);
                self.profile.malformed += 1;
            }
        }
        Ok(())
    }

    fn header(&mut self) -> Result<(), TrainingError> {
        if self.too_long {
            return Err(TrainingError::HeaderTooLong);
        }
        let header = self.current();
        let names: Vec<String> = (0..header.len())
            .map(|index| String::from_utf8_lossy(header.get(index)).trim().to_string())
            .collect();
        let mut columns = Vec::with_capacity(self.settings.features.len());
        for feature in &self.settings.features {
            let mut found = names.iter().enumerate().filter(|(_, name)| **name == feature.name);
            let column = found
                .next()
                .map(|(column, _)| column)
                .ok_or_else(|| TrainingError::MissingColumn {
                    feature: feature.name.clone(),
                    header: shortened(&names.join(",")),
                })?;
            if found.next().is_some() {
                return Err(TrainingError::DuplicateColumn {
                    feature: feature.name.clone(),
                });
            }
            columns.push(column);
        }
        self.header_width = names.len();
        self.columns = Some(columns);
        Ok(())
    }

    /// Reads the current record's values into `self.row`, all or nothing.
    fn row(&mut self) -> Result<(), Refusal> {
        if self.ends_len != self.header_width {
            return Err((
                MalformedReason::WrongColumnCount,
                format!("{} columns where the header has {}", self.ends_len, self.header_width),
            ));
        }
        let Some(columns) = &self.columns else {
            return Ok(());
        };
        let record = Fields {
            bytes: &self.fields,
            ends: &self.ends[..self.ends_len],
        };
        self.row.clear();
        for (feature, &column) in self.settings.features.iter().zip(columns) {
            let text = std::str::from_utf8(record.get(column)).map_err(|_| {
                (
                    MalformedReason::UnparsableValue,
                    format!("{}: the value is not UTF-8 text", feature.name),
                )
            })?;
            let text = text.trim();
            self.row.push(match feature.kind {
                _ if text.is_empty() => Value::Missing,
                crate::settings::FeatureKind::Categorical => Value::Text(column),
                crate::settings::FeatureKind::Numerical => Value::Number(text.parse::<f64>().map_err(|_| {
                    (
                        MalformedReason::UnparsableNumber,
                        format!("{}: {text:?} is not a number", feature.name),
                    )
                })?),
            });
        }
        Ok(())
    }

    /// Profiles the row read into `self.row`.
    fn commit(&mut self) {
        let record = Fields {
            bytes: &self.fields,
            ends: &self.ends[..self.ends_len],
        };
        let features = self.profile.features.iter_mut().zip(self.pending.iter_mut());
        for (value, (feature, pending)) in self.row.iter().copied().zip(features) {
            // `row` checked that every field it names is UTF-8.
            let text = match value {
                Value::Text(column) => std::str::from_utf8(record.get(column)).ok().map(str::trim),
                _ => None,
            };
            match (&mut feature.summary, value) {
                (FeatureSummary::Numeric(numeric), Value::Number(number)) if number.is_finite() => {
                    pending.push(number);
                    if pending.len() >= self.pending_capacity {
                        numeric.add_all(pending);
                        pending.clear();
                    }
                }
                (FeatureSummary::Numeric(numeric), _) => numeric.add(None),
                (FeatureSummary::Categorical(categorical), _) => categorical.add(text),
            }
        }
        self.profile.records += 1;
        self.profile.rows += 1;
    }

    /// The record as a line again, for the log (quotes are not restored).
    fn excerpt(&self) -> Vec<u8> {
        let record = self.current();
        let mut line = Vec::new();
        for index in 0..record.len() {
            if index > 0 {
                line.push(b',');
            }
            line.extend_from_slice(record.get(index));
            if line.len() >= crate::lines::EXCERPT_BYTES {
                break;
            }
        }
        line
    }
}

/// A record's fields as csv-core writes them: their bytes one after another,
/// and where each ends.
#[derive(Debug, Clone, Copy)]
struct Fields<'a> {
    bytes: &'a [u8],
    ends: &'a [usize],
}

impl<'a> Fields<'a> {
    fn len(&self) -> usize {
        self.ends.len()
    }

    fn get(&self, index: usize) -> &'a [u8] {
        let start = if index == 0 { 0 } else { self.ends[index - 1] };
        &self.bytes[start..self.ends[index]]
    }
}

/// A header for an error message: its first 200 characters.
fn shortened(text: &str) -> String {
    let mut short: String = text.chars().take(200).collect();
    if short.len() < text.len() {
        short.push('…');
    }
    short
}
