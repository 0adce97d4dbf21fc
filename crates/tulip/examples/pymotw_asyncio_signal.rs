//! Handling Unix signals with loop callbacks: PyMOTW-3's `asyncio_signal.py`
//! (dhellmann/pymotw-3, `source/asyncio/`), in tulip. Expected output:
//! tests/data/pymotw/asyncio_signal.txt.
//!
//! ```text
//! cargo run -p tulip --example pymotw_asyncio_signal
//! ```
//!
//! `LoopHandle::add_signal_handler` is `loop.add_signal_handler`: the callback runs on the
//! loop, never in the signal handler itself. The program signals itself with `kill(2)`
//! (`os.kill(os.getpid(), …)`), here through the `kill` command, as std has no call to signal a
//! process; the signal numbers are `tulip::signal`'s constants. The
//! handlers are added inside the loop (tulip's loop exists only while it runs).

use std::time::Duration;

use tulip::signal::{SIGHUP, SIGINT, SIGUSR1};
use tulip::EventLoop;

fn signal_handler(name: &str) {
    println!("signal_handler({name:?})");
}

/// Sends `sig` to this process.
fn kill_self(sig: i32) -> std::io::Result<()> {
    let status = std::process::Command::new("kill")
        .arg(format!("-{sig}"))
        .arg(std::process::id().to_string())
        .status()?;
    if status.success() {
        Ok(())
    } else {
        Err(std::io::Error::other(format!(
            "kill -{sig} failed: {status}"
        )))
    }
}

async fn send_signals() -> std::io::Result<()> {
    let event_loop = EventLoop::current();
    for (sig, name) in [(SIGHUP, "SIGHUP"), (SIGUSR1, "SIGUSR1"), (SIGINT, "SIGINT")] {
        event_loop.add_signal_handler(sig, move || signal_handler(name))?;
    }
    let pid = std::process::id();
    println!("starting send_signals for {pid}");
    for (sig, name) in [
        (SIGHUP, "SIGHUP"),
        (SIGHUP, "SIGHUP"),
        (SIGUSR1, "SIGUSR1"),
        (SIGINT, "SIGINT"),
    ] {
        println!("sending {name}");
        kill_self(sig)?;
        // Yield control to let the signal handler run: the signal does not interrupt the
        // program's flow.
        println!("yielding control");
        tulip::sleep(Duration::from_millis(10)).await;
    }
    Ok(())
}

fn main() -> std::io::Result<()> {
    tulip::run(send_signals())
}
