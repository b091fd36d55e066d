//! `retrain baseline`, `retrain profile` and `retrain quality` end to end: the
//! binary on local files and on `s3://` URIs in moto, `--json` checked against
//! values computed here or by scikit-learn, and every way they refuse.

// Helpers here are test code too: an unexpected result should fail the test loudly.
#![allow(clippy::panic, clippy::unwrap_used, clippy::expect_used)]

use anyhow::Result;
use integration_tests::fault::{Fault, FaultProxy, Match};
use integration_tests::{Moto, POLICY};
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use trigger_decision::drift::{assess, DriftReport};
use trigger_decision::policy::DriftMethod;
use trigger_decision::{Policy, Timestamp};

/// The shared housing-price policy with a `[model.monitor]` section.
fn policy_with_monitor(problem: &str, threshold: Option<f64>) -> String {
    let threshold = threshold.map_or_else(String::new, |threshold| format!("threshold = {threshold}\n"));
    format!(
        "{POLICY}[model.monitor]\nendpoint = \"housing-price-prod\"\n\
         captures = \"s3://captures/datacapture/housing-price-prod/\"\n\
         labels = \"s3://captures/ground-truth/housing-price/\"\nproblem = \"{problem}\"\n\
         features = [\"sqft\", \"bedrooms\", \"bathrooms\", \"zipcode\"]\ncategorical = [\"zipcode\"]\n\
         prediction = \"0\"\n{threshold}"
    )
}

/// A directory of this test's own, removed when dropped.
struct Scratch(PathBuf);

impl Scratch {
    fn new(name: &str) -> Scratch {
        let path = std::env::temp_dir().join(format!("retrain-monitor-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(&path).unwrap();
        Scratch(path)
    }

    fn write(&self, name: &str, text: &str) -> String {
        let path = self.0.join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, text).unwrap();
        path.to_str().unwrap().to_string()
    }

    fn path(&self, name: &str) -> String {
        self.0.join(name).to_str().unwrap().to_string()
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn retrain(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_retrain"));
    command
        .args(args)
        .env_remove("RETRAIN_POLICY")
        .env_remove("RETRAIN_POLICY_FILE")
        .env_remove("RETRAIN_POLICY_URI");
    for (name, value) in env {
        command.env(name, value);
    }
    command.output().unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Runs a command that must succeed and parses its `--json` output.
fn json_of(args: &[&str], env: &[(&str, &str)]) -> Value {
    let output = retrain(args, env);
    assert!(output.status.success(), "{args:?} failed: {}", text(&output.stderr));
    serde_json::from_slice(&output.stdout).unwrap_or_else(|error| panic!("{error}: {}", text(&output.stdout)))
}

/// Runs a command that must fail with `status`, and gives its stderr.
fn failure(args: &[&str], env: &[(&str, &str)], status: i32) -> String {
    let output = retrain(args, env);
    let stderr = text(&output.stderr);
    assert_eq!(output.status.code(), Some(status), "{args:?}: {stderr}");
    assert!(!stderr.contains("event"), "{stderr}");
    stderr
}

fn moto_env(endpoint: &str) -> Vec<(&str, &str)> {
    vec![
        ("AWS_ENDPOINT_URL", endpoint),
        ("AWS_ACCESS_KEY_ID", "testing"),
        ("AWS_SECRET_ACCESS_KEY", "testing"),
        ("AWS_REGION", "us-east-1"),
        ("AWS_EC2_METADATA_DISABLED", "true"),
    ]
}

fn capture_line(id: &str, input: &str, output: &str) -> String {
    json!({
        "captureData": {
            "endpointInput": {"observedContentType": "text/csv", "mode": "INPUT", "data": input, "encoding": "CSV"},
            "endpointOutput": {"observedContentType": "text/csv", "mode": "OUTPUT", "data": output, "encoding": "CSV"},
        },
        "eventMetadata": {"eventId": id, "inferenceTime": "2026-12-02T04:12:55Z"},
        "eventVersion": "0",
    })
    .to_string()
}

fn label_line(id: &str, label: &str) -> String {
    json!({"groundTruthData": {"data": label, "encoding": "CSV"}, "eventMetadata": {"eventId": id}, "eventVersion": "0"})
        .to_string()
}

/// Deterministic training rows: (sqft, bedrooms, bathrooms, zipcode).
fn training_rows(count: u32) -> Vec<(u32, u32, u32, &'static str)> {
    let zipcodes = ["98103", "98115", "98122", "98103"];
    (0..count)
        .map(|index| {
            (
                900 + (index * 53) % 2800,
                1 + index % 5,
                1 + index % 3,
                zipcodes[index as usize % 4],
            )
        })
        .collect()
}

/// A training CSV: columns in another order than the features, an extra
/// quoted column holding commas and a newline.
fn training_csv(rows: &[(u32, u32, u32, &str)]) -> String {
    let mut csv = String::from("zipcode,price,sqft,bedrooms,note,bathrooms\n");
    for (index, (sqft, bedrooms, bathrooms, zipcode)) in rows.iter().enumerate() {
        csv.push_str(&format!(
            "{zipcode},{},{sqft},{bedrooms},\"row {index}, see\nnotes\",{bathrooms}\n",
            400_000 + index
        ));
    }
    csv
}

fn feature<'a>(statistics: &'a Value, name: &str) -> &'a Value {
    statistics["features"]
        .as_array()
        .unwrap()
        .iter()
        .find(|feature| feature["name"] == name)
        .unwrap_or_else(|| panic!("no {name} in {statistics}"))
}

/// Compares a statistics.json with itself through the drift function's
/// reader and `assess`, by every distance method: nothing may drift.
fn assert_no_drift_against_itself(written: &str, policy: &str) {
    let document: Value = serde_json::from_str(written).unwrap();
    let statistics = trigger_events::monitor::statistics(&document, "s3://reports/statistics.json").unwrap();
    assert_eq!(statistics.features.len(), 4, "{written}");
    let report = DriftReport {
        report_id: "baseline-against-itself".into(),
        model: Some("housing-price".into()),
        source: "s3://reports/statistics.json".into(),
        observed_at: Timestamp::from_millis(0),
        baseline: statistics.clone(),
        current: statistics,
        constraints: None,
        path: trigger_decision::Path::S3,
    };
    let model_drift = Policy::from_toml(policy).unwrap().models[0].drift.clone().unwrap();
    for method in [
        DriftMethod::Linf,
        DriftMethod::Psi,
        DriftMethod::Js,
        DriftMethod::Wasserstein,
        DriftMethod::ChiSquare,
    ] {
        let mut drift = model_drift.clone();
        drift.method = Some(method);
        drift.features = vec!["*".into()];
        let assessment = assess(&report, &drift);
        assert_eq!(assessment.features.len(), 4, "{method:?}: {assessment:?}");
        assert_eq!(assessment.drifted().count(), 0, "{method:?}: {assessment:?}");
        for compared in &assessment.features {
            assert!(compared.distance.abs() < 1e-12, "{method:?}: {compared:?}");
        }
    }
}

#[test]
fn baseline_from_a_training_csv_is_read_by_the_drift_path_and_shows_no_drift_against_itself() {
    let scratch = Scratch::new("baseline-csv");
    let policy = policy_with_monitor("regression", None);
    let policy_file = scratch.write("policy.toml", &policy);
    let rows = training_rows(250);
    let train = scratch.write("train.csv", &training_csv(&rows));
    let out = scratch.path("statistics.json");
    let summary = json_of(
        &[
            "baseline",
            "--model",
            "housing-price",
            "--policy",
            &policy_file,
            "--input",
            &train,
            "--out",
            &out,
            "--json",
        ],
        &[],
    );
    assert_eq!(
        (summary["rows"].as_u64(), summary["objects"].as_u64()),
        (Some(250), Some(1))
    );
    assert_eq!(summary["malformed"]["count"], 0);

    // Each numerical feature against sums computed here from the rows written.
    let written = std::fs::read_to_string(&out).unwrap();
    let statistics: Value = serde_json::from_str(&written).unwrap();
    assert_eq!(summary["statistics"], statistics);
    assert_eq!(statistics["dataset"]["item_count"], 250);
    let columns: [(&str, Vec<f64>); 3] = [
        ("sqft", rows.iter().map(|row| f64::from(row.0)).collect()),
        ("bedrooms", rows.iter().map(|row| f64::from(row.1)).collect()),
        ("bathrooms", rows.iter().map(|row| f64::from(row.2)).collect()),
    ];
    for (name, values) in &columns {
        let numerical = &feature(&statistics, name)["numerical_statistics"];
        let sum: f64 = values.iter().sum();
        let min = values.iter().copied().fold(f64::INFINITY, f64::min);
        let max = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        assert_eq!(numerical["common"]["num_present"], 250, "{name}");
        assert_eq!(numerical["sum"].as_f64(), Some(sum), "{name}");
        assert_eq!(
            (numerical["min"].as_f64(), numerical["max"].as_f64()),
            (Some(min), Some(max)),
            "{name}"
        );
        assert!(
            (numerical["mean"].as_f64().unwrap() - sum / 250.0).abs() < 1e-9,
            "{name}"
        );
        // 250 values: the sketch is still exact, so each bucket holds exactly the values in it.
        let buckets = numerical["distribution"]["kll"]["buckets"].as_array().unwrap();
        assert_eq!(buckets.len(), 10, "{name}");
        for (index, bucket) in buckets.iter().enumerate() {
            let (lower, upper) = (
                bucket["lower_bound"].as_f64().unwrap(),
                bucket["upper_bound"].as_f64().unwrap(),
            );
            let last = index == buckets.len() - 1;
            let inside = values
                .iter()
                .filter(|value| **value >= lower && (**value < upper || (last && **value <= upper)))
                .count();
            assert_eq!(bucket["count"].as_u64(), Some(inside as u64), "{name} bucket {index}");
        }
    }
    let zipcodes = &feature(&statistics, "zipcode")["string_statistics"]["distribution"]["categorical"]["buckets"];
    let count_of = |zipcode: &str| rows.iter().filter(|row| row.3 == zipcode).count() as u64;
    assert_eq!(
        zipcodes,
        &json!([
            {"value": "98103", "count": count_of("98103")},
            {"value": "98115", "count": count_of("98115")},
            {"value": "98122", "count": count_of("98122")},
        ])
    );
    assert_no_drift_against_itself(&written, &policy);
}

/// The capture fixtures whose prediction is the output's first CSV column,
/// with what their README says they hold.
const CAPTURE_FIXTURES: [&str; 5] = [
    "example-capture-csv.jsonl",
    "example-capture-csv-batch.jsonl",
    "example-capture-json-array.jsonl",
    "example-capture-base64-csv.jsonl",
    "example-capture-bad-lines.jsonl",
];

fn copy_capture_fixtures(scratch: &Scratch) -> String {
    for name in CAPTURE_FIXTURES {
        let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/capture");
        let text = std::fs::read_to_string(fixtures.join(name)).unwrap();
        scratch.write(&format!("captures/{name}"), &text);
    }
    scratch.path("captures")
}

#[test]
fn profile_and_baseline_of_capture_files_agree_and_count_what_they_read() {
    let scratch = Scratch::new("profile-local");
    let policy = policy_with_monitor("regression", None);
    let env = [("RETRAIN_POLICY", policy.as_str())];
    let captures = copy_capture_fixtures(&scratch);
    let (profiled, baselined) = (scratch.path("profiled.json"), scratch.path("baselined.json"));
    let profile = json_of(
        &[
            "profile",
            "--model",
            "housing-price",
            &captures,
            "--out",
            &profiled,
            "--json",
        ],
        &env,
    );
    // The fixtures' README: 3 + 2 + 2 + 1 + 4 records holding 3 + 4 + 3 + 1 + 4 rows;
    // lines 2, 3, 4 and 6 of the bad-lines file are malformed.
    assert_eq!(
        (profile["objects"].as_u64(), profile["records"].as_u64()),
        (Some(5), Some(12))
    );
    assert_eq!(profile["rows"], 15);
    assert_eq!(profile["malformed"]["count"], 4);
    let lines: Vec<(String, u64)> = profile["malformed"]["examples"]
        .as_array()
        .unwrap()
        .iter()
        .map(|example| {
            let object = example["object"].as_str().unwrap();
            (
                object.rsplit('/').next().unwrap().to_string(),
                example["line"].as_u64().unwrap(),
            )
        })
        .collect();
    let bad = "example-capture-bad-lines.jsonl".to_string();
    assert_eq!(lines, [(bad.clone(), 2), (bad.clone(), 3), (bad.clone(), 4), (bad, 6)]);
    assert_eq!(
        profile["malformed"]["by_reason"],
        json!({"not-json": 1, "wrong-column-count": 1, "unparsable-number": 1, "unknown-encoding": 1})
    );

    // `baseline` recognises capture files by their first byte and profiles them alike.
    let baseline = json_of(
        &[
            "baseline",
            "--model",
            "housing-price",
            "--input",
            &captures,
            "--out",
            &baselined,
            "--json",
        ],
        &env,
    );
    let (profiled, baselined) = (
        std::fs::read_to_string(&profiled).unwrap(),
        std::fs::read_to_string(&baselined).unwrap(),
    );
    assert_eq!(profiled, baselined);
    assert_eq!(baseline["rows"], 15);
    assert_no_drift_against_itself(&baselined, &policy);

    // Without --json: a table, and the malformed lines on stderr.
    let output = retrain(
        &[
            "profile",
            "--model",
            "housing-price",
            &captures,
            "--out",
            &scratch.path("again.json"),
        ],
        &env,
    );
    assert!(output.status.success(), "{}", text(&output.stderr));
    let (stdout, stderr) = (text(&output.stdout), text(&output.stderr));
    assert!(
        stdout.contains("15 rows from 12 records in 5 objects, 4 malformed lines"),
        "{stdout}"
    );
    assert!(
        stdout
            .lines()
            .any(|line| line.starts_with("zipcode") && line.contains("String")),
        "{stdout}"
    );
    assert!(
        stderr.contains("4 malformed input lines skipped") && stderr.contains("example-capture-bad-lines.jsonl:3:"),
        "{stderr}"
    );
}

/// The scikit-learn reference cases that carry their pairs.
fn quality_cases() -> Vec<Value> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../monitor/tests/fixtures/quality/references.json");
    let references: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    references["cases"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|case| case.get("pairs").is_some())
        .cloned()
        .collect()
}

fn value_text(value: &Value) -> String {
    match value {
        Value::String(text) => text.clone(),
        other => other.to_string(),
    }
}

/// Files to write: (name, contents).
type Files = Vec<(String, String)>;

/// A case's pairs as capture and label objects: predictions split over two
/// capture files, labels in one file, plus a label no capture has and a
/// malformed line in each.
fn write_pairs(case: &Value) -> (Files, Files) {
    let pairs = case["pairs"].as_array().unwrap();
    let half = pairs.len() / 2;
    let capture = |range: std::ops::Range<usize>| -> String {
        range
            .map(|index| capture_line(&format!("k{index}"), "2140,3,2,98103", &value_text(&pairs[index][0])) + "\n")
            .collect()
    };
    let mut labels: String = (0..pairs.len())
        .map(|index| label_line(&format!("k{index}"), &value_text(&pairs[index][1])) + "\n")
        .collect();
    labels.push_str(&label_line("no-such-capture", &value_text(&pairs[0][1])));
    labels.push_str("\nnot a label\n");
    let captures = vec![
        ("a.jsonl".to_string(), capture(0..half)),
        (
            "b.jsonl".to_string(),
            capture(half..pairs.len()) + "{\"captureData\": 7}\n",
        ),
    ];
    (captures, vec![("labels.jsonl".to_string(), labels)])
}

fn assert_matches_scikit_learn(case: &Value, summary: &Value) {
    let name = case["name"].as_str().unwrap();
    let pairs = case["pairs"].as_array().unwrap().len() as u64;
    let tolerance = case["tolerance"].as_f64().unwrap();
    for (metric, expected) in case["expected"].as_object().unwrap() {
        let found = &summary["metrics"][metric];
        match expected.as_f64() {
            None => assert!(found.is_null(), "{name}: {metric} is {found}, scikit-learn gives none"),
            Some(expected) => {
                let found = found
                    .as_f64()
                    .unwrap_or_else(|| panic!("{name}: no {metric} in {summary}"));
                assert!(
                    (found - expected).abs() <= tolerance * expected.abs().max(1.0),
                    "{name}: {metric} {found} against scikit-learn's {expected}"
                );
            }
        }
    }
    let counts = &summary["counts"];
    assert_eq!(counts["records"].as_u64(), Some(pairs), "{name}: {counts}");
    assert_eq!(counts["joined"].as_u64(), Some(pairs), "{name}: {counts}");
    assert_eq!(counts["labels"].as_u64(), Some(pairs + 1), "{name}: {counts}");
    assert_eq!(counts["unmatched_labels"], 1, "{name}: {counts}");
    assert_eq!(counts["unmatched_predictions"], 0, "{name}: {counts}");
    assert_eq!(summary["malformed"]["captures"]["count"], 1, "{name}");
    assert_eq!(summary["malformed"]["labels"]["count"], 1, "{name}");
}

#[test]
fn quality_on_local_files_gives_scikit_learns_metrics_for_every_problem() {
    let cases = quality_cases();
    assert!(cases.len() >= 10, "{} cases", cases.len());
    for case in &cases {
        let name = case["name"].as_str().unwrap();
        let scratch = Scratch::new(&format!("quality-{name}"));
        let policy = policy_with_monitor(case["problem"].as_str().unwrap(), case["threshold"].as_f64());
        let policy_file = scratch.write("policy.toml", &policy);
        let (captures, labels) = write_pairs(case);
        for (file, body) in captures.iter().chain(&labels) {
            scratch.write(file, body);
        }
        let summary = json_of(
            &[
                "quality",
                "--model",
                "housing-price",
                "--policy",
                &policy_file,
                "--captures",
                &scratch.path("a.jsonl"),
                &scratch.path("b.jsonl"),
                "--labels",
                &scratch.path("labels.jsonl"),
                "--json",
            ],
            &[],
        );
        assert_eq!(summary["problem"], case["problem"], "{name}");
        assert_matches_scikit_learn(case, &summary);
    }
}

#[test]
fn quality_prints_a_table_and_no_metrics_without_pairs() {
    let scratch = Scratch::new("quality-table");
    let policy = policy_with_monitor("regression", None);
    let env = [("RETRAIN_POLICY", policy.as_str())];
    let case = quality_cases()
        .into_iter()
        .find(|case| case["name"] == "regression_noisy")
        .unwrap();
    let (captures, labels) = write_pairs(&case);
    for (file, body) in captures.iter().chain(&labels) {
        scratch.write(file, body);
    }
    let (a, b, labels) = (
        scratch.path("a.jsonl"),
        scratch.path("b.jsonl"),
        scratch.path("labels.jsonl"),
    );
    let output = retrain(
        &[
            "quality",
            "--model",
            "housing-price",
            "--captures",
            &a,
            &b,
            "--labels",
            &labels,
        ],
        &env,
    );
    assert!(output.status.success(), "{}", text(&output.stderr));
    let stdout = text(&output.stdout);
    for expected in ["mae", "12174.27", "rmse", "15131.95", "joined", "unmatched labels"] {
        assert!(stdout.contains(expected), "{expected:?} missing from\n{stdout}");
    }

    // Labels for other captures only: count 0 and no metrics, not zeros.
    let other = scratch.write("other-labels.jsonl", &(label_line("someone-else", "1.0") + "\n"));
    let summary = json_of(
        &[
            "quality",
            "--model",
            "housing-price",
            "--captures",
            &a,
            "--labels",
            &other,
            "--json",
        ],
        &env,
    );
    assert_eq!(summary["metrics"], json!({"count": 0}));
    assert_eq!(summary["counts"]["unmatched_labels"], 1);
    let output = retrain(
        &[
            "quality",
            "--model",
            "housing-price",
            "--captures",
            &a,
            "--labels",
            &other,
        ],
        &env,
    );
    let stdout = text(&output.stdout);
    assert!(stdout.contains("no metrics") && !stdout.contains("mae"), "{stdout}");
}

#[test]
fn bad_input_is_refused_with_a_message_naming_what_is_wrong() {
    let scratch = Scratch::new("refusals");
    let policy = policy_with_monitor("regression", None);
    let with_monitor = [("RETRAIN_POLICY", policy.as_str())];
    let train = scratch.write("train.csv", "sqft,bedrooms,zipcode\n2140,3,98103\n");
    let out = scratch.path("statistics.json");
    let baseline = |model: &str, input: &str| {
        vec![
            "baseline".to_string(),
            "--model".into(),
            model.into(),
            "--input".into(),
            input.into(),
            "--out".into(),
            out.clone(),
        ]
    };
    let run = |args: Vec<String>, env: &[(&str, &str)]| {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        failure(&args, env, 2)
    };
    let stderr = run(baseline("housing-price", &train), &with_monitor);
    assert!(
        stderr.contains("no column \"bathrooms\"") && stderr.contains("train.csv"),
        "{stderr}"
    );
    assert!(!Path::new(&out).exists(), "nothing is written on a refusal");

    let stderr = run(baseline("churn", &train), &with_monitor);
    assert!(
        stderr.contains("model \"churn\" is not in the policy") && stderr.contains("housing-price"),
        "{stderr}"
    );

    let without_monitor = [("RETRAIN_POLICY", POLICY)];
    let stderr = run(baseline("housing-price", &train), &without_monitor);
    assert!(stderr.contains("has no [model.monitor] section"), "{stderr}");

    let stderr = run(baseline("housing-price", &train), &[]);
    assert!(stderr.contains("no policy") && stderr.contains("--policy"), "{stderr}");

    let stderr = run(baseline("housing-price", &scratch.path("missing.csv")), &with_monitor);
    assert!(
        stderr.contains("missing.csv") && stderr.contains("cannot be read"),
        "{stderr}"
    );

    // Only malformed lines: nothing profiled, nothing written.
    let junk = scratch.write("junk.jsonl", "{\"not\": \"a capture\"}\n");
    let stderr = failure(
        &["profile", "--model", "housing-price", &junk, "--out", &out],
        &with_monitor,
        2,
    );
    assert!(
        stderr.contains("no row could be profiled") && stderr.contains("1 malformed"),
        "{stderr}"
    );
    assert!(!Path::new(&out).exists());
}

/// Capture and label objects in moto's S3, read by prefix; statistics written to S3.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s3_prefixes_are_read_object_by_object_and_statistics_written_to_s3() -> Result<()> {
    let moto = Moto::start()?;
    let s3 = moto.s3().await;
    for bucket in ["captures", "reports"] {
        s3.create_bucket().bucket(bucket).send().await?;
    }
    let case = quality_cases()
        .into_iter()
        .find(|case| case["name"] == "regression_noisy")
        .unwrap();
    let (captures, labels) = write_pairs(&case);
    for (file, body) in &captures {
        let key = format!("datacapture/housing-price-prod/AllTraffic/2026/12/02/04/{file}");
        s3.put_object()
            .bucket("captures")
            .key(key)
            .body(body.clone().into_bytes().into())
            .send()
            .await?;
    }
    // The empty "folder" object the S3 console makes is not a capture object.
    s3.put_object()
        .bucket("captures")
        .key("datacapture/housing-price-prod/")
        .send()
        .await?;
    for (file, body) in &labels {
        let key = format!("ground-truth/housing-price/2026/12/02/04/{file}");
        s3.put_object()
            .bucket("captures")
            .key(key)
            .body(body.clone().into_bytes().into())
            .send()
            .await?;
    }
    let policy = policy_with_monitor("regression", None);
    let mut env = moto_env(&moto.endpoint);
    env.push(("RETRAIN_POLICY", policy.as_str()));

    let summary = json_of(
        &[
            "quality",
            "--model",
            "housing-price",
            "--captures",
            "s3://captures/datacapture/housing-price-prod/",
            "--labels",
            "s3://captures/ground-truth/housing-price",
            "--json",
        ],
        &env,
    );
    assert_eq!(
        (summary["capture_objects"].as_u64(), summary["label_objects"].as_u64()),
        (Some(2), Some(1))
    );
    assert_matches_scikit_learn(&case, &summary);

    // One object by its key, the policy read from S3 as the functions read it
    // (RETRAIN_POLICY_URI); the statistics land in S3 and read back as the
    // drift function reads them.
    s3.put_object()
        .bucket("reports")
        .key("policy.toml")
        .body(policy.clone().into_bytes().into())
        .send()
        .await?;
    let mut env_uri = moto_env(&moto.endpoint);
    env_uri.push(("RETRAIN_POLICY_URI", "s3://reports/policy.toml"));
    let one = "s3://captures/datacapture/housing-price-prod/AllTraffic/2026/12/02/04/a.jsonl";
    let out = "s3://reports/housing-price/baseline/statistics.json";
    let profile = json_of(
        &["profile", "--model", "housing-price", one, "--out", out, "--json"],
        &env_uri,
    );
    assert_eq!(
        (profile["objects"].as_u64(), profile["rows"].as_u64()),
        (Some(1), Some(150))
    );
    let written = s3
        .get_object()
        .bucket("reports")
        .key("housing-price/baseline/statistics.json")
        .send()
        .await?
        .body
        .collect()
        .await?
        .into_bytes();
    let written = String::from_utf8(written.to_vec())?;
    assert_eq!(serde_json::from_str::<Value>(&written)?, profile["statistics"]);
    assert_no_drift_against_itself(&written, &policy);

    // A training set written in parts under a prefix, each with its header: one baseline.
    let rows = training_rows(240);
    for (part, chunk) in rows.chunks(100).enumerate() {
        s3.put_object()
            .bucket("reports")
            .key(format!("training/part-{part}.csv"))
            .body(training_csv(chunk).into_bytes().into())
            .send()
            .await?;
    }
    let baseline = json_of(
        &[
            "baseline",
            "--model",
            "housing-price",
            "--input",
            "s3://reports/training/",
            "--out",
            out,
            "--json",
        ],
        &env,
    );
    assert_eq!(
        (baseline["objects"].as_u64(), baseline["rows"].as_u64()),
        (Some(3), Some(240))
    );
    let sqft_sum: u32 = rows.iter().map(|row| row.0).sum();
    assert_eq!(
        feature(&baseline["statistics"], "sqft")["numerical_statistics"]["sum"].as_f64(),
        Some(f64::from(sqft_sum))
    );

    // Nothing under a prefix, and a bucket that does not exist.
    let stderr = failure(
        &[
            "profile",
            "--model",
            "housing-price",
            "s3://captures/nothing/here/",
            "--out",
            out,
        ],
        &env,
        2,
    );
    assert!(
        stderr.contains("s3://captures/nothing/here/: nothing to read there"),
        "{stderr}"
    );
    let stderr = failure(
        &[
            "profile",
            "--model",
            "housing-price",
            "s3://no-such-bucket/x/",
            "--out",
            out,
        ],
        &env,
        1,
    );
    assert!(
        stderr.contains("s3://no-such-bucket/x/") && stderr.contains("refused"),
        "{stderr}"
    );
    Ok(())
}

/// An object S3 will not give: access denied is a refusal (exit 1), a 503 that
/// outlasts the SDK's retries is transient (exit 75); neither writes anything.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreadable_object_is_transient_or_refused_as_s3_says() -> Result<()> {
    let moto = Moto::start()?;
    let s3 = moto.s3().await;
    s3.create_bucket().bucket("captures").send().await?;
    let body = capture_line("e1", "2140,3,2,98103", "512345.2") + "\n";
    s3.put_object()
        .bucket("captures")
        .key("datacapture/a.jsonl")
        .body(body.into_bytes().into())
        .send()
        .await?;
    let scratch = Scratch::new("unreadable");
    let out = scratch.path("statistics.json");
    let policy = policy_with_monitor("regression", None);
    let proxy = FaultProxy::start(&moto).await?;
    let mut env = moto_env(&proxy.endpoint);
    env.push(("RETRAIN_POLICY", policy.as_str()));
    let args = [
        "profile",
        "--model",
        "housing-price",
        "s3://captures/datacapture/",
        "--out",
        &out,
    ];

    proxy.fail(Match::Get("/captures/datacapture/"), 1, 1, Fault::Status(403));
    let stderr = failure(&args, &env, 1);
    assert!(
        stderr.contains("S3 GetObject s3://captures/datacapture/a.jsonl was refused")
            && stderr.contains("AccessDenied"),
        "{stderr}"
    );
    assert!(!stderr.contains("transient"), "{stderr}");

    proxy.fail(Match::Get("/captures/datacapture/"), 1, usize::MAX, Fault::Status(503));
    let stderr = failure(&args, &env, 75);
    assert!(
        stderr.contains("S3 GetObject s3://captures/datacapture/a.jsonl failed transiently")
            && stderr.contains("run the command again"),
        "{stderr}"
    );
    assert!(!Path::new(&out).exists());
    Ok(())
}
