//! Every capture and ground-truth fixture, read as the function will read it.

// Code outside the #[test] functions panics on purpose: a panic is a failed test.
#![allow(clippy::panic, clippy::unwrap_used, clippy::expect_used)]

mod common;

use capture_monitor::{CaptureReader, FeatureSummary, LabelReader, MalformedReason, Outcome, Problem};
use common::{fixture, housing};

/// What one capture fixture must give.
struct Expected<'a> {
    records: u64,
    rows: u64,
    keys: &'a [&'a str],
    malformed: &'a [(u64, MalformedReason)],
}

fn check(name: &str, prediction: &str, expected: Expected<'_>) {
    let settings = housing(prediction);
    let mut reader = CaptureReader::new(&settings);
    reader.push(&fixture(name));
    let capture = reader.finish();
    assert_eq!(capture.profile.records, expected.records, "{name}: records");
    assert_eq!(capture.profile.rows, expected.rows, "{name}: rows");
    let mut keys: Vec<&str> = capture
        .batches
        .iter()
        .flat_map(|batch| batch.predictions.iter().map(|prediction| prediction.key.as_str()))
        .collect();
    keys.sort();
    let mut wanted = expected.keys.to_vec();
    wanted.sort();
    assert_eq!(keys, wanted, "{name}: prediction keys");
    let malformed: Vec<(u64, MalformedReason)> = capture
        .malformed
        .examples
        .iter()
        .map(|example| (example.line, example.reason))
        .collect();
    assert_eq!(malformed, expected.malformed, "{name}: malformed lines");
    assert_eq!(capture.profile.malformed, expected.malformed.len() as u64, "{name}");
}

const CSV_IDS: [&str; 3] = ["order-1001", "c2e6b7f3-2d1e-4b66-8e8f-1a4d3b0c9f12", "order-1003"];

#[test]
fn csv_records_join_on_inference_id_or_else_event_id() {
    let expected = Expected {
        records: 3,
        rows: 3,
        keys: &CSV_IDS,
        malformed: &[],
    };
    check("example-capture-csv.jsonl", "0", expected);
}

#[test]
fn csv_batch_rows_get_numbered_keys() {
    let keys = [
        "batch-7#0",
        "batch-7#1",
        "batch-7#2",
        "f5b9eac6-5041-4e99-b1b2-4d706e3fc045",
    ];
    check(
        "example-capture-csv-batch.jsonl",
        "0",
        Expected {
            records: 2,
            rows: 4,
            keys: &keys,
            malformed: &[],
        },
    );
}

#[test]
fn json_shapes_are_read() {
    let object_keys = ["order-2001", "1b7d2c3e-7263-40bb-93d4-6f92804e2267"];
    let object = Expected {
        records: 2,
        rows: 2,
        keys: &object_keys,
        malformed: &[],
    };
    check("example-capture-json-object.jsonl", "/predictions/0/score", object);
    let instances = Expected {
        records: 1,
        rows: 2,
        keys: &["batch-8#0", "batch-8#1"],
        malformed: &[],
    };
    check(
        "example-capture-json-instances.jsonl",
        "/predictions/*/score",
        instances,
    );
    let array_keys = ["3d9f4e50-9485-42dd-b5f6-81b4a2604489", "batch-9#0", "batch-9#1"];
    check(
        "example-capture-json-array.jsonl",
        "0",
        Expected {
            records: 2,
            rows: 3,
            keys: &array_keys,
            malformed: &[],
        },
    );
}

#[test]
fn base64_holds_csv_or_json_as_its_content_type_says() {
    let csv = Expected {
        records: 1,
        rows: 1,
        keys: &["order-3001"],
        malformed: &[],
    };
    check("example-capture-base64-csv.jsonl", "0", csv);
    let json = Expected {
        records: 1,
        rows: 1,
        keys: &["60c27183-c7b8-4500-a8b9-b4e7d593771c"],
        malformed: &[],
    };
    check("example-capture-base64-json.jsonl", "/predictions/0/score", json);
}

#[test]
fn bad_lines_are_counted_and_the_rest_is_profiled() {
    let malformed = [
        (2, MalformedReason::NotJson),
        (3, MalformedReason::WrongColumnCount),
        (4, MalformedReason::UnparsableNumber),
        (6, MalformedReason::UnknownEncoding),
    ];
    let keys = ["order-4001", "order-4005", "order-4009"];
    check(
        "example-capture-bad-lines.jsonl",
        "0",
        Expected {
            records: 4,
            rows: 4,
            keys: &keys,
            malformed: &malformed,
        },
    );
}

#[test]
fn non_finite_numbers_count_as_missing() {
    let settings = housing("0");
    let mut reader = CaptureReader::new(&settings);
    reader.push(&fixture("example-capture-bad-lines.jsonl"));
    let capture = reader.finish();
    let Some(FeatureSummary::Numeric(sqft)) = capture.profile.feature("sqft") else {
        panic!("sqft")
    };
    // Lines 1, 7 and 9 have a sqft; line 5 has NaN.
    assert_eq!((sqft.present, sqft.missing), (3, 1));
    assert_eq!((sqft.min(), sqft.max()), (Some(1950.0), Some(2500.0)));
    let Some(FeatureSummary::Numeric(bathrooms)) = capture.profile.feature("bathrooms") else {
        panic!()
    };
    assert_eq!((bathrooms.present, bathrooms.missing), (3, 1));
    assert_eq!(capture.profile.records_without_output, 1);
}

#[test]
fn ground_truth_labels_are_read_and_bad_ones_counted() {
    let check = |name: &str, labels: &[(&str, f64)], malformed: &[(u64, MalformedReason)]| {
        let mut reader = LabelReader::new(Problem::Regression);
        reader.push(&fixture(name));
        let summary = reader.finish();
        let mut read: Vec<(String, Outcome)> = summary
            .batches
            .iter()
            .flat_map(|batch| {
                batch
                    .labels
                    .iter()
                    .map(|label| (label.key.clone(), label.value.clone()))
            })
            .collect();
        read.sort_by(|left, right| left.0.cmp(&right.0));
        let mut wanted: Vec<(String, Outcome)> = labels
            .iter()
            .map(|(key, value)| (key.to_string(), Outcome::Number(*value)))
            .collect();
        wanted.sort_by(|left, right| left.0.cmp(&right.0));
        assert_eq!(read, wanted, "{name}");
        let found: Vec<_> = summary
            .malformed
            .examples
            .iter()
            .map(|example| (example.line, example.reason))
            .collect();
        assert_eq!(found, malformed, "{name}");
    };
    check(
        "example-ground-truth-csv.jsonl",
        &[
            ("order-1001", 498000.0),
            ("c2e6b7f3-2d1e-4b66-8e8f-1a4d3b0c9f12", 440000.0),
            ("order-1003", 820000.0),
            ("unknown-event-0000", 455000.0),
        ],
        &[(5, MalformedReason::UnparsableValue)],
    );
    check(
        "example-ground-truth-json.jsonl",
        &[
            ("batch-7#0", 510000.0),
            ("batch-7#1", 425000.5),
            ("batch-7#2", 600000.0),
        ],
        &[(4, MalformedReason::BadJsonPayload)],
    );
}

#[test]
fn every_fixture_is_described_in_the_readme() {
    let directory = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/capture");
    let readme = std::fs::read_to_string(directory.join("README.md")).unwrap();
    for entry in std::fs::read_dir(&directory).unwrap() {
        let name = entry.unwrap().file_name().into_string().unwrap();
        if name.ends_with(".jsonl") {
            assert!(readme.contains(&format!("`{name}`")), "{name} has no line in README.md");
        }
    }
}
