//! [`Fallible`]: the wrapper of a task spawned with `spawn_fallible`, which tells the loop
//! when the task ends with `Err`, so that an error nobody retrieves is reported like a panic
//! nobody retrieves.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use pin_project_lite::pin_project;

use crate::current::current_task_meta;
use crate::task::meta::ERRORED;

pin_project! {
    /// A fallible task's future: the user's future, watched for `Err`.
    pub(crate) struct Fallible<F> {
        #[pin]
        future: F,
    }
}

impl<F> Fallible<F> {
    pub(crate) fn new(future: F) -> Fallible<F> {
        Fallible { future }
    }
}

impl<F, T, E> Future for Fallible<F>
where
    F: Future<Output = Result<T, E>>,
    E: fmt::Display,
{
    type Output = Result<T, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<T, E>> {
        let out = ready!(self.project().future.poll(cx));
        if let Err(e) = &out {
            failed(e);
        }
        Poll::Ready(out)
    }
}

/// Records the error of the task being polled, when the loop applies the never-retrieved rule
/// (debug mode, or `UnhandledPanic::ShutdownIfUnobserved`).
#[cold]
fn failed(e: &dyn fmt::Display) {
    current_task_meta(|meta| {
        if let Some(meta) = meta {
            if meta.shared.tracks_retrieval {
                meta.shared.record_failure(meta, e.to_string());
                meta.check_never_retrieved(ERRORED);
            }
        }
    });
}
