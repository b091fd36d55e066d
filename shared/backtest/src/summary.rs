//! The summary per model, from the decisions a replay collected and the
//! alarm timeline.
//!
//! **Breach.** A model is in breach while at least one alarm it binds is in
//! ALARM. Its *breach episodes* are the maximal intervals of that union, cut
//! to the replay's bounds, so two alarms in ALARM at once count once.
//!
//! **Wait before a start.** For each episode, from its beginning (an alarm's
//! move into ALARM, or the replay's start if one was already in ALARM) to the
//! first start of that model at or after it; if none began before the episode
//! ended, to the episode's end (the alarms' return to OK or
//! INSUFFICIENT_DATA, or the replay's end). A start that began before the
//! episode does not end its wait, even if it is still running: it trained on
//! data from before the breach. `breach_hours_before_start` sums the waits,
//! `longest_wait_hours` is the longest one.

use crate::replay::Decided;
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};
use trigger_decision::{AlarmChange, AlarmState, ModelPolicy, Outcome, Policy, Timestamp};

/// One interval during which the model was in breach.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Episode {
    #[serde(serialize_with = "crate::json::timestamp")]
    pub start: Timestamp,
    #[serde(serialize_with = "crate::json::timestamp")]
    pub end: Timestamp,
    /// The first start at or after `start` and before `end`, if any.
    #[serde(serialize_with = "crate::json::optional_timestamp")]
    pub started_at: Option<Timestamp>,
}

impl Episode {
    /// How long the model waited in this breach before a start began.
    pub fn wait_millis(&self) -> i64 {
        self.started_at.unwrap_or(self.end).millis() - self.start.millis()
    }
}

/// What the replay did for one model.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ModelSummary {
    pub model: String,
    pub starts: usize,
    pub starts_by_reason: BTreeMap<String, usize>,
    pub deferred: usize,
    pub deferred_by_reason: BTreeMap<String, usize>,
    pub skipped: usize,
    pub breaches: Vec<Episode>,
    /// Hours in breach in all, whether or not a start began.
    pub breach_hours: f64,
    /// Hours in breach before a start began, summed over episodes.
    pub breach_hours_before_start: f64,
    pub longest_wait_hours: f64,
    /// Starts times the per-run cost, when one was given.
    pub cost: Option<f64>,
}

/// The numbers one line of a comparison or sweep shows, summed over models.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Totals {
    pub starts: usize,
    pub deferred: usize,
    pub skipped: usize,
    pub breach_hours_before_start: f64,
    pub longest_wait_hours: f64,
    pub cost: Option<f64>,
}

const MILLIS_PER_HOUR: f64 = 3_600_000.0;

/// Summarises each model of `policy` over `[start, end)`. `alarm_changes`
/// may include changes before `start`, so a breach already under way is seen.
pub fn summarize(
    policy: &Policy,
    alarm_changes: &[AlarmChange],
    decisions: &[Decided],
    start: Timestamp,
    end: Timestamp,
    run_cost: Option<f64>,
) -> Vec<ModelSummary> {
    policy
        .models
        .iter()
        .map(|model| summarize_model(model, alarm_changes, decisions, start, end, run_cost))
        .collect()
}

fn summarize_model(
    model: &ModelPolicy,
    alarm_changes: &[AlarmChange],
    decisions: &[Decided],
    start: Timestamp,
    end: Timestamp,
    run_cost: Option<f64>,
) -> ModelSummary {
    let mine: Vec<&Decided> = decisions
        .iter()
        .filter(|decided| decided.model() == Some(model.name.as_str()))
        .collect();
    let count_by_reason = |outcome: Outcome| {
        let mut counts = BTreeMap::new();
        for decided in mine.iter().filter(|decided| decided.outcome() == outcome) {
            *counts.entry(decided.decision.reason.clone()).or_insert(0) += 1;
        }
        counts
    };
    let starts_by_reason = count_by_reason(Outcome::Started);
    let deferred_by_reason = count_by_reason(Outcome::Deferred);
    let mut start_times: Vec<Timestamp> = mine
        .iter()
        .filter(|decided| decided.outcome() == Outcome::Started)
        .map(|decided| decided.at)
        .collect();
    start_times.sort();
    let breaches = breach_episodes(model, alarm_changes, start, end, &start_times);
    let hours = |millis: i64| millis as f64 / MILLIS_PER_HOUR;
    let starts = start_times.len();
    ModelSummary {
        model: model.name.clone(),
        starts,
        deferred: deferred_by_reason.values().sum(),
        skipped: mine
            .iter()
            .filter(|decided| decided.outcome() == Outcome::Skipped)
            .count(),
        starts_by_reason,
        deferred_by_reason,
        breach_hours: hours(
            breaches
                .iter()
                .map(|episode| episode.end.millis() - episode.start.millis())
                .sum(),
        ),
        breach_hours_before_start: hours(breaches.iter().map(Episode::wait_millis).sum()),
        longest_wait_hours: hours(breaches.iter().map(Episode::wait_millis).max().unwrap_or(0)),
        breaches,
        cost: run_cost.map(|cost| cost * starts as f64),
    }
}

/// Whether `model` lists the alarm, by name or ARN.
fn binds(model: &ModelPolicy, change: &AlarmChange) -> bool {
    model
        .alarms
        .iter()
        .any(|entry| *entry == change.alarm_name || change.alarm_arn.as_deref() == Some(entry))
}

/// The model's breach episodes in `[start, end)`, each with the first start
/// at or after its beginning and before its end (`start_times` sorted).
pub fn breach_episodes(
    model: &ModelPolicy,
    alarm_changes: &[AlarmChange],
    start: Timestamp,
    end: Timestamp,
    start_times: &[Timestamp],
) -> Vec<Episode> {
    let mut changes: Vec<&AlarmChange> = alarm_changes
        .iter()
        .filter(|change| binds(model, change) && change.state_changed_at < end)
        .collect();
    changes.sort_by_key(|change| change.state_changed_at);
    let mut in_alarm: BTreeSet<&str> = BTreeSet::new();
    let mut intervals = Vec::new();
    let mut opened: Option<Timestamp> = None;
    for change in changes {
        if change.state == AlarmState::Alarm {
            in_alarm.insert(&change.alarm_name);
        } else {
            in_alarm.remove(change.alarm_name.as_str());
        }
        match (opened, in_alarm.is_empty()) {
            (None, false) => opened = Some(change.state_changed_at),
            (Some(since), true) => {
                intervals.push((since, change.state_changed_at));
                opened = None;
            }
            _ => {}
        }
    }
    intervals.extend(opened.map(|since| (since, end)));
    intervals
        .into_iter()
        .map(|(from, to)| (from.max(start), to.min(end)))
        .filter(|(from, to)| from < to)
        .map(|(from, to)| {
            let first = start_times.partition_point(|at| *at < from);
            Episode {
                start: from,
                end: to,
                started_at: start_times.get(first).copied().filter(|at| *at < to),
            }
        })
        .collect()
}

/// The totals over all models' summaries.
pub fn totals(summaries: &[ModelSummary]) -> Totals {
    let costs: Vec<f64> = summaries.iter().filter_map(|summary| summary.cost).collect();
    Totals {
        starts: summaries.iter().map(|summary| summary.starts).sum(),
        deferred: summaries.iter().map(|summary| summary.deferred).sum(),
        skipped: summaries.iter().map(|summary| summary.skipped).sum(),
        breach_hours_before_start: summaries.iter().map(|summary| summary.breach_hours_before_start).sum(),
        longest_wait_hours: summaries
            .iter()
            .map(|summary| summary.longest_wait_hours)
            .fold(0.0, f64::max),
        cost: (!costs.is_empty()).then(|| costs.iter().sum()),
    }
}

#[cfg(test)]
mod tests;
