//! The fuzz targets' model checks (fuzz/src/), run on stable: from proptest's random inputs,
//! and from every saved input in `fuzz/regressions/<target>/` — a crash libFuzzer finds is
//! copied there and stays a test (docs/reliability.md, "Fuzzing and sanitizers").

// The files are the fuzz crate's modules, included as they are: `crate::input` resolves to
// the module below, as it does in the fuzz crate.
#[allow(
    unreachable_pub,
    dead_code,
    reason = "the fuzz crate's public items, private here"
)]
#[path = "../fuzz/src/addr.rs"]
mod addr;
#[allow(
    unreachable_pub,
    dead_code,
    reason = "the fuzz crate's public items, private here"
)]
#[path = "../fuzz/src/input.rs"]
mod input;
#[allow(
    unreachable_pub,
    dead_code,
    reason = "the fuzz crate's public items, private here"
)]
#[path = "../fuzz/src/queue.rs"]
mod queue;
#[allow(
    unreachable_pub,
    dead_code,
    reason = "the fuzz crate's public items, private here"
)]
#[path = "../fuzz/src/reader.rs"]
mod reader;
#[allow(
    unreachable_pub,
    dead_code,
    reason = "the fuzz crate's public items, private here"
)]
#[path = "../fuzz/src/wheel.rs"]
mod wheel;

use std::path::PathBuf;

use proptest::prelude::*;

/// Runs `check` on every file saved under `fuzz/regressions/<target>/`; returns how many.
fn regressions(target: &str, check: fn(&[u8])) -> usize {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../fuzz/regressions")
        .join(target);
    let mut n = 0;
    let Ok(entries) = std::fs::read_dir(&dir) else {
        return 0;
    };
    let mut paths: Vec<PathBuf> = entries.flatten().map(|e| e.path()).collect();
    paths.sort();
    for path in paths {
        let data = std::fs::read(&path).unwrap();
        eprintln!("{}", path.display());
        check(&data);
        n += 1;
    }
    n
}

#[test]
fn stream_reader_regressions() {
    assert!(regressions("stream_reader", reader::run) > 0);
}

#[test]
fn timer_wheel_regressions() {
    assert!(regressions("timer_wheel", wheel::run) > 0);
}

#[test]
fn queue_regressions() {
    assert!(regressions("queue", queue::run) > 0);
}

#[test]
fn addr_regressions() {
    assert!(regressions("addr", addr::run) > 0);
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn stream_reader_matches_its_model(data in proptest::collection::vec(any::<u8>(), 0..2048)) {
        reader::run(&data);
    }

    #[test]
    fn timer_wheel_matches_its_model(data in proptest::collection::vec(any::<u8>(), 0..4096)) {
        wheel::run(&data);
    }

    #[test]
    fn queue_matches_its_model(data in proptest::collection::vec(any::<u8>(), 0..2048)) {
        queue::run(&data);
    }

    #[test]
    fn addr_parsing_follows_its_rules(text in "[0-9a-f:.\\[\\]%x]{0,40}", port in any::<u16>()) {
        let mut data = vec![1, port as u8, (port >> 8) as u8];
        data.extend_from_slice(text.as_bytes());
        addr::run(&data);
    }
}
