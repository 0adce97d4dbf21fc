//! A TLS echo client: PyMOTW-3's `asyncio_echo_client_ssl.py` (dhellmann/pymotw-3,
//! `source/asyncio/`, the chapter's "SSL" page), in tulip. Expected output:
//! tests/data/pymotw/asyncio_echo_client_ssl.txt.
//!
//! ```text
//! cargo run -p tulip --features tls --example pymotw_asyncio_echo_client_ssl [-- [--port N] [CERT.pem]]
//! ```
//!
//! Sends a message in three parts to `pymotw_asyncio_echo_server_ssl`, then reads the echo
//! until the server closes. `ConnectionOptions::new().ssl(config).open_connection(…)` is
//! `open_connection(…, ssl=context)`. Differences: the client trusts the certificate the
//! server wrote (`$TMPDIR/tulip-tls-echo.crt`, or the one named on the command line) and
//! checks the host name, where the Python turns the check off for `pymotw.crt`; and where the
//! Python ends its message with a NUL byte ("SSL does not support EOF"), this client
//! half-closes with `write_eof`, which over TLS sends `close_notify`. `--port N` picks another
//! port than 10000.

use std::sync::Arc;

use tulip::streams::ConnectionOptions;
use tulip::tls::rustls;
use tulip::tls::rustls::pki_types::pem::PemObject;
use tulip::tls::rustls::pki_types::CertificateDer;

const MESSAGES: [&[u8]; 3] = [b"This is the message. ", b"It will be sent ", b"in parts."];
/// Bytes shown as Python shows them (`b'…'`).
fn bytes_repr(b: &[u8]) -> String {
    format!("b'{}'", b.escape_ascii())
}

/// The port from `--port N` (10000 by default) and the other arguments.
fn arguments() -> (u16, Vec<String>) {
    let mut port = 10000;
    let mut rest = Vec::new();
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        if a == "--port" {
            port = args.next().and_then(|p| p.parse().ok()).unwrap_or(port);
        } else {
            rest.push(a);
        }
    }
    (port, rest)
}

async fn echo_client() -> Result<(), Box<dyn std::error::Error>> {
    let (port, args) = arguments();
    let server_address = ("localhost", port);
    let cert = args.first().map_or_else(
        || std::env::temp_dir().join("tulip-tls-echo.crt"),
        std::path::PathBuf::from,
    );
    let mut roots = rustls::RootCertStore::empty();
    for c in CertificateDer::pem_file_iter(&cert).map_err(|e| format!("{}: {e}", cert.display()))? {
        roots.add(c?)?;
    }
    let config = rustls::ClientConfig::builder()
        .with_root_certificates(roots)
        .with_no_client_auth();

    eprintln!(
        "echo_client: connecting to {} port {}",
        server_address.0, server_address.1
    );
    let (mut reader, writer) = ConnectionOptions::new()
        .ssl(Arc::new(config))
        .open_connection(server_address)
        .await?;

    // This could be writelines, except that would make it harder to show each part.
    for msg in MESSAGES {
        writer.write(msg);
        eprintln!("echo_client: sending {}", bytes_repr(msg));
    }
    writer.drain().await?;
    writer.write_eof()?;

    eprintln!("echo_client: waiting for response");
    loop {
        let data = reader.read(128).await?;
        if data.is_empty() {
            eprintln!("echo_client: closing");
            writer.close();
            writer.wait_closed().await?;
            return Ok(());
        }
        eprintln!("echo_client: received {}", bytes_repr(&data));
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let event_loop = tulip::Runner::new();
    let result = event_loop.run(echo_client());
    eprintln!("main: closing event loop");
    event_loop.close();
    result
}
