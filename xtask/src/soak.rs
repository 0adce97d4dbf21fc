//! `cargo xtask soak [--minutes N] [--ci]`: a long run of a loaded tulip server, watched for
//! leaks (issue 20, "Reliability").
//!
//! The server (`soak server`, tests/src/bin/soak.rs) echoes lines and runs 1 000 timer tasks,
//! a short subprocess every 100 ms and a `SIGUSR1` handler. Client processes (`soak client`,
//! the descriptor limit is 20 000 per process) open the connections from their own
//! `127.<k+1>.x.y` source addresses; the *active* ones echo a line every few milliseconds and
//! record the round trip's latency, the others every 10 s; each client signals the server
//! 100 times a second. Every few seconds the server's RSS and descriptor count (from `/proc`),
//! the clients' p99 latency and the server's counters go into `target/soak/soak.csv`, and at
//! the end into `target/soak/soak.svg`.
//!
//! The run fails (the criterion, checked on the samples after the warm-up: the first fifth of
//! the run, at least 5 s, and at least until every connection is open):
//! - if any connection failed or was dropped (a client error, or the server's count of open
//!   connections below the number opened);
//! - if memory grew: the largest RSS of the last third of the samples is over 110 % of the
//!   largest of the first third, plus 8 MiB;
//! - if descriptors grew: the largest count of the last third is over the largest of the
//!   first third, plus 16 (a subprocess's pidfd comes and goes);
//! - if the loop stalled: an interval with no round trip, or timers, subprocesses or signals
//!   that stopped advancing; or zombies piled up (more than 5 at a sample).
//!
//! The p99 latency is recorded and charted, not judged (speed targets live in benches).

use std::collections::HashMap;
use std::fmt::Write as _;
use std::io::{BufRead, BufReader, Write as _};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::bench::svg::{esc, nice_max};
use crate::util::{cargo, root, run as run_cmd};

/// The run's shape.
#[derive(Debug, Clone)]
struct Plan {
    duration: Duration,
    connections: usize,
    active: usize,
    clients: usize,
    pace_ms: u64,
    interval: Duration,
    release: bool,
}

fn parse(args: &[String]) -> Result<Plan, String> {
    let mut plan = Plan {
        duration: Duration::from_secs(600),
        connections: 19_000,
        active: 1_000,
        clients: 4,
        pace_ms: 50,
        interval: Duration::from_secs(5),
        release: true,
    };
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let mut value = |name: &str| {
            it.next()
                .ok_or_else(|| format!("{name} needs a value"))
                .cloned()
        };
        match a.as_str() {
            "--ci" => {
                plan = Plan {
                    duration: Duration::from_secs(20),
                    connections: 2_000,
                    active: 100,
                    clients: 2,
                    pace_ms: 10,
                    interval: Duration::from_secs(1),
                    // The debug build the tests already made.
                    release: false,
                }
            }
            "--minutes" => {
                let m: f64 = value("--minutes")?
                    .parse()
                    .map_err(|e| format!("--minutes: {e}"))?;
                if !(m > 0.0 && m.is_finite()) {
                    return Err("--minutes must be positive".into());
                }
                plan.duration = Duration::from_secs_f64(m * 60.0);
            }
            "--connections" => {
                plan.connections = value("--connections")?
                    .parse()
                    .map_err(|e| format!("--connections: {e}"))?
            }
            "--active" => {
                plan.active = value("--active")?
                    .parse()
                    .map_err(|e| format!("--active: {e}"))?
            }
            "--clients" => {
                plan.clients = value("--clients")?
                    .parse()
                    .map_err(|e| format!("--clients: {e}"))?
            }
            "--debug" => plan.release = false,
            other => {
                return Err(format!(
                    "unknown soak option `{other}` (try: --minutes N, --ci, --connections N, \
                     --active N, --clients N, --debug)"
                ))
            }
        }
    }
    if plan.clients == 0 || plan.clients > 250 {
        return Err("--clients must be 1..=250".into());
    }
    if plan.active > plan.connections {
        return Err("--active cannot exceed --connections".into());
    }
    if plan.connections / plan.clients > 15_000 {
        return Err(format!(
            "{} connections per client process: more than its descriptor limit allows; add --clients",
            plan.connections / plan.clients
        ));
    }
    Ok(plan)
}

/// The latest values a child process printed (`keyword key=value ...` lines).
type Latest = Arc<Mutex<HashMap<String, u64>>>;

/// Reads `child`'s stdout on a thread into `latest` (and `key=value` pairs under their keys,
/// `connected N` as `connected`).
fn watch(out: std::process::ChildStdout, latest: Latest) {
    std::thread::spawn(move || {
        for line in BufReader::new(out).lines().map_while(Result::ok) {
            let mut words = line.split_whitespace();
            let Some(kw) = words.next() else { continue };
            let mut l = latest.lock().unwrap();
            for w in words {
                match w.split_once('=') {
                    Some((k, v)) => {
                        if let Ok(v) = v.parse() {
                            l.insert(k.to_string(), v);
                        }
                    }
                    None => {
                        if let Ok(v) = w.parse() {
                            l.insert(kw.to_string(), v);
                        }
                    }
                }
            }
            if kw == "done" {
                l.insert("done".into(), 1);
            }
        }
    });
}

fn get(l: &Latest, key: &str) -> u64 {
    l.lock().unwrap().get(key).copied().unwrap_or(0)
}

/// The resident set size of `pid`, in KiB.
fn rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmRSS:"))
                .and_then(|v| v.split_whitespace().next()?.parse().ok())
        })
        .unwrap_or(0)
}

fn fd_count(pid: u32) -> u64 {
    std::fs::read_dir(format!("/proc/{pid}/fd")).map_or(0, |d| d.count() as u64)
}

/// How many zombie children `pid` has.
fn zombies_of(pid: u32) -> u64 {
    let parent = pid.to_string();
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return 0;
    };
    dir.flatten()
        .filter_map(|e| {
            let name = e.file_name().into_string().ok()?;
            name.parse::<u32>().ok()?;
            std::fs::read_to_string(format!("/proc/{name}/stat")).ok()
        })
        .filter(|stat| {
            let rest = stat.rfind(')').map_or("", |i| &stat[i + 1..]);
            let mut f = rest.split_whitespace();
            f.next() == Some("Z") && f.next() == Some(parent.as_str())
        })
        .count() as u64
}

/// One sample.
#[derive(Debug, Clone, Default)]
struct Sample {
    t: f64,
    rss_kib: u64,
    fds: u64,
    p99_us: u64,
    round_trips: u64,
    conns: u64,
    timers: u64,
    children: u64,
    signals: u64,
    zombies: u64,
    errors: u64,
    /// Connections the clients have opened so far (not in the CSV).
    connected: u64,
}

const CSV_HEADER: &str =
    "seconds,rss_kib,fds,p99_us,round_trips,server_connections,timers,children,signals,zombies,errors";

impl Sample {
    fn csv(&self) -> String {
        format!(
            "{:.1},{},{},{},{},{},{},{},{},{},{}",
            self.t,
            self.rss_kib,
            self.fds,
            self.p99_us,
            self.round_trips,
            self.conns,
            self.timers,
            self.children,
            self.signals,
            self.zombies,
            self.errors
        )
    }
}

struct Proc {
    child: Child,
    stdin: Option<ChildStdin>,
    latest: Latest,
}

fn start(bin: &PathBuf, args: &[String]) -> Result<Proc, String> {
    let mut child = Command::new(bin)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot start {}: {e}", bin.display()))?;
    let latest: Latest = Arc::default();
    watch(child.stdout.take().unwrap(), latest.clone());
    let stdin = child.stdin.take();
    Ok(Proc {
        child,
        stdin,
        latest,
    })
}

/// Closes a process's stdin (its signal to stop) and waits up to `limit` for it.
fn stop(p: &mut Proc, limit: Duration) -> Result<std::process::ExitStatus, String> {
    drop(p.stdin.take());
    let t0 = Instant::now();
    loop {
        if let Some(s) = p.child.try_wait().map_err(|e| e.to_string())? {
            return Ok(s);
        }
        if t0.elapsed() > limit {
            let _ = p.child.kill();
            let _ = p.child.wait();
            return Err(format!("a soak process did not stop within {limit:?}"));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

pub(crate) fn run(args: &[String]) -> Result<(), String> {
    let plan = parse(args)?;
    let mut build = cargo();
    if plan.release {
        build.args(["build", "--release", "-p", "tulip-tests", "--bin", "soak"]);
    } else {
        // The build `cargo test --workspace` makes (the same features, so CI rebuilds
        // nothing); it includes the tests crate's binaries.
        build.args(["test", "--workspace", "--no-run"]);
    }
    run_cmd(&mut build)?;
    let bin = std::env::var_os("CARGO_TARGET_DIR")
        .map_or_else(|| root().join("target"), PathBuf::from)
        .join(if plan.release { "release" } else { "debug" })
        .join("soak");
    let out_dir = root().join("target/soak");
    std::fs::create_dir_all(&out_dir).map_err(|e| e.to_string())?;
    eprintln!(
        "soak: {:?}, {} connections ({} active, one line per {} ms) over {} client processes",
        plan.duration, plan.connections, plan.active, plan.pace_ms, plan.clients
    );

    let mut server = start(&bin, &["server".into()])?;
    let spid = server.child.id();
    let t_start = Instant::now();
    while get(&server.latest, "port") == 0 {
        if t_start.elapsed() > Duration::from_secs(30) {
            let _ = stop(&mut server, Duration::from_secs(1));
            return Err("the soak server did not say its port".into());
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let addr = format!("127.0.0.1:{}", get(&server.latest, "port"));
    let mut clients = Vec::new();
    for k in 0..plan.clients {
        let share = |n: usize| n / plan.clients + usize::from(k < n % plan.clients);
        clients.push(start(
            &bin,
            &[
                "client".into(),
                addr.clone(),
                spid.to_string(),
                k.to_string(),
                share(plan.connections).to_string(),
                share(plan.active).to_string(),
                plan.pace_ms.to_string(),
            ],
        )?);
    }

    let csv_path = out_dir.join("soak.csv");
    let mut csv = std::fs::File::create(&csv_path).map_err(|e| e.to_string())?;
    writeln!(csv, "{CSV_HEADER}").map_err(|e| e.to_string())?;
    eprintln!("{CSV_HEADER}");
    let mut samples = Vec::new();
    let mut next = t_start + plan.interval;
    while t_start.elapsed() < plan.duration {
        std::thread::sleep(next.saturating_duration_since(Instant::now()));
        next += plan.interval;
        let s = Sample {
            t: t_start.elapsed().as_secs_f64(),
            rss_kib: rss_kib(spid),
            fds: fd_count(spid),
            p99_us: clients
                .iter()
                .map(|c| get(&c.latest, "p99_us"))
                .max()
                .unwrap_or(0),
            round_trips: clients.iter().map(|c| get(&c.latest, "round_trips")).sum(),
            conns: get(&server.latest, "conns"),
            timers: get(&server.latest, "timers"),
            children: get(&server.latest, "children"),
            signals: get(&server.latest, "signals"),
            zombies: zombies_of(spid),
            errors: clients
                .iter()
                .map(|c| get(&c.latest, "errors"))
                .sum::<u64>()
                + get(&server.latest, "child_failures"),
            connected: clients.iter().map(|c| get(&c.latest, "connected")).sum(),
        };
        writeln!(csv, "{}", s.csv()).map_err(|e| e.to_string())?;
        eprintln!("{}", s.csv());
        if let Ok(Some(status)) = server.child.try_wait() {
            return Err(format!("the soak server exited early: {status}"));
        }
        samples.push(s);
    }
    let connected: u64 = clients.iter().map(|c| get(&c.latest, "connected")).sum();
    let mut failures = Vec::new();
    for (k, c) in clients.iter_mut().enumerate() {
        match stop(c, Duration::from_secs(30)) {
            Ok(s) if s.success() => {}
            Ok(s) => failures.push(format!("client {k} exited with {s}")),
            Err(e) => failures.push(format!("client {k}: {e}")),
        }
        let errors = get(&c.latest, "errors");
        if errors > 0 {
            failures.push(format!("client {k} saw {errors} connection errors"));
        }
    }
    match stop(&mut server, Duration::from_secs(30)) {
        Ok(s) if s.success() => {}
        Ok(s) => failures.push(format!("the server exited with {s}")),
        Err(e) => failures.push(format!("the server: {e}")),
    }

    let svg_path = out_dir.join("soak.svg");
    std::fs::write(&svg_path, chart(&samples, &plan)).map_err(|e| e.to_string())?;
    eprintln!(
        "soak: wrote {} and {}",
        csv_path.display(),
        svg_path.display()
    );
    failures.extend(judge(&samples, &plan, connected));
    if failures.is_empty() {
        eprintln!("soak: passed (no growth of memory or descriptors after the warm-up, no stall, no error)");
        Ok(())
    } else {
        Err(format!("soak failed:\n  {}", failures.join("\n  ")))
    }
}

/// When the warm-up ends, in seconds from the start: after the first fifth of the run (at
/// least 5 s), and not before the sample after the one that saw every connection open.
fn warm_up(samples: &[Sample], plan: &Plan) -> f64 {
    let fifth = (plan.duration.as_secs_f64() / 5.0).max(5.0);
    let all_open = samples
        .windows(2)
        .find(|w| w[0].connected >= plan.connections as u64)
        .map_or(f64::INFINITY, |w| w[1].t);
    fifth.max(all_open)
}

/// The run's criteria (see the module docs); the failures found.
fn judge(samples: &[Sample], plan: &Plan, connected: u64) -> Vec<String> {
    let mut f = Vec::new();
    if connected != plan.connections as u64 {
        f.push(format!(
            "{connected} of {} connections were opened",
            plan.connections
        ));
    }
    let warm = warm_up(samples, plan);
    let after: Vec<&Sample> = samples.iter().filter(|s| s.t >= warm).collect();
    if after.len() < 3 {
        f.push(format!("only {} samples after the warm-up", after.len()));
        return f;
    }
    let third = after.len() / 3;
    let (first, last) = (&after[..third.max(1)], &after[after.len() - third.max(1)..]);
    let max = |xs: &[&Sample], g: fn(&Sample) -> u64| xs.iter().map(|s| g(s)).max().unwrap_or(0);
    let (rss0, rss1) = (max(first, |s| s.rss_kib), max(last, |s| s.rss_kib));
    if rss1 as f64 > rss0 as f64 * 1.10 + 8.0 * 1024.0 {
        f.push(format!(
            "memory grew after the warm-up: RSS {rss0} KiB early, {rss1} KiB late"
        ));
    }
    let (fd0, fd1) = (max(first, |s| s.fds), max(last, |s| s.fds));
    if fd1 > fd0 + 16 {
        f.push(format!(
            "descriptors grew after the warm-up: {fd0} early, {fd1} late"
        ));
    }
    for w in after.windows(2) {
        if w[1].round_trips <= w[0].round_trips {
            f.push(format!(
                "no round trip completed between {:.0} s and {:.0} s",
                w[0].t, w[1].t
            ));
        }
    }
    for s in &after {
        if s.conns < plan.connections as u64 {
            f.push(format!(
                "at {:.0} s the server had {} of {} connections",
                s.t, s.conns, plan.connections
            ));
            break;
        }
        if s.zombies > 5 {
            f.push(format!(
                "at {:.0} s the server had {} zombies",
                s.t, s.zombies
            ));
            break;
        }
    }
    let (a, b) = (after[0], after[after.len() - 1]);
    for (what, x, y) in [
        ("timers", a.timers, b.timers),
        ("subprocesses", a.children, b.children),
        ("signals", a.signals, b.signals),
    ] {
        if y <= x {
            f.push(format!("{what} stopped advancing after the warm-up"));
        }
    }
    if b.errors > 0 {
        f.push(format!("{} errors (connections or subprocesses)", b.errors));
    }
    f
}

/// One chart: its title, its unit and the value it plots.
type Panel = (&'static str, &'static str, fn(&Sample) -> f64);

/// Three stacked line charts over time: RSS (MiB), descriptors, p99 latency (ms).
fn chart(samples: &[Sample], plan: &Plan) -> String {
    const W: f64 = 720.0;
    const PANEL: f64 = 170.0;
    const LEFT: f64 = 70.0;
    const RIGHT: f64 = 20.0;
    const TOP: f64 = 50.0;
    const GAP: f64 = 40.0;
    let panels: [Panel; 3] = [
        ("server RSS", "MiB", |s| s.rss_kib as f64 / 1024.0),
        ("server descriptors", "open", |s| s.fds as f64),
        ("p99 round trip (worst client)", "ms", |s| {
            s.p99_us as f64 / 1000.0
        }),
    ];
    let h = TOP + panels.len() as f64 * (PANEL + GAP);
    let tmax = nice_max(samples.last().map_or(1.0, |s| s.t));
    let warm = warm_up(samples, plan).min(samples.last().map_or(0.0, |s| s.t));
    let x = |t: f64| LEFT + (W - LEFT - RIGHT) * (t / tmax).clamp(0.0, 1.0);
    let mut s = String::new();
    let _ = writeln!(
        s,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{W}\" height=\"{h}\" \
         viewBox=\"0 0 {W} {h}\" font-family=\"sans-serif\" font-size=\"12\">\n\
         <rect width=\"{W}\" height=\"{h}\" fill=\"white\"/>"
    );
    let _ = writeln!(
        s,
        "<text x=\"{}\" y=\"24\" text-anchor=\"middle\" font-size=\"16\" font-weight=\"bold\">{}</text>",
        W / 2.0,
        esc(&format!(
            "tulip soak: {} connections ({} active), {:.0} s; grey: warm-up",
            plan.connections,
            plan.active,
            plan.duration.as_secs_f64()
        ))
    );
    for (i, (name, unit, get)) in panels.iter().enumerate() {
        let top = TOP + i as f64 * (PANEL + GAP);
        let ymax = nice_max(samples.iter().map(get).fold(0.0, f64::max) * 1.05);
        let y = |v: f64| top + PANEL * (1.0 - (v / ymax).clamp(0.0, 1.0));
        let _ = writeln!(
            s,
            "<rect x=\"{LEFT}\" y=\"{top}\" width=\"{:.1}\" height=\"{PANEL}\" fill=\"#f1f3f5\"/>\
             <text x=\"{LEFT}\" y=\"{:.1}\" font-weight=\"bold\">{} ({})</text>",
            x(warm) - LEFT,
            top - 6.0,
            esc(name),
            esc(unit)
        );
        for k in 0..=4 {
            let v = ymax * f64::from(k) / 4.0;
            let _ = writeln!(
                s,
                "<line x1=\"{LEFT}\" y1=\"{0:.1}\" x2=\"{1:.1}\" y2=\"{0:.1}\" stroke=\"#dee2e6\"/>\
                 <text x=\"{2:.1}\" y=\"{3:.1}\" text-anchor=\"end\" fill=\"#495057\">{4}</text>",
                y(v),
                W - RIGHT,
                LEFT - 6.0,
                y(v) + 4.0,
                if ymax >= 10.0 {
                    format!("{v:.0}")
                } else {
                    format!("{v:.2}")
                }
            );
        }
        let points: Vec<String> = samples
            .iter()
            .map(|p| format!("{:.1},{:.1}", x(p.t), y(get(p))))
            .collect();
        let _ = writeln!(
            s,
            "<polyline fill=\"none\" stroke=\"#d6336c\" stroke-width=\"2\" points=\"{}\"/>",
            points.join(" ")
        );
    }
    let bottom = TOP + panels.len() as f64 * (PANEL + GAP) - GAP;
    for k in 0..=4 {
        let t = tmax * f64::from(k) / 4.0;
        let _ = writeln!(
            s,
            "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\" fill=\"#495057\">{t:.0} s</text>",
            x(t),
            bottom + 16.0
        );
    }
    s.push_str("</svg>\n");
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan() -> Plan {
        let mut p = parse(&["--ci".to_string()]).unwrap();
        p.duration = Duration::from_secs(30);
        p
    }

    /// Thirty one-second samples of a healthy run whose RSS and descriptors follow `rss` and
    /// `fds`.
    fn run(rss: impl Fn(u64) -> u64, fds: impl Fn(u64) -> u64) -> Vec<Sample> {
        (1..=30)
            .map(|i| Sample {
                t: i as f64,
                rss_kib: rss(i),
                fds: fds(i),
                p99_us: 1000,
                round_trips: i * 100,
                conns: 2000,
                timers: i * 10,
                children: i,
                signals: i * 100,
                zombies: 0,
                errors: 0,
                connected: 2000,
            })
            .collect()
    }

    #[test]
    fn a_steady_run_passes() {
        let s = run(|i| 20_000 + i % 3, |_| 2012);
        assert!(
            judge(&s, &plan(), 2000).is_empty(),
            "{:?}",
            judge(&s, &plan(), 2000)
        );
    }

    #[test]
    fn growth_of_memory_or_descriptors_fails() {
        // 1 MiB a second: 20 MiB more at the end than after the warm-up.
        let s = run(|i| 20_000 + i * 1024, |_| 2012);
        let f = judge(&s, &plan(), 2000);
        assert!(f.iter().any(|m| m.contains("memory grew")), "{f:?}");
        let s = run(|_| 20_000, |i| 2012 + i * 2);
        let f = judge(&s, &plan(), 2000);
        assert!(f.iter().any(|m| m.contains("descriptors grew")), "{f:?}");
    }

    #[test]
    fn a_stall_a_dropped_connection_or_an_error_fails() {
        let mut s = run(|_| 20_000, |_| 2012);
        s[20].round_trips = s[19].round_trips;
        s[25].conns = 1999;
        s[29].errors = 1;
        let f = judge(&s, &plan(), 2000);
        assert!(f.iter().any(|m| m.contains("no round trip")), "{f:?}");
        assert!(f.iter().any(|m| m.contains("1999 of 2000")), "{f:?}");
        assert!(f.iter().any(|m| m.contains("errors")), "{f:?}");
        // The warm-up waits for every connection: a slow start is no failure.
        let mut s = run(|_| 20_000, |_| 2012);
        for x in &mut s[..8] {
            x.connected = 1000;
            x.conns = 1000;
        }
        assert!(judge(&s, &plan(), 2000).is_empty());
    }

    #[test]
    fn the_chart_is_an_svg_with_three_lines() {
        let svg = chart(&run(|_| 20_000, |_| 2012), &plan());
        assert!(svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"));
        assert_eq!(svg.matches("<polyline").count(), 3);
    }
}
