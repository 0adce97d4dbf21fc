//! A tour of tulip: the asyncio programs you know, in Rust.
//!
//! Run it with `cargo run --release -p tulip --example tour`.

use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;

use tulip::streams::{open_connection, start_server, StreamReader, StreamWriter};
use tulip::time::{timeout, Instant};
use tulip::EventLoop;

async fn say_after(delay: Duration, what: &str) {
    tulip::sleep(delay).await;
    println!("  {what}");
}

/// asyncio's streams echo handler: one task per connection, a line at a time.
async fn handle_echo(mut reader: StreamReader, writer: StreamWriter) -> std::io::Result<()> {
    loop {
        let line = reader.readline().await?;
        if line.is_empty() {
            return Ok(()); // the client closed its side
        }
        writer.write(&line);
        writer.drain().await?;
    }
}

#[tulip::main]
async fn main() -> std::io::Result<()> {
    let t0 = Instant::now();
    let elapsed = || format!("{:>4} ms", t0.elapsed().as_millis());

    println!("1. Hello, world — two tasks run concurrently (asyncio's create_task):");
    let a = tulip::spawn(say_after(Duration::from_millis(100), "hello"));
    let b = tulip::spawn(say_after(Duration::from_millis(200), "world"));
    a.await.unwrap();
    b.await.unwrap();
    println!(
        "   both done at {} (not 300 ms: they slept together)",
        elapsed()
    );

    println!("2. Timeouts (asyncio.timeout / wait_for):");
    match timeout(
        Duration::from_millis(50),
        tulip::sleep(Duration::from_secs(10)),
    )
    .await
    {
        Ok(()) => println!("   finished in time?!"),
        Err(e) => println!("   gave up after 50 ms: {e}"),
    }

    println!("3. Cancellation (Task.cancel) drops the task at its await point:");
    let sleeper = tulip::task::Builder::new()
        .name("sleeper")
        .spawn(tulip::sleep(Duration::from_secs(3600)));
    tulip::yield_now().await;
    println!("   cancel() -> {}", sleeper.cancel());
    println!(
        "   awaiting it -> {:?}",
        sleeper.await.map_err(|e| e.to_string())
    );

    println!("4. A panicking task is reported, not fatal:");
    let boom = tulip::task::Builder::new()
        .name("boom")
        .spawn(async { panic!("something broke") });
    println!(
        "   awaiting it -> is_panic = {}",
        boom.await.unwrap_err().is_panic()
    );

    println!("5. Low-level callbacks (call_soon / call_later) run in order:");
    let lp = EventLoop::current();
    let log = Rc::new(RefCell::new(Vec::new()));
    for (delay, name) in [(30u64, "later"), (10, "sooner")] {
        let log = log.clone();
        lp.call_later(Duration::from_millis(delay), move || {
            log.borrow_mut().push(name)
        });
    }
    let l = log.clone();
    lp.call_soon(move || l.borrow_mut().push("soon"));
    tulip::sleep(Duration::from_millis(50)).await;
    println!("   {:?}", log.borrow());

    println!("6. A TCP echo server and 20 clients (asyncio's start_server / open_connection):");
    let server = start_server(handle_echo, "127.0.0.1:0").await?;
    let addr = server.local_addrs()[0].to_string();
    println!("   serving on {addr}");
    let clients: Vec<_> = (0..20)
        .map(|i| {
            let addr = addr.clone();
            tulip::spawn(async move {
                let (mut reader, writer) = open_connection(addr.as_str()).await?;
                let line = format!("message {i}\n");
                writer.write(line.as_bytes());
                writer.drain().await?;
                let back = reader.readline().await?;
                assert_eq!(back, line.as_bytes());
                writer.close();
                writer.wait_closed().await
            })
        })
        .collect();
    for c in clients {
        c.await.unwrap()?;
    }
    server.close();
    server.wait_closed().await;
    println!(
        "   20 round trips echoed; every handler finished, at {}",
        elapsed()
    );

    println!("7. Virtual time: an hour-long sleep on a paused clock takes no time:");
    let wall = std::time::Instant::now();
    let runner_thread = std::thread::spawn(|| {
        tulip::Runner::builder()
            .start_paused(true)
            .build()
            .run(async {
                let start = Instant::now();
                tulip::sleep(Duration::from_secs(3600)).await;
                Instant::now() - start
            })
    });
    let virtual_elapsed = runner_thread.join().unwrap();
    println!(
        "   slept {:?} of virtual time in {:?} of real time",
        virtual_elapsed,
        wall.elapsed()
    );
    println!("done at {}", elapsed());
    Ok(())
}
