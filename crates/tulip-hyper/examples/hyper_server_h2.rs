//! An HTTP/2 server on hyper 1.x and tulip, cleartext with prior knowledge (h2c: the client
//! speaks HTTP/2 from the first byte, no TLS and no `Upgrade`). hyper runs each stream's
//! service as a task of its own through `TulipExecutor`, and sends keep-alive pings on
//! `TulipTimer`. Every request gets `Hello, HTTP/2!`.
//!
//! ```text
//! cargo run -p tulip-hyper --example hyper_server_h2 [-- --port 8080]
//! curl --http2-prior-knowledge http://127.0.0.1:8080/
//! cargo run -p tulip-hyper --example hyper_client -- --http2 http://127.0.0.1:8080/
//! ```
//!
//! It prints `serving on http://127.0.0.1:PORT` once it listens (`--port 0`: any free port).

use std::convert::Infallible;
use std::time::Duration;

use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::server::conn::http2;
use hyper::service::service_fn;
use hyper::{Request, Response};
use tulip::net::TcpListener;
use tulip_hyper::{TulipExecutor, TulipIo, TulipTimer};

async fn hello(_req: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    Ok(Response::new(Full::new(Bytes::from_static(
        b"Hello, HTTP/2!",
    ))))
}

fn main() -> std::io::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let port: u16 = args
        .iter()
        .position(|a| a == "--port")
        .and_then(|i| args.get(i + 1)?.parse().ok())
        .unwrap_or(8080);
    tulip::run(async move {
        let listener = TcpListener::bind(("127.0.0.1", port)).await?;
        println!(
            "serving on http://127.0.0.1:{}",
            listener.local_addr()?.port()
        );
        loop {
            let (stream, _) = listener.accept().await?;
            tulip::spawn(async move {
                let conn = http2::Builder::new(TulipExecutor::new())
                    .timer(TulipTimer::new())
                    .keep_alive_interval(Duration::from_secs(20))
                    .serve_connection(TulipIo::new(stream), service_fn(hello));
                if let Err(e) = conn.await {
                    eprintln!("connection error: {e}");
                }
            })
            .detach();
        }
    })
}
