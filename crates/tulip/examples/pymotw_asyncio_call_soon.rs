//! Scheduling a callback with `call_soon`: PyMOTW-3's `asyncio_call_soon.py`
//! (dhellmann/pymotw-3, `source/asyncio/`), in tulip. Expected output:
//! tests/data/pymotw/asyncio_call_soon.txt.
//!
//! ```text
//! cargo run -p tulip --example pymotw_asyncio_call_soon
//! ```
//!
//! Callbacks are closures, so `functools.partial` and keyword arguments become captured
//! values; the default keyword becomes an `Option`.

use std::time::Duration;

use tulip::{EventLoop, LoopHandle};

fn callback(arg: i32, kwarg: Option<&str>) {
    println!(
        "callback invoked with {arg} and {}",
        kwarg.unwrap_or("default")
    );
}

async fn main_coro(event_loop: LoopHandle) {
    println!("registering callbacks");
    event_loop.call_soon(|| callback(1, None));
    let wrapped = |n| move || callback(n, Some("not default"));
    event_loop.call_soon(wrapped(2));
    tulip::sleep(Duration::from_millis(100)).await;
}

fn main() {
    let runner = tulip::Runner::new();
    println!("entering event loop");
    runner.run(async { main_coro(EventLoop::current()).await });
    println!("closing event loop");
    runner.close();
}
