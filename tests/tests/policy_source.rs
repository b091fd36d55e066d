//! The policy from S3 (`RETRAIN_POLICY_URI`) against moto: read at cold start,
//! re-read when its ETag changes, and a version that does not parse keeps the
//! last good policy.

// Helpers here are test code too: an unexpected result should fail the test loudly.
#![allow(clippy::panic, clippy::unwrap_used, clippy::expect_used)]

use anyhow::Result;
use integration_tests::{Moto, ALL_PARAMETERS, BUCKET, LEDGER, POLICY};
use std::time::Duration;
use trigger_aws::lambda::live_trigger_with_s3_policy;
use trigger_aws::S3Object;
use trigger_decision::key::content_sha256;
use trigger_engine::{Refresh, Trigger, TriggerError};

const KEY: &str = "config/policy.toml";

async fn put_policy(moto: &Moto, text: &str) -> Result<()> {
    moto.s3()
        .await
        .put_object()
        .bucket(BUCKET)
        .key(KEY)
        .body(text.as_bytes().to_vec().into())
        .send()
        .await?;
    Ok(())
}

async fn trigger(moto: &Moto, check_every: Duration) -> Result<Trigger, TriggerError> {
    let object = S3Object::parse(&format!("s3://{BUCKET}/{KEY}")).unwrap();
    let lookup = |name: &str| (name == "RETRAIN_LEDGER").then(|| LEDGER.to_string());
    live_trigger_with_s3_policy(object, lookup, &moto.sdk_config().await, check_every).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_changed_policy_is_reloaded_and_a_bad_one_keeps_the_last_good() -> Result<()> {
    let moto = Moto::start()?;
    moto.create(&["housing-price-retrain"], &ALL_PARAMETERS).await?;
    put_policy(&moto, POLICY).await?;
    let trigger = trigger(&moto, Duration::ZERO).await?;
    assert_eq!(trigger.policy().sha256, content_sha256(POLICY));
    assert_eq!(trigger.parts.policy.refresh().await, Refresh::Unchanged);

    let second = format!("{POLICY}\n[[model]]\nname = \"churn\"\npipeline = \"churn-retrain\"\n");
    put_policy(&moto, &second).await?;
    assert_eq!(trigger.parts.policy.refresh().await, Refresh::Reloaded);
    assert!(trigger.policy().model("churn").is_some());
    assert_eq!(trigger.policy().sha256, content_sha256(&second));

    put_policy(&moto, &second.replace("cooldown = \"6h\"", "cooldown = \"soon\"")).await?;
    let Refresh::KeptLastGood(error) = trigger.parts.policy.refresh().await else {
        panic!("an invalid policy must keep the last good one")
    };
    assert!(error.contains("cooldown") && error.contains("\"soon\""), "{error}");
    assert_eq!(trigger.policy().sha256, content_sha256(&second));
    // The bad version is reported once, not on every check.
    assert_eq!(trigger.parts.policy.refresh().await, Refresh::Unchanged);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_etag_is_not_checked_again_inside_the_interval() -> Result<()> {
    let moto = Moto::start()?;
    moto.create(&[], &[]).await?;
    put_policy(&moto, POLICY).await?;
    let trigger = trigger(&moto, Duration::from_secs(3600)).await?;
    put_policy(&moto, &format!("{POLICY}\n")).await?;
    assert_eq!(trigger.parts.policy.refresh().await, Refresh::NotDue);
    assert_eq!(trigger.policy().sha256, content_sha256(POLICY));
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_or_invalid_policy_object_fails_the_cold_start() -> Result<()> {
    let moto = Moto::start()?;
    moto.create(&[], &[]).await?;
    let error = trigger(&moto, Duration::ZERO).await.unwrap_err();
    assert_eq!(error.error_type(), "InvalidConfig");
    assert!(error.to_string().contains("cannot be read"), "{error}");
    put_policy(&moto, "[[model]]\nname = \"m\"\n").await?;
    let error = trigger(&moto, Duration::ZERO).await.unwrap_err();
    assert!(
        error.to_string().contains("RETRAIN_POLICY_URI") && error.to_string().contains("pipeline"),
        "{error}"
    );
    Ok(())
}
