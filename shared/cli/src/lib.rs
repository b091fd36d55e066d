//! The operators' tool `retrain`, as plain functions the binary wires to
//! arguments: `policy check` (validate a policy file and show every model's
//! effective policy with the defaults applied, or the error at its line) and
//! `decisions` (a table of a model's audit records read from the ledger).
//! `backtest` replays a policy over metric history through the real engine
//! (with `cloudwatch` fetching values and `drift_reports` reading reports
//! from disk), and `synthetic` writes the demo's inputs.

pub mod backtest;
pub mod cloudwatch;
pub mod drift_reports;
pub mod error;
pub mod synthetic;

use trigger_decision::{ModelPolicy, Policy, PolicyError, ScheduleMode, Span};
use trigger_engine::audit::SeenExecution;
use trigger_engine::AuditRecord;

/// Validates a policy. `Ok`: the effective per-model policy, as text. `Err`:
/// `FILE:LINE: message`, the line being where the problem is, as far as it can be found.
pub fn check_policy(text: &str, file: &str) -> Result<String, String> {
    match Policy::from_toml(text) {
        Ok(policy) => Ok(effective(&policy)),
        Err(error) => {
            let line = match &error {
                // toml's own message already names the line and column.
                PolicyError::Syntax(_) => None,
                PolicyError::Field { model, field, .. } => locate(text, model.as_deref(), field),
                PolicyError::NoModels => None,
            };
            Err(match line {
                Some(line) => format!("{file}:{line}: {error}"),
                None => format!("{file}: {error}"),
            })
        }
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
    let mut widths = header.map(str::len);
    for row in &rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let format_row = |cells: Vec<&str>| {
        let padded: Vec<String> = cells
            .iter()
            .zip(widths)
            .map(|(cell, width)| format!("{cell:<width$}"))
            .collect();
        padded.join("  ").trim_end().to_string()
    };
    let mut lines = vec![
        format_row(header.to_vec()),
        format_row(
            widths
                .iter()
                .map(|width| "-".repeat(*width))
                .collect::<Vec<_>>()
                .iter()
                .map(String::as_str)
                .collect(),
        ),
    ];
    for row in &rows {
        lines.push(format_row(row.iter().map(String::as_str).collect()));
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

    #[test]
    fn since_reads_policy_durations() {
        assert_eq!(parse_since("7d").unwrap(), Span::from_secs(7 * 86_400));
        assert!(parse_since("a week").unwrap_err().contains("\"7d\""));
    }
}
