//! Read and write halves of a byte-stream socket ([`TcpStream`](crate::TcpStream),
//! [`UnixStream`](crate::UnixStream)), borrowed or owned.

use std::fmt;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use crate::stream_io;

mod sealed {
    /// A byte-stream socket registered with the reactor.
    pub trait StreamSocket {
        /// The registered fd.
        type Io: tulip_reactor::AsSource;
        fn io(&self) -> &tulip_reactor::Async<Self::Io>;
    }
}
pub(crate) use sealed::StreamSocket;

/// The read half of a stream's `split()`: reads through a shared borrow.
#[derive(Debug)]
pub struct ReadHalf<'a, S> {
    pub(crate) stream: &'a S,
}

/// The write half of a stream's `split()`; `poll_close` shuts the write side down (FIN).
#[derive(Debug)]
pub struct WriteHalf<'a, S> {
    pub(crate) stream: &'a S,
}

impl<'a, S> ReadHalf<'a, S> {
    /// The stream.
    pub fn get_ref(&self) -> &'a S {
        self.stream
    }
}

impl<'a, S> WriteHalf<'a, S> {
    /// The stream.
    pub fn get_ref(&self) -> &'a S {
        self.stream
    }
}

/// The owned read half of a stream's `into_split()`.
#[derive(Debug)]
pub struct OwnedReadHalf<S> {
    pub(crate) stream: Arc<S>,
}

/// The owned write half of a stream's `into_split()`: dropping it (or closing it) shuts the
/// write side down, so the peer reads end of stream.
#[derive(Debug)]
pub struct OwnedWriteHalf<S: StreamSocket> {
    pub(crate) stream: Arc<S>,
    pub(crate) shutdown_on_drop: bool,
}

/// The halves given to [`OwnedReadHalf::reunite`] came from different streams; both are
/// given back.
#[derive(Debug)]
pub struct ReuniteError<S: StreamSocket>(pub OwnedReadHalf<S>, pub OwnedWriteHalf<S>);

impl<S: StreamSocket> fmt::Display for ReuniteError<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("tried to reunite halves of two different streams")
    }
}

impl<S: StreamSocket + fmt::Debug> std::error::Error for ReuniteError<S> {}

/// Splits an owned stream.
pub(crate) fn into_split<S: StreamSocket>(stream: S) -> (OwnedReadHalf<S>, OwnedWriteHalf<S>) {
    let shared = Arc::new(stream);
    (
        OwnedReadHalf {
            stream: shared.clone(),
        },
        OwnedWriteHalf {
            stream: shared,
            shutdown_on_drop: true,
        },
    )
}

impl<S: StreamSocket> OwnedReadHalf<S> {
    /// Puts the halves back together.
    ///
    /// # Errors
    ///
    /// [`ReuniteError`] (giving both back) when they belong to different streams.
    pub fn reunite(self, mut other: OwnedWriteHalf<S>) -> Result<S, ReuniteError<S>> {
        if !Arc::ptr_eq(&self.stream, &other.stream) {
            return Err(ReuniteError(self, other));
        }
        other.shutdown_on_drop = false;
        let shared = other.stream.clone();
        drop(other);
        drop(self);
        match Arc::try_unwrap(shared) {
            Ok(s) => Ok(s),
            Err(_) => unreachable!("both halves were dropped, so the last reference is ours"),
        }
    }

    /// The stream both halves share.
    pub fn get_ref(&self) -> &S {
        &self.stream
    }
}

impl<S: StreamSocket> OwnedWriteHalf<S> {
    /// The stream both halves share.
    pub fn get_ref(&self) -> &S {
        &self.stream
    }

    /// Drops the half without shutting the write side down.
    pub fn forget(mut self) {
        self.shutdown_on_drop = false;
    }
}

impl<S: StreamSocket> Drop for OwnedWriteHalf<S> {
    fn drop(&mut self) {
        if self.shutdown_on_drop {
            let _ = stream_io::shutdown_write_io(self.stream.io());
        }
    }
}

macro_rules! read_impl {
    ($($t:tt)*) => {
        impl $($t)* {
            fn poll_read(
                self: Pin<&mut Self>,
                cx: &mut Context<'_>,
                buf: &mut [u8],
            ) -> Poll<io::Result<usize>> {
                stream_io::poll_read(self.stream.io(), cx, buf)
            }

            fn poll_read_vectored(
                self: Pin<&mut Self>,
                cx: &mut Context<'_>,
                bufs: &mut [io::IoSliceMut<'_>],
            ) -> Poll<io::Result<usize>> {
                stream_io::poll_read_vectored(self.stream.io(), cx, bufs)
            }
        }
    };
}

macro_rules! write_impl {
    ($($t:tt)*) => {
        impl $($t)* {
            fn poll_write(
                self: Pin<&mut Self>,
                cx: &mut Context<'_>,
                buf: &[u8],
            ) -> Poll<io::Result<usize>> {
                stream_io::poll_write(self.stream.io(), cx, buf)
            }

            fn poll_write_vectored(
                self: Pin<&mut Self>,
                cx: &mut Context<'_>,
                bufs: &[io::IoSlice<'_>],
            ) -> Poll<io::Result<usize>> {
                stream_io::poll_write_vectored(self.stream.io(), cx, bufs)
            }

            fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
                stream_io::poll_flush(self.stream.io(), cx)
            }

            fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
                stream_io::poll_close(self.stream.io(), cx)
            }
        }
    };
}

read_impl!(<S: StreamSocket> futures_io::AsyncRead for ReadHalf<'_, S>);
read_impl!(<S: StreamSocket> futures_io::AsyncRead for OwnedReadHalf<S>);
write_impl!(<S: StreamSocket> futures_io::AsyncWrite for WriteHalf<'_, S>);
write_impl!(<S: StreamSocket> futures_io::AsyncWrite for OwnedWriteHalf<S>);
