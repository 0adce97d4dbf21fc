//! [`Signals`], [`ctrl_c`] and [`shutdown`]: signal deliveries as a stream and as futures.
//!
//! Each [`Signals`] owns a Unix socket pair. Its signal-hook action (one per signal, run inside
//! the signal handler) adds one to that signal's delivery counter and sends one byte on the
//! pair's write end without blocking; the read end is registered with the loop's reactor, so
//! a delivery wakes a loop parked in `epoll_wait` at once. The stream drains the socket and
//! compares the counters with what it has handed out. The counters are exact; the bytes only
//! wake (a full socket drops bytes, never deliveries).

use std::collections::BTreeSet;
use std::fmt;
use std::future::Future;
use std::io::{self, Read};
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use futures_core::Stream;
use tulip_reactor::{Async, Reactor};

use crate::registry::{self, Registration};

/// One end of a wake-up pair: a Unix socket pair on Unix, a loopback TCP connection on Windows
/// (which has no socket pairs).
#[cfg(unix)]
type WakeEnd = std::os::unix::net::UnixStream;
/// One end of a wake-up pair: a Unix socket pair on Unix, a loopback TCP connection on Windows
/// (which has no socket pairs).
#[cfg(windows)]
type WakeEnd = std::net::TcpStream;

/// A connected wake-up pair: (read end, write end).
#[cfg(unix)]
fn wake_pair() -> io::Result<(WakeEnd, WakeEnd)> {
    WakeEnd::pair()
}

/// A connected wake-up pair: (read end, write end).
#[cfg(windows)]
fn wake_pair() -> io::Result<(WakeEnd, WakeEnd)> {
    let listener = std::net::TcpListener::bind((std::net::Ipv4Addr::LOCALHOST, 0))?;
    let write = WakeEnd::connect(listener.local_addr()?)?;
    loop {
        let (read, from) = listener.accept()?;
        // Only our own connection counts (another local process could race to connect).
        if from == write.local_addr()? {
            write.set_nodelay(true)?;
            return Ok((read, write));
        }
    }
}

/// Who a subscription is for.
#[derive(Debug, Clone)]
pub(crate) enum Kind {
    /// A user of this crate: `Signals`, `ctrl_c`, `shutdown`, `add_signal_handler`.
    User,
    /// The runner's Ctrl-C handling: counts a delivery only when no user subscription of the
    /// signal exists at that instant, and once armed ends the process instead.
    Fallback { armed: Arc<AtomicBool> },
}

/// What a `Signals` shares with its signal-hook actions and its handles.
pub(crate) struct Shared {
    sigs: Box<[i32]>,
    /// Deliveries so far, per signal of `sigs`.
    counts: Box<[AtomicU64]>,
    /// The write end of the socket pair (non-blocking), written by the actions.
    wake: WakeEnd,
    /// The registered actions; `None` once closed.
    regs: Mutex<Option<Vec<Registration>>>,
    closed: AtomicBool,
}

impl Shared {
    /// Sends one wake-up byte. Async-signal-safe: one `send` system call, no allocation.
    fn wake(&self) {
        #[cfg(windows)]
        {
            // The C runtime runs signal handlers on a thread of their own (Ctrl-C) or the
            // raising one: a plain non-blocking write is fine there.
            use std::io::Write;
            let _ = (&self.wake).write(&[1]);
        }
        #[cfg(unix)]
        self.wake_unix();
    }

    /// [`wake`](Self::wake) on Unix.
    #[cfg(unix)]
    fn wake_unix(&self) {
        use rustix::net::SendFlags;
        #[cfg(any(target_os = "linux", target_os = "android"))]
        let flags = SendFlags::DONTWAIT | SendFlags::NOSIGNAL;
        #[cfg(not(any(target_os = "linux", target_os = "android")))]
        let flags = SendFlags::DONTWAIT;
        // A full socket already holds a wake-up; the counter keeps the delivery.
        let _ = rustix::net::send(&self.wake, &[1], flags);
    }

    /// Unregisters every action (restoring dispositions as the last subscriptions go) and
    /// wakes the stream, which then ends.
    fn close(&self) {
        let regs = tulip_util::lock(&self.regs).take();
        if let Some(regs) = regs {
            for r in regs {
                registry::unsubscribe(r);
            }
            self.closed.store(true, Ordering::SeqCst);
            self.wake();
        }
    }
}

/// The reading end of a `Signals`' socket pair.
enum ReadEnd {
    /// Not yet registered with a reactor (created outside a loop).
    Unbound(WakeEnd),
    Bound(Async<WakeEnd>),
}

/// A stream of signal deliveries (async-signal's `Signals`, tokio's `signal(kind)`): each
/// delivery of one of its signals yields that signal's number.
///
/// From [`new`](Self::new) until the `Signals` is dropped (or [closed](SignalsHandle::close)),
/// its signals are caught: their default action (ending the process, for SIGINT and SIGTERM)
/// no longer happens. When the last tulip subscription of a signal goes, the disposition it
/// had before tulip handled it comes back — which signal-hook alone does not do.
///
/// # Coalescing
///
/// The kernel merges a standard signal sent again while it is still pending (not yet
/// handled); every delivery that reaches the handler is counted, and the stream yields one
/// item per counted delivery, none lost, however long the stream goes unpolled. Deliveries of
/// different signals that arrive between two polls come out grouped by signal, in the order
/// the signals were given to [`new`](Self::new), not in arrival order.
///
/// A `Signals` may be created outside a loop (it catches signals from then on); it binds to
/// the loop that first polls it, and polling it outside any tulip loop panics.
///
/// # Examples
///
/// ```
/// use futures_lite::StreamExt;
/// use tulip_signal::{Signals, SIGUSR1};
///
/// tulip_runtime::run(async {
///     let mut signals = Signals::new([SIGUSR1])?;
///     rustix::process::kill_process(rustix::process::getpid(), rustix::process::Signal::USR1)?;
///     assert_eq!(signals.next().await, Some(SIGUSR1));
///     std::io::Result::Ok(())
/// })?;
/// # std::io::Result::Ok(())
/// ```
pub struct Signals {
    shared: Arc<Shared>,
    read: ReadEnd,
    /// Deliveries handed out so far, per signal.
    seen: Vec<u64>,
}

impl fmt::Debug for Signals {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Signals")
            .field("signals", &self.shared.sigs)
            .field("closed", &self.shared.closed.load(Ordering::Relaxed))
            .finish()
    }
}

impl Drop for Signals {
    fn drop(&mut self) {
        self.shared.close();
    }
}

impl Signals {
    /// Catches `signals` from now on (a number given twice counts once).
    ///
    /// # Errors
    ///
    /// `InvalidInput` for a number [`check_signal`](crate::check_signal) refuses (SIGKILL,
    /// SIGSTOP, SIGILL, SIGFPE, SIGSEGV, out of range), with a message naming it; the OS's
    /// error if it refuses the handler or the socket pair. Nothing stays registered after an
    /// error.
    pub fn new(signals: impl IntoIterator<Item = i32>) -> io::Result<Signals> {
        Signals::with_kind(signals, Kind::User)
    }

    pub(crate) fn with_kind(
        signals: impl IntoIterator<Item = i32>,
        kind: Kind,
    ) -> io::Result<Signals> {
        let sigs: Box<[i32]> = signals
            .into_iter()
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        for &s in sigs.iter() {
            registry::check(s)?;
        }
        let (read, wake) = wake_pair()?;
        wake.set_nonblocking(true)?;
        read.set_nonblocking(true)?;
        let shared = Arc::new(Shared {
            counts: sigs.iter().map(|_| AtomicU64::new(0)).collect(),
            sigs,
            wake,
            regs: Mutex::new(Some(Vec::new())),
            closed: AtomicBool::new(false),
        });
        let read = match Reactor::current() {
            Some(r) => ReadEnd::Bound(Async::with_reactor(read, &r)?),
            None => ReadEnd::Unbound(read),
        };
        let signals = Signals {
            seen: vec![0; shared.sigs.len()],
            shared: shared.clone(),
            read,
        };
        for (i, &sig) in shared.sigs.iter().enumerate() {
            let reg = subscribe_action(&shared, i, sig, &kind)?;
            // A failure on a later signal drops `signals`, which unregisters these.
            if let Some(regs) = tulip_util::lock(&shared.regs).as_mut() {
                regs.push(reg);
            }
        }
        Ok(signals)
    }

    /// Waits for the next delivery (tokio's `Signal::recv`): `Some(signal)`, or `None` once
    /// the stream was [closed](SignalsHandle::close).
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: a delivery is only handed out by the poll that returns it; one that
    /// arrives while nobody waits is kept for the next call.
    pub async fn recv(&mut self) -> Option<i32> {
        std::future::poll_fn(|cx| Pin::new(&mut *self).poll_next(cx)).await
    }

    /// The signals this stream catches, in ascending order.
    pub fn signals(&self) -> &[i32] {
        &self.shared.sigs
    }

    /// A handle that closes this stream from anywhere (another task, another thread).
    pub fn handle(&self) -> SignalsHandle {
        SignalsHandle {
            shared: self.shared.clone(),
        }
    }

    /// Whether a delivery was counted and not yet handed out (atomic loads only).
    pub(crate) fn has_counted(&self) -> bool {
        self.shared
            .counts
            .iter()
            .zip(&self.seen)
            .any(|(count, &seen)| count.load(Ordering::SeqCst) > seen)
    }

    /// The next delivery counted and not yet handed out, if any.
    fn take_counted(&mut self) -> Option<i32> {
        for (i, count) in self.shared.counts.iter().enumerate() {
            if count.load(Ordering::SeqCst) > self.seen[i] {
                self.seen[i] += 1;
                return Some(self.shared.sigs[i]);
            }
        }
        None
    }

    fn bound(&mut self) -> &Async<WakeEnd> {
        if let ReadEnd::Unbound(s) = &self.read {
            let reactor = Reactor::current().unwrap_or_else(|| {
                panic!("tulip: a Signals stream was polled outside a tulip event loop")
            });
            let s = s
                .try_clone()
                .and_then(|s| Async::with_reactor(s, &reactor))
                .unwrap_or_else(|e| panic!("tulip: cannot register a Signals stream: {e}"));
            self.read = ReadEnd::Bound(s);
        }
        match &self.read {
            ReadEnd::Bound(a) => a,
            ReadEnd::Unbound(_) => unreachable!("bound just above"),
        }
    }
}

/// Registers the action that counts deliveries of `sigs[i]`.
fn subscribe_action(
    shared: &Arc<Shared>,
    i: usize,
    sig: i32,
    kind: &Kind,
) -> io::Result<Registration> {
    let sh = shared.clone();
    match kind {
        Kind::User => {
            let action = move || {
                sh.counts[i].fetch_add(1, Ordering::SeqCst);
                sh.wake();
            };
            // SAFETY: the action only touches atomics and makes one `send` system call, all
            // async-signal-safe; it allocates nothing and takes no lock.
            unsafe { registry::subscribe(sig, true, action) }
        }
        Kind::Fallback { armed } => {
            let armed = armed.clone();
            let action = move || {
                if armed.load(Ordering::SeqCst) {
                    // A second Ctrl-C while the runner shuts down: end now, as the default
                    // action would.
                    let _ = signal_hook::low_level::emulate_default_handler(sig);
                    return;
                }
                if registry::users(sig) > 0 {
                    // Someone else handles this signal now (asyncio: a handler set with
                    // add_signal_handler replaces the Runner's).
                    return;
                }
                sh.counts[i].fetch_add(1, Ordering::SeqCst);
                sh.wake();
            };
            let reg =
                // SAFETY: as above, plus `emulate_default_handler`, which signal-hook documents
                // as async-signal-safe (sigaction, sigprocmask, raise, abort).
                unsafe { registry::subscribe_if_default(sig, false, action) }?;
            reg.ok_or_else(|| {
                io::Error::new(
                    io::ErrorKind::AlreadyExists,
                    "the signal is handled already or its disposition is not the default one",
                )
            })
        }
    }
}

/// Reads and discards the wake-up bytes; `Ok` if there were any.
fn drain(mut s: &WakeEnd) -> io::Result<()> {
    let mut buf = [0u8; 64];
    let mut any = false;
    loop {
        match s.read(&mut buf) {
            Ok(0) => return Err(io::ErrorKind::UnexpectedEof.into()),
            Ok(_) => any = true,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
            Err(e) => return Err(e),
        }
    }
    if any {
        Ok(())
    } else {
        Err(io::ErrorKind::WouldBlock.into())
    }
}

impl Stream for Signals {
    type Item = i32;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<i32>> {
        let this = self.get_mut();
        loop {
            if let Some(sig) = this.take_counted() {
                return Poll::Ready(Some(sig));
            }
            if this.shared.closed.load(Ordering::SeqCst) {
                return Poll::Ready(None);
            }
            // Drain the socket, then look at the counters again: an action counts before it
            // sends its byte, so a delivery whose byte this read missed is either counted
            // already or announced by a byte still to come (a readiness event).
            match this.bound().poll_read_with(cx, drain) {
                Poll::Ready(Ok(())) => {}
                Poll::Ready(Err(_)) => return Poll::Ready(None),
                Poll::Pending => return Poll::Pending,
            }
        }
    }
}

/// Closes a [`Signals`] from anywhere: its handlers are unregistered at once (restoring the
/// default dispositions if they were the last tulip subscriptions) and the stream ends after
/// the deliveries it had already counted.
///
/// # Examples
///
/// ```
/// use futures_lite::StreamExt;
/// use tulip_signal::{Signals, SIGUSR2};
///
/// tulip_runtime::run(async {
///     let mut signals = Signals::new([SIGUSR2])?;
///     let handle = signals.handle();
///     std::thread::spawn(move || handle.close());
///     assert_eq!(signals.next().await, None);
///     std::io::Result::Ok(())
/// })?;
/// # std::io::Result::Ok(())
/// ```
#[derive(Clone)]
pub struct SignalsHandle {
    shared: Arc<Shared>,
}

impl fmt::Debug for SignalsHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SignalsHandle")
            .field("signals", &self.shared.sigs)
            .field("closed", &self.is_closed())
            .finish()
    }
}

impl SignalsHandle {
    /// Unregisters the stream's handlers and ends it. Closing twice does nothing.
    pub fn close(&self) {
        self.shared.close();
    }

    /// Whether the stream has been closed.
    pub fn is_closed(&self) -> bool {
        self.shared.closed.load(Ordering::SeqCst)
    }
}

/// Completes at the next Ctrl-C (SIGINT): tokio's `signal::ctrl_c`.
///
/// SIGINT is caught from the moment `ctrl_c()` is called until the future completes or is
/// dropped; then it has its previous meaning again (the default: ending the process; inside
/// `tulip::run` on the main thread: interrupting `run`). So a second Ctrl-C, after the one
/// this future reported, is not swallowed.
///
/// # Cancel safety
///
/// Cancel safe: dropping the future unregisters its handler; a Ctrl-C that arrived before is
/// lost with it.
///
/// # Examples
///
/// ```
/// tulip_runtime::run(async {
///     let ctrl_c = tulip_signal::ctrl_c();
///     rustix::process::kill_process(rustix::process::getpid(), rustix::process::Signal::INT)?;
///     ctrl_c.await
/// })?;
/// # std::io::Result::Ok(())
/// ```
pub fn ctrl_c() -> CtrlC {
    CtrlC {
        signals: Some(Signals::new([libc::SIGINT])),
    }
}

/// The future of [`ctrl_c`].
#[must_use = "futures do nothing unless polled"]
pub struct CtrlC {
    signals: Option<io::Result<Signals>>,
}

impl fmt::Debug for CtrlC {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CtrlC").finish_non_exhaustive()
    }
}

impl Future for CtrlC {
    type Output = io::Result<()>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        match this.signals.as_mut() {
            None => Poll::Ready(Err(io::Error::other(
                "the ctrl_c future was polled after it completed",
            ))),
            Some(Err(_)) => match this.signals.take() {
                Some(Err(e)) => Poll::Ready(Err(e)),
                _ => unreachable!("matched an error just above"),
            },
            Some(Ok(s)) => match Pin::new(s).poll_next(cx) {
                Poll::Ready(_) => {
                    // Unregister now: the next Ctrl-C has its old meaning again.
                    this.signals = None;
                    Poll::Ready(Ok(()))
                }
                Poll::Pending => Poll::Pending,
            },
        }
    }
}

/// A future that completes with the first of `signals` to arrive: the stop signal of a
/// service, for `Server::serve_until` in tulip-net or any `select`.
///
/// The signals are caught from this call on (so a SIGTERM sent right after the service says
/// it is ready is not lost) until the future completes or is dropped; from then on they have
/// their previous meaning again, so a second SIGTERM ends the process the default way and a
/// second Ctrl-C interrupts `tulip::run`.
///
/// # Errors
///
/// As [`Signals::new`].
///
/// # Cancel safety
///
/// Dropping the returned future unregisters its handlers; a signal that arrived before is lost
/// with it.
///
/// # Examples
///
/// ```
/// use tulip_signal::{shutdown, SIGINT, SIGTERM};
///
/// tulip_runtime::run(async {
///     let stop = shutdown([SIGINT, SIGTERM])?;
///     rustix::process::kill_process(rustix::process::getpid(), rustix::process::Signal::TERM)?;
///     assert_eq!(stop.await, SIGTERM);
///     std::io::Result::Ok(())
/// })?;
/// # std::io::Result::Ok(())
/// ```
pub fn shutdown(signals: impl IntoIterator<Item = i32>) -> io::Result<ShutdownSignal> {
    Ok(ShutdownSignal {
        signals: Some(Signals::new(signals)?),
    })
}

/// The future of [`shutdown`]: the number of the signal that arrived.
#[must_use = "futures do nothing unless polled"]
pub struct ShutdownSignal {
    signals: Option<Signals>,
}

impl fmt::Debug for ShutdownSignal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ShutdownSignal")
            .field("signals", &self.signals.as_ref().map(Signals::signals))
            .finish()
    }
}

impl Future for ShutdownSignal {
    type Output = i32;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<i32> {
        let this = self.get_mut();
        let Some(s) = this.signals.as_mut() else {
            panic!("tulip: a shutdown future was polled after it completed");
        };
        match Pin::new(s).poll_next(cx) {
            Poll::Ready(Some(sig)) => {
                this.signals = None;
                Poll::Ready(sig)
            }
            // No handle to it exists, so nobody closes it.
            Poll::Ready(None) => Poll::Pending,
            Poll::Pending => Poll::Pending,
        }
    }
}
