//! A child's pipes on Windows as [`RawStream`]s, so that tulip-net's
//! `StreamReader`/`StreamWriter` drive them like sockets.
//!
//! # A thread per pipe
//!
//! The reactor on Windows (IOCP through `polling`) takes sockets only, so a pipe cannot be
//! registered with it. Each pipe end is served by a thread of its own (`tulip-pipe`, 64 KiB
//! of stack) doing std's blocking reads or writes, and hands over to the loop one chunk (at
//! most 64 KiB) at a time:
//!
//! - a [`PipeReader`]'s thread reads one chunk ahead and then waits until the loop has taken
//!   it, so a reader nobody reads from stops reading the pipe, and the child blocks once the
//!   pipe is full — the same back-pressure as on Unix;
//! - a [`PipeWriter`]'s thread writes the one chunk it was given; the write is reported to
//!   the stream (`Ok(n)`) only once the pipe took it, so `drain` and `wait_closed` mean what
//!   they mean on Unix.
//!
//! std's own pipe types are what the threads use (`ChildStdout` and the others): std opens our
//! ends of a child's pipes for overlapped I/O and its reads and writes wait for completion
//! themselves; a `File` made from such a handle would not.
//!
//! The threads are not the loop's blocking pool on purpose: a pipe read may block for the
//! child's whole life, which would hold a pool thread (64 by default, shared with `to_thread`
//! and name resolution) and keep the loop's shutdown waiting for it. Closing our end while
//! its thread is blocked in a read or a write takes effect when that call returns (the
//! child writes, reads, or exits): the thread then drops the pipe and ends.
//!
//! Overlapped I/O on named pipes, completed through the loop's IOCP, would need no thread;
//! the reactor does not offer it yet.

use std::io::{self, Read, Write};
use std::net::Shutdown;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll, Waker};

use tulip_net::streams::RawStream;
use tulip_util::lock;

/// The most one hand-over between the loop and a pipe's thread carries.
const CHUNK: usize = 64 * 1024;

/// Starts a pipe's thread.
fn start(f: impl FnOnce() + Send + 'static) -> io::Result<()> {
    std::thread::Builder::new()
        .name("tulip-pipe".into())
        .stack_size(64 * 1024)
        .spawn(f)
        .map(drop)
}

/// Waits on `cv` until woken, ignoring poisoning as [`lock`] does.
fn wait<'a, T>(cv: &Condvar, guard: MutexGuard<'a, T>) -> MutexGuard<'a, T> {
    cv.wait(guard).unwrap_or_else(PoisonError::into_inner)
}

fn closed() -> io::Error {
    io::Error::new(io::ErrorKind::BrokenPipe, "the pipe is closed")
}

/// A state shared by a pipe's handle and its thread.
struct Shared<S> {
    st: Mutex<S>,
    /// Wakes the thread: work for it, or our end closed.
    cv: Condvar,
}

/// What a [`PipeReader`]'s thread has for the loop.
#[derive(Default)]
struct ReadState {
    /// The chunk read last; `data[pos..]` is not handed out yet.
    data: Vec<u8>,
    pos: usize,
    /// The pipe reported end of file (or an error, handed out once, then end of file).
    eof: bool,
    error: Option<io::Error>,
    /// Our end is closed: the thread stops.
    closed: bool,
    /// The task waiting to read.
    waker: Option<Waker>,
}

/// The read end of a pipe (a child's stdout or stderr, or any blocking reader) as a
/// [`RawStream`]: a thread of its own (`tulip-pipe`) reads it with blocking calls, one chunk
/// (64 KiB at most) ahead of the loop, then waits until the loop took that chunk. Closing or
/// dropping it while the thread is blocked in a read takes effect when that read returns
/// (the writer writes or closes its end): the thread then drops the pipe and ends.
pub struct PipeReader {
    shared: Arc<Shared<ReadState>>,
}

impl PipeReader {
    /// Starts the thread that reads `pipe` for the loop. `pipe` is read with blocking calls
    /// (std's `ChildStdout`, `ChildStderr`, `io::PipeReader`, a `File`, …); a read of 0
    /// bytes is end of file.
    ///
    /// # Errors
    ///
    /// When the thread cannot be started.
    pub fn new(pipe: impl Read + Send + 'static) -> io::Result<PipeReader> {
        let shared = Arc::new(Shared {
            st: Mutex::new(ReadState::default()),
            cv: Condvar::new(),
        });
        let s = shared.clone();
        start(move || read_loop(pipe, &s))?;
        Ok(PipeReader { shared })
    }

    /// Closes our end: what was read and not handed out is dropped, later reads (and one
    /// waiting now) see end of file, and the thread stops after the read it is in.
    fn close(&self) {
        let mut st = lock(&self.shared.st);
        st.closed = true;
        st.data = Vec::new();
        st.pos = 0;
        let waker = st.waker.take();
        drop(st);
        self.shared.cv.notify_one();
        if let Some(w) = waker {
            w.wake();
        }
    }
}

/// The body of a [`PipeReader`]'s thread.
fn read_loop(mut pipe: impl Read, shared: &Shared<ReadState>) {
    let mut buf = vec![0u8; CHUNK];
    loop {
        // One chunk ahead at most: wait until the last one was taken.
        let mut st = lock(&shared.st);
        while !st.closed && st.pos < st.data.len() {
            st = wait(&shared.cv, st);
        }
        if st.closed {
            return;
        }
        drop(st);
        let res = pipe.read(&mut buf);
        let mut st = lock(&shared.st);
        if st.closed {
            return;
        }
        let end = match res {
            Ok(0) => {
                st.eof = true;
                true
            }
            Ok(n) => {
                st.data.clear();
                st.data.extend_from_slice(&buf[..n]);
                st.pos = 0;
                false
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => {
                st.error = Some(e);
                true
            }
        };
        let waker = st.waker.take();
        drop(st);
        if let Some(w) = waker {
            w.wake();
        }
        if end {
            return;
        }
    }
}

impl RawStream for PipeReader {
    fn poll_read(&self, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>> {
        let mut st = lock(&self.shared.st);
        if st.pos < st.data.len() {
            let n = buf.len().min(st.data.len() - st.pos);
            buf[..n].copy_from_slice(&st.data[st.pos..st.pos + n]);
            st.pos += n;
            let taken = st.pos == st.data.len();
            drop(st);
            if taken {
                self.shared.cv.notify_one();
            }
            return Poll::Ready(Ok(n));
        }
        if let Some(e) = st.error.take() {
            st.eof = true;
            return Poll::Ready(Err(e));
        }
        if st.eof || st.closed {
            return Poll::Ready(Ok(0));
        }
        st.waker = Some(cx.waker().clone());
        Poll::Pending
    }

    fn poll_write(&self, _cx: &mut Context<'_>, _buf: &[u8]) -> Poll<io::Result<usize>> {
        Poll::Ready(Err(io::Error::new(
            io::ErrorKind::Unsupported,
            "the read end of a pipe cannot be written",
        )))
    }

    fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        if how != Shutdown::Write {
            self.close();
        }
        Ok(())
    }

    fn can_write_eof(&self) -> bool {
        false
    }

    fn abort(&self) {
        self.close();
    }
}

impl Drop for PipeReader {
    fn drop(&mut self) {
        self.close();
    }
}

/// Where a [`PipeWriter`]'s chunk is.
enum Job {
    /// No chunk: the next `poll_write` hands one over.
    Idle,
    /// Handed over, not yet taken by the thread.
    Queued(Vec<u8>),
    /// The thread is writing it.
    Writing,
    /// Written (or failed): the next `poll_write` reports it.
    Done(Vec<u8>, io::Result<()>),
}

/// What a [`PipeWriter`] shares with its thread.
struct WriteState {
    job: Job,
    /// Our end is closed: the thread stops (dropping the pipe: the reader sees end of file).
    closed: bool,
    /// The task waiting for the chunk to be written.
    waker: Option<Waker>,
}

/// The write end of a pipe (a child's stdin, or any blocking writer) as a [`RawStream`]: a
/// thread of its own (`tulip-pipe`) writes each chunk (64 KiB at most) with blocking calls,
/// and the write counts (`Ok(n)`) once the pipe took it. `shutdown(Write)` closes it, so the
/// reader sees end of file; closing it while the thread is blocked in a write takes effect
/// when that write returns.
///
/// A write that returned `Pending` must be polled again with the same bytes first (as
/// tulip-net's streams do: unsent bytes stay at the front of their buffer): the chunk taken
/// from the first call is what the thread writes.
pub struct PipeWriter {
    shared: Arc<Shared<WriteState>>,
}

impl PipeWriter {
    /// Starts the thread that writes `pipe` for the loop. `pipe` is written with blocking
    /// calls (std's `ChildStdin`, `io::PipeWriter`, a `File`, …).
    ///
    /// # Errors
    ///
    /// When the thread cannot be started.
    pub fn new(pipe: impl Write + Send + 'static) -> io::Result<PipeWriter> {
        let shared = Arc::new(Shared {
            st: Mutex::new(WriteState {
                job: Job::Idle,
                closed: false,
                waker: None,
            }),
            cv: Condvar::new(),
        });
        let s = shared.clone();
        start(move || write_loop(pipe, &s))?;
        Ok(PipeWriter { shared })
    }

    /// Closes our end: a chunk not yet taken by the thread is dropped (a write waiting for it
    /// is woken and fails), and the thread stops after the write it is in, dropping the pipe.
    fn close(&self) {
        let mut st = lock(&self.shared.st);
        st.closed = true;
        let mut waker = None;
        if matches!(st.job, Job::Queued(_)) {
            st.job = Job::Idle;
            waker = st.waker.take();
        }
        drop(st);
        self.shared.cv.notify_one();
        if let Some(w) = waker {
            w.wake();
        }
    }
}

/// The body of a [`PipeWriter`]'s thread.
fn write_loop(mut pipe: impl Write, shared: &Shared<WriteState>) {
    loop {
        let mut st = lock(&shared.st);
        let data = loop {
            if st.closed {
                return;
            }
            if let Job::Queued(_) = st.job {
                match std::mem::replace(&mut st.job, Job::Writing) {
                    Job::Queued(data) => break data,
                    _ => unreachable!("just matched"),
                }
            }
            st = wait(&shared.cv, st);
        };
        drop(st);
        let res = pipe.write_all(&data).and_then(|()| pipe.flush());
        let failed = res.is_err();
        let mut st = lock(&shared.st);
        st.job = Job::Done(data, res);
        // After a failure the thread ends: later writes get `BrokenPipe`.
        st.closed |= failed;
        let waker = st.waker.take();
        drop(st);
        if let Some(w) = waker {
            w.wake();
        }
        if failed {
            return;
        }
    }
}

impl RawStream for PipeWriter {
    fn poll_read(&self, _cx: &mut Context<'_>, _buf: &mut [u8]) -> Poll<io::Result<usize>> {
        // The write end of a pipe has nothing to read: end of stream.
        Poll::Ready(Ok(0))
    }

    fn poll_write(&self, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        let mut st = lock(&self.shared.st);
        match std::mem::replace(&mut st.job, Job::Idle) {
            Job::Done(data, Ok(())) => {
                // The bytes written are the ones this call retries (see the type's docs).
                if buf.starts_with(&data) {
                    Poll::Ready(Ok(data.len()))
                } else {
                    Poll::Ready(Err(io::Error::other(
                        "a pipe write that returned Pending was retried with other bytes",
                    )))
                }
            }
            Job::Done(_, Err(e)) => Poll::Ready(Err(e)),
            busy @ (Job::Queued(_) | Job::Writing) => {
                st.job = busy;
                st.waker = Some(cx.waker().clone());
                Poll::Pending
            }
            Job::Idle => {
                if st.closed {
                    return Poll::Ready(Err(closed()));
                }
                if buf.is_empty() {
                    return Poll::Ready(Ok(0));
                }
                st.job = Job::Queued(buf[..buf.len().min(CHUNK)].to_vec());
                st.waker = Some(cx.waker().clone());
                drop(st);
                self.shared.cv.notify_one();
                Poll::Pending
            }
        }
    }

    fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        if how != Shutdown::Read {
            // The thread drops the pipe: the child sees end of file once it read the rest.
            self.close();
        }
        Ok(())
    }

    fn abort(&self) {
        self.close();
    }
}

impl Drop for PipeWriter {
    fn drop(&mut self) {
        self.close();
    }
}

impl std::fmt::Debug for PipeWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PipeWriter")
            .field("open", &!lock(&self.shared.st).closed)
            .finish()
    }
}

impl std::fmt::Debug for PipeReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PipeReader")
            .field("open", &!lock(&self.shared.st).closed)
            .finish()
    }
}

#[cfg(all(test, unix))]
mod tests {
    //! The hand-over logic, on Unix socket pairs (std alone, like on Windows); the Windows
    //! pipes themselves are only compiled.

    use std::future::poll_fn;
    use std::io::{Read, Write};
    use std::os::unix::net::UnixStream;
    use std::task::Waker;
    use std::time::{Duration, Instant};

    use std::future::Future;
    use tulip_net::streams;

    use super::*;

    /// Runs `fut` on a loop; a future never woken fails the test after 10 s instead of
    /// hanging it.
    fn finish<T>(fut: impl Future<Output = T>) -> T {
        tulip_runtime::run(futures_lite::future::or(async { Some(fut.await) }, async {
            tulip_reactor::sleep(Duration::from_secs(10)).await;
            None
        }))
        .expect("never woken")
    }

    fn pattern(n: usize) -> Vec<u8> {
        (0..n).map(|i| (i % 251) as u8).collect()
    }

    fn pair() -> (UnixStream, UnixStream) {
        let (a, b) = UnixStream::pair().unwrap();
        // A bug shows as a failed read, not a hung test.
        b.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        (a, b)
    }

    #[test]
    fn reader_hands_over_every_byte_in_order_then_end_of_file() {
        let data = pattern(CHUNK * 7 / 2);
        let (ours, mut theirs) = pair();
        let d = data.clone();
        let feeder = std::thread::spawn(move || theirs.write_all(&d));
        let got = finish(async move {
            let (mut r, _w) = streams::from_stream(PipeReader::new(ours)?);
            r.read_to_end().await
        })
        .unwrap();
        feeder.join().unwrap().unwrap();
        assert_eq!(got.len(), data.len());
        assert!(got == data);
    }

    /// A reader that gives its script, one entry a call.
    struct Script(Vec<io::Result<Vec<u8>>>);

    impl Read for Script {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            if self.0.is_empty() {
                return Ok(0);
            }
            let data = self.0.remove(0)?;
            buf[..data.len()].copy_from_slice(&data);
            Ok(data.len())
        }
    }

    #[test]
    fn reader_hands_an_error_over_once_then_end_of_file() {
        let r = PipeReader::new(Script(vec![
            Ok(b"abc".to_vec()),
            Err(io::Error::other("boom")),
            Ok(b"never read".to_vec()),
        ]))
        .unwrap();
        let mut buf = [0u8; 2];
        let mut read =
            || finish(poll_fn(|cx| r.poll_read(cx, &mut buf))).map(|n| buf[..n].to_vec());
        // A chunk larger than the caller's buffer is handed out in pieces.
        assert_eq!(read().unwrap(), b"ab");
        assert_eq!(read().unwrap(), b"c");
        assert_eq!(read().unwrap_err().to_string(), "boom");
        assert_eq!(read().unwrap(), b"");
        assert_eq!(read().unwrap(), b"");
    }

    /// A waker that remembers it was woken.
    struct Flag(std::sync::atomic::AtomicBool);

    impl std::task::Wake for Flag {
        fn wake(self: Arc<Self>) {
            self.0.store(true, std::sync::atomic::Ordering::SeqCst);
        }
    }

    #[test]
    fn closing_the_reader_wakes_a_waiting_read_which_then_sees_end_of_file() {
        let (ours, _theirs) = pair();
        let r = PipeReader::new(ours).unwrap();
        let flag = Arc::new(Flag(false.into()));
        let waker = Waker::from(flag.clone());
        let mut cx = Context::from_waker(&waker);
        let mut buf = [0u8; 8];
        assert!(r.poll_read(&mut cx, &mut buf).is_pending());
        r.shutdown(Shutdown::Read).unwrap();
        assert!(flag.0.load(std::sync::atomic::Ordering::SeqCst));
        assert!(matches!(r.poll_read(&mut cx, &mut buf), Poll::Ready(Ok(0))));
    }

    #[test]
    fn dropping_the_reader_ends_its_thread_and_closes_the_pipe() {
        let (ours, mut theirs) = pair();
        drop(PipeReader::new(ours).unwrap());
        // The thread is blocked in a read: it ends once that read returns, dropping our
        // end, and then the writer's writes fail.
        let deadline = Instant::now() + Duration::from_secs(10);
        let err = loop {
            match theirs.write_all(b"x") {
                Ok(()) => {
                    assert!(Instant::now() < deadline, "the reader's thread never ended");
                    std::thread::sleep(Duration::from_millis(1));
                }
                Err(e) => break e,
            }
        };
        assert_eq!(err.kind(), io::ErrorKind::BrokenPipe);
    }

    #[test]
    fn writer_sends_every_byte_then_end_of_file_on_close() {
        let data = pattern(CHUNK * 5 + 123);
        let (ours, mut theirs) = pair();
        let drain = std::thread::spawn(move || {
            let mut got = Vec::new();
            theirs.read_to_end(&mut got).map(|_| got)
        });
        let d = data.clone();
        finish(async move {
            let (_r, w) = streams::from_stream(PipeWriter::new(ours)?);
            for piece in d.chunks(10_000) {
                w.write(piece);
            }
            w.drain().await?;
            w.close();
            w.wait_closed().await
        })
        .unwrap();
        let got = drain.join().unwrap().unwrap();
        assert_eq!(got.len(), data.len());
        assert!(got == data);
    }

    #[test]
    fn a_write_counts_only_once_the_pipe_took_it() {
        let (ours, mut theirs) = pair();
        let w = PipeWriter::new(ours).unwrap();
        let mut cx = Context::from_waker(Waker::noop());
        // Handed to the thread, not written yet: `Pending`, whatever the thread does.
        assert!(w.poll_write(&mut cx, b"hello").is_pending());
        let n = finish(poll_fn(|cx| w.poll_write(cx, b"hello, world"))).unwrap();
        assert_eq!(n, 5);
        let mut got = [0u8; 5];
        theirs.read_exact(&mut got).unwrap();
        assert_eq!(&got, b"hello");
    }

    #[test]
    fn a_write_retried_with_other_bytes_is_an_error() {
        let (ours, _theirs) = pair();
        let w = PipeWriter::new(ours).unwrap();
        let mut cx = Context::from_waker(Waker::noop());
        assert!(w.poll_write(&mut cx, b"abc").is_pending());
        let e = finish(poll_fn(|cx| w.poll_write(cx, b"xyz"))).unwrap_err();
        assert!(e.to_string().contains("retried with other bytes"), "{e}");
    }

    #[test]
    fn a_write_to_a_pipe_nobody_reads_fails_with_broken_pipe_and_so_do_later_ones() {
        let (ours, theirs) = pair();
        drop(theirs);
        let w = PipeWriter::new(ours).unwrap();
        let e = finish(poll_fn(|cx| w.poll_write(cx, b"lost"))).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::BrokenPipe);
        let e = finish(poll_fn(|cx| w.poll_write(cx, b"lost"))).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::BrokenPipe);
    }

    #[test]
    fn shutting_the_writer_down_gives_the_reader_end_of_file() {
        let (ours, mut theirs) = pair();
        let w = PipeWriter::new(ours).unwrap();
        assert_eq!(finish(poll_fn(|cx| w.poll_write(cx, b"bye"))).unwrap(), 3);
        w.shutdown(Shutdown::Write).unwrap();
        let mut got = Vec::new();
        theirs.read_to_end(&mut got).unwrap();
        assert_eq!(got, b"bye");
        // Writes after the shutdown are refused.
        let e = finish(poll_fn(|cx| w.poll_write(cx, b"more"))).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::BrokenPipe);
    }
}
