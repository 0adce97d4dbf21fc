//! Miri, loom and ThreadSanitizer runs.

use std::process::Command;

use crate::util::{cargo, nightly_cargo, root, run, succeeds};

/// Crates with `unsafe` code, whose tests Miri checks.
const MIRI_CRATES: &[&str] = &["tulip-executor"];

fn nightly_has(component: &str) -> bool {
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

pub(crate) fn miri(_args: &[String]) -> Result<(), String> {
    if !nightly_has("miri") {
        println!(
            "skipped: no nightly toolchain with miri \
             (rustup component add miri rust-src --toolchain nightly)"
        );
        return Ok(());
    }
    run(nightly_cargo().args(["miri", "setup"]))?;
    for krate in MIRI_CRATES {
        run(nightly_cargo()
            .env("MIRIFLAGS", "-Zmiri-symbolic-alignment-check")
            .env("CARGO_TARGET_DIR", root().join("target/miri"))
            .args(["miri", "test", "-p", krate, "--lib", "--tests"]))?;
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
    Ok(())
}

/// Seeds for the many-schedules Miri pass (about 5 s each on 2 cores).
const MIRI_SEEDS: u32 = 16;

/// Crates whose loom models also run their dependencies in loom mode.
const DEP_MODELS: &[&str] = &["tulip-executor"];

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
            .env("LOOM_MAX_PREEMPTIONS", "2")
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
