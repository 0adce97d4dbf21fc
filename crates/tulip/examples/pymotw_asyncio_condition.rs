//! Using a condition: PyMOTW-3's `asyncio_condition.py` (dhellmann/pymotw-3,
//! `source/asyncio/`), in tulip. Expected output: tests/data/pymotw/asyncio_condition.txt.
//!
//! ```text
//! cargo run -p tulip --example pymotw_asyncio_condition
//! ```
//!
//! `async with condition:` is holding the guard of `condition.lock()`; `wait` takes the guard
//! and gives it back once notified. Python 3.11's `asyncio.wait` wants tasks, so the
//! consumers are spawned.

use std::sync::Arc;
use std::time::Duration;

use tulip::sync::Condition;

async fn consumer(condition: Arc<Condition>, n: usize) {
    {
        let guard = condition.lock().await;
        println!("consumer {n} is waiting");
        let _guard = condition.wait(guard).await;
        println!("consumer {n} triggered");
    }
    println!("ending consumer {n}");
}

async fn manipulate_condition(condition: Arc<Condition>) {
    println!("starting manipulate_condition");
    // Pause to let the consumers start.
    tulip::sleep(Duration::from_millis(100)).await;
    for i in 1..3 {
        {
            let _guard = condition.lock().await;
            println!("notifying {i} consumers");
            condition.notify(i);
        }
        tulip::sleep(Duration::from_millis(100)).await;
    }
    let _guard = condition.lock().await;
    println!("notifying remaining consumers");
    condition.notify_all();
    println!("ending manipulate_condition");
}

#[tulip::main]
async fn main() {
    // Create a condition.
    let condition = Arc::new(Condition::new());
    // Set up the tasks watching the condition.
    let consumers: Vec<_> = (0..5)
        .map(|i| tulip::spawn(consumer(condition.clone(), i)))
        .collect();
    // Schedule a task to manipulate the condition variable.
    tulip::spawn(manipulate_condition(condition)).detach();
    // Wait for the consumers to be done.
    tulip::wait(consumers).await;
}
