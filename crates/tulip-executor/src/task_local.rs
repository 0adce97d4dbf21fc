//! Task-local values that flow into children: [`task_local!`](crate::task_local),
//! [`LocalKey`] and [`TaskLocals`] (asyncio's `contextvars`).
//!
//! Every task has a context, its [`TaskLocals`]: an immutable map from keys to values, shared
//! copy-on-write. `spawn`, `spawn_local`, task groups and the blocking pool copy the spawning
//! task's context into the child (cheap: one reference count), so a request id set by a
//! handler is seen by everything it starts, while a child's own `set` never leaks back into
//! its parent.
//!
//! The context installed on a thread lives in one thread-local cell (`CONTEXT`): the polled
//! task's while it is polled (`current::in_task` installs it), the main future's around its
//! polls ([`MainLocals`]), a scoped one inside [`WithTaskLocals`] and [`TaskLocals::run`].

use std::any::Any;
use std::cell::Cell;
use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use crate::current::{locals_live, set_locals_live};

/// A task's task-local values, its context (asyncio's `contextvars.Context`): key → value,
/// shared copy-on-write, so cloning one is one reference count.
///
/// # Examples
///
/// ```
/// use tulip_executor::TaskLocals;
///
/// tulip_executor::task_local! {
///     static USER: &'static str;
/// }
///
/// # tulip_executor::doc_block_on(async {
/// let snapshot = USER.scope("ada", async { TaskLocals::current() }).await;
/// assert!(!snapshot.is_empty());
/// assert_eq!(snapshot.run(|| USER.get()), "ada");
/// assert!(USER.try_get().is_none());
/// # });
/// ```
#[doc(alias = "Context")]
#[derive(Clone, Default)]
pub struct TaskLocals {
    map: Option<Arc<HashMap<usize, Arc<dyn Any + Send + Sync>>>>,
}

impl fmt::Debug for TaskLocals {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TaskLocals")
            .field("values", &self.map.as_ref().map_or(0, |m| m.len()))
            .finish()
    }
}

impl TaskLocals {
    /// The empty context.
    pub(crate) const EMPTY: TaskLocals = TaskLocals { map: None };

    /// The current task's context (a copy: later changes on either side are not shared).
    pub fn current() -> TaskLocals {
        capture_context()
    }

    /// Whether the context holds no value.
    pub fn is_empty(&self) -> bool {
        self.map.is_none()
    }

    /// Runs `f` with this context installed on this thread (for code that runs outside tasks,
    /// like the blocking pool's threads).
    pub fn run<R>(&self, f: impl FnOnce() -> R) -> R {
        let prev = swap_context(self.clone());
        let guard = Restore(Some(prev));
        let r = f();
        drop(guard);
        r
    }

    /// Wraps `future` so that it runs in this context (its own `set` calls stay inside).
    ///
    /// # Cancel safety
    ///
    /// As cancel safe as `future`; dropping the wrapper drops `future` and the context.
    pub fn scope<F: Future>(self, future: F) -> WithTaskLocals<F> {
        WithTaskLocals {
            context: self,
            future,
        }
    }

    fn get(&self, key: usize) -> Option<&Arc<dyn Any + Send + Sync>> {
        self.map.as_ref()?.get(&key)
    }

    fn with_value(&self, key: usize, value: Arc<dyn Any + Send + Sync>) -> TaskLocals {
        let mut map = self.map.as_deref().cloned().unwrap_or_default();
        map.insert(key, value);
        TaskLocals {
            map: Some(Arc::new(map)),
        }
    }
}

/// Restores the previous context on drop.
struct Restore(Option<TaskLocals>);

impl Drop for Restore {
    fn drop(&mut self) {
        if let Some(prev) = self.0.take() {
            swap_context(prev);
        }
    }
}

pin_project_lite::pin_project! {
    /// A future running in a given [`TaskLocals`] (see [`TaskLocals::scope`], [`LocalKey::scope`]).
    #[derive(Debug)]
    #[must_use = "futures do nothing unless polled"]
    pub struct WithTaskLocals<F> {
        context: TaskLocals,
        #[pin]
        future: F,
    }
}

impl<F: Future> Future for WithTaskLocals<F> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let this = self.project();
        let prev = swap_context(std::mem::take(this.context));
        let out = this.future.poll(cx);
        // Keep what the future set for its next poll.
        *this.context = swap_context(prev);
        out
    }
}

thread_local! {
    /// The current task-local context (the running task's, or the thread's outside tasks).
    static CONTEXT: Cell<TaskLocals> = const { Cell::new(TaskLocals::EMPTY) };
}

/// Installs a task's non-empty `context` on this thread (see `current::in_task`).
#[inline]
pub(crate) fn install(context: TaskLocals) {
    CONTEXT.set(context);
}

/// Takes the installed context off this thread (see `current::in_task`).
#[inline]
pub(crate) fn uninstall() -> TaskLocals {
    CONTEXT.try_with(Cell::take).unwrap_or_default()
}

/// A copy of this thread's current task-local context (cheap when it is empty).
#[inline]
pub(crate) fn capture_context() -> TaskLocals {
    if locals_live() {
        CONTEXT
            .try_with(|c| {
                let v = c.take();
                let copy = v.clone();
                c.set(v);
                copy
            })
            .unwrap_or_default()
    } else {
        TaskLocals::EMPTY
    }
}

/// Runs `f` with this thread's current task-local context, which it may change.
pub(crate) fn with_context<R>(f: impl FnOnce(&mut TaskLocals) -> R) -> R {
    let mut f = Some(f);
    let r = CONTEXT.try_with(|c| {
        let mut ctx = c.take();
        let r = (f.take().expect("once"))(&mut ctx);
        let live = !ctx.is_empty();
        c.set(ctx);
        set_locals_live(live);
        r
    });
    match r {
        Ok(r) => r,
        Err(_) => (f.take().expect("once"))(&mut TaskLocals::default()),
    }
}

/// Installs `context` on this thread; returns the previous one.
pub(crate) fn swap_context(context: TaskLocals) -> TaskLocals {
    let live = !context.is_empty();
    let prev = CONTEXT.try_with(|c| c.replace(context)).unwrap_or_default();
    set_locals_live(live);
    prev
}

/// The main future's task-local context while `block_on` runs: it starts as a copy of the
/// caller's, is installed only around the main future's polls (so the thread's context is
/// empty between polls, as tasks expect), and the caller's is put back when `block_on` ends.
pub(crate) struct MainLocals {
    main: TaskLocals,
    caller: Option<TaskLocals>,
}

impl MainLocals {
    pub(crate) fn take_from_thread() -> MainLocals {
        let caller = swap_context(TaskLocals::default());
        MainLocals {
            main: caller.clone(),
            caller: Some(caller),
        }
    }

    /// Runs `f` (a poll of the main future) with the main context installed.
    pub(crate) fn run<R>(&mut self, f: impl FnOnce() -> R) -> R {
        swap_context(std::mem::take(&mut self.main));
        let r = f();
        self.main = swap_context(TaskLocals::default());
        r
    }
}

impl Drop for MainLocals {
    fn drop(&mut self) {
        if let Some(c) = self.caller.take() {
            swap_context(c);
        }
    }
}

/// A key for a task-local value; made by [`task_local!`](crate::task_local).
pub struct LocalKey<T: 'static> {
    #[doc(hidden)]
    pub __id: &'static u8,
    #[doc(hidden)]
    pub __marker: std::marker::PhantomData<fn() -> T>,
}

impl<T: 'static> fmt::Debug for LocalKey<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LocalKey").finish_non_exhaustive()
    }
}

/// `LocalKey::get` outside any value of it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AccessError;

impl fmt::Display for AccessError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the task-local value is not set in this task's context")
    }
}

impl std::error::Error for AccessError {}

impl<T: Send + Sync + 'static> LocalKey<T> {
    fn key(&self) -> usize {
        self.__id as *const u8 as usize
    }

    /// Sets the value in the current task's context (asyncio's `ContextVar.set`). Children
    /// spawned afterwards inherit it; the parent and children spawned before do not see it.
    /// Outside any task it sets the value for the code running on this thread right now.
    pub fn set(&'static self, value: T) {
        let key = self.key();
        with_context(|c| {
            let new = c.with_value(key, Arc::new(value));
            *c = new;
        });
    }

    /// Runs `future` with the value set (for it and the children it spawns), restoring the
    /// previous value afterwards (tokio's `LocalKey::scope`).
    ///
    /// # Cancel safety
    ///
    /// As cancel safe as `future`; the value never outlives the returned future.
    pub fn scope<F: Future>(&'static self, value: T, future: F) -> WithTaskLocals<F> {
        let ctx = TaskLocals::current().with_value(self.key(), Arc::new(value));
        ctx.scope(future)
    }

    /// Runs `f` with a reference to the value.
    ///
    /// # Errors
    ///
    /// [`AccessError`] when the value is not set in the current context.
    pub fn try_with<R>(&'static self, f: impl FnOnce(&T) -> R) -> Result<R, AccessError> {
        let value = with_context(|c| c.get(self.key()).cloned());
        match value {
            Some(v) => Ok(f(v.downcast_ref::<T>().expect("keys are typed"))),
            None => Err(AccessError),
        }
    }

    /// Runs `f` with a reference to the value.
    ///
    /// # Panics
    ///
    /// Panics when the value is not set (see [`try_with`](Self::try_with)).
    pub fn with<R>(&'static self, f: impl FnOnce(&T) -> R) -> R {
        self.try_with(f).unwrap_or_else(|e| panic!("{e}"))
    }

    /// A clone of the value, if set.
    pub fn try_get(&'static self) -> Option<T>
    where
        T: Clone,
    {
        self.try_with(T::clone).ok()
    }

    /// A clone of the value.
    ///
    /// # Panics
    ///
    /// Panics when the value is not set.
    pub fn get(&'static self) -> T
    where
        T: Clone,
    {
        self.with(T::clone)
    }
}

/// Declares task-local keys whose values flow into spawned children by copy (asyncio's
/// `contextvars.ContextVar`).
///
/// # Examples
///
/// ```
/// tulip_executor::task_local! {
///     /// The id of the request being served.
///     static REQUEST_ID: u64;
/// }
///
/// # tulip_executor::doc_block_on(async {
/// REQUEST_ID.scope(7, async {
///     // Children inherit the value.
///     let child = tulip_executor::spawn(async { REQUEST_ID.get() });
///     assert_eq!(child.await.unwrap(), 7);
///     // A child's own set stays in the child.
///     tulip_executor::spawn(async { REQUEST_ID.set(8) }).await.unwrap();
///     assert_eq!(REQUEST_ID.get(), 7);
/// })
/// .await;
/// assert!(REQUEST_ID.try_get().is_none());
/// # });
/// ```
#[macro_export]
macro_rules! task_local {
    ($($(#[$attr:meta])* $vis:vis static $name:ident: $t:ty;)+) => {
        $(
            $(#[$attr])*
            $vis static $name: $crate::LocalKey<$t> = {
                static ID: u8 = 0;
                $crate::LocalKey { __id: &ID, __marker: ::std::marker::PhantomData }
            };
        )+
    };
}
