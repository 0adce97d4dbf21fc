//! A future set by a callback and waited for by the loop itself, in tulip.
//!
//! Rewritten from PyMOTW-3's `source/asyncio/asyncio_future_event_loop.py` (Doug Hellmann;
//! the stored snapshot names it `asyncio_future_wait.py`): `call_soon` schedules `mark_done`,
//! `run_until_complete(all_done)` runs the loop until the future is done, and the result can
//! still be read after the loop closed.
//!
//! ```text
//! cargo run -p tulip --example pymotw_asyncio_future_event_loop
//! ```

use tulip::future::Promise;

fn mark_done(future: &Promise<String>, result: &str) {
    println!("setting future result to {result:?}");
    future.set_result(result.to_string()).expect("set once");
}

fn main() {
    // One worker, as asyncio's loop: with more, the worker threads run callbacks from `build`
    // on, before `run` enters the loop.
    let runner = tulip::Runner::builder().workers(1).build();
    let event_loop = runner.handle();
    let (promise, all_done) = event_loop.create_future::<String>();

    println!("scheduling mark_done");
    // From outside the running loop: the thread-safe form, run at the loop's first turn.
    event_loop.call_soon_threadsafe(move || mark_done(&promise, "the result"));

    println!("entering event loop");
    let result = runner.run(all_done.clone()).expect("not cancelled");
    println!("returned result: {result:?}");

    println!("closing event loop");
    runner.close();

    println!("future result: {:?}", all_done.result().expect("done"));
}
