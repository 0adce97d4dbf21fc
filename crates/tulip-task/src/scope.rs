//! [`CancelScope`]: a region of work with a movable deadline and a `cancel()` that can be called
//! from anywhere (Trio's cancel scopes, asyncio's `Timeout`), and [`current_deadline`].
//!
//! # Who reports a cancellation
//!
//! Scopes nest when the future run by one scope runs another scope. When several nested scopes
//! are cancelled at once (the same deadline, or a deadline and a `cancel()`), **the outermost
//! cancelled scope reports it** and the inner ones end silently as its work is dropped: Trio's
//! rule, and asyncio 3.11's for nested `timeout()`s. An inner scope claims a timeout only if
//! its deadline passes while no enclosing scope is cancelled, for example because its deadline
//! is earlier.
//!
//! To decide that consistently, each thread keeps a stack of the scopes whose futures are
//! being polled right now ([`Frame`]s), plus one reading of the clock taken by the outermost
//! of them and shared by the others, so that two scopes with the same deadline can never see
//! two different times in one poll. A scope checks its state:
//!
//! 1. before polling its future (from the second poll on): if it is cancelled, its future is
//!    not polled again; it claims the cancellation, unless an enclosing scope on the stack is
//!    cancelled too, in which case it returns `Pending` and leaves the claim to that scope,
//!    which checks right after;
//! 2. after its future returns `Pending` (this catches a `cancel()` made during the poll, and
//!    a deadline that had passed before the first poll), with the same rule.
//!
//! The first poll always polls the future once, so, as in asyncio and Trio, work whose
//! deadline has already passed runs until its first suspension point (and finishes normally if
//! it never suspends).
//!
//! A scope never fires early: it is expired only when the loop's clock reads at least its
//! deadline. The reactor timer that wakes it is only a wake-up; a wake-up that arrives before
//! the deadline (after a `reschedule` to a later time, say) just re-arms the timer.

use std::cell::{Cell, RefCell};
use std::error::Error;
use std::fmt;
use std::future::{Future, IntoFuture};
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use pin_project_lite::pin_project;
use tulip_reactor::{sleep_until, Sleep};
use tulip_time::{Elapsed, Instant};

/// Why a [`CancelScope`] stopped its work.
///
/// # Examples
///
/// ```
/// use tulip_task::Cancelled;
///
/// assert!(Cancelled::Elapsed.is_elapsed() && !Cancelled::Elapsed.is_requested());
/// assert!(Cancelled::Requested.is_requested());
/// assert_eq!(Cancelled::Requested.to_string(), "the cancel scope was cancelled");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Cancelled {
    /// [`CancelScope::cancel`] was called.
    Requested,
    /// The scope's deadline passed (asyncio's `TimeoutError`).
    Elapsed,
}

impl Cancelled {
    /// Whether the deadline passed.
    pub fn is_elapsed(&self) -> bool {
        *self == Cancelled::Elapsed
    }

    /// Whether `cancel()` was called.
    pub fn is_requested(&self) -> bool {
        *self == Cancelled::Requested
    }
}

impl fmt::Display for Cancelled {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Cancelled::Requested => "the cancel scope was cancelled",
            Cancelled::Elapsed => "deadline has elapsed",
        })
    }
}

impl Error for Cancelled {}

impl From<Elapsed> for Cancelled {
    fn from(_: Elapsed) -> Cancelled {
        Cancelled::Elapsed
    }
}

impl From<Cancelled> for std::io::Error {
    fn from(c: Cancelled) -> std::io::Error {
        let kind = match c {
            Cancelled::Requested => std::io::ErrorKind::Interrupted,
            Cancelled::Elapsed => std::io::ErrorKind::TimedOut,
        };
        std::io::Error::new(kind, c)
    }
}

/// A scope's deadline.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Deadline {
    Never,
    /// Relative to the first poll of the first [`CancelScoped`] future (like `sleep`).
    After(Duration),
    At(Instant),
}

/// State shared by a scope's handles and the futures it runs.
#[derive(Debug)]
struct ScopeShared {
    /// `cancel()` was called.
    cancel_requested: AtomicBool,
    /// The deadline passed while the scope was running some work.
    expired: AtomicBool,
    /// Some work of the scope ended with `Err` (this scope claimed a cancellation).
    caught: AtomicBool,
    /// Ids for the `CancelScoped` futures, to find their wakers.
    next_run: AtomicU64,
    state: Mutex<ScopeState>,
}

#[derive(Debug)]
struct ScopeState {
    deadline: Deadline,
    /// The wakers of the `CancelScoped` futures currently running, by id.
    wakers: Vec<(u64, Waker)>,
}

impl ScopeShared {
    fn lock(&self) -> MutexGuard<'_, ScopeState> {
        // No user code runs under this lock.
        tulip_util::lock(&self.state)
    }

    /// The deadline, resolving a relative one against `now` (first poll).
    fn resolve(&self, now: impl FnOnce() -> Instant) -> Option<Instant> {
        let mut st = self.lock();
        match st.deadline {
            Deadline::Never => None,
            Deadline::At(t) => Some(t),
            Deadline::After(d) => {
                let t = now().saturating_add(d);
                st.deadline = Deadline::At(t);
                Some(t)
            }
        }
    }

    fn known_deadline(&self) -> Option<Instant> {
        match self.lock().deadline {
            Deadline::At(t) => Some(t),
            Deadline::Never | Deadline::After(_) => None,
        }
    }

    /// Why the scope is cancelled at `now`, if it is; remembers an expiry.
    fn cancelled_at(&self, now: &NowCell) -> Option<Cancelled> {
        if self.cancel_requested.load(Ordering::Acquire) {
            return Some(Cancelled::Requested);
        }
        let deadline = self.known_deadline()?;
        if now.get() >= deadline {
            self.expired.store(true, Ordering::Release);
            Some(Cancelled::Elapsed)
        } else {
            None
        }
    }

    fn wake_all(&self) {
        let wakers: Vec<Waker> = self.lock().wakers.iter().map(|(_, w)| w.clone()).collect();
        wakers.into_iter().for_each(Waker::wake);
    }
}

/// A region of work that can be cancelled from anywhere and has a deadline that can be moved
/// (Trio's `CancelScope`, asyncio's `Timeout`).
///
/// A `CancelScope` is a cheap, cloneable, `Send + Sync` handle. [`run`](Self::run) wraps a
/// future in the scope: the result is `Ok(output)`, or `Err(Cancelled::Elapsed)` if the
/// deadline passed first, or `Err(Cancelled::Requested)` if [`cancel`](Self::cancel) was
/// called; in both error cases the future is dropped (Rust's cancellation). Any clone can
/// [`reschedule`](Self::reschedule) or [`cancel`](Self::cancel), from any thread; the running
/// work notices at once (it is woken).
///
/// Nested scopes follow Trio and asyncio: when several are cancelled at once, the outermost
/// cancelled one reports it. In particular an inner scope whose deadline is not earlier than
/// an outer one's never claims the timeout. See the [module docs](crate#cancel-scopes).
///
/// [`timeout`](crate::timeout) and [`timeout_at`](crate::timeout_at) are scopes with a
/// deadline.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use tulip_reactor::{sleep, Instant};
/// use tulip_task::{CancelScope, Cancelled};
///
/// tulip_runtime::Runner::builder().start_paused(true).build().run(async {
///     let start = Instant::now();
///     let scope = CancelScope::with_deadline(start + Duration::from_secs(10));
///     let handle = scope.clone();
///     let r = scope
///         .run(async move {
///             sleep(Duration::from_secs(8)).await;
///             // More time is needed: push the deadline back (asyncio's reschedule).
///             handle.reschedule(Some(Instant::now() + Duration::from_secs(5)));
///             sleep(Duration::from_secs(60)).await;
///         })
///         .await;
///     assert_eq!(r, Err(Cancelled::Elapsed));
///     assert_eq!(start.elapsed(), Duration::from_secs(13));
///     assert!(scope.expired());
/// });
/// ```
#[derive(Clone)]
pub struct CancelScope {
    shared: Arc<ScopeShared>,
}

impl fmt::Debug for CancelScope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CancelScope")
            .field("deadline", &self.shared.lock().deadline)
            .field("cancel_called", &self.cancel_called())
            .field("expired", &self.expired())
            .field("cancelled_caught", &self.cancelled_caught())
            .finish()
    }
}

impl Default for CancelScope {
    fn default() -> Self {
        CancelScope::new()
    }
}

impl CancelScope {
    fn with(deadline: Deadline) -> CancelScope {
        CancelScope {
            shared: Arc::new(ScopeShared {
                cancel_requested: AtomicBool::new(false),
                expired: AtomicBool::new(false),
                caught: AtomicBool::new(false),
                next_run: AtomicU64::new(0),
                state: Mutex::new(ScopeState {
                    deadline,
                    wakers: Vec::new(),
                }),
            }),
        }
    }

    /// A scope with no deadline; it ends its work only if [`cancel`](Self::cancel) is called
    /// (or a deadline is set later with [`reschedule`](Self::reschedule)).
    ///
    /// # Examples
    ///
    /// ```
    /// let scope = tulip_task::CancelScope::new();
    /// assert_eq!(scope.deadline(), None);
    /// assert!(!scope.cancel_called());
    /// ```
    pub fn new() -> CancelScope {
        CancelScope::with(Deadline::Never)
    }

    /// A scope whose work is cancelled at `deadline` (asyncio's `timeout_at`, Trio's
    /// `move_on_at`).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use tulip_time::Instant;
    ///
    /// let when = Instant::now() + Duration::from_secs(1);
    /// let scope = tulip_task::CancelScope::with_deadline(when);
    /// assert_eq!(scope.deadline(), Some(when));
    /// ```
    pub fn with_deadline(deadline: Instant) -> CancelScope {
        CancelScope::with(Deadline::At(deadline))
    }

    /// A scope whose work is cancelled `timeout` after the first poll of its first
    /// [`run`](Self::run) (asyncio's `timeout(delay)`; counting from the first poll keeps the
    /// scope lazy, like [`sleep`](tulip_reactor::sleep)). `Duration::MAX` never expires.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use tulip_task::CancelScope;
    ///
    /// tulip_runtime::Runner::builder().start_paused(true).build().run(async {
    ///     let scope = CancelScope::with_timeout(Duration::from_secs(2));
    ///     assert_eq!(scope.deadline(), None); // not started yet
    ///     let start = tulip_time::Instant::now();
    ///     assert!(scope.run(std::future::pending::<()>()).await.is_err());
    ///     assert_eq!(scope.deadline(), Some(start + Duration::from_secs(2)));
    /// });
    /// ```
    pub fn with_timeout(timeout: Duration) -> CancelScope {
        if timeout == Duration::MAX {
            CancelScope::new()
        } else {
            CancelScope::with(Deadline::After(timeout))
        }
    }

    /// Runs `future` inside this scope: `Ok(output)`, or `Err(Cancelled)` once the scope is
    /// cancelled or its deadline passes, the future then being dropped.
    ///
    /// A scope may run several futures, one after another or at once; its deadline and
    /// `cancel()` apply to all of them.
    ///
    /// # Errors
    ///
    /// `Err(Cancelled::Elapsed)` when the deadline passed first, `Err(Cancelled::Requested)`
    /// when [`cancel`](Self::cancel) was called; when both happened, the one seen first.
    ///
    /// # Cancel safety
    ///
    /// As cancel safe as `future`: dropping the [`CancelScoped`] future drops `future` and the
    /// scope's timer, and nothing else.
    ///
    /// # Examples
    ///
    /// ```
    /// # tulip_runtime::run(async {
    /// use tulip_task::{CancelScope, Cancelled};
    ///
    /// let scope = CancelScope::new();
    /// let handle = scope.clone();
    /// let r = scope
    ///     .run(async move {
    ///         handle.cancel(); // from inside, or from any other task or thread
    ///         std::future::pending::<()>().await
    ///     })
    ///     .await;
    /// assert_eq!(r, Err(Cancelled::Requested));
    /// assert!(scope.cancelled_caught());
    /// # });
    /// ```
    pub fn run<F: IntoFuture>(&self, future: F) -> CancelScoped<F::IntoFuture> {
        CancelScoped {
            future: Some(future.into_future()),
            scope: self.clone(),
            run: self.shared.next_run.fetch_add(1, Ordering::Relaxed),
            sleep: None,
            waker: None,
            started: false,
            done: false,
        }
    }

    /// Cancels the scope's work, from any thread: each future running in it is dropped at its
    /// next poll (it is woken for that) and its `run` returns `Err(Cancelled::Requested)`;
    /// work started in the scope later is cancelled at its first suspension point. Trio's
    /// `cancel_scope.cancel()`.
    ///
    /// # Examples
    ///
    /// ```
    /// let scope = tulip_task::CancelScope::new();
    /// scope.cancel();
    /// assert!(scope.cancel_called());
    /// ```
    pub fn cancel(&self) {
        if !self.shared.cancel_requested.swap(true, Ordering::AcqRel) {
            self.shared.wake_all();
        }
    }

    /// Moves the deadline, earlier or later; `None` removes it (asyncio's
    /// `Timeout.reschedule`). May be called from any thread; the running work picks the new
    /// deadline up at once. A deadline already in the past cancels the work at its next poll.
    /// Rescheduling a scope whose work has already ended changes only what
    /// [`deadline`](Self::deadline) reports.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use tulip_time::Instant;
    ///
    /// let scope = tulip_task::CancelScope::new();
    /// let when = Instant::now() + Duration::from_secs(3);
    /// scope.reschedule(Some(when));
    /// assert_eq!(scope.deadline(), Some(when));
    /// scope.reschedule(None);
    /// assert_eq!(scope.deadline(), None);
    /// ```
    pub fn reschedule(&self, deadline: Option<Instant>) {
        self.shared.lock().deadline = match deadline {
            Some(t) => Deadline::At(t),
            None => Deadline::Never,
        };
        self.shared.wake_all();
    }

    /// The deadline (asyncio's `Timeout.when()`); `None` if there is none, or if it is relative
    /// ([`with_timeout`](Self::with_timeout)) and the scope has not started yet.
    #[doc(alias = "when")]
    pub fn deadline(&self) -> Option<Instant> {
        self.shared.known_deadline()
    }

    /// Whether the deadline passed while the scope's work was running (asyncio's
    /// `Timeout.expired()`). An inner scope whose deadline passed together with an outer one's
    /// is expired even though the outer one reported the timeout.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// tulip_runtime::Runner::builder().start_paused(true).build().run(async {
    ///     let scope = tulip_task::CancelScope::with_timeout(Duration::from_millis(5));
    ///     assert!(!scope.expired());
    ///     let _ = scope.run(std::future::pending::<()>()).await;
    ///     assert!(scope.expired());
    /// });
    /// ```
    pub fn expired(&self) -> bool {
        self.shared.expired.load(Ordering::Acquire)
    }

    /// Whether cancellation was requested, by [`cancel`](Self::cancel) or by the deadline
    /// passing while the work ran (Trio's `cancel_called`).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// tulip_runtime::Runner::builder().start_paused(true).build().run(async {
    ///     let scope = tulip_task::CancelScope::with_timeout(Duration::from_secs(1));
    ///     assert!(!scope.cancel_called() && !scope.cancelled_caught());
    ///     let _ = scope.run(std::future::pending::<()>()).await;
    ///     assert!(scope.cancel_called() && scope.cancelled_caught());
    /// });
    /// ```
    pub fn cancel_called(&self) -> bool {
        self.shared.cancel_requested.load(Ordering::Acquire) || self.expired()
    }

    /// Whether this scope stopped some of its work, that is, some [`run`](Self::run) returned
    /// `Err` (Trio's `cancelled_caught`). `false` for an inner scope whose cancellation an
    /// enclosing scope reported.
    pub fn cancelled_caught(&self) -> bool {
        self.shared.caught.load(Ordering::Acquire)
    }
}

/// The earliest deadline of the cancel scopes (and timeouts) around the code calling it, or
/// `None` outside any scope with a deadline (Trio's `current_effective_deadline`).
///
/// Meaningful inside the future a scope runs, while it is polled: the scopes of the current
/// task's poll are the ones that count. Work spawned from inside a scope is not inside it.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use tulip_task::{current_deadline, timeout};
///
/// tulip_runtime::Runner::builder().start_paused(true).build().run(async {
///     assert_eq!(current_deadline(), None);
///     let start = tulip_time::Instant::now();
///     timeout(Duration::from_secs(10), async {
///         timeout(Duration::from_secs(60), async {
///             assert_eq!(current_deadline(), Some(start + Duration::from_secs(10)));
///         })
///         .await
///     })
///     .await
///     .unwrap()
///     .unwrap();
/// });
/// ```
pub fn current_deadline() -> Option<Instant> {
    STACK
        .try_with(|s| {
            s.frames
                .borrow()
                .iter()
                .filter_map(|f| f.known_deadline())
                .min()
        })
        .ok()
        .flatten()
}

/// The per-thread stack of scopes being polled, and the shared reading of the clock.
struct Stack {
    frames: RefCell<Vec<Arc<ScopeShared>>>,
    now: NowCell,
}

/// One lazy reading of the clock per outermost scope poll.
struct NowCell(Cell<Option<Instant>>);

impl NowCell {
    fn get(&self) -> Instant {
        match self.0.get() {
            Some(t) => t,
            None => {
                let t = Instant::now();
                self.0.set(Some(t));
                t
            }
        }
    }
}

thread_local! {
    static STACK: Stack = const {
        Stack {
            frames: RefCell::new(Vec::new()),
            now: NowCell(Cell::new(None)),
        }
    };
}

/// A scope's place on this thread's stack while its future is polled; popped on drop (also
/// when the future panics).
struct Frame {
    /// How many scopes enclose this one in the current poll.
    depth: usize,
}

impl Frame {
    fn enter(shared: &Arc<ScopeShared>) -> Frame {
        let depth = STACK.with(|s| {
            let mut frames = s.frames.borrow_mut();
            frames.push(shared.clone());
            frames.len() - 1
        });
        Frame { depth }
    }

    /// Runs `f` with the clock reading shared by this poll.
    fn with_now<R>(&self, f: impl FnOnce(&NowCell) -> R) -> R {
        STACK.with(|s| f(&s.now))
    }

    /// Whether a scope enclosing this one is cancelled.
    fn enclosing_cancelled(&self) -> bool {
        STACK.with(|s| {
            // Clone the enclosing scopes out: checking reads their locks, and nothing here
            // may re-enter the RefCell.
            let enclosing: Vec<Arc<ScopeShared>> = s.frames.borrow()[..self.depth].to_vec();
            enclosing.iter().any(|e| e.cancelled_at(&s.now).is_some())
        })
    }
}

impl Drop for Frame {
    fn drop(&mut self) {
        let _ = STACK.try_with(|s| {
            let mut frames = s.frames.borrow_mut();
            frames.truncate(self.depth);
            if frames.is_empty() {
                s.now.0.set(None);
            }
        });
    }
}

pin_project! {
    /// Future of [`CancelScope::run`]: the scope's work.
    ///
    /// # Cancel safety
    ///
    /// As cancel safe as the future inside: dropping a `CancelScoped` drops that future and the
    /// scope's timer, and nothing else.
    ///
    /// # Errors
    ///
    /// As [`CancelScope::run`].
    ///
    /// # Examples
    ///
    /// ```
    /// # tulip_runtime::run(async {
    /// let scope = tulip_task::CancelScope::new();
    /// let work: tulip_task::CancelScoped<_> = scope.run(async { 1 });
    /// assert!(!work.scope().cancel_called());
    /// assert_eq!(work.await, Ok(1));
    /// # });
    /// ```
    #[must_use = "futures do nothing unless polled"]
    pub struct CancelScoped<F> {
        #[pin]
        future: Option<F>,
        scope: CancelScope,
        // This run's id among the scope's running work.
        run: u64,
        // Wakes the task at the deadline; `None` while there is no deadline.
        sleep: Option<Sleep>,
        // The waker stored in the scope's state.
        waker: Option<Waker>,
        // Whether the future was polled once.
        started: bool,
        done: bool,
    }

    impl<F> PinnedDrop for CancelScoped<F> {
        fn drop(this: Pin<&mut Self>) {
            let this = this.project();
            if !*this.done {
                let shared = &this.scope.shared;
                shared.lock().wakers.retain(|(id, _)| id != this.run);
                if *this.started {
                    // Dropped from outside (an enclosing scope claimed the cancellation, or
                    // the owner was cancelled): record an expiry that happened meanwhile.
                    if let Some(d) = shared.known_deadline() {
                        let now = STACK
                            .try_with(|s| {
                                if s.frames.borrow().is_empty() {
                                    Instant::now()
                                } else {
                                    s.now.get()
                                }
                            })
                            .unwrap_or_else(|_| Instant::now());
                        if now >= d {
                            shared.expired.store(true, Ordering::Release);
                        }
                    }
                }
            }
        }
    }
}

impl<F> fmt::Debug for CancelScoped<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CancelScoped")
            .field("scope", &self.scope)
            .field("started", &self.started)
            .field("done", &self.done)
            .finish_non_exhaustive()
    }
}

impl<F> CancelScoped<F> {
    /// The scope this work runs in.
    pub fn scope(&self) -> &CancelScope {
        &self.scope
    }
}

impl<F: Future> Future for CancelScoped<F> {
    type Output = Result<F::Output, Cancelled>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut this = self.project();
        assert!(!*this.done, "CancelScoped polled after completion");
        let shared = this.scope.shared.clone();
        let frame = Frame::enter(&shared);
        // A relative deadline counts from now, not from the poll's shared reading (which may
        // be older): it must never end early.
        let deadline = shared.resolve(Instant::now);

        if *this.started {
            if let Some(reason) = frame.with_now(|now| shared.cancelled_at(now)) {
                if frame.enclosing_cancelled() {
                    // The enclosing scope reports it, as soon as this returns.
                    return Poll::Pending;
                }
                return finish_cancelled(this.future, this.done, &shared, *this.run, reason);
            }
        }

        let future = this
            .future
            .as_mut()
            .as_pin_mut()
            .expect("the future is present until the scope completes");
        if let Poll::Ready(out) = future.poll(cx) {
            this.future.set(None);
            *this.done = true;
            shared.lock().wakers.retain(|(id, _)| id != this.run);
            return Poll::Ready(Ok(out));
        }
        *this.started = true;

        // Re-read: `cancel()` or `reschedule()` may have run while the future was polled.
        if let Some(reason) = frame.with_now(|now| shared.cancelled_at(now)) {
            if !frame.enclosing_cancelled() {
                return finish_cancelled(this.future, this.done, &shared, *this.run, reason);
            }
            return Poll::Pending;
        }

        if !this.waker.as_ref().is_some_and(|w| w.will_wake(cx.waker())) {
            let mut st = shared.lock();
            match st.wakers.iter_mut().find(|(id, _)| id == this.run) {
                Some((_, w)) => *w = cx.waker().clone(),
                None => st.wakers.push((*this.run, cx.waker().clone())),
            }
            drop(st);
            *this.waker = Some(cx.waker().clone());
            // A cancel() or reschedule() that ran before the waker was stored saw no waker:
            // look again.
            if shared.cancel_requested.load(Ordering::Acquire)
                || shared.known_deadline() != deadline
            {
                cx.waker().wake_by_ref();
                return Poll::Pending;
            }
        }

        // Arm the timer for the current deadline.
        let deadline = shared.known_deadline();
        match deadline {
            None => *this.sleep = None,
            Some(d) => {
                let sleep = this.sleep.get_or_insert_with(|| sleep_until(d));
                if sleep.deadline() != Some(d) || sleep.is_elapsed() {
                    sleep.reset(d);
                }
                if Pin::new(sleep).poll(cx).is_ready() {
                    // The clock reached the deadline after this poll's reading: poll again.
                    cx.waker().wake_by_ref();
                }
            }
        }
        Poll::Pending
    }
}

fn finish_cancelled<F, T>(
    mut future: Pin<&mut Option<F>>,
    done: &mut bool,
    shared: &ScopeShared,
    run: u64,
    reason: Cancelled,
) -> Poll<Result<T, Cancelled>> {
    *done = true;
    shared.caught.store(true, Ordering::Release);
    shared.lock().wakers.retain(|(id, _)| *id != run);
    // Dropped while this scope is still on the thread's stack, so that scopes nested in the
    // future see the same clock reading when they record their expiry.
    future.set(None);
    Poll::Ready(Err(reason))
}
