//! `cargo xtask`: maintainer tasks for tulip.
//!
//! ```text
//! cargo xtask ci                 everything .ci/run runs (fmt, clippy, tests, docs, deny, benches compile, tidy)
//! cargo xtask bench [FILTER] [--quick]   side-by-side benchmarks against tokio and smol
//! cargo xtask callgrind [FILTER]   instructions per operation (ct) against tokio and smol
//! cargo xtask ps PID|SOCKET [--json]   task dump of a running tulip process (TULIP_DUMP_SOCKET)
//! cargo xtask miri [--all]       Miri on the crates with unsafe code; --all: tulip-sync, tulip-queue too
//! cargo xtask loom               loom models (cfg tulip_loom)
//! cargo xtask san                ThreadSanitizer run of the concurrency tests (nightly)
//! cargo xtask asan               AddressSanitizer over the unsafe crates, io_uring included (nightly)
//! cargo xtask valgrind           Valgrind leak check over part of the behavioural suite
//! cargo xtask fuzz [--seconds N] [TARGET..]   the fuzz targets in fuzz/, N s each (nightly)
//! cargo xtask targets [TARGET..] check and clippy for macOS, FreeBSD and Windows
//! cargo xtask soak [--minutes N] [--ci]
//!                                a loaded server watched for memory/descriptor growth
//! cargo xtask tidy               repository hygiene checks
//! cargo xtask wrk [--hyper] [--duration D] [--connections N] [--threads N] [--workers N]
//!                                wrk against the HTTP hello server on tulip and on tokio
//! ```

mod bench;
mod callgrind;
mod ci;
mod fuzz;
mod ps;
mod sanitizers;
mod soak;
mod targets;
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
        "callgrind" => callgrind::run(rest),
        "ps" => ps::run(rest),
        "miri" => sanitizers::miri(rest),
        "loom" => sanitizers::loom(rest),
        "san" => sanitizers::tsan(rest),
        "asan" => sanitizers::asan(rest),
        "valgrind" => sanitizers::valgrind(rest),
        "fuzz" => fuzz::run_fuzz(rest),
        "targets" => targets::run(rest),
        "soak" => soak::run(rest),
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
  ci                      fmt, clippy, foreign targets, tests (all three Linux backends), docs,
                          cargo-deny, bench compile, tidy (what .ci/run runs)
  bench [FILTER] [--quick]
                          tulip vs tokio vs smol, report in target/bench-report/
  callgrind [FILTER..]    instructions per operation of the executor, queue, time and sync
                          workloads (ct, valgrind), tulip vs tokio vs smol, as a table
  ps PID|SOCKET [--json]  the task dump of a tulip process started with TULIP_DUMP_SOCKET=1
                          (or =PATH): asyncio 3.14's `python -m asyncio ps`
  miri [--all]            Miri on the crates with unsafe code (skipped without nightly miri);
                          --all adds tulip-sync and tulip-queue (long: a maintainer's run)
  loom                    loom models under --cfg tulip_loom
  san                     ThreadSanitizer on the concurrency tests (skipped without nightly)
  asan                    AddressSanitizer (and leak check) over tulip-executor, tulip-reactor and
                          tulip-net, on io_uring too (skipped without nightly rust-src)
  valgrind                valgrind --leak-check=full over part of tests/ (skipped without valgrind)
  fuzz [--seconds 60] [TARGET..]
                          the fuzz targets (fuzz/) for N seconds each (skipped without nightly)
  targets [TARGET..]      cargo check and clippy -D warnings for macOS, FreeBSD and Windows
                          (installs the targets with rustup; skipped without it)
  soak [--minutes 10] [--ci] [--connections 19000] [--active 1000] [--clients 4] [--debug]
                          an echo server with timers, subprocesses and signals under ~19 000
                          connections; fails if memory or descriptors grow after the warm-up;
                          CSV and SVG in target/soak/ (--ci: 20 s, 2 000 connections)
  tidy                    repository hygiene checks
  wrk [--hyper] [--duration 10s] [--connections 64] [--threads 2] [--workers 1]
                          wrk (apt-get install wrk) against the HTTP hello server, tulip then tokio
                          (--hyper: the hyper 1.x server on tulip-hyper, then on hyper-util/tokio)";
