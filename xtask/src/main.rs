//! `cargo xtask`: maintainer tasks for tulip.
//!
//! ```text
//! cargo xtask ci                 everything .ci/run runs (fmt, clippy, tests, docs, deny, benches compile, tidy)
//! cargo xtask bench [FILTER] [--quick]   side-by-side benchmarks against tokio and smol
//! cargo xtask miri               Miri on the crates with unsafe code (skips without nightly miri)
//! cargo xtask loom               loom models (cfg tulip_loom)
//! cargo xtask san                ThreadSanitizer run of the concurrency tests (nightly)
//! cargo xtask tidy               repository hygiene checks
//! cargo xtask wrk [--duration D] [--connections N] [--threads N] [--workers N]
//!                                wrk against the HTTP hello server on tulip and on tokio
//! ```

mod bench;
mod ci;
mod sanitizers;
mod tidy;
mod util;
mod wrk;

use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (cmd, rest) = match args.split_first() {
        Some((c, r)) => (c.as_str(), r),
        None => ("help", &[][..]),
    };
    let result = match cmd {
        "ci" => ci::run(rest),
        "bench" => bench::run(rest),
        "miri" => sanitizers::miri(rest),
        "loom" => sanitizers::loom(rest),
        "san" => sanitizers::tsan(rest),
        "tidy" => tidy::run(),
        "wrk" => wrk::run_wrk(rest),
        "help" | "--help" | "-h" => {
            println!("{}", HELP);
            Ok(())
        }
        other => Err(format!("unknown task `{other}`\n\n{HELP}")),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("xtask: {e}");
            ExitCode::FAILURE
        }
    }
}

const HELP: &str = "usage: cargo xtask <task>

tasks:
  ci                      fmt, clippy, tests, docs, cargo-deny, bench compile, tidy (what .ci/run runs)
  bench [FILTER] [--quick]
                          tulip vs tokio vs smol, report in target/bench-report/
  miri                    Miri on the crates with unsafe code (skipped without nightly miri)
  loom                    loom models under --cfg tulip_loom
  san                     ThreadSanitizer on the concurrency tests (skipped without nightly)
  tidy                    repository hygiene checks
  wrk [--duration 10s] [--connections 64] [--threads 2] [--workers 1]
                          wrk (apt-get install wrk) against the HTTP hello server, tulip then tokio";
