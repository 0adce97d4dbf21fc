//! Running blocking functions on a thread pool: PyMOTW-3's `asyncio_executor_thread.py`
//! (dhellmann/pymotw-3, `source/asyncio/`), in tulip. Expected output:
//! tests/data/pymotw/asyncio_executor_thread.txt.
//!
//! ```text
//! cargo run -p tulip --example pymotw_asyncio_executor_thread
//! ```
//!
//! The loop's blocking pool is the default executor: `LoopHandle::run_in_executor` is
//! `loop.run_in_executor(None, f)` (and `tulip::to_thread` is `asyncio.to_thread`). The pool is
//! limited to 3 threads with `Runner::builder().max_blocking_threads(3)`, as the Python's
//! `ThreadPoolExecutor(max_workers=3)`. Differences: log lines name the thread by its name and
//! id (tulip's pool threads share one name), where Python prints `ThreadPoolExecutor-0_N`;
//! Python's `done` set comes back in arbitrary order; here `as_completed` gives the results
//! in completion order.

use std::time::Duration;

use tulip::EventLoop;

/// Logs as the Python's `%(threadName)10s %(name)18s: %(message)s` format does.
fn log(name: &str, message: &str) {
    let thread = std::thread::current();
    let thread_name = match thread.name() {
        Some("main") => "MainThread".to_string(),
        Some(n) => format!("{n}-{:?}", thread.id()),
        None => format!("{:?}", thread.id()),
    };
    eprintln!("{thread_name:>10} {name:>18}: {message}");
}

fn blocks(n: u64) -> u64 {
    let name = format!("blocks({n})");
    log(&name, "running");
    std::thread::sleep(Duration::from_millis(100));
    log(&name, "done");
    n * n
}

async fn run_blocking_tasks() {
    let name = "run_blocking_tasks";
    log(name, "starting");
    log(name, "creating executor tasks");
    let event_loop = EventLoop::current();
    let blocking_tasks: Vec<_> = (0..6)
        .map(|i| event_loop.run_in_executor(move || blocks(i)))
        .collect();
    log(name, "waiting for executor tasks");
    let mut results = Vec::new();
    let mut completed = tulip::as_completed(blocking_tasks);
    while let Some(r) = tulip::stream::StreamExt::next(&mut completed).await {
        results.push(r.expect("blocks does not panic"));
    }
    log(name, &format!("results: {results:?}"));
    log(name, "exiting");
}

fn main() {
    // A limited thread pool.
    let event_loop = tulip::Runner::builder().max_blocking_threads(3).build();
    event_loop.run(run_blocking_tasks());
    event_loop.close();
}
