//! The TCP echo client of asyncio's Streams documentation ("TCP echo client using streams").
//!
//! ```text
//! cargo run -p tulip --example echo_server &
//! cargo run -p tulip --example echo_client [ADDR] [MESSAGE]   # default 127.0.0.1:8888
//! ```

use tulip::streams::open_connection;

async fn tcp_echo_client(addr: &str, message: &str) -> std::io::Result<()> {
    let (mut reader, writer) = open_connection(addr).await?;

    println!("Send: {message:?}");
    writer.write(message.as_bytes());
    writer.drain().await?;

    let data = reader.read(100).await?;
    println!("Received: {:?}", String::from_utf8_lossy(&data));

    println!("Close the connection");
    writer.close();
    writer.wait_closed().await
}

#[tulip::main]
async fn main() -> std::io::Result<()> {
    let mut args = std::env::args().skip(1);
    let addr = args.next().unwrap_or_else(|| "127.0.0.1:8888".to_string());
    let message = args.next().unwrap_or_else(|| "Hello World!".to_string());
    tcp_echo_client(&addr, &message).await
}
