//! Signal and child-process faults (issue 20, "Reliability"):
//!
//! - 100 000 `SIGUSR1` sent by another process while the loop serves TCP echo traffic: no
//!   crash, no deadlock, the handler runs (deliveries coalesce, so at least once), and echo
//!   round trips complete during the storm.
//! - A `SIGCHLD` storm from 1 000 short children, on the pidfd reaper and on the SIGCHLD one:
//!   every child reaped, waited-for or dropped, and no zombie of ours left in `/proc`.
//! - A child that closes its stdout early while we read it and write its stdin: end of stream
//!   at once, writes go on (or fail with `BrokenPipe` once it closes stdin too), the exit
//!   status is reported.
//!
//! Signal handlers and reapers are process-wide, so each test runs alone in a child process
//! (`TULIP_TEST_CHILD`) with default dispositions (`tulip_tests::default_dispositions`).

use std::io::{self, BufRead, Write};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tulip::process::{Command, Stdio};
use tulip::signal::SIGUSR1;
use tulip::streams::{open_connection, start_server, StreamReader, StreamWriter};
use tulip::EventLoop;
use tulip_tests::{bounded, default_dispositions, is_child, run_in_child, CHILD_ENV};

/// Runs this test binary's `test` in a child with role `role` and the extra environment
/// `envs`, like [`run_in_child`] (which sets none).
fn run_in_child_with(test: &str, role: &str, envs: &[(&str, &str)]) {
    let mut cmd = std::process::Command::new(std::env::current_exe().unwrap());
    cmd.args([test, "--exact", "--nocapture", "--test-threads=1"])
        .env(CHILD_ENV, role)
        .envs(envs.iter().copied())
        .stdin(std::process::Stdio::null());
    default_dispositions(&mut cmd);
    let out = cmd.output().expect("start the child test process");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "the child ({role}) failed:\n{text}");
    assert!(
        text.contains("1 passed"),
        "the child ({role}) ran no test:\n{text}"
    );
    print!("{text}");
}

/// Waits (polling every 5 ms, bounded) until `cond` holds.
async fn wait_until(what: &str, mut cond: impl FnMut() -> bool) {
    bounded(what, async {
        while !cond() {
            tulip::sleep(Duration::from_millis(5)).await;
        }
    })
    .await;
}

async fn echo_lines(mut r: StreamReader, w: StreamWriter) {
    while let Ok(line) = r.readline().await {
        if line.is_empty() {
            break;
        }
        w.write(&line);
        if w.drain().await.is_err() {
            break;
        }
    }
}

const STORM: usize = 100_000;

// tokio tests/signal_multi_rt / signal_drop_signal and CPython test_asyncio test_unix_events
// (the self-pipe's wakeup fd, which must not block or overflow under a flood): another
// process sends SIGUSR1 in a tight loop — at least 100 000 of them, and on until told to
// stop — while the loop serves echo round trips.
#[test]
fn a_storm_of_100_000_sigusr1_from_another_process_leaves_the_loop_responsive() {
    const TEST: &str = "a_storm_of_100_000_sigusr1_from_another_process_leaves_the_loop_responsive";
    if is_child("sigusr1-sender") {
        sender();
        return;
    }
    if !is_child("sigusr1-storm") {
        run_in_child(TEST, "sigusr1-storm");
        return;
    }
    tulip::run(async {
        let hits = Arc::new(AtomicUsize::new(0));
        let h = hits.clone();
        EventLoop::current()
            .add_signal_handler(SIGUSR1, move || {
                h.fetch_add(1, Ordering::Relaxed);
            })
            .unwrap();
        let server = start_server(echo_lines, "127.0.0.1:0").await.unwrap();
        let addr = server.local_addrs()[0].as_inet().unwrap();
        let mut sender = Command::new(std::env::current_exe().unwrap())
            .args([TEST, "--exact", "--nocapture", "--test-threads=1"])
            .env(CHILD_ENV, "sigusr1-sender")
            .env("TULIP_STORM_TARGET", std::process::id().to_string())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        wait_until("the first delivery", || hits.load(Ordering::Relaxed) > 0).await;
        let before = hits.load(Ordering::Relaxed);
        // Round trips on fresh connections and on one kept open, while the storm goes on.
        // At least 50, and on until a delivery is seen during them (bounded: 10 s): how many
        // deliveries land in a given stretch is the scheduler's business, that some do is ours.
        let (mut r, w) = open_connection(addr).await.unwrap();
        let started = std::time::Instant::now();
        let mut i = 0;
        while i < 50
            || (hits.load(Ordering::Relaxed) == before
                && started.elapsed() < Duration::from_secs(10))
        {
            i += 1;
            let line = format!("during the storm {i}\n");
            w.write(line.as_bytes());
            assert_eq!(
                bounded("an echo in the storm", r.readline()).await.unwrap(),
                line.as_bytes()
            );
            let (mut r2, w2) = bounded("a connect in the storm", open_connection(addr))
                .await
                .unwrap();
            w2.write(b"fresh\n");
            assert_eq!(
                bounded("a fresh echo", r2.readline()).await.unwrap(),
                b"fresh\n"
            );
        }
        let during = hits.load(Ordering::Relaxed) - before;
        let stdin = sender.stdin.take().unwrap();
        stdin.write(b"stop\n");
        stdin.drain().await.unwrap();
        let mut out = sender.stdout.take().unwrap();
        let report = bounded("the sender's report", out.read_to_end())
            .await
            .unwrap();
        let report = String::from_utf8_lossy(&report);
        let status = bounded("the sender's exit", sender.wait()).await.unwrap();
        assert!(status.success(), "{report}");
        // The harness prints the test's name on the same line, before the count.
        let sent: usize = report
            .split("sent ")
            .nth(1)
            .and_then(|n| n.split_whitespace().next()?.parse().ok())
            .unwrap_or_else(|| panic!("no count in {report}"));
        assert!(sent >= STORM, "{sent}");
        // The loop settles: deliveries still pending run, then the count stops.
        tulip::sleep(Duration::from_millis(50)).await;
        let total = hits.load(Ordering::Relaxed);
        println!("{sent} SIGUSR1 sent, {total} deliveries seen ({during} during the round trips)");
        assert!(total >= 1 && total <= sent);
        assert!(
            during > 0,
            "no delivery during {i} round trips over {:?} of the storm",
            started.elapsed()
        );
        w.write(b"after\n");
        assert_eq!(
            bounded("an echo after", r.readline()).await.unwrap(),
            b"after\n"
        );
        assert!(EventLoop::current().remove_signal_handler(SIGUSR1));
        server.close();
    });
}

/// The storm's other process: a thread sends SIGUSR1 to the target in a tight loop; the main
/// thread stops it when a line (or end of file) arrives on stdin, once at least [`STORM`]
/// signals went out, and prints how many.
fn sender() {
    let target: libc::pid_t = std::env::var("TULIP_STORM_TARGET")
        .unwrap()
        .parse()
        .unwrap();
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let thread = {
        let stop = stop.clone();
        std::thread::spawn(move || {
            let mut sent = 0usize;
            while sent < STORM || !stop.load(Ordering::Relaxed) {
                // SAFETY: kill(2) takes two integers and has no memory-safety preconditions.
                if unsafe { libc::kill(target, libc::SIGUSR1) } != 0 {
                    panic!("kill: {}", io::Error::last_os_error());
                }
                sent += 1;
            }
            sent
        })
    };
    // Until a line or end of file: the pipe may be non-blocking (its flags are the open file's,
    // shared with the parent's end), so WouldBlock means "not yet", not "stop".
    let mut line = String::new();
    loop {
        match io::stdin().lock().read_line(&mut line) {
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                std::thread::sleep(std::time::Duration::from_millis(1));
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            _ => break,
        }
    }
    stop.store(true, Ordering::Relaxed);
    let sent = thread.join().unwrap();
    let mut out = io::stdout().lock();
    writeln!(out, "sent {sent}").unwrap();
    out.flush().unwrap();
}

/// The pids of this process's zombie children, from `/proc/<pid>/stat` (state `Z`, parent us).
fn zombie_children() -> Vec<u32> {
    let me = std::process::id();
    let mut zombies = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
            continue;
        };
        // "pid (comm) state ppid ...": comm may hold spaces and parentheses, so split after
        // the last ')'.
        let Some(rest) = stat.rfind(')').map(|i| &stat[i + 1..]) else {
            continue;
        };
        let mut fields = rest.split_whitespace();
        let (state, ppid) = (fields.next(), fields.next());
        if state == Some("Z") && ppid == Some(&me.to_string()) {
            zombies.push(pid);
        }
    }
    zombies
}

fn sigchld_storm() {
    tulip::run(async {
        const N: usize = 1000;
        const WAVE: usize = 100;
        let mut reaped_by_pidfd = 0;
        for wave in 0..N / WAVE {
            let mut waited = Vec::new();
            for i in 0..WAVE {
                let child = Command::new("true").spawn().unwrap();
                reaped_by_pidfd += usize::from(child.reaped_by_pidfd());
                // Half are waited for, half dropped (reaped in the background).
                if i % 2 == 0 {
                    waited.push(tulip::spawn(async move { child.wait().await }));
                }
            }
            for t in waited {
                let status = bounded("a child's exit", t).await.unwrap().unwrap();
                assert!(status.success(), "wave {wave}: {status}");
            }
        }
        println!("{N} children, {reaped_by_pidfd} reaped through a pidfd");
        if std::env::var("TULIP_REAPER").as_deref() == Ok("sigchld") {
            assert_eq!(reaped_by_pidfd, 0);
        }
        // The dropped ones are reaped in the background as their exits are seen.
        let mut zombies = zombie_children();
        bounded("no zombie left", async {
            while !zombies.is_empty() {
                tulip::sleep(Duration::from_millis(10)).await;
                zombies = zombie_children();
            }
        })
        .await;
    });
    assert!(zombie_children().is_empty());
}

// CPython test_asyncio test_subprocess (many children at once; the SIGCHLD watchers'
// tests in test_unix_events) and tokio tests/process_smoke / process_issue_2174: 1 000 short
// children, in waves of 100, half awaited and half dropped, on the pidfd reaper and on the
// SIGCHLD reaper (a genuine storm of SIGCHLD): all exit successfully, all are reaped.
#[test]
fn a_sigchld_storm_of_1000_children_reaps_them_all() {
    const TEST: &str = "a_sigchld_storm_of_1000_children_reaps_them_all";
    if is_child("sigchld-storm") {
        sigchld_storm();
        return;
    }
    run_in_child_with(TEST, "sigchld-storm", &[("TULIP_REAPER", "pidfd")]);
    run_in_child_with(TEST, "sigchld-storm", &[("TULIP_REAPER", "sigchld")]);
}

// CPython test_asyncio test_subprocess (test_close_dont_kill_finished / reading a pipe whose
// writer is gone; test_stdin_broken_pipe): a child that closes its stdout early. We read end
// of stream at once although it runs on; we keep writing its stdin; then a child that closes
// both: our writes fail with BrokenPipe (no SIGPIPE: SIGPIPE is at its default here), our
// reads end, and the exit status comes through.
#[test]
fn a_child_that_closes_stdout_early() {
    const ROLE: &str = "early-stdout";
    if !is_child(ROLE) {
        run_in_child("a_child_that_closes_stdout_early", ROLE);
        return;
    }
    // SAFETY: restoring SIGPIPE's default disposition is a plain signal(2) call with a valid
    // signal number and handler constant; no handler code runs in this process.
    let prev = unsafe { libc::signal(libc::SIGPIPE, libc::SIG_DFL) };
    assert_ne!(prev, libc::SIG_ERR);
    tulip::run(async {
        let mut child = Command::new("sh")
            .args(["-c", "echo first; exec 1>&-; wc -c; exit 3"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut out = child.stdout.take().unwrap();
        assert_eq!(
            bounded("the first line", out.readline()).await.unwrap(),
            b"first\n"
        );
        // End of stream while the child runs on (it waits for our stdin).
        assert!(bounded("stdout's end", out.read(100))
            .await
            .unwrap()
            .is_empty());
        assert_eq!(child.returncode(), None);
        let stdin = child.stdin.take().unwrap();
        for _ in 0..16 {
            stdin.write(&[b'i'; 64 << 10]);
            bounded("writing on", stdin.drain()).await.unwrap();
        }
        stdin.close();
        let status = bounded("the exit", child.wait()).await.unwrap();
        assert_eq!(status.code(), Some(3));
        assert_eq!(child.returncode(), Some(3));

        // Closes both after one line of ours; we go on writing.
        let mut child = Command::new("sh")
            .args([
                "-c",
                "read line; echo \"got $line\"; exec 1>&- 0<&-; sleep 0.2",
            ])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let stdin = child.stdin.take().unwrap();
        let mut out = child.stdout.take().unwrap();
        stdin.write(b"hello\n");
        assert_eq!(
            bounded("its answer", out.readline()).await.unwrap(),
            b"got hello\n"
        );
        assert!(bounded("stdout's end", out.read(100))
            .await
            .unwrap()
            .is_empty());
        let mut failed = None;
        for _ in 0..64 {
            stdin.write(&[b'x'; 64 << 10]);
            if let Err(e) = bounded("writing to a closed stdin", stdin.drain()).await {
                failed = Some(e);
                break;
            }
        }
        let err = failed.expect("4 MB into a closed pipe never failed");
        assert_eq!(err.kind(), io::ErrorKind::BrokenPipe, "{err}");
        assert!(bounded("the exit", child.wait()).await.unwrap().success());
    });
    println!("no SIGPIPE");
}
