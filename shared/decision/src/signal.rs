//! Signals: what an event means, with its envelope already stripped.
//!
//! The decoders in `trigger-events` turn each AWS payload into one of these.
//! Everything the decision and the dedupe key need is here, and nothing about
//! which JSON shape it came from except `path`, which is kept for the logs.

use crate::drift::DriftReport;
use crate::key::DedupeKey;
use crate::path::Path;
use crate::policy::Approval;
use crate::time::Timestamp;
use std::collections::BTreeMap;
use std::fmt;

/// One thing that may call for retraining.
#[derive(Debug, Clone, PartialEq)]
pub enum Signal {
    Alarm(AlarmChange),
    Schedule(ScheduleTick),
    /// Boxed: a report carries every feature's statistics.
    Drift(Box<DriftReport>),
    /// A person asked for a retrain (`manual-trigger`).
    Manual(ManualRequest),
}

/// The state a CloudWatch alarm is in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AlarmState {
    Alarm,
    Ok,
    InsufficientData,
    /// A state CloudWatch may add later; never evidence.
    Other(String),
}

impl AlarmState {
    pub fn parse(text: &str) -> AlarmState {
        match text {
            "ALARM" => AlarmState::Alarm,
            "OK" => AlarmState::Ok,
            "INSUFFICIENT_DATA" => AlarmState::InsufficientData,
            other => AlarmState::Other(other.to_string()),
        }
    }

    pub fn as_str(&self) -> &str {
        match self {
            AlarmState::Alarm => "ALARM",
            AlarmState::Ok => "OK",
            AlarmState::InsufficientData => "INSUFFICIENT_DATA",
            AlarmState::Other(other) => other,
        }
    }
}

/// Which kind of CloudWatch alarm changed state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AlarmKind {
    Metric,
    MetricMath,
    AnomalyDetection,
    Composite,
}

impl AlarmKind {
    pub fn as_str(self) -> &'static str {
        match self {
            AlarmKind::Metric => "metric",
            AlarmKind::MetricMath => "metric-math",
            AlarmKind::AnomalyDetection => "anomaly-detection",
            AlarmKind::Composite => "composite",
        }
    }
}

/// The measurement behind a metric alarm, as far as the payload tells it.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Measurement {
    /// The metric name, or the math expression for metric-math alarms.
    pub metric: Option<String>,
    pub value: Option<f64>,
    pub threshold: Option<f64>,
    /// CloudWatch's operator name, e.g. `GreaterThanThreshold`.
    pub comparison: Option<String>,
}

/// A CloudWatch alarm's state change, from any of its three delivery paths.
#[derive(Debug, Clone, PartialEq)]
pub struct AlarmChange {
    pub alarm_name: String,
    pub alarm_arn: Option<String>,
    pub kind: AlarmKind,
    pub state: AlarmState,
    pub previous_state: Option<AlarmState>,
    /// CloudWatch's own sentence for the change.
    pub state_reason: String,
    /// When the alarm entered `state`. With the name, this identifies the change.
    pub state_changed_at: Timestamp,
    pub measurement: Measurement,
    /// For composite alarms, the child alarms that caused the change.
    pub triggering_alarms: Vec<String>,
    pub path: Path,
}

/// One firing of a schedule bound to models.
#[derive(Debug, Clone, PartialEq)]
pub struct ScheduleTick {
    pub schedule_name: String,
    /// The rule or schedule ARN, when the event carried one.
    pub schedule_arn: Option<String>,
    pub scheduled_time: Timestamp,
    pub path: Path,
}

/// A person's request to retrain one model now, from the manual function.
#[derive(Debug, Clone, PartialEq)]
pub struct ManualRequest {
    pub model: String,
    /// Why, in the requester's words; required.
    pub reason: String,
    /// Who asked: the caller's IAM ARN behind a function URL, the body's `requested_by` when invoked directly.
    pub requested_by: String,
    /// Skip the cooldown (never the in-flight check or the budget).
    pub force: bool,
    /// Pipeline parameters to override; only names the model's `allow_overrides` lists.
    pub parameters: BTreeMap<String, String>,
    /// A stricter approval than the policy's; never a looser one.
    pub approval: Option<Approval>,
    /// Identifies the request across Lambda's retries; the dedupe key.
    pub request_id: String,
    pub requested_at: Timestamp,
    pub path: Path,
}

impl ManualRequest {
    /// `manual request by arn:aws:iam::…:user/ana (forced): new feature zipcode_cluster`.
    pub fn summary(&self) -> String {
        let forced = if self.force { " (forced)" } else { "" };
        format!("manual request by {}{forced}: {}", self.requested_by, self.reason)
    }
}

/// The `TriggerType` pipeline parameter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TriggerType {
    Metric,
    Schedule,
    Drift,
    Manual,
}

impl fmt::Display for TriggerType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TriggerType::Metric => "metric",
            TriggerType::Schedule => "schedule",
            TriggerType::Drift => "drift",
            TriggerType::Manual => "manual",
        })
    }
}

impl Signal {
    /// The dedupe key: what the event means, not its envelope. One alarm state
    /// change gives the same key whether it came by alarm action, SNS or
    /// EventBridge, and any number of redeliveries give it again.
    pub fn dedupe_key(&self) -> DedupeKey {
        DedupeKey::new(match self {
            Signal::Alarm(change) => format!("alarm/{}/{}", change.alarm_name, change.state_changed_at.millis()),
            Signal::Schedule(tick) => format!("schedule/{}/{}", tick.schedule_name, tick.scheduled_time.millis()),
            Signal::Drift(report) => format!("drift/{}", report.report_id),
            Signal::Manual(request) => format!("manual/{}", request.request_id),
        })
    }

    pub fn trigger_type(&self) -> TriggerType {
        match self {
            Signal::Alarm(_) => TriggerType::Metric,
            Signal::Schedule(_) => TriggerType::Schedule,
            Signal::Drift(_) => TriggerType::Drift,
            Signal::Manual(_) => TriggerType::Manual,
        }
    }

    /// When the thing the signal reports happened.
    pub fn occurred_at(&self) -> Timestamp {
        match self {
            Signal::Alarm(change) => change.state_changed_at,
            Signal::Schedule(tick) => tick.scheduled_time,
            Signal::Drift(report) => report.observed_at,
            Signal::Manual(request) => request.requested_at,
        }
    }

    pub fn path(&self) -> Path {
        match self {
            Signal::Alarm(change) => change.path,
            Signal::Schedule(tick) => tick.path,
            Signal::Drift(report) => report.path,
            Signal::Manual(request) => request.path,
        }
    }

    /// A one-line description of the source event for logs and records.
    pub fn summary(&self) -> String {
        match self {
            Signal::Alarm(change) => change.summary(),
            Signal::Schedule(tick) => format!("schedule {} fired for {}", tick.schedule_name, tick.scheduled_time),
            Signal::Drift(report) => format!("drift report {} ({})", report.report_id, report.source),
            Signal::Manual(request) => request.summary(),
        }
    }
}

impl AlarmChange {
    /// `alarm housing-price-mae-high moved to ALARM at …: mae 16250 > 15000`.
    pub fn summary(&self) -> String {
        let mut text = format!(
            "alarm {} moved to {} at {}",
            self.alarm_name,
            self.state.as_str(),
            self.state_changed_at
        );
        if let Some(comparison) = self.measurement.describe() {
            text.push_str(": ");
            text.push_str(&comparison);
        } else if !self.triggering_alarms.is_empty() {
            text.push_str(": triggered by ");
            text.push_str(&self.triggering_alarms.join(", "));
        }
        text
    }
}

impl Measurement {
    /// `mae 16250 > 15000`, or as much of it as is known; `None` when nothing is.
    pub fn describe(&self) -> Option<String> {
        let metric = self.metric.as_deref().unwrap_or("value");
        let operator = match self.comparison.as_deref() {
            Some("GreaterThanThreshold") => ">",
            Some("GreaterThanOrEqualToThreshold") => ">=",
            Some("LessThanThreshold") => "<",
            Some("LessThanOrEqualToThreshold") => "<=",
            _ => "vs threshold",
        };
        match (self.value, self.threshold) {
            (Some(value), Some(threshold)) => Some(format!("{metric} {value} {operator} {threshold}")),
            (Some(value), None) => Some(format!("{metric} {value}")),
            (None, Some(threshold)) => Some(format!("{metric} threshold {threshold}")),
            (None, None) => None,
        }
    }
}
