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
//! Tested on Linux; compiled in CI for macOS, FreeBSD and Windows. On Windows sockets are
//! registered with the reactor's `polling` backend (IOCP) and created through `socket2`;
//! there the crate has TCP ([`TcpListener`], [`TcpStream`] and its halves), UDP
//! ([`UdpSocket`]), name resolution ([`getaddrinfo`], through std's resolver on the blocking
//! pool) and the [`streams`] layer over TCP. What Windows lacks is absent at compile time, not
//! an error at run time: Unix domain sockets ([`unix`]), [`sendfile`] and
//! `StreamWriter::sendfile`, [`LoopSockExt`], and `getaddrinfo_with`/`getnameinfo` and
//! their types. The `tls` feature is written portably but not yet compiled for Windows (its
//! ring provider needs a C cross-compiler the CI machines lack).

#![cfg(any(unix, windows))]
// The crate docs name the Unix-only items, which Windows' docs do not have; Linux's doc build
// still checks every link.
#![cfg_attr(windows, allow(rustdoc::broken_intra_doc_links))]
#![deny(unsafe_code)]
#![doc(test(attr(deny(warnings))))]

mod addr;
#[cfg_attr(windows, path = "dns_windows.rs")]
mod dns;
mod happy;
#[cfg(unix)]
mod sendfile;
#[cfg(unix)]
mod sock;
mod split;
mod stream_io;
pub mod streams;
mod sys;
pub mod tcp;
#[cfg(feature = "tls")]
pub mod tls;
mod udp;
#[cfg(unix)]
pub mod unix;

pub use addr::{SockAddr, ToSocketAddrs};
pub use dns::{getaddrinfo, Family};
#[cfg(unix)]
pub use dns::{
    getaddrinfo_with, getnameinfo, AddrInfo, AddrInfoHints, AiFlags, NameInfoFlags, ResolveError,
    SockType,
};
pub use happy::ConnectError;
#[cfg(unix)]
pub use sendfile::sendfile;
#[cfg(unix)]
pub use sock::{BlockingSocketError, LoopSockExt, SockAccept};
pub use split::{OwnedReadHalf, OwnedWriteHalf, ReadHalf, ReuniteError, WriteHalf};
pub use tcp::{ConnectOptions, ListenOptions, TcpListener, TcpStream};
pub use udp::UdpSocket;
#[cfg(unix)]
pub use unix::{UnixDatagram, UnixListener, UnixStream};
