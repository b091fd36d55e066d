//! Model Monitor's report files, parsed into the decision crate's statistics.
//!
//! `statistics.json` describes each feature by a KLL sketch's buckets
//! (numerical) or category counts (string). `constraints.json` carries the
//! distribution-check settings Model Monitor itself would use. Only the parts
//! the distances need are read; a feature with neither distribution is left
//! out, since there is nothing to compare.

use crate::error::EventError;
use crate::field::{describe, Object};
use serde_json::Value;
use trigger_decision::drift::distance::{Bucket, Categorical, Numeric};
use trigger_decision::drift::{FeatureDistribution, FeatureStatistics, MonitorConstraints, Statistics};

/// Parses a `statistics.json`; `source` (its S3 URI) prefixes field paths in errors.
pub fn statistics(document: &Value, source: &str) -> Result<Statistics, EventError> {
    let root = Object::new(document, source).ok_or_else(|| EventError::WrongType {
        field: source.to_string(),
        expected: "a Model Monitor statistics.json object",
        found: describe(document),
    })?;
    let features = root.array("features").ok_or_else(|| EventError::Missing {
        field: root.field_path("features"),
        absence: "missing",
        needed: "a statistics.json lists its features",
    })?;
    let mut parsed = Vec::with_capacity(features.len());
    for (index, feature) in features.iter().enumerate() {
        let path = format!("{source}.features[{index}]");
        let Some(feature) = Object::new(feature, path) else {
            continue;
        };
        let Some(name) = feature.str("name") else { continue };
        if let Some(distribution) = numeric(&feature).or_else(|| categorical(&feature)) {
            parsed.push(FeatureStatistics {
                name: name.to_string(),
                distribution,
            });
        }
    }
    Ok(Statistics { features: parsed })
}

fn numeric(feature: &Object<'_>) -> Option<FeatureDistribution> {
    let statistics = feature.object("numerical_statistics")?;
    let buckets: Vec<Bucket> = statistics
        .object("distribution")?
        .object("kll")?
        .array("buckets")?
        .iter()
        .filter_map(|bucket| {
            let bucket = Object::new(bucket, "")?;
            Some(Bucket {
                lower: bucket.number("lower_bound")?,
                upper: bucket.number("upper_bound")?,
                count: bucket.number("count")?,
            })
        })
        .collect();
    let counted: f64 = buckets.iter().map(|bucket| bucket.count).sum();
    let count = statistics
        .object("common")
        .and_then(|common| common.number("num_present"))
        .unwrap_or(counted);
    Some(FeatureDistribution::Numeric(Numeric {
        buckets,
        count,
        std_dev: statistics.number("std_dev"),
    }))
}

fn categorical(feature: &Object<'_>) -> Option<FeatureDistribution> {
    let counts = feature
        .object("string_statistics")?
        .object("distribution")?
        .object("categorical")?
        .array("buckets")?
        .iter()
        .filter_map(|bucket| {
            let bucket = Object::new(bucket, "")?;
            let value = match bucket.get("value")? {
                Value::String(text) => text.clone(),
                other => other.to_string(),
            };
            Some((value, bucket.number("count")?))
        })
        .collect();
    Some(FeatureDistribution::Categorical(Categorical { counts }))
}

/// Parses the distribution-check settings of a `constraints.json`. Absent settings stay `None`.
pub fn constraints(document: &Value) -> MonitorConstraints {
    let Some(settings) = document.pointer("/monitoring_config/distribution_constraints") else {
        return MonitorConstraints::default();
    };
    let text = |key: &str| settings.get(key).and_then(Value::as_str).map(str::to_ascii_lowercase);
    MonitorConstraints {
        threshold: settings.get("comparison_threshold").and_then(crate::field::number),
        robust: text("comparison_method").map(|method| method == "robust"),
        categorical_chi_square: text("categorical_drift_method").map(|method| method == "chisquared"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(name: &str) -> Value {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../tests/fixtures/statistics")
            .join(name);
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap()
    }

    #[test]
    fn statistics_give_buckets_for_numbers_and_counts_for_strings() {
        let parsed = statistics(&fixture("baseline-statistics.json"), "s3://b/baseline/statistics.json").unwrap();
        let names: Vec<&str> = parsed.features.iter().map(|feature| feature.name.as_str()).collect();
        assert_eq!(names, ["sqft", "bedrooms", "year_built", "zipcode", "condition"]);
        let Some(FeatureDistribution::Numeric(sqft)) = parsed.feature("sqft") else {
            panic!("sqft is numeric")
        };
        assert_eq!(sqft.buckets.len(), 10);
        assert_eq!((sqft.buckets[0].lower, sqft.buckets[0].upper), (500.0, 950.0));
        assert_eq!(sqft.count, sqft.buckets.iter().map(|bucket| bucket.count).sum::<f64>());
        assert_eq!(sqft.std_dev, Some(500.0));
        let Some(FeatureDistribution::Categorical(zipcode)) = parsed.feature("zipcode") else {
            panic!("zipcode")
        };
        assert_eq!(zipcode.counts[0], ("98101".to_string(), 3000.0));
    }

    #[test]
    fn constraints_carry_model_monitor_settings() {
        let parsed = constraints(&fixture("constraints.json"));
        assert_eq!(
            parsed,
            MonitorConstraints {
                threshold: Some(0.1),
                robust: Some(true),
                categorical_chi_square: Some(false)
            }
        );
        assert_eq!(constraints(&serde_json::json!({})), MonitorConstraints::default());
    }

    #[test]
    fn unusable_statistics_name_the_field() {
        let error = statistics(&serde_json::json!({"dataset": {}}), "s3://b/k")
            .unwrap_err()
            .to_string();
        assert!(error.contains("s3://b/k.features"), "{error}");
        let error = statistics(&serde_json::json!("text"), "s3://b/k")
            .unwrap_err()
            .to_string();
        assert!(error.contains("statistics.json object"), "{error}");
        // Features without a distribution, or malformed ones, are left out rather than failing the report.
        let parsed = statistics(
            &serde_json::json!({"features": [{"name": "x"}, 7, {"numerical_statistics": {}}]}),
            "s",
        )
        .unwrap();
        assert!(parsed.features.is_empty());
    }
}
