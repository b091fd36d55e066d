//! Fuzzes `trigger_events::sns::decode`: any bytes that are JSON must give
//! per-record results or an `EventError`, never a panic; an accepted event
//! holds 1 to `MAX_SNS_RECORDS` records, each a decidable signal or an error
//! naming its record.

#![no_main]

#[path = "common.rs"]
mod common;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(event) = serde_json::from_slice::<serde_json::Value>(data) else {
        return;
    };
    match trigger_events::sns::decode(&event) {
        Ok(records) => {
            assert!((1..=trigger_events::MAX_SNS_RECORDS).contains(&records.len()));
            for record in &records {
                match record {
                    Ok(signal) => common::check_signal(signal),
                    Err(error) => assert!(error.to_string().starts_with("SNS record ")),
                }
            }
        }
        Err(error) => assert!(!error.to_string().is_empty()),
    }
});
