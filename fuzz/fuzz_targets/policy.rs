//! Fuzzes `trigger_decision::Policy::from_toml`: any UTF-8 text must give a
//! policy or a `PolicyError`, never a panic; an accepted policy has at least
//! one model, unique model names and a positive maximum event age.

#![no_main]

use libfuzzer_sys::fuzz_target;
use std::collections::HashSet;
use trigger_decision::{Policy, Span};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match Policy::from_toml(text) {
        Ok(policy) => {
            assert!(!policy.models.is_empty());
            let names: HashSet<&str> = policy.models.iter().map(|model| model.name.as_str()).collect();
            assert_eq!(names.len(), policy.models.len());
            assert!(policy.models.iter().all(|model| model.max_event_age > Span::ZERO));
        }
        Err(error) => assert!(!error.to_string().is_empty()),
    }
});
