//! Producer and consumers around a bounded queue: PyMOTW-3's `asyncio_queue.py`
//! (dhellmann/pymotw-3, `source/asyncio/`), in tulip. Expected output:
//! tests/data/pymotw/asyncio_queue.txt.
//!
//! ```text
//! cargo run -p tulip --example pymotw_asyncio_queue
//! ```
//!
//! `None` as the stop signal becomes `Option::None` in a `Queue<Option<u64>>`; items print as
//! Python prints them.

use std::time::Duration;

use tulip::queue::Queue;

async fn consumer(n: usize, q: Queue<Option<u64>>) {
    println!("consumer {n}: starting");
    loop {
        println!("consumer {n}: waiting for item");
        let item = q.get().await.expect("the queue is never shut down");
        match item {
            None => {
                println!("consumer {n}: has item None");
                // None is the signal to stop.
                q.task_done().expect("one task_done per item");
                break;
            }
            Some(item) => {
                println!("consumer {n}: has item {item}");
                tulip::sleep(Duration::from_millis(10 * item)).await;
                q.task_done().expect("one task_done per item");
            }
        }
    }
    println!("consumer {n}: ending");
}

async fn producer(q: Queue<Option<u64>>, num_workers: usize) {
    println!("producer: starting");
    // Add some numbers to the queue to simulate jobs.
    for i in 0..(num_workers as u64 * 3) {
        q.put(Some(i)).await.expect("the queue is never shut down");
        println!("producer: added task {i} to the queue");
    }
    // Add None entries to the queue to signal the consumers to exit.
    println!("producer: adding stop signals to the queue");
    for _ in 0..num_workers {
        q.put(None).await.expect("the queue is never shut down");
    }
    println!("producer: waiting for queue to empty");
    q.join().await;
    println!("producer: ending");
}

async fn main_coro(num_consumers: usize) {
    // A queue of fixed size, so that the producer blocks until the consumers take items out.
    let q = Queue::new(num_consumers);
    // Schedule the consumer tasks.
    let mut tasks: Vec<_> = (0..num_consumers)
        .map(|i| tulip::spawn(consumer(i, q.clone())))
        .collect();
    // Schedule the producer task.
    tasks.push(tulip::spawn(producer(q, num_consumers)));
    // Wait for all of them to finish.
    tulip::wait(tasks).await;
}

fn main() {
    tulip::run(main_coro(2));
}
