//! Fuzz target: see `tulip_fuzz::addr` (fuzz/src/addr.rs) for what it checks.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| tulip_fuzz::addr::run(data));
