//! What holds a justified start back, whatever the signal: an execution in
//! flight, a used-up budget, a start inside the cooldown. Each is checked in
//! that order, and a deferral keeps the signal's evidence.

use super::Execution;
use crate::outcome::Reason;
use crate::policy::{Budget, ModelPolicy};
use crate::signal::Signal;
use crate::time::{Span, Timestamp};

/// The guard that defers the start, with why in words, or `None` to go ahead.
pub(super) fn holding_back(
    signal: &Signal,
    model: &ModelPolicy,
    executions: &[Execution],
    last_start: Option<Timestamp>,
    now: Timestamp,
) -> Option<(Reason, String)> {
    if let Some(running) = executions.iter().find(|execution| execution.status.is_in_flight()) {
        let detail = format!(
            "Execution {} of {} is still {:?} (started {}); not starting another. The evidence is kept.",
            running.arn, model.pipeline, running.status, running.started_at
        );
        return Some((Reason::InFlight, detail));
    }
    if let Some(detail) = model
        .max_starts
        .and_then(|budget| budget_exhausted(model, budget, executions, now))
    {
        return Some((Reason::Budget, detail));
    }
    // A forced manual request skips this one rule.
    let forced = matches!(signal, Signal::Manual(request) if request.force);
    if let Some(started) = last_start.filter(|started| !forced && *started > now.minus(model.cooldown)) {
        let detail = format!(
            "{} started at {started}, inside the {} cooldown; the next start is possible after {}. The evidence is kept.",
            model.pipeline,
            model.cooldown,
            started.plus(model.cooldown)
        );
        return Some((Reason::Cooldown, detail));
    }
    None
}

/// Why a start would exceed the model's budget, or `None` if it would not.
/// Every execution started inside the window counts, whoever started it and
/// however it ended: each one cost a training run.
fn budget_exhausted(model: &ModelPolicy, budget: Budget, executions: &[Execution], now: Timestamp) -> Option<String> {
    let window_start = now.minus(budget.window);
    let mut counted: Vec<Timestamp> = executions
        .iter()
        .map(|execution| execution.started_at)
        .filter(|started| *started > window_start)
        .collect();
    if counted.len() < budget.starts {
        return None;
    }
    counted.sort();
    // A start becomes possible once all but `starts - 1` of the counted ones have left the window.
    let frees_up = counted[counted.len() - budget.starts].plus(budget.window);
    Some(format!(
        "{} started {} time(s) in the last {}, the budget max_starts = \"{budget}\"; the next start is possible after {frees_up}. The evidence is kept.",
        model.pipeline,
        counted.len(),
        budget.window
    ))
}

/// How far back the shell must list executions for `decide` to see every
/// one that matters: any still running (pipelines can run for weeks, so at
/// least 30 days), any start inside the cooldown, and every start the budget counts.
pub fn lookback(model: &ModelPolicy) -> Span {
    let budget_window = model.max_starts.map_or(Span::ZERO, |budget| budget.window);
    model.cooldown.max(Span::from_secs(30 * 86_400)).max(budget_window)
}
