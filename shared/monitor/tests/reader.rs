//! Streaming: chunk boundaries do not matter, batches stay bounded, a line
//! too long is skipped, and the fixtures' predictions join their labels.

// Code outside the #[test] functions panics on purpose: a panic is a failed test.
#![allow(clippy::panic, clippy::unwrap_used, clippy::expect_used)]

mod common;

use capture_monitor::{
    join, CaptureReader, FormatError, LabelReader, MalformedReason, PredictionBatch, Problem, Profile, Statistics,
    MAX_LINE_BYTES,
};
use common::{fixture, housing};

/// Reads `object` in chunks of `size` bytes and gives statistics.json and the sorted prediction keys.
fn read_in_chunks(object: &[u8], size: usize) -> (String, Vec<String>, u64) {
    let settings = housing("0");
    let mut reader = CaptureReader::with_batch_capacity(&settings, 2);
    let mut batches: Vec<PredictionBatch> = Vec::new();
    for chunk in object.chunks(size) {
        reader.push(chunk);
        while let Some(batch) = reader.next_batch() {
            batches.push(batch);
        }
    }
    let capture = reader.finish();
    batches.extend(capture.batches);
    let mut keys: Vec<String> = batches
        .iter()
        .flat_map(|b| b.predictions.iter().map(|p| p.key.clone()))
        .collect();
    keys.sort();
    let json = Statistics::of(&capture.profile, 10).to_json().unwrap();
    (json, keys, capture.malformed.count)
}

#[test]
fn chunk_boundaries_anywhere_give_the_same_result() {
    let mut object = fixture("example-capture-bad-lines.jsonl");
    object.extend(fixture("example-capture-csv-batch.jsonl"));
    // No newline at the very end: the last line still counts.
    object.extend(fixture("example-capture-csv.jsonl").strip_suffix(b"\n").unwrap());
    let whole = read_in_chunks(&object, object.len());
    assert_eq!(whole.1.len(), 3 + 4 + 3);
    assert_eq!(whole.2, 4);
    for size in [1, 2, 3, 7, 64, 100, 333, 4096] {
        assert_eq!(read_in_chunks(&object, size), whole, "chunks of {size} bytes");
    }
}

#[test]
fn batches_never_exceed_their_capacity() {
    let settings = housing("0");
    let line = String::from_utf8(fixture("example-capture-csv.jsonl")).unwrap();
    let first = line.lines().next().unwrap();
    let mut reader = CaptureReader::with_batch_capacity(&settings, 5);
    let mut handed_out = 0;
    for index in 0..1000 {
        reader.push_line(first.replace("order-1001", &format!("order-{index}")).as_bytes());
        while let Some(batch) = reader.next_batch() {
            assert_eq!(batch.predictions.len(), 5);
            handed_out += batch.predictions.len();
        }
    }
    let capture = reader.finish();
    assert!(capture.batches.iter().all(|batch| batch.predictions.len() <= 5));
    let left: usize = capture.batches.iter().map(|batch| batch.predictions.len()).sum();
    assert_eq!(handed_out + left, 1000);
    assert!(left <= 16 * 5, "at most one partial batch per shard is left: {left}");
}

#[test]
fn a_line_longer_than_the_limit_is_skipped_and_counted() {
    let settings = housing("0");
    let mut reader = CaptureReader::new(&settings);
    let good = fixture("example-capture-csv.jsonl");
    reader.push(&good);
    let long = vec![b'x'; 1 << 20];
    for _ in 0..(MAX_LINE_BYTES >> 20) + 1 {
        reader.push(&long);
    }
    reader.push(b"\n");
    reader.push(&good);
    let capture = reader.finish();
    assert_eq!(capture.profile.records, 6);
    assert_eq!(capture.malformed.count, 1);
    let example = &capture.malformed.examples[0];
    assert_eq!((example.line, example.reason), (4, MalformedReason::LineTooLong));
    assert_eq!(example.excerpt.len(), 200);
}

#[test]
fn malformed_examples_are_bounded_but_all_counted() {
    let settings = housing("0");
    let mut reader = CaptureReader::new(&settings);
    for _ in 0..250 {
        reader.push(b"not json\n");
    }
    let capture = reader.finish();
    assert_eq!(capture.malformed.count, 250);
    assert_eq!(
        capture.malformed.examples.len(),
        capture_monitor::MAX_MALFORMED_EXAMPLES
    );
    assert_eq!(capture.malformed.examples[99].line, 100);
}

#[test]
fn fixture_predictions_join_their_labels() {
    let settings = housing("0");
    let mut reader = CaptureReader::new(&settings);
    reader.push(&fixture("example-capture-csv.jsonl"));
    reader.push(&fixture("example-capture-csv-batch.jsonl"));
    let predictions = reader.finish().batches;
    let mut labels = LabelReader::new(Problem::Regression);
    labels.push(&fixture("example-ground-truth-csv.jsonl"));
    labels.push(&fixture("example-ground-truth-json.jsonl"));
    let labels = labels.finish().batches;
    let outcome = join(&settings, &predictions, &labels);
    // Three CSV records and the three batch rows are labelled; the batch's single-row record is not.
    assert_eq!(
        (outcome.matched, outcome.unmatched_predictions, outcome.unmatched_labels),
        (6, 1, 1)
    );
    let report = outcome.quality.report();
    // |512345.2-498000| + |431000-440000| + |845500.5-820000| + |512345.2-510000| + |431000-425000.5| + |602100.9-600000|
    let mae = (14345.2 + 9000.0 + 25500.5 + 2345.2 + 5999.5 + 2100.9) / 6.0;
    assert!((report.mae.unwrap() - mae).abs() < 1e-6, "{report:?}");
}

#[test]
fn a_duplicate_label_or_prediction_counts_once() {
    let settings = housing("0");
    let mut reader = CaptureReader::new(&settings);
    let csv = fixture("example-capture-csv.jsonl");
    reader.push(&csv);
    reader.push(&csv);
    let predictions = reader.finish().batches;
    let mut labels = LabelReader::new(Problem::Regression);
    labels.push(&fixture("example-ground-truth-csv.jsonl"));
    labels.push(&fixture("example-ground-truth-csv.jsonl"));
    let outcome = join(&settings, &predictions, &labels.finish().batches);
    assert_eq!(
        (outcome.matched, outcome.duplicate_predictions, outcome.duplicate_labels),
        (3, 3, 4)
    );
}

#[test]
fn stored_objects_read_back_and_foreign_bytes_are_refused() {
    let settings = housing("0");
    let mut reader = CaptureReader::new(&settings);
    reader.push(&fixture("example-capture-csv.jsonl"));
    let capture = reader.finish();
    let bytes = capture.profile.to_bytes().unwrap();
    let back = Profile::from_bytes(&bytes).unwrap();
    assert_eq!(Statistics::of(&back, 10), Statistics::of(&capture.profile, 10));
    let batch = &capture.batches[0];
    assert_eq!(&PredictionBatch::from_bytes(&batch.to_bytes().unwrap()).unwrap(), batch);
    assert!(matches!(
        Profile::from_bytes(b"{\"json\": 1}"),
        Err(FormatError::NotThisFormat { .. })
    ));
    assert!(matches!(
        Profile::from_bytes(&batch.to_bytes().unwrap()),
        Err(FormatError::NotThisFormat { .. })
    ));
    let mut newer = bytes.clone();
    newer[5] = 99;
    assert!(matches!(
        Profile::from_bytes(&newer),
        Err(FormatError::Version { found: 99, .. })
    ));
    let cut = Profile::from_bytes(&bytes[..bytes.len() / 2]).unwrap_err();
    assert!(cut.to_string().contains("corrupt or cut short"), "{cut}");
}

#[test]
fn quoted_csv_cells_spaces_bad_bytes_and_an_empty_input() {
    let settings = housing("0");
    let template = String::from_utf8(fixture("example-capture-csv.jsonl")).unwrap();
    let first = template.lines().next().unwrap();
    let with_input = |input: &str| first.replace("2140,3,2,98103", input).into_bytes();
    let mut reader = CaptureReader::new(&settings);
    reader.push_line(&with_input(r#"2140,3,2,\"98,103\""#));
    reader.push_line(&with_input(" 2140 , 3,2 ,98103 "));
    let mut not_utf8 = with_input("2140,3,2,98103");
    not_utf8[20] = 0xff;
    reader.push_line(&not_utf8);
    let capture = reader.finish();
    assert_eq!(capture.profile.records, 2);
    let reasons: Vec<_> = capture
        .malformed
        .examples
        .iter()
        .map(|example| (example.line, example.reason))
        .collect();
    assert_eq!(reasons, [(3, MalformedReason::NotJson)]);
    let statistics = Statistics::of(&capture.profile, 10);
    let zipcode = statistics.features[3].string_statistics.as_ref().unwrap();
    let values: Vec<&str> = zipcode
        .distribution
        .categorical
        .buckets
        .iter()
        .map(|bucket| bucket.value.as_str())
        .collect();
    assert_eq!(values, ["98,103", "98103"]);
    let sqft = statistics.features[0].numerical_statistics.as_ref().unwrap();
    assert_eq!(
        (sqft.common.num_present, sqft.min, sqft.max),
        (2, Some(2140.0), Some(2140.0))
    );
}
