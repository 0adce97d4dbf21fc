//! Sending a file over a stream socket: `sendfile(2)` where the kernel offers it, reads and
//! writes otherwise.

use std::fs::File;
use std::io::{self, Read};
use std::os::fd::{AsFd, BorrowedFd};
use std::os::unix::fs::FileExt;
use std::task::{Context, Poll};

use tulip_reactor::Async;

#[cfg(any(target_os = "linux", target_os = "android"))]
use crate::stream_io;
use crate::streams::RawStream;

/// One zero-copy step on a registered socket.
pub(crate) fn poll_sendfile<T: AsFd>(
    io: &Async<T>,
    cx: &mut Context<'_>,
    file: BorrowedFd<'_>,
    offset: &mut u64,
    count: usize,
) -> Poll<io::Result<usize>> {
    #[cfg(any(target_os = "linux", target_os = "android"))]
    {
        // On the io_uring completion path, the bytes of a send in flight go first.
        std::task::ready!(io.poll_flush_stream(cx))?;
        // Not `poll_write_stream`: a step shorter than `count` may mean the file ended, not
        // that the socket is full, and a socket with room gives no writable event to wait for.
        io.poll_write_with(cx, |s| {
            // sendfile(2) has no MSG_NOSIGNAL: on a socket whose write side is shut (the peer
            // reset and the error was already reported, or it closed a Unix stream) it raises
            // SIGPIPE, which kills a process that has not ignored it. An empty send with
            // MSG_NOSIGNAL reports that state as EPIPE first, without a signal. (An error
            // that arrives after the probe is reported by sendfile itself as ECONNRESET,
            // without a signal, unless another thread takes it from the socket in between.)
            stream_io::send(s, &[])?;
            Ok(rustix::fs::sendfile(s, file, Some(&mut *offset), count)?)
        })
    }
    #[cfg(not(any(target_os = "linux", target_os = "android")))]
    {
        let _ = (io, cx, file, offset, count);
        Poll::Ready(Err(io::ErrorKind::Unsupported.into()))
    }
}

/// Whether a `sendfile` error means "not for this file or socket": fall back to copying.
pub(crate) fn refused(e: &io::Error) -> bool {
    e.kind() == io::ErrorKind::Unsupported
        || matches!(
            e.raw_os_error(),
            Some(libc::EINVAL) | Some(libc::ENOSYS) | Some(libc::EOPNOTSUPP) | Some(libc::ESPIPE)
        )
}

/// Sends `count` bytes of `file` from `offset` (`None`: to its end) over `stream`; returns
/// how many were sent (fewer than `count` only when the file is shorter).
pub(crate) async fn send_file(
    stream: &dyn RawStream,
    file: &File,
    offset: u64,
    count: Option<u64>,
) -> io::Result<u64> {
    let total = count.unwrap_or(u64::MAX);
    let mut off = offset;
    let mut sent = 0u64;
    let mut zero_copy = true;
    // A file that cannot be read at an offset (a pipe) is read in order from where it is,
    // when asked to start at 0 (as asyncio's fallback seeks only for a non-zero offset).
    let mut positional = true;
    while sent < total {
        let want = usize::try_from((total - sent).min(1 << 30)).unwrap_or(1 << 30);
        if zero_copy {
            let res =
                std::future::poll_fn(|cx| stream.poll_sendfile(cx, file.as_fd(), &mut off, want))
                    .await;
            match res {
                Ok(0) => break, // end of the file
                Ok(n) => {
                    sent += n as u64;
                    continue;
                }
                Err(e) if sent == 0 && refused(&e) => zero_copy = false,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            }
        }
        // Copying: one chunk read from the file, written out whole.
        let mut chunk = vec![0u8; want.min(256 * 1024)];
        let n = loop {
            let res = if positional {
                file.read_at(&mut chunk, off)
            } else {
                (&*file).read(&mut chunk)
            };
            match res {
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) if positional && offset == 0 && e.raw_os_error() == Some(libc::ESPIPE) => {
                    positional = false;
                }
                other => break other?,
            }
        };
        if n == 0 {
            break;
        }
        let mut done = 0;
        while done < n {
            let w = std::future::poll_fn(|cx| stream.poll_write(cx, &chunk[done..n])).await?;
            if w == 0 {
                return Err(io::ErrorKind::WriteZero.into());
            }
            done += w;
        }
        off += n as u64;
        sent += n as u64;
    }
    Ok(sent)
}

/// Sends `count` bytes of `file` from `offset` (`None`: to the end of the file) over a TCP or
/// Unix stream (asyncio's `loop.sock_sendfile`): zero-copy `sendfile(2)` on Linux, falling
/// back to reads and writes where the kernel refuses (the file is a pipe, say). Returns the
/// bytes sent, fewer than `count` only when the file ends first.
///
/// # Errors
///
/// The socket's or the file's error.
///
/// # Cancel safety
///
/// Not cancel safe: dropping it midway leaves an unknown part of the file sent.
///
/// # Examples
///
/// ```
/// use std::io::Write;
/// use futures_lite::AsyncReadExt;
/// use tulip_net::{sendfile, TcpListener, TcpStream};
///
/// let path = std::env::temp_dir().join(format!("tulip-sendfile-doc-{}", std::process::id()));
/// std::fs::File::create(&path)?.write_all(b"0123456789")?;
/// tulip_runtime::run(async {
///     let listener = TcpListener::bind("127.0.0.1:0").await?;
///     let client = TcpStream::connect(listener.local_addr()?).await?;
///     let (mut server, _) = listener.accept().await?;
///     let file = std::fs::File::open(&path)?;
///     assert_eq!(sendfile(&client, &file, 2, Some(5)).await?, 5);
///     let mut got = [0u8; 5];
///     server.read_exact(&mut got).await?;
///     assert_eq!(&got, b"23456");
///     std::io::Result::Ok(())
/// })?;
/// # std::fs::remove_file(&path)?;
/// # std::io::Result::Ok(())
/// ```
pub async fn sendfile<S: RawStream>(
    stream: &S,
    file: &File,
    offset: u64,
    count: Option<u64>,
) -> io::Result<u64> {
    send_file(stream, file, offset, count).await
}
