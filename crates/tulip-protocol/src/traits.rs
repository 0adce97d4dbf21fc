//! The protocol traits: what a transport calls.

use std::io;
use std::net::SocketAddr;

use crate::datagram::DatagramTransport;
use crate::subprocess::SubprocessTransport;
use crate::transport::Transport;

/// A stream protocol (asyncio's `Protocol`): the callbacks of a connection, called in order
/// from the connection's task, one at a time.
///
/// `connection_made` → `data_received`* → `eof_received`? → `connection_lost`, with
/// `pause_writing`/`resume_writing` whenever the write buffer crosses the high-water mark
/// up and then the low one down. Every method has a default that does nothing (as in
/// asyncio), so a protocol writes only those it needs.
///
/// A callback that panics is contained: the panic goes to the loop's exception handler,
/// that transport is aborted, `connection_lost` is called with the error (unless it was
/// `connection_lost` that panicked), and the loop goes on.
///
/// # Examples
///
/// ```
/// use tulip_protocol::{Protocol, Transport};
///
/// /// asyncio's echo server protocol.
/// struct Echo(Option<Transport>);
///
/// impl Protocol for Echo {
///     fn connection_made(&mut self, transport: Transport) {
///         self.0 = Some(transport);
///     }
///     fn data_received(&mut self, data: &[u8]) {
///         self.0.as_ref().unwrap().write(data);
///     }
/// }
///
/// tulip_runtime::run(async {
///     let server = tulip_protocol::create_server(|| Echo(None), "127.0.0.1:0").await?;
///     let addr = server.local_addrs()[0].as_inet().unwrap();
///     let (mut r, w) = tulip_net::streams::open_connection(addr).await?;
///     w.write(b"ping");
///     assert_eq!(r.read(4).await?, b"ping");
///     server.close();
///     std::io::Result::Ok(())
/// })?;
/// # std::io::Result::Ok(())
/// ```
pub trait Protocol: 'static {
    /// The connection is up; `transport` is its handle (keep a clone to write).
    fn connection_made(&mut self, transport: Transport) {
        let _ = transport;
    }

    /// Bytes arrived.
    fn data_received(&mut self, data: &[u8]) {
        let _ = data;
    }

    /// The peer sent end of stream. Return `true` to keep the connection open (to write
    /// more; close it yourself later), `false` to have the transport close it (asyncio's
    /// "return a true value to keep the transport open").
    fn eof_received(&mut self) -> bool {
        false
    }

    /// The connection is gone: `None` after our own close (or a clean end), `Some(error)`
    /// when it was lost (a reset, an abort, a failed write). The last callback.
    fn connection_lost(&mut self, error: Option<io::Error>) {
        let _ = error;
    }

    /// The write buffer went over the high-water mark: stop writing until
    /// [`resume_writing`](Self::resume_writing).
    fn pause_writing(&mut self) {}

    /// The write buffer drained to the low-water mark: writing may go on.
    fn resume_writing(&mut self) {}
}

/// A stream protocol that reads into its own memory (asyncio's `BufferedProtocol`): the
/// transport asks for a buffer with [`get_buffer`](Self::get_buffer), reads into it, and
/// says how much with [`buffer_updated`](Self::buffer_updated). The other callbacks are
/// [`Protocol`]'s (whose `data_received` is then never called).
///
/// `get_buffer` may be called for a read that finds no data yet (as asyncio's proactor
/// loop does): only `buffer_updated` says that bytes arrived.
///
/// # Examples
///
/// ```
/// use tulip_protocol::{BufferedProtocol, Protocol};
///
/// struct Counter {
///     buf: Vec<u8>,
///     total: std::sync::Arc<std::sync::atomic::AtomicUsize>,
/// }
/// impl Protocol for Counter {}
/// impl BufferedProtocol for Counter {
///     fn get_buffer(&mut self, _size_hint: usize) -> &mut [u8] {
///         &mut self.buf
///     }
///     fn buffer_updated(&mut self, nbytes: usize) {
///         self.total.fetch_add(nbytes, std::sync::atomic::Ordering::Relaxed);
///     }
/// }
/// # let _ = Counter { buf: vec![0; 16], total: Default::default() };
/// ```
pub trait BufferedProtocol: Protocol {
    /// The memory the next read goes into (`size_hint` is what the transport would like;
    /// any non-empty length works). An empty buffer is an error that aborts the transport.
    fn get_buffer(&mut self, size_hint: usize) -> &mut [u8];

    /// The first `nbytes` of the last buffer were filled.
    fn buffer_updated(&mut self, nbytes: usize);
}

/// A datagram protocol (asyncio's `DatagramProtocol`): UDP endpoints made by
/// [`create_datagram_endpoint`](crate::create_datagram_endpoint).
///
/// A callback that panics is contained as for [`Protocol`].
///
/// # Examples
///
/// ```
/// use std::net::SocketAddr;
/// use tulip_protocol::{DatagramProtocol, DatagramTransport};
///
/// /// asyncio's UDP echo server protocol.
/// struct EchoUdp(Option<DatagramTransport>);
///
/// impl DatagramProtocol for EchoUdp {
///     fn connection_made(&mut self, transport: DatagramTransport) {
///         self.0 = Some(transport);
///     }
///     fn datagram_received(&mut self, data: &[u8], addr: SocketAddr) {
///         let _ = self.0.as_ref().unwrap().sendto(data, Some(addr));
///     }
/// }
/// # let _ = EchoUdp(None);
/// ```
pub trait DatagramProtocol: 'static {
    /// The endpoint is ready; `transport` is its handle.
    fn connection_made(&mut self, transport: DatagramTransport) {
        let _ = transport;
    }

    /// A datagram arrived from `addr`.
    fn datagram_received(&mut self, data: &[u8], addr: SocketAddr) {
        let _ = (data, addr);
    }

    /// A send or receive failed (an ICMP port unreachable on a connected socket is
    /// `ConnectionRefused`); the endpoint stays open.
    ///
    /// On Windows an ICMP port unreachable for an earlier datagram, even one sent from an
    /// unconnected socket, makes the next receive fail with `ConnectionReset` (WSAECONNRESET,
    /// 10054): it comes here too and the endpoint goes on, as in asyncio on Windows
    /// (`SIO_UDP_CONNRESET` is left on).
    fn error_received(&mut self, error: io::Error) {
        let _ = error;
    }

    /// The endpoint is closed: the last callback.
    fn connection_lost(&mut self, error: Option<io::Error>) {
        let _ = error;
    }

    /// The send buffer went over the high-water mark.
    fn pause_writing(&mut self) {}

    /// The send buffer drained to the low-water mark.
    fn resume_writing(&mut self) {}
}

/// A subprocess protocol (asyncio's `SubprocessProtocol`), for
/// [`subprocess_exec`](crate::subprocess_exec) and [`subprocess_shell`](crate::subprocess_shell).
///
/// The order: `connection_made`, then `pipe_data_received` for stdout (fd 1) and stderr
/// (fd 2) as data comes, `pipe_connection_lost` once for each pipe (stdin's when it is
/// closed or broken, the others' at end of file), then `process_exited` once the child has
/// exited *and* every pipe is done, then `connection_lost(None)`.
///
/// # Examples
///
/// ```
/// use tulip_protocol::SubprocessProtocol;
///
/// #[derive(Default)]
/// struct Collect(Vec<u8>);
/// impl SubprocessProtocol for Collect {
///     fn pipe_data_received(&mut self, fd: i32, data: &[u8]) {
///         if fd == 1 {
///             self.0.extend_from_slice(data);
///         }
///     }
/// }
/// # let _ = Collect::default();
/// ```
pub trait SubprocessProtocol: 'static {
    /// The child is started; `transport` is its handle.
    fn connection_made(&mut self, transport: SubprocessTransport) {
        let _ = transport;
    }

    /// The child wrote `data` on its stdout (`fd` 1) or stderr (`fd` 2).
    fn pipe_data_received(&mut self, fd: i32, data: &[u8]) {
        let _ = (fd, data);
    }

    /// Pipe `fd` is done: end of file on stdout/stderr, stdin closed (`None`) or broken.
    fn pipe_connection_lost(&mut self, fd: i32, error: Option<io::Error>) {
        let _ = (fd, error);
    }

    /// The child has exited (its code is `transport.get_returncode()`).
    fn process_exited(&mut self) {}

    /// Everything is over: the last callback.
    fn connection_lost(&mut self, error: Option<io::Error>) {
        let _ = error;
    }

    /// The stdin pipe's buffer went over the high-water mark.
    fn pause_writing(&mut self) {}

    /// The stdin pipe's buffer drained to the low-water mark.
    fn resume_writing(&mut self) {}
}
