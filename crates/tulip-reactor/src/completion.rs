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

use std::io::{self, IoSliceMut};
use std::task::{Context, Poll};

use crate::reactor::{lock, Source};
use crate::sys::uring::Uring;

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
    let mut st = lock(&source.recv);
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

/// The source goes away: orphans its recv in flight and gives back the ring buffer it held.
pub(crate) fn release(uring: &Uring, source: &Source) {
    let mut st = lock(&source.recv);
    if let Some(idx) = st.op.take() {
        uring.orphan_op(idx);
    }
    if let Held::Ring { bid, .. } = std::mem::take(&mut st.held) {
        uring.recycle(bid);
    }
}

#[cfg(test)]
mod tests {
    use std::io::{IoSliceMut, Write};
    use std::os::unix::net::UnixStream;
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
}
