//! [`Task`], [`TaskId`], [`JoinError`] and the metadata every task carries.

use std::any::Any;
use std::error::Error;
use std::fmt;
use std::future::Future;
use std::panic::Location;
use std::pin::Pin;
use std::ptr::NonNull;
use std::sync::atomic::{AtomicU32, AtomicU64, AtomicU8, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use crate::introspect::{note_waiting, WaitingOn};
use crate::report::ReportKind;
use crate::shared::Shared;

/// A task's unique id within this process (asyncio has none; tokio's `task::Id`).
///
/// # Examples
///
/// ```
/// # tulip_executor::doc_block_on(async {
/// let a = tulip_executor::spawn(async {});
/// let b = tulip_executor::spawn(async {});
/// assert_ne!(a.id(), b.id());
/// # });
/// ```
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
pub struct TaskId(pub(crate) u64);

impl TaskId {
    /// A fresh id.
    pub(crate) fn next() -> TaskId {
        static NEXT: AtomicU64 = AtomicU64::new(1);
        TaskId(NEXT.fetch_add(1, Ordering::Relaxed))
    }

    /// The id as a number.
    pub fn as_u64(self) -> u64 {
        self.0
    }
}

impl fmt::Display for TaskId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// Registry slot value meaning "not registered".
pub(crate) const NO_SLOT: usize = usize::MAX;
/// `TaskMeta::pinned` of a `Send` task, which may run on any worker.
pub(crate) const NOT_PINNED: u32 = u32::MAX;

/// `TaskMeta::flags`: cancellation was requested.
pub(crate) const CANCEL: u8 = 1;
/// `TaskMeta::flags`: the task ended in a panic.
pub(crate) const PANICKED: u8 = 2;
/// `TaskMeta::flags`: the `Task` handle is gone without having taken the outcome.
pub(crate) const HANDLE_GONE: u8 = 4;
/// `TaskMeta::flags`: "never retrieved" has been reported.
pub(crate) const REPORTED: u8 = 8;

/// Data stored in every task's header (async-task metadata), shared by the `Task` handle, the
/// `Runnable` and the task's own future. Kept small: it is part of every task's allocation.
pub(crate) struct TaskMeta {
    pub(crate) id: TaskId,
    /// The name, boxed twice so that an unnamed task pays one pointer, not two.
    pub(crate) name: Option<Box<Box<str>>>,
    pub(crate) location: &'static Location<'static>,
    /// Where the task sits in the loop's registry (`NO_SLOT` until registered: at spawn in
    /// debug mode, at its first `Pending` otherwise).
    pub(crate) slot: AtomicUsize,
    /// The executor the task belongs to.
    pub(crate) shared: Arc<Shared>,
    /// The worker a `!Send` task is pinned to, or `NOT_PINNED`.
    pub(crate) pinned: u32,
    /// Number of polls so far (written only by the polling thread).
    pub(crate) polls: AtomicU32,
    /// Scheduled, running or idle (introspection; relaxed stores).
    pub(crate) state: AtomicU8,
    /// `CANCEL`, `PANICKED`, `HANDLE_GONE`, `REPORTED`.
    pub(crate) flags: AtomicU8,
}

impl TaskMeta {
    pub(crate) fn cancel_requested(&self) -> bool {
        // SeqCst, to pair with `Task::cancel` after a registration; it costs what an acquire
        // load costs on x86 and ARMv8.
        self.flags.load(Ordering::SeqCst) & CANCEL != 0
    }

    /// Debug mode's "never retrieved" rule: report once, when the task has panicked and its
    /// handle is gone, whichever happens second. `event` is the bit that just became true.
    pub(crate) fn check_never_retrieved(&self, event: u8) {
        if self.shared.debug.is_none() {
            return;
        }
        let before = self.flags.fetch_or(event, Ordering::SeqCst);
        let now = before | event;
        if now & (PANICKED | HANDLE_GONE) == (PANICKED | HANDLE_GONE)
            && self.flags.fetch_or(REPORTED, Ordering::SeqCst) & REPORTED == 0
        {
            self.shared.report(&self.report(ReportKind::NeverRetrieved));
        }
    }
}

/// The output of a task's future as stored by async-task.
pub(crate) type Outcome<T> = Result<T, JoinError>;

/// Why awaiting a [`Task`] did not produce its value (asyncio's `CancelledError` and task
/// exceptions).
///
/// # Examples
///
/// ```
/// # tulip_executor::doc_block_on(async {
/// let t = tulip_executor::spawn(async { panic!("boom") });
/// let err: tulip_executor::JoinError = t.await.unwrap_err();
/// assert!(err.is_panic());
/// assert_eq!(err.panic_message().as_deref(), Some("boom"));
/// # });
/// ```
#[derive(Debug)]
pub enum JoinError {
    /// The task was cancelled (by [`Task::cancel`], or because its loop closed first).
    Cancelled,
    /// The task panicked; the payload is inside.
    Panicked(Panic),
}

impl JoinError {
    /// Whether the task was cancelled.
    pub fn is_cancelled(&self) -> bool {
        matches!(self, JoinError::Cancelled)
    }

    /// Whether the task panicked.
    pub fn is_panic(&self) -> bool {
        matches!(self, JoinError::Panicked(_))
    }

    /// The panic payload, to resume with `std::panic::resume_unwind`.
    ///
    /// # Panics
    ///
    /// Panics if the task was cancelled rather than panicking; see
    /// [`try_into_panic`](Self::try_into_panic).
    pub fn into_panic(self) -> Box<dyn Any + Send + 'static> {
        self.try_into_panic()
            .expect("JoinError::into_panic called on a cancelled task")
    }

    /// The panic payload, or the error back if the task was cancelled.
    ///
    /// # Errors
    ///
    /// Returns `Err(self)` for [`JoinError::Cancelled`].
    pub fn try_into_panic(self) -> Result<Box<dyn Any + Send + 'static>, JoinError> {
        match self {
            JoinError::Panicked(p) => Ok(p.into_inner()),
            e => Err(e),
        }
    }

    /// The panic message, when the task panicked with a string.
    pub fn panic_message(&self) -> Option<String> {
        match self {
            JoinError::Panicked(p) => p.message(),
            JoinError::Cancelled => None,
        }
    }
}

impl fmt::Display for JoinError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            JoinError::Cancelled => f.write_str("task was cancelled"),
            JoinError::Panicked(p) => match p.message() {
                Some(m) => write!(f, "task panicked: {m}"),
                None => f.write_str("task panicked"),
            },
        }
    }
}

impl Error for JoinError {}

impl From<JoinError> for std::io::Error {
    fn from(e: JoinError) -> std::io::Error {
        std::io::Error::other(e)
    }
}

/// A panic payload caught from a task (`Send + Sync`, so [`JoinError`] is too). One pointer
/// wide, so every task's output slot stays small.
pub struct Panic(Box<Mutex<Box<dyn Any + Send + 'static>>>);

impl Panic {
    /// Wraps a payload caught with `std::panic::catch_unwind`.
    pub fn new(payload: Box<dyn Any + Send + 'static>) -> Panic {
        Panic(Box::new(Mutex::new(payload)))
    }

    /// The payload.
    pub fn into_inner(self) -> Box<dyn Any + Send + 'static> {
        self.0.into_inner().unwrap_or_else(|e| e.into_inner())
    }

    /// The message, when the payload is a `&str` or `String` (as `panic!` makes it).
    pub fn message(&self) -> Option<String> {
        let p = self.0.lock().unwrap_or_else(|e| e.into_inner());
        payload_message(&**p).map(str::to_owned)
    }
}

impl fmt::Debug for Panic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Panic").field(&self.message()).finish()
    }
}

/// The message of a panic payload, if it is a string.
pub fn payload_message(payload: &(dyn Any + Send)) -> Option<&str> {
    if let Some(s) = payload.downcast_ref::<&'static str>() {
        Some(s)
    } else {
        payload.downcast_ref::<String>().map(String::as_str)
    }
}

/// A handle to a spawned task: await it for the task's result.
///
/// Asyncio semantics: **dropping a `Task` detaches it** — the task keeps running and its result
/// is discarded (the event loop owns running tasks). To stop a task, call
/// [`cancel`](Task::cancel); to tie children's lifetimes to a scope, use a task group.
///
/// Awaiting gives `Ok(value)`, `Err(JoinError::Cancelled)` if the task was cancelled (or its
/// loop closed before it finished), or `Err(JoinError::Panicked(_))` if it panicked.
///
/// # Cancel safety
///
/// Awaiting a `Task` moves it into the `await`; dropping that await (say, a `select` branch
/// that lost) drops the handle, which detaches the task: it keeps running and its result is
/// discarded. Await `&mut` through a wrapper, or cancel the task explicitly, to stop it.
///
/// # Examples
///
/// ```
/// # tulip_executor::doc_block_on(async {
/// let task = tulip_executor::spawn(async { 6 * 7 });
/// assert_eq!(task.await.unwrap(), 42);
/// # });
/// ```
#[must_use = "dropping a Task detaches it; call .detach() to say so"]
pub struct Task<T> {
    /// The async-task handle; `None` once detached.
    task: Option<async_task::FallibleTask<Outcome<T>, TaskMeta>>,
    /// The task's metadata, inside the task's heap allocation.
    meta: NonNull<TaskMeta>,
    /// Whether the outcome has been taken by awaiting.
    retrieved: bool,
}

// SAFETY: `Task<T>` is an async-task handle (Send when T: Send, since TaskMeta is Send + Sync)
// plus a pointer to the TaskMeta in the same allocation, which is Sync (atomics and immutable
// fields) and is only read through `&`.
unsafe impl<T: Send> Send for Task<T> {}
// SAFETY: every method takes `&self` to read the Sync TaskMeta or `&mut self`/`self` to touch the
// async-task handle; no `&self` method touches the output.
unsafe impl<T> Sync for Task<T> {}

impl<T> Unpin for Task<T> {}

impl<T> Task<T> {
    pub(crate) fn new(task: async_task::Task<Outcome<T>, TaskMeta>) -> Task<T> {
        let meta = NonNull::from(task.metadata());
        Task {
            task: Some(task.fallible()),
            meta,
            retrieved: false,
        }
    }

    fn meta(&self) -> &TaskMeta {
        // SAFETY: `meta` points into the task's allocation, which lives at least as long as the
        // async-task handle in `self.task`; that handle is only given up by `detach(self)` and
        // `Drop`, after which `self` is gone. The metadata is never mutated except through its
        // atomics.
        unsafe { self.meta.as_ref() }
    }

    /// The task's id.
    pub fn id(&self) -> TaskId {
        self.meta().id
    }

    /// The task's name, if it was given one with [`Builder::name`](crate::Builder::name).
    pub fn name(&self) -> Option<&str> {
        self.meta().name.as_deref().map(|n| &**n)
    }

    /// Where the task was spawned.
    pub fn location(&self) -> &'static Location<'static> {
        self.meta().location
    }

    /// Whether the task has finished (completed, panicked or been cancelled).
    pub fn is_finished(&self) -> bool {
        self.task.as_ref().is_none_or(|t| t.is_finished())
    }

    /// Asks the task to stop: its future is dropped at its current `.await` point the next time
    /// the loop gets to it, and awaiting the task gives `Err(JoinError::Cancelled)`.
    ///
    /// Returns `false` if the task had already finished (asyncio's `Task.cancel()`), `true`
    /// otherwise. May be called from any thread.
    #[doc(alias = "abort")]
    pub fn cancel(&self) -> bool {
        if self.is_finished() {
            return false;
        }
        let meta = self.meta();
        // SeqCst, with the registering poll's SeqCst store of its slot and re-check of this
        // flag (see `TaskFuture::poll`): in the single total order one of the two comes first,
        // so either this load finds the slot and wakes the task, or the poll sees the flag and
        // wakes itself. With release/acquire both could miss, and the cancel would be lost.
        meta.flags.fetch_or(CANCEL, Ordering::SeqCst);
        meta.shared
            .wake_for_cancel(meta, meta.slot.load(Ordering::SeqCst));
        true
    }

    /// Lets the task run on with nobody awaiting it (what dropping the handle does too).
    pub fn detach(mut self) {
        self.let_go();
    }

    /// Gives up the handle: in debug mode, a panic nobody will ever retrieve is reported.
    fn let_go(&mut self) {
        let Some(t) = self.task.take() else { return };
        if !self.retrieved {
            self.meta().check_never_retrieved(HANDLE_GONE);
        }
        t.detach();
    }

    /// Blocks this (non-loop) thread until the task finishes; for plain threads waiting on a
    /// task spawned through a loop handle.
    ///
    /// # Panics
    ///
    /// Panics if called on a thread that is running a tulip event loop (it would deadlock).
    pub fn wait_blocking(self) -> Outcome<T> {
        assert!(
            !crate::context::in_loop(),
            "Task::wait_blocking called on an event loop thread; await the task instead"
        );
        crate::park::block_on(self)
    }
}

impl<T> Drop for Task<T> {
    fn drop(&mut self) {
        self.let_go();
    }
}

impl<T> Future for Task<T> {
    type Output = Outcome<T>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Outcome<T>> {
        let task = self
            .task
            .as_mut()
            .expect("a detached Task cannot be awaited");
        match Pin::new(task).poll(cx) {
            Poll::Ready(Some(outcome)) => {
                self.retrieved = true;
                Poll::Ready(outcome)
            }
            // The loop dropped the task before it finished (it closed).
            Poll::Ready(None) => {
                self.retrieved = true;
                Poll::Ready(Err(JoinError::Cancelled))
            }
            Poll::Pending => {
                note_waiting(WaitingOn::Task(self.id()));
                Poll::Pending
            }
        }
    }
}

impl<T> fmt::Debug for Task<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Task")
            .field("id", &self.id())
            .field("name", &self.name())
            .field("finished", &self.is_finished())
            .finish()
    }
}
