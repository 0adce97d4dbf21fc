//! A server that stops gracefully on Ctrl-C or SIGTERM: `Server::serve_until` with
//! `tulip::signal::shutdown`.
//!
//! ```text
//! cargo run -p tulip --example graceful_server [ADDR] [DRAIN_MS]   # 127.0.0.1:8888, 5000
//! ```
//!
//! Each connection is one request of two lines: `begin` (the server answers `started`),
//! then `end` (it answers `done` and hangs up) — an upload, say, whose end the client decides.
//! On SIGINT or SIGTERM the server stops accepting at once, lets the requests in flight
//! finish for up to `DRAIN_MS`, aborts what is left, reports, and exits with status 0. A
//! second SIGTERM during the drain ends the process the default way; a second Ctrl-C
//! interrupts `run`. `tests/net_graceful.rs` runs this example.
//!
//! ```text
//! $ nc 127.0.0.1 8888          # in another terminal: type begin, then end
//! ```

use std::io::Write;
use std::time::Duration;

use tulip::signal::{SIGINT, SIGTERM};
use tulip::streams::{start_server, StreamReader, StreamWriter};

async fn handle(mut reader: StreamReader, writer: StreamWriter) -> std::io::Result<()> {
    for (expect, answer) in [(&b"begin\n"[..], &b"started\n"[..]), (b"end\n", b"done\n")] {
        let line = reader.readline().await?;
        if line != expect {
            return Ok(()); // anything else (or end of stream) ends the request
        }
        writer.write(answer);
        writer.drain().await?;
    }
    writer.close();
    writer.wait_closed().await
}

fn say(what: &str) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{what}");
    let _ = out.flush();
}

#[tulip::main]
async fn main() -> std::io::Result<()> {
    let mut args = std::env::args().skip(1);
    let addr = args.next().unwrap_or_else(|| "127.0.0.1:8888".into());
    let drain = Duration::from_millis(args.next().and_then(|a| a.parse().ok()).unwrap_or(5000));

    // Caught from here on: a SIGTERM sent as soon as we say we listen is not lost.
    let stop = tulip::signal::shutdown([SIGINT, SIGTERM])?;
    let server = start_server(handle, addr.as_str()).await?;
    say(&format!("listening on {}", server.local_addrs()[0]));

    let report = server
        .serve_until(
            async {
                let sig = stop.await;
                // serve_until closes right after this; closing here makes the message true
                // by the time anyone reads it.
                server.close();
                say(&format!(
                    "signal {sig}: no longer accepting; {} in flight, draining for up to {drain:?}",
                    server.active_connections()
                ));
            },
            drain,
        )
        .await?;
    say(&format!(
        "stopped: {} in flight, {} aborted",
        report.in_flight, report.aborted
    ));
    Ok(())
}
