//! Model-quality metrics against scikit-learn's on the same pairs
//! (`fixtures/quality/generate.py` wrote `references.json`), joined shard
//! by shard as the window's close joins them.

// Code outside the #[test] functions panics on purpose: a panic is a failed test.
#![allow(clippy::panic, clippy::unwrap_used, clippy::expect_used)]

mod common;

use capture_monitor::{
    join, shard_of, JoinOutcome, Label, LabelBatch, MonitorSettings, Outcome, Prediction, PredictionBatch,
    QualityReport, JOIN_SHARDS,
};
use serde_json::Value;

fn references() -> Value {
    let text = include_str!("fixtures/quality/references.json");
    serde_json::from_str(text).unwrap()
}

fn settings(problem: &str, threshold: Option<f64>) -> MonitorSettings {
    let mut section = common::section(problem, "0");
    section.threshold = threshold;
    MonitorSettings::from_section(&section).unwrap()
}

fn outcome(value: &Value, problem: &str) -> Outcome {
    match (value, problem) {
        (Value::String(text), _) => Outcome::Class(text.clone()),
        (number, _) => Outcome::Number(number.as_f64().unwrap()),
    }
}

/// The large case's pairs, exactly as `large_pairs` in generate.py makes them.
fn large_pairs(count: usize) -> Vec<(Outcome, Outcome)> {
    let mut state: u64 = 12345;
    let mut step = || {
        state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (state >> 40) % 1000
    };
    (0..count)
        .map(|_| {
            let score = step();
            let noise = step();
            let label = if score + noise >= 1000 { 1.0 } else { 0.0 };
            (Outcome::Number(score as f64 / 1000.0), Outcome::Number(label))
        })
        .collect()
}

/// Joins the pairs (keys `k0`, `k1`, ...) one shard at a time and merges the outcomes.
fn joined(settings: &MonitorSettings, pairs: &[(Outcome, Outcome)]) -> JoinOutcome {
    let mut predictions: Vec<PredictionBatch> = (0..JOIN_SHARDS)
        .map(|shard| PredictionBatch {
            shard,
            predictions: Vec::new(),
        })
        .collect();
    let mut labels: Vec<LabelBatch> = (0..JOIN_SHARDS)
        .map(|shard| LabelBatch {
            shard,
            labels: Vec::new(),
        })
        .collect();
    for (index, (prediction, label)) in pairs.iter().enumerate() {
        let key = format!("k{index}");
        let shard = usize::from(shard_of(&key));
        predictions[shard].predictions.push(Prediction {
            key: key.clone(),
            value: prediction.clone(),
        });
        labels[shard].labels.push(Label {
            key,
            value: label.clone(),
        });
    }
    let mut total = JoinOutcome::empty(settings);
    for (predictions, labels) in predictions.iter().zip(&labels) {
        total.merge(&join(settings, [predictions], [labels])).unwrap();
    }
    total
}

fn metric(report: &QualityReport, name: &str) -> Option<f64> {
    match name {
        "mae" => report.mae,
        "mse" => report.mse,
        "rmse" => report.rmse,
        "r2" => report.r2,
        "accuracy" => report.accuracy,
        "precision" => report.precision,
        "recall" => report.recall,
        "f1" => report.f1,
        "auc" => report.auc,
        "weighted_f1" => report.weighted_f1,
        other => panic!("unknown metric {other}"),
    }
}

#[test]
fn every_metric_matches_scikit_learn() {
    let references = references();
    for case in references["cases"].as_array().unwrap() {
        let name = case["name"].as_str().unwrap();
        let problem = case["problem"].as_str().unwrap();
        let settings = settings(problem, case["threshold"].as_f64());
        let pairs: Vec<(Outcome, Outcome)> = match case.get("pairs") {
            Some(pairs) => pairs
                .as_array()
                .unwrap()
                .iter()
                .map(|pair| (outcome(&pair[0], problem), outcome(&pair[1], problem)))
                .collect(),
            None => large_pairs(case["generator"]["pairs"].as_u64().unwrap() as usize),
        };
        let outcome = joined(&settings, &pairs);
        assert_eq!(outcome.matched, pairs.len() as u64, "{name}");
        let report = outcome.quality.report();
        for (metric_name, expected) in case["expected"].as_object().unwrap() {
            if metric_name == "count" {
                assert_eq!(report.count, expected.as_u64().unwrap(), "{name}: count");
                continue;
            }
            let actual = metric(&report, metric_name);
            let tolerance = match metric_name.as_str() {
                "auc" => case.get("auc_tolerance").and_then(Value::as_f64),
                _ => None,
            }
            .unwrap_or(case["tolerance"].as_f64().unwrap());
            match (actual, expected.as_f64()) {
                (None, None) => {}
                (Some(actual), Some(expected)) => assert!(
                    (actual - expected).abs() <= tolerance * expected.abs().max(1.0),
                    "{name}: {metric_name} {actual} vs scikit-learn {expected}"
                ),
                (actual, expected) => panic!("{name}: {metric_name} {actual:?} vs scikit-learn {expected:?}"),
            }
        }
    }
}

#[test]
fn no_pairs_give_a_count_of_zero_and_no_metrics() {
    for problem in ["regression", "binary", "multiclass"] {
        let report = joined(&settings(problem, None), &[]).quality.report();
        assert_eq!(report, QualityReport::default(), "{problem}");
        let json = serde_json::to_value(&report).unwrap();
        assert_eq!(json, serde_json::json!({"count": 0}), "{problem}");
    }
}
