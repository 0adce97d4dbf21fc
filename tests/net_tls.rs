//! TLS through `tulip::streams` and `tulip::tls`, end to end over loopback with certificates
//! made in the test: echo on TCP and Unix sockets, SNI, ALPN, client certificates accepted
//! and refused, untrusted and misnamed server certificates, the handshake timeout against a
//! silent peer (either side), peers that speak plain TCP, send garbage or vanish
//! mid-handshake (a named error, the connection closed, the server goes on), `start_tls`
//! upgrading a connection in place (with the peer's first TLS bytes already in the reader's
//! buffer, and writes made during the handshake), `close_notify` on close, the shutdown
//! timeout, `sendfile` over TLS, and interop with peers nobody here wrote: Python's asyncio
//! (`ssl` module) and `openssl s_client` / `s_server`, each skipped with a message when the
//! tool is missing.
//!
//! Every test runs on the flavour (`TULIP_WORKERS`) and backend (`TULIP_BACKEND`) CI selects.

use std::io::{self, Read, Write};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_lite::{AsyncReadExt, AsyncWriteExt};
use tulip::net::{TcpListener, TcpStream};
use tulip::streams::{
    open_connection, start_server, ConnectionOptions, Server, ServerOptions, StreamReader,
    StreamWriter,
};
use tulip::tls::{rustls, TlsError};
use tulip_tests::pki::{self, Ca};
use tulip_tests::{bounded, until, Reports, TempDir};

/// Runs a test on a fresh loop, failing it (instead of hanging) past three times
/// [`tulip_tests::NET_LIMIT`].
fn run<F: std::future::Future<Output = ()>>(reports: &Reports, f: F) {
    reports.builder().build().run(async {
        if tulip::timeout(3 * tulip_tests::NET_LIMIT, f).await.is_err() {
            panic!("the test hung");
        }
    });
}

fn port_of(server: &Server) -> u16 {
    server.local_addrs()[0]
        .as_inet()
        .expect("a TCP server")
        .port()
}

async fn echo_lines(mut r: StreamReader, w: StreamWriter) {
    while let Ok(line) = r.readline().await {
        if line.is_empty() {
            break;
        }
        w.write(&line);
        if w.drain().await.is_err() {
            break;
        }
    }
}

async fn tls_echo_server(config: Arc<rustls::ServerConfig>) -> Server {
    ServerOptions::new()
        .ssl(config)
        .start_server(echo_lines, "127.0.0.1:0")
        .await
        .expect("start a TLS server")
}

/// One line there and back over a TLS client connection.
async fn round_trip(opts: &ConnectionOptions, port: u16, line: &[u8]) -> io::Result<Vec<u8>> {
    let (mut r, w) = opts.open_connection(("127.0.0.1", port)).await?;
    w.write(line);
    let got = r.readline().await?;
    w.close();
    w.wait_closed().await?;
    Ok(got)
}

fn tls_of(e: &io::Error) -> &TlsError {
    TlsError::from_io(e).unwrap_or_else(|| panic!("not a TLS error: {e:?}"))
}

#[test]
fn echo_over_tcp_with_the_session_visible_on_both_sides() {
    let reports = Reports::new();
    run(&reports, async {
        let ca = Ca::new("echo CA");
        let leaf = ca.leaf(&["localhost"]);
        let seen = Arc::new(Mutex::new(None));
        let seen2 = seen.clone();
        let server = ServerOptions::new()
            .ssl(Arc::new(ca.server_config(&leaf)))
            .start_server(
                move |r: StreamReader, w: StreamWriter| {
                    *seen2.lock().unwrap() = w.tls_info();
                    echo_lines(r, w)
                },
                "127.0.0.1:0",
            )
            .await
            .unwrap();
        let opts = ConnectionOptions::new().ssl(Arc::new(ca.client_config()));
        let (mut r, w) = bounded(
            "connect",
            opts.open_connection(("localhost", port_of(&server))),
        )
        .await
        .unwrap();
        for i in 0..20 {
            let line = format!("line {i} {}\n", "x".repeat(i * 100));
            w.write(line.as_bytes());
            assert_eq!(r.readline().await.unwrap(), line.as_bytes());
        }
        // A write far larger than a TLS record and the socket buffers (3 000 lines at once),
        // flushed in the background and read back whole.
        let big: Vec<u8> = (0..3_000_000u32)
            .map(|i| {
                if i % 1000 == 999 {
                    b'\n'
                } else {
                    b'a' + (i % 26) as u8
                }
            })
            .collect();
        w.write(&big);
        w.drain().await.unwrap();
        let back = bounded("a big echo", r.readexactly(big.len()))
            .await
            .unwrap();
        assert!(back == big, "the big echo differs");

        let info = w.tls_info().expect("a TLS connection");
        assert_eq!(
            info.protocol_version,
            Some(rustls::ProtocolVersion::TLSv1_3)
        );
        assert_eq!(w.peer_certificate().as_ref(), Some(&leaf.cert));
        let (suite, version) = w.cipher().unwrap();
        assert!(suite.starts_with("TLS13_"), "{suite}");
        assert_eq!(version, "TLSv1.3");
        let server_side = seen.lock().unwrap().clone().expect("the server's view");
        assert_eq!(server_side.server_name.as_deref(), Some("localhost"));
        assert!(server_side.peer_certificates.is_none());

        w.close();
        bounded("wait_closed", w.wait_closed()).await.unwrap();
        server.close();
        bounded("server wait_closed", server.wait_closed()).await;
        assert_eq!(server.tls_handshake_failures(), 0);
    });
    assert!(reports.all().is_empty(), "{:?}", reports.all());
}

#[test]
fn echo_over_a_unix_socket() {
    let reports = Reports::new();
    run(&reports, async {
        let dir = TempDir::new("tls-unix");
        let path = dir.join("tls.sock");
        let (_ca, server_config, client_config) = pki::localhost();
        let server = ServerOptions::new()
            .ssl(server_config)
            .start_unix_server(echo_lines, &path)
            .await
            .unwrap();
        // A Unix socket has no host: without a server_hostname, a clear error.
        let e = ConnectionOptions::new()
            .ssl(client_config.clone())
            .open_unix_connection(&path)
            .await
            .unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::InvalidInput);
        let (mut r, w) = ConnectionOptions::new()
            .ssl(client_config)
            .server_hostname("localhost")
            .open_unix_connection(&path)
            .await
            .unwrap();
        w.write(b"over unix\n");
        assert_eq!(r.readline().await.unwrap(), b"over unix\n");
        assert!(w.tls_info().is_some());
        w.close();
        w.wait_closed().await.unwrap();
        server.close();
        bounded("server wait_closed", server.wait_closed()).await;
    });
}

#[test]
fn sni_chooses_the_certificate() {
    let reports = Reports::new();
    run(&reports, async {
        let ca = Ca::new("sni CA");
        let (a, b) = (ca.leaf(&["a.test"]), ca.leaf(&["b.test"]));
        let mut resolver = rustls::server::ResolvesServerCertUsingSni::new();
        for (name, leaf) in [("a.test", &a), ("b.test", &b)] {
            let key = rustls::crypto::ring::sign::any_supported_type(&leaf.key()).unwrap();
            let certified = rustls::sign::CertifiedKey::new(vec![leaf.cert.clone()], key);
            resolver.add(name, certified).unwrap();
        }
        let config = rustls::ServerConfig::builder()
            .with_no_client_auth()
            .with_cert_resolver(Arc::new(resolver));
        let names = Arc::new(Mutex::new(Vec::new()));
        let names2 = names.clone();
        let server = ServerOptions::new()
            .ssl(Arc::new(config))
            .start_server(
                move |r: StreamReader, w: StreamWriter| {
                    names2
                        .lock()
                        .unwrap()
                        .push(w.tls_info().unwrap().server_name.unwrap());
                    echo_lines(r, w)
                },
                "127.0.0.1:0",
            )
            .await
            .unwrap();
        for (name, leaf) in [("a.test", &a), ("b.test", &b)] {
            let opts = ConnectionOptions::new()
                .ssl(Arc::new(ca.client_config()))
                .server_hostname(name);
            let (mut r, w) = opts
                .open_connection(("127.0.0.1", port_of(&server)))
                .await
                .unwrap();
            assert_eq!(w.peer_certificate().as_ref(), Some(&leaf.cert));
            w.write(b"hi\n");
            assert_eq!(r.readline().await.unwrap(), b"hi\n");
        }
        assert_eq!(*names.lock().unwrap(), ["a.test", "b.test"]);
        // A name the server has no certificate for: refused in the handshake.
        let opts = ConnectionOptions::new()
            .ssl(Arc::new(ca.client_config()))
            .server_hostname("c.test");
        let e = round_trip(&opts, port_of(&server), b"x\n")
            .await
            .unwrap_err();
        assert!(TlsError::from_io(&e).is_some(), "{e:?}");
    });
}

#[test]
fn alpn_is_negotiated_or_the_handshake_fails_by_name() {
    let reports = Reports::new();
    run(&reports, async {
        let ca = Ca::new("alpn CA");
        let leaf = ca.leaf(&["localhost"]);
        let mut config = ca.server_config(&leaf);
        config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
        let seen = Arc::new(Mutex::new(Vec::new()));
        let seen2 = seen.clone();
        let server = ServerOptions::new()
            .ssl(Arc::new(config))
            .start_server(
                move |r: StreamReader, w: StreamWriter| {
                    seen2
                        .lock()
                        .unwrap()
                        .push(w.tls_info().unwrap().alpn_protocol);
                    echo_lines(r, w)
                },
                "127.0.0.1:0",
            )
            .await
            .unwrap();
        let mut client = ca.client_config();
        client.alpn_protocols = vec![b"http/1.1".to_vec()];
        let (_r, w) = ConnectionOptions::new()
            .ssl(Arc::new(client))
            .open_connection(("localhost", port_of(&server)))
            .await
            .unwrap();
        assert_eq!(
            w.tls_info().unwrap().alpn_protocol.as_deref(),
            Some(&b"http/1.1"[..])
        );
        until(|| !seen.lock().unwrap().is_empty()).await;
        assert_eq!(seen.lock().unwrap()[0].as_deref(), Some(&b"http/1.1"[..]));

        // No protocol in common: the server refuses with an alert the client names.
        let mut client = ca.client_config();
        client.alpn_protocols = vec![b"spdy/1".to_vec()];
        let e = ConnectionOptions::new()
            .ssl(Arc::new(client))
            .open_connection(("localhost", port_of(&server)))
            .await
            .unwrap_err();
        assert!(
            matches!(
                tls_of(&e),
                TlsError::AlertReceived(rustls::AlertDescription::NoApplicationProtocol)
            ),
            "{e:?}"
        );
        until(|| server.tls_handshake_failures() == 1).await;
    });
}

#[test]
fn client_certificates_are_accepted_and_refused() {
    let reports = Reports::new();
    run(&reports, async {
        let server_ca = Ca::new("server CA");
        let client_ca = Ca::new("client CA");
        let stranger_ca = Ca::new("someone else's CA");
        let leaf = server_ca.leaf(&["localhost"]);
        let config = server_ca.server_config_requiring(&leaf, &client_ca);
        let peers = Arc::new(Mutex::new(Vec::new()));
        let peers2 = peers.clone();
        let server = ServerOptions::new()
            .ssl(Arc::new(config))
            .start_server(
                move |r: StreamReader, w: StreamWriter| {
                    peers2.lock().unwrap().push(w.peer_certificate());
                    echo_lines(r, w)
                },
                "127.0.0.1:0",
            )
            .await
            .unwrap();
        let port = port_of(&server);
        let good = client_ca.leaf(&["client.test"]);

        // Accepted: the handler sees the client's certificate.
        let opts = ConnectionOptions::new()
            .ssl(Arc::new(server_ca.client_config_with_cert(&good)))
            .server_hostname("localhost");
        assert_eq!(round_trip(&opts, port, b"me\n").await.unwrap(), b"me\n");
        assert_eq!(peers.lock().unwrap()[0].as_ref(), Some(&good.cert));

        // Refused: no certificate, and one from a CA the server does not trust. In TLS 1.3
        // the client learns it from the server's alert, at its first read.
        let stranger = stranger_ca.leaf(&["client.test"]);
        let refused = [
            server_ca.client_config(),
            server_ca.client_config_with_cert(&stranger),
        ];
        for (i, config) in refused.into_iter().enumerate() {
            let opts = ConnectionOptions::new()
                .ssl(Arc::new(config))
                .server_hostname("localhost");
            let res = async {
                let (mut r, _w) = opts.open_connection(("127.0.0.1", port)).await?;
                r.read(1).await
            }
            .await;
            let e = res.unwrap_err();
            assert!(tls_of(&e).is_certificate_error(), "{e:?}");
            until(|| server.tls_handshake_failures() == i + 1).await;
        }
        // The server goes on.
        assert_eq!(
            round_trip(&opts, port, b"again\n").await.unwrap(),
            b"again\n"
        );
        assert_eq!(peers.lock().unwrap().len(), 2);
    });
}

#[test]
fn untrusted_or_misnamed_server_certificates_are_refused() {
    let reports = Reports::new();
    run(&reports, async {
        let (_ca, server_config, client_config) = pki::localhost();
        let server = tls_echo_server(server_config).await;
        let port = port_of(&server);
        let other = Ca::new("not the server's CA");
        let untrusted = ConnectionOptions::new().ssl(Arc::new(other.client_config()));
        let e = round_trip(&untrusted, port, b"x\n").await.unwrap_err();
        assert!(matches!(tls_of(&e), TlsError::BadCertificate(_)), "{e:?}");
        assert_eq!(e.kind(), io::ErrorKind::InvalidData);

        let misnamed = ConnectionOptions::new()
            .ssl(client_config.clone())
            .server_hostname("elsewhere.test");
        let e = round_trip(&misnamed, port, b"x\n").await.unwrap_err();
        assert!(matches!(tls_of(&e), TlsError::BadCertificate(_)), "{e:?}");

        let bad_name = ConnectionOptions::new()
            .ssl(client_config.clone())
            .server_hostname("not a host name");
        let e = round_trip(&bad_name, port, b"x\n").await.unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::InvalidInput);

        until(|| server.tls_handshake_failures() == 2).await;
        let good = ConnectionOptions::new().ssl(client_config);
        assert_eq!(round_trip(&good, port, b"ok\n").await.unwrap(), b"ok\n");
    });
}

#[test]
fn the_handshake_times_out_against_a_silent_peer_on_either_side() {
    let reports = Reports::new();
    run(&reports, async {
        let (_ca, server_config, client_config) = pki::localhost();
        // A client against a server that accepts and never speaks.
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let hold = tulip::spawn(async move {
            let (s, _) = listener.accept().await.unwrap();
            std::future::pending::<()>().await;
            drop(s);
        });
        let limit = Duration::from_millis(200);
        let e = bounded(
            "a client handshake with a silent server",
            ConnectionOptions::new()
                .ssl(client_config.clone())
                .ssl_handshake_timeout(limit)
                .open_connection(("localhost", port)),
        )
        .await
        .unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::TimedOut);
        assert!(matches!(tls_of(&e), TlsError::HandshakeTimeout(d) if *d == limit));
        hold.cancel();

        // A server against a client that connects and never speaks: closed after the
        // timeout, and the server goes on.
        let server = ServerOptions::new()
            .ssl(server_config)
            .ssl_handshake_timeout(limit)
            .start_server(echo_lines, "127.0.0.1:0")
            .await
            .unwrap();
        let mut silent = TcpStream::connect(("127.0.0.1", port_of(&server)))
            .await
            .unwrap();
        let mut buf = [0u8; 64];
        let n = bounded("the server closing a silent client", silent.read(&mut buf))
            .await
            .unwrap();
        assert_eq!(n, 0, "the server sent {:?}", &buf[..n]);
        until(|| server.tls_handshake_failures() == 1).await;
        let good = ConnectionOptions::new().ssl(client_config);
        assert_eq!(
            round_trip(&good, port_of(&server), b"ok\n").await.unwrap(),
            b"ok\n"
        );
    });
}

#[test]
fn plain_tcp_peers_and_garbage_get_named_errors_and_the_server_goes_on() {
    let reports = Reports::new();
    // Debug mode: the server reports each failed handshake, so its error can be read.
    let runner = reports.builder().debug(true).build();
    runner.run(bounded("the test", async {
        let (_ca, server_config, client_config) = pki::localhost();
        // A TLS client against a plain server that greets first.
        let plain = start_server(
            |_r: StreamReader, w: StreamWriter| async move {
                w.write(b"220 plain.test ESMTP ready\r\n");
                let _ = w.drain().await;
            },
            "127.0.0.1:0",
        )
        .await
        .unwrap();
        let e = ConnectionOptions::new()
            .ssl(client_config.clone())
            .open_connection(("localhost", port_of(&plain)))
            .await
            .unwrap_err();
        assert!(matches!(tls_of(&e), TlsError::NotTls(_)), "{e:?}");

        // A TLS server against a plain client, garbage, and half a ClientHello.
        let server = tls_echo_server(server_config).await;
        let port = port_of(&server);
        let mut hello = Vec::new();
        let mut client =
            rustls::ClientConnection::new(client_config.clone(), "localhost".try_into().unwrap())
                .unwrap();
        client.write_tls(&mut hello).unwrap();
        let garbage: Vec<u8> = (0..4096u32).map(|i| (i * 7919 % 251) as u8).collect();
        let sends: [&[u8]; 3] = [
            b"GET / HTTP/1.0\r\n\r\n",
            &garbage,
            &hello[..hello.len() / 2],
        ];
        for (i, bytes) in sends.iter().enumerate() {
            let mut s = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
            s.write_all(bytes).await.unwrap();
            if i == 2 {
                // Vanish mid-handshake.
                s.close().await.unwrap();
            }
            let mut rest = Vec::new();
            // The server answers with an alert at most, then closes.
            let _ = bounded("the server closing", s.read_to_end(&mut rest)).await;
            assert!(rest.len() < 64, "{} bytes", rest.len());
            until(|| server.tls_handshake_failures() == i + 1).await;
        }
        let all = reports.all();
        assert_eq!(all.len(), 3, "{all:?}");
        assert!(all[0].contains("does not speak TLS"), "{}", all[0]);
        assert!(all[2].contains("during the TLS handshake"), "{}", all[2]);

        // A server that vanishes mid-handshake, seen from the client.
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let lport = listener.local_addr().unwrap().port();
        let vanish = tulip::spawn(async move {
            let (mut s, _) = listener.accept().await.unwrap();
            let mut buf = [0u8; 1];
            let _ = s.read(&mut buf).await;
            drop(s);
        });
        let e = ConnectionOptions::new()
            .ssl(client_config.clone())
            .open_connection(("localhost", lport))
            .await
            .unwrap_err();
        assert!(matches!(tls_of(&e), TlsError::HandshakeEof), "{e:?}");
        vanish.await.unwrap();

        let good = ConnectionOptions::new().ssl(client_config);
        assert_eq!(round_trip(&good, port, b"ok\n").await.unwrap(), b"ok\n");
    }));
}

#[test]
fn start_tls_upgrades_a_connection_in_place() {
    let reports = Reports::new();
    run(&reports, async {
        let (_ca, server_config, client_config) = pki::localhost();
        let server = start_server(
            move |mut r: StreamReader, w: StreamWriter| {
                let config = server_config.clone();
                async move {
                    let line = r.readline().await?;
                    assert_eq!(line, b"STARTTLS\n");
                    // The client did not wait: its ClientHello may be in `r`'s buffer
                    // already, and is handed to the handshake.
                    w.start_tls_server(&mut r, config).await?;
                    echo_lines(r, w).await;
                    io::Result::Ok(())
                }
            },
            "127.0.0.1:0",
        )
        .await
        .unwrap();
        let (mut r, w) = open_connection(("127.0.0.1", port_of(&server)))
            .await
            .unwrap();
        assert!(w.tls_info().is_none());
        w.write(b"STARTTLS\n");
        // A write made while the handshake runs waits for the session.
        let (upgraded, ()) = futures_lite::future::zip(
            w.start_tls(&mut r, client_config.clone(), "localhost"),
            async { w.write(b"during the handshake\n") },
        )
        .await;
        upgraded.unwrap();
        assert!(w.tls_info().is_some());
        assert_eq!(r.readline().await.unwrap(), b"during the handshake\n");
        w.write(b"after\n");
        assert_eq!(r.readline().await.unwrap(), b"after\n");

        // Twice is refused by name; so is a reader of another connection.
        let e = w
            .start_tls(&mut r, client_config.clone(), "localhost")
            .await
            .unwrap_err();
        assert!(matches!(tls_of(&e), TlsError::AlreadyTls));
        let (mut other_r, _other_w) = open_connection(("127.0.0.1", port_of(&server)))
            .await
            .unwrap();
        let e = w
            .start_tls(&mut other_r, client_config, "localhost")
            .await
            .unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::InvalidInput);
        w.close();
        w.wait_closed().await.unwrap();
    });
}

#[test]
fn closing_sends_close_notify_both_ways() {
    let reports = Reports::new();
    run(&reports, async {
        let (_ca, server_config, client_config) = pki::localhost();
        // Our server closes; a raw rustls client reads to the end, which rustls allows only
        // after a close_notify (a bare FIN would be UnexpectedEof).
        let server = ServerOptions::new()
            .ssl(server_config.clone())
            .start_server(
                |_r: StreamReader, w: StreamWriter| async move {
                    w.write(b"goodbye");
                    w.close();
                    w.wait_closed().await
                },
                "127.0.0.1:0",
            )
            .await
            .unwrap();
        let plain = TcpStream::connect(("127.0.0.1", port_of(&server)))
            .await
            .unwrap();
        let mut tls = plain
            .start_tls(client_config.clone(), "localhost")
            .await
            .unwrap();
        let mut got = Vec::new();
        bounded("read to close_notify", tls.read_to_end(&mut got))
            .await
            .unwrap();
        assert_eq!(got, b"goodbye");

        // Our client's writer goes away; a raw rustls server reads to the end.
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let accept = tulip::spawn(async move {
            let (s, _) = listener.accept().await.unwrap();
            let mut tls = s.accept_tls(server_config).await.unwrap();
            let mut got = Vec::new();
            tls.read_to_end(&mut got).await.map(|_| got)
        });
        let (_r, w) = ConnectionOptions::new()
            .ssl(client_config)
            .open_connection(("localhost", port))
            .await
            .unwrap();
        w.write(b"so long");
        drop(w);
        let got = bounded("the server's read", accept).await.unwrap().unwrap();
        assert_eq!(got, b"so long");
    });
}

#[test]
fn a_close_that_cannot_finish_times_out_with_a_named_error() {
    let reports = Reports::new();
    run(&reports, async {
        let (_ca, server_config, client_config) = pki::localhost();
        // A peer that completes the handshake and then never reads.
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let hold = tulip::spawn(async move {
            let (s, _) = listener.accept().await.unwrap();
            let tls = s.accept_tls(server_config).await.unwrap();
            std::future::pending::<()>().await;
            drop(tls);
        });
        let limit = Duration::from_millis(300);
        let (_r, w) = ConnectionOptions::new()
            .ssl(client_config)
            .ssl_shutdown_timeout(limit)
            .open_connection(("localhost", port))
            .await
            .unwrap();
        // More than the socket buffers of both ends hold.
        w.write(&vec![0u8; 48 << 20]);
        w.close();
        let e = bounded("wait_closed", w.wait_closed()).await.unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::TimedOut);
        assert!(matches!(tls_of(&e), TlsError::ShutdownTimeout(d) if *d == limit));
        hold.cancel();
    });
}

#[test]
fn sendfile_goes_through_the_session() {
    let reports = Reports::new();
    run(&reports, async {
        let dir = TempDir::new("tls-sendfile");
        let path = dir.join("data");
        let data: Vec<u8> = (0..300_000u32).map(|i| (i % 253) as u8).collect();
        std::fs::write(&path, &data).unwrap();
        let (_ca, server_config, client_config) = pki::localhost();
        let server = ServerOptions::new()
            .ssl(server_config)
            .start_server(
                |mut r: StreamReader, w: StreamWriter| async move {
                    let all = r.read_to_end().await?;
                    w.write(&(all.len() as u64).to_be_bytes());
                    w.write(&all[1000..1010]);
                    w.close();
                    w.wait_closed().await
                },
                "127.0.0.1:0",
            )
            .await
            .unwrap();
        let (mut r, w) = ConnectionOptions::new()
            .ssl(client_config)
            .open_connection(("localhost", port_of(&server)))
            .await
            .unwrap();
        let file = std::fs::File::open(&path).unwrap();
        let sent = w.sendfile(&file, 0, None).await.unwrap();
        assert_eq!(sent, data.len() as u64);
        w.write_eof().unwrap();
        let reply = bounded("the reply", r.read_to_end()).await.unwrap();
        assert_eq!(&reply[..8], &(data.len() as u64).to_be_bytes());
        assert_eq!(&reply[8..], &data[1000..1010]);
    });
}

// ----- interop with peers nobody here wrote -----

fn have(tool: &str) -> bool {
    let ok = Command::new(tool)
        .arg(if tool == "openssl" {
            "version"
        } else {
            "--version"
        })
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !ok {
        println!("skipped: `{tool}` is not on this machine");
    }
    ok
}

/// Writes the CA and a `localhost` certificate as PEM files: `(dir, ca, cert, key)` paths.
fn pem_files(test: &str) -> (TempDir, Ca, pki::Leaf) {
    let dir = TempDir::new(test);
    let ca = Ca::new("interop CA");
    let leaf = ca.leaf(&["localhost", "127.0.0.1"]);
    std::fs::write(dir.join("ca.pem"), ca.cert_pem()).unwrap();
    std::fs::write(dir.join("cert.pem"), &leaf.cert_pem).unwrap();
    std::fs::write(dir.join("key.pem"), &leaf.key_pem).unwrap();
    (dir, ca, leaf)
}

/// Waits (off the loop) for the child to print a line containing a port, and returns it.
async fn port_from(child: &mut Child) -> u16 {
    let mut out = child.stdout.take().expect("piped stdout");
    let (line, out) = tulip::to_thread(move || {
        let mut line = Vec::new();
        let mut byte = [0u8; 1];
        while out.read(&mut byte).unwrap_or(0) == 1 && byte[0] != b'\n' {
            line.push(byte[0]);
        }
        (String::from_utf8_lossy(&line).into_owned(), out)
    })
    .await;
    child.stdout = Some(out);
    line.rsplit([':', ' '])
        .next()
        .and_then(|p| p.trim().parse().ok())
        .unwrap_or_else(|| panic!("no port in {line:?}"))
}

async fn finish(mut child: Child) -> String {
    let out = tulip::to_thread(move || {
        let mut s = String::new();
        if let Some(mut o) = child.stdout.take() {
            let _ = o.read_to_string(&mut s);
        }
        let status = child.wait().unwrap();
        (s, status)
    });
    let (s, status) = bounded("the child process", out).await;
    assert!(status.success(), "the child failed ({status}): {s}");
    s
}

const PY_CLIENT: &str = r#"
import asyncio, ssl, sys
async def main():
    ctx = ssl.create_default_context(cafile=sys.argv[1])
    r, w = await asyncio.open_connection("127.0.0.1", int(sys.argv[2]), ssl=ctx,
                                         server_hostname="localhost")
    w.write(b"ping from asyncio\n")
    await w.drain()
    line = await r.readline()
    ssl_object = w.get_extra_info("ssl_object")
    print(line.decode().strip(), "|", ssl_object.version(), "|",
          dict(x[0] for x in w.get_extra_info("peercert")["subject"])["commonName"])
    w.close()
    await w.wait_closed()
asyncio.run(main())
"#;

#[test]
fn interop_python_asyncio_client() {
    if !have("python3") {
        return;
    }
    let reports = Reports::new();
    run(&reports, async {
        let (dir, ca, leaf) = pem_files("tls-py-client");
        let server = tls_echo_server(Arc::new(ca.server_config(&leaf))).await;
        let child = Command::new("python3")
            .args(["-c", PY_CLIENT])
            .arg(dir.join("ca.pem"))
            .arg(port_of(&server).to_string())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let out = finish(child).await;
        assert_eq!(out.trim(), "ping from asyncio | TLSv1.3 | localhost");
        bounded(
            "the connection's end",
            until(|| server.active_connections() == 0),
        )
        .await;
    });
}

/// Serves one connection: reads a line, answers it upper-cased, closes.
const PY_SERVER: &str = r#"
import asyncio, ssl, sys
async def main():
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(sys.argv[1], sys.argv[2])
    done = asyncio.Event()
    async def handle(r, w):
        line = await r.readline()
        w.write(line.upper())
        await w.drain()
        w.close()
        await w.wait_closed()
        done.set()
    server = await asyncio.start_server(handle, "127.0.0.1", 0, ssl=ctx)
    print("port", server.sockets[0].getsockname()[1], flush=True)
    await done.wait()
    server.close()
    await server.wait_closed()
asyncio.run(main())
"#;

#[test]
fn interop_python_asyncio_server() {
    if !have("python3") {
        return;
    }
    let reports = Reports::new();
    run(&reports, async {
        let (dir, ca, _leaf) = pem_files("tls-py-server");
        let mut child = Command::new("python3")
            .args(["-c", PY_SERVER])
            .arg(dir.join("cert.pem"))
            .arg(dir.join("key.pem"))
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let port = bounded("python's port", port_from(&mut child)).await;
        let (mut r, w) = ConnectionOptions::new()
            .ssl(Arc::new(ca.client_config()))
            .open_connection(("localhost", port))
            .await
            .unwrap();
        w.write(b"hello from tulip\n");
        assert_eq!(r.readline().await.unwrap(), b"HELLO FROM TULIP\n");
        // Python closes with close_notify and waits for ours.
        assert_eq!(bounded("python's close", r.read(1)).await.unwrap(), b"");
        w.close();
        w.wait_closed().await.unwrap();
        finish(child).await;
    });
}

#[test]
fn interop_openssl_s_client() {
    if !have("openssl") {
        return;
    }
    let reports = Reports::new();
    run(&reports, async {
        let (dir, ca, leaf) = pem_files("tls-s-client");
        let server = ServerOptions::new()
            .ssl(Arc::new(ca.server_config(&leaf)))
            .start_server(
                |mut r: StreamReader, w: StreamWriter| async move {
                    let line = r.readline().await?;
                    w.write(&line.to_ascii_uppercase());
                    w.close();
                    w.wait_closed().await
                },
                "127.0.0.1:0",
            )
            .await
            .unwrap();
        let mut child = Command::new("openssl")
            .args([
                "s_client",
                "-quiet",
                "-verify_return_error",
                "-servername",
                "localhost",
            ])
            .arg("-CAfile")
            .arg(dir.join("ca.pem"))
            .arg("-connect")
            .arg(format!("127.0.0.1:{}", port_of(&server)))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(b"ping from s_client\n")
            .unwrap();
        let out = finish(child).await;
        assert_eq!(out, "PING FROM S_CLIENT\n");
    });
}

#[test]
fn interop_openssl_s_server() {
    if !have("openssl") {
        return;
    }
    let reports = Reports::new();
    run(&reports, async {
        let (dir, ca, _leaf) = pem_files("tls-s-server");
        let mut child = Command::new("openssl")
            .args([
                "s_server",
                "-rev",
                "-naccept",
                "1",
                "-accept",
                "127.0.0.1:0",
            ])
            .arg("-cert")
            .arg(dir.join("cert.pem"))
            .arg("-key")
            .arg(dir.join("key.pem"))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        // "ACCEPT 127.0.0.1:PORT" (after a line about DH parameters on some versions).
        let mut port = 0;
        for _ in 0..3 {
            if let Some(p) = try_port(&mut child).await {
                port = p;
                break;
            }
        }
        assert_ne!(port, 0, "s_server printed no port");
        let (mut r, w) = ConnectionOptions::new()
            .ssl(Arc::new(ca.client_config()))
            .open_connection(("localhost", port))
            .await
            .unwrap();
        w.write(b"tulip\n");
        assert_eq!(r.readline().await.unwrap(), b"pilut\n");
        w.close();
        w.wait_closed().await.unwrap();
        let _ = child.kill();
        let _ = tulip::to_thread(move || child.wait()).await;
    });
}

async fn try_port(child: &mut Child) -> Option<u16> {
    let mut out = child.stdout.take()?;
    let (line, out) = tulip::to_thread(move || {
        let mut line = Vec::new();
        let mut byte = [0u8; 1];
        while out.read(&mut byte).unwrap_or(0) == 1 && byte[0] != b'\n' {
            line.push(byte[0]);
        }
        (String::from_utf8_lossy(&line).into_owned(), out)
    })
    .await;
    child.stdout = Some(out);
    if !line.starts_with("ACCEPT") {
        return None;
    }
    line.rsplit(':').next()?.trim().parse().ok()
}
