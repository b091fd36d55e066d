//! `retrain`: the operators' command line. This file only parses arguments
//! (clap's derive API: the commands are the types below) and wires them to
//! the functions in lib.rs; AWS is reached with the standard SDK
//! configuration, so `AWS_ENDPOINT_URL` points it at moto.

use anyhow::{bail, Context, Result};
use clap::{Args, Parser, Subcommand};
use retrain_cli::error::{CliError, EXIT_REFUSED};
use retrain_cli::monitor::{self, InputFormat};
use retrain_cli::monitor_text;
use retrain_cli::objects::Objects;
use std::process::ExitCode;
use trigger_aws::audit::{find_records, list_records};
use trigger_aws::lambda::{load_checked_sdk_config, s3_client, trigger_from_env};
use trigger_aws::{now, S3Location};
use trigger_engine::TriggerError;

/// Check retraining policies, read the decisions the triggers recorded, and backtest a policy.
#[derive(Debug, Parser)]
#[command(name = "retrain")]
struct Cli {
    /// Say nothing on stderr about what is being read.
    #[arg(long, short, global = true)]
    quiet: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Check a policy file: every mistake in it, or every model's effective policy.
    #[command(subcommand)]
    Policy(PolicyCommand),
    /// A table of a model's recorded decisions, newest first.
    Decisions(DecisionsArgs),
    /// Every record of one trigger, formatted for a person.
    Explain(ExplainArgs),
    /// Ask for a retrain through manual-trigger's code path, as the caller's IAM identity;
    /// needs RETRAIN_POLICY (or _FILE or _URI) and RETRAIN_LEDGER.
    Start(StartArgs),
    /// Build a baseline statistics.json from a training CSV (with a header row) or from
    /// Data Capture files, with the monitor function's profiler.
    Baseline(BaselineArgs),
    /// Profile Data Capture files into a statistics.json.
    Profile(ProfileArgs),
    /// Join captured predictions with ground-truth labels and print the model-quality metrics.
    Quality(QualityArgs),
    /// Replay a policy over metric history through the decision engine: how many
    /// retrains it would have started, and how long each model stayed in breach first.
    Backtest(Box<retrain_cli::backtest::BacktestArgs>),
    /// Write the demo's backtest inputs (90 days of synthetic MAE and its alarm) to a folder.
    #[command(hide = true)]
    Synthetic {
        /// The folder to write the series, the alarms and the policy to (created if absent).
        #[arg(value_name = "DIR")]
        folder: std::path::PathBuf,
    },
}

#[derive(Debug, Subcommand)]
enum PolicyCommand {
    /// Validate a policy file and print every model's effective policy, defaults applied.
    Check {
        /// The policy file (TOML) to check.
        #[arg(value_name = "FILE")]
        file: String,
    },
}

/// Where the audit trail is.
#[derive(Debug, Args)]
struct LedgerArg {
    /// The ledger; defaults to $RETRAIN_LEDGER.
    #[arg(long, value_name = "s3://bucket/prefix")]
    ledger: Option<String>,
}

#[derive(Debug, Args)]
struct DecisionsArgs {
    /// The model whose decisions to list, as the policy names it.
    #[arg(long, value_name = "MODEL")]
    model: String,
    /// How far back, like 7d or 12h.
    #[arg(long, value_name = "DURATION", default_value = "7d")]
    since: String,
    #[command(flatten)]
    ledger: LedgerArg,
}

#[derive(Debug, Args)]
struct ExplainArgs {
    /// The trigger id a decision or its log line carries.
    #[arg(value_name = "TRIGGER_ID")]
    trigger_id: String,
    /// Look only under this model's records (faster).
    #[arg(long, value_name = "MODEL")]
    model: Option<String>,
    #[command(flatten)]
    ledger: LedgerArg,
}

#[derive(Debug, Args)]
struct StartArgs {
    /// The model to retrain, as the policy names it.
    #[arg(long, value_name = "MODEL")]
    model: String,
    /// Why, in a few words; it goes into the pipeline's TriggerReason with your identity.
    #[arg(long, value_name = "TEXT")]
    reason: String,
    /// Skip the cooldown (never the in-flight check or the budget).
    #[arg(long)]
    force: bool,
    /// Override a parameter the model's allow_overrides lists.
    #[arg(long = "parameter", value_name = "NAME=VALUE")]
    parameters: Vec<String>,
    /// Make approval of the retrained model stricter than the policy's ("manual"), never looser.
    #[arg(long, value_name = "manual|auto")]
    approval: Option<String>,
    /// The dedupe key; repeat it to retry the same request safely.
    #[arg(long, value_name = "ID")]
    request_id: Option<String>,
}

/// The model, and where its policy is, for the monitoring commands.
#[derive(Debug, Args)]
struct MonitorArg {
    /// A model whose policy has a [model.monitor] section.
    #[arg(long, value_name = "MODEL")]
    model: String,
    /// The policy, a file or s3://bucket/key; defaults to $RETRAIN_POLICY, $RETRAIN_POLICY_FILE or $RETRAIN_POLICY_URI.
    #[arg(long, value_name = "FILE|S3_URI")]
    policy: Option<String>,
    /// Print the summary as JSON on stdout instead of tables.
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Args)]
struct BaselineArgs {
    #[command(flatten)]
    monitor: MonitorArg,
    /// A file, directory, s3://bucket/key or s3://bucket/prefix/ (every object under it); repeatable.
    #[arg(long, value_name = "PATH|S3_URI", required = true, num_args = 1..)]
    input: Vec<String>,
    /// How to read the inputs.
    #[arg(long, value_enum, default_value = "auto")]
    format: InputFormat,
    /// Where to write statistics.json: a path or s3://bucket/key.
    #[arg(long, value_name = "PATH|S3_URI")]
    out: String,
}

#[derive(Debug, Args)]
struct ProfileArgs {
    #[command(flatten)]
    monitor: MonitorArg,
    /// Capture files, directories, objects or s3:// prefixes.
    #[arg(value_name = "CAPTURES", required = true)]
    captures: Vec<String>,
    /// Where to write statistics.json: a path or s3://bucket/key.
    #[arg(long, value_name = "PATH|S3_URI")]
    out: String,
}

#[derive(Debug, Args)]
struct QualityArgs {
    #[command(flatten)]
    monitor: MonitorArg,
    /// Capture files, directories, objects or s3:// prefixes; repeatable.
    #[arg(long, value_name = "PATH|S3_URI", required = true, num_args = 1..)]
    captures: Vec<String>,
    /// Ground-truth files, directories, objects or s3:// prefixes; repeatable.
    #[arg(long, value_name = "PATH|S3_URI", required = true, num_args = 1..)]
    labels: Vec<String>,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    // Only when asked: the SDK's detail behind a failure, on stderr, keeping stdout for the answer.
    if std::env::var_os("RUST_LOG").is_some() {
        trigger_aws::lambda::init_tracing_to_stderr();
    }
    let result = match cli.command {
        Command::Policy(PolicyCommand::Check { file }) => policy_check(&file),
        Command::Decisions(args) => decisions(&args, cli.quiet),
        Command::Explain(args) => explain(&args, cli.quiet),
        Command::Start(args) => start(args),
        Command::Baseline(args) => baseline(&args, cli.quiet),
        Command::Profile(args) => profile(&args, cli.quiet),
        Command::Quality(args) => quality(&args, cli.quiet),
        Command::Backtest(args) => backtest(&args, cli.quiet),
        Command::Synthetic { folder } => retrain_cli::synthetic::write(&folder).map_err(anyhow::Error::from),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("retrain: {error:#}");
            // The monitoring commands tell invalid input, refusals and transient failures apart.
            ExitCode::from(
                error
                    .downcast_ref::<CliError>()
                    .map_or(EXIT_REFUSED, CliError::exit_code),
            )
        }
    }
}

/// The model's [model.monitor] settings, from --policy or the environment.
async fn settings(objects: &Objects, arg: &MonitorArg) -> Result<capture_monitor::MonitorSettings, CliError> {
    let policy = monitor::load_policy(objects, arg.policy.as_deref(), |name| std::env::var(name).ok()).await?;
    monitor::monitor_settings(&policy, &arg.model)
}

/// Prints a profile's summary: JSON, or a table and the malformed lines on stderr.
fn print_profile(summary: &monitor::ProfileSummary, json: bool, quiet: bool) -> Result<()> {
    if json {
        println!("{}", serde_json::to_string_pretty(summary)?);
    } else {
        print!("{}", monitor_text::profile_text(summary));
    }
    if !quiet && !json {
        eprint!("{}", monitor_text::malformed_text("input", &summary.malformed));
    }
    Ok(())
}

fn baseline(args: &BaselineArgs, quiet: bool) -> Result<()> {
    runtime()?.block_on(async {
        let objects = Objects::default();
        let settings = settings(&objects, &args.monitor).await?;
        let model = &args.monitor.model;
        let summary =
            monitor::profile_to_statistics(&objects, &settings, model, &args.input, args.format, &args.out).await?;
        print_profile(&summary, args.monitor.json, quiet)
    })
}

fn profile(args: &ProfileArgs, quiet: bool) -> Result<()> {
    runtime()?.block_on(async {
        let objects = Objects::default();
        let settings = settings(&objects, &args.monitor).await?;
        let model = &args.monitor.model;
        let summary = monitor::profile_to_statistics(
            &objects,
            &settings,
            model,
            &args.captures,
            InputFormat::Capture,
            &args.out,
        )
        .await?;
        print_profile(&summary, args.monitor.json, quiet)
    })
}

fn quality(args: &QualityArgs, quiet: bool) -> Result<()> {
    runtime()?.block_on(async {
        let objects = Objects::default();
        let settings = settings(&objects, &args.monitor).await?;
        let summary = monitor::quality(&objects, &settings, &args.monitor.model, &args.captures, &args.labels).await?;
        if args.monitor.json {
            println!("{}", serde_json::to_string_pretty(&summary)?);
        } else {
            print!("{}", monitor_text::quality_text(&summary));
            if !quiet {
                eprint!(
                    "{}",
                    monitor_text::malformed_text("capture", &summary.malformed.captures)
                );
                eprint!("{}", monitor_text::malformed_text("label", &summary.malformed.labels));
            }
        }
        Ok(())
    })
}

fn policy_check(file: &str) -> Result<()> {
    let text = std::fs::read_to_string(file).with_context(|| format!("cannot read {file}"))?;
    match retrain_cli::check_policy(&text, file) {
        Ok(effective) => {
            print!("{effective}");
            Ok(())
        }
        Err(message) => bail!("{message}"),
    }
}

/// A trigger's error as the command's own failure, worded for a terminal.
fn failed(error: TriggerError) -> anyhow::Error {
    anyhow::Error::msg(retrain_cli::failure_text(&error))
}

/// A single-threaded runtime for one command's few AWS calls.
fn runtime() -> Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_current_thread().enable_all().build()?)
}

fn decisions(args: &DecisionsArgs, quiet: bool) -> Result<()> {
    let model = &args.model;
    let since = retrain_cli::parse_since(&args.since).map_err(anyhow::Error::msg)?;
    let (ledger_uri, ledger) = ledger(&args.ledger)?;
    runtime()?.block_on(async {
        let s3 = s3_client(&load_checked_sdk_config().await.map_err(failed)?);
        if !quiet {
            eprintln!("reading decisions of {model} from {ledger_uri} for the last {since} …");
        }
        let until = now();
        let records = list_records(&s3, &ledger, model, until.minus(since), until)
            .await
            .map_err(failed)?;
        if records.is_empty() {
            eprintln!("no decisions recorded for {model} in the last {since}");
        } else {
            print!("{}", retrain_cli::decisions_table(&records));
        }
        Ok(())
    })
}

/// `--ledger`, else `$RETRAIN_LEDGER`, as text and as a location.
fn ledger(arg: &LedgerArg) -> Result<(String, S3Location)> {
    let uri = match &arg.ledger {
        Some(uri) => uri.clone(),
        None => std::env::var("RETRAIN_LEDGER")
            .context("no ledger: pass --ledger s3://bucket/prefix or set RETRAIN_LEDGER")?,
    };
    let location =
        S3Location::parse(&uri).with_context(|| format!("--ledger {uri} is not an S3 URI; use s3://bucket/prefix"))?;
    Ok((uri, location))
}

fn explain(args: &ExplainArgs, quiet: bool) -> Result<()> {
    let trigger_id = &args.trigger_id;
    let (ledger_uri, ledger) = ledger(&args.ledger)?;
    runtime()?.block_on(async {
        let s3 = s3_client(&load_checked_sdk_config().await.map_err(failed)?);
        if !quiet {
            eprintln!("searching {ledger_uri} for trigger {trigger_id} …");
        }
        let records = find_records(&s3, &ledger, args.model.as_deref(), trigger_id)
            .await
            .map_err(failed)?;
        if records.is_empty() {
            bail!("no decision recorded for trigger {trigger_id} under {ledger_uri}");
        }
        let texts: Vec<String> = records.iter().map(retrain_cli::explain_text).collect();
        print!("{}", texts.join("\n"));
        Ok(())
    })
}

fn backtest(args: &retrain_cli::backtest::BacktestArgs, quiet: bool) -> Result<()> {
    Ok(runtime()?.block_on(retrain_cli::backtest::run(args, quiet))?)
}

fn start(args: StartArgs) -> Result<()> {
    // The answer is the JSON on stdout; the engine's decision log line goes to stderr.
    trigger_engine::log_line::log_lines_to_stderr();
    let mut parameters = serde_json::Map::new();
    for pair in &args.parameters {
        let (name, value) = pair
            .split_once('=')
            .with_context(|| format!("--parameter {pair:?} is not NAME=VALUE"))?;
        parameters.insert(name.to_string(), serde_json::Value::String(value.to_string()));
    }
    let request_id = args
        .request_id
        .clone()
        .unwrap_or_else(|| format!("retrain-cli-{}", now().millis()));
    runtime()?.block_on(async {
        let sdk = load_checked_sdk_config().await.map_err(failed)?;
        // Like a function URL, the requester is who the credentials say, never a flag.
        let identity = aws_sdk_sts::Client::new(&sdk)
            .get_caller_identity()
            .send()
            .await
            .map_err(|error| {
                failed(trigger_aws::error::from_sdk(
                    "asking STS who you are (GetCallerIdentity)",
                    error,
                ))
            })?;
        let requested_by = identity.arn().context("STS returned no caller ARN")?.to_string();
        let mut request = serde_json::json!({
            "model": args.model,
            "reason": args.reason,
            "requested_by": requested_by,
            "force": args.force,
            "parameters": parameters,
        });
        if let Some(approval) = args.approval {
            request["approval"] = serde_json::Value::String(approval);
        }
        let trigger = trigger_from_env().await.map_err(failed)?;
        let answer = trigger_engine::manual::decide(&trigger, &request, &request_id)
            .await
            .map_err(failed)?;
        println!("{}", serde_json::to_string_pretty(&answer)?);
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::Cli;
    use clap::CommandFactory;

    /// The subcommands and arguments of `command` (and below) that `--help` shows without a description.
    fn undescribed(command: &clap::Command, path: &str, missing: &mut Vec<String>) {
        for argument in command.get_arguments() {
            if argument.get_help().is_none() && argument.get_long_help().is_none() {
                missing.push(format!("{path} {}", argument.get_id()));
            }
        }
        for subcommand in command.get_subcommands() {
            let path = format!("{path} {}", subcommand.get_name());
            if subcommand.get_about().is_none() && subcommand.get_long_about().is_none() {
                missing.push(path.clone());
            }
            undescribed(subcommand, &path, missing);
        }
    }

    #[test]
    fn every_subcommand_and_argument_has_help_text() {
        let mut command = Cli::command();
        // Building adds the generated `help` subcommand and arguments, and propagates `--quiet`.
        command.build();
        let mut missing = Vec::new();
        undescribed(&command, "retrain", &mut missing);
        assert!(missing.is_empty(), "no help text for {missing:?}");
        let help = command.render_help().to_string();
        for line in ["policy", "--quiet"] {
            let shown = help
                .lines()
                .find(|text| text.split_whitespace().any(|word| word.trim_end_matches(',') == line));
            assert!(
                shown.is_some_and(|text| text.split_whitespace().count() > 2),
                "`retrain --help` shows {line} without a description:\n{help}"
            );
        }
    }
}
