//! criterion: a backtest at the size it must handle in under 5 s on one
//! core: one year of 1-minute values for 50 alarms (26 million points)
//! evaluated with CloudWatch's rules, 50 models with weekly schedules, and
//! the merged timeline replayed through the real decision engine with 2 h
//! runs (`50-alarms-1-year-1-minute-engine`), and through an engine that
//! only counts (`50-alarms-1-year-1-minute`, the backtest crate's own
//! share); see `trigger_bench::backtest`. Also: reading one alarm's year
//! of values from `timestamp,value` CSV.

mod common;

use common::ThreadCpuTime;
use criterion::{criterion_group, criterion_main, Criterion};
use std::hint::black_box;
use std::time::Duration;
use trigger_bench::backtest::{
    evaluate_and_replay, evaluate_and_replay_with_engine, parse_year_of_csv, year_of_csv, BacktestScenario, ALARMS,
    DAYS,
};

fn evaluate_and_replay_a_year(c: &mut Criterion<ThreadCpuTime>) {
    // Built once, outside the timing, as parsing would be.
    let scenario = match BacktestScenario::new(ALARMS, DAYS) {
        Ok(scenario) => scenario,
        Err(error) => {
            eprintln!("no scenario: {error}; skipped");
            return;
        }
    };
    match evaluate_and_replay(&scenario) {
        Ok(delivered) => eprintln!("{delivered} events delivered per replay"),
        Err(error) => {
            eprintln!("the replay failed: {error}; skipped");
            return;
        }
    }
    match evaluate_and_replay_with_engine(&scenario) {
        Ok(replayed) => eprintln!("the engine decided {replayed:?} per replay"),
        Err(error) => {
            eprintln!("the replay through the engine failed: {error}; skipped");
            return;
        }
    }
    let mut group = c.benchmark_group("backtest");
    // An iteration takes about 0.15 s of CPU: ten samples of a few iterations each.
    group.sample_size(10).measurement_time(Duration::from_secs(15));
    group.bench_function("50-alarms-1-year-1-minute", |bencher| {
        bencher.iter(|| evaluate_and_replay(black_box(&scenario)))
    });
    group.bench_function("50-alarms-1-year-1-minute-engine", |bencher| {
        bencher.iter(|| evaluate_and_replay_with_engine(black_box(&scenario)))
    });
    // Reading one alarm's year from CSV, for the command's `timestamp,value` input.
    let text = year_of_csv(&scenario);
    group.bench_function("parse-csv-1-alarm-1-year-1-minute", |bencher| {
        bencher.iter(|| parse_year_of_csv(black_box(&text)))
    });
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().with_measurement(ThreadCpuTime::default());
    targets = evaluate_and_replay_a_year
}
criterion_main!(benches);
