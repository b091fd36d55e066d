//! The capture-file harness: streams one Data Capture object (JSON Lines)
//! through capture-monitor's profiler as the monitor function will, in 1 MiB
//! chunks as S3 delivers them, encoding every prediction batch and the
//! partial profile as the function stores them; then prints one JSON line
//! with the records, the time and the records per second. Peak memory is
//! measured from outside (`/usr/bin/time -v`).
//!
//! `profile-capture FILE [FEATURES]` (20 numerical features by default, the
//! layout of `generate-capture`).

use std::io::Read;
use std::time::Instant;

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

const CHUNK_BYTES: usize = 1 << 20;

fn main() -> std::io::Result<()> {
    let mut arguments = std::env::args().skip(1);
    let path = arguments.next().unwrap_or_else(|| usage());
    let features = arguments
        .next()
        .map_or(Ok(20), |text| text.parse())
        .unwrap_or_else(|_| usage());
    let settings = trigger_bench::monitor::settings(features);
    let started = Instant::now();
    let mut file = std::fs::File::open(&path)?;
    let mut reader = capture_monitor::CaptureReader::new(&settings);
    let mut chunk = vec![0; CHUNK_BYTES];
    let (mut bytes_read, mut batches, mut stored) = (0usize, 0usize, 0usize);
    loop {
        let read = file.read(&mut chunk)?;
        if read == 0 {
            break;
        }
        bytes_read += read;
        reader.push(&chunk[..read]);
        while let Some(batch) = reader.next_batch() {
            batches += 1;
            stored += batch.to_bytes().map_or(0, |bytes| bytes.len());
        }
    }
    let capture = reader.finish();
    batches += capture.batches.len();
    stored += capture
        .batches
        .iter()
        .map(|batch| batch.to_bytes().map_or(0, |bytes| bytes.len()))
        .sum::<usize>();
    let partial = capture.profile.to_bytes().map_or(0, |bytes| bytes.len());
    let seconds = started.elapsed().as_secs_f64();
    println!(
        "{{\"file\":{path:?},\"bytes\":{bytes_read},\"records\":{},\"malformed\":{},\"seconds\":{seconds:.3},\"records_per_second\":{:.0},\"prediction_batches\":{batches},\"batch_bytes\":{stored},\"partial_profile_bytes\":{partial}}}",
        capture.profile.records,
        capture.malformed.count,
        capture.profile.records as f64 / seconds,
    );
    Ok(())
}

fn usage() -> ! {
    eprintln!("usage: profile-capture FILE [FEATURES]");
    std::process::exit(2)
}
