//! hyper 1.x servers on tulip fetched by hyper clients on tulip, over loopback: HTTP/1.1 with
//! keep-alive, HTTP/2 with concurrent streams (which needs the executor), and hyper's
//! header-read timeout on tulip's timers (virtual time: no real waiting).

#![cfg(unix)]

use std::convert::Infallible;
use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use futures_lite::AsyncReadExt;
use http_body_util::{BodyExt, Empty, Full};
use hyper::body::{Bytes, Incoming};
use hyper::service::service_fn;
use hyper::{Request, Response};
use tulip::net::{TcpListener, TcpStream};
use tulip_hyper::{TulipExecutor, TulipIo, TulipTimer};

/// Every wait in these tests is bounded by this (a hang fails the test instead).
const BOUND: Duration = Duration::from_secs(10);

async fn bounded<F: Future>(what: &str, fut: F) -> F::Output {
    match tulip::timeout(BOUND, fut).await {
        Ok(v) => v,
        Err(_) => panic!("{what} took longer than {BOUND:?}"),
    }
}

/// Answers `you asked for PATH`.
async fn echo_path(req: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    let body = format!("you asked for {}", req.uri().path());
    Ok(Response::new(Full::new(Bytes::from(body))))
}

async fn body_text(res: Response<Incoming>) -> String {
    let bytes = res.into_body().collect().await.unwrap().to_bytes();
    String::from_utf8(bytes.to_vec()).unwrap()
}

/// A listener on a free loopback port, and its address.
async fn listen() -> (TcpListener, std::net::SocketAddr) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    (listener, addr)
}

// HTTP/1.1: one connection carries several requests one after another (keep-alive), and the
// server accepted exactly one connection for them.
#[tulip::test]
async fn http1_keep_alive_serves_several_requests_on_one_connection() {
    let (listener, addr) = listen().await;
    let accepted = Arc::new(AtomicUsize::new(0));
    let count = accepted.clone();
    let server = tulip::spawn(async move {
        loop {
            let (stream, _) = listener.accept().await.unwrap();
            count.fetch_add(1, Ordering::SeqCst);
            tulip::spawn(async move {
                hyper::server::conn::http1::Builder::new()
                    .timer(TulipTimer::new())
                    .serve_connection(TulipIo::new(stream), service_fn(echo_path))
                    .await
                    .unwrap();
            })
            .detach();
        }
    });

    bounded("the HTTP/1.1 exchange", async {
        let stream = TcpStream::connect(addr).await.unwrap();
        let (mut sender, conn) = hyper::client::conn::http1::handshake(TulipIo::new(stream))
            .await
            .unwrap();
        let conn = tulip::spawn(conn);
        for path in ["/one", "/two", "/three"] {
            let req = Request::get(path)
                .header("host", "localhost")
                .body(Empty::<Bytes>::new())
                .unwrap();
            // One request at a time on HTTP/1.1: wait until the previous one is done with.
            sender.ready().await.unwrap();
            let res = sender.send_request(req).await.unwrap();
            assert_eq!(res.status(), 200);
            assert_eq!(res.version(), hyper::Version::HTTP_11);
            assert_eq!(body_text(res).await, format!("you asked for {path}"));
        }
        drop(sender);
        // With the sender gone the client connection ends cleanly.
        conn.await.unwrap().unwrap();
    })
    .await;
    assert_eq!(accepted.load(Ordering::SeqCst), 1);
    server.cancel();
}

// The server's write side goes through `TulipIo`'s vectored writes when asked to; the
// exchange is the same.
#[tulip::test]
async fn http1_with_vectored_writes() {
    let (listener, addr) = listen().await;
    tulip::spawn(async move {
        let (stream, _) = listener.accept().await.unwrap();
        hyper::server::conn::http1::Builder::new()
            .serve_connection(
                TulipIo::new(stream).with_vectored_writes(true),
                service_fn(echo_path),
            )
            .await
            .unwrap();
    })
    .detach();
    bounded("the vectored exchange", async {
        let stream = TcpStream::connect(addr).await.unwrap();
        let io = TulipIo::new(stream).with_vectored_writes(true);
        let (mut sender, conn) = hyper::client::conn::http1::handshake(io).await.unwrap();
        tulip::spawn(conn).detach();
        let req = Request::post("/v")
            .header("host", "localhost")
            .body(Full::new(Bytes::from(vec![b'x'; 100_000])))
            .unwrap();
        let res = sender.send_request(req).await.unwrap();
        assert_eq!(body_text(res).await, "you asked for /v");
    })
    .await;
}

// HTTP/2 (prior knowledge): the server runs each stream's service through the executor, so
// without a working `TulipExecutor` no response ever comes (the bound fails the test). Eight
// requests go at once over one connection, and each service waits until all eight have
// started: they can only finish if they run concurrently, as tasks of their own.
#[tulip::test]
async fn http2_concurrent_streams_run_on_the_executor() {
    const N: usize = 8;
    let (listener, addr) = listen().await;
    let started = Arc::new(AtomicUsize::new(0));
    let all_started = Arc::new(tulip::sync::Event::new());
    let (s, e) = (started.clone(), all_started.clone());
    tulip::spawn(async move {
        let (stream, _) = listener.accept().await.unwrap();
        let service = service_fn(move |req: Request<Incoming>| {
            let (s, e) = (s.clone(), e.clone());
            async move {
                if s.fetch_add(1, Ordering::SeqCst) + 1 == N {
                    e.set();
                }
                e.wait().await;
                echo_path(req).await
            }
        });
        hyper::server::conn::http2::Builder::new(TulipExecutor::new())
            .timer(TulipTimer::new())
            .serve_connection(TulipIo::new(stream), service)
            .await
            .unwrap();
    })
    .detach();

    bounded("the HTTP/2 exchange", async {
        let stream = TcpStream::connect(addr).await.unwrap();
        let (sender, conn) = hyper::client::conn::http2::Builder::new(TulipExecutor::new())
            .timer(TulipTimer::new())
            .handshake(TulipIo::new(stream))
            .await
            .unwrap();
        tulip::spawn(conn).detach();
        let requests = (0..N).map(|i| {
            let mut sender = sender.clone();
            async move {
                let req = Request::get(format!("http://localhost/r{i}"))
                    .body(Empty::<Bytes>::new())
                    .unwrap();
                let res = sender.send_request(req).await.unwrap();
                assert_eq!(res.version(), hyper::Version::HTTP_2);
                (i, body_text(res).await)
            }
        });
        for (i, body) in tulip::gather(requests).await {
            assert_eq!(body, format!("you asked for /r{i}"));
        }
    })
    .await;
    assert_eq!(started.load(Ordering::SeqCst), N);
}

// hyper's header-read timeout runs on `TulipTimer`: a client that connects and sends nothing
// is dropped once the timeout passes, with a timeout error on the server's side and the end
// of the stream on the client's. On virtual time, so the 30 seconds pass at once; without
// the timer hyper refuses the timeout (it panics), and a timer that never fired would trip
// the (virtual) bound.
#[test]
fn http1_header_read_timeout_drops_a_silent_client() {
    tulip::Runner::builder()
        .start_paused(true)
        .build()
        .run(async {
            let (listener, addr) = listen().await;
            let server = tulip::spawn(async move {
                let (stream, _) = listener.accept().await.unwrap();
                let start = tulip::time::Instant::now();
                let result = hyper::server::conn::http1::Builder::new()
                    .timer(TulipTimer::new())
                    .header_read_timeout(Duration::from_secs(30))
                    .serve_connection(TulipIo::new(stream), service_fn(echo_path))
                    .await;
                (result, start.elapsed())
            });
            let mut silent = TcpStream::connect(addr).await.unwrap();
            let (result, waited) = tulip::timeout(Duration::from_secs(120), server)
                .await
                .expect("the header-read timeout never fired")
                .unwrap();
            let err = result.expect_err("a silent client must time out");
            assert!(err.is_timeout(), "{err:?}");
            assert!(
                waited >= Duration::from_secs(30) && waited < Duration::from_secs(31),
                "{waited:?}"
            );
            // The server closed the connection: the client reads the end of the stream
            // (hyper may first write a 408 response).
            let mut rest = Vec::new();
            bounded("the close", silent.read_to_end(&mut rest))
                .await
                .unwrap();
            let rest = String::from_utf8_lossy(&rest);
            assert!(
                rest.is_empty() || rest.starts_with("HTTP/1.1 408"),
                "{rest}"
            );
        });
}

// The client's `TulipExecutor::on(spawner)` form spawns on the given loop from any thread.
#[tulip::test]
async fn executor_on_a_spawner_spawns_from_another_thread() {
    use hyper::rt::Executor;
    let spawner = tulip_executor::Spawner::current().expect("inside a loop");
    let exec = TulipExecutor::on(spawner);
    let (tx, rx) = tulip::channel::oneshot();
    std::thread::spawn(move || {
        exec.execute(async move {
            let _ = tx.send(tulip::task::current_id().is_some());
        })
    })
    .join()
    .unwrap();
    assert_eq!(bounded("the spawned task", rx).await, Ok(true));
}
