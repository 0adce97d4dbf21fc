//! [`TaskFuture`]: the future every task runs — the user's future plus cancellation, panic
//! containment, task-local context, introspection state and debug-mode timing.
//!
//! One poll, in named steps ([`TaskFuture::poll`]):
//!
//! 1. a requested cancel ends the task before the user's future is polled again;
//! 2. the task is marked running and its poll counted; only when the task's `SLOW_POLL` flag
//!    says the executor has hooks or is instrumented (debug mode or watchdog) does the poll
//!    take [`poll_instrumented`]: the hooks run around it, [`PollTimer::start`] times it and,
//!    in debug mode, clears the record of what the task waited on (its futures write it again
//!    if they still wait). The cancel flag and `SLOW_POLL` are read in one load;
//! 3. [`poll_contained`]: the user's future is polled with the task's task-locals installed
//!    and marked as the current task, inside `catch_unwind`;
//! 4. [`PollTimer::finish`] reports a slow poll;
//! 5. the outcome: `Ready` ends the task; a panic is reported and ends it; `Pending` goes to
//!    [`after_pending`], which checks for a cancel made during the poll and, at the first
//!    `Pending`, registers the task (the cancel/registration handshake of the
//!    [module docs](super)).
//!
//! Ending the task ([`finish`]) drops the user's future at once, in place, in its own
//! task-local context, containing a panic from its `Drop`. Without hooks or instrumentation, a
//! future that completes is dropped inside the poll's own context instead
//! ([`poll_contained_fast`]), which saves installing it a second time.
//!
//! With the `tracing` feature, the task's span ([`span`]) is entered around all of this, and
//! around the drop of an unfinished task. Without it the span is `()` and entering it does
//! nothing: the wrapper compiles to the same code as before the feature existed.

use std::future::Future;
use std::mem::ManuallyDrop;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::pin::Pin;
use std::sync::atomic::Ordering;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use pin_project_lite::pin_project;

use crate::current::{in_task, worker_index};
use crate::executor::shared::Shared;
use crate::hooks::{run_hook, HookPoint};
use crate::introspect::clear_waiting;
use crate::report::ReportKind;
use crate::task::error::{JoinError, Panic, TaskOutput};
use crate::task::meta::{TaskMeta, CANCEL, FUTURE_GONE, IDLE, NO_SLOT, RUNNING, SLOW_POLL};
use crate::task_local::{swap_context, TaskLocals};
use crate::watchdog::Watchdog;

pin_project! {
    /// Wraps a task's future. Lives inside the task's allocation next to its metadata.
    pub(crate) struct TaskFuture<'m, F> {
        meta: &'m TaskMeta,
        // The task's `tracing` span (`()` without the feature).
        span: span::TaskSpan,
        // The task's task-local context (installed on the thread while it is polled).
        context: TaskLocals,
        // The user's future, dropped in place when the task ends; the task's `FUTURE_GONE`
        // flag says it was (no tag of its own: it would cost every task 8 bytes).
        #[pin]
        future: ManuallyDrop<F>,
    }

    impl<F> PinnedDrop for TaskFuture<'_, F> {
        fn drop(this: Pin<&mut Self>) {
            let mut this = this.project();
            let meta = *this.meta;
            let _entered = span::enter(this.span);
            if meta.flags.load(Ordering::Relaxed) & FUTURE_GONE == 0 {
                // Dropped unfinished (cancelled, or at shutdown; possibly from inside another
                // task's poll): drop it in its own context, then restore the thread's.
                let prev_ctx = swap_context(std::mem::take(this.context));
                let ((), _) = in_task(meta, TaskLocals::default(), || {
                    drop_contained(meta, this.future.as_mut())
                });
                swap_context(prev_ctx);
                run_hook(meta, HookPoint::Terminate);
            }
            meta.shared.task_done(meta);
        }
    }
}

impl<'m, F> TaskFuture<'m, F> {
    pub(crate) fn new(meta: &'m TaskMeta, context: TaskLocals, future: F) -> Self {
        TaskFuture {
            meta,
            span: span::new(meta),
            context,
            future: ManuallyDrop::new(future),
        }
    }
}

impl<F: Future> Future for TaskFuture<'_, F> {
    type Output = TaskOutput<F::Output>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut this = self.project();
        let meta = *this.meta;
        let _entered = span::enter(this.span);
        // One load for step 1 and for "hooks or instrumentation": SeqCst, as
        // `cancel_requested` (see there).
        let flags = meta.flags.load(Ordering::SeqCst);
        if flags & (CANCEL | FUTURE_GONE) != 0 {
            // async-task never polls a future again after it returned Ready, so a gone future
            // is not expected here; `finish` would not drop it twice either.
            let outcome = Err(Box::new(JoinError::Cancelled));
            return Poll::Ready(finish(meta, this.context, this.future, outcome));
        }
        let polled = if flags & SLOW_POLL == 0 {
            // No hooks, no timing: step 2 is the introspection state alone.
            mark_running(meta);
            match poll_contained_fast(meta, this.context, this.future.as_mut(), cx) {
                // The future is dropped already, and there is no termination hook to run.
                Ok(Poll::Ready(value)) => return Poll::Ready(Ok(value)),
                other => other,
            }
        } else {
            // SAFETY: `ManuallyDrop<F>` is a transparent wrapper, so the `F` inside is pinned
            // as the wrapper is: it is never moved out, and is dropped in place
            // (`drop_contained`). It has not been dropped: `FUTURE_GONE` is clear.
            let future = unsafe { this.future.as_mut().map_unchecked_mut(|f| &mut **f) };
            poll_instrumented(meta, this.context, future, cx)
        };
        let outcome = match polled {
            Ok(Poll::Ready(value)) => Ok(value),
            Ok(Poll::Pending) => match after_pending(meta, cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(()) => Err(Box::new(JoinError::Cancelled)),
            },
            Err(payload) => Err(Box::new(panicked(meta, payload))),
        };
        Poll::Ready(finish(meta, this.context, this.future, outcome))
    }
}

/// Step 2 without instrumentation: the task is marked running and its poll counted.
#[inline(always)]
fn mark_running(meta: &TaskMeta) {
    meta.state.store(RUNNING, Ordering::Relaxed);
    // Only the polling thread writes the count: no read-modify-write needed.
    meta.polls.store(
        meta.polls.load(Ordering::Relaxed).wrapping_add(1),
        Ordering::Relaxed,
    );
}

/// Steps 2 to 4 with hooks or instrumentation (the task's `SLOW_POLL` flag): the hooks
/// around the poll, and the timing that debug mode and the watchdog need.
#[inline(never)]
fn poll_instrumented<F: Future>(
    meta: &TaskMeta,
    context: &mut TaskLocals,
    future: Pin<&mut F>,
    cx: &mut Context<'_>,
) -> std::thread::Result<Poll<F::Output>> {
    run_hook(meta, HookPoint::BeforePoll);
    let timer = PollTimer::start(meta, cx);
    let polled = poll_contained(meta, context, future, cx);
    timer.finish(meta);
    run_hook(meta, HookPoint::AfterPoll);
    polled
}

/// Step 2 and 4 of a poll: the task's introspection state, and the timing that debug mode
/// and the watchdog need (nothing more than a flag check when neither is on).
struct PollTimer<'a> {
    /// The watchdog and the worker whose busy slot this poll occupies.
    watchdog: Option<(&'a Watchdog, usize)>,
    /// When the poll began, and the slow-poll threshold (debug mode).
    started: Option<(Instant, Duration)>,
}

impl<'a> PollTimer<'a> {
    #[inline]
    fn start(meta: &'a TaskMeta, cx: &Context<'_>) -> PollTimer<'a> {
        let shared = &*meta.shared;
        mark_running(meta);
        if !shared.instrumented {
            return PollTimer {
                watchdog: None,
                started: None,
            };
        }
        // Debug mode: what the task waited on is over now that it runs; whatever it still
        // waits on says so again before this poll returns `Pending`.
        clear_waiting(meta);
        PollTimer {
            watchdog: Self::watch(shared, meta, cx),
            started: shared.debug.map(|slow| (Instant::now(), slow)),
        }
    }

    /// Tells the watchdog that this worker is now polling `meta`'s task.
    fn watch(
        shared: &'a Shared,
        meta: &TaskMeta,
        cx: &Context<'_>,
    ) -> Option<(&'a Watchdog, usize)> {
        shared.watchdog.as_ref().map(|w| {
            if meta.slot.load(Ordering::Relaxed) == NO_SLOT {
                // The watchdog names a blocked task through the registry.
                // SAFETY: `cx` is the context async-task polls this task with (a `TaskFuture`
                // is only ever polled by its `Runnable`), so its waker is this task's.
                unsafe { shared.register(meta, cx.waker().clone()) };
            }
            let slot = worker_index();
            w.start(slot, meta.id.as_u64());
            (w, slot)
        })
    }

    #[inline]
    fn finish(self, meta: &TaskMeta) {
        if let Some((w, slot)) = self.watchdog {
            w.end(slot);
        }
        if let Some((t0, slow)) = self.started {
            let took = t0.elapsed();
            if took >= slow {
                let mut r = meta.report(ReportKind::SlowPoll);
                r.duration = Some(took);
                meta.shared.report(&r);
            }
        }
    }
}

/// Step 3 of a poll: polls the user's future as the current task, with its task-local
/// context installed, and catches a panic. The context the poll leaves is kept for the next.
#[inline]
fn poll_contained<F: Future>(
    meta: &TaskMeta,
    context: &mut TaskLocals,
    future: Pin<&mut F>,
    cx: &mut Context<'_>,
) -> std::thread::Result<Poll<F::Output>> {
    let (polled, after) = in_task(meta, std::mem::take(context), || {
        catch_unwind(AssertUnwindSafe(|| future.poll(cx)))
    });
    *context = after;
    polled
}

/// Step 3 without hooks or instrumentation: [`poll_contained`], and a future that completes is
/// dropped at once, in the same task context (what [`finish`] would do, without installing
/// the context a second time; with no hooks there is no termination hook to run after it).
/// The caller has checked that the future is not gone.
#[inline]
fn poll_contained_fast<F: Future>(
    meta: &TaskMeta,
    context: &mut TaskLocals,
    mut future: Pin<&mut ManuallyDrop<F>>,
    cx: &mut Context<'_>,
) -> std::thread::Result<Poll<F::Output>> {
    let (polled, after) = in_task(meta, std::mem::take(context), || {
        // SAFETY: as in `TaskFuture::poll`: the `F` is pinned as its transparent wrapper is,
        // and has not been dropped (`FUTURE_GONE` is clear; it is dropped below at the
        // earliest, after this borrow ends).
        let inner = unsafe { future.as_mut().map_unchecked_mut(|f| &mut **f) };
        let polled = catch_unwind(AssertUnwindSafe(|| inner.poll(cx)));
        if let Ok(Poll::Ready(_)) = polled {
            drop_contained(meta, future);
        }
        polled
    });
    *context = after;
    polled
}

/// Step 5 for a `Pending` poll: `Ready` if the task must end cancelled now.
///
/// At the first `Pending` the task registers, so that closing and cancellation reach it
/// through its waker; then it re-reads the cancel flag. Both the store of the slot (in
/// `register`) and the loads of the flag are `SeqCst`, which pairs with `Task::cancel` (see
/// the module docs): a cancel that raced with the registration still wakes the task.
#[inline]
fn after_pending(meta: &TaskMeta, cx: &Context<'_>) -> Poll<()> {
    if meta.cancel_requested() {
        // Cancelled while it ran (it cancelled itself, or another thread did).
        return Poll::Ready(());
    }
    meta.state.store(IDLE, Ordering::Relaxed);
    if meta.slot.load(Ordering::Relaxed) == NO_SLOT {
        // SAFETY: `cx` is the context async-task polls this task with (a `TaskFuture` is only
        // ever polled by its `Runnable`), so its waker is this task's.
        unsafe { meta.shared.register(meta, cx.waker().clone()) };
        if meta.cancel_requested() {
            cx.waker().wake_by_ref();
        }
    }
    Poll::Pending
}

/// Step 5 for a poll that panicked: reports it, applies the unhandled-panic policy, and
/// returns what the task's awaiter gets.
#[cold]
fn panicked(meta: &TaskMeta, payload: Box<dyn std::any::Any + Send>) -> JoinError {
    let shared = &*meta.shared;
    let mut r = meta.report(ReportKind::TaskPanic);
    r.payload = Some(&*payload);
    shared.report(&r);
    shared.after_panic(meta, &*payload);
    JoinError::Panicked(Panic::new(payload))
}

/// Ends the task: drops the user's future (in its context, containing panics) unless it is
/// gone already.
fn finish<F, T>(
    meta: &TaskMeta,
    context: &mut TaskLocals,
    future: Pin<&mut ManuallyDrop<F>>,
    outcome: TaskOutput<T>,
) -> TaskOutput<T> {
    if meta.flags.load(Ordering::Relaxed) & FUTURE_GONE != 0 {
        return outcome;
    }
    let ((), _) = in_task(meta, std::mem::take(context), || {
        drop_contained(meta, future)
    });
    if meta.flags.load(Ordering::Relaxed) & SLOW_POLL != 0 {
        run_hook(meta, HookPoint::Terminate);
    }
    outcome
}

/// Drops the user's future in place, reporting (not propagating) a panic from its `Drop`,
/// and marks it gone. The caller has checked that it is not gone yet.
fn drop_contained<F>(meta: &TaskMeta, future: Pin<&mut ManuallyDrop<F>>) {
    debug_assert_eq!(meta.flags.load(Ordering::Relaxed) & FUTURE_GONE, 0);
    // SAFETY: the future has not been dropped (`FUTURE_GONE` is clear, the caller checked)
    // and is dropped here in place (pinning allows dropping, never moving). `FUTURE_GONE` is
    // set right after, whether or not the drop panicked (if it did, unwinding still finished
    // dropping every field, so the value counts as dropped either way), and no path drops or
    // touches the future once it is set. Only the thread polling or dropping the task reads
    // or writes the bit, never two at once: async-task hands the future from one thread to
    // the next with its own synchronisation.
    let res = unsafe {
        let place: *mut ManuallyDrop<F> = future.get_unchecked_mut();
        catch_unwind(AssertUnwindSafe(|| ManuallyDrop::drop(&mut *place)))
    };
    meta.flags.fetch_or(FUTURE_GONE, Ordering::Relaxed);
    if let Err(payload) = res {
        let mut r = meta.report(ReportKind::DropPanic);
        r.payload = Some(&*payload);
        meta.shared.report(&r);
    }
}

/// The task's `tracing` span: `task{id, name, spawned_at}`, made at spawn and entered around
/// each poll of the task.
///
/// It is a root span that *follows from* the span current at spawn, not its child (tokio's
/// task spans do the same): a subscriber keeps a parent open while a child lives, so a chain
/// of tasks each spawning the next would keep every ancestor's span alive, without bound.
#[cfg(feature = "tracing")]
mod span {
    use crate::task::meta::TaskMeta;

    pub(super) type TaskSpan = tracing::Span;

    pub(super) fn new(meta: &TaskMeta) -> TaskSpan {
        let span = tracing::info_span!(
            target: "tulip::task",
            parent: None,
            "task",
            id = meta.id.as_u64(),
            name = meta.name.as_deref().map(|n| &**n),
            spawned_at = %meta.location,
        );
        if !span.is_disabled() {
            span.follows_from(tracing::Span::current());
        }
        span
    }

    #[inline]
    pub(super) fn enter(span: &TaskSpan) -> tracing::span::Entered<'_> {
        span.enter()
    }
}

/// Without the `tracing` feature: nothing, at no cost.
#[cfg(not(feature = "tracing"))]
mod span {
    use crate::task::meta::TaskMeta;

    pub(super) type TaskSpan = ();

    /// What entering no span gives back.
    pub(super) struct Entered;

    #[inline(always)]
    pub(super) fn new(_meta: &TaskMeta) -> TaskSpan {}

    #[inline(always)]
    pub(super) fn enter(_span: &TaskSpan) -> Entered {
        Entered
    }
}
