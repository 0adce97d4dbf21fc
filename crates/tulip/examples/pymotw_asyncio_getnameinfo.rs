//! Addresses and ports to host and service names: PyMOTW-3's `asyncio_getnameinfo.py`
//! (dhellmann/pymotw-3, `source/asyncio/`), in tulip. Expected output:
//! tests/data/pymotw/asyncio_getnameinfo.txt.
//!
//! ```text
//! cargo run -p tulip --example pymotw_asyncio_getnameinfo
//! ```
//!
//! `tulip::net::getnameinfo(addr, flags)` is `loop.getnameinfo`. Difference: the Python asks
//! about two outside addresses; this port asks about loopback ones, so that it (and its test)
//! needs no outside network.

use std::net::SocketAddr;

use tulip::net::NameInfoFlags;

const TARGETS: [&str; 2] = ["127.0.0.1:443", "127.0.0.1:80"];

async fn main_coro() -> std::io::Result<()> {
    for target in TARGETS {
        let addr: SocketAddr = target.parse().map_err(std::io::Error::other)?;
        let (host, service) = tulip::net::getnameinfo(addr, NameInfoFlags::NONE).await?;
        println!("{:15}: {host} {service}", addr.ip().to_string());
    }
    Ok(())
}

fn main() -> std::io::Result<()> {
    tulip::run(main_coro())
}
