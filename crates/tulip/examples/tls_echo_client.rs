//! The TLS echo client of PyMOTW-3's asyncio chapter ("SSL", ported from
//! dhellmann/pymotw-3 `source/asyncio/asyncio_echo_client_ssl.py`): sends a message in three
//! parts to `tls_echo_server`, then reads the echo until the server closes.
//!
//! ```text
//! cargo run -p tulip --features tls --example tls_echo_client [CERT.pem]  # default: the server's own
//! ```
//!
//! Differences from the Python: the client trusts the certificate the server wrote (or the
//! one named on the command line) and checks the host name; and where the Python closes its
//! writer to say it is done ("SSL does not support sending EOF"), this client half-closes
//! with `write_eof`, which over TLS sends `close_notify`, and reads the echo to the end.

use std::sync::Arc;

use tulip::streams::ConnectionOptions;
use tulip::tls::rustls;
use tulip::tls::rustls::pki_types::pem::PemObject;
use tulip::tls::rustls::pki_types::CertificateDer;

const MESSAGES: [&[u8]; 3] = [b"This is the message. ", b"It will be sent ", b"in parts."];
const SERVER_ADDRESS: (&str, u16) = ("localhost", 10000);

#[tulip::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let cert = std::env::args().nth(1).map_or_else(
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
        SERVER_ADDRESS.0, SERVER_ADDRESS.1
    );
    let (mut reader, writer) = ConnectionOptions::new()
        .ssl(Arc::new(config))
        .open_connection(SERVER_ADDRESS)
        .await?;

    // This could be writelines, except that would make it harder to show each part.
    for msg in MESSAGES {
        writer.write(msg);
        eprintln!("echo_client: sending {:?}", String::from_utf8_lossy(msg));
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
        eprintln!("echo_client: received {:?}", String::from_utf8_lossy(&data));
    }
}
