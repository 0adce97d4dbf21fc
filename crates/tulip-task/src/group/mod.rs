//! [`TaskGroup`]: asyncio's `TaskGroup` (Trio's nursery): children that cannot outlive their
//! group, fail-fast cancellation, and every error collected in a [`GroupError`].
//!
//! # State
//!
//! One [`GroupShared`] per group, shared by the [`TaskGroup`], its [`TaskGroupHandle`]s and
//! every child's wrapper future. Its mutex holds:
//!
//! - `phase`: `Open` (spawns accepted) → `Failed` (a child failed) / `Cancelled`
//!   ([`TaskGroup::cancel`]) / `Dropped` (the group was dropped before `join` finished) /
//!   `Joined` (`join` returned). Only `Open` admits a spawn.
//! - `live`: children spawned whose wrapper has not finished. A spawn increments it before
//!   the task exists; a wrapper decrements it exactly once, when it completes or is dropped.
//!   `join` completes when it is zero.
//! - `failures`: every child error and panic, in order.
//! - one waker slot per live child, and the joiner's waker.
//!
//! `stop` is set, under the mutex, when the phase leaves `Open` for `Failed`, `Cancelled` or
//! `Dropped`; the wakers in the slots are taken and woken at the same time. A child registers
//! its waker under the mutex and checks `stop` there, so it either sees `stop` or is woken by
//! it. Every child checks `stop` before each poll of its future and, when set, drops its
//! future at once and ends as [`JoinError::Cancelled`]: this is how siblings, and the children
//! of a dropped group, are cancelled. Nothing else stops a child.
//!
//! # Panics of children
//!
//! A child's wrapper runs its future under `catch_unwind`, so a panic never reaches the
//! executor: it is collected as [`Failure::Panic`] with its payload, cancels the siblings like
//! an error, and is **not** reported to the loop's exception handler (asyncio does not report
//! the exceptions of `TaskGroup` children to the loop either: the group raises them). A panic
//! raised while a child's future is dropped (on cancellation) is collected the same way.
//!
//! The exception: once the group has been dropped without being joined, nobody can receive a
//! `GroupError` any more. Then a panic of a child that is being cancelled (a cleanup that
//! panics in `Drop`) is resumed in the child's task instead, where the executor catches it
//! and the loop's exception handler reports it like any task's panic; and the panics the group
//! had already collected are each resumed in a small task spawned for the purpose, with the
//! same effect. No panic is lost silently while a loop runs. Errors (`Err` values) of a
//! dropped group are dropped, like the result of a detached task.

mod error;
mod start;

use std::fmt;
use std::future::Future;
use std::panic::{catch_unwind, AssertUnwindSafe, Location};
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll, Waker};

use pin_project_lite::pin_project;
use tulip_executor::{payload_message, Builder, JoinError, Panic, Task, TaskId};

use crate::scope::{CancelScope, CancelScoped};

pub use error::{Failure, GroupError, SpawnError, SpawnErrorKind};
pub use start::{Ready, Start, StartError};

/// Where a group is in its life; see the module docs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Open,
    Failed,
    Cancelled,
    Dropped,
    Joined,
}

/// State shared by a group, its handles and its children's wrappers.
struct GroupShared<E> {
    /// Cancelled when the group stops (Trio's `nursery.cancel_scope`), so that work run in it,
    /// such as the owner's own code, is cancelled with the children.
    scope: CancelScope,
    /// A cooperative group's scope for its children ([`TaskGroup::cooperative`]): cancelled
    /// when the group stops, so that the children are told instead of dropped.
    coop: Option<CancelScope>,
    /// The group was dropped without a join: even a cooperative group's children are dropped.
    abandoned: AtomicBool,
    /// Children must stop: set under `state`'s lock when `phase` leaves `Open` for `Failed`,
    /// `Cancelled` or `Dropped`. Read without the lock before each poll of a child.
    stop: AtomicBool,
    state: Mutex<GroupState<E>>,
}

struct GroupState<E> {
    phase: Phase,
    /// Children spawned and not finished.
    live: usize,
    /// Every child failure, in order.
    failures: Vec<Failure<E>>,
    /// `wakers[slot]`: the waker of the child in `slot`, once it registered one.
    wakers: Vec<Option<Waker>>,
    /// Slots of finished children, for reuse.
    free: Vec<usize>,
    /// The waker of `join`, woken when `live` drops to zero.
    join_waker: Option<Waker>,
}

impl<E> GroupShared<E> {
    fn new(coop: Option<CancelScope>) -> GroupShared<E> {
        GroupShared {
            scope: CancelScope::new(),
            coop,
            abandoned: AtomicBool::new(false),
            stop: AtomicBool::new(false),
            state: Mutex::new(GroupState {
                phase: Phase::Open,
                live: 0,
                failures: Vec::new(),
                wakers: Vec::new(),
                free: Vec::new(),
                join_waker: None,
            }),
        }
    }

    fn lock(&self) -> MutexGuard<'_, GroupState<E>> {
        // User code never runs under this lock; a poisoned lock can only come from an
        // allocation failure, after which the state is still consistent.
        tulip_util::lock(&self.state)
    }

    /// Reserves a slot for a new child, or says why the group refuses it.
    fn admit(&self) -> Result<usize, SpawnErrorKind> {
        let mut st = self.lock();
        match st.phase {
            Phase::Open => {}
            Phase::Failed => return Err(SpawnErrorKind::Failed),
            Phase::Cancelled => return Err(SpawnErrorKind::Cancelled),
            Phase::Dropped | Phase::Joined => return Err(SpawnErrorKind::Closed),
        }
        st.live += 1;
        let slot = match st.free.pop() {
            Some(s) => s,
            None => {
                st.wakers.push(None);
                st.wakers.len() - 1
            }
        };
        Ok(slot)
    }

    /// Sets `stop` and takes every child's waker; the caller wakes them after unlocking.
    fn stop_locked(&self, st: &mut GroupState<E>) -> Vec<Waker> {
        self.stop.store(true, Ordering::Release);
        st.wakers.iter_mut().filter_map(Option::take).collect()
    }

    /// Moves an `Open` group to `phase` and stops its children.
    fn close(&self, phase: Phase) {
        let (wakers, unretrieved) = {
            let mut st = self.lock();
            match (st.phase, phase) {
                (Phase::Open, _) => st.phase = phase,
                // A failed or cancelled group that is dropped refuses spawns as closed.
                (Phase::Failed | Phase::Cancelled, Phase::Dropped) => st.phase = phase,
                _ => return,
            }
            // Dropped without a join: nobody will see the panics collected so far.
            let unretrieved: Vec<Panic> = if phase == Phase::Dropped {
                let (panics, errors) = std::mem::take(&mut st.failures)
                    .into_iter()
                    .partition::<Vec<_>, _>(Failure::is_panic);
                st.failures = errors;
                panics
                    .into_iter()
                    .filter_map(|f| f.into_error().err())
                    .collect()
            } else {
                Vec::new()
            };
            if phase == Phase::Dropped {
                self.abandoned.store(true, Ordering::Release);
            }
            (self.stop_locked(&mut st), unretrieved)
        };
        wakers.into_iter().for_each(Waker::wake);
        self.scope.cancel();
        self.cancel_children();
        unretrieved.into_iter().for_each(report_unretrieved);
    }

    /// Tells a cooperative group's children that the group stopped.
    fn cancel_children(&self) {
        if let Some(coop) = &self.coop {
            coop.cancel();
        }
    }

    /// Whether a stopped group's children must be dropped now rather than told.
    fn drops_children(&self) -> bool {
        self.coop.is_none() || self.abandoned.load(Ordering::Acquire)
    }

    /// Stores the waker of the child in `slot`; `false` if the children must stop.
    fn register(&self, slot: usize, waker: &Waker) -> bool {
        let mut st = self.lock();
        if self.stop.load(Ordering::Acquire) {
            return false;
        }
        st.wakers[slot] = Some(waker.clone());
        true
    }

    /// A child ended (completed, was cancelled, or was dropped), with what went wrong.
    ///
    /// Returns the panics nobody can receive any more because the group was dropped without
    /// being joined; the child resumes one of them so that the loop's exception handler
    /// reports it, as for any task.
    #[must_use = "undeliverable panics must be resumed"]
    fn finish(&self, slot: usize, failures: [Option<Failure<E>>; 2]) -> Option<Panic> {
        let (join, siblings, failed, orphan) = {
            let mut st = self.lock();
            st.wakers[slot] = None;
            st.free.push(slot);
            st.live -= 1;
            let mut siblings = Vec::new();
            let mut failed = false;
            let mut orphan = None;
            for failure in failures.into_iter().flatten() {
                if st.phase == Phase::Dropped {
                    if let (Failure::Panic(p), None) = (failure, &orphan) {
                        orphan = Some(p);
                    }
                    continue;
                }
                st.failures.push(failure);
                if st.phase == Phase::Open {
                    st.phase = Phase::Failed;
                    siblings = self.stop_locked(&mut st);
                    failed = true;
                }
            }
            let join = if st.live == 0 {
                st.join_waker.take()
            } else {
                None
            };
            (join, siblings, failed, orphan)
        };
        siblings.into_iter().for_each(Waker::wake);
        if failed {
            self.scope.cancel();
            self.cancel_children();
        }
        if let Some(w) = join {
            w.wake();
        }
        orphan
    }
}

/// Reports the panic of a child that a dropped group had collected and nobody will retrieve:
/// a tiny task resumes it, so the loop's exception handler reports it like any task's panic
/// (tulip-executor has no public way to report to the handler directly). Outside a loop there
/// is nobody to report to, and the panic is dropped.
fn report_unretrieved(panic: Panic) {
    if tulip_executor::Spawner::current().is_some() {
        Builder::new()
            .name("tulip-task: panic of a child of a dropped TaskGroup")
            .spawn(async move { std::panic::resume_unwind(panic.into_inner()) })
            .detach();
    }
}

/// Resumes a panic that a dropped group cannot collect, so that the executor reports it;
/// never while already unwinding (that would abort).
fn resume_orphan(orphan: Option<Panic>) {
    if let Some(p) = orphan {
        if !std::thread::panicking() {
            std::panic::resume_unwind(p.into_inner());
        }
    }
}

/// The spawn family, written once for [`TaskGroup`] and [`TaskGroupHandle`] (both hold a
/// `shared: Arc<GroupShared<E>>`). `$recv` is what the examples spawn through, after the
/// line `$setup`.
macro_rules! spawn_methods {
    ($recv:literal, $setup:literal) => {
        /// Spawns a child on the running loop (asyncio's `tg.create_task`).
        ///
        /// Returns the child's handle. Awaiting it gives the child's value, or
        /// `Err(JoinError::Cancelled)` if the child was cancelled or returned `Err` (the error
        /// went to the group), or `Err(JoinError::Panicked(_))` with a copy of the panic
        /// message if it panicked (the payload went to the group). Dropping the handle
        /// detaches it; the child stays in the group.
        ///
        /// # Errors
        ///
        /// Refuses the spawn, handing `future` back unpolled, once the group has failed
        /// ([`SpawnErrorKind::Failed`]), been cancelled ([`SpawnErrorKind::Cancelled`]), or
        /// been joined or dropped ([`SpawnErrorKind::Closed`]).
        ///
        /// # Panics
        ///
        /// Panics if no tulip event loop runs on this thread.
        ///
        /// # Examples
        ///
        /// ```
        /// # tulip_runtime::run(async {
        /// let tg = tulip_task::TaskGroup::<std::io::Error>::new();
        #[doc = $setup]
        #[doc = concat!("let child = ", $recv, ".spawn(async { Ok(6 * 7) }).unwrap();")]
        /// tg.join().await.unwrap();
        /// assert_eq!(child.await.unwrap(), 42);
        /// # });
        /// ```
        #[track_caller]
        pub fn spawn<F, T>(&self, future: F) -> Result<GroupTask<T>, SpawnError<F>>
        where
            F: Future<Output = Result<T, E>> + Send + 'static,
            T: Send + 'static,
            E: Send + 'static,
        {
            spawn_in(&self.shared, None, future)
        }

        /// Spawns a child with options, such as a name (asyncio's `create_task(coro, name=…)`).
        ///
        /// # Errors
        ///
        /// As [`spawn`](Self::spawn).
        ///
        /// # Panics
        ///
        /// Panics if no tulip event loop runs on this thread.
        ///
        /// # Examples
        ///
        /// ```
        /// # tulip_runtime::run(async {
        /// use tulip_executor::Builder;
        ///
        /// let tg = tulip_task::TaskGroup::<()>::new();
        #[doc = $setup]
        #[doc = concat!("let child = ", $recv, ".spawn_with(Builder::new().name(\"fetch\"), async { Ok(1) }).unwrap();")]
        /// assert_eq!(child.name(), Some("fetch"));
        /// tg.join().await.unwrap();
        /// # });
        /// ```
        #[track_caller]
        pub fn spawn_with<F, T>(
            &self,
            builder: Builder,
            future: F,
        ) -> Result<GroupTask<T>, SpawnError<F>>
        where
            F: Future<Output = Result<T, E>> + Send + 'static,
            T: Send + 'static,
            E: Send + 'static,
        {
            spawn_in(&self.shared, Some(builder), future)
        }

        /// Spawns a `!Send` child on this thread (on a multi-threaded loop: on this worker).
        ///
        /// # Errors
        ///
        /// As [`spawn`](Self::spawn).
        ///
        /// # Panics
        ///
        /// Panics if no tulip event loop runs on this thread.
        ///
        /// # Examples
        ///
        /// ```
        /// # tulip_runtime::run(async {
        /// use std::rc::Rc;
        ///
        /// let tg = tulip_task::TaskGroup::<()>::new();
        #[doc = $setup]
        /// let shared = Rc::new(5);
        /// let s = shared.clone();
        #[doc = concat!("let child = ", $recv, ".spawn_local(async move { Ok(*s + 1) }).unwrap();")]
        /// tg.join().await.unwrap();
        /// assert_eq!(child.await.unwrap(), 6);
        /// # });
        /// ```
        #[track_caller]
        pub fn spawn_local<F, T>(&self, future: F) -> Result<GroupTask<T>, SpawnError<F>>
        where
            F: Future<Output = Result<T, E>> + 'static,
            T: 'static,
            E: 'static,
        {
            spawn_local_in(&self.shared, None, future)
        }

        /// [`spawn_local`](Self::spawn_local) with options.
        ///
        /// # Errors
        ///
        /// As [`spawn`](Self::spawn).
        ///
        /// # Panics
        ///
        /// Panics if no tulip event loop runs on this thread.
        ///
        /// # Examples
        ///
        /// ```
        /// # tulip_runtime::run(async {
        /// use tulip_executor::Builder;
        ///
        /// let tg = tulip_task::TaskGroup::<()>::new();
        #[doc = $setup]
        #[doc = concat!("let child = ", $recv, ".spawn_local_with(Builder::new().name(\"ui\"), async { Ok(()) }).unwrap();")]
        /// assert_eq!(child.name(), Some("ui"));
        /// tg.join().await.unwrap();
        /// # });
        /// ```
        #[track_caller]
        pub fn spawn_local_with<F, T>(
            &self,
            builder: Builder,
            future: F,
        ) -> Result<GroupTask<T>, SpawnError<F>>
        where
            F: Future<Output = Result<T, E>> + 'static,
            T: 'static,
            E: 'static,
        {
            spawn_local_in(&self.shared, Some(builder), future)
        }

        /// Spawns a child and waits until it says it is ready (Trio's `nursery.start`): `f`
        /// gets a [`Ready`] and the child calls [`Ready::started`]`(value)` once it is
        /// ready (a server has bound its port, say); awaiting `start` gives that value. The
        /// child goes on as an ordinary child of the group.
        ///
        /// Until it is ready, the child's failures are the caller's, not the group's: an `Err`
        /// or a panic before `started` is given to the caller as [`StartError::Failed`] or
        /// [`StartError::Panicked`], and the group does not see it (its siblings run on).
        /// After `started`, they are the group's, as for any child.
        ///
        /// # Errors
        ///
        /// [`StartError`]: the child failed, panicked, ended (`NotStarted`) or was cancelled
        /// before it was ready, or the group refused the spawn (`Refused`; `f` was called and
        /// its future dropped unpolled).
        ///
        /// # Cancel safety
        ///
        /// Dropping the [`Start`] future only gives up waiting: the child stays in the group.
        ///
        /// # Panics
        ///
        /// Panics if no tulip event loop runs on this thread.
        ///
        /// # Examples
        ///
        /// ```
        /// use std::time::Duration;
        /// use tulip_reactor::{sleep, Instant};
        ///
        /// tulip_runtime::Runner::builder().start_paused(true).build().run(async {
        ///     let start = Instant::now();
        ///     let tg = tulip_task::TaskGroup::<std::io::Error>::new();
        #[doc = $setup]
        #[doc = concat!("    let port = ", $recv, ".start(|ready| async move {")]
        ///         sleep(Duration::from_secs(2)).await; // binding takes a while
        ///         ready.started(8080_u16);
        ///         sleep(Duration::from_secs(10)).await; // serving
        ///         Ok(())
        ///     })
        ///     .await
        ///     .unwrap();
        ///     assert_eq!((port, start.elapsed()), (8080, Duration::from_secs(2)));
        ///     tg.join().await.unwrap();
        ///     assert_eq!(start.elapsed(), Duration::from_secs(12));
        /// });
        /// ```
        #[track_caller]
        pub fn start<S, F, V>(&self, f: S) -> Start<V, E>
        where
            S: FnOnce(Ready<V>) -> F,
            F: Future<Output = Result<(), E>> + Send + 'static,
            V: Send + 'static,
            E: Send + 'static,
        {
            start_in(&self.shared, f)
        }
    };
}

#[track_caller]
fn start_in<S, F, V, E>(shared: &Arc<GroupShared<E>>, f: S) -> Start<V, E>
where
    S: FnOnce(Ready<V>) -> F,
    F: Future<Output = Result<(), E>> + Send + 'static,
    V: Send + 'static,
    E: Send + 'static,
{
    let (child, start) = start::starting(f);
    match spawn_in(shared, None, child) {
        Ok(task) => {
            task.detach();
            start
        }
        Err(refused) => start::refused(refused.kind()),
    }
}

/// asyncio's `TaskGroup`: spawn children, then [`join`](TaskGroup::join) them all.
///
/// - Children are futures returning `Result<T, E>`, spawned on the running loop with
///   [`spawn`](TaskGroup::spawn) (`Send`) or [`spawn_local`](TaskGroup::spawn_local)
///   (`!Send`, on this thread).
/// - The first child that returns `Err` or panics cancels every sibling (each is dropped at
///   its next poll), and [`join`](TaskGroup::join) returns a [`GroupError`] holding **every**
///   error and panic, not only the first (asyncio's `ExceptionGroup`).
/// - Cancelling the owner cancels the children: the owner's future is dropped (Rust's
///   cancellation), which drops the group or its [`Join`] future, and dropping a group that
///   was not joined cancels every child. No child outlives its group; the owner ends
///   cancelled, with no `GroupError`.
/// - [`cancel`](TaskGroup::cancel) stops the children on purpose; `join` then returns
///   `Ok(())` (unless a child had failed).
/// - Once the group has failed, been cancelled, been joined or been dropped, spawning is
///   refused with a [`SpawnError`] that hands the future back, unpolled.
///
/// - asyncio also cancels the body of the `async with` block when a child fails; here the
///   owner's code is not a child, so run it in the group's
///   [`cancel_scope`](TaskGroup::cancel_scope) to get that (Trio's `nursery.cancel_scope`).
///
/// A child cancelled on its own (with [`GroupTask::cancel`]) is not a failure, as in asyncio.
/// Cancellation is Rust's: a cancelled child's future is dropped at its next poll, which the
/// group schedules at once; a child's cleanup can only run in `Drop`.
/// Children can spawn siblings through a [`TaskGroupHandle`], for as long as the group
/// admits them (while `join` waits too).
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use tulip_task::TaskGroup;
///
/// tulip_runtime::Runner::builder().start_paused(true).build().run(async {
///     let tg = TaskGroup::new();
///     let a = tg.spawn(async {
///         tulip_reactor::sleep(Duration::from_secs(1)).await;
///         Ok::<_, std::io::Error>("a")
///     }).unwrap();
///     let b = tg.spawn(async { Ok("b") }).unwrap();
///     tg.join().await.unwrap();
///     // Every child has finished: their handles are ready.
///     assert_eq!((a.await.unwrap(), b.await.unwrap()), ("a", "b"));
/// });
/// ```
///
/// The first failure cancels the siblings:
///
/// ```
/// use std::time::Duration;
/// use tulip_task::{Failure, TaskGroup};
///
/// tulip_runtime::Runner::builder().start_paused(true).build().run(async {
///     let tg = TaskGroup::new();
///     let slow = tg.spawn(async {
///         tulip_reactor::sleep(Duration::from_secs(3600)).await;
///         Ok(())
///     }).unwrap();
///     tg.spawn(async { Err::<(), _>("bad input") }).unwrap();
///     let err = tg.join().await.unwrap_err();
///     assert!(matches!(err.first(), Failure::Error("bad input")));
///     assert!(slow.await.unwrap_err().is_cancelled());
/// });
/// ```
#[must_use = "dropping a TaskGroup cancels its children; call .join().await"]
pub struct TaskGroup<E> {
    shared: Arc<GroupShared<E>>,
}

impl<E> Default for TaskGroup<E> {
    fn default() -> Self {
        TaskGroup::new()
    }
}

impl<E> fmt::Debug for TaskGroup<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        debug_group(&self.shared, "TaskGroup", f)
    }
}

fn debug_group<E>(shared: &GroupShared<E>, name: &str, f: &mut fmt::Formatter<'_>) -> fmt::Result {
    let st = shared.lock();
    f.debug_struct(name)
        .field("phase", &st.phase)
        .field("live", &st.live)
        .field("failures", &st.failures.len())
        .finish()
}

impl<E> TaskGroup<E> {
    /// An empty group. Needs no running loop; the children go to the loop running when they
    /// are spawned.
    pub fn new() -> TaskGroup<E> {
        TaskGroup {
            shared: Arc::new(GroupShared::new(None)),
        }
    }

    /// A **cooperative** group: when it stops (a child fails, [`cancel`](Self::cancel) is
    /// called), its children are not dropped but told, through a
    /// [`cooperative`](CancelScope::cooperative) scope they all run in: their checkpoints
    /// ([`checkpoint`](crate::checkpoint), [`cancellable`](crate::cancellable)) fail, they
    /// clean up, awaiting if they need to, and [`join`](Self::join) returns once they have
    /// all ended. [`GroupTask::cancel`] is a request to that child alone, in the same way.
    ///
    /// - A child still running [`DEFAULT_GRACE`](crate::DEFAULT_GRACE) (10 s) after being
    ///   told, or `grace` given to [`with_grace`](Self::with_grace), is dropped.
    /// - An `Err` a child returns once it has been told is its way of ending cancelled, not a
    ///   failure: it is dropped, and the child's handle gives `Err(JoinError::Cancelled)`.
    ///   A panic is still a failure.
    /// - Dropping the group (or its [`Join`]) without joining still drops every child at
    ///   once: nobody is left to wait for their cleanup.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::atomic::{AtomicBool, Ordering::SeqCst};
    /// use std::sync::Arc;
    /// use std::time::Duration;
    /// use tulip_reactor::{sleep, Instant};
    /// use tulip_task::{cancellable, CancelScope, Cancelled, TaskGroup};
    ///
    /// tulip_runtime::Runner::builder().start_paused(true).build().run(async {
    ///     let start = Instant::now();
    ///     let cleaned = Arc::new(AtomicBool::new(false));
    ///     let tg = TaskGroup::<Cancelled>::cooperative();
    ///     let c = cleaned.clone();
    ///     tg.spawn(async move {
    ///         let r = cancellable(sleep(Duration::from_secs(3600))).await;
    ///         // Told: clean up, awaiting, then end.
    ///         CancelScope::shield().run(sleep(Duration::from_secs(2))).await.unwrap();
    ///         c.store(true, SeqCst);
    ///         r
    ///     })
    ///     .unwrap();
    ///     sleep(Duration::from_secs(1)).await;
    ///     tg.cancel();
    ///     tg.join().await.unwrap(); // the Err(Cancelled) is not a failure
    ///     assert!(cleaned.load(SeqCst));
    ///     assert_eq!(start.elapsed(), Duration::from_secs(3));
    /// });
    /// ```
    pub fn cooperative() -> TaskGroup<E> {
        TaskGroup {
            shared: Arc::new(GroupShared::new(Some(CancelScope::cooperative()))),
        }
    }

    /// Sets how long a [`cooperative`](Self::cooperative) group's children may run on once
    /// told to stop, before they are dropped (`Duration::MAX`: never). No effect on a
    /// drop-based group. Returns the group, for chaining.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use tulip_reactor::{sleep, Instant};
    ///
    /// tulip_runtime::Runner::builder().start_paused(true).build().run(async {
    ///     let start = Instant::now();
    ///     let tg = tulip_task::TaskGroup::<()>::cooperative().with_grace(Duration::from_secs(5));
    ///     let stubborn = tg
    ///         .spawn(async {
    ///             sleep(Duration::from_secs(3600)).await; // never looks
    ///             Ok(())
    ///         })
    ///         .unwrap();
    ///     tg.cancel();
    ///     tg.join().await.unwrap();
    ///     assert_eq!(start.elapsed(), Duration::from_secs(5));
    ///     assert!(stubborn.await.unwrap_err().is_cancelled());
    /// });
    /// ```
    pub fn with_grace(self, grace: std::time::Duration) -> TaskGroup<E> {
        if let Some(coop) = &self.shared.coop {
            let _ = coop.clone().with_grace(grace);
        }
        self
    }

    /// Whether the group is [`cooperative`](Self::cooperative).
    pub fn is_cooperative(&self) -> bool {
        self.shared.coop.is_some()
    }

    /// A handle that spawns into this group from elsewhere (from a child, typically). It does
    /// not keep the group open: once the group is joined or dropped, spawns through it are
    /// refused.
    ///
    /// # Examples
    ///
    /// ```
    /// # tulip_runtime::run(async {
    /// use tulip_task::TaskGroup;
    ///
    /// let tg = TaskGroup::<()>::new();
    /// let handle = tg.handle();
    /// tg.spawn(async move {
    ///     // A child starts a sibling; join waits for it too.
    ///     handle.spawn(async { Ok(()) }).unwrap();
    ///     Ok(())
    /// }).unwrap();
    /// tg.join().await.unwrap();
    /// # });
    /// ```
    pub fn handle(&self) -> TaskGroupHandle<E> {
        TaskGroupHandle {
            shared: self.shared.clone(),
        }
    }

    spawn_methods!("tg", "#");

    /// Cancels every child (each is dropped at its next poll) and refuses further spawns;
    /// [`join`](Self::join) then returns `Ok(())` unless a child had already failed (asyncio
    /// 3.15's `TaskGroup.cancel()`, Trio's `nursery.cancel_scope.cancel()`). Does nothing to
    /// a group that has failed, been joined or been dropped.
    ///
    /// # Examples
    ///
    /// ```
    /// # tulip_runtime::run(async {
    /// let tg = tulip_task::TaskGroup::<()>::new();
    /// let forever = tg.spawn(std::future::pending::<Result<(), ()>>()).unwrap();
    /// tg.cancel();
    /// tg.join().await.unwrap();
    /// assert!(forever.await.unwrap_err().is_cancelled());
    /// # });
    /// ```
    pub fn cancel(&self) {
        self.shared.close(Phase::Cancelled);
    }

    /// Number of children that have not finished yet.
    ///
    /// # Examples
    ///
    /// ```
    /// # tulip_runtime::run(async {
    /// let tg = tulip_task::TaskGroup::<()>::new();
    /// assert_eq!(tg.len(), 0);
    /// tg.spawn(async { Ok(()) }).unwrap();
    /// assert_eq!(tg.len(), 1);
    /// tg.join().await.unwrap();
    /// # });
    /// ```
    pub fn len(&self) -> usize {
        self.shared.lock().live
    }

    /// Whether every child has finished (see [`len`](Self::len)).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether a child has failed (returned `Err` or panicked).
    ///
    /// # Examples
    ///
    /// ```
    /// # tulip_runtime::run(async {
    /// let tg = tulip_task::TaskGroup::new();
    /// tg.spawn(async { Err::<(), _>("no") }).unwrap();
    /// tulip_executor::yield_now().await;
    /// assert!(tg.is_failed());
    /// assert!(tg.join().await.is_err());
    /// # });
    /// ```
    pub fn is_failed(&self) -> bool {
        !self.shared.lock().failures.is_empty()
    }

    /// Whether [`cancel`](Self::cancel) was called (before any child failed).
    ///
    /// # Examples
    ///
    /// ```
    /// let tg = tulip_task::TaskGroup::<()>::new();
    /// assert!(!tg.is_cancelled() && tg.is_empty());
    /// tg.cancel();
    /// assert!(tg.is_cancelled());
    /// ```
    pub fn is_cancelled(&self) -> bool {
        self.shared.lock().phase == Phase::Cancelled
    }

    /// The group's cancel scope (Trio's `nursery.cancel_scope`): it is cancelled when the
    /// group stops, that is when a child fails, when [`cancel`](Self::cancel) is called, or
    /// when the group is dropped.
    ///
    /// Run the owner's own code in it to get asyncio's behaviour, where a failing child also
    /// cancels the body of the `async with TaskGroup()` block: the code then ends with
    /// `Err(Cancelled::Requested)` at the failure instead of running on until
    /// [`join`](Self::join). Cancelling this scope yourself cancels only the work it runs, not
    /// the children; use [`cancel`](Self::cancel) for those.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use tulip_reactor::{sleep, Instant};
    /// use tulip_task::{Cancelled, TaskGroup};
    ///
    /// tulip_runtime::Runner::builder().start_paused(true).build().run(async {
    ///     let start = Instant::now();
    ///     let tg = TaskGroup::new();
    ///     let body = tg.cancel_scope().run(async {
    ///         tg.spawn(async {
    ///             sleep(Duration::from_secs(1)).await;
    ///             Err::<(), _>("child failed")
    ///         })
    ///         .unwrap();
    ///         sleep(Duration::from_secs(3600)).await; // interrupted by the failure
    ///     });
    ///     assert_eq!(body.await, Err(Cancelled::Requested));
    ///     assert_eq!(start.elapsed(), Duration::from_secs(1));
    ///     assert!(tg.join().await.is_err());
    /// });
    /// ```
    pub fn cancel_scope(&self) -> CancelScope {
        self.shared.scope.clone()
    }

    /// Waits until every child has finished; `Ok(())`, or a [`GroupError`] with every error
    /// and panic if any child failed (asyncio's `async with` exit).
    ///
    /// Children spawned while `join` waits (through a [`TaskGroupHandle`]) are waited for too.
    /// Once `join` has returned, the group refuses spawns.
    ///
    /// # Cancel safety
    ///
    /// Dropping the [`Join`] future before it completes drops the group, which cancels every
    /// child that is still running: no child outlives its group. This is how cancelling the
    /// owner of a group cancels the children.
    ///
    /// # Errors
    ///
    /// Returns a [`GroupError`] if at least one child returned `Err` or panicked.
    ///
    /// # Examples
    ///
    /// ```
    /// # tulip_runtime::run(async {
    /// let tg = tulip_task::TaskGroup::<()>::new();
    /// tg.spawn(async { Ok(()) }).unwrap();
    /// assert!(tg.join().await.is_ok());
    /// # });
    /// ```
    pub fn join(self) -> Join<E> {
        Join {
            group: self,
            done: false,
        }
    }
}

impl<E> Drop for TaskGroup<E> {
    fn drop(&mut self) {
        self.shared.close(Phase::Dropped);
    }
}

/// A cloneable handle that spawns into a [`TaskGroup`] (see [`TaskGroup::handle`]).
///
/// It does not own the group: dropping handles does nothing, and once the group is joined or
/// dropped, spawning through a handle is refused with [`SpawnErrorKind::Closed`].
///
/// # Examples
///
/// ```
/// # tulip_runtime::run(async {
/// use tulip_executor::Builder;
///
/// let tg = tulip_task::TaskGroup::<()>::new();
/// let h = tg.handle();
/// h.spawn(async { Ok(()) }).unwrap();
/// h.spawn_with(Builder::new().name("named"), async { Ok(()) }).unwrap();
/// h.spawn_local(async { Ok(()) }).unwrap();
/// assert!(h.is_open());
/// tg.join().await.unwrap();
/// assert!(!h.is_open());
/// assert!(h.spawn(async { Ok(()) }).is_err());
///
/// let tg = tulip_task::TaskGroup::<()>::new();
/// tg.handle().cancel(); // the same as tg.cancel()
/// assert!(tg.is_cancelled());
/// # });
/// ```
pub struct TaskGroupHandle<E> {
    shared: Arc<GroupShared<E>>,
}

impl<E> Clone for TaskGroupHandle<E> {
    fn clone(&self) -> Self {
        TaskGroupHandle {
            shared: self.shared.clone(),
        }
    }
}

impl<E> fmt::Debug for TaskGroupHandle<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        debug_group(&self.shared, "TaskGroupHandle", f)
    }
}

impl<E> TaskGroupHandle<E> {
    spawn_methods!("handle", "let handle = tg.handle();");

    /// As [`TaskGroup::cancel`].
    pub fn cancel(&self) {
        self.shared.close(Phase::Cancelled);
    }

    /// Whether the group still admits spawns.
    pub fn is_open(&self) -> bool {
        self.shared.lock().phase == Phase::Open
    }
}

#[track_caller]
fn spawn_in<F, T, E>(
    shared: &Arc<GroupShared<E>>,
    builder: Option<Builder>,
    future: F,
) -> Result<GroupTask<T>, SpawnError<F>>
where
    F: Future<Output = Result<T, E>> + Send + 'static,
    T: Send + 'static,
    E: Send + 'static,
{
    let slot = match shared.admit() {
        Ok(slot) => slot,
        Err(kind) => return Err(SpawnError::new(kind, future)),
    };
    // If spawning panics (no loop), unwinding drops the child, whose drop gives the slot back.
    let (child, request) = Child::new(future, shared.clone(), slot);
    let task = match builder {
        Some(b) => b.spawn(child),
        None => tulip_executor::spawn(child),
    };
    Ok(GroupTask { task, request })
}

#[track_caller]
fn spawn_local_in<F, T, E>(
    shared: &Arc<GroupShared<E>>,
    builder: Option<Builder>,
    future: F,
) -> Result<GroupTask<T>, SpawnError<F>>
where
    F: Future<Output = Result<T, E>> + 'static,
    T: 'static,
    E: 'static,
{
    let slot = match shared.admit() {
        Ok(slot) => slot,
        Err(kind) => return Err(SpawnError::new(kind, future)),
    };
    let (child, request) = Child::new(future, shared.clone(), slot);
    let task = match builder {
        Some(b) => b.spawn_local(child),
        None => tulip_executor::spawn_local(child),
    };
    Ok(GroupTask { task, request })
}

/// Future of [`TaskGroup::join`].
///
/// # Cancel safety
///
/// Dropping it before it completes drops the group and so cancels every child still running.
///
/// # Errors
///
/// Gives a [`GroupError`] if at least one child failed.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
///
/// tulip_runtime::Runner::builder().start_paused(true).build().run(async {
///     let tg = tulip_task::TaskGroup::<()>::new();
///     let child = tg.spawn(std::future::pending::<Result<(), ()>>()).unwrap();
///     let join: tulip_task::Join<()> = tg.join();
///     // Giving up on the join cancels the children.
///     assert!(tulip_task::timeout(Duration::from_secs(1), join).await.is_err());
///     assert!(child.await.unwrap_err().is_cancelled());
/// });
/// ```
#[must_use = "futures do nothing unless polled; dropping a Join cancels the group's children"]
pub struct Join<E> {
    group: TaskGroup<E>,
    done: bool,
}

impl<E> fmt::Debug for Join<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Join")
            .field("group", &self.group)
            .field("done", &self.done)
            .finish()
    }
}

impl<E> Unpin for Join<E> {}

impl<E> Future for Join<E> {
    type Output = Result<(), GroupError<E>>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        assert!(!self.done, "Join polled after completion");
        let mut st = self.group.shared.lock();
        if st.live > 0 {
            if !st
                .join_waker
                .as_ref()
                .is_some_and(|w| w.will_wake(cx.waker()))
            {
                st.join_waker = Some(cx.waker().clone());
            }
            return Poll::Pending;
        }
        st.phase = Phase::Joined;
        let failures = std::mem::take(&mut st.failures);
        drop(st);
        self.done = true;
        if failures.is_empty() {
            Poll::Ready(Ok(()))
        } else {
            Poll::Ready(Err(GroupError::new(failures)))
        }
    }
}

/// The handle of a [`TaskGroup`] child: await it for the child's value.
///
/// Like [`Task`], it gives `Ok(value)` or a [`JoinError`], and dropping it detaches it (the
/// child stays in its group, which still waits for it and still cancels it). The child's
/// errors and panics belong to the group's [`GroupError`]: a child that returned `Err` gives
/// `Err(JoinError::Cancelled)` here, and one that panicked gives `JoinError::Panicked` with a
/// copy of the panic message (the payload is in the `GroupError`).
///
/// # Cancel safety
///
/// Awaiting it is cancel safe: dropping the handle, or a poll of it, only detaches; the child
/// and its result stay with the group.
///
/// # Examples
///
/// ```
/// # tulip_runtime::run(async {
/// use tulip_executor::Builder;
///
/// let tg = tulip_task::TaskGroup::<()>::new();
/// let child = tg.spawn_with(Builder::new().name("c"), async { Ok("value") }).unwrap();
/// assert_eq!(child.name(), Some("c"));
/// assert!(child.location().file().ends_with(".rs"));
/// let _id: tulip_executor::TaskId = child.id();
/// assert!(!child.is_finished());
/// tg.spawn(async { Ok("ignored") }).unwrap().detach();
/// tg.join().await.unwrap();
/// assert_eq!(child.await.unwrap(), "value");
/// # });
/// ```
pub struct GroupTask<T> {
    task: Task<Result<T, JoinError>>,
    /// A cooperative group's child: the scope its cancellation is requested through.
    request: Option<CancelScope>,
}

impl<T> GroupTask<T> {
    /// The child's task id.
    pub fn id(&self) -> TaskId {
        self.task.id()
    }

    /// The child's name, if it was spawned with one.
    pub fn name(&self) -> Option<&str> {
        self.task.name()
    }

    /// Where the child was spawned.
    pub fn location(&self) -> &'static Location<'static> {
        self.task.location()
    }

    /// Whether the child has finished.
    pub fn is_finished(&self) -> bool {
        self.task.is_finished()
    }

    /// Cancels this child alone (asyncio's `task.cancel()` on a group child): it is dropped at
    /// its next poll and awaiting it gives `Err(JoinError::Cancelled)`. This is not a failure:
    /// the siblings keep running. Returns `false` if the child had already finished.
    ///
    /// In a [`cooperative`](TaskGroup::cooperative) group it is a request instead: the child's
    /// checkpoints fail, it cleans up and ends (dropped if it has not after the group's grace
    /// period), and an `Err` it then returns is not a failure.
    ///
    /// # Examples
    ///
    /// ```
    /// # tulip_runtime::run(async {
    /// let tg = tulip_task::TaskGroup::<()>::new();
    /// let stuck = tg.spawn(std::future::pending::<Result<(), ()>>()).unwrap();
    /// let fine = tg.spawn(async { Ok(1) }).unwrap();
    /// assert!(stuck.cancel());
    /// tg.join().await.unwrap();
    /// assert_eq!(fine.await.unwrap(), 1);
    /// # });
    /// ```
    pub fn cancel(&self) -> bool {
        match &self.request {
            Some(scope) => {
                scope.cancel();
                !self.task.is_finished()
            }
            None => self.task.cancel(),
        }
    }

    /// Lets the child run on with nobody awaiting this handle (what dropping it does too).
    pub fn detach(self) {
        self.task.detach();
    }
}

impl<T> fmt::Debug for GroupTask<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GroupTask")
            .field("id", &self.id())
            .field("name", &self.name())
            .field("finished", &self.is_finished())
            .finish()
    }
}

impl<T> Future for GroupTask<T> {
    type Output = Result<T, JoinError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match Pin::new(&mut self.task).poll(cx) {
            Poll::Ready(Ok(outcome)) => Poll::Ready(outcome),
            Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
            Poll::Pending => Poll::Pending,
        }
    }
}

pin_project! {
    /// The future a child task runs: the user's future plus the group's bookkeeping.
    struct Child<F, E> {
        #[pin]
        future: Option<Inner<F>>,
        group: Arc<GroupShared<E>>,
        slot: usize,
        // The waker last stored in the group's slot.
        waker: Option<Waker>,
        // Whether `group.finish` was called.
        finished: bool,
    }

    impl<F, E> PinnedDrop for Child<F, E> {
        fn drop(this: Pin<&mut Self>) {
            let this = this.project();
            if !*this.finished {
                // Dropped before it completed: cancelled alone, or its loop closed.
                let failure = drop_future(this.future);
                resume_orphan(this.group.finish(*this.slot, [failure, None]));
            }
        }
    }
}

impl<F: Future, E> Child<F, E> {
    /// The child, and for a cooperative group the scope its own cancellation goes through.
    fn new(
        future: F,
        group: Arc<GroupShared<E>>,
        slot: usize,
    ) -> (Child<F, E>, Option<CancelScope>) {
        let (inner, request) = match &group.coop {
            None => (
                Inner {
                    plain: Some(future),
                    scoped: None,
                    request: None,
                },
                None,
            ),
            Some(coop) => {
                let own = CancelScope::cooperative().with_grace(coop.grace());
                let inner = Inner {
                    plain: None,
                    scoped: Some(coop.run(own.run(future))),
                    request: Some(own.clone()),
                };
                (inner, Some(own))
            }
        };
        let child = Child {
            future: Some(inner),
            group,
            slot,
            waker: None,
            finished: false,
        };
        (child, request)
    }
}

pin_project! {
    /// A child's future: as is in a drop-based group; in a cooperative group, run in the
    /// group's scope and a scope of its own.
    struct Inner<F> {
        #[pin]
        plain: Option<F>,
        #[pin]
        scoped: Option<CancelScoped<CancelScoped<F>>>,
        // The child's own scope (cooperative groups).
        request: Option<CancelScope>,
    }
}

impl<F: Future> Inner<F> {
    /// The future's output, or `None` if a cooperative scope dropped it after its grace period.
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<F::Output>> {
        let this = self.project();
        if let Some(f) = this.plain.as_pin_mut() {
            return f.poll(cx).map(Some);
        }
        let scoped = this
            .scoped
            .as_pin_mut()
            .expect("a child's future is plain or scoped");
        scoped.poll(cx).map(|r| r.ok().and_then(Result::ok))
    }

    /// Whether this child alone was asked to stop (cooperative groups).
    fn requested(&self) -> bool {
        self.request
            .as_ref()
            .is_some_and(CancelScope::cancel_called)
    }
}

/// Drops the child's future in place, collecting a panic from its `Drop`.
fn drop_future<F, E>(future: Pin<&mut Option<F>>) -> Option<Failure<E>> {
    let mut future = future;
    catch_unwind(AssertUnwindSafe(|| future.set(None)))
        .err()
        .map(|payload| Failure::Panic(Panic::new(payload)))
}

/// A copy of a panic for the child's handle: the message only, the payload goes to the group.
fn panic_copy(payload: &(dyn std::any::Any + Send)) -> JoinError {
    let message = payload_message(payload)
        .unwrap_or("a task group child panicked; its payload is in the GroupError")
        .to_owned();
    JoinError::Panicked(Panic::new(Box::new(message)))
}

impl<F, T, E> Future for Child<F, E>
where
    F: Future<Output = Result<T, E>>,
{
    type Output = Result<T, JoinError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut this = self.project();
        assert!(
            !*this.finished,
            "a task group child polled after completion"
        );
        let stopped = this.group.stop.load(Ordering::Acquire)
            || (!this.waker.as_ref().is_some_and(|w| w.will_wake(cx.waker()))
                && !this.group.register(*this.slot, cx.waker()));
        if stopped && this.group.drops_children() {
            let failure = drop_future(this.future.as_mut());
            *this.finished = true;
            resume_orphan(this.group.finish(*this.slot, [failure, None]));
            return Poll::Ready(Err(JoinError::Cancelled));
        }
        if !this.waker.as_ref().is_some_and(|w| w.will_wake(cx.waker())) {
            *this.waker = Some(cx.waker().clone());
        }
        let future = this
            .future
            .as_mut()
            .as_pin_mut()
            .expect("the future is present until the child finishes");
        let polled = catch_unwind(AssertUnwindSafe(|| future.poll(cx)));
        // Read after the poll: the request may have come while the child ran.
        let told = (this.group.coop.is_some() && this.group.stop.load(Ordering::Acquire))
            || this
                .future
                .as_ref()
                .as_pin_ref()
                .is_some_and(|f| f.requested());
        let (outcome, failure) = match polled {
            Ok(Poll::Pending) => return Poll::Pending,
            Ok(Poll::Ready(Some(Ok(value)))) => (Ok(value), None),
            // A cooperative child told to stop ends cancelled, whatever its error says.
            Ok(Poll::Ready(Some(Err(_)))) if told => (Err(JoinError::Cancelled), None),
            Ok(Poll::Ready(Some(Err(e)))) => (Err(JoinError::Cancelled), Some(Failure::Error(e))),
            // Dropped after its grace period.
            Ok(Poll::Ready(None)) => (Err(JoinError::Cancelled), None),
            Err(payload) => {
                let copy = panic_copy(&*payload);
                (Err(copy), Some(Failure::Panic(Panic::new(payload))))
            }
        };
        let drop_failure = drop_future(this.future.as_mut());
        let outcome = match (&drop_failure, outcome) {
            (Some(Failure::Panic(p)), Ok(_)) => Err(JoinError::Panicked(Panic::new(Box::new(
                p.message()
                    .unwrap_or_else(|| "a task group child panicked while dropped".into()),
            )))),
            (_, outcome) => outcome,
        };
        *this.finished = true;
        resume_orphan(this.group.finish(*this.slot, [failure, drop_failure]));
        Poll::Ready(outcome)
    }
}
