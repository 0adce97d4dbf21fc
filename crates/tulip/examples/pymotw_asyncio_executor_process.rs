//! Running blocking functions in other processes: PyMOTW-3's `asyncio_executor_process.py`
//! (dhellmann/pymotw-3, `source/asyncio/`), in tulip. Expected output:
//! tests/data/pymotw/asyncio_executor_process.txt.
//!
//! ```text
//! cargo run -p tulip --example pymotw_asyncio_executor_process
//! ```
//!
//! Rust has no process pool that ships closures to other processes (there is no pickling of
//! code), so the "executor" here is this same program run as a child: `blocks(n)` runs in a
//! child started as `<this program> --blocks n` with `tulip::process`, which logs to the
//! shared stderr and prints its result on stdout for the parent to read. A semaphore of 3
//! permits keeps at most 3 children running at once, as `ProcessPoolExecutor(max_workers=3)`
//! does. Differences: each call gets a fresh child (the Python's pool reuses 3 workers, so
//! its PIDs repeat); `done` comes back in completion order (Python's set is unordered).

use std::io::Write;
use std::sync::Arc;
use std::time::Duration;

use tulip::process::{Command, Stdio};
use tulip::sync::Semaphore;

/// Logs as the Python's `PID %(process)5s %(name)18s: %(message)s` format does, one write
/// per line (the children share stderr with the parent).
fn log(name: &str, message: &str) {
    let line = format!("PID {:>5} {name:>18}: {message}\n", std::process::id());
    // Nothing useful to do when stderr is gone.
    let _ = std::io::stderr().write_all(line.as_bytes());
}

/// The blocking function, run in a child process.
fn blocks(n: u64) -> u64 {
    let name = format!("blocks({n})");
    log(&name, "running");
    std::thread::sleep(Duration::from_millis(100));
    log(&name, "done");
    n * n
}

/// Runs `blocks(n)` in a child process of this program, at most `pool.available()` at once.
async fn run_in_child(pool: Arc<Semaphore>, n: u64) -> std::io::Result<u64> {
    let _worker = pool.acquire().await;
    let mut child = Command::new(std::env::current_exe()?)
        .args(["--blocks", &n.to_string()])
        .stdout(Stdio::piped())
        .spawn()?;
    let out = child.communicate(None).await?;
    if !out.status.success() {
        return Err(std::io::Error::other(format!(
            "worker for {n} failed: {}",
            out.status
        )));
    }
    String::from_utf8_lossy(&out.stdout)
        .trim()
        .parse()
        .map_err(std::io::Error::other)
}

async fn run_blocking_tasks() -> std::io::Result<()> {
    let name = "run_blocking_tasks";
    log(name, "starting");
    log(name, "creating executor tasks");
    // A limited process pool.
    let pool = Arc::new(Semaphore::new(3));
    let blocking_tasks: Vec<_> = (0..6)
        .map(|i| tulip::spawn(run_in_child(pool.clone(), i)))
        .collect();
    log(name, "waiting for executor tasks");
    let (completed, _pending) = tulip::wait(blocking_tasks).await;
    let results = completed
        .into_iter()
        .map(|t| t.into_output().map_err(std::io::Error::other)?)
        .collect::<std::io::Result<Vec<u64>>>()?;
    log(name, &format!("results: {results:?}"));
    log(name, "exiting");
    Ok(())
}

fn main() -> std::io::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if let [flag, n] = args.as_slice() {
        if flag == "--blocks" {
            let n = n.parse().map_err(std::io::Error::other)?;
            println!("{}", blocks(n));
            return Ok(());
        }
    }
    tulip::run(run_blocking_tasks())
}
