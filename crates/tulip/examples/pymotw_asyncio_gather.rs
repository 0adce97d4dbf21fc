//! Collecting the results of concurrent coroutines with `gather`: PyMOTW-3's
//! `asyncio_gather.py` (dhellmann/pymotw-3, `source/asyncio/`), in tulip. Expected output:
//! tests/data/pymotw/asyncio_gather.txt.
//!
//! ```text
//! cargo run -p tulip --example pymotw_asyncio_gather
//! ```
//!
//! `tulip::join!` runs the futures concurrently and gives their results in argument order, as
//! `asyncio.gather` does (`tulip::gather` is the same over an iterator of one future type).

use std::time::Duration;

async fn phase1() -> &'static str {
    println!("in phase1");
    tulip::sleep(Duration::from_secs(2)).await;
    println!("done with phase1");
    "phase1 result"
}

async fn phase2() -> &'static str {
    println!("in phase2");
    tulip::sleep(Duration::from_secs(1)).await;
    println!("done with phase2");
    "phase2 result"
}

#[tulip::main]
async fn main() {
    println!("starting main");
    println!("waiting for phases to complete");
    let (r1, r2) = tulip::join!(phase1(), phase2());
    let results = [r1, r2];
    println!("results: {results:?}");
}
