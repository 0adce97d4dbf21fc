//! CPU time of a process and of the calling thread, from Linux's `/proc` (`schedstat`: the
//! nanoseconds each thread has run on a CPU). Elsewhere the functions return `None` and the
//! cross-process echo reports no CPU times.

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
