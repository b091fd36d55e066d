//! Synthetic Data Capture for the capture-monitor benchmarks: a model of 20
//! numerical CSV features (`benches/monitor.rs`, the file harness
//! `profile-capture` and the generator `generate-capture`), the same rows as
//! a training CSV, and 24 partial profiles of 1,000 features for the window
//! merge. Deterministic: a fixed
//! seed gives the same records.

use capture_monitor::{CaptureReader, MonitorSection, MonitorSettings, Profile, Statistics, TrainingReader};

/// Features per capture record, as the throughput target states.
pub const CAPTURE_FEATURES: usize = 20;
/// Features and partials of the merge target.
pub const MERGE_FEATURES: usize = 1000;
pub const MERGE_PARTIALS: usize = 24;
/// Rows per merged partial: a 1,000-feature capture object of 2,000
/// records is about 16 MB, and its sketches are past KLL's exact phase.
pub const MERGE_ROWS_PER_PARTIAL: usize = 2000;

/// SplitMix64: small, fast and reproducible, so no random-number crate is needed.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in (0, 1).
    pub fn unit(&mut self) -> f64 {
        ((self.next_u64() >> 11) as f64 + 0.5) / (1u64 << 53) as f64
    }

    /// Standard normal (Box-Muller).
    pub fn normal(&mut self) -> f64 {
        let (u, v) = (self.unit(), self.unit());
        (-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos()
    }
}

/// Settings for `count` numerical features `f0`, `f1`, ..., regression, prediction in column 0.
pub fn settings(count: usize) -> MonitorSettings {
    let section = MonitorSection {
        endpoint: "bench-endpoint".into(),
        captures: "s3://bench/datacapture/bench-endpoint/".into(),
        problem: "regression".into(),
        features: (0..count).map(|index| format!("f{index}")).collect(),
        ..MonitorSection::default()
    };
    // The section is built here and valid; an error would be a bug in this function.
    MonitorSettings::from_section(&section).unwrap_or_else(|error| unreachable_settings(&error))
}

#[allow(clippy::panic)]
fn unreachable_settings(error: &capture_monitor::SettingsError) -> MonitorSettings {
    panic!("benchmark settings: {error}")
}

/// One row's 20 feature values as CSV: a mix of scales (prices, areas,
/// counts, ratios) as real inputs have.
fn feature_values(rng: &mut Rng) -> String {
    let mut data = String::with_capacity(200);
    for feature in 0..CAPTURE_FEATURES {
        if feature > 0 {
            data.push(',');
        }
        let value = match feature % 4 {
            0 => format!("{:.1}", 2000.0 + 500.0 * rng.normal()),
            1 => format!("{}", (3.0 + 1.2 * rng.normal()).round().max(0.0)),
            2 => format!("{:.4}", rng.unit()),
            _ => format!("{:.2}", (11.0 + rng.normal()).exp()),
        };
        data.push_str(&value);
    }
    data
}

/// One capture record of 20 CSV features: a mix of scales (prices, areas,
/// counts, ratios) as real inputs have, and a regression output. Every
/// third record carries an `inferenceId`.
pub fn capture_line(rng: &mut Rng, index: u64) -> String {
    let data = feature_values(rng);
    let prediction = 400_000.0 + 150_000.0 * rng.normal();
    let event = format!(
        "{:08x}-{:04x}-4{:03x}-8{:03x}-{:012x}",
        rng.next_u64() as u32,
        rng.next_u64() as u16,
        rng.next_u64() & 0xfff,
        rng.next_u64() & 0xfff,
        rng.next_u64() & 0xffff_ffff_ffff
    );
    let inference = match index % 3 {
        0 => format!(",\"inferenceId\":\"req-{index}\""),
        _ => String::new(),
    };
    format!(
        concat!(
            "{{\"captureData\":{{\"endpointInput\":{{\"observedContentType\":\"text/csv\",\"mode\":\"INPUT\",",
            "\"data\":\"{}\",\"encoding\":\"CSV\"}},\"endpointOutput\":{{\"observedContentType\":",
            "\"text/csv; charset=utf-8\",\"mode\":\"OUTPUT\",\"data\":\"{:.1}\",\"encoding\":\"CSV\"}}}},",
            "\"eventMetadata\":{{\"eventId\":\"{}\"{},\"inferenceTime\":\"2026-12-02T04:12:55Z\"}},",
            "\"eventVersion\":\"0\"}}"
        ),
        data, prediction, event, inference
    )
}

/// `count` capture records as one JSON Lines object.
pub fn capture_object(count: u64, seed: u64) -> Vec<u8> {
    let mut rng = Rng::new(seed);
    let mut object = Vec::with_capacity(count as usize * 400);
    for index in 0..count {
        object.extend_from_slice(capture_line(&mut rng, index).as_bytes());
        object.push(b'\n');
    }
    object
}

/// What profiling one object does in the function: read it, store every
/// batch (encoded, as it is written), and encode the partial profile.
/// Returns (records, stored bytes).
pub fn profile_object(settings: &MonitorSettings, object: &[u8], chunk: usize) -> (u64, usize) {
    let mut reader = CaptureReader::new(settings);
    let mut stored = 0;
    for piece in object.chunks(chunk.max(1)) {
        reader.push(piece);
        while let Some(batch) = reader.next_batch() {
            stored += batch.to_bytes().map_or(0, |bytes| bytes.len());
        }
    }
    let capture = reader.finish();
    for batch in &capture.batches {
        stored += batch.to_bytes().map_or(0, |bytes| bytes.len());
    }
    stored += capture.profile.to_bytes().map_or(0, |bytes| bytes.len());
    (capture.profile.records, stored)
}

/// `rows` rows of the same 20 features as a training set's CSV: a header
/// naming them, an id column before them and a quoted label column after
/// (which the reader skips), as `retrain baseline --input train.csv` reads.
pub fn training_csv(rows: u64, seed: u64) -> Vec<u8> {
    let mut rng = Rng::new(seed);
    let names: Vec<String> = (0..CAPTURE_FEATURES).map(|index| format!("f{index}")).collect();
    let mut csv = format!("id,{},label\n", names.join(",")).into_bytes();
    for index in 0..rows {
        let values = feature_values(&mut rng);
        let label = 400_000.0 + 150_000.0 * rng.normal();
        csv.extend_from_slice(format!("{index},{values},\"{label:.1}\"\n").as_bytes());
    }
    csv
}

/// What `retrain baseline` does with a training CSV once read: its bytes,
/// in chunks, through the training reader into a profile. Returns the rows
/// profiled, or `None` when the header does not fit the settings.
pub fn profile_training_csv(settings: &MonitorSettings, csv: &[u8], chunk: usize) -> Option<u64> {
    let mut reader = TrainingReader::new(settings);
    for piece in csv.chunks(chunk.max(1)) {
        reader.push(piece).ok()?;
    }
    let summary = reader.finish().ok()?;
    Some(summary.profile.rows - summary.malformed.count)
}

/// The stored partial profiles of the merge benchmark: 24 of 1,000
/// numerical features, 2,000 rows each, every feature its own distribution.
pub fn stored_partials() -> Vec<Vec<u8>> {
    let settings = settings(MERGE_FEATURES);
    (0..MERGE_PARTIALS)
        .map(|partial| {
            let mut rng = Rng::new(partial as u64 + 1);
            let mut profile = Profile::new(&settings);
            for _ in 0..MERGE_ROWS_PER_PARTIAL {
                for (index, feature) in profile.features.iter_mut().enumerate() {
                    if let capture_monitor::FeatureSummary::Numeric(numeric) = &mut feature.summary {
                        numeric.add(Some(index as f64 + (1.0 + index as f64 / 100.0) * rng.normal()));
                    }
                }
            }
            profile.rows = MERGE_ROWS_PER_PARTIAL as u64;
            profile.to_bytes().unwrap_or_default()
        })
        .collect()
}

/// The window's close as the function does it: `statistics.json` read from
/// the stored partials in place (`capture_monitor::statistics_from_stored`).
pub fn stored_to_statistics(stored: &[Vec<u8>], buckets: usize) -> Option<String> {
    let borrowed: Vec<&[u8]> = stored.iter().map(Vec::as_slice).collect();
    capture_monitor::statistics_from_stored(&borrowed, buckets)
        .ok()??
        .to_json()
        .ok()
}

/// The general path, for comparison: decode the stored partials into
/// profiles, merge them (sketches included), write `statistics.json`.
pub fn merge_to_statistics(stored: &[Vec<u8>], buckets: usize) -> Option<String> {
    let profiles: Vec<Profile> = stored
        .iter()
        .map(|bytes| Profile::from_bytes(bytes).ok())
        .collect::<Option<_>>()?;
    let merged = Profile::merge_all(&profiles).ok()??;
    Statistics::of(&merged, buckets).to_json().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_synthetic_object_is_read_whole_with_nothing_malformed() {
        let settings = settings(CAPTURE_FEATURES);
        let object = capture_object(300, 7);
        let mut reader = CaptureReader::new(&settings);
        reader.push(&object);
        let capture = reader.finish();
        assert_eq!((capture.profile.records, capture.malformed.count), (300, 0));
        let keys: usize = capture.batches.iter().map(|batch| batch.predictions.len()).sum();
        assert_eq!(keys, 300);
        assert_eq!(profile_object(&settings, &object, 1000).0, 300);
    }

    #[test]
    fn the_synthetic_training_csv_is_read_whole_with_nothing_malformed() {
        let settings = settings(CAPTURE_FEATURES);
        let csv = training_csv(300, 7);
        let mut reader = TrainingReader::new(&settings);
        reader.push(&csv).unwrap_or_else(|error| panic!("{error}"));
        let summary = reader.finish().unwrap_or_else(|error| panic!("{error}"));
        assert_eq!((summary.profile.rows, summary.malformed.count), (300, 0));
        assert_eq!(profile_training_csv(&settings, &csv, 1000), Some(300));
    }
}
