//! Fuzz target: see `tulip_fuzz::reader` (fuzz/src/reader.rs) for what it checks.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| tulip_fuzz::reader::run(data));
