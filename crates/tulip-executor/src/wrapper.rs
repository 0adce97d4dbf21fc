//! The future every task runs: the user's future plus cancellation, panic containment and
//! registry bookkeeping.

use std::future::Future;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::pin::Pin;
use std::sync::atomic::Ordering;
use std::task::{Context, Poll};

use pin_project_lite::pin_project;

use crate::shared::PanicReport;
use crate::task::{JoinError, Outcome, Panic, TaskMeta, NO_SLOT};

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
        // Registry slot while pending (also mirrored in `meta.slot` for cancellation).
        slot: usize,
        #[pin]
        stage: Stage<F>,
    }

    impl<F> PinnedDrop for TaskFuture<'_, F> {
        fn drop(this: Pin<&mut Self>) {
            let mut this = this.project();
            let meta = *this.meta;
            let ran = matches!(*this.stage, Stage::Running { .. });
            if ran {
                drop_contained(meta, this.stage.as_mut());
            }
            unregister(meta, this.slot);
            meta.shared.task_done();
        }
    }
}

impl<'m, F> TaskFuture<'m, F> {
    pub(crate) fn new(meta: &'m TaskMeta, future: F) -> Self {
        TaskFuture {
            meta,
            slot: NO_SLOT,
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
        meta.shared.report(&PanicReport {
            task_id: Some(meta.id),
            task_name: meta.name.as_deref(),
            location: Some(meta.location),
            context: "task drop",
            payload: &*payload,
        });
    }
}

fn unregister(meta: &TaskMeta, slot: &mut usize) {
    if *slot != NO_SLOT {
        let s = std::mem::replace(slot, NO_SLOT);
        meta.slot.store(NO_SLOT, Ordering::Release);
        meta.shared.unregister(s, meta.id);
    }
}

impl<F: Future> Future for TaskFuture<'_, F> {
    type Output = Outcome<F::Output>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut this = self.project();
        let meta = *this.meta;
        if meta.cancel_requested.load(Ordering::Acquire) {
            return Poll::Ready(finish(
                meta,
                this.slot,
                this.stage,
                Err(JoinError::Cancelled),
            ));
        }
        let future = match this.stage.as_mut().project() {
            StageProj::Running { future } => future,
            // async-task never polls a future again after it returned Ready.
            StageProj::Done => return Poll::Ready(Err(JoinError::Cancelled)),
        };
        match catch_unwind(AssertUnwindSafe(|| future.poll(cx))) {
            Ok(Poll::Ready(value)) => Poll::Ready(finish(meta, this.slot, this.stage, Ok(value))),
            Ok(Poll::Pending) => {
                if meta.cancel_requested.load(Ordering::Acquire) {
                    // Cancelled while it ran (it cancelled itself, or another thread did).
                    return Poll::Ready(finish(
                        meta,
                        this.slot,
                        this.stage,
                        Err(JoinError::Cancelled),
                    ));
                }
                if *this.slot == NO_SLOT {
                    let slot = meta
                        .shared
                        .register(meta.id, cx.waker().clone(), meta.pinned);
                    *this.slot = slot;
                    meta.slot.store(slot, Ordering::Release);
                    // A cancel that raced with registration must still wake us.
                    if meta.cancel_requested.load(Ordering::Acquire) {
                        cx.waker().wake_by_ref();
                    }
                }
                Poll::Pending
            }
            Err(payload) => {
                meta.shared.report(&PanicReport {
                    task_id: Some(meta.id),
                    task_name: meta.name.as_deref(),
                    location: Some(meta.location),
                    context: "task",
                    payload: &*payload,
                });
                Poll::Ready(finish(
                    meta,
                    this.slot,
                    this.stage,
                    Err(JoinError::Panicked(Panic::new(payload))),
                ))
            }
        }
    }
}

/// Ends the task: drops the user's future (containing panics) and leaves the registry.
fn finish<F, T>(
    meta: &TaskMeta,
    slot: &mut usize,
    stage: Pin<&mut Stage<F>>,
    outcome: Outcome<T>,
) -> Outcome<T> {
    drop_contained(meta, stage);
    unregister(meta, slot);
    outcome
}
