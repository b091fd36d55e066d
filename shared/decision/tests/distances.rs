//! Drift distances checked two ways: against reference values computed
//! independently with numpy and scipy (`fixtures/distances/references.json`,
//! written by `fixtures/distances/generate.py`; CI needs no Python), and by
//! properties over seeded pseudo-random and deliberately broken inputs.
//!
//! The properties are the ones the drift policy relies on: a distribution is
//! at distance 0 from itself, L-infinity and Jensen-Shannon stay in [0, 1],
//! symmetric measures are symmetric, and nothing ever returns NaN, infinity,
//! or a p-value outside [0, 1], whatever the input.

// Helpers here are test code too: a malformed fixture or a broken property
// should fail the test loudly, so they may panic and unwrap.
#![allow(clippy::panic, clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;

use serde::Deserialize;
use trigger_decision::drift::distance::{
    self, note, Bucket, Categorical, Distance, Numeric, PSI_EPSILON, ROBUST_C_ALPHA,
};

const REFERENCES: &str = include_str!("fixtures/distances/references.json");

// ---------------------------------------------------------------- fixtures

/// A float, or one of the strings generate.py writes for NaN and infinities.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum Number {
    Finite(f64),
    Special(String),
}

impl Number {
    fn get(&self) -> f64 {
        match self {
            Number::Finite(value) => *value,
            Number::Special(text) => match text.as_str() {
                "NaN" => f64::NAN,
                "Infinity" => f64::INFINITY,
                "-Infinity" => f64::NEG_INFINITY,
                other => panic!("references.json: {other:?} is not a number"),
            },
        }
    }
}

#[derive(Debug, Deserialize)]
struct References {
    psi_epsilon: f64,
    robust_c_alpha: f64,
    tolerances: BTreeMap<String, Tolerance>,
    numeric: Vec<NumericCase>,
    categorical: Vec<CategoricalCase>,
    benjamini_hochberg: Vec<BenjaminiHochbergCase>,
}

#[derive(Debug, Deserialize, Clone, Copy)]
struct Tolerance {
    abs: f64,
    rel: f64,
}

#[derive(Debug, Deserialize)]
struct NumericInput {
    buckets: Vec<[Number; 3]>,
    count: Number,
    std_dev: Option<Number>,
}

impl NumericInput {
    fn to_numeric(&self) -> Numeric {
        Numeric {
            buckets: self
                .buckets
                .iter()
                .map(|[lower, upper, count]| Bucket {
                    lower: lower.get(),
                    upper: upper.get(),
                    count: count.get(),
                })
                .collect(),
            count: self.count.get(),
            std_dev: self.std_dev.as_ref().map(Number::get),
        }
    }
}

#[derive(Debug, Deserialize)]
struct NumericCase {
    name: String,
    baseline: NumericInput,
    current: NumericInput,
    expected: BTreeMap<String, f64>,
}

#[derive(Debug, Deserialize)]
struct CategoricalCase {
    name: String,
    baseline: Vec<(String, Number)>,
    current: Vec<(String, Number)>,
    expected: BTreeMap<String, f64>,
}

fn to_categorical(counts: &[(String, Number)]) -> Categorical {
    Categorical {
        counts: counts.iter().map(|(name, count)| (name.clone(), count.get())).collect(),
    }
}

#[derive(Debug, Deserialize)]
struct BenjaminiHochbergCase {
    name: String,
    p_values: Vec<f64>,
    expected: Vec<f64>,
}

fn references() -> References {
    serde_json::from_str(REFERENCES).expect("references.json parses")
}

/// Collects every mismatch so one run reports all of them, not just the first.
#[derive(Default)]
struct Mismatches(Vec<String>);

impl Mismatches {
    fn check(&mut self, case: &str, method: &str, actual: f64, expected: f64, tolerance: Tolerance) {
        let allowed = tolerance.abs + tolerance.rel * expected.abs();
        if !actual.is_finite() || (actual - expected).abs() > allowed {
            self.0.push(format!(
                "{case} / {method}: got {actual:e}, scipy says {expected:e} (allowed ±{allowed:e})"
            ));
        }
    }

    fn assert_none(self) {
        assert!(self.0.is_empty(), "{} mismatches:\n{}", self.0.len(), self.0.join("\n"));
    }
}

fn tolerance(references: &References, method: &str) -> Tolerance {
    *references
        .tolerances
        .get(method)
        .unwrap_or_else(|| panic!("no tolerance for {method}"))
}

#[test]
fn fixture_constants_match_the_library() {
    let references = references();
    assert_eq!(references.psi_epsilon, PSI_EPSILON);
    assert_eq!(references.robust_c_alpha, ROBUST_C_ALPHA);
    // At least 12 pairs of distributions, so every measure meets skewed, shifted and degenerate shapes.
    assert!(
        references.numeric.len() >= 12,
        "only {} numeric cases",
        references.numeric.len()
    );
    assert!(
        references.categorical.len() >= 12,
        "only {} categorical cases",
        references.categorical.len()
    );
}

#[test]
fn numeric_distances_match_scipy_references() {
    let references = references();
    let mut mismatches = Mismatches::default();
    for case in &references.numeric {
        let (baseline, current) = (case.baseline.to_numeric(), case.current.to_numeric());
        // Also checks that the shared-work path agrees on every reference case.
        every_numeric(&baseline, &current);
        let chi_square = distance::chi_square_numeric(&baseline, &current);
        let computed: [(&str, f64); 7] = [
            ("linf", distance::linf_numeric(&baseline, &current, false).value),
            ("linf_robust", distance::linf_numeric(&baseline, &current, true).value),
            ("psi", distance::psi_numeric(&baseline, &current).value),
            ("js", distance::js_numeric(&baseline, &current).value),
            ("wasserstein", distance::wasserstein_numeric(&baseline, &current).value),
            ("chi_square", chi_square.value),
            ("chi_square_p", chi_square.p_value.unwrap_or(f64::NAN)),
        ];
        assert_eq!(
            case.expected.len(),
            computed.len(),
            "{}: methods in the fixture",
            case.name
        );
        for (method, actual) in computed {
            let expected = case.expected[method];
            mismatches.check(&case.name, method, actual, expected, tolerance(&references, method));
        }
    }
    mismatches.assert_none();
}

#[test]
fn categorical_distances_match_scipy_references() {
    let references = references();
    let mut mismatches = Mismatches::default();
    for case in &references.categorical {
        let (baseline, current) = (to_categorical(&case.baseline), to_categorical(&case.current));
        every_categorical(&baseline, &current);
        let chi_square = distance::chi_square_categorical(&baseline, &current);
        let computed: [(&str, f64); 5] = [
            ("linf", distance::linf_categorical(&baseline, &current).value),
            ("psi", distance::psi_categorical(&baseline, &current).value),
            ("js", distance::js_categorical(&baseline, &current).value),
            ("chi_square", chi_square.value),
            ("chi_square_p", chi_square.p_value.unwrap_or(f64::NAN)),
        ];
        assert_eq!(
            case.expected.len(),
            computed.len(),
            "{}: methods in the fixture",
            case.name
        );
        for (method, actual) in computed {
            let expected = case.expected[method];
            mismatches.check(&case.name, method, actual, expected, tolerance(&references, method));
        }
    }
    mismatches.assert_none();
}

#[test]
fn benjamini_hochberg_matches_scipy_false_discovery_control() {
    let references = references();
    let tolerance = tolerance(&references, "benjamini_hochberg");
    let mut mismatches = Mismatches::default();
    for case in &references.benjamini_hochberg {
        let adjusted = distance::benjamini_hochberg(&case.p_values);
        assert_eq!(adjusted.len(), case.expected.len(), "{}", case.name);
        for (i, (actual, expected)) in adjusted.iter().zip(&case.expected).enumerate() {
            mismatches.check(&case.name, &format!("p[{i}]"), *actual, *expected, tolerance);
        }
    }
    mismatches.assert_none();
}

// ------------------------------------------------- degenerate cases, by name

fn numeric(buckets: &[(f64, f64, f64)], count: f64, std_dev: Option<f64>) -> Numeric {
    Numeric {
        buckets: buckets
            .iter()
            .map(|&(lower, upper, count)| Bucket { lower, upper, count })
            .collect(),
        count,
        std_dev,
    }
}

fn categorical(counts: &[(&str, f64)]) -> Categorical {
    Categorical {
        counts: counts.iter().map(|&(name, count)| (name.to_string(), count)).collect(),
    }
}

fn four_buckets() -> Numeric {
    numeric(
        &[(0.0, 1.0, 10.0), (1.0, 2.0, 20.0), (2.0, 3.0, 30.0), (3.0, 4.0, 40.0)],
        100.0,
        Some(1.0),
    )
}

/// Every numerical measure, one function at a time; and checks that
/// `distance::every_numeric`, which shares its work between them, gives
/// exactly the same, so every test using this covers both.
fn every_numeric(baseline: &Numeric, current: &Numeric) -> Vec<(&'static str, Distance)> {
    let one_by_one = vec![
        ("linf", distance::linf_numeric(baseline, current, false)),
        ("linf_robust", distance::linf_numeric(baseline, current, true)),
        ("psi", distance::psi_numeric(baseline, current)),
        ("js", distance::js_numeric(baseline, current)),
        ("wasserstein", distance::wasserstein_numeric(baseline, current)),
        ("chi_square", distance::chi_square_numeric(baseline, current)),
    ];
    let all = distance::every_numeric(baseline, current);
    let together = vec![
        ("linf", all.linf),
        ("linf_robust", all.linf_robust),
        ("psi", all.psi),
        ("js", all.js),
        ("wasserstein", all.wasserstein),
        ("chi_square", all.chi_square),
    ];
    assert_eq!(together, one_by_one, "every_numeric({baseline:?}, {current:?})");
    one_by_one
}

/// As `every_numeric`, for the categorical measures and `distance::every_categorical`.
fn every_categorical(baseline: &Categorical, current: &Categorical) -> Vec<(&'static str, Distance)> {
    let one_by_one = vec![
        ("linf", distance::linf_categorical(baseline, current)),
        ("psi", distance::psi_categorical(baseline, current)),
        ("js", distance::js_categorical(baseline, current)),
        ("chi_square", distance::chi_square_categorical(baseline, current)),
    ];
    let all = distance::every_categorical(baseline, current);
    let together = vec![
        ("linf", all.linf),
        ("psi", all.psi),
        ("js", all.js),
        ("chi_square", all.chi_square),
    ];
    assert_eq!(together, one_by_one, "every_categorical({baseline:?}, {current:?})");
    one_by_one
}

#[test]
fn empty_side_gives_zero_with_no_data_note() {
    let empty = numeric(&[], 0.0, None);
    let zero_counts = numeric(&[(0.0, 1.0, 0.0)], 0.0, Some(0.0));
    for (baseline, current) in [
        (&four_buckets(), &empty),
        (&empty, &four_buckets()),
        (&zero_counts, &zero_counts),
    ] {
        for (method, result) in every_numeric(baseline, current) {
            assert_eq!(result.value, 0.0, "{method}");
            assert_eq!(result.note, Some(note::NO_DATA), "{method}");
            let expected_p = if method == "chi_square" { Some(1.0) } else { None };
            assert_eq!(result.p_value, expected_p, "{method}");
        }
    }
    for (method, result) in every_categorical(&categorical(&[("a", 3.0)]), &categorical(&[("a", 0.0)])) {
        assert_eq!((result.value, result.note), (0.0, Some(note::NO_DATA)), "{method}");
    }
}

#[test]
fn identical_distributions_give_zero_and_no_note() {
    for (method, result) in every_numeric(&four_buckets(), &four_buckets()) {
        assert_eq!(result.value, 0.0, "{method}");
        assert_eq!(result.note, None, "{method}");
    }
    assert_eq!(
        distance::chi_square_numeric(&four_buckets(), &four_buckets()).p_value,
        Some(1.0)
    );
}

#[test]
fn zero_variance_baseline_gives_one_for_wasserstein() {
    let point = numeric(&[(2.0, 2.0, 50.0)], 50.0, Some(0.0));
    let spread = numeric(&[(1.0, 3.0, 50.0)], 50.0, Some(0.58));
    let result = distance::wasserstein_numeric(&point, &spread);
    assert_eq!((result.value, result.note), (1.0, Some(note::ZERO_VARIANCE_BASELINE)));
    // The same point on both sides is no drift, scale or not.
    let result = distance::wasserstein_numeric(&point, &point);
    assert_eq!((result.value, result.note), (0.0, None));
    // A baseline that is one point but claims no std_dev gets the same answer.
    let unknown = numeric(&[(2.0, 2.0, 50.0)], 50.0, None);
    assert_eq!(distance::wasserstein_numeric(&unknown, &spread).value, 1.0);
}

#[test]
fn missing_std_dev_is_estimated_from_the_baseline_buckets() {
    // Uniform on [0, 12]: standard deviation 12 / sqrt(12) = sqrt(12).
    let baseline = numeric(&[(0.0, 12.0, 100.0)], 100.0, None);
    let shifted = numeric(&[(1.0, 13.0, 100.0)], 100.0, None);
    let result = distance::wasserstein_numeric(&baseline, &shifted);
    assert!((result.value - 1.0 / 12f64.sqrt()).abs() < 1e-12, "{result:?}");
    assert_eq!(result.note, Some(note::STD_DEV_ESTIMATED));
    // A negative or NaN std_dev is as good as missing.
    for bad in [-1.0, f64::NAN, f64::INFINITY] {
        let baseline = numeric(&[(0.0, 12.0, 100.0)], 100.0, Some(bad));
        assert_eq!(distance::wasserstein_numeric(&baseline, &shifted), result);
    }
}

#[test]
fn wasserstein_of_a_pure_shift_is_the_shift_over_the_std_dev() {
    let baseline = four_buckets();
    let mut shifted = four_buckets();
    for bucket in &mut shifted.buckets {
        bucket.lower += 0.25;
        bucket.upper += 0.25;
    }
    let result = distance::wasserstein_numeric(&baseline, &shifted);
    assert!((result.value - 0.25).abs() < 1e-12, "{result:?}");
}

#[test]
fn non_finite_bucket_is_dropped_with_a_note() {
    let mut broken = four_buckets();
    broken.buckets.push(Bucket {
        lower: 4.0,
        upper: f64::NAN,
        count: 5.0,
    });
    broken.buckets.push(Bucket {
        lower: 5.0,
        upper: 6.0,
        count: f64::INFINITY,
    });
    for (method, result) in every_numeric(&four_buckets(), &broken) {
        assert_eq!(result.value, 0.0, "{method}: the rest is identical");
        assert_eq!(result.note, Some(note::NON_FINITE_DROPPED), "{method}");
    }
}

#[test]
fn inverted_bucket_is_dropped_with_a_note() {
    let mut broken = four_buckets();
    broken.buckets.insert(
        0,
        Bucket {
            lower: 9.0,
            upper: 8.0,
            count: 5.0,
        },
    );
    let result = distance::linf_numeric(&broken, &four_buckets(), false);
    assert_eq!((result.value, result.note), (0.0, Some(note::INVERTED_BUCKET_DROPPED)));
}

#[test]
fn negative_count_is_dropped_with_a_note() {
    let mut broken = four_buckets();
    broken.buckets.push(Bucket {
        lower: 4.0,
        upper: 5.0,
        count: -3.0,
    });
    let result = distance::js_numeric(&four_buckets(), &broken);
    assert_eq!((result.value, result.note), (0.0, Some(note::NEGATIVE_COUNT_DROPPED)));
    let result = distance::linf_categorical(&categorical(&[("a", 1.0), ("b", -1.0)]), &categorical(&[("a", 2.0)]));
    assert_eq!((result.value, result.note), (0.0, Some(note::NEGATIVE_COUNT_DROPPED)));
}

#[test]
fn unsorted_buckets_equal_sorted_buckets() {
    let mut reversed = four_buckets();
    reversed.buckets.reverse();
    let other = numeric(&[(0.5, 2.0, 40.0), (2.0, 5.0, 60.0)], 100.0, Some(1.2));
    assert_eq!(every_numeric(&reversed, &other), every_numeric(&four_buckets(), &other));
}

#[test]
fn single_bucket_baseline_is_binned_below_inside_and_above() {
    let baseline = numeric(&[(0.0, 1.0, 100.0)], 100.0, Some(0.29));
    let current = numeric(&[(0.5, 1.5, 100.0)], 100.0, Some(0.29));
    let result = distance::psi_numeric(&baseline, &current);
    assert!(
        result.value > 1.0,
        "half the mass left the baseline's range: {result:?}"
    );
    assert_eq!(result.note, Some(note::SINGLE_BIN_BASELINE));
}

#[test]
fn unseen_category_counts_in_full_for_linf_and_js() {
    let baseline = categorical(&[("a", 10.0)]);
    let current = categorical(&[("b", 10.0)]);
    assert_eq!(distance::linf_categorical(&baseline, &current).value, 1.0);
    assert_eq!(distance::js_categorical(&baseline, &current).value, 1.0);
    // PSI floors the empty side at epsilon: large but finite.
    let psi = distance::psi_categorical(&baseline, &current).value;
    assert!(psi.is_finite() && psi > 10.0, "{psi}");
}

#[test]
fn one_category_has_nothing_to_test() {
    let result = distance::chi_square_categorical(&categorical(&[("x", 40.0)]), &categorical(&[("x", 60.0)]));
    assert_eq!(
        result,
        Distance {
            value: 0.0,
            p_value: Some(1.0),
            note: Some(note::TOO_FEW_CATEGORIES)
        }
    );
}

#[test]
fn small_categories_are_regrouped_with_a_note() {
    let mut baseline = vec![("big-a", 200.0), ("big-b", 150.0)];
    let mut current = vec![("big-a", 180.0), ("big-b", 170.0)];
    let rare: Vec<String> = (0..20).map(|i| format!("rare-{i}")).collect();
    for name in &rare {
        baseline.push((name, 1.0));
        current.push((name, 2.0));
    }
    let result = distance::chi_square_categorical(&categorical(&baseline), &categorical(&current));
    assert_eq!(result.note, Some(note::CATEGORIES_REGROUPED));
    assert!(result.p_value.is_some_and(|p| p > 0.0 && p < 1.0), "{result:?}");
}

#[test]
fn huge_edges_do_not_overflow() {
    let baseline = numeric(&[(-1e308, 0.0, 10.0), (0.0, 1e308, 10.0)], 20.0, Some(1e307));
    let current = numeric(&[(-1e308, 1e308, 20.0)], 20.0, Some(1e308));
    for (method, result) in every_numeric(&baseline, &current) {
        assert!(result.value.is_finite() && result.value >= 0.0, "{method}: {result:?}");
        assert_eq!(result.note, None, "{method}: {result:?}");
    }
    // The two are the same distribution (half the mass either side of 0).
    assert_eq!(distance::linf_numeric(&baseline, &current, false).value, 0.0);
}

#[test]
fn tiny_std_dev_saturates_instead_of_overflowing() {
    let baseline = numeric(&[(0.0, 1e300, 10.0)], 10.0, Some(1e-300));
    let current = numeric(&[(1e300, 2e300, 10.0)], 10.0, Some(1e-300));
    let result = distance::wasserstein_numeric(&baseline, &current);
    assert_eq!((result.value, result.note), (f64::MAX, Some(note::SATURATED)));
}

#[test]
fn many_nested_buckets_finish() {
    // Twenty thousand nested buckets: the CDF is built by one sweep, not
    // bucket by edge, so this is fast even in a debug build.
    let nested: Vec<(f64, f64, f64)> = (0..20_000).map(|i| (-f64::from(i), f64::from(i) + 1.0, 1.0)).collect();
    let baseline = numeric(&nested, 20_000.0, None);
    for (method, result) in every_numeric(&baseline, &four_buckets()) {
        assert!(result.value.is_finite(), "{method}");
    }
}

#[test]
fn chi_square_with_thousands_of_categories_is_finite() {
    let baseline: Vec<(String, f64)> = (0..5_000).map(|i| (format!("c{i}"), 10.0 + f64::from(i % 7))).collect();
    let current: Vec<(String, f64)> = (0..5_000).map(|i| (format!("c{i}"), 10.0 + f64::from(i % 5))).collect();
    let result = distance::chi_square_categorical(&Categorical { counts: baseline }, &Categorical { counts: current });
    assert!(result.value > 0.0 && result.value < 1.0, "{result:?}");
    assert!(result.p_value.is_some_and(|p| (0.0..=1.0).contains(&p)), "{result:?}");
}

// ----------------------------------------------------------------- properties

/// xorshift64*: a small deterministic generator, so every run tests the same cases.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// Uniform in [0, 1).
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn between(&mut self, low: f64, high: f64) -> f64 {
        low + (high - low) * self.unit()
    }
}

const CASES: usize = 400;

/// A numeric summary in one of several shapes: KLL-like contiguous buckets,
/// random overlapping ones, point masses, or (with `broken`) values no real
/// report has: NaN, infinities, negative counts, inverted or huge bounds.
fn random_numeric(rng: &mut Rng, broken: bool) -> Numeric {
    let shape = rng.below(4);
    let buckets_wanted = rng.below(12);
    let mut buckets = Vec::with_capacity(buckets_wanted);
    let mut edge = rng.between(-100.0, 100.0);
    for _ in 0..buckets_wanted {
        let count = if rng.below(5) == 0 {
            0.0
        } else {
            rng.between(0.0, 1000.0).round()
        };
        let bucket = match shape {
            0 => {
                let width = rng.between(0.01, 20.0);
                edge += width;
                Bucket {
                    lower: edge - width,
                    upper: edge,
                    count,
                }
            }
            1 => {
                let lower = rng.between(-50.0, 50.0);
                Bucket {
                    lower,
                    upper: lower + rng.between(0.0, 30.0),
                    count,
                }
            }
            2 => {
                let point = (rng.between(-5.0, 5.0)).round();
                Bucket {
                    lower: point,
                    upper: point,
                    count,
                }
            }
            _ => {
                let lower = rng.between(-1.0, 1.0);
                let upper = if rng.below(2) == 0 {
                    lower
                } else {
                    lower + rng.between(0.0, 2.0)
                };
                Bucket { lower, upper, count }
            }
        };
        buckets.push(bucket);
    }
    if broken {
        let nasty = [
            f64::NAN,
            f64::INFINITY,
            f64::NEG_INFINITY,
            -5.0,
            0.0,
            1e308,
            -1e308,
            1e-310,
            f64::MAX,
        ];
        for _ in 0..1 + rng.below(3) {
            let mut bucket = Bucket {
                lower: rng.between(-10.0, 10.0),
                upper: rng.between(-10.0, 10.0),
                count: 3.0,
            };
            match rng.below(3) {
                0 => bucket.lower = nasty[rng.below(nasty.len())],
                1 => bucket.upper = nasty[rng.below(nasty.len())],
                _ => bucket.count = nasty[rng.below(nasty.len())],
            }
            let at = rng.below(buckets.len() + 1);
            buckets.insert(at, bucket);
        }
    }
    let count = if broken && rng.below(3) == 0 {
        [f64::NAN, -1.0, 0.0, f64::INFINITY][rng.below(4)]
    } else {
        buckets
            .iter()
            .map(|b| b.count)
            .filter(|c| c.is_finite() && *c > 0.0)
            .sum()
    };
    let std_dev = match rng.below(5) {
        0 => None,
        1 if broken => Some([f64::NAN, -1.0, 0.0, f64::INFINITY, 1e-300][rng.below(5)]),
        _ => Some(rng.between(0.0, 30.0)),
    };
    Numeric {
        buckets,
        count,
        std_dev,
    }
}

fn random_categorical(rng: &mut Rng, broken: bool) -> Categorical {
    let names = ["a", "b", "c", "d", "e", "f", "g", "h"];
    let mut counts = Vec::new();
    for _ in 0..rng.below(10) {
        let count = match rng.below(4) {
            0 => rng.between(0.0, 4.0).round(),
            _ => rng.between(0.0, 500.0).round(),
        };
        counts.push((names[rng.below(names.len())].to_string(), count));
    }
    if broken {
        let nasty = [f64::NAN, f64::INFINITY, -3.0, 1e308, f64::MAX];
        counts.push((names[rng.below(names.len())].to_string(), nasty[rng.below(nasty.len())]));
    }
    Categorical { counts }
}

fn assert_well_formed(context: &str, method: &str, result: &Distance) {
    assert!(
        result.value.is_finite() && result.value >= 0.0,
        "{context} {method}: {result:?}"
    );
    if let Some(p) = result.p_value {
        assert!((0.0..=1.0).contains(&p), "{context} {method}: {result:?}");
    }
    if matches!(method, "linf" | "linf_robust" | "js" | "chi_square") {
        assert!(result.value <= 1.0, "{context} {method} must be in [0, 1]: {result:?}");
    }
}

#[test]
fn every_output_is_finite_and_in_range() {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    for case in 0..CASES {
        let broken = case % 2 == 1;
        let (baseline, current) = (random_numeric(&mut rng, broken), random_numeric(&mut rng, broken));
        let context = format!("case {case}: {baseline:?} vs {current:?}");
        for (method, result) in every_numeric(&baseline, &current) {
            assert_well_formed(&context, method, &result);
        }
        let (baseline, current) = (
            random_categorical(&mut rng, broken),
            random_categorical(&mut rng, broken),
        );
        let context = format!("case {case}: {baseline:?} vs {current:?}");
        for (method, result) in every_categorical(&baseline, &current) {
            assert_well_formed(&context, method, &result);
        }
    }
}

#[test]
fn distance_to_itself_is_zero() {
    let mut rng = Rng(0x0123_4567_89ab_cdef);
    for case in 0..CASES {
        let numeric = random_numeric(&mut rng, case % 2 == 1);
        for (method, result) in every_numeric(&numeric, &numeric) {
            assert_eq!(result.value, 0.0, "case {case} {method}: {numeric:?} gives {result:?}");
            if let Some(p) = result.p_value {
                assert!(p > 0.999_999, "case {case} {method}: {result:?}");
            }
        }
        let categorical = random_categorical(&mut rng, case % 2 == 1);
        for (method, result) in every_categorical(&categorical, &categorical) {
            assert_eq!(
                result.value, 0.0,
                "case {case} {method}: {categorical:?} gives {result:?}"
            );
        }
    }
}

#[test]
fn symmetric_measures_are_symmetric() {
    let mut rng = Rng(0xdead_beef_cafe_f00d);
    for case in 0..CASES {
        let broken = case % 4 == 3;
        let (a, b) = (random_numeric(&mut rng, broken), random_numeric(&mut rng, broken));
        for robust in [false, true] {
            let (forward, backward) = (
                distance::linf_numeric(&a, &b, robust),
                distance::linf_numeric(&b, &a, robust),
            );
            assert_eq!(
                forward.value, backward.value,
                "case {case} linf robust={robust}: {a:?} vs {b:?}"
            );
        }
        let (forward, backward) = (distance::js_numeric(&a, &b), distance::js_numeric(&b, &a));
        assert_eq!(forward.value, backward.value, "case {case} js: {a:?} vs {b:?}");

        let (a, b) = (
            random_categorical(&mut rng, broken),
            random_categorical(&mut rng, broken),
        );
        for (method, forward, backward) in [
            (
                "linf",
                distance::linf_categorical(&a, &b),
                distance::linf_categorical(&b, &a),
            ),
            ("js", distance::js_categorical(&a, &b), distance::js_categorical(&b, &a)),
            (
                "chi_square",
                distance::chi_square_categorical(&a, &b),
                distance::chi_square_categorical(&b, &a),
            ),
        ] {
            assert_eq!(forward.value, backward.value, "case {case} {method}: {a:?} vs {b:?}");
            assert_eq!(
                forward.p_value, backward.p_value,
                "case {case} {method}: {a:?} vs {b:?}"
            );
        }
    }
}

#[test]
fn robust_linf_never_exceeds_simple_linf() {
    let mut rng = Rng(0x5555_aaaa_1234_4321);
    for case in 0..CASES {
        let (a, b) = (random_numeric(&mut rng, false), random_numeric(&mut rng, false));
        let (simple, robust) = (
            distance::linf_numeric(&a, &b, false),
            distance::linf_numeric(&a, &b, true),
        );
        assert!(robust.value <= simple.value, "case {case}: {simple:?} {robust:?}");
    }
}

#[test]
fn linf_and_js_ignore_a_common_shift() {
    let mut rng = Rng(0x7777_1111_2222_3333);
    for case in 0..CASES {
        let (a, b) = (random_numeric(&mut rng, false), random_numeric(&mut rng, false));
        let shift = rng.between(-1000.0, 1000.0).round();
        let moved = |numeric: &Numeric| Numeric {
            buckets: numeric
                .buckets
                .iter()
                .map(|bucket| Bucket {
                    lower: bucket.lower + shift,
                    upper: bucket.upper + shift,
                    count: bucket.count,
                })
                .collect(),
            ..numeric.clone()
        };
        let (moved_a, moved_b) = (moved(&a), moved(&b));
        // Shifting rounds the edges, so compare within rounding, not exactly.
        let pairs = [
            (
                distance::linf_numeric(&a, &b, false),
                distance::linf_numeric(&moved_a, &moved_b, false),
            ),
            (distance::js_numeric(&a, &b), distance::js_numeric(&moved_a, &moved_b)),
        ];
        for (before, after) in pairs {
            assert!(
                (before.value - after.value).abs() < 1e-6,
                "case {case}: {before:?} vs {after:?}"
            );
        }
    }
}

#[test]
fn benjamini_hochberg_is_monotone_and_never_below_the_input() {
    let mut rng = Rng(0x0f0f_0f0f_f0f0_f0f0);
    for case in 0..CASES {
        let tests = rng.below(40);
        let p_values: Vec<f64> = (0..tests)
            .map(|_| match rng.below(6) {
                0 => rng.unit() * 1e-6,
                1 => 1.0,
                _ => rng.unit(),
            })
            .collect();
        let adjusted = distance::benjamini_hochberg(&p_values);
        assert_eq!(adjusted.len(), p_values.len());
        let mut order: Vec<usize> = (0..tests).collect();
        order.sort_by(|&a, &b| p_values[a].total_cmp(&p_values[b]));
        for pair in order.windows(2) {
            assert!(
                adjusted[pair[0]] <= adjusted[pair[1]],
                "case {case}: not monotone: {p_values:?} -> {adjusted:?}"
            );
        }
        for (raw, corrected) in p_values.iter().zip(&adjusted) {
            assert!(
                corrected >= raw && *corrected <= 1.0,
                "case {case}: {raw} -> {corrected}"
            );
        }
    }
}

#[test]
fn benjamini_hochberg_treats_nan_as_no_evidence() {
    let adjusted = distance::benjamini_hochberg(&[f64::NAN, 0.01, -0.5, 2.0, f64::INFINITY]);
    assert!(
        adjusted.iter().all(|p| p.is_finite() && (0.0..=1.0).contains(p)),
        "{adjusted:?}"
    );
    assert_eq!(adjusted[0], 1.0);
    assert_eq!(distance::benjamini_hochberg(&[]), Vec::<f64>::new());
}
