//! Using tokio-based libraries from tulip (feature `tokio-compat`).
//!
//! Two things stand between a library written for tokio and a tulip task, and this module
//! answers each:
//!
//! 1. **tokio's I/O traits.** tulip's streams implement futures-io's `AsyncRead`/`AsyncWrite`;
//!    a tokio library wants `tokio::io::AsyncRead`/`AsyncWrite`. tokio-util's adapters,
//!    re-exported here, convert either way without copying:
//!    [`compat()`](FuturesAsyncReadCompatExt::compat) turns a tulip stream into a tokio one,
//!    [`compat()`](TokioAsyncReadCompatExt::compat) (on tokio types) the other way round.
//! 2. **a tokio context.** Some libraries call `tokio::spawn`, `tokio::time::sleep` or open
//!    tokio sockets themselves, which panics outside a tokio runtime ("there is no reactor
//!    running"). For them this module hosts a tokio runtime beside tulip's loop:
//!    [`with_tokio`] makes and runs a future *on the tulip task* with that runtime's context
//!    entered, and [`spawn_tokio`] runs a future *on the tokio runtime's thread* and gives
//!    back a handle a tulip task can await.
//!
//! # The hosted runtime, and what it costs
//!
//! The first call of [`tokio_handle`], [`with_tokio`] or [`spawn_tokio`] starts one
//! multi-thread tokio runtime with a single worker thread (`tulip-tokio`), I/O and timers
//! enabled; it lives until the process exits and is shared by every tulip loop of the process.
//! Its thread drives tokio's reactor and timers, so tokio sockets and sleeps created under
//! [`with_tokio`] work while a tulip task polls them: tokio's driver wakes the tulip task
//! through its ordinary `Waker`.
//!
//! The trade-off: each readiness event of a tokio resource crosses threads (tokio's driver
//! thread, then tulip's loop) where a native tulip resource is woken on the loop itself, and
//! the runtime is one more thread that is never shut down. Prefer tulip's own types plus the
//! I/O adapters (1.) wherever a library only needs the traits; host the runtime only for what
//! insists on a tokio context. A program that already has a tokio runtime of its own can enter
//! it itself (`Handle::enter`) instead.
//!
//! # Examples
//!
//! A tokio-only codec (tokio-util's `LinesCodec` works the same) over a tulip socket, and
//! tokio's timer from a tulip task:
//!
//! ```
//! use std::time::Duration;
//!
//! use tokio::io::{AsyncReadExt, AsyncWriteExt};
//! use tulip::compat::{with_tokio, FuturesAsyncReadCompatExt};
//! use tulip::net::TcpStream;
//!
//! tulip::run(async {
//!     let listener = tulip::net::TcpListener::bind("127.0.0.1:0").await?;
//!     let client = TcpStream::connect(listener.local_addr()?).await?;
//!     let (server, _) = listener.accept().await?;
//!
//!     // tulip streams as tokio I/O: tokio's extension traits now apply.
//!     let mut client = client.compat();
//!     let mut server = server.compat();
//!     client.write_all(b"ping").await?;
//!     let mut buf = [0; 4];
//!     server.read_exact(&mut buf).await?;
//!     assert_eq!(&buf, b"ping");
//!
//!     // tokio's own timer needs tokio's context: with_tokio gives it one.
//!     with_tokio(|| tokio::time::sleep(Duration::from_millis(1))).await;
//!     Ok::<_, std::io::Error>(())
//! })
//! .unwrap();
//! ```

use std::future::Future;
use std::pin::Pin;
use std::sync::OnceLock;
use std::task::{Context, Poll};

pub use tokio_util::compat::{
    Compat, FuturesAsyncReadCompatExt, FuturesAsyncWriteCompatExt, TokioAsyncReadCompatExt,
    TokioAsyncWriteCompatExt,
};

/// The hosted runtime (started on first use, never shut down).
static HOSTED: OnceLock<tokio::runtime::Runtime> = OnceLock::new();

/// The hosted tokio runtime's handle, starting the runtime on the first call (one worker
/// thread named `tulip-tokio`, I/O and timers enabled; see the [module docs](self)).
///
/// `tokio_handle().enter()` enters its context on this thread until the guard drops — for
/// synchronous code that builds tokio objects. Do not keep that guard across an `.await` in a
/// tulip task (the task may resume on another worker, or other tasks run on the thread
/// meanwhile): [`with_tokio`] is the form for futures.
///
/// # Panics
///
/// Panics if the runtime cannot be started (the OS refuses a thread or an epoll instance).
///
/// # Examples
///
/// ```
/// let answer = tulip::run(async {
///     let task = tulip::compat::tokio_handle().spawn(async { 6 * 7 });
///     task.await.unwrap()
/// });
/// assert_eq!(answer, 42);
/// ```
pub fn tokio_handle() -> &'static tokio::runtime::Handle {
    HOSTED
        .get_or_init(|| {
            tokio::runtime::Builder::new_multi_thread()
                .worker_threads(1)
                .thread_name("tulip-tokio")
                .enable_all()
                .build()
                .unwrap_or_else(|e| panic!("cannot start the hosted tokio runtime: {e}"))
        })
        .handle()
}

/// Makes a future with `make` and runs it on the calling tulip task, with the hosted tokio
/// runtime's context entered while `make` runs and at every poll: inside it `tokio::spawn`
/// (onto the hosted runtime), `tokio::time`, tokio sockets and `Handle::current()` work. Its
/// output is the future's.
///
/// It takes a closure rather than a future because much of tokio looks for its context when
/// an object is *made*, not first polled: `tokio::time::sleep(d)` made outside the context
/// panics before any wrapper could poll it.
///
/// The future is polled by tulip, so it may borrow from the task and need not be `Send`;
/// tokio's driver thread only wakes it.
///
/// # Cancel safety
///
/// As cancel safe as the future: dropping the wrapper drops it.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
///
/// tulip::run(async {
///     let start = std::time::Instant::now();
///     tulip::compat::with_tokio(|| tokio::time::sleep(Duration::from_millis(5))).await;
///     assert!(start.elapsed() >= Duration::from_millis(5));
/// });
/// ```
pub fn with_tokio<M, F>(make: M) -> WithTokio<F>
where
    M: FnOnce() -> F,
    F: Future,
{
    let handle = tokio_handle();
    let future = {
        let _context = handle.enter();
        make()
    };
    WithTokio { handle, future }
}

pin_project_lite::pin_project! {
    /// The future of [`with_tokio`]: polls the inner future inside the hosted tokio runtime's
    /// context.
    #[must_use = "futures do nothing unless polled"]
    pub struct WithTokio<F> {
        handle: &'static tokio::runtime::Handle,
        #[pin]
        future: F,
    }
}

impl<F> std::fmt::Debug for WithTokio<F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WithTokio").finish_non_exhaustive()
    }
}

impl<F: Future> Future for WithTokio<F> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let this = self.project();
        let _context = this.handle.enter();
        this.future.poll(cx)
    }
}

/// Runs `future` as a task on the hosted tokio runtime (its own thread), starting the runtime
/// if need be; awaiting the returned [`JoinHandle`](tokio::task::JoinHandle) from a tulip task
/// gives the output, or a `JoinError` if the task panicked or was aborted.
///
/// For libraries whose futures must run inside tokio (a client with background tasks of its
/// own, say) and are `Send`.
///
/// # Cancel safety
///
/// Spawning does not wait. Dropping the handle (or an await of it) detaches the task, which
/// runs on (tokio's rule); `abort()` cancels it.
///
/// # Examples
///
/// ```
/// let n = tulip::run(async {
///     tulip::compat::spawn_tokio(async {
///         tokio::task::yield_now().await;
///         tokio::runtime::Handle::current().metrics().num_workers()
///     })
///     .await
///     .unwrap()
/// });
/// assert_eq!(n, 1);
/// ```
pub fn spawn_tokio<F>(future: F) -> tokio::task::JoinHandle<F::Output>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    tokio_handle().spawn(future)
}
