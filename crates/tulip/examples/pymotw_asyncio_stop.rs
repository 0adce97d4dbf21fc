//! Stopping the event loop from a task: PyMOTW-3's `asyncio_stop.py` (dhellmann/pymotw-3,
//! `source/asyncio/`), in tulip. Expected output: tests/data/pymotw/asyncio_stop.txt.
//!
//! ```text
//! cargo run -p tulip --example pymotw_asyncio_stop
//! ```
//!
//! `Runner::run_forever` runs until `LoopHandle::stop`. The log lines go to stderr in the
//! Python's `logging` format (`name: message`).

use tulip::LoopHandle;

async fn stopper(event_loop: LoopHandle) {
    eprintln!("main: stopper invoked");
    event_loop.stop();
}

fn main() {
    let event_loop = tulip::Runner::new();
    event_loop
        .handle()
        .spawn(stopper(event_loop.handle()))
        .detach();
    eprintln!("main: entering event loop");
    event_loop.run_forever();
    eprintln!("main: closing event loop");
    event_loop.close();
}
