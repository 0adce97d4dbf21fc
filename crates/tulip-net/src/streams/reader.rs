//! [`StreamReader`]: asyncio's buffered reading side of a connection.

use std::fmt;
use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};

use futures_core::Stream;

use super::conn::{Conn, Lost};
use super::error::ReadError;

/// asyncio's default limit (`2 ** 16`).
pub const DEFAULT_LIMIT: usize = 64 * 1024;

/// The first read of a connection asks for this much; each read that fills its request
/// doubles the next one, up to the reader's limit (or `MAX_READ`, whichever is smaller).
const FIRST_READ: usize = 4 * 1024;
const MAX_READ: usize = 256 * 1024;

/// The reading side of a connection, with asyncio's `StreamReader` API and rules.
///
/// Data is read from the connection only when a read needs it, into one buffer. The
/// *limit* (64 KiB by default) bounds the separator search of [`readuntil`] and
/// [`readline`]: a line longer than the limit is a [`ReadError::LimitOverrun`], and the buffer
/// never grows much past twice the limit looking for one, whatever the peer sends.
///
/// A reader can also stand alone, fed by hand ([`feed_data`], [`feed_eof`], or a
/// [`StreamFeeder`] from another task) — asyncio's `StreamReader()` — which is how parsers are
/// tested without a socket.
///
/// One read at a time: the methods take `&mut self` (asyncio raises `RuntimeError` for a
/// second concurrent reader). `StreamReader` also implements `futures_io::AsyncRead` and
/// `AsyncBufRead`, and [`lines`](Self::lines) is a `Stream`.
///
/// # Examples
///
/// ```
/// use tulip_net::streams::StreamReader;
///
/// tulip_runtime::run(async {
///     let mut r = StreamReader::from_bytes(b"GET / HTTP/1.1\r\nHost: x\r\n\r\nbody");
///     assert_eq!(r.readline().await.unwrap(), b"GET / HTTP/1.1\r\n");
///     assert_eq!(r.readuntil(b"\r\n\r\n").await.unwrap(), b"Host: x\r\n\r\n");
///     assert_eq!(r.readexactly(4).await.unwrap(), b"body");
///     assert!(r.at_eof());
/// });
/// ```
///
/// [`readuntil`]: Self::readuntil
/// [`readline`]: Self::readline
/// [`feed_data`]: Self::feed_data
/// [`feed_eof`]: Self::feed_eof
pub struct StreamReader {
    conn: Option<Arc<Conn>>,
    feed: Option<Arc<Mutex<Feed>>>,
    /// Initialised storage; the unread data is `buf[start..end]`.
    buf: Vec<u8>,
    start: usize,
    end: usize,
    limit: usize,
    /// The size of the next read from the connection.
    next_read: usize,
    eof: bool,
    error: Option<Lost>,
}

impl fmt::Debug for StreamReader {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StreamReader")
            .field("buffered", &self.buffered())
            .field("limit", &self.limit)
            .field("eof", &self.eof)
            .field("error", &self.error.is_some())
            .finish_non_exhaustive()
    }
}

/// What a [`StreamFeeder`] hands over.
#[derive(Debug, Default)]
struct Feed {
    data: Vec<u8>,
    eof: bool,
    error: Option<Lost>,
    waker: Option<Waker>,
}

/// Feeds a stand-alone [`StreamReader`] from anywhere (another task, a callback, another
/// thread): asyncio's `feed_data`/`feed_eof`/`set_exception` as called by a protocol.
///
/// # Examples
///
/// ```
/// use tulip_net::streams::StreamReader;
///
/// tulip_runtime::run(async {
///     let mut reader = StreamReader::new();
///     let feeder = reader.feeder();
///     tulip_executor::spawn(async move {
///         feeder.feed_data(b"hello ");
///         tulip_executor::yield_now().await;
///         feeder.feed_data(b"world\n");
///         feeder.feed_eof();
///     })
///     .detach();
///     assert_eq!(reader.readline().await.unwrap(), b"hello world\n");
///     assert_eq!(reader.readline().await.unwrap(), b"");
/// });
/// ```
#[derive(Debug, Clone)]
pub struct StreamFeeder {
    feed: Arc<Mutex<Feed>>,
}

fn lock_feed(m: &Mutex<Feed>) -> std::sync::MutexGuard<'_, Feed> {
    tulip_util::lock(m)
}

impl StreamFeeder {
    /// Appends bytes for the reader.
    pub fn feed_data(&self, data: &[u8]) {
        if data.is_empty() {
            return;
        }
        let mut f = lock_feed(&self.feed);
        if f.eof {
            return;
        }
        f.data.extend_from_slice(data);
        if let Some(w) = f.waker.take() {
            drop(f);
            w.wake();
        }
    }

    /// Ends the stream (after what was fed).
    pub fn feed_eof(&self) {
        let mut f = lock_feed(&self.feed);
        f.eof = true;
        if let Some(w) = f.waker.take() {
            drop(f);
            w.wake();
        }
    }

    /// Makes every later read fail with `error` (asyncio's `set_exception`).
    pub fn set_exception(&self, error: &io::Error) {
        let mut f = lock_feed(&self.feed);
        f.error = Some(Lost::from_error(error));
        if let Some(w) = f.waker.take() {
            drop(f);
            w.wake();
        }
    }
}

impl Default for StreamReader {
    fn default() -> StreamReader {
        StreamReader::new()
    }
}

impl StreamReader {
    /// A stand-alone reader with the default limit, fed by hand.
    pub fn new() -> StreamReader {
        StreamReader::build(None, DEFAULT_LIMIT)
    }

    /// A stand-alone reader with its own limit.
    ///
    /// # Errors
    ///
    /// `InvalidInput` for a limit of 0 (asyncio: "Limit cannot be <= 0").
    pub fn with_limit(limit: usize) -> io::Result<StreamReader> {
        check_limit(limit)?;
        Ok(StreamReader::build(None, limit))
    }

    /// A stand-alone reader holding `data`, then end of stream.
    pub fn from_bytes(data: &[u8]) -> StreamReader {
        let mut r = StreamReader::new();
        r.feed_data(data);
        r.feed_eof();
        r
    }

    pub(crate) fn build(conn: Option<Arc<Conn>>, limit: usize) -> StreamReader {
        StreamReader {
            conn,
            feed: None,
            buf: Vec::new(),
            start: 0,
            end: 0,
            limit,
            next_read: FIRST_READ.min(limit),
            eof: false,
            error: None,
        }
    }

    /// For `start_tls`: checks that this reader reads `conn` and can still be upgraded, and
    /// takes what it has read and not returned (the peer's first TLS bytes, maybe).
    #[cfg(feature = "tls")]
    pub(crate) fn take_for_tls(&mut self, conn: &Arc<Conn>) -> io::Result<Vec<u8>> {
        if !self.conn.as_ref().is_some_and(|c| Arc::ptr_eq(c, conn)) {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "start_tls needs the StreamReader of the same connection as the writer",
            ));
        }
        if let Some(l) = &self.error {
            return Err(l.to_error());
        }
        if self.eof {
            return Err(crate::tls::TlsError::HandshakeEof.into());
        }
        let early = self.take_all();
        self.next_read = FIRST_READ.min(self.limit);
        Ok(early)
    }

    /// Takes the connection and the unread bytes out of the reader (`Err(self)` without one).
    pub(crate) fn split_conn(mut self) -> Result<(Arc<Conn>, Vec<u8>), Box<StreamReader>> {
        match self.conn.take() {
            Some(conn) => {
                let rest = self.take_all();
                Ok((conn, rest))
            }
            None => Err(Box::new(self)),
        }
    }

    /// A handle to feed this reader from elsewhere (see [`StreamFeeder`]).
    pub fn feeder(&mut self) -> StreamFeeder {
        let feed = self
            .feed
            .get_or_insert_with(|| Arc::new(Mutex::new(Feed::default())))
            .clone();
        StreamFeeder { feed }
    }

    /// Appends bytes to the buffer, as if they had arrived (asyncio's `feed_data`).
    pub fn feed_data(&mut self, data: &[u8]) {
        if self.eof || data.is_empty() {
            return;
        }
        self.reserve(data.len());
        self.buf[self.end..self.end + data.len()].copy_from_slice(data);
        self.end += data.len();
    }

    /// Marks the end of the stream after what is buffered (asyncio's `feed_eof`).
    pub fn feed_eof(&mut self) {
        self.eof = true;
    }

    /// Makes every later read fail with `error` (asyncio's `set_exception`).
    pub fn set_exception(&mut self, error: &io::Error) {
        self.error = Some(Lost::from_error(error));
    }

    /// The limit.
    pub fn limit(&self) -> usize {
        self.limit
    }

    /// How many bytes are buffered, read from the connection but not yet returned.
    pub fn buffered(&self) -> usize {
        self.end - self.start
    }

    /// The buffered bytes, without consuming them.
    pub fn buffer(&self) -> &[u8] {
        &self.buf[self.start..self.end]
    }

    /// End of stream has been reached and the buffer is empty (asyncio's `at_eof`). Closing
    /// the connection through its writer puts the reader at end of stream too.
    pub fn at_eof(&self) -> bool {
        self.start == self.end && (self.eof || self.conn.as_ref().is_some_and(|c| c.is_shut()))
    }

    /// The memory the buffer holds, in bytes (at most about twice the limit while a line or
    /// separator is searched for, whatever the peer sends).
    pub fn capacity(&self) -> usize {
        self.buf.capacity()
    }

    /// Whether end of stream has been seen (data may still be buffered).
    pub fn eof_received(&self) -> bool {
        self.eof
    }

    /// The error stored by a failed read or [`set_exception`](Self::set_exception).
    pub fn exception(&self) -> Option<io::Error> {
        self.error.as_ref().map(Lost::to_error)
    }

    // ----- buffer management -----

    /// Makes room for `n` more bytes after `end`.
    fn reserve(&mut self, n: usize) {
        if self.start == self.end {
            self.start = 0;
            self.end = 0;
            // A large buffer left by a big read is given back once it is empty.
            if self.buf.len() > 2 * self.limit.max(MAX_READ) && n <= MAX_READ {
                self.buf = Vec::new();
            }
        }
        if self.buf.len() - self.end >= n {
            return;
        }
        if self.start > 0 {
            self.buf.copy_within(self.start..self.end, 0);
            self.end -= self.start;
            self.start = 0;
            if self.buf.len() - self.end >= n {
                return;
            }
        }
        let want = self.end + n;
        // Double to amortise, but never past twice the limit unless one request needs more
        // (a `readexactly` larger than that), so a separator search stays within bounds.
        let doubled = self
            .buf
            .len()
            .saturating_mul(2)
            .min(2 * self.limit.max(FIRST_READ));
        let new_len = want.max(doubled).max(FIRST_READ);
        self.buf.reserve_exact(new_len - self.buf.len());
        self.buf.resize(new_len, 0);
    }

    fn consume(&mut self, n: usize) {
        self.start += n;
        debug_assert!(self.start <= self.end);
        if self.start == self.end {
            self.start = 0;
            self.end = 0;
        }
    }

    fn take(&mut self, n: usize) -> Vec<u8> {
        let v = self.buf[self.start..self.start + n].to_vec();
        self.consume(n);
        v
    }

    fn take_all(&mut self) -> Vec<u8> {
        self.take(self.buffered())
    }

    fn check_error(&self) -> Result<(), ReadError> {
        match &self.error {
            Some(l) => Err(ReadError::Io(l.to_error())),
            None => Ok(()),
        }
    }

    /// Reads more data into the buffer: at least `want` bytes of room are made. Ready with
    /// `Ok(())` once data arrived or end of stream was seen.
    fn poll_fill(&mut self, cx: &mut Context<'_>, want: usize) -> Poll<io::Result<()>> {
        if let Some(feed) = &self.feed {
            let mut f = lock_feed(feed);
            if let Some(l) = f.error.take() {
                drop(f);
                self.error = Some(l.clone());
                return Poll::Ready(Err(l.to_error()));
            }
            if !f.data.is_empty() {
                let data = std::mem::take(&mut f.data);
                let eof = f.eof;
                drop(f);
                self.feed_data(&data);
                self.eof |= eof;
                return Poll::Ready(Ok(()));
            }
            if f.eof {
                drop(f);
                self.eof = true;
                return Poll::Ready(Ok(()));
            }
            if self.conn.is_none() {
                f.waker = Some(cx.waker().clone());
                return Poll::Pending;
            }
        }
        let Some(conn) = self.conn.clone() else {
            // A stand-alone reader with no feeder and no EOF: nothing can ever arrive.
            return Poll::Ready(Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "this stand-alone StreamReader has no feeder and no end of stream: feed_data \
                 and feed_eof it, or read through a feeder()",
            )));
        };
        if conn.is_shut() {
            // Our writer closed the connection: what the kernel still holds is discarded,
            // as asyncio's closed transport discards it.
            self.eof = true;
            return Poll::Ready(Ok(()));
        }
        let n = self.next_read.max(want).max(1);
        self.reserve(n);
        let end = self.end;
        match conn.poll_read(cx, &mut self.buf[end..end + n]) {
            Poll::Ready(Ok(0)) => {
                self.eof = true;
                Poll::Ready(Ok(()))
            }
            Poll::Ready(Ok(got)) => {
                self.end += got;
                if got == n && self.next_read < self.limit.min(MAX_READ) {
                    self.next_read = (self.next_read * 2).min(self.limit.min(MAX_READ));
                }
                Poll::Ready(Ok(()))
            }
            Poll::Ready(Err(e)) if e.kind() == io::ErrorKind::Interrupted => {
                cx.waker().wake_by_ref();
                Poll::Pending
            }
            Poll::Ready(Err(e)) => {
                conn.lose(&e);
                self.error = Some(Lost::from_error(&e));
                Poll::Ready(Err(e))
            }
            Poll::Pending => Poll::Pending,
        }
    }

    // ----- reads -----

    /// Reads up to `n` bytes: what is buffered, or else what the next read brings. An empty
    /// vector means end of stream (or `n == 0`). asyncio's `read(n)`; its `read(-1)` is
    /// [`read_to_end`](Self::read_to_end).
    ///
    /// # Errors
    ///
    /// The connection's error (also every later call).
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: bytes are only taken from the buffer in the poll that returns them.
    pub async fn read(&mut self, n: usize) -> io::Result<Vec<u8>> {
        std::future::poll_fn(|cx| self.poll_read_n(cx, n)).await
    }

    fn poll_read_n(&mut self, cx: &mut Context<'_>, n: usize) -> Poll<io::Result<Vec<u8>>> {
        self.check_error().map_err(io::Error::from)?;
        if n == 0 {
            return Poll::Ready(Ok(Vec::new()));
        }
        while self.buffered() == 0 && !self.eof {
            std::task::ready!(self.poll_fill(cx, 0))?;
        }
        let k = n.min(self.buffered());
        Poll::Ready(Ok(self.take(k)))
    }

    /// Reads everything up to end of stream.
    ///
    /// # Errors
    ///
    /// The connection's error; what was read before it stays buffered.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: what was read so far stays buffered for the next read.
    pub async fn read_to_end(&mut self) -> io::Result<Vec<u8>> {
        std::future::poll_fn(|cx| {
            self.check_error().map_err(io::Error::from)?;
            while !self.eof {
                std::task::ready!(self.poll_fill(cx, 0))?;
            }
            Poll::Ready(Ok(self.take_all()))
        })
        .await
    }

    /// Reads exactly `n` bytes (asyncio's `readexactly`).
    ///
    /// # Errors
    ///
    /// [`ReadError::IncompleteRead`] with what there was (no longer buffered) and
    /// `expected: Some(n)` when the stream ends first; [`ReadError::Io`] for the connection's
    /// error.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: the bytes stay buffered until all `n` are there.
    pub async fn readexactly(&mut self, n: usize) -> Result<Vec<u8>, ReadError> {
        std::future::poll_fn(|cx| self.poll_readexactly(cx, n)).await
    }

    fn poll_readexactly(
        &mut self,
        cx: &mut Context<'_>,
        n: usize,
    ) -> Poll<Result<Vec<u8>, ReadError>> {
        self.check_error()?;
        if n == 0 {
            return Poll::Ready(Ok(Vec::new()));
        }
        while self.buffered() < n {
            if self.eof {
                let partial = self.take_all();
                return Poll::Ready(Err(ReadError::IncompleteRead {
                    partial,
                    expected: Some(n),
                }));
            }
            let missing = n - self.buffered();
            std::task::ready!(self.poll_fill(cx, missing))?;
        }
        Poll::Ready(Ok(self.take(n)))
    }

    /// Reads up to and including `separator` (asyncio's `readuntil`).
    ///
    /// # Errors
    ///
    /// - [`ReadError::LimitOverrun`] when no separator appears within the limit, or one
    ///   appears only after it: the data stays buffered (read it with [`read`](Self::read),
    ///   say).
    /// - [`ReadError::IncompleteRead`] (`expected: None`) with everything buffered when the
    ///   stream ends first; the buffer is then empty.
    /// - [`ReadError::Io`]: the connection's error, or `InvalidInput` for an empty separator.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: the data stays buffered until a separator is found.
    pub async fn readuntil(&mut self, separator: &[u8]) -> Result<Vec<u8>, ReadError> {
        self.readuntil_any(&[separator]).await
    }

    /// Reads up to and including the first of several separators (asyncio 3.13's
    /// `readuntil` with a tuple): the match that ends earliest wins, so the shortest result is
    /// returned.
    ///
    /// # Errors
    ///
    /// As [`readuntil`](Self::readuntil); an empty list or an empty separator is
    /// `InvalidInput`.
    ///
    /// # Cancel safety
    ///
    /// As [`readuntil`](Self::readuntil).
    pub async fn readuntil_any(&mut self, separators: &[&[u8]]) -> Result<Vec<u8>, ReadError> {
        if separators.is_empty() || separators.iter().any(|s| s.is_empty()) {
            return Err(ReadError::Io(io::Error::new(
                io::ErrorKind::InvalidInput,
                "a separator must contain at least one byte",
            )));
        }
        let mut offset = 0;
        std::future::poll_fn(|cx| self.poll_until(cx, separators, &mut offset)).await
    }

    /// Reads one line, `\n` included (asyncio's `readline`). At end of stream the last,
    /// unterminated line comes back as it is, and after it an empty vector.
    ///
    /// # Errors
    ///
    /// - [`ReadError::LimitOverrun`] for a line longer than the limit: what was buffered of it
    ///   is discarded — through its `\n` when that has arrived, otherwise all of it (the rest
    ///   of the line is then returned by the next reads).
    /// - [`ReadError::Io`]: the connection's error.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: a partial line stays buffered.
    pub async fn readline(&mut self) -> Result<Vec<u8>, ReadError> {
        let mut offset = 0;
        std::future::poll_fn(|cx| self.poll_readline(cx, &mut offset)).await
    }

    fn poll_readline(
        &mut self,
        cx: &mut Context<'_>,
        offset: &mut usize,
    ) -> Poll<Result<Vec<u8>, ReadError>> {
        match std::task::ready!(self.poll_until(cx, &[b"\n"], offset)) {
            Ok(line) => Poll::Ready(Ok(line)),
            Err(ReadError::IncompleteRead { partial, .. }) => Poll::Ready(Ok(partial)),
            Err(ReadError::LimitOverrun { consumed }) => {
                if self.buffer().get(consumed) == Some(&b'\n') {
                    self.consume(consumed + 1);
                } else {
                    self.consume(self.buffered());
                }
                Poll::Ready(Err(ReadError::LimitOverrun { consumed }))
            }
            Err(e) => Poll::Ready(Err(e)),
        }
    }

    /// The search of `readuntil`, resumable: `offset` (how far the buffer has been searched)
    /// lives in the caller's future.
    fn poll_until(
        &mut self,
        cx: &mut Context<'_>,
        seps: &[&[u8]],
        offset: &mut usize,
    ) -> Poll<Result<Vec<u8>, ReadError>> {
        let min_len = seps.iter().map(|s| s.len()).min().unwrap_or(1);
        let max_len = seps.iter().map(|s| s.len()).max().unwrap_or(1);
        loop {
            self.check_error()?;
            let data = self.buffer();
            let buflen = data.len();
            if buflen >= *offset + min_len {
                let mut best: Option<(usize, usize)> = None;
                for sep in seps {
                    if let Some(i) = find(&data[*offset..], sep) {
                        let (s, e) = (*offset + i, *offset + i + sep.len());
                        if best.is_none_or(|(_, be)| e < be) {
                            best = Some((s, e));
                        }
                    }
                }
                if let Some((s, e)) = best {
                    if s > self.limit {
                        return Poll::Ready(Err(ReadError::LimitOverrun { consumed: s }));
                    }
                    return Poll::Ready(Ok(self.take(e)));
                }
                *offset = (buflen + 1).saturating_sub(max_len);
                if *offset > self.limit {
                    return Poll::Ready(Err(ReadError::LimitOverrun { consumed: *offset }));
                }
            }
            if self.eof {
                let partial = self.take_all();
                return Poll::Ready(Err(ReadError::IncompleteRead {
                    partial,
                    expected: None,
                }));
            }
            std::task::ready!(self.poll_fill(cx, 0))?;
        }
    }

    /// The lines of the stream, `\n` included, as a `Stream` (asyncio's `async for line in
    /// reader`); it ends after the last line.
    pub fn lines(&mut self) -> Lines<'_> {
        Lines {
            reader: self,
            offset: 0,
            done: false,
        }
    }
}

/// Finds `needle` in `hay` (SIMD-accelerated: a line search is a `memchr`).
fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    match needle {
        [] => Some(0),
        [b] => memchr::memchr(*b, hay),
        _ => memchr::memmem::find(hay, needle),
    }
}

fn check_limit(limit: usize) -> io::Result<()> {
    if limit == 0 {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "a StreamReader limit must be at least 1 byte",
        ));
    }
    Ok(())
}

pub(crate) fn valid_limit(limit: usize) -> io::Result<usize> {
    check_limit(limit).map(|()| limit)
}

/// The `Stream` of [`StreamReader::lines`].
#[must_use = "streams do nothing unless polled"]
#[derive(Debug)]
pub struct Lines<'a> {
    reader: &'a mut StreamReader,
    offset: usize,
    done: bool,
}

impl Stream for Lines<'_> {
    type Item = Result<Vec<u8>, ReadError>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        if this.done {
            return Poll::Ready(None);
        }
        let res = std::task::ready!(this.reader.poll_readline(cx, &mut this.offset));
        this.offset = 0;
        match res {
            Ok(line) if line.is_empty() => {
                this.done = true;
                Poll::Ready(None)
            }
            other => Poll::Ready(Some(other)),
        }
    }
}

impl futures_io::AsyncRead for StreamReader {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        out: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        if out.is_empty() {
            return Poll::Ready(Ok(0));
        }
        if let Some(l) = &this.error {
            return Poll::Ready(Err(l.to_error()));
        }
        if this.buffered() == 0 && !this.eof && this.feed.is_none() {
            if let Some(conn) = &this.conn {
                // Nothing buffered and a large read: straight into the caller's buffer.
                if out.len() >= this.next_read && !conn.is_shut() {
                    return match conn.poll_read(cx, out) {
                        Poll::Ready(Ok(0)) => {
                            this.eof = true;
                            Poll::Ready(Ok(0))
                        }
                        Poll::Ready(Err(e)) if e.kind() != io::ErrorKind::Interrupted => {
                            conn.lose(&e);
                            this.error = Some(Lost::from_error(&e));
                            Poll::Ready(Err(e))
                        }
                        other => other,
                    };
                }
            }
        }
        while this.buffered() == 0 && !this.eof {
            std::task::ready!(this.poll_fill(cx, 0))?;
        }
        let k = out.len().min(this.buffered());
        out[..k].copy_from_slice(&this.buf[this.start..this.start + k]);
        this.consume(k);
        Poll::Ready(Ok(k))
    }
}

impl futures_io::AsyncBufRead for StreamReader {
    fn poll_fill_buf(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<&[u8]>> {
        let this = self.get_mut();
        if let Some(l) = &this.error {
            return Poll::Ready(Err(l.to_error()));
        }
        while this.buffered() == 0 && !this.eof {
            std::task::ready!(this.poll_fill(cx, 0))?;
        }
        Poll::Ready(Ok(&this.buf[this.start..this.end]))
    }

    fn consume(self: Pin<&mut Self>, amt: usize) {
        let this = self.get_mut();
        let amt = amt.min(this.buffered());
        this.consume(amt);
    }
}

#[cfg(test)]
mod tests {
    use super::find;

    #[test]
    fn find_handles_every_position() {
        assert_eq!(find(b"abcabd", b"abd"), Some(3));
        assert_eq!(find(b"abcab", b"abd"), None);
        assert_eq!(find(b"\r\n\r\n", b"\r\n\r\n"), Some(0));
        assert_eq!(find(b"x\r\r\n", b"\r\n"), Some(2));
        assert_eq!(find(b"", b"\n"), None);
        assert_eq!(find(b"aaa", b"aaaa"), None);
    }
}
