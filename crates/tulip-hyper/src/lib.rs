//! hyper 1.x on tulip: hyper's runtime traits implemented for tulip's loop, timers and streams.
//!
//! hyper 1.x brings no runtime of its own; a program hands it three things, all here:
//!
//! | hyper needs | tulip-hyper gives | on |
//! |---|---|---|
//! | [`hyper::rt::Executor`] (HTTP/2 spawns a task per stream, the client its connection) | [`TulipExecutor`] | `tulip::spawn`, or a [`Spawner`] from any thread |
//! | [`hyper::rt::Timer`] + [`hyper::rt::Sleep`] (header-read timeout, HTTP/2 keep-alive, …) | [`TulipTimer`], [`TulipSleep`] | tulip's timers (`tulip::sleep_until`), virtual time included |
//! | [`hyper::rt::Read`] + [`hyper::rt::Write`] (the connection) | [`TulipIo`] | any futures-io `AsyncRead + AsyncWrite`: `tulip::net::TcpStream`, TLS streams, Unix streams |
//!
//! In the facade these are `tulip::hyper_rt` (feature `hyper`).
//!
//! # Examples
//!
//! An HTTP/1.1 server and a client on one loop:
//!
//! ```
//! use std::convert::Infallible;
//!
//! use http_body_util::{BodyExt, Empty, Full};
//! use hyper::body::Bytes;
//! use hyper::{Request, Response};
//! use tulip::net::{TcpListener, TcpStream};
//! use tulip_hyper::{TulipExecutor, TulipIo, TulipTimer};
//!
//! tulip::run(async {
//!     let listener = TcpListener::bind("127.0.0.1:0").await?;
//!     let addr = listener.local_addr()?;
//!     tulip::spawn(async move {
//!         let (stream, _) = listener.accept().await.unwrap();
//!         let hello = hyper::service::service_fn(|_req: Request<hyper::body::Incoming>| async {
//!             Ok::<_, Infallible>(Response::new(Full::new(Bytes::from("hello"))))
//!         });
//!         hyper::server::conn::http1::Builder::new()
//!             .timer(TulipTimer::new())
//!             .serve_connection(TulipIo::new(stream), hello)
//!             .await
//!             .unwrap();
//!     })
//!     .detach();
//!
//!     let stream = TcpStream::connect(addr).await?;
//!     let (mut sender, conn) = hyper::client::conn::http1::handshake(TulipIo::new(stream))
//!         .await
//!         .unwrap();
//!     tulip::spawn(conn).detach();
//!     let req = Request::get("/").body(Empty::<Bytes>::new()).unwrap();
//!     let res = sender.send_request(req).await.unwrap();
//!     let body = res.into_body().collect().await.unwrap().to_bytes();
//!     assert_eq!(body, "hello");
//!     let _ = TulipExecutor::new(); // what HTTP/2 builders take
//!     Ok::<_, std::io::Error>(())
//! })
//! .unwrap();
//! ```

#![forbid(unsafe_code)]

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::task::{ready, Context, Poll};
use std::time::{Duration, Instant as StdInstant};

use futures_io::{AsyncRead, AsyncWrite};
use hyper::rt::ReadBufCursor;
use tulip_executor::Spawner;
use tulip_reactor::Instant;

/// hyper's [`Executor`](hyper::rt::Executor) on tulip: each future hyper hands over becomes a
/// detached tulip task.
///
/// HTTP/2 needs one (`hyper::server::conn::http2::Builder::new(TulipExecutor::new())`): it
/// runs every stream's service future as a task of its own, and the HTTP/2 client its
/// connection's background work.
///
/// # Examples
///
/// ```
/// use hyper::rt::Executor;
/// use tulip_hyper::TulipExecutor;
///
/// let answer = tulip::run(async {
///     let (tx, rx) = tulip::channel::oneshot();
///     TulipExecutor::new().execute(async move {
///         let _ = tx.send(42);
///     });
///     rx.await.unwrap()
/// });
/// assert_eq!(answer, 42);
/// ```
#[derive(Clone, Debug, Default)]
pub struct TulipExecutor {
    spawner: Option<Spawner>,
}

impl TulipExecutor {
    /// Spawns on the tulip loop running on the thread that calls
    /// [`execute`](hyper::rt::Executor::execute) — hyper calls it from the connection's task,
    /// so that is the connection's loop.
    ///
    /// `execute` panics if no tulip loop runs on that thread; use [`TulipExecutor::on`] when
    /// hyper may be driven from elsewhere.
    pub fn new() -> TulipExecutor {
        TulipExecutor { spawner: None }
    }

    /// Spawns through `spawner` (an executor's [`Spawner`], from any thread).
    pub fn on(spawner: Spawner) -> TulipExecutor {
        TulipExecutor {
            spawner: Some(spawner),
        }
    }
}

impl<F> hyper::rt::Executor<F> for TulipExecutor
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    fn execute(&self, fut: F) {
        match &self.spawner {
            Some(s) => s.spawn(fut).detach(),
            None => tulip_executor::spawn(fut).detach(),
        }
    }
}

/// hyper's [`Timer`](hyper::rt::Timer) on tulip's timers: each sleep is a
/// [`tulip_reactor::Sleep`] on the loop that first polls it.
///
/// Time is the loop's clock: [`now`](hyper::rt::Timer::now) reads it, so under a paused
/// (virtual) clock hyper's timeouts move with virtual time. Give it to the builders that have
/// timeouts (`http1::Builder::timer`, `http2::Builder::timer`); hyper panics when a timeout
/// is set and no timer is.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
///
/// use hyper::rt::Timer;
/// use tulip_hyper::TulipTimer;
///
/// tulip::Runner::builder().start_paused(true).build().run(async {
///     let timer = TulipTimer::new();
///     let start = timer.now();
///     timer.sleep(Duration::from_secs(30)).await;
///     assert_eq!(timer.now() - start, Duration::from_secs(30));
/// });
/// ```
#[derive(Clone, Copy, Debug, Default)]
pub struct TulipTimer {
    _private: (),
}

impl TulipTimer {
    /// The timer (it has no state: every sleep finds its loop when first polled).
    pub fn new() -> TulipTimer {
        TulipTimer { _private: () }
    }
}

impl hyper::rt::Timer for TulipTimer {
    fn sleep(&self, duration: Duration) -> Pin<Box<dyn hyper::rt::Sleep>> {
        Box::pin(TulipSleep {
            inner: tulip_reactor::sleep(duration),
        })
    }

    fn sleep_until(&self, deadline: StdInstant) -> Pin<Box<dyn hyper::rt::Sleep>> {
        Box::pin(TulipSleep {
            inner: tulip_reactor::sleep_until(Instant::from_std(deadline)),
        })
    }

    fn now(&self) -> StdInstant {
        Instant::now().into_std()
    }

    fn reset(&self, sleep: &mut Pin<Box<dyn hyper::rt::Sleep>>, new_deadline: StdInstant) {
        // Ours: move the deadline in place (no new allocation). Anything else: replace it.
        match sleep.as_mut().downcast_mut_pin::<TulipSleep>() {
            Some(ours) => ours.reset(new_deadline),
            None => *sleep = self.sleep_until(new_deadline),
        }
    }
}

/// The [`hyper::rt::Sleep`] of [`TulipTimer`]: a tulip sleep.
#[derive(Debug)]
#[must_use = "futures do nothing unless polled"]
pub struct TulipSleep {
    inner: tulip_reactor::Sleep,
}

impl TulipSleep {
    /// Moves the deadline (earlier or later); the next poll waits for it.
    pub fn reset(self: Pin<&mut Self>, deadline: StdInstant) {
        self.get_mut().inner.reset(Instant::from_std(deadline));
    }
}

impl Future for TulipSleep {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        Pin::new(&mut self.get_mut().inner).poll(cx)
    }
}

impl hyper::rt::Sleep for TulipSleep {}

/// Bytes read per call at most: the size of the adapter's read buffer.
const READ_CHUNK: usize = 8 * 1024;

/// hyper's [`Read`](hyper::rt::Read) and [`Write`](hyper::rt::Write) over a futures-io stream
/// (`AsyncRead + AsyncWrite`): `tulip::net::TcpStream`, `tulip::net::UnixStream`, a TLS
/// stream, or anything else with those traits.
///
/// futures-io reads into initialized memory and hyper offers uninitialized memory, so reads go
/// through a buffer of the adapter's own (8 KiB, allocated on the first read) and are copied
/// into hyper's: no `unsafe`, one copy of the bytes read, and at most 8 KiB per read call.
/// Writes go straight through; [`with_vectored_writes`](TulipIo::with_vectored_writes) tells
/// hyper it may hand over several buffers at once (worth it when the stream's
/// `poll_write_vectored` is a real `writev`, as `tulip::net::TcpStream`'s is).
///
/// `poll_shutdown` is futures-io's `poll_close` (for a TCP stream: shut the write side).
///
/// # Examples
///
/// ```
/// use tulip::net::{TcpListener, TcpStream};
/// use tulip_hyper::TulipIo;
///
/// tulip::run(async {
///     let listener = TcpListener::bind("127.0.0.1:0").await?;
///     let stream = TcpStream::connect(listener.local_addr()?).await?;
///     let io = TulipIo::new(stream).with_vectored_writes(true);
///     assert!(hyper::rt::Write::is_write_vectored(&io));
///     let _stream: TcpStream = io.into_inner();
///     Ok::<_, std::io::Error>(())
/// })
/// .unwrap();
/// ```
#[derive(Debug)]
pub struct TulipIo<T> {
    inner: T,
    buf: Option<Box<[u8]>>,
    vectored: bool,
}

impl<T> TulipIo<T> {
    /// Wraps a stream.
    pub fn new(inner: T) -> TulipIo<T> {
        TulipIo {
            inner,
            buf: None,
            vectored: false,
        }
    }

    /// Whether hyper may write several buffers in one call (`poll_write_vectored`); off by
    /// default, when hyper copies them into one buffer first.
    pub fn with_vectored_writes(mut self, vectored: bool) -> TulipIo<T> {
        self.vectored = vectored;
        self
    }

    /// The stream.
    pub fn inner(&self) -> &T {
        &self.inner
    }

    /// The stream, mutably.
    pub fn inner_mut(&mut self) -> &mut T {
        &mut self.inner
    }

    /// Unwraps the stream (bytes already read are hyper's: nothing is kept here).
    pub fn into_inner(self) -> T {
        self.inner
    }
}

impl<T: AsyncRead + Unpin> hyper::rt::Read for TulipIo<T> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        mut buf: ReadBufCursor<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let want = buf.remaining().min(READ_CHUNK);
        if want == 0 {
            return Poll::Ready(Ok(()));
        }
        let scratch = this
            .buf
            .get_or_insert_with(|| vec![0; READ_CHUNK].into_boxed_slice());
        let n = ready!(Pin::new(&mut this.inner).poll_read(cx, &mut scratch[..want]))?;
        // A reader that claims more than it was given is broken; say so rather than panic.
        let read = scratch.get(..n).ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::InvalidData,
                "AsyncRead::poll_read returned more bytes than the buffer holds",
            )
        })?;
        buf.put_slice(read);
        Poll::Ready(Ok(()))
    }
}

impl<T: AsyncWrite + Unpin> hyper::rt::Write for TulipIo<T> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_close(cx)
    }

    fn is_write_vectored(&self) -> bool {
        self.vectored
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write_vectored(cx, bufs)
    }
}
