//! criterion: the drift distances, one benchmark per method the policy can
//! name, each comparing every feature of a Model Monitor report with its
//! baseline (`trigger_decision::drift::assess`). No I/O: the statistics are
//! parsed once, outside the timing; see `trigger_bench::DriftScenario`.

mod common;

use common::ThreadCpuTime;
use criterion::{criterion_group, criterion_main, Criterion};
use std::hint::black_box;
use trigger_bench::{
    assess_drift, every_distance, wide_statistics, DriftScenario, DRIFT_METHODS, WIDE_BUCKETS, WIDE_FEATURES,
};

/// The scenario, when it has one and its policy judges drift. Otherwise the
/// reason is printed and the method skipped, rather than panicking (the
/// workspace lints keep panics out of non-test code).
fn usable(method: &str, scenario: Result<DriftScenario, String>) -> Option<DriftScenario> {
    match scenario {
        Ok(scenario) if assess_drift(&scenario).is_some() => Some(scenario),
        Ok(_) => {
            eprintln!("{method}: the scenario's policy has no [model.drift]; skipped");
            None
        }
        Err(error) => {
            eprintln!("{method}: no scenario: {error}; skipped");
            None
        }
    }
}

fn drift_assess_per_method(c: &mut Criterion<ThreadCpuTime>) {
    let mut group = c.benchmark_group("drift-assess");
    for method in DRIFT_METHODS {
        let Some(scenario) = usable(method, DriftScenario::new(method)) else {
            continue;
        };
        group.bench_function(method, |bencher| bencher.iter(|| assess_drift(black_box(&scenario))));
    }
    group.finish();
}

/// The size of the 5 ms target: 1,000 features of 10 buckets (or categories) each, every
/// distance for every feature plus Benjamini-Hochberg (target: under 5 ms);
/// and `assess`, what the drift function runs, at that size for each method.
fn drift_wide(c: &mut Criterion<ThreadCpuTime>) {
    let mut group = c.benchmark_group("drift-wide");
    group.sample_size(30);
    for (name, categorical) in [("every-distance-numeric", false), ("every-distance-categorical", true)] {
        let (baseline, current) = wide_statistics(WIDE_FEATURES, WIDE_BUCKETS, categorical);
        group.bench_function(name, |bencher| {
            bencher.iter(|| every_distance(black_box(&baseline), black_box(&current)))
        });
    }
    let (baseline, current) = wide_statistics(WIDE_FEATURES, WIDE_BUCKETS, false);
    for method in DRIFT_METHODS {
        let scenario = DriftScenario::with_statistics(method, baseline.clone(), current.clone());
        let Some(scenario) = usable(method, scenario) else {
            continue;
        };
        group.bench_function(format!("assess-{method}"), |bencher| {
            bencher.iter(|| assess_drift(black_box(&scenario)))
        });
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().with_measurement(ThreadCpuTime::default());
    targets = drift_assess_per_method, drift_wide
}
criterion_main!(benches);
