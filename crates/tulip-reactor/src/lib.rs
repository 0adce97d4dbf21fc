//! The reactor of the tulip event loop: the only code in tulip that waits on the OS.
//!
//! - [`Reactor`]: an OS poller, the loop's timer wheel and its clock, behind a cloneable
//!   handle. The event loop parks in it when idle and checks it without blocking every so many
//!   task polls.
//! - [`Async<T>`]: a socket, pipe or other fd registered with the reactor, with
//!   `futures_io::AsyncRead` / `AsyncWrite` and closure-based `read_with` / `write_with`.
//! - Timers: [`sleep`], [`sleep_until`], [`interval`] and [`advance`] (virtual time). Timeouts
//!   (asyncio's `timeout`/`wait_for`) live in `tulip-task`, built on cancel scopes.
//! - [`Backend`]: epoll through rustix (Linux), io_uring (Linux 5.13+, as a readiness source)
//!   or the `polling` crate (everywhere: kqueue, IOCP, …).
//! - [`AsSource`]: what `Async<T>` registers — a file descriptor on Unix (`AsFd`), a socket
//!   on Windows (`AsSocket`).
//!
//! # Implementation
//!
//! No thread is spawned: the thread running the event loop waits in [`Reactor::park`]. Sources
//! are registered once, edge-triggered, for both directions; each direction counts events, so
//! an operation is tried first and waits only after `WouldBlock` with no event in between. A
//! blocking park sleeps no later than the next timer (millisecond timeout, rounded up, no
//! timerfd); a park that finds a due timer or is asked not to block costs no system call when
//! no source is registered.
//!
//! The reactor never knows about tasks: it wakes `Waker`s. The executor (`tulip-executor`)
//! never knows about file descriptors. `tulip-runtime` joins the two.
//!
//! Readiness is the interface on every backend (the io_uring one included: multishot polls).
//! On io_uring, byte-stream reads may also go through completions
//! ([`Async::poll_recv_stream`]: a recv into a provided-buffer ring, cancel safe; the kernel
//! never writes into freed memory — see the invariant in `sys/uring_ops.rs`), and so may
//! writes ([`Async::poll_send_stream`]: an owned copy sent behind the caller's back, its buffer
//! kept until the completion) and accepts (a multishot accept). The types above
//! the reactor use closure-based operations (`read_with` / `write_with`) and owned buffers
//! where they hold data, so they do not assume readiness-only I/O.
//!
//! # Examples
//!
//! ```
//! use std::future::Future;
//! use std::time::Duration;
//! use tulip_reactor::{sleep, Reactor};
//! use tulip_time::Clock;
//!
//! // A reactor on virtual time: a park jumps the clock to the next timer.
//! let reactor = Reactor::with_backend_and_clock(tulip_reactor::Backend::from_env(), Clock::paused())?;
//! let _guard = reactor.enter();
//! let start = reactor.now();
//! let mut nap = Box::pin(sleep(Duration::from_secs(3600)));
//! let waker = std::task::Waker::noop();
//! let mut cx = std::task::Context::from_waker(&waker);
//! assert!(nap.as_mut().poll(&mut cx).is_pending());
//! reactor.park(None)?;
//! assert!(nap.as_mut().poll(&mut cx).is_ready());
//! assert_eq!(reactor.now() - start, Duration::from_secs(3600));
//! # std::io::Result::Ok(())
//! ```

#![deny(unsafe_code)]
#![doc(test(attr(deny(warnings))))]

#[cfg(target_os = "linux")]
mod completion;
mod io;
mod reactor;
mod source;
mod sys;
mod timer;

pub use io::{Async, Readiness};
pub use reactor::{AutoAdvanceGuard, EnterGuard, Reactor, WaitHook, WaitNote};
pub use source::{AsSource, BorrowedSource, RawSource};
pub use sys::Backend;
pub use timer::{
    advance, interval, interval_at, sleep, sleep_until, Interval, MissedTickBehavior, Sleep,
};
pub use tulip_time::{Clock, Elapsed, Instant};
