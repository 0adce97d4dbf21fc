//! Starting a coroutine: PyMOTW-3's `asyncio_coroutine.py` (dhellmann/pymotw-3,
//! `source/asyncio/`), in tulip. Expected output: tests/data/pymotw/asyncio_coroutine.txt.
//!
//! ```text
//! cargo run -p tulip --example pymotw_asyncio_coroutine
//! ```
//!
//! An `async fn` is a coroutine: calling it makes a future and runs nothing, exactly as calling
//! a Python coroutine function does. `Runner::run` is `run_until_complete`; dropping the runner
//! (here, `close`) closes the loop.

async fn coroutine() {
    println!("in coroutine");
}

fn main() {
    let event_loop = tulip::Runner::new();
    println!("starting coroutine");
    let coro = coroutine();
    println!("entering event loop");
    event_loop.run(coro);
    println!("closing event loop");
    event_loop.close();
}
