//! The echo client of PyMOTW-3's `asyncio_echo_client_protocol.py` with tulip's transports
//! and protocols: two clients each send the message in parts, then end of stream, and print
//! what comes back until the server closes. Start
//! `cargo run -p tulip --example echo_server_protocol` first.
//!
//! Provenance: dhellmann/pymotw-3, source/asyncio/asyncio_echo_client_protocol.py (rewritten
//! in Rust; the structure and the log lines follow it).
//!
//! ```text
//! cargo run -p tulip --example echo_client_protocol [ADDR]   # default localhost:10000
//! ```

use std::io;

use tulip::protocol::{LoopProtocolExt, Protocol, Transport};

const MESSAGES: [&[u8]; 3] = [b"This is the message. ", b"It will be sent ", b"in parts."];
const SERVER_ADDRESS: &str = "localhost:10000";

struct EchoClient {
    messages: &'static [&'static [u8]],
    num: usize,
    transport: Option<Transport>,
}

impl EchoClient {
    fn report(&self, text: &str) {
        eprintln!("{}: {text}", self.num);
    }
}

impl Protocol for EchoClient {
    fn connection_made(&mut self, transport: Transport) {
        if let Some(a) = transport.peername().and_then(|a| a.as_inet()) {
            self.report(&format!("connecting to {} port {}", a.ip(), a.port()));
        }
        // This could be transport.writelines() except that would make it harder to show each
        // part of the message being sent.
        for msg in self.messages {
            transport.write(msg);
            self.report(&format!("sending {:?}", String::from_utf8_lossy(msg)));
        }
        if transport.can_write_eof() {
            let _ = transport.write_eof();
        }
        self.transport = Some(transport);
    }

    fn data_received(&mut self, data: &[u8]) {
        self.report(&format!("received {:?}", String::from_utf8_lossy(data)));
    }

    fn eof_received(&mut self) -> bool {
        self.report("received EOF");
        if let Some(t) = &self.transport {
            t.close();
        }
        false
    }

    fn connection_lost(&mut self, _error: Option<io::Error>) {
        self.report("server closed connection");
        if let Some(t) = &self.transport {
            t.close();
        }
    }
}

fn main() -> io::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| SERVER_ADDRESS.to_string());
    tulip::run(async move {
        let event_loop = tulip::EventLoop::current();
        // Build multiple clients.
        let mut connections = Vec::new();
        for num in 1..3 {
            let transport = event_loop
                .create_connection(
                    move || EchoClient {
                        messages: &MESSAGES,
                        num,
                        transport: None,
                    },
                    addr.as_str(),
                )
                .await?;
            connections.push(transport);
        }
        // Wait until the work for all of the clients is done.
        for t in &connections {
            t.wait_closed().await;
        }
        io::Result::Ok(())
    })
}
