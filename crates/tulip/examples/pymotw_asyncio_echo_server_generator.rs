//! A TCP echo server whose handler is not an `async fn`: PyMOTW-3's
//! `asyncio_echo_server_generator.py` (dhellmann/pymotw-3, `source/asyncio/`), in tulip.
//! Expected output: tests/data/pymotw/asyncio_echo_server_generator.txt.
//!
//! ```text
//! cargo run -p tulip --example pymotw_asyncio_echo_server_generator [-- --port N]
//! cargo run -p tulip --example pymotw_asyncio_echo_client_coroutine  # in another terminal
//! ```
//!
//! The Python program is asyncio_echo_server_coroutine.py written with `@asyncio.coroutine`
//! generators and `yield from` (gone from Python 3.11). Rust has no generator coroutines; the
//! counterpart of "a coroutine not written with `async def`" is a future built from parts:
//! here the handler is a plain function that logs the connection at once and returns a
//! stream pipeline (`unfold` over the reader's chunks, each echoed in `then`) as its
//! `impl Future`. Everything else is as in the coroutine version,
//! including `--port N`.

use std::future::Future;
use std::sync::Arc;

use tulip::signal::{Signals, SIGINT};
use tulip::stream::{self, StreamExt};
use tulip::streams::{start_server, StreamReader, StreamWriter};

/// Bytes shown as Python shows them (`b'…'`).
fn bytes_repr(b: &[u8]) -> String {
    format!("b'{}'", b.escape_ascii())
}

/// The port from `--port N`, 10000 by default.
fn port() -> u16 {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == "--port")
        .and_then(|i| args.get(i + 1))
        .and_then(|p| p.parse().ok())
        .unwrap_or(10000)
}

fn echo(reader: StreamReader, writer: StreamWriter) -> impl Future<Output = ()> {
    let log = match writer.peer_addr().ok().and_then(|a| a.as_inet()) {
        Some(a) => format!("echo_{}_{}", a.ip(), a.port()),
        None => "echo_?".to_string(),
    };
    eprintln!("{log}: connection accepted");
    // The chunks the client sends, until end of stream (or an error).
    let chunks = stream::unfold(reader, |mut reader| async move {
        match reader.read(128).await {
            Ok(data) if !data.is_empty() => Some((data, reader)),
            _ => None,
        }
    });
    let writer = Arc::new(writer);
    let log2 = log.clone();
    let writer2 = writer.clone();
    let echoed = chunks
        .then(move |data| {
            let (log, writer) = (log2.clone(), writer2.clone());
            async move {
                eprintln!("{log}: received {}", bytes_repr(&data));
                writer.write(&data);
                let drained = writer.drain().await;
                eprintln!("{log}: sent {}", bytes_repr(&data));
                drained
            }
        })
        .take_while(|drained| drained.is_ok())
        .count();
    async move {
        echoed.await;
        eprintln!("{log}: closing");
        writer.close();
    }
}

fn main() -> std::io::Result<()> {
    let event_loop = tulip::Runner::new();
    let (server, mut interrupt) = event_loop.run(async {
        let interrupt = Signals::new([SIGINT])?;
        let server = start_server(echo, ("localhost", port())).await?;
        std::io::Result::Ok((server, interrupt))
    })?;
    let bound = server
        .local_addrs()
        .first()
        .and_then(|a| a.as_inet())
        .map_or(0, |a| a.port());
    eprintln!("main: starting up on localhost port {bound}");
    event_loop.run(interrupt.recv());
    eprintln!("main: closing server");
    server.close();
    event_loop.run(server.wait_closed());
    eprintln!("main: closing event loop");
    event_loop.close();
    Ok(())
}
