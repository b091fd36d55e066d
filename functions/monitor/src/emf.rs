//! The monitor function's metric lines, in CloudWatch's Embedded Metric
//! Format: written to stdout, which Lambda sends to CloudWatch Logs, where
//! the `_aws` block becomes metrics without an API call.

use capture_monitor::QualityReport;
use serde_json::{json, Map, Value};
use trigger_decision::Timestamp;

/// The window's model-quality record: every metric the problem has (none
/// when `count` is 0: no pairs is not a perfect model) and `count` by
/// `Model` and `Endpoint`; `UnmatchedLabels` and `LateLabels` by `Model`.
#[derive(Debug)]
pub(crate) struct QualityLine<'a> {
    pub namespace: &'a str,
    pub model: &'a str,
    pub endpoint: &'a str,
    /// When the window closed: CloudWatch alarms evaluate recent periods, so the
    /// datapoint carries the close's time, not the window's (hours earlier).
    pub at: Timestamp,
    pub report: &'a QualityReport,
    pub unmatched_labels: u64,
    pub late_labels: u64,
    /// Written alongside as plain fields: the window and what was counted.
    pub context: Value,
}

impl QualityLine<'_> {
    pub(crate) fn render(&self) -> String {
        let mut fields = Map::new();
        let mut quality_metrics = vec![json!({"Name": "count", "Unit": "Count"})];
        fields.insert("count".to_string(), json!(self.report.count));
        for (name, value) in metric_values(self.report) {
            quality_metrics.push(json!({"Name": name, "Unit": "None"}));
            fields.insert(name.to_string(), json!(value));
        }
        let mut line = json!({
            "_aws": {
                "Timestamp": self.at.millis(),
                "CloudWatchMetrics": [
                    {"Namespace": self.namespace, "Dimensions": [["Model", "Endpoint"]], "Metrics": quality_metrics},
                    {"Namespace": self.namespace, "Dimensions": [["Model"]], "Metrics": [
                        {"Name": "UnmatchedLabels", "Unit": "Count"},
                        {"Name": "LateLabels", "Unit": "Count"},
                    ]},
                ],
            },
            "Model": self.model,
            "Endpoint": self.endpoint,
            "UnmatchedLabels": self.unmatched_labels,
            "LateLabels": self.late_labels,
            "message": "model quality of a closed window",
        });
        if let Some(object) = line.as_object_mut() {
            object.extend(fields);
            if let Value::Object(context) = &self.context {
                object.extend(context.clone());
            }
        }
        line.to_string()
    }
}

/// The metrics a report holds, by their CloudWatch names.
pub(crate) fn metric_values(report: &QualityReport) -> Vec<(&'static str, f64)> {
    [
        ("mae", report.mae),
        ("mse", report.mse),
        ("rmse", report.rmse),
        ("r2", report.r2),
        ("accuracy", report.accuracy),
        ("precision", report.precision),
        ("recall", report.recall),
        ("f1", report.f1),
        ("auc", report.auc),
        ("weighted_f1", report.weighted_f1),
    ]
    .into_iter()
    .filter_map(|(name, value)| value.filter(|value| value.is_finite()).map(|value| (name, value)))
    .collect()
}

/// `MalformedRecords` by `Model`: lines of one object that could not be read.
pub(crate) fn malformed_line(namespace: &str, model: &str, object: &str, count: u64, at: Timestamp) -> String {
    let message = "lines of a capture or ground-truth object could not be read";
    object_count_line(namespace, model, ("MalformedRecords", count), object, at, message)
}

/// `LateCaptureRecords` by `Model`: records of a capture object that arrived
/// after its window closed, so no window's statistics or metrics hold them.
pub(crate) fn late_capture_line(namespace: &str, model: &str, object: &str, count: u64, at: Timestamp) -> String {
    let message = "a capture object arrived after its window closed; its records are in no window's statistics";
    object_count_line(namespace, model, ("LateCaptureRecords", count), object, at, message)
}

/// One count about one object, by `Model`.
fn object_count_line(
    namespace: &str,
    model: &str,
    (metric, count): (&str, u64),
    object: &str,
    at: Timestamp,
    message: &str,
) -> String {
    let mut line = json!({
        "_aws": {
            "Timestamp": at.millis(),
            "CloudWatchMetrics": [{
                "Namespace": namespace,
                "Dimensions": [["Model"]],
                "Metrics": [{"Name": metric, "Unit": "Count"}],
            }],
        },
        "Model": model,
        "object": object,
        "message": message,
    });
    line[metric] = json!(count);
    line.to_string()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn line(report: &QualityReport) -> Value {
        let text = QualityLine {
            namespace: "RetrainTriggers/ModelQuality",
            model: "housing-price",
            endpoint: "housing-price-prod",
            at: Timestamp(1_796_205_600_000),
            report,
            unmatched_labels: 2,
            late_labels: 1,
            context: json!({"window_start": "2026-12-02T04:00:00.000Z"}),
        }
        .render();
        serde_json::from_str(&text).unwrap()
    }

    #[test]
    fn every_metric_named_in_the_directive_is_a_field_of_the_record() {
        let report = QualityReport {
            count: 3,
            mae: Some(15_250.0),
            mse: Some(2.5e8),
            rmse: Some(15_811.4),
            r2: Some(0.71),
            ..QualityReport::default()
        };
        let record = line(&report);
        for directive in record["_aws"]["CloudWatchMetrics"].as_array().unwrap() {
            for dimension in directive["Dimensions"][0].as_array().unwrap() {
                assert!(record[dimension.as_str().unwrap()].is_string(), "{dimension}");
            }
            for metric in directive["Metrics"].as_array().unwrap() {
                let name = metric["Name"].as_str().unwrap();
                assert!(record[name].is_number(), "{name} is not a field: {record}");
            }
        }
        assert_eq!(record["mae"], json!(15_250.0));
        assert_eq!(record["_aws"]["Timestamp"], json!(1_796_205_600_000_i64));
        assert_eq!(record["window_start"], json!("2026-12-02T04:00:00.000Z"));
    }

    #[test]
    fn an_object_count_names_its_metric_as_a_field_by_model() {
        let at = Timestamp(1_796_205_600_000);
        let object = "s3://captures/datacapture/x.jsonl";
        for (text, metric, count) in [
            (
                malformed_line("NS", "housing-price", object, 3, at),
                "MalformedRecords",
                3,
            ),
            (
                late_capture_line("NS", "housing-price", object, 40, at),
                "LateCaptureRecords",
                40,
            ),
        ] {
            let record: Value = serde_json::from_str(&text).unwrap();
            let directive = &record["_aws"]["CloudWatchMetrics"][0];
            assert_eq!(directive["Metrics"][0]["Name"], json!(metric));
            assert_eq!(directive["Dimensions"], json!([["Model"]]));
            assert_eq!(
                (record[metric].clone(), record["Model"].clone()),
                (json!(count), json!("housing-price"))
            );
            assert_eq!(record["object"], json!(object));
        }
    }

    #[test]
    fn a_window_without_pairs_emits_count_zero_and_no_metric() {
        let record = line(&QualityReport::default());
        let names: Vec<&str> = record["_aws"]["CloudWatchMetrics"][0]["Metrics"]
            .as_array()
            .unwrap()
            .iter()
            .map(|metric| metric["Name"].as_str().unwrap())
            .collect();
        assert_eq!(names, ["count"]);
        assert_eq!(record["count"], json!(0));
        assert!(record.get("mae").is_none());
    }
}
