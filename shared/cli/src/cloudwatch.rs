//! `--from-cloudwatch`: each bound alarm's metric values, fetched with
//! GetMetricData for the replay's range.
//!
//! CloudWatch keeps 1-minute data for 15 days, 5-minute data for 63 days and
//! 1-hour data for 455 days, so the finest period it still has back to
//! `--start` depends on the start's age. The alarm's own period must be at
//! least that (its states are recomputed one period at a time); a finer one
//! is refused, naming the period that would do. Values are fetched at the
//! alarm's period, and the note says which period was used and why.

use crate::backtest_error::CommandError;
use aws_sdk_cloudwatch::types::{Dimension, Metric, MetricDataQuery, MetricStat, ScanBy};
use aws_smithy_types::DateTime;
use serde_json::Value;
use std::collections::BTreeMap;
use trigger_backtest::retention::{check_period, finest_period};
use trigger_backtest::{AlarmDefinition, AlarmSet, BacktestError, MetricSeries};
use trigger_decision::{Policy, Timestamp};

/// The values fetched, by alarm name, and a note per alarm for stderr.
#[derive(Debug, Default)]
pub struct Fetched {
    pub series: BTreeMap<String, MetricSeries>,
    pub notes: Vec<String>,
}

/// Fetches the values of every alarm a model binds, from `start` to `end`, as of `now`.
pub async fn fetch_bound(
    policy: &Policy,
    alarms: &AlarmSet,
    alarms_text: &str,
    alarms_file: &str,
    start: Timestamp,
    end: Timestamp,
    now: Timestamp,
) -> Result<Fetched, CommandError> {
    let document: Value = serde_json::from_str(alarms_text).map_err(|error| CommandError::Argument {
        flag: "--alarms",
        value: alarms_file.to_string(),
        problem: format!("is not JSON: {error}"),
    })?;
    let finest = finest_period(start, now)?;
    let bound: Vec<&AlarmDefinition> = alarms
        .alarms
        .iter()
        .filter(|alarm| !policy.models_for_alarm(&alarm.name, alarm.arn.as_deref()).is_empty())
        .collect();
    // Every period is checked before the first call, so a bad range costs no request.
    for alarm in &bound {
        check_period(alarm.period, start, now).map_err(|error| BacktestError::Retention {
            problem: format!("alarm \"{}\": {}", alarm.name, retention_problem(error)),
        })?;
    }
    let sdk = trigger_aws::lambda::load_checked_sdk_config()
        .await
        .map_err(CommandError::Aws)?;
    let client = aws_sdk_cloudwatch::Client::new(&sdk);
    let mut fetched = Fetched::default();
    for alarm in bound {
        let queries = queries(&document, alarm, alarms_file)?;
        let series = fetch(&client, alarm, queries, start, end).await?;
        fetched.notes.push(format!(
            "alarm \"{}\": fetched {} periods of {} from CloudWatch (the finest period kept back to {start} is {finest}; the alarm evaluates every {})",
            alarm.name,
            series.values.len(),
            alarm.period,
            alarm.period
        ));
        fetched.series.insert(alarm.name.clone(), series);
    }
    Ok(fetched)
}

fn retention_problem(error: BacktestError) -> String {
    match error {
        BacktestError::Retention { problem } => problem,
        other => other.to_string(),
    }
}

/// One alarm's values from `start` (aligned down to its period) to `end`.
async fn fetch(
    client: &aws_sdk_cloudwatch::Client,
    alarm: &AlarmDefinition,
    queries: Vec<MetricDataQuery>,
    start: Timestamp,
    end: Timestamp,
) -> Result<MetricSeries, CommandError> {
    let period = alarm.period.millis();
    let first = Timestamp::from_millis(start.millis().div_euclid(period) * period);
    let slots = usize::try_from((end.millis() - first.millis() + period - 1) / period).unwrap_or(0);
    let mut values = vec![f64::NAN; slots];
    let returned = queries
        .iter()
        .find(|query| query.return_data() != Some(false))
        .and_then(|query| query.id().map(str::to_string));
    let mut next_token = None;
    loop {
        let answer = client
            .get_metric_data()
            .set_metric_data_queries(Some(queries.clone()))
            .start_time(DateTime::from_millis(first.millis()))
            .end_time(DateTime::from_millis(end.millis()))
            .scan_by(ScanBy::TimestampAscending)
            .set_next_token(next_token)
            .send()
            .await
            .map_err(|error| {
                CommandError::Aws(trigger_aws::error::from_sdk(
                    format!("CloudWatch GetMetricData for alarm {}", alarm.name),
                    error,
                ))
            })?;
        for result in answer.metric_data_results() {
            if result.id() != returned.as_deref() {
                continue;
            }
            for (at, value) in result.timestamps().iter().zip(result.values()) {
                let offset = at.to_millis().unwrap_or(i64::MIN).saturating_sub(first.millis());
                if let Some(slot) = usize::try_from(offset / period)
                    .ok()
                    .and_then(|slot| values.get_mut(slot))
                {
                    *slot = *value;
                }
            }
        }
        next_token = answer.next_token().map(str::to_string);
        if next_token.is_none() {
            break;
        }
    }
    Ok(MetricSeries::new(first, alarm.period, values))
}

/// The alarm's metric (or its metric-math queries) as GetMetricData queries at the alarm's period.
fn queries(document: &Value, alarm: &AlarmDefinition, file: &str) -> Result<Vec<MetricDataQuery>, CommandError> {
    let raw = document["MetricAlarms"]
        .as_array()
        .and_then(|alarms| alarms.iter().find(|raw| raw["AlarmName"] == alarm.name.as_str()))
        .ok_or_else(|| field_error(file, alarm, "AlarmName", "is not in the file"))?;
    let seconds = i32::try_from(alarm.period.millis() / 1000).unwrap_or(i32::MAX);
    if let Some(metrics) = raw["Metrics"].as_array() {
        return metrics
            .iter()
            .map(|query| math_query(query, alarm, seconds, file))
            .collect();
    }
    let stat = raw["Statistic"]
        .as_str()
        .or_else(|| raw["ExtendedStatistic"].as_str())
        .ok_or_else(|| {
            field_error(
                file,
                alarm,
                "Statistic",
                "is missing (nor is there an ExtendedStatistic)",
            )
        })?;
    let stat = MetricStat::builder()
        .metric(metric(raw, alarm, file)?)
        .period(seconds)
        .stat(stat)
        .build();
    Ok(vec![MetricDataQuery::builder()
        .id("m")
        .metric_stat(stat)
        .return_data(true)
        .build()])
}

/// One query of a metric-math alarm: an expression, or a metric at the alarm's period.
fn math_query(
    query: &Value,
    alarm: &AlarmDefinition,
    seconds: i32,
    file: &str,
) -> Result<MetricDataQuery, CommandError> {
    let id = query["Id"]
        .as_str()
        .ok_or_else(|| field_error(file, alarm, "Metrics[].Id", "is missing"))?;
    let mut builder = MetricDataQuery::builder()
        .id(id)
        .return_data(query["ReturnData"].as_bool().unwrap_or(true));
    if let Some(expression) = query["Expression"].as_str() {
        // An expression's period is that of the metrics it reads.
        builder = builder.expression(expression);
    } else {
        let stat = &query["MetricStat"];
        let name = stat["Stat"]
            .as_str()
            .ok_or_else(|| field_error(file, alarm, "Metrics[].MetricStat.Stat", "is missing"))?;
        builder = builder.metric_stat(
            MetricStat::builder()
                .metric(metric(&stat["Metric"], alarm, file)?)
                .period(seconds)
                .stat(name)
                .build(),
        );
    }
    Ok(builder.build())
}

/// `Namespace`, `MetricName` and `Dimensions` as the SDK's `Metric`.
fn metric(raw: &Value, alarm: &AlarmDefinition, file: &str) -> Result<Metric, CommandError> {
    let text = |field: &str| {
        raw[field]
            .as_str()
            .map(str::to_string)
            .ok_or_else(|| field_error(file, alarm, field, "is missing"))
    };
    let dimensions = raw["Dimensions"]
        .as_array()
        .map(|all| {
            all.iter()
                .map(|dimension| {
                    Dimension::builder()
                        .set_name(dimension["Name"].as_str().map(str::to_string))
                        .set_value(dimension["Value"].as_str().map(str::to_string))
                        .build()
                })
                .collect()
        })
        .unwrap_or_default();
    Ok(Metric::builder()
        .namespace(text("Namespace")?)
        .metric_name(text("MetricName")?)
        .set_dimensions(Some(dimensions))
        .build())
}

fn field_error(file: &str, alarm: &AlarmDefinition, field: &str, problem: &str) -> CommandError {
    CommandError::Input(BacktestError::AlarmField {
        file: file.to_string(),
        alarm: alarm.name.clone(),
        field: field.to_string(),
        problem: format!("{problem}; GetMetricData needs it to fetch the alarm's values"),
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)]
mod tests {
    use super::*;
    use trigger_backtest::parse_alarms;

    const ALARMS: &str = include_str!("../../backtest/tests/fixtures/describe-alarms.json");

    fn queries_of(name: &str) -> Vec<MetricDataQuery> {
        let set = parse_alarms(ALARMS, "alarms.json").unwrap();
        let document: Value = serde_json::from_str(ALARMS).unwrap();
        queries(&document, set.alarm(name).unwrap(), "alarms.json").unwrap()
    }

    #[test]
    fn a_metric_alarm_is_one_query_of_its_metric_statistic_and_period() {
        let [query] = &queries_of("housing-price-mae-high")[..] else {
            panic!("expected one query")
        };
        let stat = query.metric_stat().unwrap();
        let metric = stat.metric().unwrap();
        assert_eq!(
            (metric.namespace(), metric.metric_name(), stat.stat(), stat.period()),
            (
                Some("aws/sagemaker/Endpoints/model-metrics"),
                Some("mae"),
                Some("Average"),
                Some(300)
            )
        );
        let dimensions: Vec<_> = metric
            .dimensions()
            .iter()
            .map(|dimension| (dimension.name().unwrap(), dimension.value().unwrap()))
            .collect();
        assert_eq!(
            dimensions,
            [
                ("Endpoint", "housing-price"),
                ("MonitoringSchedule", "housing-price-quality")
            ]
        );
        assert_eq!(query.return_data(), Some(true));
    }

    #[test]
    fn a_metric_math_alarm_keeps_its_queries_and_which_one_returns() {
        let queries = queries_of("churn-auc-low");
        let shapes: Vec<_> = queries
            .iter()
            .map(|query| (query.id().unwrap(), query.expression(), query.return_data()))
            .collect();
        assert_eq!(
            shapes,
            [
                ("auc", None, Some(false)),
                ("auc_smoothed", Some("RUNNING_SUM(auc) / 2"), Some(true))
            ]
        );
        assert_eq!(queries[0].metric_stat().unwrap().period(), Some(3600));
    }

    #[test]
    fn a_metric_alarm_without_a_statistic_names_the_field() {
        let text = ALARMS.replace("\"Statistic\": \"Average\",", "");
        let set = parse_alarms(&text, "alarms.json").unwrap();
        let document: Value = serde_json::from_str(&text).unwrap();
        let error = queries(&document, set.alarm("housing-price-mae-high").unwrap(), "alarms.json").unwrap_err();
        assert_eq!(
            error.to_string(),
            "alarms.json: `Statistic` of alarm \"housing-price-mae-high\": is missing (nor is there an ExtendedStatistic); \
             GetMetricData needs it to fetch the alarm's values"
        );
    }
}
