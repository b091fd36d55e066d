//! Errors of the backtest crate. Each names the file (as the caller called
//! it), the line or field, and what was expected, so a person can fix the
//! input from the message alone.

use thiserror::Error;

/// Why backtest input was refused.
#[derive(Debug, Error, Clone, PartialEq)]
pub enum BacktestError {
    /// The alarm file is not the JSON that `aws cloudwatch describe-alarms --output json` prints.
    #[error("{file}: line {line}, column {column}: {problem}; expected what `aws cloudwatch describe-alarms --output json` prints")]
    AlarmJson {
        file: String,
        line: usize,
        column: usize,
        problem: String,
    },

    /// One alarm's field is missing or out of range.
    #[error("{file}: `{field}` of alarm \"{alarm}\": {problem}")]
    AlarmField {
        file: String,
        alarm: String,
        field: String,
        problem: String,
    },

    /// The executions file is not the JSON that `list-pipeline-executions` prints.
    #[error("{file}: line {line}, column {column}: {problem}; expected what `aws sagemaker list-pipeline-executions --output json` prints")]
    ExecutionsJson {
        file: String,
        line: usize,
        column: usize,
        problem: String,
    },

    /// One listed execution's field is missing or unusable; `index` counts from 0, the message from 1.
    #[error("{file}: `{field}` of execution {}: {problem}", index + 1)]
    ExecutionField {
        file: String,
        index: usize,
        field: String,
        problem: String,
    },

    /// A metric series file does not start with the expected header.
    #[error("{file}: line 1: found {found:?}; expected the header `timestamp,value`")]
    SeriesHeader { file: String, found: String },

    /// A metric series row could not be read.
    #[error("{file}: line {line}: {problem}")]
    SeriesRow { file: String, line: usize, problem: String },

    /// A metric series file holds no rows after its header.
    #[error("{file}: no rows after the header; expected one `timestamp,value` row per period")]
    SeriesEmpty { file: String },

    /// A series was given for an alarm whose period differs from the series'.
    #[error("series for alarm \"{alarm}\" has one value every {series_period}, but the alarm's `Period` is {alarm_period}; give one row per alarm period")]
    PeriodMismatch {
        alarm: String,
        series_period: String,
        alarm_period: String,
    },

    /// A schedule expression does not parse as EventBridge defines it.
    #[error("schedule \"{schedule}\": {expression:?} {problem}")]
    Schedule {
        schedule: String,
        expression: String,
        problem: String,
    },

    /// A model lists a schedule whose expression was not given.
    #[error("model \"{model}\" lists schedule \"{schedule}\", which has no expression; give it as {schedule}=rate(...) or {schedule}=cron(...), like {schedule}=cron(0 6 ? * MON *)")]
    ScheduleMissing { model: String, schedule: String },

    /// Metric data at this period is not kept back to the replay's start.
    #[error(
        "{problem}; CloudWatch keeps 1-minute data for 15 days, 5-minute data for 63 days and 1-hour data for 455 days"
    )]
    Retention { problem: String },

    /// A `--sweep key=v1,v2,...` argument could not be read.
    #[error("--sweep {argument:?}: {problem}")]
    Sweep { argument: String, problem: String },

    /// A model binds an alarm that the backtest cannot replay.
    #[error("model \"{model}\" binds alarm \"{alarm}\", which {problem}")]
    Binding {
        model: String,
        alarm: String,
        problem: String,
    },

    /// The replay's bounds are reversed or empty.
    #[error("the replay ends ({end}) before it starts ({start}); give an --end after --start")]
    EmptyRange { start: String, end: String },

    /// The report could not be written as JSON (a bug: every field serialises).
    #[error("writing the report as JSON failed: {problem}")]
    Json { problem: String },

    /// The chart backend failed to draw (a bug, or a value it cannot place).
    #[error("drawing the chart of model \"{model}\" failed: {problem}")]
    Chart { model: String, problem: String },
}
