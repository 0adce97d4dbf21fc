//! The echo client of PyMOTW-3's `asyncio_echo_client_protocol.py` with tulip's transports
//! and protocols: sends its messages, then end of stream, and prints what comes back until
//! the server closes. Start `cargo run -p tulip --example echo_server_protocol` first.
//!
//! Provenance: dhellmann/pymotw-3, source/asyncio/asyncio_echo_client_protocol.py (rewritten
//! in Rust; the structure and the log lines follow it).
//!
//! ```text
//! cargo run -p tulip --example echo_client_protocol [ADDR]   # default 127.0.0.1:10000
//! ```

use std::io;

use tulip::protocol::{LoopProtocolExt, Protocol, Transport};

const MESSAGES: [&[u8]; 3] = [b"This is the message. ", b"It will be sent ", b"in parts."];
const SERVER_ADDRESS: &str = "127.0.0.1:10000";

struct EchoClient {
    messages: &'static [&'static [u8]],
    /// Told when the connection is lost (PyMOTW's `future.set_result(True)`).
    done: Option<tulip::channel::oneshot::Sender<()>>,
}

impl Protocol for EchoClient {
    fn connection_made(&mut self, transport: Transport) {
        if let Some(addr) = transport.peername() {
            println!("connecting to {addr}");
        }
        // This could be transport.writelines() except that would make it harder to show each
        // part of the message being sent.
        for msg in self.messages {
            transport.write(msg);
            println!("sending {:?}", String::from_utf8_lossy(msg));
        }
        if transport.can_write_eof() {
            let _ = transport.write_eof();
        }
    }

    fn data_received(&mut self, data: &[u8]) {
        println!("received {:?}", String::from_utf8_lossy(data));
    }

    fn eof_received(&mut self) -> bool {
        println!("received EOF");
        false
    }

    fn connection_lost(&mut self, error: Option<io::Error>) {
        if let Some(e) = error {
            println!("connection lost: {e}");
        }
        println!("server closed connection");
        if let Some(done) = self.done.take() {
            let _ = done.send(());
        }
    }
}

#[tulip::main]
async fn main() -> io::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| SERVER_ADDRESS.to_string());
    let (tx, rx) = tulip::channel::oneshot();
    let event_loop = tulip::EventLoop::current();
    event_loop
        .create_connection(
            move || EchoClient {
                messages: &MESSAGES,
                done: Some(tx),
            },
            addr.as_str(),
        )
        .await?;
    println!("waiting for client to complete");
    let _ = rx.await;
    Ok(())
}
