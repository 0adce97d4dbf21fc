//! crates/tulip-hyper/examples/hyper_server.rs on tokio, for `cargo xtask wrk --hyper`: the
//! same hyper 1.x HTTP/1.1 keep-alive server (`Hello, world!` to every request, a 30-second
//! header-read timeout), with hyper-util's tokio adapters (`TokioIo`, `TokioTimer`) where the
//! tulip one has tulip-hyper's, so that wrk compares the runtimes under one HTTP stack.
//!
//! ```text
//! cargo run --release -p tulip-benches --bin hyper_hello_tokio [-- --port 8080] [--workers N]
//! ```
//!
//! `--workers 1` (the default) is tokio's current-thread runtime, tulip's default loop;
//! `--workers N` is the multi-thread runtime with N workers. It prints
//! `serving on http://127.0.0.1:PORT` once it listens (`--port 0`: any free port).

use std::convert::Infallible;
use std::time::Duration;

use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpSocket;

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
    let rt = if workers > 1 {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(workers)
            .enable_all()
            .build()?
    } else {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?
    };
    rt.block_on(async move {
        let socket = TcpSocket::new_v4()?;
        socket.set_reuseaddr(true)?;
        socket.bind(([127, 0, 0, 1], port).into())?;
        let listener = socket.listen(1024)?;
        println!(
            "serving on http://127.0.0.1:{}",
            listener.local_addr()?.port()
        );
        loop {
            let (stream, _) = listener.accept().await?;
            let _ = stream.set_nodelay(true);
            tokio::spawn(async move {
                let conn = http1::Builder::new()
                    .timer(TokioTimer::new())
                    .header_read_timeout(Duration::from_secs(30))
                    .serve_connection(TokioIo::new(stream), service_fn(hello));
                if let Err(e) = conn.await {
                    eprintln!("connection error: {e}");
                }
            });
        }
    })
}
