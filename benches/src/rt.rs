//! The three runtimes behind one trait, so that every workload is written once.
//!
//! [`Runtime`] names what a workload needs: a way to run a future to completion on a
//! single-threaded or a two-worker instance, `spawn`, `yield_now`, `sleep`, and each runtime's
//! *own* channels, oneshot, mutex, semaphore, TCP listener and stream, and line-buffered
//! connection (tulip-queue / tulip-sync / `tulip::net` / `tulip::streams`; tokio's `sync`,
//! `net` and `io::BufReader`; async-channel / async-lock / `async_io::Async` /
//! futures-lite's `BufReader`).
//! Everything is static dispatch: a workload `async fn w<R: Runtime>(n: u64)` is
//! monomorphised three times and no trait object sits on a measured path.
//!
//! How each flavour is built:
//!
//! | runtime | `ct` (single-threaded) | `mt` (2 workers) |
//! |---|---|---|
//! | tulip | `Runner::builder().build()`, body polled in place by `run` | `Runner::builder().workers(2).try_build()`, body spawned |
//! | tokio | `new_current_thread`, body polled in place by `block_on` | `new_multi_thread().worker_threads(2)`, body spawned |
//! | smol | `async_io::block_on(EX.run(body))` on one thread | two threads run `EX`, the body is spawned on it |

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::ops::DerefMut;
use std::os::fd::AsFd;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use futures_lite::{AsyncBufReadExt as _, AsyncReadExt as _, AsyncWriteExt as _};

/// Single-threaded or multi-threaded (2 workers).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Flavour {
    /// One thread runs the loop (asyncio's model; tokio `current_thread`).
    Ct,
    /// Two worker threads.
    Mt,
}

impl Flavour {
    /// Both flavours, single-threaded first.
    pub const ALL: [Flavour; 2] = [Flavour::Ct, Flavour::Mt];

    /// `ct` or `mt`.
    pub fn name(self) -> &'static str {
        match self {
            Flavour::Ct => "ct",
            Flavour::Mt => "mt",
        }
    }

    /// Parses `ct` / `mt`.
    pub fn parse(s: &str) -> Option<Flavour> {
        Flavour::ALL.into_iter().find(|f| f.name() == s)
    }
}

/// The number of worker threads of the multi-threaded flavour.
pub const MT_WORKERS: usize = 2;

/// What a workload needs from a runtime.
pub trait Runtime: Sized + 'static {
    /// `tulip`, `tokio` or `smol`.
    const NAME: &'static str;

    /// A built runtime of one flavour.
    type Instance;
    /// Builds the runtime, or says why this flavour is not available.
    fn build(flavour: Flavour) -> Result<Self::Instance, String>;
    /// Runs `f` to completion on the runtime.
    fn block_on<F>(rt: &Self::Instance, f: F) -> F::Output
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static;

    /// A spawned task's handle; awaiting it gives the task's output (a failed task panics).
    type Join<T: Send + 'static>: Future<Output = T> + Send + 'static;
    /// Spawns a task on the current runtime.
    fn spawn<F>(f: F) -> Self::Join<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static;
    /// Lets a task run on with nobody awaiting it.
    fn detach<T: Send + 'static>(join: Self::Join<T>);
    /// Gives way to the other tasks once.
    fn yield_now() -> impl Future<Output = ()> + Send;
    /// Waits for `d`; the timer is registered on the first poll.
    fn sleep(d: Duration) -> impl Future<Output = ()> + Send + 'static;
    /// Runs `f` under the runtime's drop-based timeout of `d`; `None` if it elapsed first.
    fn timeout<F>(d: Duration, f: F) -> impl Future<Output = Option<F::Output>> + Send
    where
        F: Future + Send,
        F::Output: Send;

    /// The sending half of the runtime's bounded channel.
    type Tx<T: Send + 'static>: Clone + Send + 'static;
    /// The receiving half of the runtime's bounded channel.
    type Rx<T: Send + 'static>: Send + 'static;
    /// A bounded multi-producer channel.
    fn bounded<T: Send + 'static>(cap: usize) -> (Self::Tx<T>, Self::Rx<T>);
    /// Sends, waiting while the channel is full (a closed channel drops the value).
    fn send<T: Send + 'static>(tx: &Self::Tx<T>, v: T) -> impl Future<Output = ()> + Send + '_;
    /// Receives; `None` once every sender is gone.
    fn recv<T: Send + 'static>(rx: &mut Self::Rx<T>)
        -> impl Future<Output = Option<T>> + Send + '_;

    /// Whether [`oneshot`](Runtime::oneshot) is a dedicated oneshot channel (smol has none:
    /// it is an async-channel `bounded(1)`).
    const HAS_ONESHOT: bool;
    /// The sending half of a oneshot channel.
    type OTx<T: Send + 'static>: Send + 'static;
    /// The receiving half of a oneshot channel.
    type ORx<T: Send + 'static>: Send + 'static;
    /// A channel for one value.
    fn oneshot<T: Send + 'static>() -> (Self::OTx<T>, Self::ORx<T>);
    /// Sends the value (dropped if the receiver is gone).
    fn osend<T: Send + 'static>(tx: Self::OTx<T>, v: T);
    /// Receives the value; `None` if the sender was dropped.
    fn orecv<T: Send + 'static>(rx: Self::ORx<T>) -> impl Future<Output = Option<T>> + Send;

    /// The runtime's async mutex.
    type Mutex<T: Send + Sync + 'static>: Send + Sync + 'static;
    /// Its guard.
    type Guard<'a, T: Send + Sync + 'static>: DerefMut<Target = T> + Send + 'a;
    /// A new mutex.
    fn mutex<T: Send + Sync + 'static>(v: T) -> Self::Mutex<T>;
    /// Locks it.
    fn lock<T: Send + Sync + 'static>(
        m: &Self::Mutex<T>,
    ) -> impl Future<Output = Self::Guard<'_, T>> + Send + '_;

    /// The runtime's async semaphore.
    type Semaphore: Send + Sync + 'static;
    /// A permit, released on drop.
    type Permit<'a>: Send + 'a;
    /// A semaphore with `permits` permits.
    fn semaphore(permits: usize) -> Self::Semaphore;
    /// Acquires one permit.
    fn acquire(s: &Self::Semaphore) -> impl Future<Output = Self::Permit<'_>> + Send + '_;

    /// A TCP stream registered with the runtime's reactor.
    type Stream: AsFd + Send + 'static;
    /// Registers a connected std stream (call it inside the runtime).
    fn stream(s: std::net::TcpStream) -> io::Result<Self::Stream>;
    /// Connects to `addr` with the runtime's own connect (call it inside the runtime).
    fn connect(addr: SocketAddr) -> impl Future<Output = io::Result<Self::Stream>> + Send;
    /// Reads some bytes (0 at end of stream).
    fn read<'a>(
        s: &'a mut Self::Stream,
        buf: &'a mut [u8],
    ) -> impl Future<Output = io::Result<usize>> + Send + 'a;
    /// Fills `buf`.
    fn read_exact<'a>(
        s: &'a mut Self::Stream,
        buf: &'a mut [u8],
    ) -> impl Future<Output = io::Result<()>> + Send + 'a;
    /// Writes all of `buf`.
    fn write_all<'a>(
        s: &'a mut Self::Stream,
        buf: &'a [u8],
    ) -> impl Future<Output = io::Result<()>> + Send + 'a;

    /// A listening TCP socket registered with the runtime's reactor.
    type Listener: Send + Sync + 'static;
    /// Binds a listener with the runtime's own API and defaults (call it inside the runtime).
    fn bind(addr: SocketAddr) -> impl Future<Output = io::Result<Self::Listener>> + Send;
    /// The address the listener is bound to.
    fn listener_addr(l: &Self::Listener) -> SocketAddr;
    /// Accepts a connection.
    fn accept(l: &Self::Listener) -> impl Future<Output = io::Result<Self::Stream>> + Send + '_;

    /// A connection read by lines through the runtime's buffered reader, written through to
    /// the socket (tulip: `StreamReader`/`StreamWriter`; tokio: `io::BufReader`; smol:
    /// futures-lite's `BufReader`).
    type Lines: Send + 'static;
    /// Wraps a registered stream.
    fn lines(s: Self::Stream) -> Self::Lines;
    /// Replaces `line` with the next line, `\n` included (asyncio's `readline`); its length,
    /// 0 at end of stream.
    fn read_line<'a>(
        l: &'a mut Self::Lines,
        line: &'a mut Vec<u8>,
    ) -> impl Future<Output = io::Result<usize>> + Send + 'a;
    /// Writes `line` and waits until the runtime lets the writer go on (tulip: `write` +
    /// `drain`; tokio and smol: `write_all`).
    fn write_line<'a>(
        l: &'a mut Self::Lines,
        line: &'a [u8],
    ) -> impl Future<Output = io::Result<()>> + Send + 'a;
}

/// A task handle that unwraps a `Result<T, E>` output.
#[derive(Debug)]
pub struct Unwrap<J>(J);

impl<J, T, E> Future for Unwrap<J>
where
    J: Future<Output = Result<T, E>> + Unpin,
    E: std::fmt::Debug,
{
    type Output = T;
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<T> {
        Pin::new(&mut self.get_mut().0)
            .poll(cx)
            .map(|r| r.expect("benchmark task failed"))
    }
}

/// Builds a tulip runner with `workers` workers, turning the "not built yet" panic of the
/// multi-threaded flavour into an error (with no panic message on stderr).
fn tulip_runner(workers: usize) -> Result<tulip::Runner, String> {
    let hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let built = std::panic::catch_unwind(|| tulip::Runner::builder().workers(workers).try_build());
    std::panic::set_hook(hook);
    match built {
        Ok(Ok(runner)) => Ok(runner),
        Ok(Err(e)) => Err(format!("cannot build the loop: {e}")),
        Err(payload) => {
            let msg = payload
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| payload.downcast_ref::<String>().cloned())
                .unwrap_or_default();
            Err(format!("not built (workers({workers}) panics: {msg})"))
        }
    }
}

/// tulip: `tulip::Runner`, tulip-queue channels, tulip-sync locks, `tulip::net`,
/// `tulip::streams`.
#[derive(Debug)]
pub struct Tulip;

impl Runtime for Tulip {
    const NAME: &'static str = "tulip";

    type Instance = (Flavour, tulip::Runner);
    fn build(flavour: Flavour) -> Result<Self::Instance, String> {
        let workers = match flavour {
            Flavour::Ct => 1,
            Flavour::Mt => MT_WORKERS,
        };
        Ok((flavour, tulip_runner(workers)?))
    }
    fn block_on<F>(rt: &Self::Instance, f: F) -> F::Output
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        match rt.0 {
            Flavour::Ct => rt.1.run(f),
            Flavour::Mt => rt.1.run(async move { Self::spawn(f).await }),
        }
    }

    type Join<T: Send + 'static> = Unwrap<tulip::Task<T>>;
    fn spawn<F>(f: F) -> Self::Join<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        Unwrap(tulip::spawn(f))
    }
    fn detach<T: Send + 'static>(join: Self::Join<T>) {
        join.0.detach();
    }
    fn yield_now() -> impl Future<Output = ()> + Send {
        tulip::yield_now()
    }
    fn sleep(d: Duration) -> impl Future<Output = ()> + Send + 'static {
        tulip::sleep(d)
    }

    async fn timeout<F>(d: Duration, f: F) -> Option<F::Output>
    where
        F: Future + Send,
        F::Output: Send,
    {
        tulip::timeout(d, f).await.ok()
    }

    type Tx<T: Send + 'static> = tulip_queue::channel::Sender<T>;
    type Rx<T: Send + 'static> = tulip_queue::channel::Receiver<T>;
    fn bounded<T: Send + 'static>(cap: usize) -> (Self::Tx<T>, Self::Rx<T>) {
        tulip_queue::channel::bounded(cap)
    }
    async fn send<T: Send + 'static>(tx: &Self::Tx<T>, v: T) {
        let _ = tx.send(v).await;
    }
    async fn recv<T: Send + 'static>(rx: &mut Self::Rx<T>) -> Option<T> {
        rx.recv().await.ok()
    }

    const HAS_ONESHOT: bool = true;
    type OTx<T: Send + 'static> = tulip_queue::channel::oneshot::Sender<T>;
    type ORx<T: Send + 'static> = tulip_queue::channel::oneshot::Receiver<T>;
    fn oneshot<T: Send + 'static>() -> (Self::OTx<T>, Self::ORx<T>) {
        tulip_queue::channel::oneshot()
    }
    fn osend<T: Send + 'static>(tx: Self::OTx<T>, v: T) {
        let _ = tx.send(v);
    }
    async fn orecv<T: Send + 'static>(rx: Self::ORx<T>) -> Option<T> {
        rx.await.ok()
    }

    type Mutex<T: Send + Sync + 'static> = tulip_sync::Mutex<T>;
    type Guard<'a, T: Send + Sync + 'static> = tulip_sync::MutexGuard<'a, T>;
    fn mutex<T: Send + Sync + 'static>(v: T) -> Self::Mutex<T> {
        tulip_sync::Mutex::new(v)
    }
    fn lock<T: Send + Sync + 'static>(
        m: &Self::Mutex<T>,
    ) -> impl Future<Output = Self::Guard<'_, T>> + Send + '_ {
        m.lock()
    }

    type Semaphore = tulip_sync::Semaphore;
    type Permit<'a> = tulip_sync::Permit<'a>;
    fn semaphore(permits: usize) -> Self::Semaphore {
        tulip_sync::Semaphore::new(permits)
    }
    fn acquire(s: &Self::Semaphore) -> impl Future<Output = Self::Permit<'_>> + Send + '_ {
        s.acquire()
    }

    type Stream = tulip::net::TcpStream;
    fn stream(s: std::net::TcpStream) -> io::Result<Self::Stream> {
        tulip::net::TcpStream::from_std(s)
    }
    fn connect(addr: SocketAddr) -> impl Future<Output = io::Result<Self::Stream>> + Send {
        tulip::net::TcpStream::connect(addr)
    }
    fn read<'a>(
        s: &'a mut Self::Stream,
        buf: &'a mut [u8],
    ) -> impl Future<Output = io::Result<usize>> + Send + 'a {
        s.read(buf)
    }
    fn read_exact<'a>(
        s: &'a mut Self::Stream,
        buf: &'a mut [u8],
    ) -> impl Future<Output = io::Result<()>> + Send + 'a {
        s.read_exact(buf)
    }
    fn write_all<'a>(
        s: &'a mut Self::Stream,
        buf: &'a [u8],
    ) -> impl Future<Output = io::Result<()>> + Send + 'a {
        s.write_all(buf)
    }

    type Listener = tulip::net::TcpListener;
    fn bind(addr: SocketAddr) -> impl Future<Output = io::Result<Self::Listener>> + Send {
        tulip::net::TcpListener::bind(addr)
    }
    fn listener_addr(l: &Self::Listener) -> SocketAddr {
        l.local_addr().expect("listener address")
    }
    async fn accept(l: &Self::Listener) -> io::Result<Self::Stream> {
        l.accept().await.map(|(s, _)| s)
    }

    type Lines = (tulip::streams::StreamReader, tulip::streams::StreamWriter);
    fn lines(s: Self::Stream) -> Self::Lines {
        tulip::streams::from_stream(s)
    }
    async fn read_line<'a>(l: &'a mut Self::Lines, line: &'a mut Vec<u8>) -> io::Result<usize> {
        *line = l.0.readline().await?;
        Ok(line.len())
    }
    async fn write_line<'a>(l: &'a mut Self::Lines, line: &'a [u8]) -> io::Result<()> {
        l.1.write(line);
        l.1.drain().await
    }
}

/// tokio: current-thread and multi-thread runtimes, `tokio::sync`, `tokio::net`.
#[derive(Debug)]
pub struct Tokio;

impl Runtime for Tokio {
    const NAME: &'static str = "tokio";

    type Instance = (Flavour, tokio::runtime::Runtime);
    fn build(flavour: Flavour) -> Result<Self::Instance, String> {
        let rt = match flavour {
            Flavour::Ct => tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build(),
            Flavour::Mt => tokio::runtime::Builder::new_multi_thread()
                .worker_threads(MT_WORKERS)
                .enable_all()
                .build(),
        };
        rt.map(|rt| (flavour, rt)).map_err(|e| e.to_string())
    }
    fn block_on<F>(rt: &Self::Instance, f: F) -> F::Output
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        match rt.0 {
            Flavour::Ct => rt.1.block_on(f),
            Flavour::Mt => rt.1.block_on(async move { Self::spawn(f).await }),
        }
    }

    type Join<T: Send + 'static> = Unwrap<tokio::task::JoinHandle<T>>;
    fn spawn<F>(f: F) -> Self::Join<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        Unwrap(tokio::spawn(f))
    }
    fn detach<T: Send + 'static>(join: Self::Join<T>) {
        drop(join);
    }
    fn yield_now() -> impl Future<Output = ()> + Send {
        tokio::task::yield_now()
    }
    fn sleep(d: Duration) -> impl Future<Output = ()> + Send + 'static {
        tokio::time::sleep(d)
    }

    async fn timeout<F>(d: Duration, f: F) -> Option<F::Output>
    where
        F: Future + Send,
        F::Output: Send,
    {
        tokio::time::timeout(d, f).await.ok()
    }

    type Tx<T: Send + 'static> = tokio::sync::mpsc::Sender<T>;
    type Rx<T: Send + 'static> = tokio::sync::mpsc::Receiver<T>;
    fn bounded<T: Send + 'static>(cap: usize) -> (Self::Tx<T>, Self::Rx<T>) {
        tokio::sync::mpsc::channel(cap)
    }
    async fn send<T: Send + 'static>(tx: &Self::Tx<T>, v: T) {
        let _ = tx.send(v).await;
    }
    fn recv<T: Send + 'static>(
        rx: &mut Self::Rx<T>,
    ) -> impl Future<Output = Option<T>> + Send + '_ {
        rx.recv()
    }

    const HAS_ONESHOT: bool = true;
    type OTx<T: Send + 'static> = tokio::sync::oneshot::Sender<T>;
    type ORx<T: Send + 'static> = tokio::sync::oneshot::Receiver<T>;
    fn oneshot<T: Send + 'static>() -> (Self::OTx<T>, Self::ORx<T>) {
        tokio::sync::oneshot::channel()
    }
    fn osend<T: Send + 'static>(tx: Self::OTx<T>, v: T) {
        let _ = tx.send(v);
    }
    async fn orecv<T: Send + 'static>(rx: Self::ORx<T>) -> Option<T> {
        rx.await.ok()
    }

    type Mutex<T: Send + Sync + 'static> = tokio::sync::Mutex<T>;
    type Guard<'a, T: Send + Sync + 'static> = tokio::sync::MutexGuard<'a, T>;
    fn mutex<T: Send + Sync + 'static>(v: T) -> Self::Mutex<T> {
        tokio::sync::Mutex::new(v)
    }
    fn lock<T: Send + Sync + 'static>(
        m: &Self::Mutex<T>,
    ) -> impl Future<Output = Self::Guard<'_, T>> + Send + '_ {
        m.lock()
    }

    type Semaphore = tokio::sync::Semaphore;
    type Permit<'a> = tokio::sync::SemaphorePermit<'a>;
    fn semaphore(permits: usize) -> Self::Semaphore {
        tokio::sync::Semaphore::new(permits)
    }
    async fn acquire(s: &Self::Semaphore) -> Self::Permit<'_> {
        s.acquire().await.expect("semaphore closed")
    }

    type Stream = tokio::net::TcpStream;
    fn stream(s: std::net::TcpStream) -> io::Result<Self::Stream> {
        s.set_nonblocking(true)?;
        tokio::net::TcpStream::from_std(s)
    }
    fn connect(addr: SocketAddr) -> impl Future<Output = io::Result<Self::Stream>> + Send {
        tokio::net::TcpStream::connect(addr)
    }
    fn read<'a>(
        s: &'a mut Self::Stream,
        buf: &'a mut [u8],
    ) -> impl Future<Output = io::Result<usize>> + Send + 'a {
        tokio::io::AsyncReadExt::read(s, buf)
    }
    async fn read_exact<'a>(s: &'a mut Self::Stream, buf: &'a mut [u8]) -> io::Result<()> {
        tokio::io::AsyncReadExt::read_exact(s, buf).await.map(drop)
    }
    fn write_all<'a>(
        s: &'a mut Self::Stream,
        buf: &'a [u8],
    ) -> impl Future<Output = io::Result<()>> + Send + 'a {
        tokio::io::AsyncWriteExt::write_all(s, buf)
    }

    type Listener = tokio::net::TcpListener;
    fn bind(addr: SocketAddr) -> impl Future<Output = io::Result<Self::Listener>> + Send {
        tokio::net::TcpListener::bind(addr)
    }
    fn listener_addr(l: &Self::Listener) -> SocketAddr {
        l.local_addr().expect("listener address")
    }
    async fn accept(l: &Self::Listener) -> io::Result<Self::Stream> {
        l.accept().await.map(|(s, _)| s)
    }

    type Lines = tokio::io::BufReader<tokio::net::TcpStream>;
    fn lines(s: Self::Stream) -> Self::Lines {
        tokio::io::BufReader::new(s)
    }
    async fn read_line<'a>(l: &'a mut Self::Lines, line: &'a mut Vec<u8>) -> io::Result<usize> {
        line.clear();
        tokio::io::AsyncBufReadExt::read_until(l, b'\n', line).await
    }
    fn write_line<'a>(
        l: &'a mut Self::Lines,
        line: &'a [u8],
    ) -> impl Future<Output = io::Result<()>> + Send + 'a {
        tokio::io::AsyncWriteExt::write_all(l.get_mut(), line)
    }
}

/// The executor every smol flavour runs (as smol's own global executor is).
static SMOL_EX: async_executor::Executor<'static> = async_executor::Executor::new();

/// smol's building blocks: async-executor, async-io, async-channel, async-lock.
#[derive(Debug)]
pub struct Smol;

/// A running smol flavour: for `mt`, the worker threads and the channel that stops them.
#[derive(Debug)]
pub struct SmolInstance {
    flavour: Flavour,
    stop: Option<async_channel::Sender<()>>,
    workers: Vec<std::thread::JoinHandle<()>>,
}

impl Drop for SmolInstance {
    fn drop(&mut self) {
        drop(self.stop.take());
        for w in self.workers.drain(..) {
            let _ = w.join();
        }
    }
}

impl Runtime for Smol {
    const NAME: &'static str = "smol";

    type Instance = SmolInstance;
    fn build(flavour: Flavour) -> Result<Self::Instance, String> {
        let mut inst = SmolInstance {
            flavour,
            stop: None,
            workers: Vec::new(),
        };
        if flavour == Flavour::Mt {
            let (tx, rx) = async_channel::bounded::<()>(1);
            inst.stop = Some(tx);
            for i in 0..MT_WORKERS {
                let rx = rx.clone();
                let w = std::thread::Builder::new()
                    .name(format!("smol-{i}"))
                    .spawn(move || {
                        let _ = async_io::block_on(SMOL_EX.run(rx.recv()));
                    })
                    .map_err(|e| e.to_string())?;
                inst.workers.push(w);
            }
        }
        Ok(inst)
    }
    fn block_on<F>(rt: &Self::Instance, f: F) -> F::Output
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        match rt.flavour {
            Flavour::Ct => async_io::block_on(SMOL_EX.run(f)),
            Flavour::Mt => async_io::block_on(SMOL_EX.spawn(f)),
        }
    }

    type Join<T: Send + 'static> = async_executor::Task<T>;
    fn spawn<F>(f: F) -> Self::Join<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        SMOL_EX.spawn(f)
    }
    fn detach<T: Send + 'static>(join: Self::Join<T>) {
        join.detach();
    }
    fn yield_now() -> impl Future<Output = ()> + Send {
        futures_lite::future::yield_now()
    }
    async fn sleep(d: Duration) {
        async_io::Timer::after(d).await;
    }

    fn timeout<F>(d: Duration, f: F) -> impl Future<Output = Option<F::Output>> + Send
    where
        F: Future + Send,
        F::Output: Send,
    {
        futures_lite::future::or(async move { Some(f.await) }, async move {
            async_io::Timer::after(d).await;
            None
        })
    }

    type Tx<T: Send + 'static> = async_channel::Sender<T>;
    type Rx<T: Send + 'static> = async_channel::Receiver<T>;
    fn bounded<T: Send + 'static>(cap: usize) -> (Self::Tx<T>, Self::Rx<T>) {
        async_channel::bounded(cap)
    }
    async fn send<T: Send + 'static>(tx: &Self::Tx<T>, v: T) {
        let _ = tx.send(v).await;
    }
    async fn recv<T: Send + 'static>(rx: &mut Self::Rx<T>) -> Option<T> {
        rx.recv().await.ok()
    }

    const HAS_ONESHOT: bool = false;
    type OTx<T: Send + 'static> = async_channel::Sender<T>;
    type ORx<T: Send + 'static> = async_channel::Receiver<T>;
    fn oneshot<T: Send + 'static>() -> (Self::OTx<T>, Self::ORx<T>) {
        async_channel::bounded(1)
    }
    fn osend<T: Send + 'static>(tx: Self::OTx<T>, v: T) {
        let _ = tx.try_send(v);
    }
    async fn orecv<T: Send + 'static>(rx: Self::ORx<T>) -> Option<T> {
        rx.recv().await.ok()
    }

    type Mutex<T: Send + Sync + 'static> = async_lock::Mutex<T>;
    type Guard<'a, T: Send + Sync + 'static> = async_lock::MutexGuard<'a, T>;
    fn mutex<T: Send + Sync + 'static>(v: T) -> Self::Mutex<T> {
        async_lock::Mutex::new(v)
    }
    fn lock<T: Send + Sync + 'static>(
        m: &Self::Mutex<T>,
    ) -> impl Future<Output = Self::Guard<'_, T>> + Send + '_ {
        m.lock()
    }

    type Semaphore = async_lock::Semaphore;
    type Permit<'a> = async_lock::SemaphoreGuard<'a>;
    fn semaphore(permits: usize) -> Self::Semaphore {
        async_lock::Semaphore::new(permits)
    }
    fn acquire(s: &Self::Semaphore) -> impl Future<Output = Self::Permit<'_>> + Send + '_ {
        s.acquire()
    }

    type Stream = async_io::Async<std::net::TcpStream>;
    fn stream(s: std::net::TcpStream) -> io::Result<Self::Stream> {
        async_io::Async::new(s)
    }
    fn connect(addr: SocketAddr) -> impl Future<Output = io::Result<Self::Stream>> + Send {
        async_io::Async::<std::net::TcpStream>::connect(addr)
    }
    fn read<'a>(
        s: &'a mut Self::Stream,
        buf: &'a mut [u8],
    ) -> impl Future<Output = io::Result<usize>> + Send + 'a {
        s.read(buf)
    }
    fn read_exact<'a>(
        s: &'a mut Self::Stream,
        buf: &'a mut [u8],
    ) -> impl Future<Output = io::Result<()>> + Send + 'a {
        s.read_exact(buf)
    }
    fn write_all<'a>(
        s: &'a mut Self::Stream,
        buf: &'a [u8],
    ) -> impl Future<Output = io::Result<()>> + Send + 'a {
        s.write_all(buf)
    }

    type Listener = async_io::Async<std::net::TcpListener>;
    async fn bind(addr: SocketAddr) -> io::Result<Self::Listener> {
        async_io::Async::<std::net::TcpListener>::bind(addr)
    }
    fn listener_addr(l: &Self::Listener) -> SocketAddr {
        l.get_ref().local_addr().expect("listener address")
    }
    async fn accept(l: &Self::Listener) -> io::Result<Self::Stream> {
        l.accept().await.map(|(s, _)| s)
    }

    type Lines = futures_lite::io::BufReader<async_io::Async<std::net::TcpStream>>;
    fn lines(s: Self::Stream) -> Self::Lines {
        futures_lite::io::BufReader::new(s)
    }
    async fn read_line<'a>(l: &'a mut Self::Lines, line: &'a mut Vec<u8>) -> io::Result<usize> {
        line.clear();
        l.read_until(b'\n', line).await
    }
    fn write_line<'a>(
        l: &'a mut Self::Lines,
        line: &'a [u8],
    ) -> impl Future<Output = io::Result<()>> + Send + 'a {
        l.get_mut().write_all(line)
    }
}
