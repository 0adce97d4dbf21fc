//! Unix domain sockets: [`UnixListener`], [`UnixStream`], [`UnixDatagram`].
//!
//! Addresses are paths, Linux abstract names (`bind_abstract`/`connect_abstract`, no file
//! at all), or std's [`SocketAddr`] for either.

use std::fmt;
use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};
use std::os::unix::fs::MetadataExt;
use std::os::unix::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::task::{Context, Poll};
use std::time::Duration;

use rustix::net::{self as rnet, AddressFamily, SocketAddrUnix, SocketType};
use tulip_reactor::Async;

use crate::split;
use crate::stream_io::{self, impl_stream_io};
use crate::sys;

/// The rustix form of a std Unix socket address.
fn to_rustix(addr: &SocketAddr) -> io::Result<SocketAddrUnix> {
    if let Some(p) = addr.as_pathname() {
        return Ok(SocketAddrUnix::new(p)?);
    }
    #[cfg(any(target_os = "linux", target_os = "android"))]
    {
        #[cfg(target_os = "android")]
        use std::os::android::net::SocketAddrExt;
        #[cfg(target_os = "linux")]
        use std::os::linux::net::SocketAddrExt;
        if let Some(name) = addr.as_abstract_name() {
            return Ok(SocketAddrUnix::new_abstract_name(name)?);
        }
    }
    Err(io::Error::new(
        io::ErrorKind::InvalidInput,
        "an unnamed Unix socket address cannot be bound or connected to",
    ))
}

/// Displays a std Unix socket address.
struct Shown<'a>(&'a SocketAddr);

impl fmt::Display for Shown<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        crate::addr::fmt_unix(self.0, f)
    }
}

/// The std address for a path.
fn path_addr(path: &Path) -> io::Result<SocketAddr> {
    SocketAddr::from_pathname(path)
}

/// The std address for an abstract name (Linux and Android).
#[cfg(any(target_os = "linux", target_os = "android"))]
fn abstract_addr(name: &[u8]) -> io::Result<SocketAddr> {
    #[cfg(target_os = "android")]
    use std::os::android::net::SocketAddrExt;
    #[cfg(target_os = "linux")]
    use std::os::linux::net::SocketAddrExt;
    SocketAddr::from_abstract_name(name)
}

/// The socket file a listener made, to remove on drop if it is still that file.
#[derive(Debug)]
struct SocketFile {
    path: PathBuf,
    dev: u64,
    ino: u64,
    /// Whether dropping removes the file.
    armed: bool,
}

/// A Unix stream socket listening for connections (asyncio's `start_unix_server` socket).
///
/// A listener bound to a path removes its socket file when dropped, if the file is still the
/// one it created (asyncio 3.13's `cleanup_socket`), so the next run can bind again. Binding a
/// path where a file exists — a stale socket from a crashed run, say — fails with
/// `AddrInUse` and an error that names the path.
///
/// # Examples
///
/// ```
/// use futures_lite::{AsyncReadExt, AsyncWriteExt};
/// use tulip_net::{UnixListener, UnixStream};
///
/// let dir = std::env::temp_dir().join(format!("tulip-doc-{}", std::process::id()));
/// std::fs::create_dir_all(&dir)?;
/// let path = dir.join("echo.sock");
/// tulip_runtime::run(async {
///     let listener = UnixListener::bind(&path)?;
///     let mut client = UnixStream::connect(&path).await?;
///     let (mut server, _) = listener.accept().await?;
///     client.write_all(b"hi").await?;
///     let mut buf = [0u8; 2];
///     server.read_exact(&mut buf).await?;
///     assert_eq!(&buf, b"hi");
///     std::io::Result::Ok(())
/// })?;
/// assert!(!path.exists()); // the listener removed its socket file
/// # std::fs::remove_dir(&dir)?;
/// # std::io::Result::Ok(())
/// ```
pub struct UnixListener {
    io: Async<std::os::unix::net::UnixListener>,
    file: Option<SocketFile>,
}

impl fmt::Debug for UnixListener {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("UnixListener");
        if let Ok(a) = self.local_addr() {
            d.field("addr", &Shown(&a).to_string());
        }
        d.field("fd", &self.io.as_raw_fd()).finish()
    }
}

impl UnixListener {
    /// Binds a listener to a filesystem path (backlog 1024).
    ///
    /// # Errors
    ///
    /// `AddrInUse` naming the path when a file is already there; other OS errors (a missing
    /// directory, a path too long) with the path in the message.
    pub fn bind(path: impl AsRef<Path>) -> io::Result<UnixListener> {
        UnixListener::bind_with_backlog(path, 1024)
    }

    /// [`bind`](Self::bind) with an explicit backlog.
    ///
    /// # Errors
    ///
    /// As [`bind`](Self::bind).
    pub fn bind_with_backlog(path: impl AsRef<Path>, backlog: u32) -> io::Result<UnixListener> {
        let path = path.as_ref();
        let addr = path_addr(path)?;
        let mut l = UnixListener::bind_addr_backlog(&addr, backlog)?;
        let meta = std::fs::symlink_metadata(path)?;
        l.file = Some(SocketFile {
            path: path.to_path_buf(),
            dev: meta.dev(),
            ino: meta.ino(),
            armed: true,
        });
        Ok(l)
    }

    /// Binds to a Linux abstract socket name (no file is created; the name goes away with the
    /// socket).
    ///
    /// # Errors
    ///
    /// `AddrInUse` when the name is taken.
    #[cfg(any(target_os = "linux", target_os = "android"))]
    pub fn bind_abstract(name: &[u8]) -> io::Result<UnixListener> {
        UnixListener::bind_addr(&abstract_addr(name)?)
    }

    /// Binds to a std socket address (a path or an abstract name). A path bound this way is
    /// not removed on drop.
    ///
    /// # Errors
    ///
    /// As [`bind`](Self::bind).
    pub fn bind_addr(addr: &SocketAddr) -> io::Result<UnixListener> {
        UnixListener::bind_addr_backlog(addr, 1024)
    }

    fn bind_addr_backlog(addr: &SocketAddr, backlog: u32) -> io::Result<UnixListener> {
        let fd = sys::socket(AddressFamily::UNIX, SocketType::STREAM)?;
        let raddr = to_rustix(addr)?;
        if let Err(e) = rnet::bind(&fd, &raddr) {
            let e = io::Error::from(e);
            return Err(if e.kind() == io::ErrorKind::AddrInUse {
                io::Error::new(
                    e.kind(),
                    format!(
                        "could not bind to {}: the address is in use (a socket file from an \
                         earlier run? remove it if no server is listening there)",
                        Shown(addr)
                    ),
                )
            } else {
                sys::with_addr(e, "bind to", &Shown(addr))
            });
        }
        rnet::listen(&fd, i32::try_from(backlog).unwrap_or(i32::MAX))?;
        Ok(UnixListener {
            io: Async::new_nonblocking(std::os::unix::net::UnixListener::from(fd))?,
            file: None,
        })
    }

    /// Accepts a connection: the stream and the peer's (usually unnamed) address.
    ///
    /// # Errors
    ///
    /// The OS's accept error (resource exhaustion included; see
    /// [`TcpListener::accept`](crate::TcpListener::accept)).
    ///
    /// # Cancel safety
    ///
    /// Cancel safe.
    pub async fn accept(&self) -> io::Result<(UnixStream, SocketAddr)> {
        std::future::poll_fn(|cx| self.poll_accept(cx)).await
    }

    /// Poll form of [`accept`](Self::accept).
    pub fn poll_accept(&self, cx: &mut Context<'_>) -> Poll<io::Result<(UnixStream, SocketAddr)>> {
        loop {
            #[cfg(target_os = "linux")]
            if self.io.completion_sends() {
                // A multishot accept in the reactor; the peer's address from `getpeername`.
                let fd = match std::task::ready!(self.io.poll_accept_multishot(cx)) {
                    Ok(fd) => fd,
                    Err(e) if sys::is_aborted_accept(&e) => continue,
                    Err(e) => return Poll::Ready(Err(e)),
                };
                let s = std::os::unix::net::UnixStream::from(fd);
                let peer = match s.peer_addr() {
                    Ok(p) => p,
                    Err(e) if e.kind() == io::ErrorKind::NotConnected => continue,
                    Err(e) => return Poll::Ready(Err(e)),
                };
                return Poll::Ready(Ok((
                    UnixStream {
                        io: Async::new_nonblocking(s)?,
                    },
                    peer,
                )));
            }
            let res = std::task::ready!(self.io.poll_read_with(cx, |l| l.accept()));
            match res {
                Ok((s, peer)) => {
                    s.set_nonblocking(true)?;
                    return Poll::Ready(Ok((
                        UnixStream {
                            io: Async::new_nonblocking(s)?,
                        },
                        peer,
                    )));
                }
                Err(e) if sys::is_aborted_accept(&e) => continue,
                Err(e) => return Poll::Ready(Err(e)),
            }
        }
    }

    /// The connections as a `Stream`.
    pub fn incoming(&self) -> Incoming<'_> {
        Incoming { listener: self }
    }

    /// The bound address.
    ///
    /// # Errors
    ///
    /// The OS's error.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.io.get_ref().local_addr()
    }

    /// Wraps a std listener (put in non-blocking mode here); its file is not removed on drop.
    ///
    /// # Errors
    ///
    /// No running loop, or the OS refuses.
    pub fn from_std(listener: std::os::unix::net::UnixListener) -> io::Result<UnixListener> {
        Ok(UnixListener {
            io: Async::new(listener)?,
            file: None,
        })
    }

    /// The std listener (still non-blocking), removed from the loop; the socket file stays.
    ///
    /// # Errors
    ///
    /// The OS refuses to deregister it.
    pub fn into_std(self) -> io::Result<std::os::unix::net::UnixListener> {
        let UnixListener { io, file } = self;
        if let Some(mut f) = file {
            f.armed = false;
        }
        io.into_inner()
    }
}

impl Drop for SocketFile {
    fn drop(&mut self) {
        if !self.armed {
            return;
        }
        // Only remove the file if it is still ours (not replaced by another server's).
        if let Ok(meta) = std::fs::symlink_metadata(&self.path) {
            if meta.dev() == self.dev && meta.ino() == self.ino {
                let _ = std::fs::remove_file(&self.path);
            }
        }
    }
}

impl AsFd for UnixListener {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.io.as_fd()
    }
}

impl AsRawFd for UnixListener {
    fn as_raw_fd(&self) -> RawFd {
        self.io.as_raw_fd()
    }
}

/// The `Stream` of [`UnixListener::incoming`].
#[must_use = "streams do nothing unless polled"]
#[derive(Debug)]
pub struct Incoming<'a> {
    listener: &'a UnixListener,
}

impl futures_core::Stream for Incoming<'_> {
    type Item = io::Result<UnixStream>;

    fn poll_next(self: std::pin::Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.listener
            .poll_accept(cx)
            .map(|r| Some(r.map(|(s, _)| s)))
    }
}

/// A Unix stream connection. `futures_io::AsyncRead`/`AsyncWrite` as on
/// [`TcpStream`](crate::TcpStream).
pub struct UnixStream {
    io: Async<std::os::unix::net::UnixStream>,
}

impl fmt::Debug for UnixStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UnixStream")
            .field("fd", &self.io.as_raw_fd())
            .finish()
    }
}

impl UnixStream {
    /// Connects to the socket at `path`.
    ///
    /// The connect never blocks the loop; when the listener's backlog is full (`EAGAIN`),
    /// it retries with a short back-off until the listener makes room.
    ///
    /// # Errors
    ///
    /// The OS's error (`NotFound`, `ConnectionRefused`), naming the path.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: dropping the future closes the socket.
    pub async fn connect(path: impl AsRef<Path>) -> io::Result<UnixStream> {
        UnixStream::connect_addr(&path_addr(path.as_ref())?).await
    }

    /// Connects to a Linux abstract socket name.
    ///
    /// # Errors
    ///
    /// As [`connect`](Self::connect).
    ///
    /// # Cancel safety
    ///
    /// As [`connect`](Self::connect).
    #[cfg(any(target_os = "linux", target_os = "android"))]
    pub async fn connect_abstract(name: &[u8]) -> io::Result<UnixStream> {
        UnixStream::connect_addr(&abstract_addr(name)?).await
    }

    /// Connects to a std socket address (a path or an abstract name).
    ///
    /// # Errors
    ///
    /// As [`connect`](Self::connect).
    ///
    /// # Cancel safety
    ///
    /// As [`connect`](Self::connect).
    pub async fn connect_addr(addr: &SocketAddr) -> io::Result<UnixStream> {
        let raddr = to_rustix(addr)?;
        let fd = sys::socket(AddressFamily::UNIX, SocketType::STREAM)?;
        let mut backoff = Duration::from_millis(1);
        let in_progress = loop {
            match rnet::connect(&fd, &raddr) {
                Ok(()) => break false,
                Err(rustix::io::Errno::INPROGRESS) => break true,
                Err(rustix::io::Errno::INTR) => continue,
                Err(rustix::io::Errno::AGAIN) => {
                    // The listener's queue is full: a Unix connect does not complete in the
                    // background, so try again shortly.
                    tulip_reactor::sleep(backoff).await;
                    backoff = (backoff * 2).min(Duration::from_millis(100));
                }
                Err(e) => return Err(sys::with_addr(e.into(), "connect to", &Shown(addr))),
            }
        };
        let io = Async::new_nonblocking(std::os::unix::net::UnixStream::from(fd))?;
        if in_progress {
            io.writable().await?;
            sys::take_connect_error(io.get_ref())
                .map_err(|e| sys::with_addr(e, "connect to", &Shown(addr)))?;
        }
        Ok(UnixStream { io })
    }

    /// A connected pair of streams (`socketpair(2)`).
    ///
    /// # Errors
    ///
    /// No running loop, or the OS refuses.
    pub fn pair() -> io::Result<(UnixStream, UnixStream)> {
        let (a, b) = std::os::unix::net::UnixStream::pair()?;
        Ok((UnixStream::from_std(a)?, UnixStream::from_std(b)?))
    }

    /// Wraps a std stream (put in non-blocking mode here) in the current loop.
    ///
    /// # Errors
    ///
    /// No running loop, or the OS refuses.
    pub fn from_std(stream: std::os::unix::net::UnixStream) -> io::Result<UnixStream> {
        Ok(UnixStream {
            io: Async::new(stream)?,
        })
    }

    /// The std stream (still non-blocking), removed from the loop.
    ///
    /// # Errors
    ///
    /// The OS refuses to deregister it.
    pub fn into_std(self) -> io::Result<std::os::unix::net::UnixStream> {
        self.io.into_inner()
    }

    /// The local address (usually unnamed for a client).
    ///
    /// # Errors
    ///
    /// The OS's error.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.io.get_ref().local_addr()
    }

    /// The peer's address.
    ///
    /// # Errors
    ///
    /// The OS's error.
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.io.get_ref().peer_addr()
    }

    /// The peer process's credentials (pid, uid, gid; `SO_PEERCRED`).
    ///
    /// # Errors
    ///
    /// The OS's error.
    #[cfg(any(target_os = "linux", target_os = "android"))]
    pub fn peer_cred(&self) -> io::Result<rustix::net::UCred> {
        Ok(rnet::sockopt::socket_peercred(self.io.get_ref())?)
    }

    /// Shuts down the read side, the write side or both.
    ///
    /// # Errors
    ///
    /// The OS's error.
    pub fn shutdown(&self, how: std::net::Shutdown) -> io::Result<()> {
        stream_io::shutdown(&self.io, how, |s, h| s.shutdown(h))
    }

    /// Takes (and clears) the socket's pending error.
    ///
    /// # Errors
    ///
    /// The OS's error.
    pub fn take_error(&self) -> io::Result<Option<io::Error>> {
        self.io.get_ref().take_error()
    }

    /// Waits until readable.
    ///
    /// # Errors
    ///
    /// The reactor's error.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe.
    pub async fn readable(&self) -> io::Result<()> {
        self.io.readable().await
    }

    /// Waits until writable.
    ///
    /// # Errors
    ///
    /// The reactor's error.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe.
    pub async fn writable(&self) -> io::Result<()> {
        self.io.writable().await
    }

    /// One non-blocking read.
    ///
    /// # Errors
    ///
    /// The OS's error, `WouldBlock` included.
    pub fn try_read(&self, buf: &mut [u8]) -> io::Result<usize> {
        stream_io::try_recv(&self.io, buf)
    }

    /// One non-blocking write.
    ///
    /// # Errors
    ///
    /// The OS's error, `WouldBlock` included.
    pub fn try_write(&self, buf: &[u8]) -> io::Result<usize> {
        stream_io::try_send(&self.io, buf)
    }

    /// Borrowed halves.
    pub fn split(&mut self) -> (ReadHalf<'_>, WriteHalf<'_>) {
        (
            split::ReadHalf { stream: self },
            split::WriteHalf { stream: self },
        )
    }

    /// Owned halves; dropping the write half shuts the write side down.
    pub fn into_split(self) -> (OwnedReadHalf, OwnedWriteHalf) {
        split::into_split(self)
    }

    /// The registered socket (for the streams layer).
    pub(crate) fn io(&self) -> &Async<std::os::unix::net::UnixStream> {
        &self.io
    }
}

impl split::StreamSocket for UnixStream {
    type Io = std::os::unix::net::UnixStream;
    fn io(&self) -> &Async<std::os::unix::net::UnixStream> {
        &self.io
    }
}

/// The read half of [`UnixStream::split`].
pub type ReadHalf<'a> = split::ReadHalf<'a, UnixStream>;
/// The write half of [`UnixStream::split`].
pub type WriteHalf<'a> = split::WriteHalf<'a, UnixStream>;
/// The owned read half of [`UnixStream::into_split`].
pub type OwnedReadHalf = split::OwnedReadHalf<UnixStream>;
/// The owned write half of [`UnixStream::into_split`].
pub type OwnedWriteHalf = split::OwnedWriteHalf<UnixStream>;

impl_stream_io!(UnixStream, io);
impl_stream_io!(&UnixStream, io);

impl AsFd for UnixStream {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.io.as_fd()
    }
}

impl AsRawFd for UnixStream {
    fn as_raw_fd(&self) -> RawFd {
        self.io.as_raw_fd()
    }
}

/// A Unix datagram socket.
///
/// # Examples
///
/// ```
/// use tulip_net::UnixDatagram;
///
/// tulip_runtime::run(async {
///     let (a, b) = UnixDatagram::pair()?;
///     a.send(b"one").await?;
///     let mut buf = [0u8; 8];
///     let n = b.recv(&mut buf).await?;
///     assert_eq!(&buf[..n], b"one");
///     std::io::Result::Ok(())
/// })?;
/// # std::io::Result::Ok(())
/// ```
pub struct UnixDatagram {
    io: Async<std::os::unix::net::UnixDatagram>,
}

impl fmt::Debug for UnixDatagram {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UnixDatagram")
            .field("fd", &self.io.as_raw_fd())
            .finish()
    }
}

impl UnixDatagram {
    /// A datagram socket bound to `path`.
    ///
    /// # Errors
    ///
    /// The OS's error, naming the path (`AddrInUse` when a file is there).
    pub fn bind(path: impl AsRef<Path>) -> io::Result<UnixDatagram> {
        UnixDatagram::bind_addr(&path_addr(path.as_ref())?)
    }

    /// A datagram socket bound to a Linux abstract name.
    ///
    /// # Errors
    ///
    /// `AddrInUse` when the name is taken.
    #[cfg(any(target_os = "linux", target_os = "android"))]
    pub fn bind_abstract(name: &[u8]) -> io::Result<UnixDatagram> {
        UnixDatagram::bind_addr(&abstract_addr(name)?)
    }

    /// A datagram socket bound to a std address.
    ///
    /// # Errors
    ///
    /// As [`bind`](Self::bind).
    pub fn bind_addr(addr: &SocketAddr) -> io::Result<UnixDatagram> {
        let fd = sys::socket(AddressFamily::UNIX, SocketType::DGRAM)?;
        rnet::bind(&fd, &to_rustix(addr)?)
            .map_err(|e| sys::with_addr(e.into(), "bind to", &Shown(addr)))?;
        UnixDatagram::from_fd(fd)
    }

    /// A datagram socket bound to no address (it can send, and receive replies only when
    /// connected).
    ///
    /// # Errors
    ///
    /// No running loop, or the OS refuses.
    pub fn unbound() -> io::Result<UnixDatagram> {
        UnixDatagram::from_fd(sys::socket(AddressFamily::UNIX, SocketType::DGRAM)?)
    }

    /// A connected pair.
    ///
    /// # Errors
    ///
    /// No running loop, or the OS refuses.
    pub fn pair() -> io::Result<(UnixDatagram, UnixDatagram)> {
        let (a, b) = std::os::unix::net::UnixDatagram::pair()?;
        Ok((UnixDatagram::from_std(a)?, UnixDatagram::from_std(b)?))
    }

    fn from_fd(fd: OwnedFd) -> io::Result<UnixDatagram> {
        Ok(UnixDatagram {
            io: Async::new_nonblocking(std::os::unix::net::UnixDatagram::from(fd))?,
        })
    }

    /// Wraps a std socket (put in non-blocking mode here).
    ///
    /// # Errors
    ///
    /// No running loop, or the OS refuses.
    pub fn from_std(socket: std::os::unix::net::UnixDatagram) -> io::Result<UnixDatagram> {
        Ok(UnixDatagram {
            io: Async::new(socket)?,
        })
    }

    /// The std socket (still non-blocking), removed from the loop.
    ///
    /// # Errors
    ///
    /// The OS refuses to deregister it.
    pub fn into_std(self) -> io::Result<std::os::unix::net::UnixDatagram> {
        self.io.into_inner()
    }

    /// Sets the default destination to the socket at `path`.
    ///
    /// # Errors
    ///
    /// The OS's error, naming the path.
    pub fn connect(&self, path: impl AsRef<Path>) -> io::Result<()> {
        let path = path.as_ref();
        self.io
            .get_ref()
            .connect(path)
            .map_err(|e| sys::with_addr(e, "connect to", &path.display()))
    }

    /// Sends one datagram to the socket at `path`.
    ///
    /// # Errors
    ///
    /// The OS's error.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe.
    pub async fn send_to(&self, buf: &[u8], path: impl AsRef<Path>) -> io::Result<usize> {
        let path = path.as_ref();
        self.io.write_with(|s| s.send_to(buf, path)).await
    }

    /// Sends one datagram to a std address (a path or an abstract name).
    ///
    /// # Errors
    ///
    /// The OS's error.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe.
    pub async fn send_to_addr(&self, buf: &[u8], addr: &SocketAddr) -> io::Result<usize> {
        self.io.write_with(|s| s.send_to_addr(buf, addr)).await
    }

    /// Receives one datagram and its sender.
    ///
    /// # Errors
    ///
    /// The OS's error.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe.
    pub async fn recv_from(&self, buf: &mut [u8]) -> io::Result<(usize, SocketAddr)> {
        self.io.read_with(|s| s.recv_from(buf)).await
    }

    /// Sends one datagram to the connected peer.
    ///
    /// # Errors
    ///
    /// The OS's error.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe.
    pub async fn send(&self, buf: &[u8]) -> io::Result<usize> {
        self.io.write_with(|s| s.send(buf)).await
    }

    /// Receives one datagram from the connected peer.
    ///
    /// # Errors
    ///
    /// The OS's error.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe.
    pub async fn recv(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.io.read_with(|s| s.recv(buf)).await
    }

    /// The local address.
    ///
    /// # Errors
    ///
    /// The OS's error.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.io.get_ref().local_addr()
    }

    /// The connected peer's address.
    ///
    /// # Errors
    ///
    /// The OS's error.
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.io.get_ref().peer_addr()
    }

    /// Shuts down reading, writing or both.
    ///
    /// # Errors
    ///
    /// The OS's error.
    pub fn shutdown(&self, how: std::net::Shutdown) -> io::Result<()> {
        self.io.get_ref().shutdown(how)
    }
}

impl AsFd for UnixDatagram {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.io.as_fd()
    }
}

impl AsRawFd for UnixDatagram {
    fn as_raw_fd(&self) -> RawFd {
        self.io.as_raw_fd()
    }
}
