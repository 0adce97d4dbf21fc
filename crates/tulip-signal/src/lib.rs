//! Signals for the tulip event loop (Unix signals; on Windows, Ctrl-C and the C runtime's few).
//!
//! - [`ctrl_c`]: a future that completes at the next Ctrl-C (SIGINT).
//! - [`Signals`]: a `Stream` of deliveries of a set of signals
//!   (`Signals::new([SIGINT, SIGTERM])?`), closable from anywhere with a [`SignalsHandle`].
//! - [`shutdown`]: the first of a set of signals, as a future — the stop signal of a service.
//! - [`check_signal`]: asyncio's rules on which numbers may be handled.
//! - [`Interrupt`]: asyncio 3.11 `Runner`'s Ctrl-C handling, which `tulip::run` installs.
//! - The signal numbers: [`SIGINT`], [`SIGTERM`], [`SIGHUP`], [`SIGUSR1`], [`SIGUSR2`],
//!   [`SIGCHLD`], …
//!
//! The loop's `add_signal_handler(sig, callback)` / `remove_signal_handler(sig)` (asyncio's
//! names) live on `tulip_runtime::LoopHandle`, built on [`Signals`].
//!
//! # Implementation
//!
//! Handlers are installed through signal-hook's registry, which lets several actions share a
//! signal and chains to a handler that was there before. Each [`Signals`] registers one action
//! per signal; the action, run inside the signal handler on whatever thread the signal
//! interrupted, adds one to a delivery counter and sends a byte on the `Signals`' own Unix
//! socket pair without blocking. The read end is registered with the reactor of the loop that
//! polls the stream, so a signal wakes a loop parked in `epoll_wait` at once; the stream then
//! drains the socket and hands out what the counters say. No thread is spawned.
//!
//! signal-hook never gives a signal its default action back. This crate does: it remembers
//! the disposition a signal had before tulip first handled it and restores it when the last
//! tulip subscription goes (dropping a `Signals`, a `ctrl_c` future completing,
//! `remove_signal_handler`). So Ctrl-C ends a program again once nothing waits for it.
//!
//! Developed and tested on Linux. The other Unixes have their own paths where Linux's do not
//! exist (the main-thread check by `pthread_main_np`, signals numbered up to 31); CI compiles
//! them for macOS and FreeBSD but does not run them.
//!
//! On Windows (compiled in CI, never run) only the C runtime's signals exist: [`SIGINT`]
//! (Ctrl-C), `SIGBREAK` (Ctrl-Break; Windows only), [`SIGTERM`], [`SIGABRT`], [`SIGILL`],
//! [`SIGFPE`] and [`SIGSEGV`]; the other numbers are compile-time absences (`cfg(unix)`). The
//! C runtime delivers Ctrl-C and Ctrl-Break from the console control handler it installs
//! (`SetConsoleCtrlHandler`) when a handler for them is set, on a thread of its own; so
//! [`ctrl_c`] works there as on Unix. The wake-up pair is a loopback TCP connection instead
//! of a Unix socket pair, and a disposition is read by swapping it out and back with
//! `signal()`.
//!
//! # Examples
//!
//! ```
//! use futures_lite::StreamExt;
//! use tulip_signal::{Signals, SIGHUP, SIGUSR1};
//!
//! tulip_runtime::run(async {
//!     let mut signals = Signals::new([SIGHUP, SIGUSR1])?;
//!     rustix::process::kill_process(rustix::process::getpid(), rustix::process::Signal::USR1)?;
//!     match signals.next().await {
//!         Some(SIGHUP) => println!("reload the configuration"),
//!         Some(sig) => println!("got signal {sig}"),
//!         None => unreachable!("nobody closed the stream"),
//!     }
//!     std::io::Result::Ok(())
//! })?;
//! # std::io::Result::Ok(())
//! ```

#![deny(unsafe_code)]
#![doc(test(attr(deny(warnings))))]
// The docs link to Unix-only signal numbers (SIGHUP, SIGUSR1, SIGCHLD, …).
#![cfg_attr(windows, allow(rustdoc::broken_intra_doc_links))]

mod interrupt;
#[allow(unsafe_code)] // Registering signal-hook actions, whose safety rests on the caller.
mod registry;
#[allow(unsafe_code)] // The actions it registers, each checked to be async-signal-safe.
mod signals;
#[allow(unsafe_code)] // sigaction and pthread_main_np, which rustix does not offer.
mod sys;

use std::io;

pub use interrupt::{Interrupt, Interrupted};
pub use signals::{ctrl_c, shutdown, CtrlC, ShutdownSignal, Signals, SignalsHandle};

/// Checks that `sig` may be handled, with asyncio's rules (`add_signal_handler`):
/// numbers out of the platform's range are refused, and so are SIGKILL and SIGSTOP (which
/// cannot be caught) and SIGILL, SIGFPE and SIGSEGV (which report a fault of the thread that
/// raised them and cannot be handled on an event loop).
///
/// # Errors
///
/// `InvalidInput`, with a message naming the signal.
///
/// # Examples
///
/// ```
/// use tulip_signal::{check_signal, SIGKILL, SIGTERM};
///
/// assert!(check_signal(SIGTERM).is_ok());
/// let e = check_signal(SIGKILL).unwrap_err();
/// assert_eq!(e.kind(), std::io::ErrorKind::InvalidInput);
/// assert!(e.to_string().contains("SIGKILL cannot be caught"));
/// assert!(check_signal(0).is_err());
/// assert!(check_signal(1000).is_err());
/// ```
pub fn check_signal(sig: i32) -> io::Result<()> {
    registry::check(sig)
}

/// The name of a signal (`"SIGINT"`), or `"signal N"` for one without a name.
pub(crate) fn signal_name(sig: i32) -> String {
    signal_hook::low_level::signal_name(sig).map_or_else(|| format!("signal {sig}"), str::to_owned)
}

/// Hang-up: the controlling terminal closed; daemons take it as "reload your configuration".
#[cfg(unix)]
pub const SIGHUP: i32 = libc::SIGHUP;
/// Interrupt: Ctrl-C at the terminal.
pub const SIGINT: i32 = libc::SIGINT;
/// Quit: Ctrl-\ at the terminal (the default action also dumps core).
#[cfg(unix)]
pub const SIGQUIT: i32 = libc::SIGQUIT;
/// Trace trap.
#[cfg(unix)]
pub const SIGTRAP: i32 = libc::SIGTRAP;
/// Abort (`abort()`).
pub const SIGABRT: i32 = libc::SIGABRT;
/// Ctrl-Break at the console (the C runtime's number; Windows only).
#[cfg(windows)]
pub const SIGBREAK: i32 = 21;
/// Bus error.
#[cfg(unix)]
pub const SIGBUS: i32 = libc::SIGBUS;
/// Illegal instruction: a fault of the thread that raised it (refused by [`check_signal`]).
pub const SIGILL: i32 = libc::SIGILL;
/// Arithmetic fault (refused by [`check_signal`]).
pub const SIGFPE: i32 = libc::SIGFPE;
/// Invalid memory access (refused by [`check_signal`]).
pub const SIGSEGV: i32 = libc::SIGSEGV;
/// Kill: cannot be caught, blocked or ignored (refused by [`check_signal`]; children can be
/// sent it).
#[cfg(unix)]
pub const SIGKILL: i32 = libc::SIGKILL;
/// User-defined signal 1.
#[cfg(unix)]
pub const SIGUSR1: i32 = libc::SIGUSR1;
/// User-defined signal 2.
#[cfg(unix)]
pub const SIGUSR2: i32 = libc::SIGUSR2;
/// Broken pipe: a write to a pipe or socket nobody reads.
#[cfg(unix)]
pub const SIGPIPE: i32 = libc::SIGPIPE;
/// Alarm clock.
#[cfg(unix)]
pub const SIGALRM: i32 = libc::SIGALRM;
/// Termination request: what `kill` and service managers send to stop a process.
pub const SIGTERM: i32 = libc::SIGTERM;
/// A child process stopped or ended.
#[cfg(unix)]
pub const SIGCHLD: i32 = libc::SIGCHLD;
/// Continue a stopped process.
#[cfg(unix)]
pub const SIGCONT: i32 = libc::SIGCONT;
/// Stop: cannot be caught, blocked or ignored (refused by [`check_signal`]).
#[cfg(unix)]
pub const SIGSTOP: i32 = libc::SIGSTOP;
/// Terminal stop: Ctrl-Z.
#[cfg(unix)]
pub const SIGTSTP: i32 = libc::SIGTSTP;
/// A background process read from its terminal.
#[cfg(unix)]
pub const SIGTTIN: i32 = libc::SIGTTIN;
/// A background process wrote to its terminal.
#[cfg(unix)]
pub const SIGTTOU: i32 = libc::SIGTTOU;
/// Urgent data on a socket.
#[cfg(unix)]
pub const SIGURG: i32 = libc::SIGURG;
/// CPU time limit exceeded.
#[cfg(unix)]
pub const SIGXCPU: i32 = libc::SIGXCPU;
/// File size limit exceeded.
#[cfg(unix)]
pub const SIGXFSZ: i32 = libc::SIGXFSZ;
/// Virtual timer expired.
#[cfg(unix)]
pub const SIGVTALRM: i32 = libc::SIGVTALRM;
/// Profiling timer expired.
#[cfg(unix)]
pub const SIGPROF: i32 = libc::SIGPROF;
/// The terminal window changed size.
#[cfg(unix)]
pub const SIGWINCH: i32 = libc::SIGWINCH;
/// Bad system call.
#[cfg(unix)]
pub const SIGSYS: i32 = libc::SIGSYS;
