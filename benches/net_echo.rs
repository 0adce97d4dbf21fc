//! TCP workloads over loopback, clients and servers in one process: tulip's `tulip::net` and
//! `tulip::streams`, tokio's `net` and `io::BufReader`, smol's `async_io::Async` and
//! futures-lite's `BufReader`.
//!
//! - `tcp_echo`: 64 connections × `n` (10 000) round trips of 64 bytes: the client writes 64
//!   bytes (`write_all`) and reads them back (`read_exact`), the server is the usual echo loop
//!   (`read` into a 4 KiB buffer, `write_all` of what came); thousands of round trips per
//!   second. Connections are made with blocking std calls before the clock starts. Reference:
//!   `epoll`, the same round trips in a hand-written epoll loop (`tulip_benches::epoll`).
//! - `tcp_stream`: one connection, `n` (1 GiB) bytes in 64 KiB writes, read with a 64 KiB
//!   buffer; GiB/s.
//! - `streams_echo`: `tcp_echo`'s shape (64 connections × `n` (5 000) round trips of a 64-byte line)
//!   in asyncio's streams idiom: the server reads a line (`readline`) and writes it back
//!   (`write` + `drain`), the client writes a line and reads the reply with `readline`. tulip:
//!   `tulip::streams::from_stream` on each socket (what `start_server` and `open_connection` do
//!   for theirs); tokio: `io::BufReader` with `read_until(b'\n')` and `write_all`; smol:
//!   futures-lite's `BufReader`, the same calls. (`read_until` is `read_line` without the UTF-8
//!   check: asyncio's `readline` returns bytes.)
//! - `protocol_echo`: `streams_echo` with the server in asyncio's transports-and-protocols
//!   idiom (tulip only; tokio and smol have none): each server socket runs an echo
//!   `tulip::protocol::Protocol` (`data_received` writes what came to its transport) through
//!   `connect_accepted_socket`; the clients are `streams_echo`'s. Compare with tulip's
//!   `streams_echo` row.
//! - `accept_storm`: connections per second. A server task accepts with the runtime's
//!   listener (`bind` and `accept`, each runtime's defaults) and closes each connection at
//!   once; 16 connector tasks each loop `connect` (the runtime's own), wait for the server's
//!   close (a read that returns end of stream) and close their side with `SO_LINGER` 0, so no
//!   `TIME_WAIT` socket is left to slow down the next measurement. `n` (20 000) connections;
//!   thousands of connections per second.

use std::net::SocketAddr;
use std::time::Instant;

use tulip_benches::epoll::{self, MSG};
use tulip_benches::{
    dispatch, set_linger_zero, tcp_pairs, Flavour, Outcome, Plan, Reference, Runtime, RuntimeKind,
    Spec,
};

/// Connections in `tcp_echo` and `streams_echo`.
const CONNS: usize = 64;
/// The echo server's read buffer.
const ECHO_BUF: usize = 4096;
/// Write and read size of `tcp_stream`.
const CHUNK: usize = 64 * 1024;
/// Concurrent connectors in `accept_storm`.
const CONNECTORS: u64 = 16;

async fn tcp_echo<R: Runtime>(n: u64) -> f64 {
    let pairs = tcp_pairs(CONNS);
    let start = Instant::now();
    let mut clients = Vec::with_capacity(CONNS);
    for (client, server) in pairs {
        let mut server = R::stream(server).expect("register server");
        let mut client = R::stream(client).expect("register client");
        R::detach(R::spawn(async move {
            let mut buf = vec![0u8; ECHO_BUF];
            while let Ok(got @ 1..) = R::read(&mut server, &mut buf).await {
                R::write_all(&mut server, &buf[..got])
                    .await
                    .expect("echo write");
            }
        }));
        clients.push(R::spawn(async move {
            let mut buf = [7u8; MSG];
            for _ in 0..n {
                R::write_all(&mut client, &buf).await.expect("client write");
                R::read_exact(&mut client, &mut buf)
                    .await
                    .expect("client read");
            }
        }));
    }
    for c in clients {
        c.await;
    }
    (n * CONNS as u64) as f64 / start.elapsed().as_secs_f64() / 1e3
}

/// `tcp_echo`'s round trips in the hand-written epoll loop (single-threaded only).
fn tcp_echo_epoll(_flavour: Flavour, plan: &Plan) -> Outcome {
    let run = || {
        let (clients, servers) = tcp_pairs(CONNS).into_iter().unzip();
        let took = epoll::echo_loop(clients, servers, plan.n).expect("epoll echo loop");
        (plan.n * CONNS as u64) as f64 / took.as_secs_f64() / 1e3
    };
    for _ in 0..plan.warmup {
        run();
    }
    Outcome::Ok((0..plan.reps).map(|_| run()).collect())
}

async fn tcp_stream<R: Runtime>(n: u64) -> f64 {
    let (client, server) = tcp_pairs(1).pop().expect("one pair");
    let start = Instant::now();
    let mut writer = R::stream(client).expect("register writer");
    let mut reader = R::stream(server).expect("register reader");
    let w = R::spawn(async move {
        let chunk = vec![1u8; CHUNK];
        let mut left = n;
        while left > 0 {
            let len = left.min(CHUNK as u64) as usize;
            R::write_all(&mut writer, &chunk[..len])
                .await
                .expect("write");
            left -= len as u64;
        }
    });
    let mut buf = vec![0u8; CHUNK];
    let mut got = 0u64;
    while got < n {
        let r = R::read(&mut reader, &mut buf).await.expect("read");
        assert!(r > 0, "the stream ended early");
        got += r as u64;
    }
    w.await;
    n as f64 / start.elapsed().as_secs_f64() / (1u64 << 30) as f64
}

async fn streams_echo<R: Runtime>(n: u64) -> f64 {
    let pairs = tcp_pairs(CONNS);
    let start = Instant::now();
    let mut clients = Vec::with_capacity(CONNS);
    for (client, server) in pairs {
        let mut server = R::lines(R::stream(server).expect("register server"));
        let mut client = R::lines(R::stream(client).expect("register client"));
        R::detach(R::spawn(async move {
            let mut line = Vec::new();
            while let Ok(1..) = R::read_line(&mut server, &mut line).await {
                R::write_line(&mut server, &line).await.expect("echo write");
            }
        }));
        clients.push(R::spawn(async move {
            let mut msg = vec![b'x'; MSG];
            msg[MSG - 1] = b'\n';
            let mut line = Vec::new();
            for _ in 0..n {
                R::write_line(&mut client, &msg)
                    .await
                    .expect("client write");
                let got = R::read_line(&mut client, &mut line)
                    .await
                    .expect("client read");
                assert_eq!(got, MSG, "a whole line comes back");
            }
        }));
    }
    for c in clients {
        c.await;
    }
    (n * CONNS as u64) as f64 / start.elapsed().as_secs_f64() / 1e3
}

/// The echo protocol of `protocol_echo`.
struct EchoProtocol(Option<tulip::protocol::Transport>);

impl tulip::protocol::Protocol for EchoProtocol {
    fn connection_made(&mut self, transport: tulip::protocol::Transport) {
        self.0 = Some(transport);
    }
    fn data_received(&mut self, data: &[u8]) {
        if let Some(t) = &self.0 {
            t.write(data);
        }
    }
}

async fn protocol_echo<R: Runtime>(n: u64) -> f64 {
    let pairs = tcp_pairs(CONNS);
    let start = Instant::now();
    let mut clients = Vec::with_capacity(CONNS);
    for (client, server) in pairs {
        let server = tulip::net::TcpStream::from_std(server).expect("register server");
        tulip::protocol::connect_accepted_socket(|| EchoProtocol(None), server)
            .await
            .expect("protocol server");
        let mut client = R::lines(R::stream(client).expect("register client"));
        clients.push(R::spawn(async move {
            let mut msg = vec![b'x'; MSG];
            msg[MSG - 1] = b'\n';
            let mut line = Vec::new();
            for _ in 0..n {
                R::write_line(&mut client, &msg)
                    .await
                    .expect("client write");
                let got = R::read_line(&mut client, &mut line)
                    .await
                    .expect("client read");
                assert_eq!(got, MSG, "a whole line comes back");
            }
        }));
    }
    for c in clients {
        c.await;
    }
    (n * CONNS as u64) as f64 / start.elapsed().as_secs_f64() / 1e3
}

/// `protocol_echo` runs on tulip only.
fn protocol_echo_dispatch(kind: RuntimeKind, flavour: Flavour, plan: &Plan) -> Outcome {
    match kind {
        RuntimeKind::Tulip => tulip_benches::measure::<tulip_benches::rt::Tulip, _, _>(
            flavour,
            plan,
            protocol_echo::<tulip_benches::rt::Tulip>,
        ),
        _ => Outcome::NotAvailable("no transports and protocols".to_string()),
    }
}

async fn accept_storm<R: Runtime>(n: u64) -> f64 {
    let per = (n / CONNECTORS).max(1);
    let total = per * CONNECTORS;
    let any: SocketAddr = "127.0.0.1:0".parse().expect("an address");
    let listener = R::bind(any).await.expect("bind");
    let addr = R::listener_addr(&listener);
    let start = Instant::now();
    let server = R::spawn(async move {
        for _ in 0..total {
            // Accepted and closed at once: the client reads end of stream.
            drop(R::accept(&listener).await.expect("accept"));
        }
    });
    let connectors: Vec<_> = (0..CONNECTORS)
        .map(|_| {
            R::spawn(async move {
                let mut buf = [0u8; 1];
                for _ in 0..per {
                    let mut s = R::connect(addr).await.expect("connect");
                    set_linger_zero(&s).expect("SO_LINGER");
                    let got = R::read(&mut s, &mut buf).await.expect("read the close");
                    assert_eq!(got, 0, "the server sends nothing");
                }
            })
        })
        .collect();
    for c in connectors {
        c.await;
    }
    server.await;
    total as f64 / start.elapsed().as_secs_f64() / 1e3
}

fn main() {
    tulip_benches::main(
        "net",
        &[
            Spec {
                name: "tcp_echo",
                unit: "krt/s",
                higher_is_better: true,
                n: 10_000,
                quick_n: 1_000,
                warmup: 1,
                reps: 3,
                quick_reps: 3,
                run: dispatch!(tcp_echo),
                refs: &[Reference {
                    name: "epoll",
                    flavours: &[Flavour::Ct],
                    run: tcp_echo_epoll,
                }],
            },
            Spec {
                name: "tcp_stream",
                unit: "GiB/s",
                higher_is_better: true,
                n: 1 << 30,
                quick_n: 1 << 27,
                warmup: 1,
                reps: 5,
                quick_reps: 3,
                run: dispatch!(tcp_stream),
                refs: &[],
            },
            Spec {
                name: "streams_echo",
                unit: "krt/s",
                higher_is_better: true,
                n: 5_000,
                quick_n: 1_000,
                warmup: 1,
                reps: 3,
                quick_reps: 3,
                run: dispatch!(streams_echo),
                refs: &[],
            },
            Spec {
                name: "protocol_echo",
                unit: "krt/s",
                higher_is_better: true,
                n: 5_000,
                quick_n: 1_000,
                warmup: 1,
                reps: 3,
                quick_reps: 3,
                run: protocol_echo_dispatch,
                refs: &[],
            },
            Spec {
                name: "accept_storm",
                unit: "kconn/s",
                higher_is_better: true,
                n: 20_000,
                quick_n: 2_000,
                warmup: 1,
                reps: 3,
                quick_reps: 3,
                run: dispatch!(accept_storm),
                refs: &[],
            },
        ],
    );
}
