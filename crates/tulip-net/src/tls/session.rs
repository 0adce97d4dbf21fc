//! [`Session`]: a TLS session after its handshake, driven by hand over the connection's
//! transport, for a `StreamReader`/`StreamWriter` pair.
//!
//! The reader and the writer use the session from different tasks at once, so the rustls
//! connection sits behind one mutex. Nothing awaits while holding it: every call is a
//! non-blocking step (decrypt what has arrived, or encrypt and hand records to the socket),
//! and a step that cannot go on registers the caller's waker with the socket, in the
//! direction it waits for, and returns `Pending`.
//!
//! The transport is borrowed for each call (`&dyn RawStream`, the connection's own socket),
//! which is what lets `start_tls` put a session under a reader and writer that already exist.
//!
//! Writes: `poll_write` first sends records left over from earlier writes (or waits for the
//! socket to take them), then encrypts, then sends what the socket takes. Records it could
//! not send stay in rustls's buffer (the *backlog*, which [`Session::has_backlog`] reads
//! without the lock): the connection's flusher sends them with [`Session::poll_flush`].

use std::io::{self, Read, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::task::{Context, Poll};
use std::time::Duration;

use tulip_util::lock;

use super::error::TlsError;
use super::TlsInfo;
use crate::streams::RawStream;

/// A session after its handshake.
pub(crate) struct Session {
    st: Mutex<State>,
    /// rustls holds records not yet handed to the socket.
    backlog: AtomicBool,
    /// How long a close may take to send what is buffered and the `close_notify`.
    pub(crate) shutdown_timeout: Duration,
}

struct State {
    tls: rustls::Connection,
    /// Bytes that arrived before TLS took over and that the handshake did not use.
    early: Vec<u8>,
    early_pos: usize,
    /// The transport reached end of stream.
    eof: bool,
    /// A `close_notify` has been queued.
    close_notify: bool,
}

/// `io::Read` over a non-blocking transport: `Pending` becomes `WouldBlock` (the waker is
/// registered by then).
struct ReadIo<'a, 'b> {
    io: &'a dyn RawStream,
    cx: &'a mut Context<'b>,
}

impl Read for ReadIo<'_, '_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self.io.poll_read(self.cx, buf) {
            Poll::Ready(r) => r,
            Poll::Pending => Err(io::ErrorKind::WouldBlock.into()),
        }
    }
}

/// `io::Write` over a non-blocking transport, gathering rustls's records into one system
/// call where the transport can.
struct WriteIo<'a, 'b> {
    io: &'a dyn RawStream,
    cx: &'a mut Context<'b>,
}

impl Write for WriteIo<'_, '_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self.io.poll_write(self.cx, buf) {
            Poll::Ready(r) => r,
            Poll::Pending => Err(io::ErrorKind::WouldBlock.into()),
        }
    }

    fn write_vectored(&mut self, bufs: &[io::IoSlice<'_>]) -> io::Result<usize> {
        match self.io.poll_write_vectored(self.cx, bufs) {
            Poll::Ready(r) => r,
            Poll::Pending => Err(io::ErrorKind::WouldBlock.into()),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

fn tls_err(e: rustls::Error) -> io::Error {
    TlsError::from_rustls(e).into()
}

impl State {
    /// Hands queued records to the socket until none is left (`Ready(Ok)`) or the socket is
    /// full (`Pending`, the waker registered for writability).
    fn poll_send(&mut self, io: &dyn RawStream, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        while self.tls.wants_write() {
            match self.tls.write_tls(&mut WriteIo { io, cx }) {
                Ok(0) => {
                    return Poll::Ready(Err(io::Error::new(
                        io::ErrorKind::WriteZero,
                        "the stream took no bytes",
                    )))
                }
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Poll::Pending,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Poll::Ready(Err(e)),
            }
        }
        Poll::Ready(Ok(()))
    }
}

impl Session {
    /// A session over `tls` (handshake done); `early` is what arrived after the handshake's
    /// last byte but was already read from the socket.
    pub(crate) fn new(
        tls: rustls::Connection,
        early: Vec<u8>,
        shutdown_timeout: Duration,
    ) -> Session {
        Session {
            backlog: AtomicBool::new(tls.wants_write()),
            st: Mutex::new(State {
                tls,
                early,
                early_pos: 0,
                eof: false,
                close_notify: false,
            }),
            shutdown_timeout,
        }
    }

    /// Reads plaintext into `buf`. `Ok(0)` is end of stream: the peer's `close_notify`, or
    /// (as asyncio takes it) the transport's end without one.
    // Never inlined: the connection's plain path checks for a session and must stay small.
    #[inline(never)]
    pub(crate) fn poll_read(
        &self,
        io: &dyn RawStream,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        if buf.is_empty() {
            return Poll::Ready(Ok(0));
        }
        let mut st = lock(&self.st);
        loop {
            match st.tls.reader().read(buf) {
                Ok(n) => return Poll::Ready(Ok(n)),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                // The transport ended without close_notify: asyncio (and Python's
                // `suppress_ragged_eofs`) read that as end of stream.
                Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Poll::Ready(Ok(0)),
                Err(e) => return Poll::Ready(Err(e)),
            }
            if st.eof {
                return Poll::Ready(Ok(0));
            }
            let st = &mut *st;
            let got = if st.early_pos < st.early.len() {
                let mut rest = &st.early[st.early_pos..];
                let n = st.tls.read_tls(&mut rest)?;
                st.early_pos += n;
                if st.early_pos == st.early.len() {
                    st.early = Vec::new();
                    st.early_pos = 0;
                }
                n
            } else {
                match st.tls.read_tls(&mut ReadIo { io, cx }) {
                    Ok(n) => n,
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Poll::Pending,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                    Err(e) => return Poll::Ready(Err(e)),
                }
            };
            if got == 0 {
                st.eof = true;
            }
            match st.tls.process_new_packets() {
                Ok(_) => {}
                Err(e) => {
                    // Tell the peer why (rustls queued an alert), without waiting for it.
                    let mut noop = Context::from_waker(std::task::Waker::noop());
                    let _ = st.poll_send(io, &mut noop);
                    return Poll::Ready(Err(tls_err(e)));
                }
            }
            // Records the reading queued (a key update's answer) go out with the next write.
            self.backlog.store(st.tls.wants_write(), Ordering::Release);
        }
    }

    /// Encrypts `buf` and sends what the socket takes. `Ok(n)`: `n` bytes of plaintext are
    /// in the session; some records may be left over ([`has_backlog`](Self::has_backlog)).
    /// `Pending` only when earlier records still fill the socket.
    // Never inlined: the connection's plain path checks for a session and must stay small.
    #[inline(never)]
    pub(crate) fn poll_write(
        &self,
        io: &dyn RawStream,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let mut st = lock(&self.st);
        let res = self.write_locked(&mut st, io, cx, buf);
        self.backlog.store(st.tls.wants_write(), Ordering::Release);
        res
    }

    fn write_locked(
        &self,
        st: &mut State,
        io: &dyn RawStream,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        std::task::ready!(st.poll_send(io, cx))?;
        if buf.is_empty() {
            return Poll::Ready(Ok(0));
        }
        if st.close_notify {
            return Poll::Ready(Err(io::Error::new(
                io::ErrorKind::BrokenPipe,
                "the TLS session's write side is closed (close_notify sent)",
            )));
        }
        let n = st.tls.writer().write(buf)?;
        match st.poll_send(io, cx) {
            Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
            _ => Poll::Ready(Ok(n)),
        }
    }

    /// Whether records wait to be handed to the socket (no lock taken).
    #[inline]
    pub(crate) fn has_backlog(&self) -> bool {
        self.backlog.load(Ordering::Acquire)
    }

    /// Hands every queued record to the socket.
    // Never inlined: the connection's plain path checks for a session and must stay small.
    #[inline(never)]
    pub(crate) fn poll_flush(
        &self,
        io: &dyn RawStream,
        cx: &mut Context<'_>,
    ) -> Poll<io::Result<()>> {
        let mut st = lock(&self.st);
        let res = st.poll_send(io, cx);
        self.backlog.store(st.tls.wants_write(), Ordering::Release);
        res
    }

    /// Queues the `close_notify` alert (once): the peer reads end of stream after the data
    /// sent before it. Send it with [`poll_flush`](Self::poll_flush).
    pub(crate) fn queue_close_notify(&self) {
        let mut st = lock(&self.st);
        if !st.close_notify {
            st.close_notify = true;
            st.tls.send_close_notify();
            self.backlog.store(st.tls.wants_write(), Ordering::Release);
        }
    }

    /// What `get_extra_info` would say of the session.
    pub(crate) fn info(&self) -> TlsInfo {
        TlsInfo::from_connection(&lock(&self.st).tls)
    }
}
