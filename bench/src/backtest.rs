//! The backtest at full size, for `benches/backtest.rs`: one year of
//! 1-minute values for 50 alarms (26 million points), 50 models each bound
//! to one alarm and a weekly schedule, executions running 2 h. The alarms
//! are evaluated, their state changes and the schedule firings merged into
//! the timeline, and the timeline replayed through the real decision engine
//! (`ReplayEngine`: `trigger_engine::Trigger` over its in-memory parts), as
//! `retrain backtest` does; or through an engine that only counts what it is
//! handed, which isolates the backtest crate's own share.

use std::fmt::Write as _;
use trigger_backtest::synthetic::mostly_quiet;
use trigger_backtest::{
    block_on, evaluate, parse_csv, replay, to_signal, AlarmDefinition, Comparison, Engine, EngineDecision,
    MetricSeries, ReplayEngine, Schedule, Timeline, TreatMissingData,
};
use trigger_decision::{Outcome, Policy, Signal, Span, Timestamp};

pub const ALARMS: usize = 50;
pub const DAYS: i64 = 365;
const PERIOD: Span = Span::from_secs(60);
const THRESHOLD: f64 = 100.0;
/// Incidents per alarm and year, each 30 minutes above the threshold.
const BREACHES: usize = 24;
/// How long a started execution runs in the replay.
pub const RUN_DURATION: Span = Span::from_secs(2 * 3600);

/// The alarms, their values and the weekly schedules, built once.
#[derive(Debug)]
pub struct BacktestScenario {
    pub alarms: Vec<AlarmDefinition>,
    pub series: Vec<MetricSeries>,
    pub schedules: Vec<Schedule>,
    /// One model per alarm, bound to it and to its weekly schedule.
    pub policy: Policy,
    pub start: Timestamp,
    pub end: Timestamp,
}

impl BacktestScenario {
    /// `alarms` alarms and as many weekly schedules, over `days` days from 2023-01-01.
    pub fn new(alarms: usize, days: i64) -> Result<BacktestScenario, String> {
        let start = Timestamp::from_millis(1_672_531_200_000);
        let end = start.plus(Span::from_secs(days * 86_400));
        let points = usize::try_from(days * 1440).map_err(|error| error.to_string())?;
        let definitions = (0..alarms)
            .map(|index| AlarmDefinition {
                name: format!("model-{index}-mae-high"),
                arn: None,
                metric: Some("mae".to_string()),
                metric_math: false,
                period: PERIOD,
                evaluation_periods: 5,
                datapoints_to_alarm: 3,
                comparison: Comparison::GreaterThanThreshold,
                threshold: THRESHOLD,
                treat_missing_data: TreatMissingData::Missing,
            })
            .collect();
        let series = (0..alarms)
            .map(|index| mostly_quiet(start, PERIOD, points, THRESHOLD, BREACHES, index as u64 + 1))
            .collect();
        let schedules = (0..alarms)
            .map(|index| Schedule::parse(&format!("model-{index}-weekly"), "cron(0 6 ? * MON *)"))
            .collect::<Result<_, _>>()
            .map_err(|error| error.to_string())?;
        Ok(BacktestScenario {
            policy: policy(alarms)?,
            alarms: definitions,
            series,
            schedules,
            start,
            end,
        })
    }
}

/// Stands in for the engine: counts deliveries, decides nothing.
#[derive(Debug, Default)]
pub struct CountingEngine {
    pub delivered: usize,
}

impl Engine for CountingEngine {
    type Error = String;

    async fn advance_to(&mut self, _now: Timestamp) -> Result<(), String> {
        Ok(())
    }

    async fn deliver(&mut self, _now: Timestamp, _signal: &Signal) -> Result<Vec<EngineDecision>, String> {
        self.delivered += 1;
        Ok(Vec::new())
    }
}

/// A policy of `models` models, model-N bound to model-N-mae-high and model-N-weekly,
/// with a 12 h cooldown and `if-evidence` schedules.
fn policy(models: usize) -> Result<Policy, String> {
    let mut text = String::new();
    for index in 0..models {
        let _ = write!(
            text,
            "[[model]]\nname = \"model-{index}\"\npipeline = \"model-{index}-retrain\"\n\
             alarms = [\"model-{index}-mae-high\"]\nschedules = [\"model-{index}-weekly\"]\n\
             cooldown = \"12h\"\nschedule = \"if-evidence\"\n\n"
        );
    }
    Policy::from_toml(&text).map_err(|error| error.to_string())
}

/// Evaluates every alarm and merges the state changes and schedule firings into the timeline.
pub fn timeline(scenario: &BacktestScenario) -> Result<Timeline, String> {
    let mut changes = Vec::new();
    for (alarm, series) in scenario.alarms.iter().zip(&scenario.series) {
        let found = evaluate(alarm, series, scenario.end).map_err(|error| error.to_string())?;
        changes.extend(found.iter().map(|change| to_signal(alarm, change)));
    }
    let ticks = scenario
        .schedules
        .iter()
        .flat_map(|schedule| schedule.ticks(scenario.start, scenario.end))
        .collect();
    Timeline::merge(scenario.start, scenario.end, changes, ticks, Vec::new()).map_err(|error| error.to_string())
}

/// Evaluates every alarm, merges the timeline and replays it through an
/// engine that only counts; returns the number of events delivered.
pub fn evaluate_and_replay(scenario: &BacktestScenario) -> Result<usize, String> {
    let timeline = timeline(scenario)?;
    let mut engine = CountingEngine::default();
    block_on(replay(&mut engine, &timeline)).ok_or("the replay never finished")??;
    Ok(engine.delivered)
}

/// What a replay through the real engine decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Replayed {
    pub decisions: usize,
    pub starts: usize,
}

/// Evaluates every alarm, merges the timeline and replays it through the
/// decision engine (`ReplayEngine`), as `retrain backtest` does. The engine's
/// log lines are dropped, as the command drops them.
pub fn evaluate_and_replay_with_engine(scenario: &BacktestScenario) -> Result<Replayed, String> {
    trigger_engine::log_line::discard_log_lines();
    let timeline = timeline(scenario)?;
    let mut engine = ReplayEngine::new(&scenario.policy, scenario.start, RUN_DURATION, &[]);
    let decided = block_on(replay(&mut engine, &timeline))
        .ok_or("the replay never finished")?
        .map_err(|error| error.to_string())?;
    Ok(Replayed {
        decisions: decided.len(),
        starts: decided
            .iter()
            .filter(|decided| decided.outcome() == Outcome::Started)
            .count(),
    })
}

/// One alarm's year of values as `timestamp,value` CSV text, as a user would
/// give it to the backtest (525,600 rows for 1-minute values).
pub fn year_of_csv(scenario: &BacktestScenario) -> String {
    let mut text = String::from("timestamp,value\n");
    for (at, value) in scenario.series[0].points() {
        if let Some(value) = value {
            text.push_str(&format!("{at},{value:.3}\n"));
        }
    }
    text
}

/// Parses `text` as the scenario's first alarm's series; returns how many periods it holds.
pub fn parse_year_of_csv(text: &str) -> Result<usize, String> {
    parse_csv(text, "values.csv", PERIOD)
        .map(|series| series.values.len())
        .map_err(|error| error.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_backtest_scenario_reaches_alarm_changes_and_weekly_firings() {
        let scenario = BacktestScenario::new(3, 28).unwrap();
        assert_eq!(scenario.series[0].values.len(), 28 * 1440);
        let delivered = evaluate_and_replay(&scenario).unwrap();
        // 2023-01-01 is a Sunday: four Mondays in 28 days, for each of the three schedules.
        let firings = 3 * 4;
        // Per alarm: INSUFFICIENT_DATA -> OK at the start, then ALARM and OK for each of its 24 incidents.
        assert_eq!(delivered - firings, 3 * (1 + 2 * BREACHES));
        assert_eq!(parse_year_of_csv(&year_of_csv(&scenario)).unwrap(), 28 * 1440);
    }

    #[test]
    fn the_engine_decides_every_event_and_starts_on_alarms() {
        let scenario = BacktestScenario::new(3, 28).unwrap();
        let replayed = evaluate_and_replay_with_engine(&scenario).unwrap();
        // One decision per event: each signal is bound to exactly one model.
        assert_eq!(replayed.decisions, evaluate_and_replay(&scenario).unwrap());
        // Incidents are spread over the year, so 28 days hold few; each model
        // starts at least on its first breach, never more than once per incident.
        assert!(replayed.starts >= 3, "{replayed:?}");
        assert!(replayed.starts <= 3 * (BREACHES + 4), "{replayed:?}");
    }
}
