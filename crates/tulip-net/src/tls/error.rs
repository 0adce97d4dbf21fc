//! [`TlsError`]: why a TLS handshake, session or shutdown failed.

use std::fmt;
use std::io;
use std::time::Duration;

/// Why TLS failed, carried inside the `io::Error` that the failing call returns (find it with
/// [`TlsError::from_io`]). asyncio raises `ssl.SSLError`, `ssl.SSLCertVerificationError`,
/// `ConnectionResetError` or `TimeoutError` in the same places.
///
/// The `io::ErrorKind` of the outer error is `TimedOut` for the two timeouts,
/// `UnexpectedEof` for [`HandshakeEof`](Self::HandshakeEof), `InvalidInput` for
/// [`AlreadyTls`](Self::AlreadyTls) and `InvalidData` for the rest.
///
/// # Examples
///
/// ```
/// use std::io;
/// use std::time::Duration;
/// use tulip_net::tls::TlsError;
///
/// let e: io::Error = TlsError::HandshakeTimeout(Duration::from_secs(60)).into();
/// assert_eq!(e.kind(), io::ErrorKind::TimedOut);
/// assert!(matches!(TlsError::from_io(&e), Some(TlsError::HandshakeTimeout(_))));
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum TlsError {
    /// The handshake did not complete within the handshake timeout (asyncio's
    /// `ssl_handshake_timeout`, 60 s by default); the connection was closed.
    HandshakeTimeout(Duration),
    /// Closing did not complete within the shutdown timeout (asyncio's `ssl_shutdown_timeout`,
    /// 30 s by default): what was buffered and the `close_notify` could not be sent, and the
    /// connection was aborted.
    ShutdownTimeout(Duration),
    /// The peer closed the connection in the middle of the handshake.
    HandshakeEof,
    /// The peer's certificate was refused: untrusted, expired, for another name, or missing
    /// where one is required.
    BadCertificate(rustls::Error),
    /// What the peer sent is not TLS: a peer speaking plain TCP, or garbage.
    NotTls(rustls::Error),
    /// The peer ended the session with a fatal alert (it refused our certificate, say, or
    /// required one we did not send).
    AlertReceived(rustls::AlertDescription),
    /// Any other violation of the TLS protocol, by either side.
    Protocol(rustls::Error),
    /// The connection already speaks TLS (`start_tls` twice), or cannot be upgraded any more
    /// (it is closing, or its write side was shut).
    AlreadyTls,
}

impl TlsError {
    /// Sorts a rustls error into the named cases.
    pub fn from_rustls(e: rustls::Error) -> TlsError {
        use rustls::Error as E;
        match e {
            E::InvalidCertificate(_) | E::NoCertificatesPresented => TlsError::BadCertificate(e),
            E::InvalidMessage(_) | E::InappropriateMessage { .. } => TlsError::NotTls(e),
            E::AlertReceived(a) => TlsError::AlertReceived(a),
            other => TlsError::Protocol(other),
        }
    }

    /// The `TlsError` inside an `io::Error`, if there is one.
    pub fn from_io(e: &io::Error) -> Option<&TlsError> {
        e.get_ref()
            .and_then(|inner| inner.downcast_ref::<TlsError>())
    }

    /// The `io::ErrorKind` an `io::Error` carrying this error has.
    pub fn kind(&self) -> io::ErrorKind {
        match self {
            TlsError::HandshakeTimeout(_) | TlsError::ShutdownTimeout(_) => io::ErrorKind::TimedOut,
            TlsError::HandshakeEof => io::ErrorKind::UnexpectedEof,
            TlsError::AlreadyTls => io::ErrorKind::InvalidInput,
            _ => io::ErrorKind::InvalidData,
        }
    }

    /// Whether the peer's certificate was refused, by us ([`BadCertificate`]) or, judging by
    /// its alert, by the peer.
    ///
    /// [`BadCertificate`]: Self::BadCertificate
    pub fn is_certificate_error(&self) -> bool {
        use rustls::AlertDescription as A;
        match self {
            TlsError::BadCertificate(_) => true,
            TlsError::AlertReceived(a) => matches!(
                a,
                A::BadCertificate
                    | A::UnsupportedCertificate
                    | A::CertificateRevoked
                    | A::CertificateExpired
                    | A::CertificateUnknown
                    | A::UnknownCA
                    | A::CertificateRequired
                    | A::AccessDenied
            ),
            _ => false,
        }
    }
}

impl fmt::Display for TlsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TlsError::HandshakeTimeout(d) => write!(
                f,
                "the TLS handshake did not complete within {d:?} (ssl_handshake_timeout)"
            ),
            TlsError::ShutdownTimeout(d) => write!(
                f,
                "the TLS shutdown did not complete within {d:?} (ssl_shutdown_timeout)"
            ),
            TlsError::HandshakeEof => {
                f.write_str("the peer closed the connection during the TLS handshake")
            }
            TlsError::BadCertificate(e) => write!(f, "TLS certificate refused: {e}"),
            TlsError::NotTls(e) => write!(f, "the peer does not speak TLS: {e}"),
            TlsError::AlertReceived(a) => write!(f, "the TLS peer sent a fatal alert: {a:?}"),
            TlsError::Protocol(e) => write!(f, "TLS protocol error: {e}"),
            TlsError::AlreadyTls => f.write_str(
                "the connection already speaks TLS, or can no longer be upgraded (closing, or \
                 its write side is shut)",
            ),
        }
    }
}

impl std::error::Error for TlsError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            TlsError::BadCertificate(e) | TlsError::NotTls(e) | TlsError::Protocol(e) => Some(e),
            _ => None,
        }
    }
}

impl From<TlsError> for io::Error {
    fn from(e: TlsError) -> io::Error {
        io::Error::new(e.kind(), e)
    }
}

impl From<rustls::Error> for TlsError {
    fn from(e: rustls::Error) -> TlsError {
        TlsError::from_rustls(e)
    }
}

/// Turns an error from rustls or futures-rustls (a rustls error inside `InvalidData`, or the
/// transport's own) into ours where it is a TLS matter; `handshaking` makes an end of stream a
/// [`TlsError::HandshakeEof`].
pub(crate) fn classify(e: io::Error, handshaking: bool) -> io::Error {
    if TlsError::from_io(&e).is_some() {
        return e;
    }
    if let Some(r) = e
        .get_ref()
        .and_then(|inner| inner.downcast_ref::<rustls::Error>())
    {
        return TlsError::from_rustls(r.clone()).into();
    }
    if handshaking
        && matches!(
            e.kind(),
            io::ErrorKind::UnexpectedEof
                | io::ErrorKind::ConnectionReset
                | io::ErrorKind::BrokenPipe
        )
    {
        return TlsError::HandshakeEof.into();
    }
    e
}
