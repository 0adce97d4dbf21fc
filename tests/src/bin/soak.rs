//! The soak's two sides, which `cargo xtask soak` starts (xtask/src/soak.rs):
//!
//! ```text
//! soak server                      an echo server with timers, subprocesses and a SIGUSR1
//!                                  handler; prints `port N`, then a `stats ...` line every
//!                                  second; stops when its stdin closes
//! soak client ADDR PID K CONNS ACTIVE PACE_MS
//!                                  CONNS connections to ADDR from 127.<K+1>.x.y, ACTIVE of
//!                                  them echoing a line every PACE_MS (the others every 10 s),
//!                                  SIGUSR1 to PID every 10 ms; prints `sample ...` every
//!                                  second and `done errors=N` when its stdin closes
//! ```
//!
//! Output lines are `key=value` pairs after a keyword, for xtask to parse.

use std::io::{BufRead, Write};
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tulip::process::Command;
use tulip::streams::{ConnectionOptions, ServerOptions, StreamReader, StreamWriter};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("server") => server(),
        Some("client") if args.len() == 7 => client(&args[1..]),
        _ => {
            eprintln!("usage: soak server | soak client ADDR PID K CONNS ACTIVE PACE_MS");
            std::process::exit(2);
        }
    }
}

/// A future that completes when this process's stdin reaches end of file (read on a thread).
async fn stdin_closed() {
    tulip::to_thread(|| {
        let mut line = String::new();
        let stdin = std::io::stdin();
        let mut lock = stdin.lock();
        while lock.read_line(&mut line).is_ok_and(|n| n > 0) {
            line.clear();
        }
    })
    .await
}

fn say(line: &str) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{line}");
    let _ = out.flush();
}

async fn echo(mut r: StreamReader, w: StreamWriter) {
    while let Ok(line) = r.readline().await {
        if line.is_empty() {
            break;
        }
        w.write(&line);
        if w.drain().await.is_err() {
            break;
        }
    }
}

fn server() {
    tulip::run(async {
        let server = Arc::new(
            ServerOptions::new()
                .backlog(4096)
                .start_server(echo, "127.0.0.1:0")
                .await
                .expect("start the soak server"),
        );
        let port = server.local_addrs()[0].as_inet().unwrap().port();
        say(&format!("port {port}"));

        let signals = Arc::new(AtomicU64::new(0));
        let s = signals.clone();
        tulip::EventLoop::current()
            .add_signal_handler(tulip::signal::SIGUSR1, move || {
                s.fetch_add(1, Ordering::Relaxed);
            })
            .expect("a SIGUSR1 handler");

        // Timers: 1 000 tasks sleeping 1..50 ms in turn.
        let timers = Arc::new(AtomicU64::new(0));
        for i in 0..1000u64 {
            let timers = timers.clone();
            tulip::spawn(async move {
                let mut d = i % 50 + 1;
                loop {
                    tulip::sleep(Duration::from_millis(d)).await;
                    timers.fetch_add(1, Ordering::Relaxed);
                    d = (d * 7 + 3) % 50 + 1;
                }
            })
            .detach();
        }

        // Subprocesses: a short child every 100 ms, waited for; one in four dropped instead
        // (reaped in the background).
        let children = Arc::new(AtomicU64::new(0));
        let failures = Arc::new(AtomicU64::new(0));
        {
            let (children, failures) = (children.clone(), failures.clone());
            tulip::spawn(async move {
                let mut n = 0u64;
                loop {
                    tulip::sleep(Duration::from_millis(100)).await;
                    n += 1;
                    match Command::new("true").spawn() {
                        Ok(child) if n % 4 == 0 => drop(child),
                        Ok(child) => match child.wait().await {
                            Ok(s) if s.success() => {}
                            _ => {
                                failures.fetch_add(1, Ordering::Relaxed);
                            }
                        },
                        Err(_) => {
                            failures.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                    children.fetch_add(1, Ordering::Relaxed);
                }
            })
            .detach();
        }

        let reporter = {
            let server_conns = Arc::clone(&server);
            tulip::spawn(async move {
                loop {
                    tulip::sleep(Duration::from_secs(1)).await;
                    say(&format!(
                        "stats conns={} timers={} children={} child_failures={} signals={}",
                        server_conns.active_connections(),
                        timers.load(Ordering::Relaxed),
                        children.load(Ordering::Relaxed),
                        failures.load(Ordering::Relaxed),
                        signals.load(Ordering::Relaxed),
                    ));
                }
            })
        };
        stdin_closed().await;
        reporter.cancel();
        server.close();
        server.abort_clients();
    });
}

fn client(args: &[String]) {
    let addr: SocketAddr = args[0].parse().expect("ADDR");
    let server_pid: i32 = args[1].parse().expect("PID");
    let k: u8 = args[2].parse().expect("K");
    let conns: usize = args[3].parse().expect("CONNS");
    let active: usize = args[4].parse().expect("ACTIVE");
    let pace = Duration::from_millis(args[5].parse().expect("PACE_MS"));
    tulip::run(async move {
        let errors = Arc::new(AtomicUsize::new(0));
        let latencies = Arc::new(Mutex::new(Vec::<u32>::new()));
        let round_trips = Arc::new(AtomicU64::new(0));
        let connected = Arc::new(AtomicUsize::new(0));
        // Connect in batches of 200 (the server's backlog is 4 096 for every client).
        let mut pairs = Vec::with_capacity(conns);
        for batch in (0..conns).collect::<Vec<_>>().chunks(200) {
            let tasks: Vec<_> = batch
                .iter()
                .map(|&i| {
                    let source = SocketAddr::V4(SocketAddrV4::new(
                        Ipv4Addr::new(127, k.wrapping_add(1), (i / 250) as u8, (i % 250) as u8 + 1),
                        0,
                    ));
                    tulip::spawn(async move {
                        ConnectionOptions::new()
                            .local_addr(source)
                            .open_connection(addr)
                            .await
                    })
                })
                .collect();
            for t in tasks {
                match t.await.expect("a connect task") {
                    Ok(pair) => {
                        connected.fetch_add(1, Ordering::Relaxed);
                        pairs.push(pair);
                    }
                    Err(e) => {
                        eprintln!("soak client {k}: connect: {e}");
                        errors.fetch_add(1, Ordering::Relaxed);
                    }
                }
            }
        }
        say(&format!("connected {}", connected.load(Ordering::Relaxed)));
        let mut tasks = Vec::new();
        for (i, (mut r, w)) in pairs.into_iter().enumerate() {
            let (errors, latencies, round_trips) =
                (errors.clone(), latencies.clone(), round_trips.clone());
            let is_active = i < active;
            tasks.push(tulip::spawn(async move {
                let every = if is_active {
                    pace
                } else {
                    Duration::from_secs(10)
                };
                // Spread the first requests over one period.
                let offset = every.as_micros() as u64 * (i as u64 % 97) / 97;
                tulip::sleep(Duration::from_micros(offset)).await;
                let line = format!("connection {i} of client {k}\n");
                loop {
                    let t0 = Instant::now();
                    w.write(line.as_bytes());
                    match r.readline().await {
                        Ok(got) if got == line.as_bytes() => {
                            round_trips.fetch_add(1, Ordering::Relaxed);
                            if is_active {
                                let us = t0.elapsed().as_micros().min(u32::MAX as u128) as u32;
                                latencies.lock().unwrap().push(us);
                            }
                        }
                        other => {
                            eprintln!("soak client {k}: connection {i}: {other:?}");
                            errors.fetch_add(1, Ordering::Relaxed);
                            return;
                        }
                    }
                    tulip::sleep(every).await;
                }
            }));
        }
        // Signals to the server, 100 a second.
        let signaller = tulip::spawn(async move {
            loop {
                tulip::sleep(Duration::from_millis(10)).await;
                // SAFETY: kill(2) takes two integers and has no memory-safety preconditions.
                unsafe { libc::kill(server_pid, libc::SIGUSR1) };
            }
        });
        let reporter = {
            let (errors, latencies, round_trips) =
                (errors.clone(), latencies.clone(), round_trips.clone());
            tulip::spawn(async move {
                loop {
                    tulip::sleep(Duration::from_secs(1)).await;
                    let mut l = std::mem::take(&mut *latencies.lock().unwrap());
                    l.sort_unstable();
                    let p99 = if l.is_empty() {
                        0
                    } else {
                        l[(l.len() * 99 / 100).min(l.len() - 1)]
                    };
                    say(&format!(
                        "sample p99_us={p99} samples={} round_trips={} errors={}",
                        l.len(),
                        round_trips.load(Ordering::Relaxed),
                        errors.load(Ordering::Relaxed)
                    ));
                }
            })
        };
        stdin_closed().await;
        signaller.cancel();
        reporter.cancel();
        for t in tasks {
            t.cancel();
        }
        say(&format!("done errors={}", errors.load(Ordering::Relaxed)));
    });
}
