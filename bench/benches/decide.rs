//! criterion: the in-process cost of one event, per delivery shape (parse the
//! JSON, decode, route, decide against a parsed policy and a synthetic
//! history). The target is under 20 µs per event; `make bench` prints the
//! medians next to the cold-start figures. No I/O: see `trigger_bench`.

mod common;

use common::ThreadCpuTime;
use criterion::{criterion_group, criterion_main, Criterion};
use std::hint::black_box;
use trigger_bench::{decode_and_decide, Scenario, Shape};
use trigger_decision::Outcome;

fn decode_and_decide_per_shape(c: &mut Criterion<ThreadCpuTime>) {
    let mut group = c.benchmark_group("decode-decide");
    for shape in Shape::ALL {
        // A shape without its scenario is skipped with the reason, rather than
        // panicking (the workspace lints keep panics out of non-test code).
        let scenario = match Scenario::for_shape(shape) {
            Ok(scenario) => scenario,
            Err(error) => {
                eprintln!("{}: no scenario: {error}; skipped", shape.name());
                continue;
            }
        };
        // Check once, outside the timing, that the event takes the path we
        // mean to time (a start), so a broken fixture is not timed as fast.
        match decode_and_decide(shape, shape.fixture(), &scenario) {
            Ok(decisions) if decisions.len() == 1 && decisions[0].outcome() == Outcome::Started => {}
            Ok(decisions) => {
                eprintln!("{}: expected one start, got {decisions:?}; skipped", shape.name());
                continue;
            }
            Err(error) => {
                eprintln!("{}: {error}; skipped", shape.name());
                continue;
            }
        }
        group.bench_function(shape.name(), |bencher| {
            bencher.iter(|| decode_and_decide(black_box(shape), black_box(shape.fixture()), &scenario))
        });
    }
    group.finish();
}

// The drift distances have their own benchmark, `benches/drift.rs`.
criterion_group! {
    name = benches;
    config = Criterion::default().with_measurement(ThreadCpuTime::default());
    targets = decode_and_decide_per_shape
}
criterion_main!(benches);
