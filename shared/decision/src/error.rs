//! Errors of the decision crate. Only policy loading and checking a manual
//! request against its policy can fail: deciding never does.

use thiserror::Error;

/// Why a policy was refused. Each message names the model (when there is one),
/// the field, and what would be valid, so an operator can fix it from the log alone.
#[derive(Debug, Error, PartialEq)]
pub enum PolicyError {
    #[error("policy is not valid TOML: {0}")]
    Syntax(String),

    #[error("policy{}: field `{field}`: {problem}", model_label(.model))]
    Field {
        model: Option<String>,
        field: String,
        problem: String,
    },

    #[error("policy has no [[model]] entries: add at least one with `name` and `pipeline`")]
    NoModels,

    /// A key its table does not have, such as a misspelt field.
    #[error(
        "policy: unknown field `{field}` in {}; expected one of {}",
        place_label(.model, .table),
        field_list(.expected)
    )]
    UnknownField {
        model: Option<String>,
        /// `[defaults]`, `[[model]]`, `[model.drift]`, `[model.monitor]`, or empty for the top level.
        table: String,
        field: String,
        expected: Vec<String>,
    },

    /// Valid TOML of the wrong shape: a missing field, a value of the wrong type.
    #[error("policy: in {}: {problem}", place_label(.model, .table))]
    Shape {
        model: Option<String>,
        table: String,
        problem: String,
    },

    /// The settings error is this error's whole message (not its source), so
    /// a chain printed with its causes does not say it twice.
    #[error("policy, model \"{model}\": {problem}")]
    Monitor { model: String, problem: SettingsError },
}

/// A `[model.monitor]` setting that cannot be interpreted. Each message names
/// the field as the policy spells it and says what would be valid.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SettingsError {
    #[error("model.monitor.{field}: {value:?} is not valid; {expected}")]
    Invalid {
        field: &'static str,
        value: String,
        expected: &'static str,
    },
    #[error("model.monitor.features: {name:?} is listed twice; each feature needs one name")]
    DuplicateFeature { name: String },
    #[error("model.monitor.categorical: {name:?} is not in model.monitor.features; list it there first")]
    UnknownCategorical { name: String },
    #[error("model.monitor.threshold applies only to problem = \"binary\"; remove it for problem = {problem:?}")]
    ThresholdWithoutBinary { problem: &'static str },
}

impl SettingsError {
    /// The `[model.monitor]` field the problem is in, as the policy spells it.
    pub fn field(&self) -> &'static str {
        match self {
            SettingsError::Invalid { field, .. } => field,
            SettingsError::DuplicateFeature { .. } => "features",
            SettingsError::UnknownCategorical { .. } => "categorical",
            SettingsError::ThresholdWithoutBinary { .. } => "threshold",
        }
    }
}

/// Why a manual request was refused before any decision. Each message names
/// the request field, so the requester can fix it from the answer alone.
#[derive(Debug, Error, PartialEq)]
pub enum ManualRequestError {
    #[error(
        "`parameters.{parameter}`: model \"{model}\" does not allow overriding it; allowed: {}",
        allowed_label(.allowed)
    )]
    ParameterNotAllowed {
        model: String,
        parameter: String,
        allowed: Vec<String>,
    },

    #[error("`parameters.{parameter}` is longer than SageMaker's {max} characters")]
    ParameterTooLong { parameter: String, max: usize },

    #[error(
        "`approval`: \"auto\" would loosen model \"{model}\"'s manual approval; a request may only make \
         approval stricter (\"manual\"), never looser"
    )]
    LooserApproval { model: String },
}

fn allowed_label(allowed: &[String]) -> String {
    if allowed.is_empty() {
        "none (the model's allow_overrides is empty)".to_string()
    } else {
        allowed.join(", ")
    }
}

/// Where a table is, for a person: `[defaults]`, `model "m"`, `[model.drift] of model "m"`.
fn place_label(model: &Option<String>, table: &str) -> String {
    match (model, table) {
        (Some(name), "[[model]]") => format!("model \"{name}\""),
        (Some(name), table) => format!("{table} of model \"{name}\""),
        (None, "") => "the policy's top level".to_string(),
        (None, table) => table.to_string(),
    }
}

fn field_list(fields: &[String]) -> String {
    let quoted: Vec<String> = fields.iter().map(|field| format!("`{field}`")).collect();
    quoted.join(", ")
}

fn model_label(model: &Option<String>) -> String {
    match model {
        Some(name) => format!(", model \"{name}\""),
        None => " [defaults]".to_string(),
    }
}

impl PolicyError {
    pub(crate) fn field(model: Option<&str>, field: &str, problem: impl Into<String>) -> Self {
        PolicyError::Field {
            model: model.map(str::to_string),
            field: field.to_string(),
            problem: problem.into(),
        }
    }
}
