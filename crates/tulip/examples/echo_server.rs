//! The TCP echo server of asyncio's Streams documentation ("TCP echo server using streams").
//!
//! ```text
//! cargo run -p tulip --example echo_server [ADDR]     # default 127.0.0.1:8888
//! ```
//!
//! Differences from the Python: the handler returns `io::Result<()>` (an error is reported
//! to the loop's exception handler, as an exception escaping the callback is in asyncio). On
//! Ctrl-C, `run` cancels `serve_forever` (which closes the server), closes the loop and the
//! process ends by SIGINT, as asyncio's does; `graceful_server` lets requests finish first.

use tulip::streams::{start_server, StreamReader, StreamWriter};

async fn handle_echo(mut reader: StreamReader, writer: StreamWriter) -> std::io::Result<()> {
    let data = reader.read(100).await?;
    let message = String::from_utf8_lossy(&data);
    let addr = writer.peer_addr()?;
    println!("Received {message:?} from {addr}");

    println!("Send: {message:?}");
    writer.write(&data);
    writer.drain().await?;

    println!("Close the connection");
    writer.close();
    writer.wait_closed().await
}

#[tulip::main]
async fn main() -> std::io::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:8888".to_string());
    let server = start_server(handle_echo, addr.as_str()).await?;
    let addrs: Vec<String> = server.local_addrs().iter().map(|a| a.to_string()).collect();
    println!("Serving on {}", addrs.join(", "));
    server.serve_forever().await
}
