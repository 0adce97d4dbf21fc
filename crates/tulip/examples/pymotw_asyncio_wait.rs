//! Waiting for several tasks: PyMOTW-3's `asyncio_wait.py` (dhellmann/pymotw-3,
//! `source/asyncio/`), in tulip. Expected output: tests/data/pymotw/asyncio_wait.txt.
//!
//! ```text
//! cargo run -p tulip --example pymotw_asyncio_wait
//! ```
//!
//! `tulip::wait` takes tasks (Python 3.11 no longer accepts bare coroutines either) and gives
//! back `(done, pending)`. Python's `done` is a set, so the order of its results is
//! arbitrary; here it is the order of completion.

use std::time::Duration;

async fn phase(i: u64) -> String {
    println!("in phase {i}");
    tulip::sleep(Duration::from_millis(100 * i)).await;
    println!("done with phase {i}");
    format!("phase {i} result")
}

async fn main_coro(num_phases: u64) {
    println!("starting main");
    let phases: Vec<_> = (0..num_phases).map(|i| tulip::spawn(phase(i))).collect();
    println!("waiting for phases to complete");
    let (completed, _pending) = tulip::wait(phases).await;
    let results: Vec<String> = completed
        .into_iter()
        .map(|t| t.into_output().expect("a phase does not fail"))
        .collect();
    println!("results: {results:?}");
}

fn main() {
    tulip::run(main_coro(3));
}
