//! The exactly-once protocol's races, run in memory: concurrent deliveries
//! of one event and of many events of one model, a claim left by a dead
//! process (held off for its lease, then taken over), and every answer that
//! can be lost between the claim, the start and the record. The in-memory
//! ledger answers conditional writes as S3 does and lets a test put another
//! invocation's work between a write landing and its answer; the store
//! starts at most one execution per token, as SageMaker does; the clock is
//! virtual, so waiting out a claim takes no real time.

// Helpers here are test code too: an unexpected result should fail the test loudly.
#![allow(clippy::panic, clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{alarm, setup, setup_with, single, MODEL, NOW, PIPELINE, POLICY};
use std::collections::BTreeSet;
use std::sync::Arc;
use trigger_decision::{key, ExecutionStatus, Outcome, Span};
use trigger_engine::ledger::{TriggerKey, Write};
use trigger_engine::memory::{StoreCall, StoreFault, WriteFault};
use trigger_engine::{Clock, Ledger, ModelState, CLAIM_LEASE};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twenty_concurrent_deliveries_of_one_state_change_start_one_execution() {
    let (memory, trigger) = setup();
    let trigger = Arc::new(trigger);
    let mut deliveries = tokio::task::JoinSet::new();
    for _ in 0..20 {
        let trigger = Arc::clone(&trigger);
        deliveries.spawn(async move { single(trigger.handle(&alarm(1)).await) });
    }
    let mut outcomes = Vec::new();
    while let Some(decision) = deliveries.join_next().await {
        outcomes.push(decision.unwrap().outcome);
    }
    assert_eq!(
        outcomes.iter().filter(|outcome| **outcome == Outcome::Started).count(),
        1,
        "{outcomes:?}"
    );
    assert!(
        outcomes
            .iter()
            .all(|outcome| matches!(outcome, Outcome::Started | Outcome::AlreadyStarted)),
        "{outcomes:?}"
    );
    assert_eq!(memory.store.starts(), 1);
    assert_eq!(
        memory.store.start_requests().len(),
        1,
        "no delivery sent a second start"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_state_changes_of_one_model_start_once_and_keep_every_evidence() {
    let (memory, trigger) = setup();
    let trigger = Arc::new(trigger);
    let mut deliveries = tokio::task::JoinSet::new();
    for change in 0..12 {
        for _delivery in 0..2 {
            let trigger = Arc::clone(&trigger);
            let signal = alarm(10 - change);
            deliveries.spawn(async move {
                let decision = single(trigger.handle(&signal).await);
                (change, decision)
            });
        }
    }
    let mut decisions = Vec::new();
    while let Some(joined) = deliveries.join_next().await {
        decisions.push(joined.unwrap());
    }
    let started: Vec<i64> = decisions
        .iter()
        .filter(|(_, decision)| decision.outcome == Outcome::Started)
        .map(|(change, _)| *change)
        .collect();
    assert_eq!(started.len(), 1, "{decisions:#?}");
    for (change, decision) in &decisions {
        let expected = if *change == started[0] {
            [Outcome::Started, Outcome::AlreadyStarted]
        } else {
            [Outcome::Deferred, Outcome::Deferred]
        };
        assert!(expected.contains(&decision.outcome), "{decision:?}");
    }
    assert_eq!(memory.store.starts(), 1);
    // Every deferred change is in the model's evidence, whichever write won each race.
    let evidence = memory.ledger.state(MODEL).unwrap().evidence;
    let deferred_changes: BTreeSet<i64> = decisions
        .iter()
        .filter(|(_, decision)| decision.outcome == Outcome::Deferred)
        .map(|(change, decision)| {
            let kept = evidence.iter().any(|kept| kept.trigger_id == decision.trigger_id);
            assert!(kept, "lost the evidence of {decision:?}");
            *change
        })
        .collect();
    assert_eq!(deferred_changes.len(), 11, "{decisions:#?}");
}

/// A claim a process left when it died between claiming and starting: while
/// fresh it holds every other invocation off (they wait, then answer
/// `Transient`); once its lease ran out it is taken over, with the same token.
#[tokio::test]
async fn a_claim_left_by_a_dead_process_holds_others_off_for_its_lease_then_is_taken_over() {
    let (memory, trigger) = setup();
    let signal = alarm(1);
    let dedupe_key = signal.dedupe_key();
    let token = key::client_request_token(PIPELINE, &dedupe_key);
    let mut left = ModelState::default();
    let trigger_id = key::trigger_id(&dedupe_key);
    let claimed = TriggerKey {
        dedupe_key: &dedupe_key,
        trigger_id: &trigger_id,
        token: &token,
    };
    left.claim(claimed, "a-process-that-died", NOW);
    let written = memory.ledger.store(MODEL, &left, None).await.unwrap();
    assert!(matches!(written, Write::Written(_)), "{written:?}");

    let error = trigger.handle(&signal).await.expect_err("a fresh claim is held");
    assert_eq!(error.error_type(), "Transient", "{error}");
    assert!(
        memory.clock.now() >= NOW.plus(trigger.claim_wait),
        "it waited out its claim wait"
    );
    assert_eq!(memory.store.starts(), 0);

    memory.clock.set(NOW.plus(CLAIM_LEASE).plus(Span::from_secs(1)));
    let decision = single(trigger.handle(&signal).await);
    assert_eq!(decision.outcome, Outcome::Started);
    assert_eq!(memory.store.starts(), 1);
    let requests = memory.store.start_requests();
    assert_eq!(
        requests[0].client_request_token, token,
        "the same token as the dead process's"
    );
    let state = memory.ledger.state(MODEL).unwrap();
    assert_eq!(state.execution_for(&dedupe_key), decision.execution_arn.as_deref());
}

/// The start reached SageMaker but its answer was lost: the claim is
/// released and the delivery is `Transient`. The redelivery recognises the
/// execution by its display name and records it, instead of starting again.
#[tokio::test]
async fn a_start_whose_answer_was_lost_is_recognised_by_its_display_name() {
    let (memory, trigger) = setup();
    memory.store.fail(StoreCall::Start, 1, 1, StoreFault::AnswerLost);
    let error = trigger.handle(&alarm(1)).await.expect_err("the answer was lost");
    assert_eq!(error.error_type(), "Transient", "{error}");
    let executions = memory.store.executions(PIPELINE);
    assert_eq!(executions.len(), 1, "the start took effect");
    let dedupe_key = alarm(1).dedupe_key();
    assert!(
        !memory.ledger.state(MODEL).unwrap().triggers.contains_key(&dedupe_key),
        "the claim was released"
    );

    let redelivered = single(trigger.handle(&alarm(1)).await);
    assert_eq!(redelivered.outcome, Outcome::AlreadyStarted);
    assert_eq!(redelivered.execution_arn.as_deref(), Some(executions[0].arn.as_str()));
    let record = &memory.ledger.state(MODEL).unwrap().triggers[&dedupe_key];
    assert_eq!(record.execution_arn.as_deref(), Some(executions[0].arn.as_str()));
    assert_eq!(
        record.client_request_token,
        key::client_request_token(PIPELINE, &dedupe_key)
    );
    assert_eq!(memory.store.start_requests().len(), 1, "the start was never sent again");
}

/// SageMaker accepted the start, then every write recording it failed. The
/// redelivery, while the claim is still fresh, finds the execution by its
/// display name, answers `already-started` and repairs the ledger.
#[tokio::test]
async fn a_start_the_ledger_never_recorded_is_recognised_inside_the_claims_lease() {
    let (memory, trigger) = setup();
    // Write 1 is the claim; 2 is the record of the start.
    memory.ledger.fail_writes(2, 1, WriteFault::Transient);
    let error = trigger.handle(&alarm(1)).await.expect_err("the record failed");
    assert_eq!(error.error_type(), "Transient", "{error}");
    let dedupe_key = alarm(1).dedupe_key();
    let claim = memory.ledger.state(MODEL).unwrap().triggers[&dedupe_key].clone();
    assert_eq!(claim.execution_arn, None, "claimed but never recorded");

    let redelivered = single(trigger.handle(&alarm(1)).await);
    assert_eq!(redelivered.outcome, Outcome::AlreadyStarted);
    let executions = memory.store.executions(PIPELINE);
    assert_eq!(redelivered.execution_arn.as_deref(), Some(executions[0].arn.as_str()));
    assert_eq!(
        memory.ledger.state(MODEL).unwrap().execution_for(&dedupe_key),
        Some(executions[0].arn.as_str())
    );
    assert_eq!(memory.store.start_requests().len(), 1);
}

/// The claim write took effect but its answer was lost, and the SDK's retry
/// of it failed its condition: the reread ledger holds this invocation's own
/// claim, so it starts at once, once, instead of waiting on it.
#[tokio::test]
async fn a_claim_that_landed_though_its_answer_was_lost_is_the_invocations_own() {
    let (memory, trigger) = setup();
    memory.ledger.fail_writes(1, 1, WriteFault::LandsThenConflict);
    let decision = single(trigger.handle(&alarm(1)).await);
    assert_eq!(
        (decision.outcome, decision.reason.as_str()),
        (Outcome::Started, "alarm")
    );
    assert_eq!(memory.clock.now(), NOW, "it did not wait on its own claim");
    assert_eq!(memory.store.starts(), 1);
    // Write 1 is the claim (landed, answered as a conflict), 2 the record.
    assert_eq!(memory.ledger.writes(), 2);
}

/// Conditional writes that lose their race are reread and redone: the claim
/// is decided again, the record of the start written again. One start.
#[tokio::test]
async fn lost_conditional_write_races_are_reread_and_start_once() {
    let (memory, trigger) = setup();
    // Write 1 is the first claim (lost), 2 the claim again, 3 the record (lost), 4 the record again.
    memory.ledger.fail_writes(1, 1, WriteFault::Conflict);
    memory.ledger.fail_writes(3, 1, WriteFault::Conflict);
    let decision = single(trigger.handle(&alarm(1)).await);
    assert_eq!(decision.outcome, Outcome::Started);
    assert_eq!(memory.ledger.writes(), 4);
    assert_eq!(memory.store.start_requests().len(), 1);
    let dedupe_key = alarm(1).dedupe_key();
    assert_eq!(
        memory.ledger.state(MODEL).unwrap().execution_for(&dedupe_key),
        decision.execution_arn.as_deref()
    );
}

/// A start SageMaker refused transiently releases the claim, so the
/// redelivery starts at once, with the same token.
#[tokio::test]
async fn a_throttled_start_releases_its_claim_and_the_redelivery_starts_once() {
    let (memory, trigger) = setup();
    memory.store.fail(StoreCall::Start, 1, 1, StoreFault::Transient);
    let error = trigger.handle(&alarm(1)).await.expect_err("throttled");
    assert_eq!(error.error_type(), "Transient", "{error}");
    assert_eq!(memory.store.starts(), 0);
    let dedupe_key = alarm(1).dedupe_key();
    assert!(!memory.ledger.state(MODEL).unwrap().triggers.contains_key(&dedupe_key));

    let decision = single(trigger.handle(&alarm(1)).await);
    assert_eq!(decision.outcome, Outcome::Started);
    assert_eq!(memory.clock.now(), NOW, "no claim to wait on");
    let tokens: BTreeSet<String> = memory
        .store
        .start_requests()
        .iter()
        .map(|request| request.client_request_token.to_string())
        .collect();
    assert_eq!(tokens.len(), 1, "every start attempt carried one token");
}

/// The ledger and the listing are read at the same time, so the listing may
/// predate a start that the ledger already records (another trigger of the
/// model started and recorded between the two reads). That start still
/// holds a second one off inside the cooldown.
#[tokio::test]
async fn a_start_the_ledger_records_but_the_listing_does_not_show_yet_holds_off_a_second_start() {
    let (memory, trigger) = setup();
    let earlier = alarm(30).dedupe_key();
    let (trigger_id, token) = (key::trigger_id(&earlier), key::client_request_token(PIPELINE, &earlier));
    let mut recorded = ModelState::default();
    let started = TriggerKey {
        dedupe_key: &earlier,
        trigger_id: &trigger_id,
        token: &token,
    };
    recorded.record_start(started, "arn:not-listed-yet", NOW.minus(Span::from_secs(60)), &[]);
    memory.ledger.store(MODEL, &recorded, None).await.unwrap();

    let decision = single(trigger.handle(&alarm(1)).await);
    assert_eq!(
        (decision.outcome, decision.reason.as_str()),
        (Outcome::Deferred, "cooldown"),
        "{}",
        decision.detail
    );
    assert_eq!(memory.store.start_requests().len(), 0);
}

/// The claim write landed but its answer was lost, and before the invocation
/// read the ledger again an execution of the pipeline appeared: the decision
/// is no longer a start (the execution is in flight). The claim it left is
/// released with the evidence it keeps, instead of holding every other
/// trigger of the model off until its lease runs out.
#[tokio::test]
async fn a_claim_that_landed_unanswered_is_released_when_the_reread_decision_is_no_longer_a_start() {
    let (memory, trigger) = setup();
    let store = memory.store.clone();
    memory
        .ledger
        .fail_write_then(1, WriteFault::LandsThenConflict, move || {
            store.add_execution(PIPELINE, ExecutionStatus::Executing, Some(NOW));
        });
    let decision = single(trigger.handle(&alarm(1)).await);
    assert_eq!(
        (decision.outcome, decision.reason.as_str()),
        (Outcome::Deferred, "in-flight"),
        "{}",
        decision.detail
    );
    let state = memory.ledger.state(MODEL).unwrap();
    assert!(
        !state.triggers.contains_key(&alarm(1).dedupe_key()),
        "the claim was left: {:?}",
        state.triggers
    );
    assert!(!state.fresh_claim(memory.clock.now(), CLAIM_LEASE));
    assert!(
        state.evidence.iter().any(|kept| kept.trigger_id == decision.trigger_id),
        "the evidence is kept"
    );
    assert_eq!(memory.store.start_requests().len(), 0);
}

/// SageMaker may list an execution without its start time. It cost a
/// training run like any other, so the budget counts it, from when this
/// process first saw it; once that is outside the window, it no longer counts.
#[tokio::test]
async fn executions_listed_without_a_start_time_count_against_the_budget_from_when_first_seen() {
    let policy = POLICY.replace("cooldown = \"6h\"", "cooldown = \"0s\"\nmax_starts = \"1/1d\"");
    let (memory, trigger) = setup_with(&policy);
    memory.store.add_execution(PIPELINE, ExecutionStatus::Succeeded, None);
    let decision = single(trigger.handle(&alarm(1)).await);
    assert_eq!(
        (decision.outcome, decision.reason.as_str()),
        (Outcome::Deferred, "budget"),
        "{}",
        decision.detail
    );
    // A day after it was first seen it has left the budget's window; a fresh alarm starts.
    memory.clock.advance(Span::from_secs(86_400));
    let a_day_later = single(trigger.handle(&alarm(1 - 24 * 60)).await);
    assert_eq!(
        (a_day_later.outcome, a_day_later.reason.as_str()),
        (Outcome::Started, "alarm"),
        "{}",
        a_day_later.detail
    );
}

/// The declared parameters are read while the claim is written. When that
/// read fails the start cannot be made as asked: the claim is released, the
/// delivery is `Transient`, and the redelivery starts once.
#[tokio::test]
async fn a_failed_read_of_the_declared_parameters_releases_the_claim_written_meanwhile() {
    let (memory, trigger) = setup();
    memory.store.fail(StoreCall::Describe, 1, 1, StoreFault::Transient);
    let error = trigger
        .handle(&alarm(1))
        .await
        .expect_err("the parameters could not be read");
    assert_eq!(error.error_type(), "Transient", "{error}");
    assert_eq!(memory.store.start_requests().len(), 0);
    let state = memory.ledger.state(MODEL).unwrap();
    assert!(
        !state.triggers.contains_key(&alarm(1).dedupe_key()),
        "{:?}",
        state.triggers
    );

    let decision = single(trigger.handle(&alarm(1)).await);
    assert_eq!(decision.outcome, Outcome::Started);
    assert_eq!(memory.store.starts(), 1);
}
