//! Channel workloads, each runtime with its own channels: tulip-queue, `tokio::sync::mpsc` /
//! `oneshot`, async-channel.
//!
//! - `ping_pong`: two tasks bounce a message `n` (1 M) times over two capacity-1 channels;
//!   ns/round trip.
//! - `ping_pong_oneshot`: the same over oneshot channels, two created per round trip (each
//!   message carries the sender for the reply); smol has no oneshot, so it uses async-channel
//!   `bounded(1)`, as PERF.md did; ns/round trip.
//! - `mpsc`: 4 producers × `n` (1 M) messages into one `bounded(1024)`, one consumer; ns/msg.
//! - `spsc`: 1 producer × `n` (1 M) messages into `bounded(1024)`, one consumer (throughput
//!   without producer contention); ns/msg.
//! - `req_resp`: one spawned server task answers [`CLIENTS`] spawned client tasks; each request
//!   goes over one shared `bounded(CLIENTS)` channel and carries a oneshot sender for its reply,
//!   and each client waits for its reply before the next request (`n`, 1 M, requests in all);
//!   ns/request.
//! - `*_spawned`: the same workload with its body run as a spawned task that the main future
//!   only awaits, so that both ends of every exchange are spawned tasks (in the plain shape the
//!   single-threaded flavours poll one end in place as the main future, which a server never
//!   does).

use std::time::Instant;

use tulip_benches::{dispatch, dispatch_spawned, ns_per, Runtime, Spec};

async fn ping_pong<R: Runtime>(n: u64) -> f64 {
    let (ping_tx, mut ping_rx) = R::bounded::<u64>(1);
    let (pong_tx, mut pong_rx) = R::bounded::<u64>(1);
    let start = Instant::now();
    let ponger = R::spawn(async move {
        while let Some(v) = R::recv(&mut ping_rx).await {
            R::send(&pong_tx, v).await;
        }
    });
    for i in 0..n {
        R::send(&ping_tx, i).await;
        let v = R::recv(&mut pong_rx).await;
        debug_assert_eq!(v, Some(i));
    }
    drop(ping_tx);
    ponger.await;
    ns_per(start.elapsed(), n)
}

/// A ping: the sender the pong must be sent on.
struct Ping<R: Runtime>(R::OTx<Pong<R>>);
/// A pong: the sender the next ping must be sent on.
struct Pong<R: Runtime>(R::OTx<Ping<R>>);

async fn ping_pong_oneshot<R: Runtime>(n: u64) -> f64 {
    let start = Instant::now();
    let (first_tx, first_rx) = R::oneshot::<Ping<R>>();
    let ponger = R::spawn(async move {
        let mut rx = first_rx;
        while let Some(Ping(reply)) = R::orecv(rx).await {
            let (tx, next) = R::oneshot::<Ping<R>>();
            R::osend(reply, Pong(tx));
            rx = next;
        }
    });
    let mut to_ponger = first_tx;
    for _ in 0..n {
        let (tx, rx) = R::oneshot::<Pong<R>>();
        R::osend(to_ponger, Ping(tx));
        let Pong(next) = R::orecv(rx).await.expect("the ponger is gone");
        to_ponger = next;
    }
    drop(to_ponger);
    ponger.await;
    ns_per(start.elapsed(), n)
}

async fn producers_consumer<R: Runtime>(producers: u64, n: u64) -> f64 {
    let (tx, mut rx) = R::bounded::<u64>(1024);
    let start = Instant::now();
    for _ in 0..producers {
        let tx = tx.clone();
        R::detach(R::spawn(async move {
            for i in 0..n {
                R::send(&tx, i).await;
            }
        }));
    }
    drop(tx);
    let mut got = 0;
    while R::recv(&mut rx).await.is_some() {
        got += 1;
    }
    assert_eq!(got, producers * n);
    ns_per(start.elapsed(), producers * n)
}

async fn mpsc<R: Runtime>(n: u64) -> f64 {
    producers_consumer::<R>(4, n).await
}

async fn spsc<R: Runtime>(n: u64) -> f64 {
    producers_consumer::<R>(1, n).await
}

/// Client tasks in `req_resp`.
const CLIENTS: u64 = 16;

async fn req_resp<R: Runtime>(n: u64) -> f64 {
    let (tx, mut rx) = R::bounded::<(u64, R::OTx<u64>)>(CLIENTS as usize);
    let per_client = (n / CLIENTS).max(1);
    let start = Instant::now();
    let server = R::spawn(async move {
        let mut served = 0u64;
        while let Some((v, reply)) = R::recv(&mut rx).await {
            R::osend(reply, v + 1);
            served += 1;
        }
        served
    });
    let clients: Vec<_> = (0..CLIENTS)
        .map(|_| {
            let tx = tx.clone();
            R::spawn(async move {
                for i in 0..per_client {
                    let (reply, answer) = R::oneshot::<u64>();
                    R::send(&tx, (i, reply)).await;
                    let got = R::orecv(answer).await;
                    debug_assert_eq!(got, Some(i + 1));
                }
            })
        })
        .collect();
    drop(tx);
    for c in clients {
        c.await;
    }
    let served = server.await;
    assert_eq!(served, per_client * CLIENTS, "the server lost requests");
    ns_per(start.elapsed(), served)
}

/// A workload's [`Spec`] with the sizes every channel workload here shares.
const fn spec(
    name: &'static str,
    unit: &'static str,
    reps: usize,
    run: tulip_benches::RunFn,
) -> Spec {
    Spec {
        name,
        unit,
        higher_is_better: false,
        n: 1_000_000,
        quick_n: 100_000,
        warmup: 1,
        reps,
        quick_reps: 3,
        run,
        refs: &[],
    }
}

fn main() {
    tulip_benches::main(
        "queue",
        &[
            spec("ping_pong", "ns/rt", 5, dispatch!(ping_pong)),
            spec(
                "ping_pong_oneshot",
                "ns/rt",
                5,
                dispatch!(ping_pong_oneshot),
            ),
            spec("mpsc", "ns/msg", 5, dispatch!(mpsc)),
            spec("spsc", "ns/msg", 7, dispatch!(spsc)),
            spec("req_resp", "ns/req", 5, dispatch!(req_resp)),
            spec(
                "ping_pong_spawned",
                "ns/rt",
                5,
                dispatch_spawned!(ping_pong),
            ),
            spec(
                "ping_pong_oneshot_spawned",
                "ns/rt",
                5,
                dispatch_spawned!(ping_pong_oneshot),
            ),
            spec("mpsc_spawned", "ns/msg", 5, dispatch_spawned!(mpsc)),
            spec("spsc_spawned", "ns/msg", 7, dispatch_spawned!(spsc)),
        ],
    );
}
