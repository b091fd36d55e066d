//! The CloudWatch alarm evaluator: recomputes an alarm's states from its
//! metric values, period by period, with CloudWatch's rules.
//!
//! CloudWatch evaluates an alarm every `Period`. It retrieves more datapoints
//! than `EvaluationPeriods` (N), the *evaluation range*; the CloudWatch user
//! guide, "Configuring how CloudWatch alarms treat missing data", shows it
//! retrieving 5 for N = 3, and this evaluator always takes N + 2. Then:
//!
//! - with at least N real datapoints in the range, the most recent N of them
//!   are evaluated and `TreatMissingData` plays no part;
//! - with fewer, all real datapoints in the range are evaluated together
//!   with as few filled-in periods as make up N (the most recent missing
//!   ones), filled as `TreatMissingData` says: `breaching` and `notBreaching`
//!   count them one way or the other; `missing` and `ignore` count them
//!   neither way, so the state is ALARM when M real ones breach, OK when a
//!   real one does not breach, and otherwise (only breaching real datapoints,
//!   fewer than M) ALARM for `missing` if the oldest evaluated datapoint is a
//!   real one, INSUFFICIENT_DATA for `missing` if it is a filled one, and the
//!   current state, kept, for `ignore`; with no real datapoint at all,
//!   INSUFFICIENT_DATA for `missing` and the current state for `ignore`.
//!
//! The guide's two example tables (3 of 3 and 2 of 3, 5 datapoints
//! retrieved) are the unit tests below. Each step is O(1): running counts
//! over a ring of N + 2 slots, and at most four slots scanned from its old
//! end. Only state changes are reported, stamped at the end of the
//! evaluated period, when CloudWatch would send them.

use crate::alarm::{AlarmDefinition, TreatMissingData};
use crate::error::BacktestError;
use crate::series::MetricSeries;
use serde::Serialize;
use std::collections::VecDeque;
use trigger_decision::{AlarmChange, AlarmKind, AlarmState, Measurement, Path, Timestamp};

/// How many periods beyond `EvaluationPeriods` CloudWatch retrieves (5 for N = 3 in the user guide).
pub const EXTRA_PERIODS_RETRIEVED: usize = 2;

/// An alarm's state as the evaluator computes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum State {
    #[serde(rename = "OK")]
    Ok,
    #[serde(rename = "ALARM")]
    Alarm,
    #[serde(rename = "INSUFFICIENT_DATA")]
    InsufficientData,
}

impl State {
    pub fn as_str(self) -> &'static str {
        match self {
            State::Ok => "OK",
            State::Alarm => "ALARM",
            State::InsufficientData => "INSUFFICIENT_DATA",
        }
    }

    fn alarm_state(self) -> AlarmState {
        match self {
            State::Ok => AlarmState::Ok,
            State::Alarm => AlarmState::Alarm,
            State::InsufficientData => AlarmState::InsufficientData,
        }
    }
}

/// One period's datapoint, as the alarm sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Slot {
    Missing,
    Breaching,
    NotBreaching,
}

/// What an evaluation concludes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Verdict {
    /// The state, with how many evaluated datapoints breached (filled ones included).
    Set { state: State, breaching: usize },
    /// Keep the current state (`ignore`, where the datapoints cannot decide).
    Keep,
}

/// One state change, as CloudWatch would send it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StateChange {
    #[serde(serialize_with = "crate::json::timestamp")]
    pub at: Timestamp,
    pub state: State,
    pub previous: State,
    /// The newest real datapoint in the evaluation range, if any.
    pub value: Option<f64>,
    /// A sentence in the style of CloudWatch's `StateReason`.
    pub reason: String,
}

/// Recomputes one alarm's states, one period at a time, in O(1) per period.
#[derive(Debug, Clone)]
pub struct Evaluator<'a> {
    alarm: &'a AlarmDefinition,
    /// The evaluation range, oldest first: always `range` slots, missing before the first datapoint.
    slots: VecDeque<Slot>,
    real: usize,
    breaching: usize,
    state: State,
    /// The newest real value and how many steps ago it was seen.
    newest_value: Option<(f64, usize)>,
}

impl<'a> Evaluator<'a> {
    /// A new alarm, in INSUFFICIENT_DATA, with nothing retrieved yet.
    pub fn new(alarm: &'a AlarmDefinition) -> Evaluator<'a> {
        let range = alarm.evaluation_periods + EXTRA_PERIODS_RETRIEVED;
        Evaluator {
            alarm,
            slots: std::iter::repeat_n(Slot::Missing, range).collect(),
            real: 0,
            breaching: 0,
            state: State::InsufficientData,
            newest_value: None,
        }
    }

    pub fn state(&self) -> State {
        self.state
    }

    /// Takes the next period's datapoint (NaN: missing) and evaluates; returns
    /// the new state when it changed.
    #[inline]
    pub fn step(&mut self, value: f64) -> Option<State> {
        let slot = if value.is_nan() {
            Slot::Missing
        } else if self.alarm.comparison.breaches(value, self.alarm.threshold) {
            Slot::Breaching
        } else {
            Slot::NotBreaching
        };
        self.push(slot);
        self.newest_value = match (slot, self.newest_value) {
            (Slot::Missing, Some((newest, age))) if age + 1 < self.slots.len() => Some((newest, age + 1)),
            (Slot::Missing, _) => None,
            _ => Some((value, 0)),
        };
        match self.verdict() {
            Verdict::Set { state, .. } if state != self.state => {
                self.state = state;
                Some(state)
            }
            _ => None,
        }
    }

    fn push(&mut self, slot: Slot) {
        if let Some(oldest) = self.slots.pop_front() {
            self.count(oldest, false);
        }
        self.slots.push_back(slot);
        self.count(slot, true);
    }

    fn count(&mut self, slot: Slot, add: bool) {
        let (real, breaching) = match slot {
            Slot::Missing => (0, 0),
            Slot::NotBreaching => (1, 0),
            Slot::Breaching => (1, 1),
        };
        if add {
            self.real += real;
            self.breaching += breaching;
        } else {
            self.real -= real;
            self.breaching -= breaching;
        }
    }

    /// The state CloudWatch would set now (see the module documentation).
    fn verdict(&self) -> Verdict {
        let needed = self.alarm.datapoints_to_alarm;
        let evaluated = self.alarm.evaluation_periods;
        let set = |breaching: usize| Verdict::Set {
            state: if breaching >= needed { State::Alarm } else { State::Ok },
            breaching,
        };
        if self.real >= evaluated {
            return set(self.breaching - self.breaching_among_oldest_real(self.real - evaluated));
        }
        let filled = evaluated - self.real;
        let treat = self.alarm.treat_missing_data;
        match treat {
            TreatMissingData::Breaching => set(self.breaching + filled),
            TreatMissingData::NotBreaching => set(self.breaching),
            TreatMissingData::Missing | TreatMissingData::Ignore => {
                let undecided = if self.real == 0 {
                    State::InsufficientData
                } else if self.breaching >= needed || self.real > self.breaching {
                    return set(self.breaching);
                } else if self.oldest_evaluated_is_real() {
                    State::Alarm
                } else {
                    State::InsufficientData
                };
                match treat {
                    TreatMissingData::Ignore => Verdict::Keep,
                    _ => Verdict::Set {
                        state: undecided,
                        breaching: self.breaching,
                    },
                }
            }
        }
    }

    /// How many of the `count` oldest real datapoints in the range breach. With
    /// at least N real datapoints, at most two slots are missing and `count` is
    /// at most two, so this looks at four slots at most.
    fn breaching_among_oldest_real(&self, count: usize) -> usize {
        self.slots
            .iter()
            .filter(|slot| **slot != Slot::Missing)
            .take(count)
            .filter(|slot| **slot == Slot::Breaching)
            .count()
    }

    /// Whether the oldest evaluated datapoint is real when periods are filled
    /// in: the fills are the most recent missing periods, so the ones left out
    /// are the `EXTRA_PERIODS_RETRIEVED` oldest; the oldest evaluated slot is
    /// the first slot that is real or is missing beyond those.
    fn oldest_evaluated_is_real(&self) -> bool {
        let mut missing_seen = 0;
        for slot in &self.slots {
            if *slot != Slot::Missing {
                return true;
            }
            missing_seen += 1;
            if missing_seen > EXTRA_PERIODS_RETRIEVED {
                return false;
            }
        }
        false
    }

    /// CloudWatch-style `StateReason` for a change to `state`.
    fn reason(&self, state: State, previous: State) -> String {
        let alarm = self.alarm;
        let breaching = match self.verdict() {
            Verdict::Set { breaching, .. } => breaching,
            Verdict::Keep => self.breaching,
        };
        let plural = |count: usize| if count == 1 { "datapoint" } else { "datapoints" };
        match state {
            State::InsufficientData => format!(
                "Insufficient Data: {} of the last {} {} were missing.",
                self.slots.len() - self.real,
                self.slots.len(),
                plural(self.slots.len())
            ),
            State::Alarm => format!(
                "Threshold Crossed: {breaching} out of the last {} {} {} {} the threshold ({}) \
                 (minimum {} {} for {} -> ALARM transition).",
                alarm.evaluation_periods,
                plural(alarm.evaluation_periods),
                if breaching == 1 { "was" } else { "were" },
                alarm.comparison.words(),
                alarm.threshold,
                alarm.datapoints_to_alarm,
                plural(alarm.datapoints_to_alarm),
                previous.as_str(),
            ),
            State::Ok => format!(
                "Threshold Crossed: {breaching} out of the last {} {} {} {} the threshold ({}); \
                 {} {} needed for ALARM.",
                alarm.evaluation_periods,
                plural(alarm.evaluation_periods),
                if breaching == 1 { "was" } else { "were" },
                alarm.comparison.words(),
                alarm.threshold,
                alarm.datapoints_to_alarm,
                if alarm.datapoints_to_alarm == 1 { "is" } else { "are" },
            ),
        }
    }
}

/// Evaluates `alarm` over `series` at the end of every period from the
/// series' first one until `until`; periods past the series' end are missing.
/// Returns the state changes in time order. The alarm starts in
/// INSUFFICIENT_DATA, as a new alarm does.
pub fn evaluate(
    alarm: &AlarmDefinition,
    series: &MetricSeries,
    until: Timestamp,
) -> Result<Vec<StateChange>, BacktestError> {
    if series.period != alarm.period {
        return Err(BacktestError::PeriodMismatch {
            alarm: alarm.name.clone(),
            series_period: series.period.to_string(),
            alarm_period: alarm.period.to_string(),
        });
    }
    let mut evaluator = Evaluator::new(alarm);
    let mut changes = Vec::new();
    let mut index = 0;
    loop {
        let at = series.time_of(index).plus(alarm.period);
        if at > until {
            break;
        }
        let value = series.values.get(index).copied().unwrap_or(f64::NAN);
        let previous = evaluator.state();
        if let Some(state) = evaluator.step(value) {
            changes.push(StateChange {
                at,
                state,
                previous,
                value: evaluator.newest_value.map(|(value, _)| value),
                reason: evaluator.reason(state, previous),
            });
        }
        index += 1;
    }
    Ok(changes)
}

/// The signal the trigger functions would decode from this change's alarm
/// event: the same fields `trigger-events` reads from an alarm payload.
pub fn to_signal(alarm: &AlarmDefinition, change: &StateChange) -> AlarmChange {
    AlarmChange {
        alarm_name: alarm.name.clone(),
        alarm_arn: alarm.arn.clone(),
        kind: if alarm.metric_math {
            AlarmKind::MetricMath
        } else {
            AlarmKind::Metric
        },
        state: change.state.alarm_state(),
        previous_state: Some(change.previous.alarm_state()),
        state_reason: change.reason.clone(),
        state_changed_at: change.at,
        measurement: Measurement {
            metric: alarm.metric.clone(),
            value: change.value,
            threshold: Some(alarm.threshold),
            comparison: Some(alarm.comparison.as_str().to_string()),
        },
        triggering_alarms: Vec::new(),
        // The replay stands for the alarm's Lambda action, the path that carries the alarm object itself.
        path: Path::AlarmAction,
    }
}

#[cfg(test)]
mod tests;
