//! An HTTP/1.1 server on hyper 1.x and tulip: every request gets `Hello, world!`, connections
//! are kept alive, and a client that sends no request head within 30 seconds is dropped
//! (hyper's header-read timeout, on tulip's timers). It is the hyper server that
//! `cargo xtask wrk --hyper` loads with wrk (docs/benchmarks.md), beside the same server on
//! hyper + tokio (benches/hyper_hello_tokio.rs).
//!
//! ```text
//! cargo run --release -p tulip-hyper --example hyper_server [-- --port 8080] [--workers N]
//! curl -v http://127.0.0.1:8080/
//! ```
//!
//! `--workers N` runs a work-stealing loop of N threads (default: one thread). It prints
//! `serving on http://127.0.0.1:PORT` once it listens (`--port 0`: any free port).

use std::convert::Infallible;
use std::time::Duration;

use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use tulip::net::{ListenOptions, TcpListener};
use tulip_hyper::{TulipIo, TulipTimer};

async fn hello(_req: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    Ok(Response::new(Full::new(Bytes::from_static(
        b"Hello, world!",
    ))))
}

/// The value of option `name` (`--name VALUE`), if given.
fn option(name: &str) -> Option<String> {
    let args: Vec<String> = std::env::args().collect();
    let i = args.iter().position(|a| a == name)?;
    args.get(i + 1).cloned()
}

fn main() -> std::io::Result<()> {
    let port: u16 = option("--port")
        .and_then(|p| p.parse().ok())
        .unwrap_or(8080);
    let workers: usize = option("--workers")
        .and_then(|w| w.parse().ok())
        .unwrap_or(1);
    tulip::Runner::builder()
        .workers(workers)
        .build()
        .run(async move {
            let listener =
                TcpListener::bind_with(("127.0.0.1", port), &ListenOptions::new().backlog(1024))
                    .await?;
            println!(
                "serving on http://127.0.0.1:{}",
                listener.local_addr()?.port()
            );
            loop {
                let (stream, _) = listener.accept().await?;
                let _ = stream.set_nodelay(true);
                tulip::spawn(async move {
                    let conn = http1::Builder::new()
                        .timer(TulipTimer::new())
                        .header_read_timeout(Duration::from_secs(30))
                        .serve_connection(TulipIo::new(stream), service_fn(hello));
                    if let Err(e) = conn.await {
                        eprintln!("connection error: {e}");
                    }
                })
                .detach();
            }
        })
}
