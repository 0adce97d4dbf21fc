//! Cancelling a running task from a callback: PyMOTW-3's `asyncio_cancel_task2.py`
//! (dhellmann/pymotw-3, `source/asyncio/`), in tulip. Expected output:
//! tests/data/pymotw/asyncio_cancel_task2.txt.
//!
//! ```text
//! cargo run -p tulip --example pymotw_asyncio_cancel_task2
//! ```
//!
//! Difference: a cancelled Rust future is dropped at its `.await`, not sent an exception, so
//! `task_func` cannot catch the cancellation; it learns of it the Rust way, through a value
//! it owns being dropped while the sleep is unfinished (`OnCancel` below), which is where
//! the Python's `except CancelledError:` runs.

use std::cell::RefCell;
use std::future::{poll_fn, Future};
use std::pin::Pin;
use std::rc::Rc;
use std::time::Duration;

use tulip::{EventLoop, Task};

/// Prints that the task was cancelled when dropped before `disarm`.
struct OnCancel(bool);

impl Drop for OnCancel {
    fn drop(&mut self) {
        if self.0 {
            println!("task_func was canceled");
        }
    }
}

async fn task_func() -> &'static str {
    println!("in task_func, sleeping");
    let mut guard = OnCancel(true);
    tulip::sleep(Duration::from_secs(1)).await;
    guard.0 = false;
    "the result"
}

fn task_canceller(t: &Task<&'static str>) {
    println!("in task_canceller");
    t.cancel();
    println!("canceled the task");
}

#[tulip::main]
async fn main() {
    println!("creating task");
    // Shared with the callback, which only needs to call `cancel`.
    let task = Rc::new(RefCell::new(tulip::spawn(task_func())));
    let t = task.clone();
    EventLoop::current().call_soon(move || task_canceller(&t.borrow()));
    let awaited = poll_fn(|cx| Pin::new(&mut *task.borrow_mut()).poll(cx)).await;
    match awaited {
        Err(e) if e.is_cancelled() => println!("main() also sees task as canceled"),
        other => println!("task ended: {other:?}"),
    }
}
