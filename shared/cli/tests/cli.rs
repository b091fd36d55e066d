//! The `retrain` binary end to end: `policy check` on good and bad files, and
//! `decisions` and `explain` reading audit records that a real trigger wrote to moto.

// Helpers here are test code too: an unexpected result should fail the test loudly.
#![allow(clippy::panic, clippy::unwrap_used, clippy::expect_used)]

use anyhow::Result;
use integration_tests::{cloudwatch_time, fixture, with_state_time, Moto, ALL_PARAMETERS, LEDGER, POLICY};
use std::process::{Command, Output};

fn retrain(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_retrain"));
    command.args(args).env_remove("RETRAIN_LEDGER");
    for (name, value) in env {
        command.env(name, value);
    }
    command.output().unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn policy_check_prints_the_effective_policy_or_the_error_at_its_line() {
    let directory = std::env::temp_dir().join(format!("retrain-cli-{}", std::process::id()));
    std::fs::create_dir_all(&directory).unwrap();
    let good = directory.join("good.toml");
    std::fs::write(&good, POLICY).unwrap();
    let output = retrain(&["policy", "check", good.to_str().unwrap()], &[]);
    assert!(output.status.success(), "{}", text(&output.stderr));
    let stdout = text(&output.stdout);
    assert!(
        stdout.contains("name = \"housing-price\"") && stdout.contains("cooldown = \"6h\""),
        "{stdout}"
    );

    let bad = directory.join("bad.toml");
    std::fs::write(&bad, POLICY.replace("alarms = [", "cooldown = \"soon\"\nalarms = [")).unwrap();
    let output = retrain(&["policy", "check", bad.to_str().unwrap()], &[]);
    assert!(!output.status.success());
    let stderr = text(&output.stderr);
    assert!(
        stderr.contains("bad.toml:10:") && stderr.contains("`cooldown`"),
        "{stderr}"
    );

    let output = retrain(&["policy", "check", "/nonexistent/policy.toml"], &[]);
    assert!(!output.status.success());
    assert!(text(&output.stderr).contains("cannot read /nonexistent/policy.toml"));
    std::fs::remove_dir_all(&directory).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn decisions_lists_the_audit_records_of_a_model() -> Result<()> {
    let moto = Moto::start()?;
    moto.create(&["housing-price-retrain"], &ALL_PARAMETERS).await?;
    let trigger = moto.trigger(POLICY, false).await?;
    let alarm = with_state_time(fixture("example-cloudwatch-alarm-metric.json"), &cloudwatch_time(60));
    let started = alarm_trigger::handle(&trigger, &alarm).await?.decisions.remove(0);
    alarm_trigger::handle(&trigger, &alarm).await?;

    let env = [
        ("AWS_ENDPOINT_URL", moto.endpoint.as_str()),
        ("AWS_ACCESS_KEY_ID", "testing"),
        ("AWS_SECRET_ACCESS_KEY", "testing"),
        ("AWS_REGION", "us-east-1"),
        ("AWS_EC2_METADATA_DISABLED", "true"),
    ];
    let output = retrain(
        &[
            "decisions",
            "--model",
            "housing-price",
            "--since",
            "1d",
            "--ledger",
            LEDGER,
        ],
        &env,
    );
    assert!(output.status.success(), "{}", text(&output.stderr));
    let table = text(&output.stdout);
    let lines: Vec<&str> = table.lines().collect();
    assert_eq!(lines.len(), 4, "{table}");
    assert!(lines[0].starts_with("time") && lines[0].contains("outcome"), "{table}");
    // Newest first: the repeat, then the start.
    assert!(lines[2].contains("already-started"), "{table}");
    assert!(
        lines[3].contains("started") && lines[3].contains(started.trigger_id.as_str()) && lines[3].contains("metric"),
        "{table}"
    );

    // `explain` shows the trigger's records, formatted for a person.
    let output = retrain(&["explain", started.trigger_id.as_str(), "--ledger", LEDGER], &env);
    assert!(output.status.success(), "{}", text(&output.stderr));
    let explained = text(&output.stdout);
    for expected in [
        "outcome    started (alarm)",
        "outcome    already-started (already-started)",
        "housing-price-mae-high",
        "ModelApprovalStatus = PendingManualApproval",
        started.execution_arn.as_deref().unwrap(),
    ] {
        assert!(explained.contains(expected), "{expected:?} missing from\n{explained}");
    }
    let output = retrain(
        &["explain", "0000", "--model", "housing-price", "--ledger", LEDGER],
        &env,
    );
    assert!(!output.status.success());
    assert!(text(&output.stderr).contains("no decision recorded for trigger 0000"));

    // Without a ledger it says what to do, and fails.
    let output = retrain(&["decisions", "--model", "housing-price"], &env);
    assert!(!output.status.success());
    assert!(
        text(&output.stderr).contains("RETRAIN_LEDGER"),
        "{}",
        text(&output.stderr)
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn start_asks_through_the_manual_code_path_as_the_caller() -> Result<()> {
    let moto = Moto::start()?;
    moto.create(&["housing-price-retrain"], &ALL_PARAMETERS).await?;
    // The shared policy lets a manual request override DataWindowDays.
    let policy = POLICY;
    let env = [
        ("AWS_ENDPOINT_URL", moto.endpoint.as_str()),
        ("AWS_ACCESS_KEY_ID", "testing"),
        ("AWS_SECRET_ACCESS_KEY", "testing"),
        ("AWS_REGION", "us-east-1"),
        ("AWS_EC2_METADATA_DISABLED", "true"),
        ("RETRAIN_POLICY", policy),
        ("RETRAIN_LEDGER", LEDGER),
    ];
    let args = [
        "start",
        "--model",
        "housing-price",
        "--reason",
        "regulator asked",
        "--parameter",
        "DataWindowDays=90",
        "--request-id",
        "ticket-7",
    ];
    let output = retrain(&args, &env);
    assert!(output.status.success(), "{}", text(&output.stderr));
    // stdout is the answer alone, one JSON document; the decision log line is on stderr.
    let answer: serde_json::Value = serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|error| panic!("stdout is not one JSON document ({error}): {}", text(&output.stdout)));
    assert_eq!(answer["decisions"][0]["outcome"], "started", "{answer}");
    assert!(
        text(&output.stderr).contains("\"RetrainTriggers\""),
        "the decision log line (an EMF record) is on stderr: {}",
        text(&output.stderr)
    );
    let executions = moto.executions("housing-price-retrain").await?;
    assert_eq!(executions.len(), 1);
    let parameters = moto.parameters(&executions[0]).await?;
    let parameter = |name: &str| parameters.iter().find(|(n, _)| n == name).map(|(_, v)| v.clone());
    assert_eq!(parameter("TriggerType").as_deref(), Some("manual"));
    assert_eq!(parameter("DataWindowDays").as_deref(), Some("90"));
    // The requester is the STS caller identity, not anything typed.
    let reason = parameter("TriggerReason").unwrap_or_default();
    assert!(
        reason.contains("arn:aws:") && reason.contains("regulator asked"),
        "{reason}"
    );

    // The same request id again is already started; a refused override fails with the reason.
    let output = retrain(&args, &env);
    assert!(
        text(&output.stdout).contains("already-started"),
        "{}",
        text(&output.stdout)
    );
    let mut bad = args;
    bad[6] = "Epochs=5";
    bad[8] = "ticket-8";
    let output = retrain(&bad, &env);
    assert!(!output.status.success());
    assert!(
        text(&output.stderr).contains("parameters.Epochs"),
        "{}",
        text(&output.stderr)
    );
    assert_eq!(moto.executions("housing-price-retrain").await?.len(), 1);
    Ok(())
}

/// `retrain` run with exactly this environment (and `PATH`), nothing inherited.
fn retrain_in(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_retrain"));
    command
        .args(args)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", "/nonexistent")
        .env("AWS_EC2_METADATA_DISABLED", "true");
    for (name, value) in env {
        command.env(name, value);
    }
    command.output().unwrap()
}

/// The CLI's own failures: one readable line, no SDK dump, nothing about an
/// event (there is none at a terminal), and what to do.
#[test]
fn failures_are_worded_for_a_terminal() {
    let decisions = [
        "decisions",
        "--model",
        "housing-price",
        "--ledger",
        "s3://retrain-ledger/ledger",
        "-q",
    ];
    let credentials = [("AWS_ACCESS_KEY_ID", "testing"), ("AWS_SECRET_ACCESS_KEY", "testing")];
    let check = |env: &[(&str, &str)], names: &[&str]| {
        let output = retrain_in(&decisions, env);
        assert!(!output.status.success());
        let stderr = text(&output.stderr);
        let message = stderr
            .trim_end()
            .strip_prefix("retrain: ")
            .unwrap_or_else(|| panic!("{stderr}"));
        integration_tests::assert_readable(message, names);
        assert!(!message.contains("event"), "{message}");
    };
    // Nothing listens on port 1: the connection is refused, as when the endpoint is wrong.
    let unreachable = [
        credentials[0],
        credentials[1],
        ("AWS_REGION", "us-east-1"),
        ("AWS_ENDPOINT_URL", "http://127.0.0.1:1"),
    ];
    check(
        &unreachable,
        &[
            "s3://retrain-ledger/ledger/decisions/housing-price/",
            "run the command again",
            "AWS_ENDPOINT_URL",
        ],
    );
    check(&credentials, &["AWS_REGION"]);
    check(&[("AWS_REGION", "us-east-1")], &["AWS_ACCESS_KEY_ID"]);
}
