//! Model-quality metrics from joined (prediction, label) pairs, as
//! scikit-learn computes them: regression `mae`, `mse`, `rmse`, `r2`; binary
//! `accuracy`, `precision`, `recall`, `f1`, `auc`; multiclass `accuracy`,
//! `weighted_f1`; and `count` for each.
//!
//! An accumulator takes pairs one at a time and merges with another, so the
//! join can run shard by shard and add up. Everything but the AUC is kept as
//! counts and exact sums, whatever the number of pairs. The AUC needs the
//! scores: up to [`EXACT_AUC_SCORES`] pairs it keeps them all and is exact
//! (ties count one half, as in scikit-learn's `roc_auc_score`); beyond that
//! it keeps one KLL sketch of the positives' scores and one of the
//! negatives', with k = [`AUC_SKETCH_K`], and integrates the ROC curve
//! between 1,000 quantiles of each: its error is then within about 0.3% of
//! the AUC scale (each class's rank error, 0.25%, plus half a quantile step).

use crate::error::MergeError;
use crate::exact_sum::ExactSum;
use crate::outcome::Outcome;
use crate::settings::Problem;
use crate::sketch::QuantileSketch;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

/// Scores kept exactly for the AUC before sketching (16 bytes each: 3.2 MB).
pub const EXACT_AUC_SCORES: usize = 200_000;
/// KLL accuracy of the AUC's score sketches: 0.25% rank error at 99% confidence.
pub const AUC_SKETCH_K: u16 = 1024;
const AUC_QUANTILES: usize = 1000;

/// The metrics of one window, named as CloudWatch and Model Monitor name them.
/// With `count` 0 every metric is absent: no pairs is not a perfect model.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct QualityReport {
    pub count: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mae: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mse: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rmse: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub r2: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub accuracy: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub precision: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub recall: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub f1: Option<f64>,
    /// Absent when the labels hold one class only (scikit-learn refuses then).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub auc: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub weighted_f1: Option<f64>,
}

/// Running sums for a regression.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct RegressionQuality {
    count: u64,
    absolute_errors: ExactSum,
    squared_errors: ExactSum,
    labels: ExactSum,
    squared_labels: ExactSum,
}

/// Confusion counts at the threshold, and the scores for the AUC.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BinaryQuality {
    threshold: f64,
    true_positives: u64,
    false_positives: u64,
    true_negatives: u64,
    false_negatives: u64,
    scores: Scores,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
enum Scores {
    /// (score, label is positive)
    Exact(Vec<(f64, bool)>),
    Sketched {
        positives: QuantileSketch,
        negatives: QuantileSketch,
    },
}

/// Counts of (label, predicted) class pairs.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct MulticlassQuality {
    confusion: HashMap<(String, String), u64>,
}

/// Metrics being accumulated for one problem kind.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum QualityAccumulator {
    Regression(RegressionQuality),
    Binary(BinaryQuality),
    Multiclass(MulticlassQuality),
}

impl QualityAccumulator {
    /// `threshold` is used by binary problems only.
    pub fn new(problem: Problem, threshold: f64) -> QualityAccumulator {
        match problem {
            Problem::Regression => QualityAccumulator::Regression(RegressionQuality::default()),
            Problem::Binary => QualityAccumulator::Binary(BinaryQuality {
                threshold,
                true_positives: 0,
                false_positives: 0,
                true_negatives: 0,
                false_negatives: 0,
                scores: Scores::Exact(Vec::new()),
            }),
            Problem::Multiclass => QualityAccumulator::Multiclass(MulticlassQuality::default()),
        }
    }

    pub fn problem(&self) -> Problem {
        match self {
            QualityAccumulator::Regression(_) => Problem::Regression,
            QualityAccumulator::Binary(_) => Problem::Binary,
            QualityAccumulator::Multiclass(_) => Problem::Multiclass,
        }
    }

    /// Adds one pair; false (and nothing added) when the values do not fit the
    /// problem, such as a class name for a regression.
    pub fn add(&mut self, prediction: &Outcome, label: &Outcome) -> bool {
        match (self, prediction, label) {
            (QualityAccumulator::Regression(quality), Outcome::Number(predicted), Outcome::Number(actual)) => {
                quality.add(*predicted, *actual);
                true
            }
            (QualityAccumulator::Binary(quality), Outcome::Number(score), Outcome::Number(actual)) => {
                quality.add(*score, *actual == 1.0);
                true
            }
            (QualityAccumulator::Multiclass(quality), Outcome::Class(predicted), Outcome::Class(actual)) => {
                *quality
                    .confusion
                    .entry((actual.clone(), predicted.clone()))
                    .or_default() += 1;
                true
            }
            _ => false,
        }
    }

    pub fn merge(&mut self, other: &QualityAccumulator) -> Result<(), MergeError> {
        match (self, other) {
            (QualityAccumulator::Regression(mine), QualityAccumulator::Regression(theirs)) => mine.merge(theirs),
            (QualityAccumulator::Binary(mine), QualityAccumulator::Binary(theirs)) => mine.merge(theirs),
            (QualityAccumulator::Multiclass(mine), QualityAccumulator::Multiclass(theirs)) => {
                for (pair, count) in &theirs.confusion {
                    *mine.confusion.entry(pair.clone()).or_default() += count;
                }
            }
            (mine, theirs) => {
                return Err(MergeError::DifferentProblems {
                    left: mine.problem().name(),
                    right: theirs.problem().name(),
                })
            }
        }
        Ok(())
    }

    pub fn report(&self) -> QualityReport {
        match self {
            QualityAccumulator::Regression(quality) => quality.report(),
            QualityAccumulator::Binary(quality) => quality.report(),
            QualityAccumulator::Multiclass(quality) => quality.report(),
        }
    }
}

impl RegressionQuality {
    fn add(&mut self, predicted: f64, actual: f64) {
        let error = predicted - actual;
        self.count += 1;
        self.absolute_errors.add(error.abs());
        self.squared_errors.add(error * error);
        self.labels.add(actual);
        self.squared_labels.add(actual * actual);
    }

    fn merge(&mut self, other: &RegressionQuality) {
        self.count += other.count;
        self.absolute_errors.merge(&other.absolute_errors);
        self.squared_errors.merge(&other.squared_errors);
        self.labels.merge(&other.labels);
        self.squared_labels.merge(&other.squared_labels);
    }

    fn report(&self) -> QualityReport {
        let count = self.count as f64;
        if self.count == 0 {
            return QualityReport::default();
        }
        let mse = self.squared_errors.value() / count;
        let mean_label = self.labels.value() / count;
        let total_squares = (self.squared_labels.value() - mean_label * self.labels.value()).max(0.0);
        let residual_squares = self.squared_errors.value();
        // scikit-learn's r2_score for constant labels: 1 when predicted perfectly, else 0.
        let r2 = if total_squares == 0.0 {
            if residual_squares == 0.0 {
                1.0
            } else {
                0.0
            }
        } else {
            1.0 - residual_squares / total_squares
        };
        QualityReport {
            count: self.count,
            mae: Some(self.absolute_errors.value() / count),
            mse: Some(mse),
            rmse: Some(mse.sqrt()),
            r2: Some(r2),
            ..QualityReport::default()
        }
    }
}

impl BinaryQuality {
    fn add(&mut self, score: f64, positive: bool) {
        let predicted_positive = score >= self.threshold;
        match (predicted_positive, positive) {
            (true, true) => self.true_positives += 1,
            (true, false) => self.false_positives += 1,
            (false, false) => self.true_negatives += 1,
            (false, true) => self.false_negatives += 1,
        }
        match &mut self.scores {
            Scores::Exact(scores) => {
                scores.push((score, positive));
                if scores.len() > EXACT_AUC_SCORES {
                    self.sketch_scores();
                }
            }
            Scores::Sketched { positives, negatives } => {
                if positive {
                    positives.update(score)
                } else {
                    negatives.update(score)
                }
            }
        }
    }

    fn sketch_scores(&mut self) {
        if let Scores::Exact(scores) = &self.scores {
            let mut positives = QuantileSketch::with_k(AUC_SKETCH_K);
            let mut negatives = QuantileSketch::with_k(AUC_SKETCH_K);
            for (score, positive) in scores {
                if *positive {
                    positives.update(*score)
                } else {
                    negatives.update(*score)
                }
            }
            self.scores = Scores::Sketched { positives, negatives };
        }
    }

    fn merge(&mut self, other: &BinaryQuality) {
        self.true_positives += other.true_positives;
        self.false_positives += other.false_positives;
        self.true_negatives += other.true_negatives;
        self.false_negatives += other.false_negatives;
        match &other.scores {
            Scores::Exact(scores) => {
                for (score, positive) in scores {
                    match &mut self.scores {
                        Scores::Exact(mine) => mine.push((*score, *positive)),
                        Scores::Sketched { positives, negatives } => {
                            if *positive {
                                positives.update(*score)
                            } else {
                                negatives.update(*score)
                            }
                        }
                    }
                }
                if matches!(&self.scores, Scores::Exact(mine) if mine.len() > EXACT_AUC_SCORES) {
                    self.sketch_scores();
                }
            }
            Scores::Sketched { positives, negatives } => {
                self.sketch_scores();
                if let Scores::Sketched {
                    positives: my_positives,
                    negatives: my_negatives,
                } = &mut self.scores
                {
                    my_positives.merge(positives);
                    my_negatives.merge(negatives);
                }
            }
        }
    }

    fn report(&self) -> QualityReport {
        let (tp, fp, tn, fn_) = (
            self.true_positives as f64,
            self.false_positives as f64,
            self.true_negatives as f64,
            self.false_negatives as f64,
        );
        let count = self.true_positives + self.false_positives + self.true_negatives + self.false_negatives;
        if count == 0 {
            return QualityReport::default();
        }
        // scikit-learn's zero_division default: an undefined ratio is 0.
        let ratio = |numerator: f64, denominator: f64| {
            if denominator > 0.0 {
                numerator / denominator
            } else {
                0.0
            }
        };
        let precision = ratio(tp, tp + fp);
        let recall = ratio(tp, tp + fn_);
        QualityReport {
            count,
            accuracy: Some((tp + tn) / count as f64),
            precision: Some(precision),
            recall: Some(recall),
            f1: Some(ratio(2.0 * tp, 2.0 * tp + fp + fn_)),
            auc: match &self.scores {
                Scores::Exact(scores) => exact_auc(scores),
                Scores::Sketched { positives, negatives } => sketched_auc(positives, negatives),
            },
            ..QualityReport::default()
        }
    }
}

/// The Mann-Whitney form of the ROC AUC: the chance that a positive scores
/// above a negative, ties counting one half (what `roc_auc_score` gives).
fn exact_auc(scores: &[(f64, bool)]) -> Option<f64> {
    let mut sorted = scores.to_vec();
    sorted.sort_by(|left, right| left.0.total_cmp(&right.0));
    let groups = sorted.chunk_by(|left, right| left.0 == right.0).map(|group| {
        let positives = group.iter().filter(|(_, positive)| *positive).count() as f64;
        (positives, group.len() as f64 - positives)
    });
    auc_of_groups(groups)
}

/// The AUC of groups of (positives, negatives) in increasing score order,
/// pairs inside one group counting as ties.
fn auc_of_groups(groups: impl Iterator<Item = (f64, f64)>) -> Option<f64> {
    let (mut negatives_below, mut positives_total, mut wins) = (0.0, 0.0, 0.0);
    for (positives, negatives) in groups {
        wins += positives * (negatives_below + negatives / 2.0);
        negatives_below += negatives;
        positives_total += positives;
    }
    (positives_total > 0.0 && negatives_below > 0.0).then(|| wins / (positives_total * negatives_below))
}

/// The AUC from the two classes' score sketches: groups are the intervals
/// between 1,000 quantiles of each class, so a group holds at most about a
/// thousandth of either class.
fn sketched_auc(positives: &QuantileSketch, negatives: &QuantileSketch) -> Option<f64> {
    let ranks: Vec<f64> = (0..=AUC_QUANTILES)
        .map(|step| step as f64 / AUC_QUANTILES as f64)
        .collect();
    let mut points = positives.quantiles(&ranks);
    points.extend(negatives.quantiles(&ranks));
    points.sort_by(f64::total_cmp);
    points.dedup();
    let cumulative = |sketch: &QuantileSketch| -> Vec<f64> {
        let counts = sketch.counts_below(&points, true);
        std::iter::once(0.0)
            .chain(counts.into_iter().map(|count| count as f64))
            .collect()
    };
    let (positives_at, negatives_at) = (cumulative(positives), cumulative(negatives));
    let groups = (1..positives_at.len()).map(|index| {
        (
            positives_at[index] - positives_at[index - 1],
            negatives_at[index] - negatives_at[index - 1],
        )
    });
    auc_of_groups(groups)
}

impl MulticlassQuality {
    fn report(&self) -> QualityReport {
        let count: u64 = self.confusion.values().sum();
        if count == 0 {
            return QualityReport::default();
        }
        let correct: u64 = self
            .confusion
            .iter()
            .filter(|((actual, predicted), _)| actual == predicted)
            .map(|(_, count)| count)
            .sum();
        // Per class: true positives, support (labels of it) and predictions of it.
        let mut classes: HashMap<&str, (u64, u64, u64)> = HashMap::new();
        for ((actual, predicted), pairs) in &self.confusion {
            classes.entry(actual).or_default().1 += pairs;
            classes.entry(predicted).or_default().2 += pairs;
            if actual == predicted {
                classes.entry(actual).or_default().0 += pairs;
            }
        }
        // scikit-learn's f1_score(average="weighted"): each class's F1 weighted by its support.
        let weighted: f64 = classes
            .values()
            .map(|(true_positives, support, predicted)| {
                let f1 = if support + predicted == 0 {
                    0.0
                } else {
                    2.0 * *true_positives as f64 / (support + predicted) as f64
                };
                f1 * *support as f64
            })
            .sum();
        QualityReport {
            count,
            accuracy: Some(correct as f64 / count as f64),
            weighted_f1: Some(weighted / count as f64),
            ..QualityReport::default()
        }
    }
}
