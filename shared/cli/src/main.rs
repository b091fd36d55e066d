//! `retrain`: the operators' command line. This file only parses arguments
//! and wires them to the functions in lib.rs; AWS is reached with the standard
//! SDK configuration, so `AWS_ENDPOINT_URL` points it at moto.

use anyhow::{bail, Context, Result};
use clap::{Arg, ArgAction, Command};
use std::process::ExitCode;
use trigger_aws::audit::{find_records, list_records};
use trigger_aws::engine::now;
use trigger_aws::lambda::{load_sdk_config, s3_client};
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
