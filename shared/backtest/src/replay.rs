//! The replay driver, and the trait the decision engine implements for it.
//!
//! The driver walks the timeline in order. Before each event it moves the
//! engine's virtual clock to the event's instant, so executions that have
//! run their course finish, then delivers the signal and keeps every
//! decision the engine made, stamped with when and why it was asked. After
//! the last event it moves the clock to the replay's end.
//!
//! The rules live only in the engine: this crate never decides. An adapter
//! over `trigger-engine` (its virtual clock, in-memory pipeline store and
//! ledger) implements `Engine`; the same engine runs in Lambda.

use crate::timeline::{source, Timeline};
use serde::Serialize;
use std::future::Future;
use trigger_decision::{Outcome, Signal, Timestamp};

/// What the replay needs from the decision engine.
pub trait Engine {
    type Error;

    /// Moves the virtual clock to `now`, which never goes back: executions
    /// whose run has ended by then finish, so the in-flight check, the
    /// cooldown and the budget see the history they would at `now`.
    fn advance_to(&mut self, now: Timestamp) -> impl Future<Output = Result<(), Self::Error>>;

    /// Hands `signal` to the engine at `now` (the clock is already there) and
    /// returns every decision it made: one per model bound to the signal, or
    /// one for no model.
    fn deliver(
        &mut self,
        now: Timestamp,
        signal: &Signal,
    ) -> impl Future<Output = Result<Vec<EngineDecision>, Self::Error>>;
}

/// One decision as the engine reports it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EngineDecision {
    /// The model decided for; `None` when no model is bound to the signal.
    pub model: Option<String>,
    pub outcome: Outcome,
    /// The engine's kebab-case reason code, e.g. `alarm` or `cooldown`. Only
    /// grouped and shown here, never matched on: the engine owns the codes.
    pub reason: String,
    /// The engine's sentence for people.
    pub detail: String,
    /// Whether the signal was kept as evidence for a later schedule (a deferred
    /// alarm, a drift report below `min_drifted`).
    pub evidence_kept: bool,
    /// For a start: the execution it began.
    pub run: Option<Run>,
}

/// An execution a start began, and how long it ran in the replay.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Run {
    pub execution_arn: String,
    #[serde(serialize_with = "crate::json::timestamp")]
    pub started_at: Timestamp,
    /// When it stopped being in flight: the start plus the replay's run duration.
    #[serde(serialize_with = "crate::json::timestamp")]
    pub ends_at: Timestamp,
}

/// What kind of signal a decision answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum TriggerKind {
    Alarm,
    Schedule,
    Drift,
    Manual,
}

impl TriggerKind {
    pub fn of(signal: &Signal) -> TriggerKind {
        match signal {
            Signal::Alarm(_) => TriggerKind::Alarm,
            Signal::Schedule(_) => TriggerKind::Schedule,
            Signal::Drift(_) => TriggerKind::Drift,
            Signal::Manual(_) => TriggerKind::Manual,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            TriggerKind::Alarm => "alarm",
            TriggerKind::Schedule => "schedule",
            TriggerKind::Drift => "drift",
            TriggerKind::Manual => "manual",
        }
    }
}

/// A decision of the replay: when, on what, and what the engine answered.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Decided {
    #[serde(serialize_with = "crate::json::timestamp")]
    pub at: Timestamp,
    pub trigger: TriggerKind,
    /// The alarm, schedule, report or request the signal came from.
    pub source: String,
    #[serde(flatten)]
    pub decision: EngineDecision,
}

impl Decided {
    pub fn model(&self) -> Option<&str> {
        self.decision.model.as_deref()
    }

    pub fn outcome(&self) -> Outcome {
        self.decision.outcome
    }
}

/// Replays `timeline` through `engine` and returns every decision, in order.
pub async fn replay<E: Engine>(engine: &mut E, timeline: &Timeline) -> Result<Vec<Decided>, E::Error> {
    let mut decided = Vec::new();
    for event in &timeline.events {
        engine.advance_to(event.at).await?;
        let decisions = engine.deliver(event.at, &event.signal).await?;
        decided.extend(decisions.into_iter().map(|decision| Decided {
            at: event.at,
            trigger: TriggerKind::of(&event.signal),
            source: source(&event.signal).to_string(),
            decision,
        }));
    }
    engine.advance_to(timeline.end).await?;
    Ok(decided)
}
