//! The ecosystem integrations of the facade (docs/ecosystem.md), end to end over loopback:
//! hyper 1.x over tulip's TLS stream (`tulip::hyper_rt`), a tokio-only library (tokio-util's
//! `Framed` + `LinesCodec`) over a tulip socket through `tulip::compat`'s adapters, and the
//! hosted tokio runtime: tokio sockets and timers used from tulip tasks, tokio tasks awaited
//! from tulip.

#![cfg(unix)]

use std::convert::Infallible;
use std::future::{poll_fn, Future};
use std::pin::Pin;
use std::time::Duration;

use futures_lite::{AsyncReadExt, AsyncWriteExt, StreamExt};
use futures_sink::Sink;
use http_body_util::{BodyExt, Empty, Full};
use hyper::body::{Bytes, Incoming};
use hyper::{Request, Response};
use tokio_util::codec::{Framed, LinesCodec};
use tulip::compat::{
    spawn_tokio, tokio_handle, with_tokio, FuturesAsyncReadCompatExt, TokioAsyncReadCompatExt,
};
use tulip::hyper_rt::{TulipIo, TulipTimer};
use tulip::net::{TcpListener, TcpStream};
use tulip_tests::{bounded, pki, Reports};

fn run<F: Future<Output = ()>>(f: F) {
    Reports::new().builder().build().run(async {
        if tulip::timeout(3 * tulip_tests::NET_LIMIT, f).await.is_err() {
            panic!("the test hung");
        }
    });
}

/// Sends one item into a sink (what `SinkExt::send` does, without futures-util).
async fn send<S, T>(sink: &mut S, item: T) -> Result<(), S::Error>
where
    S: Sink<T> + Unpin,
{
    poll_fn(|cx| Pin::new(&mut *sink).poll_ready(cx)).await?;
    Pin::new(&mut *sink).start_send(item)?;
    poll_fn(|cx| Pin::new(&mut *sink).poll_flush(cx)).await
}

// hyper over tulip's TLS stream: `TulipIo` takes any futures-io stream, the TLS one included.
#[test]
fn hyper_http1_over_tulip_tls() {
    run(async {
        let (_ca, server_config, client_config) = pki::localhost();
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tulip::spawn(async move {
            let (stream, _) = listener.accept().await.unwrap();
            let tls = stream.accept_tls(server_config).await.unwrap();
            let service = hyper::service::service_fn(|req: Request<Incoming>| async move {
                let body = format!("secure {}", req.uri().path());
                Ok::<_, Infallible>(Response::new(Full::new(Bytes::from(body))))
            });
            hyper::server::conn::http1::Builder::new()
                .timer(TulipTimer::new())
                .serve_connection(TulipIo::new(tls), service)
                .await
                .unwrap();
        })
        .detach();

        let tls = TcpStream::connect(addr)
            .await
            .unwrap()
            .start_tls(client_config, "localhost")
            .await
            .unwrap();
        let (mut sender, conn) = hyper::client::conn::http1::handshake(TulipIo::new(tls))
            .await
            .unwrap();
        tulip::spawn(conn).detach();
        for path in ["/a", "/b"] {
            let req = Request::get(path)
                .header("host", "localhost")
                .body(Empty::<Bytes>::new())
                .unwrap();
            // HTTP/1.1 carries one request at a time: wait until the connection has finished
            // with the previous one (`send_request` on a busy connection fails with
            // "connection was not ready", which a two-worker run hit).
            bounded("the connection", sender.ready()).await.unwrap();
            let res = bounded("the request", sender.send_request(req))
                .await
                .unwrap();
            let body = res.into_body().collect().await.unwrap().to_bytes();
            assert_eq!(body, format!("secure {path}"));
        }
    });
}

// A tokio-only library over tulip sockets: tokio-util's `Framed` with `LinesCodec` needs
// tokio's `AsyncRead`/`AsyncWrite`, which `compat()` gives a tulip `TcpStream`. Both ends are
// framed; the server upper-cases each line.
#[test]
fn tokio_util_lines_codec_over_tulip_sockets() {
    run(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tulip::spawn(async move {
            let (stream, _) = listener.accept().await.unwrap();
            let mut lines = Framed::new(stream.compat(), LinesCodec::new_with_max_length(1024));
            while let Some(Ok(line)) = lines.next().await {
                send(&mut lines, line.to_uppercase()).await.unwrap();
            }
        })
        .detach();

        let stream = TcpStream::connect(addr).await.unwrap();
        let mut lines = Framed::new(stream.compat(), LinesCodec::new_with_max_length(1024));
        for word in ["hello", "tokio", "from tulip"] {
            send(&mut lines, word).await.unwrap();
            let echoed = bounded("the echo", lines.next()).await.unwrap().unwrap();
            assert_eq!(echoed, word.to_uppercase());
        }
        // A line over the codec's limit is a named error, not unbounded buffering.
        let mut raw = lines.into_inner().into_inner();
        raw.write_all(&[b'x'; 2000]).await.unwrap();
        raw.write_all(b"\n").await.unwrap();
        let mut rest = Vec::new();
        // The server's framed reader fails on it and the server drops the connection: end of
        // stream, or a reset when the kernel still held bytes the server had not read (a
        // close with unread data sends RST; the polling backend's CI run showed it).
        match bounded("the close", raw.read_to_end(&mut rest)).await {
            Ok(_) => assert!(rest.is_empty(), "the server answered an over-long line"),
            Err(e) => assert_eq!(e.kind(), std::io::ErrorKind::ConnectionReset, "{e}"),
        }
    });
}

// A tulip task has no tokio context of its own (tokio's timer would panic there: "no
// reactor running"), which is why the hosted runtime exists; under `with_tokio` it has one,
// and a tokio sleep made and polled there completes, polled by the tulip task.
#[test]
fn tokio_time_from_a_tulip_task_needs_the_hosted_context() {
    run(async {
        assert!(tokio::runtime::Handle::try_current().is_err());
        let (inside, thread) = with_tokio(|| async {
            (
                tokio::runtime::Handle::try_current().is_ok(),
                std::thread::current().id(),
            )
        })
        .await;
        assert!(inside);
        // The future ran on tulip's thread, not on tokio's.
        assert_eq!(thread, std::thread::current().id());

        let start = std::time::Instant::now();
        bounded(
            "the tokio sleep",
            with_tokio(|| tokio::time::sleep(Duration::from_millis(20))),
        )
        .await;
        assert!(start.elapsed() >= Duration::from_millis(20));
    });
}

// A tokio socket from a tulip task: connect (which needs tokio's reactor) under `with_tokio`,
// to a tulip listener; then the tokio stream is turned into futures-io with `compat()` and
// read with futures-lite's extension methods.
#[test]
fn tokio_socket_from_a_tulip_task_through_the_hosted_runtime() {
    run(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let server = tulip::spawn(async move {
            let (mut stream, _) = listener.accept().await.unwrap();
            let mut buf = [0; 5];
            stream.read_exact(&mut buf).await.unwrap();
            stream.write_all(&buf).await.unwrap();
            stream.write_all(b"!").await.unwrap();
        });
        let tokio_stream = bounded(
            "the tokio connect",
            with_tokio(|| tokio::net::TcpStream::connect(addr)),
        )
        .await
        .unwrap();
        let mut stream = tokio_stream.compat();
        stream.write_all(b"hello").await.unwrap();
        let mut got = Vec::new();
        bounded("the reply", stream.read_to_end(&mut got))
            .await
            .unwrap();
        assert_eq!(got, b"hello!");
        server.await.unwrap();
    });
}

// `spawn_tokio` runs a future on the hosted runtime's own thread; a tulip task awaits its
// `JoinHandle`, and `tokio_handle()` is that same runtime.
#[test]
fn spawn_tokio_runs_on_the_hosted_thread_and_is_awaited_from_tulip() {
    run(async {
        let name = bounded(
            "the tokio task",
            spawn_tokio(async {
                tokio::time::sleep(Duration::from_millis(1)).await;
                std::thread::current().name().map(str::to_owned)
            }),
        )
        .await
        .unwrap();
        assert_eq!(name.as_deref(), Some("tulip-tokio"));
        let id = bounded(
            "the handle's task",
            tokio_handle().spawn(async { tokio::runtime::Handle::current().id() }),
        )
        .await
        .unwrap();
        assert_eq!(id, tokio_handle().id());
    });
}
