//! `Transport::set_protocol`/`get_protocol`, datagram endpoint options (`family`,
//! `reuse_port`, `allow_broadcast`) and `create_server_local`, on loopback.
//!
//! Cases ported from CPython's Lib/test/test_asyncio (test_selector_events.py's
//! set_protocol tests, test_base_events.py's create_datagram_endpoint option tests,
//! test_events.py's create_server tests); the code is ours.

use std::cell::{Cell, RefCell};
use std::io;
use std::net::SocketAddr;
use std::rc::Rc;
use std::sync::{Arc, Mutex};

use tulip_net::streams::{open_connection, start_server, StreamReader, StreamWriter};
use tulip_protocol::{
    Buffered, BufferedProtocol, DatagramOptions, DatagramProtocol, DatagramTransport, Family,
    LoopProtocolExt, Protocol, Transport,
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

async fn until(l: &Log, n: usize) {
    // Bounded: each data arrival wakes the driver; the yields only let it run.
    for _ in 0..100_000 {
        if entries(l).len() >= n {
            return;
        }
        tulip_executor::yield_now().await;
    }
    panic!("log stuck at {:?}", entries(l));
}

/// A streams server that hands its one connection to the test.
async fn peer() -> io::Result<(SocketAddr, Arc<Mutex<Option<(StreamReader, StreamWriter)>>>)> {
    let slot = Arc::new(Mutex::new(None));
    let s2 = slot.clone();
    let server = start_server(
        move |r: StreamReader, w: StreamWriter| {
            *s2.lock().unwrap() = Some((r, w));
            std::future::pending::<()>()
        },
        "127.0.0.1:0",
    )
    .await?;
    let addr = server.local_addrs()[0].as_inet().unwrap();
    std::mem::forget(server);
    Ok((addr, slot))
}

async fn take_peer(
    slot: &Arc<Mutex<Option<(StreamReader, StreamWriter)>>>,
) -> (StreamReader, StreamWriter) {
    for _ in 0..100_000 {
        if let Some(p) = slot.lock().unwrap().take() {
            return p;
        }
        tulip_executor::yield_now().await;
    }
    panic!("no connection accepted");
}

/// Logs every callback under a name; switches to `next` on its first data if given.
struct Named {
    name: &'static str,
    log: Log,
    t: Option<Transport>,
    next: Option<Box<dyn FnOnce(Transport) + Send>>,
}

impl Named {
    fn new(name: &'static str, log: &Log) -> Named {
        Named {
            name,
            log: log.clone(),
            t: None,
            next: None,
        }
    }
}

impl Protocol for Named {
    fn connection_made(&mut self, t: Transport) {
        log(&self.log, format!("{}:made", self.name));
        self.t = Some(t);
    }
    fn data_received(&mut self, data: &[u8]) {
        log(
            &self.log,
            format!("{}:data:{}", self.name, String::from_utf8_lossy(data)),
        );
        if let (Some(next), Some(t)) = (self.next.take(), self.t.clone()) {
            next(t);
        }
    }
    fn eof_received(&mut self) -> bool {
        log(&self.log, format!("{}:eof", self.name));
        false
    }
    fn connection_lost(&mut self, e: Option<io::Error>) {
        log(&self.log, format!("{}:lost:{}", self.name, e.is_none()));
    }
}

impl Drop for Named {
    fn drop(&mut self) {
        log(&self.log, format!("{}:drop", self.name));
    }
}

// test_selector_events.py: test_set_protocol (the next callback goes to the new protocol).
#[test]
fn set_protocol_from_a_callback_takes_the_next_callback() {
    run(async {
        let (addr, slot) = peer().await?;
        let l = Log::default();
        let l2 = l.clone();
        let l3 = l.clone();
        let t = tulip_protocol::create_connection(
            move || {
                let mut a = Named::new("a", &l2);
                a.next = Some(Box::new(move |t: Transport| {
                    t.set_protocol(Named::new("b", &l3));
                }));
                a
            },
            addr,
        )
        .await?;
        assert!(t.get_protocol().ends_with("Named"));
        let (_r, w) = take_peer(&slot).await;
        w.write(b"one");
        w.flush().await?;
        until(&l, 2).await;
        w.write(b"two");
        w.write_eof()?;
        t.wait_closed().await;
        // The driver drops the protocol after `wait_closed` woke (maybe on another worker).
        until(&l, 7).await;
        assert_eq!(
            entries(&l),
            [
                "a:made",
                "a:data:one",
                "a:drop",
                "b:data:two",
                "b:eof",
                "b:lost:true",
                "b:drop"
            ]
        );
        Ok(())
    });
}

// test_selector_events.py: test_set_protocol, from outside the protocol, to a
// BufferedProtocol (asyncio lets a transport switch between the two kinds).
#[test]
fn set_protocol_from_outside_switches_to_a_buffered_protocol() {
    struct Buf {
        mem: Vec<u8>,
        got: Arc<Mutex<Vec<u8>>>,
        lost: Log,
    }
    impl Protocol for Buf {
        fn connection_lost(&mut self, _: Option<io::Error>) {
            log(&self.lost, "buf:lost");
        }
    }
    impl BufferedProtocol for Buf {
        fn get_buffer(&mut self, _: usize) -> &mut [u8] {
            &mut self.mem
        }
        fn buffer_updated(&mut self, n: usize) {
            self.got.lock().unwrap().extend_from_slice(&self.mem[..n]);
        }
    }
    run(async {
        let (addr, slot) = peer().await?;
        let l = Log::default();
        let l2 = l.clone();
        let t = tulip_protocol::create_connection(move || Named::new("a", &l2), addr).await?;
        let got = Arc::new(Mutex::new(Vec::new()));
        t.set_protocol(Buffered(Buf {
            mem: vec![0; 3],
            got: got.clone(),
            lost: l.clone(),
        }));
        assert!(t.get_protocol().contains("Buffered"));
        let (_r, w) = take_peer(&slot).await;
        w.write(b"abcdefgh");
        w.write_eof()?;
        t.wait_closed().await;
        assert_eq!(&*got.lock().unwrap(), b"abcdefgh");
        assert_eq!(entries(&l), ["a:made", "a:drop", "buf:lost"]);
        Ok(())
    });
}

// test_selector_events.py: a protocol set after the transport is closed is never called.
#[test]
fn set_protocol_after_connection_lost_is_ignored() {
    run(async {
        let (addr, _slot) = peer().await?;
        let l = Log::default();
        let l2 = l.clone();
        let t = tulip_protocol::create_connection(move || Named::new("a", &l2), addr).await?;
        t.abort();
        t.wait_closed().await;
        until(&l, 3).await;
        let before = t.get_protocol();
        t.set_protocol(Named::new("late", &l));
        assert_eq!(t.get_protocol(), before);
        assert_eq!(
            entries(&l),
            ["a:made", "a:lost:true", "a:drop", "late:drop"]
        );
        Ok(())
    });
}

/// A datagram protocol that keeps what it receives.
struct Sink(Arc<Mutex<Vec<Vec<u8>>>>);
impl DatagramProtocol for Sink {
    fn datagram_received(&mut self, data: &[u8], _: SocketAddr) {
        self.0.lock().unwrap().push(data.to_vec());
    }
}

struct Quiet;
impl DatagramProtocol for Quiet {}

fn getsockopt_broadcast(t: &DatagramTransport) -> bool {
    rustix::net::sockopt::socket_broadcast(t.socket()).unwrap()
}

// test_base_events.py: test_create_datagram_endpoint_allow_broadcast.
#[test]
fn allow_broadcast_sets_so_broadcast() {
    run(async {
        let on = tulip_protocol::create_datagram_endpoint_with(
            || Quiet,
            Some("127.0.0.1:0"),
            None::<&str>,
            &DatagramOptions::new().allow_broadcast(true),
        )
        .await?;
        // Through the loop handle's method too.
        let off = tulip_runtime::EventLoop::current()
            .create_datagram_endpoint_with(
                || Quiet,
                Some("127.0.0.1:0"),
                None::<&str>,
                &DatagramOptions::new(),
            )
            .await?;
        // With no local address too.
        let on_any = tulip_protocol::create_datagram_endpoint_with(
            || Quiet,
            None::<&str>,
            Some(on.sockname()),
            &DatagramOptions::new().allow_broadcast(true),
        )
        .await?;
        assert!(getsockopt_broadcast(&on));
        assert!(!getsockopt_broadcast(&off));
        assert!(getsockopt_broadcast(&on_any));
        for t in [on, off, on_any] {
            t.close();
            t.wait_closed().await;
        }
        Ok(())
    });
}

// test_base_events.py: test_create_datagram_endpoint_sock_sockopts (reuse_port).
#[test]
fn reuse_port_lets_two_endpoints_bind_one_port() {
    run(async {
        let opts = DatagramOptions::new().reuse_port(true);
        let got = Arc::new(Mutex::new(Vec::new()));
        let g = got.clone();
        let first = tulip_protocol::create_datagram_endpoint_with(
            move || Sink(g),
            Some("127.0.0.1:0"),
            None::<&str>,
            &opts,
        )
        .await?;
        let port = first.sockname();
        let second = tulip_protocol::create_datagram_endpoint_with(
            || Quiet,
            Some(port),
            None::<&str>,
            &opts,
        )
        .await?;
        assert_eq!(second.sockname(), port);
        // Without the option the port is taken.
        let err = tulip_protocol::create_datagram_endpoint_with(
            || Quiet,
            Some(port),
            None::<&str>,
            &DatagramOptions::new(),
        )
        .await
        .unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::AddrInUse);
        for t in [first, second] {
            t.close();
            t.wait_closed().await;
        }
        Ok(())
    });
}

// test_base_events.py: test_create_datagram_endpoint_wrong_family / family=AF_INET6.
#[test]
fn family_picks_ipv4_or_ipv6() {
    run(async {
        let v6 = tulip_protocol::create_datagram_endpoint_with(
            || Quiet,
            None::<&str>,
            None::<&str>,
            &DatagramOptions::new().family(Family::Inet6),
        )
        .await?;
        assert!(v6.sockname().is_ipv6());
        let v4 = tulip_protocol::create_datagram_endpoint_with(
            || Quiet,
            None::<&str>,
            None::<&str>,
            &DatagramOptions::new().family(Family::Inet),
        )
        .await?;
        assert!(v4.sockname().is_ipv4());
        let err = tulip_protocol::create_datagram_endpoint_with(
            || Quiet,
            Some("[::1]:0"),
            None::<&str>,
            &DatagramOptions::new().family(Family::Inet),
        )
        .await
        .unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
        // An IPv6 endpoint sends to an IPv6 peer.
        let got = Arc::new(Mutex::new(Vec::new()));
        let g = got.clone();
        let server = tulip_protocol::create_datagram_endpoint_with(
            move || Sink(g),
            Some("[::1]:0"),
            None::<&str>,
            &DatagramOptions::new().family(Family::Inet6),
        )
        .await?;
        let client = tulip_protocol::create_datagram_endpoint_with(
            || Quiet,
            None::<&str>,
            Some(server.sockname()),
            &DatagramOptions::new().family(Family::Inet6),
        )
        .await?;
        assert!(client.sockname().is_ipv6());
        client.sendto(b"six", None)?;
        for _ in 0..100_000 {
            if !got.lock().unwrap().is_empty() {
                break;
            }
            tulip_executor::yield_now().await;
        }
        assert_eq!(&*got.lock().unwrap(), &[b"six".to_vec()]);
        for t in [v6, v4, server, client] {
            t.close();
            t.wait_closed().await;
        }
        Ok(())
    });
}

// test_events.py: test_create_server (echo through protocols), with !Send state.
#[test]
fn create_server_local_serves_rc_protocols() {
    struct Echo {
        seen: Rc<RefCell<Vec<u8>>>,
        lost: Rc<Cell<usize>>,
        t: Option<Transport>,
    }
    impl Protocol for Echo {
        fn connection_made(&mut self, t: Transport) {
            self.t = Some(t);
        }
        fn data_received(&mut self, data: &[u8]) {
            self.seen.borrow_mut().extend_from_slice(data);
            self.t.as_ref().unwrap().write(data);
        }
        fn connection_lost(&mut self, _: Option<io::Error>) {
            self.lost.set(self.lost.get() + 1);
        }
    }
    run(async {
        let seen = Rc::new(RefCell::new(Vec::new()));
        let lost = Rc::new(Cell::new(0));
        let (s, l) = (seen.clone(), lost.clone());
        // Through the loop handle's method (the free function is in its doc example).
        let server = tulip_runtime::EventLoop::current()
            .create_server_local(
                move || Echo {
                    seen: s.clone(),
                    lost: l.clone(),
                    t: None,
                },
                "127.0.0.1:0",
            )
            .await?;
        let addr = server.local_addrs()[0].as_inet().unwrap();
        for msg in [&b"one"[..], b"two"] {
            let (mut r, w) = open_connection(addr).await?;
            w.write(msg);
            w.write_eof()?;
            assert_eq!(r.read_to_end().await?, msg);
        }
        // A connection still open counts until its protocol's connection_lost returned.
        let (mut r, w) = open_connection(addr).await?;
        w.write(b"three");
        assert_eq!(r.readexactly(5).await?, b"three");
        assert_eq!(server.active_connections(), 1);
        server.close();
        server.close_clients();
        server.wait_closed().await;
        assert_eq!(server.active_connections(), 0);
        assert_eq!(lost.get(), 3);
        assert_eq!(&*seen.borrow(), b"onetwothree");
        Ok(())
    });
}
