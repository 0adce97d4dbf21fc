//! Stream reads through io_uring completions (the uring backend with a provided-buffer
//! ring): a recv that picks a ring buffer, whose data is copied into the caller's buffers.
//!
//! # Cancel safety
//!
//! The in-flight recv and the data it brought belong to the stream's [`Source`], not to the
//! future or the `poll_read` call that started it. A read future dropped mid-flight loses
//! nothing: the operation keeps running, and what the kernel delivers waits in its ring buffer
//! (`Held`) for the next read. Only deregistering the source (dropping the `Async`) gives the
//! operation up; it is then orphaned (see the buffer-lifetime invariant in
//! `sys::uring_ops`) and its data goes with the stream.
//!
//! While a stream reads this way, every read of it must: a readiness `recv` made meanwhile
//! could take bytes that arrived after the ones the in-flight operation will return.
//!
//! # Sends
//!
//! A write copies up to [`SEND_MAX`] bytes into the stream's send buffer, submits one `SEND`
//! (with `MSG_WAITALL`: the kernel finishes it whole or fails) and returns `Ready(n)` at once:
//! the bytes are committed as bytes `send(2)` put into the socket buffer are. One send is in
//! flight per stream (sends never overtake each other); writes made meanwhile are staged behind
//! it (up to `SEND_MAX` more), and the reaper sends them as the same operation when it is done.
//! Only with the stage full does a write wait (`Pending`, having taken nothing: dropping that
//! future loses and writes nothing). An error the send meets (`EPIPE`, `ECONNRESET`) is
//! returned by the next write, flush or close — on a readiness path the same error would have
//! come from a later write too, the bytes having gone into the socket buffer first. Once a
//! send met an error, once the reactor saw the connection fail (`POLLERR`/`POLLHUP`), and after
//! our own shutdown of the write side, writes are no longer submitted: they fail at once, as
//! `send(2)` would.
//!
//! **Buffer lifetime:** the send buffer lives in the operation's slot until the CQE is reaped
//! (see `sys::uring_ops`). A stream dropped with a send in flight does not cancel it (the
//! bytes were reported written; a `close(2)` with data in the socket buffer sends it too):
//! the kernel finishes it (what was staged goes out on a duplicate of the fd, since the
//! owner's closes), then the slot frees the buffers and the file closes. Only a socket
//! set to linger zero seconds (a reset on close, which discards unsent data) cancels it.
//!
//! # Multishot accept
//!
//! A listener's first accept arms one multishot `ACCEPT`; every connection is a completion
//! carrying a new fd, queued in the operation's slot for the next accepts. A completion
//! without `IORING_CQE_F_MORE` ends it (an error such as `EMFILE`, which is returned to the
//! caller — whose accept loop backs off — or a cancellation): the accept after it re-arms.
//! At most `ACCEPT_QUEUE_MAX` connections are queued; then the operation is cancelled, so the
//! rest wait in the kernel's backlog as they would on readiness. Dropping (deregistering) the
//! listener cancels the accept and closes the connections it had queued.

use std::io::{self, IoSlice, IoSliceMut};
use std::os::fd::{FromRawFd, OwnedFd};
use std::task::{Context, Poll};

use crate::reactor::{lock, Source};
use crate::sys::uring::Uring;
use crate::sys::uring_ops::Staged;

/// A source's completion state under the uring backend (`Source::completion`, made at its
/// first completion operation).
#[derive(Default)]
pub(crate) struct Completion {
    /// Completion reads: the recv in flight and data not read yet.
    pub(crate) recv: std::sync::Mutex<RecvState>,
    /// Completion sends: the send in flight and its buffer.
    pub(crate) send: std::sync::Mutex<SendState>,
    /// A listener's multishot accept.
    pub(crate) accept: std::sync::Mutex<AcceptState>,
}

/// The largest owned buffer a read falls back to when the ring is empty.
const OWNED_MAX: usize = 64 * 1024;

/// Data a completion brought that no read has taken yet.
#[derive(Debug, Default)]
enum Held {
    #[default]
    None,
    /// Bytes `off..len` of ring buffer `bid`.
    Ring { bid: u16, off: usize, len: usize },
    /// Bytes `off..` of an owned buffer (the fallback when the ring was empty).
    Owned { buf: Vec<u8>, off: usize },
}

/// A stream's completion-read state.
#[derive(Debug, Default)]
pub(crate) struct RecvState {
    /// The slot of the recv in flight.
    op: Option<u32>,
    held: Held,
    /// The last ring recv found the ring empty (`ENOBUFS`): the next uses an owned buffer.
    ring_empty: bool,
}

/// Copies from `src` into `bufs`; returns how many bytes.
fn scatter(src: &[u8], bufs: &mut [IoSliceMut<'_>]) -> usize {
    let mut n = 0;
    for b in bufs.iter_mut() {
        if n == src.len() {
            break;
        }
        let k = b.len().min(src.len() - n);
        b[..k].copy_from_slice(&src[n..n + k]);
        n += k;
    }
    n
}

/// How a read treats the data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mode {
    /// Takes the data.
    Read,
    /// Copies the data and leaves it for the next read (`MSG_PEEK`).
    Peek,
    /// Takes data already here, never waits: with no recv in flight it is one non-blocking
    /// `recv` system call; with one in flight that has not completed, `WouldBlock`.
    Try,
}

/// Reads into `bufs` from the stream `source` through io_uring completions.
pub(crate) fn poll_recv(
    uring: &Uring,
    source: &Source,
    cx: &mut Context<'_>,
    bufs: &mut [IoSliceMut<'_>],
    mode: Mode,
) -> Poll<io::Result<usize>> {
    let want: usize = bufs.iter().map(|b| b.len()).sum();
    if want == 0 {
        return Poll::Ready(Ok(0));
    }
    let mut st = lock(&source.completion().recv);
    loop {
        match &mut st.held {
            Held::None => {}
            Held::Ring { bid, off, len } => {
                let (b, o, l) = (*bid, *off, *len);
                let n = uring.with_ring_buf(b, l, false, |data| scatter(&data[o..], bufs));
                if mode == Mode::Peek {
                    return Poll::Ready(Ok(n));
                }
                if o + n == l {
                    uring.recycle(b);
                    st.held = Held::None;
                } else {
                    *off += n;
                }
                return Poll::Ready(Ok(n));
            }
            Held::Owned { buf, off } => {
                let n = scatter(&buf[*off..], bufs);
                if mode == Mode::Peek {
                    return Poll::Ready(Ok(n));
                }
                *off += n;
                if *off == buf.len() {
                    st.held = Held::None;
                }
                return Poll::Ready(Ok(n));
            }
        }
        if let Some(idx) = st.op {
            let Some((res, flags, buf)) = uring.take_op(idx, cx.waker()) else {
                if mode == Mode::Try {
                    return Poll::Ready(Err(io::ErrorKind::WouldBlock.into()));
                }
                return Poll::Pending;
            };
            st.op = None;
            let bid = io_uring::cqueue::buffer_select(flags);
            if res < 0 {
                if let Some(b) = bid {
                    uring.recycle(b);
                }
                if res == -rustix::io::Errno::NOBUFS.raw_os_error() {
                    // The ring ran dry (buffers held by streams not read yet): the kernel took
                    // no data. Try again with a buffer of our own.
                    st.ring_empty = true;
                    continue;
                }
                return Poll::Ready(Err(io::Error::from_raw_os_error(-res)));
            }
            let len = res as usize;
            st.held = match (bid, buf) {
                (Some(b), _) if len > 0 => Held::Ring {
                    bid: b,
                    off: 0,
                    len,
                },
                (Some(b), _) => {
                    uring.recycle(b);
                    Held::None
                }
                (None, Some(mut buf)) if len > 0 => {
                    buf.truncate(len);
                    Held::Owned { buf, off: 0 }
                }
                _ => Held::None,
            };
            if len == 0 {
                // End of stream.
                return Poll::Ready(Ok(0));
            }
            continue;
        }
        if mode == Mode::Try {
            // Nothing in flight: the socket's queue is next in line.
            let fd = crate::source::borrow(source.fd);
            let n = match bufs.first_mut() {
                Some(b) => rustix::net::recv(fd, &mut b[..], rustix::net::RecvFlags::empty())?.0,
                None => 0,
            };
            return Poll::Ready(Ok(n));
        }
        let idx = if st.ring_empty {
            st.ring_empty = false;
            uring.submit_recv_owned(source.fd, want.min(OWNED_MAX), Some(source.key), cx.waker())?
        } else {
            uring.submit_recv(source.fd, Some(source.key), cx.waker())?
        };
        st.op = Some(idx);
        return Poll::Pending;
    }
}

/// The source goes away: orphans its recv in flight and gives back the ring buffer it held;
/// lets its send finish (cancelled only on a socket lingering zero seconds); cancels its
/// multishot accept (closing the connections it queued).
pub(crate) fn release(uring: &Uring, source: &Source) {
    let Some(c) = source.completion_if_used() else {
        // It never used a completion operation: nothing in flight.
        return;
    };
    let mut st = lock(&c.recv);
    if let Some(idx) = st.op.take() {
        uring.orphan_op(idx, true);
    }
    if let Held::Ring { bid, .. } = std::mem::take(&mut st.held) {
        uring.recycle(bid);
    }
    drop(st);
    if let Some(idx) = lock(&c.send).op.take() {
        let fd = crate::source::borrow(source.fd);
        let reset = matches!(
            rustix::net::sockopt::socket_linger(fd),
            Ok(Some(d)) if d.is_zero()
        );
        uring.orphan_op(idx, reset);
    }
    if let Some(idx) = lock(&c.accept).op.take() {
        uring.orphan_op(idx, true);
    }
}

/// The most a write copies into the send buffer (a larger write is a short write).
pub(crate) const SEND_MAX: usize = 256 * 1024;

/// A stream's completion-send state.
#[derive(Debug, Default)]
pub(crate) struct SendState {
    /// The send in flight (with whatever was staged behind it).
    op: Option<u32>,
    /// Our write side is shut down: writes fail with `EPIPE`.
    shut: bool,
    /// A send met an error (the peer reset or went away): later writes are plain
    /// `sendmsg(2)` calls, so they fail at once as the kernel says (`EPIPE`) instead of being
    /// reported written and failing one write later.
    failed: bool,
    /// The last send's buffer, kept for the next.
    spare: Vec<u8>,
}

/// Finishes the send in flight if its completion came: `Ready(Ok)` when none is in flight
/// (the error it met is returned once), `Pending` while it runs (`waker` is woken).
fn poll_sent(uring: &Uring, st: &mut SendState, waker: &std::task::Waker) -> Poll<io::Result<()>> {
    let Some(idx) = st.op else {
        return Poll::Ready(Ok(()));
    };
    let Some((res, _, buf)) = uring.take_op(idx, waker) else {
        return Poll::Pending;
    };
    st.op = None;
    if let Some(buf) = buf {
        st.spare = buf;
    }
    if res < 0 {
        st.failed = true;
        return Poll::Ready(Err(io::Error::from_raw_os_error(-res)));
    }
    Poll::Ready(Ok(()))
}

/// A write of `bufs` to the stream `source` through an io_uring send (see the module docs).
pub(crate) fn poll_send(
    uring: &Uring,
    source: &Source,
    cx: &mut Context<'_>,
    bufs: &[IoSlice<'_>],
) -> Poll<io::Result<usize>> {
    let want: usize = bufs.iter().map(|b| b.len()).sum();
    let mut st = lock(&source.completion().send);
    if st.shut {
        return Poll::Ready(Err(epipe()));
    }
    if let Some(idx) = st.op {
        // Staged behind the send in flight, if there is room.
        match uring.stage_send(idx, bufs, SEND_MAX, cx.waker()) {
            Staged::Took(n) => return Poll::Ready(Ok(n)),
            Staged::Full => return Poll::Pending,
            Staged::Finished => {}
        }
    }
    std::task::ready!(poll_sent(uring, &mut st, cx.waker()))?;
    if want == 0 {
        return Poll::Ready(Ok(0));
    }
    if st.failed || source.is_closed(crate::reactor::Dir::Write) {
        // The connection failed: `send(2)` says how (and never blocks on it).
        return Poll::Ready(send_now(source, bufs));
    }
    let mut buf = std::mem::take(&mut st.spare);
    buf.clear();
    let n = want.min(SEND_MAX);
    buf.reserve(n);
    for b in bufs {
        let k = b.len().min(n - buf.len());
        buf.extend_from_slice(&b[..k]);
        if buf.len() == n {
            break;
        }
    }
    st.op = Some(uring.submit_send(source.fd, buf, source.key, cx.waker())?);
    Poll::Ready(Ok(n))
}

/// Whether a write would wait: a send is in flight with its stage full. A readiness wait for
/// writability then waits for the send (its completion is a writable event), not for the
/// socket, which may have room the send has not used yet.
pub(crate) fn send_blocked(uring: &Uring, source: &Source) -> bool {
    let st = lock(&source.completion().send);
    st.op.is_some_and(|idx| uring.stage_full(idx, SEND_MAX))
}

/// Waits for the send in flight; returns the error it met.
pub(crate) fn poll_flush(
    uring: &Uring,
    source: &Source,
    cx: &mut Context<'_>,
) -> Poll<io::Result<()>> {
    let mut st = lock(&source.completion().send);
    poll_sent(uring, &mut st, cx.waker())
}

/// A non-blocking write: `WouldBlock` while a send is in flight, else one `send(2)`.
pub(crate) fn try_send(uring: &Uring, source: &Source, buf: &[u8]) -> io::Result<usize> {
    let mut cx = Context::from_waker(std::task::Waker::noop());
    match poll_send(uring, source, &mut cx, &[IoSlice::new(buf)]) {
        Poll::Pending => Err(io::ErrorKind::WouldBlock.into()),
        Poll::Ready(r) => r,
    }
}

/// Shuts the write side down after the send in flight (at once if none is).
pub(crate) fn shutdown_write(uring: &Uring, source: &Source) -> io::Result<()> {
    let mut st = lock(&source.completion().send);
    st.shut = true;
    if let Some(idx) = st.op {
        if uring.shutdown_after(idx) {
            return Ok(());
        }
    }
    rustix::net::shutdown(
        crate::source::borrow(source.fd),
        rustix::net::Shutdown::Write,
    )?;
    Ok(())
}

/// One `sendmsg(2)` (no signal).
fn send_now(source: &Source, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
    let fd = crate::source::borrow(source.fd);
    let mut control = rustix::net::SendAncillaryBuffer::default();
    Ok(rustix::net::sendmsg(
        fd,
        bufs,
        &mut control,
        rustix::net::SendFlags::NOSIGNAL,
    )?)
}

fn epipe() -> io::Error {
    io::Error::from_raw_os_error(rustix::io::Errno::PIPE.raw_os_error())
}

/// A listener's multishot accept.
#[derive(Debug, Default)]
pub(crate) struct AcceptState {
    op: Option<u32>,
}

/// The next connection of the listener `source` (a non-blocking, close-on-exec fd), through a
/// multishot accept (see the module docs).
pub(crate) fn poll_accept(
    uring: &Uring,
    source: &Source,
    cx: &mut Context<'_>,
) -> Poll<io::Result<OwnedFd>> {
    let mut st = lock(&source.completion().accept);
    loop {
        let Some(idx) = st.op else {
            st.op = Some(uring.submit_accept(source.fd, source.key, cx.waker())?);
            return Poll::Pending;
        };
        match uring.take_accept(idx, cx.waker()) {
            None => return Poll::Pending,
            Some(Err(())) => {
                // It ended and everything it brought was taken: re-arm.
                st.op = None;
            }
            Some(Ok(res)) if res >= 0 => {
                #[allow(unsafe_code)] // Taking ownership of a raw fd.
                // SAFETY: a non-negative accept result is a new fd the kernel installed for
                // us; the slot handed it over once and owns it no longer.
                return Poll::Ready(Ok(unsafe { OwnedFd::from_raw_fd(res) }));
            }
            Some(Ok(res)) => return Poll::Ready(Err(io::Error::from_raw_os_error(-res))),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::io::{IoSlice, IoSliceMut, Read, Write};
    use std::os::unix::net::UnixStream;

    use super::SEND_MAX;
    use std::task::{Context, Poll, Waker};
    use std::time::{Duration, Instant};

    use crate::sys::uring_ops::RING_ENTRIES;
    use crate::{Async, Backend, Reactor};

    fn uring_reactor() -> Option<Reactor> {
        let r = Reactor::with_backend(Backend::Uring).ok()?;
        if r.completions().is_none() {
            eprintln!("no io_uring provided-buffer ring here; skipping");
            return None;
        }
        Some(r)
    }

    fn poll_read(a: &Async<UnixStream>, buf: &mut [u8]) -> Poll<std::io::Result<usize>> {
        let mut cx = Context::from_waker(Waker::noop());
        a.poll_recv_stream(&mut cx, &mut [IoSliceMut::new(buf)])
    }

    /// More streams than ring buffers, each holding its ring buffer (read one byte at a time):
    /// the ring runs dry, the recvs that find it so (`ENOBUFS`) retry with owned buffers, and
    /// every stream still reads its own message whole and in order.
    #[test]
    fn a_dry_ring_falls_back_to_owned_buffers_without_losing_data() {
        let Some(r) = uring_reactor() else { return };
        let _g = r.enter();
        let n = usize::from(RING_ENTRIES) + 16;
        let mut peers = Vec::new();
        let mut streams = Vec::new();
        for i in 0..n {
            let (a, mut b) = UnixStream::pair().unwrap();
            b.write_all(format!("message {i:04}").as_bytes()).unwrap();
            peers.push(b);
            streams.push(Async::new(a).unwrap());
        }
        let mut got: Vec<Vec<u8>> = vec![Vec::new(); n];
        let deadline = Instant::now() + Duration::from_secs(20);
        while got.iter().any(|g| g.len() < 12) {
            assert!(Instant::now() < deadline, "reads never finished");
            for (s, g) in streams.iter().zip(got.iter_mut()) {
                let mut b = [0u8; 1];
                while g.len() < 12 {
                    match poll_read(s, &mut b) {
                        Poll::Ready(Ok(1)) => g.push(b[0]),
                        Poll::Ready(r) => panic!("{r:?}"),
                        Poll::Pending => break,
                    }
                    // Read one byte per stream per round at first, so buffers stay held.
                    if g.len() == 1 {
                        break;
                    }
                }
            }
            r.park(Some(Duration::from_millis(5))).unwrap();
        }
        for (i, g) in got.iter().enumerate() {
            assert_eq!(g, format!("message {i:04}").as_bytes());
        }
    }

    /// A tiny deterministic generator (xorshift).
    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }
        fn below(&mut self, n: u64) -> u64 {
            self.next() % n
        }
    }

    fn byte(stream: usize, pos: usize) -> u8 {
        (stream.wrapping_mul(31) ^ pos.wrapping_mul(7) ^ (pos >> 8)) as u8
    }

    /// Many connections; reads with fresh heap buffers of random sizes abandoned at random
    /// points (the future dropped: the buffer freed), and whole streams dropped with a recv in
    /// flight (orphans). Every byte that reaches a reader is the right one, in order, and the
    /// streams that live read everything. Also run under AddressSanitizer (nightly,
    /// `RUSTFLAGS=-Zsanitizer=address cargo +nightly test -Zbuild-std --target
    /// x86_64-unknown-linux-gnu -p tulip-reactor --lib -- uring completion`); ASan sees our reads
    /// of freed memory, and a kernel write into freed memory only as the heap damage it does.
    #[test]
    fn stress_random_read_drops_lose_and_corrupt_nothing() {
        let Some(r) = uring_reactor() else { return };
        let _g = r.enter();
        const N: usize = 160;
        const LEN: usize = 48 * 1024;
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
        let mut streams: Vec<Option<Async<UnixStream>>> = Vec::new();
        let mut writers = Vec::new();
        for i in 0..N {
            let (a, mut b) = UnixStream::pair().unwrap();
            streams.push(Some(Async::new(a).unwrap()));
            let seed = rng.next() | 1;
            writers.push(std::thread::spawn(move || {
                let mut rng = Rng(seed);
                let data: Vec<u8> = (0..LEN).map(|p| byte(i, p)).collect();
                let mut off = 0;
                while off < LEN {
                    let k = (1 + rng.below(9000) as usize).min(LEN - off);
                    if b.write_all(&data[off..off + k]).is_err() {
                        return; // The reader dropped the stream.
                    }
                    off += k;
                }
            }));
        }
        let mut pos = vec![0usize; N];
        let mut dropped = 0;
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let mut live = 0;
            for i in 0..N {
                let Some(s) = &streams[i] else { continue };
                if pos[i] == LEN {
                    continue;
                }
                live += 1;
                // Now and then a stream goes away with its recv in flight.
                if dropped < N / 8 && rng.below(400) == 0 {
                    streams[i] = None;
                    dropped += 1;
                    continue;
                }
                let size = 1 + rng.below(20_000) as usize;
                let mut buf = vec![0u8; size];
                match poll_read(s, &mut buf) {
                    Poll::Ready(Ok(0)) => panic!("stream {i}: early end at {}", pos[i]),
                    Poll::Ready(Ok(n)) => {
                        for (k, &b) in buf[..n].iter().enumerate() {
                            assert_eq!(b, byte(i, pos[i] + k), "stream {i} at {}", pos[i] + k);
                        }
                        pos[i] += n;
                    }
                    Poll::Ready(Err(e)) => panic!("stream {i}: {e}"),
                    // The read is abandoned: `buf` is freed here, as a dropped future's.
                    Poll::Pending => drop(buf),
                }
            }
            if live == 0 {
                break;
            }
            assert!(Instant::now() < deadline, "the streams never finished");
            r.park(Some(Duration::from_millis(1))).unwrap();
        }
        drop(streams);
        for w in writers {
            w.join().unwrap();
        }
        // Every orphan's CQE came in.
        let deadline = Instant::now() + Duration::from_secs(10);
        while r.completions().unwrap().ops_in_flight() > 0 {
            assert!(Instant::now() < deadline, "orphans never completed");
            r.park(Some(Duration::from_millis(5))).unwrap();
        }
    }

    // ----- sends -----

    fn send_reactor() -> Option<Reactor> {
        let r = uring_reactor()?;
        if r.completion_sends().is_none() {
            eprintln!("completion sends are off here; skipping");
            return None;
        }
        Some(r)
    }

    /// Drives `f` (bounded) until it is ready, parking the reactor between polls.
    fn drive<R>(r: &Reactor, mut f: impl FnMut(&mut Context<'_>) -> Poll<R>) -> R {
        let mut cx = Context::from_waker(Waker::noop());
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Poll::Ready(v) = f(&mut cx) {
                return v;
            }
            assert!(Instant::now() < deadline, "never became ready");
            r.park(Some(Duration::from_millis(2))).unwrap();
        }
    }

    fn send_all<T: crate::AsSource>(r: &Reactor, a: &Async<T>, data: &[u8]) -> std::io::Result<()> {
        let mut off = 0;
        while off < data.len() {
            let n = drive(r, |cx| {
                a.poll_send_stream(cx, &[IoSlice::new(&data[off..])])
            })?;
            assert!(n > 0 && n <= SEND_MAX);
            off += n;
        }
        drive(r, |cx| a.poll_flush_stream(cx))
    }

    fn pattern(len: usize, seed: usize) -> Vec<u8> {
        (0..len).map(|p| byte(seed, p)).collect()
    }

    /// A write larger than the send buffer is a short write (at most `SEND_MAX`), writes made
    /// while a send is in flight are staged behind it (up to `SEND_MAX`), the bytes
    /// arrive whole and in order while the peer reads slowly (the kernel finishing each send
    /// in pieces), and vectored writes gather their slices in order.
    #[test]
    fn large_and_partial_sends_arrive_whole_and_in_order() {
        let Some(r) = send_reactor() else { return };
        let _g = r.enter();
        let (a, b) = UnixStream::pair().unwrap();
        let a = Async::new(a).unwrap();
        let data = pattern(8 << 20, 3);
        let expect = data.clone();
        let reader = std::thread::spawn(move || {
            let mut b = b;
            let mut got = Vec::new();
            let mut buf = vec![0u8; 7000];
            loop {
                let n = b.read(&mut buf).unwrap();
                if n == 0 {
                    return got;
                }
                got.extend_from_slice(&buf[..n]);
                if got.len() < (1 << 20) {
                    // Slowly at first, so sends block in the kernel half done.
                    std::thread::sleep(Duration::from_micros(50));
                }
            }
        });
        let mut cx = Context::from_waker(Waker::noop());
        let n = match a.poll_send_stream(&mut cx, &[IoSlice::new(&data)]) {
            Poll::Ready(n) => n.unwrap(),
            Poll::Pending => panic!("nothing was in flight"),
        };
        assert_eq!(n, SEND_MAX, "a large write is short");
        // While that send runs (not even submitted yet), the next write is staged behind it,
        // and once the stage is full a write waits, having taken nothing.
        let m = match a.poll_send_stream(&mut cx, &[IoSlice::new(&data[n..])]) {
            Poll::Ready(m) => m.unwrap(),
            Poll::Pending => panic!("the stage was empty"),
        };
        assert_eq!(m, SEND_MAX);
        let n = n + m;
        assert!(a
            .poll_send_stream(&mut cx, &[IoSlice::new(&data[n..])])
            .is_pending());
        send_all(&r, &a, &data[n..n + (3 << 20)]).unwrap();
        let rest = &data[n + (3 << 20)..];
        let (x, y) = rest.split_at(rest.len() / 3);
        let mut off = 0;
        while off < rest.len() {
            let bufs: Vec<IoSlice<'_>> = if off < x.len() {
                vec![IoSlice::new(&x[off..]), IoSlice::new(y)]
            } else {
                vec![IoSlice::new(&y[off - x.len()..])]
            };
            off += drive(&r, |cx| a.poll_send_stream(cx, &bufs)).unwrap();
        }
        drive(&r, |cx| a.poll_flush_stream(cx)).unwrap();
        a.shutdown_write_stream().unwrap();
        let got = reader.join().unwrap();
        assert_eq!(got.len(), expect.len());
        assert!(got == expect, "the bytes arrived changed or out of order");
        assert_eq!(r.completion_sends().unwrap().ops_in_flight(), 0);
    }

    /// The peer resets while a send is blocked in the kernel (the peer reads nothing): the
    /// error comes back from the next write or flush, and writes after it fail at once.
    #[test]
    fn a_peer_reset_during_a_send_is_an_error_and_stays_one() {
        let Some(r) = send_reactor() else { return };
        let _g = r.enter();
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let c = std::net::TcpStream::connect(l.local_addr().unwrap()).unwrap();
        let (peer, _) = l.accept().unwrap();
        let a = Async::new(c).unwrap();
        let chunk = vec![5u8; SEND_MAX];
        let mut cx = Context::from_waker(Waker::noop());
        // Fill the socket buffers until a send stays in flight.
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            assert!(Instant::now() < deadline, "the send buffer never filled");
            match a.poll_send_stream(&mut cx, &[IoSlice::new(&chunk)]) {
                Poll::Ready(Ok(_)) => {}
                Poll::Ready(Err(e)) => panic!("{e}"),
                Poll::Pending => {
                    r.park(Some(Duration::from_millis(20))).unwrap();
                    if a.poll_flush_stream(&mut cx).is_pending() {
                        break;
                    }
                }
            }
        }
        rustix::net::sockopt::set_socket_linger(&peer, Some(Duration::ZERO)).unwrap();
        drop(peer);
        let err = drive(&r, |cx| a.poll_flush_stream(cx)).unwrap_err();
        assert!(
            matches!(
                err.kind(),
                std::io::ErrorKind::ConnectionReset | std::io::ErrorKind::BrokenPipe
            ),
            "{err}"
        );
        // At once, without a turn of the reactor that might have seen the hang-up: the failed
        // send is enough (a write is never reported done to a connection known broken).
        match a.poll_send_stream(&mut cx, &[IoSlice::new(b"more")]) {
            Poll::Ready(Err(e)) => assert!(
                matches!(
                    e.kind(),
                    std::io::ErrorKind::ConnectionReset | std::io::ErrorKind::BrokenPipe
                ),
                "{e}"
            ),
            other => panic!("a write after a failed send gave {other:?}"),
        }
        for _ in 0..3 {
            let e = drive(&r, |cx| a.poll_send_stream(cx, &[IoSlice::new(b"more")])).unwrap_err();
            assert!(
                matches!(
                    e.kind(),
                    std::io::ErrorKind::ConnectionReset | std::io::ErrorKind::BrokenPipe
                ),
                "{e}"
            );
        }
        assert_eq!(r.completion_sends().unwrap().ops_in_flight(), 0);
    }

    /// After our shutdown of the write side a write fails at once with `EPIPE`, as `send(2)`
    /// does; a shutdown asked for while a send is in flight comes after its bytes.
    #[test]
    fn shutdown_follows_the_send_in_flight_and_writes_after_it_fail() {
        let Some(r) = send_reactor() else { return };
        let _g = r.enter();
        let (a, b) = UnixStream::pair().unwrap();
        let a = Async::new(a).unwrap();
        let data = pattern(SEND_MAX, 9);
        let mut cx = Context::from_waker(Waker::noop());
        assert!(matches!(
            a.poll_send_stream(&mut cx, &[IoSlice::new(&data)]),
            Poll::Ready(Ok(n)) if n == SEND_MAX
        ));
        // The send is only queued (submitted with the next wait): shut down now.
        a.shutdown_write_stream().unwrap();
        let reader = std::thread::spawn(move || {
            let mut b = b;
            let mut got = Vec::new();
            b.read_to_end(&mut got).unwrap();
            got
        });
        // The write waits for the send in flight, then fails as `send(2)` would.
        let e = drive(&r, |cx| a.poll_send_stream(cx, &[IoSlice::new(b"late")])).unwrap_err();
        assert_eq!(e.kind(), std::io::ErrorKind::BrokenPipe);
        drive(&r, |cx| a.poll_flush_stream(cx)).unwrap();
        assert!(reader.join().unwrap() == data, "the FIN overtook the bytes");
    }

    /// Many streams written with random sizes while their peers read at random speeds;
    /// writes that wait are abandoned (their buffers freed, as a dropped future's), and whole
    /// streams are dropped with sends in flight. Every peer receives exactly the bytes its
    /// writes reported (a dropped stream's too: an orphaned send is finished, not cancelled),
    /// then the end of stream. Also run under AddressSanitizer (see the read stress test).
    #[test]
    fn stress_dropped_writes_and_streams_lose_and_corrupt_nothing() {
        let Some(r) = send_reactor() else { return };
        let _g = r.enter();
        const N: usize = 64;
        const LEN: usize = 1 << 20;
        let mut rng = Rng(0x2545_f491_4f6c_dd1d);
        let mut streams: Vec<Option<Async<UnixStream>>> = Vec::new();
        let mut readers = Vec::new();
        for i in 0..N {
            let (a, b) = UnixStream::pair().unwrap();
            streams.push(Some(Async::new(a).unwrap()));
            let seed = rng.next() | 1;
            readers.push(std::thread::spawn(move || {
                let mut rng = Rng(seed);
                let mut b = b;
                let mut got = Vec::new();
                let mut buf = vec![0u8; 70_000];
                loop {
                    let k = 1 + rng.below(buf.len() as u64) as usize;
                    let n = b.read(&mut buf[..k]).unwrap();
                    if n == 0 {
                        break;
                    }
                    got.extend_from_slice(&buf[..n]);
                    if rng.below(8) == 0 {
                        std::thread::sleep(Duration::from_micros(rng.below(300)));
                    }
                }
                (i, got)
            }));
        }
        let mut pos = vec![0usize; N];
        let mut dropped = 0;
        let mut cx = Context::from_waker(Waker::noop());
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let mut live = 0;
            for i in 0..N {
                let Some(s) = &streams[i] else { continue };
                if pos[i] == LEN {
                    // Everything reported written: close once it is out.
                    if s.poll_flush_stream(&mut cx).is_ready() {
                        streams[i] = None;
                    } else {
                        live += 1;
                    }
                    continue;
                }
                live += 1;
                if dropped < N / 4 && rng.below(300) == 0 {
                    // Dropped with (probably) a send in flight.
                    streams[i] = None;
                    dropped += 1;
                    continue;
                }
                let size = (1 + rng.below(100_000) as usize).min(LEN - pos[i]);
                let buf: Vec<u8> = (pos[i]..pos[i] + size).map(|p| byte(i, p)).collect();
                match s.poll_send_stream(&mut cx, &[IoSlice::new(&buf)]) {
                    Poll::Ready(Ok(n)) => pos[i] += n,
                    Poll::Ready(Err(e)) => panic!("stream {i}: {e}"),
                    // Abandoned: `buf` is freed here, as a dropped write future's.
                    Poll::Pending => drop(buf),
                }
            }
            if live == 0 {
                break;
            }
            assert!(Instant::now() < deadline, "the streams never finished");
            r.park(Some(Duration::from_millis(1))).unwrap();
        }
        drop(streams);
        // The orphans finish as their readers drain them.
        let deadline = Instant::now() + Duration::from_secs(20);
        while r.completion_sends().unwrap().ops_in_flight() > 0 {
            assert!(Instant::now() < deadline, "orphaned sends never completed");
            r.park(Some(Duration::from_millis(5))).unwrap();
        }
        for t in readers {
            let (i, got) = t.join().unwrap();
            assert_eq!(
                got.len(),
                pos[i],
                "stream {i}: bytes reported written went missing"
            );
            for (p, &b) in got.iter().enumerate() {
                assert_eq!(b, byte(i, p), "stream {i} at {p}");
            }
        }
    }

    // ----- multishot accept -----

    fn accept_one(r: &Reactor, l: &Async<std::net::TcpListener>) -> std::os::fd::OwnedFd {
        drive(r, |cx| l.poll_accept_multishot(cx)).unwrap()
    }

    /// A storm of connections from several threads, more than the accept queue holds: every
    /// one is accepted exactly once (the multishot is stopped at the cap and re-armed), each
    /// a working non-blocking, close-on-exec socket.
    #[test]
    fn an_accept_storm_accepts_every_connection_once() {
        let Some(r) = send_reactor() else { return };
        let _g = r.enter();
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = l.local_addr().unwrap();
        let l = Async::new(l).unwrap();
        const THREADS: usize = 4;
        const PER: usize = 100;
        // Arm it before the storm.
        let mut cx = Context::from_waker(Waker::noop());
        assert!(l.poll_accept_multishot(&mut cx).is_pending());
        let clients: Vec<_> = (0..THREADS)
            .map(|t| {
                std::thread::spawn(move || {
                    (0..PER)
                        .map(|k| {
                            let mut c = std::net::TcpStream::connect(addr).unwrap();
                            c.write_all(&[t as u8, k as u8]).unwrap();
                            c
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        let mut seen = std::collections::HashSet::new();
        for _ in 0..THREADS * PER {
            let fd = accept_one(&r, &l);
            let flags = rustix::io::fcntl_getfd(&fd).unwrap();
            assert!(flags.contains(rustix::io::FdFlags::CLOEXEC));
            let mut s = std::net::TcpStream::from(fd);
            s.set_nonblocking(false).unwrap();
            let mut id = [0u8; 2];
            s.read_exact(&mut id).unwrap();
            assert!(seen.insert(id), "accepted {id:?} twice");
        }
        assert_eq!(seen.len(), THREADS * PER);
        for c in clients {
            c.join().unwrap();
        }
        // Nothing more: the accept waits.
        assert!(l.poll_accept_multishot(&mut cx).is_pending());
    }

    /// Dropping a listener whose multishot accept is armed, with connections it queued and
    /// nobody took: the accept is cancelled, its queued connections are closed (their
    /// clients see the end), and no operation is left in flight.
    #[test]
    fn a_dropped_listener_cancels_its_accept_and_closes_what_it_queued() {
        let Some(r) = send_reactor() else { return };
        let _g = r.enter();
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = l.local_addr().unwrap();
        let l = Async::new(l).unwrap();
        let _first = {
            let c = std::net::TcpStream::connect(addr).unwrap();
            (accept_one(&r, &l), c)
        };
        let mut clients: Vec<_> = (0..5)
            .map(|_| std::net::TcpStream::connect(addr).unwrap())
            .collect();
        // Let the armed multishot queue them.
        for _ in 0..20 {
            r.park(Some(Duration::from_millis(2))).unwrap();
        }
        assert!(r.completion_sends().unwrap().ops_in_flight() >= 1);
        drop(l);
        let deadline = Instant::now() + Duration::from_secs(10);
        while r.completion_sends().unwrap().ops_in_flight() > 0 {
            assert!(Instant::now() < deadline, "the accept was never cancelled");
            r.park(Some(Duration::from_millis(5))).unwrap();
        }
        for c in &mut clients {
            c.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
            let mut b = [0u8; 1];
            // The end of stream or a reset: either way not a timeout.
            match c.read(&mut b) {
                Ok(n) => assert_eq!(n, 0),
                Err(e) => assert_eq!(e.kind(), std::io::ErrorKind::ConnectionReset, "{e}"),
            }
        }
    }

    /// A multishot accept that ends (cancelled behind the owner's back here, as an error or a
    /// full CQ ring would end it) is re-armed by the next accept.
    #[test]
    fn an_ended_multishot_accept_is_rearmed() {
        let Some(r) = send_reactor() else { return };
        let _g = r.enter();
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = l.local_addr().unwrap();
        let l = Async::new(l).unwrap();
        let u = r.completion_sends().unwrap();
        let _c1 = std::net::TcpStream::connect(addr).unwrap();
        let _a1 = accept_one(&r, &l);
        assert_eq!(u.ops_in_flight(), 1);
        u.cancel_all();
        let deadline = Instant::now() + Duration::from_secs(10);
        while u.ops_in_flight() > 0 {
            assert!(Instant::now() < deadline, "the cancel never came");
            r.park(Some(Duration::from_millis(5))).unwrap();
        }
        let _c2 = std::net::TcpStream::connect(addr).unwrap();
        let _a2 = accept_one(&r, &l);
        assert_eq!(u.ops_in_flight(), 1, "re-armed");
    }
}
