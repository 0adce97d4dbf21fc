//! The bench report: the machine, the tables (markdown), results.json and its parser.

use std::fmt::Write as _;
use std::process::Command;

use super::{
    json_str, Kind, Measurement, Workload, FLAVOURS, GOAL_08, GOAL_08_AREAS, REF_GOALS, RUNTIMES,
    SYSCALLS_GOAL,
};

/// References compared with a form of tulip other than its main row: the Python servers run
/// asyncio's streams program, which tulip runs as `tulip-streams`, or its protocol program,
/// which tulip runs as `tulip-protocol`.
const REF_BASE: [(&str, &str, &str); 4] = [
    ("xproc_echo", "asyncio", "tulip-streams"),
    ("xproc_echo", "uvloop", "tulip-streams"),
    ("xproc_echo", "asyncio-protocol", "tulip-protocol"),
    ("xproc_echo", "uvloop-protocol", "tulip-protocol"),
];

/// The machine a run came from.
pub(crate) struct Machine {
    pub(crate) nproc: usize,
    pub(crate) cpu: String,
    pub(crate) kernel: String,
    pub(crate) rustc: String,
    pub(crate) commit: String,
}

impl Machine {
    pub(crate) fn probe() -> Machine {
        let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
        let cpu = cpuinfo
            .lines()
            .find(|l| l.starts_with("model name"))
            .and_then(|l| l.split_once(':'))
            .map(|(_, v)| v.trim().to_string())
            .unwrap_or_else(|| "unknown".into());
        let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease")
            .map(|s| s.trim().to_string())
            .unwrap_or_else(|_| std::env::consts::OS.into());
        let rustc = command_line(
            Command::new(std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into())).arg("-V"),
        );
        let mut commit = command_line(Command::new("git").current_dir(crate::util::root()).args([
            "rev-parse",
            "--short",
            "HEAD",
        ]));
        let dirty = Command::new("git")
            .current_dir(crate::util::root())
            .args(["status", "--porcelain", "--untracked-files=no"])
            .output()
            .is_ok_and(|o| !o.stdout.is_empty());
        if dirty {
            commit.push_str(" (with local changes)");
        }
        Machine {
            nproc: std::thread::available_parallelism().map_or(0, |n| n.get()),
            cpu,
            kernel,
            rustc,
            commit,
        }
    }
}

fn command_line(cmd: &mut Command) -> String {
    cmd.output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_else(|| "unknown".into())
}

/// The 1, 5 and 15 minute load averages.
pub(crate) fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "unknown".into())
}

/// What the report says about the run itself.
pub(crate) struct RunInfo {
    pub(crate) quick: bool,
    pub(crate) build_secs: f64,
    pub(crate) run_secs: f64,
    pub(crate) load_before: String,
    pub(crate) load_after: String,
    pub(crate) machine: Machine,
}

/// A value with three significant digits or so.
pub(crate) fn fmt_val(v: f64) -> String {
    let a = v.abs();
    if a == 0.0 {
        "0".into()
    } else if a >= 1000.0 {
        format!("{v:.0}")
    } else if a >= 100.0 {
        format!("{v:.1}")
    } else if a >= 10.0 {
        format!("{v:.2}")
    } else {
        format!("{v:.3}")
    }
}

fn cell(m: Option<&Measurement>) -> String {
    match m {
        None => "–".into(),
        Some(m) => match (m.status.as_str(), m.median) {
            ("ok", Some(v)) => fmt_val(v),
            ("na", _) if m.note.starts_with("not built") || m.note.starts_with("cannot build") => {
                "n/a (not built)".into()
            }
            ("na", _) => "n/a".into(),
            (s, _) => s.into(),
        },
    }
}

/// One progress line for the terminal.
pub(crate) fn progress_line(m: &Measurement) -> String {
    let head = format!("{:<18} {:>5}-{}", m.workload, m.runtime, m.flavour);
    match (m.status.as_str(), m.median, m.min, m.max) {
        ("ok", Some(med), Some(lo), Some(hi)) => format!(
            "{head}  {:>10} {:<10} (min {}, max {})  [{:.1} s]",
            fmt_val(med),
            m.unit,
            fmt_val(lo),
            fmt_val(hi),
            m.secs
        ),
        (s, ..) => format!("{head}  {s}: {}  [{:.1} s]", m.note, m.secs),
    }
}

fn find<'a>(
    results: &'a [Measurement],
    workload: &str,
    runtime: &str,
    flavour: &str,
) -> Option<&'a Measurement> {
    results
        .iter()
        .find(|m| m.workload == workload && m.runtime == runtime && m.flavour == flavour)
}

fn median(results: &[Measurement], w: &str, rt: &str, fl: &str) -> Option<f64> {
    find(results, w, rt, fl)
        .filter(|m| m.status == "ok")
        .and_then(|m| m.median)
}

/// `a`'s cost relative to `b`'s (below 1: `a` is better); for a throughput, `b / a`.
fn cost_ratio(higher_is_better: bool, a: f64, b: f64) -> Option<f64> {
    let r = if higher_is_better { b / a } else { a / b };
    (r.is_finite() && r > 0.0).then_some(r)
}

/// tulip's cost relative to the best peer's in one flavour (below 1: tulip is better). For a
/// throughput it is best-peer / tulip, so the direction is the same for every row.
pub(crate) fn ratio(results: &[Measurement], w: &Workload, flavour: &str) -> Option<f64> {
    let tulip = median(results, &w.name, "tulip", flavour)?;
    let peers = ["tokio", "smol"]
        .iter()
        .filter_map(|rt| median(results, &w.name, rt, flavour));
    if w.higher_is_better {
        let best = peers.fold(f64::NAN, f64::max);
        (best.is_finite() && tulip > 0.0).then(|| best / tulip)
    } else {
        let best = peers.fold(f64::NAN, f64::min);
        (best.is_finite() && best > 0.0).then(|| tulip / best)
    }
}

/// What a row must show.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum Goal {
    /// tulip / best peer at most this.
    Ratio(f64),
    /// tulip's own value at most this (the system calls per round trip).
    TulipAtMost(f64),
}

/// The goal of a workload.
pub(crate) fn goal(w: &Workload) -> Goal {
    if matches!(w.kind, Kind::Syscalls { .. }) {
        Goal::TulipAtMost(SYSCALLS_GOAL)
    } else if GOAL_08.contains(&w.name.as_str()) || GOAL_08_AREAS.contains(&w.area.as_str()) {
        Goal::Ratio(0.8)
    } else {
        Goal::Ratio(1.0)
    }
}

fn goal_cell(g: Goal) -> String {
    match g {
        Goal::Ratio(r) => format!("≤ {r:.1}"),
        Goal::TulipAtMost(v) => format!("tulip ≤ {v}"),
    }
}

fn ratio_cell(r: Option<f64>, g: Goal, tulip: Option<f64>) -> String {
    // Judge values as printed, so that "1.00" never shows as a miss.
    let r = r.map(|r| (r * 100.0).round() / 100.0);
    match (g, r) {
        (_, None) => "–".into(),
        (Goal::Ratio(goal), Some(r)) => {
            let mark = if r <= goal {
                "✓"
            } else if r <= 1.0 {
                "~"
            } else {
                "✗"
            };
            format!("{r:.2} {mark}")
        }
        (Goal::TulipAtMost(limit), Some(r)) => {
            let met = tulip.is_some_and(|t| (t * 100.0).round() / 100.0 <= limit);
            format!("{r:.2} {}", if met { "✓" } else { "✗" })
        }
    }
}

/// The table of medians and ratios (markdown).
pub(crate) fn table(
    workloads: &[Workload],
    results: &[Measurement],
    baseline: Option<&(String, Vec<BaselineRow>)>,
) -> String {
    let mut s = String::new();
    let mut head = vec!["workload".to_string(), "unit".to_string()];
    for fl in FLAVOURS {
        for rt in RUNTIMES {
            head.push(format!("{rt}-{fl}"));
        }
        head.push(format!("ratio {fl}"));
    }
    head.push("goal".into());
    if let Some((name, _)) = baseline {
        head.push(format!("tulip-ct vs {name}"));
        head.push(format!("tulip-mt vs {name}"));
    }
    let _ = writeln!(s, "| {} |", head.join(" | "));
    let aligns: Vec<&str> = head
        .iter()
        .enumerate()
        .map(|(i, _)| if i < 2 { "---" } else { "---:" })
        .collect();
    let _ = writeln!(s, "|{}|", aligns.join("|"));
    for w in workloads {
        let better = if w.higher_is_better { "↑" } else { "↓" };
        let mut row = vec![w.name.clone(), format!("{} {better}", w.unit)];
        for fl in FLAVOURS {
            for rt in RUNTIMES {
                row.push(cell(find(results, &w.name, rt, fl)));
            }
            let tulip = median(results, &w.name, "tulip", fl);
            row.push(ratio_cell(ratio(results, w, fl), goal(w), tulip));
        }
        row.push(goal_cell(goal(w)));
        if let Some((_, rows)) = baseline {
            for fl in FLAVOURS {
                let now = median(results, &w.name, "tulip", fl);
                let then = rows
                    .iter()
                    .find(|b| b.workload == w.name && b.runtime == "tulip" && b.flavour == fl)
                    .map(|b| b.median);
                row.push(match (now, then) {
                    (Some(a), Some(b)) if a > 0.0 && b > 0.0 => {
                        let change = if w.higher_is_better { b / a } else { a / b };
                        format!("{change:.2}×")
                    }
                    _ => "–".into(),
                });
            }
        }
        let _ = writeln!(s, "| {} |", row.join(" | "));
    }
    s
}

/// What the reference of `w` named `reference` is compared with: tulip, or another form of
/// tulip (see [`REF_BASE`]).
fn ref_base(w: &Workload, reference: &str) -> &'static str {
    let parent = match &w.kind {
        Kind::Derived { parent, .. } => parent.as_str(),
        Kind::Syscalls { target } => target.as_str(),
        Kind::Bin => w.name.as_str(),
    };
    REF_BASE
        .iter()
        .find(|(wl, r, _)| *wl == parent && *r == reference)
        .map_or("tulip", |(_, _, base)| base)
}

/// The table of references: each one's value beside tulip's, and their ratio.
pub(crate) fn references_table(workloads: &[Workload], results: &[Measurement]) -> String {
    let mut rows = Vec::new();
    for w in workloads {
        for fl in FLAVOURS {
            for (reference, _) in &w.refs {
                let Some(m) = find(results, &w.name, reference, fl) else {
                    continue;
                };
                let base = ref_base(w, reference);
                let ours = median(results, &w.name, base, fl);
                let theirs = m.median.filter(|_| m.status == "ok");
                let r = match (ours, theirs) {
                    (Some(a), Some(b)) => cost_ratio(w.higher_is_better, a, b),
                    _ => None,
                };
                let goal = REF_GOALS
                    .iter()
                    .find(|(wl, rf, _)| *wl == w.name && rf == reference)
                    .map(|(_, _, frac)| *frac);
                let ratio_text = match (r, goal) {
                    (None, _) => "–".to_string(),
                    (Some(r), None) => format!("{r:.2}"),
                    (Some(r), Some(frac)) => {
                        let r = (r * 100.0).round() / 100.0;
                        let limit = ((1.0 / frac) * 100.0).round() / 100.0;
                        format!("{r:.2} {}", if r <= limit { "✓" } else { "✗" })
                    }
                };
                let goal_text = goal.map_or("–".to_string(), |frac| {
                    format!("≤ {:.2} ({base} ≥ {frac}× {reference})", 1.0 / frac)
                });
                let better = if w.higher_is_better { "↑" } else { "↓" };
                rows.push(format!(
                    "| {} | {} {better} | {fl} | {reference} | {} | {base} | {} | {ratio_text} | {goal_text} |",
                    w.name,
                    w.unit,
                    cell(Some(m)),
                    ours.map_or("–".into(), fmt_val),
                ));
            }
        }
    }
    if rows.is_empty() {
        return String::new();
    }
    let mut s = String::new();
    let _ = writeln!(
        s,
        "| workload | unit | flavour | reference | its value | compared with | value | ratio | goal |"
    );
    let _ = writeln!(s, "|---|---|---|---|---:|---|---:|---:|---|");
    for r in rows {
        let _ = writeln!(s, "{r}");
    }
    s
}

/// The system calls per round trip, call by call.
pub(crate) fn syscalls_table(workloads: &[Workload], results: &[Measurement]) -> String {
    let mut s = String::new();
    for w in workloads
        .iter()
        .filter(|w| matches!(w.kind, Kind::Syscalls { .. }))
    {
        for m in results
            .iter()
            .filter(|m| m.workload == w.name && m.status == "ok")
        {
            if s.is_empty() {
                let _ = writeln!(s, "| workload | runtime | total | per round trip |");
                let _ = writeln!(s, "|---|---|---:|---|");
            }
            let parts: Vec<String> = m
                .aux
                .iter()
                .filter(|a| !a.name.ends_with("_errors"))
                .map(|a| {
                    let err = m
                        .aux
                        .iter()
                        .find(|e| e.name == format!("{}_errors", a.name))
                        .map_or(String::new(), |e| {
                            format!(" (of which {:.2} fail)", e.value)
                        });
                    format!("{} {:.2}{err}", a.name, a.value)
                })
                .collect();
            let _ = writeln!(
                s,
                "| {} | {} | {} | {} |",
                w.name,
                m.runtime,
                cell(Some(m)),
                parts.join(", ")
            );
        }
    }
    s
}

/// The full report.md.
pub(crate) fn markdown(
    info: &RunInfo,
    workloads: &[Workload],
    results: &[Measurement],
    baseline: Option<&(String, Vec<BaselineRow>)>,
) -> String {
    let m = &info.machine;
    let mut s = String::new();
    let _ = writeln!(s, "# tulip benchmark report\n");
    let _ = writeln!(
        s,
        "{} run of `cargo xtask bench`: built in {:.0} s, ran in {:.0} s. Machine: {} CPUs, \
         {}, Linux {}, {}; tulip at {}. Load average before / after: {} / {}.\n",
        if info.quick { "A quick" } else { "A full" },
        info.build_secs,
        info.run_secs,
        m.nproc,
        m.cpu,
        m.kernel,
        m.rustc,
        m.commit,
        info.load_before,
        info.load_after
    );
    let _ = writeln!(
        s,
        "Medians of the repetitions after a warm-up, each workload × runtime × flavour in its own \
         process. `ct`: single-threaded; `mt`: two workers. ↓ lower is better, ↑ higher is \
         better. **ratio** = tulip / best of (tokio, smol) in the same flavour (for ↑ units, \
         best / tulip), so below 1 means tulip wins: ✓ meets the goal, ~ beats or ties the \
         peers but misses the goal, ✗ loses. `n/a (not built)`: the flavour does not exist \
         yet; `n/a`: a tool the row needs is missing (strace, python3, uvloop: the last table \
         says which). The \
         `syscalls_*` rows' goal is tulip's own count (✓ when it is at most that). Two-worker \
         results can flip by up to 2.5× from one process to the next (PERF.md): treat an \
         `mt` gap under 2× as noise.\n"
    );
    s.push_str(&table(workloads, results, baseline));
    let refs = references_table(workloads, results);
    if !refs.is_empty() {
        let _ = writeln!(s, "\n## References\n");
        let _ = writeln!(
            s,
            "Yardsticks that are not peers: `epoll` is a hand-written epoll loop doing the same \
             round trips, `asyncio` and `uvloop` run the echo server in Python (`-protocol`: its \
             transports-and-protocols form), `tulip-streams` and `tulip-protocol` are tulip's \
             asyncio-style servers. **ratio** as above (below 1: tulip, or the form of \
             tulip it is compared with, does better).\n"
        );
        s.push_str(&refs);
    }
    let sys = syscalls_table(workloads, results);
    if !sys.is_empty() {
        let _ = writeln!(s, "\n## System calls per round trip\n");
        let _ = writeln!(
            s,
            "`strace -c -f` of the single-threaded workload at `n` and `2n` round trips per \
             connection; the difference over the added round trips. Failed calls are mostly \
             `EAGAIN`: a read tried before the socket had data.\n"
        );
        s.push_str(&sys);
    }
    let _ = writeln!(s, "\n## Charts\n");
    for w in workloads {
        let _ = writeln!(s, "![{0}]({0}.svg)", w.name);
    }
    let _ = writeln!(s, "\n## Every measurement\n");
    let _ = writeln!(
        s,
        "| workload | runtime | flavour | median | min | max | unit | n | reps | process s | note |"
    );
    let _ = writeln!(s, "|---|---|---|---:|---:|---:|---|---:|---:|---:|---|");
    let aux_text = |r: &Measurement| {
        r.aux
            .iter()
            .map(|a| format!("{} {} {}", a.name, fmt_val(a.value), a.unit))
            .collect::<Vec<_>>()
            .join(", ")
    };
    for r in results {
        let v = |x: Option<f64>| x.map(fmt_val).unwrap_or_else(|| "–".into());
        let _ = writeln!(
            s,
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {:.1} | {} |",
            r.workload,
            r.runtime,
            r.flavour,
            v(r.median),
            v(r.min),
            v(r.max),
            r.unit,
            r.n.map(|n| n.to_string()).unwrap_or_default(),
            r.reps.map(|n| n.to_string()).unwrap_or_default(),
            r.secs,
            if r.status == "ok" {
                aux_text(r)
            } else {
                format!("{}: {}", r.status, r.note.replace('|', "/"))
            }
        );
    }
    s
}

fn json_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out
}

fn json_num(v: Option<f64>) -> String {
    match v {
        Some(v) if v.is_finite() => format!("{v}"),
        _ => "null".into(),
    }
}

/// results.json: the run, the machine and one result object per line.
pub(crate) fn results_json(info: &RunInfo, results: &[Measurement]) -> String {
    let m = &info.machine;
    let mut s = String::from("{\n");
    let _ = writeln!(
        s,
        "  \"mode\": \"{}\",\n  \"build_secs\": {:.1},\n  \"run_secs\": {:.1},\n  \
         \"load_before\": \"{}\",\n  \"load_after\": \"{}\",",
        if info.quick { "quick" } else { "full" },
        info.build_secs,
        info.run_secs,
        json_escape(&info.load_before),
        json_escape(&info.load_after)
    );
    let _ = writeln!(
        s,
        "  \"machine\": {{\"nproc\": {}, \"cpu\": \"{}\", \"kernel\": \"{}\", \"rustc\": \"{}\", \
         \"commit\": \"{}\"}},",
        m.nproc,
        json_escape(&m.cpu),
        json_escape(&m.kernel),
        json_escape(&m.rustc),
        json_escape(&m.commit)
    );
    s.push_str("  \"results\": [\n");
    for (i, r) in results.iter().enumerate() {
        let samples: Vec<String> = r.samples.iter().map(|v| json_num(Some(*v))).collect();
        let aux: Vec<String> = r
            .aux
            .iter()
            .map(|a| {
                format!(
                    "{{\"name\":\"{}\",\"value\":{},\"unit\":\"{}\",\"row\":{}}}",
                    json_escape(&a.name),
                    json_num(Some(a.value)),
                    json_escape(&a.unit),
                    a.row
                )
            })
            .collect();
        let _ = write!(
            s,
            "    {{\"workload\":\"{}\",\"area\":\"{}\",\"unit\":\"{}\",\"better\":\"{}\",\
             \"runtime\":\"{}\",\"flavour\":\"{}\",\"status\":\"{}\",\"median\":{},\"min\":{},\
             \"max\":{},\"n\":{},\"reps\":{},\"samples\":[{}],\"secs\":{:.2},\"note\":\"{}\",\
             \"aux\":[{}]}}",
            json_escape(&r.workload),
            json_escape(&r.area),
            json_escape(&r.unit),
            if r.higher_is_better {
                "higher"
            } else {
                "lower"
            },
            r.runtime,
            r.flavour,
            r.status,
            json_num(r.median),
            json_num(r.min),
            json_num(r.max),
            r.n.map_or("null".into(), |n| n.to_string()),
            r.reps.map_or("null".into(), |n| n.to_string()),
            samples.join(","),
            r.secs,
            json_escape(&r.note),
            aux.join(",")
        );
        s.push_str(if i + 1 < results.len() { ",\n" } else { "\n" });
    }
    s.push_str("  ]\n}\n");
    s
}

/// A median from a saved results.json.
pub(crate) struct BaselineRow {
    pub(crate) workload: String,
    pub(crate) runtime: String,
    pub(crate) flavour: String,
    pub(crate) median: f64,
}

/// Reads the results of a results.json written by [`results_json`] (one result per line).
pub(crate) fn parse_results_json(text: &str) -> Vec<BaselineRow> {
    text.lines()
        .filter(|l| l.contains("\"workload\":"))
        .filter_map(|l| {
            let start = l.find("\"median\":")? + "\"median\":".len();
            let end = l[start..].find(',')? + start;
            Some(BaselineRow {
                workload: json_str(l, "workload")?,
                runtime: json_str(l, "runtime")?,
                flavour: json_str(l, "flavour")?,
                median: l[start..end].parse().ok()?,
            })
        })
        .collect()
}
