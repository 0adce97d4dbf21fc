//! [`RawStream`]: the byte streams the streams layer drives.

use std::io;
use std::net::Shutdown;
#[cfg(unix)]
use std::os::fd::{AsFd, BorrowedFd};
use std::task::{Context, Poll};

use crate::addr::SockAddr;
use crate::stream_io;
use crate::TcpStream;
#[cfg(unix)]
use crate::UnixStream;

/// A byte stream that a [`StreamReader`](super::StreamReader) and
/// [`StreamWriter`](super::StreamWriter) pair can drive: a TCP or Unix stream socket here; a
/// pipe in the crates that add them. (TLS is not a `RawStream` of its own: a connection's
/// session runs over the connection's `RawStream`, so that `start_tls` can upgrade it in place.)
///
/// Every method takes `&self`: the reader and the writer use the stream at the same time,
/// from different tasks. A read of `Ok(0)` into a non-empty buffer is end of stream.
pub trait RawStream: Send + Sync + 'static {
    /// Reads into `buf` (registering `cx` to be woken when it may succeed).
    fn poll_read(&self, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>>;

    /// Writes from `buf` (registering `cx` to be woken when it may succeed).
    fn poll_write(&self, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>>;

    /// Writes from several buffers at once, in order (one system call where the stream can).
    /// The default writes the first non-empty buffer.
    fn poll_write_vectored(
        &self,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        match bufs.iter().find(|b| !b.is_empty()) {
            Some(b) => self.poll_write(cx, b),
            None => Poll::Ready(Ok(0)),
        }
    }

    /// Waits until the bytes the writes reported are out of the stream's own hands (on the
    /// io_uring backend, a TCP or Unix stream's send in flight; the default has nothing to
    /// wait for). The writer flushes before it shuts the write side down.
    fn poll_flush(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let _ = cx;
        Poll::Ready(Ok(()))
    }

    /// Shuts down one or both directions. `Write` sends end of stream to the peer; `Both`
    /// also makes pending and later reads see end of stream.
    ///
    /// # Errors
    ///
    /// The OS's error; "not connected" must count as done.
    fn shutdown(&self, how: Shutdown) -> io::Result<()>;

    /// Whether [`shutdown`](Self::shutdown)`(Write)` is supported (asyncio's
    /// `can_write_eof`).
    fn can_write_eof(&self) -> bool {
        true
    }

    /// The local address, when the stream has one.
    ///
    /// # Errors
    ///
    /// The OS's error, or `Unsupported`.
    fn local_addr(&self) -> io::Result<SockAddr> {
        Err(io::ErrorKind::Unsupported.into())
    }

    /// The peer's address, when the stream has one.
    ///
    /// # Errors
    ///
    /// The OS's error, or `Unsupported`.
    fn peer_addr(&self) -> io::Result<SockAddr> {
        Err(io::ErrorKind::Unsupported.into())
    }

    /// The socket, for zero-copy `sendfile` (only for plain sockets; `None` elsewhere).
    /// Unix only, as `sendfile` is.
    #[cfg(unix)]
    fn socket_fd(&self) -> Option<BorrowedFd<'_>> {
        None
    }

    /// Sends up to `count` bytes of the file `file` from `*offset` straight from the kernel
    /// (`sendfile(2)`), advancing `*offset`. The default says `Unsupported`, and the caller
    /// falls back to reads and writes. Unix only.
    #[cfg(unix)]
    fn poll_sendfile(
        &self,
        cx: &mut Context<'_>,
        file: BorrowedFd<'_>,
        offset: &mut u64,
        count: usize,
    ) -> Poll<io::Result<usize>> {
        let _ = (cx, file, offset, count);
        Poll::Ready(Err(io::ErrorKind::Unsupported.into()))
    }

    /// Discards the connection at once (asyncio's `transport.abort()`): a TCP socket is
    /// reset where the platform allows it. The default shuts both directions down.
    fn abort(&self) {
        let _ = self.shutdown(Shutdown::Both);
    }
}

fn shutdown_ok(res: io::Result<()>) -> io::Result<()> {
    match res {
        Err(e) if e.kind() == io::ErrorKind::NotConnected => Ok(()),
        other => other,
    }
}

impl RawStream for TcpStream {
    fn poll_flush(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        stream_io::poll_flush(self.io(), cx)
    }

    #[cfg(unix)]
    fn poll_sendfile(
        &self,
        cx: &mut Context<'_>,
        file: BorrowedFd<'_>,
        offset: &mut u64,
        count: usize,
    ) -> Poll<io::Result<usize>> {
        crate::sendfile::poll_sendfile(self.io(), cx, file, offset, count)
    }

    fn poll_read(&self, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>> {
        stream_io::poll_read(self.io(), cx, buf)
    }

    fn poll_write(&self, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        stream_io::poll_write(self.io(), cx, buf)
    }

    fn poll_write_vectored(
        &self,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        stream_io::poll_write_vectored(self.io(), cx, bufs)
    }

    fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        shutdown_ok(TcpStream::shutdown(self, how))
    }

    fn local_addr(&self) -> io::Result<SockAddr> {
        TcpStream::local_addr(self).map(SockAddr::Inet)
    }

    fn peer_addr(&self) -> io::Result<SockAddr> {
        TcpStream::peer_addr(self).map(SockAddr::Inet)
    }

    #[cfg(unix)]
    fn socket_fd(&self) -> Option<BorrowedFd<'_>> {
        Some(self.as_fd())
    }

    fn abort(&self) {
        // Linger 0 makes the final close send RST instead of FIN; the shutdown wakes both
        // our own reader and the peer now, even while the reader still holds the socket.
        let _ = self.set_linger(Some(std::time::Duration::ZERO));
        let _ = TcpStream::shutdown(self, Shutdown::Both);
    }
}

#[cfg(unix)]
impl RawStream for UnixStream {
    fn poll_flush(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        stream_io::poll_flush(self.io(), cx)
    }

    fn poll_sendfile(
        &self,
        cx: &mut Context<'_>,
        file: BorrowedFd<'_>,
        offset: &mut u64,
        count: usize,
    ) -> Poll<io::Result<usize>> {
        crate::sendfile::poll_sendfile(self.io(), cx, file, offset, count)
    }

    fn poll_read(&self, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>> {
        stream_io::poll_read(self.io(), cx, buf)
    }

    fn poll_write(&self, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        stream_io::poll_write(self.io(), cx, buf)
    }

    fn poll_write_vectored(
        &self,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        stream_io::poll_write_vectored(self.io(), cx, bufs)
    }

    fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        shutdown_ok(UnixStream::shutdown(self, how))
    }

    fn local_addr(&self) -> io::Result<SockAddr> {
        UnixStream::local_addr(self).map(SockAddr::Unix)
    }

    fn peer_addr(&self) -> io::Result<SockAddr> {
        UnixStream::peer_addr(self).map(SockAddr::Unix)
    }

    fn socket_fd(&self) -> Option<BorrowedFd<'_>> {
        Some(self.as_fd())
    }
}
