//! Writes and accepts behave the same on every backend, io_uring's completion sends and
//! multishot accept included (on epoll and `polling` these are readiness writes and
//! `accept(2)`):
//!
//! - a write is short or whole, never more; the bytes arrive whole and in order; a stream
//!   dropped right after its last write (no flush, no close) still delivers every byte its
//!   writes reported, then the end of stream;
//! - a `shutdown(Write)` made while bytes are still on their way comes after them, and a write
//!   after it fails at once with `BrokenPipe`; `close` flushes first;
//! - writes abandoned while they wait (their futures dropped by a timeout) write nothing: under
//!   a slow reader, the peer receives exactly the bytes the finished writes reported;
//! - a storm of connections is accepted, each exactly once (TCP and Unix);
//! - a listener dropped while an accept is armed (and connections wait in it) closes them all:
//!   their clients see the end of stream or a reset, and new connections are refused.
//!
//! The peer reset during a write and `EMFILE` while accepting are in `net_faults.rs`.

use std::collections::HashSet;
use std::io;
use std::net::Shutdown;
use std::time::Duration;

use tulip::io::{AsyncReadExt, AsyncWriteExt};
use tulip::net::{TcpListener, TcpStream, UnixListener, UnixStream};
use tulip_tests::{bounded, on_each_backend, TempDir};

fn pattern(seed: usize, len: usize) -> Vec<u8> {
    (0..len)
        .map(|p| (seed.wrapping_mul(131) ^ p.wrapping_mul(7) ^ (p >> 9)) as u8)
        .collect()
}

/// A tiny deterministic generator (xorshift).
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

/// A connected TCP pair: (client, server side).
async fn tcp_pair() -> (TcpStream, TcpStream) {
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let c = TcpStream::connect(l.local_addr().unwrap()).await.unwrap();
    let (s, _) = bounded("accept", l.accept()).await.unwrap();
    (c, s)
}

#[test]
fn large_writes_arrive_whole_and_a_dropped_stream_delivers_what_it_reported() {
    on_each_backend(|_| async {
        let (mut c, mut s) = tcp_pair().await;
        let data = pattern(1, 8 << 20);
        let reader = tulip::spawn(async move {
            let mut got = Vec::new();
            s.read_to_end(&mut got).await.unwrap();
            got
        });
        let n = c.write(&data).await.unwrap();
        assert!(n > 0 && n <= data.len(), "{n}");
        c.write_all(&data[n..]).await.unwrap();
        // Dropped with no flush and no close: what the writes reported must still arrive.
        drop(c);
        let got = bounded("the reader", reader).await.unwrap();
        assert_eq!(got.len(), data.len());
        assert!(got == data, "the bytes arrived changed or out of order");
    });
}

#[test]
fn a_shutdown_follows_the_written_bytes_and_writes_after_it_fail() {
    on_each_backend(|_| async {
        let (mut c, mut s) = tcp_pair().await;
        let data = pattern(2, 3 << 20);
        let reader = tulip::spawn(async move {
            let mut got = Vec::new();
            s.read_to_end(&mut got).await.unwrap();
            got
        });
        c.write_all(&data).await.unwrap();
        // At once, while the last bytes may still be on their way.
        c.shutdown(Shutdown::Write).unwrap();
        let e = c.write(b"late").await.unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::BrokenPipe, "{e}");
        let got = bounded("the reader", reader).await.unwrap();
        assert!(
            got == data,
            "the FIN overtook the bytes ({} of {})",
            got.len(),
            data.len()
        );

        // `close` flushes, then shuts the write side down.
        let (mut c, mut s) = tcp_pair().await;
        let reader = tulip::spawn(async move {
            let mut got = Vec::new();
            s.read_to_end(&mut got).await.unwrap();
            got
        });
        c.write_all(&data).await.unwrap();
        bounded("close", c.close()).await.unwrap();
        let got = bounded("the reader", reader).await.unwrap();
        assert!(got == data);
    });
}

#[test]
fn abandoned_writes_write_nothing_under_a_slow_reader() {
    on_each_backend(|_| async {
        let mut tasks = Vec::new();
        for k in 0..8usize {
            let (mut c, mut s) = tcp_pair().await;
            let reader = tulip::spawn(async move {
                let mut rng = Rng(0x9e37_79b9 + k as u64);
                let mut got = Vec::new();
                let mut buf = vec![0u8; 64 << 10];
                loop {
                    let want = 1 + rng.below(buf.len() as u64) as usize;
                    let n = s.read(&mut buf[..want]).await.unwrap();
                    if n == 0 {
                        return got;
                    }
                    got.extend_from_slice(&buf[..n]);
                    if rng.below(4) == 0 {
                        tulip::sleep(Duration::from_millis(1)).await;
                    }
                }
            });
            let writer = tulip::spawn(async move {
                let mut rng = Rng(0x2545_f491 + k as u64);
                let mut sent = Vec::new();
                let mut abandoned = 0;
                for j in 0..100usize {
                    let len = 1 + rng.below(100_000) as usize;
                    let chunk = pattern(k * 1000 + j, len);
                    match tulip::timeout(Duration::from_millis(1), c.write(&chunk)).await {
                        Ok(Ok(n)) => sent.extend_from_slice(&chunk[..n]),
                        Ok(Err(e)) => panic!("connection {k}: {e}"),
                        // The write waited and was dropped: it must have taken nothing.
                        Err(_) => abandoned += 1,
                    }
                }
                drop(c);
                (sent, abandoned)
            });
            tasks.push((reader, writer));
        }
        let mut abandoned_total = 0;
        for (k, (reader, writer)) in tasks.into_iter().enumerate() {
            let (sent, abandoned) = bounded("a writer", writer).await.unwrap();
            abandoned_total += abandoned;
            let got = bounded("a reader", reader).await.unwrap();
            assert_eq!(got.len(), sent.len(), "connection {k}");
            assert!(got == sent, "connection {k}: the bytes differ");
        }
        // The slow readers made writes wait: some were abandoned (else this tested nothing).
        assert!(abandoned_total > 0);
    });
}

#[test]
fn an_accept_storm_accepts_every_connection_once() {
    on_each_backend(|_| async {
        const N: usize = 300;
        let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = l.local_addr().unwrap();
        let clients: Vec<_> = (0..N)
            .map(|i| {
                tulip::spawn(async move {
                    let mut c = TcpStream::connect(addr).await.unwrap();
                    c.write_all(&(i as u16).to_le_bytes()).await.unwrap();
                    // Held until the server closes its side.
                    let mut b = [0u8; 1];
                    let _ = c.read(&mut b).await;
                })
            })
            .collect();
        let mut seen = HashSet::new();
        let mut accepted = Vec::new();
        for _ in 0..N {
            let (mut s, peer) = bounded("accept", l.accept()).await.unwrap();
            assert!(peer.ip().is_loopback());
            let mut id = [0u8; 2];
            bounded("the id", s.read_exact(&mut id)).await.unwrap();
            assert!(seen.insert(u16::from_le_bytes(id)), "accepted twice");
            accepted.push(s);
        }
        assert_eq!(seen.len(), N);
        drop(accepted);
        for c in clients {
            bounded("a client", c).await.unwrap();
        }
    });
}

#[test]
fn a_unix_accept_storm_accepts_every_connection_once() {
    on_each_backend(|backend| async move {
        const N: usize = 200;
        let dir = TempDir::new(&format!("unix_storm_{backend:?}"));
        let path = dir.join("sock");
        let l = UnixListener::bind(&path).unwrap();
        let clients: Vec<_> = (0..N)
            .map(|i| {
                let path = path.clone();
                tulip::spawn(async move {
                    let mut c = UnixStream::connect(&path).await.unwrap();
                    c.write_all(&(i as u16).to_le_bytes()).await.unwrap();
                    let mut b = [0u8; 1];
                    let _ = c.read(&mut b).await;
                })
            })
            .collect();
        let mut seen = HashSet::new();
        let mut accepted = Vec::new();
        for _ in 0..N {
            let (mut s, _) = bounded("accept", l.accept()).await.unwrap();
            let mut id = [0u8; 2];
            bounded("the id", s.read_exact(&mut id)).await.unwrap();
            assert!(seen.insert(u16::from_le_bytes(id)), "accepted twice");
            accepted.push(s);
        }
        drop(accepted);
        for c in clients {
            bounded("a client", c).await.unwrap();
        }
    });
}

#[test]
fn a_listener_dropped_with_an_armed_accept_closes_what_waited_in_it() {
    on_each_backend(|_| async {
        let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = l.local_addr().unwrap();
        // An accept that waits, then is abandoned (on io_uring: the multishot stays armed).
        assert!(tulip::timeout(Duration::from_millis(5), l.accept())
            .await
            .is_err());
        let mut clients = Vec::new();
        for _ in 0..5 {
            clients.push(TcpStream::connect(addr).await.unwrap());
        }
        // A few loop turns, for an armed multishot to take them.
        tulip::sleep(Duration::from_millis(20)).await;
        drop(l);
        for c in &mut clients {
            let mut b = [0u8; 1];
            match bounded("a client's read", c.read(&mut b)).await {
                Ok(n) => assert_eq!(n, 0),
                Err(e) => assert_eq!(e.kind(), io::ErrorKind::ConnectionReset, "{e}"),
            }
        }
        // The port no longer listens (bounded: on io_uring the kernel releases the socket when
        // the cancellation has run).
        let mut refused = false;
        for _ in 0..200 {
            match TcpStream::connect(addr).await {
                Err(e) if e.kind() == io::ErrorKind::ConnectionRefused => {
                    refused = true;
                    break;
                }
                _ => tulip::sleep(Duration::from_millis(5)).await,
            }
        }
        assert!(refused, "the dropped listener still accepts");
    });
}
