//! The audit trail: every decision of every function as an immutable JSON
//! record in the ledger bucket, at
//! `<prefix>/decisions/<model>/<yyyy>/<mm>/<dd>/<timestamp>-<trigger_id>.json`,
//! written with `If-None-Match: *` so nothing ever overwrites a record.
//!
//! A record holds what an operator needs to answer "why did this model
//! retrain on Tuesday?" and "why didn't it when the alarm fired?": the trigger
//! and a summary of its event, the policy's content hash, the history the
//! decision saw, and the outcome with the execution and its parameters.

use crate::error::TriggerError;
use crate::ledger::S3Location;
use aws_sdk_s3::primitives::ByteStream;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;
use trigger_decision::{Evidence, Execution, Timestamp};

/// The model name under which decisions for no model are filed.
pub const NO_MODEL: &str = "none";

/// One decision, as the audit trail keeps it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditRecord {
    /// When the decision was made, RFC 3339 UTC.
    pub time: String,
    pub recorded_at: Timestamp,
    /// The model, or `none` when no model was bound to the event.
    pub model: String,
    pub trigger_id: String,
    /// `metric`, `schedule`, `drift` or `manual`; `None` for an input that carried no signal.
    pub trigger_type: Option<String>,
    /// How the event arrived, e.g. `sns` or `function-url`.
    pub path: String,
    pub dedupe_key: Option<String>,
    /// The source event in one line: the alarm with its value and threshold,
    /// the report, the schedule, or who asked and why.
    pub source: String,
    /// SHA-256 of the policy text the decision was made under.
    pub policy_sha256: String,
    /// What the decision saw; `None` when it needed no history (an ignored or stale event).
    pub history: Option<SeenHistory>,
    pub outcome: String,
    pub reason: String,
    pub detail: String,
    pub execution_arn: Option<String>,
    /// The parameters passed to (or, in a dry run, that would have gone to) the pipeline.
    pub parameters: BTreeMap<String, String>,
}

/// The history a decision saw.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct SeenHistory {
    /// The most recent execution of the pipeline, whoever started it.
    pub last_start: Option<SeenExecution>,
    /// An execution still `Executing` or `Stopping`.
    pub in_flight: Option<SeenExecution>,
    /// Executions listed in the look-back window.
    pub executions: usize,
    /// Evidence kept in the ledger, not yet acted on.
    pub evidence: usize,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SeenExecution {
    pub arn: String,
    pub status: String,
    pub started_at: String,
}

impl SeenHistory {
    pub fn new(executions: &[Execution], evidence: &[Evidence]) -> SeenHistory {
        let seen = |execution: &Execution| SeenExecution {
            arn: execution.arn.clone(),
            status: match &execution.status {
                trigger_decision::ExecutionStatus::Other(text) => text.clone(),
                known => format!("{known:?}"),
            },
            started_at: execution.started_at.to_string(),
        };
        SeenHistory {
            last_start: executions.iter().max_by_key(|execution| execution.started_at).map(seen),
            in_flight: executions
                .iter()
                .find(|execution| execution.status.is_in_flight())
                .map(seen),
            executions: executions.len(),
            evidence: evidence.len(),
        }
    }
}

impl AuditRecord {
    /// The object key under the ledger prefix:
    /// `decisions/<model>/<yyyy>/<mm>/<dd>/<yyyymmddThhmmssmmmZ>-<trigger_id>.json`.
    pub fn relative_key(&self) -> String {
        // `2024-01-04T09:15:30.123Z`: the date parts name the folders, the compact form the file.
        let time = self.recorded_at.to_string();
        let (year, month, day) = (&time[0..4], &time[5..7], &time[8..10]);
        let stamp: String = time.chars().filter(|c| !matches!(c, '-' | ':' | '.')).collect();
        format!(
            "decisions/{}/{year}/{month}/{day}/{stamp}-{}.json",
            self.model, self.trigger_id
        )
    }
}

/// A future a `DecisionLog` returns; boxed so the trait can be a trait object.
pub type LogFuture<'a> = Pin<Box<dyn Future<Output = Result<(), TriggerError>> + Send + 'a>>;

/// Where decision records go. A failure is `Transient`: the event is retried,
/// the retry answers `already-started` (or decides again) and records again.
pub trait DecisionLog: Send + Sync + std::fmt::Debug {
    fn record<'a>(&'a self, record: &'a AuditRecord) -> LogFuture<'a>;
}

/// The audit trail in S3, under the ledger's prefix.
#[derive(Debug, Clone)]
pub struct S3DecisionLog {
    client: aws_sdk_s3::Client,
    location: S3Location,
}

impl S3DecisionLog {
    pub fn new(client: aws_sdk_s3::Client, location: S3Location) -> Self {
        S3DecisionLog { client, location }
    }
}

impl DecisionLog for S3DecisionLog {
    fn record<'a>(&'a self, record: &'a AuditRecord) -> LogFuture<'a> {
        Box::pin(async move {
            let key = self.location.key(&record.relative_key());
            let body = serde_json::to_vec_pretty(record).map_err(|error| {
                TriggerError::transient(format!("serialising decision record {key}"), error.to_string())
            })?;
            let written = self
                .client
                .put_object()
                .bucket(&self.location.bucket)
                .key(&key)
                .content_type("application/json")
                .if_none_match("*")
                .body(ByteStream::from(body))
                .send()
                .await;
            match written {
                Ok(_) => Ok(()),
                // The same decision, to the millisecond, was already recorded: records are immutable.
                Err(error) if error.raw_response().is_some_and(|raw| raw.status().as_u16() == 412) => Ok(()),
                Err(error) => {
                    // Whatever S3 answered, the decision is not on record: retrying is the remedy.
                    let failure =
                        TriggerError::from_sdk(format!("S3 PutObject s3://{}/{key}", self.location.bucket), error);
                    Err(TriggerError::transient(
                        format!("recording the decision at s3://{}/{key}", self.location.bucket),
                        failure.to_string(),
                    ))
                }
            }
        })
    }
}

/// Every record of one trigger (one per model it reached, and per retry), newest
/// first; under one model's folder when `model` is given, else under all of them.
pub async fn find_records(
    client: &aws_sdk_s3::Client,
    location: &S3Location,
    model: Option<&str>,
    trigger_id: &str,
) -> Result<Vec<AuditRecord>, TriggerError> {
    let prefix = location.key(&match model {
        Some(model) => format!("decisions/{model}/"),
        None => "decisions/".to_string(),
    });
    let suffix = format!("-{trigger_id}.json");
    let mut records = Vec::new();
    for key in list_keys(client, location, &prefix).await? {
        if key.ends_with(&suffix) {
            records.push(read_record(client, location, &key).await?);
        }
    }
    records.sort_by_key(|record| std::cmp::Reverse(record.recorded_at));
    Ok(records)
}

async fn list_keys(
    client: &aws_sdk_s3::Client,
    location: &S3Location,
    prefix: &str,
) -> Result<Vec<String>, TriggerError> {
    let mut keys = Vec::new();
    let mut pages = client
        .list_objects_v2()
        .bucket(&location.bucket)
        .prefix(prefix)
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|error| {
            TriggerError::from_sdk(format!("S3 ListObjectsV2 s3://{}/{prefix}", location.bucket), error)
        })?;
        keys.extend(
            page.contents()
                .iter()
                .filter_map(|object| object.key().map(str::to_string)),
        );
    }
    Ok(keys)
}

async fn read_record(
    client: &aws_sdk_s3::Client,
    location: &S3Location,
    key: &str,
) -> Result<AuditRecord, TriggerError> {
    let body = client
        .get_object()
        .bucket(&location.bucket)
        .key(key)
        .send()
        .await
        .map_err(|error| TriggerError::from_sdk(format!("S3 GetObject s3://{}/{key}", location.bucket), error))?
        .body
        .collect()
        .await
        .map_err(|error| TriggerError::transient(format!("reading s3://{}/{key}", location.bucket), error.to_string()))?
        .into_bytes();
    serde_json::from_slice(&body).map_err(|error| TriggerError::LedgerCorrupt {
        key: format!("s3://{}/{key}", location.bucket),
        message: error.to_string(),
    })
}

/// Reads decision records back, newest first, for the CLI and tests.
pub async fn list_records(
    client: &aws_sdk_s3::Client,
    location: &S3Location,
    model: &str,
    since: Timestamp,
    until: Timestamp,
) -> Result<Vec<AuditRecord>, TriggerError> {
    let mut records = Vec::new();
    // One listing per day folder in range keeps listings small for long-lived models.
    let day = 86_400_000;
    let mut day_start = since.millis().div_euclid(day) * day;
    while day_start <= until.millis() {
        let date = Timestamp(day_start).to_string();
        let prefix = location.key(&format!(
            "decisions/{model}/{}/{}/{}/",
            &date[0..4],
            &date[5..7],
            &date[8..10]
        ));
        for key in list_keys(client, location, &prefix).await? {
            let record = read_record(client, location, &key).await?;
            if record.recorded_at >= since && record.recorded_at <= until {
                records.push(record);
            }
        }
        day_start += day;
    }
    records.sort_by_key(|record| std::cmp::Reverse(record.recorded_at));
    Ok(records)
}
