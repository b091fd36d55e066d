//! What each failure is called and how it reads: every kind of SDK error
//! mapped to its `errorType` (a table), the cold start's checks of the
//! region, endpoint and credentials, and refusals by moto on each call path,
//! the decision record's included. Every message must be readable
//! (`assert_readable`): short, no SDK dump, no doubled phrase, naming the resource.

// Helpers here are test code too: an unexpected result should fail the test loudly.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use anyhow::Result;
use aws_config::{Region, SdkConfig};
use aws_credential_types::provider::error::CredentialsError;
use aws_credential_types::provider::{future, ProvideCredentials, SharedCredentialsProvider};
use aws_sdk_s3::config::http::HttpResponse;
use aws_sdk_s3::config::Credentials;
use aws_sdk_s3::error::{ConnectorError, ErrorMetadata, SdkError};
use aws_sdk_s3::operation::put_object::PutObjectError;
use aws_sdk_s3::primitives::SdkBody;
use aws_smithy_types::retry::ErrorKind;
use integration_tests::{assert_readable, cloudwatch_time, fixture, with_state_time, Moto, POLICY};
use std::time::Duration;
use trigger_aws::error::from_sdk;
use trigger_aws::lambda::check_sdk_config;
use trigger_engine::TriggerError;

const OPERATION: &str = "S3 PutObject s3://retrain-ledger/ledger/state/housing-price.json";

fn response(status: u16) -> HttpResponse {
    HttpResponse::new(status.try_into().expect("a status code"), SdkBody::empty())
}

fn service(status: u16, code: Option<&str>, message: &str) -> SdkError<PutObjectError, HttpResponse> {
    let mut metadata = ErrorMetadata::builder().message(message);
    if let Some(code) = code {
        metadata = metadata.code(code);
    }
    SdkError::service_error(PutObjectError::generic(metadata.build()), response(status))
}

fn dispatch(error: ConnectorError) -> SdkError<PutObjectError, HttpResponse> {
    SdkError::dispatch_failure(error)
}

fn io(kind: std::io::ErrorKind, text: &str) -> ConnectorError {
    ConnectorError::io(Box::new(std::io::Error::new(kind, text.to_string())))
}

/// One SDK error kind: what the trigger must call it, and a fragment of the
/// cause the message must quote so a person knows what happened.
fn check(kind: &str, error: SdkError<PutObjectError, HttpResponse>, expected: &str, cause: &str) {
    let error = from_sdk(OPERATION, error);
    let message = error.to_string();
    assert_eq!(error.error_type(), expected, "{kind}: {message}");
    assert_readable(&message, &[OPERATION, cause]);
    match expected {
        "Transient" => assert!(message.ends_with("the event is safe to retry"), "{kind}: {message}"),
        _ => assert!(message.contains("IAM role"), "{kind}: {message}"),
    }
}

#[test]
fn each_sdk_error_kind_has_its_error_type() {
    use std::io::ErrorKind::{ConnectionRefused, Other};
    check(
        "construction failure",
        SdkError::construction_failure("the bucket name is empty"),
        "Misconfigured",
        "the bucket name is empty",
    );
    check(
        "operation timeout",
        SdkError::timeout_error("operation timeout (all attempts including retries) occurred after 25s"),
        "Transient",
        "timed out",
    );
    check(
        "dispatch: connect timeout",
        dispatch(ConnectorError::timeout("connect timed out after 3s".into())),
        "Transient",
        "connect timed out after 3s",
    );
    check(
        "dispatch: io, connection refused",
        dispatch(io(ConnectionRefused, "Connection refused (os error 111)")),
        "Transient",
        "Connection refused (os error 111)",
    );
    check(
        "dispatch: io, DNS lookup failed",
        dispatch(io(
            Other,
            "failed to lookup address information: Name or service not known",
        )),
        "Transient",
        "failed to lookup address information",
    );
    check(
        "dispatch: other, transient (connection closed early)",
        dispatch(ConnectorError::other(
            "connection closed before message completed".into(),
            Some(ErrorKind::TransientError),
        )),
        "Transient",
        "connection closed before message completed",
    );
    check(
        "dispatch: other, endpoint not resolvable",
        dispatch(ConnectorError::other(
            "A region must be set when sending requests to S3.".into(),
            None,
        )),
        "Misconfigured",
        "A region must be set when sending requests to S3",
    );
    check(
        "dispatch: no credentials",
        dispatch(ConnectorError::other(
            Box::new(CredentialsError::not_loaded(
                "no providers in chain provided credentials",
            )),
            None,
        )),
        "Misconfigured",
        "AWS_ACCESS_KEY_ID",
    );
    check(
        "dispatch: credentials service timed out",
        dispatch(ConnectorError::other(
            Box::new(CredentialsError::provider_timed_out(Duration::from_secs(5))),
            None,
        )),
        "Transient",
        "credentials could not be loaded",
    );
    check(
        "response error",
        SdkError::response_error("unexpected end of file", response(200)),
        "Transient",
        "unexpected end of file",
    );
    for (status, code, message, expected) in [
        (403, Some("AccessDenied"), "Access Denied", "Misconfigured"),
        (
            404,
            Some("NoSuchBucket"),
            "The specified bucket does not exist",
            "Misconfigured",
        ),
        (
            400,
            Some("ResourceNotFound"),
            "Pipeline 'x' does not exist",
            "Misconfigured",
        ),
        (
            400,
            Some("ValidationException"),
            "1 validation error detected",
            "Misconfigured",
        ),
        (400, Some("AccessDeniedException"), "not authorized", "Misconfigured"),
        (
            400,
            Some("ExpiredToken"),
            "The provided token has expired",
            "Misconfigured",
        ),
        (429, None, "Too Many Requests", "Transient"),
        (400, Some("ThrottlingException"), "Rate exceeded", "Transient"),
        (503, Some("SlowDown"), "Please reduce your request rate", "Transient"),
        (
            500,
            Some("InternalError"),
            "We encountered an internal error",
            "Transient",
        ),
        (
            503,
            Some("ServiceUnavailable"),
            "Service is unable to handle request",
            "Transient",
        ),
        (502, None, "", "Transient"),
        (
            400,
            Some("RequestTimeout"),
            "Your socket connection to the server was not read",
            "Transient",
        ),
    ] {
        let kind = format!("HTTP {status} {code:?}");
        let cause = code.unwrap_or("HTTP");
        check(&kind, service(status, code, message), expected, cause);
    }
}

#[test]
fn an_aws_message_too_long_to_read_is_cut() {
    let words: Vec<String> = (0..200).map(|index| format!("word{index}")).collect();
    let long = format!(
        "User arn:aws:sts::123456789012:assumed-role/r/f is not authorized: {}",
        words.join(" ")
    );
    let error = from_sdk(OPERATION, service(403, Some("AccessDenied"), &long));
    assert_eq!(error.error_type(), "Misconfigured");
    assert_readable(&error.to_string(), &[OPERATION, "AccessDenied", "…"]);
}

/// A credentials provider that always fails the same way.
#[derive(Debug)]
struct FailingCredentials(fn() -> CredentialsError);

impl ProvideCredentials for FailingCredentials {
    fn provide_credentials<'a>(&'a self) -> future::ProvideCredentials<'a>
    where
        Self: 'a,
    {
        future::ProvideCredentials::ready(Err((self.0)()))
    }
}

fn sdk(region: Option<&str>, endpoint: Option<&str>, credentials: Option<SharedCredentialsProvider>) -> SdkConfig {
    let mut builder = SdkConfig::builder();
    if let Some(region) = region {
        builder.set_region(Some(Region::new(region.to_string())));
    }
    if let Some(endpoint) = endpoint {
        builder.set_endpoint_url(Some(endpoint.to_string()));
    }
    builder.set_credentials_provider(credentials);
    builder.build()
}

fn static_credentials() -> Option<SharedCredentialsProvider> {
    Some(SharedCredentialsProvider::new(Credentials::new(
        "testing", "testing", None, None, "tests",
    )))
}

fn failing(make: fn() -> CredentialsError) -> Option<SharedCredentialsProvider> {
    Some(SharedCredentialsProvider::new(FailingCredentials(make)))
}

#[tokio::test]
async fn region_endpoint_and_credentials_problems_fail_the_cold_start() {
    let cases: Vec<(&str, SdkConfig, &str, &[&str])> = vec![
        (
            "no region",
            sdk(None, None, static_credentials()),
            "InvalidConfig",
            &["AWS_REGION"],
        ),
        (
            "a region that is no region name",
            sdk(Some("us east 1"), None, static_credentials()),
            "InvalidConfig",
            &["AWS_REGION=us east 1"],
        ),
        (
            "an endpoint URL without a scheme",
            sdk(Some("us-east-1"), Some("localhost:5000"), static_credentials()),
            "InvalidConfig",
            &["AWS_ENDPOINT_URL=localhost:5000"],
        ),
        (
            "an endpoint URL without a host",
            sdk(Some("us-east-1"), Some("http://"), static_credentials()),
            "InvalidConfig",
            &["AWS_ENDPOINT_URL=http://"],
        ),
        (
            "an endpoint URL with a bad port",
            sdk(Some("us-east-1"), Some("http://localhost:port"), static_credentials()),
            "InvalidConfig",
            &["AWS_ENDPOINT_URL=http://localhost:port"],
        ),
        (
            "no credentials provider",
            sdk(Some("us-east-1"), None, None),
            "InvalidConfig",
            &["AWS_ACCESS_KEY_ID"],
        ),
        (
            "no provider has credentials",
            sdk(
                Some("us-east-1"),
                None,
                failing(|| CredentialsError::not_loaded("no providers in chain provided credentials")),
            ),
            "InvalidConfig",
            &["AWS_ACCESS_KEY_ID", "AWS_PROFILE"],
        ),
        (
            "a misconfigured profile",
            sdk(
                Some("us-east-1"),
                None,
                failing(|| CredentialsError::invalid_configuration("profile `prod` was not defined")),
            ),
            "InvalidConfig",
            &["profile `prod` was not defined"],
        ),
        (
            "the instance metadata service refuses",
            sdk(
                Some("us-east-1"),
                None,
                failing(|| {
                    CredentialsError::provider_error(
                        "request forbidden: IMDS is disabled or the caller has insufficient permissions",
                    )
                }),
            ),
            "InvalidConfig",
            &["IMDS is disabled", "AWS_ACCESS_KEY_ID"],
        ),
        (
            "the credentials service timed out",
            sdk(
                Some("us-east-1"),
                None,
                failing(|| CredentialsError::provider_timed_out(Duration::from_secs(5))),
            ),
            "Transient",
            &["loading the AWS credentials"],
        ),
    ];
    for (case, config, expected, names) in cases {
        let error = check_sdk_config(&config).await.expect_err(case);
        assert_eq!(error.error_type(), expected, "{case}: {error}");
        assert_readable(&error.to_string(), names);
    }
    for endpoint in [
        None,
        Some("http://127.0.0.1:5000"),
        Some("https://s3.example.com/base"),
        Some("http://[::1]:4566"),
    ] {
        let config = sdk(Some("us-east-1"), endpoint, static_credentials());
        assert!(check_sdk_config(&config).await.is_ok(), "{endpoint:?}");
    }
}

fn fresh_alarm() -> serde_json::Value {
    with_state_time(fixture("example-cloudwatch-alarm-metric.json"), &cloudwatch_time(60))
}

/// A refusal names the call and the resource, and is `Misconfigured`.
fn assert_refused(error: &TriggerError, names: &[&str]) {
    assert_eq!(error.error_type(), "Misconfigured", "{error}");
    assert_readable(&error.to_string(), names);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_ledger_bucket_is_misconfigured_even_when_only_the_decision_record_is_written() -> Result<()> {
    let moto = Moto::start()?;
    moto.create_pipeline("housing-price-retrain", &[]).await?;
    let trigger = moto.trigger(POLICY, false).await?;
    // An alarm back to OK is ignored before any history is read: only its record is written.
    let ok = with_state_time(fixture("example-cloudwatch-alarm-ok.json"), &cloudwatch_time(60));
    let error = alarm_trigger::handle(&trigger, &ok).await.expect_err("no bucket");
    assert_refused(
        &error,
        &[
            "recording the decision at s3://retrain-ledger/ledger/decisions/",
            "NoSuchBucket",
        ],
    );
    // A state change that could start reads the ledger first.
    let error = alarm_trigger::handle(&trigger, &fresh_alarm())
        .await
        .expect_err("no bucket");
    assert_refused(
        &error,
        &["s3://retrain-ledger/ledger/state/housing-price.json", "NoSuchBucket"],
    );
    assert!(moto.executions("housing-price-retrain").await?.is_empty());
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_pipeline_is_misconfigured_and_names_it() -> Result<()> {
    let moto = Moto::start()?;
    moto.create(&[], &[]).await?;
    let trigger = moto.trigger(POLICY, false).await?;
    let error = alarm_trigger::handle(&trigger, &fresh_alarm())
        .await
        .expect_err("no pipeline");
    assert_refused(&error, &["housing-price-retrain"]);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_outage_is_transient_and_says_so_once() -> Result<()> {
    let mut moto = Moto::start()?;
    moto.create(&["housing-price-retrain"], &[]).await?;
    let trigger = moto.trigger(POLICY, false).await?;
    moto.stop();
    let error = alarm_trigger::handle(&trigger, &fresh_alarm())
        .await
        .expect_err("moto is down");
    assert_eq!(error.error_type(), "Transient", "{error}");
    let message = error.to_string();
    assert_readable(&message, &["safe to retry"]);
    assert_eq!(message.matches("retry").count(), 1, "{message}");
    Ok(())
}
