//! Introspection: [`current`], [`all`], [`TaskInfo`], and what a task is waiting on.

use std::fmt;
use std::panic::Location;
use std::sync::atomic::{AtomicU8, Ordering};
use std::time::Instant;

use tulip_util::lock;

use crate::current::{current_task_meta, with_ctx};
use crate::task::meta::{TaskId, TaskMeta, IDLE, RUNNING};

/// Where a task is in its life (a live task; finished tasks are not listed).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TaskState {
    /// Queued to run (spawned or woken, not yet polled).
    Scheduled,
    /// Being polled right now.
    Running,
    /// Waiting to be woken.
    Idle,
}

pub(crate) fn state_of(s: &AtomicU8) -> TaskState {
    match s.load(Ordering::Relaxed) {
        RUNNING => TaskState::Running,
        IDLE => TaskState::Idle,
        _ => TaskState::Scheduled,
    }
}

/// What a waiting task last said it waits for (recorded in debug mode by tulip's own leaf
/// futures: timers, I/O readiness, other tasks).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum WaitingOn {
    /// A timer due at this instant.
    Timer(Instant),
    /// Readiness of a file descriptor.
    Io {
        /// The file descriptor.
        #[cfg(not(windows))]
        fd: i32,
        /// The socket handle (`RawSocket`; Windows has no file descriptors).
        #[cfg(windows)]
        fd: u64,
        /// Writability (`true`) or readability (`false`).
        write: bool,
    },
    /// Another task's completion.
    Task(TaskId),
    /// Something else, described.
    Other(&'static str),
}

impl fmt::Display for WaitingOn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WaitingOn::Timer(at) => {
                let now = Instant::now();
                if *at > now {
                    write!(f, "timer in {:.3} s", (*at - now).as_secs_f64())
                } else {
                    f.write_str("timer (due)")
                }
            }
            WaitingOn::Io { fd, write } => {
                write!(
                    f,
                    "fd {fd} {}",
                    if *write { "writable" } else { "readable" }
                )
            }
            WaitingOn::Task(id) => write!(f, "task {id}"),
            WaitingOn::Other(what) => f.write_str(what),
        }
    }
}

/// A snapshot of one live task (asyncio's `Task` repr, `current_task()`, `all_tasks()`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskInfo {
    /// The task's id.
    pub id: TaskId,
    /// Its name, if it was given one.
    pub name: Option<String>,
    /// Where it is in its life.
    pub state: TaskState,
    /// Where it was spawned.
    pub location: &'static Location<'static>,
    /// What it last said it waits for (debug mode; `None` otherwise or when unknown).
    pub waiting_on: Option<WaitingOn>,
    /// How many times it has been polled.
    pub polls: u32,
}

impl fmt::Display for TaskInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "task {}", self.id)?;
        if let Some(n) = &self.name {
            write!(f, " '{n}'")?;
        }
        write!(
            f,
            " {:?} spawned at {}, {} polls",
            self.state, self.location, self.polls
        )?;
        if let Some(w) = &self.waiting_on {
            write!(f, ", waiting on {w}")?;
        }
        Ok(())
    }
}

impl TaskInfo {
    pub(crate) fn of(meta: &TaskMeta) -> TaskInfo {
        TaskInfo {
            id: meta.id,
            name: meta.name.as_deref().map(|n| n.to_string()),
            state: state_of(&meta.state),
            location: meta.location,
            waiting_on: meta
                .shared
                .waiting
                .as_ref()
                .and_then(|w| lock(w).get(&meta.id).copied()),
            polls: meta.polls.load(Ordering::Relaxed),
        }
    }
}

/// The task running on this thread right now (asyncio's `current_task()`); `None` outside a
/// task (in the main future of `run`, say, or outside any loop).
///
/// # Examples
///
/// ```
/// # tulip_executor::doc_block_on(async {
/// assert!(tulip_executor::task::current().is_none()); // the main future is not a task
/// let t = tulip_executor::Builder::new().name("me").spawn(async {
///     tulip_executor::task::current().unwrap().name
/// });
/// assert_eq!(t.await.unwrap().as_deref(), Some("me"));
/// # });
/// ```
pub fn current() -> Option<TaskInfo> {
    current_task_meta(|m| m.map(TaskInfo::of))
}

/// The id of the task running on this thread right now, if any (cheaper than [`current`]).
pub fn current_id() -> Option<TaskId> {
    current_task_meta(|m| m.map(|m| m.id))
}

/// The live tasks of the loop running on this thread (asyncio's `all_tasks()`), by id; empty
/// outside a loop.
///
/// In debug mode every task is listed from the moment it is spawned. Otherwise, to keep
/// spawning cheap, a task is listed once it has run and is waiting (or running): tasks spawned
/// but not yet started are not listed — they sit in a run queue and appear at their first
/// turn.
///
/// # Examples
///
/// ```
/// # tulip_executor::doc_block_on(async {
/// let t = tulip_executor::Builder::new().name("sleeper").spawn(std::future::pending::<()>());
/// tulip_executor::yield_now().await; // let it start
/// let all = tulip_executor::task::all();
/// assert!(all.iter().any(|i| i.name.as_deref() == Some("sleeper")));
/// t.cancel();
/// # });
/// ```
pub fn all() -> Vec<TaskInfo> {
    with_ctx(|ctx| match ctx {
        Some(c) => {
            let mut out = Vec::new();
            c.shared().registry.for_each(|m| out.push(TaskInfo::of(m)));
            out.sort_by_key(|t| t.id);
            out
        }
        None => Vec::new(),
    })
}

/// Records what the current task is about to wait for (debug mode only; otherwise a cheap
/// no-op). tulip's timers, I/O objects and task handles call this when they return `Pending`.
pub fn note_waiting(on: WaitingOn) {
    current_task_meta(|m| {
        if let Some(w) = m.and_then(|m| m.shared.waiting.as_ref().map(|w| (m.id, w))) {
            lock(w.1).insert(w.0, on);
        }
    });
}
