//! `cargo xtask bench`: runs the side-by-side benchmark suite (the `tulip-benches` package in
//! `benches/`) and writes a report.
//!
//! ```text
//! cargo xtask bench [FILTER...] [--quick] [--reps N] [--runtime R,..] [--flavour ct|mt]
//!                   [--save NAME] [--baseline NAME] [--timeout SECS] [--json]
//!                   [--backend epoll|uring|uring-recv|uring-readiness|polling|polling-oneshot]
//! ```
//!
//! `--backend` sets tulip's reactor backend (`TULIP_BACKEND`) for every process: to compare
//! two backends, save one run and take it as the other's baseline
//! (`--backend epoll --save epoll`, then `--backend uring --baseline epoll`).
//!
//! 1. Builds the bench binaries in release mode (`cargo build --release -p tulip-benches
//!    --benches`) and asks each for its workloads (`--list`).
//! 2. Runs every workload whose name contains a FILTER (all without one) on tulip, tokio and
//!    smol, single-threaded (`ct`) and with two workers (`mt`): one process per workload ×
//!    runtime × flavour, each doing its own warm-up and repetitions (see benches/src/lib.rs).
//!    A process that runs longer than the timeout is killed and reported as such.
//!    A workload may name *references* (`refs=` in its listing: the hand-written epoll loop,
//!    Python's asyncio and uvloop): they run the same way, in the flavours they support, and
//!    are reported beside tulip but never count as peers. `--runtime` selects among the
//!    runtimes and the references (all of them by default).
//! 3. With `strace` installed, runs the `syscalls_*` rows: the `tcp_echo` and `streams_echo`
//!    workloads of `net_echo` at two sizes under `strace -c -f` (single-threaded, every
//!    runtime and the epoll reference), and reports the system calls per round trip — the
//!    difference of the two runs over the round trips they differ by, so start-up and the
//!    making of the connections cancel out. Without strace the rows say why they are missing.
//! 4. Writes `target/bench-report/`: `report.md` (medians, min–max, the ratio
//!    tulip / best-of(tokio, smol) per row and flavour, the references, the system call
//!    breakdown, the machine), one SVG bar chart per workload, `results.json`, and the raw
//!    output of every process in `raw/`; prints the table. `--save NAME` also keeps the
//!    results as `saved/NAME.json`; `--baseline NAME` adds a column comparing tulip's medians
//!    with that saved run. `--json` prints results.json on stdout after the table.
//!
//! A FILTER matches a workload whose name contains it, or whose `AREA-NAME` does: `net`
//! selects every network row, `net-syscalls` the system call rows. Auxiliary values a
//! workload marks as rows (the cross-process echo's server CPU time per round trip) get a row
//! of their own, `WORKLOAD.NAME`, right after their workload's.

mod report;
pub(crate) mod svg;
mod syscalls;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::util::{cargo, describe, root};

/// Bench binaries in report order (others follow, sorted by name).
const AREAS: [&str; 7] = [
    "executor_spawn",
    "queue_mpmc",
    "time_timers",
    "sync_lock",
    "net_echo",
    "net_xproc",
    "runtime_memory",
];

/// Runtimes in report order.
pub(crate) const RUNTIMES: [&str; 3] = ["tulip", "tokio", "smol"];
/// Flavours in report order.
pub(crate) const FLAVOURS: [&str; 2] = ["ct", "mt"];

/// The most system calls per echo round trip tulip may make (the net issue's target; its
/// references: tokio 5.1, a raw epoll loop 4.2).
pub(crate) const SYSCALLS_GOAL: f64 = 4.5;

/// References with a goal: tulip must reach this fraction of the reference's throughput.
pub(crate) const REF_GOALS: [(&str, &str, f64); 1] = [("tcp_echo", "epoll", 0.97)];

/// Areas whose every workload's goal is tulip ≤ 0.8 × the best peer (issue 22: every executor,
/// channel, sync and timer row, in both flavours and every shape).
pub(crate) const GOAL_08_AREAS: [&str; 4] = ["executor", "queue", "time", "sync"];

/// Workloads whose goal is tulip ≤ 0.8 × the best peer (issue 7), beside the areas of
/// [`GOAL_08_AREAS`]; every other one's is ≤ 1.0.
pub(crate) const GOAL_08: [&str; 6] = [
    "spawn_many",
    "ping_pong",
    "ping_pong_oneshot",
    "yield_many",
    "timers_cancel",
    "timers_fire",
];

struct Options {
    filters: Vec<String>,
    quick: bool,
    reps: Option<String>,
    /// `--runtime`: runtimes and references; `None`: all of them.
    runtimes: Option<Vec<String>>,
    flavours: Vec<String>,
    save: Option<String>,
    baseline: Option<String>,
    timeout: Option<u64>,
    json: bool,
    /// `--backend`: tulip's reactor backend (`TULIP_BACKEND` for every process).
    backend: Option<String>,
}

fn parse(args: &[String]) -> Result<Options, String> {
    let mut o = Options {
        filters: Vec::new(),
        quick: false,
        reps: None,
        runtimes: None,
        flavours: FLAVOURS.iter().map(|s| s.to_string()).collect(),
        save: None,
        baseline: None,
        timeout: None,
        json: false,
        backend: None,
    };
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let mut value = || {
            it.next()
                .cloned()
                .ok_or_else(|| format!("{a} needs a value"))
        };
        match a.as_str() {
            "--quick" => o.quick = true,
            "--json" => o.json = true,
            "--reps" => o.reps = Some(value()?),
            "--runtime" => o.runtimes = Some(value()?.split(',').map(String::from).collect()),
            "--flavour" => o.flavours = value()?.split(',').map(String::from).collect(),
            "--save" => o.save = Some(value()?),
            "--baseline" => o.baseline = Some(value()?),
            "--backend" => {
                let b = value()?;
                if !BACKENDS.contains(&b.as_str()) {
                    return Err(format!(
                        "bench: unknown backend `{b}` ({})",
                        BACKENDS.join(", ")
                    ));
                }
                o.backend = Some(b);
            }
            "--timeout" => {
                o.timeout = Some(value()?.parse().map_err(|e| format!("--timeout: {e}"))?)
            }
            "-h" | "--help" => {
                return Err("usage: cargo xtask bench [FILTER...] [--quick] [--reps N] \
                            [--runtime R,..] [--flavour ct|mt] [--save NAME] \
                            [--baseline NAME] [--timeout SECS] [--json] \
                            [--backend epoll|uring|uring-recv|uring-readiness|polling|polling-oneshot]"
                    .into())
            }
            f if f.starts_with('-') => return Err(format!("bench: unknown flag `{f}`")),
            f => o.filters.push(f.to_string()),
        }
    }
    for f in &o.flavours {
        if !FLAVOURS.contains(&f.as_str()) {
            return Err(format!("bench: unknown flavour `{f}` (ct, mt)"));
        }
    }
    Ok(o)
}

/// One workload as a bench binary lists it (or as the xtask makes it up).
#[derive(Clone, Debug)]
pub(crate) struct Workload {
    pub(crate) bin: PathBuf,
    pub(crate) area: String,
    pub(crate) name: String,
    pub(crate) unit: String,
    pub(crate) higher_is_better: bool,
    /// Its references: name and the flavours it runs in.
    pub(crate) refs: Vec<(String, Vec<String>)>,
    pub(crate) kind: Kind,
}

/// How a workload's measurements are made.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    /// A bench binary measures it.
    Bin,
    /// The system calls of the `target` workload of `bin`, counted by strace.
    Syscalls { target: String },
    /// An auxiliary value of the `parent` workload's measurements, as a row of its own.
    Derived { parent: String, aux: String },
}

impl Workload {
    /// Whether `filter` selects this workload.
    fn matches(&self, filter: &str) -> bool {
        self.name.contains(filter) || format!("{}-{}", self.area, self.name).contains(filter)
    }

    /// The references that run in `flavour`.
    fn refs_in<'a>(&'a self, flavour: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.refs
            .iter()
            .filter(move |(_, fl)| fl.iter().any(|f| f == flavour))
            .map(|(name, _)| name.as_str())
    }
}

/// An auxiliary value of a measurement (see `tulip_benches::Aux`).
#[derive(Clone, Debug)]
pub(crate) struct Aux {
    pub(crate) name: String,
    pub(crate) value: f64,
    pub(crate) unit: String,
    /// Reported as a row of its own.
    pub(crate) row: bool,
}

/// Parses `name:value:unit[:row],...`.
fn parse_aux(text: &str) -> Vec<Aux> {
    text.split(',')
        .filter_map(|item| {
            let mut parts = item.split(':');
            let name = parts.next()?.to_string();
            let value = parts.next()?.parse().ok()?;
            let unit = parts.next().unwrap_or("").to_string();
            let row = parts.next() == Some("row");
            Some(Aux {
                name,
                value,
                unit,
                row,
            })
        })
        .collect()
}

/// One measurement: a workload on one runtime and flavour.
#[derive(Clone, Debug)]
pub(crate) struct Measurement {
    pub(crate) workload: String,
    pub(crate) area: String,
    pub(crate) unit: String,
    pub(crate) higher_is_better: bool,
    pub(crate) runtime: String,
    pub(crate) flavour: String,
    /// `ok`, `na` (flavour not available), `error` or `timeout`.
    pub(crate) status: String,
    pub(crate) median: Option<f64>,
    pub(crate) min: Option<f64>,
    pub(crate) max: Option<f64>,
    pub(crate) samples: Vec<f64>,
    pub(crate) n: Option<u64>,
    pub(crate) reps: Option<u64>,
    /// Why it is not `ok`.
    pub(crate) note: String,
    /// Wall time of the process.
    pub(crate) secs: f64,
    /// Auxiliary values (the system calls' breakdown, a server's CPU time, ...).
    pub(crate) aux: Vec<Aux>,
}

impl Measurement {
    /// A measurement of `w` with nothing in it yet (status `error`).
    pub(crate) fn empty(w: &Workload, runtime: &str, flavour: &str) -> Measurement {
        Measurement {
            workload: w.name.clone(),
            area: w.area.clone(),
            unit: w.unit.clone(),
            higher_is_better: w.higher_is_better,
            runtime: runtime.to_string(),
            flavour: flavour.to_string(),
            status: "error".into(),
            median: None,
            min: None,
            max: None,
            samples: Vec::new(),
            n: None,
            reps: None,
            note: String::new(),
            secs: 0.0,
            aux: Vec::new(),
        }
    }
}

/// What `--backend` takes: tulip's backends, and the uring one with its completion
/// operations limited to reads (`uring-recv`) or off (`uring-readiness`).
const BACKENDS: &[&str] = &[
    "epoll",
    "uring",
    "uring-recv",
    "uring-readiness",
    "polling",
    "polling-oneshot",
];

pub(crate) fn run(args: &[String]) -> Result<(), String> {
    let opts = parse(args)?;
    if let Some(b) = &opts.backend {
        // Every bench process inherits it; only tulip reads it. `uring-recv` and
        // `uring-readiness` are the uring backend with fewer completion operations
        // (TULIP_URING_OPS).
        let (backend, ops) = match b.as_str() {
            "uring-recv" => ("uring", Some("recv")),
            "uring-readiness" => ("uring", Some("0")),
            other => (other, None),
        };
        std::env::set_var("TULIP_BACKEND", backend);
        match ops {
            Some(o) => std::env::set_var("TULIP_URING_OPS", o),
            None => std::env::remove_var("TULIP_URING_OPS"),
        }
        eprintln!(
            "bench: tulip runs on its {b} backend (TULIP_BACKEND={backend}{})",
            ops.map(|o| format!(", TULIP_URING_OPS={o}"))
                .unwrap_or_default()
        );
    }
    let out_dir = target_dir().join("bench-report");
    std::fs::create_dir_all(out_dir.join("raw")).map_err(|e| format!("{out_dir:?}: {e}"))?;

    let build_start = Instant::now();
    let bins = build()?;
    let build_secs = build_start.elapsed().as_secs_f64();

    let mut workloads = Vec::new();
    for bin in &bins {
        workloads.extend(list(bin)?);
    }
    syscalls::add_workloads(&mut workloads);
    if let Some(rts) = &opts.runtimes {
        for r in rts {
            let known = RUNTIMES.contains(&r.as_str())
                || workloads.iter().any(|w| w.refs.iter().any(|(n, _)| n == r));
            if !known {
                return Err(format!(
                    "bench: unknown runtime `{r}` (tulip, tokio, smol, or a workload's reference)"
                ));
            }
        }
    }
    workloads.retain(|w| opts.filters.is_empty() || opts.filters.iter().any(|f| w.matches(f)));
    if workloads.is_empty() {
        return Err(format!("bench: no workload matches {:?}", opts.filters));
    }

    // Every (workload, flavour, runtime) to run, in report order.
    let wanted = |name: &str| {
        opts.runtimes
            .as_ref()
            .is_none_or(|r| r.iter().any(|x| x == name))
    };
    let mut plan: Vec<(&Workload, &str, &str)> = Vec::new();
    for w in &workloads {
        for flavour in &opts.flavours {
            if matches!(w.kind, Kind::Syscalls { .. }) && flavour != "ct" {
                continue;
            }
            for runtime in RUNTIMES.iter().copied().chain(w.refs_in(flavour)) {
                if wanted(runtime) {
                    plan.push((w, flavour, runtime));
                }
            }
        }
    }
    let strace = syscalls::strace_available();
    if !strace
        && workloads
            .iter()
            .any(|w| matches!(w.kind, Kind::Syscalls { .. }))
    {
        eprintln!(
            "bench: strace is not installed, so the syscalls_* rows are skipped \
             (apt-get install strace to get them)"
        );
    }

    let machine = report::Machine::probe();
    let load_before = report::loadavg();
    let total = plan.len();
    eprintln!(
        "bench: {} workloads, {total} runs ({} mode)",
        workloads.len(),
        if opts.quick { "quick" } else { "full" }
    );
    let run_start = Instant::now();
    let mut results = Vec::new();
    let raw = out_dir.join("raw");
    for (w, flavour, runtime) in plan {
        let m = match &w.kind {
            Kind::Syscalls { target } => {
                syscalls::run(w, target, runtime, flavour, opts.quick, strace, &raw)?
            }
            _ => run_one(w, runtime, flavour, &opts, &raw)?,
        };
        eprintln!(
            "[{:>3}/{total}] {}",
            results.len() + 1,
            report::progress_line(&m)
        );
        results.push(m);
    }
    let run_secs = run_start.elapsed().as_secs_f64();
    let workloads = add_derived(workloads, &mut results);

    let baseline = match &opts.baseline {
        Some(name) => {
            let path = out_dir.join("saved").join(format!("{name}.json"));
            let text = std::fs::read_to_string(&path)
                .map_err(|e| format!("bench: baseline {}: {e}", path.display()))?;
            Some((name.clone(), report::parse_results_json(&text)))
        }
        None => None,
    };
    let run_info = report::RunInfo {
        quick: opts.quick,
        build_secs,
        run_secs,
        load_before,
        load_after: report::loadavg(),
        machine,
    };
    let json = report::results_json(&run_info, &results);
    write(&out_dir.join("results.json"), &json)?;
    if let Some(name) = &opts.save {
        std::fs::create_dir_all(out_dir.join("saved")).map_err(|e| e.to_string())?;
        write(&out_dir.join("saved").join(format!("{name}.json")), &json)?;
    }
    let md = report::markdown(&run_info, &workloads, &results, baseline.as_ref());
    write(&out_dir.join("report.md"), &md)?;
    for w in &workloads {
        let rows: Vec<&Measurement> = results.iter().filter(|m| m.workload == w.name).collect();
        write(
            &out_dir.join(format!("{}.svg", w.name)),
            &svg::chart(w, &rows),
        )?;
    }
    println!("{}", report::table(&workloads, &results, baseline.as_ref()));
    if opts.json {
        println!("{json}");
    }
    eprintln!(
        "bench: built in {build_secs:.0} s, ran in {run_secs:.0} s; report in {}",
        out_dir.join("report.md").display()
    );
    Ok(())
}

fn write(path: &Path, text: &str) -> Result<(), String> {
    std::fs::write(path, text).map_err(|e| format!("cannot write {}: {e}", path.display()))
}

/// The target directory cargo builds into (honours `CARGO_TARGET_DIR`).
fn target_dir() -> PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(d) => {
            let d = PathBuf::from(d);
            if d.is_absolute() {
                d
            } else {
                root().join(d)
            }
        }
        None => root().join("target"),
    }
}

/// Builds the bench binaries and returns their paths, in report order.
fn build() -> Result<Vec<PathBuf>, String> {
    let mut cmd = cargo();
    cmd.args([
        "build",
        "--release",
        "-p",
        "tulip-benches",
        "--benches",
        "--message-format=json-render-diagnostics",
    ])
    .stdout(Stdio::piped())
    .stderr(Stdio::inherit());
    eprintln!("$ {}", describe(&cmd));
    let out = cmd
        .output()
        .map_err(|e| format!("cannot start `{}`: {e}", describe(&cmd)))?;
    if !out.status.success() {
        return Err(format!("`{}` failed with {}", describe(&cmd), out.status));
    }
    let mut bins = bench_executables(&String::from_utf8_lossy(&out.stdout));
    bins.sort_by_key(|(name, _)| {
        (
            AREAS.iter().position(|a| a == name).unwrap_or(AREAS.len()),
            name.clone(),
        )
    });
    bins.dedup_by(|a, b| a.0 == b.0);
    if bins.is_empty() {
        return Err("the build reported no bench executable".into());
    }
    Ok(bins.into_iter().map(|(_, p)| p).collect())
}

/// The bench executables a `cargo build --message-format=json…` reported: `(name, path)`.
pub(crate) fn bench_executables(stdout: &str) -> Vec<(String, PathBuf)> {
    stdout
        .lines()
        .filter(|l| l.contains("\"reason\":\"compiler-artifact\"") && l.contains("\"bench\""))
        .filter_map(|l| {
            let target = &l[l.find("\"target\":{")?..];
            let name = json_str(target, "name")?;
            let exe = json_str(l, "executable")?;
            Some((name, PathBuf::from(exe)))
        })
        .collect()
}

/// The string value of `"key":"…"` in a line of JSON (no unescaping beyond `\\` and `\"`).
pub(crate) fn json_str(text: &str, key: &str) -> Option<String> {
    let pat = format!("\"{key}\":\"");
    let start = text.find(&pat)? + pat.len();
    let mut out = String::new();
    let mut chars = text[start..].chars();
    while let Some(c) = chars.next() {
        match c {
            '"' => return Some(out),
            '\\' => out.push(chars.next()?),
            c => out.push(c),
        }
    }
    None
}

/// Gives each auxiliary value marked as a row a workload of its own (`WORKLOAD.NAME`, a cost)
/// right after its workload, and a measurement per runtime and flavour that has it.
fn add_derived(workloads: Vec<Workload>, results: &mut Vec<Measurement>) -> Vec<Workload> {
    let mut out = Vec::with_capacity(workloads.len());
    let mut derived_results = Vec::new();
    for w in workloads {
        let mut names: Vec<(String, String)> = Vec::new();
        for m in results.iter().filter(|m| m.workload == w.name) {
            for a in m.aux.iter().filter(|a| a.row) {
                if !names.iter().any(|(n, _)| *n == a.name) {
                    names.push((a.name.clone(), a.unit.clone()));
                }
            }
        }
        let parent = w.clone();
        out.push(w);
        for (aux, unit) in names {
            let d = Workload {
                bin: parent.bin.clone(),
                area: parent.area.clone(),
                name: format!("{}.{aux}", parent.name),
                unit,
                higher_is_better: false,
                refs: parent.refs.clone(),
                kind: Kind::Derived {
                    parent: parent.name.clone(),
                    aux: aux.clone(),
                },
            };
            for m in results.iter().filter(|m| m.workload == parent.name) {
                let mut dm = Measurement::empty(&d, &m.runtime, &m.flavour);
                dm.secs = m.secs;
                dm.n = m.n;
                dm.reps = m.reps;
                match m.aux.iter().find(|a| a.name == aux) {
                    Some(a) => {
                        dm.status = "ok".into();
                        dm.median = Some(a.value);
                        dm.samples = vec![a.value];
                    }
                    None => {
                        dm.status = if m.status == "ok" {
                            "na".into()
                        } else {
                            m.status.clone()
                        };
                        dm.note = m.note.clone();
                    }
                }
                derived_results.push(dm);
            }
            out.push(d);
        }
    }
    results.extend(derived_results);
    out
}

/// Asks a bench binary for its workloads.
fn list(bin: &Path) -> Result<Vec<Workload>, String> {
    let out = Command::new(bin)
        .arg("--list")
        .output()
        .map_err(|e| format!("cannot run {}: {e}", bin.display()))?;
    if !out.status.success() {
        return Err(format!(
            "{} --list failed with {}",
            bin.display(),
            out.status
        ));
    }
    Ok(String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| {
            let f = fields(l.strip_prefix("bench-workload ")?);
            let refs = get(&f, "refs")
                .map(|r| {
                    r.split(',')
                        .filter_map(|item| {
                            let (name, fl) = item.split_once('@')?;
                            Some((name.to_string(), fl.split('+').map(String::from).collect()))
                        })
                        .collect()
                })
                .unwrap_or_default();
            Some(Workload {
                bin: bin.to_path_buf(),
                area: get(&f, "area")?.to_string(),
                name: get(&f, "workload")?.to_string(),
                unit: get(&f, "unit")?.to_string(),
                higher_is_better: get(&f, "better")? == "higher",
                refs,
                kind: Kind::Bin,
            })
        })
        .collect())
}

/// `key=value` fields separated by spaces; a `reason=` field takes the rest of the line.
pub(crate) fn fields(line: &str) -> Vec<(&str, &str)> {
    let (head, reason) = match line.find(" reason=") {
        Some(i) => (&line[..i], Some(&line[i + " reason=".len()..])),
        None => (line, None),
    };
    let mut f: Vec<(&str, &str)> = head
        .split_whitespace()
        .filter_map(|kv| kv.split_once('='))
        .collect();
    if let Some(r) = reason {
        f.push(("reason", r));
    }
    f
}

pub(crate) fn get<'a>(f: &[(&str, &'a str)], key: &str) -> Option<&'a str> {
    f.iter().find(|(k, _)| *k == key).map(|(_, v)| *v)
}

/// Runs one workload on one runtime and flavour in its own process.
fn run_one(
    w: &Workload,
    runtime: &str,
    flavour: &str,
    opts: &Options,
    raw_dir: &Path,
) -> Result<Measurement, String> {
    let stem = format!("{}-{runtime}-{flavour}", w.name);
    let out_path = raw_dir.join(format!("{stem}.out"));
    let err_path = raw_dir.join(format!("{stem}.err"));
    let out_file = std::fs::File::create(&out_path).map_err(|e| e.to_string())?;
    let err_file = std::fs::File::create(&err_path).map_err(|e| e.to_string())?;
    let mut cmd = Command::new(&w.bin);
    cmd.args([
        "--workload",
        &w.name,
        "--runtime",
        runtime,
        "--flavour",
        flavour,
    ])
    .stdin(Stdio::null())
    .stdout(out_file)
    .stderr(err_file);
    if opts.quick {
        cmd.arg("--quick");
    }
    if let Some(r) = &opts.reps {
        cmd.args(["--reps", r]);
    }
    let limit = Duration::from_secs(opts.timeout.unwrap_or(if opts.quick { 60 } else { 300 }));
    let start = Instant::now();
    let mut child = cmd
        .spawn()
        .map_err(|e| format!("cannot start `{}`: {e}", describe(&cmd)))?;
    let status = loop {
        if let Some(s) = child.try_wait().map_err(|e| e.to_string())? {
            break Some(s);
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let secs = start.elapsed().as_secs_f64();
    let stdout = std::fs::read_to_string(&out_path).unwrap_or_default();
    let stderr = std::fs::read_to_string(&err_path).unwrap_or_default();
    let mut m = Measurement::empty(w, runtime, flavour);
    m.secs = secs;
    let line = stdout.lines().find_map(|l| l.strip_prefix("bench-result "));
    match (status, line) {
        (None, _) => {
            m.status = "timeout".into();
            m.note = format!("killed after {} s", limit.as_secs());
        }
        (Some(s), Some(line)) if s.success() => {
            let f = fields(line);
            m.status = get(&f, "status").unwrap_or("error").to_string();
            m.median = get(&f, "median").and_then(|v| v.parse().ok());
            m.min = get(&f, "min").and_then(|v| v.parse().ok());
            m.max = get(&f, "max").and_then(|v| v.parse().ok());
            m.n = get(&f, "n").and_then(|v| v.parse().ok());
            m.reps = get(&f, "reps").and_then(|v| v.parse().ok());
            m.samples = get(&f, "samples")
                .map(|s| s.split(',').filter_map(|v| v.parse().ok()).collect())
                .unwrap_or_default();
            m.note = get(&f, "reason").unwrap_or_default().to_string();
            m.aux = get(&f, "aux").map(parse_aux).unwrap_or_default();
        }
        (Some(s), _) => {
            let last = stderr
                .lines()
                .rev()
                .find(|l| !l.trim().is_empty())
                .unwrap_or("no output");
            m.note = format!("exited with {s}: {last}");
        }
    }
    Ok(m)
}
