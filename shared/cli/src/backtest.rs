//! `retrain backtest`: reads the inputs a person names on the command line
//! (policy, `describe-alarms` JSON, CSV values or CloudWatch, schedule
//! expressions, drift reports, earlier executions), replays them through the
//! real decision engine (`trigger_backtest::ReplayEngine`: the functions'
//! `Trigger` over in-memory parts under a virtual clock) and writes the
//! table, the JSON and the HTML page. The rules and the replay live in
//! `trigger-backtest` and `trigger-engine`; this module only does the I/O.

pub use crate::backtest_error::CommandError;
use crate::cloudwatch;
use crate::drift_reports;
use clap::Args;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use trigger_backtest::report::{html, table};
use trigger_backtest::series::parse_timestamp;
use trigger_backtest::sweep::parse_axis;
use trigger_backtest::{
    parse_alarms, parse_csv, parse_executions, AlarmSet, Inputs, MetricSeries, ReplayEngine, Report, RunError,
    Schedule, SeededExecution,
};
use trigger_decision::drift::DriftReport;
use trigger_decision::{Policy, Span, Timestamp};

/// The arguments of `retrain backtest`.
#[derive(Debug, Clone, Args)]
pub struct BacktestArgs {
    /// The policy file, the same one the functions read.
    #[arg(long, value_name = "FILE")]
    pub policy: PathBuf,
    /// What `aws cloudwatch describe-alarms --output json` printed.
    #[arg(long, value_name = "FILE")]
    pub alarms: PathBuf,
    /// An alarm's values: a CSV with the header `timestamp,value`, one row per
    /// alarm period (RFC 3339 times; a missing row is missing data). Repeat per alarm.
    #[arg(long = "series", value_name = "ALARM=FILE")]
    pub series: Vec<String>,
    /// Fetch each bound alarm's values with CloudWatch GetMetricData instead, at
    /// the alarm's period, which must be one CloudWatch still keeps back to --start.
    #[arg(long, conflicts_with = "series", requires_all = ["start", "end"])]
    pub from_cloudwatch: bool,
    /// Where the replay starts (RFC 3339); default: where the first series starts.
    #[arg(long, value_name = "TIME")]
    pub start: Option<String>,
    /// Where the replay ends (RFC 3339); default: where the last series ends.
    #[arg(long, value_name = "TIME")]
    pub end: Option<String>,
    /// A schedule's EventBridge expression, `rate(...)` or six-field `cron(...)`. Repeat per schedule.
    #[arg(long = "schedule", value_name = "NAME=EXPRESSION")]
    pub schedules: Vec<String>,
    /// Model Monitor reports: a folder with `<model>/<RFC 3339 time>/statistics.json`
    /// per report and `<model>/baseline/statistics.json`; or an S3 prefix, every
    /// `.../<yyyy>/<mm>/<dd>/<hh>/statistics.json` under it, routed and judged as the
    /// drift function would (the policy's `drift.reports` and `drift.baseline`).
    #[arg(long, value_name = "DIR|s3://bucket/prefix")]
    pub drift_reports: Option<String>,
    /// How long a started execution stays Executing in the replay.
    #[arg(long, value_name = "DURATION", default_value = "2h")]
    pub run_duration: String,
    /// What `aws sagemaker list-pipeline-executions --output json` printed, to seed the history.
    #[arg(long, value_name = "FILE")]
    pub executions: Option<PathBuf>,
    /// The compute cost of one retrain, to sum per model.
    #[arg(long, value_name = "COST")]
    pub run_cost: Option<f64>,
    /// Replay every combination of these values: cooldown, max_starts, schedule or threshold. Repeatable.
    #[arg(long = "sweep", value_name = "KEY=V1,V2,...")]
    pub sweep: Vec<String>,
    /// Write everything as JSON to this file (schema: the README).
    #[arg(long, value_name = "FILE")]
    pub json: Option<PathBuf>,
    /// Write a self-contained HTML page with a chart per model to this file.
    #[arg(long, value_name = "FILE")]
    pub html: Option<PathBuf>,
}

/// Everything read from the files and flags, before the replay.
#[derive(Debug)]
pub struct Loaded {
    pub policy: Policy,
    pub alarms: AlarmSet,
    pub series: BTreeMap<String, MetricSeries>,
    pub schedules: Vec<Schedule>,
    pub drift_reports: Vec<DriftReport>,
    pub seeded: Vec<SeededExecution>,
    pub start: Timestamp,
    pub end: Timestamp,
    pub run_duration: Span,
    /// Lines for stderr about what was read (CloudWatch periods chosen).
    pub notes: Vec<String>,
}

/// Runs the command: reads, replays, prints the table on stdout and writes
/// the files asked for. Warnings and notes go to stderr unless `quiet`.
pub async fn run(args: &BacktestArgs, quiet: bool) -> Result<(), CommandError> {
    let loaded = load(args, trigger_aws::now()).await?;
    if !quiet {
        for note in &loaded.notes {
            eprintln!("{note}");
        }
    }
    let report = replay(args, &loaded).await?;
    for warning in &report.warnings {
        eprintln!("warning: {warning}");
    }
    let text = table::render(&report);
    print!("{text}");
    if !text.ends_with('\n') {
        println!();
    }
    if let Some(file) = &args.json {
        write(file, &report.to_json()?)?;
    }
    if let Some(file) = &args.html {
        write(file, &html::render(&report, &loaded.series)?)?;
    }
    if !quiet {
        for file in [&args.json, &args.html].into_iter().flatten() {
            eprintln!("wrote {}", file.display());
        }
    }
    Ok(())
}

/// Replays the loaded inputs with the policy, its baselines and the sweep.
pub async fn replay(args: &BacktestArgs, loaded: &Loaded) -> Result<Report, CommandError> {
    let sweep = args
        .sweep
        .iter()
        .map(|argument| parse_axis(argument))
        .collect::<Result<Vec<_>, _>>()?;
    let inputs = Inputs {
        policy: &loaded.policy,
        alarms: &loaded.alarms,
        series: &loaded.series,
        schedules: &loaded.schedules,
        drift_reports: &loaded.drift_reports,
        start: loaded.start,
        end: loaded.end,
        run_duration: loaded.run_duration,
        run_cost: args.run_cost,
        sweep: &sweep,
        baselines: true,
    };
    // The replay's thousands of decisions would bury the table in log lines.
    trigger_engine::log_line::discard_log_lines();
    let engine_for = |policy: &Policy| ReplayEngine::new(policy, loaded.start, loaded.run_duration, &loaded.seeded);
    trigger_backtest::run(&inputs, engine_for)
        .await
        .map_err(|error| match error {
            RunError::Input(error) => CommandError::Input(error),
            RunError::Engine(error) => CommandError::Engine(error),
        })
}

/// Reads every input the arguments name; `now` bounds what CloudWatch keeps.
pub async fn load(args: &BacktestArgs, now: Timestamp) -> Result<Loaded, CommandError> {
    let policy = load_policy(&args.policy)?;
    let alarms_file = args.alarms.display().to_string();
    let alarms_text = read(&args.alarms)?;
    let alarms = parse_alarms(&alarms_text, &alarms_file)?;
    let run_duration = duration("--run-duration", &args.run_duration)?;
    let mut notes = Vec::new();
    let start = args.start.as_deref().map(|text| time("--start", text)).transpose()?;
    let end = args.end.as_deref().map(|text| time("--end", text)).transpose()?;
    let series = match (args.from_cloudwatch, start, end) {
        (true, Some(start), Some(end)) => {
            let fetched =
                cloudwatch::fetch_bound(&policy, &alarms, &alarms_text, &alarms_file, start, end, now).await?;
            notes.extend(fetched.notes);
            fetched.series
        }
        _ => load_series(&args.series, &alarms, &alarms_file)?,
    };
    let (start, end) = bounds(start, end, &series)?;
    let schedules = args
        .schedules
        .iter()
        .map(|argument| schedule(argument))
        .collect::<Result<Vec<_>, _>>()?;
    let seeded = match &args.executions {
        Some(file) => parse_executions(&read(file)?, &file.display().to_string())?,
        None => Vec::new(),
    };
    let drift_reports = match args.drift_reports.as_deref() {
        Some(uri) if uri.starts_with("s3://") => {
            let (reports, skipped) = drift_reports::load_s3(uri, &policy).await?;
            if skipped > 0 {
                notes.push(format!(
                    "{uri}: {skipped} statistics.json object(s) with no <yyyy>/<mm>/<dd>/<hh> in their key (a baseline?) were not replayed"
                ));
            }
            reports
        }
        Some(folder) => drift_reports::load(Path::new(folder), &policy).await?,
        None => Vec::new(),
    };
    Ok(Loaded {
        policy,
        alarms,
        series,
        schedules,
        drift_reports,
        seeded,
        start,
        end,
        run_duration,
        notes,
    })
}

fn load_policy(file: &Path) -> Result<Policy, CommandError> {
    let text = read(file)?;
    let name = file.display().to_string();
    match Policy::from_toml(&text) {
        Ok(policy) => Ok(policy),
        // check_policy gives the same error, located at its line.
        Err(_) => Err(CommandError::Policy(
            crate::check_policy(&text, &name).err().unwrap_or_default(),
        )),
    }
}

/// Each `ALARM=FILE`, read at its alarm's period.
fn load_series(
    arguments: &[String],
    alarms: &AlarmSet,
    alarms_file: &str,
) -> Result<BTreeMap<String, MetricSeries>, CommandError> {
    let mut series = BTreeMap::new();
    for argument in arguments {
        let refuse = |problem: String| CommandError::Argument {
            flag: "--series",
            value: argument.clone(),
            problem,
        };
        let (name, file) = argument
            .split_once('=')
            .ok_or_else(|| refuse("expected ALARM=FILE, like housing-price-mae-high=mae.csv".to_string()))?;
        let alarm = alarms
            .alarm(name)
            .ok_or_else(|| refuse(format!("{alarms_file} has no metric alarm named \"{name}\"")))?;
        let parsed = parse_csv(&read(Path::new(file))?, file, alarm.period)?;
        if series.insert(name.to_string(), parsed).is_some() {
            return Err(refuse(format!("alarm \"{name}\" has more than one --series")));
        }
    }
    Ok(series)
}

/// `--start` and `--end`, else the span the series cover.
fn bounds(
    start: Option<Timestamp>,
    end: Option<Timestamp>,
    series: &BTreeMap<String, MetricSeries>,
) -> Result<(Timestamp, Timestamp), CommandError> {
    let first = series.values().map(|series| series.start).min();
    let last = series.values().map(|series| series.time_of(series.values.len())).max();
    let missing = |flag: &'static str| CommandError::Missing {
        flag,
        problem: "is needed when no --series gives the range; give an RFC 3339 time like 2024-01-01T00:00:00Z"
            .to_string(),
    };
    Ok((
        start.or(first).ok_or_else(|| missing("--start"))?,
        end.or(last).ok_or_else(|| missing("--end"))?,
    ))
}

fn schedule(argument: &str) -> Result<Schedule, CommandError> {
    let (name, expression) = argument.split_once('=').ok_or_else(|| CommandError::Argument {
        flag: "--schedule",
        value: argument.to_string(),
        problem: "expected NAME=EXPRESSION, like housing-price-weekly=cron(0 6 ? * MON *)".to_string(),
    })?;
    Ok(Schedule::parse(name, expression)?)
}

fn duration(flag: &'static str, text: &str) -> Result<Span, CommandError> {
    Span::parse(text).ok_or_else(|| CommandError::Argument {
        flag,
        value: text.to_string(),
        problem: "is not a duration; write a whole number and a unit s, m, h or d, like \"2h\"".to_string(),
    })
}

fn time(flag: &'static str, text: &str) -> Result<Timestamp, CommandError> {
    parse_timestamp(text).ok_or_else(|| CommandError::Argument {
        flag,
        value: text.to_string(),
        problem: "is not an RFC 3339 time; write it like 2024-01-01T00:00:00Z".to_string(),
    })
}

fn read(file: &Path) -> Result<String, CommandError> {
    std::fs::read_to_string(file).map_err(|cause| CommandError::Read {
        file: file.display().to_string(),
        cause,
    })
}

fn write(file: &Path, text: &str) -> Result<(), CommandError> {
    std::fs::write(file, text).map_err(|cause| CommandError::Write {
        file: file.display().to_string(),
        cause,
    })
}
