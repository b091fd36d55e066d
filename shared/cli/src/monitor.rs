//! `retrain baseline`, `retrain profile` and `retrain quality`: what the
//! monitor function does at a window's close, from a terminal, on local files
//! and `s3://` URIs. The profiling, the statistics and the metrics are
//! capture-monitor's, the same code the function runs; this module only
//! finds the model's `[model.monitor]` settings, streams each object through
//! the right reader, and sums up what was read.

use crate::error::CliError;
use crate::objects::{Objects, Source};
use capture_monitor::{
    join, CaptureReader, JoinOutcome, LabelBatch, LabelReader, Malformed, MalformedLog, MalformedReason,
    MonitorSettings, PredictionBatch, Profile, QualityReport, Statistics, TrainingReader, JOIN_SHARDS,
};
use serde::Serialize;
use std::collections::BTreeMap;
use trigger_decision::Policy;

/// Malformed-line examples kept over all objects, for the summary.
pub const MALFORMED_EXAMPLES: usize = 20;

/// Where the policy comes from: `--policy FILE`, else the environment the
/// functions read (`RETRAIN_POLICY`, `RETRAIN_POLICY_FILE` or `RETRAIN_POLICY_URI`).
pub async fn load_policy(
    objects: &Objects,
    file: Option<&str>,
    lookup: impl Fn(&str) -> Option<String>,
) -> Result<Policy, CliError> {
    let set = |name: &str| lookup(name).filter(|value| !value.trim().is_empty());
    let (origin, text) = match file {
        Some(file) => (file.to_string(), read_text(objects, file).await?),
        None => {
            let inline = set("RETRAIN_POLICY").map(|text| ("RETRAIN_POLICY".to_string(), text));
            let file = set("RETRAIN_POLICY_FILE").map(|path| (format!("RETRAIN_POLICY_FILE={path}"), path));
            let uri = set("RETRAIN_POLICY_URI").map(|uri| (format!("RETRAIN_POLICY_URI={uri}"), uri));
            match (inline, file, uri) {
                (Some(inline), None, None) => inline,
                (None, Some((origin, path)), None) | (None, None, Some((origin, path))) => {
                    (origin, read_text(objects, &path).await?)
                }
                (None, None, None) => {
                    return Err(CliError::Invalid(
                        "no policy: pass --policy FILE, or set RETRAIN_POLICY (TOML), RETRAIN_POLICY_FILE (a path) \
                         or RETRAIN_POLICY_URI (s3://bucket/key)"
                            .to_string(),
                    ))
                }
                _ => {
                    return Err(CliError::Invalid(
                        "more than one of RETRAIN_POLICY, RETRAIN_POLICY_FILE and RETRAIN_POLICY_URI is set; set only one, \
                         or pass --policy FILE"
                            .to_string(),
                    ))
                }
            }
        }
    };
    Policy::from_toml(&text).map_err(|error| CliError::Invalid(format!("{origin}: {error}")))
}

async fn read_text(objects: &Objects, location: &str) -> Result<String, CliError> {
    let bytes = match objects.read_whole(location).await {
        // A local policy file that is not there is a wrong argument, not a refusal.
        Err(CliError::Refused { message, .. }) if !location.starts_with("s3://") => {
            return Err(CliError::Invalid(format!(
                "the policy {location} cannot be read ({message})"
            )))
        }
        other => other?,
    };
    String::from_utf8(bytes).map_err(|_| CliError::Invalid(format!("the policy {location} is not UTF-8 text")))
}

/// The model's `[model.monitor]` settings.
pub fn monitor_settings(policy: &Policy, model: &str) -> Result<MonitorSettings, CliError> {
    let Some(found) = policy.models.iter().find(|candidate| candidate.name == model) else {
        let names: Vec<&str> = policy.models.iter().map(|model| model.name.as_str()).collect();
        return Err(CliError::Invalid(format!(
            "model {model:?} is not in the policy; it names {}",
            names.join(", ")
        )));
    };
    found.monitor.clone().ok_or_else(|| {
        CliError::Invalid(format!(
            "model {model:?} has no [model.monitor] section; add one naming its endpoint, captures, problem and \
             features"
        ))
    })
}

/// How `baseline` reads an input.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum InputFormat {
    /// By its first byte: `{` is Data Capture JSON Lines, anything else a CSV with a header.
    Auto,
    /// A CSV with a header row naming the columns, such as the training set.
    Csv,
    /// Data Capture JSON Lines.
    Capture,
}

/// Malformed lines over all objects read: counted by reason, the first few kept.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct MalformedSummary {
    pub count: u64,
    pub by_reason: BTreeMap<MalformedReason, u64>,
    pub examples: Vec<ObjectMalformed>,
}

/// One malformed line, with the object or file it is in.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ObjectMalformed {
    pub object: String,
    #[serde(flatten)]
    pub line: Malformed,
}

impl MalformedSummary {
    fn add(&mut self, source: &Source, log: MalformedLog) {
        self.count += log.count;
        for (reason, count) in log.by_reason {
            *self.by_reason.entry(reason).or_default() += count;
        }
        let room = MALFORMED_EXAMPLES.saturating_sub(self.examples.len());
        self.examples
            .extend(log.examples.into_iter().take(room).map(|line| ObjectMalformed {
                object: source.to_string(),
                line,
            }));
    }
}

/// What `baseline` and `profile` wrote, and from what.
#[derive(Debug, Clone, Serialize)]
pub struct ProfileSummary {
    pub model: String,
    pub out: String,
    pub objects: u64,
    /// Capture records, or a CSV's data rows.
    pub records: u64,
    /// Rows profiled: `dataset.item_count` of the statistics.
    pub rows: u64,
    pub malformed: MalformedSummary,
    /// The `statistics.json` written.
    pub statistics: Statistics,
}

/// One object's reader, chosen by the format (or, for `auto`, by the object's
/// first byte). The readers are boxed: they are large, and one is made per object.
enum ObjectReader<'s> {
    Undecided(&'s MonitorSettings),
    Csv(Box<TrainingReader<'s>>),
    Capture(Box<CaptureReader<'s>>),
}

impl<'s> ObjectReader<'s> {
    fn new(settings: &'s MonitorSettings, format: InputFormat) -> ObjectReader<'s> {
        match format {
            InputFormat::Csv => ObjectReader::Csv(Box::new(TrainingReader::new(settings))),
            InputFormat::Capture => ObjectReader::Capture(Box::new(CaptureReader::new(settings))),
            InputFormat::Auto => ObjectReader::Undecided(settings),
        }
    }

    fn push(&mut self, source: &Source, chunk: &[u8]) -> Result<(), CliError> {
        if let ObjectReader::Undecided(settings) = *self {
            // Leading blank space decides nothing; the first other byte does.
            let Some(first) = chunk.iter().find(|byte| !byte.is_ascii_whitespace()) else {
                return Ok(());
            };
            let format = if *first == b'{' {
                InputFormat::Capture
            } else {
                InputFormat::Csv
            };
            *self = ObjectReader::new(settings, format);
        }
        match self {
            ObjectReader::Csv(reader) => reader
                .push(chunk)
                .map_err(|error| CliError::Invalid(format!("{source}: {error}"))),
            ObjectReader::Capture(reader) => {
                reader.push(chunk);
                // `profile` keeps no predictions: dropping full batches keeps memory bounded.
                while reader.next_batch().is_some() {}
                Ok(())
            }
            ObjectReader::Undecided(_) => Ok(()),
        }
    }

    fn finish(self, source: &Source) -> Result<(Profile, MalformedLog), CliError> {
        match self {
            ObjectReader::Csv(reader) => {
                let summary = reader
                    .finish()
                    .map_err(|error| CliError::Invalid(format!("{source}: {error}")))?;
                Ok((summary.profile, summary.malformed))
            }
            ObjectReader::Capture(reader) => {
                let capture = reader.finish();
                Ok((capture.profile, capture.malformed))
            }
            // Empty, or blank space only: nothing to profile.
            ObjectReader::Undecided(settings) => Ok((Profile::new(settings), MalformedLog::default())),
        }
    }
}

/// Profiles every object the locations name into one profile, and writes its
/// `statistics.json` to `out`. No row profiled is an error, and nothing is
/// written: statistics of nothing would read as a distribution of nothing.
pub async fn profile_to_statistics(
    objects: &Objects,
    settings: &MonitorSettings,
    model: &str,
    locations: &[String],
    format: InputFormat,
    out: &str,
) -> Result<ProfileSummary, CliError> {
    let mut profile = Profile::new(settings);
    let (mut malformed, mut count) = (MalformedSummary::default(), 0);
    for location in locations {
        for source in objects.expand(location).await? {
            let mut reader = ObjectReader::new(settings, format);
            objects.read(&source, |chunk| reader.push(&source, chunk)).await?;
            let (partial, log) = reader.finish(&source)?;
            profile
                .merge(&partial)
                .map_err(|error| CliError::Invalid(format!("{source}: {error}")))?;
            malformed.add(&source, log);
            count += 1;
        }
    }
    if profile.rows == 0 {
        return Err(CliError::Invalid(format!(
            "no row could be profiled from {} ({count} objects, {} malformed lines); nothing was written",
            locations.join(", "),
            malformed.count
        )));
    }
    let statistics = Statistics::of(&profile, settings.buckets);
    let json = statistics
        .to_json()
        .map_err(|error| CliError::refused("writing statistics.json", error))?;
    objects.write(out, json.into_bytes(), "application/json").await?;
    Ok(ProfileSummary {
        model: model.to_string(),
        out: out.to_string(),
        objects: count,
        records: profile.records,
        rows: profile.rows,
        malformed,
        statistics,
    })
}

/// What `quality` found.
#[derive(Debug, Clone, Serialize)]
pub struct QualitySummary {
    pub model: String,
    pub problem: &'static str,
    pub capture_objects: u64,
    pub label_objects: u64,
    /// The metrics of the joined pairs; with `count` 0 there are none.
    pub metrics: QualityReport,
    pub counts: QualityCounts,
    pub malformed: QualityMalformed,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct QualityCounts {
    /// Capture records read (a record may hold a batch of rows).
    pub records: u64,
    /// Predictions read, one per captured row with an output.
    pub predictions: u64,
    pub labels: u64,
    /// Pairs matched and measured.
    pub joined: u64,
    pub unmatched_predictions: u64,
    pub unmatched_labels: u64,
    pub duplicate_predictions: u64,
    pub duplicate_labels: u64,
    /// Matched pairs whose values do not fit the problem.
    pub unusable_pairs: u64,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct QualityMalformed {
    pub captures: MalformedSummary,
    pub labels: MalformedSummary,
}

/// Joins the captures' predictions with the labels, shard by shard as the
/// function's window close does, and gives the metrics and the counts. Every
/// prediction and label is held until the join: about 70 bytes each, with
/// short keys (295,000 pairs peaked at 63 MB).
pub async fn quality(
    objects: &Objects,
    settings: &MonitorSettings,
    model: &str,
    captures: &[String],
    labels: &[String],
) -> Result<QualitySummary, CliError> {
    let mut counts = QualityCounts::default();
    let mut malformed = QualityMalformed::default();
    let (predictions, capture_objects) =
        read_predictions(objects, settings, captures, &mut counts, &mut malformed.captures).await?;
    let (labels, label_objects) = read_labels(objects, settings, labels, &mut counts, &mut malformed.labels).await?;
    let mut outcome = JoinOutcome::empty(settings);
    for (predictions, labels) in predictions.iter().zip(&labels) {
        outcome
            .merge(&join(settings, predictions, labels))
            .map_err(|error| CliError::Invalid(error.to_string()))?;
    }
    counts.joined = outcome.matched;
    counts.unmatched_predictions = outcome.unmatched_predictions;
    counts.unmatched_labels = outcome.unmatched_labels;
    counts.duplicate_predictions = outcome.duplicate_predictions;
    counts.duplicate_labels = outcome.duplicate_labels;
    counts.unusable_pairs = outcome.unusable_pairs;
    Ok(QualitySummary {
        model: model.to_string(),
        problem: settings.problem.name(),
        capture_objects,
        label_objects,
        metrics: outcome.quality.report(),
        counts,
        malformed,
    })
}

/// Every capture object's predictions, by shard; and how many objects there were.
async fn read_predictions(
    objects: &Objects,
    settings: &MonitorSettings,
    locations: &[String],
    counts: &mut QualityCounts,
    malformed: &mut MalformedSummary,
) -> Result<(Vec<Vec<PredictionBatch>>, u64), CliError> {
    let mut shards: Vec<Vec<PredictionBatch>> = (0..JOIN_SHARDS).map(|_| Vec::new()).collect();
    let mut count = 0;
    for location in locations {
        for source in objects.expand(location).await? {
            let mut reader = CaptureReader::new(settings);
            let mut full = Vec::new();
            objects
                .read(&source, |chunk| {
                    reader.push(chunk);
                    full.extend(std::iter::from_fn(|| reader.next_batch()));
                    Ok(())
                })
                .await?;
            let capture = reader.finish();
            counts.records += capture.profile.records;
            for batch in full.into_iter().chain(capture.batches) {
                counts.predictions += batch.predictions.len() as u64;
                shards[usize::from(batch.shard % JOIN_SHARDS)].push(batch);
            }
            malformed.add(&source, capture.malformed);
            count += 1;
        }
    }
    Ok((shards, count))
}

/// Every ground-truth object's labels, by shard; and how many objects there were.
async fn read_labels(
    objects: &Objects,
    settings: &MonitorSettings,
    locations: &[String],
    counts: &mut QualityCounts,
    malformed: &mut MalformedSummary,
) -> Result<(Vec<Vec<LabelBatch>>, u64), CliError> {
    let mut shards: Vec<Vec<LabelBatch>> = (0..JOIN_SHARDS).map(|_| Vec::new()).collect();
    let mut count = 0;
    for location in locations {
        for source in objects.expand(location).await? {
            let mut reader = LabelReader::new(settings.problem);
            let mut full = Vec::new();
            objects
                .read(&source, |chunk| {
                    reader.push(chunk);
                    full.extend(std::iter::from_fn(|| reader.next_batch()));
                    Ok(())
                })
                .await?;
            let read = reader.finish();
            counts.labels += read.labels;
            for batch in full.into_iter().chain(read.batches) {
                shards[usize::from(batch.shard % JOIN_SHARDS)].push(batch);
            }
            malformed.add(&source, read.malformed);
            count += 1;
        }
    }
    Ok((shards, count))
}
