//! The bench report: the machine, the tables (markdown), results.json and its parser.

use std::fmt::Write as _;
use std::process::Command;

use super::{json_str, Measurement, Workload, FLAVOURS, GOAL_08, RUNTIMES};

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
            ("na", _) => "n/a (not built)".into(),
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

/// The goal ratio of a workload.
pub(crate) fn goal(workload: &str) -> f64 {
    if GOAL_08.contains(&workload) {
        0.8
    } else {
        1.0
    }
}

fn ratio_cell(r: Option<f64>, workload: &str) -> String {
    match r {
        None => "–".into(),
        Some(r) => {
            // Judge the ratio as printed, so that "1.00" never shows as a miss.
            let r = (r * 100.0).round() / 100.0;
            let mark = if r <= goal(workload) {
                "✓"
            } else if r <= 1.0 {
                "~"
            } else {
                "✗"
            };
            format!("{r:.2} {mark}")
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
            row.push(ratio_cell(ratio(results, w, fl), &w.name));
        }
        row.push(format!("≤ {:.1}", goal(&w.name)));
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
         yet. Two-worker results can flip by up to 2.5× from one process to the next \
         (PERF.md): treat an `mt` gap under 2× as noise.\n"
    );
    s.push_str(&table(workloads, results, baseline));
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
                String::new()
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
        let _ = write!(
            s,
            "    {{\"workload\":\"{}\",\"area\":\"{}\",\"unit\":\"{}\",\"better\":\"{}\",\
             \"runtime\":\"{}\",\"flavour\":\"{}\",\"status\":\"{}\",\"median\":{},\"min\":{},\
             \"max\":{},\"n\":{},\"reps\":{},\"samples\":[{}],\"secs\":{:.2},\"note\":\"{}\"}}",
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
            json_escape(&r.note)
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
