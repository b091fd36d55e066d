//! Errors of the decision crate. Only policy loading can fail: deciding never does.

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
