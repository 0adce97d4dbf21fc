//! Creating a task from a coroutine with `ensure_future`: PyMOTW-3's
//! `asyncio_ensure_future.py` (dhellmann/pymotw-3, `source/asyncio/`), in tulip. Expected
//! output: tests/data/pymotw/asyncio_ensure_future.txt.
//!
//! ```text
//! cargo run -p tulip --example pymotw_asyncio_ensure_future
//! ```
//!
//! `ensure_future(coro)` wraps a coroutine in a task; in tulip that is `spawn`. A task handle
//! is itself a future, so `inner` takes any task and awaits it.

use tulip::Task;

/// An asyncio-style repr of a task.
fn repr<T>(task: &Task<T>) -> String {
    let state = if task.is_finished() {
        "finished"
    } else {
        "pending"
    };
    format!(
        "<Task {state} name={:?} id={}>",
        task.name().unwrap_or("?"),
        task.id()
    )
}

async fn wrapped() -> &'static str {
    println!("wrapped");
    "result"
}

async fn inner(task: Task<&'static str>) {
    println!("inner: starting");
    println!("inner: waiting for {}", repr(&task));
    let result = task.await.expect("wrapped does not fail");
    println!("inner: task returned {result:?}");
}

async fn starter() {
    println!("starter: creating task");
    let task = tulip::task::Builder::new().name("wrapped").spawn(wrapped());
    println!("starter: waiting for inner");
    inner(task).await;
    println!("starter: inner returned");
}

fn main() {
    let runner = tulip::Runner::new();
    println!("entering event loop");
    runner.run(starter());
    runner.close();
}
