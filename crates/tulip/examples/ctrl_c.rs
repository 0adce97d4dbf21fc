//! Ctrl-C in `tulip::run`, the way asyncio 3.11's `Runner` handles it.
//!
//! ```text
//! cargo run -p tulip --example ctrl_c [JOB_MS] [--no-ctrl-c]
//! ```
//!
//! The program starts a task that never ends and a blocking job of `JOB_MS` milliseconds
//! (500 by default), says `ready`, and sleeps for an hour. Press Ctrl-C:
//!
//! 1. the main future is cancelled (dropped) — `main future dropped`;
//! 2. the loop shuts down as `Runner::close` does: the leftover task is dropped — `leftover
//!    task dropped` — and the blocking pool is joined, up to the shutdown timeout (30 s here)
//!    — `blocking job finished`;
//! 3. the process ends killed by SIGINT, as an interrupted Python program does; a shell
//!    reports exit status 130. Nothing after `run` executes.
//!
//! A second Ctrl-C during step 2 ends the process at once. With `--no-ctrl-c`
//! (`RunnerBuilder::handle_ctrl_c(false)`), Ctrl-C has its default action: the process dies
//! on the spot and nothing is cleaned up. `tests/rt_ctrl_c.rs` runs this example.

use std::io::Write;
use std::sync::Arc;
use std::time::Duration;

/// Says something when dropped.
struct Say(&'static str);

impl Drop for Say {
    fn drop(&mut self) {
        say(self.0);
    }
}

fn say(what: &str) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{what}");
    let _ = out.flush();
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let job = Duration::from_millis(args.iter().find_map(|a| a.parse().ok()).unwrap_or(500));
    let handle_ctrl_c = !args.iter().any(|a| a == "--no-ctrl-c");
    let runner = tulip::Runner::builder()
        .shutdown_timeout(Duration::from_secs(30))
        .handle_ctrl_c(handle_ctrl_c)
        .build();
    runner.run(async move {
        let _main = Say("main future dropped");
        tulip::spawn(async {
            let _task = Say("leftover task dropped");
            std::future::pending::<()>().await
        })
        .detach();
        let started = Arc::new(tulip::sync::Event::new());
        let s = started.clone();
        let _job = tulip::spawn_blocking(move || {
            s.set();
            std::thread::sleep(job);
            say("blocking job finished");
        });
        started.wait().await;
        say("ready");
        tulip::sleep(Duration::from_secs(3600)).await;
    });
    say("run returned");
}
