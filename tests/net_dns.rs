//! Name resolution through `tulip::net`: `getaddrinfo` (loopback addresses for `localhost`,
//! the port filled in), `getaddrinfo_with` and its hints (family, socket type, `PASSIVE`
//! wildcards, `CANONNAME`, `NUMERICHOST`), names that do not exist (`NotFound` with a
//! `ResolveError` naming the host, also through `connect` and `bind`), `getnameinfo` numeric
//! and by name, what `ToSocketAddrs` refuses, and that resolution runs on the blocking pool
//! and never on the loop: with the pool held busy, fifty lookups wait while the loop goes on
//! running a ticking task.
//!
//! Lookups stay on this host: `localhost`, IP literals, and `.invalid` names (RFC 6761: never
//! resolvable). Cases ported from CPython's `Lib/test/test_asyncio/test_base_events.py`
//! (getaddrinfo/getnameinfo in an executor) and tokio's `tokio/tests/net_lookup_host.rs` say
//! where they come from.

use std::collections::HashSet;
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tulip::net::{
    getaddrinfo, getaddrinfo_with, getnameinfo, AddrInfoHints, AiFlags, Family, NameInfoFlags,
    ResolveError, SockType, TcpListener, TcpStream, UdpSocket,
};
use tulip_tests::{bounded, has_ipv6};

fn run<F: std::future::Future<Output = ()>>(f: F) {
    tulip::Runner::new().run(async { bounded("the test", f).await });
}

/// A name that never resolves (RFC 6761 reserves `.invalid`).
const NO_SUCH_HOST: &str = "no-such-host.invalid";

/// Checks that `err` is a failed lookup of `NO_SUCH_HOST`: a `ResolveError` inside whose
/// message names the host, of kind `NotFound` — unless the system resolver could not ask
/// anyone (`EAI_AGAIN`, a host without a reachable name server), which is said and accepted.
fn assert_no_such_host(err: &io::Error) {
    let resolve = err
        .get_ref()
        .and_then(|e| e.downcast_ref::<ResolveError>())
        .unwrap_or_else(|| panic!("no ResolveError inside {err:?}"));
    assert!(resolve.to_string().contains(NO_SUCH_HOST), "{resolve}");
    assert!(err.to_string().contains(NO_SUCH_HOST), "{err}");
    assert!(!resolve.message().is_empty());
    if resolve.code() == libc::EAI_AGAIN {
        println!(
            "note: the resolver could not reach a name server ({resolve}); NotFound unchecked"
        );
        return;
    }
    assert!(resolve.is_no_name(), "{resolve:?}");
    assert_eq!(err.kind(), io::ErrorKind::NotFound, "{err}");
}

// tokio net_lookup_host.rs (lookup_str_socket_addr, lookup_socket_addr) and asyncio's
// loop.getaddrinfo("localhost", port): loopback addresses, each with the port, each once.
#[test]
fn localhost_resolves_to_loopback_addresses_with_the_port() {
    run(async {
        let addrs = getaddrinfo("localhost", 8080).await.unwrap();
        assert!(!addrs.is_empty());
        for a in &addrs {
            assert!(a.ip().is_loopback(), "{a}");
            assert_eq!(a.port(), 8080);
        }
        let unique: HashSet<_> = addrs.iter().collect();
        assert_eq!(unique.len(), addrs.len(), "duplicates in {addrs:?}");
        // An IP literal comes back as it is.
        assert_eq!(
            getaddrinfo("127.0.0.2", 1).await.unwrap(),
            [SocketAddr::from(([127, 0, 0, 2], 1))]
        );
        assert_eq!(
            getaddrinfo("::1", 2).await.unwrap(),
            [SocketAddr::from((Ipv6Addr::LOCALHOST, 2))]
        );
    });
}

// asyncio's loop.getaddrinfo(host, port, family=..., type=..., proto=...): the hints filter
// what comes back.
#[test]
fn hints_choose_family_and_socket_type() {
    run(async {
        let v4 = AddrInfoHints {
            family: Family::Inet,
            socktype: SockType::Stream,
            ..Default::default()
        };
        let infos = getaddrinfo_with(Some("localhost"), Some(80), v4)
            .await
            .unwrap();
        assert!(!infos.is_empty());
        for i in &infos {
            assert_eq!(i.family, Family::Inet, "{i:?}");
            assert!(i.addr.is_ipv4() && i.addr.ip().is_loopback(), "{i:?}");
            assert_eq!(i.socktype, SockType::Stream);
            assert!(i.protocol == libc::IPPROTO_TCP || i.protocol == 0, "{i:?}");
            assert_eq!(i.addr.port(), 80);
        }

        let v6 = AddrInfoHints {
            family: Family::Inet6,
            flags: AiFlags::NUMERICHOST,
            ..Default::default()
        };
        let infos = getaddrinfo_with(Some("::1"), Some(443), v6).await.unwrap();
        assert!(infos
            .iter()
            .all(|i| i.family == Family::Inet6
                && i.addr == SocketAddr::from((Ipv6Addr::LOCALHOST, 443))));
        // An IPv4 literal is not an IPv6 address.
        let err = getaddrinfo_with(Some("127.0.0.1"), Some(1), v6)
            .await
            .unwrap_err();
        assert!(err.get_ref().unwrap().is::<ResolveError>(), "{err:?}");

        let dgram = AddrInfoHints {
            socktype: SockType::Datagram,
            flags: AiFlags::NUMERICHOST,
            ..Default::default()
        };
        let infos = getaddrinfo_with(Some("127.0.0.1"), Some(53), dgram)
            .await
            .unwrap();
        assert_eq!(infos.len(), 1);
        assert_eq!(infos[0].socktype, SockType::Datagram);
        assert!(infos[0].protocol == libc::IPPROTO_UDP || infos[0].protocol == 0);

        // No socket type: one result per type the resolver knows, each once.
        let any = AddrInfoHints {
            flags: AiFlags::NUMERICHOST,
            ..Default::default()
        };
        let infos = getaddrinfo_with(Some("127.0.0.1"), Some(7), any)
            .await
            .unwrap();
        let types: HashSet<_> = infos.iter().map(|i| i.socktype).collect();
        assert!(types.contains(&SockType::Stream) && types.contains(&SockType::Datagram));
        assert_eq!(types.len(), infos.len(), "duplicates in {infos:?}");
        // No port: 0.
        let infos = getaddrinfo_with(Some("127.0.0.1"), None, dgram)
            .await
            .unwrap();
        assert_eq!(infos[0].addr.port(), 0);
    });
}

// asyncio's create_server(host=None) (getaddrinfo with AI_PASSIVE): no host and PASSIVE give
// the wildcard addresses to bind; no host without it gives the loopback.
#[test]
fn passive_without_a_host_is_the_wildcard() {
    run(async {
        for (family, want) in [
            (Family::Inet, IpAddr::V4(Ipv4Addr::UNSPECIFIED)),
            (Family::Inet6, IpAddr::V6(Ipv6Addr::UNSPECIFIED)),
        ] {
            let hints = AddrInfoHints {
                family,
                socktype: SockType::Stream,
                flags: AiFlags::PASSIVE,
                ..Default::default()
            };
            let infos = getaddrinfo_with(None, Some(8000), hints).await.unwrap();
            assert_eq!(infos.len(), 1, "{infos:?}");
            assert_eq!(infos[0].addr, SocketAddr::new(want, 8000));
        }
        let active = AddrInfoHints {
            family: Family::Inet,
            socktype: SockType::Stream,
            ..Default::default()
        };
        let infos = getaddrinfo_with(None, Some(8000), active).await.unwrap();
        assert_eq!(infos[0].addr, SocketAddr::from(([127, 0, 0, 1], 8000)));
        // What the flags say of themselves.
        let f = AiFlags::PASSIVE | AiFlags::CANONNAME;
        assert!(f.contains(AiFlags::PASSIVE) && f.contains(AiFlags::CANONNAME));
        assert!(!f.contains(AiFlags::NUMERICHOST));
        assert_eq!(f.bits(), libc::AI_PASSIVE | libc::AI_CANONNAME);
    });
}

// asyncio's getaddrinfo(flags=socket.AI_CANONNAME): the first result carries the canonical
// name, the others none.
#[test]
fn canonname_names_the_first_result() {
    run(async {
        let hints = AddrInfoHints {
            family: Family::Inet,
            socktype: SockType::Stream,
            flags: AiFlags::CANONNAME,
            ..Default::default()
        };
        let infos = getaddrinfo_with(Some("localhost"), Some(1), hints)
            .await
            .unwrap();
        let name = infos[0].canonname.as_deref().expect("a canonical name");
        assert!(!name.is_empty());
        // It names this same host: it resolves to the same loopback addresses.
        let again = getaddrinfo(name, 1).await.unwrap();
        assert!(
            again.iter().any(|a| a.ip().is_loopback()),
            "{name}: {again:?}"
        );
        assert!(infos[1..].iter().all(|i| i.canonname.is_none()));
        // Without the flag, none.
        let plain = AddrInfoHints {
            flags: AiFlags::NONE,
            ..hints
        };
        let infos = getaddrinfo_with(Some("localhost"), Some(1), plain)
            .await
            .unwrap();
        assert!(infos.iter().all(|i| i.canonname.is_none()));
    });
}

// CPython test_base_events (getaddrinfo failing: socket.gaierror names the host) and tokio
// net_lookup_host.rs (resolve_dns failure): a name that does not exist is NotFound with a
// ResolveError inside naming the host, whether asked directly or through connect and bind.
// (Each such lookup asks the system's name server: three are enough, all paths share one
// resolver call.)
#[test]
fn a_name_that_does_not_exist_is_not_found_naming_it() {
    run(async {
        let err = getaddrinfo(NO_SUCH_HOST, 80).await.unwrap_err();
        assert_no_such_host(&err);
        let err = TcpStream::connect((NO_SUCH_HOST, 80)).await.unwrap_err();
        assert_no_such_host(&err);
        let err = UdpSocket::bind((NO_SUCH_HOST, 0)).await.unwrap_err();
        assert_no_such_host(&err);

        // NUMERICHOST refuses a name without asking anyone.
        let hints = AddrInfoHints {
            flags: AiFlags::NUMERICHOST,
            ..Default::default()
        };
        let err = getaddrinfo_with(Some("localhost"), Some(1), hints)
            .await
            .unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::NotFound, "{err}");
        let r = err
            .get_ref()
            .unwrap()
            .downcast_ref::<ResolveError>()
            .unwrap();
        assert!(r.is_no_name() && r.to_string().contains("localhost"), "{r}");
        // A NUL byte cannot reach the resolver at all.
        let err = getaddrinfo("a\0b", 1).await.unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput, "{err}");
    });
}

// asyncio's loop.getnameinfo(sockaddr, NI_NUMERICHOST | NI_NUMERICSERV): numbers back.
#[test]
fn getnameinfo_numeric() {
    run(async {
        let f = NameInfoFlags::NUMERICHOST | NameInfoFlags::NUMERICSERV;
        assert_eq!(
            getnameinfo("127.0.0.1:80".parse().unwrap(), f)
                .await
                .unwrap(),
            ("127.0.0.1".to_string(), "80".to_string())
        );
        assert_eq!(
            getnameinfo("[::1]:443".parse().unwrap(), f).await.unwrap(),
            ("::1".to_string(), "443".to_string())
        );
        assert_eq!(
            f.bits(),
            NameInfoFlags::NUMERICHOST.bits() | NameInfoFlags::NUMERICSERV.bits()
        );
    });
}

// asyncio's loop.getnameinfo(sockaddr) without flags: the host's name where it has one (here,
// if the hosts file names 127.0.0.1), which resolves back to the address; the service's name
// where the services database has it.
#[test]
fn getnameinfo_by_name() {
    run(async {
        let addr: SocketAddr = "127.0.0.1:80".parse().unwrap();
        let (host, service) = match getnameinfo(addr, NameInfoFlags::NAMEREQD).await {
            Ok(v) => v,
            Err(e) => {
                println!("skipped: this host has no name for 127.0.0.1 ({e})");
                return;
            }
        };
        assert!(host.parse::<IpAddr>().is_err(), "not a name: {host}");
        let back = getaddrinfo(&host, 80).await.unwrap();
        assert!(back.contains(&addr), "{host} resolves to {back:?}");
        assert!(service == "http" || service == "80", "{service}");
        // NUMERICSERV keeps the port a number even when the service has a name.
        let (_, service) = getnameinfo(addr, NameInfoFlags::NUMERICSERV).await.unwrap();
        assert_eq!(service, "80");
        // DGRAM looks the port up as a UDP service.
        let (_, service) = getnameinfo("127.0.0.1:53".parse().unwrap(), NameInfoFlags::DGRAM)
            .await
            .unwrap();
        assert!(service == "domain" || service == "53", "{service}");
    });
}

// What `ToSocketAddrs` refuses before any lookup: no host for a connect, no port, a bad port.
#[test]
fn malformed_addresses_are_invalid_input() {
    run(async {
        let err = TcpStream::connect((None::<&str>, 80)).await.unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput, "{err}");
        assert!(err.to_string().contains("no host"), "{err}");
        for bad in ["no-port", "localhost:notaport", "localhost:70000"] {
            let err = TcpStream::connect(bad).await.unwrap_err();
            assert_eq!(err.kind(), io::ErrorKind::InvalidInput, "{bad}: {err}");
            assert!(err.to_string().contains(bad), "{err}");
        }
        let empty: Vec<SocketAddr> = Vec::new();
        let err = TcpStream::connect(empty).await.unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput, "{err}");
        if has_ipv6() {
            let l = TcpListener::bind("[::1]:0").await.unwrap();
            assert!(l.local_addr().unwrap().is_ipv6());
        }
    });
}

// asyncio runs getaddrinfo in the default executor so a slow resolver never blocks the loop.
// Here the blocking pool has one thread and a job holds it: fifty lookups wait for the pool
// while a task on the loop ticks twenty times (a lookup done on the loop itself would finish
// at once); released, all fifty complete.
#[test]
fn lookups_run_on_the_blocking_pool_never_on_the_loop() {
    let runner = tulip::Runner::builder().max_blocking_threads(1).build();
    runner.run(async {
        let (release, held) = std::sync::mpsc::channel::<()>();
        let started = Arc::new(tulip::sync::Event::new());
        let blocker = {
            let started = started.clone();
            tulip::spawn_blocking(move || {
                started.set();
                held.recv().unwrap();
            })
        };
        started.wait().await;

        let done = Arc::new(AtomicUsize::new(0));
        let lookups: Vec<_> = (0..50)
            .map(|i| {
                let done = done.clone();
                tulip::spawn(async move {
                    let r = getaddrinfo("localhost", 1000 + i).await;
                    done.fetch_add(1, Ordering::SeqCst);
                    (i, r)
                })
            })
            .collect();
        for tick in 0..20 {
            tulip::sleep(Duration::from_millis(1)).await;
            assert_eq!(
                done.load(Ordering::SeqCst),
                0,
                "a lookup finished while the pool was busy (tick {tick}): it ran on the loop"
            );
        }
        release.send(()).unwrap();
        blocker.await.unwrap();
        for t in lookups {
            let (i, r) = bounded("a lookup", t).await.unwrap();
            let addrs = r.unwrap();
            assert!(addrs
                .iter()
                .all(|a| a.ip().is_loopback() && a.port() == 1000 + i));
        }
        assert_eq!(done.load(Ordering::SeqCst), 50);
    });
}

// The same load with the default pool: fifty lookups at once, and a getnameinfo among them,
// all answered, while a ticker on the loop keeps running until the last one is in.
#[test]
fn fifty_concurrent_lookups_are_all_answered() {
    run(async {
        let done = Arc::new(AtomicUsize::new(0));
        let ticks = Arc::new(AtomicUsize::new(0));
        let ticker = {
            let (done, ticks) = (done.clone(), ticks.clone());
            tulip::spawn(async move {
                while done.load(Ordering::SeqCst) < 50 {
                    ticks.fetch_add(1, Ordering::SeqCst);
                    tulip::sleep(Duration::from_millis(1)).await;
                }
            })
        };
        let lookups: Vec<_> = (0..50u16)
            .map(|i| {
                let done = done.clone();
                tulip::spawn(async move {
                    let ok = if i == 0 {
                        let f = NameInfoFlags::NUMERICHOST | NameInfoFlags::NUMERICSERV;
                        getnameinfo("127.0.0.1:9".parse().unwrap(), f).await.is_ok()
                    } else {
                        let addrs = getaddrinfo("localhost", i).await.unwrap();
                        addrs.iter().all(|a| a.port() == i)
                    };
                    done.fetch_add(1, Ordering::SeqCst);
                    ok
                })
            })
            .collect();
        for t in lookups {
            assert!(bounded("a lookup", t).await.unwrap());
        }
        ticker.await.unwrap();
        assert!(ticks.load(Ordering::SeqCst) >= 1);
    });
}
