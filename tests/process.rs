//! Subprocesses through `tulip::process`: exit codes and deaths by signal, `communicate` with
//! large data, children that do not read or that exit before we read, many concurrent
//! children, cancelled waits, `kill_on_drop` and orphans (no zombie left), environment and
//! working directory, a missing program, the shell form.
//!
//! Cases come from CPython's `test_subprocess.py` and `test_asyncio/test_subprocess.py` and
//! from tokio's `tests/process_*.rs` (each says which). The reaper is the pidfd one here;
//! `the_suite_passes_again_on_the_sigchld_reaper` re-runs every test of this file in a child
//! process with `TULIP_REAPER=sigchld`.

mod sig_support;

use std::io;
use std::os::unix::process::ExitStatusExt;
use std::sync::Arc;
use std::time::Duration;

use sig_support::{is_our_child, is_our_zombie, wait_until_reaped};
use tulip::process::{create_subprocess_exec, create_subprocess_shell, Command, Stdio};
use tulip_tests::{bounded, is_child, run_in_child, TempDir};

/// Whether this run forces the SIGCHLD reaper.
fn sigchld_forced() -> bool {
    std::env::var("TULIP_REAPER").is_ok_and(|v| v == "sigchld")
}

fn sh(script: &str) -> Command {
    create_subprocess_shell(script)
}

// CPython test_subprocess (test_call_kwargs, test_returncode) and test_asyncio
// test_subprocess (test_shell, test_exec): exit codes through `wait` and `returncode`.
#[tulip::test]
async fn exit_codes_are_reported_by_wait_and_returncode() {
    for code in [0, 1, 42, 255] {
        let child = sh(&format!("exit {code}")).spawn().unwrap();
        let status = bounded("wait", child.wait()).await.unwrap();
        assert_eq!(status.code(), Some(code));
        assert_eq!(status.success(), code == 0);
        assert_eq!(child.returncode(), Some(code));
        assert!(!is_our_child(child.id()), "wait reaped it");
    }
}

// CPython test_asyncio test_subprocess (test_kill, test_terminate, test_send_signal):
// asyncio's returncode is -N for a child killed by signal N.
#[tulip::test]
async fn killed_children_report_minus_the_signal() {
    let child = Command::new("sleep").arg("60").spawn().unwrap();
    assert_eq!(child.returncode(), None);
    child.kill().unwrap();
    let status = bounded("wait", child.wait()).await.unwrap();
    assert_eq!(status.signal(), Some(libc::SIGKILL));
    assert_eq!(child.returncode(), Some(-libc::SIGKILL));

    let child = Command::new("sleep").arg("60").spawn().unwrap();
    child.terminate().unwrap();
    bounded("wait", child.wait()).await.unwrap();
    assert_eq!(child.returncode(), Some(-libc::SIGTERM));

    // SIGUSR1, not SIGHUP: a test run under `nohup` hands its children an ignored SIGHUP.
    let child = Command::new("sleep").arg("60").spawn().unwrap();
    child.send_signal(libc::SIGUSR1).unwrap();
    bounded("wait", child.wait()).await.unwrap();
    assert_eq!(child.returncode(), Some(-libc::SIGUSR1));
    // Signalling a reaped child sends nothing (its pid may be another process's) and is not
    // an error; an invalid number is the OS's error while the child runs.
    child.kill().unwrap();
    let running = Command::new("sleep").arg("60").spawn().unwrap();
    assert_eq!(
        running.send_signal(-3).unwrap_err().kind(),
        io::ErrorKind::InvalidInput
    );
    running.kill().unwrap();
    running.wait().await.unwrap();
}

// CPython test_subprocess (test_communicate_pipe_buf, test_writes_before_communicate) and
// test_asyncio test_subprocess (test_communicate with a large input): 4 MB through `cat`,
// much more than a pipe holds, written while both outputs are read.
#[tulip::test]
async fn communicate_moves_4_mb_through_cat() {
    let data: Vec<u8> = (0..4 << 20).map(|i: u32| (i % 251) as u8).collect();
    let mut child = Command::new("cat")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let out = bounded("communicate", child.communicate(Some(data.clone())))
        .await
        .unwrap();
    assert!(out.status.success());
    assert_eq!(out.stdout.len(), data.len());
    assert!(out.stdout == data, "the data came back changed");
    assert!(out.stderr.is_empty());
    assert!(child.stdin.is_none() && child.stdout.is_none() && child.stderr.is_none());
}

// CPython test_subprocess (test_communicate_stdout_stderr with large outputs): a child that
// fills both output pipes at once, which reading one after the other would deadlock.
#[tulip::test]
async fn communicate_reads_both_full_pipes_at_once() {
    let mut child = sh("head -c 1048576 /dev/zero; head -c 1048576 /dev/zero >&2; \
                        head -c 1000 /dev/zero; head -c 1000 /dev/zero >&2")
    .stdout(Stdio::piped())
    .stderr(Stdio::piped())
    .spawn()
    .unwrap();
    let out = bounded("communicate", child.communicate(None))
        .await
        .unwrap();
    assert_eq!((out.stdout.len(), out.stderr.len()), (1049576, 1049576));
    assert!(out.status.success());
}

// CPython test_asyncio test_subprocess (test_communicate_ignore_broken_pipe,
// test_stdin_broken_pipe) and test_subprocess (test_communicate_epipe): a child that exits
// without reading its stdin is not an error for `communicate`, and never raises SIGPIPE —
// checked with SIGPIPE back at its default, deadly disposition, in a child process.
#[test]
fn communicate_with_a_child_that_never_reads_stdin() {
    const ROLE: &str = "no-reader";
    if !is_child(ROLE) {
        run_in_child("communicate_with_a_child_that_never_reads_stdin", ROLE);
        return;
    }
    // SAFETY: restoring SIGPIPE's default disposition (std's runtime ignores it) is a plain
    // signal(2) call with a valid signal number and handler constant.
    let prev = unsafe { libc::signal(libc::SIGPIPE, libc::SIG_DFL) };
    assert_ne!(prev, libc::SIG_ERR);
    tulip::run(async {
        // Closes its stdin at once and exits: our 1 MB meets a broken pipe.
        let mut child = sh("exec 0<&-; echo bye")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let out = bounded("communicate", child.communicate(Some(vec![b'x'; 1 << 20])))
            .await
            .unwrap();
        assert_eq!(out.stdout, b"bye\n");
        assert!(out.status.success());

        // The same through the writer itself: the error is BrokenPipe, and no signal.
        let mut child = sh("exec 0<&-; echo closed")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let mut stdout = child.stdout.take().unwrap();
        assert_eq!(stdout.readline().await.unwrap(), b"closed\n");
        child.wait().await.unwrap();
        let stdin = child.stdin.take().unwrap();
        stdin.write(&vec![b'y'; 1 << 20]);
        let err = bounded("drain", stdin.drain()).await.unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::BrokenPipe, "{err}");
    });
}

// tokio tests/process_issue_42.rs and CPython test_asyncio test_subprocess
// (test_read_stdout_after_process_exit): a child writes 256 KiB and exits before we read a
// byte; the exit is seen first, and every byte is still read. The child (this test binary in
// a child role) first grows its stderr pipe to 1 MiB, so the 256 KiB fit without a reader.
#[tulip::test]
async fn output_written_by_a_child_that_exited_before_we_read_is_all_read() {
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([
            "child_role_writes_256_kib_to_stderr_and_exits",
            "--exact",
            "--nocapture",
        ])
        .env(tulip_tests::CHILD_ENV, "writer")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let status = bounded("wait", child.wait()).await.unwrap();
    assert!(status.success(), "{status}");
    let data = child.stderr.take().unwrap().read_to_end().await.unwrap();
    assert_eq!(data.len(), 256 << 10);
    assert!(data.iter().all(|&b| b == b'z'));
}

/// The child side of the test above; does nothing as a test of its own.
#[test]
fn child_role_writes_256_kib_to_stderr_and_exits() {
    if !is_child("writer") {
        return;
    }
    let stderr = io::stderr();
    rustix::pipe::fcntl_setpipe_size(&stderr, 1 << 20).expect("grow the stderr pipe");
    let data = vec![b'z'; 256 << 10];
    rustix::io::write(&stderr, &data)
        .map(|n| assert_eq!(n, data.len()))
        .expect("write 256 KiB");
    std::process::exit(0);
}

// tokio tests/process_smoke.rs and process_issue_2174.rs, scaled up: 10 tasks each run 10
// children at once and wait for them all; every status is right and no zombie is left.
#[tulip::test]
async fn ten_tasks_with_ten_concurrent_children_each_are_all_reaped() {
    let tasks: Vec<_> = (0..10)
        .map(|t| {
            tulip::spawn(async move {
                let children: Vec<_> = (0..10)
                    .map(|c| sh(&format!("exit {}", t * 10 + c)).spawn().unwrap())
                    .collect();
                let mut seen = Vec::new();
                for (c, child) in children.iter().enumerate() {
                    let status = child.wait().await.unwrap();
                    assert_eq!(status.code(), Some(t * 10 + c as i32));
                    seen.push(child.id());
                }
                seen
            })
        })
        .collect();
    let mut pids = Vec::new();
    for t in tasks {
        pids.extend(bounded("the children", t).await.unwrap());
    }
    assert_eq!(pids.len(), 100);
    for pid in pids {
        assert!(!is_our_zombie(pid), "child {pid} is a zombie");
        assert!(!is_our_child(pid), "child {pid} was not reaped");
    }
}

// CPython test_asyncio test_subprocess (test_cancel_process_wait, test_cancel_post_init):
// a cancelled wait neither kills the child nor loses its status; and many waits at once, from
// several tasks, all get the same status (asyncio's Process.wait may be awaited many times).
#[tulip::test]
async fn a_cancelled_wait_keeps_the_child_and_concurrent_waits_agree() {
    let mut child = Command::new("cat")
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    // cat cannot exit while its stdin is open: the wait is cancelled by the timeout.
    let r = tulip::timeout(Duration::from_millis(20), child.wait()).await;
    assert!(r.is_err());
    assert_eq!(child.try_wait().unwrap(), None);
    assert!(is_our_child(child.id()));

    let stdin = child.stdin.take().unwrap();
    let child = Arc::new(child);
    let waiters: Vec<_> = (0..5)
        .map(|_| {
            let c = child.clone();
            tulip::spawn(async move { c.wait().await.unwrap() })
        })
        .collect();
    tulip::yield_now().await;
    drop(stdin); // end of file: cat exits
    let (a, b) = bounded("two waits", async {
        tulip::join!(child.wait(), child.wait())
    })
    .await;
    let mut all = vec![a.unwrap(), b.unwrap()];
    for w in waiters {
        all.push(bounded("a waiter", w).await.unwrap());
    }
    assert!(all.iter().all(|s| s.success()), "{all:?}");
    assert_eq!(child.returncode(), Some(0));
}

// tokio tests/process_kill_on_drop.rs: `kill_on_drop` kills a running child when the `Child`
// is dropped, and the child is reaped in the background (no zombie).
#[tulip::test]
async fn kill_on_drop_kills_the_child_and_it_is_reaped() {
    let child = Command::new("sleep")
        .arg("60")
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let pid = child.id();
    drop(child);
    bounded(
        "the reaping",
        tulip::to_thread(move || wait_until_reaped(pid)),
    )
    .await;
}

// tokio tests/process_kill_on_drop.rs (the other half) and async-process's orphan tests: a
// child dropped without `kill_on_drop` runs on, and is reaped when it exits — by a task of the
// loop, or by a reaper thread once the loop that spawned it has closed.
#[test]
fn a_dropped_child_runs_on_and_is_reaped_even_after_its_loop_closed() {
    // Reaped by a task of the running loop.
    let pid = tulip::run(async {
        let mut child = Command::new("cat").stdin(Stdio::piped()).spawn().unwrap();
        let pid = child.id();
        let stdin = child.stdin.take().unwrap();
        drop(child);
        tulip::yield_now().await;
        assert!(is_our_child(pid) && !is_our_zombie(pid), "it runs on");
        drop(stdin); // cat exits
        bounded(
            "the reaping",
            tulip::to_thread(move || wait_until_reaped(pid)),
        )
        .await;
        pid
    });
    assert!(!is_our_child(pid));

    // The loop closes while the child runs: a thread reaps it once it exits.
    let (pid, stdin) = tulip::run(async {
        let mut child = Command::new("cat").stdin(Stdio::piped()).spawn().unwrap();
        (child.id(), child.stdin.take().unwrap())
    });
    assert!(is_our_child(pid) && !is_our_zombie(pid), "it runs on");
    drop(stdin); // closes the pipe even without a loop: cat exits
    wait_until_reaped(pid);
}

// CPython test_subprocess (test_env, test_empty_env, test_cwd): the child sees exactly the
// environment and the working directory it was given.
#[tulip::test]
async fn env_clear_env_and_current_dir_reach_the_child() {
    let dir = TempDir::new("process-cwd");
    let mut child = Command::new("/bin/sh")
        .args(["-c", "echo \"$GREETING|${HOME-unset}\"; pwd -P"])
        .env_clear()
        .env("GREETING", "hi there")
        .current_dir(dir.path())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let out = child.communicate(None).await.unwrap();
    let expected = format!(
        "hi there|unset\n{}\n",
        std::fs::canonicalize(dir.path()).unwrap().display()
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout), expected);

    // env_remove and an inherited variable.
    let mut child = sh("echo \"${PATH:+path}|${TULIP_PROCESS_TEST_VAR-removed}\"")
        .env("TULIP_PROCESS_TEST_VAR", "set")
        .env_remove("TULIP_PROCESS_TEST_VAR")
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let out = child.communicate(None).await.unwrap();
    assert_eq!(out.stdout, b"path|removed\n");
}

// CPython test_subprocess (test_invalid_cmd, test_nonexisting_executable) and test_asyncio
// test_subprocess (test_create_subprocess_exec_with_path / FileNotFoundError): a missing
// program is a NotFound error that names it; nothing is left running.
#[tulip::test]
async fn a_missing_program_is_not_found_and_named() {
    let err = Command::new("tulip-no-such-program-anywhere")
        .arg("x")
        .spawn()
        .unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::NotFound);
    assert!(
        err.to_string().contains("tulip-no-such-program-anywhere"),
        "{err}"
    );
    let err = create_subprocess_exec("/nonexistent/dir/prog", ["a"])
        .spawn()
        .unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::NotFound);
    assert!(err.to_string().contains("/nonexistent/dir/prog"), "{err}");
    // Not executable.
    let err = Command::new("/etc/passwd").spawn().unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::PermissionDenied, "{err}");
}

// CPython test_asyncio test_subprocess (test_shell, test_create_subprocess_shell): the shell
// form runs its string through /bin/sh, pipes and expansions included.
#[tulip::test]
async fn the_shell_form_runs_through_sh() {
    let mut child = create_subprocess_shell("echo $((6 * 7)) | tr 4 x; echo err >&2; exit 5")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let out = child.communicate(None).await.unwrap();
    assert_eq!(out.stdout, b"x2\n");
    assert_eq!(out.stderr, b"err\n");
    assert_eq!(out.status.code(), Some(5));
    assert_eq!(child.returncode(), Some(5));
}

// CPython test_asyncio test_subprocess (test_stdin_stdout, test_readline): the pipes are
// asyncio streams — write and drain stdin, read stdout a line at a time while the child runs,
// write_eof ends its input.
#[tulip::test]
async fn the_pipes_are_streams() {
    let mut child = Command::new("cat")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .limit(16)
        .spawn()
        .unwrap();
    let stdin = child.stdin.take().unwrap();
    let mut stdout = child.stdout.take().unwrap();
    for i in 0..3 {
        stdin.write(format!("line {i}\n").as_bytes());
        stdin.drain().await.unwrap();
        let line = bounded("a line", stdout.readline()).await.unwrap();
        assert_eq!(line, format!("line {i}\n").as_bytes());
    }
    // The limit applies to the reader (asyncio's limit=).
    let long = b"a line far longer than sixteen bytes\n";
    stdin.write(long);
    assert!(stdout.readline().await.is_err());
    assert!(stdin.can_write_eof());
    stdin.write_eof().unwrap();
    let rest = bounded("the end", stdout.read_to_end()).await.unwrap();
    assert!(long.ends_with(&rest), "{rest:?}");
    assert!(bounded("wait", child.wait()).await.unwrap().success());
}

// Stdio::null and a file descriptor; communicate on a child without pipes; input without a
// piped stdin is refused; spawning outside a loop is an error.
#[tulip::test]
async fn stdio_null_files_and_misuse() {
    let dir = TempDir::new("process-stdio");
    let path = dir.join("out");
    let file = std::fs::File::create(&path).unwrap();
    let mut child = sh("cat; echo written")
        .stdin(Stdio::null())
        .stdout(file)
        .spawn()
        .unwrap();
    let err = child.communicate(Some(b"x".to_vec())).await.unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
    let out = child.communicate(None).await.unwrap();
    assert!(out.status.success() && out.stdout.is_empty());
    assert_eq!(std::fs::read(&path).unwrap(), b"written\n");

    let err = std::thread::spawn(|| Command::new("true").spawn().map(|_| ()))
        .join()
        .unwrap()
        .unwrap_err();
    assert!(err.to_string().contains("event loop"), "{err}");
    assert_eq!(
        Command::new("true").limit(0).spawn().unwrap_err().kind(),
        io::ErrorKind::InvalidInput
    );
}

// The reaper in use: pidfd here unless TULIP_REAPER=sigchld (or the kernel refuses pidfds).
#[tulip::test]
async fn the_expected_reaper_waits() {
    let child = Command::new("true").spawn().unwrap();
    let pidfds = rustix::process::pidfd_open(
        rustix::process::getpid(),
        rustix::process::PidfdFlags::empty(),
    )
    .is_ok();
    assert_eq!(child.reaped_by_pidfd(), pidfds && !sigchld_forced());
    child.wait().await.unwrap();
}

// With the SIGCHLD reaper, the last wait gives SIGCHLD its default disposition back (a lone
// test in a child process, so no other test holds a subscription meanwhile).
#[test]
fn the_sigchld_reaper_restores_sigchld() {
    const ROLE: &str = "sigchld-restore";
    if !is_child(ROLE) {
        let out = sig_support::child_output(
            "the_sigchld_reaper_restores_sigchld",
            ROLE,
            &[("TULIP_REAPER", "sigchld")],
        );
        assert!(out.status.success(), "{}", sig_support::text(&out));
        return;
    }
    assert!(sig_support::is_default(libc::SIGCHLD));
    tulip::run(async {
        let child = sh("exit 3").spawn().unwrap();
        assert!(!child.reaped_by_pidfd());
        assert_eq!(child.wait().await.unwrap().code(), Some(3));
    });
    assert!(sig_support::is_default(libc::SIGCHLD));
}

// Every test above once more with the SIGCHLD reaper, in a child process (it changes
// SIGCHLD's disposition while children are waited for).
#[test]
fn the_suite_passes_again_on_the_sigchld_reaper() {
    if sigchld_forced() {
        return;
    }
    let exe = std::env::current_exe().unwrap();
    let out = std::process::Command::new(exe)
        .args(["--skip", "the_suite_passes_again_on_the_sigchld_reaper"])
        .env("TULIP_REAPER", "sigchld")
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    let text = sig_support::text(&out);
    assert!(out.status.success(), "the SIGCHLD run failed:\n{text}");
    assert!(text.contains("test result: ok"), "{text}");
}
