//! `[model.monitor]` interpretation: what is accepted, and errors that name
//! the field, on their own and inside a whole policy.

// Code outside the #[test] functions panics on purpose: a panic is a failed test.
#![allow(clippy::panic, clippy::unwrap_used, clippy::expect_used)]

use trigger_decision::monitor::{FeatureKind, MonitorSection, MonitorSettings, PredictionField, Problem};
use trigger_decision::{Policy, Span};

/// The housing-price model's section, as the README writes it.
fn section(problem: &str, prediction: &str) -> MonitorSection {
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

/// `Ok(())` when the section is accepted, else the error's text must contain `expected`.
fn check(edit: impl FnOnce(&mut MonitorSection), expected: Result<(), &str>) {
    let mut section = section("regression", "0");
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
    let settings = MonitorSettings::from_section(&section("binary", "/predictions/0/score")).unwrap();
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

/// A policy with one model, `[model.drift]` reporting under `reports`, and
/// `monitor` appended to the README's `[model.monitor]` section.
fn policy(reports: &str, monitor: &str) -> String {
    format!(
        r#"
        [[model]]
        name = "housing-price"
        pipeline = "housing-price-retrain"
        [model.drift]
        baseline = "s3://monitoring/housing-price/baseline/statistics.json"
        reports = "{reports}"
        [model.monitor]
        endpoint = "housing-price-prod"
        captures = "s3://captures/datacapture/housing-price-prod/"
        labels = "s3://captures/ground-truth/housing-price/"
        problem = "regression"
        features = ["sqft", "bedrooms", "bathrooms", "zipcode"]
        categorical = ["zipcode"]
        window = "1h"
        label_delay = "6h"
        {monitor}
        "#
    )
}

#[test]
fn a_policy_carries_its_models_monitor_settings() {
    let parsed = Policy::from_toml(&policy("s3://monitoring/housing-price/reports/", "buckets = 50")).unwrap();
    let settings = parsed.models[0].monitor.as_ref().unwrap();
    assert_eq!(
        (settings.buckets, &settings.prediction, settings.label_delay),
        (50, &PredictionField::Column(0), Span::from_secs(6 * 3600))
    );
    let without = Policy::from_toml("[[model]]\nname = \"m\"\npipeline = \"p\"\n").unwrap();
    assert_eq!(without.models[0].monitor, None);
}

#[test]
fn a_policy_refuses_a_bad_monitor_section_naming_the_model_and_field() {
    let check = |reports: &str, monitor: &str, words: &str| {
        let error = Policy::from_toml(&policy(reports, monitor)).unwrap_err().to_string();
        assert!(error.contains(words), "{monitor:?}: {error}");
    };
    let reports = "s3://monitoring/housing-price/reports/";
    check(reports, "buckets = 1", "model \"housing-price\": model.monitor.buckets");
    check(reports, "thresold = 0.5", "thresold");
    // Statistics written among the captures would be read back as captures, and the other way round.
    check(
        "s3://captures/datacapture/",
        "",
        "model \"housing-price\": field `monitor.captures`",
    );
    check(
        "s3://captures/ground-truth/housing-price/statistics/",
        "",
        "model \"housing-price\": field `monitor.labels`",
    );
}
