//! Alarm definitions, read from what `aws cloudwatch describe-alarms --output json`
//! prints: the settings the evaluator needs to recompute each alarm's states.
//!
//! Only `MetricAlarms` can be replayed. Composite alarms combine other
//! alarms' states rather than metric values, and anomaly-detection alarms
//! compare against a band CloudWatch computes from its own model; both are
//! listed in `AlarmSet::skipped` with the reason, so the caller can warn when
//! no model binds them and refuse when one does (`check_bindings`).

use crate::error::BacktestError;
use crate::warning::Warning;
use serde::{Deserialize, Serialize};
use std::fmt;
use trigger_decision::{Policy, Span};

/// How a datapoint is compared with the threshold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Comparison {
    GreaterThanOrEqualToThreshold,
    GreaterThanThreshold,
    LessThanThreshold,
    LessThanOrEqualToThreshold,
}

impl Comparison {
    /// Whether `value` breaches `threshold`.
    #[inline]
    pub fn breaches(self, value: f64, threshold: f64) -> bool {
        match self {
            Comparison::GreaterThanOrEqualToThreshold => value >= threshold,
            Comparison::GreaterThanThreshold => value > threshold,
            Comparison::LessThanThreshold => value < threshold,
            Comparison::LessThanOrEqualToThreshold => value <= threshold,
        }
    }

    /// CloudWatch's name, e.g. `GreaterThanThreshold`.
    pub fn as_str(self) -> &'static str {
        match self {
            Comparison::GreaterThanOrEqualToThreshold => "GreaterThanOrEqualToThreshold",
            Comparison::GreaterThanThreshold => "GreaterThanThreshold",
            Comparison::LessThanThreshold => "LessThanThreshold",
            Comparison::LessThanOrEqualToThreshold => "LessThanOrEqualToThreshold",
        }
    }

    /// The words CloudWatch's state reasons use, e.g. "greater than".
    pub fn words(self) -> &'static str {
        match self {
            Comparison::GreaterThanOrEqualToThreshold => "greater than or equal to",
            Comparison::GreaterThanThreshold => "greater than",
            Comparison::LessThanThreshold => "less than",
            Comparison::LessThanOrEqualToThreshold => "less than or equal to",
        }
    }

    fn parse(text: &str) -> Result<Comparison, String> {
        match text {
            "GreaterThanOrEqualToThreshold" => Ok(Comparison::GreaterThanOrEqualToThreshold),
            "GreaterThanThreshold" => Ok(Comparison::GreaterThanThreshold),
            "LessThanThreshold" => Ok(Comparison::LessThanThreshold),
            "LessThanOrEqualToThreshold" => Ok(Comparison::LessThanOrEqualToThreshold),
            other => Err(format!(
                "\"{other}\" is not a comparison operator; expected GreaterThanOrEqualToThreshold, \
                 GreaterThanThreshold, LessThanThreshold or LessThanOrEqualToThreshold"
            )),
        }
    }
}

/// The anomaly-detection operators: they compare against a band, not a number.
const BAND_OPERATORS: [&str; 3] = [
    "LessThanLowerOrGreaterThanUpperThreshold",
    "LessThanLowerThreshold",
    "GreaterThanUpperThreshold",
];

/// `TreatMissingData`: what a period without a datapoint counts as.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum TreatMissingData {
    /// The default: missing periods are left out; all missing is INSUFFICIENT_DATA.
    Missing,
    NotBreaching,
    Breaching,
    /// The alarm keeps its state where the datapoints cannot decide it.
    Ignore,
}

impl TreatMissingData {
    fn parse(text: &str) -> Result<TreatMissingData, String> {
        match text {
            "missing" => Ok(TreatMissingData::Missing),
            "notBreaching" => Ok(TreatMissingData::NotBreaching),
            "breaching" => Ok(TreatMissingData::Breaching),
            "ignore" => Ok(TreatMissingData::Ignore),
            other => Err(format!(
                "\"{other}\" is not a TreatMissingData value; expected missing, notBreaching, breaching or ignore"
            )),
        }
    }
}

/// One metric alarm, with the settings that decide its state.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AlarmDefinition {
    pub name: String,
    pub arn: Option<String>,
    /// The metric name, or the id of the expression a metric-math alarm returns.
    pub metric: Option<String>,
    /// Whether the alarm watches a metric-math expression rather than one metric.
    pub metric_math: bool,
    #[serde(serialize_with = "crate::json::span_seconds", rename = "period_seconds")]
    pub period: Span,
    /// N: how many of the most recent periods are evaluated.
    pub evaluation_periods: usize,
    /// M: how many of those must breach for ALARM.
    pub datapoints_to_alarm: usize,
    pub comparison: Comparison,
    pub threshold: f64,
    pub treat_missing_data: TreatMissingData,
}

/// An alarm in the file that cannot be replayed, and why.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SkippedAlarm {
    pub name: String,
    pub arn: Option<String>,
    pub reason: SkipReason,
}

/// Why an alarm cannot be replayed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case", tag = "kind")]
pub enum SkipReason {
    /// A composite alarm: its state comes from other alarms, not from values.
    Composite,
    /// An anomaly-detection alarm: its threshold is a band CloudWatch computes.
    AnomalyBand { operator: String },
}

impl fmt::Display for SkipReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SkipReason::Composite => f.write_str(
                "is a composite alarm: its state follows other alarms, so replay the alarms its rule names instead",
            ),
            SkipReason::AnomalyBand { operator } => write!(
                f,
                "is an anomaly-detection alarm ({operator}): its band is computed by CloudWatch and cannot be \
                 replayed from values; bind a static-threshold alarm on the same metric instead"
            ),
        }
    }
}

/// Everything read from one `describe-alarms` document.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct AlarmSet {
    pub alarms: Vec<AlarmDefinition>,
    pub skipped: Vec<SkippedAlarm>,
}

impl AlarmSet {
    pub fn alarm(&self, name: &str) -> Option<&AlarmDefinition> {
        self.alarms.iter().find(|alarm| alarm.name == name)
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct RawDocument {
    #[serde(default)]
    metric_alarms: Vec<RawMetricAlarm>,
    #[serde(default)]
    composite_alarms: Vec<RawCompositeAlarm>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct RawCompositeAlarm {
    alarm_name: String,
    alarm_arn: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct RawMetricAlarm {
    alarm_name: String,
    alarm_arn: Option<String>,
    metric_name: Option<String>,
    period: Option<i64>,
    evaluation_periods: Option<i64>,
    datapoints_to_alarm: Option<i64>,
    threshold: Option<f64>,
    comparison_operator: Option<String>,
    treat_missing_data: Option<String>,
    /// Metric-math alarms: the queries, one of which returns the alarm's values.
    #[serde(default)]
    metrics: Vec<RawMetricQuery>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct RawMetricQuery {
    id: Option<String>,
    return_data: Option<bool>,
    period: Option<i64>,
    metric_stat: Option<RawMetricStat>,
}

impl RawMetricQuery {
    fn period(&self) -> Option<i64> {
        self.metric_stat.as_ref().and_then(|stat| stat.period).or(self.period)
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct RawMetricStat {
    period: Option<i64>,
}

/// Reads the alarms from `describe-alarms` JSON. `file` names the input in errors.
pub fn parse_alarms(text: &str, file: &str) -> Result<AlarmSet, BacktestError> {
    let document: RawDocument = serde_json::from_str(text).map_err(|error| BacktestError::AlarmJson {
        file: file.to_string(),
        line: error.line(),
        column: error.column(),
        problem: error.to_string(),
    })?;
    let mut set = AlarmSet::default();
    for composite in document.composite_alarms {
        set.skipped.push(SkippedAlarm {
            name: composite.alarm_name,
            arn: composite.alarm_arn,
            reason: SkipReason::Composite,
        });
    }
    for raw in document.metric_alarms {
        let operator = raw.comparison_operator.as_deref().unwrap_or_default();
        if BAND_OPERATORS.contains(&operator) {
            set.skipped.push(SkippedAlarm {
                reason: SkipReason::AnomalyBand {
                    operator: operator.to_string(),
                },
                name: raw.alarm_name,
                arn: raw.alarm_arn,
            });
            continue;
        }
        set.alarms.push(definition(raw, file)?);
    }
    Ok(set)
}

/// Checks one metric alarm's settings and applies CloudWatch's defaults.
fn definition(raw: RawMetricAlarm, file: &str) -> Result<AlarmDefinition, BacktestError> {
    let refuse = |field: &str, problem: String| BacktestError::AlarmField {
        file: file.to_string(),
        alarm: raw.alarm_name.clone(),
        field: field.to_string(),
        problem,
    };
    let returned = raw.metrics.iter().find(|query| query.return_data.unwrap_or(true));
    let period_seconds = raw
        .period
        .or_else(|| returned.and_then(RawMetricQuery::period))
        // An expression may leave its period to the metrics it reads.
        .or_else(|| raw.metrics.iter().find_map(RawMetricQuery::period))
        .ok_or_else(|| {
            refuse(
                "Period",
                "is missing; expected the period in seconds, like 60 or 300".into(),
            )
        })?;
    // CloudWatch accepts 10, 20 and 30 s (high resolution) or any multiple of 60 s.
    if !(period_seconds > 0 && (period_seconds % 60 == 0 || [10, 20, 30].contains(&period_seconds))) {
        return Err(refuse(
            "Period",
            format!("{period_seconds} is not an alarm period; expected 10, 20, 30 or a multiple of 60 seconds"),
        ));
    }
    let evaluation_periods = raw
        .evaluation_periods
        .ok_or_else(|| refuse("EvaluationPeriods", "is missing; expected a count of at least 1".into()))?;
    if evaluation_periods < 1 {
        return Err(refuse(
            "EvaluationPeriods",
            format!("{evaluation_periods} is not a count of at least 1"),
        ));
    }
    let datapoints_to_alarm = raw.datapoints_to_alarm.unwrap_or(evaluation_periods);
    if !(1..=evaluation_periods).contains(&datapoints_to_alarm) {
        return Err(refuse(
            "DatapointsToAlarm",
            format!("{datapoints_to_alarm} is not between 1 and EvaluationPeriods ({evaluation_periods})"),
        ));
    }
    let comparison = Comparison::parse(raw.comparison_operator.as_deref().unwrap_or("(missing)"))
        .map_err(|problem| refuse("ComparisonOperator", problem))?;
    let threshold = raw.threshold.ok_or_else(|| {
        refuse(
            "Threshold",
            "is missing; expected the number datapoints are compared with".into(),
        )
    })?;
    let treat_missing_data = TreatMissingData::parse(raw.treat_missing_data.as_deref().unwrap_or("missing"))
        .map_err(|problem| refuse("TreatMissingData", problem))?;
    let metric_math = !raw.metrics.is_empty();
    Ok(AlarmDefinition {
        metric: raw.metric_name.or_else(|| returned.and_then(|query| query.id.clone())),
        metric_math,
        name: raw.alarm_name,
        arn: raw.alarm_arn,
        period: Span::from_secs(period_seconds),
        evaluation_periods: usize::try_from(evaluation_periods).unwrap_or(usize::MAX),
        datapoints_to_alarm: usize::try_from(datapoints_to_alarm).unwrap_or(usize::MAX),
        comparison,
        threshold,
        treat_missing_data,
    })
}

/// Checks that every alarm a model binds can be replayed. A bound alarm that
/// is missing from the file or cannot be replayed is an error; an alarm no
/// model binds is a warning.
pub fn check_bindings(policy: &Policy, alarms: &AlarmSet) -> Result<Vec<Warning>, BacktestError> {
    for model in &policy.models {
        for bound in &model.alarms {
            let matches = |name: &str, arn: &Option<String>| name == bound || arn.as_deref() == Some(bound);
            if alarms.alarms.iter().any(|alarm| matches(&alarm.name, &alarm.arn)) {
                continue;
            }
            let problem = match alarms
                .skipped
                .iter()
                .find(|skipped| matches(&skipped.name, &skipped.arn))
            {
                Some(skipped) => skipped.reason.to_string(),
                None => "is not in the alarm file; add it to the describe-alarms output or remove it from the policy"
                    .to_string(),
            };
            return Err(BacktestError::Binding {
                model: model.name.clone(),
                alarm: bound.clone(),
                problem,
            });
        }
    }
    let mut warnings = Vec::new();
    for alarm in &alarms.alarms {
        if policy.models_for_alarm(&alarm.name, alarm.arn.as_deref()).is_empty() {
            warnings.push(Warning::UnboundAlarm {
                alarm: alarm.name.clone(),
            });
        }
    }
    for skipped in &alarms.skipped {
        warnings.push(Warning::SkippedAlarm {
            alarm: skipped.name.clone(),
            reason: skipped.reason.to_string(),
        });
    }
    Ok(warnings)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What `aws cloudwatch describe-alarms --output json` printed for a metric alarm,
    /// a metric-math alarm, an anomaly-detection alarm and a composite alarm.
    const FIXTURE: &str = include_str!("../tests/fixtures/describe-alarms.json");

    #[test]
    fn metric_and_metric_math_alarms_are_read_with_cloudwatchs_defaults() {
        let set = parse_alarms(FIXTURE, "alarms.json").unwrap();
        let mae = set.alarm("housing-price-mae-high").unwrap();
        assert_eq!(
            (mae.period, mae.evaluation_periods, mae.datapoints_to_alarm),
            (Span::from_secs(300), 3, 2)
        );
        assert_eq!(
            (mae.comparison, mae.threshold),
            (Comparison::GreaterThanThreshold, 15000.0)
        );
        assert_eq!(
            (mae.treat_missing_data, mae.metric.as_deref(), mae.metric_math),
            (TreatMissingData::Missing, Some("mae"), false)
        );
        assert_eq!(
            mae.arn.as_deref(),
            Some("arn:aws:cloudwatch:us-east-1:123456789012:alarm:housing-price-mae-high")
        );
        let auc = set.alarm("churn-auc-low").unwrap();
        // DatapointsToAlarm defaults to EvaluationPeriods; the period comes from the returned query.
        assert_eq!(
            (auc.period, auc.evaluation_periods, auc.datapoints_to_alarm),
            (Span::from_secs(3600), 4, 4)
        );
        assert_eq!(
            (auc.comparison, auc.treat_missing_data),
            (Comparison::LessThanOrEqualToThreshold, TreatMissingData::NotBreaching)
        );
        assert_eq!((auc.metric.as_deref(), auc.metric_math), (Some("auc_smoothed"), true));
        let skipped: Vec<(&str, &SkipReason)> = set
            .skipped
            .iter()
            .map(|skipped| (skipped.name.as_str(), &skipped.reason))
            .collect();
        assert_eq!(
            skipped,
            [
                ("housing-price-any-breach", &SkipReason::Composite),
                (
                    "housing-price-latency-anomaly",
                    &SkipReason::AnomalyBand {
                        operator: "LessThanLowerOrGreaterThanUpperThreshold".into()
                    }
                ),
            ]
        );
    }

    #[test]
    fn bad_alarms_name_the_file_the_alarm_the_field_and_what_was_expected() {
        let check = |alarm: &str, expected: &[&str]| {
            let text = format!("{{\"MetricAlarms\": [{alarm}]}}");
            let error = parse_alarms(&text, "alarms.json").unwrap_err().to_string();
            for fragment in expected {
                assert!(error.contains(fragment), "{error:?} lacks {fragment:?}");
            }
        };
        let alarm = |extra: &str| {
            format!(
                "{{\"AlarmName\": \"mae-high\", \"Period\": 300, \"EvaluationPeriods\": 3, \"Threshold\": 1.5, \
                 \"ComparisonOperator\": \"GreaterThanThreshold\"{extra}}}"
            )
        };
        check(
            &alarm(", \"DatapointsToAlarm\": 4"),
            &[
                "alarms.json",
                "\"mae-high\"",
                "`DatapointsToAlarm`",
                "between 1 and EvaluationPeriods (3)",
            ],
        );
        check(
            &alarm(", \"TreatMissingData\": \"zero\""),
            &["`TreatMissingData`", "\"zero\"", "notBreaching"],
        );
        check(
            "{\"AlarmName\": \"mae-high\", \"Period\": 90, \"EvaluationPeriods\": 3, \"Threshold\": 1, \"ComparisonOperator\": \"GreaterThanThreshold\"}",
            &["`Period`", "90", "multiple of 60"],
        );
        check(
            "{\"AlarmName\": \"mae-high\", \"EvaluationPeriods\": 3, \"Threshold\": 1, \"ComparisonOperator\": \"GreaterThanThreshold\"}",
            &["`Period`", "is missing"],
        );
        check(
            "{\"AlarmName\": \"mae-high\", \"Period\": 60, \"EvaluationPeriods\": 0, \"Threshold\": 1, \"ComparisonOperator\": \"GreaterThanThreshold\"}",
            &["`EvaluationPeriods`", "at least 1"],
        );
        check(
            "{\"AlarmName\": \"mae-high\", \"Period\": 60, \"EvaluationPeriods\": 1, \"ComparisonOperator\": \"GreaterThanThreshold\"}",
            &["`Threshold`", "is missing"],
        );
        check(
            "{\"AlarmName\": \"mae-high\", \"Period\": 60, \"EvaluationPeriods\": 1, \"Threshold\": 1, \"ComparisonOperator\": \"Above\"}",
            &["`ComparisonOperator`", "\"Above\"", "GreaterThanOrEqualToThreshold"],
        );
        check(
            "{\"AlarmName\": \"mae-high\", \"Period\": \"300\"}",
            &["alarms.json", "line 1", "column", "describe-alarms"],
        );
        let error = parse_alarms("{\"MetricAlarms\": [\n  {\"Period\": 300}\n]}", "alarms.json")
            .unwrap_err()
            .to_string();
        assert!(error.contains("line 2") && error.contains("AlarmName"), "{error}");
    }

    #[test]
    fn bindings_refuse_bound_alarms_that_cannot_be_replayed_and_warn_about_the_rest() {
        let set = parse_alarms(FIXTURE, "alarms.json").unwrap();
        let policy = |alarms: &str| {
            Policy::from_toml(&format!(
                "[[model]]\nname = \"housing-price\"\npipeline = \"hp\"\nalarms = [{alarms}]\n"
            ))
            .unwrap()
        };
        let warnings = check_bindings(&policy("\"housing-price-mae-high\""), &set).unwrap();
        let texts: Vec<String> = warnings.iter().map(ToString::to_string).collect();
        assert_eq!(texts.len(), 3, "{texts:?}");
        assert!(
            texts[0].contains("\"churn-auc-low\"") && texts[0].contains("no model lists it"),
            "{texts:?}"
        );
        assert!(
            texts[1].contains("\"housing-price-any-breach\"") && texts[1].contains("composite"),
            "{texts:?}"
        );
        assert!(
            texts[2].contains("\"housing-price-latency-anomaly\"") && texts[2].contains("anomaly-detection"),
            "{texts:?}"
        );
        // By ARN counts as bound.
        let by_arn = check_bindings(
            &policy("\"arn:aws:cloudwatch:us-east-1:123456789012:alarm:churn-auc-low\", \"housing-price-mae-high\""),
            &set,
        )
        .unwrap();
        assert!(
            !by_arn
                .iter()
                .any(|warning| matches!(warning, Warning::UnboundAlarm { .. })),
            "{by_arn:?}"
        );

        let check = |alarms: &str, expected: &[&str]| {
            let error = check_bindings(&policy(alarms), &set).unwrap_err().to_string();
            for fragment in expected {
                assert!(error.contains(fragment), "{error:?} lacks {fragment:?}");
            }
        };
        check(
            "\"housing-price-latency-anomaly\"",
            &[
                "model \"housing-price\"",
                "\"housing-price-latency-anomaly\"",
                "anomaly-detection",
                "static-threshold",
            ],
        );
        check(
            "\"housing-price-any-breach\"",
            &["composite", "replay the alarms its rule names"],
        );
        check("\"mae-typo\"", &["\"mae-typo\"", "not in the alarm file"]);
    }
}
