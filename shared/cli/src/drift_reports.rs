//! `--drift-reports`: Model Monitor reports replayed through the drift path.
//!
//! An S3 prefix is read as the drift function reads S3: every
//! `statistics.json` under it whose key ends in `<yyyy>/<mm>/<dd>/<hh>/statistics.json`
//! (Model Monitor's layout) is one report produced at that hour, routed to
//! models by their `drift.reports` prefixes and judged against their
//! `drift.baseline`, through `trigger-aws`'s `S3Reports`.
//!
//! A folder on disk holds one folder per model, and in it one folder per
//! report, named by when the report was produced:
//!
//! ```text
//! DIR/<model>/baseline/statistics.json     (and constraints.json, optional)
//! DIR/<model>/<RFC 3339 time>/statistics.json
//! ```
//!
//! Every object is put in the engine's in-memory `ReportReader` and each
//! report goes through `trigger_engine::reports::signals_for`, the code the
//! drift function runs, so the statistics are read and checked as in Lambda.

use crate::backtest_error::CommandError;
use std::path::Path;
use trigger_aws::audit::list_keys;
use trigger_aws::lambda::{load_sdk_config, s3_client};
use trigger_aws::{S3Location, S3Reports};
use trigger_backtest::series::parse_timestamp;
use trigger_decision::drift::DriftReport;
use trigger_decision::{Path as SignalPath, Policy, Signal, Timestamp};
use trigger_engine::memory::MemoryReports;
use trigger_engine::reports::signals_for;
use trigger_engine::TriggerError;
use trigger_events::drift::DriftRequest;

/// Where the files are put in the in-memory reader: `MemoryReports` reads `s3://` URIs.
const BUCKET: &str = "s3://drift-reports";

/// Every report under `folder`, for the models the policy gives a drift section.
pub async fn load(folder: &Path, policy: &Policy) -> Result<Vec<DriftReport>, CommandError> {
    let reader = MemoryReports::new();
    let mut reports = Vec::new();
    for entry in entries(folder)? {
        let model = entry.file_name().to_string_lossy().into_owned();
        if !entry.path().is_dir() {
            continue;
        }
        let model_folder = entry.path();
        let baseline = format!("{BUCKET}/{model}/baseline");
        put(
            &reader,
            &model_folder.join("baseline/statistics.json"),
            &format!("{baseline}/statistics.json"),
        )?;
        let constraints = model_folder.join("baseline/constraints.json");
        if constraints.exists() {
            put(&reader, &constraints, &format!("{baseline}/constraints.json"))?;
        }
        for report in entries(&model_folder)? {
            let name = report.file_name().to_string_lossy().into_owned();
            if name == "baseline" || !report.path().is_dir() {
                continue;
            }
            let observed_at = parse_timestamp(&name).ok_or_else(|| CommandError::Argument {
                flag: "--drift-reports",
                value: report.path().display().to_string(),
                problem: "is not named by an RFC 3339 time (like 2024-01-08T06:00:00Z), nor `baseline`".to_string(),
            })?;
            let current = format!("{BUCKET}/{model}/{name}/statistics.json");
            put(&reader, &report.path().join("statistics.json"), &current)?;
            let request = DriftRequest {
                model: Some(model.clone()),
                report_id: format!("{model}/{name}"),
                current,
                baseline: Some(format!("{baseline}/statistics.json")),
                constraints: None,
                observed_at: Some(observed_at),
                path: SignalPath::Direct,
            };
            let signals = signals_for(&request, policy, &reader, observed_at)
                .await
                .map_err(|error| CommandError::Argument {
                    flag: "--drift-reports",
                    value: report.path().display().to_string(),
                    problem: error.to_string(),
                })?;
            reports.extend(drift_only(signals));
        }
    }
    Ok(reports)
}

/// Every timestamped report under the S3 prefix `uri`, and how many
/// `statistics.json` objects carried no time in their key.
pub async fn load_s3(uri: &str, policy: &Policy) -> Result<(Vec<DriftReport>, usize), CommandError> {
    let location = S3Location::parse(uri).ok_or_else(|| CommandError::Argument {
        flag: "--drift-reports",
        value: uri.to_string(),
        problem: "is not an S3 prefix; write it like s3://bucket/prefix/".to_string(),
    })?;
    let client = s3_client(&load_sdk_config().await);
    let keys = list_keys(&client, &location, &location.prefix)
        .await
        .map_err(CommandError::Aws)?;
    let reader = S3Reports::new(client);
    let (mut reports, mut skipped) = (Vec::new(), 0);
    for key in keys.iter().filter(|key| key.ends_with("/statistics.json")) {
        let Some(observed_at) = hour_of(key) else {
            skipped += 1;
            continue;
        };
        let current = format!("s3://{}/{key}", location.bucket);
        let request = DriftRequest {
            model: None,
            report_id: current.clone(),
            current,
            baseline: None,
            constraints: None,
            observed_at: Some(observed_at),
            path: SignalPath::S3,
        };
        let signals = signals_for(&request, policy, &reader, observed_at)
            .await
            .map_err(|error| match error {
                TriggerError::InvalidEvent(problem) => CommandError::Argument {
                    flag: "--drift-reports",
                    value: request.report_id.clone(),
                    problem,
                },
                other => CommandError::Aws(other),
            })?;
        reports.extend(drift_only(signals));
    }
    Ok((reports, skipped))
}

/// The hour in a key ending `.../<yyyy>/<mm>/<dd>/<hh>/statistics.json`.
fn hour_of(key: &str) -> Option<Timestamp> {
    let parts: Vec<&str> = key.rsplit('/').skip(1).take(4).collect();
    let [hour, day, month, year] = parts[..] else {
        return None;
    };
    let all_digits = |text: &str, width: usize| text.len() == width && text.bytes().all(|b| b.is_ascii_digit());
    if !(all_digits(year, 4) && all_digits(month, 2) && all_digits(day, 2) && all_digits(hour, 2)) {
        return None;
    }
    parse_timestamp(&format!("{year}-{month}-{day}T{hour}:00:00Z"))
}

fn drift_only(signals: Vec<Signal>) -> impl Iterator<Item = DriftReport> {
    signals.into_iter().filter_map(|signal| match signal {
        Signal::Drift(report) => Some(*report),
        _ => None,
    })
}

/// The folder's entries, sorted by name so the order does not depend on the file system.
fn entries(folder: &Path) -> Result<Vec<std::fs::DirEntry>, CommandError> {
    let unreadable = |cause| CommandError::Read {
        file: folder.display().to_string(),
        cause,
    };
    let mut entries = std::fs::read_dir(folder)
        .map_err(unreadable)?
        .collect::<Result<Vec<_>, _>>()
        .map_err(unreadable)?;
    entries.sort_by_key(std::fs::DirEntry::file_name);
    Ok(entries)
}

fn put(reader: &MemoryReports, file: &Path, uri: &str) -> Result<(), CommandError> {
    let bytes = std::fs::read(file).map_err(|cause| CommandError::Read {
        file: file.display().to_string(),
        cause,
    })?;
    reader.put(uri, &bytes);
    Ok(())
}
