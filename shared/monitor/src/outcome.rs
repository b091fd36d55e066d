//! What a prediction or a ground-truth label says, read as the model's
//! problem needs it: a number (regression value, binary score or 0/1 label)
//! or a class name. The join pairs them and the quality metrics compare them.

use crate::settings::Problem;
use serde::{Deserialize, Serialize};

/// A prediction or a label, read as the problem needs it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Outcome {
    /// A regression value, a binary score, or a binary label as 0 or 1.
    Number(f64),
    /// A multiclass class name (a whole number is written without a fraction: "2", not "2.0").
    Class(String),
}

impl Outcome {
    /// A prediction as text (a CSV cell, or a JSON scalar's text).
    pub fn prediction(text: &str, problem: Problem) -> Option<Outcome> {
        match problem {
            Problem::Regression | Problem::Binary => finite(text).map(Outcome::Number),
            Problem::Multiclass => class(text),
        }
    }

    /// A ground-truth label as text. Binary labels are 1/0 or true/false.
    pub fn label(text: &str, problem: Problem) -> Option<Outcome> {
        match problem {
            Problem::Regression => finite(text).map(Outcome::Number),
            Problem::Binary => match text.trim().to_ascii_lowercase().as_str() {
                "true" => Some(Outcome::Number(1.0)),
                "false" => Some(Outcome::Number(0.0)),
                other => finite(other)
                    .filter(|value| *value == 0.0 || *value == 1.0)
                    .map(Outcome::Number),
            },
            Problem::Multiclass => class(text),
        }
    }
}

fn finite(text: &str) -> Option<f64> {
    text.trim().parse::<f64>().ok().filter(|value| value.is_finite())
}

fn class(text: &str) -> Option<Outcome> {
    let text = text.trim();
    if text.is_empty() {
        return None;
    }
    match finite(text) {
        Some(number) if number.fract() == 0.0 && number.abs() < 1e15 => Some(Outcome::Class(format!("{number:.0}"))),
        _ => Some(Outcome::Class(text.to_string())),
    }
}
