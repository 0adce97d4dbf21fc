//! A TCP echo server on streams: PyMOTW-3's `asyncio_echo_server_coroutine.py`
//! (dhellmann/pymotw-3, `source/asyncio/`), in tulip. Expected output:
//! tests/data/pymotw/asyncio_echo_server_coroutine.txt.
//!
//! ```text
//! cargo run -p tulip --example pymotw_asyncio_echo_server_coroutine [-- --port N]
//! cargo run -p tulip --example pymotw_asyncio_echo_client_coroutine  # in another terminal
//! ```
//!
//! `tulip::streams::start_server(handler, addr)` is `asyncio.start_server`: one task per
//! connection, running `echo` with its reader and writer. The loop is driven as the Python
//! drives it: `run` to start the server, then run until Ctrl-C (SIGINT, asyncio's
//! `KeyboardInterrupt`), then close the server. Logging goes to stderr in the Python's format
//! (`name: message`). Difference: `--port N` picks another port than 10000 (0: any free one;
//! the log line names the one bound).

use tulip::signal::{Signals, SIGINT};
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

async fn echo(mut reader: StreamReader, writer: StreamWriter) -> std::io::Result<()> {
    let address = writer.peer_addr()?;
    let log = match address.as_inet() {
        Some(a) => format!("echo_{}_{}", a.ip(), a.port()),
        None => format!("echo_{address}"),
    };
    eprintln!("{log}: connection accepted");
    loop {
        let data = reader.read(128).await?;
        if data.is_empty() {
            eprintln!("{log}: closing");
            writer.close();
            return Ok(());
        }
        eprintln!("{log}: received {}", bytes_repr(&data));
        writer.write(&data);
        writer.drain().await?;
        eprintln!("{log}: sent {}", bytes_repr(&data));
    }
}

fn main() -> std::io::Result<()> {
    let event_loop = tulip::Runner::new();
    let (server, mut interrupt) = event_loop.run(async {
        // Ctrl-C is ours from here on: it ends `run_forever` below instead of the program.
        let interrupt = Signals::new([SIGINT])?;
        let handler = |reader, writer| async move {
            if let Err(e) = echo(reader, writer).await {
                eprintln!("echo: {e}");
            }
        };
        let server = start_server(handler, ("localhost", port())).await?;
        std::io::Result::Ok((server, interrupt))
    })?;
    let bound = server
        .local_addrs()
        .first()
        .and_then(|a| a.as_inet())
        .map_or(0, |a| a.port());
    eprintln!("main: starting up on localhost port {bound}");
    // run_forever, until KeyboardInterrupt.
    event_loop.run(interrupt.recv());
    eprintln!("main: closing server");
    server.close();
    event_loop.run(server.wait_closed());
    eprintln!("main: closing event loop");
    event_loop.close();
    Ok(())
}
