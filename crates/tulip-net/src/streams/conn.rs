//! The connection core shared by a `StreamReader`/`StreamWriter` pair: the raw stream, the
//! write buffer with its flow control, the background flusher, and the close protocol.
//!
//! # How writes move
//!
//! `write` never waits. With nothing buffered it sends at once (one system call, which on
//! an idle connection takes all of a small write); only what the kernel did not take is
//! appended to the buffer, and then a flusher task (spawned the first time a connection needs
//! one, kept, idle, until the writer goes) sends the rest as the socket drains. So a `write`
//! that is never followed by `drain` still reaches the peer, as in asyncio, where the loop
//! flushes transports.
//!
//! Flow control is asyncio's: above the high-water mark the writer is *paused* and `drain`
//! waits; once the flusher brings the buffer down to the low-water mark, it resumes them all.
//!
//! # Closing
//!
//! - `close`: stop accepting writes, flush what is buffered, then shut both directions down
//!   (our reader sees end of stream, the peer gets FIN); `wait_closed` then returns.
//! - `abort`: discard the buffer and shut down (a TCP reset) at once.
//! - dropping the writer: flush, then shut the write side down (the peer reads end of
//!   stream; our reader goes on).
//! - an I/O error on either side loses the connection: the buffer is discarded, `drain` and
//!   `wait_closed` return the error.
//!
//! The state lives behind one mutex; the flusher and `write` hold it across their
//! non-blocking system calls (so concurrent writers never interleave bytes), and wakers are
//! woken after it is released.
//!
//! # TLS (feature `tls`)
//!
//! A connection always starts plain; TLS is put *over* its raw stream, in place, by
//! `start_tls` (which `open_connection`, `start_server` and `StreamWriter::start_tls` all go
//! through): the session sits in a `OnceLock` beside the raw stream and borrows it for each
//! call, so the reader and the writer that exist keep working, now through the session. A
//! plain connection pays one load of that cell per read or write.
//!
//! The upgrade: writes made meanwhile are held back (`WriteState::held`), what was buffered
//! before is flushed in the clear, the bytes the reader had already read go to the
//! handshake first, then the session is installed and the held writes go out encrypted.
//!
//! With TLS, a write can leave encrypted records in the session (its *backlog*) even when the
//! connection's own buffer is empty: the flusher sends them too. Every way of closing sends
//! `close_notify` after the data and before the socket's shutdown, and the flusher gives that
//! at most the session's shutdown timeout before it aborts the connection.

use std::io;
use std::net::Shutdown;
use std::sync::atomic::{AtomicBool, Ordering};
#[cfg(feature = "tls")]
use std::sync::OnceLock;
use std::sync::{Arc, Mutex, Weak};
use std::task::{Context, Poll, Waker};

use tulip_executor::Spawner;

use super::raw::RawStream;
use super::server::ServerLink;
use crate::addr::SockAddr;
#[cfg(feature = "tls")]
use crate::tls::{handshake, session::Session, TlsError, TlsInfo, TlsOptions};

/// asyncio's default write high-water mark (`64 * 1024`).
pub(crate) const DEFAULT_HIGH: usize = 64 * 1024;

use tulip_util::lock;

/// Why a connection was lost, kept so that every later caller gets an equal `io::Error`.
#[derive(Debug, Clone)]
pub(crate) struct Lost {
    kind: io::ErrorKind,
    raw: Option<i32>,
    msg: String,
    /// A TLS failure, given back as itself (so `TlsError::from_io` finds it).
    #[cfg(feature = "tls")]
    tls: Option<TlsError>,
}

impl Lost {
    pub(crate) fn from_error(e: &io::Error) -> Lost {
        Lost {
            kind: e.kind(),
            raw: e.raw_os_error(),
            msg: e.to_string(),
            #[cfg(feature = "tls")]
            tls: TlsError::from_io(e).cloned(),
        }
    }

    pub(crate) fn new(kind: io::ErrorKind, msg: &str) -> Lost {
        Lost {
            kind,
            raw: None,
            msg: msg.to_string(),
            #[cfg(feature = "tls")]
            tls: None,
        }
    }

    pub(crate) fn to_error(&self) -> io::Error {
        #[cfg(feature = "tls")]
        if let Some(t) = &self.tls {
            return t.clone().into();
        }
        match self.raw {
            Some(code) => io::Error::from_raw_os_error(code),
            None => io::Error::new(self.kind, self.msg.clone()),
        }
    }
}

/// How far the close steps got.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Step {
    /// The writer side is finished (closed, or shut after the writer went).
    Finished,
    /// Nothing more to do until the writer asks.
    Open,
    /// Waiting for the socket to take a `close_notify` (TLS only).
    Blocked,
}

/// Wakers waiting for one condition, each future keeping its place by id.
#[derive(Debug, Default)]
pub(crate) struct WaitList {
    waiters: Vec<(u64, Waker)>,
    next: u64,
}

impl WaitList {
    /// Registers (or refreshes) the waker of the future whose id is in `id`.
    pub(crate) fn register(&mut self, id: &mut Option<u64>, waker: &Waker) {
        if let Some(i) = *id {
            if let Some((_, w)) = self.waiters.iter_mut().find(|(k, _)| *k == i) {
                if !w.will_wake(waker) {
                    w.clone_from(waker);
                }
                return;
            }
        }
        let i = self.next;
        self.next += 1;
        self.waiters.push((i, waker.clone()));
        *id = Some(i);
    }

    /// Forgets the future whose id is in `id`.
    pub(crate) fn remove(&mut self, id: &mut Option<u64>) {
        if let Some(i) = id.take() {
            self.waiters.retain(|(k, _)| *k != i);
        }
    }

    /// Moves every waker to `out` (their futures re-register if they must wait again).
    pub(crate) fn take_all(&mut self, out: &mut Vec<Waker>) {
        out.extend(self.waiters.drain(..).map(|(_, w)| w));
    }
}

/// Where the background flusher is.
#[derive(Debug)]
enum Flusher {
    /// Never needed yet.
    NotSpawned,
    /// Sending, or waiting for the socket to take more.
    Running,
    /// Waiting for `write` to buffer something (its waker).
    Idle(Waker),
    /// Gone: the writer is gone or the connection closed.
    Done,
}

/// Where end of stream is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Eof {
    None,
    /// `write_eof` was called; sent once the buffer is flushed.
    Pending,
    Sent,
}

/// The writer's state.
#[derive(Debug)]
pub(crate) struct WriteState {
    /// Bytes not yet sent: `buf[start..]`.
    buf: Vec<u8>,
    start: usize,
    high: usize,
    low: usize,
    /// Above the high-water mark and not yet back to the low one: `drain` waits.
    paused: bool,
    drainers: WaitList,
    /// Waiting for the buffer to be empty (`flush`, `sendfile`).
    emptiers: WaitList,
    /// Waiting for the close to complete (`wait_closed`).
    closers: WaitList,
    flusher: Flusher,
    eof: Eof,
    /// `close` or `abort` was called.
    closing: bool,
    /// How the connection ended: `Ok` after our close, `Err` when it was lost.
    closed: Option<Result<(), Lost>>,
    /// The first I/O error of either side (or an abort): later writes and drains fail.
    lost: Option<Lost>,
    /// Writes dropped because the connection was closing or lost (asyncio counts them).
    lost_writes: usize,
    writer_alive: bool,
    /// A TLS upgrade is under way: writes wait in `held` until the session is installed.
    #[cfg(feature = "tls")]
    upgrading: bool,
    #[cfg(feature = "tls")]
    held: Vec<u8>,
    /// The timer of a TLS close under way (the shutdown timeout), cancelled when it ends.
    #[cfg(feature = "tls")]
    shutdown_timer: Option<tulip_executor::Task<()>>,
}

impl WriteState {
    fn pending(&self) -> usize {
        self.buf.len() - self.start
    }

    /// After the buffer shrank: give memory back, resume drainers at the low-water mark.
    fn after_progress(&mut self, wake: &mut Vec<Waker>) {
        if self.start == self.buf.len() {
            self.buf.clear();
            self.start = 0;
            if self.buf.capacity() > 4 * self.high.max(DEFAULT_HIGH) {
                self.buf.shrink_to(self.high.max(DEFAULT_HIGH));
            }
        } else if self.start >= 64 * 1024 || self.start * 2 >= self.buf.len() {
            self.buf.drain(..self.start);
            self.start = 0;
        }
        if self.paused && self.pending() <= self.low {
            self.paused = false;
            self.drainers.take_all(wake);
        }
        if self.pending() == 0 {
            self.emptiers.take_all(wake);
        }
    }

    /// Records that the connection is lost: discard the buffer, wake everyone.
    fn lose(&mut self, lost: Lost, wake: &mut Vec<Waker>) {
        if self.lost.is_none() {
            self.lost = Some(lost.clone());
        }
        if self.closed.is_none() {
            self.closed = Some(Err(lost));
        }
        self.buf = Vec::new();
        self.start = 0;
        self.paused = false;
        self.wake_all(wake);
    }

    fn wake_all(&mut self, wake: &mut Vec<Waker>) {
        self.drainers.take_all(wake);
        self.emptiers.take_all(wake);
        self.closers.take_all(wake);
        match std::mem::replace(&mut self.flusher, Flusher::Done) {
            // An idle flusher wakes, sees `Done` and ends.
            Flusher::Idle(w) => wake.push(w),
            // A busy one sees the new state on its next poll.
            Flusher::Running => self.flusher = Flusher::Running,
            Flusher::NotSpawned | Flusher::Done => {}
        }
    }
}

/// One connection: the stream, its peer, and the writer's state.
pub(crate) struct Conn {
    pub(crate) io: Box<dyn RawStream>,
    /// The TLS session over `io`, once `start_tls` has installed one.
    #[cfg(feature = "tls")]
    tls: OnceLock<Session>,
    peer: Option<SockAddr>,
    w: Mutex<WriteState>,
    spawner: Option<Spawner>,
    /// Set once our `close` or `abort` has shut the connection down: our reader is then at end
    /// of stream (asyncio feeds EOF to the reader when the transport closes).
    shut: AtomicBool,
    /// The server this connection belongs to, told when the connection goes.
    link: Mutex<Option<ServerLink>>,
}

impl std::fmt::Debug for Conn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Conn")
            .field("peer", &self.peer)
            .finish_non_exhaustive()
    }
}

impl Drop for Conn {
    fn drop(&mut self) {
        if let Some(link) = lock(&self.link).take() {
            link.detach();
        }
    }
}

fn wake(wakers: Vec<Waker>) {
    for w in wakers {
        w.wake();
    }
}

impl Conn {
    pub(crate) fn new(io: Box<dyn RawStream>, peer: Option<SockAddr>) -> Arc<Conn> {
        Arc::new(Conn {
            io,
            #[cfg(feature = "tls")]
            tls: OnceLock::new(),
            peer,
            w: Mutex::new(WriteState {
                buf: Vec::new(),
                start: 0,
                high: DEFAULT_HIGH,
                low: DEFAULT_HIGH / 4,
                paused: false,
                drainers: WaitList::default(),
                emptiers: WaitList::default(),
                closers: WaitList::default(),
                flusher: Flusher::NotSpawned,
                eof: Eof::None,
                closing: false,
                closed: None,
                lost: None,
                lost_writes: 0,
                writer_alive: true,
                #[cfg(feature = "tls")]
                upgrading: false,
                #[cfg(feature = "tls")]
                held: Vec::new(),
                #[cfg(feature = "tls")]
                shutdown_timer: None,
            }),
            spawner: Spawner::current(),
            shut: AtomicBool::new(false),
            link: Mutex::new(None),
        })
    }

    pub(crate) fn set_link(&self, link: ServerLink) {
        *lock(&self.link) = Some(link);
    }

    /// Whether our own `close`/`abort` shut the connection down (the reader is at EOF).
    pub(crate) fn is_shut(&self) -> bool {
        self.shut.load(Ordering::Acquire)
    }

    pub(crate) fn peer(&self) -> Option<&SockAddr> {
        self.peer.as_ref()
    }

    /// Reads from the connection: through the TLS session when there is one.
    #[inline]
    pub(crate) fn poll_read(
        &self,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        #[cfg(feature = "tls")]
        if let Some(s) = self.tls.get() {
            return s.poll_read(&*self.io, cx, buf);
        }
        self.io.poll_read(cx, buf)
    }

    /// Writes to the connection: through the TLS session when there is one.
    #[inline]
    fn poll_write(&self, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        #[cfg(feature = "tls")]
        if let Some(s) = self.tls.get() {
            return s.poll_write(&*self.io, cx, buf);
        }
        self.io.poll_write(cx, buf)
    }

    /// Whether the TLS session holds records not yet handed to the socket.
    #[inline]
    fn backlog(&self) -> bool {
        #[cfg(feature = "tls")]
        if let Some(s) = self.tls.get() {
            return s.has_backlog();
        }
        false
    }

    /// Sends the TLS session's backlog.
    fn poll_flush_backlog(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        #[cfg(feature = "tls")]
        if let Some(s) = self.tls.get() {
            return s.poll_flush(&*self.io, cx);
        }
        let _ = cx;
        Poll::Ready(Ok(()))
    }

    /// Queues and sends the TLS `close_notify`, then waits until the stream's own sends are
    /// out (`RawStream::poll_flush`: io_uring's send in flight), so the shutdown that follows
    /// comes after every byte reported written.
    fn poll_close_notify(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        #[cfg(feature = "tls")]
        if let Some(s) = self.tls.get() {
            s.queue_close_notify();
            std::task::ready!(s.poll_flush(&*self.io, cx))?;
        }
        self.io.poll_flush(cx)
    }

    /// Whether the connection speaks TLS.
    pub(crate) fn is_tls(&self) -> bool {
        #[cfg(feature = "tls")]
        {
            self.tls.get().is_some()
        }
        #[cfg(not(feature = "tls"))]
        {
            false
        }
    }

    /// The reader saw an I/O error: the connection is lost for the writer too.
    pub(crate) fn lose(&self, e: &io::Error) {
        let mut wakers = Vec::new();
        lock(&self.w).lose(Lost::from_error(e), &mut wakers);
        wake(wakers);
    }

    /// Buffers `data`, sending at once what the socket takes (see the module docs).
    pub(crate) fn write(self: &Arc<Self>, data: &[u8]) {
        if data.is_empty() {
            return;
        }
        let mut wakers = Vec::new();
        let mut st = lock(&self.w);
        if st.closing || st.eof != Eof::None || st.lost.is_some() {
            st.lost_writes += 1;
            return;
        }
        #[cfg(feature = "tls")]
        if st.upgrading {
            st.held.extend_from_slice(data);
            return;
        }
        let mut rest = data;
        if st.pending() == 0 && !matches!(st.flusher, Flusher::Running) {
            let mut cx = Context::from_waker(Waker::noop());
            loop {
                match self.poll_write(&mut cx, rest) {
                    Poll::Ready(Ok(0)) => {
                        st.lose(
                            Lost::new(io::ErrorKind::WriteZero, "the stream took no bytes"),
                            &mut wakers,
                        );
                        drop(st);
                        wake(wakers);
                        return;
                    }
                    Poll::Ready(Ok(n)) => {
                        rest = &rest[n..];
                        if rest.is_empty() {
                            if !self.backlog() {
                                return;
                            }
                            // TLS records are left over: the flusher sends them.
                            break;
                        }
                    }
                    Poll::Ready(Err(e)) if e.kind() == io::ErrorKind::Interrupted => continue,
                    Poll::Ready(Err(e)) => {
                        st.lose(Lost::from_error(&e), &mut wakers);
                        drop(st);
                        wake(wakers);
                        return;
                    }
                    Poll::Pending => break,
                }
            }
        }
        st.buf.extend_from_slice(rest);
        if !st.paused && st.pending() > st.high {
            st.paused = true;
        }
        let spawn = Self::kick(&mut st, &mut wakers);
        drop(st);
        wake(wakers);
        if spawn {
            self.spawn_flusher();
        }
    }

    /// Sets the flusher going; returns whether it must be spawned.
    fn kick(st: &mut WriteState, wakers: &mut Vec<Waker>) -> bool {
        match std::mem::replace(&mut st.flusher, Flusher::Running) {
            Flusher::NotSpawned => true,
            Flusher::Idle(w) => {
                wakers.push(w);
                false
            }
            Flusher::Running => false,
            Flusher::Done => {
                st.flusher = Flusher::Done;
                false
            }
        }
    }

    fn spawn_flusher(self: &Arc<Self>) {
        let conn = self.clone();
        let fut = async move { std::future::poll_fn(|cx| conn.poll_flusher(cx)).await };
        match &self.spawner {
            Some(s) => s.spawn(fut).detach(),
            None => match Spawner::current() {
                Some(s) => s.spawn(fut).detach(),
                None => {
                    // No loop to flush on (the writer outlived it): the data cannot go out.
                    let mut wakers = Vec::new();
                    lock(&self.w).lose(
                        Lost::new(
                            io::ErrorKind::Other,
                            "no tulip event loop to send buffered data on",
                        ),
                        &mut wakers,
                    );
                    wake(wakers);
                }
            },
        }
    }

    /// The flusher task's body: send until the buffer is empty, then do what the close state
    /// asks, or wait for more.
    fn poll_flusher(&self, cx: &mut Context<'_>) -> Poll<()> {
        let mut wakers = Vec::new();
        let mut st = lock(&self.w);
        let res = loop {
            if st.lost.is_some() || matches!(st.flusher, Flusher::Done) {
                st.flusher = Flusher::Done;
                break Poll::Ready(());
            }
            if st.pending() > 0 {
                let start = st.start;
                match self.poll_write(cx, &st.buf[start..]) {
                    Poll::Ready(Ok(0)) => st.lose(
                        Lost::new(io::ErrorKind::WriteZero, "the stream took no bytes"),
                        &mut wakers,
                    ),
                    Poll::Ready(Ok(n)) => {
                        st.start += n;
                        st.after_progress(&mut wakers);
                    }
                    Poll::Ready(Err(e)) if e.kind() == io::ErrorKind::Interrupted => {}
                    Poll::Ready(Err(e)) => st.lose(Lost::from_error(&e), &mut wakers),
                    Poll::Pending => break Poll::Pending,
                }
                continue;
            }
            if self.backlog() {
                match self.poll_flush_backlog(cx) {
                    Poll::Ready(Ok(())) => {
                        st.after_progress(&mut wakers);
                    }
                    Poll::Ready(Err(e)) => st.lose(Lost::from_error(&e), &mut wakers),
                    Poll::Pending => break Poll::Pending,
                }
                continue;
            }
            match self.finish_pending_close(&mut st, &mut wakers, cx) {
                Step::Finished => {
                    st.flusher = Flusher::Done;
                    break Poll::Ready(());
                }
                Step::Blocked => break Poll::Pending,
                Step::Open => {
                    st.flusher = Flusher::Idle(cx.waker().clone());
                    break Poll::Pending;
                }
            }
        };
        drop(st);
        wake(wakers);
        res
    }

    /// With the buffer empty: send a requested EOF, complete a requested close, or shut the
    /// write side down for a dropped writer (each after a TLS `close_notify`). Says whether
    /// the writer side is finished, open, or waiting for the socket to take the
    /// `close_notify` (`cx` is then registered).
    fn finish_pending_close(
        &self,
        st: &mut WriteState,
        wakers: &mut Vec<Waker>,
        cx: &mut Context<'_>,
    ) -> Step {
        if st.eof == Eof::Pending {
            match self.poll_close_notify(cx) {
                Poll::Pending => return Step::Blocked,
                Poll::Ready(Err(e)) => {
                    st.lose(Lost::from_error(&e), wakers);
                    return Step::Finished;
                }
                Poll::Ready(Ok(())) => {}
            }
            st.eof = Eof::Sent;
            Self::disarm(st);
            if let Err(e) = self.io.shutdown(Shutdown::Write) {
                st.lose(Lost::from_error(&e), wakers);
                return Step::Finished;
            }
        }
        if st.closing {
            if st.closed.is_none() {
                // A close_notify that cannot be sent does not stop the close.
                if self.poll_close_notify(cx).is_pending() {
                    return Step::Blocked;
                }
                let _ = self.io.shutdown(Shutdown::Both);
                self.shut.store(true, Ordering::Release);
                st.closed = Some(Ok(()));
            }
            Self::disarm(st);
            st.wake_all(wakers);
            return Step::Finished;
        }
        if !st.writer_alive {
            if st.eof != Eof::Sent {
                if self.poll_close_notify(cx).is_pending() {
                    return Step::Blocked;
                }
                st.eof = Eof::Sent;
                let _ = self.io.shutdown(Shutdown::Write);
            }
            Self::disarm(st);
            return Step::Finished;
        }
        Step::Open
    }

    /// Cancels the shutdown timer of a TLS close that has finished.
    #[inline]
    fn disarm(st: &mut WriteState) {
        #[cfg(feature = "tls")]
        if let Some(t) = st.shutdown_timer.take() {
            t.cancel();
        }
        let _ = st;
    }

    /// Starts the shutdown timer of a TLS close that did not finish at once (once): past the
    /// session's shutdown timeout, a close that has not finished is aborted.
    fn arm(self: &Arc<Self>, st: &mut WriteState) {
        #[cfg(feature = "tls")]
        if let Some(session) = self.tls.get() {
            if st.shutdown_timer.is_some() || st.lost.is_some() {
                return;
            }
            let Some(spawner) = self.spawner.clone().or_else(Spawner::current) else {
                return;
            };
            let (conn, limit) = (Arc::downgrade(self), session.shutdown_timeout);
            st.shutdown_timer = Some(spawner.spawn(async move {
                tulip_reactor::sleep(limit).await;
                if let Some(conn) = conn.upgrade() {
                    conn.shutdown_timed_out(limit);
                }
            }));
        }
        let _ = st;
    }

    /// Runs the close steps now if no flusher is busy with the buffer; otherwise wakes the
    /// flusher, which runs them once the buffer is empty. Returns whether a flusher must be
    /// spawned (a TLS `close_notify` the socket did not take at once).
    #[must_use]
    fn settle(&self, st: &mut WriteState, wakers: &mut Vec<Waker>) -> bool {
        match std::mem::replace(&mut st.flusher, Flusher::Running) {
            Flusher::Running => false,
            Flusher::Idle(w) => {
                wakers.push(w);
                false
            }
            prev @ (Flusher::NotSpawned | Flusher::Done) => {
                st.flusher = prev;
                if st.pending() == 0 && !self.backlog() {
                    let mut cx = Context::from_waker(Waker::noop());
                    if self.finish_pending_close(st, wakers, &mut cx) != Step::Blocked {
                        return false;
                    }
                }
                Self::kick(st, wakers)
            }
        }
    }

    pub(crate) fn write_eof(self: &Arc<Self>) -> io::Result<()> {
        let mut wakers = Vec::new();
        let mut st = lock(&self.w);
        if let Some(l) = &st.lost {
            return Err(l.to_error());
        }
        if st.closing || st.eof != Eof::None {
            return Ok(());
        }
        st.eof = Eof::Pending;
        let spawn = self.settle(&mut st, &mut wakers);
        if st.eof == Eof::Pending {
            self.arm(&mut st);
        }
        drop(st);
        wake(wakers);
        if spawn {
            self.spawn_flusher();
        }
        Ok(())
    }

    pub(crate) fn close(self: &Arc<Self>) {
        let mut wakers = Vec::new();
        let mut st = lock(&self.w);
        let mut spawn = false;
        if !st.closing {
            st.closing = true;
            if st.lost.is_none() {
                spawn = self.settle(&mut st, &mut wakers);
                if st.closed.is_none() {
                    self.arm(&mut st);
                }
            }
        }
        drop(st);
        wake(wakers);
        if spawn {
            self.spawn_flusher();
        }
    }

    pub(crate) fn abort(&self) {
        let mut wakers = Vec::new();
        let mut st = lock(&self.w);
        st.closing = true;
        st.buf = Vec::new();
        st.start = 0;
        st.paused = false;
        if st.closed.is_none() {
            self.io.abort();
            self.shut.store(true, Ordering::Release);
            st.closed = Some(Ok(()));
        }
        if st.lost.is_none() {
            st.lost = Some(Lost::new(
                io::ErrorKind::ConnectionAborted,
                "the connection was aborted",
            ));
        }
        st.wake_all(&mut wakers);
        drop(st);
        wake(wakers);
    }

    /// The writer is gone: flush, then shut the write side down.
    pub(crate) fn writer_dropped(self: &Arc<Self>) {
        let mut wakers = Vec::new();
        let mut st = lock(&self.w);
        st.writer_alive = false;
        let mut spawn = false;
        if st.lost.is_none() {
            spawn = self.settle(&mut st, &mut wakers);
            if st.eof != Eof::Sent && st.lost.is_none() {
                self.arm(&mut st);
            }
        }
        drop(st);
        wake(wakers);
        if spawn {
            self.spawn_flusher();
        }
    }

    pub(crate) fn poll_drain(
        &self,
        cx: &mut Context<'_>,
        id: &mut Option<u64>,
    ) -> Poll<io::Result<()>> {
        let mut st = lock(&self.w);
        if let Some(l) = &st.lost {
            let e = l.to_error();
            st.drainers.remove(id);
            return Poll::Ready(Err(e));
        }
        if st.closing && st.closed.is_some() {
            // asyncio: a drain after the transport closed raises ConnectionResetError.
            st.drainers.remove(id);
            return Poll::Ready(Err(io::Error::new(
                io::ErrorKind::ConnectionReset,
                "the connection is closed",
            )));
        }
        if !st.paused {
            st.drainers.remove(id);
            return Poll::Ready(Ok(()));
        }
        st.drainers.register(id, cx.waker());
        Poll::Pending
    }

    pub(crate) fn forget_drain(&self, id: &mut Option<u64>) {
        lock(&self.w).drainers.remove(id);
    }

    /// Ready once everything buffered is handed to the OS.
    pub(crate) fn poll_flushed(
        &self,
        cx: &mut Context<'_>,
        id: &mut Option<u64>,
    ) -> Poll<io::Result<()>> {
        let mut st = lock(&self.w);
        if let Some(l) = &st.lost {
            let e = l.to_error();
            st.emptiers.remove(id);
            return Poll::Ready(Err(e));
        }
        if st.pending() == 0 && !self.backlog() {
            st.emptiers.remove(id);
            return Poll::Ready(Ok(()));
        }
        st.emptiers.register(id, cx.waker());
        Poll::Pending
    }

    pub(crate) fn forget_flushed(&self, id: &mut Option<u64>) {
        lock(&self.w).emptiers.remove(id);
    }

    pub(crate) fn poll_closed(
        &self,
        cx: &mut Context<'_>,
        id: &mut Option<u64>,
    ) -> Poll<io::Result<()>> {
        let mut st = lock(&self.w);
        match &st.closed {
            Some(Ok(())) => {
                st.closers.remove(id);
                Poll::Ready(Ok(()))
            }
            Some(Err(l)) => {
                let e = l.to_error();
                st.closers.remove(id);
                Poll::Ready(Err(e))
            }
            None => {
                st.closers.register(id, cx.waker());
                Poll::Pending
            }
        }
    }

    pub(crate) fn forget_closed(&self, id: &mut Option<u64>) {
        lock(&self.w).closers.remove(id);
    }

    pub(crate) fn is_closing(&self) -> bool {
        let st = lock(&self.w);
        st.closing || st.lost.is_some() || st.closed.is_some()
    }

    pub(crate) fn buffer_size(&self) -> usize {
        lock(&self.w).pending()
    }

    pub(crate) fn lost_writes(&self) -> usize {
        lock(&self.w).lost_writes
    }

    pub(crate) fn limits(&self) -> (usize, usize) {
        let st = lock(&self.w);
        (st.high, st.low)
    }

    /// asyncio's `set_write_buffer_limits`: `high` alone sets `low` to a quarter of it; `low`
    /// alone sets `high` to four times it.
    pub(crate) fn set_limits(&self, high: Option<usize>, low: Option<usize>) -> io::Result<()> {
        let (high, low) = match (high, low) {
            (None, None) => (DEFAULT_HIGH, DEFAULT_HIGH / 4),
            (Some(h), None) => (h, h / 4),
            (None, Some(l)) => (l.saturating_mul(4), l),
            (Some(h), Some(l)) => (h, l),
        };
        if low > high {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("high ({high}) must be >= low ({low}) must be >= 0"),
            ));
        }
        let mut wakers = Vec::new();
        let mut st = lock(&self.w);
        st.high = high;
        st.low = low;
        if !st.paused && st.pending() > high {
            st.paused = true;
        } else if st.paused && st.pending() <= low {
            st.paused = false;
            st.drainers.take_all(&mut wakers);
        }
        drop(st);
        wake(wakers);
        Ok(())
    }
}

#[cfg(feature = "tls")]
impl Conn {
    /// Puts TLS over the connection in place (see the module docs). `early` is what the
    /// reader had read and not returned: the handshake reads it first.
    pub(crate) async fn start_tls(
        self: &Arc<Self>,
        early: Vec<u8>,
        options: &TlsOptions,
    ) -> io::Result<()> {
        {
            let mut st = lock(&self.w);
            if let Some(l) = &st.lost {
                return Err(l.to_error());
            }
            if self.tls.get().is_some() || st.upgrading || st.closing || st.eof != Eof::None {
                return Err(TlsError::AlreadyTls.into());
            }
            st.upgrading = true;
        }
        // Dropped before the end (the caller's future was cancelled): the connection is in
        // no state to go on, so it is closed.
        struct Abandon<'a>(&'a Conn, bool);
        impl Drop for Abandon<'_> {
            fn drop(&mut self) {
                if !self.1 {
                    self.0.fail_upgrade(&io::Error::new(
                        io::ErrorKind::ConnectionAborted,
                        "the TLS upgrade was cancelled",
                    ));
                }
            }
        }
        let mut guard = Abandon(self, false);
        // What was written before the upgrade goes out in the clear first.
        let mut id = None;
        let flushed = std::future::poll_fn(|cx| self.poll_flushed(cx, &mut id)).await;
        self.forget_flushed(&mut id);
        let res = match flushed {
            Ok(()) => handshake::handshake(&*self.io, early, options).await,
            Err(e) => Err(e),
        };
        guard.1 = true;
        match res {
            Ok((tls, rest)) => {
                // Nobody else sets it: `upgrading` keeps a second upgrade out.
                let _ = self
                    .tls
                    .set(Session::new(tls, rest, options.shutdown_timeout));
                self.finish_upgrade();
                Ok(())
            }
            Err(e) => {
                self.fail_upgrade(&e);
                Err(e)
            }
        }
    }

    /// The session is in: send what was written meanwhile, through it.
    fn finish_upgrade(self: &Arc<Self>) {
        let mut wakers = Vec::new();
        let mut st = lock(&self.w);
        st.upgrading = false;
        let held = std::mem::take(&mut st.held);
        let mut spawn = false;
        if st.lost.is_none() && (!held.is_empty() || self.backlog()) {
            st.buf.extend_from_slice(&held);
            if !st.paused && st.pending() > st.high {
                st.paused = true;
            }
            spawn = Self::kick(&mut st, &mut wakers);
        }
        drop(st);
        wake(wakers);
        if spawn {
            self.spawn_flusher();
        }
    }

    /// The upgrade failed: the connection is lost to `e` and shut down.
    fn fail_upgrade(&self, e: &io::Error) {
        let mut wakers = Vec::new();
        let mut st = lock(&self.w);
        st.upgrading = false;
        st.held = Vec::new();
        st.lose(Lost::from_error(e), &mut wakers);
        let _ = self.io.shutdown(Shutdown::Both);
        self.shut.store(true, Ordering::Release);
        drop(st);
        wake(wakers);
    }

    /// The shutdown timer fired: a close still under way is aborted, and `wait_closed` says
    /// why.
    fn shutdown_timed_out(&self, limit: std::time::Duration) {
        let mut wakers = Vec::new();
        let mut st = lock(&self.w);
        st.shutdown_timer = None;
        let unfinished = (st.closing && st.closed.is_none())
            || st.eof == Eof::Pending
            || (!st.writer_alive && st.eof != Eof::Sent && !st.closing);
        if !unfinished || st.lost.is_some() {
            return;
        }
        let e: io::Error = TlsError::ShutdownTimeout(limit).into();
        st.lose(Lost::from_error(&e), &mut wakers);
        self.io.abort();
        self.shut.store(true, Ordering::Release);
        drop(st);
        wake(wakers);
    }

    /// What `get_extra_info("ssl_object")` would say; `None` on a plain connection.
    pub(crate) fn tls_info(&self) -> Option<TlsInfo> {
        self.tls.get().map(Session::info)
    }
}

/// A weak handle the server keeps to each of its connections.
pub(crate) type WeakConn = Weak<Conn>;
