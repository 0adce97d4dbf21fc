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
    // macOS, FreeBSD and Windows: compiled and clippy-clean (nothing runs there).
    crate::targets::run(&[])?;
    // The loom models must keep compiling too.
    run_cmd(
        cargo()
            .env("RUSTFLAGS", "--cfg tulip_loom")
            .env("CARGO_TARGET_DIR", crate::util::root().join("target/loom"))
            .args(["clippy", "--workspace", "--tests", "--", "-D", "warnings"]),
    )?;
    tests()?;
    // A short soak (20 s, 2 000 connections) on the debug build the tests just made: fails if
    // the server's memory or descriptors grow after the warm-up (xtask/src/soak.rs).
    crate::soak::run(&["--ci".to_string()])?;
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
    seeded()?;
    // The loop's tests and the networking crate once more on the portable `polling` backend
    // and on io_uring (the default is our own epoll layer): `Runner::builder()` reads
    // TULIP_BACKEND. Where the kernel refuses io_uring the reactor says so on one line and
    // runs on epoll.
    for backend in ["polling", "uring"] {
        run_cmd(cargo().env("TULIP_BACKEND", backend).args([
            "test",
            "-p",
            "tulip-tests",
            "-p",
            "tulip-net",
            "-p",
            "tulip-protocol",
        ]))?;
    }
    // The `polling` backend in oneshot mode, Windows' only mode, run on this OS (the same test
    // binaries as the run above: about 1.5 minutes on the 2-CPU machine).
    run_cmd(cargo().env("TULIP_BACKEND", "polling-oneshot").args([
        "test",
        "-p",
        "tulip-tests",
        "-p",
        "tulip-net",
    ]))?;
    run_cmd(
        cargo()
            .env("RUSTDOCFLAGS", "-D warnings")
            .args(["doc", "--workspace", "--no-deps"]),
    )?;
    // The workspace build turns tulip-net's `tls` on (the benches want it): its docs must
    // also hold without it.
    run_cmd(cargo().env("RUSTDOCFLAGS", "-D warnings").args([
        "doc",
        "-p",
        "tulip-net",
        "--no-deps",
    ]))?;
    features()?;
    deny()?;
    run_cmd(cargo().args(["check", "-p", "tulip-benches", "--benches"]))?;
    // The README's main job, the tour (in the debug build the tests already made; the README
    // runs it with --release, which only changes its timings).
    run_cmd(cargo().args(["run", "-p", "tulip", "--example", "tour"]))?;
    crate::tidy::run()?;
    Ok(())
}

/// The loop, task, sync, queue and time test files of tests/ that run under seeded schedules
/// (docs/reliability.md, "Seeded schedules"). The network, process and signal files are left
/// out: their order is the kernel's more than the loop's, and the budget is small.
const SEEDED_FILES: &[&str] = &[
    "rt_callbacks",
    "rt_debug",
    "rt_fairness",
    "rt_future",
    "rt_run",
    "rt_seeded",
    "queue_loop",
    "sync_loop",
    "task_cancel",
    "task_cooperative",
    "task_eager",
    "task_hooks",
    "task_introspect",
    "task_locals",
    "task_panic",
    "task_spawn",
    "time_interval",
    "time_sleep",
    "time_virtual",
    "time_wait_idle",
];

/// The behavioural tests under a few seeded schedules (`TULIP_SEED`): three seeds on one
/// worker, one on two. About 15 s a run on 2 cores once the tests are built (they are: the
/// runs above built them with the same flags).
fn seeded() -> Result<(), String> {
    for (seed, workers) in [("1", "1"), ("2", "1"), ("3", "1"), ("4", "2")] {
        eprintln!("xtask: behavioural tests under TULIP_SEED={seed} TULIP_WORKERS={workers}");
        let mut cmd = cargo();
        cmd.env("TULIP_SEED", seed)
            .env("TULIP_WORKERS", workers)
            .args(["test", "-p", "tulip-tests"]);
        for file in SEEDED_FILES {
            cmd.args(["--test", file]);
        }
        run_cmd(&mut cmd)?;
    }
    Ok(())
}

/// The README's test command, exactly: `cargo test --workspace` (unit, integration and doc
/// tests of every crate).
pub(crate) fn tests() -> Result<(), String> {
    run_cmd(cargo().args(["test", "--workspace"]))
}

/// The `tracing` and `log` features, off in the workspace build: lints and their tests.
fn features() -> Result<(), String> {
    let lint = |args: &[&str]| {
        let mut cmd = cargo();
        cmd.arg("clippy").args(args).args(["--", "-D", "warnings"]);
        run_cmd(&mut cmd)
    };
    lint(&[
        "-p",
        "tulip-executor",
        "--all-targets",
        "--features",
        "tracing,log",
    ])?;
    lint(&["-p", "tulip-executor", "--all-targets", "--features", "log"])?;
    lint(&["-p", "tulip", "--features", "tracing,log"])?;
    lint(&["-p", "tulip-net", "--all-targets", "--features", "tracing"])?;
    run_cmd(cargo().args([
        "test",
        "-p",
        "tulip-net",
        "--features",
        "tracing",
        "--test",
        "tracing",
    ]))?;
    run_cmd(cargo().args([
        "test",
        "-p",
        "tulip-executor",
        "--features",
        "tracing",
        "--test",
        "tracing",
    ]))?;
    run_cmd(cargo().args([
        "test",
        "-p",
        "tulip-executor",
        "--features",
        "log",
        "--test",
        "log",
    ]))
}

fn deny() -> Result<(), String> {
    if succeeds(cargo().args(["deny", "--version"])) {
        run_cmd(cargo().args(["deny", "check", "licenses", "bans", "sources"]))?;
        advisories()
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

/// The RustSec advisory check, offline, against the snapshot of the database that CI machines
/// have beside the repository (`../shared/advisory-db`, see /work/shared/ADVISORY-DB.md); where
/// it is absent, `cargo deny check advisories` (with the network) is the maintainer's command.
pub(crate) fn advisories() -> Result<(), String> {
    let root = crate::util::root();
    let snapshot = root.join("../shared/advisory-db");
    if !snapshot.is_dir() {
        println!(
            "skipped: no advisory database snapshot at ../shared/advisory-db \
             (with the network: cargo deny check advisories)"
        );
        return Ok(());
    }
    // cargo-deny reads the database only as a git repository, in a folder named for its URL,
    // under deny.toml's `db-path`.
    let db = root.join("target/advisory-db/advisory-db-3157b0e258782691");
    if db.exists() {
        std::fs::remove_dir_all(&db).map_err(|e| format!("{}: {e}", db.display()))?;
    }
    std::fs::create_dir_all(db.parent().expect("has a parent"))
        .map_err(|e| format!("{}: {e}", db.display()))?;
    run_cmd(
        std::process::Command::new("cp")
            .arg("-r")
            .arg(&snapshot)
            .arg(&db),
    )?;
    let git = |args: &[&str]| {
        let mut c = std::process::Command::new("git");
        c.arg("-C").arg(&db).args(args);
        c
    };
    run_cmd(&mut git(&["init", "-q"]))?;
    run_cmd(&mut git(&["add", "-A"]))?;
    run_cmd(&mut git(&[
        "-c",
        "user.name=ci",
        "-c",
        "user.email=ci@localhost",
        "commit",
        "-qm",
        "snapshot",
    ]))?;
    // --offline needs every platform's crates in the local registry.
    run_cmd(cargo().args(["fetch"]))?;
    run_cmd(cargo().args(["deny", "--offline", "check", "advisories"]))
}
