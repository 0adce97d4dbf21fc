//! Scheduling a callback with `call_later`: PyMOTW-3's `asyncio_call_later.py`
//! (dhellmann/pymotw-3, `source/asyncio/`), in tulip. Expected output:
//! tests/data/pymotw/asyncio_call_later.txt.
//!
//! ```text
//! cargo run -p tulip --example pymotw_asyncio_call_later
//! ```

use std::time::Duration;

use tulip::{EventLoop, LoopHandle};

fn callback(n: i32) {
    println!("callback {n} invoked");
}

async fn main_coro(event_loop: LoopHandle) {
    println!("registering callbacks");
    event_loop.call_later(Duration::from_millis(200), || callback(1));
    event_loop.call_later(Duration::from_millis(100), || callback(2));
    event_loop.call_soon(|| callback(3));
    tulip::sleep(Duration::from_millis(400)).await;
}

fn main() {
    let runner = tulip::Runner::new();
    println!("entering event loop");
    runner.run(async { main_coro(EventLoop::current()).await });
    println!("closing event loop");
    runner.close();
}
