//! TCP workloads over loopback, client and server in one process. tulip uses
//! `tulip::io::Async<std::net::TcpStream>` (there is no tulip net crate yet), tokio
//! `tokio::net::TcpStream`, smol `async_io::Async<std::net::TcpStream>`. Connections are made
//! with blocking std calls before the clock starts.
//!
//! - `tcp_echo`: 64 connections × `n` (10 000) round trips of 64 bytes (the client writes 64
//!   bytes, the server task reads them and writes them back); thousands of round trips per
//!   second.
//! - `tcp_stream`: one connection, `n` (1 GiB) bytes in 64 KiB writes, read with a 64 KiB
//!   buffer; GiB/s.

use std::time::Instant;

use tulip_benches::{dispatch, tcp_pairs, Runtime, Spec};

/// Connections in `tcp_echo`.
const CONNS: usize = 64;
/// Message size of `tcp_echo`.
const MSG: usize = 64;
/// Write and read size of `tcp_stream`.
const CHUNK: usize = 64 * 1024;

async fn tcp_echo<R: Runtime>(n: u64) -> f64 {
    let pairs = tcp_pairs(CONNS);
    let start = Instant::now();
    let mut clients = Vec::with_capacity(CONNS);
    for (client, server) in pairs {
        let mut server = R::stream(server).expect("register server");
        let mut client = R::stream(client).expect("register client");
        R::detach(R::spawn(async move {
            let mut buf = [0u8; MSG];
            while R::read_exact(&mut server, &mut buf).await.is_ok() {
                R::write_all(&mut server, &buf).await.expect("echo write");
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
            },
        ],
    );
}
