//! Host names to addresses: PyMOTW-3's `asyncio_getaddrinfo.py` (dhellmann/pymotw-3,
//! `source/asyncio/`), in tulip. Expected output: tests/data/pymotw/asyncio_getaddrinfo.txt.
//!
//! ```text
//! cargo run -p tulip --example pymotw_asyncio_getaddrinfo [HOST...]
//! ```
//!
//! `tulip::net::getaddrinfo(host, port)` is `loop.getaddrinfo` for TCP: it runs the system
//! resolver off the loop. Difference: the Python looks up pymotw.com, doughellmann.com and
//! python.org; this port looks up `localhost` unless hosts are given on the command line, so
//! that it (and its test) needs no outside network. The service `https` is port 443.

async fn main_coro(targets: Vec<String>) -> std::io::Result<()> {
    for host in targets {
        let info = tulip::net::getaddrinfo(&host, 443).await?;
        let mut seen = Vec::new();
        for addr in info {
            // One line per address, as the Python asks for TCP only.
            if !seen.contains(&addr.ip()) {
                seen.push(addr.ip());
                println!("{host:20}: {}", addr.ip());
            }
        }
    }
    Ok(())
}

fn main() -> std::io::Result<()> {
    let mut targets: Vec<String> = std::env::args().skip(1).collect();
    if targets.is_empty() {
        targets.push("localhost".to_string());
    }
    tulip::run(main_coro(targets))
}
