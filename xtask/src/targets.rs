//! `cargo xtask targets`: tulip compiles, clippy-clean, for the platforms CI cannot run.
//!
//! For each foreign target (macOS, FreeBSD, Windows) it checks the facade with its default
//! features and runs clippy on the workspace's library crates with `-D warnings`. Only the
//! target's standard library is needed (`rustup target add`, done here when missing); nothing
//! is linked or run. Left out, and why:
//!
//! - the `tls` feature: ring builds C and assembly for the target, which needs a C
//!   cross-compiler these machines do not have;
//! - `tulip-tests` (it turns `tls` on, and its tests are Linux's) and `tulip-benches` (a Linux
//!   harness: raw epoll, `sched_getcpu`).
//!
//! Without rustup (a toolchain from a distribution), the step says so and is skipped.

use crate::util::{cargo, root, run as run_cmd};

/// The targets checked: one per kqueue family member CI cannot run, and Windows (IOCP).
pub(crate) const TARGETS: &[&str] = &[
    "x86_64-apple-darwin",
    "x86_64-unknown-freebsd",
    "x86_64-pc-windows-gnu",
];

/// Installs `target`'s standard library if missing; `Ok(false)` if rustup cannot.
fn ensure_target(target: &str) -> Result<bool, String> {
    let listed = std::process::Command::new("rustup")
        .args(["target", "list", "--installed"])
        .output();
    let installed = match listed {
        Ok(out) if out.status.success() => String::from_utf8_lossy(&out.stdout).into_owned(),
        Ok(_) | Err(_) => {
            eprintln!("xtask: rustup is not available; skipping the {target} check");
            return Ok(false);
        }
    };
    if installed.lines().any(|l| l.trim() == target) {
        return Ok(true);
    }
    eprintln!("$ rustup target add {target}");
    let added = std::process::Command::new("rustup")
        .args(["target", "add", target])
        .status();
    if added.is_ok_and(|s| s.success()) {
        Ok(true)
    } else {
        eprintln!("xtask: `rustup target add {target}` failed; skipping the {target} check");
        Ok(false)
    }
}

/// Checks every target in [`TARGETS`] (or the ones named in `args`).
pub(crate) fn run(args: &[String]) -> Result<(), String> {
    let chosen: Vec<&str> = if args.is_empty() {
        TARGETS.to_vec()
    } else {
        args.iter().map(String::as_str).collect()
    };
    let dir = root().join("target/targets");
    for target in chosen {
        if !ensure_target(target)? {
            continue;
        }
        run_cmd(
            cargo()
                .env("CARGO_TARGET_DIR", &dir)
                .args(["check", "--target", target, "-p", "tulip"]),
        )?;
        run_cmd(cargo().env("CARGO_TARGET_DIR", &dir).args([
            "clippy",
            "--target",
            target,
            "--workspace",
            "--exclude",
            "tulip-tests",
            "--exclude",
            "tulip-benches",
            "--",
            "-D",
            "warnings",
        ]))?;
    }
    Ok(())
}
