//! criterion: capture-monitor's two hot paths. `monitor-profile` streams a
//! capture object of 10,000 records of 20 CSV features through the
//! profiler, as the monitor function does per object (target: 300,000
//! records a second, i.e. under 33 ms here); `monitor-merge` is a window's
//! close for a 1,000-feature model: from 24 stored partial profiles (bytes,
//! as the function reads them from S3) to `statistics.json` (target: under
//! 50 ms), read in place as the function does, and, for comparison, by
//! decoding and merging the partials' sketches. `monitor-training-csv`
//! profiles the same 10,000 rows as a training CSV, as `retrain baseline`
//! does (no target: a baseline is built once).
//! No I/O; see `trigger_bench::monitor`.

mod common;

use common::ThreadCpuTime;
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use std::hint::black_box;
use trigger_bench::monitor::{
    capture_object, merge_to_statistics, profile_object, profile_training_csv, settings, stored_partials,
    stored_to_statistics, training_csv,
};

const RECORDS: u64 = 10_000;
/// S3 delivers an object's body in pieces of a few tens of KB; lines straddle them.
const CHUNK_BYTES: usize = 64 * 1024;

fn profile(c: &mut Criterion<ThreadCpuTime>) {
    let settings = settings(trigger_bench::monitor::CAPTURE_FEATURES);
    let object = capture_object(RECORDS, 7);
    let (records, _) = profile_object(&settings, &object, CHUNK_BYTES);
    if records != RECORDS {
        eprintln!("monitor-profile: read {records} of {RECORDS} records; skipped");
        return;
    }
    let mut group = c.benchmark_group("monitor-profile");
    group.throughput(Throughput::Elements(RECORDS));
    group.sample_size(30);
    group.bench_function("csv-20-features", |bencher| {
        bencher.iter(|| profile_object(black_box(&settings), black_box(&object), CHUNK_BYTES))
    });
    group.finish();
}

fn training(c: &mut Criterion<ThreadCpuTime>) {
    let settings = settings(trigger_bench::monitor::CAPTURE_FEATURES);
    let csv = training_csv(RECORDS, 7);
    if profile_training_csv(&settings, &csv, CHUNK_BYTES) != Some(RECORDS) {
        eprintln!("monitor-training-csv: the rows were not all read; skipped");
        return;
    }
    let mut group = c.benchmark_group("monitor-training-csv");
    group.throughput(Throughput::Elements(RECORDS));
    group.sample_size(30);
    group.bench_function("csv-20-features", |bencher| {
        bencher.iter(|| profile_training_csv(black_box(&settings), black_box(&csv), CHUNK_BYTES))
    });
    group.finish();
}

fn merge(c: &mut Criterion<ThreadCpuTime>) {
    let stored = stored_partials();
    if stored_to_statistics(&stored, 10).is_none() || merge_to_statistics(&stored, 10).is_none() {
        eprintln!("monitor-merge: the stored partials do not merge; skipped");
        return;
    }
    let mut group = c.benchmark_group("monitor-merge");
    group.sample_size(20);
    // What the function runs: the statistics read from the stored partials in place.
    group.bench_function("24-partials-1000-features", |bencher| {
        bencher.iter(|| stored_to_statistics(black_box(&stored), 10))
    });
    // The general merge (sketches rebuilt and merged), for comparison.
    group.bench_function("24-partials-1000-features-merging-sketches", |bencher| {
        bencher.iter(|| merge_to_statistics(black_box(&stored), 10))
    });
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().with_measurement(ThreadCpuTime::default());
    targets = profile, training, merge
}
criterion_main!(benches);
