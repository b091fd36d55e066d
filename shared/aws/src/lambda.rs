//! The Lambda glue every trigger function shares: building the trigger at
//! cold start, reporting a bad configuration as an init error, and logging
//! failures so they can be counted by `errorType`.

use crate::audit::S3DecisionLog;
use crate::clock::SystemClock;
use crate::config::Config;
use crate::error::credentials_failure;
use crate::ledger::S3Ledger;
use crate::location::{S3Location, S3Object};
use crate::objects::S3Objects;
use crate::policy_source::{S3Policy, POLICY_CHECK_INTERVAL};
use crate::reports::S3Reports;
use crate::store::SageMakerStore;
use aws_config::{BehaviorVersion, SdkConfig};
use aws_credential_types::provider::error::CredentialsError;
use aws_credential_types::provider::ProvideCredentials;
use aws_smithy_types::retry::RetryConfig;
use aws_smithy_types::timeout::TimeoutConfig;
use lambda_runtime::Diagnostic;
use std::sync::Arc;
use std::time::Duration;
use trigger_engine::log_line::log_failure;
use trigger_engine::{FixedPolicy, Parts, PolicySource, Trigger, TriggerError};

/// Sets up tracing as lambda_runtime does: JSON when `AWS_LAMBDA_LOG_FORMAT=JSON`,
/// level from `AWS_LAMBDA_LOG_LEVEL`.
pub fn init_tracing() {
    lambda_runtime::tracing::init_default_subscriber();
}

/// The same, on stderr: for the CLI, whose stdout is its answer.
pub fn init_tracing_to_stderr() {
    lambda_runtime::tracing::init_default_subscriber_with_writer(std::io::stderr);
}

/// The SDK configuration from the environment, checked by `check_sdk_config`.
pub async fn load_checked_sdk_config() -> Result<SdkConfig, TriggerError> {
    let sdk = load_sdk_config().await;
    check_sdk_config(&sdk).await?;
    Ok(sdk)
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

/// What can be known about the SDK configuration without calling AWS,
/// checked at cold start so that a missing region, missing credentials or an
/// unusable endpoint URL fail the init with `InvalidConfig`, once, instead of
/// failing every invocation as if AWS had hiccupped. The region and the
/// endpoint URL are checked as text. Credentials are resolved once: on Lambda
/// they are in the environment, so this makes no network call; elsewhere the
/// SDK's default chain may ask the instance metadata service, as the first
/// call would anyway. A credentials service that times out is `Transient`.
pub async fn check_sdk_config(sdk: &SdkConfig) -> Result<(), TriggerError> {
    match sdk.region() {
        None => {
            return Err(TriggerError::Config(
                "no AWS region is set: set AWS_REGION (Lambda sets it; locally, for example \
                 AWS_REGION=us-east-1)"
                    .to_string(),
            ))
        }
        Some(region) if !is_region_name(region.as_ref()) => {
            return Err(TriggerError::Config(format!(
                "AWS_REGION={region} is not a region name; use one like us-east-1"
            )))
        }
        Some(_) => {}
    }
    if let Some(endpoint) = sdk.endpoint_url() {
        if !is_endpoint_url(endpoint) {
            return Err(TriggerError::Config(format!(
                "AWS_ENDPOINT_URL={endpoint} is not a URL; use http://host:port or https://host, or unset it"
            )));
        }
    }
    let Some(provider) = sdk.credentials_provider() else {
        return Err(TriggerError::Config(NO_CREDENTIALS.to_string()));
    };
    let resolved = tokio::time::timeout(CREDENTIALS_TIMEOUT, provider.provide_credentials()).await;
    match resolved {
        Ok(Ok(_)) => Ok(()),
        // At cold start on Lambda the credentials are in the environment and
        // cannot fail; anywhere else, a provider that answers but gives none
        // (none configured, IMDS forbidden, a profile that does not exist) is
        // the configuration's fault. Only a provider that timed out may answer next time.
        Ok(Err(error)) => {
            tracing::debug!(error = %aws_sdk_s3::error::DisplayErrorContext(&error), "no AWS credentials");
            match (&error, credentials_failure(&error)) {
                (CredentialsError::CredentialsNotLoaded(_), _) => Err(TriggerError::Config(NO_CREDENTIALS.to_string())),
                (CredentialsError::ProviderTimedOut(_), (_, cause)) => {
                    Err(TriggerError::transient("loading the AWS credentials", cause))
                }
                (_, (_, cause)) => Err(TriggerError::Config(format!("{cause}; {NO_CREDENTIALS_ADVICE}"))),
            }
        }
        Err(_) => Err(TriggerError::transient(
            "loading the AWS credentials",
            format!(
                "no credentials provider answered within {} s",
                CREDENTIALS_TIMEOUT.as_secs()
            ),
        )),
    }
}

/// What to do when no credentials provider has any.
const NO_CREDENTIALS: &str = "no AWS credentials were found: set AWS_ACCESS_KEY_ID and \
                              AWS_SECRET_ACCESS_KEY, or AWS_PROFILE (on Lambda, the function's role provides them)";
const NO_CREDENTIALS_ADVICE: &str =
    "set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE (on Lambda, the function's role provides them)";

/// How long the cold start waits for credentials: the default chain's
/// instance-metadata step gives up well inside this.
const CREDENTIALS_TIMEOUT: Duration = Duration::from_secs(10);

/// A region name as AWS writes them: lowercase letters, digits and dashes
/// (`us-east-1`, `us-gov-west-1`); anything else no endpoint rule accepts.
fn is_region_name(region: &str) -> bool {
    !region.is_empty()
        && !region.starts_with('-')
        && !region.ends_with('-')
        && region
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
}

/// `http://` or `https://`, a host, and at most a port and a path after it.
fn is_endpoint_url(url: &str) -> bool {
    let Some(rest) = url.strip_prefix("http://").or_else(|| url.strip_prefix("https://")) else {
        return false;
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let (host, port) = match authority.rsplit_once(':') {
        // `[::1]` holds colons of its own; a port follows the bracket.
        Some((host, port)) if !port.contains(']') => (host, Some(port)),
        _ => (authority, None),
    };
    let host_ok = !host.is_empty() && !host.chars().any(|c| c.is_whitespace() || c == '@');
    let port_ok = port.is_none_or(|port| port.parse::<u16>().is_ok());
    host_ok && port_ok && !url.chars().any(char::is_whitespace)
}

/// The trigger as deployed: SageMaker, the S3 ledger, audit trail and
/// reports, and the wall clock, deciding under `policy`.
pub fn live_trigger_with(policy: Arc<dyn PolicySource>, config: &Config, sdk: &SdkConfig) -> Trigger {
    let s3 = s3_client(sdk);
    let parts = Parts {
        policy,
        store: Arc::new(SageMakerStore::new(aws_sdk_sagemaker::Client::new(sdk))),
        ledger: Arc::new(S3Ledger::new(s3.clone(), config.ledger.clone())),
        decision_log: Arc::new(S3DecisionLog::new(s3.clone(), config.ledger.clone())),
        reports: Arc::new(S3Reports::new(s3)),
        clock: Arc::new(SystemClock),
    };
    Trigger::new(parts, config.dry_run)
}

/// The live trigger for a configuration whose policy is fixed (inline or a file).
pub fn live_trigger(config: Config, sdk: &SdkConfig) -> Trigger {
    let policy = Arc::new(FixedPolicy::new(config.policy.clone()));
    live_trigger_with(policy, &config, sdk)
}

/// The S3 client for this SDK configuration. S3 uses path-style addressing
/// when an endpoint override is set (a local S3 such as moto), since bucket
/// subdomains of `localhost` do not resolve.
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
) -> Result<Trigger, TriggerError> {
    let (policy, config) = s3_policy(object, lookup, sdk, check_every).await?;
    Ok(live_trigger_with(policy, &config, sdk))
}

/// A policy kept in S3, read now and re-read when its ETag changes, and the
/// rest of the configuration from `lookup`.
async fn s3_policy(
    object: S3Object,
    lookup: impl Fn(&str) -> Option<String>,
    sdk: &SdkConfig,
    check_every: Duration,
) -> Result<(Arc<dyn PolicySource>, Config), TriggerError> {
    let policy = S3Policy::load(s3_client(sdk), object, check_every).await?;
    let config = Config::with_policy(policy.current().as_ref().clone(), lookup)?;
    Ok((Arc::new(policy), config))
}

/// Builds the trigger the environment describes; the policy from S3 when
/// `RETRAIN_POLICY_URI` is set. Also used by the `retrain` CLI.
pub async fn trigger_from_env() -> Result<Trigger, TriggerError> {
    let sdk = load_sdk_config().await;
    let (policy, config) = policy_from_env(&sdk).await?;
    Ok(live_trigger_with(policy, &config, &sdk))
}

/// The policy in force and the rest of the configuration, from the
/// environment: the policy inline or in a file (`RETRAIN_POLICY`,
/// `RETRAIN_POLICY_FILE`), or in S3 (`RETRAIN_POLICY_URI`), re-read when it changes.
pub async fn policy_from_env(sdk: &SdkConfig) -> Result<(Arc<dyn PolicySource>, Config), TriggerError> {
    let lookup = |name: &str| std::env::var(name).ok();
    let set = |name: &str| lookup(name).filter(|value| !value.trim().is_empty());
    let Some(uri) = set("RETRAIN_POLICY_URI") else {
        let config = Config::from_lookup(lookup)?;
        check_sdk_config(sdk).await?;
        return Ok((Arc::new(FixedPolicy::new(config.policy.clone())), config));
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
    check_sdk_config(sdk).await?;
    s3_policy(object, lookup, sdk, POLICY_CHECK_INTERVAL).await
}

/// What the monitor function works through: the policy, S3, the ledger
/// location its partial profiles and batches go under, and the CloudWatch
/// namespace of its model-quality metrics.
#[derive(Debug, Clone)]
pub struct MonitorParts {
    pub policy: Arc<dyn PolicySource>,
    pub objects: S3Objects,
    pub ledger: S3Location,
    pub namespace: String,
}

/// The namespace of the model-quality metrics when `RETRAIN_QUALITY_NAMESPACE` is not set.
pub const DEFAULT_QUALITY_NAMESPACE: &str = "RetrainTriggers/ModelQuality";

/// `RETRAIN_QUALITY_NAMESPACE`, checked: CloudWatch reserves namespaces beginning with `AWS/`.
pub fn quality_namespace(lookup: impl Fn(&str) -> Option<String>) -> Result<String, TriggerError> {
    let namespace = lookup("RETRAIN_QUALITY_NAMESPACE")
        .map(|value| value.trim().to_string())
        .filter(|value| !value.is_empty())
        .unwrap_or_else(|| DEFAULT_QUALITY_NAMESPACE.to_string());
    if namespace.to_ascii_uppercase().starts_with("AWS/") || namespace.len() > 255 {
        return Err(TriggerError::Config(format!(
            "RETRAIN_QUALITY_NAMESPACE={namespace} is not a namespace of your own: CloudWatch reserves \
             \"AWS/\" and allows 255 characters; use e.g. {DEFAULT_QUALITY_NAMESPACE}"
        )));
    }
    Ok(namespace)
}

/// The monitor function's parts, from the environment, with `sdk`'s clients.
pub async fn monitor_parts(sdk: &SdkConfig) -> Result<MonitorParts, TriggerError> {
    let (policy, config) = policy_from_env(sdk).await?;
    Ok(MonitorParts {
        policy,
        objects: S3Objects::new(s3_client(sdk)),
        ledger: config.ledger,
        namespace: quality_namespace(|name| std::env::var(name).ok())?,
    })
}

/// Cold start of the monitor function, reported like `init_from_env`'s.
pub async fn init_monitor_from_env() -> Result<MonitorParts, lambda_runtime::Error> {
    reported(monitor_parts(&load_sdk_config().await).await).await
}

/// Cold start: configuration from the environment, then SDK clients. A bad
/// configuration is reported to the Runtime API as an init error, so Lambda
/// shows the message instead of a bare exit code, and the process exits.
pub async fn init_from_env() -> Result<Trigger, lambda_runtime::Error> {
    reported(trigger_from_env().await).await
}

/// A cold start's result; a failure logged and reported to the Runtime API.
async fn reported<T>(result: Result<T, TriggerError>) -> Result<T, lambda_runtime::Error> {
    match result {
        Ok(parts) => Ok(parts),
        Err(error) => {
            log_failure(&error);
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

/// What Lambda reports for a failed invocation: the stable `errorType` and the message.
pub fn diagnostic(error: &TriggerError) -> Diagnostic {
    Diagnostic {
        error_type: error.error_type().to_string(),
        error_message: error.to_string(),
    }
}

/// The end of every invocation: a failure is logged as one JSON line carrying
/// `errorType` (which the stack's metric filter counts) and handed to Lambda
/// as its `Diagnostic`.
pub fn finish<T>(result: Result<T, TriggerError>) -> Result<T, Diagnostic> {
    result.map_err(|error| {
        log_failure(&error);
        diagnostic(&error)
    })
}
