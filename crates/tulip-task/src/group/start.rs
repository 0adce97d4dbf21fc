//! [`TaskGroup::start`](crate::TaskGroup::start): spawn a child and wait until it says it is
//! ready (Trio's `nursery.start`).

use std::error::Error;
use std::fmt;
use std::future::Future;
use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};

use pin_project_lite::pin_project;
use tulip_executor::Panic;

use super::SpawnErrorKind;

/// Why [`TaskGroup::start`](crate::TaskGroup::start) gave no value: the child failed, ended or
/// was cancelled before it called [`Ready::started`], or the group refused it.
///
/// # Examples
///
/// ```
/// # tulip_runtime::run(async {
/// use tulip_task::{StartError, TaskGroup};
///
/// let tg = TaskGroup::<&str>::new();
/// let r = tg.start(|_ready: tulip_task::Ready<u16>| async { Err("no port") }).await;
/// assert!(matches!(r, Err(StartError::Failed("no port"))));
/// tg.join().await.unwrap(); // the error was the caller's, not the group's
/// # });
/// ```
#[derive(Debug)]
#[non_exhaustive]
pub enum StartError<E> {
    /// The child returned this error before it was ready. It goes to the caller of `start`,
    /// not to the group.
    Failed(E),
    /// The child panicked before it was ready; the payload goes to the caller, not the group.
    Panicked(Panic),
    /// The child ended with `Ok` without calling [`Ready::started`] (Trio's `RuntimeError`).
    NotStarted,
    /// The child was cancelled (the group stopped, or was dropped) before it was ready.
    Cancelled,
    /// The group refused the spawn.
    Refused(SpawnErrorKind),
}

impl<E: fmt::Display> fmt::Display for StartError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StartError::Failed(e) => write!(f, "the child failed before it was ready: {e}"),
            StartError::Panicked(p) => match p.message() {
                Some(m) => write!(f, "the child panicked before it was ready: {m}"),
                None => f.write_str("the child panicked before it was ready"),
            },
            StartError::NotStarted => f.write_str("the child ended without calling started()"),
            StartError::Cancelled => f.write_str("the child was cancelled before it was ready"),
            StartError::Refused(kind) => write!(f, "the task group refused the child ({kind:?})"),
        }
    }
}

impl<E: Error + 'static> Error for StartError<E> {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        match self {
            StartError::Failed(e) => Some(e),
            _ => None,
        }
    }
}

/// Where the child's readiness (or its failure before it) is left for the caller.
struct Slot<V, E> {
    state: Mutex<SlotState<V, E>>,
}

struct SlotState<V, E> {
    /// `Some` once settled.
    outcome: Option<Result<V, StartError<E>>>,
    /// Settled already (the outcome may have been taken since).
    settled: bool,
    waker: Option<Waker>,
}

impl<V, E> Slot<V, E> {
    fn new() -> Arc<Slot<V, E>> {
        Arc::new(Slot {
            state: Mutex::new(SlotState {
                outcome: None,
                settled: false,
                waker: None,
            }),
        })
    }

    /// Settles the slot if it is not yet; gives the outcome back if it was.
    fn settle(&self, outcome: Result<V, StartError<E>>) -> Result<(), Result<V, StartError<E>>> {
        let waker = {
            let mut st = tulip_util::lock(&self.state);
            if st.settled {
                return Err(outcome);
            }
            st.settled = true;
            st.outcome = Some(outcome);
            st.waker.take()
        };
        if let Some(w) = waker {
            w.wake();
        }
        Ok(())
    }

    fn is_settled(&self) -> bool {
        tulip_util::lock(&self.state).settled
    }
}

/// Given to the child of [`TaskGroup::start`](crate::TaskGroup::start): call
/// [`started`](Ready::started) with the value the caller waits for (Trio's `task_status`).
/// Move-only and one-shot.
///
/// # Examples
///
/// ```
/// # tulip_runtime::run(async {
/// let tg = tulip_task::TaskGroup::<()>::new();
/// let v = tg
///     .start(|ready| async move {
///         ready.started("listening");
///         Ok(())
///     })
///     .await
///     .unwrap();
/// assert_eq!(v, "listening");
/// tg.join().await.unwrap();
/// # });
/// ```
pub struct Ready<V> {
    slot: Arc<dyn Settle<V> + Send + Sync>,
}

/// The slot, without its error type.
trait Settle<V> {
    fn started(&self, value: V);
}

impl<V, E> Settle<V> for Slot<V, E> {
    fn started(&self, value: V) {
        // A caller that was already told the child was cancelled keeps that answer.
        let _ = self.settle(Ok(value));
    }
}

impl<V> fmt::Debug for Ready<V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Ready").finish_non_exhaustive()
    }
}

impl<V> Ready<V> {
    /// Says the child is ready, handing `value` to the caller of `start`, whose await
    /// returns. From now on the child is an ordinary child of the group: its failures are
    /// the group's.
    pub fn started(self, value: V) {
        self.slot.started(value);
    }
}

pin_project! {
    /// The child's future: the user's, with its failures before readiness sent to the caller.
    pub(crate) struct Starting<F, V, E> {
        #[pin]
        future: F,
        slot: Arc<Slot<V, E>>,
    }

    impl<F, V, E> PinnedDrop for Starting<F, V, E> {
        fn drop(this: Pin<&mut Self>) {
            // Dropped (cancelled) before it was ready.
            let _ = this.slot.settle(Err(StartError::Cancelled));
        }
    }
}

impl<F, V, E> Future for Starting<F, V, E>
where
    F: Future<Output = Result<(), E>>,
{
    type Output = Result<(), E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let future = this.future;
        let polled = catch_unwind(AssertUnwindSafe(|| future.poll(cx)));
        match polled {
            Ok(Poll::Pending) => Poll::Pending,
            Ok(Poll::Ready(Ok(_))) => {
                let _ = this.slot.settle(Err(StartError::NotStarted));
                Poll::Ready(Ok(()))
            }
            Ok(Poll::Ready(Err(e))) => match this.slot.settle(Err(StartError::Failed(e))) {
                // The caller has it; the group does not.
                Ok(()) => Poll::Ready(Ok(())),
                Err(Err(StartError::Failed(e))) => Poll::Ready(Err(e)),
                Err(_) => unreachable!("settle gives back what it was given"),
            },
            Err(payload) => {
                if this.slot.is_settled() {
                    // Ready already: the panic is the group's.
                    resume_unwind(payload);
                }
                let _ = this
                    .slot
                    .settle(Err(StartError::Panicked(Panic::new(payload))));
                Poll::Ready(Ok(()))
            }
        }
    }
}

/// Builds the child of a `start` and the future the caller awaits.
pub(crate) fn starting<S, F, V, E>(f: S) -> (Starting<F, V, E>, Start<V, E>)
where
    S: FnOnce(Ready<V>) -> F,
    F: Future<Output = Result<(), E>>,
    V: Send + 'static,
    E: Send + 'static,
{
    let slot = Slot::new();
    let ready = Ready {
        slot: slot.clone() as Arc<dyn Settle<V> + Send + Sync>,
    };
    let child = Starting {
        future: f(ready),
        slot: slot.clone(),
    };
    (child, Start { slot })
}

/// A `start` the group refused.
pub(crate) fn refused<V, E>(kind: SpawnErrorKind) -> Start<V, E> {
    let slot = Slot::new();
    let _ = slot.settle(Err(StartError::Refused(kind)));
    Start { slot }
}

/// Future of [`TaskGroup::start`](crate::TaskGroup::start): the child's ready value.
///
/// # Cancel safety
///
/// Dropping it only gives up waiting: the child stays in its group and runs on.
///
/// # Errors
///
/// A [`StartError`] if the child did not become ready.
///
/// # Examples
///
/// ```
/// # tulip_runtime::run(async {
/// let tg = tulip_task::TaskGroup::<()>::new();
/// let start: tulip_task::Start<u8, ()> = tg.start(|ready| async move {
///     ready.started(1);
///     Ok(())
/// });
/// assert_eq!(start.await.unwrap(), 1);
/// tg.join().await.unwrap();
/// # });
/// ```
#[must_use = "futures do nothing unless polled"]
pub struct Start<V, E> {
    slot: Arc<Slot<V, E>>,
}

impl<V, E> fmt::Debug for Start<V, E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Start")
            .field("settled", &self.slot.is_settled())
            .finish()
    }
}

impl<V, E> Future for Start<V, E> {
    type Output = Result<V, StartError<E>>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut st = tulip_util::lock(&self.slot.state);
        if let Some(outcome) = st.outcome.take() {
            return Poll::Ready(outcome);
        }
        assert!(!st.settled, "Start polled after completion");
        if !st.waker.as_ref().is_some_and(|w| w.will_wake(cx.waker())) {
            st.waker = Some(cx.waker().clone());
        }
        Poll::Pending
    }
}
