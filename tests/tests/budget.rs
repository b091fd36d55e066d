//! Budgets (`max_starts`) through the real handlers against moto: every
//! execution of the pipeline counts, whoever started it, and a start over the
//! budget is `deferred/budget` with its evidence kept and its own EMF metric.

// Helpers here are test code too: an unexpected result should fail the test loudly.
#![allow(clippy::panic, clippy::unwrap_used, clippy::expect_used)]

use anyhow::Result;
use integration_tests::{cloudwatch_time, fixture, with_state_time, Moto, ALL_PARAMETERS, PIPELINE, POLICY};
use serde_json::Value;
use trigger_aws::now;
use trigger_decision::{key, DedupeKey, Outcome};
use trigger_engine::log_line::decision_log_line;
use trigger_engine::DecisionRecord;

fn alarm_at(seconds_ago: i64) -> Value {
    with_state_time(
        fixture("example-cloudwatch-alarm-metric.json"),
        &cloudwatch_time(seconds_ago),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn starts_over_the_budget_are_deferred_counting_executions_others_started() -> Result<()> {
    let moto = Moto::start()?;
    moto.create(&[PIPELINE], &ALL_PARAMETERS).await?;
    // No cooldown, so only the budget can hold a start back.
    let policy = POLICY.replace("cooldown = \"6h\"", "cooldown = \"0s\"\nmax_starts = \"2/7d\"");
    let trigger = moto.trigger(&policy, false).await?;

    // Someone started the pipeline by hand: that run counts against the budget too.
    moto.sagemaker()
        .await
        .start_pipeline_execution()
        .pipeline_name(PIPELINE)
        .client_request_token("started-by-hand-outside-the-triggers-0001")
        .send()
        .await?;

    let first = alarm_trigger::handle(&trigger, &alarm_at(120)).await?.decisions;
    assert_eq!(
        (first[0].outcome, first[0].reason.as_str()),
        (Outcome::Started, "alarm")
    );

    let second = alarm_trigger::handle(&trigger, &alarm_at(60)).await?.decisions;
    assert_eq!(
        (second[0].outcome, second[0].reason.as_str()),
        (Outcome::Deferred, "budget"),
        "{}",
        second[0].detail
    );
    assert!(second[0].detail.contains("\"2/7d\""), "{}", second[0].detail);
    assert_eq!(moto.executions(PIPELINE).await?.len(), 2);

    // The deferred alarm is kept as evidence for a later schedule.
    let ledger = moto.ledger_object("housing-price").await?;
    let kept: Vec<&str> = ledger["evidence"]
        .as_array()
        .map(|entries| entries.iter().filter_map(|e| e["trigger_id"].as_str()).collect())
        .unwrap_or_default();
    assert_eq!(kept, [second[0].trigger_id.as_str()]);
    Ok(())
}

#[test]
fn a_budget_deferral_is_counted_as_budget_exhausted_by_model() {
    let signal = trigger_events::alarm::decode(&alarm_at(60)).unwrap();
    let record = |reason: &str| DecisionRecord {
        model: Some("housing-price".into()),
        outcome: Outcome::Deferred,
        reason: serde_json::from_value(Value::from(reason)).unwrap(),
        detail: "over budget".into(),
        trigger_id: key::trigger_id(&DedupeKey::new("t")),
        execution_arn: None,
    };
    let line: Value = serde_json::from_str(&decision_log_line(&record("budget"), &signal, now())).unwrap();
    assert_eq!(line["BudgetExhausted"], 1);
    let directives = line["_aws"]["CloudWatchMetrics"].as_array().unwrap();
    assert!(
        directives
            .iter()
            .any(|directive| directive["Dimensions"] == serde_json::json!([["Model"]])
                && directive["Metrics"][0]["Name"] == "BudgetExhausted"),
        "{line}"
    );
    let line: Value = serde_json::from_str(&decision_log_line(&record("cooldown"), &signal, now())).unwrap();
    assert!(line.get("BudgetExhausted").is_none(), "{line}");
}
