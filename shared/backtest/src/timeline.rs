//! The replay's event timeline: alarm state changes, schedule firings and
//! drift reports, merged into one time-ordered stream of signals.
//!
//! Events at the same instant are ordered alarm changes first, then drift
//! reports, then schedule firings, so a schedule that fires at the instant
//! evidence arrives sees it; then by the alarm, report or schedule name, and
//! then as given. The order is total, so a replay is deterministic.

use crate::error::BacktestError;
use trigger_decision::drift::DriftReport;
use trigger_decision::{AlarmChange, ScheduleTick, Signal, Timestamp};

/// One signal and the instant it reaches the engine.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    pub at: Timestamp,
    pub signal: Signal,
}

/// Every event of a replay between `start` (inclusive) and `end` (exclusive), in order.
#[derive(Debug, Clone, PartialEq)]
pub struct Timeline {
    pub start: Timestamp,
    pub end: Timestamp,
    pub events: Vec<Event>,
}

impl Timeline {
    /// Merges the three sources, keeping what falls inside the replay.
    pub fn merge(
        start: Timestamp,
        end: Timestamp,
        alarm_changes: Vec<AlarmChange>,
        schedule_ticks: Vec<ScheduleTick>,
        drift_reports: Vec<DriftReport>,
    ) -> Result<Timeline, BacktestError> {
        if end <= start {
            return Err(BacktestError::EmptyRange {
                start: start.to_string(),
                end: end.to_string(),
            });
        }
        let alarm_events = alarm_changes.into_iter().map(Signal::Alarm);
        let drift_events = drift_reports.into_iter().map(|report| Signal::Drift(Box::new(report)));
        let schedule_events = schedule_ticks.into_iter().map(Signal::Schedule);
        let mut events: Vec<Event> = alarm_events
            .chain(drift_events)
            .chain(schedule_events)
            .map(|signal| Event {
                at: signal.occurred_at(),
                signal,
            })
            .filter(|event| event.at >= start && event.at < end)
            .collect();
        // A stable sort keeps events equal on all three keys in the order given.
        events.sort_by(|left, right| {
            (left.at, rank(&left.signal), source(&left.signal)).cmp(&(
                right.at,
                rank(&right.signal),
                source(&right.signal),
            ))
        });
        Ok(Timeline { start, end, events })
    }

    /// The alarm state changes in the timeline, in order.
    pub fn alarm_changes(&self) -> impl Iterator<Item = &AlarmChange> {
        self.events.iter().filter_map(|event| match &event.signal {
            Signal::Alarm(change) => Some(change),
            _ => None,
        })
    }
}

/// Which events go first at the same instant: evidence before the schedules that may act on it.
fn rank(signal: &Signal) -> u8 {
    match signal {
        Signal::Alarm(_) => 0,
        Signal::Drift(_) | Signal::Manual(_) => 1,
        Signal::Schedule(_) => 2,
    }
}

/// The name of what sent the signal: alarm, report, schedule or request.
pub fn source(signal: &Signal) -> &str {
    match signal {
        Signal::Alarm(change) => &change.alarm_name,
        Signal::Drift(report) => &report.report_id,
        Signal::Schedule(tick) => &tick.schedule_name,
        Signal::Manual(request) => &request.request_id,
    }
}
