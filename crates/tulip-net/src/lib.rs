//! Sockets, streams, servers and DNS for the tulip event loop: asyncio's "Streams" page and
//! the loop's socket methods.
//!
//! - Sockets: [`TcpListener`], [`TcpStream`], [`UdpSocket`], [`UnixListener`],
//!   [`UnixStream`], [`UnixDatagram`], with `futures_io::AsyncRead`/`AsyncWrite` on the
//!   streams and their halves.
//! - Addresses: every `bind`/`connect` takes [`ToSocketAddrs`] — `"host:port"`, `(host,
//!   port)`, a `SocketAddr`, or a list. Names resolve through the system resolver on the
//!   loop's blocking pool ([`getaddrinfo`], [`getnameinfo`]), never on the loop.
//! - Happy Eyeballs (RFC 8305): a name with several addresses races them, the next attempt
//!   starting 250 ms after the previous one (settable in [`ConnectOptions`]); the failure of
//!   all is a [`ConnectError`] listing each.
//! - [`streams`]: `open_connection`, `start_server`, `StreamReader`, `StreamWriter`,
//!   `Server`, with asyncio's buffer and flow-control rules.
//! - [`sendfile`]: zero-copy file transmission where the kernel offers it.
//! - [`LoopSockExt`]: asyncio's `loop.sock_recv`, `sock_sendall`, `sock_connect`,
//!   `sock_accept`, `sock_sendfile`, … on the caller's own non-blocking sockets.
//! - `tls` (feature `tls`): TLS on rustls for streams, servers and sockets — asyncio's
//!   `ssl=`, `start_tls` and the SSL timeouts.
//!
//! # Readiness and system calls
//!
//! Sockets are registered once with the reactor, edge-triggered. A read or write is tried
//! first and waits only after the OS said `WouldBlock` — and on a byte stream, a short read
//! (or write) already proves the socket drained, so the next one waits for the poller
//! without a failed system call. An echo round trip costs its `recv` and `send` and a share
//! of one `epoll_wait`.
//!
//! # Examples
//!
//! ```
//! use futures_lite::{AsyncReadExt, AsyncWriteExt};
//! use tulip_net::{TcpListener, TcpStream};
//!
//! tulip_runtime::run(async {
//!     let listener = TcpListener::bind("localhost:0").await?;
//!     let addr = listener.local_addr()?;
//!     tulip_executor::spawn(async move {
//!         while let Ok((mut conn, _)) = listener.accept().await {
//!             tulip_executor::spawn(async move {
//!                 let mut buf = vec![0u8; 1024];
//!                 while let Ok(n @ 1..) = conn.read(&mut buf).await {
//!                     if conn.write_all(&buf[..n]).await.is_err() {
//!                         break;
//!                     }
//!                 }
//!             })
//!             .detach();
//!         }
//!     })
//!     .detach();
//!     let mut client = TcpStream::connect(addr).await?;
//!     client.write_all(b"echo").await?;
//!     let mut reply = [0u8; 4];
//!     client.read_exact(&mut reply).await?;
//!     assert_eq!(&reply, b"echo");
//!     std::io::Result::Ok(())
//! })?;
//! # std::io::Result::Ok(())
//! ```
//!
//! # Platforms
//!
//! Unix only for now (tested on Linux, compiled in CI for macOS and FreeBSD). On Windows the
//! crate is empty — a compile-time absence, never a runtime error — and the `tulip` facade
//! leaves out its module; the reactor's `Async<T>` already takes any Windows socket
//! (`AsSocket`), on which sockets, streams and DNS for Windows are to be built.

#![cfg(unix)]
#![deny(unsafe_code)]
#![doc(test(attr(deny(warnings))))]

mod addr;
mod dns;
mod happy;
mod sendfile;
mod sock;
mod split;
mod stream_io;
pub mod streams;
mod sys;
pub mod tcp;
#[cfg(feature = "tls")]
pub mod tls;
mod udp;
pub mod unix;

pub use addr::{SockAddr, ToSocketAddrs};
pub use dns::{
    getaddrinfo, getaddrinfo_with, getnameinfo, AddrInfo, AddrInfoHints, AiFlags, Family,
    NameInfoFlags, ResolveError, SockType,
};
pub use happy::ConnectError;
pub use sendfile::sendfile;
pub use sock::{BlockingSocketError, LoopSockExt, SockAccept};
pub use split::{OwnedReadHalf, OwnedWriteHalf, ReadHalf, ReuniteError, WriteHalf};
pub use tcp::{ConnectOptions, ListenOptions, TcpListener, TcpStream};
pub use udp::UdpSocket;
pub use unix::{UnixDatagram, UnixListener, UnixStream};
