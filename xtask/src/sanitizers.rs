//! Miri, loom, ThreadSanitizer, AddressSanitizer and Valgrind runs.

use std::process::Command;

use crate::util::{cargo, nightly_cargo, root, run, succeeds};

/// Crates with `unsafe` code, whose tests Miri checks (in CI).
const MIRI_CRATES: &[&str] = &["tulip-executor"];

/// With `--all`, also the primitives of tulip-sync and tulip-queue (no `unsafe` of their own,
/// but atomics, wait lists and concurrent-queue underneath: Miri checks data races and leaks).
/// Under Miri their stress files are `#![cfg(not(miri))]`, their proptests run 4 short cases,
/// thread tests fewer rounds and single-thread volume tests are ignored: both crates together
/// take about 2.5 minutes on 2 cores (the default run about 1 minute).
const MIRI_ALL_CRATES: &[&str] = &["tulip-sync", "tulip-queue"];

pub(crate) fn nightly_has(component: &str) -> bool {
    match component {
        "miri" => succeeds(nightly_cargo().args(["miri", "--version"])),
        "rust-src" => {
            succeeds(
                Command::new("rustup")
                    .args(["component", "list", "--toolchain", "nightly", "--installed"])
                    .stdout(std::process::Stdio::piped()),
            ) && Command::new("rustup")
                .args(["component", "list", "--toolchain", "nightly", "--installed"])
                .output()
                .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).contains("rust-src"))
        }
        _ => succeeds(Command::new("rustup").args(["run", "nightly", "rustc", "--version"])),
    }
}

pub(crate) fn miri(args: &[String]) -> Result<(), String> {
    let all = match args {
        [] => false,
        [a] if a == "--all" => true,
        _ => return Err("usage: cargo xtask miri [--all]".into()),
    };
    if !nightly_has("miri") {
        println!(
            "skipped: no nightly toolchain with miri \
             (rustup component add miri rust-src --toolchain nightly)"
        );
        return Ok(());
    }
    run(nightly_cargo().args(["miri", "setup"]))?;
    let extra = if all { MIRI_ALL_CRATES } else { &[] };
    for krate in MIRI_CRATES.iter().chain(extra) {
        // The proptests of tulip-sync and tulip-queue look for their regression files
        // (getcwd), which isolation refuses: that is an error they handle, not a stop.
        let flags = if *krate == "tulip-executor" {
            "-Zmiri-symbolic-alignment-check"
        } else {
            "-Zmiri-symbolic-alignment-check -Zmiri-isolation-error=warn-nobacktrace"
        };
        run(nightly_cargo()
            .env("MIRIFLAGS", flags)
            .env("CARGO_TARGET_DIR", root().join("target/miri"))
            .args(["miri", "test", "-p", krate, "--lib", "--tests"]))?;
    }
    // tulip-queue's `unsafe` modules, the lock-free oneshot and the single slot of a bound of
    // one, are checked in every run (with `--all` the loop above ran the whole crate already).
    if !all {
        run(nightly_cargo()
            .env(
                "MIRIFLAGS",
                "-Zmiri-symbolic-alignment-check -Zmiri-isolation-error=warn-nobacktrace",
            )
            .env("CARGO_TARGET_DIR", root().join("target/miri"))
            .args(["miri", "test", "-p", "tulip-queue", "--test", "oneshot"]))?;
        run(nightly_cargo()
            .env(
                "MIRIFLAGS",
                "-Zmiri-symbolic-alignment-check -Zmiri-isolation-error=warn-nobacktrace",
            )
            .env("CARGO_TARGET_DIR", root().join("target/miri"))
            .args(["miri", "test", "-p", "tulip-queue", "--lib", "slot::"]))?;
    }
    // The cross-thread tests again under many schedules: Miri's scheduler and weak-memory
    // emulation are seeded, and one seed saw nothing of the lost cancel wake-up that seeds 3-7
    // turned into a deadlock.
    run(nightly_cargo()
        .env(
            "MIRIFLAGS",
            format!("-Zmiri-symbolic-alignment-check -Zmiri-many-seeds=0..{MIRI_SEEDS}"),
        )
        .env("CARGO_TARGET_DIR", root().join("target/miri"))
        .args([
            "miri",
            "test",
            "-p",
            "tulip-executor",
            "--test",
            "executor",
            "multi_thread",
        ]))?;
    // The work-stealing ring's owner-against-thieves stress test, under the same seeds.
    run(nightly_cargo()
        .env(
            "MIRIFLAGS",
            format!("-Zmiri-symbolic-alignment-check -Zmiri-many-seeds=0..{MIRI_SEEDS}"),
        )
        .env("CARGO_TARGET_DIR", root().join("target/miri"))
        .args([
            "miri",
            "test",
            "-p",
            "tulip-executor",
            "--lib",
            "ring_stress",
        ]))?;
    Ok(())
}

/// Seeds for the many-schedules Miri pass (about 5 s each on 2 cores).
const MIRI_SEEDS: u32 = 16;

/// Crates whose loom models also run their dependencies in loom mode.
const DEP_MODELS: &[&str] = &["tulip-executor"];

/// Crates whose models run with three preemptions instead of two (a few seconds for the
/// queue's, about 15 for the executor's, about 80 for the sync crate's): at two, the queue's
/// models missed a lost wake-up that three found (a spuriously polled getter swallowing the
/// next put's notification; see tulip-queue's `waiters.rs`). Every crate with models is here
/// now; the constant stays so that a new crate's models can start at two.
const DEEPER_MODELS: &[&str] = &["tulip-executor", "tulip-queue", "tulip-sync"];

/// Crates with a `tests/loom.rs` model.
fn loom_crates() -> Vec<String> {
    let mut out = Vec::new();
    if let Ok(dir) = std::fs::read_dir(root().join("crates")) {
        for entry in dir.flatten() {
            if entry.path().join("tests/loom.rs").exists() {
                out.push(entry.file_name().to_string_lossy().into_owned());
            }
        }
    }
    out.sort();
    out
}

pub(crate) fn loom(args: &[String]) -> Result<(), String> {
    let crates = if args.is_empty() {
        loom_crates()
    } else {
        args.to_vec()
    };
    for krate in crates {
        // The executor's models also switch concurrent-queue to loom's atomics (`--cfg loom`
        // plus its `loom` feature, which the executor enables under that cfg).
        let flags = if DEP_MODELS.contains(&krate.as_str()) {
            "--cfg tulip_loom --cfg loom"
        } else {
            "--cfg tulip_loom"
        };
        run(cargo()
            .env("RUSTFLAGS", flags)
            .env(
                "LOOM_MAX_PREEMPTIONS",
                if DEEPER_MODELS.contains(&krate.as_str()) {
                    "3"
                } else {
                    "2"
                },
            )
            .env("LOOM_MAX_BRANCHES", "10000")
            .env(
                "CARGO_TARGET_DIR",
                root().join(format!("target/loom-{krate}")),
            )
            .args(["test", "--release", "-p", &krate, "--test", "loom"]))?;
    }
    Ok(())
}

/// Crates whose concurrency tests run under ThreadSanitizer.
const TSAN_CRATES: &[&str] = &["tulip-executor", "tulip-sync", "tulip-queue"];

pub(crate) fn tsan(_args: &[String]) -> Result<(), String> {
    if !nightly_has("rustc") || !nightly_has("rust-src") {
        println!(
            "skipped: no nightly toolchain with rust-src (ThreadSanitizer needs -Zbuild-std; \
             rustup component add rust-src --toolchain nightly)"
        );
        return Ok(());
    }
    let target = format!("{}-unknown-linux-gnu", std::env::consts::ARCH);
    for krate in TSAN_CRATES {
        // TSan reports make the process exit 66 even when libtest printed "ok": the exit status
        // is what counts, and `run` checks it.
        run(nightly_cargo()
            .env("RUSTFLAGS", "-Zsanitizer=thread --cfg tulip_tsan")
            .env("RUSTDOCFLAGS", "-Zsanitizer=thread")
            .env("TSAN_OPTIONS", "halt_on_error=1")
            .env("CARGO_TARGET_DIR", root().join("target/tsan"))
            .args([
                "test",
                "-Zbuild-std",
                "--target",
                &target,
                "-p",
                krate,
                "--tests",
            ]))?;
    }
    Ok(())
}

/// What AddressSanitizer runs: `(crate, TULIP_BACKEND, test targets)`. The executor's own
/// tests, and the reactor and networking tests on io_uring, the backend with the most
/// `unsafe` (buffers and sockaddrs the kernel writes into while a submission is in flight;
/// the reactor's own tests stress completion reads, sends and multishot accepts with owners
/// dropped mid-flight).
const ASAN_RUNS: &[(&str, Option<&str>, &[&str])] = &[
    ("tulip-executor", None, &["--lib", "--tests"]),
    ("tulip-reactor", Some("uring"), &["--lib", "--tests"]),
    ("tulip-net", Some("uring"), &["--lib", "--tests"]),
    ("tulip-net", None, &["--lib", "--tests"]),
    (
        "tulip-tests",
        Some("uring"),
        &[
            "--test",
            "net_streams",
            "--test",
            "net_tcp",
            "--test",
            "net_udp",
            "--test",
            "net_unix",
            "--test",
            "net_write_accept",
            "--test",
            "rt_fd",
            "--test",
            "net_sock",
            "--test",
            "time_sleep",
        ],
    ),
];

/// `cargo xtask asan`: AddressSanitizer (with LeakSanitizer) over the crates with `unsafe`.
pub(crate) fn asan(_args: &[String]) -> Result<(), String> {
    if !cfg!(target_os = "linux") || !nightly_has("rustc") || !nightly_has("rust-src") {
        println!(
            "skipped: no nightly toolchain with rust-src on Linux (AddressSanitizer builds std \
             with -Zbuild-std; rustup component add rust-src --toolchain nightly)"
        );
        return Ok(());
    }
    let target = format!("{}-unknown-linux-gnu", std::env::consts::ARCH);
    for (krate, backend, tests) in ASAN_RUNS {
        let mut cmd = nightly_cargo();
        cmd.env("RUSTFLAGS", "-Zsanitizer=address")
            .env("RUSTDOCFLAGS", "-Zsanitizer=address")
            // Leaks are errors too; a report makes the process exit non-zero.
            .env(
                "ASAN_OPTIONS",
                "detect_leaks=1:halt_on_error=1:detect_stack_use_after_return=1",
            )
            // No backtraces: symbolising one in an ASan build of std takes ~15 s, on the loop's
            // thread when a test's handler panics on purpose, which ran a loaded machine past
            // net_streams' 20 s bounds.
            .env("RUST_BACKTRACE", "0")
            .env("CARGO_TARGET_DIR", root().join("target/asan"))
            .args(["test", "-Zbuild-std", "--target", &target, "-p", krate])
            .args(*tests);
        match backend {
            Some(b) => cmd.env("TULIP_BACKEND", b),
            None => cmd.env_remove("TULIP_BACKEND"),
        };
        run(&mut cmd)?;
    }
    Ok(())
}

/// Test binaries of tulip-tests that Valgrind runs: the loop, tasks, timers, sync, queues and
/// stream servers and connections, a cross-section of the behavioural suite that finishes in
/// minutes under Valgrind's ~30x slowdown.
const VALGRIND_TESTS: &[&str] = &[
    "rt_run",
    "task_spawn",
    "task_cancel",
    "time_virtual",
    "sync_loop",
    "queue_loop",
    "net_streams",
];

/// `cargo xtask valgrind`: Valgrind's leak check over part of the behavioural suite.
pub(crate) fn valgrind(_args: &[String]) -> Result<(), String> {
    if !succeeds(Command::new("valgrind").arg("--version")) {
        println!("skipped: valgrind is not installed (apt-get install valgrind)");
        return Ok(());
    }
    // The ordinary debug build (Valgrind needs no instrumentation): shared with `cargo test`.
    let mut build = cargo();
    build.args([
        "test",
        "--no-run",
        "-p",
        "tulip-tests",
        "--message-format=json",
    ]);
    for t in VALGRIND_TESTS {
        build.args(["--test", t]);
    }
    eprintln!("$ {}", crate::util::describe(&build));
    let out = build
        .stderr(std::process::Stdio::inherit())
        .output()
        .map_err(|e| format!("cannot run cargo: {e}"))?;
    if !out.status.success() {
        return Err("building the tests for valgrind failed".into());
    }
    // The test executables, from cargo's JSON messages.
    let mut exes = Vec::new();
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        if !line.contains("\"reason\":\"compiler-artifact\"") {
            continue;
        }
        let Some(at) = line.find("\"executable\":\"") else {
            continue;
        };
        let rest = &line[at + "\"executable\":\"".len()..];
        // Test harnesses live in deps/; the package's example binaries (built for the tests
        // that start them) do not.
        if let Some(end) = rest.find('"') {
            if rest[..end].contains("/deps/") {
                exes.push(rest[..end].to_string());
            }
        }
    }
    if exes.len() != VALGRIND_TESTS.len() {
        return Err(format!(
            "expected {} test executables, found {exes:?}",
            VALGRIND_TESTS.len()
        ));
    }
    for exe in exes {
        run(Command::new("valgrind")
            .args([
                "--leak-check=full",
                "--error-exitcode=1",
                // Definite and indirect leaks are errors; "possibly lost" blocks belong to
                // threads still parked at exit (libtest's, the blocking pool's).
                "--errors-for-leak-kinds=definite,indirect",
                "--show-leak-kinds=definite,indirect",
                "--quiet",
                &exe,
                // One test at a time: Valgrind serialises threads anyway.
                "--test-threads=1",
            ])
            // Valgrind's slowdown: virtual time is unaffected, real timeouts get room.
            .env("TULIP_WORKERS", "1"))?;
    }
    Ok(())
}
