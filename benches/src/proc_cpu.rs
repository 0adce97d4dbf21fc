//! CPU time of a process and of the calling thread, from Linux's `/proc` (`schedstat`: the
//! nanoseconds each thread has run on a CPU), and pinning the calling thread to one CPU.
//! Elsewhere the CPU times are `None` (the cross-process echo then reports none).

use std::time::Duration;

fn schedstat_ns(path: &str) -> Option<u64> {
    std::fs::read_to_string(path)
        .ok()?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

/// CPU time used so far by every live thread of process `pid`.
pub fn process(pid: u32) -> Option<Duration> {
    let dir = std::fs::read_dir(format!("/proc/{pid}/task")).ok()?;
    let mut total = 0u64;
    for e in dir.flatten() {
        let path = e.path().join("schedstat");
        total += schedstat_ns(path.to_str()?)?;
    }
    Some(Duration::from_nanos(total))
}

/// CPU time used so far by the calling thread.
pub fn this_thread() -> Option<Duration> {
    schedstat_ns("/proc/thread-self/schedstat").map(Duration::from_nanos)
}

/// Keeps the calling thread on one CPU (the one it runs on now; threads and processes it
/// starts inherit that) until dropped, when its previous CPU set comes back.
#[derive(Debug)]
pub struct Pinned {
    previous: Option<rustix::thread::CpuSet>,
}

impl Pinned {
    /// Pins the calling thread; without the system calls for it, does nothing.
    pub fn one_cpu() -> Pinned {
        let previous = rustix::thread::sched_getaffinity(None).ok();
        if previous.is_some() {
            let mut one = rustix::thread::CpuSet::new();
            one.set(rustix::thread::sched_getcpu());
            if rustix::thread::sched_setaffinity(None, &one).is_err() {
                return Pinned { previous: None };
            }
        }
        Pinned { previous }
    }
}

impl Drop for Pinned {
    fn drop(&mut self) {
        if let Some(set) = &self.previous {
            let _ = rustix::thread::sched_setaffinity(None, set);
        }
    }
}
