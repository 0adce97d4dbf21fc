//! asyncio's `Future`: a one-shot result that code sets by hand, that many tasks can await and
//! that runs done-callbacks on its loop — [`Promise`] (the setting side), [`Completion`] (the
//! awaiting side), [`wrap_future`], and the errors [`FutureError`] and [`InvalidStateError`].
//!
//! # Design
//!
//! asyncio's one object is split in two halves sharing one state behind a mutex: the
//! [`Promise`] sets the outcome, each [`Completion`] (cloneable) reads it, awaits it and takes
//! done-callbacks. Either half can cancel. Dropping the promise without setting anything
//! cancels the future, so no awaiter waits forever for a value that can no longer come
//! (Python's garbage collector has no such moment; Rust's ownership does).
//!
//! A future belongs to the loop current when it was created ([`LoopHandle::create_future`]
//! names one explicitly). Completing it — from the loop's thread or any other — wakes every
//! awaiter and schedules each done-callback through `call_soon` on that loop, in the order
//! they were added, each in the task-local context that was current when it was added.

use std::error::Error;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};

use tulip_executor::{ExceptionContext, ReportKind, TaskLocals};

use crate::handle::{EventLoop, LoopHandle};

/// asyncio's `InvalidStateError`: the operation does not fit the future's state — setting a
/// future that is already done, or reading the result of one that is not done yet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InvalidStateError {
    done: bool,
}

impl InvalidStateError {
    /// Whether the future was already done (a second `set_*`), rather than not done yet (a
    /// `result()` too early).
    pub fn already_done(&self) -> bool {
        self.done
    }
}

impl fmt::Display for InvalidStateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.done {
            f.write_str("invalid state: the future is already done")
        } else {
            f.write_str("invalid state: the future is not done yet")
        }
    }
}

impl Error for InvalidStateError {}

/// The error half of a future's outcome.
#[derive(Debug, Clone)]
pub enum FutureError {
    /// The future was cancelled (asyncio's `CancelledError`), or its [`Promise`] was dropped
    /// without an outcome.
    Cancelled,
    /// The future was given an error with [`Promise::set_error`] (asyncio's
    /// `set_exception`); every reader gets the same shared error.
    Failed(Arc<dyn Error + Send + Sync>),
    /// Only from [`Completion::result`]/[`Completion::error`]: the future is not done yet.
    InvalidState(InvalidStateError),
}

impl fmt::Display for FutureError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FutureError::Cancelled => f.write_str("the future was cancelled"),
            FutureError::Failed(e) => write!(f, "the future failed: {e}"),
            FutureError::InvalidState(e) => e.fmt(f),
        }
    }
}

impl Error for FutureError {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        match self {
            FutureError::Failed(e) => Some(&**e),
            FutureError::InvalidState(e) => Some(e),
            FutureError::Cancelled => None,
        }
    }
}

impl FutureError {
    /// Whether this is [`FutureError::Cancelled`].
    pub fn is_cancelled(&self) -> bool {
        matches!(self, FutureError::Cancelled)
    }
}

/// Identifies a done-callback for [`Completion::remove_done_callback`] (closures cannot be
/// compared, as asyncio compares callbacks).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct CallbackId(u64);

type DoneCallback<T> = Box<dyn FnOnce(&Completion<T>) + Send>;

enum Outcome<T> {
    Pending,
    Value(T),
    Failed(Arc<dyn Error + Send + Sync>),
    Cancelled,
}

struct State<T: Send + 'static> {
    outcome: Outcome<T>,
    /// One slot per polled `Completion`; freed slots are reused, so memory stays bounded by
    /// the number of live awaiters.
    wakers: Vec<Option<Waker>>,
    free: Vec<usize>,
    callbacks: Vec<(CallbackId, TaskLocals, DoneCallback<T>)>,
    next_id: u64,
    /// The loop done-callbacks run on.
    lp: Option<LoopHandle>,
}

struct Inner<T: Send + 'static> {
    state: Mutex<State<T>>,
}

impl<T: Send + 'static> Inner<T> {
    fn new(lp: Option<LoopHandle>) -> Arc<Inner<T>> {
        Arc::new(Inner {
            state: Mutex::new(State {
                outcome: Outcome::Pending,
                wakers: Vec::new(),
                free: Vec::new(),
                callbacks: Vec::new(),
                next_id: 0,
                lp,
            }),
        })
    }
}

impl<T: Send + 'static> Inner<T> {
    /// Sets the outcome once; wakes the awaiters and schedules the callbacks.
    fn complete(self: &Arc<Self>, outcome: Outcome<T>) -> Result<(), InvalidStateError> {
        let (wakers, callbacks, lp) = {
            let mut st = tulip_util::lock(&self.state);
            if !matches!(st.outcome, Outcome::Pending) {
                return Err(InvalidStateError { done: true });
            }
            st.outcome = outcome;
            st.free.clear();
            let wakers = std::mem::take(&mut st.wakers);
            (wakers, std::mem::take(&mut st.callbacks), st.lp.clone())
        };
        for w in wakers.into_iter().flatten() {
            w.wake();
        }
        for (_, context, cb) in callbacks {
            schedule_callback(self, lp.as_ref(), context, cb);
        }
        Ok(())
    }
}

/// Runs `cb` through `call_soon` on `lp`, in `context`.
fn schedule_callback<T: Send + 'static>(
    inner: &Arc<Inner<T>>,
    lp: Option<&LoopHandle>,
    context: TaskLocals,
    cb: DoneCallback<T>,
) {
    let completion = Completion {
        inner: inner.clone(),
        slot: None,
    };
    let run = move || context.run(|| cb(&completion));
    match lp {
        Some(lp) if lp.is_running_here() && !lp.is_closed() => {
            lp.call_soon(run);
        }
        // From another thread, or after the loop closed (then the callback is dropped unrun).
        Some(lp) => {
            lp.call_soon_threadsafe(run);
        }
        // A future made outside any loop that never met one: run where it completes.
        None => {
            if let Err(payload) = std::panic::catch_unwind(std::panic::AssertUnwindSafe(run)) {
                let mut r = ExceptionContext::new(ReportKind::CallbackPanic);
                r.payload = Some(&*payload);
                tulip_executor::call_exception_handler(&r);
            }
        }
    }
}

/// The setting half of a future (asyncio's `Future.set_result`/`set_exception`/`cancel`).
/// `Send` when `T` is: it can be handed to another thread that computes the value.
///
/// Dropping it without an outcome cancels the future.
///
/// # Examples
///
/// ```
/// use tulip_runtime::future::Promise;
///
/// tulip_runtime::run(async {
///     let (promise, completion) = Promise::new();
///     std::thread::spawn(move || promise.set_result(6 * 7).unwrap());
///     assert_eq!(completion.await.unwrap(), 42);
/// });
/// ```
pub struct Promise<T: Send + 'static> {
    inner: Arc<Inner<T>>,
}

impl<T: Send + 'static> fmt::Debug for Promise<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Promise")
            .field("done", &self.done())
            .finish()
    }
}

impl<T: Send + 'static> Promise<T> {
    /// A new pending future of the loop running on this thread (if any; otherwise of the
    /// first loop a done-callback is added from): its promise and a completion.
    #[allow(
        clippy::new_ret_no_self,
        reason = "the API contract: Promise::new() -> (Promise<T>, Completion<T>)"
    )]
    pub fn new() -> (Promise<T>, Completion<T>) {
        Promise::with_loop(EventLoop::try_current())
    }

    pub(crate) fn with_loop(lp: Option<LoopHandle>) -> (Promise<T>, Completion<T>) {
        let inner = Inner::new(lp);
        (
            Promise {
                inner: inner.clone(),
            },
            Completion { inner, slot: None },
        )
    }

    /// Completes the future with `value` (asyncio's `set_result`).
    ///
    /// # Errors
    ///
    /// [`InvalidStateError`] if the future is already done (set, failed or cancelled).
    pub fn set_result(&self, value: T) -> Result<(), InvalidStateError> {
        self.inner.complete(Outcome::Value(value))
    }

    /// Completes the future with an error (asyncio's `set_exception`).
    ///
    /// # Errors
    ///
    /// [`InvalidStateError`] if the future is already done.
    pub fn set_error(
        &self,
        error: impl Into<Box<dyn Error + Send + Sync>>,
    ) -> Result<(), InvalidStateError> {
        self.inner
            .complete(Outcome::Failed(Arc::from(error.into())))
    }

    /// Cancels the future (asyncio's `cancel`); returns `false` if it was already done.
    pub fn cancel(&self) -> bool {
        self.inner.complete(Outcome::Cancelled).is_ok()
    }

    /// Whether the future is done (has a result, an error, or was cancelled).
    pub fn done(&self) -> bool {
        self.completion().done()
    }

    /// Whether the future was cancelled (by either half): a producer can stop working.
    pub fn cancelled(&self) -> bool {
        self.completion().cancelled()
    }

    /// Another completion of this future.
    ///
    /// # Cancel safety
    ///
    /// Awaiting a completion is cancel safe: dropping the wait takes nothing from the future
    /// and does not cancel it.
    pub fn completion(&self) -> Completion<T> {
        Completion {
            inner: self.inner.clone(),
            slot: None,
        }
    }
}

impl<T: Send + 'static> Drop for Promise<T> {
    fn drop(&mut self) {
        let _ = self.inner.complete(Outcome::Cancelled);
    }
}

/// The reading half of a future: await it (many tasks may, each through its own clone), read
/// it without waiting, attach done-callbacks, cancel it. `Clone`; `Send + Sync` when `T` is
/// `Send`.
///
/// Awaiting gives `Ok(value)` (a clone: every awaiter gets one), `Err(FutureError::Failed)`
/// or `Err(FutureError::Cancelled)`.
///
/// # Examples
///
/// ```
/// use tulip_runtime::future::Promise;
///
/// tulip_runtime::run(async {
///     let (promise, completion) = Promise::new();
///     let waiters: Vec<_> = (0..3)
///         .map(|_| {
///             let c = completion.clone();
///             tulip_executor::spawn(async move { c.await.unwrap() })
///         })
///         .collect();
///     promise.set_result("ready").unwrap();
///     for w in waiters {
///         assert_eq!(w.await.unwrap(), "ready");
///     }
/// });
/// ```
pub struct Completion<T: Send + 'static> {
    inner: Arc<Inner<T>>,
    /// This completion's waker slot while it is awaited.
    slot: Option<usize>,
}

impl<T: Send + 'static> Clone for Completion<T> {
    fn clone(&self) -> Self {
        Completion {
            inner: self.inner.clone(),
            slot: None,
        }
    }
}

impl<T: Send + 'static> fmt::Debug for Completion<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let st = tulip_util::lock(&self.inner.state);
        let state = match st.outcome {
            Outcome::Pending => "pending",
            Outcome::Value(_) => "finished",
            Outcome::Failed(_) => "failed",
            Outcome::Cancelled => "cancelled",
        };
        f.debug_struct("Completion").field("state", &state).finish()
    }
}

impl<T: Send + 'static> Completion<T> {
    /// Whether the future is done (has a result, an error, or was cancelled).
    pub fn done(&self) -> bool {
        !matches!(
            tulip_util::lock(&self.inner.state).outcome,
            Outcome::Pending
        )
    }

    /// Whether the future was cancelled.
    pub fn cancelled(&self) -> bool {
        matches!(
            tulip_util::lock(&self.inner.state).outcome,
            Outcome::Cancelled
        )
    }

    /// Cancels the future (asyncio's `cancel`); returns `false` if it was already done.
    pub fn cancel(&self) -> bool {
        self.inner.complete(Outcome::Cancelled).is_ok()
    }

    /// The result, without waiting (asyncio's `result()`).
    ///
    /// # Errors
    ///
    /// [`FutureError::InvalidState`] if the future is not done yet, `Cancelled` if it was
    /// cancelled, `Failed` with its error.
    pub fn result(&self) -> Result<T, FutureError>
    where
        T: Clone,
    {
        match &tulip_util::lock(&self.inner.state).outcome {
            Outcome::Pending => Err(FutureError::InvalidState(InvalidStateError { done: false })),
            Outcome::Value(v) => Ok(v.clone()),
            Outcome::Failed(e) => Err(FutureError::Failed(e.clone())),
            Outcome::Cancelled => Err(FutureError::Cancelled),
        }
    }

    /// The error the future was given, without waiting (asyncio's `exception()`): `Ok(None)`
    /// if it has a result.
    ///
    /// # Errors
    ///
    /// [`FutureError::InvalidState`] if the future is not done yet, `Cancelled` if it was
    /// cancelled.
    pub fn error(&self) -> Result<Option<Arc<dyn Error + Send + Sync>>, FutureError> {
        match &tulip_util::lock(&self.inner.state).outcome {
            Outcome::Pending => Err(FutureError::InvalidState(InvalidStateError { done: false })),
            Outcome::Value(_) => Ok(None),
            Outcome::Failed(e) => Ok(Some(e.clone())),
            Outcome::Cancelled => Err(FutureError::Cancelled),
        }
    }

    /// Runs `callback` with this future once it is done (asyncio's `add_done_callback`):
    /// through `call_soon` on the future's loop, in the task-local context current now, after
    /// the callbacks added before it. On a future already done it is scheduled at once.
    ///
    /// A future created outside any loop belongs to the loop this is first called from; if
    /// there is none either, the callback runs on the thread that completes the future. A
    /// panicking callback is reported to the exception handler.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::{Arc, Mutex};
    /// use tulip_runtime::future::Promise;
    ///
    /// tulip_runtime::run(async {
    ///     let (promise, completion) = Promise::new();
    ///     let log = Arc::new(Mutex::new(Vec::new()));
    ///     for i in 0..3 {
    ///         let log = log.clone();
    ///         completion.add_done_callback(move |c| log.lock().unwrap().push((i, c.result().unwrap())));
    ///     }
    ///     promise.set_result('x').unwrap();
    ///     assert!(log.lock().unwrap().is_empty()); // scheduled, not run yet
    ///     tulip_executor::yield_now().await;
    ///     assert_eq!(*log.lock().unwrap(), [(0, 'x'), (1, 'x'), (2, 'x')]);
    /// });
    /// ```
    pub fn add_done_callback(
        &self,
        callback: impl FnOnce(&Completion<T>) + Send + 'static,
    ) -> CallbackId {
        let context = TaskLocals::current();
        let mut st = tulip_util::lock(&self.inner.state);
        if st.lp.is_none() {
            st.lp = EventLoop::try_current();
        }
        let id = CallbackId(st.next_id);
        st.next_id += 1;
        if matches!(st.outcome, Outcome::Pending) {
            st.callbacks.push((id, context, Box::new(callback)));
        } else {
            let lp = st.lp.clone();
            drop(st);
            schedule_callback(&self.inner, lp.as_ref(), context, Box::new(callback));
        }
        id
    }

    /// Removes a done-callback that has not been scheduled yet (asyncio's
    /// `remove_done_callback`); returns whether it was there.
    pub fn remove_done_callback(&self, id: CallbackId) -> bool {
        let removed = {
            let mut st = tulip_util::lock(&self.inner.state);
            let at = st.callbacks.iter().position(|(cid, _, _)| *cid == id);
            at.map(|i| st.callbacks.remove(i))
        };
        // Dropped after the lock is released: what the callback owns (this very future's
        // promise, say) may lock the future again as it drops.
        removed.is_some()
    }

    fn release_slot(&mut self, st: &mut State<T>) {
        if let Some(slot) = self.slot.take() {
            if let Some(w) = st.wakers.get_mut(slot) {
                if w.take().is_some() {
                    st.free.push(slot);
                }
            }
        }
    }
}

impl<T: Send + 'static> Drop for Completion<T> {
    fn drop(&mut self) {
        if self.slot.is_some() {
            let inner = self.inner.clone();
            let mut st = tulip_util::lock(&inner.state);
            self.release_slot(&mut st);
        }
    }
}

/// Waits for the outcome.
///
/// # Cancel safety
///
/// Cancel-safe: dropping the wait takes nothing from the future; other completions, and a
/// later await of a clone, still see the outcome. Dropping does not cancel the future (call
/// [`Completion::cancel`] for that).
impl<T: Send + Clone + 'static> Future for Completion<T> {
    type Output = Result<T, FutureError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let inner = self.inner.clone();
        let mut st = tulip_util::lock(&inner.state);
        let out = match &st.outcome {
            Outcome::Pending => None,
            Outcome::Value(v) => Some(Ok(v.clone())),
            Outcome::Failed(e) => Some(Err(FutureError::Failed(e.clone()))),
            Outcome::Cancelled => Some(Err(FutureError::Cancelled)),
        };
        if let Some(out) = out {
            self.release_slot(&mut st);
            return Poll::Ready(out);
        }
        match self.slot {
            Some(slot) => match &mut st.wakers[slot] {
                Some(w) if w.will_wake(cx.waker()) => {}
                w => *w = Some(cx.waker().clone()),
            },
            None => {
                let slot = match st.free.pop() {
                    Some(s) => {
                        st.wakers[s] = Some(cx.waker().clone());
                        s
                    }
                    None => {
                        st.wakers.push(Some(cx.waker().clone()));
                        st.wakers.len() - 1
                    }
                };
                self.slot = Some(slot);
            }
        }
        Poll::Pending
    }
}

/// asyncio's `wrap_future`: runs `future` — typically one completed by another thread or
/// another runtime (a channel's receiver, a oneshot) — as a task on the current loop, and
/// returns a [`Completion`] of its output. Cancelling the completion cancels that task.
///
/// # Panics
///
/// Panics if no tulip event loop runs on this thread.
///
/// # Cancel safety
///
/// Dropping the returned completion (or an await of it) leaves the task running; only
/// [`Completion::cancel`] (on any clone) stops it.
///
/// # Examples
///
/// ```
/// tulip_runtime::run(async {
///     let (tx, rx) = std::sync::mpsc::sync_channel::<u32>(1);
///     let (promise, from_thread) = tulip_runtime::future::Promise::new();
///     std::thread::spawn(move || promise.set_result(rx.recv().unwrap() + 1).unwrap());
///     tx.send(41).unwrap();
///     let wrapped = tulip_runtime::future::wrap_future(from_thread);
///     assert_eq!(wrapped.await.unwrap().unwrap(), 42);
/// });
/// ```
#[track_caller]
pub fn wrap_future<F>(future: F) -> Completion<F::Output>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    let (promise, completion) = Promise::with_loop(EventLoop::try_current());
    let task = tulip_executor::Builder::new()
        .name("wrap_future")
        .eager(false)
        .spawn(async move {
            let value = future.await;
            let _ = promise.set_result(value);
        });
    completion.add_done_callback(move |c| {
        if c.cancelled() {
            task.cancel();
        }
    });
    completion
}
