//! A whole backtest from parsed inputs: evaluate the alarms, list the
//! schedule firings, merge the timeline, replay it through an engine for the
//! policy, each baseline and each sweep combination, and gather the report.
//!
//! The caller supplies `engine_for`, which builds a fresh engine (virtual
//! clock, in-memory store and ledger, seeded history) for a given policy;
//! every replay gets its own, so none sees another's executions.

use crate::alarm::{check_bindings, AlarmSet};
use crate::baseline::Variant;
use crate::error::BacktestError;
use crate::evaluate::{evaluate, to_signal};
use crate::replay::{replay, Decided, Engine};
use crate::report::{AlarmTimeline, ModelBinding, Report, ScheduleFirings, VariantTotals};
use crate::schedule::{check_schedules, Schedule};
use crate::series::MetricSeries;
use crate::summary::{summarize, totals, Totals};
use crate::sweep::{apply, combinations, mark_frontier, SweepAxis, SweepLine};
use crate::timeline::Timeline;
use std::collections::BTreeMap;
use thiserror::Error;
use trigger_decision::drift::DriftReport;
use trigger_decision::{AlarmChange, Policy, Span, Timestamp};

/// Everything a backtest reads, parsed.
#[derive(Debug, Clone, Copy)]
pub struct Inputs<'a> {
    pub policy: &'a Policy,
    pub alarms: &'a AlarmSet,
    /// Each alarm's values, by alarm name.
    pub series: &'a BTreeMap<String, MetricSeries>,
    pub schedules: &'a [Schedule],
    pub drift_reports: &'a [DriftReport],
    pub start: Timestamp,
    pub end: Timestamp,
    /// How long a started execution stays `Executing`; the engine adapter applies it.
    pub run_duration: Span,
    pub run_cost: Option<f64>,
    /// Empty for no sweep.
    pub sweep: &'a [SweepAxis],
    /// Also replay the blind-schedule and every-alarm baselines.
    pub baselines: bool,
}

/// Why a backtest stopped: its input, or the engine.
#[derive(Debug, Error)]
pub enum RunError<E: std::error::Error + 'static> {
    #[error(transparent)]
    Input(#[from] BacktestError),
    #[error("the decision engine failed during the replay: {0}")]
    Engine(#[source] E),
}

/// Runs the backtest; see the module documentation.
pub async fn run<E, F>(inputs: &Inputs<'_>, mut engine_for: F) -> Result<Report, RunError<E::Error>>
where
    E: Engine,
    E::Error: std::error::Error + 'static,
    F: FnMut(&Policy) -> E,
{
    let mut warnings = check_bindings(inputs.policy, inputs.alarms)?;
    warnings.extend(check_schedules(inputs.policy, inputs.schedules)?);
    let alarm_timelines = alarm_timelines(inputs)?;
    let changes: Vec<AlarmChange> = alarm_timelines
        .iter()
        .flat_map(|timeline| timeline.changes.iter().map(|change| to_signal(&timeline.alarm, change)))
        .collect();
    let ticks = inputs
        .schedules
        .iter()
        .flat_map(|schedule| schedule.ticks(inputs.start, inputs.end))
        .collect();
    let timeline = Timeline::merge(
        inputs.start,
        inputs.end,
        changes.clone(),
        ticks,
        inputs.drift_reports.to_vec(),
    )?;
    let (decisions, policy_totals) = replay_totals(inputs, &changes, &timeline, engine_for(inputs.policy)).await?;
    let mut comparison = vec![VariantTotals {
        variant: Variant::Policy,
        totals: policy_totals,
    }];
    let variants = if inputs.baselines { &Variant::ALL[1..] } else { &[] };
    for variant in variants {
        let policy = variant.apply(inputs.policy);
        let (_, totals) = replay_totals(inputs, &changes, &timeline, engine_for(&policy)).await?;
        comparison.push(VariantTotals {
            variant: *variant,
            totals,
        });
    }
    let mut sweep = Vec::new();
    let swept = if inputs.sweep.is_empty() {
        Vec::new()
    } else {
        combinations(inputs.sweep)?
    };
    for combination in swept {
        let policy = apply(inputs.policy, &combination);
        let (_, totals) = replay_totals(inputs, &changes, &timeline, engine_for(&policy)).await?;
        sweep.push(SweepLine::new(&combination, totals));
    }
    mark_frontier(&mut sweep);
    Ok(Report {
        start: inputs.start,
        end: inputs.end,
        run_duration: inputs.run_duration,
        run_cost: inputs.run_cost,
        models: ModelBinding::all(inputs.policy),
        schedules: inputs
            .schedules
            .iter()
            .map(|schedule| ScheduleFirings::new(schedule, inputs.start, inputs.end))
            .collect(),
        summaries: summarize(
            inputs.policy,
            &changes,
            &decisions,
            inputs.start,
            inputs.end,
            inputs.run_cost,
        ),
        alarms: alarm_timelines,
        decisions,
        comparison,
        sweep,
        warnings,
    })
}

/// Evaluates every alarm that has values; a bound alarm without values is an error.
fn alarm_timelines(inputs: &Inputs<'_>) -> Result<Vec<AlarmTimeline>, BacktestError> {
    let mut timelines = Vec::new();
    for alarm in &inputs.alarms.alarms {
        let Some(series) = inputs.series.get(&alarm.name) else {
            if let Some(model) = inputs
                .policy
                .models_for_alarm(&alarm.name, alarm.arn.as_deref())
                .first()
            {
                return Err(BacktestError::Binding {
                    model: model.name.clone(),
                    alarm: alarm.name.clone(),
                    problem:
                        "has no values; give a series for it (a `timestamp,value` CSV) or fetch it from CloudWatch"
                            .to_string(),
                });
            }
            continue;
        };
        timelines.push(AlarmTimeline {
            changes: evaluate(alarm, series, inputs.end)?,
            alarm: alarm.clone(),
        });
    }
    Ok(timelines)
}

/// One replay and its totals over models.
async fn replay_totals<E>(
    inputs: &Inputs<'_>,
    changes: &[AlarmChange],
    timeline: &Timeline,
    mut engine: E,
) -> Result<(Vec<Decided>, Totals), RunError<E::Error>>
where
    E: Engine,
    E::Error: std::error::Error + 'static,
{
    let decisions = replay(&mut engine, timeline).await.map_err(RunError::Engine)?;
    // Breach is measured on the user's bindings: a baseline that drops a
    // model's alarms changes what starts, not when the model is stale.
    let summaries = summarize(
        inputs.policy,
        changes,
        &decisions,
        inputs.start,
        inputs.end,
        inputs.run_cost,
    );
    Ok((decisions, totals(&summaries)))
}
