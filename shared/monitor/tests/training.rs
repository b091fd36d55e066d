//! The training-CSV reader: a baseline from a CSV with a header, profiled
//! exactly as the same rows captured by an endpoint would be.

// Code outside the #[test] functions panics on purpose: a panic is a failed test.
#![allow(clippy::panic, clippy::unwrap_used, clippy::expect_used)]

mod common;

use capture_monitor::{
    CaptureReader, FeatureSummary, MalformedReason, Profile, Statistics, TrainingError, TrainingReader,
};
use common::housing;

/// Reads `text` in chunks of `chunk` bytes.
fn read_in_chunks(text: &[u8], chunk: usize) -> Result<(Profile, capture_monitor::MalformedLog), TrainingError> {
    let settings = housing("0");
    let mut reader = TrainingReader::new(&settings);
    for piece in text.chunks(chunk) {
        reader.push(piece)?;
    }
    let summary = reader.finish()?;
    Ok((summary.profile, summary.malformed))
}

fn read(text: &str) -> Result<(Profile, capture_monitor::MalformedLog), TrainingError> {
    read_in_chunks(text.as_bytes(), text.len().max(1))
}

fn statistics_json(profile: &Profile) -> String {
    Statistics::of(profile, 10).to_json().unwrap()
}

/// Deterministic housing rows: (sqft, bedrooms, bathrooms, zipcode).
fn rows(count: usize) -> Vec<(u32, u32, u32, &'static str)> {
    let zipcodes = ["98103", "98115", "98122"];
    (0..count)
        .map(|index| {
            let index = index as u32;
            (
                800 + (index * 37) % 3000,
                1 + index % 5,
                1 + index % 3,
                zipcodes[index as usize % 3],
            )
        })
        .collect()
}

/// The same rows as Data Capture records, CSV in and a price out.
fn as_captures(rows: &[(u32, u32, u32, &str)]) -> String {
    rows.iter()
        .enumerate()
        .map(|(index, (sqft, bedrooms, bathrooms, zipcode))| {
            format!(
                "{{\"captureData\":{{\"endpointInput\":{{\"observedContentType\":\"text/csv\",\"mode\":\"INPUT\",\
                 \"data\":\"{sqft},{bedrooms},{bathrooms},{zipcode}\",\"encoding\":\"CSV\"}},\
                 \"endpointOutput\":{{\"observedContentType\":\"text/csv\",\"mode\":\"OUTPUT\",\"data\":\"1.0\",\
                 \"encoding\":\"CSV\"}}}},\"eventMetadata\":{{\"eventId\":\"e{index}\",\
                 \"inferenceTime\":\"2026-12-02T04:12:55Z\"}},\"eventVersion\":\"0\"}}\n"
            )
        })
        .collect()
}

/// The same rows as a training CSV: columns in another order, two extra ones
/// (one of them quoted text holding commas, quotes and a newline), CRLF.
fn as_training_csv(rows: &[(u32, u32, u32, &str)]) -> String {
    let mut text = String::from("\u{feff}price,zipcode,bathrooms,notes,sqft,bedrooms\r\n");
    for (index, (sqft, bedrooms, bathrooms, zipcode)) in rows.iter().enumerate() {
        let notes = match index % 3 {
            0 => "\"corner lot, \"\"quiet\"\"\nstreet\"".to_string(),
            1 => String::new(),
            _ => "plain".to_string(),
        };
        text.push_str(&format!(
            "{}.5,\"{zipcode}\",{bathrooms},{notes},{sqft},{bedrooms}\r\n",
            index * 1000
        ));
    }
    text
}

/// 250 rows: fewer than a block the profile compacts ahead (256) and than
/// the sketch's own first compaction, both of which toss a random coin, so
/// the two profiles' buckets must be equal, not merely close.
#[test]
fn a_training_csv_profiles_exactly_as_the_same_rows_captured() {
    let rows = rows(250);
    let settings = housing("0");
    let mut capture = CaptureReader::new(&settings);
    capture.push(as_captures(&rows).as_bytes());
    let captured = capture.finish();
    assert_eq!(captured.malformed.count, 0);

    let (trained, malformed) = read(&as_training_csv(&rows)).unwrap();
    assert_eq!(malformed.count, 0, "{malformed:?}");
    assert_eq!((trained.records, trained.rows), (250, 250));
    assert_eq!(statistics_json(&trained), statistics_json(&captured.profile));
}

#[test]
fn where_chunks_end_does_not_change_the_profile() {
    let text = as_training_csv(&rows(250));
    let (whole, _) = read(&text).unwrap();
    for chunk in [1, 2, 3, 7, 64, 1000] {
        let (chunked, malformed) = read_in_chunks(text.as_bytes(), chunk).unwrap();
        assert_eq!(malformed.count, 0, "chunks of {chunk}");
        assert_eq!(statistics_json(&chunked), statistics_json(&whole), "chunks of {chunk}");
    }
}

/// Each bad row is counted with its record number and reason; the rows around it are read.
#[test]
fn bad_rows_are_counted_and_skipped_never_fatal() {
    let text = "sqft,bedrooms,bathrooms,zipcode\n\
                2140,3,2,98103\n\
                1800,two,1,98115\n\
                1800,2,98115\n\
                \n\
                NaN,inf,,98103\n\
                1500,2,1,\n\
                3200,4,3,98103,extra\n\
                1000,1,1,98122";
    let (profile, malformed) = read(text).unwrap();
    let found: Vec<(u64, MalformedReason)> = malformed
        .examples
        .iter()
        .map(|example| (example.line, example.reason))
        .collect();
    assert_eq!(
        found,
        [
            (3, MalformedReason::UnparsableNumber),
            (4, MalformedReason::WrongColumnCount),
            (7, MalformedReason::WrongColumnCount),
        ]
    );
    assert!(
        malformed.examples[0].detail.contains("bedrooms") && malformed.examples[0].excerpt.contains("two"),
        "{:?}",
        malformed.examples[0]
    );
    assert_eq!((profile.rows, profile.malformed), (4, 3));
    let numeric = |name: &str| match profile.feature(name) {
        Some(FeatureSummary::Numeric(numeric)) => numeric.clone(),
        other => panic!("{name}: {other:?}"),
    };
    // NaN and inf are missing values, as in captures; so are empty cells.
    let sqft = numeric("sqft");
    assert_eq!((sqft.present, sqft.missing), (3, 1));
    assert_eq!((sqft.min(), sqft.max()), (Some(1000.0), Some(2140.0)));
    assert_eq!(sqft.sum(), 2140.0 + 1500.0 + 1000.0);
    assert_eq!((numeric("bedrooms").present, numeric("bedrooms").missing), (3, 1));
    assert_eq!((numeric("bathrooms").present, numeric("bathrooms").missing), (3, 1));
    let Some(FeatureSummary::Categorical(zipcode)) = profile.feature("zipcode") else {
        panic!("zipcode")
    };
    assert_eq!((zipcode.present, zipcode.missing), (3, 1));
    assert_eq!(
        zipcode.categories(),
        [("98103".to_string(), 2), ("98122".to_string(), 1)]
    );
}

#[test]
fn a_header_without_a_feature_is_an_error_naming_it() {
    let check = |text: &str, expected: TrainingError| {
        assert_eq!(read(text).unwrap_err(), expected, "{text:?}");
    };
    check(
        "sqft,bedrooms,zipcode\n1,2,3\n",
        TrainingError::MissingColumn {
            feature: "bathrooms".into(),
            header: "sqft,bedrooms,zipcode".into(),
        },
    );
    // A CSV without a header: its first row is read as one, and names no feature.
    check(
        "2140,3,2,98103\n",
        TrainingError::MissingColumn {
            feature: "sqft".into(),
            header: "2140,3,2,98103".into(),
        },
    );
    check(
        "sqft,bedrooms,bathrooms,zipcode,sqft\n",
        TrainingError::DuplicateColumn { feature: "sqft".into() },
    );
    check("", TrainingError::NoHeader);
    check("\n\r\n", TrainingError::NoHeader);
    let message = read("sqft\n").unwrap_err().to_string();
    assert!(
        message.contains("\"bedrooms\"") && message.contains("header"),
        "{message}"
    );
}

#[test]
fn a_header_only_csv_gives_an_empty_profile() {
    let (profile, malformed) = read(" sqft , bedrooms,bathrooms,zipcode\n").unwrap();
    assert_eq!((profile.rows, malformed.count), (0, 0));
}
