//! The integration-test harness: a moto server per test on a free loopback
//! port, SDK clients pointed at it with fake credentials, the pipelines and
//! ledger bucket the scenarios need, and the event fixtures. `fault` puts a
//! fault-injecting proxy between the functions and moto.

// This library only serves tests: a missing or broken fixture should fail the test at once.
#![allow(clippy::panic)]

pub mod fault;

use anyhow::{bail, Context, Result};
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_s3::primitives::ByteStream;
use aws_smithy_types::retry::RetryConfig;
use aws_smithy_types::timeout::TimeoutConfig;
use fault::FaultProxy;
use serde_json::Value;
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;
use trigger_aws::lambda::live_trigger;
use trigger_aws::{Config, S3Location};
use trigger_decision::Policy;
use trigger_engine::{DecisionRecord, Response, Trigger, TriggerError};

pub const BUCKET: &str = "retrain-ledger";
pub const LEDGER: &str = "s3://retrain-ledger/ledger";

/// The policy most scenarios use: the guide's housing-price model, the file
/// the engine's tests and the benchmarks share. A test that needs another
/// setting changes this text.
pub const POLICY: &str = include_str!("../fixtures/policies/housing-price.toml");

/// The housing-price model's pipeline, as `POLICY` names it.
pub const PIPELINE: &str = "housing-price-retrain";

/// Every parameter the triggers can pass, as the reference pipeline declares them.
pub const ALL_PARAMETERS: [&str; 5] = trigger_engine::memory::TRIGGER_PARAMETERS;

/// What a scenario runs against: a moto server of its own with the
/// housing-price pipeline, and the live trigger, as a function builds it at
/// cold start, pointed at that server (through a fault proxy, for the
/// scenarios that inject faults).
#[derive(Debug)]
pub struct Scenario {
    pub moto: Moto,
    pub trigger: Trigger,
    pub proxy: Option<FaultProxy>,
}

impl Scenario {
    /// moto with the housing-price pipeline declaring `ALL_PARAMETERS`, and a
    /// trigger deciding under `policy`.
    pub async fn start(policy: &str) -> Result<Scenario> {
        Scenario::declaring(policy, &ALL_PARAMETERS).await
    }

    /// The same, the pipeline declaring `parameters`.
    pub async fn declaring(policy: &str, parameters: &[&str]) -> Result<Scenario> {
        let moto = Moto::start()?;
        moto.create(&[PIPELINE], parameters).await?;
        let trigger = moto.trigger(policy, false).await?;
        Ok(Scenario {
            moto,
            trigger,
            proxy: None,
        })
    }

    /// The same, with the trigger behind a fault proxy and making `attempts`
    /// SDK attempts per call.
    pub async fn behind_proxy(policy: &str, attempts: u32) -> Result<Scenario> {
        let moto = Moto::start()?;
        moto.create(&[PIPELINE], &ALL_PARAMETERS).await?;
        let proxy = FaultProxy::start(&moto).await?;
        let trigger = proxy.trigger(policy, attempts).await?;
        Ok(Scenario {
            moto,
            trigger,
            proxy: Some(proxy),
        })
    }

    /// The fault proxy of a scenario started `behind_proxy`.
    pub fn proxy(&self) -> &FaultProxy {
        self.proxy
            .as_ref()
            .unwrap_or_else(|| panic!("this scenario was not started behind a fault proxy"))
    }
}

/// The one decision of a delivery bound to one model.
pub fn single(response: Result<Response, TriggerError>) -> DecisionRecord {
    let response = response.unwrap_or_else(|error| panic!("expected a decision, got {}: {error}", error.error_type()));
    assert_eq!(response.decisions.len(), 1, "{response:?}");
    let mut decisions = response.decisions;
    decisions.remove(0)
}

/// A moto server of this test's own, stopped when dropped.
#[derive(Debug)]
pub struct Moto {
    child: Child,
    pub endpoint: String,
}

impl Moto {
    /// Starts `moto_server` (or `$MOTO_SERVER`) on a port the kernel picks, and
    /// waits until it says where it listens. Letting moto bind port 0 itself
    /// avoids the race of picking a free port for it, which parallel tests lose.
    pub fn start() -> Result<Moto> {
        let program = std::env::var("MOTO_SERVER").unwrap_or_else(|_| "moto_server".to_string());
        let mut child = Command::new(&program)
            .args(["-H", "127.0.0.1", "-p", "0"])
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .with_context(|| format!("cannot run {program}; install it with `make setup`"))?;
        let stderr = child.stderr.take().context("moto's stderr")?;
        let (found, port) = std::sync::mpsc::channel();
        // Read the banner for the port, then keep draining the request log so moto never blocks on a full pipe.
        std::thread::spawn(move || {
            let mut found = Some(found);
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if let Some(port) = line.split("Running on http://127.0.0.1:").nth(1) {
                    if let Some(found) = found.take() {
                        let _ = found.send(port.trim().to_string());
                    }
                }
            }
        });
        let mut moto = Moto {
            child,
            endpoint: String::new(),
        };
        match port.recv_timeout(Duration::from_secs(60)) {
            Ok(port) => moto.endpoint = format!("http://127.0.0.1:{port}"),
            Err(_) => match moto.child.try_wait()? {
                Some(status) => bail!("{program} exited with {status} before listening"),
                None => bail!("{program} did not say where it listens within 60 s"),
            },
        }
        Ok(moto)
    }

    /// Stops the server, as an outage would.
    pub fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// SDK configuration for this server: fake credentials, short timeouts and few retries,
    /// so an outage is reported in seconds.
    pub async fn sdk_config(&self) -> SdkConfig {
        aws_config::defaults(BehaviorVersion::latest())
            .region(Region::new("us-east-1"))
            .endpoint_url(&self.endpoint)
            .credentials_provider(aws_sdk_s3::config::Credentials::new(
                "testing", "testing", None, None, "tests",
            ))
            .timeout_config(
                TimeoutConfig::builder()
                    .connect_timeout(Duration::from_secs(2))
                    .operation_attempt_timeout(Duration::from_secs(5))
                    .build(),
            )
            .retry_config(RetryConfig::standard().with_max_attempts(2))
            .load()
            .await
    }

    pub async fn sagemaker(&self) -> aws_sdk_sagemaker::Client {
        aws_sdk_sagemaker::Client::new(&self.sdk_config().await)
    }

    pub async fn s3(&self) -> aws_sdk_s3::Client {
        let config = aws_sdk_s3::config::Builder::from(&self.sdk_config().await)
            .force_path_style(true)
            .build();
        aws_sdk_s3::Client::from_conf(config)
    }

    /// Creates the ledger bucket and one pipeline per name, each declaring `parameters`.
    pub async fn create(&self, pipelines: &[&str], parameters: &[&str]) -> Result<()> {
        self.s3().await.create_bucket().bucket(BUCKET).send().await?;
        for pipeline in pipelines {
            self.create_pipeline(pipeline, parameters).await?;
        }
        Ok(())
    }

    pub async fn create_pipeline(&self, pipeline: &str, parameters: &[&str]) -> Result<()> {
        let declared: Vec<Value> = parameters
            .iter()
            .map(|name| serde_json::json!({"Name": name, "Type": "String"}))
            .collect();
        let definition = serde_json::json!({"Version": "2020-12-01", "Parameters": declared, "Steps": []});
        self.sagemaker()
            .await
            .create_pipeline()
            .pipeline_name(pipeline.to_string())
            .pipeline_definition(definition.to_string())
            .role_arn("arn:aws:iam::123456789012:role/retrain-pipeline")
            .send()
            .await?;
        Ok(())
    }

    /// The live trigger, as a function builds it at cold start, pointed at this server.
    pub async fn trigger(&self, policy: &str, dry_run: bool) -> Result<Trigger> {
        let config = Config {
            policy: Policy::from_toml(policy)?,
            ledger: S3Location::parse(LEDGER).context("ledger URI")?,
            dry_run,
        };
        Ok(live_trigger(config, &self.sdk_config().await))
    }

    /// ARNs of every execution of `pipeline`.
    pub async fn executions(&self, pipeline: &str) -> Result<Vec<String>> {
        let listed = self
            .sagemaker()
            .await
            .list_pipeline_executions()
            .pipeline_name(pipeline)
            .send()
            .await?;
        Ok(listed
            .pipeline_execution_summaries()
            .iter()
            .filter_map(|summary| summary.pipeline_execution_arn().map(str::to_string))
            .collect())
    }

    /// The parameters an execution was started with, by name.
    pub async fn parameters(&self, execution_arn: &str) -> Result<Vec<(String, String)>> {
        let listed = self
            .sagemaker()
            .await
            .list_pipeline_parameters_for_execution()
            .pipeline_execution_arn(execution_arn)
            .send()
            .await?;
        Ok(listed
            .pipeline_parameters()
            .iter()
            .map(|p| {
                (
                    p.name().unwrap_or_default().to_string(),
                    p.value().unwrap_or_default().to_string(),
                )
            })
            .collect())
    }

    /// The raw ledger object of a model.
    pub async fn ledger_object(&self, model: &str) -> Result<Value> {
        let object = self
            .s3()
            .await
            .get_object()
            .bucket(BUCKET)
            .key(format!("ledger/state/{model}.json"))
            .send()
            .await?;
        Ok(serde_json::from_slice(&object.body.collect().await?.into_bytes())?)
    }

    pub async fn put_ledger_object(&self, model: &str, body: &str) -> Result<()> {
        self.s3()
            .await
            .put_object()
            .bucket(BUCKET)
            .key(format!("ledger/state/{model}.json"))
            .body(ByteStream::from(body.as_bytes().to_vec()))
            .send()
            .await?;
        Ok(())
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        self.stop();
    }
}

/// The fixtures folder.
pub fn fixtures_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures/events")
}

/// The parameters the reference retraining pipeline declares
/// (`infra/pipeline/retrain-pipeline.json`), read from its definition, so a
/// test's pipeline in moto declares exactly what the deployed one would.
pub fn reference_pipeline_parameters() -> Result<Vec<String>> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../infra/pipeline/retrain-pipeline.json");
    let text = std::fs::read_to_string(&path).with_context(|| path.display().to_string())?;
    let definition: Value = serde_json::from_str(&text).with_context(|| path.display().to_string())?;
    let names = definition["Parameters"]
        .as_array()
        .with_context(|| format!("{}: no Parameters array", path.display()))?
        .iter()
        .map(|parameter| parameter["Name"].as_str().map(str::to_string))
        .collect::<Option<Vec<_>>>()
        .with_context(|| format!("{}: a parameter without a Name", path.display()))?;
    Ok(names)
}

/// A fixture event as JSON.
pub fn fixture(name: &str) -> Value {
    let path = fixtures_dir().join(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|error| panic!("{}: {error}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|error| panic!("{}: {error}", path.display()))
}

/// Replaces the alarm state timestamp in any of the alarm envelopes, making a
/// new state change of the same alarm.
pub fn with_state_time(mut event: Value, timestamp: &str) -> Value {
    for pointer in ["/alarmData/state/timestamp", "/detail/state/timestamp"] {
        if let Some(slot) = event.pointer_mut(pointer) {
            *slot = Value::String(timestamp.to_string());
        }
    }
    event
}

/// Replaces the alarm state timestamp inside every SNS record's `Message`
/// (`StateChangeTime` of a CloudWatch notification, or `detail.state.timestamp`
/// of an EventBridge event sent to SNS). Records without one are left alone.
pub fn with_sns_state_time(mut event: Value, timestamp: &str) -> Value {
    let Some(records) = event.get_mut("Records").and_then(Value::as_array_mut) else {
        return event;
    };
    for record in records {
        let Some(slot) = record.pointer_mut("/Sns/Message") else {
            continue;
        };
        let Some(mut message) = slot.as_str().and_then(|text| serde_json::from_str::<Value>(text).ok()) else {
            continue;
        };
        for pointer in ["/StateChangeTime", "/detail/state/timestamp"] {
            if let Some(time) = message.pointer_mut(pointer) {
                *time = Value::String(timestamp.to_string());
            }
        }
        *slot = Value::String(message.to_string());
    }
    event
}

/// The epoch milliseconds of a timestamp as the decoders read it, e.g. for a dedupe key.
pub fn millis_of(timestamp: &str) -> i64 {
    trigger_events::timestamp::parse(timestamp)
        .unwrap_or_else(|| panic!("{timestamp:?} is not a timestamp"))
        .millis()
}

/// An RFC 3339 timestamp `seconds_ago` before now, in CloudWatch's own format.
pub fn cloudwatch_time(seconds_ago: i64) -> String {
    let now = trigger_aws::now();
    let at = trigger_decision::Timestamp(now.millis() - seconds_ago * 1000);
    // Timestamp prints `…T12:36:15.490Z`; CloudWatch writes `+0000`.
    at.to_string().replace('Z', "+0000")
}

/// The longest error message a person should have to read, in characters.
pub const MAX_MESSAGE_CHARS: usize = 500;

/// Fails unless `message` is what a person can read and act on: one or two
/// sentences of at most `MAX_MESSAGE_CHARS`, none of the SDK's debug dump
/// (headers, bodies, type names), no phrase said twice, and every one of
/// `names` (the resource, the variable to set) named.
pub fn assert_readable(message: &str, names: &[&str]) {
    assert!(
        message.chars().count() <= MAX_MESSAGE_CHARS,
        "longer than {MAX_MESSAGE_CHARS} characters: {message}"
    );
    assert!(!message.contains('\n'), "more than one line: {message}");
    // A sentence ends with a stop followed by a space and a capital, or with the message.
    let sentences = message
        .match_indices(". ")
        .filter(|(at, _)| message[at + 2..].starts_with(char::is_uppercase))
        .count()
        + 1;
    assert!(sentences <= 2, "more than two sentences: {message}");
    for dump in [
        "HttpResponse",
        "SdkBody",
        "headers",
        "<?xml",
        "DispatchFailure",
        "ServiceError",
        "ConnectorError",
        "source:",
        "Some(",
        "{ ",
    ] {
        assert!(
            !message.contains(dump),
            "carries the SDK's debug dump ({dump:?}): {message}"
        );
    }
    let words: Vec<&str> = message.split_whitespace().collect();
    let mut phrases = std::collections::HashSet::new();
    for phrase in words.windows(4) {
        assert!(phrases.insert(phrase), "says {:?} twice: {message}", phrase.join(" "));
    }
    for name in names {
        assert!(message.contains(name), "does not name {name:?}: {message}");
    }
}
