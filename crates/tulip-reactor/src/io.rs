//! [`Async<T>`]: an I/O object registered with the reactor.

use std::fmt;
use std::future::Future;
use std::io::{self, Read, Write};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use futures_io::{AsyncRead, AsyncWrite};

#[cfg(target_os = "linux")]
use crate::completion::Mode;
use crate::reactor::{lock, Dir, Reactor, Source};
use crate::source::{self, AsSource};

/// An I/O object (socket, pipe, …) registered with the current event loop's reactor.
///
/// Operations are tried first and only wait after the OS says `WouldBlock`: a busy socket is
/// read and written without ever touching the poller. Sources are registered once,
/// edge-triggered, for both directions.
///
/// `Async<T>` implements `futures_io::AsyncRead` / `AsyncWrite` when `&T` implements
/// `Read` / `Write` (as `TcpStream`, `UnixStream` and `File` do), also through `&Async<T>` so
/// that one task can read while another writes.
///
/// # Examples
///
/// ```
/// use std::io::Write;
/// use std::os::unix::net::UnixStream;
/// use futures_lite::AsyncReadExt;
/// use tulip_reactor::{Async, Reactor};
///
/// let reactor = Reactor::new()?;
/// let _guard = reactor.enter();
/// let (a, mut b) = UnixStream::pair()?;
/// let mut a = Async::new(a)?;
/// b.write_all(b"hello")?;
/// let mut buf = [0u8; 5];
/// // Drive the read by hand with the reactor (an event loop does this for you).
/// futures_lite::future::block_on(a.read_exact(&mut buf))?;
/// assert_eq!(&buf, b"hello");
/// # std::io::Result::Ok(())
/// ```
pub struct Async<T: AsSource> {
    source: Arc<Source>,
    reactor: Reactor,
    io: Option<T>,
}

impl<T: AsSource + fmt::Debug> fmt::Debug for Async<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Async").field("io", &self.io).finish()
    }
}

impl<T: AsSource> Async<T> {
    /// Puts `io` in non-blocking mode and registers it with the current reactor.
    ///
    /// # Errors
    ///
    /// Fails if no tulip event loop runs on this thread (`ErrorKind::Other`, "no tulip
    /// reactor"), or if the OS refuses the registration.
    pub fn new(io: T) -> io::Result<Async<T>> {
        source::set_nonblocking(io.as_source())?;
        Async::new_nonblocking(io)
    }

    /// Registers `io`, which the caller has already put in non-blocking mode.
    ///
    /// # Errors
    ///
    /// As [`Async::new`].
    pub fn new_nonblocking(io: T) -> io::Result<Async<T>> {
        let reactor = Reactor::current().ok_or_else(no_reactor)?;
        Async::with_reactor(io, &reactor)
    }

    /// Registers non-blocking `io` with a given reactor.
    ///
    /// # Errors
    ///
    /// Fails if the OS refuses the registration.
    pub fn with_reactor(io: T, reactor: &Reactor) -> io::Result<Async<T>> {
        let source = reactor.register(source::raw(io.as_source()))?;
        Ok(Async {
            source,
            reactor: reactor.clone(),
            io: Some(io),
        })
    }

    /// The I/O object.
    pub fn get_ref(&self) -> &T {
        self.io.as_ref().expect("io is present until into_inner")
    }

    /// Deregisters and returns the I/O object (still in non-blocking mode).
    ///
    /// # Errors
    ///
    /// Fails if the OS refuses to deregister it.
    pub fn into_inner(mut self) -> io::Result<T> {
        let io = self.io.take().expect("io is present until into_inner");
        self.reactor.deregister(&self.source)?;
        Ok(io)
    }

    /// Waits until the object is readable (returns at once if it is readable now).
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: dropping the future only forgets the interest.
    pub fn readable(&self) -> Readiness<'_, T> {
        Readiness {
            io: self,
            dir: Dir::Read,
            state: ReadyState::Start,
        }
    }

    /// Waits until the object is writable (returns at once if it is writable now).
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: dropping the future only forgets the interest.
    pub fn writable(&self) -> Readiness<'_, T> {
        Readiness {
            io: self,
            dir: Dir::Write,
            state: ReadyState::Start,
        }
    }

    /// Polls for readability; registers `cx`'s waker (one reader at a time) when not readable.
    pub fn poll_readable(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.poll_ready(Dir::Read, cx)
    }

    /// Polls for writability; registers `cx`'s waker (one writer at a time) when not writable.
    pub fn poll_writable(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.poll_ready(Dir::Write, cx)
    }

    /// Runs a non-blocking read-side operation until it stops returning `WouldBlock`.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe as long as `op` is: dropping the future between attempts loses nothing.
    pub async fn read_with<R>(&self, op: impl FnMut(&T) -> io::Result<R>) -> io::Result<R> {
        self.op_with(Dir::Read, op).await
    }

    /// Runs a non-blocking write-side operation until it stops returning `WouldBlock`.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe as long as `op` is: dropping the future between attempts loses nothing.
    pub async fn write_with<R>(&self, op: impl FnMut(&T) -> io::Result<R>) -> io::Result<R> {
        self.op_with(Dir::Write, op).await
    }

    /// Shared body of `read_with`/`write_with`: waits through the waiter list, so any number
    /// of tasks may wait on one object at once.
    async fn op_with<R>(&self, dir: Dir, mut op: impl FnMut(&T) -> io::Result<R>) -> io::Result<R> {
        loop {
            let tick = self.source.tick(dir);
            if !self.source.is_drained(dir, tick) {
                match op(self.get_ref()) {
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                        self.source.set_drained(dir, tick);
                    }
                    res => return res,
                }
            }
            Readiness {
                io: self,
                dir,
                state: ReadyState::Waiting { tick, id: None },
            }
            .await?;
        }
    }

    /// Poll form of [`read_with`](Self::read_with) (one reader at a time).
    pub fn poll_read_with<R>(
        &self,
        cx: &mut Context<'_>,
        mut op: impl FnMut(&T) -> io::Result<R>,
    ) -> Poll<io::Result<R>> {
        self.poll_with(Dir::Read, cx, &mut op, |_| false)
    }

    /// Poll form of [`write_with`](Self::write_with) (one writer at a time).
    pub fn poll_write_with<R>(
        &self,
        cx: &mut Context<'_>,
        mut op: impl FnMut(&T) -> io::Result<R>,
    ) -> Poll<io::Result<R>> {
        self.poll_with(Dir::Write, cx, &mut op, |_| false)
    }

    /// A read on a **byte stream** (a TCP or Unix stream socket, a pipe) of up to `len` bytes.
    ///
    /// Like [`poll_read_with`](Self::poll_read_with), plus: when `op` returns fewer bytes than
    /// `len` but more than none, the stream's receive buffer is known to be empty (epoll(7)
    /// says so for stream sockets and pipes), so the next read waits for a readiness event
    /// instead of making a system call that would only return `WouldBlock`. Do not use it for
    /// datagram sockets or devices that return one record per read.
    pub fn poll_read_stream(
        &self,
        cx: &mut Context<'_>,
        len: usize,
        mut op: impl FnMut(&T) -> io::Result<usize>,
    ) -> Poll<io::Result<usize>> {
        let edge = self.reactor.trusts_short_io();
        self.poll_with(Dir::Read, cx, &mut op, |n| edge && *n > 0 && *n < len)
    }

    /// A write on a byte stream of up to `len` bytes: a short write means the send buffer is
    /// full, so the next write waits for writability without trying first (see
    /// [`poll_read_stream`](Self::poll_read_stream)).
    pub fn poll_write_stream(
        &self,
        cx: &mut Context<'_>,
        len: usize,
        mut op: impl FnMut(&T) -> io::Result<usize>,
    ) -> Poll<io::Result<usize>> {
        let edge = self.reactor.trusts_short_io();
        self.poll_with(Dir::Write, cx, &mut op, |n| edge && *n < len)
    }

    /// Whether [`poll_recv_stream`](Self::poll_recv_stream) reads through io_uring completions
    /// (the reactor runs [`Backend::Uring`](crate::Backend::Uring) with a provided-buffer
    /// ring) rather than through readiness.
    pub fn completion_reads(&self) -> bool {
        #[cfg(target_os = "linux")]
        {
            self.reactor.completions().is_some()
        }
        #[cfg(not(target_os = "linux"))]
        {
            false
        }
    }

    /// A read of a **byte stream** through io_uring completions: a recv that picks a buffer
    /// from the reactor's provided-buffer ring, copied into `bufs`. Fails with
    /// `ErrorKind::Unsupported` unless [`completion_reads`](Self::completion_reads).
    ///
    /// A read that finds nothing held queues a recv and returns `Pending`: the recv goes to the
    /// kernel with the reactor's next wait (batched with every other submission of that loop
    /// turn) and its completion wakes the task, so data is returned one loop turn later than a
    /// readiness read of data already queued would return it, without a `recv` system call.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: the recv in flight belongs to this object, not to the caller, so a read
    /// abandoned mid-flight (its future dropped) loses nothing — data the kernel delivered
    /// waits for the next read. Once a stream is read this way, read it only this way (a
    /// readiness `recv` could overtake the bytes the recv in flight will return).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::io::{IoSliceMut, Write};
    /// use std::os::unix::net::UnixStream;
    /// use tulip_reactor::{Async, Backend, Reactor};
    ///
    /// let reactor = Reactor::with_backend(Backend::Uring)?;
    /// let _guard = reactor.enter();
    /// let (a, mut b) = UnixStream::pair()?;
    /// let a = Async::new(a)?;
    /// b.write_all(b"hello")?;
    /// let mut buf = [0u8; 5];
    /// let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
    /// // The recv goes to the kernel with the reactor's next wait: drive it by hand (an event
    /// // loop does this for you).
    /// let n = loop {
    ///     let polled = if a.completion_reads() {
    ///         a.poll_recv_stream(&mut cx, &mut [IoSliceMut::new(&mut buf)])
    ///     } else {
    ///         // Epoll where the kernel refuses io_uring: read by readiness.
    ///         a.poll_read_stream(&mut cx, 5, |s| std::io::Read::read(&mut &*s, &mut buf))
    ///     };
    ///     match polled {
    ///         std::task::Poll::Ready(n) => break n?,
    ///         std::task::Poll::Pending => {
    ///             reactor.park(Some(std::time::Duration::from_millis(10)))?;
    ///         }
    ///     }
    /// };
    /// assert_eq!(&buf[..n], &b"hello"[..n]);
    /// # std::io::Result::Ok(())
    /// ```
    pub fn poll_recv_stream(
        &self,
        cx: &mut Context<'_>,
        bufs: &mut [io::IoSliceMut<'_>],
    ) -> Poll<io::Result<usize>> {
        #[cfg(target_os = "linux")]
        if let Some(u) = self.reactor.completions() {
            let r = crate::completion::poll_recv(u, &self.source, cx, bufs, Mode::Read);
            if r.is_pending() {
                self.reactor.note(crate::reactor::WaitNote::Io {
                    fd: self.source.fd,
                    write: false,
                });
            }
            return r;
        }
        let _ = (cx, bufs);
        Poll::Ready(Err(unsupported()))
    }

    /// [`poll_recv_stream`](Self::poll_recv_stream) that leaves the data for the next read
    /// (a `MSG_PEEK`): it waits for a completion like a read, keeps what came, and copies it.
    pub fn poll_peek_stream(
        &self,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        #[cfg(target_os = "linux")]
        if let Some(u) = self.reactor.completions() {
            let bufs = &mut [io::IoSliceMut::new(buf)];
            return crate::completion::poll_recv(u, &self.source, cx, bufs, Mode::Peek);
        }
        let _ = (cx, buf);
        Poll::Ready(Err(unsupported()))
    }

    /// A non-blocking read for a stream read by [`poll_recv_stream`](Self::poll_recv_stream):
    /// data a completion already brought, else (nothing in flight) one `recv` system call;
    /// `WouldBlock` while a recv is in flight.
    ///
    /// # Errors
    ///
    /// `WouldBlock` when nothing is there; `Unsupported` unless
    /// [`completion_reads`](Self::completion_reads); the system call's error.
    pub fn try_recv_stream(&self, buf: &mut [u8]) -> io::Result<usize> {
        #[cfg(target_os = "linux")]
        if let Some(u) = self.reactor.completions() {
            let bufs = &mut [io::IoSliceMut::new(buf)];
            let mut cx = Context::from_waker(std::task::Waker::noop());
            return match crate::completion::poll_recv(u, &self.source, &mut cx, bufs, Mode::Try) {
                Poll::Ready(r) => r,
                Poll::Pending => Err(io::ErrorKind::WouldBlock.into()),
            };
        }
        let _ = buf;
        Err(unsupported())
    }

    /// Whether writes through [`poll_send_stream`](Self::poll_send_stream) and accepts through
    /// [`poll_accept_multishot`](Self::poll_accept_multishot) go through io_uring completions
    /// (the uring backend with its completion operations on, and not limited to reads by
    /// `TULIP_URING_OPS=recv`).
    pub fn completion_sends(&self) -> bool {
        #[cfg(target_os = "linux")]
        {
            self.reactor.completion_sends().is_some()
        }
        #[cfg(not(target_os = "linux"))]
        {
            false
        }
    }

    /// A write to a **byte stream** through an io_uring `SEND`: up to 256 KiB of `bufs` is
    /// copied into the stream's send buffer and submitted with the reactor's next wait, and
    /// `Ready(n)` comes back at once — the bytes are committed, as bytes `send(2)` puts into
    /// the socket buffer are. One send is in flight per stream; writes made meanwhile are
    /// staged behind it (up to 256 KiB more) and go out when it is done, and a write waits
    /// only when that stage is full. [`poll_flush_stream`](Self::poll_flush_stream) waits for
    /// everything; the error a send met (`EPIPE`, `ECONNRESET`) is returned by the next write
    /// or flush, as a later write on a readiness path would see it. Once the
    /// reactor saw the connection fail, or after
    /// [`shutdown_write_stream`](Self::shutdown_write_stream), writes fail at once. Fails with
    /// `ErrorKind::Unsupported` unless [`completion_sends`](Self::completion_sends).
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: a write that returns `Pending` has taken nothing. The buffer of a send in
    /// flight belongs to the reactor until its completion is reaped; dropping the stream lets
    /// the send finish (its bytes were reported written), unless the socket lingers zero
    /// seconds, which cancels it.
    ///
    /// Once a stream writes this way, write it only this way (or after
    /// [`poll_flush_stream`](Self::poll_flush_stream)): a `send(2)` made meanwhile could
    /// overtake the bytes in flight.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::io::{IoSlice, Read};
    /// use std::os::unix::net::UnixStream;
    /// use tulip_reactor::{Async, Backend, Reactor};
    ///
    /// let reactor = Reactor::with_backend(Backend::Uring)?;
    /// let _guard = reactor.enter();
    /// let (a, mut b) = UnixStream::pair()?;
    /// let a = Async::new(a)?;
    /// if a.completion_sends() {
    ///     let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
    ///     let n = match a.poll_send_stream(&mut cx, &[IoSlice::new(b"hello")]) {
    ///         std::task::Poll::Ready(n) => n?,
    ///         std::task::Poll::Pending => unreachable!("nothing was in flight"),
    ///     };
    ///     assert_eq!(n, 5);
    ///     // The send goes to the kernel with the reactor's next wait.
    ///     while a.poll_flush_stream(&mut cx).is_pending() {
    ///         reactor.park(Some(std::time::Duration::from_millis(10)))?;
    ///     }
    ///     let mut got = [0u8; 5];
    ///     b.read_exact(&mut got)?;
    ///     assert_eq!(&got, b"hello");
    /// }
    /// # std::io::Result::Ok(())
    /// ```
    pub fn poll_send_stream(
        &self,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        #[cfg(target_os = "linux")]
        if let Some(u) = self.reactor.completion_sends() {
            let r = crate::completion::poll_send(u, &self.source, cx, bufs);
            if r.is_pending() {
                self.reactor.note(crate::reactor::WaitNote::Io {
                    fd: self.source.fd,
                    write: true,
                });
            }
            return r;
        }
        let _ = (cx, bufs);
        Poll::Ready(Err(unsupported()))
    }

    /// Waits until the send in flight (if any) has completed; returns the error it met. A
    /// no-op `Ready(Ok(()))` unless [`completion_sends`](Self::completion_sends).
    pub fn poll_flush_stream(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        #[cfg(target_os = "linux")]
        if let Some(u) = self.reactor.completion_sends() {
            return crate::completion::poll_flush(u, &self.source, cx);
        }
        let _ = cx;
        Poll::Ready(Ok(()))
    }

    /// A non-blocking write for a stream written by
    /// [`poll_send_stream`](Self::poll_send_stream) that never waits: `WouldBlock` when the
    /// stage behind the send in flight is full.
    ///
    /// # Errors
    ///
    /// `WouldBlock`; `Unsupported` unless [`completion_sends`](Self::completion_sends); the
    /// error a finished send met; the system call's error.
    pub fn try_send_stream(&self, buf: &[u8]) -> io::Result<usize> {
        #[cfg(target_os = "linux")]
        if let Some(u) = self.reactor.completion_sends() {
            return crate::completion::try_send(u, &self.source, buf);
        }
        let _ = buf;
        Err(unsupported())
    }

    /// Shuts the write side of a stream written by
    /// [`poll_send_stream`](Self::poll_send_stream) down: after the send in flight, if one is
    /// (the FIN follows the bytes already reported written), at once otherwise. Writes fail
    /// with `EPIPE` from now on.
    ///
    /// # Errors
    ///
    /// `Unsupported` unless [`completion_sends`](Self::completion_sends); the system call's
    /// error.
    pub fn shutdown_write_stream(&self) -> io::Result<()> {
        #[cfg(target_os = "linux")]
        if let Some(u) = self.reactor.completion_sends() {
            return crate::completion::shutdown_write(u, &self.source);
        }
        Err(unsupported())
    }

    /// The next connection of a listening socket through an io_uring multishot `ACCEPT` (Linux
    /// 5.19): a non-blocking, close-on-exec fd. The first call arms it; connections are
    /// queued (at most 64; beyond that the operation stops and the rest wait in the kernel's
    /// backlog) until taken. An error ends it (`EMFILE`, say: the caller pauses, as with
    /// `accept(2)`), and the call after re-arms it. Dropping the listener cancels it and
    /// closes the connections it queued. Fails with `ErrorKind::Unsupported` unless
    /// [`completion_sends`](Self::completion_sends).
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: a connection is handed over only by the call that returns it.
    #[cfg(unix)]
    pub fn poll_accept_multishot(
        &self,
        cx: &mut Context<'_>,
    ) -> Poll<io::Result<std::os::fd::OwnedFd>> {
        #[cfg(target_os = "linux")]
        if let Some(u) = self.reactor.completion_sends() {
            let r = crate::completion::poll_accept(u, &self.source, cx);
            if r.is_pending() {
                self.reactor.note(crate::reactor::WaitNote::Io {
                    fd: self.source.fd,
                    write: false,
                });
            }
            return r;
        }
        let _ = cx;
        Poll::Ready(Err(unsupported()))
    }

    /// Try `op` unless `dir` is known to be drained; on `WouldBlock` (or a result that
    /// `drained` says proves the direction empty), wait for the next event in `dir` unless one
    /// arrived meanwhile.
    fn poll_with<R>(
        &self,
        dir: Dir,
        cx: &mut Context<'_>,
        op: &mut impl FnMut(&T) -> io::Result<R>,
        drained: impl Fn(&R) -> bool,
    ) -> Poll<io::Result<R>> {
        let io = self.get_ref();
        loop {
            let tick = self.source.tick(dir);
            if !self.source.is_drained(dir, tick) {
                match op(io) {
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                        self.source.set_drained(dir, tick);
                    }
                    Ok(r) => {
                        if drained(&r) {
                            self.source.set_drained(dir, tick);
                        }
                        return Poll::Ready(Ok(r));
                    }
                    Err(e) => return Poll::Ready(Err(e)),
                }
            }
            let mut st = lock(&self.source.state);
            if self.source.tick(dir) != tick {
                continue;
            }
            let slot = &mut st[dir.index()].waker;
            match slot {
                Some(w) if w.will_wake(cx.waker()) => {}
                _ => *slot = Some(cx.waker().clone()),
            }
            drop(st);
            self.reactor.rearm(&self.source, dir)?;
            self.reactor.note(crate::reactor::WaitNote::Io {
                fd: self.source.fd,
                write: dir == Dir::Write,
            });
            return Poll::Pending;
        }
    }

    /// Whether a writability check must wait for the io_uring send in flight (its stage is
    /// full) rather than ask the socket, whose room that send has not used yet.
    fn send_blocked(&self, dir: Dir) -> bool {
        #[cfg(target_os = "linux")]
        if dir == Dir::Write {
            if let Some(u) = self.reactor.completion_sends() {
                return crate::completion::send_blocked(u, &self.source);
            }
        }
        let _ = dir;
        false
    }

    /// Stateless readiness check: ready now (by `poll(2)`), or wait for the next event.
    fn poll_ready(&self, dir: Dir, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let tick = self.source.tick(dir);
        if !self.send_blocked(dir)
            && source::ready_now(self.get_ref().as_source(), dir == Dir::Write)?
        {
            return Poll::Ready(Ok(()));
        }
        let mut st = lock(&self.source.state);
        if self.source.tick(dir) != tick {
            return Poll::Ready(Ok(()));
        }
        st[dir.index()].waker = Some(cx.waker().clone());
        drop(st);
        self.reactor.rearm(&self.source, dir)?;
        Poll::Pending
    }
}

fn unsupported() -> io::Error {
    io::Error::new(
        io::ErrorKind::Unsupported,
        "completion operations need the io_uring backend with a provided-buffer ring",
    )
}

fn no_reactor() -> io::Error {
    io::Error::other("no tulip reactor: create I/O objects inside a running tulip event loop")
}

#[cfg(unix)]
impl<T: std::os::fd::AsFd> std::os::fd::AsFd for Async<T> {
    fn as_fd(&self) -> std::os::fd::BorrowedFd<'_> {
        self.get_ref().as_fd()
    }
}

#[cfg(unix)]
impl<T: std::os::fd::AsFd> std::os::fd::AsRawFd for Async<T> {
    fn as_raw_fd(&self) -> std::os::fd::RawFd {
        self.source.fd
    }
}

#[cfg(windows)]
impl<T: std::os::windows::io::AsSocket> std::os::windows::io::AsSocket for Async<T> {
    fn as_socket(&self) -> std::os::windows::io::BorrowedSocket<'_> {
        self.get_ref().as_socket()
    }
}

#[cfg(windows)]
impl<T: std::os::windows::io::AsSocket> std::os::windows::io::AsRawSocket for Async<T> {
    fn as_raw_socket(&self) -> std::os::windows::io::RawSocket {
        self.source.fd
    }
}

impl<T: AsSource> Drop for Async<T> {
    fn drop(&mut self) {
        if self.io.is_some() {
            // Deregister before the fd closes (when `io` drops right after).
            let _ = self.reactor.deregister(&self.source);
        }
    }
}

enum ReadyState {
    Start,
    Waiting { tick: u64, id: Option<u64> },
    Done,
}

/// Future of [`Async::readable`] and [`Async::writable`]: completes when the object is ready
/// in that direction (or may be: events can be spurious, so the operation that follows must
/// still handle `WouldBlock`). Any number of these may wait on one object at once.
#[must_use = "futures do nothing unless polled"]
pub struct Readiness<'a, T: AsSource> {
    io: &'a Async<T>,
    dir: Dir,
    state: ReadyState,
}

impl<T: AsSource> fmt::Debug for Readiness<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Readiness")
            .field("readable", &(self.dir == Dir::Read))
            .finish()
    }
}

impl<T: AsSource> Future for Readiness<'_, T> {
    type Output = io::Result<()>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let source = &this.io.source;
        let dir = this.dir;
        let tick = match this.state {
            ReadyState::Done => return Poll::Ready(Ok(())),
            ReadyState::Start => {
                let tick = source.tick(dir);
                if !this.io.send_blocked(dir)
                    && source::ready_now(this.io.get_ref().as_source(), dir == Dir::Write)?
                {
                    this.state = ReadyState::Done;
                    return Poll::Ready(Ok(()));
                }
                this.state = ReadyState::Waiting { tick, id: None };
                tick
            }
            ReadyState::Waiting { tick, .. } => tick,
        };
        let mut st = lock(&source.state);
        if source.tick(dir) != tick {
            if let ReadyState::Waiting { id: Some(id), .. } = this.state {
                st[dir.index()].waiters.retain(|(i, _)| *i != id);
            }
            this.state = ReadyState::Done;
            return Poll::Ready(Ok(()));
        }
        let d = &mut st[dir.index()];
        match &mut this.state {
            ReadyState::Waiting { id: Some(id), .. } => {
                let id = *id;
                match d.waiters.iter_mut().find(|(i, _)| *i == id) {
                    Some((_, w)) => w.clone_from(cx.waker()),
                    None => d.waiters.push((id, cx.waker().clone())),
                }
            }
            ReadyState::Waiting { id, .. } => {
                let new = d.next_id;
                d.next_id += 1;
                d.waiters.push((new, cx.waker().clone()));
                *id = Some(new);
            }
            _ => unreachable!("state is Waiting here"),
        }
        drop(st);
        this.io.reactor.rearm(source, dir)?;
        this.io.reactor.note(crate::reactor::WaitNote::Io {
            fd: source.fd,
            write: dir == Dir::Write,
        });
        Poll::Pending
    }
}

impl<T: AsSource> Drop for Readiness<'_, T> {
    fn drop(&mut self) {
        if let ReadyState::Waiting { id: Some(id), .. } = self.state {
            lock(&self.io.source.state)[self.dir.index()]
                .waiters
                .retain(|(i, _)| *i != id);
        }
    }
}

impl<T: AsSource> AsyncRead for Async<T>
where
    for<'a> &'a T: Read,
{
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        self.poll_read_with(cx, |mut io| io.read(buf))
    }

    fn poll_read_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &mut [io::IoSliceMut<'_>],
    ) -> Poll<io::Result<usize>> {
        self.poll_read_with(cx, |mut io| io.read_vectored(bufs))
    }
}

impl<T: AsSource> AsyncRead for &Async<T>
where
    for<'a> &'a T: Read,
{
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        self.poll_read_with(cx, |mut io| io.read(buf))
    }
}

impl<T: AsSource> AsyncWrite for Async<T>
where
    for<'a> &'a T: Write,
{
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.poll_write_with(cx, |mut io| io.write(buf))
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        self.poll_write_with(cx, |mut io| io.write_vectored(bufs))
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.poll_write_with(cx, |mut io| io.flush())
    }

    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.poll_flush(cx)
    }
}

impl<T: AsSource> AsyncWrite for &Async<T>
where
    for<'a> &'a T: Write,
{
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.poll_write_with(cx, |mut io| io.write(buf))
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.poll_write_with(cx, |mut io| io.flush())
    }

    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.poll_flush(cx)
    }
}
