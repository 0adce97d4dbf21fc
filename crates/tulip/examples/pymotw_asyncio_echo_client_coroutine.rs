//! A TCP echo client on streams: PyMOTW-3's `asyncio_echo_client_coroutine.py`
//! (dhellmann/pymotw-3, `source/asyncio/`), in tulip. Expected output:
//! tests/data/pymotw/asyncio_echo_client_coroutine.txt.
//!
//! ```text
//! cargo run -p tulip --example pymotw_asyncio_echo_client_coroutine [-- --port N]
//! ```
//!
//! `tulip::streams::open_connection` is `asyncio.open_connection`; the writer buffers each
//! part, `write_eof` half-closes once the buffer is out, and the reader reads the echo until
//! the server closes. Logging goes to stderr in the Python's format. Difference: `--port N`
//! picks another port than 10000.

use tulip::streams::open_connection;

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

async fn echo_client(address: (&str, u16), messages: &[&[u8]]) -> std::io::Result<()> {
    eprintln!(
        "echo_client: connecting to {} port {}",
        address.0, address.1
    );
    let (mut reader, writer) = open_connection(address).await?;
    // This could be writelines, except that would make it harder to show each part.
    for msg in messages {
        writer.write(msg);
        eprintln!("echo_client: sending {}", bytes_repr(msg));
    }
    if writer.can_write_eof() {
        writer.write_eof()?;
    }
    writer.drain().await?;
    eprintln!("echo_client: waiting for response");
    loop {
        let data = reader.read(128).await?;
        if data.is_empty() {
            eprintln!("echo_client: closing");
            writer.close();
            return Ok(());
        }
        eprintln!("echo_client: received {}", bytes_repr(&data));
    }
}

fn main() -> std::io::Result<()> {
    let event_loop = tulip::Runner::new();
    let result = event_loop.run(echo_client(("localhost", port()), &MESSAGES));
    eprintln!("main: closing event loop");
    event_loop.close();
    result
}
