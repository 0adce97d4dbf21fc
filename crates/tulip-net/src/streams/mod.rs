//! asyncio's Streams: [`open_connection`], [`start_server`], [`StreamReader`],
//! [`StreamWriter`] and [`Server`], for TCP and Unix sockets.
//!
//! | asyncio | tulip |
//! |---|---|
//! | `await asyncio.open_connection(host, port)` | [`open_connection`]`((host, port)).await?` |
//! | `await asyncio.start_server(cb, host, port)` | [`start_server`]`(cb, (host, port)).await?` |
//! | `open_unix_connection(path)` / `start_unix_server(cb, path)` | [`open_unix_connection`] / [`start_unix_server`] |
//! | `limit=`, `backlog=`, `reuse_port=`, `happy_eyeballs_delay=`, `start_serving=` | [`ConnectionOptions`], [`ServerOptions`] |
//! | `reader.read(n)`, `readline()`, `readuntil(sep)`, `readexactly(n)`, `at_eof()` | the same names on [`StreamReader`] |
//! | `IncompleteReadError`, `LimitOverrunError` | [`ReadError::IncompleteRead`], [`ReadError::LimitOverrun`] |
//! | `writer.write(data)`, `writelines`, `await drain()`, `write_eof()`, `close()`, `await wait_closed()` | the same names on [`StreamWriter`] |
//! | `writer.get_extra_info("peername")` | [`StreamWriter::peer_addr`] |
//! | `server.serve_forever()`, `close()`, `wait_closed()`, `close_clients()`, `abort_clients()` | the same names on [`Server`] |
//!
//! A connection handler is `Fn(StreamReader, StreamWriter) -> impl Future`; each connection
//! runs it in a task of its own. Its output may be `()` or a `Result`, whose error is
//! reported to the loop's exception handler.
//!
//! # Examples
//!
//! The TCP echo server and client of asyncio's documentation:
//!
//! ```
//! use tulip_net::streams::{open_connection, start_server, StreamReader, StreamWriter};
//!
//! async fn handle_echo(mut reader: StreamReader, writer: StreamWriter) -> std::io::Result<()> {
//!     let data = reader.read(100).await?;
//!     println!("Received {:?} from {}", String::from_utf8_lossy(&data), writer.peer_addr()?);
//!     writer.write(&data);
//!     writer.drain().await?;
//!     writer.close();
//!     writer.wait_closed().await
//! }
//!
//! tulip_runtime::run(async {
//!     let server = start_server(handle_echo, "127.0.0.1:0").await?;
//!     let addr = server.local_addrs()[0].as_inet().unwrap();
//!
//!     let (mut reader, writer) = open_connection(addr).await?;
//!     writer.write(b"Hello World!");
//!     writer.drain().await?;
//!     assert_eq!(reader.read(100).await?, b"Hello World!");
//!     writer.close();
//!     writer.wait_closed().await?;
//!     std::io::Result::Ok(())
//! })?;
//! # std::io::Result::Ok(())
//! ```

mod conn;
mod error;
mod raw;
mod raw_reader;
mod reader;
mod server;
mod writer;

use std::io;
#[cfg(unix)]
use std::path::Path;

pub use error::ReadError;
pub use raw::RawStream;
pub use raw_reader::{raw_pair, RawReader};
pub use reader::{Lines, StreamFeeder, StreamReader, DEFAULT_LIMIT};
pub use server::{DrainReport, Handler, HandlerOutput, Server};
pub use writer::{Drain, StreamWriter};

use crate::addr::{resolve_server, SockAddr, ToSocketAddrs};
use crate::{ConnectOptions, ListenOptions, TcpStream};
#[cfg(unix)]
use crate::{UnixListener, UnixStream};

/// Makes a reader/writer pair over `stream`.
fn pair(
    stream: Box<dyn RawStream>,
    peer: Option<SockAddr>,
    limit: usize,
) -> (StreamReader, StreamWriter) {
    let conn = conn::Conn::new(stream, peer);
    (
        StreamReader::build(Some(conn.clone()), limit),
        StreamWriter::new(conn),
    )
}

/// Wraps a connected stream — a [`TcpStream`] from a listener of your own, say, or any
/// [`RawStream`] — in a reader/writer pair with the default limit.
///
/// # Examples
///
/// ```
/// use tulip_net::{streams, TcpListener, TcpStream};
///
/// tulip_runtime::run(async {
///     let listener = TcpListener::bind("127.0.0.1:0").await?;
///     let client = TcpStream::connect(listener.local_addr()?).await?;
///     let (server, _) = listener.accept().await?;
///     let (_r, w) = streams::from_stream(client);
///     let (mut r2, _w2) = streams::from_stream(server);
///     w.write(b"hi\n");
///     assert_eq!(r2.readline().await.unwrap(), b"hi\n");
///     std::io::Result::Ok(())
/// })?;
/// # std::io::Result::Ok(())
/// ```
pub fn from_stream(stream: impl RawStream) -> (StreamReader, StreamWriter) {
    let peer = stream.peer_addr().ok();
    pair(Box::new(stream), peer, DEFAULT_LIMIT)
}

/// [`from_stream`] with the reader's limit (asyncio's `limit=`): for streams that are not
/// sockets, such as a child process's pipes, whose reader and writer have no peer address.
///
/// # Errors
///
/// `InvalidInput` for a limit of 0.
///
/// # Examples
///
/// ```
/// use tulip_net::{streams, TcpListener, TcpStream};
///
/// tulip_runtime::run(async {
///     let listener = TcpListener::bind("127.0.0.1:0").await?;
///     let client = TcpStream::connect(listener.local_addr()?).await?;
///     let (server, _) = listener.accept().await?;
///     let (_r, w) = streams::from_stream(client);
///     let (mut r2, _w2) = streams::from_stream_with_limit(server, 4)?;
///     w.write(b"hello\n");
///     assert!(r2.readline().await.is_err()); // longer than the limit of 4
///     std::io::Result::Ok(())
/// })?;
/// # std::io::Result::Ok(())
/// ```
pub fn from_stream_with_limit(
    stream: impl RawStream,
    limit: usize,
) -> io::Result<(StreamReader, StreamWriter)> {
    let limit = reader::valid_limit(limit)?;
    let peer = stream.peer_addr().ok();
    Ok(pair(Box::new(stream), peer, limit))
}

/// Options of [`open_connection`] (asyncio's `limit`, `happy_eyeballs_delay`, `interleave`,
/// `local_addr`).
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use tulip_net::streams::{start_server, ConnectionOptions, StreamReader, StreamWriter};
///
/// tulip_runtime::run(async {
///     let server = start_server(|_: StreamReader, _: StreamWriter| async {}, "127.0.0.1:0").await?;
///     let addr = server.local_addrs()[0].as_inet().unwrap();
///     let (reader, _writer) = ConnectionOptions::new()
///         .limit(1 << 20)
///         .happy_eyeballs_delay(Some(Duration::from_millis(100)))
///         .open_connection(addr)
///         .await?;
///     assert_eq!(reader.limit(), 1 << 20);
///     std::io::Result::Ok(())
/// })?;
/// # std::io::Result::Ok(())
/// ```
#[derive(Debug, Clone)]
pub struct ConnectionOptions {
    limit: usize,
    connect: ConnectOptions,
    #[cfg(feature = "tls")]
    ssl: Option<std::sync::Arc<crate::tls::rustls::ClientConfig>>,
    #[cfg(feature = "tls")]
    server_hostname: Option<String>,
    #[cfg(feature = "tls")]
    handshake_timeout: std::time::Duration,
    #[cfg(feature = "tls")]
    shutdown_timeout: std::time::Duration,
}

impl Default for ConnectionOptions {
    fn default() -> ConnectionOptions {
        ConnectionOptions::new()
    }
}

impl ConnectionOptions {
    /// The defaults: limit 64 KiB, Happy Eyeballs at 250 ms, `TCP_NODELAY`.
    pub fn new() -> ConnectionOptions {
        ConnectionOptions {
            limit: DEFAULT_LIMIT,
            connect: ConnectOptions::new(),
            #[cfg(feature = "tls")]
            ssl: None,
            #[cfg(feature = "tls")]
            server_hostname: None,
            #[cfg(feature = "tls")]
            handshake_timeout: crate::tls::DEFAULT_HANDSHAKE_TIMEOUT,
            #[cfg(feature = "tls")]
            shutdown_timeout: crate::tls::DEFAULT_SHUTDOWN_TIMEOUT,
        }
    }

    /// The reader's limit (see [`StreamReader`]); 0 is refused when connecting.
    pub fn limit(mut self, limit: usize) -> ConnectionOptions {
        self.limit = limit;
        self
    }

    /// See [`ConnectOptions::happy_eyeballs_delay`].
    pub fn happy_eyeballs_delay(mut self, delay: Option<std::time::Duration>) -> ConnectionOptions {
        self.connect = self.connect.happy_eyeballs_delay(delay);
        self
    }

    /// See [`ConnectOptions::interleave`].
    pub fn interleave(mut self, first_family_count: usize) -> ConnectionOptions {
        self.connect = self.connect.interleave(first_family_count);
        self
    }

    /// See [`ConnectOptions::local_addr`].
    pub fn local_addr(mut self, addr: std::net::SocketAddr) -> ConnectionOptions {
        self.connect = self.connect.local_addr(addr);
        self
    }

    /// Speaks TLS with `config` (asyncio's `ssl=`): the connection is made, then the
    /// handshake runs within the handshake timeout. The server's certificate must carry
    /// [`server_hostname`](Self::server_hostname), by default the host `open_connection` was
    /// given (a name, or an IP address).
    ///
    /// # Examples
    ///
    /// See the [`tls`](crate::tls) module.
    #[cfg(feature = "tls")]
    pub fn ssl(mut self, config: std::sync::Arc<crate::tls::rustls::ClientConfig>) -> Self {
        self.ssl = Some(config);
        self
    }

    /// The name to send as SNI and to check the server's certificate against (asyncio's
    /// `server_hostname`); needed for Unix sockets, which have no host.
    #[cfg(feature = "tls")]
    pub fn server_hostname(mut self, name: &str) -> Self {
        self.server_hostname = Some(name.to_string());
        self
    }

    /// How long the TLS handshake may take (asyncio's `ssl_handshake_timeout`, 60 s).
    #[cfg(feature = "tls")]
    pub fn ssl_handshake_timeout(mut self, timeout: std::time::Duration) -> Self {
        self.handshake_timeout = timeout;
        self
    }

    /// How long a TLS close may take (asyncio's `ssl_shutdown_timeout`, 30 s).
    #[cfg(feature = "tls")]
    pub fn ssl_shutdown_timeout(mut self, timeout: std::time::Duration) -> Self {
        self.shutdown_timeout = timeout;
        self
    }

    /// The TLS options for a connection to `host` (`None`: no host, as for a Unix socket).
    #[cfg(feature = "tls")]
    fn tls_options(&self, host: Option<String>) -> io::Result<Option<crate::tls::TlsOptions>> {
        let Some(config) = &self.ssl else {
            return Ok(None);
        };
        let Some(name) = self.server_hostname.clone().or(host) else {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "TLS needs a server_hostname here: there is no host to take it from",
            ));
        };
        Ok(Some(
            crate::tls::TlsOptions::client(config.clone(), &name)?
                .handshake_timeout(self.handshake_timeout)
                .shutdown_timeout(self.shutdown_timeout),
        ))
    }

    /// Connects over TCP (and then, with an `ssl` configuration — the `tls` feature — performs
    /// the TLS handshake).
    ///
    /// # Errors
    ///
    /// As [`open_connection`]; a limit of 0 is `InvalidInput`; with TLS, a bad server name is
    /// `InvalidInput` and a failed handshake a `tls::TlsError`.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: dropping the future closes every socket it opened.
    pub async fn open_connection<A: ToSocketAddrs>(
        &self,
        addr: A,
    ) -> io::Result<(StreamReader, StreamWriter)> {
        let limit = reader::valid_limit(self.limit)?;
        #[cfg(feature = "tls")]
        let tls = self.tls_options(crate::addr::host_of(&addr))?;
        let (stream, peer) = TcpStream::connect_peer(addr, &self.connect).await?;
        #[allow(unused_mut, reason = "the reader is only borrowed mutably for TLS")]
        let (mut reader, writer) = pair(Box::new(stream), Some(SockAddr::Inet(peer)), limit);
        #[cfg(feature = "tls")]
        if let Some(tls) = tls {
            writer.start_tls_with(&mut reader, &tls).await?;
        }
        Ok((reader, writer))
    }

    /// Connects to a Unix socket (and then, with an `ssl` configuration — the `tls` feature —
    /// performs the TLS handshake, which needs a `server_hostname`). Unix only.
    ///
    /// # Errors
    ///
    /// As [`open_unix_connection`]; a limit of 0 is `InvalidInput`; TLS errors as
    /// [`open_connection`](Self::open_connection).
    ///
    /// # Cancel safety
    ///
    /// Cancel safe.
    #[cfg(unix)]
    pub async fn open_unix_connection(
        &self,
        path: impl AsRef<Path>,
    ) -> io::Result<(StreamReader, StreamWriter)> {
        let limit = reader::valid_limit(self.limit)?;
        #[cfg(feature = "tls")]
        let tls = self.tls_options(None)?;
        let stream = UnixStream::connect(path).await?;
        let peer = stream.peer_addr().ok().map(SockAddr::Unix);
        #[allow(unused_mut, reason = "the reader is only borrowed mutably for TLS")]
        let (mut reader, writer) = pair(Box::new(stream), peer, limit);
        #[cfg(feature = "tls")]
        if let Some(tls) = tls {
            writer.start_tls_with(&mut reader, &tls).await?;
        }
        Ok((reader, writer))
    }
}

/// Opens a TCP connection and returns its reader and writer (asyncio's `open_connection`):
/// names resolve off the loop, several addresses race by Happy Eyeballs (250 ms apart), and
/// `TCP_NODELAY` is set. `addr` is `"host:port"`, `(host, port)`, a `SocketAddr`, or a list.
///
/// # Errors
///
/// Resolution errors, or a [`ConnectError`](crate::ConnectError) inside an `io::Error`
/// (`ConnectionRefused`, say) listing every address's failure.
///
/// # Cancel safety
///
/// Cancel safe: dropping the future closes every socket it opened.
///
/// # Examples
///
/// See the [module docs](self).
pub async fn open_connection<A: ToSocketAddrs>(
    addr: A,
) -> io::Result<(StreamReader, StreamWriter)> {
    ConnectionOptions::new().open_connection(addr).await
}

/// Connects to the Unix socket at `path` (asyncio's `open_unix_connection`). Unix only.
///
/// # Errors
///
/// The OS's error (`NotFound`, `ConnectionRefused`), naming the path.
///
/// # Cancel safety
///
/// Cancel safe.
#[cfg(unix)]
pub async fn open_unix_connection(
    path: impl AsRef<Path>,
) -> io::Result<(StreamReader, StreamWriter)> {
    ConnectionOptions::new().open_unix_connection(path).await
}

/// Options of [`start_server`] (asyncio's `limit`, `backlog`, `reuse_address`, `reuse_port`,
/// `start_serving`).
///
/// # Examples
///
/// ```
/// use tulip_net::streams::{ServerOptions, StreamReader, StreamWriter};
///
/// tulip_runtime::run(async {
///     let server = ServerOptions::new()
///         .backlog(64)
///         .start_serving(false)
///         .start_server(|_: StreamReader, _: StreamWriter| async {}, "127.0.0.1:0")
///         .await?;
///     assert!(!server.is_serving());
///     server.start_serving()?;
///     assert!(server.is_serving());
///     std::io::Result::Ok(())
/// })?;
/// # std::io::Result::Ok(())
/// ```
#[derive(Debug, Clone)]
pub struct ServerOptions {
    limit: usize,
    listen: ListenOptions,
    start_serving: bool,
    #[cfg(feature = "tls")]
    ssl: Option<crate::tls::TlsOptions>,
}

impl Default for ServerOptions {
    fn default() -> ServerOptions {
        ServerOptions::new()
    }
}

impl ServerOptions {
    /// The defaults: limit 64 KiB, the [`ListenOptions`] defaults, serving at once.
    pub fn new() -> ServerOptions {
        ServerOptions {
            limit: DEFAULT_LIMIT,
            listen: ListenOptions::new(),
            start_serving: true,
            #[cfg(feature = "tls")]
            ssl: None,
        }
    }

    /// Each connection reader's limit; 0 is refused when starting.
    pub fn limit(mut self, limit: usize) -> ServerOptions {
        self.limit = limit;
        self
    }

    /// See [`ListenOptions::backlog`].
    pub fn backlog(mut self, backlog: u32) -> ServerOptions {
        self.listen = self.listen.backlog(backlog);
        self
    }

    /// See [`ListenOptions::reuse_address`].
    pub fn reuse_address(mut self, on: bool) -> ServerOptions {
        self.listen = self.listen.reuse_address(on);
        self
    }

    /// See [`ListenOptions::reuse_port`].
    pub fn reuse_port(mut self, on: bool) -> ServerOptions {
        self.listen = self.listen.reuse_port(on);
        self
    }

    /// See [`ListenOptions::ipv6_only`] (a server binding several addresses makes its IPv6
    /// sockets IPv6-only unless told otherwise, as asyncio does).
    pub fn ipv6_only(mut self, only: bool) -> ServerOptions {
        self.listen = self.listen.ipv6_only(only);
        self
    }

    /// Whether to accept connections at once (default) or only after
    /// [`Server::start_serving`] / [`Server::serve_forever`].
    pub fn start_serving(mut self, on: bool) -> ServerOptions {
        self.start_serving = on;
        self
    }

    /// Serves TLS with `config` (asyncio's `ssl=`): each connection's handshake runs in a
    /// task of its own within the handshake timeout, and the handler starts once it
    /// succeeds. A connection whose handshake fails is closed, counted
    /// ([`Server::tls_handshake_failures`]) and, in debug mode, reported; the server goes on.
    ///
    /// # Examples
    ///
    /// See the [`tls`](crate::tls) module.
    #[cfg(feature = "tls")]
    pub fn ssl(mut self, config: std::sync::Arc<crate::tls::rustls::ServerConfig>) -> Self {
        let old = self.ssl.take();
        let mut tls = crate::tls::TlsOptions::server(config);
        if let Some(old) = old {
            tls = tls
                .handshake_timeout(old.handshake_timeout)
                .shutdown_timeout(old.shutdown_timeout);
        }
        self.ssl = Some(tls);
        self
    }

    /// How long each TLS handshake may take (asyncio's `ssl_handshake_timeout`, 60 s); set
    /// after [`ssl`](Self::ssl).
    #[cfg(feature = "tls")]
    pub fn ssl_handshake_timeout(mut self, timeout: std::time::Duration) -> Self {
        self.ssl = self.ssl.map(|t| t.handshake_timeout(timeout));
        self
    }

    /// How long each TLS close may take (asyncio's `ssl_shutdown_timeout`, 30 s); set after
    /// [`ssl`](Self::ssl).
    #[cfg(feature = "tls")]
    pub fn ssl_shutdown_timeout(mut self, timeout: std::time::Duration) -> Self {
        self.ssl = self.ssl.map(|t| t.shutdown_timeout(timeout));
        self
    }

    /// Applies the TLS options to a new server.
    fn finish(&self, server: Server) -> Server {
        #[cfg(feature = "tls")]
        if let Some(tls) = &self.ssl {
            return server.with_tls(tls.clone());
        }
        server
    }

    /// Starts a TCP server.
    ///
    /// # Errors
    ///
    /// As [`start_server`]; a limit of 0 is `InvalidInput`.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: dropping the future while a name resolves binds nothing.
    pub async fn start_server<H, A>(&self, handler: H, addr: A) -> io::Result<Server>
    where
        H: Handler,
        A: ToSocketAddrs,
    {
        let limit = reader::valid_limit(self.limit)?;
        let addrs = resolve_server(&addr).await?;
        let listeners = server::bind_all(&addrs, &self.listen)?;
        let server = self.finish(Server::tcp(listeners, handler, limit)?);
        if self.start_serving {
            server.start_serving()?;
        }
        Ok(server)
    }

    /// Starts a Unix socket server at `path`. Unix only.
    ///
    /// # Errors
    ///
    /// As [`start_unix_server`]; a limit of 0 is `InvalidInput`.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe (it never waits).
    #[cfg(unix)]
    pub async fn start_unix_server<H: Handler>(
        &self,
        handler: H,
        path: impl AsRef<Path>,
    ) -> io::Result<Server> {
        let limit = reader::valid_limit(self.limit)?;
        let listener = UnixListener::bind_with_backlog(path, self.listen.cfg.backlog)?;
        let server = self.finish(Server::unix(listener, handler, limit)?);
        if self.start_serving {
            server.start_serving()?;
        }
        Ok(server)
    }
}

/// Starts a TCP server (asyncio's `start_server`): binds every address `addr` names
/// (`(None, port)`, `("", port)` or `":port"`: every interface, IPv4 and IPv6), and runs
/// `handler(reader, writer)` in a task of its own for each connection.
///
/// Accepting pauses for a second (and reports it once) when the process runs out of file
/// descriptors or memory, instead of spinning; a handler that panics is reported, its
/// connection closed, and the server goes on.
///
/// # Errors
///
/// Resolution errors, or a bind error naming the address (`AddrInUse`, say).
///
/// # Cancel safety
///
/// Cancel safe: dropping the future while a name resolves binds nothing.
///
/// # Examples
///
/// See the [module docs](self).
pub async fn start_server<H, A>(handler: H, addr: A) -> io::Result<Server>
where
    H: Handler,
    A: ToSocketAddrs,
{
    ServerOptions::new().start_server(handler, addr).await
}

/// Starts a Unix socket server at `path` (asyncio's `start_unix_server`). The socket file is
/// removed when the server closes; a file already at `path` is an `AddrInUse` error naming it.
/// Unix only.
///
/// # Errors
///
/// The bind error, naming the path.
///
/// # Cancel safety
///
/// Cancel safe (it never waits).
#[cfg(unix)]
pub async fn start_unix_server<H: Handler>(
    handler: H,
    path: impl AsRef<Path>,
) -> io::Result<Server> {
    ServerOptions::new().start_unix_server(handler, path).await
}
