//! criterion: the drift distances, one benchmark per method the policy can
//! name, each comparing every feature of a Model Monitor report with its
//! baseline (`trigger_decision::drift::assess`). No I/O: the statistics are
//! parsed once, outside the timing; see `trigger_bench::DriftScenario`.

use criterion::{criterion_group, criterion_main, Criterion};
use std::hint::black_box;
use trigger_bench::{assess_drift, DriftScenario, DRIFT_METHODS};

fn drift_assess_per_method(c: &mut Criterion) {
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

criterion_group!(benches, drift_assess_per_method);
criterion_main!(benches);
