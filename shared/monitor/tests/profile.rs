//! Profiles: merging in any grouping equals one pass; statistics.json reads
//! back through the drift function's reader to the same numbers and drifts
//! when (and only when) a feature shifts; the quantile sketch's accuracy.

// Code outside the #[test] functions panics on purpose: a panic is a failed test.
#![allow(clippy::panic, clippy::unwrap_used, clippy::expect_used)]

mod common;

use capture_monitor::statistics::equal_width_buckets;
use capture_monitor::{FeatureSummary, MonitorSettings, NumericProfile, Profile, Statistics};
use proptest::prelude::*;
use trigger_decision::drift::distance::{self, Bucket, Numeric};
use trigger_decision::drift::{assess, DriftReport, FeatureDistribution};
use trigger_decision::policy::DriftPolicy;
use trigger_decision::{Path, Timestamp};

fn settings() -> MonitorSettings {
    common::housing("0")
}

/// A profile of the given (sqft, zipcode) rows; `None` is a missing value.
fn profile_of(rows: &[(Option<f64>, Option<String>)]) -> Profile {
    let mut profile = Profile::new(&settings());
    for (sqft, zipcode) in rows {
        for feature in profile.features.iter_mut() {
            match (&mut feature.summary, feature.name.as_str()) {
                (FeatureSummary::Numeric(numeric), "sqft") => numeric.add(*sqft),
                (FeatureSummary::Numeric(numeric), _) => numeric.add(sqft.map(|value| value / 1000.0)),
                (FeatureSummary::Categorical(categorical), _) => categorical.add(zipcode.as_deref()),
            }
        }
        profile.rows += 1;
        profile.records += 1;
    }
    profile
}

fn numeric<'a>(profile: &'a Profile, name: &str) -> &'a NumericProfile {
    match profile.feature(name) {
        Some(FeatureSummary::Numeric(numeric)) => numeric,
        other => panic!("{name}: {other:?}"),
    }
}

/// Everything merging must keep exactly.
fn exact_parts(profile: &Profile) -> Vec<String> {
    let mut parts = vec![format!("{} {} {}", profile.records, profile.rows, profile.malformed)];
    for feature in &profile.features {
        parts.push(match &feature.summary {
            FeatureSummary::Numeric(n) => format!(
                "{} {} {} {:?} {:?} {} {} {}",
                feature.name,
                n.present,
                n.missing,
                n.min().map(f64::to_bits),
                n.max().map(f64::to_bits),
                n.sum().to_bits(),
                n.sum_of_squares().to_bits(),
                n.integral
            ),
            FeatureSummary::Categorical(c) => {
                format!("{} {} {} {:?}", feature.name, c.present, c.missing, c.categories())
            }
        });
    }
    parts
}

fn row() -> impl Strategy<Value = (Option<f64>, Option<String>)> {
    let value = prop_oneof![
        8 => (-1e6f64..1e6).prop_map(Some),
        1 => (0u32..5).prop_map(|whole| Some(f64::from(whole))),
        1 => Just(Some(-0.0)),
        1 => prop::sample::select(vec![f64::NAN, f64::INFINITY, f64::NEG_INFINITY]).prop_map(Some),
        1 => Just(None),
    ];
    let zipcode = prop::option::of(prop::sample::select(vec!["98103", "98115", "98117", ""]).prop_map(String::from));
    (value, zipcode)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Any split into partials, merged in any order and grouping, equals one pass exactly.
    #[test]
    fn merging_in_any_grouping_equals_one_pass(
        rows in prop::collection::vec(row(), 0..400),
        cuts in prop::collection::vec(any::<prop::sample::Index>(), 0..6),
        order in any::<prop::sample::Index>(),
    ) {
        let one_pass = profile_of(&rows);
        let mut cuts: Vec<usize> = cuts.iter().map(|cut| cut.index(rows.len() + 1)).collect();
        cuts.extend([0, rows.len()]);
        cuts.sort_unstable();
        let mut partials: Vec<Profile> = cuts.windows(2).map(|w| profile_of(&rows[w[0]..w[1]])).collect();
        let first = order.index(partials.len());
        partials.rotate_left(first);
        // Left fold, and a tree: ((p0 + p1) + (p2 + p3)) ...
        let folded = Profile::merge_all(&partials).unwrap().unwrap();
        let mut level = partials.clone();
        while level.len() > 1 {
            level = level.chunks(2).map(|pair| Profile::merge_all(pair).unwrap().unwrap()).collect();
        }
        // Stored and read back, as the function does.
        let stored: Vec<Profile> = partials.iter().map(|p| Profile::from_bytes(&p.to_bytes().unwrap()).unwrap()).collect();
        let from_storage = Profile::merge_all(&stored).unwrap().unwrap();
        prop_assert_eq!(exact_parts(&folded), exact_parts(&one_pass));
        prop_assert_eq!(exact_parts(&level[0]), exact_parts(&one_pass));
        prop_assert_eq!(exact_parts(&from_storage), exact_parts(&one_pass));
        // Buckets: within the sketches' rank error of each other (exact below k = 320 values).
        let (merged, single) = (numeric(&folded, "sqft"), numeric(&one_pass, "sqft"));
        let allowed = 2.0 * merged.sketch().rank_error() * merged.present as f64;
        let (mut left, mut right) = (0i64, 0i64);
        for (a, b) in equal_width_buckets(merged, 10).iter().zip(&equal_width_buckets(single, 10)) {
            left += a.count as i64;
            right += b.count as i64;
            prop_assert!(((left - right).abs() as f64) <= allowed.max(0.0));
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Values added in blocks of any size give the exact parts of adding them
    /// one by one, and buckets within the sketches' rank error.
    #[test]
    fn adding_in_blocks_equals_adding_one_by_one(
        rows in prop::collection::vec(row(), 0..3000),
        block in 1usize..1500,
    ) {
        let one_by_one = profile_of(&rows);
        let mut blocks = Profile::new(&settings());
        let values: Vec<Option<f64>> = rows.iter().map(|(sqft, _)| *sqft).collect();
        for (feature, scale) in blocks.features.iter_mut().zip([1.0, 1000.0, 1000.0]) {
            let FeatureSummary::Numeric(numeric) = &mut feature.summary else { continue };
            // A `None` is a missing value, which `add_all` does not take; the profile of `profile_of` counts it here.
            values.iter().filter(|value| value.is_none()).for_each(|_| numeric.add(None));
            let present = values.iter().flatten().map(|value| value / scale);
            // Non-finite values count as missing, in a block of their own (taken one by one) or not.
            let (finite, other): (Vec<f64>, Vec<f64>) = present.partition(|value| value.is_finite());
            finite.chunks(block).for_each(|chunk| numeric.add_all(chunk));
            other.chunks(3).for_each(|chunk| numeric.add_all(chunk));
        }
        for feature in blocks.features.iter_mut() {
            if let FeatureSummary::Categorical(categorical) = &mut feature.summary {
                rows.iter().for_each(|(_, zipcode)| categorical.add(zipcode.as_deref()));
            }
        }
        blocks.rows = one_by_one.rows;
        blocks.records = one_by_one.records;
        prop_assert_eq!(exact_parts(&blocks), exact_parts(&one_by_one));
        let (left, right) = (numeric(&blocks, "sqft"), numeric(&one_by_one, "sqft"));
        prop_assert_eq!(left.sketch().count(), right.sketch().count());
        let allowed = 2.0 * left.sketch().rank_error() * left.present as f64;
        let (mut below_left, mut below_right) = (0i64, 0i64);
        for (a, b) in equal_width_buckets(left, 10).iter().zip(&equal_width_buckets(right, 10)) {
            below_left += a.count as i64;
            below_right += b.count as i64;
            prop_assert!(((below_left - below_right).abs() as f64) <= allowed.max(0.0));
        }
    }
}

/// Many rows per partial: the sketches compact, so buckets agree within the rank error.
#[test]
fn merged_buckets_stay_within_the_sketch_error() {
    let mut state = 1u64;
    let mut next = move || {
        state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (state >> 11) as f64 / (1u64 << 53) as f64
    };
    let rows: Vec<(Option<f64>, Option<String>)> = (0..60_000)
        .map(|_| (Some(1000.0 + 3000.0 * next() * next()), None))
        .collect();
    let one_pass = profile_of(&rows);
    let partials: Vec<Profile> = rows.chunks(7_000).map(profile_of).collect();
    let merged = Profile::merge_all(partials.iter().rev()).unwrap().unwrap();
    assert_eq!(exact_parts(&merged), exact_parts(&one_pass));
    let error = numeric(&merged, "sqft").sketch().rank_error();
    let (left, right) = (
        equal_width_buckets(numeric(&merged, "sqft"), 20),
        equal_width_buckets(numeric(&one_pass, "sqft"), 20),
    );
    let mut cumulative = (0i64, 0i64);
    for (merged_bucket, one_pass_bucket) in left.iter().zip(&right) {
        assert_eq!(
            (merged_bucket.lower_bound, merged_bucket.upper_bound),
            (one_pass_bucket.lower_bound, one_pass_bucket.upper_bound)
        );
        cumulative.0 += merged_bucket.count as i64;
        cumulative.1 += one_pass_bucket.count as i64;
        // Each side is within the rank error of the truth, so within twice that of each other.
        assert!(
            ((cumulative.0 - cumulative.1).abs() as f64) <= 2.0 * error * 60_000.0,
            "{left:?} {right:?}"
        );
    }
}

#[test]
fn statistics_read_back_through_the_drift_reader_to_the_same_numbers() {
    let rows: Vec<(Option<f64>, Option<String>)> = (0..500)
        .map(|index| {
            (
                Some(1000.0 + f64::from(index) * 4.0),
                Some(["98103", "98115"][index as usize % 2].to_string()),
            )
        })
        .chain([(None, None), (Some(f64::NAN), Some(String::new()))])
        .collect();
    let profile = profile_of(&rows);
    let written = Statistics::of(&profile, 10);
    let json: serde_json::Value = serde_json::from_str(&written.to_json().unwrap()).unwrap();
    let read = trigger_events::monitor::statistics(&json, "s3://reports/statistics.json").unwrap();
    let names: Vec<&str> = read.features.iter().map(|feature| feature.name.as_str()).collect();
    assert_eq!(names, ["sqft", "bedrooms", "bathrooms", "zipcode"]);
    let Some(FeatureDistribution::Numeric(sqft)) = read.feature("sqft") else {
        panic!("sqft")
    };
    assert_eq!(sqft.count, 500.0);
    assert_eq!(sqft.std_dev, numeric(&profile, "sqft").std_dev());
    assert_eq!(sqft.buckets.len(), 10);
    assert_eq!((sqft.buckets[0].lower, sqft.buckets[9].upper), (1000.0, 2996.0));
    // 500 evenly spaced values (exact sketch): 50 per bucket.
    assert!(
        sqft.buckets.iter().all(|bucket| bucket.count == 50.0),
        "{:?}",
        sqft.buckets
    );
    let Some(FeatureDistribution::Categorical(zipcode)) = read.feature("zipcode") else {
        panic!("zipcode")
    };
    assert_eq!(
        zipcode.counts,
        [("98103".to_string(), 250.0), ("98115".to_string(), 250.0)]
    );
    assert_eq!(json["dataset"]["item_count"], 502);
    assert_eq!(json["features"][0]["numerical_statistics"]["common"]["num_missing"], 2);
    assert_eq!(json["features"][0]["inferred_type"], "Integral");
    assert_eq!(json["features"][3]["string_statistics"]["common"]["num_missing"], 2);
}

#[test]
fn finer_buckets_when_asked_and_one_bucket_for_a_constant() {
    let profile = profile_of(&(0..100).map(|index| (Some(f64::from(index)), None)).collect::<Vec<_>>());
    assert_eq!(equal_width_buckets(numeric(&profile, "sqft"), 50).len(), 50);
    let constant = profile_of(&[(Some(7.0), None), (Some(7.0), None)]);
    let buckets = equal_width_buckets(numeric(&constant, "sqft"), 10);
    assert_eq!(buckets.len(), 1);
    assert_eq!(
        (buckets[0].lower_bound, buckets[0].upper_bound, buckets[0].count),
        (7.0, 7.0, 2)
    );
    assert!(equal_width_buckets(numeric(&profile_of(&[(None, None)]), "sqft"), 10).is_empty());
}

fn drift_policy() -> DriftPolicy {
    DriftPolicy {
        method: None,
        robust: Some(false),
        threshold: Some(0.1),
        severe: 0.3,
        features: vec!["*".into()],
        critical: vec![],
        min_drifted: 1,
        rehearsal_fraction: 0.1,
        baseline: None,
        reports: None,
    }
}

#[test]
fn a_shifted_feature_drifts_and_an_unshifted_one_does_not() {
    let mut state = 9u64;
    let mut normal = move || {
        let mut unit = || {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((state >> 11) as f64 + 0.5) / (1u64 << 53) as f64
        };
        let (u, v) = (unit(), unit());
        (-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos()
    };
    // sqft shifts by one standard deviation; bedrooms keeps its distribution; bathrooms and zipcode are constant.
    let mut baseline = Profile::new(&settings());
    let mut current = Profile::new(&settings());
    for _ in 0..20_000 {
        for (profile, shift) in [(&mut baseline, 0.0), (&mut current, 500.0)] {
            let sqft = 2000.0 + 500.0 * normal() + shift;
            let bedrooms = (3.0 + normal()).round();
            for feature in profile.features.iter_mut() {
                match (&mut feature.summary, feature.name.as_str()) {
                    (FeatureSummary::Numeric(n), "sqft") => n.add(Some(sqft)),
                    (FeatureSummary::Numeric(n), "bedrooms") => n.add(Some(bedrooms)),
                    (FeatureSummary::Numeric(n), _) => n.add(Some(2.0)),
                    (FeatureSummary::Categorical(c), _) => c.add(Some("98103")),
                }
            }
            profile.rows += 1;
        }
    }
    let read = |profile: &Profile| {
        let json: serde_json::Value = serde_json::from_str(&Statistics::of(profile, 10).to_json().unwrap()).unwrap();
        trigger_events::monitor::statistics(&json, "s3://reports/statistics.json").unwrap()
    };
    let report = DriftReport {
        report_id: "capture-monitor-test".into(),
        model: Some("housing-price".into()),
        source: "s3://reports/statistics.json".into(),
        observed_at: Timestamp::from_millis(0),
        baseline: read(&baseline),
        current: read(&current),
        constraints: None,
        path: Path::S3,
    };
    let assessment = assess(&report, &drift_policy());
    let drifted: Vec<&str> = assessment.drifted().map(|feature| feature.feature.as_str()).collect();
    assert_eq!(drifted, ["sqft"], "{assessment:?}");
}

/// Accuracy targets: rank error at most 1% against exact on 1,000,000 values,
/// and a drift distance from the profile's buckets within 0.01 of the distance
/// from exact buckets; with the values added one by one, and in blocks as the
/// capture reader adds them (`NumericProfile::add_all`).
#[test]
fn quantile_rank_error_and_bucket_distance_on_a_million_values() {
    for feed in [Feed::OneByOne, Feed::Blocks] {
        check_accuracy_on_a_million_values(feed);
    }
}

/// How a test hands values to a numerical profile.
#[derive(Debug, Clone, Copy)]
enum Feed {
    OneByOne,
    /// 4,096 at a time, as the capture reader does for 20 features.
    Blocks,
}

fn check_accuracy_on_a_million_values(feed: Feed) {
    let generate = |seed: u64, shift: f64| -> Vec<f64> {
        let mut state = seed;
        (0..1_000_000)
            .map(|_| {
                state = state
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                let unit = ((state >> 11) as f64 + 0.5) / (1u64 << 53) as f64;
                // A skewed distribution with ties: prices rounded to the hundred.
                (((-unit.ln()) * 150_000.0 + 200_000.0 + shift) / 100.0).round() * 100.0
            })
            .collect()
    };
    let mut worst_rank_error: f64 = 0.0;
    let mut distances = Vec::new();
    let base_values = generate(3, 0.0);
    let base_exact = exact_numeric(&base_values, 10);
    let base_profile = profile_values(&base_values, feed);
    for (seed, shift) in [(4, 0.0), (5, 30_000.0)] {
        let values = generate(seed, shift);
        let profile = profile_values(&values, feed);
        let mut sorted = values.clone();
        sorted.sort_by(f64::total_cmp);
        for step in 1..1000 {
            let point = sorted[step * sorted.len() / 1000];
            let exact = sorted.partition_point(|value| *value < point) as f64;
            let estimated = numeric(&profile, "sqft").sketch().counts_below(&[point], false)[0] as f64;
            worst_rank_error = worst_rank_error.max((estimated - exact).abs() / sorted.len() as f64);
        }
        let sketched =
            distance::linf_numeric(&sketched_numeric(&base_profile), &sketched_numeric(&profile), false).value;
        let exact = distance::linf_numeric(&base_exact, &exact_numeric(&values, 10), false).value;
        distances.push((sketched, exact));
    }
    assert!(worst_rank_error <= 0.01, "{feed:?}: rank error {worst_rank_error}");
    for (sketched, exact) in &distances {
        assert!(
            (sketched - exact).abs() <= 0.01,
            "{feed:?}: L-inf {sketched} from the profile, {exact} exact"
        );
    }
    assert!(distances[1].1 > 0.1, "the shifted case drifts: {distances:?}");
}

fn profile_values(values: &[f64], feed: Feed) -> Profile {
    let mut profile = Profile::new(&settings());
    if let Some(FeatureSummary::Numeric(numeric)) = profile.features.iter_mut().next().map(|f| &mut f.summary) {
        match feed {
            Feed::OneByOne => values.iter().for_each(|value| numeric.add(Some(*value))),
            Feed::Blocks => values.chunks(4096).for_each(|block| numeric.add_all(block)),
        }
    }
    profile
}

fn sketched_numeric(profile: &Profile) -> Numeric {
    let sqft = numeric(profile, "sqft");
    let buckets = equal_width_buckets(sqft, 10)
        .iter()
        .map(|bucket| Bucket {
            lower: bucket.lower_bound,
            upper: bucket.upper_bound,
            count: bucket.count as f64,
        })
        .collect();
    Numeric {
        buckets,
        count: sqft.present as f64,
        std_dev: sqft.std_dev(),
    }
}

/// Exact equal-width buckets, counted value by value, with the same edges and bounds.
fn exact_numeric(values: &[f64], count: usize) -> Numeric {
    let (min, max) = values.iter().fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
        (lo.min(*v), hi.max(*v))
    });
    let edges: Vec<f64> = (0..count)
        .map(|index| min + (max - min) * (index as f64 / count as f64))
        .chain([max])
        .collect();
    let mut counts = vec![0.0; count];
    for value in values {
        let index = edges[1..count].partition_point(|edge| edge <= value);
        counts[index] += 1.0;
    }
    let buckets = (0..count)
        .map(|index| Bucket {
            lower: edges[index],
            upper: edges[index + 1],
            count: counts[index],
        })
        .collect();
    Numeric {
        buckets,
        count: values.len() as f64,
        std_dev: None,
    }
}

/// The window's path (statistics read from the stored partials in place)
/// against merging the partials: exact parts identical, buckets within the
/// rank error, and identical while the sketches are exact.
#[test]
fn statistics_from_stored_partials_agree_with_merging_them() {
    let mut state = 11u64;
    let mut next = move || {
        state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (state >> 11) as f64 / (1u64 << 53) as f64
    };
    for rows_per_partial in [50, 5_000] {
        let partials: Vec<Profile> = (0..6)
            .map(|partial| {
                let rows: Vec<(Option<f64>, Option<String>)> = (0..rows_per_partial)
                    .map(|row| {
                        let sqft = (row % 17 != 0).then(|| 500.0 * f64::from(partial) + 3000.0 * next());
                        (sqft, Some(["98103", "98115", "98117"][row as usize % 3].to_string()))
                    })
                    .collect();
                profile_of(&rows)
            })
            .collect();
        let stored: Vec<Vec<u8>> = partials.iter().map(|profile| profile.to_bytes().unwrap()).collect();
        let borrowed: Vec<&[u8]> = stored.iter().map(Vec::as_slice).collect();
        let from_stored = capture_monitor::statistics_from_stored(&borrowed, 10).unwrap().unwrap();
        // The same in two passes, one partial at a time.
        let mut first_pass = capture_monitor::WindowStatistics::new(10);
        borrowed.iter().for_each(|bytes| first_pass.add(bytes).unwrap());
        let mut second_pass = first_pass.into_counting();
        borrowed.iter().for_each(|bytes| second_pass.count(bytes).unwrap());
        assert_eq!(second_pass.finish().unwrap().unwrap(), from_stored);
        // A second pass that misses a partial is caught.
        let mut first_pass = capture_monitor::WindowStatistics::new(10);
        borrowed.iter().for_each(|bytes| first_pass.add(bytes).unwrap());
        let mut second_pass = first_pass.into_counting();
        borrowed[1..].iter().for_each(|bytes| second_pass.count(bytes).unwrap());
        let error = second_pass.finish().unwrap_err().to_string();
        assert!(error.contains("the second pass counted"), "{error}");
        let merged = Statistics::of(&Profile::merge_all(&partials).unwrap().unwrap(), 10);
        let without_buckets = |statistics: &Statistics| {
            let mut statistics = statistics.clone();
            for feature in &mut statistics.features {
                if let Some(numerical) = &mut feature.numerical_statistics {
                    numerical.distribution.kll.buckets.clear();
                }
            }
            statistics
        };
        assert_eq!(without_buckets(&from_stored), without_buckets(&merged));
        let total = merged.dataset.item_count as f64;
        for (left, right) in from_stored.features.iter().zip(&merged.features) {
            let (Some(left), Some(right)) = (&left.numerical_statistics, &right.numerical_statistics) else {
                continue;
            };
            let (left, right) = (&left.distribution.kll.buckets, &right.distribution.kll.buckets);
            assert_eq!(left.len(), right.len());
            let (mut a, mut b) = (0i64, 0i64);
            for (x, y) in left.iter().zip(right) {
                a += x.count as i64;
                b += y.count as i64;
                if rows_per_partial * 6 < 320 {
                    assert_eq!(x, y);
                }
                assert!(((a - b).abs() as f64) <= 2.0 * 0.0084 * total, "{left:?} {right:?}");
            }
        }
    }
    assert!(capture_monitor::statistics_from_stored(&[], 10).unwrap().is_none());
    let other = capture_monitor::MonitorSettings::from_section(&capture_monitor::MonitorSection {
        features: vec!["sqft".into()],
        categorical: vec![],
        ..common::section("regression", "0")
    })
    .unwrap();
    let (a, b) = (
        profile_of(&[]).to_bytes().unwrap(),
        Profile::new(&other).to_bytes().unwrap(),
    );
    let error = capture_monitor::statistics_from_stored(&[&a, &b], 10).unwrap_err();
    assert!(error.to_string().contains("different features"), "{error}");
}
