//! The audit trail against moto: every decision becomes an immutable record
//! under `decisions/<model>/<yyyy>/<mm>/<dd>/`, holding the trigger, the
//! policy's hash, the history it saw and the outcome; a record that cannot be
//! written fails the invocation with `Transient`, and the retry records again.

// Helpers here are test code too: an unexpected result should fail the test loudly.
#![allow(clippy::panic, clippy::unwrap_used, clippy::expect_used)]

use anyhow::Result;
use integration_tests::{
    cloudwatch_time, fixture, with_state_time, Moto, ALL_PARAMETERS, BUCKET, LEDGER, PIPELINE, POLICY,
};
use std::sync::Arc;
use trigger_aws::audit::list_records;
use trigger_aws::{now, S3DecisionLog, S3Location};
use trigger_decision::{Outcome, Span};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_decision_is_recorded_once_and_immutably_with_what_it_saw() -> Result<()> {
    let moto = Moto::start()?;
    moto.create(&[PIPELINE], &ALL_PARAMETERS).await?;
    let trigger = moto.trigger(POLICY, false).await?;
    let alarm = with_state_time(fixture("example-cloudwatch-alarm-metric.json"), &cloudwatch_time(60));
    let started = alarm_trigger::handle(&trigger, &alarm).await?.decisions.remove(0);
    let deferred_alarm = with_state_time(fixture("example-cloudwatch-alarm-metric.json"), &cloudwatch_time(30));
    let deferred = alarm_trigger::handle(&trigger, &deferred_alarm)
        .await?
        .decisions
        .remove(0);
    assert_eq!(deferred.outcome, Outcome::Deferred);
    let mut unknown = alarm.clone();
    unknown["alarmData"]["alarmName"] = "nobody-listens".into();
    alarm_trigger::handle(&trigger, &unknown).await?;

    let s3 = moto.s3().await;
    let ledger = S3Location::parse(LEDGER).unwrap();
    let (since, until) = (now().minus(Span::from_secs(3600)), now());
    let records = list_records(&s3, &ledger, "housing-price", since, until).await?;
    assert_eq!(records.len(), 2, "{records:#?}");
    // Newest first.
    let (later, first) = (&records[0], &records[1]);
    assert_eq!(first.trigger_id, started.trigger_id);
    assert_eq!((first.outcome.as_str(), first.reason.as_str()), ("started", "alarm"));
    assert_eq!(first.trigger_type.as_deref(), Some("metric"));
    assert!(
        first.source.contains("housing-price-mae-high") && first.source.contains("16250"),
        "{}",
        first.source
    );
    assert_eq!(first.policy_sha256, trigger_decision::key::content_sha256(POLICY));
    assert_eq!(first.execution_arn, started.execution_arn);
    assert_eq!(first.parameters.get("TriggerType").map(String::as_str), Some("metric"));
    assert_eq!(first.parameters.get("DataWindowDays").map(String::as_str), Some("30"));
    let seen = first.history.clone().unwrap();
    assert_eq!((seen.last_start, seen.executions), (None, 0));

    // The deferral saw the start it was deferred by.
    assert_eq!(later.reason.as_str(), "cooldown");
    let seen = later.history.clone().unwrap();
    assert_eq!(seen.last_start.map(|start| start.arn), started.execution_arn);

    // The unmatched alarm is filed under `none`.
    let unmatched = list_records(&s3, &ledger, "none", since, until).await?;
    assert_eq!(unmatched.len(), 1);
    assert_eq!(unmatched[0].reason.as_str(), "no-matching-model");

    // Records are immutable: the same key cannot be written again.
    let key = format!("ledger/{}", first.relative_key());
    let key_parts: Vec<&str> = key.split('/').collect();
    assert_eq!(&key_parts[..3], ["ledger", "decisions", "housing-price"]);
    assert!(key.ends_with(&format!("-{}.json", first.trigger_id)), "{key}");
    let overwrite = s3
        .put_object()
        .bucket(BUCKET)
        .key(&key)
        .if_none_match("*")
        .body(b"{}".to_vec().into())
        .send()
        .await;
    assert!(overwrite.is_err(), "a record was overwritten");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_record_refused_for_a_missing_bucket_is_misconfigured_and_the_retry_records_it() -> Result<()> {
    let moto = Moto::start()?;
    moto.create(&[PIPELINE], &ALL_PARAMETERS).await?;
    let mut trigger = moto.trigger(POLICY, false).await?;
    let s3 = moto.s3().await;
    trigger.parts.decision_log = Arc::new(S3DecisionLog::new(
        s3.clone(),
        S3Location::parse("s3://no-such-audit-bucket/ledger").unwrap(),
    ));
    let alarm = with_state_time(fixture("example-cloudwatch-alarm-metric.json"), &cloudwatch_time(60));
    let error = alarm_trigger::handle(&trigger, &alarm).await.unwrap_err();
    // A missing bucket fails every retry alike until someone fixes it: never `Transient`.
    assert_eq!(error.error_type(), "Misconfigured", "{error}");
    assert!(
        error
            .to_string()
            .contains("recording the decision at s3://no-such-audit-bucket/ledger/decisions/housing-price/"),
        "{error}"
    );

    // The retry (with the trail fixed) starts nothing new and records the answer.
    trigger.parts.decision_log = Arc::new(S3DecisionLog::new(s3.clone(), S3Location::parse(LEDGER).unwrap()));
    let retried = alarm_trigger::handle(&trigger, &alarm).await?.decisions.remove(0);
    assert_eq!(retried.outcome, Outcome::AlreadyStarted);
    assert_eq!(moto.executions(PIPELINE).await?.len(), 1);
    let ledger = S3Location::parse(LEDGER).unwrap();
    let records = list_records(&s3, &ledger, "housing-price", now().minus(Span::from_secs(3600)), now()).await?;
    assert_eq!(records.len(), 1);
    assert_eq!(records[0].outcome.as_str(), "already-started");
    Ok(())
}
