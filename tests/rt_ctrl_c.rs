//! Ctrl-C in `Runner::run`, end to end: the `ctrl_c` example (crates/tulip/examples) runs as
//! a child process and gets SIGINT, the way a terminal sends it.
//!
//! asyncio 3.11's Runner (CPython `Lib/asyncio/runners.py`, `Runner.run`, `_on_sigint`, and
//! `test_asyncio/test_runners.py`: `test_signal_install_not_supported_ok`,
//! `test_interrupt_call_soon`, `test_interrupt_cancelled_task`): the first SIGINT cancels the
//! main task; the loop shuts down in order; the process then dies by SIGINT (Python re-raises
//! KeyboardInterrupt and ends killed by SIGINT); a second one during the shutdown ends it at
//! once; only a loop on the main thread over SIGINT's default disposition installs it, and
//! a program that handles SIGINT itself keeps it.

mod sig_support;

use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::time::Instant;

use sig_support::{process_catches, process_ignores, Example, STEP};
use tulip::signal::SIGINT;

const EXAMPLE: &str = env!("CARGO_BIN_EXE_ctrl_c");

fn start(args: &[&str]) -> Example {
    let mut ex = Example::start(EXAMPLE, args, |_| {});
    ex.expect("ready");
    ex
}

#[test]
fn the_first_ctrl_c_cancels_main_closes_the_loop_and_the_process_dies_by_sigint() {
    let ex = start(&[]);
    assert!(
        process_catches(ex.pid(), SIGINT),
        "run did not install its handler"
    );
    ex.signal(SIGINT);
    let (lines, status) = ex.finish();
    assert_eq!(
        lines,
        [
            "main future dropped",
            "leftover task dropped",
            "blocking job finished"
        ],
        "the shutdown sequence"
    );
    assert_eq!(status.signal(), Some(SIGINT), "{status}");
}

// What a shell reports for it: 130 (128 + SIGINT).
#[test]
fn a_shell_sees_exit_status_130() {
    let mut ex = Example::start(
        "/bin/sh",
        &["-c", "\"$0\"; echo \"the shell saw $?\"", EXAMPLE],
        |_| {},
    );
    let ready = ex.expect("ready (pid ");
    let pid: u32 = ready
        .trim_start_matches("ready (pid ")
        .trim_end_matches(')')
        .parse()
        .unwrap();
    sig_support::kill(pid, SIGINT);
    let (lines, status) = ex.finish();
    assert_eq!(lines.last().map(String::as_str), Some("the shell saw 130"));
    assert!(status.success());
}

#[test]
fn a_second_ctrl_c_during_the_shutdown_ends_the_process_at_once() {
    // The blocking job takes 60 s and the shutdown would wait 30 s for it.
    let mut ex = start(&["60000"]);
    ex.signal(SIGINT);
    ex.expect("main future dropped");
    ex.expect("leftover task dropped"); // now joining the blocking pool
    let second = Instant::now();
    ex.signal(SIGINT);
    let (lines, status) = ex.finish();
    assert!(second.elapsed() < STEP);
    assert!(lines.is_empty(), "{lines:?}");
    assert_eq!(status.signal(), Some(SIGINT), "{status}");
}

#[test]
fn with_handle_ctrl_c_off_sigint_has_its_default_action() {
    let ex = start(&["--no-ctrl-c"]);
    assert!(!process_catches(ex.pid(), SIGINT));
    ex.signal(SIGINT);
    let (lines, status) = ex.finish();
    assert!(lines.is_empty(), "nothing was cleaned up: {lines:?}");
    assert_eq!(status.signal(), Some(SIGINT), "{status}");
}

// asyncio: the Runner installs its handler only over `default_int_handler`; a process that
// starts with SIGINT ignored (a background job of a non-interactive shell) keeps ignoring it.
#[test]
fn a_process_started_with_sigint_ignored_keeps_ignoring_it() {
    let ex = Example::start(EXAMPLE, &[], |cmd| {
        // SAFETY: signal(2) is async-signal-safe, as a pre_exec hook must be; it only sets
        // SIGINT's disposition in the child before it runs the example.
        unsafe {
            cmd.pre_exec(|| {
                libc::signal(libc::SIGINT, libc::SIG_IGN);
                Ok(())
            });
        }
    });
    let mut ex = ex;
    ex.expect("ready");
    assert!(process_ignores(ex.pid(), SIGINT));
    assert!(!process_catches(ex.pid(), SIGINT));
}

// A program that waits for Ctrl-C itself (`tulip::signal::ctrl_c`) gets it; `run` stands
// aside, returns normally, and the process exits with status 0.
#[test]
fn a_program_that_awaits_ctrl_c_handles_it_itself() {
    let ex = start(&["--await-ctrl-c"]);
    ex.signal(SIGINT);
    let (lines, status) = ex.finish();
    assert_eq!(
        lines.first().map(String::as_str),
        Some("ctrl_c() completed")
    );
    assert!(lines.iter().any(|l| l == "run returned"), "{lines:?}");
    assert!(status.success(), "{status}");
}
