//! The TLS echo server of PyMOTW-3's asyncio chapter ("SSL", ported from
//! dhellmann/pymotw-3 `source/asyncio/asyncio_echo_server_ssl.py`): each connection's data is
//! echoed back, 128 bytes at a time, until the client's end of stream.
//!
//! ```text
//! cargo run -p tulip --features tls --example tls_echo_server [CERT.pem KEY.pem]  # localhost:10000
//! cargo run -p tulip --features tls --example tls_echo_client  # in another terminal
//! ```
//!
//! Differences from the Python: without a certificate and key on the command line, the server
//! makes a self-signed one for `localhost` and writes it where the client looks for it
//! (`$TMPDIR/tulip-tls-echo.crt`), instead of shipping `pymotw.crt`; the client then checks
//! the host name instead of turning the check off. The log lines go to stderr as the
//! Python's `logging` does.

use std::sync::Arc;

use tulip::streams::{ServerOptions, StreamReader, StreamWriter};
use tulip::tls::rustls;
use tulip::tls::rustls::pki_types::pem::PemObject;
use tulip::tls::rustls::pki_types::{CertificateDer, PrivateKeyDer};

const SERVER_ADDRESS: (&str, u16) = ("localhost", 10000);

async fn echo(mut reader: StreamReader, writer: StreamWriter) -> std::io::Result<()> {
    let address = writer.peer_addr()?;
    let log = format!("echo_{address}");
    eprintln!("{log}: connection accepted");
    loop {
        let data = reader.read(128).await?;
        if data.is_empty() {
            eprintln!("{log}: closing");
            writer.close();
            return writer.wait_closed().await;
        }
        eprintln!("{log}: received {:?}", String::from_utf8_lossy(&data));
        writer.write(&data);
        writer.drain().await?;
        eprintln!("{log}: sent {:?}", String::from_utf8_lossy(&data));
    }
}

/// The certificate chain and key: from the files named on the command line, or made now.
fn certificate() -> Result<(Vec<CertificateDer<'static>>, PrivateKeyDer<'static>), String> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if let [cert, key] = args.as_slice() {
        let chain = CertificateDer::pem_file_iter(cert)
            .and_then(|it| it.collect::<Result<Vec<_>, _>>())
            .map_err(|e| format!("{cert}: {e}"))?;
        let key = PrivateKeyDer::from_pem_file(key).map_err(|e| format!("{key}: {e}"))?;
        return Ok((chain, key));
    }
    let made = rcgen::generate_simple_self_signed(vec!["localhost".to_string()])
        .map_err(|e| e.to_string())?;
    let path = std::env::temp_dir().join("tulip-tls-echo.crt");
    std::fs::write(&path, made.cert.pem()).map_err(|e| format!("{}: {e}", path.display()))?;
    eprintln!(
        "main: a self-signed certificate for localhost is in {}",
        path.display()
    );
    let key = PrivateKeyDer::try_from(made.signing_key.serialize_der())?;
    Ok((vec![made.cert.der().clone()], key))
}

#[tulip::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let (chain, key) = certificate()?;
    let config = rustls::ServerConfig::builder()
        .with_no_client_auth()
        .with_single_cert(chain, key)?;
    let server = ServerOptions::new()
        .ssl(Arc::new(config))
        .start_server(echo, SERVER_ADDRESS)
        .await?;
    eprintln!(
        "main: starting up on {} port {}",
        SERVER_ADDRESS.0, SERVER_ADDRESS.1
    );
    server.serve_forever().await?;
    Ok(())
}
