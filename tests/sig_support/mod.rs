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
    tulip_tests::default_dispositions(&mut cmd);
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

/// An example program running as a child process, its stdout read line by line on a thread
/// of its own (so every wait is bounded).
pub(crate) struct Example {
    pub(crate) child: std::process::Child,
    lines: std::sync::mpsc::Receiver<String>,
}

/// How long a step of an example may take before the test counts it as hung.
pub(crate) const STEP: Duration = Duration::from_secs(10);

impl Example {
    /// Starts `program` with `args`; `configure` may adjust the command first.
    pub(crate) fn start(
        program: &str,
        args: &[&str],
        configure: impl FnOnce(&mut Command),
    ) -> Example {
        use std::io::BufRead;
        let mut cmd = Command::new(program);
        cmd.args(args)
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::piped());
        tulip_tests::default_dispositions(&mut cmd);
        configure(&mut cmd);
        let mut child = cmd.spawn().expect("start the example");
        let out = child.stdout.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in std::io::BufReader::new(out).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Example { child, lines: rx }
    }

    pub(crate) fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The next line of output (within [`STEP`]); `None` at the end of the output.
    pub(crate) fn line(&mut self) -> Option<String> {
        match self.lines.recv_timeout(STEP) {
            Ok(l) => Some(l),
            Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => None,
            Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {
                let tasks = std::fs::read_dir(format!("/proc/{}/task", self.pid()))
                    .map(|d| {
                        d.flatten()
                            .map(|t| {
                                let stat = std::fs::read_to_string(t.path().join("stat"))
                                    .unwrap_or_default();
                                let syscall = std::fs::read_to_string(t.path().join("syscall"))
                                    .unwrap_or_default();
                                let name = stat.split(')').next().unwrap_or("").to_string();
                                format!("{name}) {}", syscall.split(' ').next().unwrap_or(""))
                            })
                            .collect::<Vec<_>>()
                    })
                    .unwrap_or_default();
                let _ = self.child.kill();
                panic!("the example printed nothing for {STEP:?}; its threads: {tasks:?}");
            }
        }
    }

    /// The next line, which must start with `prefix`.
    pub(crate) fn expect(&mut self, prefix: &str) -> String {
        let line = self.line().unwrap_or_default();
        assert!(
            line.starts_with(prefix),
            "expected a line starting with {prefix:?}, got {line:?}"
        );
        line
    }

    /// Sends `sig` to the example.
    pub(crate) fn signal(&self, sig: i32) {
        kill(self.pid(), sig);
    }

    /// The rest of the output and how the example ended (within [`STEP`]).
    pub(crate) fn finish(mut self) -> (Vec<String>, std::process::ExitStatus) {
        let mut rest = Vec::new();
        while let Some(l) = self.line() {
            rest.push(l);
        }
        let deadline = Instant::now() + STEP;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return (rest, status);
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                panic!("the example did not exit within {STEP:?}; it printed {rest:?}");
            }
            std::thread::sleep(Duration::from_millis(2));
        }
    }
}

impl Drop for Example {
    fn drop(&mut self) {
        if self.child.try_wait().ok().flatten().is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}
