//! The handshake of a connection that is being upgraded (`start_tls`, and every TLS
//! connection of the streams layer, which starts plain): futures-rustls drives it over the
//! connection's own socket, after the bytes the reader had already read.

use std::future::Future;
use std::io;
use std::pin::{pin, Pin};
use std::task::{Context, Poll};
use std::time::Duration;

use futures_io::{AsyncRead, AsyncWrite};

use super::error::{classify, TlsError};
use super::{Side, TlsOptions};
use crate::streams::RawStream;

/// The transport as futures-rustls sees it during the handshake: first what the reader had
/// buffered, then the socket.
pub(crate) struct Handover<'a> {
    io: &'a dyn RawStream,
    early: Vec<u8>,
    pos: usize,
}

impl Handover<'_> {
    /// What arrived before TLS took over and the handshake did not read.
    fn rest(mut self) -> Vec<u8> {
        if self.pos == 0 {
            return self.early;
        }
        self.early.split_off(self.pos)
    }
}

impl AsyncRead for Handover<'_> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        if this.pos < this.early.len() {
            let n = buf.len().min(this.early.len() - this.pos);
            buf[..n].copy_from_slice(&this.early[this.pos..this.pos + n]);
            this.pos += n;
            return Poll::Ready(Ok(n));
        }
        this.io.poll_read(cx, buf)
    }
}

impl AsyncWrite for Handover<'_> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.io.poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        self.io.poll_write_vectored(cx, bufs)
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_close(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(self.io.shutdown(std::net::Shutdown::Write))
    }
}

/// Runs `fut` for at most `limit`: past it, [`TlsError::HandshakeTimeout`].
pub(crate) async fn within<T>(
    limit: Duration,
    fut: impl Future<Output = io::Result<T>>,
) -> io::Result<T> {
    let mut fut = pin!(fut);
    let mut timer = pin!(tulip_reactor::sleep(limit));
    std::future::poll_fn(|cx| {
        if let Poll::Ready(r) = fut.as_mut().poll(cx) {
            return Poll::Ready(r);
        }
        match timer.as_mut().poll(cx) {
            Poll::Ready(()) => Poll::Ready(Err(TlsError::HandshakeTimeout(limit).into())),
            Poll::Pending => Poll::Pending,
        }
    })
    .await
}

/// Performs the handshake over `io`, after `early` (bytes already read from it). Returns the
/// session's rustls connection and what was read past the handshake.
pub(crate) async fn handshake(
    io: &dyn RawStream,
    early: Vec<u8>,
    options: &TlsOptions,
) -> io::Result<(rustls::Connection, Vec<u8>)> {
    let stream = Handover { io, early, pos: 0 };
    let run = async {
        match &options.side {
            Side::Client { config, name } => {
                let connector = futures_rustls::TlsConnector::from(config.clone());
                let s = connector.connect(name.clone(), stream).await?;
                let (h, c) = s.into_inner();
                Ok((rustls::Connection::Client(c), h.rest()))
            }
            Side::Server { config } => {
                let acceptor = futures_rustls::TlsAcceptor::from(config.clone());
                let s = acceptor.accept(stream).await?;
                let (h, c) = s.into_inner();
                Ok((rustls::Connection::Server(c), h.rest()))
            }
        }
    };
    within(options.handshake_timeout, run)
        .await
        .map_err(|e| classify(e, true))
}
