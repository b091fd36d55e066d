//! Per-feature profiles that merge exactly.
//!
//! A [`Profile`] describes the rows of one capture object (a *partial*
//! profile) or of any set of them: per numerical feature the count, missing
//! values, min, max, exact sum and sum of squares and a KLL quantile sketch;
//! per categorical feature exact category counts up to
//! [`EXACT_CATEGORIES`], then a frequent-items sketch. Merging profiles in
//! any order or grouping gives the counts, min, max and sums of one pass over
//! all rows exactly, and quantiles and category counts within the sketches'
//! documented error.

use crate::error::MergeError;
use crate::exact_sum::ExactSum;
use crate::settings::{FeatureKind, MonitorSettings};
use crate::sketch::{FrequentItems, QuantileSketch};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

/// Categories counted exactly per feature before the frequent-items sketch takes over.
pub const EXACT_CATEGORIES: usize = 1000;

/// One numerical feature's profile. Its fields, like [`Profile`]'s, are
/// also read in their stored order by `window`'s views: change both together
/// (tests/profile.rs checks that the two paths agree).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NumericProfile {
    pub present: u64,
    /// Absent, empty, null or non-finite values.
    pub missing: u64,
    /// `+inf` until a value is present.
    min: f64,
    max: f64,
    sum: ExactSum,
    sum_of_squares: ExactSum,
    /// Every present value was a whole number (Model Monitor's `Integral`).
    pub integral: bool,
    sketch: QuantileSketch,
}

impl Default for NumericProfile {
    fn default() -> Self {
        NumericProfile {
            present: 0,
            missing: 0,
            min: f64::INFINITY,
            max: f64::NEG_INFINITY,
            sum: ExactSum::default(),
            sum_of_squares: ExactSum::default(),
            integral: true,
            sketch: QuantileSketch::default(),
        }
    }
}

impl NumericProfile {
    /// Adds one row's value; `None` and non-finite numbers count as missing.
    pub fn add(&mut self, value: Option<f64>) {
        let Some(value) = value.filter(|value| value.is_finite()) else {
            self.missing += 1;
            return;
        };
        self.present += 1;
        // total_cmp orders -0.0 below 0.0, so min and max do not depend on the order of arrival.
        if value.total_cmp(&self.min).is_lt() {
            self.min = value;
        }
        if value.total_cmp(&self.max).is_gt() {
            self.max = value;
        }
        self.sum.add(value);
        self.sum_of_squares.add(value * value);
        self.integral &= is_whole(value);
        self.sketch.update(value);
    }

    /// Adds many rows' values at once, as `add(Some(value))` on each would:
    /// the readers collect a feature's values and hand them over in blocks,
    /// which the sketch takes much faster than one by one.
    pub fn add_all(&mut self, values: &[f64]) {
        if !values.iter().all(|value| value.is_finite()) {
            values.iter().for_each(|value| self.add(Some(*value)));
            return;
        }
        // The block's bounds and integrality in locals, which stay in registers.
        let (mut min, mut max, mut integral) = (self.min, self.max, self.integral);
        for value in values {
            if value.total_cmp(&min).is_lt() {
                min = *value;
            }
            if value.total_cmp(&max).is_gt() {
                max = *value;
            }
            integral &= is_whole(*value);
        }
        self.sum.add_all(values, |value| value);
        self.sum_of_squares.add_all(values, |value| value * value);
        self.merge_counts(values.len() as u64, 0, (min, max), integral);
        self.sketch.update_all(values);
    }

    pub fn merge(&mut self, other: &NumericProfile) {
        self.merge_counts(other.present, other.missing, (other.min, other.max), other.integral);
        self.sum.merge(&other.sum);
        self.sum_of_squares.merge(&other.sum_of_squares);
        self.sketch.merge(&other.sketch);
    }

    pub fn min(&self) -> Option<f64> {
        (self.present > 0).then_some(self.min)
    }

    pub fn max(&self) -> Option<f64> {
        (self.present > 0).then_some(self.max)
    }

    pub fn sum(&self) -> f64 {
        self.sum.value()
    }

    pub fn sum_of_squares(&self) -> f64 {
        self.sum_of_squares.value()
    }

    pub fn mean(&self) -> Option<f64> {
        (self.present > 0).then(|| self.sum() / self.present as f64)
    }

    /// The population standard deviation, as Model Monitor reports it.
    pub fn std_dev(&self) -> Option<f64> {
        let mean = self.mean()?;
        let variance = self.sum_of_squares() / self.present as f64 - mean * mean;
        Some(variance.max(0.0).sqrt())
    }

    pub fn sketch(&self) -> &QuantileSketch {
        &self.sketch
    }

    /// Merges another profile's counts, min, max and integrality, not its
    /// sums or sketch: the window's statistics merge those from their stored
    /// form ([`crate::window`]).
    pub(crate) fn merge_counts(&mut self, present: u64, missing: u64, (min, max): (f64, f64), integral: bool) {
        self.present += present;
        self.missing += missing;
        if min.total_cmp(&self.min).is_lt() {
            self.min = min;
        }
        if max.total_cmp(&self.max).is_gt() {
            self.max = max;
        }
        self.integral &= integral;
    }

    /// The exact sums, for merging stored ones in.
    pub(crate) fn sums_mut(&mut self) -> (&mut ExactSum, &mut ExactSum) {
        (&mut self.sum, &mut self.sum_of_squares)
    }
}

/// Whether a finite value is a whole number, as `value.fract() == 0.0` says,
/// but without a call to `trunc` (x86-64's baseline has no instruction for
/// it): every f64 of magnitude 2^52 or more is whole, and below that the
/// conversion to i64 truncates exactly.
fn is_whole(value: f64) -> bool {
    value.abs() >= 4_503_599_627_370_496.0 || (value as i64) as f64 == value
}

/// Category counts: exact while there are few categories, then a sketch.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum CategoryCounts {
    Exact(HashMap<String, u64>),
    Frequent(FrequentItems),
}

/// One categorical feature's profile.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CategoricalProfile {
    pub present: u64,
    pub missing: u64,
    pub counts: CategoryCounts,
}

impl Default for CategoricalProfile {
    fn default() -> Self {
        CategoricalProfile {
            present: 0,
            missing: 0,
            counts: CategoryCounts::Exact(HashMap::new()),
        }
    }
}

impl CategoricalProfile {
    /// Adds one row's value; `None` and the empty string count as missing.
    pub fn add(&mut self, value: Option<&str>) {
        match value {
            Some(category) if !category.is_empty() => {
                self.present += 1;
                self.count(category, 1);
            }
            _ => self.missing += 1,
        }
    }

    fn count(&mut self, category: &str, count: u64) {
        match &mut self.counts {
            CategoryCounts::Exact(counts) => {
                if let Some(seen) = counts.get_mut(category) {
                    *seen += count;
                    return;
                }
                counts.insert(category.to_string(), count);
                if counts.len() > EXACT_CATEGORIES {
                    self.switch_to_sketch();
                }
            }
            CategoryCounts::Frequent(sketch) => sketch.update(category, count),
        }
    }

    fn switch_to_sketch(&mut self) {
        if let CategoryCounts::Exact(counts) = &self.counts {
            let mut sketch = FrequentItems::default();
            counts
                .iter()
                .for_each(|(category, count)| sketch.update(category, *count));
            self.counts = CategoryCounts::Frequent(sketch);
        }
    }

    pub fn merge(&mut self, other: &CategoricalProfile) {
        self.present += other.present;
        self.missing += other.missing;
        match &other.counts {
            CategoryCounts::Exact(counts) => counts.iter().for_each(|(category, count)| self.count(category, *count)),
            CategoryCounts::Frequent(other_sketch) => {
                self.switch_to_sketch();
                if let CategoryCounts::Frequent(sketch) = &mut self.counts {
                    sketch.merge(other_sketch);
                }
            }
        }
    }

    /// Every category with its count (estimated once sketched), largest first, then by name.
    pub fn categories(&self) -> Vec<(String, u64)> {
        let mut categories: Vec<(String, u64)> = match &self.counts {
            CategoryCounts::Exact(counts) => counts.iter().map(|(name, count)| (name.clone(), *count)).collect(),
            CategoryCounts::Frequent(sketch) => sketch.estimates(),
        };
        categories.sort_by(|left, right| right.1.cmp(&left.1).then_with(|| left.0.cmp(&right.0)));
        categories
    }

    /// Whether the counts are exact (no sketch yet).
    pub fn is_exact(&self) -> bool {
        matches!(self.counts, CategoryCounts::Exact(_))
    }
}

/// One feature's profile, of the kind its settings say.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum FeatureSummary {
    Numeric(NumericProfile),
    Categorical(CategoricalProfile),
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FeatureProfile {
    pub name: String,
    pub summary: FeatureSummary,
}

/// The profile of a set of rows: one per capture object when written, or any
/// merge of them.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Profile {
    /// Capture records read (one record may hold a batch of rows).
    pub records: u64,
    /// Rows profiled: the `item_count` of `statistics.json`.
    pub rows: u64,
    /// Lines that could not be profiled (see [`crate::Malformed`]).
    pub malformed: u64,
    /// Records with no captured output, so no prediction to join.
    pub records_without_output: u64,
    pub features: Vec<FeatureProfile>,
}

impl Profile {
    /// An empty profile of the settings' features.
    pub fn new(settings: &MonitorSettings) -> Profile {
        let features = settings
            .features
            .iter()
            .map(|feature| FeatureProfile {
                name: feature.name.clone(),
                summary: match feature.kind {
                    FeatureKind::Numerical => FeatureSummary::Numeric(NumericProfile::default()),
                    FeatureKind::Categorical => FeatureSummary::Categorical(CategoricalProfile::default()),
                },
            })
            .collect();
        Profile {
            features,
            ..Profile::default()
        }
    }

    /// Adds `other` into this profile. Both must describe the same features in the same order.
    pub fn merge(&mut self, other: &Profile) -> Result<(), MergeError> {
        let names = |profile: &Profile| -> Vec<String> { profile.features.iter().map(|f| f.name.clone()).collect() };
        if names(self) != names(other) {
            return Err(MergeError::DifferentFeatures {
                left: names(self).join(", "),
                right: names(other).join(", "),
            });
        }
        for (mine, theirs) in self.features.iter().zip(&other.features) {
            let same_kind = matches!(
                (&mine.summary, &theirs.summary),
                (FeatureSummary::Numeric(_), FeatureSummary::Numeric(_))
                    | (FeatureSummary::Categorical(_), FeatureSummary::Categorical(_))
            );
            if !same_kind {
                return Err(MergeError::DifferentKinds {
                    feature: mine.name.clone(),
                });
            }
        }
        for (mine, theirs) in self.features.iter_mut().zip(&other.features) {
            match (&mut mine.summary, &theirs.summary) {
                (FeatureSummary::Numeric(mine), FeatureSummary::Numeric(theirs)) => mine.merge(theirs),
                (FeatureSummary::Categorical(mine), FeatureSummary::Categorical(theirs)) => mine.merge(theirs),
                _ => {}
            }
        }
        self.records += other.records;
        self.rows += other.rows;
        self.malformed += other.malformed;
        self.records_without_output += other.records_without_output;
        Ok(())
    }

    /// Merges any number of profiles; `None` when there are none.
    pub fn merge_all<'a>(profiles: impl IntoIterator<Item = &'a Profile>) -> Result<Option<Profile>, MergeError> {
        let mut profiles = profiles.into_iter();
        let Some(first) = profiles.next() else { return Ok(None) };
        let mut merged = first.clone();
        for profile in profiles {
            merged.merge(profile)?;
        }
        Ok(Some(merged))
    }

    pub fn feature(&self, name: &str) -> Option<&FeatureSummary> {
        self.features
            .iter()
            .find(|feature| feature.name == name)
            .map(|feature| &feature.summary)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn whole_numbers_are_those_without_a_fraction() {
        let two_52 = 4_503_599_627_370_496.0;
        for value in [
            0.0,
            -0.0,
            0.5,
            -0.5,
            3.0,
            -3.0,
            5e-324,
            two_52 - 0.5,
            two_52,
            two_52 + 1.0,
            1e300,
            -1e300,
            f64::MAX,
            f64::MIN,
            9.3e18,
            -9.3e18,
        ] {
            assert_eq!(is_whole(value), value.fract() == 0.0, "{value}");
        }
    }

    proptest! {
        #[test]
        fn whole_numbers_are_those_without_a_fraction_for_any_finite_value(value in any::<f64>()) {
            prop_assume!(value.is_finite());
            prop_assert_eq!(is_whole(value), value.fract() == 0.0);
        }
    }
}
