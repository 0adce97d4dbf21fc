//! Handling results as they finish with `as_completed`: PyMOTW-3's `asyncio_as_completed.py`
//! (dhellmann/pymotw-3, `source/asyncio/`), in tulip. Expected output:
//! tests/data/pymotw/asyncio_as_completed.txt.
//!
//! ```text
//! cargo run -p tulip --example pymotw_asyncio_as_completed
//! ```
//!
//! `tulip::as_completed` is a `Stream` of the outputs in completion order.

use std::time::Duration;

use tulip::stream::StreamExt;

async fn phase(i: u64) -> String {
    println!("in phase {i}");
    tulip::sleep(Duration::from_millis(500 - 100 * i)).await;
    println!("done with phase {i}");
    format!("phase {i} result")
}

async fn main_coro(num_phases: u64) -> Vec<String> {
    println!("starting main");
    let phases = (0..num_phases).map(phase);
    println!("waiting for phases to complete");
    let mut results = Vec::new();
    let mut completed = tulip::as_completed(phases);
    while let Some(answer) = completed.next().await {
        println!("received answer {answer:?}");
        results.push(answer);
    }
    println!("results: {results:?}");
    results
}

fn main() {
    tulip::run(main_coro(3));
}
