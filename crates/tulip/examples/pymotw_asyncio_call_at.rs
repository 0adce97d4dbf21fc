//! Scheduling a callback with `call_at`: PyMOTW-3's `asyncio_call_at.py`
//! (dhellmann/pymotw-3, `source/asyncio/`), in tulip. Expected output:
//! tests/data/pymotw/asyncio_call_at.txt.
//!
//! ```text
//! cargo run -p tulip --example pymotw_asyncio_call_at
//! ```
//!
//! Difference: asyncio's `loop.time()` is a float of seconds on the monotonic clock; tulip's
//! is an `Instant`, which has no absolute reading, so the "loop time" printed here is
//! seconds since the loop started. The wall clock is seconds since the Unix epoch, as
//! `time.time()`.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tulip::time::Instant;
use tulip::{EventLoop, LoopHandle};

fn seconds(event_loop: &LoopHandle, origin: Instant) -> f64 {
    event_loop.time().duration_since(origin).as_secs_f64()
}

fn callback(n: i32, event_loop: &LoopHandle, origin: Instant) {
    println!("callback {n} invoked at {:.9}", seconds(event_loop, origin));
}

async fn main_coro(event_loop: LoopHandle) {
    let origin = event_loop.time();
    let now = event_loop.time();
    let clock = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("the clock is after 1970")
        .as_secs_f64();
    println!("clock time: {clock:.6}");
    println!("loop  time: {:.9}", seconds(&event_loop, origin));
    println!("registering callbacks");
    let (lp1, lp2, lp3) = (event_loop.clone(), event_loop.clone(), event_loop.clone());
    event_loop.call_at(now + Duration::from_millis(200), move || {
        callback(1, &lp1, origin)
    });
    event_loop.call_at(now + Duration::from_millis(100), move || {
        callback(2, &lp2, origin)
    });
    event_loop.call_soon(move || callback(3, &lp3, origin));
    tulip::sleep(Duration::from_secs(1)).await;
}

fn main() {
    let runner = tulip::Runner::new();
    println!("entering event loop");
    runner.run(async { main_coro(EventLoop::current()).await });
    println!("closing event loop");
    runner.close();
}
