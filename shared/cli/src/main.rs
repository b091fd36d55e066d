//! `retrain`: the operators' command line. This file only parses arguments
//! (clap's derive API: the commands are the types below) and wires them to
//! the functions in lib.rs; AWS is reached with the standard SDK
//! configuration, so `AWS_ENDPOINT_URL` points it at moto.

use anyhow::{bail, Context, Result};
use clap::{Args, Parser, Subcommand};
use std::process::ExitCode;
use trigger_aws::audit::{find_records, list_records};
use trigger_aws::lambda::{load_sdk_config, s3_client, trigger_from_env};
use trigger_aws::{now, S3Location};

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
    /// Policy files.
    #[command(subcommand)]
    Policy(PolicyCommand),
    /// A table of a model's recorded decisions, newest first.
    Decisions(DecisionsArgs),
    /// Every record of one trigger, formatted for a person.
    Explain(ExplainArgs),
    /// Ask for a retrain through manual-trigger's code path, as the caller's IAM identity;
    /// needs RETRAIN_POLICY (or _FILE or _URI) and RETRAIN_LEDGER.
    Start(StartArgs),
    /// Replay a policy over metric history through the decision engine: how many
    /// retrains it would have started, and how long each model stayed in breach first.
    Backtest(Box<retrain_cli::backtest::BacktestArgs>),
    /// Write the demo's backtest inputs (90 days of synthetic MAE and its alarm) to a folder.
    #[command(hide = true)]
    Synthetic {
        #[arg(value_name = "DIR")]
        folder: std::path::PathBuf,
    },
}

#[derive(Debug, Subcommand)]
enum PolicyCommand {
    /// Validate a policy file and print every model's effective policy, defaults applied.
    Check {
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
    #[arg(long, value_name = "MODEL")]
    model: String,
    #[arg(long, value_name = "TEXT")]
    reason: String,
    /// Skip the cooldown (never the in-flight check or the budget).
    #[arg(long)]
    force: bool,
    /// Override a parameter the model's allow_overrides lists.
    #[arg(long = "parameter", value_name = "NAME=VALUE")]
    parameters: Vec<String>,
    #[arg(long, value_name = "manual|auto")]
    approval: Option<String>,
    /// The dedupe key; repeat it to retry the same request safely.
    #[arg(long, value_name = "ID")]
    request_id: Option<String>,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Policy(PolicyCommand::Check { file }) => policy_check(&file),
        Command::Decisions(args) => decisions(&args, cli.quiet),
        Command::Explain(args) => explain(&args, cli.quiet),
        Command::Start(args) => start(args),
        Command::Backtest(args) => backtest(&args, cli.quiet),
        Command::Synthetic { folder } => retrain_cli::synthetic::write(&folder).map_err(anyhow::Error::from),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("retrain: {error:#}");
            ExitCode::FAILURE
        }
    }
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

/// A single-threaded runtime for one command's few AWS calls.
fn runtime() -> Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_current_thread().enable_all().build()?)
}

fn decisions(args: &DecisionsArgs, quiet: bool) -> Result<()> {
    let model = &args.model;
    let since = retrain_cli::parse_since(&args.since).map_err(anyhow::Error::msg)?;
    let (ledger_uri, ledger) = ledger(&args.ledger)?;
    runtime()?.block_on(async {
        let s3 = s3_client(&load_sdk_config().await);
        if !quiet {
            eprintln!("reading decisions of {model} from {ledger_uri} for the last {since} …");
        }
        let until = now();
        let records = list_records(&s3, &ledger, model, until.minus(since), until).await?;
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
        let s3 = s3_client(&load_sdk_config().await);
        if !quiet {
            eprintln!("searching {ledger_uri} for trigger {trigger_id} …");
        }
        let records = find_records(&s3, &ledger, args.model.as_deref(), trigger_id).await?;
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
        let sdk = load_sdk_config().await;
        // Like a function URL, the requester is who the credentials say, never a flag.
        let identity = aws_sdk_sts::Client::new(&sdk)
            .get_caller_identity()
            .send()
            .await
            .map_err(|error| anyhow::anyhow!("{}", aws_sdk_sts::error::DisplayErrorContext(&error)))
            .context("cannot tell who you are (STS GetCallerIdentity); check your AWS credentials")?;
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
        let trigger = trigger_from_env().await?;
        let answer = trigger_engine::manual::decide(&trigger, &request, &request_id).await?;
        println!("{}", serde_json::to_string_pretty(&answer)?);
        Ok(())
    })
}
