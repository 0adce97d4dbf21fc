//! Starting a task, then cancelling it: PyMOTW-3's `asyncio_cancel_task.py`
//! (dhellmann/pymotw-3, `source/asyncio/`), in tulip. Expected output:
//! tests/data/pymotw/asyncio_cancel_task.txt.
//!
//! ```text
//! cargo run -p tulip --example pymotw_asyncio_cancel_task
//! ```
//!
//! `Task::cancel` is `task.cancel()`; awaiting the task then gives `JoinError::Cancelled`
//! (asyncio's `CancelledError`). The task never started, so `task_func` prints nothing.

use tulip::Task;

/// An asyncio-style repr of a task that `cancel()` was called on.
fn repr<T>(task: &Task<T>, cancelled: bool) -> String {
    let state = match (task.is_finished(), cancelled) {
        (true, _) => "finished",
        (false, true) => "cancelling",
        (false, false) => "pending",
    };
    format!(
        "<Task {state} name={:?} id={}>",
        task.name().unwrap_or("?"),
        task.id()
    )
}

async fn task_func() -> &'static str {
    println!("in task_func");
    "the result"
}

#[tulip::main]
async fn main() {
    println!("creating task");
    let task = tulip::task::Builder::new()
        .name("task_func")
        .spawn(task_func());
    println!("canceling task");
    let cancelled = task.cancel();
    println!("canceled task {}", repr(&task, cancelled));
    match task.await {
        Err(e) if e.is_cancelled() => println!("caught error from canceled task"),
        Err(e) => println!("task failed: {e}"),
        Ok(result) => println!("task result: {result:?}"),
    }
}
