//! End-to-end scenarios: the real handlers against a moto server that each
//! test starts for itself, checked through SageMaker's and S3's own APIs.

// Helpers here are test code too: an unexpected result should fail the test loudly.
#![allow(clippy::panic, clippy::unwrap_used, clippy::expect_used)]

use anyhow::Result;
use integration_tests::fault::FaultProxy;
use integration_tests::{
    cloudwatch_time, fixture, millis_of, single, with_sns_state_time, with_state_time, Moto, Scenario, ALL_PARAMETERS,
    PIPELINE, POLICY,
};
use serde_json::Value;
use std::sync::Arc;
use std::time::Duration;
use trigger_decision::{DedupeKey, Outcome, Span};
use trigger_engine::{Response, TriggerError};

fn outcome(response: Result<Response, TriggerError>) -> (Outcome, String) {
    let decision = single(response);
    (decision.outcome, decision.reason.to_string())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_alarm_starts_the_pipeline_with_trigger_parameters() -> Result<()> {
    let Scenario { moto, trigger, .. } = Scenario::start(POLICY).await?;
    let decision = single(alarm_trigger::handle(&trigger, &fresh_alarm()).await);
    assert_eq!(
        (decision.outcome, decision.reason.as_str()),
        (Outcome::Started, "alarm")
    );
    let arn = decision.execution_arn.expect("a started decision names its execution");
    assert_eq!(moto.executions(PIPELINE).await?, vec![arn.clone()]);

    let parameters = moto.parameters(&arn).await?;
    let parameter = |name: &str| parameters.iter().find(|(n, _)| n == name).map(|(_, v)| v.clone());
    assert_eq!(parameter("DataWindowDays").as_deref(), Some("30"));
    assert_eq!(parameter("TriggerType").as_deref(), Some("metric"));
    assert_eq!(
        parameter("ModelApprovalStatus").as_deref(),
        Some("PendingManualApproval")
    );
    assert_eq!(parameter("TriggerId"), Some(decision.trigger_id.to_string()));
    let reason = parameter("TriggerReason").unwrap_or_default();
    assert!(
        reason.contains("housing-price-mae-high") && reason.contains("16250") && reason.contains("15000"),
        "{reason}"
    );

    let ledger = moto.ledger_object("housing-price").await?;
    let recorded: Vec<&Value> = ledger["triggers"]
        .as_object()
        .map(|t| t.values().collect())
        .unwrap_or_default();
    assert_eq!(recorded.len(), 1);
    assert_eq!(recorded[0]["execution_arn"], Value::String(arn));
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pipeline_without_the_optional_trigger_parameters_still_starts() -> Result<()> {
    let moto = Moto::start()?;
    moto.create(&[PIPELINE], &["DataWindowDays"]).await?;
    let trigger = moto.trigger(POLICY, false).await?;
    let decision = single(alarm_trigger::handle(&trigger, &fresh_alarm()).await);
    assert_eq!(decision.outcome, Outcome::Started);
    let parameters = moto.parameters(&decision.execution_arn.unwrap_or_default()).await?;
    assert_eq!(parameters, vec![("DataWindowDays".to_string(), "30".to_string())]);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_state_change_by_all_three_paths_starts_once() -> Result<()> {
    let Scenario { moto, trigger, .. } = Scenario::start(POLICY).await?;
    let [by_action, by_sns, by_eventbridge] = one_state_change_three_ways(&cloudwatch_time(60));
    let first = single(alarm_trigger::handle(&trigger, &by_action).await);
    let by_sns = single(sns_trigger::handle(&trigger, &by_sns).await);
    let by_eventbridge = single(alarm_trigger::handle(&trigger, &by_eventbridge).await);
    let again = single(alarm_trigger::handle(&trigger, &by_action).await);
    assert_eq!(first.outcome, Outcome::Started);
    for repeat in [&by_sns, &by_eventbridge, &again] {
        assert_eq!(repeat.outcome, Outcome::AlreadyStarted, "{repeat:?}");
        assert_eq!(repeat.execution_arn, first.execution_arn);
        assert_eq!(repeat.trigger_id, first.trigger_id);
    }
    assert_eq!(moto.executions(PIPELINE).await?.len(), 1);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twenty_concurrent_deliveries_start_exactly_one_execution() -> Result<()> {
    let Scenario { moto, .. } = Scenario::start(POLICY).await?;
    // Through the proxy, which makes moto's conditional writes atomic, as S3's are:
    // moto alone can let two concurrent claims both succeed.
    let proxy = FaultProxy::start(&moto).await?;
    let trigger = Arc::new(proxy.trigger_with(POLICY, 2, Duration::from_secs(30)).await?);
    let [by_action, by_sns, by_eventbridge] = one_state_change_three_ways(&cloudwatch_time(60));
    let events = [("alarm", by_action), ("sns", by_sns), ("alarm", by_eventbridge)];
    let mut deliveries = tokio::task::JoinSet::new();
    for delivery in 0..20 {
        let (function, event) = events[delivery % events.len()].clone();
        let trigger = Arc::clone(&trigger);
        deliveries.spawn(async move {
            match function {
                "sns" => sns_trigger::handle(&trigger, &event).await,
                _ => alarm_trigger::handle(&trigger, &event).await,
            }
        });
    }
    let mut decisions = Vec::new();
    while let Some(joined) = deliveries.join_next().await {
        decisions.push(single(joined?));
    }
    let started = decisions.iter().filter(|d| d.outcome == Outcome::Started).count();
    let repeats = decisions
        .iter()
        .filter(|d| d.outcome == Outcome::AlreadyStarted)
        .count();
    assert_eq!((started, repeats), (1, 19), "{decisions:#?}");
    let executions = moto.executions(PIPELINE).await?;
    assert_eq!(executions.len(), 1);
    assert!(decisions
        .iter()
        .all(|d| d.execution_arn.as_deref() == Some(executions[0].as_str())));
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_alarm_inside_the_cooldown_is_deferred_and_its_evidence_kept() -> Result<()> {
    let Scenario { moto, trigger, .. } = Scenario::start(POLICY).await?;
    let first = with_state_time(fixture("example-cloudwatch-alarm-metric.json"), &cloudwatch_time(60));
    assert_eq!(
        outcome(alarm_trigger::handle(&trigger, &first).await),
        (Outcome::Started, "alarm".into())
    );

    let second = with_state_time(fixture("example-cloudwatch-alarm-metric.json"), &cloudwatch_time(-1));
    let deferred = single(alarm_trigger::handle(&trigger, &second).await);
    assert_eq!(
        (deferred.outcome, deferred.reason.as_str()),
        (Outcome::Deferred, "cooldown")
    );
    assert!(deferred.detail.contains("6h cooldown"), "{}", deferred.detail);

    let ledger = moto.ledger_object("housing-price").await?;
    assert_eq!(ledger["evidence"].as_array().map(Vec::len), Some(1), "{ledger}");
    assert_eq!(
        ledger["evidence"][0]["trigger_id"],
        Value::String(deferred.trigger_id.into_string())
    );

    // The schedule sees the evidence, but the cooldown still holds.
    let tick = schedule_now();
    assert_eq!(
        outcome(schedule_trigger::handle(&trigger, &tick).await),
        (Outcome::Deferred, "cooldown".into())
    );
    assert_eq!(moto.executions(PIPELINE).await?.len(), 1);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deferred_alarm_lets_the_next_schedule_start() -> Result<()> {
    let moto = Moto::start()?;
    moto.create(&[PIPELINE], &ALL_PARAMETERS).await?;
    // Someone else's execution is inside the cooldown of a zero-cooldown model:
    // the evidence-carrying schedule should start once the cooldown is zero.
    let policy = POLICY.replace("cooldown = \"6h\"", "cooldown = \"0s\"");
    let trigger = moto.trigger(&policy, false).await?;
    let tick = schedule_now();
    assert_eq!(
        outcome(schedule_trigger::handle(&trigger, &tick).await),
        (Outcome::Skipped, "no-evidence".into())
    );

    let first = with_state_time(fixture("example-cloudwatch-alarm-metric.json"), &cloudwatch_time(-60));
    // Store evidence without a start by using a 6h-cooldown trigger after an earlier execution.
    let busy = moto.trigger(POLICY, false).await?;
    moto.sagemaker()
        .await
        .start_pipeline_execution()
        .pipeline_name(PIPELINE)
        .pipeline_execution_display_name("manual-run")
        .send()
        .await?;
    assert_eq!(
        outcome(alarm_trigger::handle(&busy, &first).await),
        (Outcome::Deferred, "cooldown".into())
    );

    let started = single(schedule_trigger::handle(&trigger, &tick).await);
    assert_eq!(
        (started.outcome, started.reason.as_str()),
        (Outcome::Started, "scheduled-with-evidence")
    );
    let parameters = moto.parameters(&started.execution_arn.unwrap_or_default()).await?;
    assert!(
        parameters.contains(&("TriggerType".to_string(), "schedule".to_string())),
        "{parameters:?}"
    );
    let ledger = moto.ledger_object("housing-price").await?;
    assert_eq!(
        ledger["evidence"].as_array().map(Vec::len),
        Some(0),
        "the start consumed the evidence: {ledger}"
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn non_evidence_is_ignored_or_skipped_and_starts_nothing() -> Result<()> {
    let Scenario { moto, trigger, .. } = Scenario::start(POLICY).await?;
    let recovered = with_state_time(fixture("example-cloudwatch-alarm-ok.json"), &cloudwatch_time(30));
    let ok = single(alarm_trigger::handle(&trigger, &recovered).await);
    assert_eq!((ok.outcome, ok.reason.as_str()), (Outcome::Ignored, "not-alarm-state"));

    let mut unknown = fresh_alarm();
    unknown["alarmData"]["alarmName"] = Value::String("some-other-alarm".into());
    let ignored = single(alarm_trigger::handle(&trigger, &unknown).await);
    assert_eq!(
        (ignored.outcome, ignored.reason.as_str(), ignored.model),
        (Outcome::Ignored, "no-matching-model", None)
    );

    let mut tick = fixture("example-scheduler-input.json");
    tick["scheduled_time"] = schedule_now()["scheduled_time"].clone();
    let skipped = single(schedule_trigger::handle(&trigger, &tick).await);
    assert_eq!(
        (skipped.outcome, skipped.reason.as_str()),
        (Outcome::Skipped, "no-evidence")
    );
    assert!(moto.executions(PIPELINE).await?.is_empty());
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dry_run_decides_but_starts_and_records_nothing() -> Result<()> {
    let moto = Moto::start()?;
    moto.create(&[PIPELINE], &ALL_PARAMETERS).await?;
    let trigger = moto.trigger(POLICY, true).await?;
    let decision = single(alarm_trigger::handle(&trigger, &fresh_alarm()).await);
    assert_eq!(
        (decision.outcome, decision.reason.as_str()),
        (Outcome::DryRun, "dry-run")
    );
    assert_eq!(decision.execution_arn, None);
    assert!(moto.executions(PIPELINE).await?.is_empty());
    assert!(
        moto.ledger_object("housing-price").await.is_err(),
        "dry run wrote no ledger object"
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_outage_gives_transient_and_records_nothing() -> Result<()> {
    let Scenario { mut moto, trigger, .. } = Scenario::start(POLICY).await?;
    moto.stop();
    let error = alarm_trigger::handle(&trigger, &fresh_alarm())
        .await
        .expect_err("moto is down");
    assert_eq!(error.error_type(), "Transient", "{error}");
    assert!(error.to_string().contains("retry"), "{error}");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_sns_record_is_reported_after_the_good_ones_are_decided() -> Result<()> {
    let Scenario { moto, trigger, .. } = Scenario::start(POLICY).await?;
    let event = with_sns_state_time(
        fixture("example-sns-multiple-records-one-bad.json"),
        &cloudwatch_time(60),
    );
    let error = sns_trigger::handle(&trigger, &event)
        .await
        .expect_err("one record is bad");
    assert_eq!(error.error_type(), "InvalidEvent");
    let message = error.to_string();
    assert!(message.contains("1 of 3"), "{message}");
    assert!(message.contains("housing-price started"), "{message}");
    assert_eq!(
        moto.executions(PIPELINE).await?.len(),
        1,
        "the good records started the pipeline once"
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_sns_event_of_bad_records_only_says_nothing_of_decisions() -> Result<()> {
    let Scenario { moto, trigger, .. } = Scenario::start(POLICY).await?;
    let mut event = fixture("example-sns-multiple-records-one-bad.json");
    let records = event["Records"].as_array_mut().expect("records");
    records.retain(|record| {
        record["Sns"]["Message"]
            .as_str()
            .is_some_and(|text| text.contains("s3:TestEvent"))
    });
    assert_eq!(records.len(), 1, "the fixture's bad record");
    let error = sns_trigger::handle(&trigger, &event)
        .await
        .expect_err("the only record is bad");
    assert_eq!(error.error_type(), "InvalidEvent");
    let message = error.to_string();
    assert!(message.starts_with("1 of 1 SNS records are invalid: "), "{message}");
    assert!(!message.contains("decided") && !message.contains("[]"), "{message}");
    integration_tests::assert_readable(&message, &["SNS"]);
    assert!(moto.executions(PIPELINE).await?.is_empty());
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_events_are_invalid_input_naming_the_problem() -> Result<()> {
    let Scenario { moto, trigger, .. } = Scenario::start(POLICY).await?;
    let check = |result: Result<Response, TriggerError>, fragment: &str| {
        let error = result.expect_err(fragment);
        assert_eq!(error.error_type(), "InvalidEvent", "{error}");
        assert!(error.to_string().contains(fragment), "{error} lacks {fragment:?}");
    };
    check(
        alarm_trigger::handle(&trigger, &serde_json::json!({"hello": "world"})).await,
        "alarm",
    );
    check(
        alarm_trigger::handle(&trigger, &serde_json::json!([1, 2])).await,
        "alarm",
    );
    let mut no_timestamp = fixture("example-cloudwatch-alarm-metric.json");
    no_timestamp["alarmData"]["state"]["timestamp"] = Value::Null;
    check(alarm_trigger::handle(&trigger, &no_timestamp).await, "timestamp");
    check(
        sns_trigger::handle(&trigger, &serde_json::json!({"Records": []})).await,
        "Records",
    );
    check(
        schedule_trigger::handle(&trigger, &serde_json::json!({"schedule": "housing-price-weekly"})).await,
        "scheduled_time",
    );
    assert!(moto.executions(PIPELINE).await?.is_empty());
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_alarm_bound_to_two_models_starts_each_pipeline() -> Result<()> {
    let moto = Moto::start()?;
    moto.create(&[PIPELINE, "churn-retrain"], &ALL_PARAMETERS).await?;
    let policy = format!("{POLICY}\n[[model]]\nname = \"churn\"\npipeline = \"churn-retrain\"\nalarms = [\"housing-price-mae-high\"]\napproval = \"auto\"\n");
    let trigger = moto.trigger(&policy, false).await?;
    let response = alarm_trigger::handle(&trigger, &fresh_alarm()).await?;
    let outcomes: Vec<_> = response
        .decisions
        .iter()
        .map(|d| (d.model.clone().unwrap_or_default(), d.outcome))
        .collect();
    assert_eq!(
        outcomes,
        [
            ("housing-price".to_string(), Outcome::Started),
            ("churn".to_string(), Outcome::Started)
        ]
    );
    assert_eq!(moto.executions(PIPELINE).await?.len(), 1);
    assert_eq!(moto.executions("churn-retrain").await?.len(), 1);
    let churn = moto
        .parameters(response.decisions[1].execution_arn.as_deref().unwrap_or_default())
        .await?;
    assert!(
        churn.contains(&("ModelApprovalStatus".to_string(), "Approved".to_string())),
        "{churn:?}"
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_claim_left_by_a_dead_process_is_taken_over_after_its_lease() -> Result<()> {
    let Scenario { moto, mut trigger, .. } = Scenario::start(POLICY).await?;
    let state_time = cloudwatch_time(60);
    let event = with_state_time(fixture("example-cloudwatch-alarm-metric.json"), &state_time);
    // Learn the trigger's key from a dry run, then plant a claim as a process
    // that died after claiming would have left it.
    let dry = moto.trigger(POLICY, true).await?;
    let trigger_id = single(alarm_trigger::handle(&dry, &event).await).trigger_id;
    let key = &format!("alarm/housing-price-mae-high/{}", millis_of(&state_time));
    let token = trigger_decision::key::client_request_token(PIPELINE, &DedupeKey::new(key.as_str()));
    let claim = |claimed_at: i64| serde_json::json!({"triggers": {key: {"trigger_id": trigger_id, "client_request_token": token, "claimed_at": claimed_at}}, "evidence": []});

    // A fresh claim holds other invocations off: they wait, then answer Transient.
    let now = trigger_aws::now().millis();
    moto.put_ledger_object("housing-price", &claim(now).to_string()).await?;
    trigger.claim_wait = Span::from_millis(500);
    let error = alarm_trigger::handle(&trigger, &event)
        .await
        .expect_err("a fresh claim is held");
    assert_eq!(error.error_type(), "Transient");
    assert!(moto.executions(PIPELINE).await?.is_empty());

    // An expired claim is taken over, with the same token.
    moto.put_ledger_object("housing-price", &claim(now - 10 * 60_000).to_string())
        .await?;
    let decision = single(alarm_trigger::handle(&trigger, &event).await);
    assert_eq!(decision.outcome, Outcome::Started);
    let ledger = moto.ledger_object("housing-price").await?;
    assert_eq!(
        ledger["triggers"][key]["client_request_token"],
        Value::String(token.into_string())
    );
    assert_eq!(moto.executions(PIPELINE).await?.len(), 1);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_start_the_ledger_never_recorded_is_recognised_not_repeated() -> Result<()> {
    let Scenario { moto, trigger, .. } = Scenario::start(POLICY).await?;
    // SageMaker accepted the start, then the process died before the ledger write.
    let state_time = cloudwatch_time(60);
    let key = &format!("alarm/housing-price-mae-high/{}", millis_of(&state_time));
    let token = trigger_decision::key::client_request_token(PIPELINE, &DedupeKey::new(key.as_str()));
    let started = moto
        .sagemaker()
        .await
        .start_pipeline_execution()
        .pipeline_name(PIPELINE)
        .pipeline_execution_display_name(trigger_decision::key::display_name("housing-price", "metric", &token))
        .client_request_token(token.as_str())
        .send()
        .await?;
    let event = with_sns_state_time(fixture("example-sns-cloudwatch-alarm.json"), &state_time);
    let decision = single(sns_trigger::handle(&trigger, &event).await);
    assert_eq!(decision.outcome, Outcome::AlreadyStarted);
    assert_eq!(decision.execution_arn.as_deref(), started.pipeline_execution_arn());
    assert_eq!(moto.executions(PIPELINE).await?.len(), 1);
    let ledger = moto.ledger_object("housing-price").await?;
    assert_eq!(
        ledger["triggers"][key]["execution_arn"].as_str(),
        started.pipeline_execution_arn()
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_corrupt_ledger_object_is_an_error_not_a_reset() -> Result<()> {
    let Scenario { moto, trigger, .. } = Scenario::start(POLICY).await?;
    moto.put_ledger_object("housing-price", "{\"triggers\": {\"alarm/x\": ")
        .await?;
    let error = alarm_trigger::handle(&trigger, &fresh_alarm())
        .await
        .expect_err("the ledger is unreadable");
    assert_eq!(error.error_type(), "LedgerCorrupt");
    assert!(error.to_string().contains("ledger/state/housing-price.json"), "{error}");
    assert!(moto.executions(PIPELINE).await?.is_empty());
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_truncated_or_mistyped_ledger_object_is_an_error_not_a_reset() -> Result<()> {
    let Scenario { moto, trigger, .. } = Scenario::start(POLICY).await?;
    let event = fresh_alarm();
    let started = single(alarm_trigger::handle(&trigger, &event).await);
    assert_eq!(started.outcome, Outcome::Started);
    let recorded = moto.ledger_object("housing-price").await?.to_string();
    assert!(recorded.is_ascii(), "cut at any byte: {recorded}");

    // The object as a write cut short would leave it, and as a hand edit could leave it.
    let bodies = [
        String::new(),
        recorded[..1].to_string(),
        recorded[..recorded.len() / 2].to_string(),
        recorded[..recorded.len() - 1].to_string(),
        "null".to_string(),
        "[]".to_string(),
        r#"{"triggers": [], "evidence": []}"#.to_string(),
        r#"{"triggers": {}, "evidence": [], "colour": "red"}"#.to_string(),
    ];
    for body in &bodies {
        moto.put_ledger_object("housing-price", body).await?;
        let Err(error) = alarm_trigger::handle(&trigger, &event).await else {
            panic!("a ledger object {body:?} was read as valid")
        };
        assert_eq!(error.error_type(), "LedgerCorrupt", "{body:?}: {error}");
        assert!(
            error.to_string().contains("ledger/state/housing-price.json") && error.to_string().contains("repair"),
            "{error}"
        );
    }
    assert_eq!(
        moto.executions(PIPELINE).await?.len(),
        1,
        "nothing started while the ledger was unreadable"
    );

    // Restored, the same delivery finds its record again.
    moto.put_ledger_object("housing-price", &recorded).await?;
    let again = single(alarm_trigger::handle(&trigger, &event).await);
    assert_eq!(
        (again.outcome, again.execution_arn),
        (Outcome::AlreadyStarted, started.execution_arn)
    );
    Ok(())
}

/// The metric alarm fixture, its state change a minute ago: fixtures carry 2023
/// timestamps, which are stale beyond the default 24h maximum event age.
fn fresh_alarm() -> Value {
    with_state_time(fixture("example-cloudwatch-alarm-metric.json"), &cloudwatch_time(60))
}

/// One state change of housing-price-mae-high at `state_time`, as the alarm
/// action, SNS and EventBridge deliver it.
fn one_state_change_three_ways(state_time: &str) -> [Value; 3] {
    [
        with_state_time(fixture("example-cloudwatch-alarm-metric.json"), state_time),
        with_sns_state_time(fixture("example-sns-cloudwatch-alarm.json"), state_time),
        with_state_time(fixture("example-eventbridge-alarm-state-change.json"), state_time),
    ]
}

/// An EventBridge Scheduler input for the housing-price schedule, firing now.
fn schedule_now() -> Value {
    serde_json::json!({"schedule": "housing-price-weekly", "scheduled_time": cloudwatch_time(0).replace("+0000", "Z")})
}
