//! `retrain`: the operators' command line. This file only parses arguments
//! and wires them to the functions in lib.rs; AWS is reached with the standard
//! SDK configuration, so `AWS_ENDPOINT_URL` points it at moto.

use anyhow::{bail, Context, Result};
use clap::{Arg, ArgAction, Command};
use std::process::ExitCode;
use trigger_aws::audit::{find_records, list_records};
use trigger_aws::engine::now;
use trigger_aws::lambda::{load_sdk_config, s3_client, trigger_from_env};
use trigger_aws::S3Location;

fn command() -> Command {
    Command::new("retrain")
        .about("Check retraining policies and read the decisions the triggers recorded.")
        .subcommand_required(true)
        .subcommand(
            Command::new("policy").subcommand_required(true).subcommand(
                Command::new("check")
                    .about("Validate a policy file and print every model's effective policy, defaults applied")
                    .arg(Arg::new("file").required(true).value_name("FILE")),
            ),
        )
        .subcommand(
            Command::new("decisions")
                .about("A table of a model's recorded decisions, newest first")
                .arg(Arg::new("model").long("model").required(true).value_name("MODEL"))
                .arg(
                    Arg::new("since")
                        .long("since")
                        .default_value("7d")
                        .value_name("DURATION")
                        .help("how far back, like 7d or 12h"),
                )
                .arg(
                    Arg::new("ledger")
                        .long("ledger")
                        .value_name("s3://bucket/prefix")
                        .help("the ledger; defaults to $RETRAIN_LEDGER"),
                ),
        )
        .subcommand(
            Command::new("explain")
                .about("Every record of one trigger, formatted for a person")
                .arg(Arg::new("trigger_id").required(true).value_name("TRIGGER_ID"))
                .arg(
                    Arg::new("model")
                        .long("model")
                        .value_name("MODEL")
                        .help("look only under this model's records (faster)"),
                )
                .arg(
                    Arg::new("ledger")
                        .long("ledger")
                        .value_name("s3://bucket/prefix")
                        .help("the ledger; defaults to $RETRAIN_LEDGER"),
                ),
        )
        .subcommand(
            Command::new("start")
                .about(
                    "Ask for a retrain through manual-trigger's code path, as the caller's IAM identity; \
                     needs RETRAIN_POLICY (or _FILE or _URI) and RETRAIN_LEDGER",
                )
                .arg(Arg::new("model").long("model").required(true).value_name("MODEL"))
                .arg(Arg::new("reason").long("reason").required(true).value_name("TEXT"))
                .arg(
                    Arg::new("force")
                        .long("force")
                        .action(ArgAction::SetTrue)
                        .help("skip the cooldown (never the in-flight check or the budget)"),
                )
                .arg(
                    Arg::new("parameter")
                        .long("parameter")
                        .value_name("NAME=VALUE")
                        .action(ArgAction::Append)
                        .help("override a parameter the model's allow_overrides lists"),
                )
                .arg(Arg::new("approval").long("approval").value_name("manual|auto"))
                .arg(
                    Arg::new("request_id")
                        .long("request-id")
                        .value_name("ID")
                        .help("the dedupe key; repeat it to retry the same request safely"),
                ),
        )
        .arg(
            Arg::new("quiet")
                .long("quiet")
                .short('q')
                .action(ArgAction::SetTrue)
                .global(true),
        )
}

fn main() -> ExitCode {
    let matches = command().get_matches();
    let result = match matches.subcommand() {
        Some(("policy", policy)) => match policy.subcommand() {
            Some(("check", check)) => policy_check(check.get_one::<String>("file").map_or("", String::as_str)),
            _ => Err(anyhow::anyhow!(
                "unknown policy command; try `retrain policy check FILE`"
            )),
        },
        Some(("decisions", decisions_args)) => decisions(decisions_args),
        Some(("explain", explain_args)) => explain(explain_args),
        Some(("start", start_args)) => start(start_args),
        _ => Err(anyhow::anyhow!("unknown command; see `retrain --help`")),
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

fn decisions(args: &clap::ArgMatches) -> Result<()> {
    let model = args.get_one::<String>("model").map_or("", String::as_str);
    let since = retrain_cli::parse_since(args.get_one::<String>("since").map_or("7d", String::as_str))
        .map_err(anyhow::Error::msg)?;
    let (ledger_uri, ledger) = ledger(args)?;
    let quiet = args.get_flag("quiet");
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    runtime.block_on(async {
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
fn ledger(args: &clap::ArgMatches) -> Result<(String, S3Location)> {
    let uri = match args.get_one::<String>("ledger") {
        Some(uri) => uri.clone(),
        None => std::env::var("RETRAIN_LEDGER")
            .context("no ledger: pass --ledger s3://bucket/prefix or set RETRAIN_LEDGER")?,
    };
    let location =
        S3Location::parse(&uri).with_context(|| format!("--ledger {uri} is not an S3 URI; use s3://bucket/prefix"))?;
    Ok((uri, location))
}

fn explain(args: &clap::ArgMatches) -> Result<()> {
    let trigger_id = args.get_one::<String>("trigger_id").map_or("", String::as_str);
    let model = args.get_one::<String>("model").map(String::as_str);
    let (ledger_uri, ledger) = ledger(args)?;
    let quiet = args.get_flag("quiet");
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    runtime.block_on(async {
        let s3 = s3_client(&load_sdk_config().await);
        if !quiet {
            eprintln!("searching {ledger_uri} for trigger {trigger_id} …");
        }
        let records = find_records(&s3, &ledger, model, trigger_id).await?;
        if records.is_empty() {
            bail!("no decision recorded for trigger {trigger_id} under {ledger_uri}");
        }
        let texts: Vec<String> = records.iter().map(retrain_cli::explain_text).collect();
        print!("{}", texts.join("\n"));
        Ok(())
    })
}

fn start(args: &clap::ArgMatches) -> Result<()> {
    // The answer is the JSON on stdout; the engine's decision log line goes to stderr.
    trigger_aws::engine::log_lines_to_stderr();
    let text = |name: &str| args.get_one::<String>(name).cloned();
    let mut parameters = serde_json::Map::new();
    for pair in args.get_many::<String>("parameter").into_iter().flatten() {
        let (name, value) = pair
            .split_once('=')
            .with_context(|| format!("--parameter {pair:?} is not NAME=VALUE"))?;
        parameters.insert(name.to_string(), serde_json::Value::String(value.to_string()));
    }
    let request_id = text("request_id").unwrap_or_else(|| format!("retrain-cli-{}", now().millis()));
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    runtime.block_on(async {
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
            "model": text("model"),
            "reason": text("reason"),
            "requested_by": requested_by,
            "force": args.get_flag("force"),
            "parameters": parameters,
        });
        if let Some(approval) = text("approval") {
            request["approval"] = serde_json::Value::String(approval);
        }
        let trigger = trigger_from_env().await?;
        let answer = manual_trigger::handle(&trigger, &request, &request_id).await?;
        println!("{}", serde_json::to_string_pretty(&answer)?);
        Ok(())
    })
}
