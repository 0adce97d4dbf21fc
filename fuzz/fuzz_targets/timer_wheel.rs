//! Fuzz target: see `tulip_fuzz::wheel` (fuzz/src/wheel.rs) for what it checks.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| tulip_fuzz::wheel::run(data));
