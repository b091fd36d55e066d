//! `[model.monitor]` interpretation: what is accepted, and errors that name the field.

// Code outside the #[test] functions panics on purpose: a panic is a failed test.
#![allow(clippy::panic, clippy::unwrap_used, clippy::expect_used)]

mod common;

use capture_monitor::{FeatureKind, MonitorSection, MonitorSettings, PredictionField, Problem};
use trigger_decision::Span;

/// `Ok(())` when the section is accepted, else the error's text must contain `expected`.
fn check(edit: impl FnOnce(&mut MonitorSection), expected: Result<(), &str>) {
    let mut section = common::section("regression", "0");
    edit(&mut section);
    match (MonitorSettings::from_section(&section), expected) {
        (Ok(_), Ok(())) => {}
        (Err(error), Err(words)) => assert!(error.to_string().contains(words), "{error}"),
        (got, wanted) => panic!("{section:?}: got {got:?}, wanted {wanted:?}"),
    }
}

#[test]
fn sections_are_accepted_or_refused_naming_the_field() {
    check(|_| {}, Ok(()));
    check(|s| s.problem = "Binary".into(), Ok(()));
    check(
        |s| s.problem = "regresion".into(),
        Err("model.monitor.problem: \"regresion\""),
    );
    check(|s| s.prediction = Some("/predictions/0/score".into()), Ok(()));
    check(|s| s.prediction = Some("/predictions/*/score".into()), Ok(()));
    check(
        |s| s.prediction = Some("predictions.score".into()),
        Err("model.monitor.prediction"),
    );
    check(
        |s| s.prediction = Some("/predictions//score".into()),
        Err("model.monitor.prediction"),
    );
    check(|s| s.prediction = Some("-1".into()), Err("model.monitor.prediction"));
    check(|s| s.features = vec![], Err("model.monitor.features"));
    check(|s| s.features.push("sqft".into()), Err("\"sqft\" is listed twice"));
    check(
        |s| s.categorical = vec!["zip".into()],
        Err("model.monitor.categorical: \"zip\""),
    );
    check(
        |s| s.threshold = Some(0.5),
        Err("threshold applies only to problem = \"binary\""),
    );
    check(
        |s| {
            s.problem = "binary".into();
            s.threshold = Some(f64::NAN)
        },
        Err("model.monitor.threshold"),
    );
    check(|s| s.window = Some("1 hour".into()), Err("model.monitor.window"));
    check(|s| s.window = Some("0h".into()), Err("model.monitor.window"));
    check(|s| s.label_delay = Some("0s".into()), Ok(()));
    check(|s| s.buckets = Some(1), Err("model.monitor.buckets"));
    check(|s| s.buckets = Some(100), Ok(()));
    check(|s| s.endpoint = " ".into(), Err("model.monitor.endpoint"));
}

#[test]
fn defaults_and_interpretation() {
    let settings = MonitorSettings::from_section(&common::section("binary", "/predictions/0/score")).unwrap();
    assert_eq!(settings.problem, Problem::Binary);
    assert_eq!(settings.threshold, 0.5);
    assert_eq!(settings.window, Span::from_secs(3600));
    assert_eq!(settings.label_delay, Span::from_secs(6 * 3600));
    assert_eq!(settings.buckets, 10);
    assert_eq!(
        settings.prediction,
        PredictionField::Pointer("/predictions/0/score".into())
    );
    let kinds: Vec<FeatureKind> = settings.features.iter().map(|feature| feature.kind).collect();
    use FeatureKind::{Categorical, Numerical};
    assert_eq!(kinds, [Numerical, Numerical, Numerical, Categorical]);
    assert_eq!(PredictionField::parse("3"), Ok(PredictionField::Column(3)));
}

#[test]
fn a_section_reads_from_toml_as_the_policy_writes_it() {
    let text = r#"
        endpoint = "housing-price-prod"
        captures = "s3://captures/datacapture/housing-price-prod/"
        labels = "s3://captures/ground-truth/housing-price/"
        problem = "regression"
        features = ["sqft", "bedrooms", "bathrooms", "zipcode"]
        categorical = ["zipcode"]
        prediction = "0"
        window = "1h"
        label_delay = "6h"
        buckets = 50
    "#;
    let section: MonitorSection = toml::from_str(text).unwrap();
    let settings = MonitorSettings::from_section(&section).unwrap();
    assert_eq!(
        (settings.buckets, settings.prediction),
        (50, PredictionField::Column(0))
    );
}
