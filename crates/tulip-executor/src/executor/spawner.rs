//! [`Spawner`]: spawns onto an executor, and queues callbacks on it, from any thread.

use std::fmt;
use std::future::Future;
use std::panic::Location;
use std::sync::Arc;

use crate::current::{with_ctx, Ctx};
use crate::executor::shared::Shared;
use crate::scheduler::{current_thread, multi_thread, Flavor, Remote};
use crate::task::{self, Task};

/// Queues a `!Send` callback on the executor entered on this thread.
pub(crate) fn call_soon_current(f: Box<dyn FnOnce()>) -> Result<(), Box<dyn FnOnce()>> {
    let mut f = Some(f);
    with_ctx(|ctx| match ctx {
        Some(Ctx::St(local)) if !local.shared.is_closed() => {
            local.call_soon(f.take().expect("present"))
        }
        Some(Ctx::Mt(w)) if !w.shared.is_closed() => w.call_soon(f.take().expect("present")),
        _ => {}
    });
    match f {
        None => Ok(()),
        Some(f) => Err(f),
    }
}

/// Spawns tasks onto an executor from any thread (`Clone + Send + Sync`).
#[derive(Clone)]
pub struct Spawner {
    pub(super) shared: Arc<Shared>,
}

impl fmt::Debug for Spawner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Spawner")
            .field("closed", &self.shared.is_closed())
            .finish()
    }
}

impl Spawner {
    /// Spawns a `Send` future onto the executor. If the executor has closed, the task is
    /// cancelled at once (awaiting it gives `Err(JoinError::Cancelled)`). Never eager: the
    /// task starts at a turn of the loop even when the executor's tasks are eager by default
    /// (a caller of this may hold locks the task needs).
    ///
    /// # Cancel safety
    ///
    /// Spawning does not wait. The returned [`Task`] is a handle: dropping it, or an await
    /// of it, detaches the task, which runs on; only [`Task::cancel`] stops it.
    #[track_caller]
    pub fn spawn<F>(&self, future: F) -> Task<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        task::spawn_send(&self.shared, future, None, Location::caller(), Some(false))
    }

    /// Queues a `Send` callback to run on the loop (asyncio's `call_soon_threadsafe`); wakes
    /// the loop if it is parked. Returns `false` if the executor has closed (the callback is
    /// dropped).
    pub fn call_soon(&self, f: Box<dyn FnOnce() + Send>) -> bool {
        if self.shared.is_closed() {
            return false;
        }
        match &self.shared.flavor {
            Flavor::St(_) => current_thread::push_remote(&self.shared, Remote::Call(f)),
            Flavor::Mt(_) => multi_thread::call_soon_remote(&self.shared, f),
        }
        true
    }

    /// Queues a `!Send` callback on the executor's own thread (asyncio's `call_soon`).
    ///
    /// # Errors
    ///
    /// Hands the callback back when called from a thread that is not running (or has not
    /// entered) this executor, or after it closed.
    pub fn call_soon_local(&self, f: Box<dyn FnOnce()>) -> Result<(), Box<dyn FnOnce()>> {
        let here = with_ctx(|ctx| ctx.is_some_and(|c| Arc::ptr_eq(c.shared(), &self.shared)));
        if !here {
            return Err(f);
        }
        call_soon_current(f)
    }

    /// Whether the executor has closed.
    pub fn is_closed(&self) -> bool {
        self.shared.is_closed()
    }

    /// Every live task of the executor (callable from any thread).
    pub fn tasks(&self) -> Vec<crate::task::TaskInfo> {
        let mut out = Vec::new();
        self.shared
            .registry
            .for_each(|m| out.push(crate::introspect::TaskInfo::of(m)));
        out.sort_by_key(|t| t.id);
        out
    }

    /// Number of workers of the executor.
    pub fn workers(&self) -> usize {
        match &self.shared.flavor {
            Flavor::St(_) => 1,
            Flavor::Mt(_) => multi_thread::worker_count(&self.shared),
        }
    }

    /// Tells the executor's exception handler about `report` (asyncio's
    /// `loop.call_exception_handler`), from any thread; a panic of the handler is contained.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::{Arc, Mutex};
    /// use tulip_executor::{ExceptionContext, Executor, ExecutorConfig, ThreadDriver};
    ///
    /// let seen = Arc::new(Mutex::new(Vec::new()));
    /// let mut config = ExecutorConfig::new(Arc::new(ThreadDriver::new()));
    /// let s = seen.clone();
    /// config.handler = Arc::new(move |r| s.lock().unwrap().push(r.to_string()));
    /// let ex = Executor::with_config(config).unwrap();
    /// ex.spawner().call_exception_handler(&ExceptionContext::error("lost a job", None));
    /// assert_eq!(*seen.lock().unwrap(), ["lost a job"]);
    /// ```
    pub fn call_exception_handler(&self, report: &crate::ExceptionContext<'_>) {
        self.shared.report(report);
    }

    /// The exception handler in use (asyncio's `loop.get_exception_handler()`; the default
    /// one, [`default_exception_handler`](crate::default_exception_handler), if none was
    /// set).
    pub fn exception_handler(&self) -> crate::ExceptionHandler {
        self.shared.handler()
    }

    /// Replaces the exception handler while the executor runs (asyncio's
    /// `loop.set_exception_handler`); `None` puts the default one back. Reports already being
    /// delivered finish with the handler they started with.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
    /// use std::sync::Arc;
    /// use tulip_executor::{ExceptionContext, Executor, ThreadDriver};
    ///
    /// let ex = Executor::new(Arc::new(ThreadDriver::new()));
    /// let count = Arc::new(AtomicUsize::new(0));
    /// let c = count.clone();
    /// ex.spawner().set_exception_handler(Some(Arc::new(move |_: &ExceptionContext<'_>| {
    ///     c.fetch_add(1, SeqCst);
    /// })));
    /// ex.block_on(async { tulip_executor::spawn(async { panic!("boom") }).await.unwrap_err() });
    /// assert_eq!(count.load(SeqCst), 1);
    /// ex.spawner().set_exception_handler(None); // back to the default: stderr
    /// ```
    pub fn set_exception_handler(&self, handler: Option<crate::ExceptionHandler>) {
        self.shared.set_handler(handler);
    }

    /// Whether two spawners reach the same executor.
    pub fn same_executor(&self, other: &Spawner) -> bool {
        Arc::ptr_eq(&self.shared, &other.shared)
    }

    /// The spawner of the executor entered on this thread, if any.
    pub fn current() -> Option<Spawner> {
        with_ctx(|ctx| {
            ctx.map(|c| Spawner {
                shared: c.shared().clone(),
            })
        })
    }
}
