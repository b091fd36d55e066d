//! The audit trail in S3: each decision record (`trigger_engine::AuditRecord`)
//! as an immutable object under the ledger's prefix,
//! `<prefix>/decisions/<model>/<yyyy>/<mm>/<dd>/<timestamp>-<trigger_id>.json`,
//! written with `If-None-Match: *` so nothing ever overwrites a record; and
//! the readers the CLI uses to read them back.

use crate::error::{body_error, from_sdk};
use crate::location::S3Location;
use async_trait::async_trait;
use aws_sdk_s3::primitives::ByteStream;
use trigger_decision::Timestamp;
use trigger_engine::{AuditRecord, DecisionLog, TriggerError};

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

#[async_trait]
impl DecisionLog for S3DecisionLog {
    async fn record(&self, record: &AuditRecord) -> Result<(), TriggerError> {
        let key = self.location.key(&record.relative_key());
        let body = serde_json::to_vec_pretty(record)
            .map_err(|error| TriggerError::serialisation(format!("decision record {key}"), &error))?;
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
            // The decision is not on record. Throttling or an outage is
            // `Transient`; a refusal (no such bucket, access denied) repeats
            // on every retry, so it is `Misconfigured`, as on every other call.
            Err(error) => Err(from_sdk(
                format!("recording the decision at s3://{}/{key}", self.location.bucket),
                error,
            )),
        }
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

/// Every key under `prefix` in the location's bucket (also used by `retrain backtest` for drift reports).
pub async fn list_keys(
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
        let page =
            page.map_err(|error| from_sdk(format!("S3 ListObjectsV2 s3://{}/{prefix}", location.bucket), error))?;
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
        .map_err(|error| from_sdk(format!("S3 GetObject s3://{}/{key}", location.bucket), error))?
        .body
        .collect()
        .await
        .map_err(|error| body_error(format!("reading s3://{}/{key}", location.bucket), error))?
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
