//! The TCP echo server of PyMOTW-3's `asyncio_echo_server_protocol.py` with tulip's
//! transports and protocols. Run it, then `cargo run -p tulip --example echo_client_protocol`;
//! Ctrl-C stops it.
//!
//! Provenance: dhellmann/pymotw-3, source/asyncio/asyncio_echo_server_protocol.py (rewritten
//! in Rust; the structure and the log lines follow it).
//!
//! ```text
//! cargo run -p tulip --example echo_server_protocol [ADDR]   # default localhost:10000
//! ```

use std::io;
use std::time::Duration;

use tulip::protocol::{LoopProtocolExt, Protocol, Transport};

const SERVER_ADDRESS: &str = "localhost:10000";

/// PyMOTW's `logging` lines: `NAME: message` on stderr.
fn log(name: &str, msg: &str) {
    eprintln!("{name}: {msg}");
}

#[derive(Default)]
struct EchoServer {
    transport: Option<Transport>,
    name: String,
}

impl Protocol for EchoServer {
    fn connection_made(&mut self, transport: Transport) {
        self.name = match transport.peername().and_then(|a| a.as_inet()) {
            Some(a) => format!("EchoServer_{}_{}", a.ip(), a.port()),
            None => "EchoServer".to_string(),
        };
        log(&self.name, "connection accepted");
        self.transport = Some(transport);
    }

    fn data_received(&mut self, data: &[u8]) {
        log(
            &self.name,
            &format!("received {:?}", String::from_utf8_lossy(data)),
        );
        if let Some(t) = &self.transport {
            t.write(data);
        }
        log(
            &self.name,
            &format!("sent {:?}", String::from_utf8_lossy(data)),
        );
    }

    fn eof_received(&mut self) -> bool {
        log(&self.name, "received EOF");
        if let Some(t) = &self.transport {
            if t.can_write_eof() {
                let _ = t.write_eof();
            }
        }
        // Python's `None`: the transport closes itself.
        false
    }

    fn connection_lost(&mut self, error: Option<io::Error>) {
        match error {
            Some(e) => log(&self.name, &format!("ERROR: {e}")),
            None => log(&self.name, "closing"),
        }
    }
}

fn main() -> io::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| SERVER_ADDRESS.to_string());
    tulip::run(async move {
        let event_loop = tulip::EventLoop::current();
        // Create the server and let it finish binding before serving.
        let server = event_loop
            .create_server(EchoServer::default, addr.as_str())
            .await?;
        log(
            "main",
            &format!("starting up on {}", server.local_addrs()[0]),
        );
        // Serve until Ctrl-C (PyMOTW's run_forever and KeyboardInterrupt).
        let stop = tulip::signal::shutdown([tulip::signal::SIGINT, tulip::signal::SIGTERM])?;
        server.serve_until(stop, Duration::from_secs(1)).await?;
        log("main", "closing server");
        server.wait_closed().await;
        log("main", "closing event loop");
        io::Result::Ok(())
    })
}
