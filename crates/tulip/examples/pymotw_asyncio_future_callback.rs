//! Done-callbacks on a future, in tulip.
//!
//! Rewritten from PyMOTW-3's `source/asyncio/asyncio_future_callback.py` (Doug Hellmann): two
//! callbacks are registered on a future, its result is set, and the loop runs them in the
//! order they were registered, each given the future. Python binds the extra argument with
//! `functools.partial`; a Rust closure captures it.
//!
//! ```text
//! cargo run -p tulip --example pymotw_asyncio_future_callback
//! ```

use tulip::future::Completion;
use tulip::rt::EventLoop;

fn callback(n: u32, future: &Completion<String>) {
    println!("{n}: future done: {}", future.result().expect("done"));
}

fn main() {
    tulip::run(async {
        let event_loop = EventLoop::current();
        let (promise, all_done) = event_loop.create_future::<String>();

        println!("registering callbacks on future");
        all_done.add_done_callback(|f| callback(1, f));
        all_done.add_done_callback(|f| callback(2, f));

        println!("setting result of future");
        promise
            .set_result("the result".to_string())
            .expect("set once");

        all_done.await.expect("not cancelled");
        // The callbacks were scheduled with call_soon when the result was set; one turn of the
        // loop runs them (asyncio's run_until_complete stops the loop through a done-callback
        // of its own, queued after them).
        tulip::yield_now().await;
    });
}
