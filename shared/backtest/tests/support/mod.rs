//! Test support: the demo's scenario (two models, 90 days of values, a
//! weekly schedule) and its backtest, replayed through the real decision
//! engine (`ReplayEngine`).

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeMap;
use trigger_backtest::series::parse_timestamp;
use trigger_backtest::sweep::parse_axis;
use trigger_backtest::synthetic::housing_price_mae;
use trigger_backtest::{
    block_on, parse_alarms, parse_csv, run, AlarmSet, Inputs, MetricSeries, ReplayEngine, Report, Schedule,
};
use trigger_decision::{Policy, Span, Timestamp};

/// What `describe-alarms` printed for the scenario's alarms (and two that cannot be replayed).
pub const ALARMS: &str = include_str!("../fixtures/describe-alarms.json");

pub const POLICY: &str = r#"
[[model]]
name = "housing-price"
pipeline = "housing-price-retrain"
alarms = ["housing-price-mae-high"]
schedules = ["housing-price-weekly"]
cooldown = "12h"
max_starts = "3/7d"
schedule = "if-evidence"

[[model]]
name = "churn"
pipeline = "churn-retrain"
alarms = ["arn:aws:cloudwatch:us-east-1:123456789012:alarm:churn-auc-low"]
"#;

pub fn at(text: &str) -> Timestamp {
    parse_timestamp(text).unwrap()
}

/// The demo's 90 days: synthetic MAE for housing-price, a steady AUC for churn.
pub struct Scenario {
    pub policy: Policy,
    pub alarms: AlarmSet,
    pub series: BTreeMap<String, MetricSeries>,
    pub schedules: Vec<Schedule>,
    pub start: Timestamp,
    pub end: Timestamp,
}

pub fn scenario() -> Scenario {
    let start = at("2024-01-01T00:00:00Z");
    let end = start.plus(Span::from_secs(90 * 86_400));
    let mae = housing_price_mae(start, Span::from_secs(300), 90);
    let mut auc_csv = String::from("timestamp,value\n");
    for hour in 0..90 * 24 {
        // Healthy, with one four-hour dip below 0.8 on day 40.
        let value = if (960..964).contains(&hour) { 0.7 } else { 0.9 };
        auc_csv.push_str(&format!("{},{value}\n", start.plus(Span::from_secs(hour * 3600))));
    }
    let series = BTreeMap::from([
        ("housing-price-mae-high".to_string(), mae),
        (
            "churn-auc-low".to_string(),
            parse_csv(&auc_csv, "auc.csv", Span::from_secs(3600)).unwrap(),
        ),
    ]);
    Scenario {
        policy: Policy::from_toml(POLICY).unwrap(),
        alarms: parse_alarms(ALARMS, "alarms.json").unwrap(),
        series,
        schedules: vec![Schedule::parse("housing-price-weekly", "cron(0 6 ? * MON *)").unwrap()],
        start,
        end,
    }
}

pub const RUN_DURATION: Span = Span::from_secs(3 * 3600);

/// The scenario's backtest with its baselines, a run cost of 25, and the given sweep.
pub fn backtest(scenario: &Scenario, sweep: &[&str]) -> Report {
    let axes: Vec<_> = sweep.iter().map(|argument| parse_axis(argument).unwrap()).collect();
    let inputs = Inputs {
        policy: &scenario.policy,
        alarms: &scenario.alarms,
        series: &scenario.series,
        schedules: &scenario.schedules,
        drift_reports: &[],
        start: scenario.start,
        end: scenario.end,
        run_duration: RUN_DURATION,
        run_cost: Some(25.0),
        sweep: &axes,
        baselines: true,
    };
    block_on(run(&inputs, |policy| {
        ReplayEngine::new(policy, scenario.start, RUN_DURATION, &[])
    }))
    .unwrap()
    .unwrap()
}
