//! Prints the `errorType` and `errorMessage` a person sees for each common
//! mistake of a first hour, one line each (`case | errorType | characters |
//! message`), against a moto server of its own:
//!
//! ```sh
//! cargo run -p integration-tests --example error_messages
//! ```
//!
//! The cases go through the same code as the functions: the cold start from
//! the environment (`trigger_from_env`), then a fresh alarm or an alarm back
//! to OK through `alarm_trigger::handle`.

use anyhow::Result;
use integration_tests::{cloudwatch_time, fixture, with_state_time, Moto, ALL_PARAMETERS, LEDGER, PIPELINE, POLICY};
use trigger_engine::TriggerError;

fn show(case: &str, error: &TriggerError) {
    let message = error.to_string();
    println!(
        "{case} | {} | {} | {}",
        error.error_type(),
        message.chars().count(),
        message.replace('\n', "⏎")
    );
}

fn fresh_alarm() -> serde_json::Value {
    with_state_time(fixture("example-cloudwatch-alarm-metric.json"), &cloudwatch_time(60))
}

/// The cold start from this environment, then one fresh alarm.
async fn from_env(case: &str, moto: &Moto, unset: &[&str], set: &[(&str, &str)]) {
    let endpoint = moto.endpoint.clone();
    let base = [
        ("AWS_REGION", "us-east-1"),
        ("AWS_ACCESS_KEY_ID", "testing"),
        ("AWS_SECRET_ACCESS_KEY", "testing"),
        ("AWS_ENDPOINT_URL", endpoint.as_str()),
        ("RETRAIN_POLICY", POLICY),
        ("RETRAIN_LEDGER", LEDGER),
        // No instance metadata service here: the credentials chain should not wait for one.
        ("AWS_EC2_METADATA_DISABLED", "true"),
    ];
    for (name, value) in base.iter().chain(set) {
        std::env::set_var(name, value);
    }
    for name in unset {
        std::env::remove_var(name);
    }
    for name in [
        "AWS_DEFAULT_REGION",
        "AWS_PROFILE",
        "AWS_CONFIG_FILE",
        "AWS_SHARED_CREDENTIALS_FILE",
    ] {
        if !set.iter().any(|(set_name, _)| set_name == &name) {
            std::env::remove_var(name);
        }
    }
    // No profile file either, so that only the environment counts.
    std::env::set_var("AWS_CONFIG_FILE", "/nonexistent/aws-config");
    std::env::set_var("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/aws-credentials");
    match trigger_aws::lambda::trigger_from_env().await {
        Err(error) => show(case, &error),
        Ok(trigger) => match alarm_trigger::handle(&trigger, &fresh_alarm()).await {
            Err(error) => show(case, &error),
            Ok(response) => println!("{case} | ok | {:?}", response.decisions[0].outcome),
        },
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<()> {
    let mut moto = Moto::start()?;
    from_env("no region", &moto, &["AWS_REGION"], &[]).await;
    from_env(
        "no credentials",
        &moto,
        &["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"],
        &[],
    )
    .await;
    from_env(
        "endpoint URL not a URL",
        &moto,
        &[],
        &[("AWS_ENDPOINT_URL", "localhost:5000")],
    )
    .await;
    from_env("no ledger bucket (ledger read)", &moto, &[], &[]).await;

    let trigger = moto.trigger(POLICY, false).await?;
    let ok = with_state_time(fixture("example-cloudwatch-alarm-ok.json"), &cloudwatch_time(60));
    if let Err(error) = alarm_trigger::handle(&trigger, &ok).await {
        show("no ledger bucket (decision record only)", &error);
    }
    moto.create(&[], &[]).await?;
    if let Err(error) = alarm_trigger::handle(&trigger, &fresh_alarm()).await {
        show("no pipeline", &error);
    }
    let mut sns = fixture("example-sns-multiple-records-one-bad.json");
    if let Some(records) = sns["Records"].as_array_mut() {
        records.retain(|record| record.to_string().contains("s3:TestEvent"));
    }
    if let Err(error) = sns_trigger::handle(&trigger, &sns).await {
        show("SNS, the only record bad", &error);
    }
    moto.create_pipeline(PIPELINE, &ALL_PARAMETERS).await?;
    moto.stop();
    if let Err(error) = alarm_trigger::handle(&trigger, &fresh_alarm()).await {
        show("AWS unreachable", &error);
    }
    Ok(())
}
