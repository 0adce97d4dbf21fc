//! `cargo xtask ci`: what CI runs.

use crate::util::{cargo, run as run_cmd, succeeds};

pub(crate) fn run_all() -> Result<(), String> {
    run_cmd(cargo().args(["fmt", "--all", "--", "--check"]))?;
    run_cmd(cargo().args([
        "clippy",
        "--workspace",
        "--all-targets",
        "--",
        "-D",
        "warnings",
    ]))?;
    // The loom models must keep compiling too.
    run_cmd(
        cargo()
            .env("RUSTFLAGS", "--cfg tulip_loom")
            .env("CARGO_TARGET_DIR", crate::util::root().join("target/loom"))
            .args(["clippy", "--workspace", "--tests", "--", "-D", "warnings"]),
    )?;
    tests()?;
    // The same behavioural tests on the multi-threaded loop: `tulip::run`, `Runner::new()` and
    // `#[tulip::test]` take their worker count from TULIP_WORKERS (tests of asyncio's ordering
    // pin one worker explicitly).
    run_cmd(cargo().env("TULIP_WORKERS", "2").args([
        "test",
        "-p",
        "tulip-tests",
        "-p",
        "tulip-protocol",
    ]))?;
    // The loop's tests and the networking crate once more on the portable `polling` backend
    // (the default is our own epoll layer): `Runner::builder()` reads TULIP_BACKEND.
    run_cmd(cargo().env("TULIP_BACKEND", "polling").args([
        "test",
        "-p",
        "tulip-tests",
        "-p",
        "tulip-net",
        "-p",
        "tulip-protocol",
    ]))?;
    run_cmd(
        cargo()
            .env("RUSTDOCFLAGS", "-D warnings")
            .args(["doc", "--workspace", "--no-deps"]),
    )?;
    // The workspace build turns tulip-net's `tls` on (the benches want it): its docs must
    // also hold without it.
    run_cmd(
        cargo()
            .env("RUSTDOCFLAGS", "-D warnings")
            .args(["doc", "-p", "tulip-net", "--no-deps"]),
    )?;
    deny()?;
    run_cmd(cargo().args(["check", "-p", "tulip-benches", "--benches"]))?;
    // The README's main job, the tour (in the debug build the tests already made; the README
    // runs it with --release, which only changes its timings).
    run_cmd(cargo().args(["run", "-p", "tulip", "--example", "tour"]))?;
    crate::tidy::run()?;
    Ok(())
}

/// The README's test command, exactly: `cargo test --workspace` (unit, integration and doc
/// tests of every crate).
pub(crate) fn tests() -> Result<(), String> {
    run_cmd(cargo().args(["test", "--workspace"]))
}

fn deny() -> Result<(), String> {
    if succeeds(cargo().args(["deny", "--version"])) {
        // The advisory database needs the network; licenses, bans and sources work offline.
        run_cmd(cargo().args(["deny", "check", "licenses", "bans", "sources"]))
    } else {
        eprintln!("xtask: cargo-deny is not installed; skipping (install: cargo install cargo-deny --locked)");
        Ok(())
    }
}

pub(crate) fn run(args: &[String]) -> Result<(), String> {
    match args.first().map(String::as_str) {
        None => run_all(),
        Some("test") => tests(),
        Some(other) => Err(format!(
            "unknown ci step `{other}` (try: cargo xtask ci [test])"
        )),
    }
}
