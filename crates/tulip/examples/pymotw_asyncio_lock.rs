//! Using a lock: PyMOTW-3's `asyncio_lock.py` (dhellmann/pymotw-3, `source/asyncio/`), in
//! tulip. Expected output: tests/data/pymotw/asyncio_lock.txt.
//!
//! ```text
//! cargo run -p tulip --example pymotw_asyncio_lock
//! ```
//!
//! Differences: holding the lock is holding its guard, and releasing it is dropping the
//! guard, so `lock.release()` in the callback becomes dropping a guard the callback owns
//! (`lock_arc` gives a guard that is not tied to a borrow). Python 3.11's `asyncio.wait`
//! wants tasks, so the coroutines are spawned.

use std::sync::Arc;
use std::time::Duration;

use tulip::sync::{Lock, LockGuardArc};
use tulip::EventLoop;

fn unlock(guard: LockGuardArc) {
    println!("callback releasing lock");
    drop(guard);
}

async fn coro1(lock: Arc<Lock>) {
    println!("coro1 waiting for the lock");
    {
        let _held = lock.lock().await;
        println!("coro1 acquired lock");
    }
    println!("coro1 released lock");
}

async fn coro2(lock: Arc<Lock>) {
    println!("coro2 waiting for the lock");
    let held = lock.lock().await;
    println!("coro2 acquired lock");
    println!("coro2 released lock");
    drop(held);
}

#[tulip::main]
async fn main() {
    // Create and acquire a shared lock.
    let lock = Arc::new(Lock::new());
    println!("acquiring the lock before starting coroutines");
    let guard = lock.lock_arc().await;
    println!("lock acquired: {}", lock.locked());
    // Schedule a callback to unlock the lock.
    EventLoop::current().call_later(Duration::from_millis(100), move || unlock(guard));
    // Run the coroutines that want to use the lock.
    println!("waiting for coroutines");
    let tasks = [tulip::spawn(coro1(lock.clone())), tulip::spawn(coro2(lock))];
    tulip::wait(tasks).await;
}
