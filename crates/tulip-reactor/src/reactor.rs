//! The reactor: I/O sources, timers, waiting and waking.

use std::cell::RefCell;
use std::fmt;
use std::io;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use tulip_time::wheel::{TimerKey, TimerWheel};
use tulip_time::{Clock, ClockGuard, Instant};

use crate::source::RawSource;
use crate::sys::{self, Backend, Poller};

thread_local! {
    /// The reactor of the loop running on this thread.
    static CURRENT: RefCell<Option<Reactor>> = const { RefCell::new(None) };
}

/// Locks a mutex, ignoring poisoning: every critical section here leaves its data consistent
/// before it can panic (no user code runs under these locks).
pub(crate) use tulip_util::lock;

/// A direction a source is waited on in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Dir {
    /// Readable: data, a connection to accept, end of stream or an error.
    Read = 0,
    /// Writable: room in the send buffer, a finished connect, or an error.
    Write = 1,
}

impl Dir {
    /// Index in per-source arrays.
    pub(crate) fn index(self) -> usize {
        self as usize
    }
}

/// The I/O and timer reactor of one event loop.
///
/// A `Reactor` is a cheap, cloneable handle (`Send + Sync`). It owns:
///
/// - an OS poller ([`Backend`]): sources are registered once, edge-triggered, and every
///   direction keeps an event counter, so a read or write is tried first and the task only
///   waits after the OS said `WouldBlock`;
/// - the loop's timer wheel (O(1) insert and cancel; see [`tulip_time::wheel`]);
/// - the loop's [`Clock`], real or paused.
///
/// The event loop calls [`Reactor::park`] when it has nothing to run (blocking up to the next
/// timer) and, with a zero timeout, every so many task polls so I/O is never starved. Other
/// threads wake a parked loop with [`Reactor::notify`].
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use tulip_reactor::Reactor;
///
/// let reactor = Reactor::new()?;
/// let _guard = reactor.enter();
/// let start = std::time::Instant::now();
/// // Nothing registered: a park with a timeout just waits that long.
/// reactor.park(Some(Duration::from_millis(5)))?;
/// assert!(start.elapsed() >= Duration::from_millis(5));
/// # std::io::Result::Ok(())
/// ```
#[derive(Clone)]
pub struct Reactor {
    pub(crate) inner: Arc<Inner>,
}

impl fmt::Debug for Reactor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Reactor")
            .field("backend", &self.inner.poller.backend())
            .field("clock", &self.inner.clock)
            .field("sources", &self.inner.source_count.load(Ordering::Relaxed))
            .finish_non_exhaustive()
    }
}

/// Shared state of a reactor.
///
/// # Lock order
///
/// `park_state` → `sources` → a source's `state`; `park_state` → `timers`. `timers` is never
/// held while another of these locks is taken, and no lock is held while a waker is woken
/// (except `park_state`, by the one parking thread: waking only queues tasks). A source's
/// `state` is taken alone by the I/O objects, and `sources` alone by (de)registration.
pub(crate) struct Inner {
    /// The OS poller.
    poller: Poller,
    /// Registered I/O sources, indexed by key.
    sources: Mutex<Sources>,
    /// Number of registered sources; with none, a non-blocking park needs no system call.
    source_count: AtomicUsize,
    /// The timer wheel and what the current waiter (if any) sleeps until.
    timers: Mutex<Timers>,
    /// The loop's clock.
    clock: Clock,
    /// Time zero of the timer wheel.
    origin: Instant,
    /// The latest time (wheel ns) up to which every timer has fired: each expiry fires every
    /// timer due at its `now` and then raises this (under the `timers` lock). A registered
    /// sleep whose deadline is not later has fired, which it can tell without the lock.
    expired_through: AtomicU64,
    /// Scratch buffers of the (single) thread that is parking.
    park_state: Mutex<ParkState>,
    /// While non-zero, a paused clock does not jump to the next timer (work is happening off
    /// the loop, e.g. on the blocking pool).
    inhibit_auto_advance: AtomicUsize,
    /// Set by an [`AutoAdvanceGuard`]'s drop before the count goes down: "off-loop work just
    /// finished, look again". A paused clock only jumps when a park that found the count at
    /// zero finds this clear, so the wake of a blocking job's result, sent just before its
    /// guard goes, is always seen before time moves. (Plain notifications do not poke: the
    /// executor's own "re-check" notifications would then stop the clock from ever jumping.)
    poked: AtomicBool,
    /// Told what a task is about to wait for (installed by the loop in debug mode).
    wait_hook: std::sync::OnceLock<WaitHook>,
}

/// What a timer or I/O object is about to wait for, for introspection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum WaitNote {
    /// A timer due at this (real-clock) instant.
    Timer(std::time::Instant),
    /// Readiness of a file descriptor.
    Io {
        /// The file descriptor.
        fd: RawSource,
        /// Writability (`true`) or readability (`false`).
        write: bool,
    },
}

/// Receives [`WaitNote`]s (see [`Reactor::set_wait_hook`]).
pub type WaitHook = Box<dyn Fn(WaitNote) + Send + Sync>;

/// Timers and the deadline of the thread currently waiting in the poller.
struct Timers {
    wheel: TimerWheel<Waker>,
    /// `Some(deadline_ns)` while a thread waits in the poller until that time (`u64::MAX`:
    /// no deadline). A timer inserted earlier than this must interrupt the wait.
    waiting_until: Option<u64>,
}

/// Buffers reused across parks.
struct ParkState {
    events: Vec<sys::Event>,
    wakers: Vec<Waker>,
}

/// A slab of sources.
struct Sources {
    slots: Vec<Option<Arc<Source>>>,
    free: Vec<usize>,
}

/// One registered file descriptor.
pub(crate) struct Source {
    /// The raw fd (kept open by the owner of the registration).
    pub(crate) fd: RawSource,
    /// Key in the reactor's slab and in the poller.
    pub(crate) key: usize,
    /// Readiness of each direction, without a lock.
    readiness: [Readiness; 2],
    /// Wakers, per direction.
    pub(crate) state: Mutex<[Waiters; 2]>,
    /// The uring backend's completion state (recv, send, accept), made at the source's first
    /// completion operation: a source of the epoll backend never has one, which keeps about
    /// 100 bytes off every registered socket.
    #[cfg(target_os = "linux")]
    completion: std::sync::OnceLock<Box<crate::completion::Completion>>,
}

impl Source {
    /// The uring backend's completion state, made on first use.
    #[cfg(target_os = "linux")]
    pub(crate) fn completion(&self) -> &crate::completion::Completion {
        self.completion.get_or_init(Default::default)
    }

    /// The completion state if the source ever used one.
    #[cfg(target_os = "linux")]
    pub(crate) fn completion_if_used(&self) -> Option<&crate::completion::Completion> {
        self.completion.get().map(|c| &**c)
    }
}

/// What is known, without a lock, of one direction of a source.
///
/// `tick` counts readiness events. An operation reads it before its system call; if the call
/// says `WouldBlock` and `tick` has not moved when the waker is stored (under the state lock,
/// which `dispatch` also holds while it bumps `tick`), no event was missed in between.
///
/// `drained` is a hint that saves the system call that would return `WouldBlock`: it holds
/// `t + 1` when an operation that read `tick == t` proved the direction empty (a `WouldBlock`,
/// or a short read or write on a byte stream). While `tick` is still `t`, the next operation
/// waits for an event instead of trying. Any event moves `tick` on and so clears the hint.
///
/// `closed` is sticky: once the backend reported the direction closed for good (a FIN, a
/// hang-up, an error), operations never block again, so the hint is never trusted after it.
/// Urgent data sets it too: a read stops short at its mark with data still queued.
#[derive(Default)]
struct Readiness {
    tick: AtomicU64,
    drained: AtomicU64,
    closed: AtomicBool,
}

/// Waiters of one direction of a source.
#[derive(Default)]
pub(crate) struct Waiters {
    /// The waker of the `poll_*` interface (one reader and one writer at a time).
    pub(crate) waker: Option<Waker>,
    /// Wakers of readiness futures (any number), by id.
    pub(crate) waiters: Vec<(u64, Waker)>,
    /// Next waiter id.
    pub(crate) next_id: u64,
}

impl Waiters {
    /// Whether a task waits in this direction.
    fn is_waited(&self) -> bool {
        self.waker.is_some() || !self.waiters.is_empty()
    }
}

impl Source {
    /// The event counter of `dir` (see [`Readiness`]).
    pub(crate) fn tick(&self, dir: Dir) -> u64 {
        self.readiness[dir.index()].tick.load(Ordering::Acquire)
    }

    /// Whether an operation proved `dir` empty while its event counter read `tick`.
    pub(crate) fn is_drained(&self, dir: Dir, tick: u64) -> bool {
        let r = &self.readiness[dir.index()];
        r.drained.load(Ordering::Relaxed) == tick.wrapping_add(1)
            && !r.closed.load(Ordering::Relaxed)
    }

    /// Records that `dir` was found empty by an operation that read `tick` before its call.
    pub(crate) fn set_drained(&self, dir: Dir, tick: u64) {
        self.readiness[dir.index()]
            .drained
            .store(tick.wrapping_add(1), Ordering::Relaxed);
    }

    /// Whether the backend reported `dir` closed for good (see [`Readiness`]).
    #[cfg(target_os = "linux")]
    pub(crate) fn is_closed(&self, dir: Dir) -> bool {
        self.readiness[dir.index()].closed.load(Ordering::Relaxed)
    }

    /// Counts an event in `dir` (called by `dispatch` with the state lock held); `closed`
    /// marks the direction closed for good.
    fn bump(&self, dir: Dir, closed: bool) {
        let r = &self.readiness[dir.index()];
        if closed {
            r.closed.store(true, Ordering::Relaxed);
        }
        r.tick.fetch_add(1, Ordering::Release);
    }
}

impl Reactor {
    /// A reactor on the default backend ([`Backend::from_env`]) and the real clock.
    ///
    /// # Errors
    ///
    /// Fails if the OS refuses to create the poller (out of file descriptors, say).
    pub fn new() -> io::Result<Reactor> {
        Reactor::with_backend_and_clock(Backend::from_env(), Clock::real())
    }

    /// A reactor on `backend` and the real clock.
    ///
    /// # Errors
    ///
    /// Fails if the backend is not available on this platform or the OS refuses to create it.
    pub fn with_backend(backend: Backend) -> io::Result<Reactor> {
        Reactor::with_backend_and_clock(backend, Clock::real())
    }

    /// A reactor on `backend` reading time from `clock` (pass [`Clock::paused`] for virtual
    /// time).
    ///
    /// # Errors
    ///
    /// Fails if the backend is not available on this platform or the OS refuses to create it.
    pub fn with_backend_and_clock(backend: Backend, clock: Clock) -> io::Result<Reactor> {
        Ok(Reactor::with_poller(Poller::new(backend)?, clock))
    }

    /// A reactor on a given backend instance.
    fn with_poller(poller: Poller, clock: Clock) -> Reactor {
        let origin = clock.now();
        Reactor {
            inner: Arc::new(Inner {
                poller,
                sources: Mutex::new(Sources {
                    slots: Vec::new(),
                    free: Vec::new(),
                }),
                source_count: AtomicUsize::new(0),
                timers: Mutex::new(Timers {
                    wheel: TimerWheel::new(),
                    waiting_until: None,
                }),
                clock,
                origin,
                expired_through: AtomicU64::new(0),
                park_state: Mutex::new(ParkState {
                    events: Vec::new(),
                    wakers: Vec::new(),
                }),
                inhibit_auto_advance: AtomicUsize::new(0),
                poked: AtomicBool::new(false),
                wait_hook: std::sync::OnceLock::new(),
            }),
        }
    }

    /// Installs a hook told what each timer and I/O object is about to wait for when it
    /// returns `Pending` (the loop installs one in debug mode to fill in task dumps). Only the
    /// first hook installed counts.
    pub fn set_wait_hook(&self, hook: WaitHook) {
        let _ = self.inner.wait_hook.set(hook);
    }

    /// Tells the wait hook, if any.
    pub(crate) fn note(&self, note: WaitNote) {
        if let Some(h) = self.inner.wait_hook.get() {
            h(note);
        }
    }

    /// The backend this reactor waits on.
    pub fn backend(&self) -> Backend {
        self.inner.poller.backend()
    }

    /// The reactor's clock.
    pub fn clock(&self) -> &Clock {
        &self.inner.clock
    }

    /// The reactor's current time.
    pub fn now(&self) -> Instant {
        self.inner.clock.now()
    }

    /// Whether two handles name the same reactor.
    pub fn ptr_eq(&self, other: &Reactor) -> bool {
        Arc::ptr_eq(&self.inner, &other.inner)
    }

    /// Makes this the current reactor (and its clock the current clock) on this thread until
    /// the guard is dropped. Timers and I/O objects created or first polled meanwhile bind to
    /// it.
    pub fn enter(&self) -> EnterGuard {
        let prev = CURRENT.with(|c| c.replace(Some(self.clone())));
        let clock = self.inner.clock.enter();
        EnterGuard {
            prev: Some(prev),
            _clock: clock,
        }
    }

    /// The reactor entered on this thread, if any.
    pub fn current() -> Option<Reactor> {
        CURRENT.with(|c| c.borrow().clone())
    }

    /// Runs `f` with the reactor entered on this thread, without cloning the handle.
    pub(crate) fn with_current<R>(f: impl FnOnce(Option<&Reactor>) -> R) -> R {
        CURRENT.with(|c| f(c.borrow().as_ref()))
    }

    /// Wakes the thread parked in this reactor, or makes its next park return at once.
    ///
    /// Costs one system call (an eventfd write on Linux); the event loop only calls it when
    /// the loop is actually parked.
    pub fn notify(&self) {
        // A failed notification can only mean the poller is gone; there is nobody to wake.
        let _ = self.inner.poller.notify();
    }

    /// Stops a paused clock from jumping ahead while the returned guard lives (the loop uses
    /// this while work runs off the loop, such as jobs on the blocking pool).
    pub fn inhibit_auto_advance(&self) -> AutoAdvanceGuard {
        self.inner
            .inhibit_auto_advance
            .fetch_add(1, Ordering::SeqCst);
        AutoAdvanceGuard {
            reactor: self.clone(),
        }
    }

    /// The deadline of the earliest timer, if any.
    pub fn next_timer(&self) -> Option<Instant> {
        let ns = lock(&self.inner.timers).wheel.next_deadline()?;
        Some(self.instant_of(ns))
    }

    /// Number of live timers.
    pub fn timer_count(&self) -> usize {
        lock(&self.inner.timers).wheel.len()
    }

    /// Number of timer slots allocated (live plus reusable): what the timers cost in memory.
    /// Cancelled timers give their slot back at once, so this stays flat under
    /// register-and-drop churn.
    pub fn timer_capacity(&self) -> usize {
        lock(&self.inner.timers).wheel.capacity()
    }

    /// Fires every timer that is due at the clock's current time; returns how many fired.
    pub fn fire_due_timers(&self) -> usize {
        let mut wakers = Vec::new();
        self.expire_timers(&mut wakers);
        let n = wakers.len();
        if let Some(panic) = wake_all(wakers) {
            std::panic::resume_unwind(panic);
        }
        n
    }

    /// Waits for I/O events and timers, then wakes the tasks they concern.
    ///
    /// - `Some(Duration::ZERO)`: check without blocking.
    /// - `Some(d)`: block for at most `d` (less if a timer is due sooner).
    /// - `None`: block until an I/O event, a timer, or [`notify`](Self::notify).
    ///
    /// With a paused clock, a blocking park that finds no I/O ready jumps the clock to the
    /// next timer instead of sleeping (unless [`inhibit_auto_advance`] is in effect).
    ///
    /// Returns how many wakers were woken. Only one thread parks at a time; a second caller
    /// waits for the first.
    ///
    /// # Errors
    ///
    /// Fails when the OS wait fails for a reason other than an interruption.
    ///
    /// # Panics
    ///
    /// When a waker panics (a foreign one: the loop's own never do), the other wakers are
    /// woken all the same, the park lock is released, and then the first panic is resumed
    /// for the caller to contain (tulip-runtime reports it to the exception handler).
    ///
    /// [`inhibit_auto_advance`]: Self::inhibit_auto_advance
    pub fn park(&self, timeout: Option<Duration>) -> io::Result<usize> {
        self.park_with(timeout, true)
    }

    /// [`park`](Self::park), saying whether a paused clock may jump ahead now
    /// (`may_advance_time` is `false` while other workers of a multi-threaded loop are busy).
    ///
    /// # Errors
    ///
    /// As [`park`](Self::park).
    pub fn park_with(
        &self,
        timeout: Option<Duration>,
        may_advance_time: bool,
    ) -> io::Result<usize> {
        let mut state = lock(&self.inner.park_state);
        let ParkState { events, wakers } = &mut *state;

        // Timers that are already due make this a non-blocking check.
        let next = self.expire_timers(wakers);
        let timeout = if wakers.is_empty() {
            timeout
        } else {
            Some(Duration::ZERO)
        };

        if timeout == Some(Duration::ZERO) {
            self.wait_io(events, timeout)?;
        } else if self.inner.clock.is_paused() {
            self.park_virtual(events, wakers, timeout, next, may_advance_time)?;
        } else {
            self.park_real(events, timeout, next)?;
        }

        self.dispatch(events, wakers);
        self.expire_timers(wakers);
        let n = wakers.len();
        // Wake outside every lock but the park lock (wakers only queue tasks). A waker that
        // panics (a foreign one: the loop's own never do) neither keeps the others asleep nor
        // leaves the park lock poisoned: its panic is resumed once all are woken and the lock
        // is released, for the caller (the loop's driver reports it) to contain.
        let panic = wake_all(wakers.drain(..));
        drop(state);
        if let Some(panic) = panic {
            std::panic::resume_unwind(panic);
        }
        Ok(n)
    }

    /// A blocking park on the real clock: sleep in the poller no later than the next timer
    /// (`next`, in wheel nanoseconds) or the caller's `timeout`.
    fn park_real(
        &self,
        events: &mut Vec<sys::Event>,
        timeout: Option<Duration>,
        next: Option<u64>,
    ) -> io::Result<()> {
        let now = self.ns_of(self.inner.clock.now());
        let until_timer = next.map(|n| Duration::from_nanos(n.saturating_sub(now)));
        let t = match (timeout, until_timer) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        self.wait_io_blocking(events, t)
    }

    /// A blocking park on a paused clock: look at I/O without blocking; if nothing is ready
    /// and no off-loop work is running, jump the clock from deadline to deadline until a timer
    /// fires (into `wakers`) or the caller's `timeout` is reached. Only when there is nothing
    /// to jump to does it block, waiting for I/O or a notification.
    fn park_virtual(
        &self,
        events: &mut Vec<sys::Event>,
        wakers: &mut Vec<Waker>,
        mut timeout: Option<Duration>,
        mut next: Option<u64>,
        may_advance_time: bool,
    ) -> io::Result<()> {
        let inner = &*self.inner;
        self.wait_io(events, Some(Duration::ZERO))?;
        let idle = events.is_empty();
        // The order matters: the count is read before the flag is taken, and a guard sets the
        // flag before it lowers the count, so a count seen at zero comes with its guard's poke.
        // A poke means "look again": return at once, neither jumping nor blocking.
        if idle && may_advance_time && inner.inhibit_auto_advance.load(Ordering::SeqCst) == 0 {
            if inner.poked.swap(false, Ordering::SeqCst) {
                return Ok(());
            }
            let limit = timeout.map(|t| inner.clock.now().saturating_add(t));
            // A jump may only cascade a far timer into a finer slot, so repeat until one fires.
            while let Some(n) = next {
                let target = self.instant_of(n);
                let reached_limit = limit.is_some_and(|l| l <= target);
                inner
                    .clock
                    .advance_to(limit.map_or(target, |l| l.min(target)));
                timeout = Some(Duration::ZERO);
                next = self.expire_timers(wakers);
                if !wakers.is_empty() || reached_limit {
                    break;
                }
            }
        }
        if idle && timeout != Some(Duration::ZERO) {
            self.wait_io_blocking(events, timeout)?;
        }
        Ok(())
    }

    /// A blocking OS wait, recording the deadline so that earlier timers inserted from other
    /// threads interrupt it.
    fn wait_io_blocking(
        &self,
        events: &mut Vec<sys::Event>,
        timeout: Option<Duration>,
    ) -> io::Result<()> {
        let inner = &*self.inner;
        let deadline = match timeout {
            None => u64::MAX,
            Some(t) => self
                .ns_of(inner.clock.now())
                .saturating_add(u64::try_from(t.as_nanos()).unwrap_or(u64::MAX)),
        };
        lock(&inner.timers).waiting_until = Some(deadline);
        let res = inner.poller.wait(events, timeout);
        lock(&inner.timers).waiting_until = None;
        res
    }

    /// A non-blocking OS check, skipped when no source is registered.
    fn wait_io(&self, events: &mut Vec<sys::Event>, timeout: Option<Duration>) -> io::Result<()> {
        if timeout == Some(Duration::ZERO) && self.inner.source_count.load(Ordering::Acquire) == 0 {
            return Ok(());
        }
        self.inner.poller.wait(events, timeout)
    }

    /// Turns events into wakers.
    fn dispatch(&self, events: &mut Vec<sys::Event>, wakers: &mut Vec<Waker>) {
        if events.is_empty() {
            return;
        }
        let oneshot = self.inner.poller.is_oneshot();
        let sources = lock(&self.inner.sources);
        for ev in events.drain(..) {
            let Some(Some(source)) = sources.slots.get(ev.key) else {
                continue;
            };
            let mut st = lock(&source.state);
            for (dir, hit, closed) in [
                (Dir::Read, ev.readable, ev.read_closed),
                (Dir::Write, ev.writable, ev.write_closed),
            ] {
                if hit {
                    source.bump(dir, closed);
                    let d = &mut st[dir.index()];
                    wakers.extend(d.waker.take());
                    wakers.extend(d.waiters.drain(..).map(|(_, w)| w));
                }
            }
            // A oneshot registration is disarmed by any event: re-arm it for a direction whose
            // waiters this event did not wake (the woken ones re-arm when they wait again).
            if oneshot {
                let (read, write) = (
                    st[Dir::Read.index()].is_waited(),
                    st[Dir::Write.index()].is_waited(),
                );
                drop(st);
                if read || write {
                    // An error here leaves those waiters to their next poll's re-arm.
                    let _ = self.inner.poller.rearm(source.fd, source.key, read, write);
                }
            }
        }
    }

    /// Fires due timers into `wakers`; returns the next deadline (ns).
    fn expire_timers(&self, wakers: &mut Vec<Waker>) -> Option<u64> {
        let now = self.ns_of(self.inner.clock.now());
        let mut timers = lock(&self.inner.timers);
        timers.wheel.expire(now, wakers);
        if now > self.inner.expired_through.load(Ordering::Relaxed) {
            // Release: a sleep that reads this value sees its timer gone from the wheel.
            self.inner.expired_through.store(now, Ordering::Release);
        }
        timers.wheel.next_deadline()
    }

    /// Whether every timer due at `ns` (wheel nanoseconds) has fired already.
    #[inline]
    pub(crate) fn expired_through(&self, ns: u64) -> bool {
        ns <= self.inner.expired_through.load(Ordering::Acquire)
    }

    /// Nanoseconds from the wheel's origin (saturating).
    pub(crate) fn ns_of(&self, t: Instant) -> u64 {
        let d = t.saturating_duration_since(self.inner.origin);
        u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
    }

    /// The instant `ns` nanoseconds after the origin (saturating).
    pub(crate) fn instant_of(&self, ns: u64) -> Instant {
        self.inner.origin.saturating_add(Duration::from_nanos(ns))
    }

    // ----- timers -----

    /// Registers a timer waking `waker` at `deadline`; returns its key and its deadline in
    /// wheel nanoseconds (for [`expired_through`](Self::expired_through)), or `None` without
    /// registering when an expiry has already passed the deadline (the timer is due).
    ///
    /// So a timer in the wheel was always inserted later than the latest expiry before its
    /// deadline, and once `expired_through(ns)` holds, it has fired and left the wheel.
    pub(crate) fn insert_timer(&self, deadline: Instant, waker: &Waker) -> Option<(TimerKey, u64)> {
        let ns = self.ns_of(deadline);
        let mut timers = lock(&self.inner.timers);
        if ns <= self.inner.expired_through.load(Ordering::Relaxed) {
            return None;
        }
        let key = timers.wheel.insert(ns, waker.clone());
        if let Some(until) = timers.waiting_until {
            if ns < until {
                // A thread sleeps past this deadline: shorten its wait.
                timers.waiting_until = Some(ns);
                drop(timers);
                self.notify();
            }
        }
        Some((key, ns))
    }

    /// Refreshes a timer's waker; `Ready` if the timer has fired.
    pub(crate) fn poll_timer(&self, key: TimerKey, cx: &Context<'_>) -> Poll<()> {
        let mut timers = lock(&self.inner.timers);
        match timers.wheel.get_mut(key) {
            None => Poll::Ready(()),
            Some(w) => {
                if !w.will_wake(cx.waker()) {
                    w.clone_from(cx.waker());
                }
                Poll::Pending
            }
        }
    }

    /// Cancels a timer (a no-op if it fired).
    pub(crate) fn remove_timer(&self, key: TimerKey) {
        let removed = lock(&self.inner.timers).wheel.remove(key);
        // Drop the waker outside the lock: dropping it may free a task.
        drop(removed);
    }

    // ----- I/O sources -----

    /// Registers `fd` (which must be non-blocking) for both directions.
    pub(crate) fn register(&self, fd: RawSource) -> io::Result<Arc<Source>> {
        let mut sources = lock(&self.inner.sources);
        let key = match sources.free.pop() {
            Some(k) => k,
            None => {
                sources.slots.push(None);
                sources.slots.len() - 1
            }
        };
        let source = Arc::new(Source {
            fd,
            key,
            readiness: Default::default(),
            state: Mutex::new(Default::default()),
            #[cfg(target_os = "linux")]
            completion: std::sync::OnceLock::new(),
        });
        if let Err(e) = self.inner.poller.add(fd, key) {
            sources.free.push(key);
            return Err(e);
        }
        sources.slots[key] = Some(source.clone());
        self.inner.source_count.fetch_add(1, Ordering::Release);
        Ok(source)
    }

    /// Removes a source from the poller and the slab, waking anything still waiting on it.
    pub(crate) fn deregister(&self, source: &Source) -> io::Result<()> {
        #[cfg(target_os = "linux")]
        if let Some(u) = self.inner.poller.completions() {
            crate::completion::release(u, source);
        }
        let res = self.inner.poller.delete(source.fd, source.key);
        {
            let mut sources = lock(&self.inner.sources);
            if let Some(slot) = sources.slots.get_mut(source.key) {
                if slot.take().is_some() {
                    sources.free.push(source.key);
                    self.inner.source_count.fetch_sub(1, Ordering::Release);
                }
            }
        }
        let wakers: Vec<Waker> = {
            let mut st = lock(&source.state);
            st.iter_mut()
                .flat_map(|d| {
                    d.waker
                        .take()
                        .into_iter()
                        .chain(d.waiters.drain(..).map(|(_, w)| w))
                })
                .collect()
        };
        // Called from `Async`'s drop too: a waker's panic is not resumed while the thread is
        // already unwinding (that would abort).
        if let Some(panic) = wake_all(wakers) {
            if !std::thread::panicking() {
                std::panic::resume_unwind(panic);
            }
        }
        res
    }

    /// Re-arms a oneshot registration (no-op for edge-triggered backends).
    ///
    /// A oneshot registration has one interest set for both directions, so it is re-armed for
    /// `dir` *and* for the other direction if anything still waits there: re-arming for `dir`
    /// alone would drop the interest of a task waiting the other way (a writer blocked on a
    /// full socket while another task reads it).
    pub(crate) fn rearm(&self, source: &Source, dir: Dir) -> io::Result<()> {
        if !self.inner.poller.is_oneshot() {
            return Ok(());
        }
        let (read, write) = {
            let st = lock(&source.state);
            (
                dir == Dir::Read || st[Dir::Read.index()].is_waited(),
                dir == Dir::Write || st[Dir::Write.index()].is_waited(),
            )
        };
        self.inner.poller.rearm(source.fd, source.key, read, write)
    }

    /// The io_uring backend, when stream reads go through its completions.
    #[cfg(target_os = "linux")]
    pub(crate) fn completions(&self) -> Option<&crate::sys::uring::Uring> {
        self.inner.poller.completions()
    }

    /// The io_uring backend, when stream writes are sends and listeners accept through a
    /// multishot accept.
    #[cfg(target_os = "linux")]
    pub(crate) fn completion_sends(&self) -> Option<&crate::sys::uring::Uring> {
        self.inner
            .poller
            .completions()
            .filter(|u| u.has_send_accept())
    }

    /// Whether a short read or write on a byte stream may be taken as "drained" (see
    /// [`Readiness`] and `Poller::trusts_short_io`). Elsewhere only `WouldBlock` proves it.
    pub(crate) fn trusts_short_io(&self) -> bool {
        self.inner.poller.trusts_short_io()
    }
}

/// Restores the previously entered reactor when dropped (see [`Reactor::enter`]).
#[must_use = "the reactor is only entered while the guard lives"]
pub struct EnterGuard {
    prev: Option<Option<Reactor>>,
    _clock: ClockGuard,
}

impl fmt::Debug for EnterGuard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("EnterGuard")
    }
}

impl Drop for EnterGuard {
    fn drop(&mut self) {
        if let Some(prev) = self.prev.take() {
            let _ = CURRENT.try_with(|c| c.replace(prev));
        }
    }
}

/// Keeps a paused clock from jumping ahead while alive (see
/// [`Reactor::inhibit_auto_advance`]).
#[must_use = "auto-advance is only inhibited while the guard lives"]
pub struct AutoAdvanceGuard {
    reactor: Reactor,
}

impl fmt::Debug for AutoAdvanceGuard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("AutoAdvanceGuard")
    }
}

impl Drop for AutoAdvanceGuard {
    fn drop(&mut self) {
        let inner = &self.reactor.inner;
        // Poke first, then lower the count (see `Inner::poked`): a park that sees the count
        // at zero also sees this poke, and looks again instead of jumping the clock past work
        // this guard's job has just made ready.
        inner.poked.store(true, Ordering::SeqCst);
        inner.inhibit_auto_advance.fetch_sub(1, Ordering::SeqCst);
        // The loop may be parked waiting for this work; let it re-check.
        let _ = inner.poller.notify();
    }
}

/// Wakes every waker in order, even when one of them panics; returns the first panic's
/// payload, for the caller to resume once it has released its locks.
fn wake_all(wakers: impl IntoIterator<Item = Waker>) -> Option<Box<dyn std::any::Any + Send>> {
    let mut first = None;
    for w in wakers {
        if let Err(panic) = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| w.wake())) {
            first.get_or_insert(panic);
        }
    }
    first
}

/// The oneshot registrations of the `polling` backend where the OS has no edge-triggered mode
/// (Windows' IOCP among them), run here on Linux's epoll in oneshot mode.
#[cfg(all(test, unix))]
mod oneshot_tests {
    use super::*;
    use crate::Async;
    use std::io::{Read, Write};
    use std::os::unix::net::UnixStream;
    use std::task::Wake;

    struct Count(AtomicUsize);

    impl Wake for Count {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    fn counter() -> (Arc<Count>, Waker) {
        let c = Arc::new(Count(AtomicUsize::new(0)));
        (c.clone(), Waker::from(c))
    }

    fn oneshot_reactor() -> Reactor {
        let poller = Poller::Polling(crate::sys::poller::PollingPoller::new_oneshot().unwrap());
        assert!(poller.is_oneshot());
        Reactor::with_poller(poller, Clock::real())
    }

    /// Fills `a`'s send buffer; returns how many bytes went in.
    fn fill(a: &Async<UnixStream>) -> usize {
        let chunk = [7u8; 65536];
        let mut total = 0;
        loop {
            match (&mut a.get_ref()).write(&chunk) {
                Ok(n) => total += n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return total,
                Err(e) => panic!("{e}"),
            }
        }
    }

    /// Reads everything `b` has; returns how many bytes.
    fn drain(b: &mut UnixStream) -> usize {
        let mut buf = [0u8; 65536];
        let mut total = 0;
        loop {
            match b.read(&mut buf) {
                Ok(0) => return total,
                Ok(n) => total += n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return total,
                Err(e) => panic!("{e}"),
            }
        }
    }

    /// Parks (bounded) until `c` counts a wake.
    fn park_until_woken(reactor: &Reactor, c: &Count) {
        for _ in 0..100 {
            if c.0.load(Ordering::SeqCst) > 0 {
                return;
            }
            reactor.park(Some(Duration::from_millis(20))).unwrap();
        }
        panic!("the waiter was never woken");
    }

    /// A registered stream whose send buffer is full, and its peer (both non-blocking). The
    /// initial registration's readiness (writable) is consumed first.
    fn full_pair(reactor: &Reactor) -> (Async<UnixStream>, UnixStream) {
        let (a, b) = UnixStream::pair().unwrap();
        b.set_nonblocking(true).unwrap();
        a.set_nonblocking(true).unwrap();
        let a = Async::with_reactor(a, reactor).unwrap();
        reactor.park(Some(Duration::ZERO)).unwrap();
        assert!(fill(&a) > 0);
        (a, b)
    }

    #[test]
    fn a_reader_waiting_keeps_a_blocked_writers_interest() {
        let reactor = oneshot_reactor();
        let (a, mut b) = full_pair(&reactor);
        let (wc, ww) = counter();
        let (rc, rw) = counter();
        let chunk = [1u8; 1024];
        let polled = a.poll_write_with(&mut Context::from_waker(&ww), |mut s| s.write(&chunk));
        assert!(polled.is_pending());
        // The reader waits after the writer: its re-arm must keep the write interest.
        let polled = a.poll_read_with(&mut Context::from_waker(&rw), |mut s| {
            s.read(&mut [0u8; 16])
        });
        assert!(polled.is_pending());
        assert!(drain(&mut b) > 0);
        park_until_woken(&reactor, &wc);
        assert_eq!(rc.0.load(Ordering::SeqCst), 0, "nothing came to read");
    }

    #[test]
    fn an_event_one_way_rearms_the_other_way() {
        let reactor = oneshot_reactor();
        let (a, mut b) = full_pair(&reactor);
        let (wc, ww) = counter();
        let (rc, rw) = counter();
        let chunk = [1u8; 1024];
        let polled = a.poll_read_with(&mut Context::from_waker(&rw), |mut s| {
            s.read(&mut [0u8; 16])
        });
        assert!(polled.is_pending());
        let polled = a.poll_write_with(&mut Context::from_waker(&ww), |mut s| s.write(&chunk));
        assert!(polled.is_pending());
        // A read event disarms the registration; the writer must still hear of space.
        b.write_all(b"x").unwrap();
        park_until_woken(&reactor, &rc);
        assert!(matches!(
            a.poll_read_with(&mut Context::from_waker(&rw), |mut s| s
                .read(&mut [0u8; 16])),
            Poll::Ready(Ok(1))
        ));
        assert!(drain(&mut b) > 0);
        park_until_woken(&reactor, &wc);
    }
}
