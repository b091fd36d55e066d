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

#[cfg(test)]
mod tests {
    use super::*;
    use trigger_decision::drift::Statistics;
    use trigger_decision::{AlarmKind, AlarmState, Measurement, Path};

    fn minute(minutes: i64) -> Timestamp {
        Timestamp::from_millis(minutes * 60_000)
    }

    /// `"alarm b 5"`, `"drift r 5"`, `"schedule s 5"`: the kind, the source and the minute.
    fn events(specs: &[&str]) -> (Vec<AlarmChange>, Vec<ScheduleTick>, Vec<DriftReport>) {
        let (mut alarms, mut ticks, mut reports) = (Vec::new(), Vec::new(), Vec::new());
        for spec in specs {
            let [kind, name, at] = spec.split_whitespace().collect::<Vec<_>>()[..] else {
                panic!("{spec:?} is not `kind name minute`")
            };
            let at = minute(at.parse().unwrap());
            match kind {
                "alarm" => alarms.push(AlarmChange {
                    alarm_name: name.into(),
                    alarm_arn: None,
                    kind: AlarmKind::Metric,
                    state: AlarmState::Alarm,
                    previous_state: Some(AlarmState::Ok),
                    state_reason: String::new(),
                    state_changed_at: at,
                    measurement: Measurement::default(),
                    triggering_alarms: Vec::new(),
                    path: Path::AlarmAction,
                }),
                "schedule" => ticks.push(ScheduleTick {
                    schedule_name: name.into(),
                    schedule_arn: None,
                    scheduled_time: at,
                    path: Path::Scheduler,
                }),
                "drift" => reports.push(DriftReport {
                    report_id: name.into(),
                    model: None,
                    source: format!("s3://reports/{name}/statistics.json"),
                    observed_at: at,
                    baseline: Statistics::default(),
                    current: Statistics::default(),
                    constraints: None,
                    path: Path::S3,
                }),
                other => panic!("{other:?} is not alarm, drift or schedule"),
            }
        }
        (alarms, ticks, reports)
    }

    fn check(specs: &[&str], expected: &[&str]) {
        let (alarms, ticks, reports) = events(specs);
        let timeline = Timeline::merge(minute(0), minute(60), alarms, ticks, reports).unwrap();
        let order: Vec<String> = timeline
            .events
            .iter()
            .map(|event| {
                let kind = match event.signal {
                    Signal::Alarm(_) => "alarm",
                    Signal::Drift(_) => "drift",
                    Signal::Schedule(_) => "schedule",
                    Signal::Manual(_) => "manual",
                };
                format!("{kind} {} {}", source(&event.signal), event.at.millis() / 60_000)
            })
            .collect();
        assert_eq!(order, expected, "{specs:?}");
    }

    #[test]
    fn events_are_ordered_by_time_then_evidence_before_schedules_then_name() {
        check(
            &["schedule s 5", "drift r 5", "alarm b 5", "alarm a 5", "alarm z 1"],
            &["alarm z 1", "alarm a 5", "alarm b 5", "drift r 5", "schedule s 5"],
        );
        // Only [start, end) is replayed.
        check(
            &["alarm a -1", "alarm b 0", "schedule s 59", "schedule t 60"],
            &["alarm b 0", "schedule s 59"],
        );
    }

    #[test]
    fn a_replay_must_end_after_it_starts() {
        let error = Timeline::merge(minute(5), minute(5), Vec::new(), Vec::new(), Vec::new()).unwrap_err();
        assert!(error.to_string().contains("ends"), "{error}");
        let timeline = Timeline::merge(minute(0), minute(5), events(&["alarm a 1"]).0, Vec::new(), Vec::new()).unwrap();
        assert_eq!(timeline.alarm_changes().count(), 1);
    }
}
