//! The `syscalls_*` rows: system calls per echo round trip, counted by `strace -c -f`.
//!
//! For each runtime (single-threaded) and the epoll reference, the echo workload of `net_echo`
//! runs twice under strace, at `n` and `2n` round trips per connection, one repetition and no
//! warm-up; the difference of the two summaries divided by the round trips the runs differ by
//! is the cost of a round trip alone — building the runtime, making the 64 connections and
//! shutting down cancel out. The row's value is the total; the breakdown by system call (and
//! by failed call, mostly `EAGAIN`) goes with it as auxiliary values, and the report lists it.
//!
//! strace slows every system call down by an order of magnitude, which changes how work
//! batches up (more events per `epoll_wait`, say); the counts are still what each runtime
//! asks of the kernel for the same work, and they repeat from run to run within 0.01 per round
//! trip.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use super::{Aux, Kind, Measurement, Workload};

/// The workloads whose system calls are counted, and the connections each runs
/// (`CONNS` in benches/net_echo.rs: `n` is round trips per connection).
const TARGETS: [(&str, u64); 2] = [("tcp_echo", 64), ("streams_echo", 64)];

/// Round trips per connection of the smaller run (the larger one makes twice as many).
const N_FULL: u64 = 200;
const N_QUICK: u64 = 50;

/// How long one strace run may take.
const LIMIT: Duration = Duration::from_secs(120);

/// Whether `strace` can be run.
pub(crate) fn strace_available() -> bool {
    Command::new("strace")
        .arg("-V")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Adds a `syscalls_<target>` workload after the last workload of the target's area, for
/// every target the bench binaries list.
pub(crate) fn add_workloads(workloads: &mut Vec<Workload>) {
    let mut added = Vec::new();
    for (target, _) in TARGETS {
        if let Some(t) = workloads.iter().find(|w| w.name == target) {
            added.push(Workload {
                bin: t.bin.clone(),
                area: t.area.clone(),
                name: format!("syscalls_{target}"),
                unit: "syscalls/rt".into(),
                higher_is_better: false,
                refs: t
                    .refs
                    .iter()
                    .filter(|(_, fl)| fl.iter().any(|f| f == "ct"))
                    .map(|(name, _)| (name.clone(), vec!["ct".to_string()]))
                    .collect(),
                kind: Kind::Syscalls {
                    target: target.to_string(),
                },
            });
        }
    }
    if let Some(first) = added.first() {
        let bin = first.bin.clone();
        let at = workloads
            .iter()
            .rposition(|w| w.bin == bin)
            .map_or(workloads.len(), |i| i + 1);
        workloads.splice(at..at, added);
    }
}

/// One line of strace's summary: calls and errors of a system call.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Row {
    pub(crate) name: String,
    pub(crate) calls: u64,
    pub(crate) errors: u64,
}

/// Parses the table `strace -c` writes: `% time  seconds  usecs/call  calls  [errors]
/// syscall` rows, dashes, and a `total` row (returned under the name `total`).
pub(crate) fn parse_summary(text: &str) -> Vec<Row> {
    text.lines()
        .filter_map(|l| {
            let t: Vec<&str> = l.split_whitespace().collect();
            // Data rows start with a number (the % time column).
            if t.len() < 5 || t[0].parse::<f64>().is_err() {
                return None;
            }
            let name = (*t.last()?).to_string();
            let nums: Vec<u64> = t[..t.len() - 1]
                .iter()
                .skip(3)
                .map(|v| v.parse().ok())
                .collect::<Option<_>>()?;
            let (calls, errors) = match nums.as_slice() {
                [calls] => (*calls, 0),
                [calls, errors] => (*calls, *errors),
                _ => return None,
            };
            Some(Row {
                name,
                calls,
                errors,
            })
        })
        .collect()
}

/// Runs `target` of `bin` under strace with `n` round trips per connection; the summary.
fn traced(
    w: &Workload,
    target: &str,
    runtime: &str,
    n: u64,
    raw: &Path,
) -> Result<Vec<Row>, String> {
    let out = raw.join(format!("{}-{runtime}-ct-n{n}.strace", w.name));
    let mut cmd = Command::new("strace");
    cmd.args(["-c", "-f", "-o"])
        .arg(&out)
        .arg(&w.bin)
        .args([
            "--workload",
            target,
            "--runtime",
            runtime,
            "--flavour",
            "ct",
            "--n",
            &n.to_string(),
            "--warmup",
            "0",
            "--reps",
            "1",
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    let start = Instant::now();
    let mut child = cmd
        .spawn()
        .map_err(|e| format!("cannot start strace: {e}"))?;
    let status = loop {
        if let Some(s) = child.try_wait().map_err(|e| e.to_string())? {
            break s;
        }
        if start.elapsed() > LIMIT {
            let _ = child.kill();
            let _ = child.wait();
            return Err(format!("strace run killed after {} s", LIMIT.as_secs()));
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    if !status.success() {
        return Err(format!("the traced run exited with {status}"));
    }
    let text = std::fs::read_to_string(&out).map_err(|e| format!("{}: {e}", out.display()))?;
    let rows = parse_summary(&text);
    if !rows.iter().any(|r| r.name == "total") {
        return Err(format!("no strace summary in {}", out.display()));
    }
    Ok(rows)
}

/// Measures `syscalls_<target>` for one runtime (single-threaded).
pub(crate) fn run(
    w: &Workload,
    target: &str,
    runtime: &str,
    flavour: &str,
    quick: bool,
    strace: bool,
    raw: &Path,
) -> Result<Measurement, String> {
    let mut m = Measurement::empty(w, runtime, flavour);
    if !strace {
        m.status = "na".into();
        m.note = "strace is not installed".into();
        return Ok(m);
    }
    let conns = TARGETS
        .iter()
        .find(|(t, _)| *t == target)
        .map_or(64, |(_, c)| *c);
    let n = if quick { N_QUICK } else { N_FULL };
    let start = Instant::now();
    let runs = traced(w, target, runtime, n, raw)
        .and_then(|small| Ok((small, traced(w, target, runtime, 2 * n, raw)?)));
    m.secs = start.elapsed().as_secs_f64();
    let (small, large) = match runs {
        Ok(r) => r,
        Err(e) => {
            m.note = e;
            return Ok(m);
        }
    };
    let round_trips = (n * conns) as f64;
    let per = |rows: &[Row], name: &str, errors: bool| {
        rows.iter()
            .find(|r| r.name == name)
            .map_or(0, |r| if errors { r.errors } else { r.calls })
    };
    let diff = |name: &str, errors: bool| {
        per(&large, name, errors).saturating_sub(per(&small, name, errors)) as f64 / round_trips
    };
    let total = diff("total", false);
    m.status = "ok".into();
    m.median = Some(total);
    m.min = Some(total);
    m.max = Some(total);
    m.samples = vec![total];
    m.n = Some(2 * n);
    m.reps = Some(1);
    // The breakdown: every call made at least once per 100 round trips, most frequent first.
    let mut breakdown: Vec<Aux> = Vec::new();
    for r in large.iter().filter(|r| r.name != "total") {
        let calls = diff(&r.name, false);
        if calls >= 0.01 {
            breakdown.push(Aux {
                name: r.name.clone(),
                value: calls,
                unit: "calls/rt".into(),
                row: false,
            });
            let errors = diff(&r.name, true);
            if errors >= 0.01 {
                breakdown.push(Aux {
                    name: format!("{}_errors", r.name),
                    value: errors,
                    unit: "calls/rt".into(),
                    row: false,
                });
            }
        }
    }
    breakdown.sort_by(|a, b| b.value.total_cmp(&a.value));
    m.aux = breakdown;
    Ok(m)
}

#[cfg(test)]
mod tests {
    use super::{parse_summary, Row};

    #[test]
    fn parses_strace_summaries_with_and_without_errors() {
        let text = "% time     seconds  usecs/call     calls    errors syscall
------ ----------- ----------- --------- --------- ------------------
 51.12    0.477709          18     25600           sendto
 46.43    0.433914          11     38527     12864 recvfrom
  0.00    0.000000           0         1         1 access
------ ----------- ----------- --------- --------- ------------------
100.00    0.934530          14     65485     12865 total
";
        let rows = parse_summary(text);
        assert_eq!(rows.len(), 4);
        assert_eq!(
            rows[0],
            Row {
                name: "sendto".into(),
                calls: 25600,
                errors: 0
            }
        );
        assert_eq!(rows[1].errors, 12864);
        assert_eq!(rows[3].name, "total");
        assert_eq!(rows[3].calls, 65485);
    }
}
