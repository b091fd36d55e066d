//! Fuzzes `trigger_events::alarm::decode`: any bytes that are JSON must give a
//! signal or an `EventError`, never a panic; an accepted signal must keep the
//! decoders' promises and be decidable.

#![no_main]

#[path = "common.rs"]
mod common;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(event) = serde_json::from_slice::<serde_json::Value>(data) else {
        return;
    };
    match trigger_events::alarm::decode(&event) {
        Ok(signal) => common::check_signal(&signal),
        Err(error) => assert!(!error.to_string().is_empty()),
    }
});
