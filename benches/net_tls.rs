//! TLS over loopback, client and server in one process: tulip's streams with `ssl=` against
//! tokio-rustls on the same rustls (same version, same ring provider, same configurations).
//! smol has no TLS of its own here, so its column says `na`.
//!
//! - `tls_handshakes`: `n` (2 000) full TLS 1.3 handshakes (ECDSA P-256, no resumption), 8
//!   clients at a time: TCP connect, handshake, one byte there and back, close. Handshakes
//!   per second. tulip: `ConnectionOptions::ssl` → `ServerOptions::ssl`; tokio:
//!   `TlsConnector::connect` → `TlsAcceptor::accept` in an accept loop.
//! - `tls_echo`: 64 TLS connections × `n` (2 000) round trips of 64 bytes; thousands of
//!   round trips per second. tulip: `StreamWriter::write` + `drain`,
//!   `StreamReader::readexactly`; tokio: `write_all` + `flush`, `read_exact` on a
//!   `TlsStream` split in two.
//! - `tls_stream`: one TLS connection, `n` (256 MiB) bytes in 64 KiB writes, read with
//!   64 KiB reads; GiB/s.
//!
//! Handshakes of `tls_echo` and `tls_stream` happen before the clock starts.

use std::sync::{Arc, OnceLock};
use std::time::Instant;

use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tulip::streams::{ConnectionOptions, ServerOptions, StreamReader, StreamWriter};
use tulip::tls::rustls;
use tulip_benches::{measure, rt, Flavour, Outcome, Plan, RuntimeKind, Spec};

/// Connections in `tls_echo`.
const CONNS: usize = 64;
/// Message size of `tls_echo`.
const MSG: usize = 64;
/// Write and read size of `tls_stream`.
const CHUNK: usize = 64 * 1024;
/// Clients handshaking at once in `tls_handshakes`.
const PARALLEL: u64 = 8;

struct Configs {
    server: Arc<rustls::ServerConfig>,
    client: Arc<rustls::ClientConfig>,
}

/// A self-signed `localhost` certificate, made once; full handshakes (no resumption, no
/// tickets), so every handshake costs the same.
fn configs() -> &'static Configs {
    static CONFIGS: OnceLock<Configs> = OnceLock::new();
    CONFIGS.get_or_init(|| {
        let cert = rcgen::generate_simple_self_signed(vec!["localhost".to_string()])
            .expect("a certificate");
        let key = rustls::pki_types::PrivateKeyDer::try_from(cert.signing_key.serialize_der())
            .expect("a key");
        let mut server = rustls::ServerConfig::builder()
            .with_no_client_auth()
            .with_single_cert(vec![cert.cert.der().clone()], key)
            .expect("a server config");
        server.send_tls13_tickets = 0;
        server.session_storage = Arc::new(rustls::server::NoServerSessionStorage {});
        let mut roots = rustls::RootCertStore::empty();
        roots.add(cert.cert.der().clone()).expect("a root");
        let mut client = rustls::ClientConfig::builder()
            .with_root_certificates(roots)
            .with_no_client_auth();
        client.resumption = rustls::client::Resumption::disabled();
        Configs {
            server: Arc::new(server),
            client: Arc::new(client),
        }
    })
}

fn server_name() -> rustls::pki_types::ServerName<'static> {
    rustls::pki_types::ServerName::try_from("localhost").expect("a name")
}

// ----- tulip -----

async fn tulip_server<H: tulip::streams::Handler>(handler: H) -> (tulip::streams::Server, u16) {
    let server = ServerOptions::new()
        .ssl(configs().server.clone())
        .start_server(handler, "127.0.0.1:0")
        .await
        .expect("start a TLS server");
    let port = server.local_addrs()[0].as_inet().expect("TCP").port();
    (server, port)
}

async fn tls_handshakes_tulip(n: u64) -> f64 {
    let (server, port) = tulip_server(|mut r: StreamReader, w: StreamWriter| async move {
        if let Ok(b) = r.readexactly(1).await {
            w.write(&b);
        }
    })
    .await;
    let per = (n / PARALLEL).max(1);
    let start = Instant::now();
    let clients: Vec<_> = (0..PARALLEL)
        .map(|_| {
            tulip::spawn(async move {
                let opts = ConnectionOptions::new()
                    .ssl(configs().client.clone())
                    .server_hostname("localhost");
                for _ in 0..per {
                    let (mut r, w) = opts
                        .open_connection(("127.0.0.1", port))
                        .await
                        .expect("a TLS connection");
                    w.write(b"!");
                    r.readexactly(1).await.expect("the byte back");
                    w.close();
                }
            })
        })
        .collect();
    for c in clients {
        c.await.expect("a client");
    }
    let rate = (per * PARALLEL) as f64 / start.elapsed().as_secs_f64();
    server.close();
    rate
}

async fn tls_echo_tulip(n: u64) -> f64 {
    let (server, port) = tulip_server(|mut r: StreamReader, w: StreamWriter| async move {
        while let Ok(msg) = r.readexactly(MSG).await {
            w.write(&msg);
            if w.drain().await.is_err() {
                break;
            }
        }
    })
    .await;
    let mut conns = Vec::with_capacity(CONNS);
    for _ in 0..CONNS {
        conns.push(tulip_connect_named(port).await);
    }
    let start = Instant::now();
    let clients: Vec<_> = conns
        .into_iter()
        .map(|(mut r, w)| {
            tulip::spawn(async move {
                let msg = [7u8; MSG];
                for _ in 0..n {
                    w.write(&msg);
                    w.drain().await.expect("drain");
                    r.readexactly(MSG).await.expect("echo");
                }
            })
        })
        .collect();
    for c in clients {
        c.await.expect("a client");
    }
    let rate = (n * CONNS as u64) as f64 / start.elapsed().as_secs_f64() / 1e3;
    server.close();
    rate
}

async fn tulip_connect_named(port: u16) -> (StreamReader, StreamWriter) {
    ConnectionOptions::new()
        .ssl(configs().client.clone())
        .server_hostname("localhost")
        .open_connection(("127.0.0.1", port))
        .await
        .expect("a TLS connection")
}

async fn tls_stream_tulip(n: u64) -> f64 {
    let (done_tx, done_rx) = tulip::channel::oneshot();
    let done_tx = std::sync::Mutex::new(Some(done_tx));
    let (server, port) = tulip_server(move |mut r: StreamReader, _w: StreamWriter| {
        let tx = done_tx.lock().unwrap().take();
        async move {
            let mut got = 0u64;
            while got < n {
                let b = r.read(CHUNK).await.expect("read");
                assert!(!b.is_empty(), "the stream ended early");
                got += b.len() as u64;
            }
            if let Some(tx) = tx {
                let _ = tx.send(got);
            }
        }
    })
    .await;
    let (_r, w) = tulip_connect_named(port).await;
    let chunk = vec![1u8; CHUNK];
    let start = Instant::now();
    let mut left = n;
    while left > 0 {
        let len = left.min(CHUNK as u64) as usize;
        w.write(&chunk[..len]);
        w.drain().await.expect("drain");
        left -= len as u64;
    }
    done_rx.await.expect("the reader's total");
    let rate = n as f64 / start.elapsed().as_secs_f64() / (1u64 << 30) as f64;
    server.close();
    rate
}

// ----- tokio + tokio-rustls -----

type TokioTls = tokio_rustls::TlsStream<tokio::net::TcpStream>;

/// A TLS accept loop running `serve` on each connection.
async fn tokio_server<F, Fut>(serve: F) -> u16
where
    F: Fn(TokioTls) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let acceptor = tokio_rustls::TlsAcceptor::from(configs().server.clone());
    let serve = Arc::new(serve);
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let _ = tcp.set_nodelay(true);
            let (acceptor, serve) = (acceptor.clone(), serve.clone());
            tokio::spawn(async move {
                if let Ok(tls) = acceptor.accept(tcp).await {
                    serve(tokio_rustls::TlsStream::Server(tls)).await;
                }
            });
        }
    });
    port
}

async fn tokio_connect(port: u16) -> TokioTls {
    let tcp = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .expect("connect");
    tcp.set_nodelay(true).expect("nodelay");
    let connector = tokio_rustls::TlsConnector::from(configs().client.clone());
    let tls = connector
        .connect(server_name(), tcp)
        .await
        .expect("a TLS connection");
    tokio_rustls::TlsStream::Client(tls)
}

async fn tls_handshakes_tokio(n: u64) -> f64 {
    let port = tokio_server(|mut tls: TokioTls| async move {
        let mut b = [0u8; 1];
        if tls.read_exact(&mut b).await.is_ok() {
            let _ = tls.write_all(&b).await;
            let _ = tls.flush().await;
        }
    })
    .await;
    let per = (n / PARALLEL).max(1);
    let start = Instant::now();
    let clients: Vec<_> = (0..PARALLEL)
        .map(|_| {
            tokio::spawn(async move {
                for _ in 0..per {
                    let mut tls = tokio_connect(port).await;
                    tls.write_all(b"!").await.expect("write");
                    tls.flush().await.expect("flush");
                    let mut b = [0u8; 1];
                    tls.read_exact(&mut b).await.expect("the byte back");
                    let _ = tls.shutdown().await;
                }
            })
        })
        .collect();
    for c in clients {
        c.await.expect("a client");
    }
    (per * PARALLEL) as f64 / start.elapsed().as_secs_f64()
}

async fn tls_echo_tokio(n: u64) -> f64 {
    let port = tokio_server(|tls: TokioTls| async move {
        let (mut r, mut w) = tokio::io::split(tls);
        let mut buf = [0u8; MSG];
        while r.read_exact(&mut buf).await.is_ok() {
            if w.write_all(&buf).await.is_err() || w.flush().await.is_err() {
                break;
            }
        }
    })
    .await;
    let mut conns = Vec::with_capacity(CONNS);
    for _ in 0..CONNS {
        conns.push(tokio_connect(port).await);
    }
    let start = Instant::now();
    let clients: Vec<_> = conns
        .into_iter()
        .map(|tls| {
            tokio::spawn(async move {
                let (mut r, mut w) = tokio::io::split(tls);
                let mut buf = [7u8; MSG];
                for _ in 0..n {
                    w.write_all(&buf).await.expect("write");
                    w.flush().await.expect("flush");
                    r.read_exact(&mut buf).await.expect("echo");
                }
            })
        })
        .collect();
    for c in clients {
        c.await.expect("a client");
    }
    (n * CONNS as u64) as f64 / start.elapsed().as_secs_f64() / 1e3
}

async fn tls_stream_tokio(n: u64) -> f64 {
    let (done_tx, done_rx) = tokio::sync::oneshot::channel();
    let done_tx = std::sync::Mutex::new(Some(done_tx));
    let port = tokio_server(move |mut tls: TokioTls| {
        let tx = done_tx.lock().unwrap().take();
        async move {
            let mut buf = vec![0u8; CHUNK];
            let mut got = 0u64;
            while got < n {
                let k = tls.read(&mut buf).await.expect("read");
                assert!(k > 0, "the stream ended early");
                got += k as u64;
            }
            if let Some(tx) = tx {
                let _ = tx.send(got);
            }
        }
    })
    .await;
    let mut tls = tokio_connect(port).await;
    let chunk = vec![1u8; CHUNK];
    let start = Instant::now();
    let mut left = n;
    while left > 0 {
        let len = left.min(CHUNK as u64) as usize;
        tls.write_all(&chunk[..len]).await.expect("write");
        left -= len as u64;
    }
    tls.flush().await.expect("flush");
    done_rx.await.expect("the reader's total");
    n as f64 / start.elapsed().as_secs_f64() / (1u64 << 30) as f64
}

/// tulip and tokio only: smol has no TLS here.
macro_rules! tls_dispatch {
    ($tulip:ident, $tokio:ident) => {
        |kind: RuntimeKind, flavour: Flavour, plan: &Plan| match kind {
            RuntimeKind::Tulip => measure::<rt::Tulip, _, _>(flavour, plan, $tulip),
            RuntimeKind::Tokio => measure::<rt::Tokio, _, _>(flavour, plan, $tokio),
            RuntimeKind::Smol => {
                Outcome::NotAvailable("the TLS rows compare tulip with tokio-rustls".to_string())
            }
        }
    };
}

fn main() {
    tulip_benches::main(
        "tls",
        &[
            Spec {
                name: "tls_handshakes",
                unit: "hs/s",
                higher_is_better: true,
                n: 2_000,
                quick_n: 400,
                warmup: 1,
                reps: 3,
                quick_reps: 3,
                run: tls_dispatch!(tls_handshakes_tulip, tls_handshakes_tokio),
                refs: &[],
            },
            Spec {
                name: "tls_echo",
                unit: "krt/s",
                higher_is_better: true,
                n: 2_000,
                quick_n: 400,
                warmup: 1,
                reps: 3,
                quick_reps: 3,
                run: tls_dispatch!(tls_echo_tulip, tls_echo_tokio),
                refs: &[],
            },
            Spec {
                name: "tls_stream",
                unit: "GiB/s",
                higher_is_better: true,
                n: 1 << 28,
                quick_n: 1 << 26,
                warmup: 1,
                reps: 5,
                quick_reps: 3,
                run: tls_dispatch!(tls_stream_tulip, tls_stream_tokio),
                refs: &[],
            },
        ],
    );
}
