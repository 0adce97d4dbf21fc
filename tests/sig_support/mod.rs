//! Helpers of the process and signal tests: what `/proc` says about signal dispositions and
//! children, raising a signal, and child test processes whose death is the point.

#![allow(dead_code)] // Each test file uses a part.

use std::process::{Command, Output};
use std::time::{Duration, Instant};

/// A signal mask field of `/proc/<pid>/status` (`SigCgt`: caught, `SigIgn`: ignored,
/// `SigBlk`: blocked), for this process when `pid` is `None`.
pub(crate) fn sig_mask(pid: Option<u32>, field: &str) -> u64 {
    let path = match pid {
        Some(p) => format!("/proc/{p}/status"),
        None => "/proc/self/status".to_string(),
    };
    let status = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("read {path}: {e}"));
    let line = status
        .lines()
        .find_map(|l| l.strip_prefix(&format!("{field}:")))
        .unwrap_or_else(|| panic!("no {field} in {path}"));
    u64::from_str_radix(line.trim(), 16).unwrap()
}

fn bit(sig: i32) -> u64 {
    1 << (sig - 1)
}

/// Whether this process has a handler installed for `sig`.
pub(crate) fn catches(sig: i32) -> bool {
    sig_mask(None, "SigCgt") & bit(sig) != 0
}

/// Whether this process ignores `sig`.
pub(crate) fn ignores(sig: i32) -> bool {
    sig_mask(None, "SigIgn") & bit(sig) != 0
}

/// Whether process `pid` has a handler for `sig`.
pub(crate) fn process_catches(pid: u32, sig: i32) -> bool {
    sig_mask(Some(pid), "SigCgt") & bit(sig) != 0
}

/// Whether process `pid` ignores `sig`.
pub(crate) fn process_ignores(pid: u32, sig: i32) -> bool {
    sig_mask(Some(pid), "SigIgn") & bit(sig) != 0
}

/// `sig`'s disposition in this process is the default one (neither caught nor ignored).
pub(crate) fn is_default(sig: i32) -> bool {
    !catches(sig) && !ignores(sig)
}

/// Sends `sig` to the calling thread; the handler has run when this returns.
pub(crate) fn raise(sig: i32) {
    // SAFETY: raise(3) takes a signal number and has no memory-safety preconditions; every
    // caller has a handler (or wants the default action).
    let r = unsafe { libc::raise(sig) };
    assert_eq!(r, 0, "raise({sig})");
}

/// Sends `sig` to process `pid`.
pub(crate) fn kill(pid: u32, sig: i32) {
    // SAFETY: kill(2) takes two integers and has no memory-safety preconditions.
    let r = unsafe { libc::kill(pid as libc::pid_t, sig) };
    assert_eq!(r, 0, "kill({pid}, {sig})");
}

/// The state letter and parent of process `pid` (`/proc/<pid>/stat`), if it exists.
fn stat(pid: u32) -> Option<(char, u32)> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name is in parentheses and may contain spaces: read after the last `)`.
    let rest = &s[s.rfind(')')? + 2..];
    let mut fields = rest.split(' ');
    let state = fields.next()?.chars().next()?;
    let ppid = fields.next()?.parse().ok()?;
    Some((state, ppid))
}

/// Whether `pid` is a child of this process (alive or a zombie).
pub(crate) fn is_our_child(pid: u32) -> bool {
    stat(pid).is_some_and(|(_, ppid)| ppid == std::process::id())
}

/// Whether `pid` is a zombie child of this process: exited, not reaped.
pub(crate) fn is_our_zombie(pid: u32) -> bool {
    stat(pid).is_some_and(|(state, ppid)| state == 'Z' && ppid == std::process::id())
}

/// Waits (polling, bounded by 10 s) until `pid` is no longer a child of ours: it was reaped.
pub(crate) fn wait_until_reaped(pid: u32) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while is_our_child(pid) {
        assert!(
            Instant::now() < deadline,
            "child {pid} was not reaped within 10 s (state {:?})",
            stat(pid)
        );
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// Re-runs this test binary with only `test` and `TULIP_TEST_CHILD=role` (plus `env`), and
/// returns how it ended, whatever that was (for tests whose child is meant to die).
pub(crate) fn child_output(test: &str, role: &str, env: &[(&str, &str)]) -> Output {
    let exe = std::env::current_exe().expect("the test binary's path");
    let mut cmd = Command::new(exe);
    cmd.args([test, "--exact", "--nocapture", "--test-threads=1"])
        .env(tulip_tests::CHILD_ENV, role)
        .stdin(std::process::Stdio::null());
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().expect("start the child test process")
}

/// The text a child printed, stdout then stderr.
pub(crate) fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}
