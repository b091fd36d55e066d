//! `retrain backtest` end to end: the demo's synthetic inputs written by the
//! tool itself, replayed through the engine into the table, the JSON and the
//! page; every kind of bad input refused with a message naming the file,
//! line or field; and `--from-cloudwatch` against moto.

// Helpers here are test code too: an unexpected result should fail the test loudly.
#![allow(clippy::panic, clippy::unwrap_used, clippy::expect_used)]

use anyhow::Result;
use aws_sdk_cloudwatch::types::{Dimension, MetricDatum};
use integration_tests::{Moto, POLICY};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const WEEKLY: &str = "housing-price-weekly=cron(0 6 ? * MON *)";

fn retrain(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_retrain"));
    command.args(args);
    for (name, value) in env {
        command.env(name, value);
    }
    command.output().unwrap()
}

/// What the binary needs to reach `moto` with the standard SDK configuration.
fn moto_env(moto: &Moto) -> [(&'static str, &str); 5] {
    [
        ("AWS_ENDPOINT_URL", moto.endpoint.as_str()),
        ("AWS_ACCESS_KEY_ID", "testing"),
        ("AWS_SECRET_ACCESS_KEY", "testing"),
        ("AWS_REGION", "us-east-1"),
        ("AWS_EC2_METADATA_DISABLED", "true"),
    ]
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// A fresh folder holding the demo's inputs, written by `retrain synthetic`, and the policy.
fn demo_folder(name: &str) -> PathBuf {
    let folder = std::env::temp_dir().join(format!("retrain-backtest-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&folder);
    let output = retrain(&["synthetic", folder.to_str().unwrap()], &[]);
    assert!(output.status.success(), "{}", text(&output.stderr));
    std::fs::write(folder.join("policy.toml"), POLICY).unwrap();
    folder
}

fn path(folder: &Path, file: &str) -> String {
    folder.join(file).to_str().unwrap().to_string()
}

/// `retrain backtest` on the demo folder, with `extra` arguments.
fn backtest(folder: &Path, extra: &[&str]) -> Output {
    let series = format!("housing-price-mae-high={}", path(folder, "housing-price-mae.csv"));
    let mut args = vec![
        "backtest".to_string(),
        "--policy".to_string(),
        path(folder, "policy.toml"),
        "--alarms".to_string(),
        path(folder, "alarms.json"),
        "--series".to_string(),
        series,
        "--schedule".to_string(),
        WEEKLY.to_string(),
    ];
    args.extend(extra.iter().map(|arg| arg.to_string()));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    retrain(&args, &[])
}

#[test]
fn the_demo_backtest_prints_the_table_and_writes_json_and_a_page_with_one_mark_per_start() {
    let folder = demo_folder("demo");
    let (json_file, html_file) = (path(&folder, "out.json"), path(&folder, "out.html"));
    let output = backtest(
        &folder,
        &[
            "--run-cost",
            "25",
            "--sweep",
            "cooldown=6h,1d",
            "--json",
            &json_file,
            "--html",
            &html_file,
        ],
    );
    let (stdout, stderr) = (text(&output.stdout), text(&output.stderr));
    assert!(output.status.success(), "{stderr}");
    for section in [
        "Decisions that started or deferred",
        "Summary per model",
        "Policy vs baselines",
        "Sweep",
    ] {
        assert!(stdout.contains(section), "{section} missing from\n{stdout}");
    }
    // Only the table is on stdout: the engine's JSON log lines are dropped.
    assert!(!stdout.contains("\"_aws\""), "{stdout}");
    let json: Value = serde_json::from_str(&std::fs::read_to_string(&json_file).unwrap()).unwrap();
    let starts = json["decisions"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|decision| decision["outcome"] == "started")
        .count();
    assert!(starts > 0);
    assert_eq!(json["summaries"][0]["starts"], starts);
    assert_eq!(json["summaries"][0]["cost"], 25.0 * starts as f64);
    assert_eq!(json["run_duration_seconds"], 7200);
    assert_eq!(json["sweep"].as_array().unwrap().len(), 2);
    assert_eq!(
        stdout.lines().filter(|line| line.contains("  started  ")).count(),
        starts,
        "{stdout}"
    );
    // The start marks of the page: one per start (colour from the report module).
    let page = std::fs::read_to_string(&html_file).unwrap();
    let fill = trigger_backtest::report::html::START_MARK_COLOR;
    let fill = format!("fill=\"#{:02X}{:02X}{:02X}\"", fill.0, fill.1, fill.2);
    let marks = page.matches(&fill).count();
    assert_eq!(marks, starts, "start marks in the page");
    assert!(stderr.contains("wrote ") && stderr.contains("out.html"), "{stderr}");
    std::fs::remove_dir_all(&folder).unwrap();
}

/// Runs the backtest on the demo folder after `change`, and returns stderr; it must fail or not as `fails` says.
fn refused(name: &str, change: impl FnOnce(&Path) -> Vec<String>, fails: bool) -> String {
    let folder = demo_folder(name);
    let extra = change(&folder);
    let extra: Vec<&str> = extra.iter().map(String::as_str).collect();
    let output = backtest(&folder, &extra);
    let stderr = text(&output.stderr);
    assert_eq!(!output.status.success(), fails, "{stderr}");
    std::fs::remove_dir_all(&folder).unwrap();
    stderr
}

fn edit(file: PathBuf, change: impl FnOnce(String) -> String) {
    let before = std::fs::read_to_string(&file).unwrap();
    std::fs::write(&file, change(before)).unwrap();
}

#[test]
fn a_series_out_of_order_or_off_its_period_is_refused_at_its_line() {
    let stderr = refused(
        "order",
        |folder| {
            edit(folder.join("housing-price-mae.csv"), |csv| {
                let mut lines: Vec<&str> = csv.lines().collect();
                lines.swap(3, 4);
                lines.join("\n")
            });
            Vec::new()
        },
        true,
    );
    assert!(
        stderr.contains("housing-price-mae.csv: line 5:") && stderr.contains("expected increasing timestamps"),
        "{stderr}"
    );
    let stderr = refused(
        "aligned",
        |folder| {
            edit(folder.join("housing-price-mae.csv"), |csv| {
                csv.replacen("2024-01-01T00:10:00.000Z", "2024-01-01T00:11:00.000Z", 1)
            });
            Vec::new()
        },
        true,
    );
    assert!(
        stderr.contains("housing-price-mae.csv: line 4:") && stderr.contains("not a whole number of periods"),
        "{stderr}"
    );
}

#[test]
fn an_unbound_or_composite_alarm_is_a_warning_not_an_error() {
    let stderr = refused(
        "unbound",
        |folder| {
            edit(folder.join("alarms.json"), |json| {
                let mut document: Value = serde_json::from_str(&json).unwrap();
                let mut spare = document["MetricAlarms"][0].clone();
                spare["AlarmName"] = "spare-latency-high".into();
                spare["AlarmArn"] = Value::Null;
                document["MetricAlarms"].as_array_mut().unwrap().push(spare);
                document["CompositeAlarms"] =
                    serde_json::json!([{"AlarmName": "housing-price-any", "AlarmRule": "ALARM(a) OR ALARM(b)"}]);
                document.to_string()
            });
            Vec::new()
        },
        false,
    );
    assert!(
        stderr.contains("warning: alarm \"spare-latency-high\" is in the alarm file but no model lists it"),
        "{stderr}"
    );
    assert!(
        stderr.contains("warning: alarm \"housing-price-any\" is a composite alarm"),
        "{stderr}"
    );
}

#[test]
fn a_schedule_or_a_policy_that_does_not_parse_is_refused_with_where() {
    let stderr = refused(
        "schedule",
        |_| vec!["--schedule".into(), "housing-price-weekly=cron(0 6 * * MON *)".into()],
        true,
    );
    assert!(stderr.contains("schedule \"housing-price-weekly\""), "{stderr}");
    assert!(
        stderr.contains("cron(0 6 * * MON *)") && stderr.contains('?'),
        "{stderr}"
    );
    let stderr = refused(
        "policy",
        |folder| {
            edit(folder.join("policy.toml"), |policy| {
                policy.replace("[[model]]", "[[model]]\ncooldown = \"soon\"")
            });
            Vec::new()
        },
        true,
    );
    assert!(
        stderr.contains("policy.toml:") && stderr.contains("`cooldown`"),
        "{stderr}"
    );
}

#[test]
fn a_period_finer_than_cloudwatch_keeps_for_the_range_is_refused_before_any_request() {
    let folder = demo_folder("retention");
    // 100 days back only hourly data is kept; the alarm evaluates every 5 minutes.
    let now = chrono::Utc::now();
    let start = (now - chrono::Duration::days(100)).to_rfc3339();
    let end = now.to_rfc3339();
    let output = retrain(
        &[
            "backtest",
            "--policy",
            &path(&folder, "policy.toml"),
            "--alarms",
            &path(&folder, "alarms.json"),
            "--from-cloudwatch",
            "--start",
            &start,
            "--end",
            &end,
        ],
        // Nothing listens here: a request would fail differently.
        &[("AWS_ENDPOINT_URL", "http://127.0.0.1:9"), ("AWS_REGION", "us-east-1")],
    );
    let stderr = text(&output.stderr);
    assert!(!output.status.success());
    assert!(
        stderr.contains("alarm \"housing-price-mae-high\": a period of 5m is not kept back to")
            && stderr.contains("use a period of at least 1h"),
        "{stderr}"
    );
    std::fs::remove_dir_all(&folder).unwrap();
}

#[test]
fn a_missing_range_or_file_is_named_once() {
    let folder = demo_folder("no-range");
    let run = |extra: &[&str]| {
        let mut args = vec![
            "backtest".to_string(),
            "--alarms".to_string(),
            path(&folder, "alarms.json"),
        ];
        args.extend(extra.iter().map(|arg| arg.to_string()));
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        // Nothing listens here: each problem is found before any request.
        let output = retrain(
            &args,
            &[("AWS_ENDPOINT_URL", "http://127.0.0.1:9"), ("AWS_REGION", "us-east-1")],
        );
        assert!(!output.status.success());
        text(&output.stderr)
    };
    let policy = path(&folder, "policy.toml");
    // --from-cloudwatch needs both ends of the range.
    let stderr = run(&["--policy", &policy, "--from-cloudwatch"]);
    assert!(
        stderr.contains("--start <TIME>") && stderr.contains("--end <TIME>"),
        "{stderr}"
    );
    // Without series, the range comes from --start and --end alone.
    let stderr = run(&["--policy", &policy]);
    assert!(
        stderr.contains("--start is needed when no --series gives the range"),
        "{stderr}"
    );
    let stderr = run(&["--policy", &policy, "--start", "2024-01-01T00:00:00Z"]);
    assert!(
        stderr.contains("--end is needed when no --series gives the range"),
        "{stderr}"
    );
    // A file that is not there is named, and the system's reason given once.
    let absent = path(&folder, "absent.toml");
    let stderr = run(&["--policy", &absent]);
    assert!(stderr.contains(&format!("cannot read {absent}")), "{stderr}");
    assert_eq!(stderr.matches("No such file or directory").count(), 1, "{stderr}");
    std::fs::remove_dir_all(&folder).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn from_cloudwatch_fetches_each_bound_alarm_with_get_metric_data() -> Result<()> {
    let moto = Moto::start()?;
    let cloudwatch = aws_sdk_cloudwatch::Client::new(&moto.sdk_config().await);
    let folder = demo_folder("cloudwatch");
    // A one-minute alarm, so the last three hours are kept at its period.
    edit(folder.join("alarms.json"), |json| {
        json.replace("\"Period\": 300", "\"Period\": 60")
    });
    let minute = 60_000;
    let now = chrono::Utc::now().timestamp_millis() / minute * minute;
    let start = now - 180 * minute;
    let dimension = |name: &str, value: &str| Dimension::builder().name(name).value(value).build();
    // Healthy, then above the 15,000 threshold for half an hour from minute 60.
    for chunk in (0..180).collect::<Vec<i64>>().chunks(60) {
        let data = chunk.iter().map(|minute_index| {
            let value = if (60..90).contains(minute_index) {
                20_000.0
            } else {
                12_000.0
            };
            MetricDatum::builder()
                .metric_name("mae")
                .dimensions(dimension("Endpoint", "housing-price"))
                .dimensions(dimension("MonitoringSchedule", "housing-price-quality"))
                .timestamp(aws_smithy_types::DateTime::from_millis(start + minute_index * minute))
                .value(value)
                .build()
        });
        cloudwatch
            .put_metric_data()
            .namespace("aws/sagemaker/Endpoints/model-metrics")
            .set_metric_data(Some(data.collect()))
            .send()
            .await
            .map_err(|error| anyhow::anyhow!("{}", aws_sdk_cloudwatch::error::DisplayErrorContext(&error)))?;
    }
    let time = |millis: i64| chrono::DateTime::from_timestamp_millis(millis).unwrap().to_rfc3339();
    let env = moto_env(&moto);
    let json_file = path(&folder, "out.json");
    let output = retrain(
        &[
            "backtest",
            "--policy",
            &path(&folder, "policy.toml"),
            "--alarms",
            &path(&folder, "alarms.json"),
            "--from-cloudwatch",
            "--start",
            &time(start),
            "--end",
            &time(now),
            "--schedule",
            WEEKLY,
            "--json",
            &json_file,
        ],
        &env,
    );
    let stderr = text(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    assert!(
        stderr.contains("alarm \"housing-price-mae-high\": fetched 180 periods of 1m")
            && stderr.contains("the finest period kept back to"),
        "{stderr}"
    );
    let json: Value = serde_json::from_str(&std::fs::read_to_string(&json_file)?)?;
    let decisions = json["decisions"].as_array().unwrap();
    let started: Vec<&Value> = decisions
        .iter()
        .filter(|decision| decision["outcome"] == "started")
        .collect();
    // The half hour above the threshold is one breach and one start, by the alarm,
    // at the end of the second breaching minute (2 of 3).
    assert_eq!(started.len(), 1, "{decisions:?}");
    assert_eq!(started[0]["trigger"], "alarm");
    assert_eq!(started[0]["at"], time(start + 62 * minute).replace("+00:00", ".000Z"));
    std::fs::remove_dir_all(&folder)?;
    Ok(())
}

/// The decisions of a JSON report, as (time, trigger, outcome, reason).
fn decisions(json_file: &str) -> Vec<(String, String, String, String)> {
    let json: Value = serde_json::from_str(&std::fs::read_to_string(json_file).unwrap()).unwrap();
    json["decisions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|decision| {
            let field = |name: &str| decision[name].as_str().unwrap().to_string();
            (field("at"), field("trigger"), field("outcome"), field("reason"))
        })
        .collect()
}

/// The drift decisions of the two reports the drift tests replay: the severe
/// one of 2024-01-08 starts, the one without drift of 2024-01-15 does not.
fn assert_severe_then_no_drift(json_file: &str) {
    let drift: Vec<_> = decisions(json_file)
        .into_iter()
        .filter(|(_, trigger, _, _)| trigger == "drift")
        .collect();
    assert_eq!(drift.len(), 2, "{drift:?}");
    assert_eq!(drift[0].0, "2024-01-08T06:00:00.000Z");
    assert_eq!(drift[0].2, "started", "{drift:?}");
    assert!(drift[0].3.starts_with("drift-"), "{drift:?}");
    assert_eq!(
        (drift[1].2.as_str(), drift[1].3.as_str()),
        ("skipped", "no-drift"),
        "{drift:?}"
    );
}

#[test]
fn drift_reports_from_a_folder_are_replayed_through_the_drift_path() {
    let folder = demo_folder("drift");
    let statistics = integration_tests::fixtures_dir().parent().unwrap().join("statistics");
    let model = folder.join("reports/housing-price");
    for (from, to) in [
        ("baseline-statistics.json", "baseline/statistics.json"),
        ("constraints.json", "baseline/constraints.json"),
        ("current-severe.json", "2024-01-08T06:00:00Z/statistics.json"),
        ("current-no-drift.json", "2024-01-15T06:00:00Z/statistics.json"),
    ] {
        let target = model.join(to);
        std::fs::create_dir_all(target.parent().unwrap()).unwrap();
        std::fs::copy(statistics.join(from), target).unwrap();
    }
    let json_file = path(&folder, "out.json");
    let output = backtest(
        &folder,
        &["--drift-reports", &path(&folder, "reports"), "--json", &json_file],
    );
    assert!(output.status.success(), "{}", text(&output.stderr));
    assert_severe_then_no_drift(&json_file);

    // A report folder not named by its time is refused, naming it.
    std::fs::create_dir_all(model.join("last-monday")).unwrap();
    let output = backtest(&folder, &["--drift-reports", &path(&folder, "reports")]);
    let stderr = text(&output.stderr);
    assert!(!output.status.success());
    assert!(
        stderr.contains("--drift-reports") && stderr.contains("last-monday") && stderr.contains("RFC 3339"),
        "{stderr}"
    );
    std::fs::remove_dir_all(&folder).unwrap();
}

#[test]
fn executions_listed_before_the_replay_hold_the_pipeline_for_the_run_duration() {
    let folder = demo_folder("executions");
    // The first breach of the demo's values turns the alarm to ALARM at 2024-01-21 00:25.
    let listing = serde_json::json!({"PipelineExecutionSummaries": [{
        "PipelineExecutionArn": "arn:aws:sagemaker:us-east-1:123456789012:pipeline/housing-price-retrain/execution/seeded",
        "StartTime": "2024-01-21T00:00:00+00:00",
        "PipelineExecutionStatus": "Executing"
    }]});
    std::fs::write(folder.join("executions.json"), listing.to_string()).unwrap();
    let json_file = path(&folder, "out.json");
    let without = path(&folder, "without.json");
    let output = backtest(&folder, &["--json", &without]);
    assert!(output.status.success(), "{}", text(&output.stderr));
    let output = backtest(
        &folder,
        &["--executions", &path(&folder, "executions.json"), "--json", &json_file],
    );
    assert!(output.status.success(), "{}", text(&output.stderr));
    let first = |file: &str| {
        decisions(file)
            .into_iter()
            .find(|(_, trigger, outcome, _)| trigger == "alarm" && outcome != "ignored")
            .unwrap()
    };
    assert_eq!(
        first(&without),
        (
            "2024-01-21T00:25:00.000Z".into(),
            "alarm".into(),
            "started".into(),
            "alarm".into()
        )
    );
    assert_eq!(
        first(&json_file),
        (
            "2024-01-21T00:25:00.000Z".into(),
            "alarm".into(),
            "deferred".into(),
            "in-flight".into()
        )
    );
    std::fs::remove_dir_all(&folder).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn drift_reports_under_an_s3_prefix_are_routed_and_judged_as_the_drift_function_does() -> Result<()> {
    let moto = Moto::start()?;
    let s3 = moto.s3().await;
    // Where the fixture policy's [model.drift] looks: its `reports` prefix and `baseline`.
    s3.create_bucket().bucket("monitoring-reports").send().await?;
    let statistics = integration_tests::fixtures_dir().parent().unwrap().join("statistics");
    for (from, key) in [
        ("baseline-statistics.json", "housing-price/baseline/statistics.json"),
        ("constraints.json", "housing-price/baseline/constraints.json"),
        (
            "current-severe.json",
            "housing-price/endpoint/quality/2024/01/08/06/statistics.json",
        ),
        (
            "current-no-drift.json",
            "housing-price/endpoint/quality/2024/01/15/06/statistics.json",
        ),
    ] {
        s3.put_object()
            .bucket("monitoring-reports")
            .key(key)
            .body(std::fs::read(statistics.join(from))?.into())
            .send()
            .await?;
    }
    let folder = demo_folder("drift-s3");
    let json_file = path(&folder, "out.json");
    let series = format!("housing-price-mae-high={}", path(&folder, "housing-price-mae.csv"));
    let output = retrain(
        &[
            "backtest",
            "--policy",
            &path(&folder, "policy.toml"),
            "--alarms",
            &path(&folder, "alarms.json"),
            "--series",
            &series,
            "--schedule",
            WEEKLY,
            "--drift-reports",
            "s3://monitoring-reports/housing-price/",
            "--json",
            &json_file,
        ],
        &moto_env(&moto),
    );
    let stderr = text(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    // The baseline is under the prefix too, but carries no hour: it is not a report.
    assert!(stderr.contains("1 statistics.json object(s) with no"), "{stderr}");
    assert_severe_then_no_drift(&json_file);
    std::fs::remove_dir_all(&folder)?;
    Ok(())
}
