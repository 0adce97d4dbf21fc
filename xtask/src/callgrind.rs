//! `cargo xtask callgrind [FILTER..]`: instructions per operation, tulip against tokio and smol.
//!
//! Wall-clock ratios on a shared 2-core machine move by tens of percent from run to run;
//! instruction counts do not. For each single-threaded (`ct`) workload of the executor, queue,
//! time and sync areas this runs the bench binary under `valgrind --tool=callgrind` at `n` and
//! `2n` (`--warmup 0 --reps 1`), once per runtime, and divides the difference by the added
//! operations, so start-up and shutdown cancel out. The table (markdown) goes to stdout and to
//! `target/bench-report/callgrind.md`. Instructions are not time (a cache miss or a
//! `futex` costs no more instructions than an add), so this is the profile behind the bench's
//! `ct` ratios, not a replacement for them; the two-worker flavour is not measured here
//! (callgrind serialises threads).

use std::path::Path;
use std::process::{Command, Stdio};

use crate::util::{cargo, describe, root};

/// A workload measured here: its bench binary, its name, the `n` of the smaller run, and the
/// operations one unit of `n` makes (`yield_many`: 1 000 tasks each yield `n` times).
struct Row {
    bin: &'static str,
    name: &'static str,
    n: u64,
    ops_per_n: u64,
    unit: &'static str,
}

const fn row(
    bin: &'static str,
    name: &'static str,
    n: u64,
    ops_per_n: u64,
    unit: &'static str,
) -> Row {
    Row {
        bin,
        name,
        n,
        ops_per_n,
        unit,
    }
}

/// Every executor, queue, time and sync workload, in the bench report's order.
const ROWS: &[Row] = &[
    row("executor_spawn", "spawn_many", 10_000, 1, "Ir/task"),
    row("executor_spawn", "chained_spawn", 10_000, 1, "Ir/spawn"),
    row("executor_spawn", "yield_many", 20, 1_000, "Ir/yield"),
    row("executor_spawn", "spawn_many_spawned", 10_000, 1, "Ir/task"),
    row(
        "executor_spawn",
        "chained_spawn_spawned",
        10_000,
        1,
        "Ir/spawn",
    ),
    row("queue_mpmc", "ping_pong", 20_000, 1, "Ir/rt"),
    row("queue_mpmc", "ping_pong_oneshot", 20_000, 1, "Ir/rt"),
    row("queue_mpmc", "mpsc", 10_000, 4, "Ir/msg"),
    row("queue_mpmc", "spsc", 20_000, 1, "Ir/msg"),
    row("queue_mpmc", "req_resp", 20_000, 1, "Ir/req"),
    row("queue_mpmc", "ping_pong_spawned", 20_000, 1, "Ir/rt"),
    row(
        "queue_mpmc",
        "ping_pong_oneshot_spawned",
        20_000,
        1,
        "Ir/rt",
    ),
    row("queue_mpmc", "mpsc_spawned", 10_000, 4, "Ir/msg"),
    row("queue_mpmc", "spsc_spawned", 20_000, 1, "Ir/msg"),
    row("time_timers", "timers_cancel", 20_000, 1, "Ir/timer"),
    row("time_timers", "timers_fire", 10_000, 1, "Ir/sleep"),
    row("sync_lock", "mutex", 200, 64, "Ir/lock"),
    row("sync_lock", "mutex_yield", 200, 64, "Ir/lock"),
    row("sync_lock", "mutex_uncontended", 20_000, 1, "Ir/lock"),
    row("sync_lock", "semaphore", 200, 64, "Ir/acquire"),
];

const RUNTIMES: [&str; 3] = ["tulip", "tokio", "smol"];

/// The goal of every row here (issue 22): tulip ≤ 0.8 × the best peer.
const GOAL: f64 = 0.8;

pub(crate) fn run(args: &[String]) -> Result<(), String> {
    if args.iter().any(|a| a == "-h" || a == "--help") {
        return Err(
            "usage: cargo xtask callgrind [FILTER..] (substrings of workload names)".into(),
        );
    }
    if !Command::new("valgrind")
        .arg("--version")
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
    {
        println!("skipped: valgrind is not installed (apt-get install valgrind)");
        return Ok(());
    }
    let rows: Vec<&Row> = ROWS
        .iter()
        .filter(|r| args.is_empty() || args.iter().any(|f| r.name.contains(f.as_str())))
        .collect();
    if rows.is_empty() {
        return Err(format!("no workload matches {args:?}"));
    }
    let bins = build()?;
    let out_dir = root().join("target/bench-report");
    std::fs::create_dir_all(&out_dir).map_err(|e| format!("{}: {e}", out_dir.display()))?;
    let scratch = out_dir.join("callgrind.out");
    let mut table = String::from(
        "| workload | unit | tulip | tokio | smol | tulip / best | goal |\n|---|---|---:|---:|---:|---:|---:|\n",
    );
    for r in rows {
        let bin = bins
            .iter()
            .find(|(name, _)| name == r.bin)
            .map(|(_, p)| p.as_path())
            .ok_or_else(|| format!("the build made no `{}` binary", r.bin))?;
        let mut per_op = Vec::new();
        for rt in RUNTIMES {
            let small = instructions(bin, r.name, rt, r.n, &scratch)?;
            let large = instructions(bin, r.name, rt, 2 * r.n, &scratch)?;
            let ops = (r.n * r.ops_per_n) as f64;
            let v = (large as f64 - small as f64) / ops;
            eprintln!("{} {rt}: {v:.0} {}", r.name, r.unit);
            per_op.push(v);
        }
        let best = per_op[1].min(per_op[2]);
        let ratio = per_op[0] / best;
        let mark = if ratio <= GOAL { "✓" } else { "✗" };
        table.push_str(&format!(
            "| {} | {} | {:.0} | {:.0} | {:.0} | {ratio:.2} {mark} | ≤ {GOAL} |\n",
            r.name, r.unit, per_op[0], per_op[1], per_op[2]
        ));
    }
    let _ = std::fs::remove_file(&scratch);
    let path = out_dir.join("callgrind.md");
    std::fs::write(&path, &table).map_err(|e| format!("{}: {e}", path.display()))?;
    println!("{table}");
    println!("(written to {})", path.display());
    Ok(())
}

/// Total instructions of one run of `workload` at `n` under callgrind.
fn instructions(bin: &Path, workload: &str, rt: &str, n: u64, out: &Path) -> Result<u64, String> {
    let mut cmd = Command::new("valgrind");
    cmd.arg("--tool=callgrind")
        .arg(format!("--callgrind-out-file={}", out.display()))
        .arg(bin)
        .args(["--workload", workload, "--runtime", rt, "--flavour", "ct"])
        .args(["--n", &n.to_string(), "--warmup", "0", "--reps", "1"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    let output = cmd
        .output()
        .map_err(|e| format!("cannot start `{}`: {e}", describe(&cmd)))?;
    if !output.status.success() {
        return Err(format!(
            "`{}` failed with {}",
            describe(&cmd),
            output.status
        ));
    }
    let stderr = String::from_utf8_lossy(&output.stderr);
    stderr
        .lines()
        .find_map(|l| l.split("Collected : ").nth(1))
        .and_then(|v| v.trim().parse().ok())
        .ok_or_else(|| format!("no instruction count in the output of `{}`", describe(&cmd)))
}

/// Builds the four bench binaries and returns `(name, path)` for each.
fn build() -> Result<Vec<(String, std::path::PathBuf)>, String> {
    let mut cmd = cargo();
    cmd.args(["build", "--release", "-p", "tulip-benches"]);
    for bin in ["executor_spawn", "queue_mpmc", "time_timers", "sync_lock"] {
        cmd.args(["--bench", bin]);
    }
    cmd.arg("--message-format=json-render-diagnostics")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
    eprintln!("$ {}", describe(&cmd));
    let out = cmd
        .output()
        .map_err(|e| format!("cannot start `{}`: {e}", describe(&cmd)))?;
    if !out.status.success() {
        return Err(format!("`{}` failed with {}", describe(&cmd), out.status));
    }
    Ok(crate::bench::bench_executables(&String::from_utf8_lossy(
        &out.stdout,
    )))
}
