//! The logic of tulip's fuzz targets, as plain functions of a byte string.
//!
//! Each module's `run(data)` decodes `data` into a sequence of operations, applies them to
//! the real thing and to a simple model, and panics on the first disagreement. The fuzz
//! targets (fuzz_targets/) call these functions under libFuzzer; the main workspace's
//! `tests/fuzz_models.rs` includes the same files and runs them from proptest and from the
//! saved inputs in `fuzz/regressions/<target>/`.

pub mod addr;
pub mod input;
pub mod queue;
pub mod reader;
pub mod wheel;
