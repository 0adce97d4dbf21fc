//! Ctrl-C in `tulip::run`, the way asyncio 3.11's `Runner` handles it.
//!
//! ```text
//! cargo run -p tulip --example ctrl_c [JOB_MS] [--no-ctrl-c | --await-ctrl-c]
//! ```
//!
//! The program starts a task that never ends and a blocking job of `JOB_MS` milliseconds
//! (500 by default), says `ready` with its pid, and sleeps for an hour. Press Ctrl-C:
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
//! on the spot and nothing is cleaned up. With `--await-ctrl-c` the program handles Ctrl-C
//! itself (`tulip::signal::ctrl_c().await` instead of the sleep), so `run` leaves it alone:
//! `run` returns normally and the process exits with status 0. `tests/rt_ctrl_c.rs` runs this
//! example.

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
    let await_ctrl_c = args.iter().any(|a| a == "--await-ctrl-c");
    let runner = tulip::Runner::builder()
        .shutdown_timeout(Duration::from_secs(30))
        .handle_ctrl_c(handle_ctrl_c)
        .build();
    runner.run(async move {
        let _main = Say("main future dropped");
        let task_started = Arc::new(tulip::sync::Event::new());
        let t = task_started.clone();
        tulip::spawn(async move {
            let _task = Say("leftover task dropped");
            t.set();
            std::future::pending::<()>().await
        })
        .detach();
        let job_started = Arc::new(tulip::sync::Event::new());
        let j = job_started.clone();
        let _job = tulip::spawn_blocking(move || {
            j.set();
            std::thread::sleep(job);
            say("blocking job finished");
        });
        // Caught from here on when we handle it ourselves.
        let ctrl_c = await_ctrl_c.then(tulip::signal::ctrl_c);
        task_started.wait().await;
        job_started.wait().await;
        say(&format!("ready (pid {})", std::process::id()));
        match ctrl_c {
            Some(ctrl_c) => {
                ctrl_c.await.expect("wait for Ctrl-C");
                say("ctrl_c() completed");
            }
            None => tulip::sleep(Duration::from_secs(3600)).await,
        }
    });
    say("run returned");
}
