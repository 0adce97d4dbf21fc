//! Transports and protocols on loopback: callback order, EOF, flow control, reading pauses,
//! close/abort, BufferedProtocol, datagrams, pipes, subprocesses, panics.
//!
//! Cases ported from CPython's Lib/test/test_asyncio (test_selector_events.py,
//! test_proactor_events.py, test_protocols.py, test_subprocess.py); the code is ours.

use std::io;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use tulip_net::streams::{open_connection, start_server, StreamReader, StreamWriter};
use tulip_protocol::{
    Buffered, BufferedProtocol, DatagramProtocol, DatagramTransport, Protocol, SubprocessProtocol,
    SubprocessTransport, Transport,
};

type Log = Arc<Mutex<Vec<String>>>;

fn run<F: std::future::Future<Output = io::Result<()>> + 'static>(f: F) {
    tulip_runtime::run(f).unwrap();
}

fn log(l: &Log, s: impl Into<String>) {
    l.lock().unwrap().push(s.into());
}

fn entries(l: &Log) -> Vec<String> {
    l.lock().unwrap().clone()
}

/// Records every callback.
struct Recorder {
    log: Log,
    t: Option<Transport>,
    keep_open: bool,
    on_data: fn(&Transport, &[u8]),
}

impl Recorder {
    fn new(log: &Log) -> Recorder {
        Recorder {
            log: log.clone(),
            t: None,
            keep_open: false,
            on_data: |_, _| {},
        }
    }
}

impl Protocol for Recorder {
    fn connection_made(&mut self, t: Transport) {
        log(&self.log, "made");
        self.t = Some(t);
    }
    fn data_received(&mut self, data: &[u8]) {
        log(&self.log, format!("data:{}", String::from_utf8_lossy(data)));
        (self.on_data)(self.t.as_ref().unwrap(), data);
    }
    fn eof_received(&mut self) -> bool {
        log(&self.log, "eof");
        self.keep_open
    }
    fn connection_lost(&mut self, e: Option<io::Error>) {
        log(
            &self.log,
            format!(
                "lost:{}",
                e.map_or("none".into(), |e| format!("{:?}", e.kind()))
            ),
        );
    }
    fn pause_writing(&mut self) {
        log(&self.log, "pause");
    }
    fn resume_writing(&mut self) {
        log(&self.log, "resume");
    }
}

/// A streams server whose handler is given to the test through a channel.
async fn peer_server() -> io::Result<(SocketAddr, async_channel_like::Rx)> {
    let (tx, rx) = async_channel_like::pair();
    let server = start_server(
        move |r: StreamReader, w: StreamWriter| {
            let tx = tx.clone();
            async move {
                tx.send((r, w));
                std::future::pending::<()>().await;
            }
        },
        "127.0.0.1:0",
    )
    .await?;
    let addr = server.local_addrs()[0].as_inet().unwrap();
    std::mem::forget(server);
    Ok((addr, rx))
}

/// A tiny one-slot hand-over between tasks (the test needs nothing more).
mod async_channel_like {
    use super::{StreamReader, StreamWriter};
    use std::sync::{Arc, Mutex};
    use std::task::{Poll, Waker};

    type Item = (StreamReader, StreamWriter);

    #[derive(Default)]
    struct Slot {
        items: Vec<Item>,
        waker: Option<Waker>,
    }

    #[derive(Clone)]
    pub(super) struct Tx(Arc<Mutex<Slot>>);
    pub(super) struct Rx(Arc<Mutex<Slot>>);

    pub(super) fn pair() -> (Tx, Rx) {
        let s = Arc::new(Mutex::new(Slot::default()));
        (Tx(s.clone()), Rx(s))
    }

    impl Tx {
        pub(super) fn send(&self, item: Item) {
            let mut s = self.0.lock().unwrap();
            s.items.push(item);
            if let Some(w) = s.waker.take() {
                w.wake();
            }
        }
    }

    impl Rx {
        pub(super) async fn recv(&self) -> Item {
            std::future::poll_fn(|cx| {
                let mut s = self.0.lock().unwrap();
                if !s.items.is_empty() {
                    return Poll::Ready(s.items.remove(0));
                }
                s.waker = Some(cx.waker().clone());
                Poll::Pending
            })
            .await
        }
    }
}

// test_selector_events.py: SelectorSocketTransportTests (test_read_ready, test_read_ready_eof,
// test_close); test_protocols.py: the documented callback order.
#[test]
fn callback_order_made_data_eof_lost() {
    run(async {
        let (addr, rx) = peer_server().await?;
        let l: Log = Log::default();
        let l2 = l.clone();
        let t = tulip_protocol::create_connection(move || Recorder::new(&l2), addr).await?;
        assert_eq!(entries(&l), ["made"]);
        let (_r, w) = rx.recv().await;
        w.write(b"one");
        w.flush().await?;
        // Wait until it arrived, so the two writes are two reads.
        while entries(&l).len() < 2 {
            tulip_executor::yield_now().await;
        }
        w.write(b"two");
        w.write_eof()?;
        t.wait_closed().await;
        assert_eq!(
            entries(&l),
            ["made", "data:one", "data:two", "eof", "lost:none"]
        );
        Ok(())
    });
}

// test_selector_events.py: test_read_ready_eof_keep_open.
#[test]
fn eof_keep_open_lets_the_protocol_write_after_eof() {
    run(async {
        let (addr, rx) = peer_server().await?;
        let l: Log = Log::default();
        let l2 = l.clone();
        let t = tulip_protocol::create_connection(
            move || Recorder {
                keep_open: true,
                ..Recorder::new(&l2)
            },
            addr,
        )
        .await?;
        let (mut r, w) = rx.recv().await;
        w.write_eof()?;
        while !entries(&l).contains(&"eof".to_string()) {
            tulip_executor::yield_now().await;
        }
        assert!(!t.is_closing());
        t.write(b"after eof");
        t.close();
        assert_eq!(r.read_to_end().await?, b"after eof");
        t.wait_closed().await;
        assert_eq!(entries(&l), ["made", "eof", "lost:none"]);
        Ok(())
    });
}

// test_selector_events.py: test_write_buffer_full / test_maybe_pause_protocol /
// test_maybe_resume_protocol; test_proactor_events.py: test_pause_resume_writing.
#[test]
fn flow_control_crosses_both_marks() {
    run(async {
        let (addr, rx) = peer_server().await?;
        let l: Log = Log::default();
        let l2 = l.clone();
        let t = tulip_protocol::create_connection(move || Recorder::new(&l2), addr).await?;
        let (mut r, _w) = rx.recv().await;
        t.set_write_buffer_limits(Some(64 * 1024), Some(16 * 1024))?;
        assert_eq!(t.get_write_buffer_limits(), (16 * 1024, 64 * 1024));
        // Write until the kernel's buffers are full and ours goes over the high mark.
        let chunk = vec![b'x'; 64 * 1024];
        let mut written = 0usize;
        while t.get_write_buffer_size() <= 64 * 1024 {
            t.write(&chunk);
            written += chunk.len();
            assert!(written < 256 << 20, "the socket never filled");
        }
        while !entries(&l).contains(&"pause".to_string()) {
            tulip_executor::yield_now().await;
        }
        assert_eq!(entries(&l), ["made", "pause"]);
        // Drain the peer: our buffer goes below the low mark.
        let mut got = 0usize;
        while got < written {
            let n = r.read(1 << 20).await?.len();
            assert!(n > 0, "end of stream after {got} of {written} bytes");
            got += n;
        }
        while !entries(&l).contains(&"resume".to_string()) {
            tulip_executor::yield_now().await;
        }
        assert_eq!(entries(&l), ["made", "pause", "resume"]);
        assert_eq!(t.get_write_buffer_size(), 0);
        t.close();
        t.wait_closed().await;
        Ok(())
    });
}

#[test]
fn bad_write_buffer_limits_are_refused() {
    run(async {
        let (addr, _rx) = peer_server().await?;
        let l: Log = Log::default();
        let l2 = l.clone();
        let t = tulip_protocol::create_connection(move || Recorder::new(&l2), addr).await?;
        let e = t.set_write_buffer_limits(Some(1), Some(2)).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::InvalidInput);
        t.abort();
        Ok(())
    });
}

// test_selector_events.py: test_pause_resume_reading; test_proactor_events.py:
// test_pause_resume_reading.
#[test]
fn pause_reading_holds_data_until_resume() {
    run(async {
        let (addr, rx) = peer_server().await?;
        let l: Log = Log::default();
        let l2 = l.clone();
        let t = tulip_protocol::create_connection(move || Recorder::new(&l2), addr).await?;
        assert!(t.is_reading());
        t.pause_reading();
        assert!(!t.is_reading());
        let (_r, w) = rx.recv().await;
        w.write(b"held");
        w.flush().await?;
        for _ in 0..50 {
            tulip_executor::yield_now().await;
        }
        assert_eq!(entries(&l), ["made"]);
        t.resume_reading();
        assert!(t.is_reading());
        while entries(&l).len() < 2 {
            tulip_executor::yield_now().await;
        }
        assert_eq!(entries(&l), ["made", "data:held"]);
        t.close();
        assert!(!t.is_reading());
        t.wait_closed().await;
        Ok(())
    });
}

// test_selector_events.py: test_write_closing (writes after close are dropped and counted).
#[test]
fn write_after_close_is_dropped() {
    run(async {
        let (addr, rx) = peer_server().await?;
        let l: Log = Log::default();
        let l2 = l.clone();
        let t = tulip_protocol::create_connection(move || Recorder::new(&l2), addr).await?;
        t.write(b"before");
        t.close();
        assert!(t.is_closing());
        t.write(b"after");
        assert_eq!(t.lost_writes(), 1);
        let (mut r, _w) = rx.recv().await;
        assert_eq!(r.read_to_end().await?, b"before");
        t.wait_closed().await;
        assert_eq!(entries(&l), ["made", "lost:none"]);
        Ok(())
    });
}

// test_selector_events.py: test_abort / test_force_close (the buffer is discarded).
#[test]
fn abort_drops_the_buffer() {
    run(async {
        let (addr, rx) = peer_server().await?;
        let l: Log = Log::default();
        let l2 = l.clone();
        let t = tulip_protocol::create_connection(move || Recorder::new(&l2), addr).await?;
        let (mut r, _w) = rx.recv().await;
        let chunk = vec![b'y'; 1 << 20];
        while t.get_write_buffer_size() == 0 {
            t.write(&chunk);
        }
        t.abort();
        assert_eq!(t.get_write_buffer_size(), 0);
        t.wait_closed().await;
        assert_eq!(entries(&l).last().unwrap(), "lost:none");
        // The peer sees a reset (or an end) before all that was written.
        let mut total = 0usize;
        loop {
            match r.read(1 << 20).await {
                Ok(d) if d.is_empty() => break,
                Ok(d) => total += d.len(),
                Err(_) => break,
            }
        }
        assert!(total < 64 << 20);
        Ok(())
    });
}

/// asyncio's BufferedProtocol example: reads into a fixed buffer.
struct Buf {
    mem: Vec<u8>,
    got: Arc<Mutex<Vec<u8>>>,
    calls: Arc<Mutex<usize>>,
}

impl Protocol for Buf {}

impl BufferedProtocol for Buf {
    fn get_buffer(&mut self, _hint: usize) -> &mut [u8] {
        &mut self.mem
    }
    fn buffer_updated(&mut self, n: usize) {
        *self.calls.lock().unwrap() += 1;
        self.got.lock().unwrap().extend_from_slice(&self.mem[..n]);
    }
}

// test_protocols.py / test_buffered_proto.py: buffer_updated gets what fits the buffer.
#[test]
fn buffered_protocol_reads_into_its_buffer() {
    run(async {
        let (addr, rx) = peer_server().await?;
        let got = Arc::new(Mutex::new(Vec::new()));
        let calls = Arc::new(Mutex::new(0));
        let (g, c) = (got.clone(), calls.clone());
        let t = tulip_protocol::create_connection(
            move || {
                Buffered(Buf {
                    mem: vec![0; 4],
                    got: g,
                    calls: c,
                })
            },
            addr,
        )
        .await?;
        let (_r, w) = rx.recv().await;
        w.write(b"0123456789");
        w.write_eof()?;
        t.wait_closed().await;
        assert_eq!(&*got.lock().unwrap(), b"0123456789");
        assert!(
            *calls.lock().unwrap() >= 3,
            "a 4-byte buffer takes 10 bytes in 3 reads at least"
        );
        Ok(())
    });
}

struct Udp {
    log: Log,
    t: Option<DatagramTransport>,
    echo: bool,
}

impl DatagramProtocol for Udp {
    fn connection_made(&mut self, t: DatagramTransport) {
        log(&self.log, "made");
        self.t = Some(t);
    }
    fn datagram_received(&mut self, data: &[u8], addr: SocketAddr) {
        log(
            &self.log,
            format!("dgram:{}", String::from_utf8_lossy(data)),
        );
        if self.echo {
            self.t.as_ref().unwrap().sendto(data, Some(addr)).unwrap();
        }
    }
    fn error_received(&mut self, e: io::Error) {
        log(&self.log, format!("error:{:?}", e.kind()));
    }
    fn connection_lost(&mut self, e: Option<io::Error>) {
        log(&self.log, format!("lost:{}", e.is_none()));
    }
}

// test_selector_events.py: SelectorDatagramTransportTests (test_read_ready, test_sendto,
// test_sendto_connected_addr refusing another address, test_close).
#[test]
fn datagram_send_and_receive() {
    run(async {
        let sl: Log = Log::default();
        let s2 = sl.clone();
        let server = tulip_protocol::create_datagram_endpoint(
            move || Udp {
                log: s2,
                t: None,
                echo: true,
            },
            Some("127.0.0.1:0"),
            None::<&str>,
        )
        .await?;
        let cl: Log = Log::default();
        let c2 = cl.clone();
        let client = tulip_protocol::create_datagram_endpoint(
            move || Udp {
                log: c2,
                t: None,
                echo: false,
            },
            Some("127.0.0.1:0"),
            Some(server.sockname()),
        )
        .await?;
        assert_eq!(client.peername(), Some(server.sockname()));
        let other: SocketAddr = "127.0.0.1:9".parse().unwrap();
        assert_eq!(
            client.sendto(b"x", Some(other)).unwrap_err().kind(),
            io::ErrorKind::InvalidInput
        );
        assert_eq!(
            server.sendto(b"x", None).unwrap_err().kind(),
            io::ErrorKind::InvalidInput
        );
        client.sendto(b"ping", None)?;
        while entries(&cl).len() < 2 {
            tulip_executor::yield_now().await;
        }
        assert_eq!(entries(&cl), ["made", "dgram:ping"]);
        assert_eq!(entries(&sl), ["made", "dgram:ping"]);
        client.close();
        client.wait_closed().await;
        server.close();
        server.wait_closed().await;
        assert_eq!(entries(&cl), ["made", "dgram:ping", "lost:true"]);
        Ok(())
    });
}

// test_selector_events.py: test_read_ready_err / test_sendto_error_received_connected
// (ICMP port unreachable on a connected socket reaches error_received; the endpoint stays).
#[test]
fn datagram_port_unreachable_goes_to_error_received() {
    run(async {
        // A port with nobody on it: bind one, note it, close it.
        let dead = std::net::UdpSocket::bind("127.0.0.1:0")?.local_addr()?;
        let l: Log = Log::default();
        let l2 = l.clone();
        let t = tulip_protocol::create_datagram_endpoint(
            move || Udp {
                log: l2,
                t: None,
                echo: false,
            },
            Some("127.0.0.1:0"),
            Some(dead),
        )
        .await?;
        t.sendto(b"anyone?", None)?;
        while entries(&l).len() < 2 {
            tulip_executor::yield_now().await;
        }
        assert_eq!(entries(&l), ["made", "error:ConnectionRefused"]);
        assert!(!t.is_closing());
        t.close();
        t.wait_closed().await;
        Ok(())
    });
}

// test_unix_events.py: UnixReadPipeTransportTests (test__read_ready_eof) and
// UnixWritePipeTransportTests (test_write, test_close).
#[test]
fn pipes_read_data_then_eof() {
    run(async {
        let (r, w) = rustix::pipe::pipe()?;
        let l: Log = Log::default();
        let l2 = l.clone();
        let rt = tulip_protocol::connect_read_pipe(move || Recorder::new(&l2), r).await?;
        let wl: Log = Log::default();
        let w2 = wl.clone();
        let wt = tulip_protocol::connect_write_pipe(move || Recorder::new(&w2), w).await?;
        assert!(!wt.is_reading());
        wt.write(b"through the pipe");
        wt.close();
        wt.wait_closed().await;
        rt.wait_closed().await;
        assert_eq!(
            entries(&l),
            ["made", "data:through the pipe", "eof", "lost:none"]
        );
        assert_eq!(entries(&wl), ["made", "lost:none"]);
        Ok(())
    });
}

struct Sub {
    log: Log,
    input: &'static [u8],
}

impl SubprocessProtocol for Sub {
    fn connection_made(&mut self, t: SubprocessTransport) {
        log(&self.log, "made");
        let stdin = t.get_pipe_transport(0).unwrap();
        stdin.write(self.input);
        stdin.close();
    }
    fn pipe_data_received(&mut self, fd: i32, data: &[u8]) {
        log(&self.log, format!("{fd}:{}", String::from_utf8_lossy(data)));
    }
    fn pipe_connection_lost(&mut self, fd: i32, e: Option<io::Error>) {
        log(&self.log, format!("{fd}:lost:{}", e.is_none()));
    }
    fn process_exited(&mut self) {
        log(&self.log, "exited");
    }
    fn connection_lost(&mut self, e: Option<io::Error>) {
        log(&self.log, format!("lost:{}", e.is_none()));
    }
}

// test_subprocess.py: SubprocessMixin (test_stdin_stdout, test_subprocess_protocol events,
// test_process_exited after the pipes).
#[test]
fn subprocess_protocol_events_in_order() {
    run(async {
        let l: Log = Log::default();
        let l2 = l.clone();
        let t = tulip_protocol::subprocess_shell(
            move || Sub {
                log: l2,
                input: b"data",
            },
            "cat; echo err >&2; exit 3",
        )
        .await?;
        assert!(t.get_pid() > 0);
        t.wait_closed().await;
        assert_eq!(t.get_returncode(), Some(3));
        let e = entries(&l);
        assert_eq!(e[0], "made");
        let pos = |s: &str| {
            e.iter()
                .position(|x| x == s)
                .unwrap_or_else(|| panic!("{s} in {e:?}"))
        };
        assert!(pos("1:data") < pos("1:lost:true"));
        assert!(pos("2:err\n") < pos("2:lost:true"));
        assert!(pos("0:lost:true") < pos("exited"));
        assert!(pos("1:lost:true") < pos("exited"));
        assert!(pos("2:lost:true") < pos("exited"));
        assert_eq!(
            e[e.len() - 2..],
            ["exited".to_string(), "lost:true".to_string()]
        );
        Ok(())
    });
}

// test_subprocess.py: test_kill / test_terminate through the transport.
#[test]
fn subprocess_transport_kills() {
    run(async {
        let l: Log = Log::default();
        let l2 = l.clone();
        let t = tulip_protocol::subprocess_exec(
            move || Sub {
                log: l2,
                input: b"",
            },
            "sleep",
            ["60"],
        )
        .await?;
        assert_eq!(t.get_returncode(), None);
        t.kill()?;
        t.wait_closed().await;
        assert_eq!(t.get_returncode(), Some(-9));
        assert!(entries(&l).contains(&"exited".to_string()));
        Ok(())
    });
}

/// Panics in `data_received` when it sees "boom".
struct Bomb {
    log: Log,
    t: Option<Transport>,
}

impl Protocol for Bomb {
    fn connection_made(&mut self, t: Transport) {
        self.t = Some(t);
    }
    fn data_received(&mut self, data: &[u8]) {
        if data == b"boom" {
            panic!("protocol bomb");
        }
        self.t.as_ref().unwrap().write(data);
    }
    fn connection_lost(&mut self, e: Option<io::Error>) {
        log(
            &self.log,
            format!("lost:{}", e.map_or("none".into(), |e| e.to_string())),
        );
    }
}

// test_selector_events.py: test_fatal_error (the transport is force-closed and
// connection_lost gets the error) — for a panicking callback; the loop and other
// connections go on.
#[test]
fn a_panicking_protocol_aborts_only_its_transport() {
    let reports = Arc::new(Mutex::new(Vec::<String>::new()));
    let r2 = reports.clone();
    let runner = tulip_runtime::Runner::builder()
        .exception_handler(move |ctx: &tulip_runtime::ExceptionContext<'_>| {
            r2.lock().unwrap().push(ctx.to_string());
        })
        .build();
    let l: Log = Log::default();
    let l2 = l.clone();
    let l3 = l.clone();
    runner
        .run(async move {
            let server = tulip_protocol::create_server(
                move || Bomb {
                    log: l2.clone(),
                    t: None,
                },
                "127.0.0.1:0",
            )
            .await?;
            let addr = server.local_addrs()[0].as_inet().unwrap();
            let (mut r1, w1) = open_connection(addr).await?;
            let (mut r2, w2) = open_connection(addr).await?;
            w1.write(b"boom");
            // The bombed connection is aborted: end of stream or a reset.
            assert!(r1.read(10).await.map_or(true, |d| d.is_empty()));
            // The abort comes before `connection_lost` (as in asyncio's `_fatal_error`), and
            // on two workers the peer may see it first: wait (bounded) for the callback.
            for _ in 0..100_000 {
                if !entries(&l3).is_empty() {
                    break;
                }
                tulip_executor::yield_now().await;
            }
            w2.write(b"still here");
            assert_eq!(r2.readexactly(10).await.unwrap(), b"still here");
            drop((w1, w2));
            server.close();
            io::Result::Ok(())
        })
        .unwrap();
    let e = entries(&l);
    assert!(e.iter().any(|x| x.contains("protocol bomb")), "{e:?}");
    let reports = reports.lock().unwrap();
    assert!(
        reports.iter().any(|x| x.contains("protocol bomb")),
        "{reports:?}"
    );
}

/// A !Send protocol (Rc state) on a local task.
#[test]
fn local_protocols_may_hold_rc_state() {
    run(async {
        let (addr, rx) = peer_server().await?;
        let count = std::rc::Rc::new(std::cell::Cell::new(0usize));
        struct Counting(std::rc::Rc<std::cell::Cell<usize>>);
        impl Protocol for Counting {
            fn data_received(&mut self, data: &[u8]) {
                self.0.set(self.0.get() + data.len());
            }
        }
        let c = count.clone();
        let t = tulip_protocol::create_connection_local(move || Counting(c), addr).await?;
        let (_r, w) = rx.recv().await;
        w.write(b"12345");
        w.write_eof()?;
        t.wait_closed().await;
        assert_eq!(count.get(), 5);
        Ok(())
    });
}

// test_unix_events.py / test_events.py: create_unix_server + create_unix_connection, through
// the loop handle's methods.
#[test]
fn unix_server_and_connection_through_the_loop_handle() {
    use tulip_protocol::LoopProtocolExt;
    run(async {
        let dir = std::env::temp_dir().join(format!("tulip-proto-{}", std::process::id()));
        std::fs::create_dir_all(&dir)?;
        let path = dir.join("echo.sock");
        let _ = std::fs::remove_file(&path);
        let lp = tulip_runtime::EventLoop::current();
        let server = lp
            .create_unix_server(
                || Recorder {
                    on_data: |t, d| t.write(d),
                    ..Recorder::new(&Log::default())
                },
                &path,
            )
            .await?;
        let l: Log = Log::default();
        let l2 = l.clone();
        let t = lp
            .create_unix_connection(
                move || Recorder {
                    on_data: |t, _| t.close(),
                    ..Recorder::new(&l2)
                },
                &path,
            )
            .await?;
        t.write(b"unix");
        t.wait_closed().await;
        assert_eq!(entries(&l), ["made", "data:unix", "lost:none"]);
        server.close();
        server.wait_closed().await;
        let _ = std::fs::remove_dir_all(&dir);
        Ok(())
    });
}

// test_unix_events.py: UnixWritePipeTransportTests.test_write_err (EPIPE: the reader is gone,
// connection_lost gets the error).
#[test]
fn a_write_pipe_whose_reader_is_gone_is_lost_with_broken_pipe() {
    run(async {
        let (r, w) = rustix::pipe::pipe()?;
        drop(r);
        let l: Log = Log::default();
        let l2 = l.clone();
        let t = tulip_protocol::connect_write_pipe(move || Recorder::new(&l2), w).await?;
        t.write(b"nobody reads this");
        t.wait_closed().await;
        assert_eq!(entries(&l), ["made", "lost:BrokenPipe"]);
        Ok(())
    });
}

// test_buffered_proto.py: a get_buffer that returns an empty buffer is a fatal error.
#[test]
fn an_empty_get_buffer_aborts_the_transport() {
    struct Empty(Log);
    impl Protocol for Empty {
        fn connection_lost(&mut self, e: Option<io::Error>) {
            log(&self.0, format!("lost:{:?}", e.map(|e| e.kind())));
        }
    }
    impl BufferedProtocol for Empty {
        fn get_buffer(&mut self, _: usize) -> &mut [u8] {
            &mut []
        }
        fn buffer_updated(&mut self, _: usize) {
            unreachable!("nothing can be read into an empty buffer");
        }
    }
    run(async {
        let (addr, _rx) = peer_server().await?;
        let l: Log = Log::default();
        let l2 = l.clone();
        let t = tulip_protocol::create_connection(move || Buffered(Empty(l2)), addr).await?;
        t.wait_closed().await;
        assert_eq!(entries(&l), ["lost:Some(InvalidData)"]);
        Ok(())
    });
}

// test_selector_events.py: test_write_buffer_full from outside a callback: a write made by
// another task still reaches pause_writing.
#[test]
fn a_write_from_another_task_pauses_the_protocol() {
    run(async {
        let (addr, rx) = peer_server().await?;
        let l: Log = Log::default();
        let l2 = l.clone();
        let t = tulip_protocol::create_connection(move || Recorder::new(&l2), addr).await?;
        let (mut r, _w) = rx.recv().await;
        t.set_write_buffer_limits(Some(1024), Some(0))?;
        let t2 = t.clone();
        let written = tulip_executor::spawn(async move {
            let chunk = vec![b'z'; 64 * 1024];
            let mut written = 0;
            while t2.get_write_buffer_size() <= 1024 {
                t2.write(&chunk);
                written += chunk.len();
            }
            written
        })
        .await
        .unwrap();
        while !entries(&l).contains(&"pause".to_string()) {
            tulip_executor::yield_now().await;
        }
        // Draining the peer brings the buffer to the low mark (0). Read exactly what was
        // written: with two workers the transport may report `resume` only after the last
        // bytes were read, so "read until resume" could wait for data that never comes.
        let mut got = 0;
        while got < written {
            let n = r.read(1 << 20).await?.len();
            assert!(n > 0, "end of stream after {got} of {written} bytes");
            got += n;
        }
        assert_eq!(got, written);
        while !entries(&l).contains(&"resume".to_string()) {
            tulip_executor::yield_now().await;
        }
        assert_eq!(entries(&l), ["made", "pause", "resume"]);
        t.abort();
        Ok(())
    });
}

// test_events.py: test_connect_accepted_socket (a protocol on a socket accepted elsewhere).
#[test]
fn connect_accepted_socket_runs_a_protocol_on_an_accepted_stream() {
    run(async {
        let listener = tulip_net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let (mut r, w) = open_connection(addr).await?;
        let (sock, _) = listener.accept().await?;
        let l: Log = Log::default();
        let l2 = l.clone();
        let t = tulip_protocol::connect_accepted_socket(
            move || Recorder {
                on_data: |t, d| t.write(&d.to_ascii_uppercase()),
                ..Recorder::new(&l2)
            },
            sock,
        )
        .await?;
        assert_eq!(
            t.peername().and_then(|a| a.as_inet()),
            Some(w.local_addr()?.as_inet().unwrap())
        );
        assert!(t.socket().is_some());
        w.write(b"abc");
        assert_eq!(r.readexactly(3).await.unwrap(), b"ABC");
        w.close();
        t.wait_closed().await;
        assert_eq!(entries(&l), ["made", "data:abc", "eof", "lost:none"]);
        Ok(())
    });
}

// test_server.py / base_events Server.close_clients (3.13): the server's close_clients
// closes each protocol's transport: connection_lost(None), no spurious eof_received.
#[test]
fn server_close_clients_ends_protocols_with_connection_lost() {
    run(async {
        let l: Log = Log::default();
        let l2 = l.clone();
        let server =
            tulip_protocol::create_server(move || Recorder::new(&l2), "127.0.0.1:0").await?;
        let addr = server.local_addrs()[0].as_inet().unwrap();
        let (mut r, w) = open_connection(addr).await?;
        w.write(b"hi");
        while entries(&l).len() < 2 {
            tulip_executor::yield_now().await;
        }
        assert_eq!(server.active_connections(), 1);
        server.close();
        server.close_clients();
        server.wait_closed().await;
        assert_eq!(entries(&l), ["made", "data:hi", "lost:none"]);
        assert_eq!(r.read(10).await?, b"");
        Ok(())
    });
}
