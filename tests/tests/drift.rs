//! The drift trigger end to end: statistics in moto's S3, the report
//! announced by each of its three inputs, the start checked through
//! SageMaker's own parameter listing.

// Helpers here are test code too: an unexpected result should fail the test loudly.
#![allow(clippy::panic, clippy::unwrap_used, clippy::expect_used)]

use anyhow::Result;
use integration_tests::{reference_pipeline_parameters, single, Moto, Scenario, PIPELINE, POLICY};
use serde_json::{json, Value};
use std::path::PathBuf;
use trigger_decision::Outcome;
use trigger_engine::{DecisionRecord, Response, Trigger, TriggerError};

const REPORTS: &str = "monitoring-reports";

fn statistics_fixture(name: &str) -> Vec<u8> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/statistics")
        .join(name);
    std::fs::read(&path).unwrap_or_else(|error| panic!("{}: {error}", path.display()))
}

fn event_fixture(name: &str) -> Value {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/events/drift")
        .join(name);
    serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap()
}

/// The scenario, its pipeline declaring what the reference pipeline declares.
struct Drift {
    moto: Moto,
    trigger: Trigger,
}

/// The scenario with the reports bucket and the baseline in place, its
/// pipeline declaring what infra/pipeline declares: every drift parameter must reach it.
async fn with_reports() -> Result<Drift> {
    let parameters = reference_pipeline_parameters()?;
    let parameters: Vec<&str> = parameters.iter().map(String::as_str).collect();
    let Scenario { moto, trigger, .. } = Scenario::declaring(POLICY, &parameters).await?;
    moto.s3().await.create_bucket().bucket(REPORTS).send().await?;
    put(
        &moto,
        "housing-price/baseline/statistics.json",
        statistics_fixture("baseline-statistics.json"),
    )
    .await?;
    put(
        &moto,
        "housing-price/baseline/constraints.json",
        statistics_fixture("constraints.json"),
    )
    .await?;
    Ok(Drift { moto, trigger })
}

async fn put(moto: &Moto, key: &str, body: Vec<u8>) -> Result<()> {
    moto.s3()
        .await
        .put_object()
        .bucket(REPORTS)
        .key(key)
        .body(body.into())
        .send()
        .await?;
    Ok(())
}

impl Drift {
    /// Uploads a current statistics fixture as report `case` and asks for a decision on it.
    async fn report(&self, case: &str, fixture: &str) -> Result<Response, TriggerError> {
        let key = format!("housing-price/reports/{case}/statistics.json");
        put(&self.moto, &key, statistics_fixture(fixture))
            .await
            .map_err(|e| TriggerError::Config(e.to_string()))?;
        let request = json!({"model": "housing-price", "current": format!("s3://{REPORTS}/{key}"), "report_id": case});
        self.handle(&request).await
    }

    async fn handle(&self, event: &Value) -> Result<Response, TriggerError> {
        drift_trigger::handle(&self.trigger, event).await
    }

    async fn parameters(&self, decision: &DecisionRecord) -> Vec<(String, String)> {
        self.moto
            .parameters(
                decision
                    .execution_arn
                    .as_deref()
                    .expect("a started decision names its execution"),
            )
            .await
            .unwrap()
    }
}

fn parameter<'a>(parameters: &'a [(String, String)], name: &str) -> Option<&'a str> {
    parameters.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mild_drift_fine_tunes_with_rehearsal() -> Result<()> {
    let drift = with_reports().await?;
    let decision = single(drift.report("mild", "current-mild.json").await);
    assert_eq!(
        (decision.outcome, decision.reason.as_str()),
        (Outcome::Started, "drift-mild"),
        "{}",
        decision.detail
    );
    let parameters = drift.parameters(&decision).await;
    assert_eq!(parameter(&parameters, "TriggerType"), Some("drift"));
    assert_eq!(parameter(&parameters, "TrainingMode"), Some("incremental"));
    assert_eq!(parameter(&parameters, "RehearsalFraction"), Some("0.2"));
    assert_eq!(parameter(&parameters, "DriftedFeatures"), Some("bedrooms,sqft"));
    let score: f64 = parameter(&parameters, "DriftScore").unwrap().parse()?;
    assert!(score > 0.1 && score < 0.3, "{score}");
    let reason = parameter(&parameters, "TriggerReason").unwrap();
    assert!(
        reason.contains("bedrooms linf") && reason.contains("sqft linf"),
        "{reason}"
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn severe_drift_retrains_in_full() -> Result<()> {
    let drift = with_reports().await?;
    let decision = single(drift.report("severe", "current-severe.json").await);
    assert_eq!(
        (decision.outcome, decision.reason.as_str()),
        (Outcome::Started, "drift-severe"),
        "{}",
        decision.detail
    );
    let parameters = drift.parameters(&decision).await;
    assert_eq!(parameter(&parameters, "TrainingMode"), Some("full"));
    assert_eq!(parameter(&parameters, "RehearsalFraction"), None);
    let score: f64 = parameter(&parameters, "DriftScore").unwrap().parse()?;
    assert!(score >= 0.3, "{score}");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn drift_in_a_critical_feature_retrains_in_full() -> Result<()> {
    let drift = with_reports().await?;
    let decision = single(drift.report("critical", "current-critical.json").await);
    assert_eq!(
        (decision.outcome, decision.reason.as_str()),
        (Outcome::Started, "drift-critical"),
        "{}",
        decision.detail
    );
    let parameters = drift.parameters(&decision).await;
    assert_eq!(parameter(&parameters, "TrainingMode"), Some("full"));
    assert!(parameter(&parameters, "TriggerReason").unwrap().contains("zipcode"));
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_drift_and_too_little_drift_skip_but_keep_evidence() -> Result<()> {
    let drift = with_reports().await?;
    let none = single(drift.report("none", "current-no-drift.json").await);
    assert_eq!(
        (none.outcome, none.reason.as_str()),
        (Outcome::Skipped, "no-drift"),
        "{}",
        none.detail
    );
    let one = single(drift.report("one", "current-one-feature.json").await);
    assert_eq!(
        (one.outcome, one.reason.as_str()),
        (Outcome::Skipped, "below-threshold"),
        "{}",
        one.detail
    );
    assert!(drift.moto.executions(PIPELINE).await?.is_empty());
    let ledger = drift.moto.ledger_object("housing-price").await?;
    let evidence = ledger["evidence"].as_array().cloned().unwrap_or_default();
    assert_eq!(evidence.len(), 1, "{ledger}");
    assert!(
        evidence[0]["summary"].as_str().unwrap_or_default().contains("sqft"),
        "{ledger}"
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_report_announced_three_ways_starts_once() -> Result<()> {
    let drift = with_reports().await?;
    let key = "housing-price/reports/2023/08/05/01/statistics.json";
    put(&drift.moto, key, statistics_fixture("current-severe.json")).await?;
    let by_eventbridge = single(
        drift
            .handle(&event_fixture("example-eventbridge-s3-object-created.json"))
            .await,
    );
    let by_notification = single(
        drift
            .handle(&event_fixture("example-s3-notification-statistics.json"))
            .await,
    );
    assert_eq!(by_eventbridge.outcome, Outcome::Started, "{}", by_eventbridge.detail);
    assert_eq!(by_notification.outcome, Outcome::AlreadyStarted);
    assert_eq!(by_notification.execution_arn, by_eventbridge.execution_arn);
    assert_eq!(drift.moto.executions(PIPELINE).await?.len(), 1);

    // The monitoring job that wrote it announces the same report.
    let by_job = single(
        drift
            .handle(&event_fixture("example-sagemaker-processing-job-completed.json"))
            .await,
    );
    assert_eq!(by_job.outcome, Outcome::AlreadyStarted);
    assert_eq!(by_job.execution_arn, by_eventbridge.execution_arn);
    assert_eq!(drift.moto.executions(PIPELINE).await?.len(), 1);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn missing_or_unreadable_statistics_never_start() -> Result<()> {
    let mut drift = with_reports().await?;
    let missing = json!({"model": "housing-price", "current": format!("s3://{REPORTS}/housing-price/reports/nope/statistics.json")});
    let error = drift.handle(&missing).await.expect_err("the object does not exist");
    assert_eq!(error.error_type(), "InvalidEvent");
    assert!(error.to_string().contains("nope/statistics.json"), "{error}");

    put(
        &drift.moto,
        "housing-price/reports/garbled/statistics.json",
        b"{\"features\": [".to_vec(),
    )
    .await?;
    let garbled = json!({"model": "housing-price", "current": format!("s3://{REPORTS}/housing-price/reports/garbled/statistics.json")});
    let error = drift.handle(&garbled).await.expect_err("the object is not JSON");
    assert_eq!(error.error_type(), "InvalidEvent");

    let failed = single(
        drift
            .handle(&event_fixture("example-sagemaker-processing-job-failed.json"))
            .await,
    );
    assert_eq!(
        (failed.outcome, failed.reason.as_str()),
        (Outcome::Ignored, "job-not-completed")
    );

    drift.moto.stop();
    let error = drift.handle(&missing).await.expect_err("S3 is down");
    assert_eq!(error.error_type(), "Transient", "{error}");
    Ok(())
}
