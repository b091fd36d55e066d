//! What the tests share: the housing-price settings and fixture loading.

// Each test file uses part of this module; a panic here is a failed test.
#![allow(dead_code, clippy::panic, clippy::unwrap_used)]

use capture_monitor::{MonitorSection, MonitorSettings};

pub fn section(problem: &str, prediction: &str) -> MonitorSection {
    MonitorSection {
        endpoint: "housing-price-prod".into(),
        captures: "s3://captures/datacapture/housing-price-prod/".into(),
        labels: Some("s3://captures/ground-truth/housing-price/".into()),
        problem: problem.into(),
        features: ["sqft", "bedrooms", "bathrooms", "zipcode"].map(String::from).to_vec(),
        categorical: vec!["zipcode".into()],
        prediction: Some(prediction.into()),
        ..MonitorSection::default()
    }
}

/// The housing-price model, its prediction where `prediction` says.
pub fn housing(prediction: &str) -> MonitorSettings {
    MonitorSettings::from_section(&section("regression", prediction)).unwrap()
}

pub fn fixture(name: &str) -> Vec<u8> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/fixtures/capture")
        .join(name);
    std::fs::read(&path).unwrap_or_else(|error| panic!("{}: {error}", path.display()))
}
