//! The TCP echo server of PyMOTW-3's `asyncio_echo_server_protocol.py` with tulip's
//! transports and protocols. Expected output: tests/data/pymotw/asyncio_echo_server_protocol.txt.
//!
//! Provenance: dhellmann/pymotw-3, source/asyncio/asyncio_echo_server_protocol.py (rewritten
//! in Rust; the structure and the log lines follow it).
//!
//! ```text
//! cargo run -p tulip --example pymotw_asyncio_echo_server_protocol [-- --port N]
//! cargo run -p tulip --example pymotw_asyncio_echo_client_protocol  # in another terminal
//! ```
//!
//! `create_server(EchoServer::default, addr)` is `loop.create_server(EchoServer, *addr)`: one
//! protocol object per connection, its callbacks run by the loop. The loop is driven as the
//! Python drives it: `run` to start the server, then run until Ctrl-C (SIGINT, asyncio's
//! `KeyboardInterrupt`), then close the server. Logging goes to stderr in the Python's format
//! (`name: message`). Difference: `--port N` picks another port than 10000 (0: any free one;
//! the log line names the one bound).

use std::io;

use tulip::protocol::{LoopProtocolExt, Protocol, Transport};
use tulip::signal::{Signals, SIGINT};

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

#[derive(Default)]
struct EchoServer {
    transport: Option<Transport>,
    /// The logger's name, `EchoServer_<host>_<port>` of the peer.
    log: String,
}

impl EchoServer {
    fn log(&self, msg: &str) {
        eprintln!("{}: {msg}", self.log);
    }
}

impl Protocol for EchoServer {
    fn connection_made(&mut self, transport: Transport) {
        self.log = match transport.peername().and_then(|a| a.as_inet()) {
            Some(a) => format!("EchoServer_{}_{}", a.ip(), a.port()),
            None => "EchoServer".to_string(),
        };
        self.log("connection accepted");
        self.transport = Some(transport);
    }

    fn data_received(&mut self, data: &[u8]) {
        self.log(&format!("received {}", bytes_repr(data)));
        if let Some(t) = &self.transport {
            t.write(data);
        }
        self.log(&format!("sent {}", bytes_repr(data)));
    }

    fn eof_received(&mut self) -> bool {
        self.log("received EOF");
        if let Some(t) = &self.transport {
            if t.can_write_eof() {
                if let Err(e) = t.write_eof() {
                    self.log(&format!("ERROR: {e}"));
                }
            }
        }
        // Python's `None`: the transport closes itself.
        false
    }

    fn connection_lost(&mut self, error: Option<io::Error>) {
        match error {
            Some(e) => self.log(&format!("ERROR: {e}")),
            None => self.log("closing"),
        }
    }
}

fn main() -> io::Result<()> {
    let event_loop = tulip::Runner::new();
    let handle = event_loop.handle();
    // Create the server and let the loop finish that before starting the real event loop.
    let (server, mut interrupt) = event_loop.run(async {
        // Ctrl-C is ours from here on: it ends the `run` below instead of the program.
        let interrupt = Signals::new([SIGINT])?;
        let server = handle
            .create_server(EchoServer::default, ("localhost", port()))
            .await?;
        io::Result::Ok((server, interrupt))
    })?;
    let bound = server
        .local_addrs()
        .first()
        .and_then(|a| a.as_inet())
        .map_or(0, |a| a.port());
    eprintln!("main: starting up on localhost port {bound}");
    // Enter the event loop permanently to handle all connections (run_forever, until
    // KeyboardInterrupt).
    event_loop.run(interrupt.recv());
    eprintln!("main: closing server");
    server.close();
    event_loop.run(server.wait_closed());
    eprintln!("main: closing event loop");
    event_loop.close();
    Ok(())
}
