//! Memory per idle task and per idle connection: the peak RSS (`VmHWM` in /proc/self/status)
//! after `n` of them exist, minus the RSS just before creating them, divided by `n`. Each
//! measurement needs a fresh process (no warm-up, one repetition), which is how
//! `cargo xtask bench` runs it.
//!
//! - `mem_task`: `n` (100 000) detached tasks, each parked forever on a pending future after
//!   its first poll; bytes/task.
//! - `mem_conn`: `n` (5 000) loopback connections whose server side is registered with the
//!   runtime and read by its own task, blocked on a 64-byte read that never completes (the
//!   client sockets stay plain std sockets, made before the baseline); bytes/conn.

use std::time::Duration;

use tulip_benches::{dispatch, proc_status_bytes, set_linger_zero, tcp_pairs, Runtime, Spec};

fn rss() -> u64 {
    proc_status_bytes("VmRSS").expect("/proc/self/status VmRSS")
}

fn peak() -> u64 {
    proc_status_bytes("VmHWM").expect("/proc/self/status VmHWM")
}

/// Lets every spawned task run once (on any flavour).
async fn settle<R: Runtime>() {
    for _ in 0..4 {
        R::yield_now().await;
    }
    R::sleep(Duration::from_millis(50)).await;
}

async fn mem_task<R: Runtime>(n: u64) -> f64 {
    let before = rss();
    for _ in 0..n {
        R::detach(R::spawn(std::future::pending::<()>()));
    }
    settle::<R>().await;
    (peak().saturating_sub(before)) as f64 / n as f64
}

async fn mem_conn<R: Runtime>(n: u64) -> f64 {
    let pairs = tcp_pairs(n as usize);
    let mut clients = Vec::with_capacity(pairs.len());
    let servers: Vec<_> = pairs
        .into_iter()
        .map(|(c, s)| {
            clients.push(c);
            s
        })
        .collect();
    let before = rss();
    for server in servers {
        let mut server = R::stream(server).expect("register");
        R::detach(R::spawn(async move {
            let mut buf = [0u8; 64];
            let _ = R::read(&mut server, &mut buf).await;
            std::future::pending::<()>().await;
        }));
    }
    settle::<R>().await;
    let per = (peak().saturating_sub(before)) as f64 / n as f64;
    // The clients stay open until the measurement is taken; then they are reset, so that
    // the 5 000 connections leave no TIME_WAIT sockets behind to weigh on later runs.
    for c in &clients {
        let _ = set_linger_zero(c);
    }
    drop(clients);
    per
}

fn main() {
    tulip_benches::main(
        "runtime",
        &[
            Spec {
                name: "mem_task",
                unit: "B/task",
                higher_is_better: false,
                n: 100_000,
                quick_n: 100_000,
                warmup: 0,
                reps: 1,
                quick_reps: 1,
                run: dispatch!(mem_task),
                refs: &[],
            },
            Spec {
                name: "mem_conn",
                unit: "B/conn",
                higher_is_better: false,
                n: 5_000,
                quick_n: 5_000,
                warmup: 0,
                reps: 1,
                quick_reps: 1,
                run: dispatch!(mem_conn),
                refs: &[],
            },
        ],
    );
}
