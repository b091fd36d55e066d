//! Test support: a stand-in for the decision engine, so the replay can be
//! tested before the real engine's adapter exists.
//!
//! It decides with `trigger_decision::decide`, the rules the functions use,
//! and keeps the little history those rules read (executions that finish
//! after the run duration, kept evidence, recorded starts) in memory. It has
//! no claim protocol, ledger or log: those are the engine's, and the replay
//! will run the engine itself. It lives only in tests and the sample-report
//! example.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeMap;
use trigger_backtest::series::parse_timestamp;
use trigger_backtest::sweep::parse_axis;
use trigger_backtest::synthetic::housing_price_mae;
use trigger_backtest::{
    parse_alarms, parse_csv, run, AlarmSet, Engine, EngineDecision, Inputs, MetricSeries, Report, Run, Schedule,
};
use trigger_decision::{
    decide, route, Action, Decision, Evidence, Execution, ExecutionStatus, History, Policy, Route, Signal, Span,
    Timestamp,
};

/// `decide` over an in-memory history, under the replay's clock.
#[derive(Debug)]
pub struct DecideEngine {
    policy: Policy,
    run_duration: Span,
    executions: BTreeMap<String, Vec<Execution>>,
    evidence: BTreeMap<String, Vec<Evidence>>,
    /// Execution ARN by trigger id, as the ledger records starts.
    recorded: BTreeMap<trigger_decision::key::TriggerId, String>,
    now: Timestamp,
    /// Every instant the clock was moved to, in order.
    pub advances: Vec<Timestamp>,
}

impl DecideEngine {
    pub fn new(policy: Policy, run_duration: Span) -> DecideEngine {
        DecideEngine {
            policy,
            run_duration,
            executions: BTreeMap::new(),
            evidence: BTreeMap::new(),
            recorded: BTreeMap::new(),
            now: Timestamp::from_millis(i64::MIN),
            advances: Vec::new(),
        }
    }

    fn decide_for(&mut self, model_name: &str, signal: &Signal, now: Timestamp) -> EngineDecision {
        let Some(model) = self.policy.model(model_name).cloned() else {
            unreachable!("route only returns the policy's models")
        };
        let trigger_id = trigger_decision::key::trigger_id(&signal.dedupe_key());
        let executions = self.executions.entry(model.name.clone()).or_default();
        let evidence = self.evidence.entry(model.name.clone()).or_default();
        let history = History {
            executions,
            evidence,
            recorded_execution: self.recorded.get(&trigger_id).map(String::as_str),
        };
        let decision = decide(signal, &model, history, now);
        let mut run = None;
        match &decision.action {
            Action::Start(request) => {
                let arn = format!(
                    "arn:aws:sagemaker:us-east-1:123456789012:pipeline/{}/execution/{}",
                    model.pipeline,
                    executions.len() + 1
                );
                executions.push(Execution {
                    arn: arn.clone(),
                    status: ExecutionStatus::Executing,
                    started_at: now,
                    display_name: Some(request.display_name.clone()),
                });
                evidence.clear();
                self.recorded.insert(trigger_id, arn.clone());
                run = Some(Run {
                    execution_arn: arn,
                    started_at: now,
                    ends_at: now.plus(self.run_duration),
                });
            }
            Action::Defer(Some(kept)) | Action::Skip(Some(kept)) => evidence.push(kept.clone()),
            _ => {}
        }
        convert(&decision, run)
    }
}

fn convert(decision: &Decision, run: Option<Run>) -> EngineDecision {
    EngineDecision {
        model: decision.model.clone(),
        outcome: decision.outcome(),
        reason: decision.reason.to_string(),
        detail: decision.detail.clone(),
        evidence_kept: matches!(decision.action, Action::Defer(Some(_)) | Action::Skip(Some(_))),
        run,
    }
}

impl Engine for DecideEngine {
    type Error = std::convert::Infallible;

    async fn advance_to(&mut self, now: Timestamp) -> Result<(), Self::Error> {
        assert!(now >= self.now, "the clock went back from {} to {now}", self.now);
        self.now = now;
        self.advances.push(now);
        for execution in self.executions.values_mut().flatten() {
            if execution.status.is_in_flight() && execution.started_at.plus(self.run_duration) <= now {
                execution.status = ExecutionStatus::Succeeded;
            }
        }
        Ok(())
    }

    async fn deliver(&mut self, now: Timestamp, signal: &Signal) -> Result<Vec<EngineDecision>, Self::Error> {
        assert_eq!(now, self.now, "deliver at {now} but the clock is at {}", self.now);
        let models: Vec<String> = match route(signal, &self.policy) {
            Route::Unmatched(decision) => return Ok(vec![convert(&decision, None)]),
            Route::Models(models) => models.iter().map(|model| model.name.clone()).collect(),
        };
        Ok(models.iter().map(|model| self.decide_for(model, signal, now)).collect())
    }
}

/// Runs a future whose every await is ready (the stand-in never waits).
pub fn run_ready<F: std::future::Future>(future: F) -> F::Output {
    let mut future = std::pin::pin!(future);
    let mut context = std::task::Context::from_waker(std::task::Waker::noop());
    match future.as_mut().poll(&mut context) {
        std::task::Poll::Ready(output) => output,
        std::task::Poll::Pending => unreachable!("the stand-in engine never waits"),
    }
}

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
    run_ready(run(&inputs, |policy| DecideEngine::new(policy.clone(), RUN_DURATION))).unwrap()
}
