//! Distances between a baseline and a current feature distribution, computed
//! from the summaries a monitoring job writes: KLL buckets for a numerical
//! feature, category counts for a string feature.
//!
//! A numerical feature is read the way Model Monitor's buckets describe it:
//! each bucket spreads its count uniformly over `[lower, upper]`, and a bucket
//! with `lower == upper` is a point mass. The cumulative distribution function
//! (CDF) is then piecewise linear between the bucket edges, with a jump at
//! every point mass, and every measure below is computed exactly for that
//! shape rather than by sampling it.
//!
//! Invariants, which the drift policy (`drift::assess`) relies on:
//! - every function returns a `Distance` whose `value` is finite and >= 0,
//!   and whose `p_value`, when set, is in [0, 1]: never NaN, never a panic,
//!   never a loop that depends on the data's values;
//! - a degenerate input (no data on one side, a zero-variance baseline,
//!   dropped buckets, too few categories to test) gives a defined value and a
//!   `note` from [`note`] that says why;
//! - the distance of a distribution to itself is exactly 0 for every method.
//!
//! Statistical conventions follow the tools users already compare with:
//! Deequ's (and so Model Monitor's) robust L-infinity, `max(0, linf -
//! c_alpha * sqrt((n+m)/(n*m)))` with c_alpha about 1.8, Evidently's
//! Wasserstein normalised by the baseline standard deviation, and
//! chi-square homogeneity computed here (statrs' `chisquare` test needs equal
//! totals and divides by zero on an empty expected bin, so only its
//! `ChiSquared` distribution is used).

use std::collections::BTreeMap;

use statrs::distribution::{ChiSquared, ContinuousCDF};

/// A numerical feature's distribution as Model Monitor's KLL buckets describe it:
/// mass `count` spread uniformly over [lower, upper] in each bucket.
#[derive(Debug, Clone, PartialEq)]
pub struct Bucket {
    pub lower: f64,
    pub upper: f64,
    pub count: f64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Numeric {
    pub buckets: Vec<Bucket>,
    /// `num_present`: the sample size behind the buckets.
    pub count: f64,
    pub std_dev: Option<f64>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Categorical {
    pub counts: Vec<(String, f64)>,
}

/// A computed distance. `value` is always finite and >= 0 (never NaN);
/// `p_value` is set by hypothesis-test methods; `note` says why a degenerate input gave the value it did.
#[derive(Debug, Clone, PartialEq)]
pub struct Distance {
    pub value: f64,
    pub p_value: Option<f64>,
    pub note: Option<&'static str>,
}

/// Deequ's constant for the robust L-infinity test (about a 0.1% false alarm rate).
pub const ROBUST_C_ALPHA: f64 = 1.8;

/// PSI floors every bin's proportion at this before taking logarithms, so an
/// empty bin on one side gives a large but finite term instead of infinity.
pub const PSI_EPSILON: f64 = 1e-4;

/// Chi-square's approximation needs expected counts of at least this much;
/// smaller categories are merged before testing.
pub const MIN_EXPECTED_COUNT: f64 = 5.0;

/// Why a degenerate input gave the value it did. At most one note is reported:
/// the one that explains the value best (no data first, then the method's own
/// degenerate case, then what was dropped from the input).
pub mod note {
    /// One side has no buckets, or only zero counts: the value is 0.
    pub const NO_DATA: &str = "no data on one side";
    /// A bucket or category with a NaN or infinite bound or count was ignored.
    pub const NON_FINITE_DROPPED: &str = "non-finite bound or count dropped";
    /// A bucket whose upper bound is below its lower bound was ignored.
    pub const INVERTED_BUCKET_DROPPED: &str = "bucket with upper < lower dropped";
    /// A bucket or category with a negative count was ignored.
    pub const NEGATIVE_COUNT_DROPPED: &str = "negative count dropped";
    /// Wasserstein: the baseline has no spread to normalise by, and the
    /// distributions differ; the value is 1.0 (see `wasserstein_numeric`).
    pub const ZERO_VARIANCE_BASELINE: &str = "zero-variance baseline";
    /// Wasserstein: the baseline's `std_dev` was absent, negative or not finite.
    pub const STD_DEV_ESTIMATED: &str = "baseline std_dev missing or invalid; estimated from its buckets";
    /// PSI and chi-square on numbers: the baseline has fewer than two buckets'
    /// worth of edges, so its buckets cannot serve as bins.
    pub const SINGLE_BIN_BASELINE: &str = "baseline spans at most one bucket; bins are below, inside and above it";
    /// Chi-square: categories with an expected count below 5 were merged.
    pub const CATEGORIES_REGROUPED: &str = "categories with an expected count below 5 merged before testing";
    /// Chi-square: after regrouping, one column is left; there is nothing to test.
    pub const TOO_FEW_CATEGORIES: &str = "fewer than two categories after regrouping; nothing to test";
    /// The value overflowed f64 (e.g. a huge Wasserstein over a tiny std_dev).
    pub const SATURATED: &str = "value overflowed and was saturated at f64::MAX";
    /// Defensive: arithmetic produced NaN despite the guards; reported as 0.
    pub const NUMERICAL_FAILURE: &str = "numerical failure; reported as 0";
}

/// Edges beyond this magnitude are rescaled before any subtraction, so that
/// `upper - lower` cannot overflow to infinity (2^512, far above real data).
const RESCALE_ABOVE: f64 = f64::from_bits((1023 + 512) << 52);
/// The rescaling factor, 2^1023: a power of two, so dividing by it is exact.
const RESCALE_BY: f64 = f64::from_bits(2046 << 52);

/// Simple or robust L-infinity distance between the two CDFs: the largest
/// vertical gap, taken over the union of both sides' bucket edges (the gap is
/// linear between edges, so the largest one is at an edge, on one side of a jump).
///
/// Robust (Deequ): `max(0, linf - ROBUST_C_ALPHA * sqrt((n + m) / (n * m)))`
/// with `n`, `m` the two sample sizes (`count`, or the bucket total when
/// `count` is not a positive finite number).
pub fn linf_numeric(baseline: &Numeric, current: &Numeric, robust: bool) -> Distance {
    NumericPair::new(baseline, current).map_or_else(|| no_data(None), |pair| pair.linf(robust))
}

/// Population stability index on the baseline's bins: the current
/// distribution is re-binned onto the baseline's bucket edges through its CDF
/// (mass below or above the baseline's range goes to the first or last bin),
/// both sides' proportions are floored at `PSI_EPSILON` and renormalised, and
/// PSI = sum (c - b) ln(c / b).
pub fn psi_numeric(baseline: &Numeric, current: &Numeric) -> Distance {
    NumericPair::new(baseline, current).map_or_else(|| no_data(None), |pair| pair.psi(&pair.baseline_bins()))
}

/// Jensen-Shannon distance (the square root of the divergence, log base 2, so
/// in [0, 1]) over the grid of both sides' edges: every cell between two
/// consecutive edges, plus every point mass. Both densities are constant
/// inside each cell, so this equals the continuous distance exactly.
pub fn js_numeric(baseline: &Numeric, current: &Numeric) -> Distance {
    NumericPair::new(baseline, current).map_or_else(|| no_data(None), |pair| pair.js())
}

/// Wasserstein-1 distance, `∫ |F_b - F_c| dx`, integrated exactly for the
/// piecewise-linear CDFs (a segment where the difference changes sign is split
/// at its root), divided by the baseline's standard deviation as Evidently does.
///
/// The standard deviation is the baseline's `std_dev` when it is a positive
/// finite number. When it is absent, negative or not finite it is estimated
/// from the baseline's buckets (note `STD_DEV_ESTIMATED`), since statistics
/// written by hand or by other tools may omit it. When it is 0 (given, or
/// estimated for a baseline that is one point) the baseline has no scale to
/// measure against: identical distributions still give 0, and any difference
/// gives 1.0 with note `ZERO_VARIANCE_BASELINE`, i.e. "moved by at least one
/// standard deviation", which is above any sensible drift threshold.
pub fn wasserstein_numeric(baseline: &Numeric, current: &Numeric) -> Distance {
    NumericPair::new(baseline, current).map_or_else(|| no_data(None), |pair| pair.wasserstein(baseline.std_dev))
}

/// Chi-square test of homogeneity on the baseline's bins (as for PSI): the
/// baseline row holds its proportions times its sample size, the current row
/// its re-binned proportions times its sample size (`count`, or the bucket
/// total when `count` is not a positive finite number). See
/// [`chi_square_categorical`] for the regrouping, the value and the p-value.
pub fn chi_square_numeric(baseline: &Numeric, current: &Numeric) -> Distance {
    NumericPair::new(baseline, current)
        .map_or_else(|| no_data(Some(1.0)), |pair| pair.chi_square(&pair.baseline_bins()))
}

/// Every measure of one numerical feature, each equal to what its own
/// function returns (`linf_numeric` simple and robust, `psi_numeric`,
/// `js_numeric`, `wasserstein_numeric`, `chi_square_numeric`), with the
/// buckets cleaned, the CDFs built and the baseline's bins filled once.
#[derive(Debug, Clone, PartialEq)]
pub struct NumericDistances {
    pub linf: Distance,
    pub linf_robust: Distance,
    pub psi: Distance,
    pub js: Distance,
    pub wasserstein: Distance,
    pub chi_square: Distance,
}

pub fn every_numeric(baseline: &Numeric, current: &Numeric) -> NumericDistances {
    let Some(pair) = NumericPair::new(baseline, current) else {
        return NumericDistances {
            linf: no_data(None),
            linf_robust: no_data(None),
            psi: no_data(None),
            js: no_data(None),
            wasserstein: no_data(None),
            chi_square: no_data(Some(1.0)),
        };
    };
    let bins = pair.baseline_bins();
    NumericDistances {
        linf: pair.linf(false),
        linf_robust: pair.linf(true),
        psi: pair.psi(&bins),
        js: pair.js(),
        wasserstein: pair.wasserstein(baseline.std_dev),
        chi_square: pair.chi_square(&bins),
    }
}

/// The largest difference in a category's frequency, over the union of both
/// sides' categories (a category seen on one side only counts in full).
pub fn linf_categorical(baseline: &Categorical, current: &Categorical) -> Distance {
    CategoricalPair::new(baseline, current).map_or_else(|| no_data(None), |pair| pair.linf(&pair.proportions()))
}

/// PSI over the union of categories; a category unseen on one side gets the
/// `PSI_EPSILON` floor there.
pub fn psi_categorical(baseline: &Categorical, current: &Categorical) -> Distance {
    CategoricalPair::new(baseline, current).map_or_else(|| no_data(None), |pair| pair.psi(&pair.proportions()))
}

/// Jensen-Shannon distance (log base 2, in [0, 1]) over the union of categories.
pub fn js_categorical(baseline: &Categorical, current: &Categorical) -> Distance {
    CategoricalPair::new(baseline, current).map_or_else(|| no_data(None), |pair| pair.js(&pair.proportions()))
}

/// Chi-square test of homogeneity on the 2×k table of baseline and current counts.
///
/// Columns whose expected count is below 5 in either row are merged into one
/// "other" column; if that column is itself still below 5 it is merged into
/// the smallest remaining column. The statistic is Σ (O − E)² / E with
/// k − 1 degrees of freedom; the p-value is the chi-squared survival function
/// (1 − CDF, computed directly so small p-values keep their precision).
/// `value` is Cramér's V = sqrt(stat / N), an effect size in [0, 1], so a
/// huge sample with a negligible shift does not read as a large distance.
/// Fewer than two columns after regrouping: value 0, p-value 1.
pub fn chi_square_categorical(baseline: &Categorical, current: &Categorical) -> Distance {
    CategoricalPair::new(baseline, current).map_or_else(|| no_data(Some(1.0)), |pair| pair.chi_square())
}

/// Every measure of one categorical feature, each equal to what its own
/// function returns (`linf_categorical`, `psi_categorical`,
/// `js_categorical`, `chi_square_categorical`), with the categories aligned
/// and the proportions computed once.
#[derive(Debug, Clone, PartialEq)]
pub struct CategoricalDistances {
    pub linf: Distance,
    pub psi: Distance,
    pub js: Distance,
    pub chi_square: Distance,
}

pub fn every_categorical(baseline: &Categorical, current: &Categorical) -> CategoricalDistances {
    let Some(pair) = CategoricalPair::new(baseline, current) else {
        return CategoricalDistances {
            linf: no_data(None),
            psi: no_data(None),
            js: no_data(None),
            chi_square: no_data(Some(1.0)),
        };
    };
    let proportions = pair.proportions();
    CategoricalDistances {
        linf: pair.linf(&proportions),
        psi: pair.psi(&proportions),
        js: pair.js(&proportions),
        chi_square: pair.chi_square(),
    }
}

/// Benjamini-Hochberg adjusted p-values (step-up: monotone in the sorted
/// order, capped at 1), in the same order as the input. A NaN p-value is
/// treated as 1 (no evidence) and others are clamped into [0, 1].
pub fn benjamini_hochberg(p_values: &[f64]) -> Vec<f64> {
    let clean: Vec<f64> = p_values
        .iter()
        .map(|&p| if p.is_nan() { 1.0 } else { p.clamp(0.0, 1.0) })
        .collect();
    let tests = clean.len() as f64;
    let mut order: Vec<usize> = (0..clean.len()).collect();
    order.sort_by(|&a, &b| clean[a].total_cmp(&clean[b]));
    let mut adjusted = vec![1.0; clean.len()];
    let mut running_min: f64 = 1.0;
    for (rank, &index) in order.iter().enumerate().rev() {
        // m / rank is >= 1 after rounding too, so the product never rounds below p.
        running_min = running_min.min(clean[index] * (tests / (rank + 1) as f64));
        adjusted[index] = running_min;
    }
    adjusted
}

/// The result for a side without data: nothing to compare, so no drift.
fn no_data(p_value: Option<f64>) -> Distance {
    Distance {
        value: 0.0,
        p_value,
        note: Some(note::NO_DATA),
    }
}

/// The last guard before a value leaves the module: finite, >= 0, p in [0, 1].
fn finish(value: f64, p_value: Option<f64>, why: Option<&'static str>) -> Distance {
    let (value, why) = if value.is_nan() {
        (0.0, Some(note::NUMERICAL_FAILURE))
    } else if value.is_infinite() && value > 0.0 {
        (f64::MAX, Some(note::SATURATED))
    } else {
        (value.max(0.0), why)
    };
    let p_value = p_value.map(|p| if p.is_nan() { 1.0 } else { p.clamp(0.0, 1.0) });
    Distance {
        value,
        p_value,
        note: why,
    }
}

/// Divides every entry by the sum, after dividing by the largest entry so the
/// sum cannot overflow. Callers guarantee a positive largest entry.
fn normalise(values: &[f64]) -> Vec<f64> {
    let largest = values.iter().copied().fold(0.0, f64::max);
    if largest <= 0.0 {
        return vec![0.0; values.len()];
    }
    let total: f64 = values.iter().map(|v| v / largest).sum();
    values.iter().map(|v| v / largest / total).collect()
}

fn psi(baseline: &[f64], current: &[f64]) -> f64 {
    let floor = |values: &[f64]| -> Vec<f64> {
        let floored: Vec<f64> = values.iter().map(|v| v.max(PSI_EPSILON)).collect();
        let total: f64 = floored.iter().sum();
        floored.iter().map(|v| v / total).collect()
    };
    let (b, c) = (floor(baseline), floor(current));
    // Every term is >= 0 ((c - b) and ln(c / b) share a sign), so no cancellation.
    b.iter().zip(&c).map(|(b, c)| (c - b) * (c / b).ln()).sum()
}

/// sqrt(JSD) in bits, as scipy.spatial.distance.jensenshannon(p, q, base=2).
fn jensen_shannon(p: &[f64], q: &[f64]) -> f64 {
    let (p, q) = (normalise(p), normalise(q));
    js_distance(p.iter().zip(&q).map(|(&a, &b)| js_term(a, b)).sum())
}

/// One cell's contribution a ln(a/m) + b ln(b/m), m = (a + b) / 2. The two
/// terms are added to each other before the running sum, so swapping p and q
/// gives bit-for-bit the same divergence (the measure is symmetric).
fn js_term(a: f64, b: f64) -> f64 {
    let mean = 0.5 * (a + b);
    let term = |x: f64| if x > 0.0 { x * (x / mean).ln() } else { 0.0 };
    term(a) + term(b)
}

/// The distance from the summed terms: sqrt of half the sum, in bits, within [0, 1].
fn js_distance(divergence: f64) -> f64 {
    (0.5 * divergence / std::f64::consts::LN_2).clamp(0.0, 1.0).sqrt()
}

/// The chi-square homogeneity test shared by both kinds (see `chi_square_categorical`).
/// Inputs are aligned columns of finite, non-negative counts.
fn chi_square_table(baseline: &[f64], current: &[f64]) -> Distance {
    // Work on the table divided by its largest entry so no sum overflows; the
    // statistic scales linearly with the counts and V not at all.
    let scale = baseline.iter().chain(current).copied().fold(0.0, f64::max);
    if scale <= 0.0 {
        return no_data(Some(1.0));
    }
    // Empty columns have no expected count at all; drop them first.
    let columns: Vec<[f64; 2]> = baseline
        .iter()
        .zip(current)
        .map(|(b, c)| [b / scale, c / scale])
        .filter(|[b, c]| b + c > 0.0)
        .collect();
    let rows = [
        columns.iter().map(|c| c[0]).sum::<f64>(),
        columns.iter().map(|c| c[1]).sum::<f64>(),
    ];
    if rows[0] <= 0.0 || rows[1] <= 0.0 {
        return no_data(Some(1.0));
    }
    let grand = rows[0] + rows[1];
    let (kept, regrouped) = regroup_small_columns(columns, rows, MIN_EXPECTED_COUNT / scale);
    let why = if regrouped {
        Some(note::CATEGORIES_REGROUPED)
    } else {
        None
    };
    if kept.len() < 2 {
        return Distance {
            value: 0.0,
            p_value: Some(1.0),
            note: Some(note::TOO_FEW_CATEGORIES),
        };
    }
    let statistic = chi_square_statistic(&kept, rows, grand);
    // For a 2×k table min(rows, columns) - 1 = 1, so V = sqrt(stat / N).
    let cramers_v = (statistic / grand).sqrt().min(1.0);
    let degrees_of_freedom = (kept.len() - 1) as f64;
    let p_value = match ChiSquared::new(degrees_of_freedom) {
        Ok(distribution) => distribution.sf(statistic * scale),
        // Unreachable with two or more columns; no evidence is the safe answer.
        Err(_) => 1.0,
    };
    finish(cramers_v, Some(p_value), why)
}

/// Merges the columns whose expected count is below `threshold` into one
/// "other" column, itself merged into the smallest kept column when it is
/// still too small. Returns the columns and whether any was merged.
fn regroup_small_columns(columns: Vec<[f64; 2]>, rows: [f64; 2], threshold: f64) -> (Vec<[f64; 2]>, bool) {
    let grand = rows[0] + rows[1];
    let smaller_row = rows[0].min(rows[1]);
    // The expected count is smallest in the smaller row.
    let is_small = |column: &[f64; 2]| (column[0] + column[1]) * (smaller_row / grand) < threshold;
    let mut kept: Vec<[f64; 2]> = Vec::with_capacity(columns.len());
    let mut other = [0.0, 0.0];
    let mut regrouped = false;
    for column in columns {
        if is_small(&column) {
            other[0] += column[0];
            other[1] += column[1];
            regrouped = true;
        } else {
            kept.push(column);
        }
    }
    if regrouped {
        let smallest = if is_small(&other) {
            kept.iter_mut().min_by(|a, b| (a[0] + a[1]).total_cmp(&(b[0] + b[1])))
        } else {
            None
        };
        match smallest {
            Some(smallest) => {
                smallest[0] += other[0];
                smallest[1] += other[1];
            }
            None => kept.push(other),
        }
    }
    (kept, regrouped)
}

/// Pearson's statistic of a 2×k table with row totals `rows` and total `grand`.
fn chi_square_statistic(columns: &[[f64; 2]], rows: [f64; 2], grand: f64) -> f64 {
    let term = |observed: f64, row: f64, total: f64| {
        // total * (row / grand), not (row * total) / grand: with equal rows the
        // share is exactly 0.5, so identical rows give a statistic of exactly 0.
        let expected = total * (row / grand);
        if expected > 0.0 {
            (observed - expected).powi(2) / expected
        } else {
            0.0
        }
    };
    // As in `jensen_shannon`, a column's two terms are added first so that
    // swapping baseline and current gives exactly the same statistic.
    columns
        .iter()
        .map(|column| {
            let total = column[0] + column[1];
            term(column[0], rows[0], total) + term(column[1], rows[1], total)
        })
        .sum()
}

/// A bucket after cleaning: finite, ordered bounds and a positive-or-zero weight.
#[derive(Debug, Clone, Copy)]
struct Span {
    lower: f64,
    upper: f64,
    weight: f64,
}

/// One side's buckets with the unusable ones dropped.
#[derive(Debug)]
struct CleanBuckets {
    spans: Vec<Span>,
    /// The sum of the kept counts (may be +inf if they overflow).
    total_count: f64,
    note: Option<&'static str>,
}

impl CleanBuckets {
    fn new(numeric: &Numeric) -> Self {
        let mut why = None;
        let mut spans = Vec::with_capacity(numeric.buckets.len());
        for bucket in &numeric.buckets {
            let rejected = if !(bucket.lower.is_finite() && bucket.upper.is_finite() && bucket.count.is_finite()) {
                Some(note::NON_FINITE_DROPPED)
            } else if bucket.upper < bucket.lower {
                Some(note::INVERTED_BUCKET_DROPPED)
            } else if bucket.count < 0.0 {
                Some(note::NEGATIVE_COUNT_DROPPED)
            } else {
                None
            };
            match rejected {
                Some(reason) => why = why.or(Some(reason)),
                // Adding 0.0 turns -0.0 into 0.0, so equal edges compare equal under total_cmp.
                None => spans.push(Span {
                    lower: bucket.lower + 0.0,
                    upper: bucket.upper + 0.0,
                    weight: bucket.count,
                }),
            }
        }
        spans.sort_by(|a, b| a.lower.total_cmp(&b.lower).then(a.upper.total_cmp(&b.upper)));
        let total_count = spans.iter().map(|span| span.weight).sum();
        CleanBuckets {
            spans,
            total_count,
            note: why,
        }
    }

    fn has_mass(&self) -> bool {
        self.spans.iter().any(|span| span.weight > 0.0)
    }

    fn largest_magnitude(&self) -> f64 {
        self.spans
            .iter()
            .map(|span| span.lower.abs().max(span.upper.abs()))
            .fold(0.0, f64::max)
    }

    /// The sample size: `count` (num_present) when usable, else the bucket total.
    fn sample_size(&self, declared: f64) -> f64 {
        let size = if declared.is_finite() && declared > 0.0 {
            declared
        } else {
            self.total_count
        };
        size.min(f64::MAX)
    }
}

/// A piecewise-linear CDF with jumps, known at its own sorted distinct edges.
#[derive(Debug)]
struct Cdf {
    edges: Vec<f64>,
    /// (F(e-), F(e)) at each edge: the left limit, and the value including
    /// any point mass there (the CDF is right-continuous).
    limits: Vec<(f64, f64)>,
}

/// What changes at one edge during the sweep that builds a `Cdf`.
#[derive(Debug, Clone, Copy, Default)]
struct EdgeChange {
    density: f64,
    open_buckets: isize,
    atom: f64,
}

impl Cdf {
    /// Builds the CDF in one sweep over the edges, in O(n log n) for n buckets
    /// however they overlap. `scale` divides every edge. Callers guarantee at
    /// least one span with a positive weight.
    fn new(spans: &[Span], scale: f64) -> Self {
        // Weights as shares of the total, via the largest so the sum cannot overflow.
        let largest = spans.iter().map(|span| span.weight).fold(0.0, f64::max);
        let total: f64 = spans.iter().map(|span| span.weight / largest).sum();
        let share = |span: &Span| span.weight / largest / total;

        let mut edges: Vec<f64> = Vec::with_capacity(2 * spans.len());
        for span in spans {
            edges.push(span.lower / scale);
            edges.push(span.upper / scale);
        }
        // Buckets that tile the range arrive sorted already, which pdqsort spots in one pass.
        edges.sort_unstable_by(f64::total_cmp);
        edges.dedup();
        // Every edge is finite and -0.0 was normalised away, so plain `<` orders them.
        let index_of = |x: f64| edges.partition_point(|&edge| edge < x);

        let mut changes = vec![EdgeChange::default(); edges.len()];
        for span in spans {
            let (lower, upper, weight) = (span.lower / scale, span.upper / scale, share(span));
            let start = index_of(lower);
            let density = weight / (upper - lower);
            if upper > lower && density.is_finite() {
                let end = index_of(upper);
                changes[start].density += density;
                changes[start].open_buckets += 1;
                changes[end].density -= density;
                changes[end].open_buckets -= 1;
            } else {
                // A bucket with no width (or too little to hold a finite
                // density) is a point mass at its lower bound.
                changes[start].atom += weight;
            }
        }

        let mut limits = Vec::with_capacity(edges.len());
        let (mut cumulative, mut density, mut open_buckets) = (0.0, 0.0f64, 0isize);
        for (i, change) in changes.iter().enumerate() {
            if i > 0 {
                cumulative += density * (edges[i] - edges[i - 1]);
            }
            let before = cumulative;
            cumulative += change.atom;
            limits.push((before, cumulative));
            open_buckets += change.open_buckets;
            // Where no bucket is open the density is exactly 0; resetting it
            // stops rounding residue from leaking mass into gaps.
            density = if open_buckets <= 0 {
                0.0
            } else {
                (density + change.density).max(0.0)
            };
        }
        // Rounding can leave the total a hair off 1; make the CDF end at 1 exactly.
        if cumulative > 0.0 && cumulative.is_finite() {
            for (before, at) in &mut limits {
                *before = (*before / cumulative).clamp(0.0, 1.0);
                *at = (*at / cumulative).clamp(0.0, 1.0);
            }
        }
        Cdf { edges, limits }
    }

    /// (F(x-), F(x)) when x lies strictly between edges `i - 1` and `i`
    /// (`i == 0`: before every edge; `i == len`: after every edge).
    fn between(&self, i: usize, x: f64) -> (f64, f64) {
        match (
            i.checked_sub(1).and_then(|left| self.edges.get(left)),
            self.edges.get(i),
        ) {
            (None, _) => (0.0, 0.0),
            (_, None) => (1.0, 1.0),
            (Some(&left), Some(&right)) => {
                let from = self.limits[i - 1].1;
                let to = self.limits[i].0;
                let value = from + (to - from) * ((x - left) / (right - left));
                (value, value)
            }
        }
    }

    /// (F(x-), F(x)): the left limit and the value at x.
    fn eval(&self, x: f64) -> (f64, f64) {
        let i = self.edges.partition_point(|&edge| edge < x);
        match self.limits.get(i) {
            Some(&limits) if self.edges[i] == x => limits,
            _ => self.between(i, x),
        }
    }

    /// The standard deviation of the mixture of uniforms and point masses,
    /// in the CDF's (scaled) units, computed around the mean in two passes.
    fn std_dev(&self) -> f64 {
        let cells = self.cells();
        let mean: f64 = cells
            .iter()
            .map(|(mass, lower, upper)| mass * 0.5 * (lower + upper))
            .sum();
        let variance: f64 = cells
            .iter()
            .map(|(mass, lower, upper)| {
                let centre = 0.5 * (lower + upper) - mean;
                mass * (centre * centre + (upper - lower).powi(2) / 12.0)
            })
            .sum();
        variance.max(0.0).sqrt()
    }

    /// (mass, lower, upper) for each point mass and each cell between edges.
    fn cells(&self) -> Vec<(f64, f64, f64)> {
        let mut cells = Vec::with_capacity(2 * self.edges.len());
        for (i, &edge) in self.edges.iter().enumerate() {
            let (before, at) = self.limits[i];
            cells.push((at - before, edge, edge));
            if let (Some(&next), Some(&(next_before, _))) = (self.edges.get(i + 1), self.limits.get(i + 1)) {
                cells.push((next_before - at, edge, next));
            }
        }
        cells
    }
}

/// Evaluates a `Cdf` at increasing points in O(1) amortised each, for merged
/// walks over two sides' edges without allocating a union grid.
#[derive(Debug)]
struct Cursor<'a> {
    cdf: &'a Cdf,
    /// The first edge not yet passed.
    next: usize,
}

impl<'a> Cursor<'a> {
    fn new(cdf: &'a Cdf) -> Self {
        Cursor { cdf, next: 0 }
    }

    fn peek(&self) -> Option<f64> {
        self.cdf.edges.get(self.next).copied()
    }

    /// (F(x-), F(x)); `x` must not decrease between calls.
    fn at(&mut self, x: f64) -> (f64, f64) {
        while self.peek().is_some_and(|edge| edge < x) {
            self.next += 1;
        }
        if self.peek() == Some(x) {
            self.next += 1;
            self.cdf.limits[self.next - 1]
        } else {
            self.cdf.between(self.next, x)
        }
    }
}

/// Two numerical distributions ready to compare, on a common (rescaled) axis.
#[derive(Debug)]
struct NumericPair {
    baseline: Cdf,
    current: Cdf,
    /// Every edge was divided by this (1, or 2^1023 for astronomically large edges).
    scale: f64,
    baseline_size: f64,
    current_size: f64,
    note: Option<&'static str>,
}

/// Both sides' proportions on the baseline's bins.
#[derive(Debug)]
struct Bins {
    baseline: Vec<f64>,
    current: Vec<f64>,
    note: Option<&'static str>,
}

impl NumericPair {
    /// None when either side has no usable mass.
    fn new(baseline: &Numeric, current: &Numeric) -> Option<Self> {
        let (clean_baseline, clean_current) = (CleanBuckets::new(baseline), CleanBuckets::new(current));
        if !clean_baseline.has_mass() || !clean_current.has_mass() {
            return None;
        }
        let magnitude = clean_baseline
            .largest_magnitude()
            .max(clean_current.largest_magnitude());
        let scale = if magnitude > RESCALE_ABOVE { RESCALE_BY } else { 1.0 };
        Some(NumericPair {
            baseline: Cdf::new(&clean_baseline.spans, scale),
            current: Cdf::new(&clean_current.spans, scale),
            scale,
            baseline_size: clean_baseline.sample_size(baseline.count),
            current_size: clean_current.sample_size(current.count),
            note: clean_baseline.note.or(clean_current.note),
        })
    }

    fn linf(&self, robust: bool) -> Distance {
        let largest = self.largest_gap();
        let value = if robust {
            // sqrt((n+m)/(nm)) written as sqrt(1/n + 1/m), which cannot overflow.
            let margin = ROBUST_C_ALPHA * (1.0 / self.baseline_size + 1.0 / self.current_size).sqrt();
            (largest - margin).max(0.0)
        } else {
            largest
        };
        finish(value, None, self.note)
    }

    fn psi(&self, bins: &Bins) -> Distance {
        finish(psi(&bins.baseline, &bins.current), None, bins.note.or(self.note))
    }

    fn js(&self) -> Distance {
        finish(self.jensen_shannon(), None, self.note)
    }

    /// `baseline_std_dev` is the baseline's declared `std_dev`; see `wasserstein_numeric`.
    fn wasserstein(&self, baseline_std_dev: Option<f64>) -> Distance {
        let scaled_distance = self.area_between();
        if scaled_distance == 0.0 {
            // Identical on the axis: 0 whatever the scale (and 0 * inf must not become NaN).
            return finish(0.0, None, self.note);
        }
        let (std_dev, std_note) = match baseline_std_dev {
            Some(std_dev) if std_dev.is_finite() && std_dev >= 0.0 => (std_dev, None),
            _ => (self.baseline.std_dev() * self.scale, Some(note::STD_DEV_ESTIMATED)),
        };
        if std_dev <= 0.0 || !std_dev.is_finite() {
            return finish(1.0, None, Some(note::ZERO_VARIANCE_BASELINE));
        }
        // The integral was taken on rescaled edges; undo the scale in the same
        // step as the normalisation so neither factor overflows on its own.
        let value = scaled_distance * (self.scale / std_dev);
        finish(value, None, std_note.or(self.note))
    }

    fn chi_square(&self, bins: &Bins) -> Distance {
        let baseline_counts: Vec<f64> = bins.baseline.iter().map(|p| p * self.baseline_size).collect();
        let current_counts: Vec<f64> = bins.current.iter().map(|p| p * self.current_size).collect();
        let mut distance = chi_square_table(&baseline_counts, &current_counts);
        distance.note = distance.note.or(bins.note).or(self.note);
        distance
    }

    /// Calls `visit(x, baseline limits, current limits)` at every edge of
    /// either side, in increasing order, each distinct edge once.
    fn walk(&self, mut visit: impl FnMut(f64, (f64, f64), (f64, f64))) {
        let (mut baseline, mut current) = (Cursor::new(&self.baseline), Cursor::new(&self.current));
        loop {
            let x = match (baseline.peek(), current.peek()) {
                (Some(a), Some(b)) => a.min(b),
                (Some(a), None) => a,
                (None, Some(b)) => b,
                (None, None) => break,
            };
            visit(x, baseline.at(x), current.at(x));
        }
    }

    /// The largest |F_b - F_c|, looking at both one-sided limits at every edge.
    fn largest_gap(&self) -> f64 {
        let mut largest: f64 = 0.0;
        self.walk(|_, (baseline_left, baseline_at), (current_left, current_at)| {
            largest = largest
                .max((baseline_left - current_left).abs())
                .max((baseline_at - current_at).abs());
        });
        largest.min(1.0)
    }

    /// Jensen-Shannon distance over every point mass and every cell of the
    /// union grid. Both CDFs are normalised to end at 1, so the cell masses
    /// are already proportions.
    fn jensen_shannon(&self) -> f64 {
        let mut divergence = 0.0;
        let mut previous: Option<(f64, f64)> = None;
        self.walk(|_, baseline, current| {
            if let Some((baseline_previous, current_previous)) = previous {
                divergence += js_term(
                    (baseline.0 - baseline_previous).max(0.0),
                    (current.0 - current_previous).max(0.0),
                );
            }
            divergence += js_term((baseline.1 - baseline.0).max(0.0), (current.1 - current.0).max(0.0));
            previous = Some((baseline.1, current.1));
        });
        js_distance(divergence)
    }

    /// ∫ |F_b - F_c| dx on the scaled axis. Between consecutive union edges
    /// the difference is linear, from d0 (just right of the left edge) to d1
    /// (just left of the right edge); where it changes sign the two triangles
    /// give w (d0² + d1²) / (2 (|d0| + |d1|)).
    fn area_between(&self) -> f64 {
        let mut area = 0.0;
        let mut previous: Option<(f64, f64)> = None;
        self.walk(|x, baseline, current| {
            if let Some((left, start)) = previous {
                let end = baseline.0 - current.0;
                let width = x - left;
                area += if start * end >= 0.0 {
                    0.5 * width * (start.abs() + end.abs())
                } else {
                    0.5 * width * (start * start + end * end) / (start.abs() + end.abs())
                };
            }
            previous = Some((x, baseline.1 - current.1));
        });
        area
    }

    /// The baseline's bins and both sides' proportions in them. Bins are the
    /// intervals between the baseline's distinct edges (its buckets, when they
    /// tile the range as KLL buckets do), each closed on the right; current
    /// mass outside the baseline's range joins the first or last bin. A
    /// baseline with fewer than two bins (one bucket, or one point) would make
    /// every comparison 0, so it gets three bins instead: below, inside and
    /// above its range.
    fn baseline_bins(&self) -> Bins {
        let edges = &self.baseline.edges;
        let bin = |cdf: &Cdf| -> Vec<f64> {
            let mut cumulative = vec![0.0];
            cumulative.extend(edges[1..edges.len() - 1].iter().map(|&x| cdf.eval(x).1));
            cumulative.push(1.0);
            cumulative.windows(2).map(|pair| (pair[1] - pair[0]).max(0.0)).collect()
        };
        let around = |cdf: &Cdf| -> Vec<f64> {
            let (below, _) = cdf.eval(edges[0]);
            let (_, through) = cdf.eval(edges[edges.len() - 1]);
            vec![below, (through - below).max(0.0), (1.0 - through).max(0.0)]
        };
        if edges.len() >= 3 {
            Bins {
                baseline: bin(&self.baseline),
                current: bin(&self.current),
                note: None,
            }
        } else {
            Bins {
                baseline: around(&self.baseline),
                current: around(&self.current),
                note: Some(note::SINGLE_BIN_BASELINE),
            }
        }
    }
}

/// Two categorical distributions aligned over the union of their categories
/// (in byte order of the names), as raw finite non-negative counts.
#[derive(Debug)]
struct CategoricalPair {
    baseline: Vec<f64>,
    current: Vec<f64>,
    note: Option<&'static str>,
}

impl CategoricalPair {
    /// None when either side has no positive count. A category listed twice
    /// on one side has its counts added.
    fn new(baseline: &Categorical, current: &Categorical) -> Option<Self> {
        let mut table: BTreeMap<&str, [f64; 2]> = BTreeMap::new();
        let mut why = None;
        for (side, categorical) in [baseline, current].into_iter().enumerate() {
            for (name, count) in &categorical.counts {
                let rejected = if !count.is_finite() {
                    Some(note::NON_FINITE_DROPPED)
                } else if *count < 0.0 {
                    Some(note::NEGATIVE_COUNT_DROPPED)
                } else {
                    None
                };
                if let Some(reason) = rejected {
                    why = why.or(Some(reason));
                    continue;
                }
                let entry = table.entry(name.as_str()).or_insert([0.0, 0.0]);
                entry[side] = (entry[side] + count).min(f64::MAX);
            }
        }
        let baseline: Vec<f64> = table.values().map(|counts| counts[0]).collect();
        let current: Vec<f64> = table.values().map(|counts| counts[1]).collect();
        let has_mass = |counts: &[f64]| counts.iter().any(|&count| count > 0.0);
        if !has_mass(&baseline) || !has_mass(&current) {
            return None;
        }
        Some(CategoricalPair {
            baseline,
            current,
            note: why,
        })
    }

    fn proportions(&self) -> (Vec<f64>, Vec<f64>) {
        (normalise(&self.baseline), normalise(&self.current))
    }

    fn linf(&self, (p, q): &(Vec<f64>, Vec<f64>)) -> Distance {
        let largest = p.iter().zip(q).map(|(b, c)| (b - c).abs()).fold(0.0, f64::max);
        finish(largest.min(1.0), None, self.note)
    }

    fn psi(&self, (p, q): &(Vec<f64>, Vec<f64>)) -> Distance {
        finish(psi(p, q), None, self.note)
    }

    fn js(&self, (p, q): &(Vec<f64>, Vec<f64>)) -> Distance {
        finish(jensen_shannon(p, q), None, self.note)
    }

    fn chi_square(&self) -> Distance {
        let mut distance = chi_square_table(&self.baseline, &self.current);
        distance.note = distance.note.or(self.note);
        distance
    }
}
