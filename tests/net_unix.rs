//! Unix domain sockets through `tulip::net`: pathname and Linux abstract listeners, streams
//! and datagram sockets; the listener's socket file (removed on drop, but not when someone
//! else's file replaced it, nor after `into_std`); a stale socket file is `AddrInUse` naming
//! the path; a missing path is `NotFound` naming it; `pair()`, `peer_cred`, half-close and
//! halves; unbound datagram sockets; connecting to a full backlog (retried until the listener
//! makes room); std interop; `sendfile` over a Unix stream; and the readiness shortcut (data,
//! end of stream and OOB data after a short read) on Unix streams.
//!
//! Everything that waits on readiness runs on both reactor backends. Each test keeps its files
//! in a directory of its own under the system's temporary directory, removed at the end.
//! Cases ported from tokio's `tokio/tests/uds_*.rs` and CPython's
//! `Lib/test/test_asyncio/test_unix_events.py` say where they come from.

use std::io::{self, Read, Write};
use std::net::Shutdown;
use std::os::fd::{AsFd, AsRawFd};
use std::os::linux::net::SocketAddrExt;
use std::pin::pin;
use std::time::Duration;

use tulip::future::poll_once;
use tulip::io::{AsyncReadExt, AsyncWriteExt};
use tulip::net::{UnixDatagram, UnixListener, UnixStream};
use tulip::stream::StreamExt;
use tulip_tests::{bounded, on_each_backend, TempDir};

fn run<F: std::future::Future<Output = ()>>(f: F) {
    tulip::Runner::new().run(async { bounded("the test", f).await });
}

/// An abstract socket name unique to this process and test.
fn abstract_name(test: &str) -> Vec<u8> {
    format!("tulip-test-{}-{test}", std::process::id()).into_bytes()
}

// tokio uds_stream.rs (accept_read_write) and CPython test_unix_events
// (create_unix_server / open_unix_connection): a pathname listener, its address, an echo.
#[test]
fn pathname_listener_and_stream() {
    on_each_backend(|b| async move {
        let dir = TempDir::new(&format!("unix-path-{b:?}"));
        let path = dir.join("s.sock");
        let listener = UnixListener::bind(&path).unwrap();
        assert_eq!(
            listener.local_addr().unwrap().as_pathname(),
            Some(path.as_path())
        );
        let mut client = UnixStream::connect(&path).await.unwrap();
        let (mut server, peer) = listener.accept().await.unwrap();
        assert!(peer.is_unnamed(), "{peer:?}");
        assert!(client.local_addr().unwrap().is_unnamed());
        assert_eq!(
            client.peer_addr().unwrap().as_pathname(),
            Some(path.as_path())
        );
        assert_eq!(
            server.local_addr().unwrap().as_pathname(),
            Some(path.as_path())
        );

        client.write_all(b"over a path").await.unwrap();
        client.close().await.unwrap();
        let mut got = Vec::new();
        server.read_to_end(&mut got).await.unwrap();
        assert_eq!(got, b"over a path");
        server.write_all(b"and back").await.unwrap();
        drop(server);
        let mut back = Vec::new();
        client.read_to_end(&mut back).await.unwrap();
        assert_eq!(back, b"and back");

        // `incoming()` yields the queued connections.
        let _c1 = UnixStream::connect(&path).await.unwrap();
        let _c2 = UnixStream::connect(&path).await.unwrap();
        let mut incoming = listener.incoming();
        for _ in 0..2 {
            incoming.next().await.unwrap().unwrap();
        }
    });
}

// tokio uds_stream.rs / uds_datagram.rs (abstract namespace): a Linux abstract name needs no
// file, is taken while bound, and is free again once the socket closes.
#[test]
fn abstract_listener_stream_and_datagram() {
    on_each_backend(|b| async move {
        let name = abstract_name(&format!("abs-{b:?}"));
        let listener = UnixListener::bind_abstract(&name).unwrap();
        assert_eq!(
            listener.local_addr().unwrap().as_abstract_name(),
            Some(&name[..])
        );
        let err = UnixListener::bind_abstract(&name).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::AddrInUse, "{err}");
        assert!(
            err.to_string()
                .contains(std::str::from_utf8(&name).unwrap()),
            "{err}"
        );

        let mut client = UnixStream::connect_abstract(&name).await.unwrap();
        let (mut server, _) = listener.accept().await.unwrap();
        client.write_all(b"abstract").await.unwrap();
        let mut buf = [0u8; 8];
        server.read_exact(&mut buf).await.unwrap();
        assert_eq!(&buf, b"abstract");
        drop(listener);
        // Gone with the socket: nobody listens there any more, and the name binds again. On
        // io_uring with two workers the kernel releases the socket when the worker that armed
        // its poll runs the cancellation's task work (microseconds after the drop, not at it),
        // so a connect in between may still reach it: wait (bounded) for the refusal.
        let refused = async {
            loop {
                match UnixStream::connect_abstract(&name).await {
                    Ok(early) => drop(early),
                    Err(e) => break e,
                }
                tulip::sleep(Duration::from_millis(1)).await;
            }
        };
        let err = bounded("the dropped listener's name to be released", refused).await;
        assert_eq!(err.kind(), io::ErrorKind::ConnectionRefused, "{err}");
        drop(UnixListener::bind_abstract(&name).unwrap());

        let dname = abstract_name(&format!("abs-dgram-{b:?}"));
        let rx = UnixDatagram::bind_abstract(&dname).unwrap();
        let tx = UnixDatagram::unbound().unwrap();
        tx.send_to_addr(b"to a name", &rx.local_addr().unwrap())
            .await
            .unwrap();
        let mut buf = [0u8; 16];
        let (n, from) = rx.recv_from(&mut buf).await.unwrap();
        assert_eq!(&buf[..n], b"to a name");
        assert!(from.is_unnamed());
    });
}

// asyncio 3.13's cleanup_socket (test_unix_events test_create_unix_server_cleanup): the
// listener removes its socket file when dropped, so the path binds again.
#[test]
fn the_listener_removes_its_socket_file() {
    run(async {
        let dir = TempDir::new("unix-cleanup");
        let path = dir.join("s.sock");
        let l = UnixListener::bind(&path).unwrap();
        assert!(path.exists());
        drop(l);
        assert!(!path.exists(), "the socket file is still there");
        let again = UnixListener::bind(&path).unwrap();
        drop(again);
        assert!(!path.exists());
    });
}

// asyncio 3.13 (test_unix_events: cleanup skipped when the file was replaced): a listener
// whose file was replaced — by a plain file, or by another server's socket — leaves it alone.
#[test]
fn the_listener_leaves_a_replaced_file_alone() {
    run(async {
        let dir = TempDir::new("unix-replaced");
        let path = dir.join("s.sock");

        let l = UnixListener::bind(&path).unwrap();
        std::fs::remove_file(&path).unwrap();
        std::fs::write(&path, b"someone else's").unwrap();
        drop(l);
        assert_eq!(std::fs::read(&path).unwrap(), b"someone else's");
        std::fs::remove_file(&path).unwrap();

        let first = UnixListener::bind(&path).unwrap();
        std::fs::remove_file(&path).unwrap();
        let second = UnixListener::bind(&path).unwrap();
        drop(first);
        assert!(
            path.exists(),
            "the first listener removed the second's socket"
        );
        let _c = UnixStream::connect(&path).await.unwrap();
        second.accept().await.unwrap();
        drop(second);
        assert!(!path.exists());
    });
}

// `into_std` hands the socket (and its file) over; `bind_addr` never removes its file.
#[test]
fn into_std_and_bind_addr_keep_the_file() {
    run(async {
        let dir = TempDir::new("unix-keep");
        let path = dir.join("s.sock");
        let std_l = UnixListener::bind(&path).unwrap().into_std().unwrap();
        assert!(path.exists());
        // Non-blocking, and still listening.
        assert_eq!(
            std_l.accept().unwrap_err().kind(),
            io::ErrorKind::WouldBlock
        );
        let back = UnixListener::from_std(std_l).unwrap();
        let _c = UnixStream::connect(&path).await.unwrap();
        back.accept().await.unwrap();
        drop(back);
        assert!(path.exists(), "a listener from std does not own the file");
        std::fs::remove_file(&path).unwrap();

        let addr = std::os::unix::net::SocketAddr::from_pathname(&path).unwrap();
        drop(UnixListener::bind_addr(&addr).unwrap());
        assert!(path.exists());
    });
}

// CPython test_unix_events (create_unix_server on an existing path): a socket file left by an
// earlier run is AddrInUse, and the message names the path.
#[test]
fn a_stale_socket_file_is_addr_in_use_naming_the_path() {
    run(async {
        let dir = TempDir::new("unix-stale");
        let path = dir.join("stale.sock");
        // std leaves its socket file behind: a stale file, nobody listening.
        drop(std::os::unix::net::UnixListener::bind(&path).unwrap());
        assert!(path.exists());
        let err = UnixListener::bind(&path).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::AddrInUse, "{err}");
        assert!(err.to_string().contains(&*path.to_string_lossy()), "{err}");
        // The failed bind removed nothing.
        assert!(path.exists());
        // Nobody listens: connecting is refused, naming the path.
        let err = UnixStream::connect(&path).await.unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::ConnectionRefused, "{err}");
        assert!(err.to_string().contains(&*path.to_string_lossy()), "{err}");
        // The same for a datagram socket.
        let err = UnixDatagram::bind(&path).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::AddrInUse, "{err}");
        assert!(err.to_string().contains(&*path.to_string_lossy()), "{err}");
    });
}

// CPython test_unix_events (open_unix_connection to a missing path) and tokio uds_stream.rs:
// NotFound, naming the path.
#[test]
fn connecting_to_a_missing_path_is_not_found_naming_it() {
    run(async {
        let dir = TempDir::new("unix-missing");
        let path = dir.join("nobody-here.sock");
        let err = UnixStream::connect(&path).await.unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::NotFound, "{err}");
        assert!(err.to_string().contains(&*path.to_string_lossy()), "{err}");
        let d = UnixDatagram::unbound().unwrap();
        let err = d.connect(&path).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::NotFound, "{err}");
        assert!(err.to_string().contains(&*path.to_string_lossy()), "{err}");
        // A directory that does not exist, for a listener.
        let err = UnixListener::bind(dir.join("no-dir/s.sock")).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::NotFound, "{err}");
        assert!(err.to_string().contains("no-dir"), "{err}");
        // A path too long for a socket address is refused before any system call.
        let long = dir.join(&"x".repeat(200));
        let err = UnixListener::bind(&long).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput, "{err}");
    });
}

// tokio uds_stream.rs (shutdown, split) and uds_split.rs: a socket pair, half-close both ways,
// owned halves that reunite, and the FIN of a dropped write half.
#[test]
fn pair_half_close_and_halves() {
    on_each_backend(|_| async {
        let (mut a, mut b) = UnixStream::pair().unwrap();
        a.write_all(b"ping").await.unwrap();
        a.shutdown(Shutdown::Write).unwrap();
        let mut got = Vec::new();
        b.read_to_end(&mut got).await.unwrap();
        assert_eq!(got, b"ping");
        b.write_all(b"pong").await.unwrap();
        let mut buf = [0u8; 4];
        a.read_exact(&mut buf).await.unwrap();
        assert_eq!(&buf, b"pong");

        let (c, mut d) = UnixStream::pair().unwrap();
        let (r, w) = c.into_split();
        let (r2, w2) = UnixStream::pair().unwrap().0.into_split();
        let err = r2.reunite(w).unwrap_err();
        let tulip::net::ReuniteError(r2, w) = err;
        drop((r2, w2));
        let mut c = r.reunite(w).unwrap();
        c.write_all(b"whole").await.unwrap();
        let mut buf = [0u8; 5];
        d.read_exact(&mut buf).await.unwrap();
        assert_eq!(&buf, b"whole");
        let (mut r, w) = c.into_split();
        drop(w);
        let mut rest = Vec::new();
        bounded(
            "EOF after the write half was dropped",
            d.read_to_end(&mut rest),
        )
        .await
        .unwrap();
        assert!(rest.is_empty());
        d.write_all(b"still open").await.unwrap();
        let mut buf = [0u8; 10];
        r.read_exact(&mut buf).await.unwrap();
        assert_eq!(&buf, b"still open");

        // Borrowed halves, both streams in one task.
        let (mut e, mut f) = UnixStream::pair().unwrap();
        let echo = async {
            let (fr, mut fw) = f.split();
            let n = futures_lite::io::copy(fr, &mut fw).await.unwrap();
            fw.close().await.unwrap();
            n
        };
        let talk = async {
            let (mut er, mut ew) = e.split();
            ew.write_all(b"through halves").await.unwrap();
            ew.close().await.unwrap();
            let mut back = Vec::new();
            er.read_to_end(&mut back).await.unwrap();
            back
        };
        let (n, back) = futures_lite::future::zip(echo, talk).await;
        assert_eq!(n, 14);
        assert_eq!(back, b"through halves");
    });
}

// tokio uds_cred.rs (test_socket_pair / peer_cred): both ends see this process.
#[test]
fn peer_cred_is_this_process() {
    run(async {
        let me = (
            std::process::id() as i32,
            rustix::process::getuid(),
            rustix::process::getgid(),
        );
        let (a, b) = UnixStream::pair().unwrap();
        for s in [&a, &b] {
            let cred = s.peer_cred().unwrap();
            assert_eq!((cred.pid.as_raw_nonzero().get(), cred.uid, cred.gid), me);
        }
        let dir = TempDir::new("unix-cred");
        let path = dir.join("s.sock");
        let l = UnixListener::bind(&path).unwrap();
        let c = UnixStream::connect(&path).await.unwrap();
        let (s, _) = l.accept().await.unwrap();
        for s in [&c, &s] {
            let cred = s.peer_cred().unwrap();
            assert_eq!((cred.pid.as_raw_nonzero().get(), cred.uid, cred.gid), me);
        }
    });
}

// tokio uds_datagram.rs (echo, echo_from) and CPython test_unix_events (datagram endpoints):
// pathname datagram sockets, senders' addresses, unbound and connected sockets, boundaries,
// truncation.
#[test]
fn datagram_sockets_bound_unbound_and_connected() {
    on_each_backend(|b| async move {
        let dir = TempDir::new(&format!("unix-dgram-{b:?}"));
        let (pa, pb) = (dir.join("a.sock"), dir.join("b.sock"));
        let a = UnixDatagram::bind(&pa).unwrap();
        let bsock = UnixDatagram::bind(&pb).unwrap();
        assert_eq!(a.local_addr().unwrap().as_pathname(), Some(pa.as_path()));
        a.send_to(b"one", &pb).await.unwrap();
        a.send_to(b"", &pb).await.unwrap();
        a.send_to(b"three", &pb).await.unwrap();
        let mut buf = [0u8; 16];
        for want in [&b"one"[..], b"", b"three"] {
            let (n, from) = bsock.recv_from(&mut buf).await.unwrap();
            assert_eq!(&buf[..n], want);
            assert_eq!(from.as_pathname(), Some(pa.as_path()));
        }
        // A reply to the sender's address.
        bsock.send_to(b"reply", &pa).await.unwrap();
        let (n, _) = a.recv_from(&mut buf).await.unwrap();
        assert_eq!(&buf[..n], b"reply");

        // An unbound socket sends, unnamed; connected, it also receives its replies.
        let u = UnixDatagram::unbound().unwrap();
        u.send_to(b"anonymous", &pb).await.unwrap();
        let (n, from) = bsock.recv_from(&mut buf).await.unwrap();
        assert_eq!(&buf[..n], b"anonymous");
        assert!(from.is_unnamed());
        let err = bsock.send_to_addr(b"x", &from).await.unwrap_err();
        assert!(
            matches!(
                err.kind(),
                io::ErrorKind::InvalidInput | io::ErrorKind::NotConnected
            ),
            "{err}"
        );
        u.connect(&pb).unwrap();
        assert_eq!(u.peer_addr().unwrap().as_pathname(), Some(pb.as_path()));
        u.send(b"connected").await.unwrap();
        let (n, _) = bsock.recv_from(&mut buf).await.unwrap();
        assert_eq!(&buf[..n], b"connected");

        // A datagram longer than the buffer is cut to it.
        a.send_to(b"0123456789abcdef", &pb).await.unwrap();
        let mut small = [0u8; 4];
        let (n, _) = bsock.recv_from(&mut small).await.unwrap();
        assert_eq!((n, &small), (4, b"0123"));

        // A pair, and shutdown.
        let (x, y) = UnixDatagram::pair().unwrap();
        x.send(b"pair").await.unwrap();
        let n = y.recv(&mut buf).await.unwrap();
        assert_eq!(&buf[..n], b"pair");
        {
            let mut recv = pin!(y.recv(&mut buf));
            assert!(poll_once(recv.as_mut()).await.is_none());
            x.send(b"later").await.unwrap();
            assert_eq!(bounded("recv", recv).await.unwrap(), 5);
        }
        x.shutdown(Shutdown::Write).unwrap();
        assert!(x.send(b"no").await.is_err());
    });
}

// tokio uds_stream.rs (try_read_write) and std interop: WouldBlock when empty, `into_std`
// keeps the socket non-blocking, `from_std` brings it back; AsFd names the same descriptor.
#[test]
fn try_io_and_std_interop() {
    on_each_backend(|_| async {
        let (a, b) = UnixStream::pair().unwrap();
        assert_eq!(a.as_fd().as_raw_fd(), a.as_raw_fd());
        let mut buf = [0u8; 16];
        assert_eq!(
            b.try_read(&mut buf).unwrap_err().kind(),
            io::ErrorKind::WouldBlock
        );
        a.writable().await.unwrap();
        assert_eq!(a.try_write(b"try").unwrap(), 3);
        b.readable().await.unwrap();
        assert_eq!(b.try_read(&mut buf).unwrap(), 3);
        assert!(a.take_error().unwrap().is_none());

        let mut std_b = b.into_std().unwrap();
        assert_eq!(
            std_b.read(&mut buf).unwrap_err().kind(),
            io::ErrorKind::WouldBlock
        );
        std_b.write_all(b"from std").unwrap();
        let mut got = [0u8; 8];
        (&a).read_exact(&mut got).await.unwrap();
        assert_eq!(&got, b"from std");
        let b = UnixStream::from_std(std_b).unwrap();
        (&a).write_all(b"back").await.unwrap();
        let mut got = [0u8; 4];
        (&b).read_exact(&mut got).await.unwrap();
        assert_eq!(&got, b"back");

        let (d1, d2) = UnixDatagram::pair().unwrap();
        let std_d1 = d1.into_std().unwrap();
        std_d1.send(b"std dgram").unwrap();
        let n = d2.recv(&mut buf).await.unwrap();
        assert_eq!(&buf[..n], b"std dgram");
        let d1 = UnixDatagram::from_std(std_d1).unwrap();
        d2.send(b"ok").await.unwrap();
        let n = d1.recv(&mut buf).await.unwrap();
        assert_eq!(&buf[..n], b"ok");
    });
}

// `UnixStream::connect` on a full backlog: a Unix connect does not complete in the background
// (the kernel says EAGAIN), so it retries with a back-off, without blocking the loop, until
// the listener accepts and makes room.
#[test]
fn connecting_to_a_full_backlog_waits_for_room() {
    on_each_backend(|b| async move {
        let dir = TempDir::new(&format!("unix-backlog-{b:?}"));
        let path = dir.join("s.sock");
        // A backlog of 0 still queues one connection (the kernel's "more than the backlog").
        let l = UnixListener::bind_with_backlog(&path, 0).unwrap();
        let first = UnixStream::connect(&path).await.unwrap();
        let mut second = pin!(UnixStream::connect(&path));
        assert!(
            poll_once(second.as_mut()).await.is_none(),
            "the second connect should wait: the queue is full"
        );
        // The loop is not blocked meanwhile: a task runs.
        assert_eq!(tulip::spawn(async { 7 }).await.unwrap(), 7);
        let (_s1, _) = l.accept().await.unwrap();
        let second = bounded("the second connect", second).await.unwrap();
        let (mut s2, _) = l.accept().await.unwrap();
        (&second).write_all(b"2").await.unwrap();
        let mut buf = [0u8; 1];
        s2.read_exact(&mut buf).await.unwrap();
        assert_eq!(&buf, b"2");
        drop(first);
    });
}

/// Reads exactly `want.len()` bytes with 64-byte reads (so the last is short).
async fn read_short(s: &mut UnixStream, want: &[u8]) {
    let mut got = Vec::new();
    let mut buf = [0u8; 64];
    while got.len() < want.len() {
        let n = s.read(&mut buf).await.unwrap();
        assert!(n > 0, "end of stream after {got:?}");
        got.extend_from_slice(&buf[..n]);
    }
    assert_eq!(got, want);
}

// The readiness shortcut on Unix streams: after a short read, later data wakes the next read,
// and an end of stream (the peer's shutdown seen with the last data, or after it) is read as
// 0, twice.
#[test]
fn the_readiness_shortcut_loses_neither_data_nor_end_of_stream() {
    on_each_backend(|_| async {
        let (a, mut b) = UnixStream::pair().unwrap();
        let mut buf = [0u8; 64];
        for round in 0..20u8 {
            a.try_write(&[round; 10]).unwrap();
            read_short(&mut b, &[round; 10]).await;
            let n = if round % 2 == 0 {
                let mut next = pin!(b.read(&mut buf));
                assert!(poll_once(next.as_mut()).await.is_none());
                a.try_write(b"later").unwrap();
                bounded("the read after a short read", next).await.unwrap()
            } else {
                a.try_write(b"later").unwrap();
                bounded("the read after a short read", b.read(&mut buf))
                    .await
                    .unwrap()
            };
            assert_eq!(&buf[..n], b"later");
        }
        // The shutdown arrives with the last data, while the read waits.
        {
            let mut read = pin!(b.read(&mut buf));
            assert!(poll_once(read.as_mut()).await.is_none());
            a.try_write(b"last").unwrap();
            a.shutdown(Shutdown::Write).unwrap();
            let n = bounded("the short read", read).await.unwrap();
            assert!(n > 0 && n <= 4);
        }
        let mut rest = Vec::new();
        bounded("end of stream after a short read", b.read_to_end(&mut rest))
            .await
            .unwrap();
        assert_eq!(bounded("EOF again", b.read(&mut buf)).await.unwrap(), 0);
        assert_eq!(bounded("EOF again", b.read(&mut buf)).await.unwrap(), 0);

        // Out-of-band data (Linux 5.15+ on Unix streams) ends a read at its mark.
        let (a, mut b) = UnixStream::pair().unwrap();
        {
            let mut read = pin!(b.read(&mut buf));
            assert!(poll_once(read.as_mut()).await.is_none());
            a.try_write(b"x").unwrap();
            match rustix::net::send(&a, b"!", rustix::net::SendFlags::OOB) {
                Ok(_) => {}
                Err(e) => {
                    println!("skipped the OOB case: this kernel has no Unix OOB data: {e}");
                    return;
                }
            }
            a.try_write(b"behind").unwrap();
            let n = bounded("the read before the mark", read).await.unwrap();
            assert_eq!(&buf[..n], b"x");
        }
        let n = bounded("the read behind the OOB mark", b.read(&mut buf))
            .await
            .unwrap();
        assert_eq!(&buf[..n], b"behind");
    });
}

// asyncio's loop.sock_sendfile over a Unix stream: zero-copy to the end of the file.
#[test]
fn sendfile_over_a_unix_stream() {
    on_each_backend(|b| async move {
        let dir = TempDir::new(&format!("unix-sendfile-{b:?}"));
        let path = dir.join("data");
        let data: Vec<u8> = (0..(3u32 << 20)).map(|i| (i % 241) as u8).collect();
        std::fs::write(&path, &data).unwrap();
        let file = std::fs::File::open(&path).unwrap();
        let (a, mut b) = UnixStream::pair().unwrap();
        let reader = tulip::spawn(async move {
            let mut got = Vec::new();
            b.read_to_end(&mut got).await.unwrap();
            got
        });
        let n = bounded("sendfile", tulip::net::sendfile(&a, &file, 1, None))
            .await
            .unwrap();
        assert_eq!(n, data.len() as u64 - 1);
        drop(a);
        let got = reader.await.unwrap();
        assert!(got == data[1..], "the received file differs");
    });
}
