//! Reaping: learning that a child exited and collecting its status, without ever calling
//! `waitpid(-1)` (which would steal the children of other libraries in the process).
//!
//! Every wait is a `waitpid(pid, WNOHANG)` on one of our own pids (std's `Child::try_wait`,
//! under a lock that also guards signalling the child, so a signal never reaches a reaped pid
//! that the OS may have given to another process). What tells us to try:
//!
//! - **pidfd** (Linux 5.3+, the default there): `pidfd_open` right after the spawn; each wait
//!   registers a duplicate of it with the reactor of the loop that waits, which reports it
//!   readable when the child exits. With no descriptor free for the duplicate (`EMFILE`),
//!   the wait polls `waitpid` with a growing pause (1 to 100 ms) instead of failing.
//! - **SIGCHLD** (other Unixes, a kernel that refuses pidfds, or `TULIP_REAPER=sigchld`): each
//!   wait subscribes to SIGCHLD through tulip-signal and tries again after every delivery.
//!
//! A child whose [`Child`](crate::Child) is dropped before it was reaped becomes an *orphan*:
//! inside a loop, a task of that loop waits for it as above; when no loop can (none runs on
//! this thread, or the loop closes before the child exits), a thread named `tulip-reaper`
//! blocks in `waitpid` on that pid alone. No zombie is left behind either way.

use std::io;
use std::os::fd::OwnedFd;
use std::process::ExitStatus;
#[cfg(any(target_os = "linux", target_os = "android"))]
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use tulip_reactor::{Async, Reactor};
use tulip_signal::{Signals, SIGCHLD};
use tulip_util::lock;

/// What tells a wait to try again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Reaper {
    Pidfd,
    Sigchld,
}

/// The reaper chosen for this process: `TULIP_REAPER=sigchld|pidfd`, else pidfd where the
/// platform has it (Linux and Android; elsewhere every child is waited for on SIGCHLD).
#[cfg(any(target_os = "linux", target_os = "android"))]
fn configured() -> Reaper {
    static CHOICE: std::sync::OnceLock<Reaper> = std::sync::OnceLock::new();
    *CHOICE.get_or_init(|| match std::env::var("TULIP_REAPER").as_deref() {
        Ok("sigchld") => Reaper::Sigchld,
        Ok("pidfd") => Reaper::Pidfd,
        _ if cfg!(any(target_os = "linux", target_os = "android")) => Reaper::Pidfd,
        _ => Reaper::Sigchld,
    })
}

/// Set once the kernel refused `pidfd_open` for good (too old, or a seccomp filter).
#[cfg(any(target_os = "linux", target_os = "android"))]
static PIDFD_REFUSED: AtomicBool = AtomicBool::new(false);

#[cfg(any(target_os = "linux", target_os = "android"))]
fn open_pidfd(pid: u32) -> Option<OwnedFd> {
    use rustix::io::Errno;
    if configured() != Reaper::Pidfd || PIDFD_REFUSED.load(Ordering::Relaxed) {
        return None;
    }
    let pid = rustix::process::Pid::from_raw(i32::try_from(pid).ok()?)?;
    match rustix::process::pidfd_open(pid, rustix::process::PidfdFlags::empty()) {
        Ok(fd) => Some(fd),
        Err(e) => {
            if e == Errno::NOSYS || e == Errno::PERM || e == Errno::INVAL {
                PIDFD_REFUSED.store(true, Ordering::Relaxed);
            }
            // Otherwise (out of descriptors, say) this child alone falls back to SIGCHLD.
            None
        }
    }
}

#[cfg(not(any(target_os = "linux", target_os = "android")))]
fn open_pidfd(_pid: u32) -> Option<OwnedFd> {
    None
}

/// One child process of ours, shared by its `Child` and, once that is dropped, its reaper.
#[derive(Debug)]
pub(crate) struct Proc {
    pid: u32,
    /// std's handle: its `try_wait` is `waitpid(pid, WNOHANG)` and keeps the status once
    /// reaped. Every wait and every signal goes through this lock.
    child: Mutex<std::process::Child>,
    pidfd: Option<OwnedFd>,
}

impl Proc {
    /// Takes over a just-spawned child (whose pipes were taken out).
    pub(crate) fn new(child: std::process::Child) -> Proc {
        let pid = child.id();
        Proc {
            pid,
            pidfd: open_pidfd(pid),
            child: Mutex::new(child),
        }
    }

    pub(crate) fn pid(&self) -> u32 {
        self.pid
    }

    /// Which reaper waits for this child.
    pub(crate) fn reaper(&self) -> Reaper {
        if self.pidfd.is_some() {
            Reaper::Pidfd
        } else {
            Reaper::Sigchld
        }
    }

    /// The exit status if the child has exited (reaping it then), without waiting.
    pub(crate) fn try_wait(&self) -> io::Result<Option<ExitStatus>> {
        lock(&self.child).try_wait()
    }

    /// Whether the child is known to be reaped (or cannot be waited for any more).
    fn is_done(&self) -> bool {
        !matches!(self.try_wait(), Ok(None))
    }

    /// Sends `sig` to the child, unless it has exited: then nothing is sent (its pid may
    /// belong to another process by now) and the call succeeds, as std's `Child::kill` does.
    pub(crate) fn send_signal(&self, sig: i32) -> io::Result<()> {
        let mut child = lock(&self.child);
        if child.try_wait()?.is_some() {
            return Ok(());
        }
        let pid = libc::pid_t::try_from(self.pid).map_err(io::Error::other)?;
        // Nobody can reap the child while we hold the lock: the pid is still our child's.
        // SAFETY: kill(2) takes two integers and has no memory-safety preconditions.
        if unsafe { libc::kill(pid, sig) } != 0 {
            let e = io::Error::last_os_error();
            // A zombie is still signalable; ESRCH would only mean it is gone already.
            if e.raw_os_error() != Some(libc::ESRCH) {
                return Err(e);
            }
        }
        Ok(())
    }

    /// Waits for the child to exit and returns its status (see the module docs).
    pub(crate) async fn wait(&self) -> io::Result<ExitStatus> {
        if let Some(status) = self.try_wait()? {
            return Ok(status);
        }
        if let Some(fd) = &self.pidfd {
            // A registration of our own in the waiting loop's reactor: many waits (even on
            // different loops) each get theirs; a pidfd stays readable once the child exited.
            // Out of descriptors for the duplicate, the wait polls `waitpid` (which needs
            // none) with a growing pause, trying the duplicate again each time, rather than
            // fail: the child is ours and its exit is still there to collect.
            let mut pause = std::time::Duration::from_millis(1);
            let dup = loop {
                match fd.try_clone() {
                    Ok(dup) => break dup,
                    Err(e) if out_of_descriptors(&e) => {
                        tulip_reactor::sleep(pause).await;
                        if let Some(status) = self.try_wait()? {
                            return Ok(status);
                        }
                        pause = (pause * 2).min(std::time::Duration::from_millis(100));
                    }
                    Err(e) => return Err(e),
                }
            };
            let io = Async::new_nonblocking(dup)?;
            return io
                .read_with(|_| {
                    self.try_wait()?
                        .ok_or_else(|| io::ErrorKind::WouldBlock.into())
                })
                .await;
        }
        // Subscribed before the next try: an exit after it is a delivery we will see.
        let mut sigchld = Signals::new([SIGCHLD])?;
        loop {
            if let Some(status) = self.try_wait()? {
                return Ok(status);
            }
            if sigchld.recv().await.is_none() {
                return Err(io::Error::other("the SIGCHLD subscription was closed"));
            }
        }
    }
}

/// Whether `e` says the process (`EMFILE`) or the system (`ENFILE`) has no descriptor left.
fn out_of_descriptors(e: &io::Error) -> bool {
    matches!(e.raw_os_error(), Some(libc::EMFILE | libc::ENFILE))
}

/// Children whose reaper thread could not be spawned: tried again at each spawn.
static LEFTOVERS: Mutex<Vec<Arc<Proc>>> = Mutex::new(Vec::new());

/// Tries the leftovers again (a spawn calls this).
pub(crate) fn sweep_leftovers() {
    lock(&LEFTOVERS).retain(|p| !p.is_done());
}

/// A child nobody will wait for: reap it in the background.
pub(crate) fn adopt(proc: Arc<Proc>) {
    if proc.is_done() {
        return;
    }
    let pid = proc.pid();
    let orphan = Orphan(Some(proc));
    let on_loop = Reactor::current().is_some()
        && tulip_executor::Spawner::current().is_some_and(|s| !s.is_closed());
    if on_loop {
        // If the loop closes before the child exits, the task is dropped and so is the
        // guard, which hands the child to a thread.
        tulip_executor::Builder::new()
            .name(format!("reap child {pid}"))
            .spawn(async move {
                let orphan = orphan;
                if let Some(p) = &orphan.0 {
                    let _ = p.wait().await;
                }
            })
            .detach();
    }
    // Otherwise `orphan` drops here and a thread takes the child.
}

/// Reaps its child on a thread if it is dropped before the child was reaped.
struct Orphan(Option<Arc<Proc>>);

impl Drop for Orphan {
    fn drop(&mut self) {
        if let Some(p) = self.0.take() {
            if !p.is_done() {
                reap_on_thread(p);
            }
        }
    }
}

/// Blocks a thread of its own in `waitpid` on this one pid (CPython's threaded child
/// watcher), for children no loop can wait for.
fn reap_on_thread(proc: Arc<Proc>) {
    let p = proc.clone();
    let spawned = std::thread::Builder::new()
        .name("tulip-reaper".into())
        .stack_size(64 * 1024)
        .spawn(move || {
            let _ = lock(&p.child).wait();
        });
    if spawned.is_err() {
        lock(&LEFTOVERS).push(proc);
    }
}
