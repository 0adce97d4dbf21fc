//! A TLS echo server: PyMOTW-3's `asyncio_echo_server_ssl.py` (dhellmann/pymotw-3,
//! `source/asyncio/`, the chapter's "SSL" page), in tulip. Expected output:
//! tests/data/pymotw/asyncio_echo_server_ssl.txt.
//!
//! ```text
//! cargo run -p tulip --features tls --example pymotw_asyncio_echo_server_ssl [-- [--port N] [CERT.pem KEY.pem]]
//! cargo run -p tulip --features tls --example pymotw_asyncio_echo_client_ssl  # in another terminal
//! ```
//!
//! `ServerOptions::new().ssl(config).start_server(…)` is `start_server(…, ssl=context)`. Each
//! connection's data is echoed back, 128 bytes at a time, until the message ends: at a NUL
//! byte (what the Python client sends, as its TLS could not half-close) or at end of stream
//! (what the tulip client sends: `write_eof` over TLS is `close_notify`). Differences: without
//! a certificate and key on the command line the server makes a self-signed one for
//! `localhost` and writes it where the client looks for it (`$TMPDIR/tulip-tls-echo.crt`)
//! instead of shipping `pymotw.crt`; `--port N` picks another port than 10000 (0: any free
//! one). Logging goes to stderr in the Python's format, and Ctrl-C stops the server as
//! `KeyboardInterrupt` does the Python's.

use std::sync::Arc;

use tulip::signal::{Signals, SIGINT};
use tulip::streams::{ServerOptions, StreamReader, StreamWriter};
use tulip::tls::rustls;
use tulip::tls::rustls::pki_types::pem::PemObject;
use tulip::tls::rustls::pki_types::{CertificateDer, PrivateKeyDer};

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

async fn echo(mut reader: StreamReader, writer: StreamWriter) -> std::io::Result<()> {
    let address = writer.peer_addr()?;
    let log = match address.as_inet() {
        Some(a) => format!("echo_{}_{}", a.ip(), a.port()),
        None => format!("echo_{address}"),
    };
    eprintln!("{log}: connection accepted");
    loop {
        let mut data = reader.read(128).await?;
        let terminate = data.last() == Some(&0);
        while data.last() == Some(&0) {
            data.pop();
        }
        if !data.is_empty() {
            eprintln!("{log}: received {}", bytes_repr(&data));
            writer.write(&data);
            writer.drain().await?;
            eprintln!("{log}: sent {}", bytes_repr(&data));
        }
        if data.is_empty() || terminate {
            eprintln!("{log}: message terminated, closing connection");
            writer.close();
            return writer.wait_closed().await;
        }
    }
}

/// The certificate chain and key: from the files named on the command line, or made now.
fn certificate() -> Result<(Vec<CertificateDer<'static>>, PrivateKeyDer<'static>), String> {
    let (_, args) = arguments();
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

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let (chain, key) = certificate()?;
    let config = rustls::ServerConfig::builder()
        .with_no_client_auth()
        .with_single_cert(chain, key)?;
    let event_loop = tulip::Runner::new();
    let (server, mut interrupt) = event_loop.run(async {
        // Ctrl-C is ours from here on: it ends `run_forever` below instead of the program.
        let interrupt = Signals::new([SIGINT])?;
        let handler = |reader, writer| async move {
            if let Err(e) = echo(reader, writer).await {
                eprintln!("echo: {e}");
            }
        };
        let server = ServerOptions::new()
            .ssl(Arc::new(config))
            .start_server(handler, ("localhost", arguments().0))
            .await?;
        std::io::Result::Ok((server, interrupt))
    })?;
    let bound = server
        .local_addrs()
        .first()
        .and_then(|a| a.as_inet())
        .map_or(0, |a| a.port());
    eprintln!("main: starting up on localhost port {bound}");
    // run_forever, until KeyboardInterrupt.
    event_loop.run(interrupt.recv());
    eprintln!("main: closing server");
    server.close();
    event_loop.run(server.wait_closed());
    eprintln!("main: closing event loop");
    event_loop.close();
    Ok(())
}
