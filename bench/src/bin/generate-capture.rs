//! Writes a synthetic Data Capture object of 20 CSV features for the
//! capture-file harness: `generate-capture OUT MEGABYTES [SEED]`. Write it
//! outside the repository (under /var/tmp); about 1,000 MB is what the
//! harness measures.

use std::io::{BufWriter, Write};

fn main() -> std::io::Result<()> {
    let mut arguments = std::env::args().skip(1);
    let (Some(path), Some(megabytes)) = (
        arguments.next(),
        arguments.next().and_then(|text| text.parse::<u64>().ok()),
    ) else {
        eprintln!("usage: generate-capture OUT MEGABYTES [SEED]");
        std::process::exit(2);
    };
    let seed = arguments.next().and_then(|text| text.parse().ok()).unwrap_or(7);
    let mut rng = trigger_bench::monitor::Rng::new(seed);
    let mut out = BufWriter::with_capacity(1 << 20, std::fs::File::create(&path)?);
    let (limit, mut written, mut records) = (megabytes << 20, 0u64, 0u64);
    while written < limit {
        let line = trigger_bench::monitor::capture_line(&mut rng, records);
        out.write_all(line.as_bytes())?;
        out.write_all(b"\n")?;
        written += line.len() as u64 + 1;
        records += 1;
    }
    out.flush()?;
    println!("{{\"file\":{path:?},\"bytes\":{written},\"records\":{records}}}");
    Ok(())
}
