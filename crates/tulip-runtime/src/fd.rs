//! asyncio's `add_reader`/`add_writer`: callbacks that run while a file descriptor is ready.
//!
//! Each registration is a small local task of the loop owning a duplicate of the descriptor
//! (so no `unsafe` borrow of a raw descriptor is needed), registered with the reactor. The
//! task waits until the descriptor is ready — the reactor's readiness check looks at the
//! descriptor itself (`poll(2)` with no timeout) before it waits for an edge, which makes the
//! wait level-triggered — runs the callback, and yields, so the callback runs once per loop
//! iteration for as long as the descriptor stays ready. Removing a watcher cancels its task:
//! it runs no more callbacks, even when removed from inside its own callback.

use std::collections::HashMap;
use std::io;
use std::os::fd::{AsFd, AsRawFd, RawFd};
use std::sync::Mutex;

use tulip_executor::{ExceptionContext, ReportKind, Task};
use tulip_reactor::Async;

use crate::handle::LoopHandle;

/// The watchers of one loop, by descriptor and direction (`true`: writer).
#[derive(Default)]
pub(crate) struct FdWatchers {
    map: Mutex<HashMap<(RawFd, bool), Task<()>>>,
}

impl FdWatchers {
    /// Cancels every watcher (the loop is closing).
    pub(crate) fn clear(&self) {
        let all: Vec<Task<()>> = tulip_util::lock(&self.map)
            .drain()
            .map(|(_, t)| t)
            .collect();
        for t in all {
            t.cancel();
        }
    }
}

impl LoopHandle {
    /// Runs `callback` on the loop's thread at every loop iteration while `fd` is readable
    /// (asyncio's `loop.add_reader(fd, callback)`: level-triggered — it runs again as long as
    /// the data is not read). Adding a reader for a descriptor that has one replaces it.
    ///
    /// The descriptor is duplicated for the registration, so the caller keeps ownership; call
    /// [`remove_reader`](Self::remove_reader) before closing it (as asyncio requires), since
    /// the duplicate keeps the open file alive until the watcher is gone. A panic of the
    /// callback is reported to the exception handler, and the reader stays.
    ///
    /// # Errors
    ///
    /// An error when called from another thread than the loop's (the callback runs there),
    /// when the descriptor cannot be duplicated, or when the OS refuses to watch it (a
    /// regular file, for instance, with the epoll backend).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::cell::RefCell;
    /// use std::io::{Read, Write};
    /// use std::os::fd::AsRawFd;
    /// use std::os::unix::net::UnixStream;
    /// use std::rc::Rc;
    ///
    /// tulip_runtime::run(async {
    ///     let lp = tulip_runtime::EventLoop::current();
    ///     let (a, mut b) = UnixStream::pair()?;
    ///     a.set_nonblocking(true)?;
    ///     let got = Rc::new(RefCell::new(Vec::new()));
    ///     let (g, reader) = (got.clone(), a.try_clone()?);
    ///     lp.add_reader(&a, move || {
    ///         let mut buf = [0u8; 16];
    ///         if let Ok(n) = (&reader).read(&mut buf) {
    ///             g.borrow_mut().extend_from_slice(&buf[..n]);
    ///         }
    ///     })?;
    ///     b.write_all(b"ping")?;
    ///     while got.borrow().len() < 4 {
    ///         tulip_executor::yield_now().await;
    ///     }
    ///     assert!(lp.remove_reader(a.as_raw_fd()));
    ///     assert_eq!(&*got.borrow(), b"ping");
    ///     std::io::Result::Ok(())
    /// })?;
    /// # std::io::Result::Ok(())
    /// ```
    pub fn add_reader(&self, fd: impl AsFd, callback: impl FnMut() + 'static) -> io::Result<()> {
        self.add_watcher(fd.as_fd(), false, callback)
    }

    /// Runs `callback` at every loop iteration while `fd` is writable (asyncio's
    /// `loop.add_writer`); as [`add_reader`](Self::add_reader) otherwise.
    ///
    /// # Errors
    ///
    /// As [`add_reader`](Self::add_reader).
    pub fn add_writer(&self, fd: impl AsFd, callback: impl FnMut() + 'static) -> io::Result<()> {
        self.add_watcher(fd.as_fd(), true, callback)
    }

    /// Stops watching `fd` for reading (asyncio's `loop.remove_reader`); returns whether it
    /// was watched. Safe to call from inside the reader's own callback: it does not run
    /// again. Callable from any thread. `fd` is a raw descriptor (`sock.as_raw_fd()`) or
    /// anything that has one.
    pub fn remove_reader(&self, fd: impl AsRawFd) -> bool {
        self.remove_watcher(fd.as_raw_fd(), false)
    }

    /// Stops watching `fd` for writing (asyncio's `loop.remove_writer`); returns whether it
    /// was watched.
    pub fn remove_writer(&self, fd: impl AsRawFd) -> bool {
        self.remove_watcher(fd.as_raw_fd(), true)
    }

    fn add_watcher(
        &self,
        fd: std::os::fd::BorrowedFd<'_>,
        write: bool,
        mut callback: impl FnMut() + 'static,
    ) -> io::Result<()> {
        if !self.is_running_here() {
            return Err(io::Error::other(
                "tulip: add_reader/add_writer must be called on the loop's thread (the \
                 callback runs there)",
            ));
        }
        let raw = fd.as_raw_fd();
        let io = Async::with_reactor(fd.try_clone_to_owned()?, self.reactor())?;
        let what = if write { "writer" } else { "reader" };
        let task = tulip_executor::Builder::new()
            .name(format!("{what} of fd {raw}"))
            .eager(false)
            .spawn_local(async move {
                loop {
                    let ready = if write {
                        io.writable().await
                    } else {
                        io.readable().await
                    };
                    if let Err(e) = ready {
                        let msg = format!("{what} of fd {raw}: the reactor failed");
                        tulip_executor::call_exception_handler(&ExceptionContext::error(
                            &msg,
                            Some(&e),
                        ));
                        return;
                    }
                    let run = std::panic::catch_unwind(std::panic::AssertUnwindSafe(&mut callback));
                    if let Err(payload) = run {
                        let mut report = ExceptionContext::new(ReportKind::CallbackPanic);
                        report.payload = Some(&*payload);
                        tulip_executor::call_exception_handler(&report);
                    }
                    // One call per loop iteration: let everything else queued run first.
                    tulip_executor::yield_now().await;
                }
            });
        let old = tulip_util::lock(&self.shared().fd_watchers.map).insert((raw, write), task);
        if let Some(old) = old {
            old.cancel();
        }
        Ok(())
    }

    fn remove_watcher(&self, raw: RawFd, write: bool) -> bool {
        let removed = tulip_util::lock(&self.shared().fd_watchers.map).remove(&(raw, write));
        match removed {
            Some(task) => {
                task.cancel();
                true
            }
            None => false,
        }
    }
}
