//! Reading drift reports: the statistics a drift request points at, read
//! through a `ReportReader` and parsed, turned into one `Signal::Drift` per
//! model the report is for. `trigger-aws`'s `S3Reports` reads them from S3,
//! `memory::MemoryReports` from memory.

use crate::error::TriggerError;
use async_trait::async_trait;
use std::collections::HashMap;
use trigger_decision::drift::{DriftReport, MonitorConstraints, Statistics};
use trigger_decision::{Policy, Signal, Timestamp};
use trigger_events::drift::DriftRequest;

/// Reads report objects by URI. `None` means the object does not exist.
#[async_trait]
pub trait ReportReader: Send + Sync + std::fmt::Debug {
    async fn read(&self, uri: &str) -> Result<Option<Vec<u8>>, TriggerError>;
}

/// Report objects already read in this invocation, by URI: several models may share a baseline.
#[derive(Debug, Default)]
struct Cache {
    statistics: HashMap<String, Statistics>,
}

/// Turns a drift request into one signal per model the policy binds it to.
/// With no bound model, one signal naming no model is returned, so the
/// decision says `no-matching-model` like every other trigger.
pub async fn signals_for(
    request: &DriftRequest,
    policy: &Policy,
    reader: &dyn ReportReader,
    now: Timestamp,
) -> Result<Vec<Signal>, TriggerError> {
    let models = policy.models_for_report(request.model.as_deref(), &request.current);
    let report = |model: Option<String>, baseline: Statistics, current: Statistics, constraints| {
        Signal::Drift(Box::new(DriftReport {
            report_id: request.report_id.clone(),
            model,
            source: request.current.clone(),
            observed_at: request.observed_at.unwrap_or(now),
            baseline,
            current,
            constraints,
            path: request.path,
        }))
    };
    if models.is_empty() {
        return Ok(vec![report(
            request.model.clone(),
            Statistics::default(),
            Statistics::default(),
            None,
        )]);
    }
    let mut cache = Cache::default();
    let current = statistics(reader, &request.current, "current", &mut cache).await?;
    let mut signals = Vec::with_capacity(models.len());
    for model in models {
        let drift = model.drift.as_ref();
        let baseline_uri = request
            .baseline
            .clone()
            .or_else(|| drift.and_then(|drift| drift.baseline.clone()));
        let Some(baseline_uri) = baseline_uri else {
            return Err(TriggerError::InvalidEvent(format!(
                "drift report {} names no baseline, and model {} has no drift.baseline in the policy",
                request.report_id, model.name
            )));
        };
        let baseline = statistics(reader, &baseline_uri, "baseline", &mut cache).await?;
        // Model Monitor keeps constraints.json beside the baseline statistics.json.
        let constraints_uri = request
            .constraints
            .clone()
            .unwrap_or_else(|| baseline_uri.replace("statistics.json", "constraints.json"));
        let constraints = constraints(reader, &constraints_uri).await?;
        signals.push(report(Some(model.name.clone()), baseline, current.clone(), constraints));
    }
    Ok(signals)
}

async fn statistics(
    reader: &dyn ReportReader,
    uri: &str,
    role: &str,
    cache: &mut Cache,
) -> Result<Statistics, TriggerError> {
    if let Some(known) = cache.statistics.get(uri) {
        return Ok(known.clone());
    }
    let bytes = reader.read(uri).await?.ok_or_else(|| {
        TriggerError::InvalidEvent(format!(
            "the {role} statistics {uri} do not exist; check the report location"
        ))
    })?;
    let document: serde_json::Value = serde_json::from_slice(&bytes)
        .map_err(|error| TriggerError::InvalidEvent(format!("the {role} statistics {uri} are not JSON: {error}")))?;
    let parsed = trigger_events::monitor::statistics(&document, uri)
        .map_err(|error| TriggerError::InvalidEvent(format!("the {role} statistics are unusable: {error}")))?;
    cache.statistics.insert(uri.to_string(), parsed.clone());
    Ok(parsed)
}

/// `constraints.json` is optional: absent gives `None`; present but not JSON is an error.
async fn constraints(reader: &dyn ReportReader, uri: &str) -> Result<Option<MonitorConstraints>, TriggerError> {
    let Some(bytes) = reader.read(uri).await? else {
        return Ok(None);
    };
    let document: serde_json::Value = serde_json::from_slice(&bytes)
        .map_err(|error| TriggerError::InvalidEvent(format!("the constraints {uri} are not JSON: {error}")))?;
    Ok(Some(trigger_events::monitor::constraints(&document)))
}
