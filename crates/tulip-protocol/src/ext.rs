//! [`LoopProtocolExt`]: the entry points as methods of the loop handle, as asyncio spells
//! them (`loop.create_connection(...)`).

use std::ffi::OsStr;
use std::future::Future;
use std::io;
#[cfg(unix)]
use std::os::fd::OwnedFd;
#[cfg(unix)]
use std::path::Path;

use tulip_net::streams::{RawStream, Server};
use tulip_net::ToSocketAddrs;
use tulip_runtime::LoopHandle;

use crate::{
    DatagramOptions, DatagramProtocol, DatagramTransport, StreamProtocol, SubprocessProtocol,
    SubprocessTransport, Transport,
};

/// The transports-and-protocols entry points as methods of [`LoopHandle`], so that
/// `loop.create_connection(factory, host, port)` ports as
/// `handle.create_connection(factory, (host, port))`. Each is the free function of the same
/// name in this crate; call them from a task of that loop (like asyncio's, they act on the
/// running loop).
///
/// # Examples
///
/// ```
/// use tulip_protocol::{LoopProtocolExt, Protocol, Transport};
///
/// struct Hello;
/// impl Protocol for Hello {
///     fn connection_made(&mut self, t: Transport) {
///         t.write(b"hello");
///         t.close();
///     }
/// }
///
/// tulip_runtime::run(async {
///     let lp = tulip_runtime::EventLoop::current();
///     let server = lp.create_server(|| Hello, "127.0.0.1:0").await?;
///     let addr = server.local_addrs()[0].as_inet().unwrap();
///     let (mut r, _w) = tulip_net::streams::open_connection(addr).await?;
///     assert_eq!(r.read_to_end().await?, b"hello");
///     server.close();
///     std::io::Result::Ok(())
/// })?;
/// # std::io::Result::Ok(())
/// ```
pub trait LoopProtocolExt {
    /// [`create_connection`](crate::create_connection).
    ///
    /// # Cancel safety
    ///
    /// As the free function.
    fn create_connection<P, A>(
        &self,
        factory: impl FnOnce() -> P,
        addr: A,
    ) -> impl Future<Output = io::Result<Transport>>
    where
        P: StreamProtocol + Send,
        A: ToSocketAddrs;

    /// [`create_server`](crate::create_server).
    ///
    /// # Cancel safety
    ///
    /// As the free function.
    fn create_server<P, A>(
        &self,
        factory: impl Fn() -> P + Send + Sync + 'static,
        addr: A,
    ) -> impl Future<Output = io::Result<Server>>
    where
        P: StreamProtocol + Send,
        A: ToSocketAddrs;

    /// [`create_unix_connection`](crate::create_unix_connection). Unix only.
    ///
    /// # Cancel safety
    ///
    /// As the free function.
    #[cfg(unix)]
    fn create_unix_connection<P>(
        &self,
        factory: impl FnOnce() -> P,
        path: impl AsRef<Path>,
    ) -> impl Future<Output = io::Result<Transport>>
    where
        P: StreamProtocol + Send;

    /// [`create_unix_server`](crate::create_unix_server). Unix only.
    ///
    /// # Cancel safety
    ///
    /// As the free function.
    #[cfg(unix)]
    fn create_unix_server<P>(
        &self,
        factory: impl Fn() -> P + Send + Sync + 'static,
        path: impl AsRef<Path>,
    ) -> impl Future<Output = io::Result<Server>>
    where
        P: StreamProtocol + Send;

    /// [`create_datagram_endpoint`](crate::create_datagram_endpoint).
    ///
    /// # Cancel safety
    ///
    /// As the free function.
    fn create_datagram_endpoint<P, L, R>(
        &self,
        factory: impl FnOnce() -> P,
        local: Option<L>,
        remote: Option<R>,
    ) -> impl Future<Output = io::Result<DatagramTransport>>
    where
        P: DatagramProtocol + Send,
        L: ToSocketAddrs,
        R: ToSocketAddrs;

    /// [`create_datagram_endpoint_with`](crate::create_datagram_endpoint_with).
    ///
    /// # Cancel safety
    ///
    /// As the free function.
    fn create_datagram_endpoint_with<P, L, R>(
        &self,
        factory: impl FnOnce() -> P,
        local: Option<L>,
        remote: Option<R>,
        options: &DatagramOptions,
    ) -> impl Future<Output = io::Result<DatagramTransport>>
    where
        P: DatagramProtocol + Send,
        L: ToSocketAddrs,
        R: ToSocketAddrs;

    /// [`create_server_local`](crate::create_server_local).
    ///
    /// # Cancel safety
    ///
    /// As the free function.
    fn create_server_local<P, A>(
        &self,
        factory: impl Fn() -> P + 'static,
        addr: A,
    ) -> impl Future<Output = io::Result<Server>>
    where
        P: StreamProtocol,
        A: ToSocketAddrs;

    /// [`connect_accepted_socket`](crate::connect_accepted_socket).
    ///
    /// # Cancel safety
    ///
    /// As the free function.
    fn connect_accepted_socket<P>(
        &self,
        factory: impl FnOnce() -> P,
        sock: impl RawStream,
    ) -> impl Future<Output = io::Result<Transport>>
    where
        P: StreamProtocol + Send;

    /// [`connect_read_pipe`](crate::connect_read_pipe). Unix only.
    ///
    /// # Cancel safety
    ///
    /// As the free function.
    #[cfg(unix)]
    fn connect_read_pipe<P>(
        &self,
        factory: impl FnOnce() -> P,
        fd: OwnedFd,
    ) -> impl Future<Output = io::Result<Transport>>
    where
        P: StreamProtocol + Send;

    /// [`connect_write_pipe`](crate::connect_write_pipe). Unix only.
    ///
    /// # Cancel safety
    ///
    /// As the free function.
    #[cfg(unix)]
    fn connect_write_pipe<P>(
        &self,
        factory: impl FnOnce() -> P,
        fd: OwnedFd,
    ) -> impl Future<Output = io::Result<Transport>>
    where
        P: StreamProtocol + Send;

    /// [`subprocess_exec`](crate::subprocess_exec).
    ///
    /// # Cancel safety
    ///
    /// As the free function.
    fn subprocess_exec<P, I, S>(
        &self,
        factory: impl FnOnce() -> P,
        program: impl AsRef<OsStr>,
        args: I,
    ) -> impl Future<Output = io::Result<SubprocessTransport>>
    where
        P: SubprocessProtocol + Send,
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>;

    /// [`subprocess_shell`](crate::subprocess_shell).
    ///
    /// # Cancel safety
    ///
    /// As the free function.
    fn subprocess_shell<P>(
        &self,
        factory: impl FnOnce() -> P,
        cmd: impl AsRef<OsStr>,
    ) -> impl Future<Output = io::Result<SubprocessTransport>>
    where
        P: SubprocessProtocol + Send;
}

impl LoopProtocolExt for LoopHandle {
    fn create_connection<P, A>(
        &self,
        factory: impl FnOnce() -> P,
        addr: A,
    ) -> impl Future<Output = io::Result<Transport>>
    where
        P: StreamProtocol + Send,
        A: ToSocketAddrs,
    {
        crate::create_connection(factory, addr)
    }

    fn create_server<P, A>(
        &self,
        factory: impl Fn() -> P + Send + Sync + 'static,
        addr: A,
    ) -> impl Future<Output = io::Result<Server>>
    where
        P: StreamProtocol + Send,
        A: ToSocketAddrs,
    {
        crate::create_server(factory, addr)
    }

    #[cfg(unix)]
    fn create_unix_connection<P>(
        &self,
        factory: impl FnOnce() -> P,
        path: impl AsRef<Path>,
    ) -> impl Future<Output = io::Result<Transport>>
    where
        P: StreamProtocol + Send,
    {
        crate::create_unix_connection(factory, path)
    }

    #[cfg(unix)]
    fn create_unix_server<P>(
        &self,
        factory: impl Fn() -> P + Send + Sync + 'static,
        path: impl AsRef<Path>,
    ) -> impl Future<Output = io::Result<Server>>
    where
        P: StreamProtocol + Send,
    {
        crate::create_unix_server(factory, path)
    }

    fn create_datagram_endpoint<P, L, R>(
        &self,
        factory: impl FnOnce() -> P,
        local: Option<L>,
        remote: Option<R>,
    ) -> impl Future<Output = io::Result<DatagramTransport>>
    where
        P: DatagramProtocol + Send,
        L: ToSocketAddrs,
        R: ToSocketAddrs,
    {
        crate::create_datagram_endpoint(factory, local, remote)
    }

    fn create_datagram_endpoint_with<P, L, R>(
        &self,
        factory: impl FnOnce() -> P,
        local: Option<L>,
        remote: Option<R>,
        options: &DatagramOptions,
    ) -> impl Future<Output = io::Result<DatagramTransport>>
    where
        P: DatagramProtocol + Send,
        L: ToSocketAddrs,
        R: ToSocketAddrs,
    {
        crate::create_datagram_endpoint_with(factory, local, remote, options)
    }

    fn create_server_local<P, A>(
        &self,
        factory: impl Fn() -> P + 'static,
        addr: A,
    ) -> impl Future<Output = io::Result<Server>>
    where
        P: StreamProtocol,
        A: ToSocketAddrs,
    {
        crate::create_server_local(factory, addr)
    }

    fn connect_accepted_socket<P>(
        &self,
        factory: impl FnOnce() -> P,
        sock: impl RawStream,
    ) -> impl Future<Output = io::Result<Transport>>
    where
        P: StreamProtocol + Send,
    {
        crate::connect_accepted_socket(factory, sock)
    }

    #[cfg(unix)]
    fn connect_read_pipe<P>(
        &self,
        factory: impl FnOnce() -> P,
        fd: OwnedFd,
    ) -> impl Future<Output = io::Result<Transport>>
    where
        P: StreamProtocol + Send,
    {
        crate::connect_read_pipe(factory, fd)
    }

    #[cfg(unix)]
    fn connect_write_pipe<P>(
        &self,
        factory: impl FnOnce() -> P,
        fd: OwnedFd,
    ) -> impl Future<Output = io::Result<Transport>>
    where
        P: StreamProtocol + Send,
    {
        crate::connect_write_pipe(factory, fd)
    }

    fn subprocess_exec<P, I, S>(
        &self,
        factory: impl FnOnce() -> P,
        program: impl AsRef<OsStr>,
        args: I,
    ) -> impl Future<Output = io::Result<SubprocessTransport>>
    where
        P: SubprocessProtocol + Send,
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        crate::subprocess_exec(factory, program, args)
    }

    fn subprocess_shell<P>(
        &self,
        factory: impl FnOnce() -> P,
        cmd: impl AsRef<OsStr>,
    ) -> impl Future<Output = io::Result<SubprocessTransport>>
    where
        P: SubprocessProtocol + Send,
    {
        crate::subprocess_shell(factory, cmd)
    }
}
