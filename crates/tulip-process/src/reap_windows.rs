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

use std::future::poll_fn;
use std::io;
use std::os::windows::io::{AsHandle, AsRawHandle, OwnedHandle};
use std::process::ExitStatus;
use std::sync::{Arc, Mutex};
use std::task::{Poll, Waker};

use tulip_util::lock;
use windows_sys::Win32::System::Threading::{WaitForSingleObject, INFINITE};

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
                    let handle = lock(&self.child).as_handle().try_clone_to_owned()?;
                    watch_exit(handle, self.watch.clone())?;
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

/// Starts the thread that waits on `handle` (a duplicate of the child's process handle) and
/// then wakes the waits.
fn watch_exit(handle: OwnedHandle, watch: Arc<Mutex<Watch>>) -> io::Result<()> {
    std::thread::Builder::new()
        .name("tulip-child-wait".into())
        .stack_size(64 * 1024)
        .spawn(move || {
            // Its result is not needed: after WAIT_OBJECT_0 the waits find the exit code;
            // after WAIT_FAILED (a handle without SYNCHRONIZE access) they find a child that
            // still runs and report the failure.
            // SAFETY: `handle` is a process handle this thread owns; it stays open for the
            // whole call and is closed when the thread drops it afterwards.
            unsafe { WaitForSingleObject(handle.as_raw_handle(), INFINITE) };
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
