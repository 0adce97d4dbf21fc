//! [`TaskHooks`]: callbacks the executor runs at points of every task's life — when it is
//! spawned, before and after each poll, and when it ends (asyncio's task factory, for
//! observing rather than replacing tasks; tokio's unstable task hooks).
//!
//! When no hook is set, the cost is one branch on an `Option` at spawn, around each poll and
//! at the end of a task (`cargo xtask bench spawn --quick` shows it).

use std::fmt;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Arc;

use crate::report::ReportKind;
use crate::task::meta::{TaskId, TaskMeta};

/// One hook: called with the task it is about.
pub type TaskHook = Arc<dyn Fn(&TaskHookInfo<'_>) + Send + Sync>;

/// What a hook learns about the task it runs for.
#[derive(Debug, Clone, Copy)]
pub struct TaskHookInfo<'a> {
    id: TaskId,
    name: Option<&'a str>,
}

impl<'a> TaskHookInfo<'a> {
    pub(crate) fn of(meta: &'a TaskMeta) -> TaskHookInfo<'a> {
        TaskHookInfo {
            id: meta.id,
            name: meta.name.as_deref().map(|n| &**n),
        }
    }

    /// The task's id.
    pub fn id(&self) -> TaskId {
        self.id
    }

    /// The task's name, if it was given one.
    pub fn name(&self) -> Option<&'a str> {
        self.name
    }
}

/// The hooks of one executor; set them with `RunnerBuilder::on_task_spawn` and friends in
/// tulip-runtime, or in [`ExecutorConfig::hooks`](crate::ExecutorConfig::hooks).
///
/// Hooks run on the thread doing the work: `on_spawn` on the spawning thread (before the task
/// can run), the poll hooks on the polling thread right around the task's poll, `on_terminate`
/// where the task's future is dropped (when it finished, panicked or was cancelled, also at
/// shutdown). A task's hooks are called in that order: `on_spawn`, then a `before_poll` /
/// `after_poll` pair per poll, then `on_terminate` once. A panicking hook is reported to the
/// exception handler as a callback panic and the task goes on.
///
/// # Examples
///
/// ```
/// use std::sync::{Arc, Mutex};
/// use std::sync::atomic::{AtomicUsize, Ordering};
/// use tulip_executor::{Executor, ExecutorConfig, TaskHooks, ThreadDriver};
///
/// let polls = Arc::new(AtomicUsize::new(0));
/// let names = Arc::new(Mutex::new(Vec::new()));
/// let (p, n) = (polls.clone(), names.clone());
/// let mut config = ExecutorConfig::new(Arc::new(ThreadDriver::new()));
/// config.hooks = TaskHooks::new()
///     .on_before_poll(move |_| { p.fetch_add(1, Ordering::Relaxed); })
///     .on_terminate(move |t| n.lock().unwrap().push(t.name().unwrap_or("?").to_string()));
/// let ex = Executor::with_config(config).unwrap();
/// ex.block_on(async {
///     tulip_executor::Builder::new().name("worker").spawn(async {}).await.unwrap();
/// });
/// assert_eq!(polls.load(Ordering::Relaxed), 1);
/// assert_eq!(*names.lock().unwrap(), ["worker"]);
/// ```
#[derive(Clone, Default)]
pub struct TaskHooks {
    spawn: Option<TaskHook>,
    before_poll: Option<TaskHook>,
    after_poll: Option<TaskHook>,
    terminate: Option<TaskHook>,
}

impl fmt::Debug for TaskHooks {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TaskHooks")
            .field("spawn", &self.spawn.is_some())
            .field("before_poll", &self.before_poll.is_some())
            .field("after_poll", &self.after_poll.is_some())
            .field("terminate", &self.terminate.is_some())
            .finish()
    }
}

impl TaskHooks {
    /// No hooks.
    pub fn new() -> TaskHooks {
        TaskHooks::default()
    }

    /// Whether no hook is set.
    pub fn is_empty(&self) -> bool {
        self.spawn.is_none()
            && self.before_poll.is_none()
            && self.after_poll.is_none()
            && self.terminate.is_none()
    }

    /// Runs `f` when a task is spawned, before it can run.
    pub fn on_spawn(mut self, f: impl Fn(&TaskHookInfo<'_>) + Send + Sync + 'static) -> Self {
        self.spawn = Some(Arc::new(f));
        self
    }

    /// Runs `f` right before each poll of a task.
    pub fn on_before_poll(mut self, f: impl Fn(&TaskHookInfo<'_>) + Send + Sync + 'static) -> Self {
        self.before_poll = Some(Arc::new(f));
        self
    }

    /// Runs `f` right after each poll of a task.
    pub fn on_after_poll(mut self, f: impl Fn(&TaskHookInfo<'_>) + Send + Sync + 'static) -> Self {
        self.after_poll = Some(Arc::new(f));
        self
    }

    /// Runs `f` once when a task ends (finished, panicked or cancelled).
    pub fn on_terminate(mut self, f: impl Fn(&TaskHookInfo<'_>) + Send + Sync + 'static) -> Self {
        self.terminate = Some(Arc::new(f));
        self
    }
}

/// Which hook to run.
#[derive(Clone, Copy)]
pub(crate) enum HookPoint {
    Spawn,
    BeforePoll,
    AfterPoll,
    Terminate,
}

/// Runs the hook at `point` for `meta`'s task, if the executor has one; a panic is reported.
#[inline]
pub(crate) fn run_hook(meta: &TaskMeta, point: HookPoint) {
    if let Some(hooks) = &meta.shared.hooks {
        run_hook_slow(hooks, meta, point);
    }
}

#[inline(never)]
fn run_hook_slow(hooks: &TaskHooks, meta: &TaskMeta, point: HookPoint) {
    let hook = match point {
        HookPoint::Spawn => &hooks.spawn,
        HookPoint::BeforePoll => &hooks.before_poll,
        HookPoint::AfterPoll => &hooks.after_poll,
        HookPoint::Terminate => &hooks.terminate,
    };
    let Some(hook) = hook else { return };
    let info = TaskHookInfo::of(meta);
    if let Err(payload) = catch_unwind(AssertUnwindSafe(|| hook(&info))) {
        let mut r = meta.report(ReportKind::CallbackPanic);
        r.payload = Some(&*payload);
        meta.shared.report(&r);
    }
}
