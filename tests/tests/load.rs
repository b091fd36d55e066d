//! A bounded load test against moto: 1,000 distinct alarm state changes
//! across 50 models, a quarter of them delivered twice (by SNS as well as by
//! the alarm action), in a fixed shuffled order, run 16 at a time through the
//! real handlers. Every delivery is decided; each model's pipeline starts once
//! (the 6h cooldown holds every later change back); every deferred change's
//! evidence is in its model's ledger. The work is a fixed list, so the test
//! ends by itself.

// Helpers here are test code too: an unexpected result should fail the test loudly.
#![allow(clippy::panic, clippy::unwrap_used, clippy::expect_used)]

use anyhow::Result;
use integration_tests::fault::FaultProxy;
use integration_tests::{cloudwatch_time, fixture, with_sns_state_time, with_state_time, Moto};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use trigger_decision::Outcome;
use trigger_engine::DecisionRecord;

const MODELS: usize = 50;
const CHANGES_PER_MODEL: usize = 20;
/// Every `DUPLICATE_EVERY`th state change is also delivered by SNS.
const DUPLICATE_EVERY: usize = 4;
const CONCURRENCY: usize = 16;

fn model(index: usize) -> String {
    format!("model-{index:02}")
}

fn pipeline(index: usize) -> String {
    format!("model-{index:02}-retrain")
}

fn alarm(index: usize) -> String {
    format!("model-{index:02}-quality-low")
}

fn policy() -> String {
    let mut policy = "[defaults]\ncooldown = \"6h\"\n".to_string();
    for index in 0..MODELS {
        policy.push_str(&format!(
            "[[model]]\nname = \"{}\"\npipeline = \"{}\"\nalarms = [\"{}\"]\n",
            model(index),
            pipeline(index),
            alarm(index)
        ));
    }
    policy
}

/// One delivery: which model, which of its state changes, and by which path.
#[derive(Debug, Clone)]
struct Delivery {
    model: usize,
    change: usize,
    by_sns: bool,
    event: Value,
}

fn deliveries() -> Vec<Delivery> {
    let mut deliveries = Vec::new();
    for model in 0..MODELS {
        for change in 0..CHANGES_PER_MODEL {
            // Distinct, recent state times: one second apart, the newest a minute ago.
            let state_time = cloudwatch_time(60 + (model * CHANGES_PER_MODEL + change) as i64);
            let mut by_action = with_state_time(fixture("example-cloudwatch-alarm-metric.json"), &state_time);
            by_action["alarmData"]["alarmName"] = Value::String(alarm(model));
            by_action["alarmArn"] = Value::Null;
            deliveries.push(Delivery {
                model,
                change,
                by_sns: false,
                event: by_action,
            });
            if change % DUPLICATE_EVERY == 0 {
                let mut by_sns = with_sns_state_time(fixture("example-sns-cloudwatch-alarm.json"), &state_time);
                let slot = by_sns.pointer_mut("/Records/0/Sns/Message").unwrap();
                let mut message: Value = serde_json::from_str(slot.as_str().unwrap()).unwrap();
                message["AlarmName"] = Value::String(alarm(model));
                message["AlarmArn"] = Value::Null;
                *slot = Value::String(message.to_string());
                deliveries.push(Delivery {
                    model,
                    change,
                    by_sns: true,
                    event: by_sns,
                });
            }
        }
    }
    // A fixed shuffle (Fisher-Yates on a 64-bit LCG), so every run sends the same order.
    let mut state: u64 = 0x5eed;
    for index in (1..deliveries.len()).rev() {
        state = state
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        deliveries.swap(index, (state >> 33) as usize % (index + 1));
    }
    deliveries
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_state_changes_across_fifty_models_start_each_pipeline_once_and_keep_all_evidence() -> Result<()> {
    let moto = Moto::start()?;
    let pipelines: Vec<String> = (0..MODELS).map(pipeline).collect();
    let pipeline_names: Vec<&str> = pipelines.iter().map(String::as_str).collect();
    moto.create(&pipeline_names, &["TriggerType", "TriggerReason", "TriggerId"])
        .await?;
    // No faults: the proxy makes moto's conditional writes atomic, as S3's are (see `fault`).
    let proxy = FaultProxy::start(&moto).await?;
    let trigger = Arc::new(proxy.trigger_with(&policy(), 2, Duration::from_secs(30)).await?);

    let all = deliveries();
    assert_eq!(
        all.iter().filter(|d| !d.by_sns).count(),
        MODELS * CHANGES_PER_MODEL,
        "1,000 distinct state changes"
    );
    let queue = Arc::new(Mutex::new(all.iter().cloned().collect::<VecDeque<_>>()));
    let mut workers = tokio::task::JoinSet::new();
    for _ in 0..CONCURRENCY {
        let (queue, trigger) = (Arc::clone(&queue), Arc::clone(&trigger));
        workers.spawn(async move {
            let mut decided = Vec::new();
            loop {
                let Some(delivery) = queue.lock().unwrap().pop_front() else {
                    return decided;
                };
                let result = if delivery.by_sns {
                    sns_trigger::handle(&trigger, &delivery.event).await
                } else {
                    alarm_trigger::handle(&trigger, &delivery.event).await
                };
                let response = result
                    .unwrap_or_else(|error| panic!("{delivery:?} was not decided: {}: {error}", error.error_type()));
                assert_eq!(response.decisions.len(), 1, "{response:?}");
                decided.push((delivery, response.decisions.into_iter().next().unwrap()));
            }
        });
    }
    let mut decided: Vec<(Delivery, DecisionRecord)> = Vec::new();
    while let Some(worker) = workers.join_next().await {
        decided.extend(worker?);
    }
    assert_eq!(decided.len(), all.len(), "every delivery was decided");

    // Per model: one start; its duplicate already-started; every other change deferred.
    let mut by_model: BTreeMap<usize, Vec<&(Delivery, DecisionRecord)>> = BTreeMap::new();
    for entry in &decided {
        by_model.entry(entry.0.model).or_default().push(entry);
    }
    let mut starts = 0;
    for (index, entries) in &by_model {
        let started: Vec<usize> = entries
            .iter()
            .filter(|(_, decision)| decision.outcome == Outcome::Started)
            .map(|(delivery, _)| delivery.change)
            .collect();
        assert_eq!(started.len(), 1, "model {index}: {entries:#?}");
        starts += 1;
        for (delivery, decision) in entries {
            assert_eq!(decision.model.as_deref(), Some(model(*index).as_str()));
            let allowed: &[Outcome] = if delivery.change == started[0] {
                &[Outcome::Started, Outcome::AlreadyStarted]
            } else {
                &[Outcome::Deferred]
            };
            assert!(allowed.contains(&decision.outcome), "{delivery:?}: {decision:?}");
        }
        let executions = moto.executions(&pipeline(*index)).await?;
        assert_eq!(executions.len(), 1, "model {index}");

        // No evidence lost: every deferred change of the model is kept in its ledger.
        let ledger = moto.ledger_object(&model(*index)).await?;
        let kept: BTreeSet<&str> = ledger["evidence"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|evidence| evidence["trigger_id"].as_str())
            .collect();
        let deferred: BTreeSet<&str> = entries
            .iter()
            .filter(|(_, decision)| decision.outcome == Outcome::Deferred)
            .map(|(_, decision)| decision.trigger_id.as_str())
            .collect();
        assert_eq!(deferred.len(), CHANGES_PER_MODEL - 1, "model {index}");
        assert_eq!(
            deferred, kept,
            "model {index}: the ledger keeps exactly the deferred evidence"
        );
    }
    assert_eq!(starts, MODELS);
    Ok(())
}
