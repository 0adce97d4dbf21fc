//! Awaiting a future inside a coroutine, in tulip.
//!
//! Rewritten from PyMOTW-3's `source/asyncio/asyncio_future_await.py` (Doug Hellmann): `main`
//! creates a future, schedules `mark_done` with `call_soon`, and awaits the future's result.
//!
//! ```text
//! cargo run -p tulip --example pymotw_asyncio_future_await
//! ```

use tulip::future::Promise;
use tulip::rt::EventLoop;

fn mark_done(future: &Promise<String>, result: &str) {
    println!("setting future result to {result:?}");
    future.set_result(result.to_string()).expect("set once");
}

async fn main_coroutine() {
    let event_loop = EventLoop::current();
    let (promise, all_done) = event_loop.create_future::<String>();

    println!("scheduling mark_done");
    event_loop.call_soon(move || mark_done(&promise, "the result"));

    let result = all_done.await.expect("not cancelled");
    println!("returned result: {result:?}");
}

fn main() {
    tulip::run(main_coroutine());
}
