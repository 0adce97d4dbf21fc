//! The future every task runs: the user's future plus cancellation, panic containment,
//! task-local context, introspection state and debug-mode timing.

use std::future::Future;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::pin::Pin;
use std::sync::atomic::Ordering;
use std::task::{Context, Poll};
use std::time::Instant;

use pin_project_lite::pin_project;

use crate::context::{enter_task, leave_task, swap_context, worker_index};
use crate::introspect::{IDLE, RUNNING};
use crate::local::Context as LocalContext;
use crate::report::{ExceptionContext, ReportKind};
use crate::task_handle::{JoinError, Outcome, Panic, TaskMeta, NO_SLOT};

pin_project! {
    #[project = StageProj]
    enum Stage<F> {
        Running { #[pin] future: F },
        Done,
    }
}

pin_project! {
    /// Wraps a task's future. Lives inside the task's allocation next to its metadata.
    pub(crate) struct TaskFuture<'m, F> {
        meta: &'m TaskMeta,
        // The task's task-local context (installed on the thread while it is polled).
        context: LocalContext,
        #[pin]
        stage: Stage<F>,
    }

    impl<F> PinnedDrop for TaskFuture<'_, F> {
        fn drop(this: Pin<&mut Self>) {
            let mut this = this.project();
            let meta = *this.meta;
            if matches!(*this.stage, Stage::Running { .. }) {
                // Dropped unfinished (cancelled, or at shutdown; possibly from inside another
                // task's poll): drop it in its own context, then restore the thread's.
                let prev_ctx = swap_context(std::mem::take(this.context));
                let prev = enter_task(meta, LocalContext::default());
                drop_contained(meta, this.stage.as_mut());
                leave_task(prev);
                swap_context(prev_ctx);
            }
            meta.shared.task_done(meta);
        }
    }
}

impl<'m, F> TaskFuture<'m, F> {
    pub(crate) fn new(meta: &'m TaskMeta, context: LocalContext, future: F) -> Self {
        TaskFuture {
            meta,
            context,
            stage: Stage::Running { future },
        }
    }
}

/// Drops the user's future in place, reporting (not propagating) a panic from its `Drop`.
fn drop_contained<F>(meta: &TaskMeta, stage: Pin<&mut Stage<F>>) {
    // SAFETY: the pinned value is dropped in place (pinning allows dropping, never moving) and
    // then overwritten with `Done` without dropping it again: if the drop panicked, unwinding
    // still finished dropping every field, so the old value counts as dropped either way and
    // must not be dropped twice. `Stage::Done` holds nothing that needs pinning.
    let res = unsafe {
        let place: *mut Stage<F> = stage.get_unchecked_mut();
        let res = catch_unwind(AssertUnwindSafe(|| std::ptr::drop_in_place(place)));
        std::ptr::write(place, Stage::Done);
        res
    };
    if let Err(payload) = res {
        let mut r = meta.report(ReportKind::DropPanic);
        r.payload = Some(&*payload);
        meta.shared.report(&r);
    }
}

impl<F: Future> Future for TaskFuture<'_, F> {
    type Output = Outcome<F::Output>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut this = self.project();
        let meta = *this.meta;
        let shared = &*meta.shared;
        if meta.cancel_requested() {
            return Poll::Ready(finish(
                meta,
                this.context,
                this.stage,
                Err(JoinError::Cancelled),
            ));
        }
        let future = match this.stage.as_mut().project() {
            StageProj::Running { future } => future,
            // async-task never polls a future again after it returned Ready.
            StageProj::Done => return Poll::Ready(Err(JoinError::Cancelled)),
        };
        meta.state.store(RUNNING, Ordering::Relaxed);
        // Only the polling thread writes the count: no read-modify-write needed.
        meta.polls.store(
            meta.polls.load(Ordering::Relaxed).wrapping_add(1),
            Ordering::Relaxed,
        );
        let instrumented = shared.instrumented;
        let watchdog = if instrumented {
            shared.watchdog.as_ref().map(|w| {
                if meta.slot.load(Ordering::Relaxed) == NO_SLOT {
                    // The watchdog names a blocked task through the registry.
                    shared.register(meta, cx.waker().clone());
                }
                let slot = worker_index();
                w.start(slot, meta.id.as_u64());
                (w, slot)
            })
        } else {
            None
        };
        let started = if instrumented {
            shared.debug.map(|slow| (Instant::now(), slow))
        } else {
            None
        };

        let prev = enter_task(meta, std::mem::take(this.context));
        let res = catch_unwind(AssertUnwindSafe(|| future.poll(cx)));
        *this.context = leave_task(prev);

        if let Some((w, slot)) = watchdog {
            w.end(slot);
        }
        if let Some((t0, slow)) = started {
            let took = t0.elapsed();
            if took >= slow {
                let mut r = meta.report(ReportKind::SlowPoll);
                r.duration = Some(took);
                shared.report(&r);
            }
        }
        match res {
            Ok(Poll::Ready(value)) => {
                Poll::Ready(finish(meta, this.context, this.stage, Ok(value)))
            }
            Ok(Poll::Pending) => {
                if meta.cancel_requested() {
                    // Cancelled while it ran (it cancelled itself, or another thread did).
                    return Poll::Ready(finish(
                        meta,
                        this.context,
                        this.stage,
                        Err(JoinError::Cancelled),
                    ));
                }
                meta.state.store(IDLE, Ordering::Relaxed);
                if meta.slot.load(Ordering::Relaxed) == NO_SLOT {
                    // First `Pending`: from now on closing and cancellation reach the task
                    // through its registered waker.
                    shared.register(meta, cx.waker().clone());
                    // A cancel that raced with registration must still wake us.
                    if meta.cancel_requested() {
                        cx.waker().wake_by_ref();
                    }
                }
                Poll::Pending
            }
            Err(payload) => {
                let mut r = meta.report(ReportKind::TaskPanic);
                r.payload = Some(&*payload);
                shared.report(&r);
                shared.after_panic(meta, &*payload);
                Poll::Ready(finish(
                    meta,
                    this.context,
                    this.stage,
                    Err(JoinError::Panicked(Panic::new(payload))),
                ))
            }
        }
    }
}

/// Ends the task: drops the user's future (in its context, containing panics).
fn finish<F, T>(
    meta: &TaskMeta,
    context: &mut LocalContext,
    stage: Pin<&mut Stage<F>>,
    outcome: Outcome<T>,
) -> Outcome<T> {
    let prev = enter_task(meta, std::mem::take(context));
    drop_contained(meta, stage);
    leave_task(prev);
    outcome
}

impl TaskMeta {
    /// A report about this task.
    pub(crate) fn report(&self, kind: ReportKind) -> ExceptionContext<'_> {
        let mut r = ExceptionContext::new(kind);
        r.task_id = Some(self.id);
        r.task_name = self.name.as_deref().map(|n| &**n);
        r.location = Some(self.location);
        r
    }
}
