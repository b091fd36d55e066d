//! Everything a backtest found, as one value, and its three renderings: a
//! text table (`table`), JSON (`Report::to_json`), and a self-contained HTML
//! page with a chart per model (`html`).

pub mod html;
pub mod table;

use crate::alarm::AlarmDefinition;
use crate::baseline::Variant;
use crate::error::BacktestError;
use crate::evaluate::StateChange;
use crate::replay::Decided;
use crate::schedule::Schedule;
use crate::summary::{ModelSummary, Totals};
use crate::sweep::SweepLine;
use crate::warning::Warning;
use serde::Serialize;
use trigger_decision::{Policy, Span, Timestamp};

/// A backtest's inputs, in short, and everything it found.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    #[serde(serialize_with = "crate::json::timestamp")]
    pub start: Timestamp,
    #[serde(serialize_with = "crate::json::timestamp")]
    pub end: Timestamp,
    /// How long a started execution stayed `Executing` in the replay.
    #[serde(serialize_with = "crate::json::span_seconds", rename = "run_duration_seconds")]
    pub run_duration: Span,
    pub run_cost: Option<f64>,
    pub models: Vec<ModelBinding>,
    pub alarms: Vec<AlarmTimeline>,
    pub schedules: Vec<ScheduleFirings>,
    /// Every decision of the policy's replay, in order.
    pub decisions: Vec<Decided>,
    /// The policy's replay, per model.
    pub summaries: Vec<ModelSummary>,
    /// The policy and its baselines, summed over models.
    pub comparison: Vec<VariantTotals>,
    /// One line per sweep combination; empty without `--sweep`.
    pub sweep: Vec<SweepLine>,
    pub warnings: Vec<Warning>,
}

/// Which alarms and schedules a model binds.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ModelBinding {
    pub model: String,
    pub alarms: Vec<String>,
    pub schedules: Vec<String>,
}

impl ModelBinding {
    pub fn all(policy: &Policy) -> Vec<ModelBinding> {
        policy
            .models
            .iter()
            .map(|model| ModelBinding {
                model: model.name.clone(),
                alarms: model.alarms.clone(),
                schedules: model.schedules.clone(),
            })
            .collect()
    }
}

/// One alarm's definition and every state change the evaluator found.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AlarmTimeline {
    pub alarm: AlarmDefinition,
    pub changes: Vec<StateChange>,
}

impl AlarmTimeline {
    /// Whether a model entry (a name or an ARN) names this alarm.
    pub fn is_named_by(&self, entry: &str) -> bool {
        self.alarm.name == entry || self.alarm.arn.as_deref() == Some(entry)
    }
}

/// One schedule's expression and firings in the replay.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ScheduleFirings {
    pub schedule: String,
    pub expression: String,
    #[serde(serialize_with = "crate::json::timestamps")]
    pub firings: Vec<Timestamp>,
}

impl ScheduleFirings {
    pub fn new(schedule: &Schedule, start: Timestamp, end: Timestamp) -> ScheduleFirings {
        ScheduleFirings {
            schedule: schedule.name.clone(),
            expression: schedule.text.clone(),
            firings: schedule.firings(start, end),
        }
    }
}

/// One variant's totals, for the policy-versus-baselines lines.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct VariantTotals {
    pub variant: Variant,
    pub totals: Totals,
}

impl Report {
    /// The report as pretty-printed JSON (its schema is in the README).
    pub fn to_json(&self) -> Result<String, BacktestError> {
        serde_json::to_string_pretty(self).map_err(|error| BacktestError::Json {
            problem: error.to_string(),
        })
    }

    /// The decisions for one model, in order.
    pub fn decisions_for<'r>(&'r self, model: &'r str) -> impl Iterator<Item = &'r Decided> + 'r {
        self.decisions
            .iter()
            .filter(move |decided| decided.model() == Some(model))
    }
}
