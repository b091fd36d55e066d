//! Before any history is read: which models a signal is for (`route`), and
//! the decisions that need no history (`precheck`): a stale event, an alarm
//! that did not move into ALARM.

use super::{Action, Decision};
use crate::key;
use crate::outcome::Reason;
use crate::policy::{ModelPolicy, Policy};
use crate::signal::{AlarmState, Signal};
use crate::time::Timestamp;

/// Where a signal goes.
#[derive(Debug)]
pub enum Route<'p> {
    /// The models bound to it, in policy order; each gets its own decision.
    Models(Vec<&'p ModelPolicy>),
    /// No model is bound to it: this is the decision.
    Unmatched(Decision),
}

/// The models a signal is for, or the decision that it is for none.
pub fn route<'p>(signal: &Signal, policy: &'p Policy) -> Route<'p> {
    let (models, what) = match signal {
        Signal::Alarm(change) => (
            policy.models_for_alarm(&change.alarm_name, change.alarm_arn.as_deref()),
            format!("alarm {}", change.alarm_name),
        ),
        Signal::Schedule(tick) => (
            policy.models_for_schedule(&tick.schedule_name, tick.schedule_arn.as_deref()),
            format!("schedule {}", tick.schedule_name),
        ),
        Signal::Drift(report) => (
            policy.models_for_report(report.model.as_deref(), &report.source),
            format!(
                "drift report {} (with [model.drift] and a matching name or reports prefix)",
                report.source
            ),
        ),
        Signal::Manual(request) => (
            policy.model(&request.model).into_iter().collect(),
            format!("a model named {}", request.model),
        ),
    };
    if models.is_empty() {
        return Route::Unmatched(Decision {
            model: None,
            action: Action::Ignore,
            reason: Reason::NoMatchingModel,
            detail: format!("No model in the policy lists {what}."),
            trigger_id: key::trigger_id(&signal.dedupe_key()),
        });
    }
    Route::Models(models)
}

/// A decision that needs no history, if the signal allows one: an event whose
/// time is further from `now` than the model's `max_event_age` is stale, and
/// an alarm that did not move into ALARM is never evidence.
pub fn precheck(signal: &Signal, model: &ModelPolicy, now: Timestamp) -> Option<Decision> {
    if let Some(decision) = stale(signal, model, now) {
        return Some(decision);
    }
    let Signal::Alarm(change) = signal else { return None };
    if change.state == AlarmState::Alarm {
        return None;
    }
    Some(Decision {
        model: Some(model.name.clone()),
        action: Action::Ignore,
        reason: Reason::NotAlarmState,
        detail: format!(
            "Alarm {} moved to {}, which is not evidence that {} needs retraining.",
            change.alarm_name,
            change.state.as_str(),
            model.name
        ),
        trigger_id: key::trigger_id(&signal.dedupe_key()),
    })
}

/// `ignored/stale` for an alarm state change or schedule firing further than
/// `max_event_age` from `now`, in the past (a late redelivery, an old
/// dead-letter queue redriven) or in the future (a wrong or hand-made time).
/// Acting on it could start a pipeline for a state that has long changed.
fn stale(signal: &Signal, model: &ModelPolicy, now: Timestamp) -> Option<Decision> {
    // Other signals (drift reports, manual requests) describe a window of data
    // or a person's wish, not a delivery; their age is their policy's business.
    let at = match signal {
        Signal::Alarm(change) => change.state_changed_at,
        Signal::Schedule(tick) => tick.scheduled_time,
        Signal::Drift(_) | Signal::Manual(_) => return None,
    };
    let when = if at < now.minus(model.max_event_age) {
        "before"
    } else if at > now.plus(model.max_event_age) {
        "after"
    } else {
        return None;
    };
    // Named only once the event is known to be stale: this runs on every decision.
    let what = match signal {
        Signal::Schedule(tick) => format!("Schedule {}'s firing", tick.schedule_name),
        Signal::Alarm(change) => format!("Alarm {}'s state change", change.alarm_name),
        Signal::Drift(_) | Signal::Manual(_) => return None,
    };
    Some(Decision {
        model: Some(model.name.clone()),
        action: Action::Ignore,
        reason: Reason::Stale,
        detail: format!(
            "{what} at {at} is more than the {} maximum event age {when} now ({now}), so it is ignored for {}. \
             Raise max_event_age to act on older events, for example before redriving a dead-letter queue.",
            model.max_event_age, model.name
        ),
        trigger_id: key::trigger_id(&signal.dedupe_key()),
    })
}
