//! The echo server of PyMOTW-3's `asyncio_echo_server_protocol.py` with tulip's transports
//! and protocols. Run it, then `cargo run -p tulip --example echo_client_protocol`.
//!
//! Provenance: dhellmann/pymotw-3, source/asyncio/asyncio_echo_server_protocol.py (rewritten
//! in Rust; the structure and the log lines follow it).
//!
//! ```text
//! cargo run -p tulip --example echo_server_protocol [ADDR]   # default 127.0.0.1:10000
//! ```

use std::io;

use tulip::protocol::{LoopProtocolExt, Protocol, Transport};

const SERVER_ADDRESS: &str = "127.0.0.1:10000";

/// One connection's echo protocol.
struct EchoServer {
    transport: Option<Transport>,
    address: String,
}

impl Protocol for EchoServer {
    fn connection_made(&mut self, transport: Transport) {
        self.address = transport
            .peername()
            .map_or_else(|| "?".to_string(), ToString::to_string);
        println!("EchoServer_{}: connection accepted", self.address);
        self.transport = Some(transport);
    }

    fn data_received(&mut self, data: &[u8]) {
        println!(
            "EchoServer_{}: received {:?}",
            self.address,
            String::from_utf8_lossy(data)
        );
        if let Some(t) = &self.transport {
            t.write(data);
        }
        println!(
            "EchoServer_{}: sent {:?}",
            self.address,
            String::from_utf8_lossy(data)
        );
    }

    fn eof_received(&mut self) -> bool {
        println!("EchoServer_{}: received EOF", self.address);
        if let Some(t) = &self.transport {
            if t.can_write_eof() {
                let _ = t.write_eof();
            }
        }
        // Returning false closes the transport.
        false
    }

    fn connection_lost(&mut self, error: Option<io::Error>) {
        match error {
            Some(e) => println!("EchoServer_{}: error: {e}", self.address),
            None => println!("EchoServer_{}: closing", self.address),
        }
    }
}

#[tulip::main]
async fn main() -> io::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| SERVER_ADDRESS.to_string());
    let event_loop = tulip::EventLoop::current();
    let server = event_loop
        .create_server(
            || EchoServer {
                transport: None,
                address: String::new(),
            },
            addr.as_str(),
        )
        .await?;
    println!("starting up on {}", server.local_addrs()[0]);
    // Until Ctrl-C, as PyMOTW's loop.run_forever().
    server.serve_forever().await
}
