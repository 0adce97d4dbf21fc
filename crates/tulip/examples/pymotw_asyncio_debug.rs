//! Debug mode and slow-callback warnings: PyMOTW-3's `asyncio_debug.py` (dhellmann/pymotw-3,
//! `source/asyncio/`), in tulip. Expected output: tests/data/pymotw/asyncio_debug.txt and,
//! with `-v`, asyncio_debug-v.txt.
//!
//! ```text
//! cargo run -p tulip --example pymotw_asyncio_debug [-- -v]
//! ```
//!
//! `Runner::builder().debug(true).slow_callback_duration(d)` is `set_debug(True)` and
//! `slow_callback_duration`; the loop's exception handler receives each slow-poll report, and
//! this program logs it the way asyncio's logger does (`WARNING: Executing <Task …> took N
//! seconds`). Differences: asyncio also logs which selector it uses at DEBUG level, and
//! `ResourceWarning`s are Python's (Rust's ownership closes resources).

use std::time::Duration;

use tulip::rt::{ExceptionContext, ReportKind};

fn log(level: &str, message: &str) {
    eprintln!("{level:>7}: {message}");
}

/// The loop's exception handler: slow polls as asyncio logs them, the rest as tulip does.
fn report(ctx: &ExceptionContext<'_>) {
    match ctx.kind {
        ReportKind::SlowPoll | ReportKind::SlowCallback => {
            let what = match (ctx.task_name, ctx.task_id) {
                (Some(name), Some(id)) => format!("<Task pending name={name:?} id={id}>"),
                (None, Some(id)) => format!("<Task pending id={id}>"),
                _ => "<callback>".to_string(),
            };
            let secs = ctx.duration.unwrap_or_default().as_secs_f64();
            log(
                "WARNING",
                &format!("Executing {what} took {secs:.3} seconds"),
            );
        }
        _ => log("ERROR", &ctx.to_string()),
    }
}

async fn inner() {
    log("INFO", "inner starting");
    // A blocking sleep stands for work done inside the function.
    std::thread::sleep(Duration::from_millis(100));
    log("INFO", "inner completed");
}

async fn outer() {
    log("INFO", "outer starting");
    let task = tulip::task::Builder::new().name("inner").spawn(inner());
    task.await.expect("inner does not fail");
    log("INFO", "outer completed");
}

fn main() {
    let verbose = std::env::args().skip(1).any(|a| a == "-v");
    let mut builder = tulip::Runner::builder().exception_handler(report);
    if verbose {
        log("INFO", "enabling debugging");
        // Make the threshold for "slow" very small, for illustration (the default is 100 ms).
        builder = builder
            .debug(true)
            .slow_callback_duration(Duration::from_millis(1))
            // asyncio has no watchdog for a blocked loop thread; tulip's would report the
            // blocking sleep in `inner` while it happens, besides the slow-poll warning.
            .watchdog(None);
    }
    let event_loop = builder.build();
    log("INFO", "entering event loop");
    event_loop.run(async {
        tulip::task::Builder::new()
            .name("outer")
            .spawn(outer())
            .await
            .expect("outer does not fail")
    });
}
