//! Using an event: PyMOTW-3's `asyncio_event.py` (dhellmann/pymotw-3, `source/asyncio/`), in
//! tulip. Expected output: tests/data/pymotw/asyncio_event.txt.
//!
//! ```text
//! cargo run -p tulip --example pymotw_asyncio_event
//! ```
//!
//! Python 3.11's `asyncio.wait` wants tasks, so the coroutines are spawned.

use std::sync::Arc;
use std::time::Duration;

use tulip::sync::Event;
use tulip::EventLoop;

fn set_event(event: &Event) {
    println!("setting event in callback");
    event.set();
}

async fn coro1(event: Arc<Event>) {
    println!("coro1 waiting for event");
    event.wait().await;
    println!("coro1 triggered");
}

async fn coro2(event: Arc<Event>) {
    println!("coro2 waiting for event");
    event.wait().await;
    println!("coro2 triggered");
}

#[tulip::main]
async fn main() {
    // Create a shared event.
    let event = Arc::new(Event::new());
    println!("event start state: {}", event.is_set());
    let e = event.clone();
    EventLoop::current().call_later(Duration::from_millis(100), move || set_event(&e));
    let tasks = [
        tulip::spawn(coro1(event.clone())),
        tulip::spawn(coro2(event.clone())),
    ];
    tulip::wait(tasks).await;
    println!("event end state: {}", event.is_set());
}
