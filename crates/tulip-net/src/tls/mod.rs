//! TLS on rustls (feature `tls`): asyncio's `ssl=`, `server_hostname=`,
//! `ssl_handshake_timeout=`, `ssl_shutdown_timeout=` and `start_tls`.
//!
//! | asyncio | tulip |
//! |---|---|
//! | `open_connection(host, port, ssl=ctx, server_hostname=…)` | [`ConnectionOptions::ssl`](crate::streams::ConnectionOptions::ssl), [`server_hostname`](crate::streams::ConnectionOptions::server_hostname) |
//! | `start_server(cb, host, port, ssl=ctx)` | [`ServerOptions::ssl`](crate::streams::ServerOptions::ssl) |
//! | `ssl_handshake_timeout` (60 s), `ssl_shutdown_timeout` (30 s) | the same names on both option types; [`TlsOptions`] |
//! | `await writer.start_tls(ctx, server_hostname=…)` | [`StreamWriter::start_tls`](crate::streams::StreamWriter::start_tls) |
//! | `get_extra_info("ssl_object" / "peercert" / "cipher")` | [`StreamWriter::tls_info`](crate::streams::StreamWriter::tls_info), [`peer_certificate`](crate::streams::StreamWriter::peer_certificate), [`cipher`](crate::streams::StreamWriter::cipher) |
//! | `ssl.SSLContext` | [`rustls::ClientConfig`], [`rustls::ServerConfig`] (re-exported here) |
//! | `ssl.SSLError`, `SSLCertVerificationError` | [`TlsError`] inside the `io::Error` |
//! | TLS over a socket of your own | [`connect`], [`accept`], [`TcpStream::start_tls`](crate::TcpStream::start_tls) → [`TlsStream`] |
//!
//! The crypto provider is *ring*: it builds with a C compiler alone, where aws-lc-rs also
//! wants CMake (and NASM on some targets). Configurations are rustls's own, so ALPN
//! (`alpn_protocols`), client certificates (`with_client_auth_cert`, and
//! `WebPkiClientVerifier` on the server), SNI-based certificate choice and session resumption
//! are set there.
//!
//! # Examples
//!
//! An echo over TLS with a certificate made on the spot:
//!
//! ```
//! use std::sync::Arc;
//! use tulip_net::streams::{ConnectionOptions, ServerOptions, StreamReader, StreamWriter};
//! use tulip_net::tls::rustls;
//!
//! // A self-signed certificate for "localhost", trusted by the client.
//! let cert = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).unwrap();
//! let key = rustls::pki_types::PrivateKeyDer::try_from(cert.signing_key.serialize_der()).unwrap();
//! let server_config = rustls::ServerConfig::builder()
//!     .with_no_client_auth()
//!     .with_single_cert(vec![cert.cert.der().clone()], key)
//!     .unwrap();
//! let mut roots = rustls::RootCertStore::empty();
//! roots.add(cert.cert.der().clone()).unwrap();
//! let client_config = rustls::ClientConfig::builder()
//!     .with_root_certificates(roots)
//!     .with_no_client_auth();
//!
//! tulip_runtime::run(async move {
//!     let server = ServerOptions::new()
//!         .ssl(Arc::new(server_config))
//!         .start_server(
//!             |mut r: StreamReader, w: StreamWriter| async move {
//!                 let line = r.readline().await?;
//!                 w.write(&line);
//!                 w.close();
//!                 w.wait_closed().await
//!             },
//!             "127.0.0.1:0",
//!         )
//!         .await?;
//!     let port = server.local_addrs()[0].as_inet().unwrap().port();
//!
//!     let (mut r, w) = ConnectionOptions::new()
//!         .ssl(Arc::new(client_config))
//!         .open_connection(("localhost", port))
//!         .await?;
//!     w.write(b"hello over TLS\n");
//!     assert_eq!(r.readline().await.unwrap(), b"hello over TLS\n");
//!     assert!(w.tls_info().unwrap().protocol_version.is_some());
//!     std::io::Result::Ok(())
//! })?;
//! # std::io::Result::Ok(())
//! ```

mod error;
pub(crate) mod handshake;
pub(crate) mod session;

use std::io;
use std::sync::Arc;
use std::time::Duration;

use futures_io::{AsyncRead, AsyncWrite};
use rustls::pki_types::{CertificateDer, ServerName};

pub use error::TlsError;
pub use futures_rustls::TlsStream;
/// rustls, whose configurations ([`rustls::ClientConfig`], [`rustls::ServerConfig`]) and
/// types ([`rustls::pki_types`]) the TLS API takes.
pub use rustls;

/// asyncio's `SSL_HANDSHAKE_TIMEOUT`: 60 s (as nginx).
pub const DEFAULT_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(60);
/// asyncio's `SSL_SHUTDOWN_TIMEOUT`: 30 s.
pub const DEFAULT_SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(30);

#[derive(Clone)]
pub(crate) enum Side {
    Client {
        config: Arc<rustls::ClientConfig>,
        name: ServerName<'static>,
    },
    Server {
        config: Arc<rustls::ServerConfig>,
    },
}

/// One side of a TLS session and its timeouts: what [`connect`], [`accept`] and
/// [`StreamWriter::start_tls_with`](crate::streams::StreamWriter::start_tls_with) take.
///
/// # Examples
///
/// ```
/// use std::sync::Arc;
/// use std::time::Duration;
/// use tulip_net::tls::{rustls, TlsOptions};
///
/// let config = rustls::ClientConfig::builder()
///     .with_root_certificates(rustls::RootCertStore::empty())
///     .with_no_client_auth();
/// let opts = TlsOptions::client(Arc::new(config), "example.com")?
///     .handshake_timeout(Duration::from_secs(5));
/// assert_eq!(opts.server_hostname().as_deref(), Some("example.com"));
/// assert!(TlsOptions::client(Arc::new(rustls::ClientConfig::builder()
///     .with_root_certificates(rustls::RootCertStore::empty())
///     .with_no_client_auth()), "not a name!").is_err());
/// # std::io::Result::Ok(())
/// ```
#[derive(Clone)]
pub struct TlsOptions {
    pub(crate) side: Side,
    pub(crate) handshake_timeout: Duration,
    pub(crate) shutdown_timeout: Duration,
}

impl std::fmt::Debug for TlsOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let side = match &self.side {
            Side::Client { name, .. } => format!("client for {}", name.to_str()),
            Side::Server { .. } => "server".to_string(),
        };
        f.debug_struct("TlsOptions")
            .field("side", &side)
            .field("handshake_timeout", &self.handshake_timeout)
            .field("shutdown_timeout", &self.shutdown_timeout)
            .finish()
    }
}

/// Parses a server name (a DNS name or an IP address) for SNI and certificate checks.
pub(crate) fn server_name(name: &str) -> io::Result<ServerName<'static>> {
    ServerName::try_from(name.to_string()).map_err(|_| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("{name:?} is neither a DNS name nor an IP address (server_hostname)"),
        )
    })
}

impl TlsOptions {
    /// The client side: `config` (roots, client certificate, ALPN) and the name the server's
    /// certificate must carry, sent as SNI (asyncio's `server_hostname`).
    ///
    /// # Errors
    ///
    /// `InvalidInput` when `server_hostname` is neither a DNS name nor an IP address.
    pub fn client(
        config: Arc<rustls::ClientConfig>,
        server_hostname: &str,
    ) -> io::Result<TlsOptions> {
        Ok(TlsOptions::with_side(Side::Client {
            config,
            name: server_name(server_hostname)?,
        }))
    }

    /// The server side: `config` (certificates, client-certificate policy, ALPN).
    pub fn server(config: Arc<rustls::ServerConfig>) -> TlsOptions {
        TlsOptions::with_side(Side::Server { config })
    }

    pub(crate) fn with_side(side: Side) -> TlsOptions {
        TlsOptions {
            side,
            handshake_timeout: DEFAULT_HANDSHAKE_TIMEOUT,
            shutdown_timeout: DEFAULT_SHUTDOWN_TIMEOUT,
        }
    }

    /// How long the handshake may take (asyncio's `ssl_handshake_timeout`, default 60 s);
    /// past it the connection is closed and the call fails with
    /// [`TlsError::HandshakeTimeout`].
    pub fn handshake_timeout(mut self, timeout: Duration) -> TlsOptions {
        self.handshake_timeout = timeout;
        self
    }

    /// How long closing may take to send what is buffered and the `close_notify` (asyncio's
    /// `ssl_shutdown_timeout`, default 30 s); past it the connection is aborted and
    /// `wait_closed` fails with [`TlsError::ShutdownTimeout`].
    pub fn shutdown_timeout(mut self, timeout: Duration) -> TlsOptions {
        self.shutdown_timeout = timeout;
        self
    }

    /// Whether this is the server side.
    pub fn is_server(&self) -> bool {
        matches!(self.side, Side::Server { .. })
    }

    /// The client side's server name.
    pub fn server_hostname(&self) -> Option<String> {
        match &self.side {
            Side::Client { name, .. } => Some(name.to_str().into_owned()),
            Side::Server { .. } => None,
        }
    }
}

/// What asyncio's `get_extra_info("ssl_object")` tells of a TLS session, as a snapshot.
///
/// # Examples
///
/// See the [module docs](self).
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct TlsInfo {
    /// The negotiated protocol version (`TLSv1_3`, say).
    pub protocol_version: Option<rustls::ProtocolVersion>,
    /// The negotiated cipher suite.
    pub cipher_suite: Option<rustls::CipherSuite>,
    /// The ALPN protocol both sides agreed on.
    pub alpn_protocol: Option<Vec<u8>>,
    /// The peer's certificate chain, its own first (asyncio's `peercert` is the first one,
    /// decoded); `None` when it sent none.
    pub peer_certificates: Option<Vec<CertificateDer<'static>>>,
    /// On a server, the name the client asked for (SNI).
    pub server_name: Option<String>,
}

impl TlsInfo {
    /// Reads the session state of a rustls connection.
    pub fn from_connection(conn: &rustls::Connection) -> TlsInfo {
        let server_name = match conn {
            rustls::Connection::Server(s) => s.server_name().map(str::to_string),
            rustls::Connection::Client(_) => None,
        };
        TlsInfo {
            protocol_version: conn.protocol_version(),
            cipher_suite: conn.negotiated_cipher_suite().map(|s| s.suite()),
            alpn_protocol: conn.alpn_protocol().map(<[u8]>::to_vec),
            peer_certificates: conn
                .peer_certificates()
                .map(|c| c.iter().map(|c| c.clone().into_owned()).collect()),
            server_name,
        }
    }

    /// asyncio's `get_extra_info("cipher")`: the suite's name and the protocol version, as
    /// `("TLS13_AES_256_GCM_SHA384", "TLSv1.3")` (rustls's names).
    pub fn cipher(&self) -> Option<(String, String)> {
        let suite = self.cipher_suite?;
        let version = match self.protocol_version? {
            rustls::ProtocolVersion::TLSv1_3 => "TLSv1.3".to_string(),
            rustls::ProtocolVersion::TLSv1_2 => "TLSv1.2".to_string(),
            other => format!("{other:?}"),
        };
        Some((format!("{suite:?}"), version))
    }
}

/// Performs the client side of a handshake over any futures-io stream (a [`TcpStream`], a
/// [`UnixStream`], a proxy tunnel, another TLS stream) within the handshake timeout.
///
/// [`TcpStream`]: crate::TcpStream
/// [`UnixStream`]: crate::UnixStream
///
/// # Errors
///
/// `InvalidInput` for server-side options; otherwise the handshake's failure, a
/// [`TlsError`] inside the `io::Error` for TLS matters (the stream is dropped, closing it).
///
/// # Cancel safety
///
/// Not cancel safe: dropping it mid-handshake drops (closes) the stream.
///
/// # Examples
///
/// See [`TcpStream::start_tls`](crate::TcpStream::start_tls).
pub async fn connect<S>(stream: S, options: &TlsOptions) -> io::Result<TlsStream<S>>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let Side::Client { config, name } = &options.side else {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "tls::connect needs client options (TlsOptions::client)",
        ));
    };
    let connector = futures_rustls::TlsConnector::from(config.clone());
    let s = handshake::within(
        options.handshake_timeout,
        connector.connect(name.clone(), stream),
    )
    .await
    .map_err(|e| error::classify(e, true))?;
    Ok(TlsStream::Client(s))
}

/// Performs the server side of a handshake over any futures-io stream within the handshake
/// timeout.
///
/// # Errors
///
/// `InvalidInput` for client-side options; otherwise as [`connect`].
///
/// # Cancel safety
///
/// Not cancel safe: dropping it mid-handshake drops (closes) the stream.
///
/// # Examples
///
/// See [`TcpStream::start_tls`](crate::TcpStream::start_tls).
pub async fn accept<S>(stream: S, options: &TlsOptions) -> io::Result<TlsStream<S>>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let Side::Server { config } = &options.side else {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "tls::accept needs server options (TlsOptions::server)",
        ));
    };
    let acceptor = futures_rustls::TlsAcceptor::from(config.clone());
    let s = handshake::within(options.handshake_timeout, acceptor.accept(stream))
        .await
        .map_err(|e| error::classify(e, true))?;
    Ok(TlsStream::Server(s))
}
