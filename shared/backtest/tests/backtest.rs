//! A whole backtest, from describe-alarms JSON, CSV values and schedule
//! expressions through the replay to the table, the JSON and the HTML page,
//! replayed through the real decision engine (`ReplayEngine`).

// Helpers here are test code too: an unexpected result should fail the test loudly.
#![allow(clippy::panic, clippy::unwrap_used, clippy::expect_used)]

mod support;

use serde_json::Value;
use support::{at, backtest, scenario, ALARMS, RUN_DURATION};
use trigger_backtest::report::html::{self, START_MARK_COLOR};
use trigger_backtest::report::table;
use trigger_backtest::{
    block_on, parse_alarms, replay, run, Engine, EngineDecision, Inputs, MetricSeries, ReplayEngine, Report, Timeline,
    TriggerKind, Variant,
};
use trigger_decision::{Outcome, ScheduleTick, Signal, Span, Timestamp};

fn starts(report: &Report, model: &str) -> usize {
    report
        .decisions_for(model)
        .filter(|decided| decided.outcome() == Outcome::Started)
        .count()
}

#[test]
fn the_policy_starts_fewer_retrains_than_every_alarm_and_defers_the_flapping_week() {
    let scenario = scenario();
    let report = backtest(&scenario, &[]);
    let housing = &report.summaries[0];
    assert_eq!(housing.model, "housing-price");
    assert_eq!(housing.starts, starts(&report, "housing-price"));
    assert!(housing.starts >= 3, "{housing:?}");
    // The flapping week is cut short by the cooldown and the budget.
    for reason in ["cooldown", "budget"] {
        assert!(
            housing.deferred_by_reason.get(reason).copied().unwrap_or(0) > 0,
            "{reason}: {housing:?}"
        );
    }
    assert_eq!(housing.cost, Some(25.0 * housing.starts as f64));
    let line = |variant: Variant| {
        report
            .comparison
            .iter()
            .find(|line| line.variant == variant)
            .unwrap()
            .totals
    };
    let (policy, blind, every) = (
        line(Variant::Policy),
        line(Variant::BlindSchedule),
        line(Variant::EveryAlarm),
    );
    assert_eq!(
        policy.starts,
        report.summaries.iter().map(|summary| summary.starts).sum::<usize>()
    );
    assert!(
        every.starts > policy.starts,
        "every alarm {every:?} vs policy {policy:?}"
    );
    // Every Monday of the 90 days starts in the blind baseline: runs of 3 h never overlap.
    assert_eq!(blind.starts, report.schedules[0].firings.len());
    assert_eq!(blind.starts, 13);
    // Without cooldown and budget, breaches wait less; the policy's price for its fewer starts.
    assert!(
        every.breach_hours_before_start < policy.breach_hours_before_start,
        "{every:?} vs {policy:?}"
    );
    // churn's AUC dip: 4 of 4 hourly datapoints at or below 0.8, ALARM at the end of the fourth hour.
    let churn = &report.summaries[1];
    assert_eq!((churn.starts, churn.breaches.len()), (1, 1));
    assert_eq!(
        churn.breaches[0].start,
        scenario.start.plus(Span::from_secs(964 * 3600))
    );
    assert_eq!(churn.breach_hours_before_start, 0.0);
}

#[test]
fn the_table_json_and_page_tell_the_same_starts() {
    let scenario = scenario();
    let report = backtest(&scenario, &[]);

    let text = table::render(&report);
    for section in [
        "Decisions that started or deferred",
        "Summary per model",
        "Policy vs baselines",
    ] {
        assert!(text.contains(section), "{section} missing from\n{text}");
    }
    let table_starts = text.lines().filter(|line| line.contains("  started  ")).count();
    assert_eq!(
        table_starts,
        report.summaries.iter().map(|summary| summary.starts).sum::<usize>()
    );

    let json: Value = serde_json::from_str(&report.to_json().unwrap()).unwrap();
    let json_starts = |model: &str| {
        json["decisions"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|decision| decision["model"] == model && decision["outcome"] == "started")
            .count()
    };
    assert_eq!(json["start"], "2024-01-01T00:00:00.000Z");
    assert_eq!(json["run_duration_seconds"], 3 * 3600);
    assert_eq!(json["alarms"][0]["alarm"]["period_seconds"], 300);
    assert_eq!(json["comparison"][1]["variant"], "blind-schedule");

    let page = html::render(&report, &scenario.series).unwrap();
    let document = roxmltree::Document::parse_with_options(
        &page,
        roxmltree::ParsingOptions {
            allow_dtd: true,
            ..Default::default()
        },
    )
    .unwrap();
    let start_fill = format!(
        "#{:02X}{:02X}{:02X}",
        START_MARK_COLOR.0, START_MARK_COLOR.1, START_MARK_COLOR.2
    );
    for model in ["housing-price", "churn"] {
        let section = document
            .descendants()
            .find(|node| node.attribute("id") == Some(&format!("model-{model}")))
            .unwrap_or_else(|| panic!("no section for {model}"));
        let marks = section
            .descendants()
            .filter(|node| node.tag_name().name() == "polygon" && node.attribute("fill") == Some(&start_fill))
            .count();
        assert!(json_starts(model) > 0, "{model} started nothing");
        assert_eq!(marks, json_starts(model), "start marks of {model}");
        assert!(
            section.descendants().any(|node| node.tag_name().name() == "svg"),
            "{model} has no chart"
        );
        let labels: String = section
            .descendants()
            .filter(|node| node.tag_name().name() == "text")
            .filter_map(|node| node.text())
            .collect();
        assert!(
            labels.contains("executions") && labels.contains("deferred"),
            "{model}: {labels}"
        );
    }
}

#[test]
fn a_sweep_replays_each_combination_and_marks_the_frontier() {
    let scenario = scenario();
    let report = backtest(&scenario, &["cooldown=0s,12h,3d", "max_starts=3/7d,none"]);
    assert_eq!(report.sweep.len(), 6);
    // The combination equal to the policy replays to the policy's totals.
    let same = report
        .sweep
        .iter()
        .find(|line| line.settings["cooldown"] == "12h" && line.settings["max_starts"] == "3/7d")
        .unwrap();
    assert_eq!(same.totals, report.comparison[0].totals);
    let frontier: Vec<_> = report.sweep.iter().filter(|line| line.frontier).collect();
    assert!(!frontier.is_empty());
    for line in &report.sweep {
        let dominated = report.sweep.iter().any(|other| {
            other.totals.starts <= line.totals.starts
                && other.totals.breach_hours_before_start <= line.totals.breach_hours_before_start
                && (other.totals.starts < line.totals.starts
                    || other.totals.breach_hours_before_start < line.totals.breach_hours_before_start)
        });
        assert_eq!(line.frontier, !dominated, "{line:?}");
    }
    let text = table::render(&report);
    assert!(
        text.contains("Sweep") && text.lines().filter(|line| line.trim_end().ends_with('*')).count() == frontier.len(),
        "{text}"
    );
}

#[test]
fn bound_alarms_without_values_or_replay_are_refused_before_replaying() {
    let mut scenario = scenario();
    scenario.series.remove("churn-auc-low");
    let inputs = Inputs {
        policy: &scenario.policy,
        alarms: &scenario.alarms,
        series: &scenario.series,
        schedules: &scenario.schedules,
        drift_reports: &[],
        start: scenario.start,
        end: scenario.end,
        run_duration: RUN_DURATION,
        run_cost: None,
        sweep: &[],
        baselines: false,
    };
    let error = block_on(run(&inputs, |policy| {
        ReplayEngine::new(policy, scenario.start, RUN_DURATION, &[])
    }))
    .unwrap()
    .unwrap_err()
    .to_string();
    assert!(
        error.contains("model \"churn\"") && error.contains("\"churn-auc-low\"") && error.contains("no values"),
        "{error}"
    );
}

/// Records what the driver asks, answering each delivery with one decision.
#[derive(Default)]
struct Recorder {
    calls: Vec<String>,
}

impl Engine for Recorder {
    type Error = std::convert::Infallible;

    async fn advance_to(&mut self, now: Timestamp) -> Result<(), Self::Error> {
        self.calls.push(format!("advance {}", &now.to_string()[11..16]));
        Ok(())
    }

    async fn deliver(&mut self, now: Timestamp, signal: &Signal) -> Result<Vec<EngineDecision>, Self::Error> {
        self.calls
            .push(format!("deliver {} {}", &now.to_string()[11..16], signal.summary()));
        Ok(vec![EngineDecision {
            model: Some("m".into()),
            outcome: Outcome::Skipped,
            reason: "recorded".into(),
            detail: String::new(),
            evidence_kept: false,
            run: None,
        }])
    }
}

#[test]
fn the_driver_moves_the_clock_before_each_event_and_to_the_end() {
    let tick = |name: &str, time: &str| ScheduleTick {
        schedule_name: name.into(),
        schedule_arn: None,
        scheduled_time: at(time),
        path: trigger_decision::Path::Scheduler,
    };
    let definition = &parse_alarms(ALARMS, "alarms.json").unwrap().alarms[0].clone();
    let series = MetricSeries::new(
        at("2024-01-01T01:00:00Z"),
        Span::from_secs(300),
        vec![16_000.0, 16_000.0],
    );
    let changes = trigger_backtest::evaluate(definition, &series, at("2024-01-01T01:10:00Z")).unwrap();
    let alarm_changes = changes
        .iter()
        .map(|change| trigger_backtest::to_signal(definition, change))
        .collect();
    let timeline = Timeline::merge(
        at("2024-01-01T00:00:00Z"),
        at("2024-01-01T03:00:00Z"),
        alarm_changes,
        vec![
            tick("b", "2024-01-01T02:00:00Z"),
            tick("a", "2024-01-01T01:10:00Z"),
            tick("late", "2024-01-01T03:00:00Z"),
        ],
        Vec::new(),
    )
    .unwrap();
    let mut recorder = Recorder::default();
    let decided = block_on(replay(&mut recorder, &timeline)).unwrap().unwrap();
    let alarm = "alarm housing-price-mae-high moved to ALARM at 2024-01-01T01:10:00.000Z: mae 16000 > 15000";
    assert_eq!(
        recorder.calls,
        [
            "advance 01:10".to_string(),
            format!("deliver 01:10 {alarm}"),
            "advance 01:10".to_string(),
            "deliver 01:10 schedule a fired for 2024-01-01T01:10:00.000Z".to_string(),
            "advance 02:00".to_string(),
            "deliver 02:00 schedule b fired for 2024-01-01T02:00:00.000Z".to_string(),
            "advance 03:00".to_string(),
        ]
    );
    let stamped: Vec<(TriggerKind, &str)> = decided
        .iter()
        .map(|decided| (decided.trigger, decided.source.as_str()))
        .collect();
    assert_eq!(
        stamped,
        [
            (TriggerKind::Alarm, "housing-price-mae-high"),
            (TriggerKind::Schedule, "a"),
            (TriggerKind::Schedule, "b")
        ]
    );
    assert_eq!(decided[2].at, at("2024-01-01T02:00:00Z"));
}
