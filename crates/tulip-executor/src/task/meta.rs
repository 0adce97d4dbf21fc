//! [`TaskMeta`], the header every task carries, and [`TaskId`].
//!
//! Which thread may touch which field is written down in the [task module](super) docs.

use std::fmt;
use std::panic::Location;
use std::sync::atomic::{AtomicU32, AtomicU64, AtomicU8, Ordering};
use std::sync::Arc;

use crate::executor::shared::Shared;
use crate::report::{ExceptionContext, ReportKind};

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
pub(crate) const NO_SLOT: u32 = u32::MAX;
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
/// `TaskMeta::flags`: debug mode holds a record of what the task waits on (written and
/// cleared only by the polling thread).
pub(crate) const NOTED: u8 = 16;
/// `TaskMeta::flags`: the executor has task hooks, or is instrumented (debug mode or the
/// watchdog), so every poll takes the full path. Set at spawn and never changed, so the poll
/// reads it with the cancel flag, in one load.
pub(crate) const SLOW_POLL: u8 = 32;
/// `TaskMeta::flags`: the task's future has been dropped (the task ended). Written only by
/// the thread that polls or drops the task, in place of a tag next to the future, which
/// would make every task's allocation larger.
pub(crate) const FUTURE_GONE: u8 = 64;
/// `TaskMeta::flags`: a task spawned fallible ended with `Err`.
pub(crate) const ERRORED: u8 = 128;

/// `TaskMeta::state`: queued to run (spawned or woken).
pub(crate) const SCHEDULED: u8 = 0;
/// `TaskMeta::state`: being polled.
pub(crate) const RUNNING: u8 = 1;
/// `TaskMeta::state`: returned `Pending`, waiting to be woken.
pub(crate) const IDLE: u8 = 2;

/// Data stored in every task's header (async-task metadata), shared by the `Task` handle, the
/// `Runnable` and the task's own future. Kept small: it is part of every task's allocation.
pub(crate) struct TaskMeta {
    pub(crate) id: TaskId,
    /// The name, boxed twice so that an unnamed task pays one pointer, not two.
    pub(crate) name: Option<Box<Box<str>>>,
    pub(crate) location: &'static Location<'static>,
    /// Where the task sits in the loop's registry (`NO_SLOT` until registered: at spawn in
    /// debug mode, at its first `Pending` otherwise).
    pub(crate) slot: AtomicU32,
    /// The executor the task belongs to.
    pub(crate) shared: Arc<Shared>,
    /// The worker a `!Send` task is pinned to, or `NOT_PINNED`.
    pub(crate) pinned: u32,
    /// Number of polls so far (written only by the polling thread).
    pub(crate) polls: AtomicU32,
    /// `SCHEDULED`, `RUNNING` or `IDLE` (introspection; relaxed stores).
    pub(crate) state: AtomicU8,
    /// `CANCEL`, `PANICKED`, `HANDLE_GONE`, `REPORTED`, `NOTED`, `SLOW_POLL`, `FUTURE_GONE`,
    /// `ERRORED`.
    pub(crate) flags: AtomicU8,
}

impl TaskMeta {
    /// The header of a task about to be spawned on `shared`.
    pub(crate) fn new(
        shared: &Arc<Shared>,
        name: Option<Box<str>>,
        location: &'static Location<'static>,
        pinned: u32,
    ) -> TaskMeta {
        TaskMeta {
            id: TaskId::next(),
            name: name.map(Box::new),
            location,
            slot: AtomicU32::new(NO_SLOT),
            shared: shared.clone(),
            pinned,
            polls: AtomicU32::new(0),
            state: AtomicU8::new(SCHEDULED),
            flags: AtomicU8::new(if shared.hooks.is_some() || shared.instrumented {
                SLOW_POLL
            } else {
                0
            }),
        }
    }

    /// Whether [`Task::cancel`](crate::Task::cancel) was called.
    pub(crate) fn cancel_requested(&self) -> bool {
        // SeqCst, to pair with `Task::cancel` after a registration; it costs what an acquire
        // load costs on x86 and ARMv8.
        self.flags.load(Ordering::SeqCst) & CANCEL != 0
    }

    /// The "never retrieved" rule (debug mode, and `UnhandledPanic::ShutdownIfUnobserved`):
    /// act once, when the task has failed (panicked, or a fallible task returned `Err`) and
    /// its handle is gone without having taken the outcome, whichever happens second. `event`
    /// is the bit that just became true.
    pub(crate) fn check_never_retrieved(&self, event: u8) {
        if !self.shared.tracks_retrieval {
            return;
        }
        let before = self.flags.fetch_or(event, Ordering::SeqCst);
        let now = before | event;
        if now & (PANICKED | ERRORED) != 0
            && now & HANDLE_GONE != 0
            && self.flags.fetch_or(REPORTED, Ordering::SeqCst) & REPORTED == 0
        {
            self.shared.never_retrieved(self, now & PANICKED != 0);
        }
    }

    /// A report about this task.
    pub(crate) fn report(&self, kind: ReportKind) -> ExceptionContext<'_> {
        let mut r = ExceptionContext::new(kind);
        r.task_id = Some(self.id);
        r.task_name = self.name.as_deref().map(|n| &**n);
        r.location = Some(self.location);
        r
    }
}
