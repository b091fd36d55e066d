//! Drift: whether a monitoring report shows D(P_base ‖ P_curr) > ε, and how much.
//!
//! The report's statistics come in already parsed (`trigger-events` reads
//! Model Monitor's JSON); this module only compares numbers, so it is as pure
//! as the rest of the crate. `distance` holds the measures themselves.

pub mod distance;

use crate::path::Path;
use crate::policy::{DriftMethod, DriftPolicy};
use crate::time::Timestamp;
use distance::{Categorical, Distance, Numeric};
use std::collections::HashMap;

/// One feature's distribution in a `statistics.json`.
#[derive(Debug, Clone, PartialEq)]
pub enum FeatureDistribution {
    Numeric(Numeric),
    Categorical(Categorical),
}

#[derive(Debug, Clone, PartialEq)]
pub struct FeatureStatistics {
    pub name: String,
    pub distribution: FeatureDistribution,
}

/// The features of one `statistics.json`, baseline or current.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Statistics {
    pub features: Vec<FeatureStatistics>,
}

impl Statistics {
    pub fn feature(&self, name: &str) -> Option<&FeatureDistribution> {
        self.features
            .iter()
            .find(|feature| feature.name == name)
            .map(|feature| &feature.distribution)
    }

    /// Every feature by name, for many lookups; as in `feature`, the first of
    /// two features with one name is the one found.
    fn index(&self) -> HashMap<&str, &FeatureDistribution> {
        let mut index = HashMap::with_capacity(self.features.len());
        for feature in &self.features {
            index.entry(feature.name.as_str()).or_insert(&feature.distribution);
        }
        index
    }
}

/// What Model Monitor's `constraints.json` says about distribution checks.
/// The policy's own `[model.drift]` settings win over these.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct MonitorConstraints {
    pub threshold: Option<f64>,
    pub robust: Option<bool>,
    pub categorical_chi_square: Option<bool>,
}

/// A drift report: current statistics against a baseline.
#[derive(Debug, Clone, PartialEq)]
pub struct DriftReport {
    /// What identifies the report: the monitoring job, or the report object.
    pub report_id: String,
    /// The model it is for, when the source names one.
    pub model: Option<String>,
    /// Where the current statistics came from (an S3 URI).
    pub source: String,
    pub observed_at: Timestamp,
    pub baseline: Statistics,
    pub current: Statistics,
    pub constraints: Option<MonitorConstraints>,
    pub path: Path,
}

/// One feature's comparison.
#[derive(Debug, Clone, PartialEq)]
pub struct FeatureDrift {
    pub feature: String,
    pub method: DriftMethod,
    /// The distance (for chi-square: Cramér's V).
    pub distance: f64,
    /// For chi-square: the Benjamini-Hochberg adjusted p-value.
    pub p_value: Option<f64>,
    pub drifted: bool,
    /// Why a degenerate input gave the value it did, or why the feature was not compared.
    pub note: Option<String>,
}

/// The verdict on a report for one model's drift policy.
#[derive(Debug, Clone, PartialEq)]
pub struct Assessment {
    /// Every compared feature, largest distance first.
    pub features: Vec<FeatureDrift>,
    /// The ε used for distance methods.
    pub threshold: f64,
    /// Drifted critical features.
    pub critical: Vec<String>,
    pub severe: bool,
}

/// The significance level for chi-square when the policy names none.
const DEFAULT_ALPHA: f64 = 0.05;
const DEFAULT_THRESHOLD: f64 = 0.1;

impl Assessment {
    pub fn drifted(&self) -> impl Iterator<Item = &FeatureDrift> {
        self.features.iter().filter(|feature| feature.drifted)
    }

    pub fn drifted_count(&self) -> usize {
        self.drifted().count()
    }

    /// The largest distance among drifted features (0 when none drifted).
    pub fn score(&self) -> f64 {
        self.drifted().map(|feature| feature.distance).fold(0.0, f64::max)
    }

    /// `sqft psi 0.42, zipcode psi 0.35` for the top `limit` drifted features.
    pub fn top(&self, limit: usize) -> String {
        let mut listed: Vec<String> = self
            .drifted()
            .take(limit)
            .map(|feature| {
                format!(
                    "{} {} {:.3}",
                    feature.feature,
                    feature.method.as_str(),
                    feature.distance
                )
            })
            .collect();
        let more = self.drifted_count().saturating_sub(limit);
        if more > 0 {
            listed.push(format!("and {more} more"));
        }
        listed.join(", ")
    }

    /// Drifted feature names, comma-separated, cut at a name boundary to fit `max_chars`.
    pub fn drifted_features(&self, max_chars: usize) -> String {
        let mut list = String::new();
        for feature in self.drifted() {
            let extra = if list.is_empty() { 0 } else { 1 } + feature.feature.chars().count();
            if list.chars().count() + extra > max_chars {
                break;
            }
            if !list.is_empty() {
                list.push(',');
            }
            list.push_str(&feature.feature);
        }
        list
    }
}

/// Compares the report's current statistics with its baseline under `policy`.
pub fn assess(report: &DriftReport, policy: &DriftPolicy) -> Assessment {
    let constraints = report.constraints.clone().unwrap_or_default();
    let threshold = policy.threshold.or(constraints.threshold).unwrap_or(DEFAULT_THRESHOLD);
    let alpha = match policy.method {
        Some(DriftMethod::ChiSquare) => policy.threshold.unwrap_or(DEFAULT_ALPHA),
        _ => DEFAULT_ALPHA,
    };
    let robust = policy.robust.or(constraints.robust).unwrap_or(true);

    let names: Vec<String> = if policy.features.iter().any(|name| name == "*") {
        report
            .baseline
            .features
            .iter()
            .map(|feature| feature.name.clone())
            .collect()
    } else {
        policy.features.clone()
    };
    // Looked up by name once per feature; a report may hold thousands.
    let (baseline_index, current_index) = (report.baseline.index(), report.current.index());
    let mut features = Vec::with_capacity(names.len());
    for name in names {
        let (baseline, current) = (
            baseline_index.get(name.as_str()).copied(),
            current_index.get(name.as_str()).copied(),
        );
        let compared = match (baseline, current) {
            (Some(baseline), Some(current)) => compare(baseline, current, policy.method, &constraints, robust),
            (None, _) => Err("missing from the baseline statistics"),
            (_, None) => Err("missing from the current statistics"),
        };
        features.push(match compared {
            Ok((method, distance)) => FeatureDrift {
                feature: name,
                method,
                drifted: method != DriftMethod::ChiSquare && distance.value > threshold,
                distance: distance.value,
                p_value: distance.p_value,
                note: distance.note.map(str::to_string),
            },
            Err(why) => FeatureDrift {
                feature: name,
                method: policy.method.unwrap_or(DriftMethod::Linf),
                distance: 0.0,
                p_value: None,
                drifted: false,
                note: Some(why.to_string()),
            },
        });
    }

    // Many features tested at once: control the false discovery rate.
    let tested: Vec<usize> = (0..features.len()).filter(|&i| features[i].p_value.is_some()).collect();
    let raw: Vec<f64> = tested.iter().map(|&i| features[i].p_value.unwrap_or(1.0)).collect();
    for (&i, adjusted) in tested.iter().zip(distance::benjamini_hochberg(&raw)) {
        features[i].p_value = Some(adjusted);
        features[i].drifted = adjusted < alpha;
    }

    features.sort_by(|a, b| {
        b.distance
            .total_cmp(&a.distance)
            .then_with(|| a.feature.cmp(&b.feature))
    });
    let critical: Vec<String> = features
        .iter()
        .filter(|feature| feature.drifted && policy.critical.contains(&feature.feature))
        .map(|feature| feature.feature.clone())
        .collect();
    let mut assessment = Assessment {
        features,
        threshold,
        critical,
        severe: false,
    };
    assessment.severe =
        assessment.drifted_count() > 0 && (assessment.score() >= policy.severe || !assessment.critical.is_empty());
    assessment
}

/// One feature, by the policy's method, else by what `constraints.json` chose.
fn compare(
    baseline: &FeatureDistribution,
    current: &FeatureDistribution,
    method: Option<DriftMethod>,
    constraints: &MonitorConstraints,
    robust: bool,
) -> Result<(DriftMethod, Distance), &'static str> {
    use FeatureDistribution::{Categorical as Cat, Numeric as Num};
    match (baseline, current) {
        (Num(baseline), Num(current)) => {
            let method = method.unwrap_or(DriftMethod::Linf);
            let distance = match method {
                DriftMethod::Linf => distance::linf_numeric(baseline, current, robust),
                DriftMethod::Psi => distance::psi_numeric(baseline, current),
                DriftMethod::Js => distance::js_numeric(baseline, current),
                DriftMethod::Wasserstein => distance::wasserstein_numeric(baseline, current),
                DriftMethod::ChiSquare => distance::chi_square_numeric(baseline, current),
            };
            Ok((method, distance))
        }
        (Cat(baseline), Cat(current)) => {
            let method = match method {
                // Wasserstein needs an order; categories have none, so use Jensen-Shannon as Evidently does.
                Some(DriftMethod::Wasserstein) => DriftMethod::Js,
                Some(method) => method,
                None if constraints.categorical_chi_square == Some(true) => DriftMethod::ChiSquare,
                None => DriftMethod::Linf,
            };
            let distance = match method {
                DriftMethod::Psi => distance::psi_categorical(baseline, current),
                DriftMethod::Js | DriftMethod::Wasserstein => distance::js_categorical(baseline, current),
                DriftMethod::ChiSquare => distance::chi_square_categorical(baseline, current),
                DriftMethod::Linf => distance::linf_categorical(baseline, current),
            };
            Ok((method, distance))
        }
        _ => Err("numerical on one side and categorical on the other"),
    }
}
