//! The echo client of PyMOTW-3's `asyncio_echo_client_protocol.py` with tulip's transports
//! and protocols: it sends the message in parts, then end of stream, and logs what comes back
//! until the server closes. Expected output: tests/data/pymotw/asyncio_echo_client_protocol.txt.
//!
//! Provenance: dhellmann/pymotw-3, source/asyncio/asyncio_echo_client_protocol.py, the version
//! the chapter (io_protocol.rst) shows and records (one client that signals a future when it
//! is done); rewritten in Rust, the structure and the log lines follow it.
//!
//! ```text
//! cargo run -p tulip --example pymotw_asyncio_echo_server_protocol   # first, in another terminal
//! cargo run -p tulip --example pymotw_asyncio_echo_client_protocol [-- --port N]
//! ```
//!
//! The Python passes its protocol a `Future` through `functools.partial`; here the factory is
//! a closure and the future a oneshot channel, whose sender the protocol takes on its first
//! "done". Like the Python, the loop runs twice: once to connect, once until the client is
//! done. Logging goes to stderr in the Python's format. Difference: `--port N` picks another
//! port than 10000.

use std::io;

use tulip::channel::oneshot;
use tulip::protocol::{LoopProtocolExt, Protocol, Transport};

const MESSAGES: [&[u8]; 3] = [b"This is the message. ", b"It will be sent ", b"in parts."];

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

/// The `logging.getLogger('EchoClient')` lines.
fn log(msg: &str) {
    eprintln!("EchoClient: {msg}");
}

struct EchoClient {
    messages: &'static [&'static [u8]],
    /// Set once the client is done (the Python's future `f`).
    done: Option<oneshot::Sender<bool>>,
    transport: Option<Transport>,
}

impl EchoClient {
    /// `if not self.f.done(): self.f.set_result(True)`.
    fn set_done(&mut self) {
        if let Some(done) = self.done.take() {
            let _ = done.send(true);
        }
    }
}

impl Protocol for EchoClient {
    fn connection_made(&mut self, transport: Transport) {
        if let Some(a) = transport.peername().and_then(|a| a.as_inet()) {
            log(&format!("connecting to {} port {}", a.ip(), a.port()));
        }
        // This could be transport.writelines() except that would make it harder to show each
        // part of the message being sent.
        for msg in self.messages {
            transport.write(msg);
            log(&format!("sending {}", bytes_repr(msg)));
        }
        if transport.can_write_eof() {
            if let Err(e) = transport.write_eof() {
                log(&format!("ERROR: {e}"));
            }
        }
        self.transport = Some(transport);
    }

    fn data_received(&mut self, data: &[u8]) {
        log(&format!("received {}", bytes_repr(data)));
    }

    fn eof_received(&mut self) -> bool {
        log("received EOF");
        if let Some(t) = &self.transport {
            t.close();
        }
        self.set_done();
        false
    }

    fn connection_lost(&mut self, _error: Option<io::Error>) {
        log("server closed connection");
        if let Some(t) = &self.transport {
            t.close();
        }
        self.set_done();
    }
}

fn main() -> io::Result<()> {
    let event_loop = tulip::Runner::new();
    let handle = event_loop.handle();
    let (done, client_completed) = oneshot();
    let client_factory = move || EchoClient {
        messages: &MESSAGES,
        done: Some(done),
        transport: None,
    };
    eprintln!("main: waiting for client to complete");
    // The Python's `try: … finally:`: the loop closes whatever happened.
    let result = (|| {
        let transport =
            event_loop.run(handle.create_connection(client_factory, ("localhost", port())))?;
        event_loop.run(async {
            // The future is set in eof_received or connection_lost, whichever comes first;
            // then wait for the transport's connection_lost (asyncio has called it by the time
            // run_until_complete returns: it was scheduled first).
            let _ = client_completed.await;
            transport.wait_closed().await;
        });
        io::Result::Ok(())
    })();
    eprintln!("main: closing event loop");
    event_loop.close();
    result
}
