//! Waiting for several tasks with a timeout: PyMOTW-3's `asyncio_wait_timeout.py`
//! (dhellmann/pymotw-3, `source/asyncio/`), in tulip. Expected output:
//! tests/data/pymotw/asyncio_wait_timeout.txt.
//!
//! ```text
//! cargo run -p tulip --example pymotw_asyncio_wait_timeout
//! ```
//!
//! Differences: the messages follow the page's recorded run ("cancelling", "cancelled"),
//! which the current Python file spells "canceling"/"canceled". A cancelled Rust future is
//! dropped rather than sent an exception, so a phase notices its cancellation through a
//! value it owns being dropped early (`OnCancel`) instead of `except CancelledError`.

use std::time::Duration;

/// Prints that phase `i` was cancelled when dropped while armed.
struct OnCancel(u64, bool);

impl Drop for OnCancel {
    fn drop(&mut self) {
        if self.1 {
            println!("phase {} cancelled", self.0);
        }
    }
}

async fn phase(i: u64) -> String {
    println!("in phase {i}");
    let mut guard = OnCancel(i, true);
    tulip::sleep(Duration::from_millis(100 * i)).await;
    guard.1 = false;
    println!("done with phase {i}");
    format!("phase {i} result")
}

async fn main_coro(num_phases: u64) {
    println!("starting main");
    let phases: Vec<_> = (0..num_phases).map(|i| tulip::spawn(phase(i))).collect();
    println!("waiting 0.1 for phases to complete");
    let (completed, pending) = tulip::wait(phases)
        .timeout(Duration::from_millis(100))
        .await;
    println!(
        "{} completed and {} pending",
        completed.len(),
        pending.len()
    );
    // Cancel the rest so that they do not run on after main.
    if !pending.is_empty() {
        println!("cancelling tasks");
        for t in &pending {
            t.cancel();
        }
    }
    println!("exiting main");
}

fn main() {
    tulip::run(main_coro(3));
}
