//! Faults between the functions and AWS: every failure before a start is
//! `Transient` and the redelivery starts exactly once; a start SageMaker
//! accepted but the ledger never recorded is recognised, not repeated; lost
//! conditional-write races and concurrent writers give one start and keep
//! every piece of evidence; a ledger read cut short is retried, not read as
//! empty. Faults come from the proxy in `integration_tests::fault`, in front
//! of a moto server each test starts for itself.

// Helpers here are test code too: an unexpected result should fail the test loudly.
#![allow(clippy::panic, clippy::unwrap_used, clippy::expect_used)]

use anyhow::Result;
use integration_tests::fault::{Fault, Match, DESCRIBE, LEDGER_GET, LEDGER_PUT, LIST, START};
use integration_tests::{
    cloudwatch_time, fixture, millis_of, single, with_sns_state_time, with_state_time, Moto, Scenario, PIPELINE, POLICY,
};
use serde_json::Value;
use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;
use trigger_decision::{key, DedupeKey, Outcome};
use trigger_engine::{DecisionRecord, Response, TriggerError};

const MODEL: &str = "housing-price";
const ALARM: &str = "housing-price-mae-high";

/// The alarm state change a test delivers (a minute ago), with its dedupe
/// key and `ClientRequestToken`.
#[derive(Debug)]
struct Change {
    state_time: String,
    dedupe_key: String,
    token: String,
}

/// What most tests start from: the housing-price scenario behind the fault
/// proxy, with a trigger whose SDK makes `attempts` attempts per call, and
/// the state change the test delivers.
async fn scenario(attempts: u32) -> Result<(Scenario, Change)> {
    let scenario = Scenario::behind_proxy(POLICY, attempts).await?;
    let state_time = cloudwatch_time(60);
    let (dedupe_key, token) = key_and_token(&state_time);
    Ok((
        scenario,
        Change {
            state_time,
            dedupe_key,
            token,
        },
    ))
}

fn transient(response: Result<Response, TriggerError>) -> TriggerError {
    let error = match response {
        Ok(response) => panic!("expected Transient, got {response:?}"),
        Err(error) => error,
    };
    assert_eq!(error.error_type(), "Transient", "{error}");
    assert!(error.to_string().contains("safe to retry"), "{error}");
    error
}

/// The alarm action's event for a state change of the housing-price alarm at `state_time`.
fn alarm_at(state_time: &str) -> Value {
    with_state_time(fixture("example-cloudwatch-alarm-metric.json"), state_time)
}

/// The same state change as SNS delivers it.
fn sns_at(state_time: &str) -> Value {
    with_sns_state_time(fixture("example-sns-cloudwatch-alarm.json"), state_time)
}

/// The dedupe key and `ClientRequestToken` of the housing-price alarm's state change at `state_time`.
fn key_and_token(state_time: &str) -> (String, String) {
    let dedupe_key = format!("alarm/{ALARM}/{}", millis_of(state_time));
    let token = key::client_request_token(PIPELINE, &DedupeKey::new(dedupe_key.as_str())).into_string();
    (dedupe_key, token)
}

/// The display name of the execution started for `dedupe_key`, which embeds its token.
fn display_name(dedupe_key: &str) -> String {
    key::display_name(
        MODEL,
        "metric",
        &key::client_request_token(PIPELINE, &DedupeKey::new(dedupe_key)),
    )
}

/// Display names of every execution of the pipeline, as SageMaker lists them.
async fn display_names(moto: &Moto) -> Result<Vec<String>> {
    let listed = moto
        .sagemaker()
        .await
        .list_pipeline_executions()
        .pipeline_name(PIPELINE)
        .send()
        .await?;
    Ok(listed
        .pipeline_execution_summaries()
        .iter()
        .map(|summary| {
            summary
                .pipeline_execution_display_name()
                .unwrap_or_default()
                .to_string()
        })
        .collect())
}

/// The ledger's record of one trigger, or null.
async fn ledger_record(moto: &Moto, dedupe_key: &str) -> Result<Value> {
    Ok(moto.ledger_object(MODEL).await?["triggers"][dedupe_key].clone())
}

/// Asserts that the ledger records the start of `execution_arn` for `dedupe_key`, with `token`.
async fn assert_recorded(moto: &Moto, dedupe_key: &str, execution_arn: &str, token: &str) -> Result<()> {
    let record = ledger_record(moto, dedupe_key).await?;
    assert_eq!(
        record["execution_arn"],
        Value::String(execution_arn.to_string()),
        "{record}"
    );
    assert_eq!(
        record["client_request_token"],
        Value::String(token.to_string()),
        "{record}"
    );
    Ok(())
}

/// A fault on `matcher` for requests `first..first + times` fails the delivery
/// with `Transient` before anything starts; the redelivery then starts exactly
/// once, with the token every start attempt carried, and a third delivery is
/// `already-started`.
async fn check_transient_then_exactly_once(matcher: Match, first: usize, times: usize, fault: Fault) -> Result<()> {
    let (faulty, change) = scenario(2).await?;
    let (moto, trigger, proxy) = (&faulty.moto, &faulty.trigger, faulty.proxy());
    let (state_time, dedupe_key, token) = (change.state_time, change.dedupe_key, change.token);
    proxy.fail(matcher, first, times, fault);

    transient(alarm_trigger::handle(trigger, &alarm_at(&state_time)).await);
    assert!(
        moto.executions(PIPELINE).await?.is_empty(),
        "{fault:?} on {matcher:?}: nothing started"
    );
    if let Ok(record) = ledger_record(moto, &dedupe_key).await {
        assert!(
            record.is_null(),
            "{fault:?} on {matcher:?}: the claim was released: {record}"
        );
    }

    let started = single(alarm_trigger::handle(trigger, &alarm_at(&state_time)).await);
    assert_eq!((started.outcome, started.reason.as_str()), (Outcome::Started, "alarm"));
    let executions = moto.executions(PIPELINE).await?;
    assert_eq!(executions.len(), 1, "{fault:?} on {matcher:?}");
    assert_eq!(started.execution_arn.as_deref(), Some(executions[0].as_str()));
    assert_recorded(moto, &dedupe_key, &executions[0], &token).await?;
    let tokens: BTreeSet<Option<String>> = proxy
        .seen_matching(START)
        .into_iter()
        .map(|seen| seen.client_request_token)
        .collect();
    assert_eq!(
        tokens,
        BTreeSet::from([Some(token)]),
        "every start attempt carried one token"
    );

    let again = single(sns_trigger::handle(trigger, &sns_at(&state_time)).await);
    assert_eq!(
        (again.outcome, again.execution_arn),
        (Outcome::AlreadyStarted, started.execution_arn)
    );
    assert_eq!(moto.executions(PIPELINE).await?.len(), 1);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_throttled_start_is_transient_and_the_redelivery_starts_once() -> Result<()> {
    check_transient_then_exactly_once(START, 1, 2, Fault::Throttle).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sagemaker_503_while_listing_is_transient_and_the_redelivery_starts_once() -> Result<()> {
    check_transient_then_exactly_once(LIST, 1, 2, Fault::Status(503)).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sagemaker_500_while_describing_the_pipeline_is_transient_and_the_redelivery_starts_once() -> Result<()> {
    check_transient_then_exactly_once(DESCRIBE, 1, 2, Fault::Status(500)).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_s3_500_on_the_claim_write_is_transient_and_the_redelivery_starts_once() -> Result<()> {
    check_transient_then_exactly_once(LEDGER_PUT, 1, 2, Fault::Status(500)).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_s3_503_on_the_ledger_read_is_transient_and_the_redelivery_starts_once() -> Result<()> {
    check_transient_then_exactly_once(LEDGER_GET, 1, 2, Fault::Status(503)).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reset_connection_on_the_start_is_transient_and_the_redelivery_starts_once() -> Result<()> {
    check_transient_then_exactly_once(START, 1, 2, Fault::Reset).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_start_held_past_the_sdk_timeout_is_transient_and_the_redelivery_starts_once() -> Result<()> {
    check_transient_then_exactly_once(START, 1, 2, Fault::Hang).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_ledger_read_cut_short_in_transit_is_transient_not_a_reset() -> Result<()> {
    let (faulty, change) = scenario(2).await?;
    let (moto, trigger, proxy) = (&faulty.moto, &faulty.trigger, faulty.proxy());
    let state_time = change.state_time;
    // An earlier start is recorded, so a reset ledger would let this redelivery start again.
    let started = single(alarm_trigger::handle(trigger, &alarm_at(&state_time)).await);
    assert_eq!(started.outcome, Outcome::Started);

    // The redelivery's read of the ledger (the first read after the rule is set) is cut off halfway.
    proxy.fail(LEDGER_GET, 1, 1, Fault::TruncateBody);
    transient(alarm_trigger::handle(trigger, &alarm_at(&state_time)).await);
    let again = single(alarm_trigger::handle(trigger, &alarm_at(&state_time)).await);
    assert_eq!(
        (again.outcome, again.execution_arn),
        (Outcome::AlreadyStarted, started.execution_arn)
    );
    assert_eq!(moto.executions(PIPELINE).await?.len(), 1);
    Ok(())
}

/// SageMaker accepted the start, then the ledger write that records it failed
/// on every attempt. The redelivery, while the claim is still fresh, finds the
/// execution by its display name, answers `already-started` and repairs the
/// ledger; nothing starts twice.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_start_sagemaker_accepted_but_the_ledger_never_recorded_is_recognised_on_redelivery() -> Result<()> {
    let (faulty, change) = scenario(2).await?;
    let (moto, trigger, proxy) = (&faulty.moto, &faulty.trigger, faulty.proxy());
    let (state_time, dedupe_key, token) = (change.state_time, change.dedupe_key, change.token);
    // Ledger write 1 is the claim; 2 and 3 are both SDK attempts at recording the start.
    proxy.fail(LEDGER_PUT, 2, 2, Fault::Status(503));

    let error = transient(alarm_trigger::handle(trigger, &alarm_at(&state_time)).await);
    assert!(error.to_string().contains("PutObject"), "{error}");
    let executions = moto.executions(PIPELINE).await?;
    assert_eq!(executions.len(), 1, "SageMaker accepted the start");
    assert_eq!(
        display_names(moto).await?,
        [display_name(&dedupe_key)],
        "the execution's display name embeds the token"
    );
    let claim = ledger_record(moto, &dedupe_key).await?;
    assert_eq!(claim["client_request_token"], Value::String(token.clone()));
    assert!(claim["execution_arn"].is_null(), "claimed but never recorded: {claim}");

    // Redelivered at once by another path, inside the claim's lease.
    let redelivered = single(sns_trigger::handle(trigger, &sns_at(&state_time)).await);
    assert_eq!(
        (redelivered.outcome, redelivered.execution_arn.as_deref()),
        (Outcome::AlreadyStarted, Some(executions[0].as_str()))
    );
    assert_recorded(moto, &dedupe_key, &executions[0], &token).await?;
    assert_eq!(proxy.seen_matching(START).len(), 1, "the start was never sent again");
    assert_eq!(moto.executions(PIPELINE).await?.len(), 1);
    Ok(())
}

/// The start reached SageMaker but its answer was lost (the connection reset
/// after the call took effect), with no SDK retry to hide it: the claim is
/// released and the delivery is `Transient`. The redelivery recognises the
/// execution by its display name and records it, instead of starting again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_start_whose_answer_was_lost_is_recognised_by_its_display_name() -> Result<()> {
    let (faulty, change) = scenario(1).await?;
    let (moto, trigger, proxy) = (&faulty.moto, &faulty.trigger, faulty.proxy());
    let (state_time, dedupe_key, token) = (change.state_time, change.dedupe_key, change.token);
    proxy.fail(START, 1, 1, Fault::ForwardThenReset);

    transient(alarm_trigger::handle(trigger, &alarm_at(&state_time)).await);
    let executions = moto.executions(PIPELINE).await?;
    assert_eq!(executions.len(), 1, "the start took effect");
    assert!(
        ledger_record(moto, &dedupe_key).await?.is_null(),
        "the claim was released"
    );

    let redelivered = single(alarm_trigger::handle(trigger, &alarm_at(&state_time)).await);
    assert_eq!(
        (redelivered.outcome, redelivered.execution_arn.as_deref()),
        (Outcome::AlreadyStarted, Some(executions[0].as_str()))
    );
    assert_recorded(moto, &dedupe_key, &executions[0], &token).await?;
    assert_eq!(proxy.seen_matching(START).len(), 1);
    assert_eq!(moto.executions(PIPELINE).await?.len(), 1);
    Ok(())
}

/// The SDK retries a start whose answer was a 500 after the call took effect.
/// Both attempts carry the same `ClientRequestToken` and display name, so
/// SageMaker returns the first execution for the second. (moto does not
/// dedupe tokens and lists one execution per attempt; both carry the token's
/// display name, which is what SageMaker would have deduplicated on.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sdk_retries_of_a_start_reuse_its_client_request_token() -> Result<()> {
    let (faulty, change) = scenario(2).await?;
    let (moto, trigger, proxy) = (&faulty.moto, &faulty.trigger, faulty.proxy());
    let (state_time, dedupe_key, token) = (change.state_time, change.dedupe_key, change.token);
    proxy.fail(START, 1, 1, Fault::ForwardThenStatus(500));

    let started = single(alarm_trigger::handle(trigger, &alarm_at(&state_time)).await);
    assert_eq!(started.outcome, Outcome::Started);
    let attempts = proxy.seen_matching(START);
    assert_eq!(attempts.len(), 2, "{attempts:?}");
    let display_name = display_name(&dedupe_key);
    for attempt in &attempts {
        assert_eq!(attempt.client_request_token.as_deref(), Some(token.as_str()));
        assert_eq!(attempt.display_name.as_deref(), Some(display_name.as_str()));
    }
    assert!(display_names(moto).await?.iter().all(|name| *name == display_name));
    assert_recorded(moto, &dedupe_key, started.execution_arn.as_deref().unwrap(), &token).await?;
    Ok(())
}

/// A conditional ledger write that loses (412) is reread and redecided; a
/// lost write of the record is redone. One start, recorded.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lost_conditional_write_races_are_reread_and_start_once() -> Result<()> {
    let (faulty, change) = scenario(2).await?;
    let (moto, trigger, proxy) = (&faulty.moto, &faulty.trigger, faulty.proxy());
    let (state_time, dedupe_key, token) = (change.state_time, change.dedupe_key, change.token);
    // Write 1 is the first claim (lost), 2 the claim again, 3 the record (lost), 4 the record again.
    proxy.fail(LEDGER_PUT, 1, 1, Fault::PreconditionFailed);
    proxy.fail(LEDGER_PUT, 3, 1, Fault::PreconditionFailed);

    let started = single(alarm_trigger::handle(trigger, &alarm_at(&state_time)).await);
    assert_eq!(started.outcome, Outcome::Started);
    assert_eq!(proxy.seen_matching(LEDGER_PUT).len(), 4);
    assert_eq!(proxy.seen_matching(START).len(), 1);
    let executions = moto.executions(PIPELINE).await?;
    assert_eq!(executions.len(), 1);
    assert_recorded(moto, &dedupe_key, &executions[0], &token).await?;
    Ok(())
}

/// A claim write that took effect in S3 but whose answer was lost: the SDK
/// retries it, the retry fails its condition (412, the object has changed),
/// and the reread ledger holds a fresh claim with no start. That claim is the
/// invocation's own, so it starts at once, once, rather than waiting on it
/// as on another invocation's and answering `Transient`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_claim_that_landed_though_its_answer_was_lost_is_the_invocations_own() -> Result<()> {
    let (faulty, change) = scenario(2).await?;
    let (moto, trigger, proxy) = (&faulty.moto, &faulty.trigger, faulty.proxy());
    let (state_time, dedupe_key, token) = (change.state_time, change.dedupe_key, change.token);
    proxy.fail(LEDGER_PUT, 1, 1, Fault::ForwardThenStatus(500));

    let started = single(alarm_trigger::handle(trigger, &alarm_at(&state_time)).await);
    assert_eq!((started.outcome, started.reason.as_str()), (Outcome::Started, "alarm"));
    // Write 1 is the claim (it landed; its answer became a 500), 2 the SDK's retry of it (412), 3 the record.
    assert_eq!(proxy.seen_matching(LEDGER_PUT).len(), 3);
    assert_eq!(proxy.seen_matching(START).len(), 1);
    let executions = moto.executions(PIPELINE).await?;
    assert_eq!(executions.len(), 1);
    assert_eq!(started.execution_arn.as_deref(), Some(executions[0].as_str()));
    assert_recorded(moto, &dedupe_key, &executions[0], &token).await?;
    Ok(())
}

/// Twelve distinct state changes of one alarm, each delivered twice (by the
/// alarm action and by SNS), all at once: their ledger writes race. One
/// starts; its duplicate is `already-started`; every other change is deferred
/// by the cooldown or the start in flight, and its evidence is in the ledger.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_state_changes_of_one_model_start_once_and_keep_every_evidence() -> Result<()> {
    // No faults: the proxy is there to make moto's conditional writes atomic, as S3's are.
    let faulty = Scenario::behind_proxy(POLICY, 2).await?;
    let moto = &faulty.moto;
    let trigger = Arc::new(faulty.proxy().trigger_with(POLICY, 2, Duration::from_secs(30)).await?);
    let mut deliveries = tokio::task::JoinSet::new();
    for change in 0..12 {
        let state_time = cloudwatch_time(600 - change * 10);
        for by_sns in [false, true] {
            let trigger = Arc::clone(&trigger);
            let state_time = state_time.clone();
            deliveries.spawn(async move {
                let result = if by_sns {
                    sns_trigger::handle(&trigger, &sns_at(&state_time)).await
                } else {
                    alarm_trigger::handle(&trigger, &alarm_at(&state_time)).await
                };
                (state_time, single(result))
            });
        }
    }
    let mut decisions = Vec::new();
    while let Some(joined) = deliveries.join_next().await {
        decisions.push(joined?);
    }

    let started: Vec<&(String, DecisionRecord)> = decisions
        .iter()
        .filter(|(_, decision)| decision.outcome == Outcome::Started)
        .collect();
    assert_eq!(started.len(), 1, "{decisions:#?}");
    let (started_time, started) = started[0];
    for (state_time, decision) in &decisions {
        let expected = if state_time == started_time {
            [Outcome::Started, Outcome::AlreadyStarted]
        } else {
            [Outcome::Deferred, Outcome::Deferred]
        };
        assert!(expected.contains(&decision.outcome), "{decision:?}");
    }
    let executions = moto.executions(PIPELINE).await?;
    assert_eq!(executions, [started.execution_arn.clone().unwrap()]);

    let ledger = moto.ledger_object(MODEL).await?;
    let kept: BTreeSet<&str> = ledger["evidence"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|evidence| evidence["trigger_id"].as_str())
        .collect();
    let deferred: BTreeSet<&str> = decisions
        .iter()
        .filter(|(_, decision)| decision.outcome == Outcome::Deferred)
        .map(|(_, decision)| decision.trigger_id.as_str())
        .collect();
    assert_eq!(deferred.len(), 11, "{decisions:#?}");
    assert!(
        deferred.is_subset(&kept),
        "lost evidence: {:?}",
        deferred.difference(&kept)
    );
    Ok(())
}
