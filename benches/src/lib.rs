//! The harness behind tulip's side-by-side benchmarks against tokio and smol.
//!
//! - [`rt`]: the [`rt::Runtime`] trait and its three implementations, [`rt::Tulip`],
//!   [`rt::Tokio`] and [`rt::Smol`], each with a single-threaded (`ct`) and a two-worker (`mt`)
//!   [`Flavour`].
//! - [`Spec`] describes one workload (name, unit, sizes, repetitions); [`dispatch!`] turns a
//!   generic `async fn w<R: Runtime>(n: u64) -> f64` into its [`RunFn`] ([`dispatch_spawned!`]
//!   into one that runs it as a spawned task, for the `*_spawned` shapes); [`main`] is the
//!   whole `main` of a bench binary.
//! - A workload may also have [`Reference`]s: implementations that are not peers but yardsticks
//!   (a hand-written epoll loop, Python's asyncio and uvloop), run like a runtime
//!   (`--runtime epoll`) and reported in a table of their own.
//! - [`epoll`]: the hand-written epoll echo loop (the `tcp_echo` reference, and the one client
//!   of the cross-process echo); [`proc_cpu`]: CPU time of processes and threads.
//!
//! # How a measurement works
//!
//! A bench binary (one per area: `benches/<area>_<topic>.rs`) is normally started by
//! `cargo xtask bench` once per workload × runtime × flavour, so that allocator state and
//! threads never leak from one measurement into the next:
//!
//! ```text
//! executor_spawn --workload spawn_many --runtime tulip --flavour ct [--quick] [--reps N] [--n N]
//! ```
//!
//! It builds that runtime once, runs the workload `warmup` times unmeasured, then `reps` times,
//! each run returning its own measurement already in the workload's unit (ns per operation,
//! thousands of round trips per second, bytes per task, ...), so that a `--quick` run with a
//! smaller `n` reports numbers comparable with a full one. It prints one line per measurement on
//! stdout:
//!
//! ```text
//! bench-result area=executor workload=spawn_many runtime=tulip flavour=ct unit=ns/task better=lower n=1000000 warmup=1 reps=7 status=ok median=180.2 min=175.0 max=190.3 samples=...
//! bench-result area=executor workload=spawn_many runtime=NAME flavour=mt ... status=na reason=...
//! ```
//!
//! A workload may add auxiliary values to its line, `aux=name:value:unit[:row],...` (the
//! cross-process echo reports the server's and the client's CPU time per round trip that
//! way; `row` asks the report for a row of its own). `--list` prints one `bench-workload`
//! line per workload, with `refs=name@ct+mt,...` naming its references and the flavours they
//! run in.
//!
//! `status=na` means the runtime could not build that flavour (its builder failed or
//! panicked); every runtime builds both flavours today, so the line is there for a runtime or
//! flavour added later, and fills in by itself once it builds. Without `--workload` the
//! binary runs its whole matrix in one process (what `cargo bench` does), which is handy but
//! less isolated than the xtask's runs.

#![forbid(unsafe_code)]

pub mod epoll;
pub mod proc_cpu;
pub mod rt;

use std::future::Future;
use std::os::fd::AsFd;
use std::time::Duration;

pub use rt::{Flavour, Runtime};

/// The runtimes, in report order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RuntimeKind {
    /// tulip.
    Tulip,
    /// tokio.
    Tokio,
    /// smol (async-executor + async-io, async-channel, async-lock).
    Smol,
}

impl RuntimeKind {
    /// Every runtime, tulip first.
    pub const ALL: [RuntimeKind; 3] = [RuntimeKind::Tulip, RuntimeKind::Tokio, RuntimeKind::Smol];

    /// `tulip`, `tokio` or `smol`.
    pub fn name(self) -> &'static str {
        match self {
            RuntimeKind::Tulip => rt::Tulip::NAME,
            RuntimeKind::Tokio => rt::Tokio::NAME,
            RuntimeKind::Smol => rt::Smol::NAME,
        }
    }

    /// Parses a runtime name.
    pub fn parse(s: &str) -> Option<RuntimeKind> {
        RuntimeKind::ALL.into_iter().find(|r| r.name() == s)
    }
}

/// How much to run: the workload size, unmeasured warm-up runs and measured repetitions.
#[derive(Clone, Copy, Debug)]
pub struct Plan {
    /// The workload's size parameter (its meaning is the workload's own).
    pub n: u64,
    /// Runs before measuring.
    pub warmup: usize,
    /// Measured runs.
    pub reps: usize,
}

/// What one measurement gave.
#[derive(Debug)]
pub enum Outcome {
    /// One value per repetition, in the workload's unit.
    Ok(Vec<f64>),
    /// The same, with auxiliary values reported beside the median.
    WithAux(Vec<f64>, Vec<Aux>),
    /// The runtime cannot run this flavour (or a reference's tool is missing); the reason.
    NotAvailable(String),
}

/// An auxiliary value of a measurement (a cost: lower is better), e.g. the server's CPU time
/// per round trip in the cross-process echo.
#[derive(Clone, Copy, Debug)]
pub struct Aux {
    /// Its name (letters, digits, `_`).
    pub name: &'static str,
    /// Its unit, without spaces, e.g. `us/rt`.
    pub unit: &'static str,
    /// The median over the repetitions.
    pub value: f64,
    /// Whether the report gives it a row of its own (`<workload>.<name>`), compared across
    /// runtimes like a workload; otherwise it is only listed with the measurement.
    pub row: bool,
}

/// Runs one workload on one runtime and flavour.
pub type RunFn = fn(RuntimeKind, Flavour, &Plan) -> Outcome;

/// Runs one reference implementation of a workload in one flavour.
pub type RefFn = fn(Flavour, &Plan) -> Outcome;

/// A yardstick for a workload that is not one of the three runtimes: reported beside tulip,
/// never counted as a peer in the ratio.
#[derive(Clone, Copy, Debug)]
pub struct Reference {
    /// Its name, used as a runtime name (`--runtime epoll`); distinct from the runtimes'.
    pub name: &'static str,
    /// The flavours it runs in.
    pub flavours: &'static [Flavour],
    /// The runner.
    pub run: RefFn,
}

/// One workload.
#[derive(Clone, Copy, Debug)]
pub struct Spec {
    /// Its name (what `cargo xtask bench FILTER` matches).
    pub name: &'static str,
    /// The unit of its values, e.g. `ns/task`.
    pub unit: &'static str,
    /// Whether bigger values are better (throughputs) rather than smaller (costs).
    pub higher_is_better: bool,
    /// `n` of a full run.
    pub n: u64,
    /// `n` of a `--quick` run.
    pub quick_n: u64,
    /// Warm-up runs (0 for memory, which must be measured in a fresh process).
    pub warmup: usize,
    /// Measured repetitions of a full run.
    pub reps: usize,
    /// Measured repetitions of a `--quick` run.
    pub quick_reps: usize,
    /// The runner, made by [`dispatch!`].
    pub run: RunFn,
    /// Reference implementations (usually none).
    pub refs: &'static [Reference],
}

/// Builds runtime `R` in `flavour`, runs `workload(plan.n)` `plan.warmup` times and then
/// `plan.reps` times, and returns the measured values.
pub fn measure<R, F, Fut>(flavour: Flavour, plan: &Plan, workload: F) -> Outcome
where
    R: Runtime,
    F: Fn(u64) -> Fut,
    Fut: Future<Output = f64> + Send + 'static,
{
    let instance = match R::build(flavour) {
        Ok(i) => i,
        Err(reason) => return Outcome::NotAvailable(reason),
    };
    for _ in 0..plan.warmup {
        R::block_on(&instance, workload(plan.n));
    }
    let samples = (0..plan.reps)
        .map(|_| R::block_on(&instance, workload(plan.n)))
        .collect();
    drop(instance);
    Outcome::Ok(samples)
}

/// Turns a generic workload `async fn w<R: Runtime>(n: u64) -> f64` into a [`RunFn`].
#[macro_export]
macro_rules! dispatch {
    ($w:ident) => {
        |kind: $crate::RuntimeKind, flavour: $crate::Flavour, plan: &$crate::Plan| match kind {
            $crate::RuntimeKind::Tulip => {
                $crate::measure::<$crate::rt::Tulip, _, _>(flavour, plan, $w::<$crate::rt::Tulip>)
            }
            $crate::RuntimeKind::Tokio => {
                $crate::measure::<$crate::rt::Tokio, _, _>(flavour, plan, $w::<$crate::rt::Tokio>)
            }
            $crate::RuntimeKind::Smol => {
                $crate::measure::<$crate::rt::Smol, _, _>(flavour, plan, $w::<$crate::rt::Smol>)
            }
        }
    };
}

/// Like [`dispatch!`], but the workload's body runs as a spawned task that the main future
/// only awaits: the `*_spawned` shapes. A server never runs its work as the main future, and
/// each runtime treats the main future specially (tulip and tokio's single-threaded flavours
/// poll it in place, beside the run queue), so a workload whose both ends are spawned tasks
/// measures what a server's tasks pay.
#[macro_export]
macro_rules! dispatch_spawned {
    ($w:ident) => {
        |kind: $crate::RuntimeKind, flavour: $crate::Flavour, plan: &$crate::Plan| {
            fn root<R: $crate::Runtime>(
                n: u64,
            ) -> impl ::std::future::Future<Output = f64> + Send + 'static {
                // Spawned from inside the runtime, when the main future first runs.
                async move { R::spawn($w::<R>(n)).await }
            }
            match kind {
                $crate::RuntimeKind::Tulip => $crate::measure::<$crate::rt::Tulip, _, _>(
                    flavour,
                    plan,
                    root::<$crate::rt::Tulip>,
                ),
                $crate::RuntimeKind::Tokio => $crate::measure::<$crate::rt::Tokio, _, _>(
                    flavour,
                    plan,
                    root::<$crate::rt::Tokio>,
                ),
                $crate::RuntimeKind::Smol => $crate::measure::<$crate::rt::Smol, _, _>(
                    flavour,
                    plan,
                    root::<$crate::rt::Smol>,
                ),
            }
        }
    };
}

/// Nanoseconds per operation.
pub fn ns_per(elapsed: Duration, ops: u64) -> f64 {
    elapsed.as_nanos() as f64 / ops.max(1) as f64
}

/// A field of `/proc/self/status` in bytes (`VmRSS`, `VmHWM`, ...); `None` where there is no
/// procfs.
pub fn proc_status_bytes(field: &str) -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status
        .lines()
        .find(|l| l.strip_prefix(field).is_some_and(|r| r.starts_with(':')))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

/// Sets `TCP_NODELAY` on a socket of any runtime.
///
/// # Errors
///
/// The OS's error.
pub fn set_nodelay(s: &impl AsFd) -> std::io::Result<()> {
    Ok(rustix::net::sockopt::set_tcp_nodelay(s, true)?)
}

/// Sets `SO_LINGER` to zero on a socket of any runtime: closing it then sends a reset and
/// leaves no `TIME_WAIT` socket behind (which would pile up, and slow down the next
/// measurement's lookups, in a workload that opens connections by the ten thousand).
///
/// # Errors
///
/// The OS's error.
pub fn set_linger_zero(s: &impl AsFd) -> std::io::Result<()> {
    Ok(rustix::net::sockopt::set_socket_linger(
        s,
        Some(Duration::ZERO),
    )?)
}

/// Connected loopback TCP pairs `(client, server)`, made with blocking std calls.
///
/// # Panics
///
/// If the OS refuses a socket (the memory workloads need two descriptors per pair).
pub fn tcp_pairs(n: usize) -> Vec<(std::net::TcpStream, std::net::TcpStream)> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    let addr = listener.local_addr().expect("local_addr");
    (0..n)
        .map(|_| {
            let client = std::net::TcpStream::connect(addr).expect("connect");
            let (server, _) = listener.accept().expect("accept");
            client.set_nodelay(true).expect("nodelay");
            server.set_nodelay(true).expect("nodelay");
            (client, server)
        })
        .collect()
}

/// The median, min and max of `v` (which must not be empty).
pub fn summary(v: &[f64]) -> (f64, f64, f64) {
    let mut s = v.to_vec();
    s.sort_by(f64::total_cmp);
    let mid = s.len() / 2;
    let median = if s.len() % 2 == 1 {
        s[mid]
    } else {
        (s[mid - 1] + s[mid]) / 2.0
    };
    (median, s[0], s[s.len() - 1])
}

struct Args {
    list: bool,
    quick: bool,
    /// `--workload`: exact names.
    exact: Vec<String>,
    /// Positional arguments: substrings of names.
    filters: Vec<String>,
    /// `--runtime`: runtime or reference names (empty: every runtime and reference).
    runtimes: Vec<String>,
    flavours: Vec<Flavour>,
    reps: Option<usize>,
    warmup: Option<usize>,
    n: Option<u64>,
}

fn parse_args() -> Result<Args, String> {
    let mut a = Args {
        list: false,
        quick: false,
        exact: Vec::new(),
        filters: Vec::new(),
        runtimes: Vec::new(),
        flavours: Vec::new(),
        reps: None,
        warmup: None,
        n: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        let mut value = |name: &str| it.next().ok_or(format!("{name} needs a value"));
        match arg.as_str() {
            "--list" => a.list = true,
            "--quick" => a.quick = true,
            "--workload" => a
                .exact
                .extend(value("--workload")?.split(',').map(String::from)),
            "--runtime" => a
                .runtimes
                .extend(value("--runtime")?.split(',').map(String::from)),
            "--flavour" => {
                for f in value("--flavour")?.split(',') {
                    a.flavours
                        .push(Flavour::parse(f).ok_or(format!("unknown flavour `{f}`"))?);
                }
            }
            "--reps" => a.reps = Some(value("--reps")?.parse().map_err(|e| format!("{e}"))?),
            "--warmup" => a.warmup = Some(value("--warmup")?.parse().map_err(|e| format!("{e}"))?),
            "--n" => a.n = Some(value("--n")?.parse().map_err(|e| format!("{e}"))?),
            // `cargo bench` passes `--bench`; a name filter may follow it.
            "--bench" => {}
            other if other.starts_with('-') => return Err(format!("unknown flag `{other}`")),
            other => a.filters.push(other.to_string()),
        }
    }
    Ok(a)
}

/// The `main` of a bench binary for `area`: see the crate docs for the flags and the output.
pub fn main(area: &str, specs: &[Spec]) {
    let args = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("{area}: {e}");
            std::process::exit(2);
        }
    };
    if args.list {
        for s in specs {
            let better = if s.higher_is_better {
                "higher"
            } else {
                "lower"
            };
            let refs: Vec<String> = s
                .refs
                .iter()
                .map(|r| {
                    let fl: Vec<&str> = r.flavours.iter().map(|f| f.name()).collect();
                    format!("{}@{}", r.name, fl.join("+"))
                })
                .collect();
            let refs = if refs.is_empty() {
                String::new()
            } else {
                format!(" refs={}", refs.join(","))
            };
            println!(
                "bench-workload area={area} workload={} unit={} better={better}{refs}",
                s.name, s.unit
            );
        }
        return;
    }
    let chosen: Vec<&Spec> = specs
        .iter()
        .filter(|s| {
            (args.exact.is_empty() || args.exact.iter().any(|w| s.name == w))
                && (args.filters.is_empty()
                    || args.filters.iter().any(|f| s.name.contains(f.as_str())))
        })
        .collect();
    if chosen.is_empty() {
        eprintln!(
            "{area}: no workload matches {:?} {:?}",
            args.exact, args.filters
        );
        std::process::exit(2);
    }
    for r in &args.runtimes {
        let known = RuntimeKind::parse(r).is_some()
            || chosen.iter().any(|s| s.refs.iter().any(|x| x.name == r));
        if !known {
            eprintln!("{area}: unknown runtime or reference `{r}`");
            std::process::exit(2);
        }
    }
    let wanted = |name: &str| args.runtimes.is_empty() || args.runtimes.iter().any(|r| r == name);
    let runtimes: Vec<RuntimeKind> = RuntimeKind::ALL
        .into_iter()
        .filter(|r| wanted(r.name()))
        .collect();
    let flavours = if args.flavours.is_empty() {
        Flavour::ALL.to_vec()
    } else {
        args.flavours.clone()
    };
    for spec in chosen {
        let plan = Plan {
            n: args
                .n
                .unwrap_or(if args.quick { spec.quick_n } else { spec.n }),
            warmup: args.warmup.unwrap_or(spec.warmup),
            reps: args
                .reps
                .unwrap_or(if args.quick {
                    spec.quick_reps
                } else {
                    spec.reps
                })
                .max(1),
        };
        for &flavour in &flavours {
            for &kind in &runtimes {
                report(
                    area,
                    spec,
                    kind.name(),
                    flavour,
                    &plan,
                    (spec.run)(kind, flavour, &plan),
                );
            }
            for r in spec.refs {
                if wanted(r.name) && r.flavours.contains(&flavour) {
                    report(area, spec, r.name, flavour, &plan, (r.run)(flavour, &plan));
                }
            }
        }
    }
}

fn report(area: &str, spec: &Spec, runtime: &str, flavour: Flavour, plan: &Plan, out: Outcome) {
    let better = if spec.higher_is_better {
        "higher"
    } else {
        "lower"
    };
    let head = format!(
        "bench-result area={area} workload={} runtime={runtime} flavour={} unit={} better={better} n={} warmup={} reps={}",
        spec.name,
        flavour.name(),
        spec.unit,
        plan.n,
        plan.warmup,
        plan.reps
    );
    let (samples, aux) = match out {
        Outcome::Ok(samples) => (samples, Vec::new()),
        Outcome::WithAux(samples, aux) => (samples, aux),
        Outcome::NotAvailable(reason) => {
            let reason = reason.replace('\n', " ");
            println!("{head} status=na reason={reason}");
            eprintln!(
                "{:<18} {:>5}-{}  n/a: {reason}",
                spec.name,
                runtime,
                flavour.name()
            );
            return;
        }
    };
    let (median, min, max) = summary(&samples);
    let all: Vec<String> = samples.iter().map(|v| format!("{v:.4}")).collect();
    let aux_field = if aux.is_empty() {
        String::new()
    } else {
        let kv: Vec<String> = aux
            .iter()
            .map(|a| {
                let row = if a.row { ":row" } else { "" };
                format!("{}:{:.4}:{}{row}", a.name, a.value, a.unit)
            })
            .collect();
        format!(" aux={}", kv.join(","))
    };
    println!(
        "{head} status=ok median={median:.4} min={min:.4} max={max:.4}{aux_field} samples={}",
        all.join(",")
    );
    let aux_text: Vec<String> = aux
        .iter()
        .map(|a| format!("{} {:.3} {}", a.name, a.value, a.unit))
        .collect();
    eprintln!(
        "{:<18} {:>5}-{}  median {median:>12.3} {}  (min {min:.3}, max {max:.3}){}",
        spec.name,
        runtime,
        flavour.name(),
        spec.unit,
        if aux_text.is_empty() {
            String::new()
        } else {
            format!("  [{}]", aux_text.join(", "))
        }
    );
}
