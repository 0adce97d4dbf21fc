//! Introspection: [`current`], [`all`], [`TaskInfo`], and what a task is waiting on.

use std::fmt;
use std::panic::Location;
use std::sync::atomic::{AtomicU8, Ordering};
use std::time::Instant;

use tulip_util::lock;

use crate::current::{current_task_meta, with_ctx};
use crate::task::meta::{TaskId, TaskMeta, IDLE, NOTED, RUNNING};

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

/// What a waiting task waits for (recorded in debug mode by the futures it waits on: timers,
/// I/O readiness, other tasks, and tulip-sync's and tulip-queue's primitives).
///
/// A task's record is cleared at the start of each of its polls and written again by whatever
/// it is still waiting on when the poll returns `Pending`, so a dump never shows a wait that
/// has ended. Inside a combinator that polls only the branches that were woken (`gather`,
/// `wait`), it is what the branches polled last say.
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
    /// A synchronization primitive, queue or channel (tulip-sync, tulip-queue).
    Primitive {
        /// What is waited for: `"Lock"`, `"Semaphore"`, `"Event"`, `"Queue.get"`, ...
        what: &'static str,
        /// The address of the object waited on: equal for two tasks waiting on one object.
        addr: usize,
    },
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
            WaitingOn::Primitive { what, addr } => write!(f, "{what} at {addr:#x}"),
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
            // Escaped: a name is user data, and a newline or a terminal escape in it must not
            // forge lines of a dump that someone reads in a terminal or parses line by line.
            write!(f, " '{}'", n.escape_debug())?;
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
/// no-op). tulip's timers, I/O objects and task handles call this when they return `Pending`;
/// tulip-sync and tulip-queue reach it through [`tulip_util::waiting`]. The record lasts until
/// the task's next poll starts.
pub fn note_waiting(on: WaitingOn) {
    current_task_meta(|m| {
        if let Some(m) = m {
            if let Some(w) = &m.shared.waiting {
                lock(w).insert(m.id, on);
                m.flags.fetch_or(NOTED, Ordering::Relaxed);
            }
        }
    });
}

/// The hook tulip-util's [`note_waiting`](tulip_util::waiting::note_waiting) calls while a
/// loop in debug mode listens.
pub(crate) fn primitive_hook(what: &'static str, addr: usize) {
    note_waiting(WaitingOn::Primitive { what, addr });
}

/// Forgets what the task said it waits on (at the start of a poll, in debug mode).
#[inline]
pub(crate) fn clear_waiting(meta: &TaskMeta) {
    if meta.flags.load(Ordering::Relaxed) & NOTED != 0 {
        meta.flags.fetch_and(!NOTED, Ordering::Relaxed);
        if let Some(w) = &meta.shared.waiting {
            lock(w).remove(&meta.id);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_task_name_cannot_forge_dump_lines() {
        let info = TaskInfo {
            id: TaskId(7),
            name: Some("evil\ntask 8 'fake' Idle\x1b[2J".into()),
            state: TaskState::Idle,
            location: Location::caller(),
            waiting_on: None,
            polls: 1,
        };
        let text = info.to_string();
        assert_eq!(text.lines().count(), 1, "{text}");
        assert!(!text.contains('\x1b'), "{text}");
        assert!(
            text.contains(r"'evil\ntask 8 \'fake\' Idle\u{1b}[2J'"),
            "{text}"
        );
    }
}
