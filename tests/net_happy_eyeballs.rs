//! Happy Eyeballs (RFC 8305) through `TcpStream::connect_with`: with a connection attempt
//! delay, a first address whose connect hangs does not hold the connection up — the next
//! address is tried after the delay and wins, and the hanging attempt's socket is closed;
//! without a delay the attempts run one after another; a failure starts the next attempt at
//! once; every address refused is one error listing each, in the order tried; the families
//! are interleaved as `ConnectOptions::interleave` says (seen through the error's order and
//! through which listener wins); a local address restricts the family; and dropping the
//! connect future closes every attempt.
//!
//! The hanging address is real: on Linux a listener with a backlog of 0 whose accept queue
//! already holds one connection drops new SYNs, so a connect to it stays in SYN_SENT (the
//! kernel would retry for about two minutes). Each test checks that first and skips with a
//! message if the kernel completes the connect anyway. Sockets still trying to connect are
//! seen in `/proc/net/tcp` (state SYN_SENT). Timing assertions are lower bounds (timers never
//! fire early) and generous upper bounds (`bounded`), never tight wall-clock numbers.
//!
//! Cases ported from CPython's `Lib/test/test_asyncio/test_base_events.py`
//! (create_connection with happy_eyeballs_delay / interleave, multiple errors) and
//! `test_staggered.py` say where they come from.

use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;

use tulip::future::poll_once;
use tulip::net::{ConnectError, ConnectOptions, ListenOptions, TcpListener, TcpStream};
use tulip::time::Instant;
use tulip_tests::{bounded, has_ipv6, on_each_backend};

/// The tests of this file count sockets in `/proc/net/tcp` by destination address; run in
/// parallel, one test's connects could be counted by another whose listener got the same port
/// after the first one's listener closed. One at a time, the counts are exact.
static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn serial() -> std::sync::MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}

/// A loopback address whose connects hang, with what keeps it so; `None` (said) when this
/// kernel completes them anyway.
struct Stuck {
    addr: SocketAddr,
    _listener: TcpListener,
    _filler: TcpStream,
}

async fn stuck_address(ip: Ipv4Addr) -> Option<Stuck> {
    let listener = TcpListener::bind_with((ip, 0), &ListenOptions::new().backlog(0))
        .await
        .unwrap();
    let addr = listener.local_addr().unwrap();
    // The one connection the queue holds; nobody accepts it.
    let filler = bounded("the filler connect", TcpStream::connect(addr))
        .await
        .unwrap();
    // Verify: a second connect must still be pending a while later.
    let probe = tulip::timeout(Duration::from_millis(200), TcpStream::connect(addr)).await;
    if let Ok(r) = probe {
        println!("skipped: a full backlog does not hold connects here (the probe gave {r:?})");
        return None;
    }
    closed_soon(addr).await;
    Some(Stuck {
        addr,
        _listener: listener,
        _filler: filler,
    })
}

/// Waits (bounded) until no socket is in SYN_SENT towards `addr`. On epoll and polling a
/// dropped connect's socket is closed at once; on io_uring the kernel keeps the file until the
/// loop's next submission cancels its poll, so the close lands one loop turn later.
async fn closed_soon(addr: SocketAddr) {
    let gone = async {
        while syn_sent_to(addr) != 0 {
            tulip::sleep(Duration::from_millis(1)).await;
        }
    };
    bounded("the dropped connect's socket to close", gone).await;
}

/// How many sockets (of any process in this network namespace) are in SYN_SENT towards
/// `addr`: a connect still in progress. Reads `/proc/net/tcp`.
fn syn_sent_to(addr: SocketAddr) -> usize {
    let SocketAddr::V4(a) = addr else {
        panic!("IPv4 only")
    };
    // The kernel prints the address as the raw (network-order) u32 in host order, then the
    // port in host order.
    let want = format!(
        "{:08X}:{:04X}",
        u32::from_ne_bytes(a.ip().octets()),
        a.port()
    );
    let table = std::fs::read_to_string("/proc/net/tcp").expect("read /proc/net/tcp");
    table
        .lines()
        .skip(1)
        .filter(|line| {
            let f: Vec<&str> = line.split_whitespace().collect();
            f.len() > 3 && f[2] == want && f[3] == "02"
        })
        .count()
}

/// A listener on an ephemeral port of `ip`.
async fn listener_on(ip: IpAddr) -> (TcpListener, SocketAddr) {
    let l = TcpListener::bind((ip, 0)).await.unwrap();
    let a = l.local_addr().unwrap();
    (l, a)
}

/// A port of `ip` nobody listens on.
fn closed_port(ip: IpAddr) -> SocketAddr {
    std::net::TcpListener::bind((ip, 0))
        .unwrap()
        .local_addr()
        .unwrap()
}

fn delay(d: Option<Duration>) -> ConnectOptions {
    ConnectOptions::new().happy_eyeballs_delay(d)
}

/// The addresses a failed connect tried, in order.
fn attempts(err: &io::Error) -> Vec<SocketAddr> {
    err.get_ref()
        .and_then(|e| e.downcast_ref::<ConnectError>())
        .unwrap_or_else(|| panic!("no ConnectError inside {err:?}"))
        .attempts()
        .iter()
        .map(|(a, _)| *a)
        .collect()
}

// CPython test_base_events (create_connection happy_eyeballs_delay) and test_staggered (the
// second coroutine starts after the delay and wins): a first address that hangs costs the
// delay, not its timeout, and its attempt is closed once the second wins.
#[test]
fn a_hanging_first_address_costs_only_the_delay() {
    let _serial = serial();
    on_each_backend(|_| async {
        let Some(slow) = stuck_address(Ipv4Addr::LOCALHOST).await else {
            return;
        };
        let (good_l, good) = listener_on(IpAddr::V4(Ipv4Addr::LOCALHOST)).await;
        let opts = delay(Some(Duration::from_millis(50)));
        let start = Instant::now();
        let mut race = Box::pin(TcpStream::connect_with(vec![slow.addr, good], &opts));
        assert!(poll_once(race.as_mut()).await.is_none());
        // The first attempt is in flight.
        assert_eq!(syn_sent_to(slow.addr), 1);
        let s = bounded("the race", race).await.unwrap();
        assert!(
            start.elapsed() >= Duration::from_millis(50),
            "the second attempt started before the delay: {:?}",
            start.elapsed()
        );
        assert_eq!(s.peer_addr().unwrap(), good);
        let (_server, peer) = good_l.accept().await.unwrap();
        assert_eq!(peer, s.local_addr().unwrap());
        // The loser's socket is closed: nothing of ours still tries to reach the slow one.
        assert_eq!(
            syn_sent_to(slow.addr),
            0,
            "the losing attempt is still connecting"
        );
    });
}

// CPython test_base_events (create_connection without happy_eyeballs_delay tries the
// addresses one by one): without a delay, the second address waits for the first attempt to
// fail, so the connect is still pending long after a delay would have moved on.
#[test]
fn without_a_delay_the_first_address_is_waited_for() {
    let _serial = serial();
    on_each_backend(|_| async {
        let Some(slow) = stuck_address(Ipv4Addr::LOCALHOST).await else {
            return;
        };
        let (good_l, good) = listener_on(IpAddr::V4(Ipv4Addr::LOCALHOST)).await;
        let opts = delay(None);
        let r = tulip::timeout(
            Duration::from_millis(300),
            TcpStream::connect_with(vec![slow.addr, good], &opts),
        )
        .await;
        assert!(
            r.is_err(),
            "connected without waiting for the first address: {r:?}"
        );
        // The good address was never tried, and the dropped connect closed its socket.
        assert!(poll_once(good_l.accept()).await.is_none());
        assert_eq!(syn_sent_to(slow.addr), 0);
    });
}

// CPython test_staggered (a failure starts the next coroutine at once) and test_base_events
// (create_connection with multiple errors: one OSError naming every address): every address
// refused is one error listing each in order, and a refusal moves on without waiting for the
// delay (here 30 s, far above the bound).
#[test]
fn every_address_refused_is_one_error_listing_each() {
    let _serial = serial();
    on_each_backend(|_| async {
        let addrs: Vec<SocketAddr> = (1..=3)
            .map(|n| closed_port(IpAddr::V4(Ipv4Addr::new(127, 0, 0, n))))
            .collect();
        let opts = delay(Some(Duration::from_secs(30)));
        let err = bounded(
            "three refusals",
            TcpStream::connect_with(addrs.clone(), &opts),
        )
        .await
        .unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::ConnectionRefused, "{err}");
        assert_eq!(attempts(&err), addrs);
        let msg = err.to_string();
        assert!(msg.contains("3 addresses"), "{msg}");
        for a in &addrs {
            assert!(msg.contains(&a.to_string()), "{a} missing from: {msg}");
        }
        let inner = err
            .get_ref()
            .unwrap()
            .downcast_ref::<ConnectError>()
            .unwrap();
        assert!(inner
            .attempts()
            .iter()
            .all(|(_, e)| e.kind() == io::ErrorKind::ConnectionRefused));
        // The same one after another, without a delay.
        let err = bounded(
            "three refusals",
            TcpStream::connect_with(addrs.clone(), &delay(None)),
        )
        .await
        .unwrap_err();
        assert_eq!(attempts(&err), addrs);

        // A refusal before a good address: the good one is tried at once and wins.
        let (good_l, good) = listener_on(IpAddr::V4(Ipv4Addr::new(127, 0, 0, 2))).await;
        let s = bounded(
            "refused then good",
            TcpStream::connect_with(vec![addrs[0], good], &opts),
        )
        .await
        .unwrap();
        assert_eq!(s.peer_addr().unwrap(), good);
        good_l.accept().await.unwrap();
    });
}

// CPython test_base_events (_interleave_addrinfos through create_connection, interleave=1
// and 2): the order the addresses are tried in, seen through the order of the errors.
#[test]
fn families_are_interleaved_as_asked() {
    let _serial = serial();
    if !has_ipv6() {
        println!("skipped: this host has no IPv6 loopback ([::1] does not bind)");
        return;
    }
    on_each_backend(|_| async {
        let v6 = IpAddr::V6(Ipv6Addr::LOCALHOST);
        let v4 = IpAddr::V4(Ipv4Addr::LOCALHOST);
        // The listeners first: a closed port chosen after them cannot be one of theirs (chosen
        // before, the kernel could hand a closed port's number to a listener, and the
        // "refused" address would then answer).
        let (l6, good6) = listener_on(v6).await;
        let (l4, good4) = listener_on(v4).await;
        let (a6, b6, a4, b4) = (
            closed_port(v6),
            closed_port(v6),
            closed_port(v4),
            closed_port(v4),
        );
        let given = vec![a6, b6, a4, b4];
        let long = Duration::from_secs(30);
        let cases = [
            // With a delay: families alternate, one of the first family leading.
            (delay(Some(long)), vec![a6, a4, b6, b4]),
            (delay(Some(long)).interleave(2), vec![a6, b6, a4, b4]),
            // Without one: the resolver's order, unless asked to interleave.
            (delay(None), vec![a6, b6, a4, b4]),
            (delay(None).interleave(1), vec![a6, a4, b6, b4]),
        ];
        for (opts, want) in cases {
            let err = bounded(
                "four refusals",
                TcpStream::connect_with(given.clone(), &opts),
            )
            .await
            .unwrap_err();
            assert_eq!(attempts(&err), want, "{opts:?}");
        }

        // The order decides the winner: after a refused IPv6 address, the default tries IPv4
        // next; interleave(2) tries the second IPv6 address first.
        let addrs = vec![a6, good6, good4];
        let s = bounded(
            "interleave 1",
            TcpStream::connect_with(addrs.clone(), &delay(Some(long))),
        )
        .await
        .unwrap();
        assert_eq!(s.peer_addr().unwrap(), good4);
        l4.accept().await.unwrap();
        let opts = delay(Some(long)).interleave(2);
        let s = bounded("interleave 2", TcpStream::connect_with(addrs, &opts))
            .await
            .unwrap();
        assert_eq!(s.peer_addr().unwrap(), good6);
        l6.accept().await.unwrap();
        // Neither listener saw the attempt that lost.
        assert!(poll_once(l6.accept()).await.is_none());
        assert!(poll_once(l4.accept()).await.is_none());
    });
}

// With IPv4 addresses only the order is the one given: after a refusal the next address wins
// and the one after it is never tried (seen by which listener accepted).
#[test]
fn addresses_are_tried_in_the_order_given() {
    let _serial = serial();
    on_each_backend(|_| async {
        let refused = closed_port(IpAddr::V4(Ipv4Addr::LOCALHOST));
        let (l2, a2) = listener_on(IpAddr::V4(Ipv4Addr::new(127, 0, 0, 2))).await;
        let (l3, a3) = listener_on(IpAddr::V4(Ipv4Addr::new(127, 0, 0, 3))).await;
        for opts in [delay(Some(Duration::from_secs(30))), delay(None)] {
            let s = bounded(
                "refused, then two good",
                TcpStream::connect_with(vec![refused, a2, a3], &opts),
            )
            .await
            .unwrap();
            assert_eq!(s.peer_addr().unwrap(), a2);
            let (_, peer) = l2.accept().await.unwrap();
            assert_eq!(peer, s.local_addr().unwrap());
            assert!(poll_once(l3.accept()).await.is_none(), "{opts:?}");
        }
    });
}

// asyncio's create_connection(local_addr=...): only addresses of the local address's family
// are tried.
#[test]
fn a_local_address_restricts_the_family() {
    let _serial = serial();
    on_each_backend(|_| async {
        let (l, good) = listener_on(IpAddr::V4(Ipv4Addr::LOCALHOST)).await;
        let v6 = SocketAddr::from((Ipv6Addr::LOCALHOST, 9));
        let local = SocketAddr::from(([127, 0, 0, 3], 0));
        let opts = ConnectOptions::new().local_addr(local);
        let s = bounded("connect", TcpStream::connect_with(vec![v6, good], &opts))
            .await
            .unwrap();
        assert_eq!(s.peer_addr().unwrap(), good);
        let (_, peer) = l.accept().await.unwrap();
        assert_eq!(peer.ip(), local.ip());
        // Nothing of that family: InvalidInput, before any attempt.
        let err = TcpStream::connect_with(vec![v6], &opts).await.unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput, "{err}");
    });
}

// CPython test_staggered (cancelling staggered_race cancels every running coroutine):
// dropping the connect future while two attempts hang closes both sockets.
#[test]
fn dropping_the_connect_closes_every_attempt() {
    let _serial = serial();
    on_each_backend(|_| async {
        let Some(s1) = stuck_address(Ipv4Addr::LOCALHOST).await else {
            return;
        };
        let Some(s2) = stuck_address(Ipv4Addr::new(127, 0, 0, 2)).await else {
            return;
        };
        let opts = delay(Some(Duration::from_millis(20)));
        let mut race = Box::pin(TcpStream::connect_with(vec![s1.addr, s2.addr], &opts));
        assert!(poll_once(race.as_mut()).await.is_none());
        // Both attempts started (the second after the delay), both still hanging.
        let both = async {
            while syn_sent_to(s2.addr) == 0 {
                assert!(poll_once(race.as_mut()).await.is_none());
                tulip::sleep(Duration::from_millis(5)).await;
            }
        };
        bounded("the second attempt", both).await;
        assert_eq!((syn_sent_to(s1.addr), syn_sent_to(s2.addr)), (1, 1));
        drop(race);
        closed_soon(s1.addr).await;
        closed_soon(s2.addr).await;
    });
}
