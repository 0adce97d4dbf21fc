//! Python's asyncio, built in Rust.
//!
//! tulip is an event loop with tasks, timers and I/O that a Python programmer recognises at
//! first sight, built from small crates that can also be used one by one:
//!
//! | asyncio | tulip |
//! |---|---|
//! | `asyncio.run(main())` | [`run`]`(main())` |
//! | `asyncio.Runner` | [`Runner`] |
//! | `asyncio.create_task(coro)` | [`spawn`]`(fut)` → [`Task`] |
//! | `asyncio.sleep(d)` / `sleep(0)` | [`sleep`]`(d)` / [`yield_now`]`()` |
//! | `asyncio.timeout(d)` / `wait_for` | [`timeout`]`(d, fut)`, [`CancelScope`] |
//! | `asyncio.TaskGroup()` | [`TaskGroup`] |
//! | `asyncio.gather(*aws)` | [`gather`]`(futs)`, [`join!`] |
//! | `asyncio.get_running_loop()` | [`EventLoop::current`]`()` → [`LoopHandle`] |
//! | `asyncio.to_thread(f)` | [`to_thread`]`(f)` |
//! | `asyncio.open_connection` / `start_server` | `streams::open_connection` / `streams::start_server` |
//! | `asyncio.create_subprocess_exec` / `_shell` | `process::create_subprocess_exec` / `process::create_subprocess_shell` |
//! | `loop.create_connection` / `create_server`, `Protocol`, `Transport` | `protocol::create_connection` / `protocol::create_server`, `protocol::Protocol`, `protocol::Transport` |
//! | `loop.add_signal_handler(sig, cb)` | [`LoopHandle::add_signal_handler`], `signal::ctrl_c`, `signal::Signals` |
//! | `loop.create_future()`, `asyncio.Future` | [`LoopHandle::create_future`], [`future::Promise`], [`future::Completion`] |
//! | `loop.add_reader(fd, cb)` | [`LoopHandle::add_reader`] |
//! | `loop.sock_recv(sock, n)`, … | `net::LoopSockExt` |
//!
//! The modules follow the sections of asyncio's documentation: [`task`], [`time`], [`io`],
//! `sync`, `queue` (and `channel`), `streams` and `net` (sockets and DNS), `process`
//! (subprocesses), `protocol` (transports and protocols), `signal`, and the low-level loop
//! in [`rt`]. See `docs/asyncio-mapping.md` in the repository for every
//! asyncio name and where it lives.
//!
//! # Examples
//!
//! ```
//! use std::time::Duration;
//!
//! async fn say_after(delay: Duration, what: &str) -> String {
//!     tulip::sleep(delay).await;
//!     what.to_string()
//! }
//!
//! let words = tulip::run(async {
//!     let hello = tulip::spawn(say_after(Duration::from_millis(2), "hello"));
//!     let world = tulip::spawn(say_after(Duration::from_millis(1), "world"));
//!     (hello.await.unwrap(), world.await.unwrap())
//! });
//! assert_eq!(words, ("hello".to_string(), "world".to_string()));
//! ```
//!
//! # Features
//!
//! - `macros` (default): [`main`] and [`test`].
//! - `sync` (default): [`sync`].
//! - `queue` (default): [`queue`] and [`channel`].
//! - `net` (default): `net` and `streams`.
//! - `tls`: `tls` (TLS on rustls for `streams` and `net`: `ssl=`, `start_tls`).
//! - `process` (default): `process` (needs `net` and `signal`).
//! - `signal` (default): `signal`.
//! - `protocol` (default): `protocol` (transports and protocols; needs `net` and `process`).
//! - `hyper`: `hyper_rt` (hyper 1.x's runtime traits on tulip: executor, timer, I/O).
//! - `tokio-compat`: `compat` (tokio's I/O traits over tulip's streams, and a hosted tokio
//!   runtime for libraries that need a tokio context).
//! - `full`: everything.
//! - `tracing` (off, not in `full`): a `tracing` span per task, entered around its polls;
//!   the default exception handler's reports (panics, slow polls, a blocked loop, results
//!   never retrieved) and servers' accept back-off as events. `log` (off): those reports as
//!   `log` records instead of stderr lines. Nothing of either is compiled in when off.
//!
//! # Platforms
//!
//! Tested on Linux (epoll, io_uring and `polling` backends); compiled in CI for macOS and
//! FreeBSD (kqueue through `polling`; everything but Linux's extras — pidfd, io_uring,
//! `sendfile` — is there) and Windows (IOCP through `polling`). On Windows `net` has TCP, UDP
//! and `getaddrinfo`, and `streams` works over TCP (Unix sockets, `sendfile`, `LoopSockExt`,
//! `getaddrinfo_with`/`getnameinfo` are compile-time absences); `process` has children with
//! piped streams, `wait`, `kill`/`terminate` (`TerminateProcess`) and `communicate`, but no
//! `send_signal`; `protocol` has TCP, UDP and subprocess transports (no Unix sockets or
//! pipes by descriptor); `signal` has the C runtime's signals only (Ctrl-C, SIGTERM, …);
//! `tls` is a compile-time absence for now; the loop, tasks, timers, sync, queues, Ctrl-C in
//! [`run`] and [`io::Async`] over any socket (`AsSocket`) are there.
//!
//! Ctrl-C in [`run`] (asyncio 3.11's Runner: the first one cancels the main future and closes
//! the loop, then the process dies by SIGINT) is there whatever the features; see
//! [`RunnerBuilder::handle_ctrl_c`].

#![forbid(unsafe_code)]
#![doc(test(attr(deny(warnings))))]

#[doc(inline)]
pub use tulip_executor::{spawn, spawn_local, task_local, yield_now, JoinError, Task};
#[doc(inline)]
pub use tulip_reactor::{sleep, sleep_until};
#[doc(inline)]
pub use tulip_runtime::{
    block_on, run, spawn_blocking, to_thread, EventLoop, InvalidStateError, LoopHandle, Runner,
    RunnerBuilder,
};
#[doc(inline)]
pub use tulip_task::{
    as_completed, cancellable, checkpoint, gather, join, shield, timeout, timeout_at, try_gather,
    try_join, wait, CancelScope, GroupError, ReturnWhen, TaskGroup,
};

#[cfg(feature = "macros")]
#[doc(inline)]
pub use tulip_macros::{main, test};

/// The README's examples, compiled as doc tests.
#[cfg(all(doctest, feature = "macros"))]
#[doc = include_str!("../../../README.md")]
struct ReadmeDoctests;

/// The guide for Python programmers (`docs/guide/`), compiled as doc tests.
#[cfg(all(
    doctest,
    unix,
    feature = "macros",
    feature = "sync",
    feature = "queue",
    feature = "net",
    feature = "process",
    feature = "signal",
    feature = "protocol"
))]
mod guide_doctests;

/// Tasks: spawning, handles, cancellation and errors (asyncio's "Coroutines and Tasks").
pub mod task {
    #[doc(inline)]
    pub use tulip_executor::task::{all, current, current_id, TaskInfo, TaskState, WaitingOn};
    #[doc(inline)]
    pub use tulip_executor::{
        spawn, spawn_fallible, spawn_local, spawn_local_fallible, yield_now, AccessError, Builder,
        JoinError, LocalKey, Panic, Task, TaskHook, TaskHookInfo, TaskHooks, TaskId, TaskLocals,
        WithTaskLocals, YieldNow,
    };
    #[doc(inline)]
    pub use tulip_runtime::{spawn_blocking, to_thread, BlockingTask, ToThread};
    #[doc(inline)]
    pub use tulip_task::{
        as_completed, cancellable, cancellation, checkpoint, gather, shield, shield_local,
        spawn_cooperative, try_gather, wait, AsCompleted, Cancellable, Checkpoint, Done, Failure,
        FirstError, Gather, GroupError, GroupTask, Indexed, Join, Ready, ReturnCondition,
        ReturnWhen, ScopedTask, Shield, SpawnError, SpawnErrorKind, Start, StartError, TaskGroup,
        TaskGroupHandle, TryGather, Wait, WaitFuture,
    };
}

/// Time: instants, sleeps, timeouts, intervals and virtual time.
pub mod time {
    pub use std::time::Duration;
    #[doc(inline)]
    pub use tulip_executor::{wait_idle, WaitIdle};
    #[doc(inline)]
    pub use tulip_reactor::{
        advance, interval, interval_at, sleep, sleep_until, Interval, MissedTickBehavior, Sleep,
    };
    #[doc(inline)]
    pub use tulip_task::{
        current_deadline, move_on_after, move_on_at, timeout, timeout_at, CancelScope,
        CancelScoped, Cancelled, MoveOn, Timeout, DEFAULT_GRACE,
    };
    #[doc(inline)]
    pub use tulip_time::{Clock, ClockGuard, Elapsed, Instant};
}

/// Asynchronous I/O: registered file descriptors and the futures-io traits with their
/// extension methods.
pub mod io {
    pub use futures_io::{AsyncBufRead, AsyncRead, AsyncSeek, AsyncWrite};
    pub use futures_lite::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt};
    #[doc(inline)]
    pub use tulip_reactor::{AsSource, Async, Backend, BorrowedSource, RawSource, Readiness};
}

/// The low-level event loop (asyncio's "Event Loop" page): runners, handles, callbacks.
pub mod rt {
    // What `LoopHandle::reactor()` returns, and what its methods return.
    #[doc(inline)]
    pub use tulip_reactor::{AutoAdvanceGuard, EnterGuard, Reactor};
    #[doc(inline)]
    pub use tulip_runtime::{
        block_on, call_exception_handler, default_exception_handler, run, CallHandle, EventLoop,
        ExceptionContext, ExceptionHandler, LoopDump, LoopHandle, ReportKind, Runner,
        RunnerBuilder, ShutdownReport, TaskDump, TimerHandle, UnhandledPanic,
    };
}

/// Synchronization primitives (asyncio's "Synchronization Primitives"): `Lock`, `Event`,
/// `Condition`, `Semaphore`, `BoundedSemaphore`, `Barrier`, plus `Mutex<T>` and `RwLock<T>`.
/// They work on any executor and across threads.
#[cfg(feature = "sync")]
pub mod sync {
    #[doc(inline)]
    pub use tulip_sync::*;
}

/// Queues (asyncio's "Queues"): `Queue`, `PriorityQueue`, `LifoQueue`, with `task_done`,
/// `join` and 3.13's `shutdown`.
#[cfg(feature = "queue")]
pub mod queue {
    #[doc(inline)]
    pub use tulip_queue::{
        futures, GetError, LifoQueue, PriorityQueue, PutError, Queue, QueueItem, QueueShutDown,
        TooManyTaskDone,
    };
}

/// Channels beyond asyncio: mpmc `bounded`/`unbounded`, `oneshot`, `broadcast`, `watch`.
#[cfg(feature = "queue")]
#[doc(inline)]
pub use tulip_queue::channel;

/// Sockets and name resolution (asyncio's loop socket methods, `getaddrinfo`): TCP, UDP and
/// Unix sockets with futures-io reads and writes, Happy Eyeballs connects, `sendfile`.
///
/// On Windows: TCP, UDP and `getaddrinfo`; Unix sockets, `sendfile`, `LoopSockExt` and
/// `getaddrinfo_with`/`getnameinfo` (with their types) are Unix only.
#[cfg(feature = "net")]
pub mod net {
    #[doc(inline)]
    pub use tulip_net::{
        getaddrinfo, tcp, ConnectError, ConnectOptions, ListenOptions, OwnedReadHalf,
        OwnedWriteHalf, ReadHalf, ReuniteError, SockAddr, TcpListener, TcpStream, ToSocketAddrs,
        UdpSocket, WriteHalf,
    };
    /// Unix only: Unix sockets, `sendfile`, the loop's socket methods and the hinted resolver.
    #[cfg(unix)]
    #[doc(inline)]
    pub use tulip_net::{
        getaddrinfo_with, getnameinfo, sendfile, unix, AddrInfo, AddrInfoHints, AiFlags,
        BlockingSocketError, Family, LoopSockExt, NameInfoFlags, ResolveError, SockAccept,
        SockType, UnixDatagram, UnixListener, UnixStream,
    };
}

/// asyncio's Streams: `open_connection`, `start_server`, `StreamReader`, `StreamWriter`,
/// `Server` (and the Unix forms, on Unix).
#[cfg(feature = "net")]
#[doc(inline)]
pub use tulip_net::streams;

/// TLS on rustls: asyncio's `ssl=`, `start_tls` and the SSL timeouts for `streams`, and TLS
/// over any socket (`tls::connect`, `tls::accept`, `TcpStream::start_tls`).
#[cfg(all(feature = "tls", unix))]
#[doc(inline)]
pub use tulip_net::tls;
/// Subprocesses (asyncio's "Subprocesses"): [`Command`](process::Command),
/// `create_subprocess_exec`, `create_subprocess_shell`, and [`Child`](process::Child) with
/// `StreamWriter`/`StreamReader` pipes, `wait`, `communicate`, signals and `returncode`.
///
/// On Windows: all of it but signals (`kill` and `terminate` call `TerminateProcess`;
/// `send_signal` is Unix only); each piped stream is served by a thread of its own.
#[cfg(feature = "process")]
pub mod process {
    pub use std::process::{ExitStatus, Output};
    #[doc(inline)]
    pub use tulip_process::{
        create_subprocess_exec, create_subprocess_shell, Child, ChildStderr, ChildStdin,
        ChildStdout, Command, Stdio,
    };
}

/// Unix signals: [`ctrl_c`](signal::ctrl_c), a [`Signals`](signal::Signals) stream,
/// [`shutdown`](signal::shutdown) for services, and the signal numbers. The loop's
/// `add_signal_handler`/`remove_signal_handler` (asyncio's) are on [`LoopHandle`].
#[cfg(feature = "signal")]
pub mod signal {
    /// Ctrl-Break at the console: Windows only.
    #[cfg(windows)]
    #[doc(inline)]
    pub use tulip_signal::SIGBREAK;
    #[doc(inline)]
    pub use tulip_signal::{
        check_signal, ctrl_c, shutdown, CtrlC, ShutdownSignal, Signals, SignalsHandle, SIGABRT,
        SIGFPE, SIGILL, SIGINT, SIGSEGV, SIGTERM,
    };
    /// The signals that exist on Unix only.
    #[cfg(unix)]
    #[doc(inline)]
    pub use tulip_signal::{
        SIGALRM, SIGBUS, SIGCHLD, SIGCONT, SIGHUP, SIGKILL, SIGPIPE, SIGPROF, SIGQUIT, SIGSTOP,
        SIGSYS, SIGTRAP, SIGTSTP, SIGTTIN, SIGTTOU, SIGURG, SIGUSR1, SIGUSR2, SIGVTALRM, SIGWINCH,
        SIGXCPU, SIGXFSZ,
    };
}

/// asyncio's `Future` ([`Promise`](future::Promise) and [`Completion`](future::Completion),
/// with done-callbacks; [`wrap_future`](future::wrap_future)), plus the future helpers of
/// futures-lite.
pub mod future {
    pub use futures_lite::future::*;
    #[doc(inline)]
    pub use tulip_runtime::future::{
        wrap_future, CallbackId, Completion, FutureError, InvalidStateError, Promise,
    };
}

/// Stream helpers (re-exported from futures-lite).
pub mod stream {
    pub use futures_core::Stream;
    pub use futures_lite::stream::*;
}

/// The traits most programs want in scope.
pub mod prelude {
    pub use futures_core::Stream;
    pub use futures_io::{AsyncBufRead, AsyncRead, AsyncWrite};
    pub use futures_lite::{
        AsyncBufReadExt as _, AsyncReadExt as _, AsyncWriteExt as _, FutureExt as _, StreamExt as _,
    };
    #[cfg(all(feature = "net", unix))]
    pub use tulip_net::LoopSockExt as _;
}

/// asyncio's Transports and Protocols: `Protocol`, `BufferedProtocol`, `DatagramProtocol`,
/// `SubprocessProtocol`, their transports, and `create_connection`, `create_server`,
/// `create_datagram_endpoint`, the pipes and `subprocess_exec`/`subprocess_shell` — as free
/// functions and as methods of the loop handle (`protocol::LoopProtocolExt`).
///
/// On Windows: TCP, UDP and subprocess transports; Unix sockets and pipes given by file
/// descriptor are Unix only.
#[cfg(feature = "protocol")]
#[doc(inline)]
pub use tulip_protocol as protocol;

/// hyper 1.x on tulip (feature `hyper`): hyper's runtime traits for tulip's loop, timers and
/// streams — [`TulipExecutor`](hyper_rt::TulipExecutor) (`hyper::rt::Executor`, which
/// HTTP/2 needs), [`TulipTimer`](hyper_rt::TulipTimer) (`hyper::rt::Timer`, for hyper's
/// timeouts) and [`TulipIo`](hyper_rt::TulipIo) (`hyper::rt::Read`/`Write` over any
/// futures-io stream, such as `net::TcpStream` or a TLS stream). See `docs/ecosystem.md`.
#[cfg(feature = "hyper")]
pub mod hyper_rt {
    #[doc(inline)]
    pub use tulip_executor::Spawner;
    #[doc(inline)]
    pub use tulip_hyper::{TulipExecutor, TulipIo, TulipSleep, TulipTimer};
}

#[cfg(feature = "tokio-compat")]
pub mod compat;
