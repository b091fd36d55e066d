//! Policy sweeps: `key=v1,v2,...` over `cooldown`, `max_starts`, `schedule`
//! and the drift `threshold`, every combination of the given axes, each
//! replayed by the same engine and shown as one line.
//!
//! Values are checked by the policy parser itself (a one-model policy with
//! the value in place), so a sweep accepts exactly what a policy file does;
//! `max_starts` also takes `none`, for no budget. A combination sets its
//! values on every model (the threshold only on models with `[model.drift]`).
//!
//! **Frontier.** A line is on the frontier when no other line has at most as
//! many starts and at most as many breach hours before a start, and fewer of
//! one of them. Lines equal on both are either all on it or all off it.

use crate::baseline::marked;
use crate::error::BacktestError;
use crate::summary::Totals;
use serde::Serialize;
use std::collections::BTreeMap;
use trigger_decision::{Budget, Policy, PolicyError, ScheduleMode, Span};

/// The most combinations one sweep may ask for; each is a whole replay.
pub const MAX_COMBINATIONS: usize = 1000;

/// A policy setting a sweep can vary, named as in the policy file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SweepKey {
    Cooldown,
    MaxStarts,
    Schedule,
    Threshold,
}

impl SweepKey {
    pub fn as_str(self) -> &'static str {
        match self {
            SweepKey::Cooldown => "cooldown",
            SweepKey::MaxStarts => "max_starts",
            SweepKey::Schedule => "schedule",
            SweepKey::Threshold => "threshold",
        }
    }

    fn parse(text: &str) -> Option<SweepKey> {
        [
            SweepKey::Cooldown,
            SweepKey::MaxStarts,
            SweepKey::Schedule,
            SweepKey::Threshold,
        ]
        .into_iter()
        .find(|key| key.as_str() == text)
    }
}

/// One value of a setting.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum SweepValue {
    Cooldown(Span),
    MaxStarts(Option<Budget>),
    Schedule(ScheduleMode),
    Threshold(f64),
}

/// A setting, with its value as the user wrote it.
#[derive(Debug, Clone, PartialEq)]
pub struct Setting {
    pub key: SweepKey,
    pub label: String,
    pub value: SweepValue,
}

/// One `--sweep` argument: a key and its values.
#[derive(Debug, Clone, PartialEq)]
pub struct SweepAxis {
    pub key: SweepKey,
    pub settings: Vec<Setting>,
}

/// One combination of values, one per axis, in the axes' order.
pub type Combination = Vec<Setting>;

/// Reads `key=v1,v2,...`.
pub fn parse_axis(argument: &str) -> Result<SweepAxis, BacktestError> {
    let refuse = |problem: String| BacktestError::Sweep {
        argument: argument.to_string(),
        problem,
    };
    let (key_text, values) = argument
        .split_once('=')
        .ok_or_else(|| refuse("expected key=v1,v2,..., like cooldown=6h,12h,1d".to_string()))?;
    let key = SweepKey::parse(key_text.trim()).ok_or_else(|| {
        refuse(format!(
            "{key_text:?} is not a sweep key; expected cooldown, max_starts, schedule or threshold"
        ))
    })?;
    let mut settings = Vec::new();
    for label in values.split(',').map(str::trim) {
        if settings.iter().any(|setting: &Setting| setting.label == label) {
            return Err(refuse(format!("{label:?} is given twice")));
        }
        let value = parse_value(key, label).map_err(refuse)?;
        settings.push(Setting {
            key,
            label: label.to_string(),
            value,
        });
    }
    Ok(SweepAxis { key, settings })
}

/// Checks one value with the policy parser, in a one-model policy.
fn parse_value(key: SweepKey, label: &str) -> Result<SweepValue, String> {
    if label.is_empty() || !label.bytes().all(|b| b.is_ascii_alphanumeric() || b"./-".contains(&b)) {
        return Err(format!(
            "{label:?} is not a value; expected values like 6h, 3/7d, none, always or 0.2"
        ));
    }
    let line = match key {
        SweepKey::MaxStarts if label == "none" => return Ok(SweepValue::MaxStarts(None)),
        SweepKey::Threshold => match label.parse::<f64>() {
            // `severe` as large as the threshold, so only the threshold's own rules apply here.
            Ok(threshold) => format!("[model.drift]\nthreshold = {threshold:?}\nsevere = {threshold:?}"),
            Err(_) => {
                return Err(format!(
                    "threshold {label:?} is not a number; expected a distance like 0.1"
                ))
            }
        },
        _ => format!("{} = \"{label}\"", key.as_str()),
    };
    let text = format!("[[model]]\nname = \"sweep\"\npipeline = \"sweep\"\n{line}\n");
    let policy = Policy::from_toml(&text).map_err(|error| match error {
        PolicyError::Field { field, problem, .. } => format!("`{field}` {problem}"),
        other => other.to_string(),
    })?;
    let Some(model) = policy.models.first() else {
        return Err("the policy parser returned no model".to_string());
    };
    Ok(match key {
        SweepKey::Cooldown => SweepValue::Cooldown(model.cooldown),
        SweepKey::MaxStarts => SweepValue::MaxStarts(model.max_starts),
        SweepKey::Schedule => SweepValue::Schedule(model.schedule),
        SweepKey::Threshold => SweepValue::Threshold(
            model
                .drift
                .as_ref()
                .and_then(|drift| drift.threshold)
                .unwrap_or_default(),
        ),
    })
}

/// Every combination of the axes' values, the first axis varying slowest.
pub fn combinations(axes: &[SweepAxis]) -> Result<Vec<Combination>, BacktestError> {
    for (index, axis) in axes.iter().enumerate() {
        if axes[..index].iter().any(|earlier| earlier.key == axis.key) {
            return Err(BacktestError::Sweep {
                argument: axis.key.as_str().to_string(),
                problem: "is swept twice; give all its values in one --sweep".to_string(),
            });
        }
    }
    let count = axes
        .iter()
        .try_fold(1usize, |count, axis| count.checked_mul(axis.settings.len()));
    if count.is_none_or(|count| count > MAX_COMBINATIONS) {
        return Err(BacktestError::Sweep {
            argument: axes
                .iter()
                .map(|axis| axis.key.as_str())
                .collect::<Vec<_>>()
                .join(" × "),
            problem: format!("asks for more than {MAX_COMBINATIONS} combinations; sweep fewer values"),
        });
    }
    let mut all: Vec<Combination> = vec![Vec::new()];
    for axis in axes {
        all = all
            .into_iter()
            .flat_map(|prefix| {
                axis.settings.iter().map(move |setting| {
                    let mut combination = prefix.clone();
                    combination.push(setting.clone());
                    combination
                })
            })
            .collect();
    }
    Ok(all)
}

/// The policy with the combination's values set on every model.
pub fn apply(policy: &Policy, combination: &Combination) -> Policy {
    let mut swept = marked(policy, format!("sweep {}", describe(combination)));
    for model in &mut swept.models {
        for setting in combination {
            match setting.value {
                SweepValue::Cooldown(cooldown) => model.cooldown = cooldown,
                SweepValue::MaxStarts(budget) => model.max_starts = budget,
                SweepValue::Schedule(mode) => model.schedule = mode,
                SweepValue::Threshold(threshold) => {
                    if let Some(drift) = &mut model.drift {
                        drift.threshold = Some(threshold);
                    }
                }
            }
        }
    }
    swept
}

/// `cooldown=6h max_starts=3/7d`.
pub fn describe(combination: &Combination) -> String {
    combination
        .iter()
        .map(|setting| format!("{}={}", setting.key.as_str(), setting.label))
        .collect::<Vec<_>>()
        .join(" ")
}

/// One combination's outcome.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SweepLine {
    /// Key to value as written, e.g. `{"cooldown": "6h"}`.
    pub settings: BTreeMap<String, String>,
    pub totals: Totals,
    /// Not dominated on starts versus breach hours before a start.
    pub frontier: bool,
}

impl SweepLine {
    pub fn new(combination: &Combination, totals: Totals) -> SweepLine {
        SweepLine {
            settings: combination
                .iter()
                .map(|setting| (setting.key.as_str().to_string(), setting.label.clone()))
                .collect(),
            totals,
            frontier: false,
        }
    }
}

/// Marks the lines no other line dominates (see the module documentation).
pub fn mark_frontier(lines: &mut [SweepLine]) {
    let points: Vec<(usize, f64)> = lines
        .iter()
        .map(|line| (line.totals.starts, line.totals.breach_hours_before_start))
        .collect();
    for (line, &(starts, hours)) in lines.iter_mut().zip(&points) {
        line.frontier = !points.iter().any(|&(other_starts, other_hours)| {
            other_starts <= starts && other_hours <= hours && (other_starts < starts || other_hours < hours)
        });
    }
}

#[cfg(test)]
mod tests;
