//! Fuzz target: see `tulip_fuzz::queue` (fuzz/src/queue.rs) for what it checks.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| tulip_fuzz::queue::run(data));
