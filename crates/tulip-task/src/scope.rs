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

/// How a scope stops its work.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// Drops the work at once (the default).
    Drop,
    /// Tells the work (its checkpoints fail) and drops it after the grace period.
    Cooperative,
    /// Cooperative, and hides the cancellation of enclosing cooperative scopes from its work.
    Shield,
}

/// The grace period of a cooperative scope unless [`CancelScope::with_grace`] says otherwise.
pub const DEFAULT_GRACE: Duration = Duration::from_secs(10);

/// State shared by a scope's handles and the futures it runs.
#[derive(Debug)]
struct ScopeShared {
    kind: Kind,
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
    /// How long a cooperative scope's work may run on once it is cancelled.
    grace: Duration,
    /// When a cooperative scope's cancellation reached its work: the deadline for an expiry,
    /// the first poll that saw `cancel()` for a request. The grace period counts from here.
    signalled: Option<Instant>,
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

    /// Whether the scope drops its work at `now`: a drop-based scope as soon as it is
    /// cancelled, a cooperative one once its grace period has passed too.
    fn drops_at(&self, now: &NowCell) -> Option<Cancelled> {
        let reason = self.cancelled_at(now)?;
        match self.kind {
            Kind::Drop => Some(reason),
            Kind::Cooperative | Kind::Shield => {
                let t = now.get();
                (t >= self.signal(reason, t)?).then_some(reason)
            }
        }
    }

    /// Records when a cooperative scope's cancellation reached its work (`t` is now) and
    /// returns when its grace period ends (`None`: never).
    fn signal(&self, reason: Cancelled, t: Instant) -> Option<Instant> {
        let mut st = self.lock();
        let from = match (st.signalled, reason, st.deadline) {
            (Some(from), _, _) => from,
            (None, Cancelled::Elapsed, Deadline::At(d)) => d,
            (None, _, _) => t,
        };
        let first = st.signalled.replace(from).is_none();
        let end = if st.grace == Duration::MAX {
            None
        } else {
            Some(from.saturating_add(st.grace))
        };
        drop(st);
        if first {
            // Level-triggered: every checkpoint waiting inside the scope must see it, also
            // when the deadline (whose timer wakes only the scope) is what cancelled it.
            self.wake_all();
        }
        end
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
        CancelScope::of(Kind::Drop, deadline)
    }

    fn of(kind: Kind, deadline: Deadline) -> CancelScope {
        CancelScope {
            shared: Arc::new(ScopeShared {
                kind,
                cancel_requested: AtomicBool::new(false),
                expired: AtomicBool::new(false),
                caught: AtomicBool::new(false),
                next_run: AtomicU64::new(0),
                state: Mutex::new(ScopeState {
                    deadline,
                    wakers: Vec::new(),
                    grace: DEFAULT_GRACE,
                    signalled: None,
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

    /// A **cooperative** scope with no deadline (Trio's level-triggered cancel scope): when it
    /// is cancelled ([`cancel`](Self::cancel), or a deadline set with
    /// [`reschedule`](Self::reschedule) or [`expire_after`](Self::expire_after)), its work is
    /// not dropped but *told*: from then on every checkpoint polled inside it —
    /// [`checkpoint`](crate::checkpoint), [`cancellable`](crate::cancellable), and what is
    /// built on them — gives `Err(Cancelled)`, until the work ends. The work can therefore
    /// clean up, awaiting what it needs to (inside a [`shield`](Self::shield) scope, where
    /// checkpoints pass), and then return.
    ///
    /// A cancelled cooperative scope still bounds its work: work that has not ended
    /// [`grace`](Self::grace) after the cancellation (10 seconds, [`DEFAULT_GRACE`], unless
    /// [`with_grace`](Self::with_grace) says otherwise; counted from the deadline for an
    /// expiry, from the first poll that saw it for a `cancel()`) is dropped, as a drop-based
    /// scope would have dropped it at once, and `run` gives `Err(Cancelled)`. Work that ends
    /// in time gives `Ok(output)`: whether it ended *because* of the cancellation is its own
    /// output's business (typically a `Result` that carries the checkpoint's `Err`), and
    /// [`cancelled_caught`](Self::cancelled_caught) says whether the cancellation reached it.
    ///
    /// Only checkpoints see a cooperative cancellation: code between them, and futures that
    /// are not checkpoints (a plain [`sleep`](tulip_reactor::sleep), a lock), run on as usual.
    /// Wrap them in [`cancellable`](crate::cancellable) to make them checkpoints. A drop-based
    /// scope inside a cooperative one keeps its own behaviour; a drop-based scope outside one
    /// still drops everything inside, shields included (dropping always wins).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use tulip_reactor::{sleep, Instant};
    /// use tulip_task::{cancellable, CancelScope, Cancelled};
    ///
    /// tulip_runtime::Runner::builder().start_paused(true).build().run(async {
    ///     let start = Instant::now();
    ///     let scope = CancelScope::cooperative().expire_after(Duration::from_secs(5));
    ///     let out = scope
    ///         .run(async {
    ///             let r = cancellable(sleep(Duration::from_secs(60))).await;
    ///             assert_eq!(r, Err(Cancelled::Elapsed)); // told at the deadline
    ///             // Clean up, awaiting, shielded from the scope's cancellation.
    ///             CancelScope::shield()
    ///                 .run(async {
    ///                     cancellable(sleep(Duration::from_secs(1))).await.unwrap();
    ///                 })
    ///                 .await
    ///                 .unwrap();
    ///             "cleaned up"
    ///         })
    ///         .await;
    ///     assert_eq!(out, Ok("cleaned up"));
    ///     assert_eq!(start.elapsed(), Duration::from_secs(6));
    ///     assert!(scope.cancelled_caught() && scope.expired());
    /// });
    /// ```
    pub fn cooperative() -> CancelScope {
        CancelScope::of(Kind::Cooperative, Deadline::Never)
    }

    /// A **shielded** cooperative scope (Trio's `CancelScope(shield=True)`): checkpoints inside
    /// it do not see the cancellation of the cooperative scopes around it, so cleanup can
    /// await even while an outer scope is cancelled. It is otherwise a
    /// [`cooperative`](Self::cooperative) scope of its own: its own `cancel()` and deadline
    /// reach its work, and a deadline is the usual way to bound a cleanup.
    ///
    /// A shield protects from *cooperative* cancellation only. The grace period of the
    /// outer scopes still runs, and a drop (of a drop-based scope, a task, an outer scope past
    /// its grace period) drops the shielded work with the rest; [`shield`](crate::shield)
    /// (a task of its own) survives even that.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use tulip_reactor::sleep;
    /// use tulip_task::{cancellable, checkpoint, CancelScope};
    ///
    /// tulip_runtime::Runner::builder().start_paused(true).build().run(async {
    ///     let outer = CancelScope::cooperative();
    ///     outer.cancel();
    ///     let r = outer
    ///         .run(async {
    ///             assert!(checkpoint().await.is_err()); // cancelled out here
    ///             let inner = CancelScope::shield().expire_after(Duration::from_secs(2));
    ///             inner
    ///                 .run(async {
    ///                     assert!(checkpoint().await.is_ok()); // not in here
    ///                     cancellable(sleep(Duration::from_secs(30))).await // until 2 s
    ///                 })
    ///                 .await
    ///         })
    ///         .await;
    ///     assert!(r.unwrap().unwrap().unwrap_err().is_elapsed());
    /// });
    /// ```
    pub fn shield() -> CancelScope {
        CancelScope::of(Kind::Shield, Deadline::Never)
    }

    /// Sets the grace period of a cooperative scope: how long its work may run on once the
    /// scope is cancelled before it is dropped. `Duration::MAX` never drops it (the work
    /// must then end on its own). A drop-based scope ignores it. Returns the scope, for
    /// chaining; it may also be called on a running scope, which takes the new period into
    /// account at its next wake-up.
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
    ///     // Work that ignores its cancellation is dropped once the grace period is over.
    ///     let scope = CancelScope::cooperative()
    ///         .expire_after(Duration::from_secs(5))
    ///         .with_grace(Duration::from_secs(3));
    ///     let r = scope.run(sleep(Duration::from_secs(3600))).await;
    ///     assert_eq!(r, Err(Cancelled::Elapsed));
    ///     assert_eq!(start.elapsed(), Duration::from_secs(8));
    /// });
    /// ```
    pub fn with_grace(self, grace: Duration) -> CancelScope {
        self.shared.lock().grace = grace;
        self.shared.wake_all();
        self
    }

    /// The grace period of a cooperative scope ([`with_grace`](Self::with_grace)).
    ///
    /// # Examples
    ///
    /// ```
    /// use tulip_task::{CancelScope, DEFAULT_GRACE};
    ///
    /// assert_eq!(CancelScope::cooperative().grace(), DEFAULT_GRACE);
    /// ```
    pub fn grace(&self) -> Duration {
        self.shared.lock().grace
    }

    /// Gives the scope a deadline `timeout` after the first poll of its first
    /// [`run`](Self::run), as [`with_timeout`](Self::with_timeout) does for a drop-based scope.
    /// Returns the scope, for chaining.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// let scope = tulip_task::CancelScope::cooperative().expire_after(Duration::from_secs(1));
    /// assert!(scope.is_cooperative());
    /// assert_eq!(scope.deadline(), None); // until its work starts
    /// ```
    pub fn expire_after(self, timeout: Duration) -> CancelScope {
        self.shared.lock().deadline = if timeout == Duration::MAX {
            Deadline::Never
        } else {
            Deadline::After(timeout)
        };
        self.shared.wake_all();
        self
    }

    /// Whether the scope is cooperative ([`cooperative`](Self::cooperative) or
    /// [`shield`](Self::shield)) rather than drop-based.
    ///
    /// # Examples
    ///
    /// ```
    /// use tulip_task::CancelScope;
    ///
    /// assert!(!CancelScope::new().is_cooperative());
    /// assert!(CancelScope::shield().is_cooperative());
    /// ```
    pub fn is_cooperative(&self) -> bool {
        self.shared.kind != Kind::Drop
    }

    /// Runs `future` inside this scope: `Ok(output)`, or `Err(Cancelled)` once the scope is
    /// cancelled or its deadline passes, the future then being dropped. For a
    /// [`cooperative`](Self::cooperative) scope the future is told instead, and dropped only
    /// if it has not ended after the grace period.
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
    /// enclosing scope reported. For a [`cooperative`](Self::cooperative) scope, also `true`
    /// when some work ended, in time, after the cancellation had reached it.
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

    /// Whether a scope enclosing this one drops its work now (a cooperative scope that is
    /// cancelled but within its grace period does not).
    fn enclosing_cancelled(&self) -> bool {
        STACK.with(|s| {
            // Clone the enclosing scopes out: checking reads their locks, and nothing here
            // may re-enter the RefCell.
            let enclosing: Vec<Arc<ScopeShared>> = s.frames.borrow()[..self.depth].to_vec();
            enclosing.iter().any(|e| e.drops_at(&s.now).is_some())
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
            if let Some(reason) = frame.with_now(|now| shared.drops_at(now)) {
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
            if shared.kind != Kind::Drop && shared.lock().signalled.is_some() {
                // The cancellation reached the work, which ended in its grace period.
                shared.caught.store(true, Ordering::Release);
            }
            return Poll::Ready(Ok(out));
        }
        *this.started = true;

        // Re-read: `cancel()` or `reschedule()` may have run while the future was polled.
        if let Some(reason) = frame.with_now(|now| shared.drops_at(now)) {
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

        // Arm the timer for the current deadline, or, for a cooperative scope already
        // cancelled, for the end of its grace period.
        let deadline = match shared.kind {
            Kind::Drop => shared.known_deadline(),
            Kind::Cooperative | Kind::Shield => {
                frame.with_now(|now| match shared.cancelled_at(now) {
                    Some(reason) => shared.signal(reason, now.get()),
                    None => shared.known_deadline(),
                })
            }
        };
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

/// What a checkpoint knows of the cooperative scopes around it: the ones it asked to be
/// woken by, so that a cancellation wakes it even when a combinator between it and the scope
/// would not poll it again.
#[derive(Default)]
pub(crate) struct Listener {
    /// The scopes this checkpoint left its waker with, and its id in each.
    registered: Vec<(Arc<ScopeShared>, u64)>,
}

impl fmt::Debug for Listener {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Listener")
            .field("scopes", &self.registered.len())
            .finish()
    }
}

impl Listener {
    /// The cancellation of the innermost cancelled cooperative scope around the caller, up to
    /// the first shield, if any. Otherwise, when `waker` is given, leaves it with each of those
    /// scopes so that their `cancel()` or deadline wakes it.
    pub(crate) fn check(&mut self, waker: Option<&Waker>) -> Option<Cancelled> {
        let found = STACK
            .try_with(|s| {
                let frames = s.frames.borrow();
                let mut seen: Vec<Arc<ScopeShared>> = Vec::new();
                for frame in frames.iter().rev() {
                    if frame.kind == Kind::Drop {
                        continue;
                    }
                    if let Some(reason) = frame.cancelled_at(&s.now) {
                        frame.signal(reason, s.now.get());
                        return Err(reason);
                    }
                    seen.push(frame.clone());
                    if frame.kind == Kind::Shield {
                        break;
                    }
                }
                Ok(seen)
            })
            .unwrap_or_else(|_| Ok(Vec::new()));
        match (found, waker) {
            (Err(reason), _) => {
                self.clear();
                Some(reason)
            }
            (Ok(scopes), Some(waker)) => {
                self.listen(scopes, waker);
                None
            }
            (Ok(_), None) => None,
        }
    }

    fn listen(&mut self, scopes: Vec<Arc<ScopeShared>>, waker: &Waker) {
        self.registered.retain(|(r, id)| {
            let keep = scopes.iter().any(|s| Arc::ptr_eq(s, r));
            if !keep {
                r.lock().wakers.retain(|(i, _)| i != id);
            }
            keep
        });
        for scope in scopes {
            let id = match self.registered.iter().find(|(r, _)| Arc::ptr_eq(r, &scope)) {
                Some((_, id)) => *id,
                None => {
                    let id = scope.next_run.fetch_add(1, Ordering::Relaxed);
                    self.registered.push((scope.clone(), id));
                    id
                }
            };
            let mut st = scope.lock();
            match st.wakers.iter_mut().find(|(i, _)| *i == id) {
                Some((_, w)) => {
                    if !w.will_wake(waker) {
                        w.clone_from(waker);
                    }
                }
                None => st.wakers.push((id, waker.clone())),
            }
            drop(st);
            // A cancel() that ran before the waker was stored saw no waker: look again.
            if scope.cancel_requested.load(Ordering::Acquire) {
                waker.wake_by_ref();
            }
        }
    }

    /// Takes this checkpoint's wakers back from every scope.
    pub(crate) fn clear(&mut self) {
        for (scope, id) in self.registered.drain(..) {
            scope.lock().wakers.retain(|(i, _)| *i != id);
        }
    }
}

impl Drop for Listener {
    fn drop(&mut self) {
        self.clear();
    }
}
