//! [`LoopDump`]: what every task of a loop is doing, as text or JSON (tokio keeps this
//! unstable; asyncio has it only from 3.14 as `python -m asyncio ps`).

use std::fmt;
use std::fmt::Write as _;

use tulip_executor::task::{TaskInfo, TaskState};

use crate::handle::LoopHandle;

/// One task in a [`LoopDump`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskDump {
    /// The task.
    pub info: TaskInfo,
}

/// A snapshot of a loop (see [`LoopHandle::dump`]).
#[derive(Debug, Clone)]
pub struct LoopDump {
    /// Every live task, by id.
    pub tasks: Vec<TaskDump>,
    /// Number of workers.
    pub workers: usize,
    /// Live timers.
    pub timers: usize,
    /// Threads in the blocking pool.
    pub blocking_threads: usize,
    /// Whether the loop runs in debug mode (then tasks say what they wait on).
    pub debug: bool,
}

impl LoopDump {
    pub(crate) fn capture(handle: &LoopHandle) -> LoopDump {
        let spawner = handle.spawner_ref();
        LoopDump {
            tasks: spawner
                .tasks()
                .into_iter()
                .map(|info| TaskDump { info })
                .collect(),
            workers: spawner.workers(),
            timers: handle.reactor().timer_count(),
            blocking_threads: handle.blocking_threads(),
            debug: handle.debug(),
        }
    }

    /// The dump as one JSON object:
    /// `{"workers":…,"timers":…,"blocking_threads":…,"debug":…,"tasks":[{"id":…,"name":…,
    /// "state":"idle","location":"src/main.rs:10:5","polls":…,"waiting_on":…},…]}`.
    pub fn to_json(&self) -> String {
        let mut out = String::new();
        let _ = write!(
            out,
            "{{\"workers\":{},\"timers\":{},\"blocking_threads\":{},\"debug\":{},\"tasks\":[",
            self.workers, self.timers, self.blocking_threads, self.debug
        );
        for (i, t) in self.tasks.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            let info = &t.info;
            let _ = write!(out, "{{\"id\":{},\"name\":", info.id);
            match &info.name {
                Some(n) => json_str(&mut out, n),
                None => out.push_str("null"),
            }
            let _ = write!(
                out,
                ",\"state\":\"{}\",\"location\":",
                state_name(info.state)
            );
            json_str(&mut out, &info.location.to_string());
            let _ = write!(out, ",\"polls\":{},\"waiting_on\":", info.polls);
            match &info.waiting_on {
                Some(w) => json_str(&mut out, &w.to_string()),
                None => out.push_str("null"),
            }
            out.push('}');
        }
        out.push_str("]}");
        out
    }
}

fn state_name(s: TaskState) -> &'static str {
    match s {
        TaskState::Scheduled => "scheduled",
        TaskState::Running => "running",
        TaskState::Idle => "idle",
    }
}

fn json_str(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

impl fmt::Display for LoopDump {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "loop: {} worker(s), {} task(s), {} timer(s), {} blocking thread(s){}",
            self.workers,
            self.tasks.len(),
            self.timers,
            self.blocking_threads,
            if self.debug { ", debug" } else { "" }
        )?;
        for t in &self.tasks {
            writeln!(f, "  {}", t.info)?;
        }
        Ok(())
    }
}
