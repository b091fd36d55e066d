//! The Lambda glue every trigger function shares: building the trigger at
//! cold start, reporting a bad configuration as an init error, and logging
//! failures so they can be counted by `errorType`.

use crate::audit::S3DecisionLog;
use crate::config::Config;
use crate::engine::{write_log_line, Trigger};
use crate::error::TriggerError;
use crate::ledger::S3Ledger;
use crate::policy_source::{PolicyCell, S3Object, POLICY_CHECK_INTERVAL};
use crate::store::SageMakerStore;
use aws_config::{BehaviorVersion, SdkConfig};
use aws_smithy_types::retry::RetryConfig;
use aws_smithy_types::timeout::TimeoutConfig;
use std::sync::Arc;
use std::time::Duration;

/// The trigger as deployed: SageMaker and the S3 ledger behind the core.
pub type LiveTrigger = Trigger<SageMakerStore, S3Ledger>;

/// Sets up tracing as lambda_runtime does: JSON when `AWS_LAMBDA_LOG_FORMAT=JSON`,
/// level from `AWS_LAMBDA_LOG_LEVEL`.
pub fn init_tracing() {
    lambda_runtime::tracing::init_default_subscriber();
}

/// Loads the SDK configuration from the environment with timeouts short
/// enough that a hung call fails inside the function's own timeout, and
/// leaves enough of it to release a claim.
pub async fn load_sdk_config() -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .timeout_config(
            TimeoutConfig::builder()
                .connect_timeout(Duration::from_secs(3))
                .operation_attempt_timeout(Duration::from_secs(10))
                .operation_timeout(Duration::from_secs(25))
                .build(),
        )
        .retry_config(RetryConfig::standard().with_max_attempts(3))
        .load()
        .await
}

/// Builds the live trigger. S3 uses path-style addressing when an endpoint
/// override is set (a local S3 such as moto), since bucket subdomains of
/// `localhost` do not resolve.
pub fn live_trigger(config: Config, sdk: &SdkConfig) -> LiveTrigger {
    let store = SageMakerStore::new(aws_sdk_sagemaker::Client::new(sdk));
    let s3 = s3_client(sdk);
    let decision_log = S3DecisionLog::new(s3.clone(), config.ledger.clone());
    let ledger = S3Ledger::new(s3, config.ledger);
    let mut trigger = Trigger::new(config.policy, store, ledger, config.dry_run);
    trigger.decision_log = Some(Arc::new(decision_log));
    trigger
}

/// The S3 client for this SDK configuration, path-style when an endpoint override is set.
pub fn s3_client(sdk: &SdkConfig) -> aws_sdk_s3::Client {
    let s3_config = aws_sdk_s3::config::Builder::from(sdk)
        .force_path_style(sdk.endpoint_url().is_some())
        .build();
    aws_sdk_s3::Client::from_conf(s3_config)
}

/// The live trigger for a policy kept in S3 (`RETRAIN_POLICY_URI`): read now, then
/// re-read when its ETag changes, checked at most every `check_every`.
pub async fn live_trigger_with_s3_policy(
    object: S3Object,
    lookup: impl Fn(&str) -> Option<String>,
    sdk: &SdkConfig,
    check_every: Duration,
) -> Result<LiveTrigger, TriggerError> {
    let cell = PolicyCell::from_s3(s3_client(sdk), object, check_every).await?;
    let config = Config::with_policy(cell.current().as_ref().clone(), lookup)?;
    let mut trigger = live_trigger(config, sdk);
    trigger.policy = cell;
    Ok(trigger)
}

/// Builds the trigger the environment describes; the policy from S3 when
/// `RETRAIN_POLICY_URI` is set. Also used by the `retrain` CLI.
pub async fn trigger_from_env() -> Result<LiveTrigger, TriggerError> {
    let lookup = |name: &str| std::env::var(name).ok();
    let set = |name: &str| lookup(name).filter(|value| !value.trim().is_empty());
    let Some(uri) = set("RETRAIN_POLICY_URI") else {
        let config = Config::from_lookup(lookup)?;
        return Ok(live_trigger(config, &load_sdk_config().await));
    };
    if set("RETRAIN_POLICY").is_some() || set("RETRAIN_POLICY_FILE").is_some() {
        return Err(TriggerError::Config(
            "RETRAIN_POLICY_URI is set together with RETRAIN_POLICY or RETRAIN_POLICY_FILE; set only one".to_string(),
        ));
    }
    let object = S3Object::parse(&uri).ok_or_else(|| {
        TriggerError::Config(format!(
            "RETRAIN_POLICY_URI={uri} is not an S3 object URI; use s3://bucket/key"
        ))
    })?;
    live_trigger_with_s3_policy(object, lookup, &load_sdk_config().await, POLICY_CHECK_INTERVAL).await
}

/// Cold start: configuration from the environment, then SDK clients. A bad
/// configuration is reported to the Runtime API as an init error, so Lambda
/// shows the message instead of a bare exit code, and the process exits.
pub async fn init_from_env() -> Result<LiveTrigger, lambda_runtime::Error> {
    match trigger_from_env().await {
        Ok(trigger) => Ok(trigger),
        Err(error) => {
            log_error(&error);
            report_init_error(&error).await;
            Err(Box::new(error))
        }
    }
}

async fn report_init_error(error: &TriggerError) {
    // Outside Lambda (a plain run, a test) there is no Runtime API to tell.
    if std::env::var_os("AWS_LAMBDA_RUNTIME_API").is_none() {
        return;
    }
    let diagnostic = serde_json::json!({"errorType": error.error_type(), "errorMessage": error.to_string()});
    let request = lambda_runtime_api_client::build_request()
        .method("POST")
        .uri("/2018-06-01/runtime/init/error")
        .header("lambda-runtime-function-error-type", error.error_type())
        .body(lambda_runtime_api_client::body::Body::from(diagnostic.to_string()));
    match request {
        Ok(request) => {
            let client = lambda_runtime_api_client::PooledClient::builder().build();
            if let Err(report_error) = client.call(request).await {
                tracing::error!(%report_error, "could not report the init error to the Runtime API");
            }
        }
        Err(build_error) => tracing::error!(%build_error, "could not build the init error report"),
    }
}

/// Logs a failed invocation as one JSON line carrying `errorType`, which the
/// stack's metric filter counts, then passes the result on unchanged.
pub fn finish<T>(result: Result<T, TriggerError>) -> Result<T, TriggerError> {
    if let Err(error) = &result {
        log_error(error);
    }
    result
}

fn log_error(error: &TriggerError) {
    let line = serde_json::json!({
        "level": "ERROR",
        "errorType": error.error_type(),
        "errorMessage": error.to_string(),
    });
    write_log_line(line);
}
