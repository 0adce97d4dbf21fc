//! Reads and writes on byte-stream sockets (TCP, Unix stream), shared by their types.
//!
//! Writes use `send`/`sendmsg` with `MSG_NOSIGNAL` where the platform has it, so a peer that
//! went away is an `EPIPE` error and never a `SIGPIPE` that kills the process (macOS sets
//! `SO_NOSIGPIPE` on the socket instead). Reads and writes go through the reactor's stream
//! operations: a short read or write marks the direction drained, so a busy socket costs one
//! system call per read and the idle one none (see `Async::poll_read_stream`).
//!
//! On Windows (TCP only) the calls go through `socket2`'s `send`/`recv`; Windows raises no
//! signal for a write to a closed connection.

use std::io::{self, IoSlice, IoSliceMut};
#[cfg(unix)]
use std::os::fd::AsFd;
#[cfg(windows)]
use std::os::windows::io::AsSocket;
use std::task::{Context, Poll};

#[cfg(unix)]
use rustix::net::{self as rnet, RecvFlags, SendFlags};
use tulip_reactor::{AsSource, Async};

/// `MSG_NOSIGNAL` where it exists.
#[cfg(unix)]
pub(crate) fn send_flags() -> SendFlags {
    #[cfg(not(any(target_os = "macos", target_os = "ios", windows)))]
    {
        SendFlags::NOSIGNAL
    }
    #[cfg(any(target_os = "macos", target_os = "ios", windows))]
    {
        SendFlags::empty()
    }
}

/// One non-blocking `send`.
#[cfg(unix)]
pub(crate) fn send(fd: impl AsFd, buf: &[u8]) -> io::Result<usize> {
    Ok(rnet::send(fd, buf, send_flags())?)
}

/// One non-blocking `send`.
#[cfg(windows)]
pub(crate) fn send(s: impl AsSocket, buf: &[u8]) -> io::Result<usize> {
    socket2::SockRef::from(&s).send(buf)
}

/// One non-blocking gathering send.
#[cfg(windows)]
pub(crate) fn send_vectored(s: impl AsSocket, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
    socket2::SockRef::from(&s).send_vectored(bufs)
}

/// One non-blocking `recv`.
#[cfg(windows)]
pub(crate) fn recv(s: impl AsSocket, buf: &mut [u8]) -> io::Result<usize> {
    io::Read::read(&mut &*socket2::SockRef::from(&s), buf)
}

/// One non-blocking scattering `recv`.
#[cfg(windows)]
fn recv_vectored(s: impl AsSocket, bufs: &mut [IoSliceMut<'_>]) -> io::Result<usize> {
    io::Read::read_vectored(&mut &*socket2::SockRef::from(&s), bufs)
}

/// One non-blocking scattering read.
#[cfg(unix)]
fn recv_vectored(fd: impl AsFd, bufs: &mut [IoSliceMut<'_>]) -> io::Result<usize> {
    Ok(rustix::io::readv(fd, bufs)?)
}

/// One non-blocking gathering send.
#[cfg(unix)]
pub(crate) fn send_vectored(fd: impl AsFd, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
    #[cfg(not(any(target_os = "macos", target_os = "ios", windows)))]
    {
        let mut control = rnet::SendAncillaryBuffer::default();
        Ok(rnet::sendmsg(fd, bufs, &mut control, send_flags())?)
    }
    #[cfg(any(target_os = "macos", target_os = "ios", windows))]
    {
        Ok(rustix::io::writev(fd, bufs)?)
    }
}

/// One non-blocking read of a stream that is not waited for (`try_read`): on the io_uring
/// completion path, data a completion already brought comes first.
pub(crate) fn try_recv<T: AsSource>(io: &Async<T>, buf: &mut [u8]) -> io::Result<usize> {
    if io.completion_reads() {
        return io.try_recv_stream(buf);
    }
    recv(io.get_ref().as_source(), buf)
}

/// One non-blocking `recv`.
#[cfg(unix)]
pub(crate) fn recv(fd: impl AsFd, buf: &mut [u8]) -> io::Result<usize> {
    Ok(rnet::recv(fd, buf, RecvFlags::empty())?.0)
}

pub(crate) fn poll_read<T: AsSource>(
    io: &Async<T>,
    cx: &mut Context<'_>,
    buf: &mut [u8],
) -> Poll<io::Result<usize>> {
    if io.completion_reads() {
        return io.poll_recv_stream(cx, &mut [IoSliceMut::new(buf)]);
    }
    io.poll_read_stream(cx, buf.len(), |s| recv(s.as_source(), buf))
}

pub(crate) fn poll_read_vectored<T: AsSource>(
    io: &Async<T>,
    cx: &mut Context<'_>,
    bufs: &mut [IoSliceMut<'_>],
) -> Poll<io::Result<usize>> {
    let len = bufs.iter().map(|b| b.len()).sum();
    if io.completion_reads() {
        return io.poll_recv_stream(cx, bufs);
    }
    io.poll_read_stream(cx, len, |s| recv_vectored(s.as_source(), bufs))
}

pub(crate) fn poll_write<T: AsSource>(
    io: &Async<T>,
    cx: &mut Context<'_>,
    buf: &[u8],
) -> Poll<io::Result<usize>> {
    if io.completion_sends() {
        return io.poll_send_stream(cx, &[IoSlice::new(buf)]);
    }
    io.poll_write_stream(cx, buf.len(), |s| send(s.as_source(), buf))
}

pub(crate) fn poll_write_vectored<T: AsSource>(
    io: &Async<T>,
    cx: &mut Context<'_>,
    bufs: &[IoSlice<'_>],
) -> Poll<io::Result<usize>> {
    if io.completion_sends() {
        return io.poll_send_stream(cx, bufs);
    }
    let len = bufs.iter().map(|b| b.len()).sum();
    io.poll_write_stream(cx, len, |s| send_vectored(s.as_source(), bufs))
}

/// One non-blocking write of a stream that is not waited for (`try_write`): on the io_uring
/// completion path, staged behind the send in flight (`WouldBlock` when that stage is full).
pub(crate) fn try_send<T: AsSource>(io: &Async<T>, buf: &[u8]) -> io::Result<usize> {
    if io.completion_sends() {
        return io.try_send_stream(buf);
    }
    send(io.get_ref().as_source(), buf)
}

/// Nothing is buffered in user space on readiness; on the io_uring completion path, waits
/// for the send in flight and returns the error it met.
pub(crate) fn poll_flush<T: AsSource>(io: &Async<T>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
    io.poll_flush_stream(cx)
}

/// `poll_close`: flushes (see [`poll_flush`]), then shuts the write side down (FIN).
pub(crate) fn poll_close<T: AsSource>(io: &Async<T>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
    let flushed = std::task::ready!(io.poll_flush_stream(cx));
    Poll::Ready(flushed.and(shutdown_write_io(io)))
}

/// Shuts the write side down (sends FIN) after any send in flight; "not connected" counts as
/// done.
pub(crate) fn shutdown_write_io<T: AsSource>(io: &Async<T>) -> io::Result<()> {
    if io.completion_sends() {
        return match io.shutdown_write_stream() {
            Err(e) if e.kind() == io::ErrorKind::NotConnected => Ok(()),
            other => other,
        };
    }
    shutdown_write(io.get_ref().as_source())
}

/// `shutdown(how)` through the socket type's own `shutdown` (`sd`); on the io_uring
/// completion path the write side goes down after the send in flight, so the FIN follows
/// bytes already reported written.
pub(crate) fn shutdown<T: AsSource>(
    io: &Async<T>,
    how: std::net::Shutdown,
    sd: impl Fn(&T, std::net::Shutdown) -> io::Result<()>,
) -> io::Result<()> {
    if io.completion_sends() && how != std::net::Shutdown::Read {
        if how == std::net::Shutdown::Both {
            sd(io.get_ref(), std::net::Shutdown::Read)?;
        }
        return io.shutdown_write_stream();
    }
    sd(io.get_ref(), how)
}

#[cfg(unix)]
pub(crate) fn poll_peek<T: AsFd>(
    io: &Async<T>,
    cx: &mut Context<'_>,
    buf: &mut [u8],
) -> Poll<io::Result<usize>> {
    if io.completion_reads() {
        return io.poll_peek_stream(cx, buf);
    }
    // A peek leaves the data where it is: it never marks the stream drained.
    io.poll_read_with(cx, |s| Ok(rnet::recv(s, &mut *buf, RecvFlags::PEEK)?.0))
}

/// A peek (`MSG_PEEK`) on a TCP stream, the only stream socket on Windows.
#[cfg(windows)]
pub(crate) fn poll_peek(
    io: &Async<std::net::TcpStream>,
    cx: &mut Context<'_>,
    buf: &mut [u8],
) -> Poll<io::Result<usize>> {
    // A peek leaves the data where it is: it never marks the stream drained.
    io.poll_read_with(cx, |s| s.peek(&mut *buf))
}

/// Implements `futures_io::AsyncRead`/`AsyncWrite` for a stream type (and its reference) whose
/// `$field` is an `Async<T>` (or derefs to one). `poll_close` shuts the write side down.
macro_rules! impl_stream_io {
    ($ty:ty, $($field:tt)+) => {
        impl futures_io::AsyncRead for $ty {
            fn poll_read(
                self: std::pin::Pin<&mut Self>,
                cx: &mut std::task::Context<'_>,
                buf: &mut [u8],
            ) -> std::task::Poll<std::io::Result<usize>> {
                $crate::stream_io::poll_read(&self.$($field)+, cx, buf)
            }

            fn poll_read_vectored(
                self: std::pin::Pin<&mut Self>,
                cx: &mut std::task::Context<'_>,
                bufs: &mut [std::io::IoSliceMut<'_>],
            ) -> std::task::Poll<std::io::Result<usize>> {
                $crate::stream_io::poll_read_vectored(&self.$($field)+, cx, bufs)
            }
        }

        impl futures_io::AsyncWrite for $ty {
            fn poll_write(
                self: std::pin::Pin<&mut Self>,
                cx: &mut std::task::Context<'_>,
                buf: &[u8],
            ) -> std::task::Poll<std::io::Result<usize>> {
                $crate::stream_io::poll_write(&self.$($field)+, cx, buf)
            }

            fn poll_write_vectored(
                self: std::pin::Pin<&mut Self>,
                cx: &mut std::task::Context<'_>,
                bufs: &[std::io::IoSlice<'_>],
            ) -> std::task::Poll<std::io::Result<usize>> {
                $crate::stream_io::poll_write_vectored(&self.$($field)+, cx, bufs)
            }

            fn poll_flush(
                self: std::pin::Pin<&mut Self>,
                cx: &mut std::task::Context<'_>,
            ) -> std::task::Poll<std::io::Result<()>> {
                $crate::stream_io::poll_flush(&self.$($field)+, cx)
            }

            fn poll_close(
                self: std::pin::Pin<&mut Self>,
                cx: &mut std::task::Context<'_>,
            ) -> std::task::Poll<std::io::Result<()>> {
                $crate::stream_io::poll_close(&self.$($field)+, cx)
            }
        }
    };
}
pub(crate) use impl_stream_io;

/// Shuts the write side down (sends FIN); "not connected" counts as done.
#[cfg(windows)]
pub(crate) fn shutdown_write(s: impl AsSocket) -> io::Result<()> {
    match socket2::SockRef::from(&s).shutdown(std::net::Shutdown::Write) {
        Err(e) if e.kind() != io::ErrorKind::NotConnected => Err(e),
        _ => Ok(()),
    }
}

/// Shuts the write side down (sends FIN); "not connected" counts as done.
#[cfg(unix)]
pub(crate) fn shutdown_write(fd: impl AsFd) -> io::Result<()> {
    match rnet::shutdown(fd, rnet::Shutdown::Write) {
        Ok(()) | Err(rustix::io::Errno::NOTCONN) => Ok(()),
        Err(e) => Err(e.into()),
    }
}
