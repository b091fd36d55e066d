//! The evaluator against the CloudWatch user guide's examples.

use super::*;
use crate::alarm::Comparison;
use trigger_decision::Span;

const PERIOD: Span = Span::from_secs(300);
const THRESHOLD: f64 = 10.0;

fn alarm(datapoints_to_alarm: usize, evaluation_periods: usize, treat: TreatMissingData) -> AlarmDefinition {
    AlarmDefinition {
        name: "housing-price-mae-high".into(),
        arn: Some("arn:aws:cloudwatch:us-east-1:123456789012:alarm:housing-price-mae-high".into()),
        metric: Some("mae".into()),
        metric_math: false,
        period: PERIOD,
        evaluation_periods,
        datapoints_to_alarm,
        comparison: Comparison::GreaterThanThreshold,
        threshold: THRESHOLD,
        treat_missing_data: treat,
    }
}

/// The user guide's notation, oldest first: `0` does not breach, `X` breaches, `-` is missing.
fn values(points: &str) -> Vec<f64> {
    points
        .split_whitespace()
        .map(|point| match point {
            "0" => 1.0,
            "X" => 100.0,
            "-" => f64::NAN,
            other => panic!("{other:?} is not 0, X or -"),
        })
        .collect()
}

/// What a row of the guide's tables expects for one `TreatMissingData` setting.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Expect {
    Is(State),
    /// "Retain current state".
    Retain,
}

use Expect::{Is, Retain};
const OK: Expect = Is(State::Ok);
const ALARM: Expect = Is(State::Alarm);
const INSUFFICIENT: Expect = Is(State::InsufficientData);

/// Feeds the five datapoints the guide's examples retrieve to an alarm that
/// was in `before`, and checks the state after the last evaluation, from
/// every state before, so "retain" is told apart from a state that happens to match.
fn check_row(datapoints_to_alarm: usize, points: &str, expected: [Expect; 4]) {
    let modes = [
        TreatMissingData::Missing,
        TreatMissingData::Ignore,
        TreatMissingData::Breaching,
        TreatMissingData::NotBreaching,
    ];
    for (treat, expect) in modes.into_iter().zip(expected) {
        for before in [State::Ok, State::Alarm, State::InsufficientData] {
            let definition = alarm(datapoints_to_alarm, 3, treat);
            let mut evaluator = Evaluator::new(&definition);
            evaluator.state = before;
            for value in values(points) {
                evaluator.step(value);
            }
            let wanted = match expect {
                Is(state) => state,
                Retain => before,
            };
            assert_eq!(
                evaluator.state(),
                wanted,
                "{datapoints_to_alarm} of 3, datapoints {points:?}, {treat:?}, state before {before:?}"
            );
        }
    }
}

/// The CloudWatch user guide, "Configuring how CloudWatch alarms treat missing
/// data" (section "How alarm state is evaluated when data is missing"), first
/// table: Datapoints to Alarm and Evaluation Periods both 3, 5 datapoints retrieved.
/// Columns: MISSING, IGNORE, BREACHING, NOT BREACHING.
#[test]
fn the_user_guides_three_of_three_table() {
    check_row(3, "0 - X - X", [OK, OK, OK, OK]);
    check_row(3, "0 - - - -", [OK, OK, OK, OK]);
    check_row(3, "- - - - -", [INSUFFICIENT, Retain, ALARM, OK]);
    check_row(3, "0 X X - X", [ALARM, ALARM, ALARM, ALARM]);
    check_row(3, "- - - - X", [INSUFFICIENT, Retain, ALARM, OK]);
    check_row(3, "X - - - -", [ALARM, Retain, ALARM, OK]);
}

/// The same section's second table: a 2 out of 3 alarm.
#[test]
fn the_user_guides_two_of_three_table() {
    check_row(2, "0 - X - X", [ALARM, ALARM, ALARM, ALARM]);
    check_row(2, "0 0 X 0 X", [ALARM, ALARM, ALARM, ALARM]);
    check_row(2, "0 - X - -", [OK, OK, ALARM, OK]);
    check_row(2, "- - - - 0", [OK, OK, ALARM, OK]);
    check_row(2, "- - - - X", [INSUFFICIENT, Retain, ALARM, OK]);
}

/// The changes a whole sequence produces: (index of the evaluated datapoint, new state).
fn check_changes(definition: &AlarmDefinition, points: &str, expected: &[(usize, State)]) {
    let start = Timestamp::from_millis(1_700_000_000_000 - 1_700_000_000_000 % PERIOD.millis());
    let series = MetricSeries::new(start, PERIOD, values(points));
    let until = series.time_of(series.values.len());
    let changes = evaluate(definition, &series, until).unwrap();
    let found: Vec<(usize, State)> = changes
        .iter()
        .map(|change| {
            let periods = (change.at.millis() - start.millis()) / PERIOD.millis();
            (usize::try_from(periods).unwrap() - 1, change.state)
        })
        .collect();
    assert_eq!(found, expected, "{points:?} under {:?}", definition.treat_missing_data);
    for pair in changes.windows(2) {
        assert_eq!(pair[1].previous, pair[0].state, "each change starts from the last one");
    }
}

/// The guide's figure under "Evaluating an alarm": 3 of 3, ALARM once the third
/// to fifth periods breach, OK when the sixth dips, still OK when the ninth
/// breaches alone. Changes are stamped at the end of the evaluated period.
#[test]
fn only_state_changes_are_reported_at_the_end_of_the_evaluated_period() {
    let three_of_three = alarm(3, 3, TreatMissingData::Missing);
    check_changes(
        &three_of_three,
        "0 0 X X X 0 0 0 X 0",
        &[(0, State::Ok), (4, State::Alarm), (5, State::Ok)],
    );
    check_changes(&three_of_three, "X X X X X X X", &[(2, State::Alarm)]);
    // One breaching datapoint is INSUFFICIENT_DATA until a second one shows it cannot reach 3 of 3.
    check_changes(&three_of_three, "X 0", &[(1, State::Ok)]);
    // Datapoints stop: ALARM holds while the last real ones still decide it, then
    // (the oldest evaluated one being real) still ALARM, then INSUFFICIENT_DATA.
    check_changes(
        &three_of_three,
        "X X X - - - - - -",
        &[(2, State::Alarm), (7, State::InsufficientData)],
    );
    // The guide's note on the second row: treated as breaching, the alarm goes to ALARM
    // at the next evaluation once the non-breaching datapoint leaves the five retrieved.
    check_changes(
        &alarm(3, 3, TreatMissingData::Breaching),
        "0 - - - - -",
        &[(0, State::Ok), (5, State::Alarm)],
    );
    check_changes(
        &alarm(2, 4, TreatMissingData::NotBreaching),
        "X 0 X 0 0 0 X X",
        &[(0, State::Ok), (2, State::Alarm), (4, State::Ok), (7, State::Alarm)],
    );
    check_changes(
        &alarm(1, 1, TreatMissingData::Ignore),
        "0 - - X - - 0",
        &[(0, State::Ok), (3, State::Alarm), (6, State::Ok)],
    );
}

#[test]
fn evaluation_continues_past_the_last_datapoint_until_the_end() {
    let definition = alarm(1, 1, TreatMissingData::Missing);
    let start = Timestamp::from_millis(0);
    let series = MetricSeries::new(start, PERIOD, values("X"));
    // Three more periods of missing data: the range of 3 then holds no real datapoint.
    let changes = evaluate(&definition, &series, series.time_of(5)).unwrap();
    let states: Vec<(i64, State)> = changes
        .iter()
        .map(|change| (change.at.millis() / PERIOD.millis(), change.state))
        .collect();
    assert_eq!(states, [(1, State::Alarm), (4, State::InsufficientData)]);
}

#[test]
fn a_change_becomes_the_alarm_signal_the_functions_decode() {
    let definition = alarm(2, 3, TreatMissingData::Missing);
    let series = MetricSeries::new(Timestamp::from_millis(0), PERIOD, vec![1.0, 16.5, 12.25]);
    let changes = evaluate(&definition, &series, series.time_of(3)).unwrap();
    let change = changes.last().unwrap();
    assert_eq!((change.state, change.previous), (State::Alarm, State::Ok));
    let signal = to_signal(&definition, change);
    assert_eq!(signal.alarm_name, "housing-price-mae-high");
    assert_eq!(signal.alarm_arn, definition.arn);
    assert_eq!(signal.state, AlarmState::Alarm);
    assert_eq!(signal.previous_state, Some(AlarmState::Ok));
    assert_eq!(signal.state_changed_at, series.time_of(3));
    assert_eq!(signal.measurement.value, Some(12.25));
    assert_eq!(signal.measurement.threshold, Some(THRESHOLD));
    assert_eq!(signal.measurement.comparison.as_deref(), Some("GreaterThanThreshold"));
    assert_eq!(signal.measurement.metric.as_deref(), Some("mae"));
    assert_eq!(
        signal.state_reason,
        "Threshold Crossed: 2 out of the last 3 datapoints were greater than the threshold (10) \
         (minimum 2 datapoints for OK -> ALARM transition)."
    );
    let back_to_ok = evaluate(
        &definition,
        &MetricSeries::new(Timestamp::from_millis(0), PERIOD, vec![1.0]),
        series.time_of(1),
    )
    .unwrap();
    assert_eq!(
        back_to_ok[0].reason,
        "Threshold Crossed: 0 out of the last 3 datapoints were greater than the threshold (10); 2 are needed for ALARM."
    );
    assert_eq!(
        signal.summary(),
        format!(
            "alarm housing-price-mae-high moved to ALARM at {}: mae 12.25 > 10",
            series.time_of(3)
        )
    );
}

#[test]
fn a_series_at_another_period_than_the_alarms_is_refused() {
    let definition = alarm(1, 1, TreatMissingData::Missing);
    let series = MetricSeries::new(Timestamp::from_millis(0), Span::from_secs(60), vec![1.0]);
    let error = evaluate(&definition, &series, series.time_of(1))
        .unwrap_err()
        .to_string();
    assert!(
        error.contains("\"housing-price-mae-high\"") && error.contains("1m") && error.contains("5m"),
        "{error}"
    );
}
