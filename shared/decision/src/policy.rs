//! The retraining policy: which models exist, what triggers them, and the
//! limits on starting their pipelines. Parsed and validated once at cold start.

use crate::error::PolicyError;
use crate::time::Span;
use serde::Deserialize;
use std::collections::{BTreeMap, HashSet};

/// Parameter names the triggers set themselves. A policy may not set them,
/// because a static value would hide what actually caused the start.
pub const TRIGGER_PARAMETERS: [&str; 4] = ["TriggerType", "TriggerReason", "TriggerId", "ModelApprovalStatus"];

/// The longest value SageMaker accepts for one pipeline parameter.
pub const MAX_PARAMETER_VALUE_CHARS: usize = 1024;

/// What a scheduled event may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScheduleMode {
    /// Every scheduled event may start (still subject to in-flight and cooldown).
    Always,
    /// Only if evidence arrived since the pipeline last started.
    IfEvidence,
}

/// Who approves the retrained model before it can be deployed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Approval {
    Manual,
    Auto,
}

impl Approval {
    /// The `ModelApprovalStatus` value the pipeline registers the model with.
    pub fn model_approval_status(self) -> &'static str {
        match self {
            Approval::Manual => "PendingManualApproval",
            Approval::Auto => "Approved",
        }
    }
}

/// One model's effective policy, with the defaults applied.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelPolicy {
    pub name: String,
    pub pipeline: String,
    /// Alarm names (or ARNs) whose move into ALARM is evidence for this model.
    pub alarms: Vec<String>,
    /// Rule or schedule names (or ARNs) bound to this model.
    pub schedules: Vec<String>,
    pub cooldown: Span,
    pub schedule: ScheduleMode,
    pub approval: Approval,
    /// Static pipeline parameters, passed on every start.
    pub parameters: BTreeMap<String, String>,
}

/// The whole policy.
#[derive(Debug, Clone, PartialEq)]
pub struct Policy {
    pub models: Vec<ModelPolicy>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawPolicy {
    #[serde(default)]
    defaults: RawSettings,
    #[serde(default)]
    model: Vec<RawModel>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawSettings {
    cooldown: Option<String>,
    schedule: Option<String>,
    approval: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawModel {
    name: String,
    pipeline: String,
    #[serde(default)]
    alarms: Vec<String>,
    #[serde(default)]
    schedules: Vec<String>,
    cooldown: Option<String>,
    schedule: Option<String>,
    approval: Option<String>,
    #[serde(default)]
    parameters: BTreeMap<String, String>,
}

const DEFAULT_COOLDOWN: &str = "6h";
const DEFAULT_SCHEDULE: &str = "if-evidence";
const DEFAULT_APPROVAL: &str = "manual";

impl Policy {
    /// Parses and validates a TOML policy. The first problem found is returned.
    pub fn from_toml(text: &str) -> Result<Policy, PolicyError> {
        let raw: RawPolicy = toml::from_str(text).map_err(|error| PolicyError::Syntax(error.to_string()))?;
        // Check the defaults on their own first, so a bad default is blamed on
        // [defaults] rather than on the first model that inherits it.
        parse_cooldown(None, raw.defaults.cooldown.as_deref().unwrap_or(DEFAULT_COOLDOWN))?;
        parse_schedule(None, raw.defaults.schedule.as_deref().unwrap_or(DEFAULT_SCHEDULE))?;
        parse_approval(None, raw.defaults.approval.as_deref().unwrap_or(DEFAULT_APPROVAL))?;
        if raw.model.is_empty() {
            return Err(PolicyError::NoModels);
        }
        let mut seen_names = HashSet::new();
        let mut models = Vec::with_capacity(raw.model.len());
        for model in raw.model {
            let parsed = parse_model(model, &raw.defaults)?;
            if !seen_names.insert(parsed.name.clone()) {
                return Err(PolicyError::field(
                    Some(&parsed.name),
                    "name",
                    "appears twice; model names must be unique",
                ));
            }
            models.push(parsed);
        }
        Ok(Policy { models })
    }

    /// The models that list this alarm, by name or ARN, in policy order.
    pub fn models_for_alarm(&self, alarm_name: &str, alarm_arn: Option<&str>) -> Vec<&ModelPolicy> {
        self.models
            .iter()
            .filter(|model| {
                model
                    .alarms
                    .iter()
                    .any(|entry| names_match(entry, alarm_name, alarm_arn))
            })
            .collect()
    }

    /// The models bound to this schedule, by name or ARN, in policy order.
    pub fn models_for_schedule(&self, schedule_name: &str, schedule_arn: Option<&str>) -> Vec<&ModelPolicy> {
        self.models
            .iter()
            .filter(|model| {
                model
                    .schedules
                    .iter()
                    .any(|entry| names_match(entry, schedule_name, schedule_arn))
            })
            .collect()
    }

    pub fn model(&self, name: &str) -> Option<&ModelPolicy> {
        self.models.iter().find(|model| model.name == name)
    }
}

fn names_match(entry: &str, name: &str, arn: Option<&str>) -> bool {
    entry == name || arn == Some(entry)
}

fn parse_model(raw: RawModel, defaults: &RawSettings) -> Result<ModelPolicy, PolicyError> {
    let model = Some(raw.name.as_str());
    if !is_model_name(&raw.name) {
        return Err(PolicyError::field(
            model,
            "name",
            "must be 1 to 128 characters of letters, digits, `.`, `_` or `-` (it names the model's ledger object)",
        ));
    }
    if !is_pipeline_name(&raw.pipeline) {
        return Err(PolicyError::field(
            model,
            "pipeline",
            format!(
                "\"{}\" is not a SageMaker pipeline name: use 1 to 256 letters, digits and hyphens, starting and ending with a letter or digit",
                raw.pipeline
            ),
        ));
    }
    for (field, entries) in [("alarms", &raw.alarms), ("schedules", &raw.schedules)] {
        if entries.iter().any(|entry| entry.trim().is_empty()) {
            return Err(PolicyError::field(model, field, "contains an empty name"));
        }
    }
    for (name, value) in &raw.parameters {
        if name.is_empty()
            || !name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        {
            return Err(PolicyError::field(
                model,
                &format!("parameters.{name}"),
                "parameter names may hold only letters, digits, `-` and `_`",
            ));
        }
        if TRIGGER_PARAMETERS.contains(&name.as_str()) {
            return Err(PolicyError::field(
                model,
                &format!("parameters.{name}"),
                format!(
                    "is set by the trigger itself; remove it (reserved: {})",
                    TRIGGER_PARAMETERS.join(", ")
                ),
            ));
        }
        if value.chars().count() > MAX_PARAMETER_VALUE_CHARS {
            return Err(PolicyError::field(
                model,
                &format!("parameters.{name}"),
                format!("is longer than SageMaker's {MAX_PARAMETER_VALUE_CHARS} characters"),
            ));
        }
    }
    let cooldown = raw
        .cooldown
        .as_deref()
        .or(defaults.cooldown.as_deref())
        .unwrap_or(DEFAULT_COOLDOWN);
    let schedule = raw
        .schedule
        .as_deref()
        .or(defaults.schedule.as_deref())
        .unwrap_or(DEFAULT_SCHEDULE);
    let approval = raw
        .approval
        .as_deref()
        .or(defaults.approval.as_deref())
        .unwrap_or(DEFAULT_APPROVAL);
    // Blame an inherited bad value on [defaults], an own one on the model.
    let owner = |own: &Option<String>| if own.is_some() { model } else { None };
    Ok(ModelPolicy {
        cooldown: parse_cooldown(owner(&raw.cooldown), cooldown)?,
        schedule: parse_schedule(owner(&raw.schedule), schedule)?,
        approval: parse_approval(owner(&raw.approval), approval)?,
        name: raw.name,
        pipeline: raw.pipeline,
        alarms: raw.alarms,
        schedules: raw.schedules,
        parameters: raw.parameters,
    })
}

fn parse_cooldown(model: Option<&str>, text: &str) -> Result<Span, PolicyError> {
    Span::parse(text).ok_or_else(|| {
        PolicyError::field(
            model,
            "cooldown",
            format!("\"{text}\" is not a duration; write a whole number and a unit s, m, h or d, like \"90s\", \"15m\", \"6h\" or \"7d\""),
        )
    })
}

fn parse_schedule(model: Option<&str>, text: &str) -> Result<ScheduleMode, PolicyError> {
    match text {
        "always" => Ok(ScheduleMode::Always),
        "if-evidence" => Ok(ScheduleMode::IfEvidence),
        other => Err(PolicyError::field(
            model,
            "schedule",
            format!("\"{other}\" is not a schedule mode; use \"always\" or \"if-evidence\""),
        )),
    }
}

fn parse_approval(model: Option<&str>, text: &str) -> Result<Approval, PolicyError> {
    match text {
        "manual" => Ok(Approval::Manual),
        "auto" => Ok(Approval::Auto),
        other => Err(PolicyError::field(
            model,
            "approval",
            format!(
                "\"{other}\" is not an approval mode; use \"manual\" (PendingManualApproval) or \"auto\" (Approved)"
            ),
        )),
    }
}

fn is_model_name(name: &str) -> bool {
    (1..=128).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
        && !name.starts_with('.')
}

/// SageMaker's pattern `^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,255}`.
fn is_pipeline_name(name: &str) -> bool {
    let bytes = name.as_bytes();
    (1..=256).contains(&bytes.len())
        && bytes.iter().all(|b| b.is_ascii_alphanumeric() || *b == b'-')
        && bytes.first().is_some_and(u8::is_ascii_alphanumeric)
        && bytes.last().is_some_and(u8::is_ascii_alphanumeric)
}

#[cfg(test)]
mod tests {
    use super::*;

    const EXAMPLE: &str = r#"
[defaults]
cooldown = "6h"
schedule = "if-evidence"
approval = "manual"

[[model]]
name = "housing-price"
pipeline = "housing-price-retrain"
alarms = ["housing-price-mae-high"]
schedules = ["housing-price-weekly"]
cooldown = "12h"
[model.parameters]
DataWindowDays = "30"

[[model]]
name = "churn"
pipeline = "churn-retrain"
alarms = ["housing-price-mae-high", "arn:aws:cloudwatch:us-east-1:123456789012:alarm:churn-auc-low"]
schedule = "always"
approval = "auto"
"#;

    #[test]
    fn the_readme_example_parses_with_defaults_applied() {
        let policy = Policy::from_toml(EXAMPLE).unwrap();
        let housing = policy.model("housing-price").unwrap();
        assert_eq!(housing.cooldown, Span::from_secs(12 * 3600));
        assert_eq!(housing.schedule, ScheduleMode::IfEvidence);
        assert_eq!(housing.approval, Approval::Manual);
        assert_eq!(housing.parameters.get("DataWindowDays").map(String::as_str), Some("30"));
        let churn = policy.model("churn").unwrap();
        assert_eq!(churn.cooldown, Span::from_secs(6 * 3600));
        assert_eq!(churn.schedule, ScheduleMode::Always);
        assert_eq!(churn.approval, Approval::Auto);
    }

    #[test]
    fn one_alarm_routes_to_every_model_that_lists_it_by_name_or_arn() {
        let policy = Policy::from_toml(EXAMPLE).unwrap();
        let names = |found: Vec<&ModelPolicy>| found.iter().map(|m| m.name.clone()).collect::<Vec<_>>();
        assert_eq!(
            names(policy.models_for_alarm("housing-price-mae-high", None)),
            ["housing-price", "churn"]
        );
        let churn_arn = "arn:aws:cloudwatch:us-east-1:123456789012:alarm:churn-auc-low";
        assert_eq!(
            names(policy.models_for_alarm("churn-auc-low", Some(churn_arn))),
            ["churn"]
        );
        assert!(policy.models_for_alarm("churn-auc-low", None).is_empty());
        assert_eq!(
            names(policy.models_for_schedule("housing-price-weekly", None)),
            ["housing-price"]
        );
    }

    /// Each bad policy must be refused with a message naming the model, the field and what is valid.
    #[test]
    fn bad_policies_name_the_model_the_field_and_what_is_valid() {
        let check = |toml: &str, expected: &[&str]| {
            let error = Policy::from_toml(toml).expect_err(toml).to_string();
            for fragment in expected {
                assert!(error.contains(fragment), "{error:?} lacks {fragment:?}");
            }
        };
        let model = |extra: &str| format!("[[model]]\nname = \"m1\"\npipeline = \"p1\"\n{extra}\n");
        check(
            &model("cooldown = \"6x\""),
            &["model \"m1\"", "`cooldown`", "\"6x\"", "6h"],
        );
        check(
            &model("schedule = \"weekly\""),
            &["model \"m1\"", "`schedule`", "\"always\" or \"if-evidence\""],
        );
        check(
            &model("approval = \"yes\""),
            &["model \"m1\"", "`approval`", "\"manual\"", "\"auto\""],
        );
        check(
            &model("[model.parameters]\nTriggerType = \"x\""),
            &["model \"m1\"", "parameters.TriggerType", "reserved"],
        );
        check(
            &model("[model.parameters]\n\"bad name\" = \"x\""),
            &["parameters.bad name", "letters, digits"],
        );
        check(
            &format!("[defaults]\ncooldown = \"soon\"\n{}", model("")),
            &["[defaults]", "`cooldown`", "\"soon\""],
        );
        check(
            "[[model]]\nname = \"m1\"\npipeline = \"bad_pipeline\"\n",
            &["model \"m1\"", "`pipeline`", "bad_pipeline"],
        );
        check("[[model]]\nname = \"m1\"\n", &["pipeline"]);
        check(&model("colour = \"red\""), &["colour"]);
        check(
            &format!("{}{}", model(""), model("")),
            &["model \"m1\"", "`name`", "unique"],
        );
        check("[defaults]\n", &["no [[model]]"]);
        check("[[model]\n", &["not valid TOML"]);
    }
}
