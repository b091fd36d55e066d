//! The `[model.monitor]` section of a model's policy, interpreted.
//!
//! The policy parses the TOML into a [`MonitorSection`] (plain strings, as
//! written); [`MonitorSettings::from_section`] checks and interprets the
//! parts that say how to read captures: the problem kind, the features and
//! which of them are categorical, where the prediction is in the output, the
//! binary threshold, the window, the label delay and the number of buckets.
//! Every error names the field.

use crate::error::SettingsError;
use crate::time::Span;
use serde::{Deserialize, Serialize};

/// The bucket count Model Monitor writes (equal-width, between min and max).
pub const DEFAULT_BUCKETS: usize = 10;
/// Finer buckets than this only make `statistics.json` larger: the quantile
/// sketch's rank error (under 1%) already blurs anything finer than a few hundred.
pub const MAX_BUCKETS: usize = 1000;
pub const DEFAULT_THRESHOLD: f64 = 0.5;
pub const DEFAULT_WINDOW: Span = Span::from_secs(3600);
pub const DEFAULT_LABEL_DELAY: Span = Span::from_secs(6 * 3600);

/// `[model.monitor]` as written in the policy, before interpretation.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MonitorSection {
    /// The SageMaker endpoint whose captures are read.
    pub endpoint: String,
    /// Where Data Capture writes (`DestinationS3Uri`, with the endpoint's prefix).
    pub captures: String,
    /// Where the team writes ground-truth labels; no labels, no quality metrics.
    #[serde(default)]
    pub labels: Option<String>,
    /// `regression`, `binary` or `multiclass`.
    pub problem: String,
    /// Names of the input's CSV columns, or of its JSON fields, in order.
    pub features: Vec<String>,
    #[serde(default)]
    pub categorical: Vec<String>,
    /// A CSV column of the output (`"0"`) or a JSON pointer (`"/predictions/0/score"`).
    #[serde(default)]
    pub prediction: Option<String>,
    #[serde(default)]
    pub threshold: Option<f64>,
    #[serde(default)]
    pub window: Option<String>,
    #[serde(default)]
    pub label_delay: Option<String>,
    #[serde(default)]
    pub buckets: Option<i64>,
}

/// What the model predicts, which decides how labels are read and which metrics apply.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Problem {
    Regression,
    Binary,
    Multiclass,
}

impl Problem {
    pub fn name(self) -> &'static str {
        match self {
            Problem::Regression => "regression",
            Problem::Binary => "binary",
            Problem::Multiclass => "multiclass",
        }
    }

    fn parse(text: &str) -> Result<Problem, SettingsError> {
        match text.trim().to_ascii_lowercase().as_str() {
            "regression" => Ok(Problem::Regression),
            "binary" => Ok(Problem::Binary),
            "multiclass" => Ok(Problem::Multiclass),
            _ => Err(SettingsError::Invalid {
                field: "problem",
                value: text.to_string(),
                expected: "use \"regression\", \"binary\" or \"multiclass\"",
            }),
        }
    }
}

/// How a feature is profiled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum FeatureKind {
    /// Numbers: count, missing, min, max, sums and a quantile sketch.
    Numerical,
    /// Strings: category counts.
    Categorical,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Feature {
    pub name: String,
    pub kind: FeatureKind,
}

/// Where the prediction is in the endpoint's output.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum PredictionField {
    /// A column of a CSV output (0-based); for a JSON output, the element of
    /// an array (a bare number or string is column 0).
    Column(usize),
    /// A JSON pointer (RFC 6901) into a JSON output. A segment `*` stands for
    /// the row's index in a batch: `/predictions/*/score`.
    Pointer(String),
}

impl PredictionField {
    /// Parses `"0"` (a column) or `"/predictions/0/score"` (a JSON pointer).
    pub fn parse(text: &str) -> Result<PredictionField, SettingsError> {
        let invalid = || SettingsError::Invalid {
            field: "prediction",
            value: text.to_string(),
            expected: "use a CSV column number such as \"0\", or a JSON pointer such as \"/predictions/0/score\"",
        };
        if let Some(segments) = text.strip_prefix('/') {
            // An empty segment ("//") or a trailing slash points at a key "" that no model writes.
            if segments.split('/').any(str::is_empty) {
                return Err(invalid());
            }
            return Ok(PredictionField::Pointer(text.to_string()));
        }
        let trimmed = text.trim();
        if trimmed.is_empty() || !trimmed.bytes().all(|byte| byte.is_ascii_digit()) {
            return Err(invalid());
        }
        trimmed.parse().map(PredictionField::Column).map_err(|_| invalid())
    }

    /// Whether the pointer names a batch's rows with `*`.
    pub fn is_per_row(&self) -> bool {
        matches!(self, PredictionField::Pointer(pointer) if pointer.split('/').any(|segment| segment == "*"))
    }
}

/// `[model.monitor]`, checked and interpreted.
#[derive(Debug, Clone, PartialEq)]
pub struct MonitorSettings {
    pub endpoint: String,
    pub captures: String,
    pub labels: Option<String>,
    pub problem: Problem,
    /// In the order of the input's columns.
    pub features: Vec<Feature>,
    pub prediction: PredictionField,
    /// Binary problems: a score at or above it predicts the positive class.
    pub threshold: f64,
    pub window: Span,
    pub label_delay: Span,
    /// Equal-width buckets per numerical feature in `statistics.json`.
    pub buckets: usize,
}

impl MonitorSettings {
    /// Interprets the section as written; the first problem found is the error.
    pub fn from_section(section: &MonitorSection) -> Result<MonitorSettings, SettingsError> {
        non_empty(
            "endpoint",
            &section.endpoint,
            "name the SageMaker endpoint whose captures are read",
        )?;
        non_empty(
            "captures",
            &section.captures,
            "give the Data Capture destination, s3://bucket/prefix/",
        )?;
        let problem = Problem::parse(&section.problem)?;
        let features = features(&section.features, &section.categorical)?;
        let prediction = PredictionField::parse(section.prediction.as_deref().unwrap_or("0"))?;
        let threshold = match (problem, section.threshold) {
            (Problem::Binary, Some(threshold)) if threshold.is_finite() => threshold,
            (Problem::Binary, Some(threshold)) => {
                return Err(SettingsError::Invalid {
                    field: "threshold",
                    value: threshold.to_string(),
                    expected: "use a finite score, such as 0.5",
                })
            }
            (Problem::Binary, None) => DEFAULT_THRESHOLD,
            (other, Some(_)) => return Err(SettingsError::ThresholdWithoutBinary { problem: other.name() }),
            (_, None) => DEFAULT_THRESHOLD,
        };
        Ok(MonitorSettings {
            endpoint: section.endpoint.clone(),
            captures: section.captures.clone(),
            labels: section.labels.clone(),
            problem,
            features,
            prediction,
            threshold,
            window: span("window", section.window.as_deref(), DEFAULT_WINDOW)?,
            label_delay: span("label_delay", section.label_delay.as_deref(), DEFAULT_LABEL_DELAY)?,
            buckets: buckets(section.buckets)?,
        })
    }

    pub fn feature_names(&self) -> impl Iterator<Item = &str> {
        self.features.iter().map(|feature| feature.name.as_str())
    }
}

fn non_empty(field: &'static str, value: &str, expected: &'static str) -> Result<(), SettingsError> {
    if value.trim().is_empty() {
        return Err(SettingsError::Invalid {
            field,
            value: value.to_string(),
            expected,
        });
    }
    Ok(())
}

fn features(names: &[String], categorical: &[String]) -> Result<Vec<Feature>, SettingsError> {
    if names.is_empty() {
        return Err(SettingsError::Invalid {
            field: "features",
            value: "[]".to_string(),
            expected: "list the input's features in column order, e.g. [\"sqft\", \"bedrooms\"]",
        });
    }
    let mut features: Vec<Feature> = Vec::with_capacity(names.len());
    for name in names {
        non_empty("features", name, "every feature needs a non-empty name")?;
        if features.iter().any(|feature| &feature.name == name) {
            return Err(SettingsError::DuplicateFeature { name: name.clone() });
        }
        features.push(Feature {
            name: name.clone(),
            kind: FeatureKind::Numerical,
        });
    }
    for name in categorical {
        let feature = features
            .iter_mut()
            .find(|feature| &feature.name == name)
            .ok_or_else(|| SettingsError::UnknownCategorical { name: name.clone() })?;
        feature.kind = FeatureKind::Categorical;
    }
    Ok(features)
}

fn span(field: &'static str, text: Option<&str>, default: Span) -> Result<Span, SettingsError> {
    let Some(text) = text else { return Ok(default) };
    match Span::parse(text) {
        Some(span) if span > Span::ZERO || field == "label_delay" => Ok(span),
        _ => Err(SettingsError::Invalid {
            field,
            value: text.to_string(),
            expected: "use a whole number and a unit s, m, h or d, such as \"1h\" (a window cannot be 0)",
        }),
    }
}

fn buckets(requested: Option<i64>) -> Result<usize, SettingsError> {
    match requested {
        None => Ok(DEFAULT_BUCKETS),
        Some(count) if (2..=MAX_BUCKETS as i64).contains(&count) => Ok(count as usize),
        Some(count) => Err(SettingsError::Invalid {
            field: "buckets",
            value: count.to_string(),
            expected: "use 2 to 1000 (Model Monitor writes 10)",
        }),
    }
}
