//! Writing a profile as Model Monitor's `statistics.json`.
//!
//! The document has the fields the drift function reads (each feature's
//! name; numerical KLL buckets and `num_present` and `std_dev`; categorical
//! counts) and the cheap ones around them that Model Monitor also writes
//! (`version`, `dataset.item_count`, `inferred_type`, `num_missing`, `mean`,
//! `sum`, `min`, `max`, `distinct_count`), so existing readers of Model
//! Monitor's reports read it too. Not written: the KLL sketch's own data
//! (`distribution.kll.sketch`), which no reader here uses and whose Deequ
//! layout is not DataSketches'.
//!
//! Numerical buckets are equal-width between the feature's exact min and max,
//! as Model Monitor writes them: 10 by default, `buckets = N` for finer ones.
//! Each bucket holds the values from its lower bound up to, not including,
//! its upper bound; the last one includes the max. Counts come from the
//! quantile sketch, within its rank error.

use crate::error::FormatError;
use crate::profile::{CategoricalProfile, FeatureSummary, NumericProfile, Profile};
use serde::Serialize;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Statistics {
    pub version: f64,
    pub dataset: Dataset,
    pub features: Vec<FeatureStatistics>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Dataset {
    pub item_count: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FeatureStatistics {
    pub name: String,
    /// `Integral`, `Fractional` or `String`, as Model Monitor infers them.
    pub inferred_type: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub numerical_statistics: Option<NumericalStatistics>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub string_statistics: Option<StringStatistics>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Common {
    pub num_present: u64,
    pub num_missing: u64,
}

/// Absent statistics (no value present) are left out, since JSON has no NaN.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NumericalStatistics {
    pub common: Common,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mean: Option<f64>,
    pub sum: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub std_dev: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub min: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max: Option<f64>,
    pub distribution: NumericalDistribution,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NumericalDistribution {
    pub kll: Kll,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Kll {
    pub buckets: Vec<KllBucket>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct KllBucket {
    pub lower_bound: f64,
    pub upper_bound: f64,
    pub count: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StringStatistics {
    pub common: Common,
    /// Exact while the categories are counted exactly; afterwards the number
    /// the frequent-items sketch still holds, a lower bound.
    pub distinct_count: u64,
    pub distribution: StringDistribution,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StringDistribution {
    pub categorical: CategoricalDistribution,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CategoricalDistribution {
    pub buckets: Vec<CategoryBucket>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CategoryBucket {
    pub value: String,
    pub count: u64,
}

impl Statistics {
    /// The statistics of a profile, with `buckets` equal-width buckets per numerical feature.
    pub fn of(profile: &Profile, buckets: usize) -> Statistics {
        let features = profile
            .features
            .iter()
            .map(|feature| match &feature.summary {
                FeatureSummary::Numeric(numeric) => FeatureStatistics {
                    name: feature.name.clone(),
                    inferred_type: if numeric.integral { "Integral" } else { "Fractional" },
                    numerical_statistics: Some(numerical(numeric, equal_width_buckets(numeric, buckets))),
                    string_statistics: None,
                },
                FeatureSummary::Categorical(categorical) => FeatureStatistics {
                    name: feature.name.clone(),
                    inferred_type: "String",
                    numerical_statistics: None,
                    string_statistics: Some(string(categorical)),
                },
            })
            .collect();
        Statistics {
            version: 0.0,
            dataset: Dataset {
                item_count: profile.rows,
            },
            features,
        }
    }

    /// The document as `statistics.json` text (compact: a 1,000-feature document is 2 MB pretty-printed).
    pub fn to_json(&self) -> Result<String, FormatError> {
        serde_json::to_string(self).map_err(|error| FormatError::Encode {
            kind: "statistics.json",
            detail: error.to_string(),
        })
    }
}

pub(crate) fn numerical(numeric: &NumericProfile, buckets: Vec<KllBucket>) -> NumericalStatistics {
    NumericalStatistics {
        common: Common {
            num_present: numeric.present,
            num_missing: numeric.missing,
        },
        mean: numeric.mean(),
        sum: numeric.sum(),
        std_dev: numeric.std_dev(),
        min: numeric.min(),
        max: numeric.max(),
        distribution: NumericalDistribution { kll: Kll { buckets } },
    }
}

/// The edges of `count` equal-width buckets from min to max, without
/// repeats: one bucket (two edges) when min and max are equal or so close
/// that the edges coincide; none for no values.
pub(crate) fn bucket_edges(numeric: &NumericProfile, count: usize) -> Vec<f64> {
    let (Some(min), Some(max)) = (numeric.min(), numeric.max()) else {
        return Vec::new();
    };
    let count = count.max(1);
    let mut edges: Vec<f64> = (0..count)
        .map(|index| min + (max - min) * (index as f64 / count as f64))
        .chain(std::iter::once(max))
        .collect();
    edges.dedup_by(|later, earlier| *later <= *earlier);
    if edges.len() < 2 {
        edges = vec![min, max];
    }
    edges
}

/// Buckets between consecutive edges with their counts.
pub(crate) fn buckets_of(edges: &[f64], counts: &[u64]) -> Vec<KllBucket> {
    edges
        .windows(2)
        .zip(counts)
        .map(|(bounds, count)| KllBucket {
            lower_bound: bounds[0],
            upper_bound: bounds[1],
            count: *count,
        })
        .collect()
}

/// `count` buckets of equal width from min to max, counted by the profile's sketch.
pub fn equal_width_buckets(numeric: &NumericProfile, count: usize) -> Vec<KllBucket> {
    let edges = bucket_edges(numeric, count);
    if edges.len() < 2 {
        return Vec::new();
    }
    let inner = &edges[1..edges.len() - 1];
    let below: Vec<u64> = std::iter::once(0)
        .chain(numeric.sketch().counts_below(inner, false))
        .chain(std::iter::once(numeric.present))
        .collect();
    let counts: Vec<u64> = below.windows(2).map(|pair| pair[1].saturating_sub(pair[0])).collect();
    buckets_of(&edges, &counts)
}

pub(crate) fn string(categorical: &CategoricalProfile) -> StringStatistics {
    let categories = categorical.categories();
    StringStatistics {
        common: Common {
            num_present: categorical.present,
            num_missing: categorical.missing,
        },
        distinct_count: categories.len() as u64,
        distribution: StringDistribution {
            categorical: CategoricalDistribution {
                buckets: categories
                    .into_iter()
                    .map(|(value, count)| CategoryBucket { value, count })
                    .collect(),
            },
        },
    }
}
