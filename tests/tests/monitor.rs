//! The monitor function end to end against moto: capture and ground-truth
//! objects in, partial profiles and batches in the ledger bucket, and at the
//! window's close `statistics.json` (which drift-trigger then decides on) and
//! `quality.json`. One test per row of the README's bad-input table.

// Test code: an unexpected result should fail the test loudly.
#![allow(clippy::panic, clippy::unwrap_used, clippy::expect_used)]

use anyhow::Result;
use integration_tests::{reference_pipeline_parameters, Moto, Scenario, BUCKET, LEDGER, PIPELINE, POLICY};
use serde_json::{json, Value};
use std::sync::Arc;
use trigger_aws::lambda::{MonitorParts, DEFAULT_QUALITY_NAMESPACE};
use trigger_aws::{S3Location, S3Objects};
use trigger_decision::{Outcome, Policy};
use trigger_engine::{FixedPolicy, Trigger, TriggerError};

const CAPTURES: &str = "captures";
const REPORTS: &str = "monitoring-reports";
const CAPTURE_PREFIX: &str = "datacapture/housing-price-prod/AllTraffic";
const LABEL_PREFIX: &str = "ground-truth/housing-price";

/// The shared housing-price policy with `[model.monitor]`, and one drifted feature enough to start.
fn policy() -> String {
    POLICY.replace("min_drifted = 2", "min_drifted = 1")
        + r#"
[model.monitor]
endpoint = "housing-price-prod"
captures = "s3://captures/datacapture/housing-price-prod/"
labels = "s3://captures/ground-truth/housing-price/"
problem = "regression"
features = ["sqft", "bedrooms", "bathrooms", "zipcode"]
categorical = ["zipcode"]
prediction = "0"
window = "1h"
label_delay = "6h"
"#
}

struct Monitoring {
    moto: Moto,
    parts: MonitorParts,
    trigger: Trigger,
}

async fn start(policy_text: &str) -> Result<Monitoring> {
    let parameters = reference_pipeline_parameters()?;
    let parameters: Vec<&str> = parameters.iter().map(String::as_str).collect();
    let Scenario { moto, trigger, .. } = Scenario::declaring(policy_text, &parameters).await?;
    for bucket in [CAPTURES, REPORTS] {
        moto.s3().await.create_bucket().bucket(bucket).send().await?;
    }
    let parts = MonitorParts {
        policy: Arc::new(FixedPolicy::new(Policy::from_toml(policy_text)?)),
        objects: S3Objects::new(moto.s3().await),
        ledger: S3Location::parse(LEDGER).unwrap(),
        namespace: DEFAULT_QUALITY_NAMESPACE.to_string(),
    };
    Ok(Monitoring { moto, parts, trigger })
}

/// A deterministic stream of numbers in [0, 1), so every run sees the same data.
struct Numbers(u64);

impl Numbers {
    fn next(&mut self) -> f64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// One house as captured: its id, features and the model's prediction.
#[derive(Debug, Clone)]
struct House {
    id: String,
    sqft: f64,
    bedrooms: f64,
    bathrooms: f64,
    zipcode: &'static str,
    prediction: f64,
}

/// `count` houses of hour `tag`; with `drift`, `sqft` grows by half.
fn houses(tag: &str, count: usize, seed: u64, drift: bool) -> Vec<House> {
    let mut numbers = Numbers(seed);
    (0..count)
        .map(|index| {
            let sqft = (1200.0 + 1600.0 * numbers.next()).round() * if drift { 1.5 } else { 1.0 };
            House {
                id: format!("{tag}-{index}"),
                sqft,
                bedrooms: (1.0 + 4.0 * numbers.next()).floor(),
                bathrooms: (1.0 + 2.0 * numbers.next()).floor(),
                zipcode: ["98103", "98115", "98122"][index % 3],
                prediction: (sqft * 240.0).round(),
            }
        })
        .collect()
}

fn capture_line(house: &House) -> String {
    json!({
        "captureData": {
            "endpointInput": {"observedContentType": "text/csv", "mode": "INPUT", "encoding": "CSV",
                "data": format!("{},{},{},{}", house.sqft, house.bedrooms, house.bathrooms, house.zipcode)},
            "endpointOutput": {"observedContentType": "text/csv; charset=utf-8", "mode": "OUTPUT", "encoding": "CSV",
                "data": format!("{}", house.prediction)},
        },
        "eventMetadata": {"eventId": format!("event-{}", house.id), "inferenceId": house.id, "inferenceTime": "2026-12-02T04:12:55Z"},
        "eventVersion": "0",
    })
    .to_string()
}

fn label_line(id: &str, label: f64) -> String {
    json!({"groundTruthData": {"data": label.to_string(), "encoding": "CSV"}, "eventMetadata": {"eventId": id}, "eventVersion": "0"})
        .to_string()
}

fn object_created(bucket: &str, key: &str) -> Value {
    json!({
        "version": "0", "detail-type": "Object Created", "source": "aws.s3",
        "time": trigger_aws::now().to_string(),
        "detail": {"bucket": {"name": bucket}, "object": {"key": key}},
    })
}

fn close(at: &str) -> Value {
    json!({"close": at})
}

impl Monitoring {
    async fn put(&self, bucket: &str, key: &str, body: String) {
        self.moto
            .s3()
            .await
            .put_object()
            .bucket(bucket)
            .key(key)
            .body(body.into_bytes().into())
            .send()
            .await
            .unwrap();
    }

    /// Uploads a capture object for `hour` (`yyyy/mm/dd/hh`) and announces it.
    async fn capture(&self, hour: &str, name: &str, lines: &[String]) -> Result<Value, TriggerError> {
        let key = format!("{CAPTURE_PREFIX}/{hour}/{name}.jsonl");
        self.put(CAPTURES, &key, lines.join("\n")).await;
        self.handle(&object_created(CAPTURES, &key)).await
    }

    /// Uploads a ground-truth object written in `hour` and announces it.
    async fn labels(&self, hour: &str, name: &str, lines: &[String]) -> Result<Value, TriggerError> {
        let key = format!("{LABEL_PREFIX}/{hour}/{name}.jsonl");
        self.put(CAPTURES, &key, lines.join("\n")).await;
        self.handle(&object_created(CAPTURES, &key)).await
    }

    async fn handle(&self, event: &Value) -> Result<Value, TriggerError> {
        monitor_function::handle(&self.parts, event).await
    }

    async fn close(&self, at: &str) -> Value {
        let answer = self.handle(&close(at)).await.unwrap();
        answer["closes"][0].clone()
    }

    async fn object(&self, bucket: &str, key: &str) -> Option<Vec<u8>> {
        let object = self
            .moto
            .s3()
            .await
            .get_object()
            .bucket(bucket)
            .key(key)
            .send()
            .await
            .ok()?;
        Some(object.body.collect().await.unwrap().into_bytes().to_vec())
    }

    async fn json(&self, bucket: &str, key: &str) -> Value {
        let bytes = self
            .object(bucket, key)
            .await
            .unwrap_or_else(|| panic!("s3://{bucket}/{key} is missing"));
        serde_json::from_slice(&bytes).unwrap()
    }

    /// Every key in the ledger bucket under `prefix`, with its ETag.
    async fn ledger_keys(&self, prefix: &str) -> Vec<(String, String)> {
        let listed = self
            .moto
            .s3()
            .await
            .list_objects_v2()
            .bucket(BUCKET)
            .prefix(prefix)
            .send()
            .await
            .unwrap();
        listed
            .contents()
            .iter()
            .map(|object| {
                (
                    object.key().unwrap().to_string(),
                    object.e_tag().unwrap_or_default().to_string(),
                )
            })
            .collect()
    }
}

fn report_key(hour: &str, file: &str) -> String {
    format!("housing-price/{hour}/{file}")
}

fn feature<'a>(statistics: &'a Value, name: &str) -> &'a Value {
    statistics["features"]
        .as_array()
        .unwrap()
        .iter()
        .find(|feature| feature["name"] == name)
        .unwrap_or_else(|| panic!("no feature {name} in {statistics}"))
}

#[tokio::test]
async fn a_capture_object_is_profiled_once_however_often_it_is_announced() -> Result<()> {
    let monitoring = start(&policy()).await?;
    let lines: Vec<String> = houses("a", 40, 1, false).iter().map(capture_line).collect();
    let first = monitoring.capture("2026/12/02/04", "capture-a", &lines).await?;
    assert_eq!(first["objects"][0]["read"], json!(true), "{first}");
    assert_eq!(first["objects"][0]["records"], json!(40));
    let written = monitoring
        .ledger_keys("ledger/monitor/housing-price/windows/2026/12/02/04/")
        .await;
    assert!(written.iter().any(|(key, _)| key.ends_with(".profile")), "{written:?}");
    let batches = written.iter().filter(|(key, _)| key.contains("/predictions/")).count();
    assert!(batches >= 2, "40 predictions spread over the shards: {written:?}");

    let again = monitoring.capture("2026/12/02/04", "capture-a", &lines).await?;
    assert_eq!(again["objects"][0]["read"], json!(false), "{again}");
    let after = monitoring.ledger_keys("ledger/monitor/").await;
    assert_eq!(after, written, "a redelivery writes nothing");
    Ok(())
}

#[tokio::test]
async fn bad_lines_are_counted_and_the_rest_of_the_object_is_profiled() -> Result<()> {
    let monitoring = start(&policy()).await?;
    let good = houses("b", 3, 2, false);
    let mut wrong_columns = capture_line(&good[0]);
    wrong_columns = wrong_columns.replace(&format!(",{}\"", good[0].zipcode), "\"");
    let unparsable = capture_line(&good[1]).replace(&format!("\"{},", good[1].sqft), "\"large,");
    let lines = vec![
        capture_line(&good[0]),
        "this is not JSON".to_string(),
        wrong_columns,
        capture_line(&good[1]),
        unparsable,
        capture_line(&good[2]),
    ];
    let answer = monitoring.capture("2026/12/02/04", "capture-b", &lines).await?;
    assert_eq!(answer["objects"][0]["malformed"], json!(3), "{answer}");
    assert_eq!(answer["objects"][0]["records"], json!(3), "{answer}");
    let closed = monitoring.close("2026-12-02T11:00:00Z").await;
    assert_eq!(closed["outcome"], json!("closed"), "{closed}");
    let statistics = monitoring
        .json(REPORTS, &report_key("2026/12/02/04", "statistics.json"))
        .await;
    assert_eq!(statistics["dataset"]["item_count"], json!(3));
    Ok(())
}

#[tokio::test]
async fn non_finite_numbers_are_counted_as_missing() -> Result<()> {
    let monitoring = start(&policy()).await?;
    let houses = houses("c", 4, 3, false);
    let mut lines: Vec<String> = houses.iter().map(capture_line).collect();
    lines[1] = lines[1].replace(&format!(",{},", houses[1].bedrooms), ",NaN,");
    lines[2] = lines[2].replace(&format!(",{},", houses[2].bedrooms), ",inf,");
    monitoring.capture("2026/12/02/04", "capture-c", &lines).await?;
    monitoring.close("2026-12-02T11:00:00Z").await;
    let statistics = monitoring
        .json(REPORTS, &report_key("2026/12/02/04", "statistics.json"))
        .await;
    let common = &feature(&statistics, "bedrooms")["numerical_statistics"]["common"];
    assert_eq!(
        (common["num_present"].clone(), common["num_missing"].clone()),
        (json!(2), json!(2))
    );
    Ok(())
}

#[tokio::test]
async fn an_object_that_cannot_exist_is_an_invalid_event() -> Result<()> {
    let monitoring = start(&policy()).await?;
    let check = |result: Result<Value, TriggerError>, fragment: &str| {
        let error = result.expect_err(fragment);
        assert_eq!(error.error_type(), "InvalidEvent", "{error}");
        assert!(error.to_string().contains(fragment), "{error} lacks {fragment:?}");
    };
    let no_hour = format!("{CAPTURE_PREFIX}/capture.jsonl");
    monitoring.put(CAPTURES, &no_hour, "{}".to_string()).await;
    check(
        monitoring.handle(&object_created(CAPTURES, &no_hour)).await,
        "<yyyy>/<mm>/<dd>/<hh>/<name>",
    );
    check(
        monitoring
            .handle(&object_created(CAPTURES, "elsewhere/2026/12/02/04/x.jsonl"))
            .await,
        "under no model's [model.monitor]",
    );
    let deleted = format!("{CAPTURE_PREFIX}/2026/12/02/04/deleted.jsonl");
    check(
        monitoring.handle(&object_created(CAPTURES, &deleted)).await,
        "does not exist",
    );
    check(
        monitoring.handle(&json!({"close": "soon"})).await,
        "`close` is not a timestamp",
    );
    Ok(())
}

#[tokio::test]
async fn s3_failures_are_transient_and_a_missing_bucket_is_misconfigured() -> Result<()> {
    let missing_bucket = policy().replace("s3://captures/datacapture/", "s3://no-such-captures/datacapture/");
    let monitoring = start(&missing_bucket).await?;
    let key = format!("{CAPTURE_PREFIX}/2026/12/02/04/capture.jsonl");
    let error = monitoring
        .handle(&object_created("no-such-captures", &key))
        .await
        .expect_err("the bucket does not exist");
    assert_eq!(error.error_type(), "Misconfigured", "{error}");

    let mut monitoring = start(&policy()).await?;
    monitoring
        .put(CAPTURES, &key, capture_line(&houses("d", 1, 4, false)[0]))
        .await;
    monitoring.moto.stop();
    let error = monitoring
        .handle(&object_created(CAPTURES, &key))
        .await
        .expect_err("S3 is down");
    assert_eq!(error.error_type(), "Transient", "{error}");
    let error = monitoring
        .handle(&close("2026-12-02T11:00:00Z"))
        .await
        .expect_err("S3 is down");
    assert_eq!(error.error_type(), "Transient", "{error}");
    Ok(())
}

#[tokio::test]
async fn a_large_object_is_read_in_chunks_and_batches() -> Result<()> {
    let monitoring = start(&policy()).await?;
    // About 18 MB: many chunks of the response body, and full batches handed out while reading.
    let lines: Vec<String> = houses("e", 70_000, 5, false).iter().map(capture_line).collect();
    let answer = monitoring.capture("2026/12/02/04", "capture-e", &lines).await?;
    assert_eq!(answer["objects"][0]["records"], json!(70_000), "{answer}");
    let written = monitoring
        .ledger_keys("ledger/monitor/housing-price/windows/2026/12/02/04/predictions/")
        .await;
    assert!(written.len() > 16, "more batches than shards: {}", written.len());
    Ok(())
}

#[tokio::test]
async fn a_window_without_captures_writes_no_statistics_and_count_zero() -> Result<()> {
    let monitoring = start(&policy()).await?;
    let closed = monitoring.close("2026-12-02T13:00:00Z").await;
    assert_eq!(closed["outcome"], json!("closed"), "{closed}");
    assert_eq!(closed["statistics"], Value::Null);
    assert!(monitoring
        .object(REPORTS, &report_key("2026/12/02/06", "statistics.json"))
        .await
        .is_none());
    let quality = monitoring
        .json(REPORTS, &report_key("2026/12/02/06", "quality.json"))
        .await;
    assert_eq!(quality["count"], json!(0));
    assert_eq!(quality["metrics"], json!({}), "no pairs is not a perfect model");
    Ok(())
}

#[tokio::test]
async fn the_close_reports_the_metrics_of_joined_pairs_once() -> Result<()> {
    let monitoring = start(&policy()).await?;
    let captured = houses("f", 30, 6, false);
    let lines: Vec<String> = captured.iter().map(capture_line).collect();
    monitoring.capture("2026/12/02/04", "capture-f", &lines).await?;
    // Labels for the first 20, written an hour later; the other 10 never get one.
    let labelled = &captured[..20];
    let labels: Vec<f64> = labelled
        .iter()
        .enumerate()
        .map(|(index, house)| house.prediction + 1000.0 * (index as f64 - 7.0))
        .collect();
    let label_lines: Vec<String> = labelled
        .iter()
        .zip(&labels)
        .map(|(house, label)| label_line(&house.id, *label))
        .collect();
    monitoring.labels("2026/12/02/05", "labels-f", &label_lines).await?;

    let closed = monitoring.close("2026-12-02T11:00:00Z").await;
    assert_eq!(closed["outcome"], json!("closed"), "{closed}");
    let quality = monitoring
        .json(REPORTS, &report_key("2026/12/02/04", "quality.json"))
        .await;
    let errors: Vec<f64> = labelled
        .iter()
        .zip(&labels)
        .map(|(house, label)| house.prediction - label)
        .collect();
    let mae = errors.iter().map(|error| error.abs()).sum::<f64>() / 20.0;
    let mse = errors.iter().map(|error| error * error).sum::<f64>() / 20.0;
    assert_eq!(quality["count"], json!(20));
    assert_eq!(quality["predictions"], json!(30));
    assert_eq!(quality["unmatched_predictions"], json!(10));
    assert!(
        (quality["metrics"]["mae"].as_f64().unwrap() - mae).abs() < 1e-6,
        "{quality}"
    );
    assert!(
        (quality["metrics"]["mse"].as_f64().unwrap() - mse).abs() < 1e-3,
        "{quality}"
    );
    assert!(
        (quality["metrics"]["rmse"].as_f64().unwrap() - mse.sqrt()).abs() < 1e-6,
        "{quality}"
    );

    let again = monitoring.close("2026-12-02T11:00:00Z").await;
    assert_eq!(
        again["outcome"],
        json!("already-closed"),
        "a second close emits nothing: {again}"
    );
    let unchanged = monitoring
        .json(REPORTS, &report_key("2026/12/02/04", "quality.json"))
        .await;
    assert_eq!(unchanged, quality);
    Ok(())
}

#[tokio::test]
async fn a_capture_object_after_its_window_closed_is_counted_as_late_and_the_window_not_reopened() -> Result<()> {
    let monitoring = start(&policy()).await?;
    let on_time: Vec<String> = houses("l", 5, 11, false).iter().map(capture_line).collect();
    let first = monitoring.capture("2026/12/02/04", "capture-l", &on_time).await?;
    assert_eq!(first["objects"][0]["late"], json!(false), "{first}");
    let closed = monitoring.close("2026-12-02T11:00:00Z").await;
    assert_eq!(closed["outcome"], json!("closed"), "{closed}");
    let statistics = monitoring
        .json(REPORTS, &report_key("2026/12/02/04", "statistics.json"))
        .await;

    let late: Vec<String> = houses("m", 7, 12, false).iter().map(capture_line).collect();
    let answer = monitoring.capture("2026/12/02/04", "capture-m", &late).await?;
    assert_eq!(
        (
            answer["objects"][0]["late"].clone(),
            answer["objects"][0]["records"].clone()
        ),
        (json!(true), json!(7)),
        "{answer}"
    );
    // A redelivery reads nothing and says nothing more.
    let again = monitoring.capture("2026/12/02/04", "capture-m", &late).await?;
    assert_eq!(again["objects"][0]["read"], json!(false), "{again}");
    assert!(again["objects"][0].get("late").is_none(), "{again}");
    let reclosed = monitoring.close("2026-12-02T11:00:00Z").await;
    assert_eq!(reclosed["outcome"], json!("already-closed"));
    let unchanged = monitoring
        .json(REPORTS, &report_key("2026/12/02/04", "statistics.json"))
        .await;
    assert_eq!(
        unchanged, statistics,
        "the closed window's statistics stay as they were"
    );
    Ok(())
}

#[tokio::test]
async fn late_and_unmatched_labels_are_counted_and_the_window_is_not_reopened() -> Result<()> {
    let monitoring = start(&policy()).await?;
    // Window 21:00 the day before closes at 04:00; its labels arriving in slot 04:00 are late.
    let early = houses("g", 2, 7, false);
    let early_lines: Vec<String> = early.iter().map(capture_line).collect();
    monitoring.capture("2026/12/01/21", "capture-g", &early_lines).await?;
    let early_close = monitoring.close("2026-12-02T04:00:00Z").await;
    assert_eq!(
        (early_close["outcome"].clone(), early_close["count"].clone()),
        (json!("closed"), json!(0))
    );
    let current = houses("h", 2, 8, false);
    let current_lines: Vec<String> = current.iter().map(capture_line).collect();
    monitoring.capture("2026/12/02/04", "capture-h", &current_lines).await?;
    let labels = vec![
        label_line(&current[0].id, current[0].prediction),
        label_line(&current[1].id, current[1].prediction),
        label_line(&early[0].id, early[0].prediction),
        label_line("nobody-asked", 1.0),
    ];
    monitoring.labels("2026/12/02/04", "labels-h", &labels).await?;
    let closed = monitoring.close("2026-12-02T11:00:00Z").await;
    assert_eq!(closed["count"], json!(2), "{closed}");
    let quality = monitoring
        .json(REPORTS, &report_key("2026/12/02/04", "quality.json"))
        .await;
    assert_eq!(
        (quality["late_labels"].clone(), quality["unmatched_labels"].clone()),
        (json!(1), json!(1)),
        "{quality}"
    );
    let reclosed = monitoring.close("2026-12-02T04:00:00Z").await;
    assert_eq!(
        reclosed["outcome"],
        json!("already-closed"),
        "the late window is not reopened"
    );
    let early_quality = monitoring
        .json(REPORTS, &report_key("2026/12/01/21", "quality.json"))
        .await;
    assert_eq!(early_quality["count"], json!(0));
    Ok(())
}

#[tokio::test]
async fn drift_trigger_decides_on_the_statistics_the_close_writes() -> Result<()> {
    let monitoring = start(&policy()).await?;
    let normal: Vec<String> = houses("n", 400, 9, false).iter().map(capture_line).collect();
    monitoring.capture("2026/12/02/02", "capture-n", &normal).await?;
    let drifted: Vec<String> = houses("d", 400, 10, true).iter().map(capture_line).collect();
    monitoring.capture("2026/12/02/04", "capture-d", &drifted).await?;
    monitoring.close("2026-12-02T09:00:00Z").await;
    // The normal window's statistics serve as the baseline the policy names.
    let baseline = monitoring
        .object(REPORTS, &report_key("2026/12/02/02", "statistics.json"))
        .await
        .unwrap();
    monitoring
        .put(
            REPORTS,
            "housing-price/baseline/statistics.json",
            String::from_utf8(baseline)?,
        )
        .await;
    let closed = monitoring.close("2026-12-02T11:00:00Z").await;
    let statistics_key = report_key("2026/12/02/04", "statistics.json");
    assert_eq!(
        closed["statistics"],
        json!(format!("s3://{REPORTS}/{statistics_key}")),
        "{closed}"
    );

    let response = drift_trigger::handle(&monitoring.trigger, &object_created(REPORTS, &statistics_key)).await?;
    let decision = &response.decisions[0];
    assert_eq!(decision.outcome, Outcome::Started, "{decision:?}");
    assert_eq!(monitoring.moto.executions(PIPELINE).await?.len(), 1);
    Ok(())
}

#[tokio::test]
async fn a_model_without_drift_reports_gets_quality_only_in_the_ledger() -> Result<()> {
    let without_reports = policy().replace("reports = \"s3://monitoring-reports/housing-price/\"\n", "");
    assert_ne!(without_reports, policy());
    let monitoring = start(&without_reports).await?;
    let captured = houses("q", 5, 11, false);
    let lines: Vec<String> = captured.iter().map(capture_line).collect();
    monitoring.capture("2026/12/02/04", "capture-q", &lines).await?;
    let labels = vec![label_line(&captured[0].id, captured[0].prediction + 500.0)];
    monitoring.labels("2026/12/02/05", "labels-q", &labels).await?;
    let closed = monitoring.close("2026-12-02T11:00:00Z").await;
    assert_eq!(closed["statistics"], Value::Null, "{closed}");
    assert!(monitoring
        .object(REPORTS, &report_key("2026/12/02/04", "statistics.json"))
        .await
        .is_none());
    let quality_key = "ledger/monitor/housing-price/windows/2026/12/02/04/quality.json";
    assert_eq!(closed["quality"], json!(format!("s3://{BUCKET}/{quality_key}")));
    let quality = monitoring.json(BUCKET, quality_key).await;
    assert_eq!(
        (quality["count"].clone(), quality["predictions"].clone()),
        (json!(1), json!(5))
    );
    assert_eq!(quality["metrics"]["mae"], json!(500.0));
    Ok(())
}
