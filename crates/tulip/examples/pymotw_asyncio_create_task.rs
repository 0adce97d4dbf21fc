//! Starting a task: PyMOTW-3's `asyncio_create_task.py` (dhellmann/pymotw-3,
//! `source/asyncio/`), in tulip. Expected output: tests/data/pymotw/asyncio_create_task.txt.
//!
//! ```text
//! cargo run -p tulip --example pymotw_asyncio_create_task
//! ```
//!
//! `tulip::task::Builder` is `create_task(coro, name=…)`. A task's repr here is built from
//! what the handle tells (state, name, id); Python's also names the coroutine's source line.

use tulip::Task;

/// An asyncio-style repr of a task: `<Task pending name='…' id=…>`.
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

async fn task_func() -> &'static str {
    println!("in task_func");
    "the result"
}

#[tulip::main]
async fn main() {
    println!("creating task");
    let mut task = tulip::task::Builder::new()
        .name("task_func")
        .spawn(task_func());
    println!("waiting for {}", repr(&task));
    let return_value = (&mut task).await.expect("task_func does not fail");
    println!("task completed {}", repr(&task));
    println!("return value: {return_value:?}");
}
