//! criterion: the drift distances, one benchmark per method the policy can
//! name, each comparing every feature of a Model Monitor report with its
//! baseline (`trigger_decision::drift::assess`). No I/O: the statistics are
//! parsed once, outside the timing; see `trigger_bench::DriftScenario`.

mod common;

use common::ThreadCpuTime;
use criterion::{criterion_group, criterion_main, Criterion};
use std::hint::black_box;
use trigger_bench::{
    assess_drift, every_distance, wide_report, wide_statistics, DriftScenario, DRIFT_METHODS, WIDE_BUCKETS,
    WIDE_FEATURES,
};
use trigger_decision::drift::assess;
use trigger_decision::Policy;

fn drift_assess_per_method(c: &mut Criterion<ThreadCpuTime>) {
    let mut group = c.benchmark_group("drift-assess");
    for method in DRIFT_METHODS {
        // A method without its scenario is skipped with the reason, rather
        // than panicking (the workspace lints keep panics out of non-test code).
        let scenario = match DriftScenario::new(method) {
            Ok(scenario) if assess_drift(&scenario).is_some() => scenario,
            Ok(_) => {
                eprintln!("{method}: the scenario's policy has no [model.drift]; skipped");
                continue;
            }
            Err(error) => {
                eprintln!("{method}: no scenario: {error}; skipped");
                continue;
            }
        };
        group.bench_function(method, |bencher| bencher.iter(|| assess_drift(black_box(&scenario))));
    }
    group.finish();
}

/// Issue 3's size: 1,000 features of 10 buckets (or categories) each, every
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
    let report = wide_report(baseline, current);
    for method in DRIFT_METHODS {
        let policy = Policy::from_toml(&format!(
            "[[model]]\nname = \"housing-price\"\npipeline = \"housing-price-retrain\"\n\
             [model.drift]\nmethod = \"{method}\"\nfeatures = [\"*\"]\n"
        ));
        let Some(drift) = policy
            .ok()
            .and_then(|policy| policy.models.into_iter().next())
            .and_then(|model| model.drift)
        else {
            eprintln!("{method}: no [model.drift] policy; skipped");
            continue;
        };
        group.bench_function(format!("assess-{method}"), |bencher| {
            bencher.iter(|| assess(black_box(&report), &drift))
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
