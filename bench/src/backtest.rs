//! The backtest's own work at full size, for `benches/backtest.rs`: one year
//! of 1-minute values for 50 alarms (26 million points), 50 models each
//! bound to one alarm and a weekly schedule. The alarms are evaluated, their
//! state changes and the schedule firings merged into the timeline, and the
//! timeline replayed through an engine that only counts what it is handed,
//! so the figure is the backtest crate's alone; the decision engine's cost
//! per event comes on top.

use std::future::Future;
use std::pin::pin;
use std::task::{Context, Poll, Waker};
use trigger_backtest::synthetic::mostly_quiet;
use trigger_backtest::{
    evaluate, parse_csv, replay, to_signal, AlarmDefinition, Comparison, Engine, EngineDecision, MetricSeries,
    Schedule, Timeline, TreatMissingData,
};
use trigger_decision::{Signal, Span, Timestamp};

pub const ALARMS: usize = 50;
pub const DAYS: i64 = 365;
const PERIOD: Span = Span::from_secs(60);
const THRESHOLD: f64 = 100.0;
/// Incidents per alarm and year, each 30 minutes above the threshold.
const BREACHES: usize = 24;

/// The alarms, their values and the weekly schedules, built once.
#[derive(Debug)]
pub struct BacktestScenario {
    pub alarms: Vec<AlarmDefinition>,
    pub series: Vec<MetricSeries>,
    pub schedules: Vec<Schedule>,
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

/// Evaluates every alarm, merges the timeline and replays it; returns the
/// number of events delivered.
pub fn evaluate_and_replay(scenario: &BacktestScenario) -> Result<usize, String> {
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
    let timeline =
        Timeline::merge(scenario.start, scenario.end, changes, ticks, Vec::new()).map_err(|error| error.to_string())?;
    let mut engine = CountingEngine::default();
    run_ready(replay(&mut engine, &timeline))??;
    Ok(engine.delivered)
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

/// Polls a future that never waits, as the counting engine's never do.
fn run_ready<F: Future>(future: F) -> Result<F::Output, String> {
    let mut future = pin!(future);
    match future.as_mut().poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(output) => Ok(output),
        Poll::Pending => Err("the replay waited, but the counting engine never does".to_string()),
    }
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
}
