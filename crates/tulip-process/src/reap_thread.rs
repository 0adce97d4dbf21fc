//! Waiting for a child on Windows.
//!
//! Windows has no zombies and nothing to reap: a process's exit code stays readable through
//! its handle, and a child nobody waits for needs nothing more than std's handle closing
//! when the [`Child`](crate::Child) is dropped.
//!
//! A wait learns of the exit from a thread of its own (`tulip-child-wait`, started by the
//! first wait on a child that still runs) blocked in `WaitForSingleObject` on a duplicate of
//! the process handle; it wakes every waiting task when the child exits and ends. The
//! reactor on Windows (IOCP through `polling`) takes sockets only, so the handle cannot be
//! registered with it; the loop's blocking pool is not used, since the wait may last as long
//! as the child, which would hold a pool thread and keep the loop's shutdown waiting.
//!
//! Only the blocking call is Windows' own ([`exit_waiter`]); the rest is std alone, compiled
//! on Unix too for its tests, with `waitid(WNOWAIT)` as the blocking call.

use std::future::poll_fn;
use std::io;
use std::process::ExitStatus;
use std::sync::{Arc, Mutex};
use std::task::{Poll, Waker};

use tulip_util::lock;

/// What the exit-watching thread tells the waits.
#[derive(Default)]
struct Watch {
    /// The thread was started.
    started: bool,
    /// The thread is done: the process handle was signalled (the child exited), or waiting
    /// on it failed.
    done: bool,
    /// The waiting tasks (one entry per task; a wait dropped before the exit leaves its
    /// waker here until then).
    waiters: Vec<Waker>,
}

/// One child process of ours.
#[derive(Debug)]
pub(crate) struct Proc {
    pid: u32,
    /// std's handle: `try_wait` reads the exit code without blocking, `kill` is
    /// `TerminateProcess`.
    child: Mutex<std::process::Child>,
    watch: Arc<Mutex<Watch>>,
}

impl std::fmt::Debug for Watch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Watch")
            .field("started", &self.started)
            .field("done", &self.done)
            .field("waiters", &self.waiters.len())
            .finish()
    }
}

impl Proc {
    /// Takes over a just-spawned child (whose pipes were taken out).
    pub(crate) fn new(child: std::process::Child) -> Proc {
        Proc {
            pid: child.id(),
            child: Mutex::new(child),
            watch: Arc::default(),
        }
    }

    pub(crate) fn pid(&self) -> u32 {
        self.pid
    }

    /// The exit status if the child has exited, without waiting.
    pub(crate) fn try_wait(&self) -> io::Result<Option<ExitStatus>> {
        lock(&self.child).try_wait()
    }

    /// Ends the child with `TerminateProcess` (exit code 1) unless it has exited already (then
    /// nothing happens and the call succeeds, as with std's `Child::kill`).
    pub(crate) fn kill(&self) -> io::Result<()> {
        let mut child = lock(&self.child);
        if child.try_wait()?.is_some() {
            return Ok(());
        }
        child.kill()
    }

    /// Waits for the child to exit and returns its status (see the module docs).
    pub(crate) async fn wait(&self) -> io::Result<ExitStatus> {
        poll_fn(|cx| {
            let mut w = lock(&self.watch);
            if !w.done {
                if let Some(status) = self.try_wait()? {
                    return Poll::Ready(Ok(status));
                }
                if !w.waiters.iter().any(|x| x.will_wake(cx.waker())) {
                    w.waiters.push(cx.waker().clone());
                }
                if !w.started {
                    let block = exit_waiter(&lock(&self.child))?;
                    watch_exit(block, self.watch.clone())?;
                    w.started = true;
                }
                return Poll::Pending;
            }
            drop(w);
            // The handle is signalled once the child exited: its exit code is there.
            Poll::Ready(
                self.try_wait()?.ok_or_else(|| {
                    io::Error::other("waiting for the child's process handle failed")
                }),
            )
        })
        .await
    }
}

/// A blocking call that returns once `child` has exited (or waiting failed), leaving its
/// status to std's `try_wait`: `WaitForSingleObject` on a duplicate of the process handle.
#[cfg(windows)]
fn exit_waiter(child: &std::process::Child) -> io::Result<impl FnOnce() + Send + 'static> {
    use std::os::windows::io::{AsHandle, AsRawHandle};
    use windows_sys::Win32::System::Threading::{WaitForSingleObject, INFINITE};

    let handle = child.as_handle().try_clone_to_owned()?;
    Ok(move || {
        // Its result is not needed: after WAIT_OBJECT_0 the waits find the exit code; after
        // WAIT_FAILED (a handle without SYNCHRONIZE access) they find a child that still runs
        // and report the failure.
        // SAFETY: `handle` is a process handle this closure owns; it stays open for the whole
        // call and is closed when the closure is dropped afterwards.
        unsafe { WaitForSingleObject(handle.as_raw_handle(), INFINITE) };
    })
}

/// The Unix stand-in for the tests: `waitid(WEXITED | WNOWAIT)` on the child's pid, which
/// returns once it exited and leaves it to be reaped by `try_wait`.
#[cfg(all(unix, test))]
fn exit_waiter(child: &std::process::Child) -> io::Result<impl FnOnce() + Send + 'static> {
    use rustix::process::{waitid, Pid, WaitId, WaitIdOptions};

    let pid = i32::try_from(child.id())
        .ok()
        .and_then(Pid::from_raw)
        .ok_or_else(|| io::Error::other("no such pid"))?;
    Ok(move || {
        while let Err(rustix::io::Errno::INTR) = waitid(
            WaitId::Pid(pid),
            WaitIdOptions::EXITED | WaitIdOptions::NOWAIT,
        ) {}
    })
}

/// Starts the thread that runs `block` (returning once the child exited) and then wakes the
/// waits.
fn watch_exit(block: impl FnOnce() + Send + 'static, watch: Arc<Mutex<Watch>>) -> io::Result<()> {
    std::thread::Builder::new()
        .name("tulip-child-wait".into())
        .stack_size(64 * 1024)
        .spawn(move || {
            block();
            let waiters = {
                let mut w = lock(&watch);
                w.done = true;
                std::mem::take(&mut w.waiters)
            };
            for waker in waiters {
                waker.wake();
            }
        })
        .map(drop)
}

/// Nothing to sweep on Windows (see the module docs).
pub(crate) fn sweep_leftovers() {}

/// A child nobody will wait for: nothing to do on Windows, where no zombie is left behind.
pub(crate) fn adopt(proc: Arc<Proc>) {
    drop(proc);
}

#[cfg(all(test, unix))]
mod tests {
    //! The waits' logic, on Unix children (with `waitid(WNOWAIT)` standing in for
    //! `WaitForSingleObject`).

    use std::future::Future;
    use std::process::{Command, Stdio};
    use std::task::Context;
    use std::time::Duration;

    use futures_lite::future::block_on;

    use super::*;

    /// A child that runs until its stdin is closed, then exits with 7; and its stdin.
    fn reader_child() -> (Arc<Proc>, std::process::ChildStdin) {
        let mut child = Command::new("sh")
            .args(["-c", "read line; exit 7"])
            .stdin(Stdio::piped())
            .spawn()
            .unwrap();
        let stdin = child.stdin.take().unwrap();
        (Arc::new(Proc::new(child)), stdin)
    }

    async fn wait(p: Arc<Proc>) -> io::Result<ExitStatus> {
        p.wait().await
    }

    /// Runs `fut` to its end on a thread of its own; a future never woken fails the test
    /// after 10 s instead of hanging it.
    fn finish<T: Send + 'static>(fut: impl Future<Output = T> + Send + 'static) -> T {
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let _ = tx.send(block_on(fut));
        });
        rx.recv_timeout(Duration::from_secs(10))
            .expect("the wait was never woken")
    }

    #[test]
    fn every_wait_gets_the_status_once_the_child_exits() {
        let (proc, stdin) = reader_child();
        let mut cx = Context::from_waker(Waker::noop());
        let mut first = Box::pin(wait(proc.clone()));
        let mut second = Box::pin(wait(proc.clone()));
        // Both wait (the child reads a line that does not come), and one thread watches.
        assert!(first.as_mut().poll(&mut cx).is_pending());
        assert!(second.as_mut().poll(&mut cx).is_pending());
        assert!(lock(&proc.watch).started);
        drop(stdin);
        assert_eq!(finish(first).unwrap().code(), Some(7));
        assert_eq!(finish(second).unwrap().code(), Some(7));
        // Later waits and `try_wait` have it at once.
        assert_eq!(finish(wait(proc.clone())).unwrap().code(), Some(7));
        assert_eq!(proc.try_wait().unwrap().unwrap().code(), Some(7));
    }

    #[test]
    fn a_dropped_wait_leaves_the_next_one_working() {
        let (proc, stdin) = reader_child();
        let mut cx = Context::from_waker(Waker::noop());
        let mut w = Box::pin(wait(proc.clone()));
        assert!(w.as_mut().poll(&mut cx).is_pending());
        drop(w);
        drop(stdin);
        assert_eq!(finish(wait(proc)).unwrap().code(), Some(7));
    }

    #[test]
    fn kill_ends_a_running_child_and_is_a_no_op_once_it_exited() {
        let (proc, _stdin) = reader_child();
        proc.kill().unwrap();
        let status = finish(wait(proc.clone())).unwrap();
        assert!(!status.success());
        assert_eq!(status.code(), None, "killed, not exited: {status:?}");
        proc.kill().unwrap();
    }
}
