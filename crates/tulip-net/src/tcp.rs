//! TCP: [`TcpListener`], [`TcpStream`] and its halves.

use std::fmt;
use std::io;
use std::net::{Shutdown, SocketAddr};
#[cfg(unix)]
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, RawFd};
#[cfg(windows)]
use std::os::windows::io::{AsRawSocket, AsSocket, BorrowedSocket, RawSocket};
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use futures_core::Stream;
use tulip_reactor::Async;

use crate::addr::{resolve, ToSocketAddrs};
use crate::happy;
use crate::split;
use crate::stream_io::{self, impl_stream_io};
use crate::sys::{self, ListenConfig};

/// How a listening socket is set up (asyncio's `backlog`, `reuse_address`, `reuse_port`,
/// and `IPV6_V6ONLY`).
///
/// # Examples
///
/// ```
/// use tulip_net::{ListenOptions, TcpListener};
///
/// tulip_runtime::run(async {
///     let opts = ListenOptions::new().backlog(16).reuse_port(true);
///     let a = TcpListener::bind_with("127.0.0.1:0", &opts).await?;
///     // SO_REUSEPORT lets a second listener share the port.
///     let b = TcpListener::bind_with(a.local_addr()?, &opts).await?;
///     assert_eq!(a.local_addr()?, b.local_addr()?);
///     std::io::Result::Ok(())
/// })?;
/// # std::io::Result::Ok(())
/// ```
#[derive(Debug, Clone)]
pub struct ListenOptions {
    pub(crate) cfg: ListenConfig,
}

impl Default for ListenOptions {
    fn default() -> ListenOptions {
        ListenOptions::new()
    }
}

impl ListenOptions {
    /// The defaults: backlog 1024, `SO_REUSEADDR` on (as asyncio sets it on Unix),
    /// `SO_REUSEPORT` off, the system's IPv6 dual-stack default, `TCP_NODELAY` on for accepted
    /// connections.
    pub fn new() -> ListenOptions {
        ListenOptions {
            cfg: ListenConfig {
                backlog: 1024,
                reuse_address: true,
                reuse_port: false,
                v6_only: None,
                nodelay: true,
            },
        }
    }

    /// The length of the queue of connections not yet accepted (asyncio's `backlog`,
    /// default 100 there; 1024 here, as tokio and the kernel's default `somaxconn`).
    pub fn backlog(mut self, backlog: u32) -> ListenOptions {
        self.cfg.backlog = backlog;
        self
    }

    /// `SO_REUSEADDR`: bind a port whose old connections are still in `TIME_WAIT`. Ignored on
    /// Windows, where the option would let another socket take over a port in use (asyncio
    /// does not set it there either).
    pub fn reuse_address(mut self, on: bool) -> ListenOptions {
        self.cfg.reuse_address = on;
        self
    }

    /// `SO_REUSEPORT`: let several sockets bind the same address, the kernel spreading
    /// connections among them (asyncio's `reuse_port`). Binding fails with a clear error
    /// where the platform lacks it (Windows: `Unsupported`).
    pub fn reuse_port(mut self, on: bool) -> ListenOptions {
        self.cfg.reuse_port = on;
        self
    }

    /// For IPv6 addresses: `true` accepts IPv6 only; `false` makes the socket dual-stack (it
    /// also accepts IPv4 connections, as IPv4-mapped addresses). Unset: the system default.
    pub fn ipv6_only(mut self, only: bool) -> ListenOptions {
        self.cfg.v6_only = Some(only);
        self
    }

    /// Whether accepted connections get `TCP_NODELAY` (default on, as asyncio sets it on every
    /// TCP transport: small writes go out without waiting for an ACK).
    pub fn nodelay(mut self, on: bool) -> ListenOptions {
        self.cfg.nodelay = on;
        self
    }
}

/// A TCP socket listening for connections (asyncio's server socket; tokio's `TcpListener`).
///
/// # Examples
///
/// ```
/// use futures_lite::{AsyncReadExt, AsyncWriteExt};
/// use tulip_net::{TcpListener, TcpStream};
///
/// tulip_runtime::run(async {
///     let listener = TcpListener::bind("127.0.0.1:0").await?;
///     let addr = listener.local_addr()?;
///     let server = tulip_executor::spawn(async move {
///         let (mut stream, _peer) = listener.accept().await?;
///         let mut buf = [0u8; 5];
///         stream.read_exact(&mut buf).await?;
///         stream.write_all(&buf).await?;
///         std::io::Result::Ok(())
///     });
///     let mut client = TcpStream::connect(addr).await?;
///     client.write_all(b"hello").await?;
///     let mut echo = [0u8; 5];
///     client.read_exact(&mut echo).await?;
///     assert_eq!(&echo, b"hello");
///     server.await.unwrap()
/// })?;
/// # std::io::Result::Ok(())
/// ```
pub struct TcpListener {
    io: Async<std::net::TcpListener>,
    nodelay: bool,
}

impl fmt::Debug for TcpListener {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TcpListener")
            .field("addr", &self.local_addr().ok())
            .field("fd", &sys::raw(&self.io))
            .finish()
    }
}

impl TcpListener {
    /// Binds a listening socket to `addr` with the default [`ListenOptions`]. When `addr`
    /// names several addresses, the first that binds is used.
    ///
    /// # Errors
    ///
    /// Resolution errors, or the last address's bind error (`AddrInUse`, say), naming the
    /// address.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: dropping the future while a name resolves binds nothing.
    pub async fn bind<A: ToSocketAddrs>(addr: A) -> io::Result<TcpListener> {
        TcpListener::bind_with(addr, &ListenOptions::new()).await
    }

    /// Binds with explicit [`ListenOptions`].
    ///
    /// # Errors
    ///
    /// As [`bind`](Self::bind).
    ///
    /// # Cancel safety
    ///
    /// As [`bind`](Self::bind).
    pub async fn bind_with<A: ToSocketAddrs>(
        addr: A,
        options: &ListenOptions,
    ) -> io::Result<TcpListener> {
        let addrs = resolve(&addr).await?;
        let mut last = None;
        for a in &addrs {
            match TcpListener::bind_one(a, options) {
                Ok(l) => return Ok(l),
                Err(e) => last = Some(e),
            }
        }
        Err(last.expect("resolve returns at least one address"))
    }

    /// Binds exactly one address, without resolving (the server binds each address of a name
    /// through this).
    pub(crate) fn bind_one(addr: &SocketAddr, options: &ListenOptions) -> io::Result<TcpListener> {
        let fd = sys::tcp_listen(addr, &options.cfg)?;
        TcpListener::from_fd(fd, options.cfg.nodelay)
    }

    fn from_fd(fd: sys::OwnedSock, nodelay: bool) -> io::Result<TcpListener> {
        let io = Async::new_nonblocking(std::net::TcpListener::from(fd))?;
        Ok(TcpListener { io, nodelay })
    }

    /// Accepts a connection: the stream and the peer's address.
    ///
    /// Connections reset by their peer before they were accepted (`ECONNABORTED`) are
    /// skipped, as asyncio's accept loop does. Resource exhaustion (`EMFILE`, `ENFILE`,
    /// `ENOBUFS`, `ENOMEM`) is returned: a loop over `accept` should pause before trying again
    /// ([`start_server`](crate::streams::start_server) pauses a second and reports it once).
    ///
    /// # Errors
    ///
    /// The OS's accept error.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: a connection is only taken from the queue inside the poll that returns it.
    pub async fn accept(&self) -> io::Result<(TcpStream, SocketAddr)> {
        std::future::poll_fn(|cx| self.poll_accept(cx)).await
    }

    /// Poll form of [`accept`](Self::accept) (one task at a time).
    pub fn poll_accept(&self, cx: &mut Context<'_>) -> Poll<io::Result<(TcpStream, SocketAddr)>> {
        #[cfg(target_os = "linux")]
        if self.io.completion_sends() {
            return self.poll_accept_multishot(cx);
        }
        loop {
            let res = std::task::ready!(self.io.poll_read_with(cx, |l| sys::accept(l)));
            match res {
                Ok((fd, peer)) => {
                    // Linux copies TCP_NODELAY from the listener; elsewhere set it here.
                    if self.nodelay && !cfg!(any(target_os = "linux", target_os = "android")) {
                        let _ = sys::set_nodelay(&fd, true);
                    }
                    let io = Async::new_nonblocking(std::net::TcpStream::from(fd))?;
                    return Poll::Ready(Ok((TcpStream { io }, peer)));
                }
                Err(e) if sys::is_aborted_accept(&e) => continue,
                Err(e) => return Poll::Ready(Err(e)),
            }
        }
    }

    /// `poll_accept` on the io_uring completion path: a multishot accept in the reactor
    /// (`Async::poll_accept_multishot`), the peer's address from `getpeername`.
    #[cfg(target_os = "linux")]
    fn poll_accept_multishot(
        &self,
        cx: &mut Context<'_>,
    ) -> Poll<io::Result<(TcpStream, SocketAddr)>> {
        loop {
            let fd = match std::task::ready!(self.io.poll_accept_multishot(cx)) {
                Ok(fd) => fd,
                Err(e) if sys::is_aborted_accept(&e) => continue,
                Err(e) => return Poll::Ready(Err(e)),
            };
            let peer = match rustix::net::getpeername(&fd) {
                Ok(Some(p)) => SocketAddr::try_from(p).ok(),
                // Reset before we took it: skipped, as an aborted accept is.
                Err(rustix::io::Errno::NOTCONN) => continue,
                Ok(None) => None,
                Err(e) => return Poll::Ready(Err(e.into())),
            };
            let Some(peer) = peer else {
                return Poll::Ready(Err(io::Error::other(
                    "accepted a connection without address",
                )));
            };
            let io = Async::new_nonblocking(std::net::TcpStream::from(fd))?;
            return Poll::Ready(Ok((TcpStream { io }, peer)));
        }
    }

    /// The connections as a `Stream` (`None` never comes; errors are items).
    pub fn incoming(&self) -> Incoming<'_> {
        Incoming { listener: self }
    }

    /// The address the socket is bound to.
    ///
    /// # Errors
    ///
    /// The OS's `getsockname` error.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.io.get_ref().local_addr()
    }

    /// Sets the IP time-to-live of accepted connections.
    ///
    /// # Errors
    ///
    /// The OS's error.
    pub fn set_ttl(&self, ttl: u32) -> io::Result<()> {
        self.io.get_ref().set_ttl(ttl)
    }

    /// The IP time-to-live.
    ///
    /// # Errors
    ///
    /// The OS's error.
    pub fn ttl(&self) -> io::Result<u32> {
        self.io.get_ref().ttl()
    }

    /// Wraps a std listener (put in non-blocking mode here) in the current loop.
    ///
    /// # Errors
    ///
    /// No running loop, or the OS refuses.
    pub fn from_std(listener: std::net::TcpListener) -> io::Result<TcpListener> {
        Ok(TcpListener {
            io: Async::new(listener)?,
            nodelay: false,
        })
    }

    /// The std listener (still non-blocking), removed from the loop.
    ///
    /// # Errors
    ///
    /// The OS refuses to deregister it.
    pub fn into_std(self) -> io::Result<std::net::TcpListener> {
        self.io.into_inner()
    }

    /// Takes (and clears) the socket's pending error (`SO_ERROR`).
    ///
    /// # Errors
    ///
    /// The OS's `getsockopt` error.
    pub fn take_error(&self) -> io::Result<Option<io::Error>> {
        self.io.get_ref().take_error()
    }
}

#[cfg(unix)]
impl AsFd for TcpListener {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.io.as_fd()
    }
}

#[cfg(unix)]
impl AsRawFd for TcpListener {
    fn as_raw_fd(&self) -> RawFd {
        self.io.as_raw_fd()
    }
}

#[cfg(windows)]
impl AsSocket for TcpListener {
    fn as_socket(&self) -> BorrowedSocket<'_> {
        self.io.as_socket()
    }
}

#[cfg(windows)]
impl AsRawSocket for TcpListener {
    fn as_raw_socket(&self) -> RawSocket {
        self.io.as_raw_socket()
    }
}

/// The `Stream` of [`TcpListener::incoming`].
#[must_use = "streams do nothing unless polled"]
#[derive(Debug)]
pub struct Incoming<'a> {
    listener: &'a TcpListener,
}

impl Stream for Incoming<'_> {
    type Item = io::Result<TcpStream>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.listener
            .poll_accept(cx)
            .map(|r| Some(r.map(|(s, _)| s)))
    }
}

/// How [`TcpStream::connect_with`] connects (asyncio's `happy_eyeballs_delay`,
/// `interleave` and `local_addr`).
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use tulip_net::{ConnectOptions, TcpListener, TcpStream};
///
/// tulip_runtime::run(async {
///     let listener = TcpListener::bind("127.0.0.1:0").await?;
///     let opts = ConnectOptions::new().happy_eyeballs_delay(Some(Duration::from_millis(100)));
///     let s = TcpStream::connect_with(listener.local_addr()?, &opts).await?;
///     assert!(s.nodelay()?);
///     std::io::Result::Ok(())
/// })?;
/// # std::io::Result::Ok(())
/// ```
#[derive(Debug, Clone)]
pub struct ConnectOptions {
    pub(crate) delay: Option<Duration>,
    pub(crate) interleave: Option<usize>,
    pub(crate) local_addr: Option<SocketAddr>,
    pub(crate) nodelay: bool,
}

impl Default for ConnectOptions {
    fn default() -> ConnectOptions {
        ConnectOptions::new()
    }
}

impl ConnectOptions {
    /// The defaults: Happy Eyeballs with RFC 8305's recommended 250 ms delay, families
    /// interleaved one by one, no local address, `TCP_NODELAY` on.
    pub fn new() -> ConnectOptions {
        ConnectOptions {
            delay: Some(Duration::from_millis(250)),
            interleave: None,
            local_addr: None,
            nodelay: true,
        }
    }

    /// When a name resolves to several addresses, how long to wait for an attempt before
    /// starting the next one alongside it (`None`: try them one after another, each after the
    /// previous one failed).
    pub fn happy_eyeballs_delay(mut self, delay: Option<Duration>) -> ConnectOptions {
        self.delay = delay;
        self
    }

    /// How many addresses of the first family to try before alternating families (asyncio's
    /// `interleave`; default 1 with a delay, 0 — resolver order — without). 0 keeps the
    /// resolver's order.
    pub fn interleave(mut self, first_family_count: usize) -> ConnectOptions {
        self.interleave = Some(first_family_count);
        self
    }

    /// Binds the socket to this local address before connecting; only addresses of its
    /// family are tried.
    pub fn local_addr(mut self, addr: SocketAddr) -> ConnectOptions {
        self.local_addr = Some(addr);
        self
    }

    /// Whether the connection gets `TCP_NODELAY` (default on, as asyncio does).
    pub fn nodelay(mut self, on: bool) -> ConnectOptions {
        self.nodelay = on;
        self
    }

    /// The addresses to try, in the order to try them.
    pub(crate) fn order(&self, mut addrs: Vec<SocketAddr>) -> Vec<SocketAddr> {
        if let Some(local) = self.local_addr {
            addrs.retain(|a| a.is_ipv4() == local.is_ipv4());
        }
        let n = self
            .interleave
            .unwrap_or(if self.delay.is_some() { 1 } else { 0 });
        if n > 0 {
            addrs = happy::interleave(addrs, n);
        }
        addrs
    }
}

/// A TCP connection.
///
/// `futures_io::AsyncRead`/`AsyncWrite` are implemented on `TcpStream` and `&TcpStream` (so
/// one task can read while another writes) and on its halves; closing it (`poll_close`) sends
/// FIN. Reads and writes try the system call first and wait only when the socket is empty or
/// full; a short read proves it empty, so the next read waits for the poller without a
/// failed call.
///
/// For asyncio's `StreamReader`/`StreamWriter` API over a connection, see
/// [`streams`](crate::streams).
///
/// # Examples
///
/// ```
/// use futures_lite::{AsyncReadExt, AsyncWriteExt};
/// use tulip_net::{TcpListener, TcpStream};
///
/// tulip_runtime::run(async {
///     let listener = TcpListener::bind("127.0.0.1:0").await?;
///     let mut client = TcpStream::connect(listener.local_addr()?).await?;
///     let (mut server, peer) = listener.accept().await?;
///     assert_eq!(peer, client.local_addr()?);
///     client.write_all(b"ping").await?;
///     client.close().await?; // FIN: the server reads to the end
///     let mut got = Vec::new();
///     server.read_to_end(&mut got).await?;
///     assert_eq!(got, b"ping");
///     std::io::Result::Ok(())
/// })?;
/// # std::io::Result::Ok(())
/// ```
pub struct TcpStream {
    io: Async<std::net::TcpStream>,
}

impl fmt::Debug for TcpStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TcpStream")
            .field("local", &self.local_addr().ok())
            .field("peer", &self.peer_addr().ok())
            .field("fd", &sys::raw(&self.io))
            .finish()
    }
}

impl TcpStream {
    /// Connects to `addr` with the default [`ConnectOptions`]: names resolve on the blocking
    /// pool; several addresses race by Happy Eyeballs (250 ms apart); `TCP_NODELAY` is set.
    ///
    /// The connect itself never blocks the loop: the socket is non-blocking, the connect
    /// returns `EINPROGRESS`, and the task waits for writability, then reads `SO_ERROR`.
    ///
    /// # Errors
    ///
    /// Resolution errors, or a [`ConnectError`](crate::ConnectError) (inside an
    /// `io::Error`) listing every address's failure.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: dropping the future closes every socket it opened.
    pub async fn connect<A: ToSocketAddrs>(addr: A) -> io::Result<TcpStream> {
        TcpStream::connect_with(addr, &ConnectOptions::new()).await
    }

    /// Connects with explicit [`ConnectOptions`].
    ///
    /// # Errors
    ///
    /// As [`connect`](Self::connect); with a local address of the wrong family for every
    /// resolved address, `InvalidInput`.
    ///
    /// # Cancel safety
    ///
    /// As [`connect`](Self::connect).
    pub async fn connect_with<A: ToSocketAddrs>(
        addr: A,
        options: &ConnectOptions,
    ) -> io::Result<TcpStream> {
        Ok(TcpStream::connect_peer(addr, options).await?.0)
    }

    /// [`connect_with`](Self::connect_with), also returning the address that answered
    /// (saves the streams layer a `getpeername`).
    pub(crate) async fn connect_peer<A: ToSocketAddrs>(
        addr: A,
        options: &ConnectOptions,
    ) -> io::Result<(TcpStream, SocketAddr)> {
        let addrs = options.order(resolve(&addr).await?);
        if addrs.is_empty() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "no resolved address has the local address's family",
            ));
        }
        let (local, nodelay) = (options.local_addr, options.nodelay);
        happy::race(addrs, options.delay, move |a| async move {
            connect_one(a, local, nodelay).await.map(|s| (s, a))
        })
        .await
    }

    /// Wraps a std stream (put in non-blocking mode here) in the current loop.
    ///
    /// # Errors
    ///
    /// No running loop, or the OS refuses.
    pub fn from_std(stream: std::net::TcpStream) -> io::Result<TcpStream> {
        Ok(TcpStream {
            io: Async::new(stream)?,
        })
    }

    /// The std stream (still non-blocking), removed from the loop.
    ///
    /// # Errors
    ///
    /// The OS refuses to deregister it.
    pub fn into_std(self) -> io::Result<std::net::TcpStream> {
        self.io.into_inner()
    }

    /// The local address.
    ///
    /// # Errors
    ///
    /// The OS's `getsockname` error.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.io.get_ref().local_addr()
    }

    /// The peer's address.
    ///
    /// # Errors
    ///
    /// `NotConnected` once the connection is gone, or another OS error.
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.io.get_ref().peer_addr()
    }

    /// Shuts down the read side, the write side (sends FIN) or both.
    ///
    /// # Errors
    ///
    /// The OS's error (`NotConnected` when the peer is already gone).
    pub fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        stream_io::shutdown(&self.io, how, |s, h| s.shutdown(h))
    }

    /// `TCP_NODELAY`: send small writes at once instead of coalescing them (Nagle).
    ///
    /// # Errors
    ///
    /// The OS's error.
    pub fn set_nodelay(&self, on: bool) -> io::Result<()> {
        self.io.get_ref().set_nodelay(on)
    }

    /// Whether `TCP_NODELAY` is set.
    ///
    /// # Errors
    ///
    /// The OS's error.
    pub fn nodelay(&self) -> io::Result<bool> {
        self.io.get_ref().nodelay()
    }

    /// `SO_KEEPALIVE`, and with `Some(idle)` the idle time before the first probe
    /// (`TCP_KEEPIDLE`) where the platform has it.
    ///
    /// # Errors
    ///
    /// The OS's error.
    pub fn set_keepalive(&self, idle: Option<Duration>) -> io::Result<()> {
        sys::set_keepalive(self.io.get_ref(), idle)
    }

    /// Whether `SO_KEEPALIVE` is on.
    ///
    /// # Errors
    ///
    /// The OS's error.
    pub fn keepalive(&self) -> io::Result<bool> {
        sys::keepalive(self.io.get_ref())
    }

    /// `SO_LINGER`: `Some(d)` makes close wait up to `d` for unsent data (`Some(ZERO)`: close
    /// with a reset, discarding it); `None` is the default background close.
    ///
    /// # Errors
    ///
    /// The OS's error.
    pub fn set_linger(&self, linger: Option<Duration>) -> io::Result<()> {
        sys::set_linger(self.io.get_ref(), linger)
    }

    /// The `SO_LINGER` setting.
    ///
    /// # Errors
    ///
    /// The OS's error.
    pub fn linger(&self) -> io::Result<Option<Duration>> {
        sys::linger(self.io.get_ref())
    }

    /// Sets the IP time-to-live.
    ///
    /// # Errors
    ///
    /// The OS's error.
    pub fn set_ttl(&self, ttl: u32) -> io::Result<()> {
        self.io.get_ref().set_ttl(ttl)
    }

    /// The IP time-to-live.
    ///
    /// # Errors
    ///
    /// The OS's error.
    pub fn ttl(&self) -> io::Result<u32> {
        self.io.get_ref().ttl()
    }

    /// Takes (and clears) the socket's pending error (`SO_ERROR`).
    ///
    /// # Errors
    ///
    /// The OS's `getsockopt` error.
    pub fn take_error(&self) -> io::Result<Option<io::Error>> {
        self.io.get_ref().take_error()
    }

    /// Reads into `buf` without taking the data out of the socket.
    ///
    /// # Errors
    ///
    /// The OS's `recv` error.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: nothing is consumed.
    pub async fn peek(&self, buf: &mut [u8]) -> io::Result<usize> {
        std::future::poll_fn(|cx| stream_io::poll_peek(&self.io, cx, buf)).await
    }

    /// Poll form of [`peek`](Self::peek).
    pub fn poll_peek(&self, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>> {
        stream_io::poll_peek(&self.io, cx, buf)
    }

    /// Waits until the stream is readable (data, end of stream, or an error).
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

    /// Waits until the stream is writable.
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

    /// One non-blocking read: `WouldBlock` when nothing is there.
    ///
    /// # Errors
    ///
    /// The OS's error, `WouldBlock` included.
    pub fn try_read(&self, buf: &mut [u8]) -> io::Result<usize> {
        stream_io::try_recv(&self.io, buf)
    }

    /// One non-blocking write: `WouldBlock` when the send buffer is full.
    ///
    /// # Errors
    ///
    /// The OS's error, `WouldBlock` included.
    pub fn try_write(&self, buf: &[u8]) -> io::Result<usize> {
        stream_io::try_send(&self.io, buf)
    }

    /// Borrowed halves, for reading and writing from one task at once (`&TcpStream` works
    /// too; the halves say which side each holder uses).
    pub fn split(&mut self) -> (ReadHalf<'_>, WriteHalf<'_>) {
        (
            split::ReadHalf { stream: self },
            split::WriteHalf { stream: self },
        )
    }

    /// Owned halves, for separate tasks. Dropping the write half shuts the write side down
    /// (FIN); [`reunite`](split::OwnedReadHalf::reunite) puts them back together.
    pub fn into_split(self) -> (OwnedReadHalf, OwnedWriteHalf) {
        split::into_split(self)
    }

    /// The registered socket (for the streams layer).
    pub(crate) fn io(&self) -> &Async<std::net::TcpStream> {
        &self.io
    }
}

#[cfg(feature = "tls")]
impl TcpStream {
    /// Upgrades the socket to TLS as the client, with the default timeouts (asyncio's
    /// `loop.start_tls` on a plain connection); the stream is a futures-io
    /// [`TlsStream`](crate::tls::TlsStream). For other timeouts, or a Unix stream, use
    /// [`tls::connect`](crate::tls::connect).
    ///
    /// # Errors
    ///
    /// `InvalidInput` for a bad `server_hostname`; a [`TlsError`](crate::tls::TlsError) for
    /// a failed handshake (the socket is then closed).
    ///
    /// # Cancel safety
    ///
    /// Not cancel safe: dropping it mid-handshake closes the socket.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::Arc;
    /// use futures_lite::{AsyncReadExt, AsyncWriteExt};
    /// use tulip_net::tls::rustls;
    /// use tulip_net::{TcpListener, TcpStream};
    ///
    /// # let cert = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).unwrap();
    /// # let key = rustls::pki_types::PrivateKeyDer::try_from(cert.signing_key.serialize_der()).unwrap();
    /// # let server_config = Arc::new(rustls::ServerConfig::builder()
    /// #     .with_no_client_auth()
    /// #     .with_single_cert(vec![cert.cert.der().clone()], key)
    /// #     .unwrap());
    /// # let mut roots = rustls::RootCertStore::empty();
    /// # roots.add(cert.cert.der().clone()).unwrap();
    /// # let client_config = Arc::new(rustls::ClientConfig::builder()
    /// #     .with_root_certificates(roots)
    /// #     .with_no_client_auth());
    /// tulip_runtime::run(async move {
    ///     let listener = TcpListener::bind("127.0.0.1:0").await?;
    ///     let addr = listener.local_addr()?;
    ///     let server = tulip_executor::spawn(async move {
    ///         let (plain, _) = listener.accept().await?;
    ///         let mut tls = plain.accept_tls(server_config).await?;
    ///         let mut buf = [0u8; 5];
    ///         tls.read_exact(&mut buf).await?;
    ///         tls.write_all(&buf).await?;
    ///         tls.close().await // close_notify, then FIN
    ///     });
    ///     let plain = TcpStream::connect(addr).await?;
    ///     let mut tls = plain.start_tls(client_config, "localhost").await?;
    ///     tls.write_all(b"hello").await?;
    ///     let mut echo = Vec::new();
    ///     tls.read_to_end(&mut echo).await?;
    ///     assert_eq!(echo, b"hello");
    ///     server.await.unwrap()
    /// })?;
    /// # std::io::Result::Ok(())
    /// ```
    pub async fn start_tls(
        self,
        config: std::sync::Arc<crate::tls::rustls::ClientConfig>,
        server_hostname: &str,
    ) -> io::Result<crate::tls::TlsStream<TcpStream>> {
        let options = crate::tls::TlsOptions::client(config, server_hostname)?;
        crate::tls::connect(self, &options).await
    }

    /// Upgrades the socket to TLS as the server, with the default timeouts. See
    /// [`start_tls`](Self::start_tls).
    ///
    /// # Errors
    ///
    /// A [`TlsError`](crate::tls::TlsError) for a failed handshake (the socket is then
    /// closed).
    ///
    /// # Cancel safety
    ///
    /// Not cancel safe: dropping it mid-handshake closes the socket.
    pub async fn accept_tls(
        self,
        config: std::sync::Arc<crate::tls::rustls::ServerConfig>,
    ) -> io::Result<crate::tls::TlsStream<TcpStream>> {
        crate::tls::accept(self, &crate::tls::TlsOptions::server(config)).await
    }
}

/// One non-blocking connect attempt to `addr`.
async fn connect_one(
    addr: SocketAddr,
    local: Option<SocketAddr>,
    nodelay: bool,
) -> io::Result<TcpStream> {
    let fd = sys::tcp_socket(&addr)?;
    if let Some(local) = local {
        sys::bind(&fd, &local)?;
    }
    if nodelay {
        sys::set_nodelay(&fd, true)?;
    }
    let done = sys::start_connect(&fd, &addr)?;
    // Registered after the connect has started, so the first event is its outcome.
    let io = Async::new_nonblocking(std::net::TcpStream::from(fd))?;
    if !done {
        // Registered after the connect started, so the first readiness event (or a writable
        // poll right now) is its outcome; SO_ERROR says which.
        io.writable().await?;
        sys::take_connect_error(io.get_ref())?;
    }
    Ok(TcpStream { io })
}

impl_stream_io!(TcpStream, io);
impl_stream_io!(&TcpStream, io);

#[cfg(unix)]
impl AsFd for TcpStream {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.io.as_fd()
    }
}

#[cfg(unix)]
impl AsRawFd for TcpStream {
    fn as_raw_fd(&self) -> RawFd {
        self.io.as_raw_fd()
    }
}

#[cfg(windows)]
impl AsSocket for TcpStream {
    fn as_socket(&self) -> BorrowedSocket<'_> {
        self.io.as_socket()
    }
}

#[cfg(windows)]
impl AsRawSocket for TcpStream {
    fn as_raw_socket(&self) -> RawSocket {
        self.io.as_raw_socket()
    }
}

/// The read half of [`TcpStream::split`].
pub type ReadHalf<'a> = split::ReadHalf<'a, TcpStream>;
/// The write half of [`TcpStream::split`]; closing it sends FIN.
pub type WriteHalf<'a> = split::WriteHalf<'a, TcpStream>;
/// The owned read half of [`TcpStream::into_split`].
pub type OwnedReadHalf = split::OwnedReadHalf<TcpStream>;
/// The owned write half of [`TcpStream::into_split`]; dropping it sends FIN.
pub type OwnedWriteHalf = split::OwnedWriteHalf<TcpStream>;
/// The halves given to `reunite` belong to different streams.
pub type ReuniteError = split::ReuniteError<TcpStream>;

impl split::StreamSocket for TcpStream {
    type Io = std::net::TcpStream;
    fn io(&self) -> &Async<std::net::TcpStream> {
        &self.io
    }
}

/// Sockets accepted or connected elsewhere (say, inherited) can be wrapped too.
impl TryFrom<std::net::TcpStream> for TcpStream {
    type Error = io::Error;
    fn try_from(s: std::net::TcpStream) -> io::Result<TcpStream> {
        TcpStream::from_std(s)
    }
}
