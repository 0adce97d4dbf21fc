//! `cargo xtask fuzz`: the cargo-fuzz targets in fuzz/, each for a bounded time.
//!
//! The targets are built with plain nightly cargo and the flags cargo-fuzz passes
//! (SanitizerCoverage for libFuzzer, AddressSanitizer, debug assertions), so cargo-fuzz need
//! not be installed (it takes minutes to build); `cd fuzz && cargo +nightly fuzz run TARGET`
//! works as well. Inputs found are kept in fuzz/corpus/TARGET (not committed); the saved
//! inputs of fuzz/regressions/TARGET seed each run, and tests/fuzz_models.rs replays them on
//! stable.

use crate::util::{root, run};

/// The targets, in fuzz/fuzz_targets/.
pub(crate) const TARGETS: &[&str] = &["stream_reader", "timer_wheel", "queue", "addr"];

/// Seconds per target when none are given.
const DEFAULT_SECONDS: u64 = 60;

const USAGE: &str = "usage: cargo xtask fuzz [--seconds N] [TARGET..]";

fn host_target() -> String {
    format!("{}-unknown-linux-gnu", std::env::consts::ARCH)
}

/// Builds every target; returns the directory holding the binaries.
fn build() -> Result<std::path::PathBuf, String> {
    let target = host_target();
    let dir = root().join("target/fuzz");
    // What cargo-fuzz passes for libFuzzer's inline 8-bit counters and comparison tracing.
    let flags = [
        "-Cpasses=sancov-module",
        "-Cllvm-args=-sanitizer-coverage-level=4",
        "-Cllvm-args=-sanitizer-coverage-inline-8bit-counters",
        "-Cllvm-args=-sanitizer-coverage-pc-table",
        "-Cllvm-args=-sanitizer-coverage-trace-compares",
        "--cfg",
        "fuzzing",
        "-Cdebug-assertions",
        "-Coverflow-checks",
        "-Zsanitizer=address",
    ]
    .join(" ");
    run(crate::util::nightly_cargo()
        .current_dir(root().join("fuzz"))
        .env("RUSTFLAGS", flags)
        .env("CARGO_TARGET_DIR", &dir)
        // Its own workspace: the main one's CARGO_* profile settings do not apply.
        .env_remove("CARGO_PROFILE_DEV_DEBUG")
        .args(["build", "--release", "--bins", "--target", &target]))?;
    Ok(dir.join(target).join("release"))
}

pub(crate) fn run_fuzz(args: &[String]) -> Result<(), String> {
    let mut seconds = DEFAULT_SECONDS;
    let mut targets = Vec::new();
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--seconds" => {
                seconds = it
                    .next()
                    .and_then(|s| s.parse().ok())
                    .ok_or_else(|| format!("--seconds needs a number\n{USAGE}"))?;
            }
            t if TARGETS.contains(&t) => targets.push(t.to_string()),
            other => {
                return Err(format!(
                    "unknown fuzz target or option `{other}` (targets: {})\n{USAGE}",
                    TARGETS.join(", ")
                ))
            }
        }
    }
    if targets.is_empty() {
        targets = TARGETS.iter().map(|s| s.to_string()).collect();
    }
    if !cfg!(target_os = "linux") || !crate::sanitizers::nightly_has("rustc") {
        println!("skipped: fuzzing needs a nightly toolchain on Linux (rustup toolchain install nightly)");
        return Ok(());
    }
    let bin = build()?;
    let fuzz = root().join("fuzz");
    let mut failed = Vec::new();
    for t in &targets {
        let corpus = fuzz.join("corpus").join(t);
        let artifacts = fuzz.join("artifacts").join(t);
        let seeds = fuzz.join("regressions").join(t);
        for d in [&corpus, &artifacts] {
            std::fs::create_dir_all(d).map_err(|e| format!("{}: {e}", d.display()))?;
        }
        println!("== fuzz {t} for {seconds} s");
        let mut cmd = std::process::Command::new(bin.join(t));
        cmd.env("ASAN_OPTIONS", "detect_leaks=1")
            .arg(format!("-max_total_time={seconds}"))
            .arg("-max_len=4096")
            .arg("-rss_limit_mb=2048")
            .arg("-timeout=10")
            .arg("-print_final_stats=1")
            .arg(format!("-artifact_prefix={}/", artifacts.display()))
            .arg(&corpus);
        if seeds.is_dir() {
            cmd.arg(&seeds);
        }
        if let Err(e) = run(&mut cmd) {
            eprintln!(
                "xtask: {e}\n  the input is in {}; copy it to {} so that `cargo test` replays it",
                artifacts.display(),
                seeds.display()
            );
            failed.push(t.clone());
        }
    }
    if failed.is_empty() {
        Ok(())
    } else {
        Err(format!("fuzz targets failed: {}", failed.join(", ")))
    }
}
