//! The operators' tool `retrain`, as plain functions the binary wires to
//! arguments: `policy check` (validate a policy file and show every model's
//! effective policy with the defaults applied, or every mistake at its line),
//! `decisions` (a table of a model's audit records read from the ledger), the
//! monitoring commands `baseline`, `profile` and `quality` (`monitor`,
//! reading through `objects`, printed by `monitor_text`, failing with an
//! `error::CliError`), and `backtest`, which replays a policy over metric
//! history through the real engine (with `cloudwatch` fetching values and
//! `drift_reports` reading reports, failing with a
//! `backtest_error::CommandError`); `synthetic` writes the demo's inputs.

pub mod backtest;
pub mod backtest_error;
pub mod cloudwatch;
pub mod drift_reports;
pub mod synthetic;

pub mod error;
pub mod monitor;
pub mod monitor_text;
pub mod objects;

use trigger_decision::monitor::{FeatureKind, PredictionField, Problem};
use trigger_decision::policy::MAX_POLICY_ERRORS;
use trigger_decision::{ModelPolicy, MonitorSettings, Policy, PolicyError, ScheduleMode, Span};
use trigger_engine::audit::SeenExecution;
use trigger_engine::{AuditRecord, TriggerError};

/// Validates a policy. `Ok`: the effective per-model policy, as text. `Err`:
/// every problem found, one per line, each `FILE:LINE: message`, the line
/// being where the problem is, as far as it can be found, in the order of the file.
pub fn check_policy(text: &str, file: &str) -> Result<String, String> {
    let errors = match Policy::check(text) {
        Ok(policy) => return Ok(effective(&policy)),
        Err(errors) => errors,
    };
    let mut located: Vec<(Option<usize>, String)> = errors
        .iter()
        .map(|error| (error_line(text, error), error.to_string()))
        .collect();
    // Lines in the file's order; a problem with no line of its own (no models) last.
    located.sort_by_key(|(line, _)| line.unwrap_or(usize::MAX));
    let mut lines: Vec<String> = located
        .into_iter()
        .map(|(line, message)| match line {
            Some(line) => format!("{file}:{line}: {message}"),
            None => format!("{file}: {message}"),
        })
        .collect();
    if errors.len() >= MAX_POLICY_ERRORS {
        lines.push(format!(
            "{file}: stopped after {MAX_POLICY_ERRORS} problems; fix these and check again"
        ));
    } else if errors.len() > 1 {
        lines.push(format!("{file}: {} problems", errors.len()));
    }
    Err(lines.join("\n"))
}

/// The line a policy error points at, when it can be found.
fn error_line(text: &str, error: &PolicyError) -> Option<usize> {
    match error {
        // toml's own message already names the line and column.
        PolicyError::Syntax(_) | PolicyError::NoModels => None,
        PolicyError::Field { model, field, .. } => locate(text, model.as_deref(), field),
        PolicyError::UnknownField {
            model, table, field, ..
        } => {
            let field = match table.as_str() {
                "[model.drift]" => format!("drift.{field}"),
                "[model.monitor]" => format!("monitor.{field}"),
                _ => field.clone(),
            };
            locate(text, model.as_deref(), &field)
        }
        PolicyError::Shape { model, .. } => model.as_deref().and_then(|model| locate(text, Some(model), "name")),
        PolicyError::Monitor { model, problem } => locate(text, Some(model), &format!("monitor.{}", problem.field())),
    }
}

/// A trigger's error worded for a person at a terminal. The functions' own
/// wording speaks of the event being retried; here there is no event, so a
/// transient failure says to run the command again, and a refusal what to
/// check. Only the message: the SDK's detail is in the debug log (`RUST_LOG=debug`).
pub fn failure_text(error: &TriggerError) -> String {
    match error {
        TriggerError::Transient { operation, message, .. } => format!(
            "{operation} failed: {message}; run the command again in a moment, and if it keeps failing, \
             check your network and AWS_ENDPOINT_URL"
        ),
        TriggerError::Misconfigured { operation, message, .. } => format!(
            "{operation} failed: {message}; check the ledger (or policy) it names, and that your AWS \
             credentials may use it"
        ),
        other => other.to_string(),
    }
}

/// Every model's effective policy with the defaults applied, in TOML-like text.
pub fn effective(policy: &Policy) -> String {
    let mut out = format!("# policy sha256 {}\n", policy.sha256);
    for model in &policy.models {
        out.push_str(&effective_model(model));
    }
    out
}

fn effective_model(model: &ModelPolicy) -> String {
    let list = |items: &[String]| {
        let quoted: Vec<String> = items.iter().map(|item| format!("{item:?}")).collect();
        format!("[{}]", quoted.join(", "))
    };
    let mut out = format!(
        "\n[[model]]\nname = {:?}\npipeline = {:?}\nalarms = {}\nschedules = {}\ncooldown = \"{}\"\n\
         max_event_age = \"{}\"\nschedule = \"{}\"\napproval = \"{}\"\nmax_starts = {}\nallow_overrides = {}\n",
        model.name,
        model.pipeline,
        list(&model.alarms),
        list(&model.schedules),
        model.cooldown,
        model.max_event_age,
        match model.schedule {
            ScheduleMode::Always => "always",
            ScheduleMode::IfEvidence => "if-evidence",
        },
        model.approval.as_str(),
        model
            .max_starts
            .map_or_else(|| "\"unlimited\"".to_string(), |budget| format!("\"{budget}\"")),
        list(&model.allow_overrides),
    );
    if !model.parameters.is_empty() {
        out.push_str("[model.parameters]\n");
        for (name, value) in &model.parameters {
            out.push_str(&format!("{name} = {value:?}\n"));
        }
    }
    if let Some(drift) = &model.drift {
        let or_auto = |value: Option<String>| value.unwrap_or_else(|| "\"from constraints.json\"".to_string());
        out.push_str(&format!(
            "[model.drift]\nmethod = {}\ncomparison = {}\nthreshold = {}\nsevere = {}\nfeatures = {}\n\
             critical = {}\nmin_drifted = {}\nrehearsal_fraction = {}\n",
            or_auto(drift.method.map(|method| format!("{:?}", method.as_str()))),
            or_auto(
                drift
                    .robust
                    .map(|robust| if robust { "\"robust\"" } else { "\"simple\"" }.to_string())
            ),
            or_auto(drift.threshold.map(|threshold| threshold.to_string())),
            drift.severe,
            list(&drift.features),
            list(&drift.critical),
            drift.min_drifted,
            drift.rehearsal_fraction,
        ));
        for (name, uri) in [("baseline", &drift.baseline), ("reports", &drift.reports)] {
            if let Some(uri) = uri {
                out.push_str(&format!("{name} = {uri:?}\n"));
            }
        }
    }
    if let Some(monitor) = &model.monitor {
        out.push_str(&effective_monitor(monitor));
    }
    out
}

/// `[model.monitor]` with the defaults applied.
fn effective_monitor(monitor: &MonitorSettings) -> String {
    let quoted = |items: Vec<&str>| {
        let quoted: Vec<String> = items.iter().map(|item| format!("{item:?}")).collect();
        format!("[{}]", quoted.join(", "))
    };
    let categorical = monitor
        .features
        .iter()
        .filter(|feature| feature.kind == FeatureKind::Categorical)
        .map(|feature| feature.name.as_str())
        .collect();
    let prediction = match &monitor.prediction {
        PredictionField::Column(column) => column.to_string(),
        PredictionField::Pointer(pointer) => pointer.clone(),
    };
    let mut out = format!(
        "[model.monitor]\nendpoint = {:?}\ncaptures = {:?}\n",
        monitor.endpoint, monitor.captures
    );
    if let Some(labels) = &monitor.labels {
        out.push_str(&format!("labels = {labels:?}\n"));
    }
    out.push_str(&format!(
        "problem = {:?}\nfeatures = {}\ncategorical = {}\nprediction = {prediction:?}\n",
        monitor.problem.name(),
        quoted(monitor.feature_names().collect()),
        quoted(categorical),
    ));
    if monitor.problem == Problem::Binary {
        out.push_str(&format!("threshold = {}\n", monitor.threshold));
    }
    out.push_str(&format!(
        "window = \"{}\"\nlabel_delay = \"{}\"\nbuckets = {}\n",
        monitor.window, monitor.label_delay, monitor.buckets
    ));
    out
}

/// The 1-based line a field error points at: the field's key inside the
/// model's block (or `[defaults]`), else the line naming the model. A
/// line-based reading of the TOML, good for the layouts policies use.
pub fn locate(text: &str, model: Option<&str>, field: &str) -> Option<usize> {
    // `drift.method` lives in [model.drift]; `parameters.X` in [model.parameters].
    let (table, key) = match field.split_once('.') {
        Some((table, key)) => (Some(table), key),
        None => (None, field),
    };
    let mut section = String::new();
    let mut current_model: Option<String> = None;
    let mut model_line = None;
    for (index, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if line.starts_with('[') {
            section = line.trim_matches(|c| c == '[' || c == ']').trim().to_string();
            if line.starts_with("[[") && section == "model" {
                current_model = None;
            }
            continue;
        }
        let Some((found_key, value)) = line.split_once('=') else {
            continue;
        };
        let found_key = found_key.trim().trim_matches('"');
        if section == "model" && found_key == "name" {
            current_model = Some(value.trim().trim_matches('"').to_string());
            if current_model.as_deref() == model {
                model_line = Some(index + 1);
            }
        }
        let wanted_section = match (model, table) {
            (None, _) => "defaults".to_string(),
            (Some(_), None) => "model".to_string(),
            (Some(_), Some(table)) => format!("model.{table}"),
        };
        let in_block = match model {
            None => true,
            Some(name) => current_model.as_deref() == Some(name),
        };
        if in_block && section == wanted_section && found_key == key {
            return Some(index + 1);
        }
    }
    model_line
}

/// Reads `7d`, `12h`, `90m` as a span, for `--since`.
pub fn parse_since(text: &str) -> Result<Span, String> {
    Span::parse(text).ok_or_else(|| {
        format!("--since {text:?} is not a duration; write a whole number and a unit s, m, h or d, like \"7d\"")
    })
}

/// The decision records as a table, newest first.
pub fn decisions_table(records: &[AuditRecord]) -> String {
    let header = [
        "time",
        "outcome",
        "reason",
        "trigger",
        "trigger id",
        "execution",
        "detail",
    ];
    let rows: Vec<[String; 7]> = records
        .iter()
        .map(|record| {
            [
                record.time.clone(),
                record.outcome.to_string(),
                record.reason.to_string(),
                record.trigger_type.clone().unwrap_or_else(|| "-".to_string()),
                record.trigger_id.to_string(),
                record
                    .execution_arn
                    .as_deref()
                    .map_or("-", |arn| arn.rsplit('/').next().unwrap_or(arn))
                    .to_string(),
                shorten(&record.detail, 90),
            ]
        })
        .collect();
    let rows: Vec<Vec<String>> = rows.into_iter().map(Vec::from).collect();
    table(&header, &rows)
}

/// Rows under a header, in columns as wide as their widest cell, two spaces apart.
pub fn table(header: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = header.iter().map(|cell| cell.chars().count()).collect();
    for row in rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let format_row = |cells: &mut dyn Iterator<Item = &str>| {
        let padded: Vec<String> = cells
            .zip(&widths)
            .map(|(cell, width)| format!("{cell:<width$}"))
            .collect();
        padded.join("  ").trim_end().to_string()
    };
    let rule: Vec<String> = widths.iter().map(|width| "-".repeat(*width)).collect();
    let mut lines = vec![
        format_row(&mut header.iter().copied()),
        format_row(&mut rule.iter().map(String::as_str)),
    ];
    for row in rows {
        lines.push(format_row(&mut row.iter().map(String::as_str)));
    }
    lines.join("\n") + "\n"
}

/// One decision record, formatted for a person: what happened, why, what it
/// saw and what it passed on.
pub fn explain_text(record: &AuditRecord) -> String {
    let mut out = format!(
        "Decision {} for model {} at {}\n  outcome    {} ({})\n  why        {}\n  trigger    {} via {}{}\n  event      {}\n  policy     sha256 {}\n",
        record.trigger_id,
        record.model,
        record.time,
        record.outcome,
        record.reason,
        record.detail,
        record.trigger_type.as_deref().unwrap_or("-"),
        record.path,
        record
            .dedupe_key
            .as_ref()
            .map_or_else(String::new, |key| format!(", dedupe key {key}")),
        record.source,
        record.policy_sha256,
    );
    match &record.history {
        Some(history) => {
            let describe = |execution: &Option<SeenExecution>| {
                execution.as_ref().map_or_else(
                    || "none".to_string(),
                    |execution| {
                        format!(
                            "{} ({}, started {})",
                            execution.arn, execution.status, execution.started_at
                        )
                    },
                )
            };
            out.push_str(&format!(
                "  saw        last start: {}; in flight: {}; {} execution(s) in the look-back, {} evidence kept\n",
                describe(&history.last_start),
                describe(&history.in_flight),
                history.executions,
                history.evidence
            ));
        }
        None => out.push_str("  saw        no history was needed\n"),
    }
    if let Some(arn) = &record.execution_arn {
        out.push_str(&format!("  execution  {arn}\n"));
    }
    if !record.parameters.is_empty() {
        out.push_str("  parameters\n");
        for (name, value) in &record.parameters {
            out.push_str(&format!("    {name} = {value}\n"));
        }
    }
    out
}

fn shorten(text: &str, max_chars: usize) -> String {
    if text.chars().count() <= max_chars {
        return text.to_string();
    }
    let mut short: String = text.chars().take(max_chars - 1).collect();
    short.push('…');
    short
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    const GOOD: &str = r#"[defaults]
cooldown = "6h"
max_starts = "3/7d"

[[model]]
name = "housing-price"
pipeline = "housing-price-retrain"
alarms = ["housing-price-mae-high"]
allow_overrides = ["DataWindowDays"]
[model.parameters]
DataWindowDays = "30"

[[model]]
name = "churn"
pipeline = "churn-retrain"
approval = "auto"
[model.drift]
method = "psi"
"#;

    #[test]
    fn a_good_policy_prints_every_model_with_defaults_applied() {
        let text = check_policy(GOOD, "policy.toml").unwrap();
        for expected in [
            "name = \"housing-price\"",
            "cooldown = \"6h\"",
            "max_starts = \"3/7d\"",
            "approval = \"manual\"",
            "schedule = \"if-evidence\"",
            "max_event_age = \"1d\"",
            "allow_overrides = [\"DataWindowDays\"]",
            "DataWindowDays = \"30\"",
            "name = \"churn\"",
            "approval = \"auto\"",
            "method = \"psi\"",
            "min_drifted = 1",
        ] {
            assert!(text.contains(expected), "{expected:?} missing from\n{text}");
        }
    }

    /// Each bad policy is reported at the line of the problem.
    #[test]
    fn a_bad_policy_is_reported_with_its_line() {
        let check = |text: &str, expected: &str| {
            let error = check_policy(text, "p.toml").unwrap_err();
            assert!(
                error.starts_with(expected),
                "{error:?} does not start with {expected:?}"
            );
        };
        check(
            &GOOD.replace("approval = \"auto\"", "approval = \"yes\""),
            "p.toml:16: policy, model \"churn\"",
        );
        check(&GOOD.replace("method = \"psi\"", "method = \"kl\""), "p.toml:18: ");
        check(
            &GOOD.replace("max_starts = \"3/7d\"", "max_starts = \"3\""),
            "p.toml:3: policy [defaults]",
        );
        check(
            &GOOD.replace("DataWindowDays = \"30\"", "TriggerType = \"x\""),
            "p.toml:11: ",
        );
        // A field the model does not write (an inherited default is blamed on [defaults]) falls back to its name line.
        check(
            &GOOD.replace("pipeline = \"churn-retrain\"", "pipeline = \"bad_name\""),
            "p.toml:15: ",
        );
        let syntax = check_policy("[[model]\n", "p.toml").unwrap_err();
        assert!(syntax.contains("line 1"), "{syntax}");
    }

    /// `[model.monitor]` as checked, defaults applied; a mistake in it is reported at its line.
    #[test]
    fn the_monitor_section_is_shown_and_its_errors_located() {
        let monitor = "[model.monitor]\nendpoint = \"churn-prod\"\ncaptures = \"s3://c/churn/\"\n\
                       problem = \"binary\"\nfeatures = [\"tenure\", \"plan\"]\ncategorical = [\"plan\"]\n\
                       prediction = \"/predictions/0/score\"\n";
        let text = check_policy(&format!("{GOOD}{monitor}"), "p.toml").unwrap();
        let section = &text[text.find("[model.monitor]").unwrap()..];
        assert_eq!(
            section,
            "[model.monitor]\nendpoint = \"churn-prod\"\ncaptures = \"s3://c/churn/\"\nproblem = \"binary\"\n\
             features = [\"tenure\", \"plan\"]\ncategorical = [\"plan\"]\nprediction = \"/predictions/0/score\"\n\
             threshold = 0.5\nwindow = \"1h\"\nlabel_delay = \"6h\"\nbuckets = 10\n"
        );
        let error = check_policy(&format!("{GOOD}{}", monitor.replace("binary", "ranking")), "p.toml").unwrap_err();
        assert!(
            error.starts_with("p.toml:22: ") && error.contains("model.monitor.problem"),
            "{error}"
        );
    }

    /// Every mistake in one run, each at its line, in the file's order.
    #[test]
    fn every_mistake_is_reported_with_its_line() {
        let text = GOOD
            .replace("approval = \"auto\"", "approval = \"yes\"")
            .replace("method = \"psi\"", "method = \"psi\"\nthreshhold = 0.2")
            .replace("allow_overrides = [", "cooldwn = \"6h\"\nallow_overrides = [");
        let error = check_policy(&text, "p.toml").unwrap_err();
        let lines: Vec<&str> = error.lines().collect();
        assert_eq!(lines.len(), 4, "{error}");
        assert!(
            lines[0]
                .starts_with("p.toml:9: policy: unknown field `cooldwn` in model \"housing-price\"; expected one of"),
            "{error}"
        );
        assert!(
            lines[1].starts_with("p.toml:17: policy, model \"churn\": field `approval`"),
            "{error}"
        );
        assert!(
            lines[2].starts_with("p.toml:20: policy: unknown field `threshhold` in [model.drift] of model \"churn\""),
            "{error}"
        );
        assert_eq!(lines[3], "p.toml: 3 problems");
    }

    #[test]
    fn since_reads_policy_durations() {
        assert_eq!(parse_since("7d").unwrap(), Span::from_secs(7 * 86_400));
        assert!(parse_since("a week").unwrap_err().contains("\"7d\""));
    }
}
