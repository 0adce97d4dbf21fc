//! asyncio's low-level socket methods (`loop.sock_recv`, `sock_sendall`, `sock_connect`, …)
//! on sockets the caller owns: std or socket2 sockets, or anything else with a file
//! descriptor, put in non-blocking mode by the caller ([`LoopSockExt`]).
//!
//! Each operation first tries the system call; only when it would block is a duplicate of
//! the descriptor registered with the loop's reactor for the wait (and deregistered when the
//! operation ends), so the caller's socket is never taken over. A blocking socket is refused
//! with a [`BlockingSocketError`]: a call on it would block the whole loop (asyncio refuses it
//! too, in debug mode).

use std::ffi::OsStr;
use std::fmt;
use std::fs::File;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::FileExt;

use rustix::net::{self as rnet, RecvFlags, SocketAddrAny, SocketAddrUnix};
use tulip_reactor::Async;
use tulip_runtime::LoopHandle;

use crate::addr::{resolve, SockAddr, ToSocketAddrs};
use crate::stream_io;

/// The error of a `sock_*` method given a socket in blocking mode (inside an `io::Error` of
/// kind `InvalidInput`; `downcast_ref` it to tell).
///
/// # Examples
///
/// ```
/// use tulip_net::{BlockingSocketError, LoopSockExt};
///
/// tulip_runtime::run(async {
///     let (a, _b) = std::os::unix::net::UnixStream::pair()?; // blocking by default
///     let lp = tulip_runtime::EventLoop::current();
///     let err = lp.sock_recv(&a, 10).await.unwrap_err();
///     assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput);
///     assert!(err.get_ref().unwrap().is::<BlockingSocketError>());
///     std::io::Result::Ok(())
/// })?;
/// # std::io::Result::Ok(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BlockingSocketError;

impl fmt::Display for BlockingSocketError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(
            "the socket is in blocking mode; the loop's sock_* methods need a non-blocking \
             socket (call set_nonblocking(true) first)",
        )
    }
}

impl std::error::Error for BlockingSocketError {}

/// A listening socket [`LoopSockExt::sock_accept`] can accept on: std's TCP and Unix
/// listeners.
pub trait SockAccept: AsFd {
    /// The accepted connection.
    type Stream;
    /// The peer's address.
    type Addr;

    /// One non-blocking accept (`WouldBlock` when nobody is waiting); the connection is put
    /// in non-blocking mode.
    ///
    /// # Errors
    ///
    /// The OS's error.
    fn try_accept(&self) -> io::Result<(Self::Stream, Self::Addr)>;
}

impl SockAccept for std::net::TcpListener {
    type Stream = std::net::TcpStream;
    type Addr = SocketAddr;

    fn try_accept(&self) -> io::Result<(std::net::TcpStream, SocketAddr)> {
        let (s, a) = self.accept()?;
        s.set_nonblocking(true)?;
        Ok((s, a))
    }
}

impl SockAccept for std::os::unix::net::UnixListener {
    type Stream = std::os::unix::net::UnixStream;
    type Addr = std::os::unix::net::SocketAddr;

    fn try_accept(
        &self,
    ) -> io::Result<(
        std::os::unix::net::UnixStream,
        std::os::unix::net::SocketAddr,
    )> {
        let (s, a) = self.accept()?;
        s.set_nonblocking(true)?;
        Ok((s, a))
    }
}

/// asyncio's `loop.sock_*` methods, on [`LoopHandle`] (a trait here because the loop lives in
/// tulip-runtime, below the sockets). The socket must be in non-blocking mode; they run on
/// the loop current on the calling thread.
///
/// # Examples
///
/// ```
/// use tulip_net::LoopSockExt;
///
/// tulip_runtime::run(async {
///     let lp = tulip_runtime::EventLoop::current();
///     let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
///     listener.set_nonblocking(true)?;
///     let client = socket_for(&listener)?;
///     let (conn, accepted) = futures_lite::future::zip(
///         lp.sock_connect(&client, listener.local_addr()?),
///         lp.sock_accept(&listener),
///     )
///     .await;
///     conn?;
///     let (server, _peer) = accepted?;
///     lp.sock_sendall(&client, b"hello").await?;
///     assert_eq!(lp.sock_recv(&server, 100).await?, b"hello");
///     std::io::Result::Ok(())
/// })?;
///
/// // A non-blocking IPv4 TCP socket, not connected yet.
/// fn socket_for(_: &std::net::TcpListener) -> std::io::Result<std::os::fd::OwnedFd> {
///     use rustix::net::{socket_with, AddressFamily, SocketFlags, SocketType};
///     Ok(socket_with(AddressFamily::INET, SocketType::STREAM, SocketFlags::NONBLOCK, None)?)
/// }
/// # std::io::Result::Ok(())
/// ```
pub trait LoopSockExt {
    /// Receives up to `n` bytes (asyncio's `sock_recv`); empty at end of stream.
    ///
    /// # Errors
    ///
    /// [`BlockingSocketError`] for a blocking socket; the OS's error.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: nothing is received unless the future completes.
    fn sock_recv<'a, S: AsFd + ?Sized>(
        &'a self,
        sock: &'a S,
        n: usize,
    ) -> impl Future<Output = io::Result<Vec<u8>>> + 'a;

    /// Receives into `buf` (asyncio's `sock_recv_into`); returns the bytes received.
    ///
    /// # Errors
    ///
    /// As [`sock_recv`](Self::sock_recv).
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: nothing is received unless the future completes.
    fn sock_recv_into<'a, S: AsFd + ?Sized>(
        &'a self,
        sock: &'a S,
        buf: &'a mut [u8],
    ) -> impl Future<Output = io::Result<usize>> + 'a;

    /// Receives a datagram of up to `n` bytes and its sender (asyncio's `sock_recvfrom`).
    ///
    /// # Errors
    ///
    /// As [`sock_recv`](Self::sock_recv).
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: nothing is received unless the future completes.
    fn sock_recvfrom<'a, S: AsFd + ?Sized>(
        &'a self,
        sock: &'a S,
        n: usize,
    ) -> impl Future<Output = io::Result<(Vec<u8>, SockAddr)>> + 'a;

    /// Receives a datagram into `buf` (asyncio's `sock_recvfrom_into`): its length and sender.
    ///
    /// # Errors
    ///
    /// As [`sock_recv`](Self::sock_recv).
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: nothing is received unless the future completes.
    fn sock_recvfrom_into<'a, S: AsFd + ?Sized>(
        &'a self,
        sock: &'a S,
        buf: &'a mut [u8],
    ) -> impl Future<Output = io::Result<(usize, SockAddr)>> + 'a;

    /// Sends all of `data` (asyncio's `sock_sendall`), waiting as the socket drains.
    ///
    /// # Errors
    ///
    /// [`BlockingSocketError`]; the OS's error (`BrokenPipe` once the peer is gone: no
    /// SIGPIPE is raised).
    ///
    /// # Cancel safety
    ///
    /// Not cancel safe: dropping it midway leaves an unknown prefix of `data` sent.
    fn sock_sendall<'a, S: AsFd + ?Sized>(
        &'a self,
        sock: &'a S,
        data: &'a [u8],
    ) -> impl Future<Output = io::Result<()>> + 'a;

    /// Sends a datagram to `addr` (asyncio's `sock_sendto`); returns the bytes sent. A Unix
    /// address must be a pathname (or, on Linux, an abstract name).
    ///
    /// # Errors
    ///
    /// [`BlockingSocketError`]; `InvalidInput` for an unnamed Unix address; the OS's error.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: the datagram is sent whole or not at all.
    fn sock_sendto<'a, S: AsFd + ?Sized>(
        &'a self,
        sock: &'a S,
        data: &'a [u8],
        addr: impl Into<SockAddr>,
    ) -> impl Future<Output = io::Result<usize>> + 'a;

    /// Connects an IPv4 or IPv6 socket to `addr` (asyncio's `sock_connect`): a host name is
    /// resolved on the blocking pool (tulip-net's `getaddrinfo`), and the first address of
    /// the socket's family is used; the connect itself never blocks.
    ///
    /// # Errors
    ///
    /// [`BlockingSocketError`]; a resolver error; `InvalidInput` when no address of the
    /// socket's family was found; the connect's error (`ConnectionRefused`, …).
    ///
    /// # Cancel safety
    ///
    /// Not cancel safe: dropping it while the connect is in progress leaves the socket
    /// connecting (asyncio's is the same); close it.
    fn sock_connect<'a, S: AsFd + ?Sized, A: ToSocketAddrs + Send + Sync + 'a>(
        &'a self,
        sock: &'a S,
        addr: A,
    ) -> impl Future<Output = io::Result<()>> + 'a;

    /// Accepts a connection (asyncio's `sock_accept`): the new socket, in non-blocking mode,
    /// and the peer's address.
    ///
    /// # Errors
    ///
    /// [`BlockingSocketError`] for a blocking listener; the OS's error.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: a connection is accepted only when the future completes.
    fn sock_accept<'a, L: SockAccept + ?Sized>(
        &'a self,
        listener: &'a L,
    ) -> impl Future<Output = io::Result<(L::Stream, L::Addr)>> + 'a;

    /// Sends `count` bytes of `file` (`None`: to its end) from `offset` over a stream socket
    /// (asyncio's `sock_sendfile`): `sendfile(2)` on Linux, reads and sends where the kernel
    /// refuses. Returns the bytes sent, fewer than `count` only when the file ends first.
    ///
    /// # Errors
    ///
    /// [`BlockingSocketError`]; the socket's or the file's error.
    ///
    /// # Cancel safety
    ///
    /// Not cancel safe: dropping it midway leaves an unknown part of the file sent.
    fn sock_sendfile<'a, S: AsFd + ?Sized>(
        &'a self,
        sock: &'a S,
        file: &'a File,
        offset: u64,
        count: Option<u64>,
    ) -> impl Future<Output = io::Result<u64>> + 'a;
}

impl LoopSockExt for LoopHandle {
    async fn sock_recv<'a, S: AsFd + ?Sized>(
        &'a self,
        sock: &'a S,
        n: usize,
    ) -> io::Result<Vec<u8>> {
        let mut buf = vec![0u8; n];
        let got = self.sock_recv_into(sock, &mut buf).await?;
        buf.truncate(got);
        Ok(buf)
    }

    fn sock_recv_into<'a, S: AsFd + ?Sized>(
        &'a self,
        sock: &'a S,
        buf: &'a mut [u8],
    ) -> impl Future<Output = io::Result<usize>> + 'a {
        let fd = sock.as_fd();
        async move {
            Waiter::new(self, fd)?
                .op(false, |fd| stream_io::recv(fd, buf))
                .await
        }
    }

    async fn sock_recvfrom<'a, S: AsFd + ?Sized>(
        &'a self,
        sock: &'a S,
        n: usize,
    ) -> io::Result<(Vec<u8>, SockAddr)> {
        let mut buf = vec![0u8; n];
        let (got, addr) = self.sock_recvfrom_into(sock, &mut buf).await?;
        buf.truncate(got);
        Ok((buf, addr))
    }

    fn sock_recvfrom_into<'a, S: AsFd + ?Sized>(
        &'a self,
        sock: &'a S,
        buf: &'a mut [u8],
    ) -> impl Future<Output = io::Result<(usize, SockAddr)>> + 'a {
        let fd = sock.as_fd();
        async move {
            let (n, addr) = Waiter::new(self, fd)?
                .op(false, |fd| {
                    let (_, n, addr) = rnet::recvfrom(fd, &mut *buf, RecvFlags::empty())?;
                    Ok((n.min(buf.len()), addr))
                })
                .await?;
            Ok((n, sock_addr_of(addr)?))
        }
    }

    fn sock_sendall<'a, S: AsFd + ?Sized>(
        &'a self,
        sock: &'a S,
        data: &'a [u8],
    ) -> impl Future<Output = io::Result<()>> + 'a {
        let fd = sock.as_fd();
        async move {
            let mut waiter = Waiter::new(self, fd)?;
            let mut sent = 0;
            while sent < data.len() {
                let n = waiter
                    .op(true, |fd| stream_io::send(fd, &data[sent..]))
                    .await?;
                if n == 0 {
                    return Err(io::ErrorKind::WriteZero.into());
                }
                sent += n;
            }
            Ok(())
        }
    }

    fn sock_sendto<'a, S: AsFd + ?Sized>(
        &'a self,
        sock: &'a S,
        data: &'a [u8],
        addr: impl Into<SockAddr>,
    ) -> impl Future<Output = io::Result<usize>> + 'a {
        let fd = sock.as_fd();
        let addr = addr.into();
        async move {
            let target = rustix_addr(&addr)?;
            Waiter::new(self, fd)?
                .op(true, |fd| {
                    Ok(rnet::sendto(fd, data, stream_io::send_flags(), &target)?)
                })
                .await
        }
    }

    fn sock_connect<'a, S: AsFd + ?Sized, A: ToSocketAddrs + Send + Sync + 'a>(
        &'a self,
        sock: &'a S,
        addr: A,
    ) -> impl Future<Output = io::Result<()>> + 'a {
        let fd = sock.as_fd();
        async move {
            let mut waiter = Waiter::new(self, fd)?;
            // The bound (or unbound) address names the socket's family on every Unix;
            // SO_DOMAIN is Linux's only.
            let family = rnet::getsockname(fd)?.address_family();
            let target = resolve(&addr)
                .await?
                .into_iter()
                .find(|a| crate::sys::family_of(a) == family)
                .ok_or_else(|| {
                    io::Error::new(
                        io::ErrorKind::InvalidInput,
                        "sock_connect: no address of the socket's family",
                    )
                })?;
            let started = loop {
                match rnet::connect(fd, &target) {
                    Ok(()) => break true,
                    Err(rustix::io::Errno::INPROGRESS) | Err(rustix::io::Errno::AGAIN) => {
                        break false
                    }
                    Err(rustix::io::Errno::INTR) => continue,
                    Err(e) => return Err(crate::sys::with_addr(e.into(), "connect", &target)),
                }
            };
            if !started {
                waiter.wait(true).await?;
                crate::sys::take_connect_error(fd)
                    .map_err(|e| crate::sys::with_addr(e, "connect", &target))?;
            }
            Ok(())
        }
    }

    fn sock_accept<'a, L: SockAccept + ?Sized>(
        &'a self,
        listener: &'a L,
    ) -> impl Future<Output = io::Result<(L::Stream, L::Addr)>> + 'a {
        let fd = listener.as_fd();
        async move {
            Waiter::new(self, fd)?
                .op(false, |_| listener.try_accept())
                .await
        }
    }

    fn sock_sendfile<'a, S: AsFd + ?Sized>(
        &'a self,
        sock: &'a S,
        file: &'a File,
        offset: u64,
        count: Option<u64>,
    ) -> impl Future<Output = io::Result<u64>> + 'a {
        let fd = sock.as_fd();
        async move {
            let mut waiter = Waiter::new(self, fd)?;
            let total = count.unwrap_or(u64::MAX);
            let mut off = offset;
            let mut sent = 0u64;
            let mut zero_copy = cfg!(any(target_os = "linux", target_os = "android"));
            while sent < total {
                let want = usize::try_from((total - sent).min(1 << 30)).unwrap_or(1 << 30);
                if zero_copy {
                    let res = waiter
                        .op(true, |s| {
                            // The empty probe with MSG_NOSIGNAL turns a shut write side into
                            // EPIPE instead of a SIGPIPE from sendfile(2).
                            stream_io::send(s, &[])?;
                            sendfile_step(s, file, &mut off, want)
                        })
                        .await;
                    match res {
                        Ok(0) => break,
                        Ok(n) => sent += n as u64,
                        Err(e) if sent == 0 && crate::sendfile::refused(&e) => zero_copy = false,
                        Err(e) => return Err(e),
                    }
                    continue;
                }
                let mut chunk = vec![0u8; want.min(256 * 1024)];
                let n = loop {
                    match file.read_at(&mut chunk, off) {
                        Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                        other => break other?,
                    }
                };
                if n == 0 {
                    break;
                }
                let mut done = 0;
                while done < n {
                    done += waiter
                        .op(true, |s| stream_io::send(s, &chunk[done..n]))
                        .await?;
                }
                off += n as u64;
                sent += n as u64;
            }
            Ok(sent)
        }
    }
}

/// One zero-copy step.
fn sendfile_step(s: BorrowedFd<'_>, file: &File, off: &mut u64, want: usize) -> io::Result<usize> {
    #[cfg(any(target_os = "linux", target_os = "android"))]
    {
        Ok(rustix::fs::sendfile(s, file, Some(off), want)?)
    }
    #[cfg(not(any(target_os = "linux", target_os = "android")))]
    {
        let _ = (s, file, off, want);
        Err(io::ErrorKind::Unsupported.into())
    }
}

/// Tries operations on a caller's socket and, only when one would block, registers a
/// duplicate of its descriptor with the loop's reactor to wait (deregistered on drop).
struct Waiter<'a> {
    lp: &'a LoopHandle,
    fd: BorrowedFd<'a>,
    io: Option<Async<OwnedFd>>,
}

impl<'a> Waiter<'a> {
    /// Refuses a blocking socket.
    fn new(lp: &'a LoopHandle, fd: BorrowedFd<'a>) -> io::Result<Waiter<'a>> {
        let flags = rustix::fs::fcntl_getfl(fd)?;
        if !flags.contains(rustix::fs::OFlags::NONBLOCK) {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                BlockingSocketError,
            ));
        }
        Ok(Waiter { lp, fd, io: None })
    }

    /// Waits until the socket is ready in one direction (or may be).
    async fn wait(&mut self, write: bool) -> io::Result<()> {
        if self.io.is_none() {
            let dup = self.fd.try_clone_to_owned()?;
            self.io = Some(Async::with_reactor(dup, self.lp.reactor())?);
        }
        let io = self.io.as_ref().expect("registered above");
        if write {
            io.writable().await
        } else {
            io.readable().await
        }
    }

    /// Runs `op` until it does not return `WouldBlock` (nor `Interrupted`).
    async fn op<R>(
        &mut self,
        write: bool,
        mut op: impl FnMut(BorrowedFd<'_>) -> io::Result<R>,
    ) -> io::Result<R> {
        loop {
            match op(self.fd) {
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => self.wait(write).await?,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                res => return res,
            }
        }
    }
}

/// The address rustix takes for a `sendto`.
fn rustix_addr(addr: &SockAddr) -> io::Result<SocketAddrAny> {
    match addr {
        SockAddr::Inet(a) => Ok(SocketAddrAny::from(*a)),
        SockAddr::Unix(u) => {
            if let Some(p) = u.as_pathname() {
                return Ok(SocketAddrAny::from(SocketAddrUnix::new(p)?));
            }
            #[cfg(any(target_os = "linux", target_os = "android"))]
            {
                use std::os::linux::net::SocketAddrExt;
                if let Some(name) = u.as_abstract_name() {
                    return Ok(SocketAddrAny::from(SocketAddrUnix::new_abstract_name(
                        name,
                    )?));
                }
            }
            Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "sock_sendto: an unnamed Unix socket address cannot be sent to",
            ))
        }
    }
}

/// A sender's address as tulip-net's [`SockAddr`].
fn sock_addr_of(addr: Option<SocketAddrAny>) -> io::Result<SockAddr> {
    let Some(addr) = addr else {
        return unnamed();
    };
    if let Ok(inet) = SocketAddr::try_from(addr.clone()) {
        return Ok(SockAddr::Inet(inet));
    }
    if let Ok(unix) = SocketAddrUnix::try_from(addr) {
        if let Some(p) = unix.path_bytes() {
            let path = std::path::Path::new(OsStr::from_bytes(p));
            return Ok(SockAddr::Unix(
                std::os::unix::net::SocketAddr::from_pathname(path)?,
            ));
        }
        #[cfg(any(target_os = "linux", target_os = "android"))]
        if let Some(name) = unix.abstract_name() {
            use std::os::linux::net::SocketAddrExt;
            return Ok(SockAddr::Unix(
                std::os::unix::net::SocketAddr::from_abstract_name(name)?,
            ));
        }
        return unnamed();
    }
    Err(io::Error::new(
        io::ErrorKind::Unsupported,
        "recvfrom: a sender address of a family tulip does not speak",
    ))
}

/// An unnamed Unix address (std has no constructor for one; an unbound socket has it).
fn unnamed() -> io::Result<SockAddr> {
    Ok(SockAddr::Unix(
        std::os::unix::net::UnixDatagram::unbound()?.local_addr()?,
    ))
}
