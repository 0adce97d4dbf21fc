//! A child's pipes as [`RawStream`]s, so that tulip-net's `StreamReader`/`StreamWriter` drive
//! them like sockets.
//!
//! # SIGPIPE
//!
//! A write to a pipe whose reader is gone (a child that exited without reading its stdin)
//! fails with `EPIPE` and also raises SIGPIPE, whose default action kills the writer. Rust
//! programs ignore SIGPIPE from the start, but a library cannot count on it (a C program
//! embedding Rust, or a program that restored the default, does not). So every write to a
//! child's stdin blocks SIGPIPE for the writing thread around the `write` and, if the write
//! failed with `EPIPE`, takes the SIGPIPE it raised off the thread's pending set before
//! unblocking. The write reports `BrokenPipe`; no signal is ever delivered. (If the thread
//! already blocked SIGPIPE itself, the write is plain and a raised SIGPIPE stays pending, as
//! the thread asked.) That costs two `pthread_sigmask` calls per write; sockets avoid it with
//! `MSG_NOSIGNAL`, which pipes do not have.

use std::io;
use std::net::Shutdown;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::sync::Mutex;
use std::task::{Context, Poll};

use tulip_net::streams::RawStream;
use tulip_reactor::Async;
use tulip_util::lock;

/// The write end of a pipe (a child's stdin, or any pipe or FIFO given to tulip-protocol's
/// `connect_write_pipe`), registered with the loop: a [`RawStream`]. `shutdown(Write)` closes
/// it, so the reader sees end of file.
pub struct PipeWriter {
    io: Mutex<Option<Async<OwnedFd>>>,
}

impl PipeWriter {
    /// Registers the pipe end with the current loop (and makes it non-blocking).
    ///
    /// # Errors
    ///
    /// The reactor's registration error; outside a loop, `Other`.
    pub fn new(fd: OwnedFd) -> io::Result<PipeWriter> {
        Ok(PipeWriter {
            io: Mutex::new(Some(Async::new(fd)?)),
        })
    }
}

fn closed() -> io::Error {
    io::Error::new(io::ErrorKind::BrokenPipe, "the pipe is closed")
}

impl RawStream for PipeWriter {
    fn poll_read(&self, _cx: &mut Context<'_>, _buf: &mut [u8]) -> Poll<io::Result<usize>> {
        // The write end of a pipe has nothing to read: end of stream.
        Poll::Ready(Ok(0))
    }

    fn poll_write(&self, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        let io = lock(&self.io);
        match io.as_ref() {
            Some(a) => a.poll_write_stream(cx, buf.len(), |fd| write_no_sigpipe(fd.as_fd(), buf)),
            None => Poll::Ready(Err(closed())),
        }
    }

    fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        if how != Shutdown::Read {
            // Deregistered and closed: the child sees end of file once it has read the rest.
            drop(lock(&self.io).take());
        }
        Ok(())
    }

    fn abort(&self) {
        drop(lock(&self.io).take());
    }
}

/// The read end of a pipe (a child's stdout or stderr, or any pipe or FIFO given to
/// tulip-protocol's `connect_read_pipe`), registered with the loop: a [`RawStream`].
pub struct PipeReader {
    io: Mutex<Option<Async<OwnedFd>>>,
}

impl PipeReader {
    /// Registers the pipe end with the current loop (and makes it non-blocking).
    ///
    /// # Errors
    ///
    /// The reactor's registration error; outside a loop, `Other`.
    pub fn new(fd: OwnedFd) -> io::Result<PipeReader> {
        Ok(PipeReader {
            io: Mutex::new(Some(Async::new(fd)?)),
        })
    }
}

impl RawStream for PipeReader {
    fn poll_read(&self, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>> {
        let io = lock(&self.io);
        match io.as_ref() {
            Some(a) => a.poll_read_stream(cx, buf.len(), |fd| {
                rustix::io::read(fd, &mut *buf).map_err(io::Error::from)
            }),
            // Closed by our own side: end of stream.
            None => Poll::Ready(Ok(0)),
        }
    }

    fn poll_write(&self, _cx: &mut Context<'_>, _buf: &[u8]) -> Poll<io::Result<usize>> {
        Poll::Ready(Err(io::Error::new(
            io::ErrorKind::Unsupported,
            "the read end of a pipe cannot be written",
        )))
    }

    fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        if how != Shutdown::Write {
            drop(lock(&self.io).take());
        }
        Ok(())
    }

    fn can_write_eof(&self) -> bool {
        false
    }
}

/// `write(2)` that never raises SIGPIPE (see the module docs).
#[allow(unsafe_code)] // The signal mask calls, which rustix does not offer.
fn write_no_sigpipe(fd: BorrowedFd<'_>, buf: &[u8]) -> io::Result<usize> {
    // SAFETY: `sigset_t` is plain data; all-zero bytes are a valid (if unspecified) set, which
    // `sigemptyset` then initialises.
    let mut pipe_only: libc::sigset_t = unsafe { std::mem::zeroed() };
    // SAFETY: as above; `pthread_sigmask` fills it in.
    let mut old: libc::sigset_t = unsafe { std::mem::zeroed() };
    // SAFETY: both sets are valid, writable `sigset_t`s; SIGPIPE is a valid signal number;
    // blocking a signal for the calling thread has no memory-safety consequence.
    let already_blocked = unsafe {
        libc::sigemptyset(&mut pipe_only);
        libc::sigaddset(&mut pipe_only, libc::SIGPIPE);
        libc::pthread_sigmask(libc::SIG_BLOCK, &pipe_only, &mut old);
        libc::sigismember(&old, libc::SIGPIPE) == 1
    };
    let res = rustix::io::write(fd, buf);
    if !already_blocked {
        if res == Err(rustix::io::Errno::PIPE) {
            // SAFETY: as above for the sets. SIGPIPE is blocked, so if our write raised it,
            // it is pending for this thread and `sigwait` takes it at once; it is only called
            // when `sigpending` says so, so it never waits.
            unsafe {
                let mut pending: libc::sigset_t = std::mem::zeroed();
                if libc::sigpending(&mut pending) == 0
                    && libc::sigismember(&pending, libc::SIGPIPE) == 1
                {
                    let mut sig = 0;
                    libc::sigwait(&pipe_only, &mut sig);
                }
            }
        }
        // SAFETY: restores the mask read above.
        unsafe {
            libc::pthread_sigmask(libc::SIG_SETMASK, &old, std::ptr::null_mut());
        }
    }
    res.map_err(io::Error::from)
}

impl std::fmt::Debug for PipeWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PipeWriter")
            .field("open", &lock(&self.io).is_some())
            .finish()
    }
}

impl std::fmt::Debug for PipeReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PipeReader")
            .field("open", &lock(&self.io).is_some())
            .finish()
    }
}
