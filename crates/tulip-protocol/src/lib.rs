//! asyncio's transports and protocols for the tulip event loop: the callback API under
//! asyncio's streams, where frameworks and fast servers live.
//!
//! | asyncio | tulip |
//! |---|---|
//! | `asyncio.Protocol`, `BufferedProtocol` | [`Protocol`], [`BufferedProtocol`] (passed as [`Buffered`]`(p)`) |
//! | `asyncio.DatagramProtocol`, `SubprocessProtocol` | [`DatagramProtocol`], [`SubprocessProtocol`] |
//! | `Transport`, `DatagramTransport`, `SubprocessTransport` | [`Transport`], [`DatagramTransport`], [`SubprocessTransport`] |
//! | `await loop.create_connection(factory, host, port)` | [`create_connection`]`(factory, (host, port)).await?` or `handle.create_connection(…)` ([`LoopProtocolExt`]) |
//! | `await loop.create_server(factory, host, port)` | [`create_server`]`(factory, (host, port)).await?` → tulip-net's `Server`; [`create_server_local`] for `!Send` protocols |
//! | `create_unix_connection`, `create_unix_server` | [`create_unix_connection`], [`create_unix_server`] |
//! | `create_datagram_endpoint(factory, local_addr, remote_addr)` | [`create_datagram_endpoint`] |
//! | `create_datagram_endpoint(…, family=, reuse_port=, allow_broadcast=)` | [`create_datagram_endpoint_with`] and [`DatagramOptions`] |
//! | `transport.set_protocol(p)`, `get_protocol()` | [`Transport::set_protocol`], [`Transport::get_protocol`] (the protocol's type name) |
//! | `connect_accepted_socket`, `connect_read_pipe`, `connect_write_pipe` | [`connect_accepted_socket`], [`connect_read_pipe`], [`connect_write_pipe`] |
//! | `subprocess_exec`, `subprocess_shell` | [`subprocess_exec`], [`subprocess_shell`], [`subprocess_command`] |
//! | `transport.get_extra_info("peername")`, `"sockname"`, `"socket"` | [`Transport::peername`], [`Transport::sockname`], [`Transport::socket`] |
//!
//! # How it runs
//!
//! Each transport is driven by one task of the loop, which reads the socket (registered
//! with the reactor like every tulip socket) straight into the protocol's memory and calls
//! its methods, one at a time, in asyncio's order. Writes go through tulip-net's connection
//! core — the very code under `StreamWriter` — so the write buffer, asyncio's flow-control
//! marks, `write_eof`, `close`/`abort` and TLS behave exactly as for streams:
//! `write` sends at once what the socket takes and buffers the rest; a background flusher
//! sends the rest.
//!
//! The callbacks are plain `&mut self` methods. Protocols given to the plain entry points
//! are `Send` (their task may run on any worker of a multi-threaded loop); the `_local`
//! forms ([`create_connection_local`], [`create_server_local`],
//! [`connect_accepted_socket_local`], [`create_datagram_endpoint_local`]) take `!Send` protocols (`Rc`/`RefCell` state) and
//! pin their task to the calling thread.
//!
//! `pause_writing` is called right after the callback whose write took the buffer over the
//! high-water mark returns (asyncio calls it from inside `write`; a `&mut self` callback
//! cannot be re-entered), or soon after a write made elsewhere.
//!
//! A callback that panics is contained: the panic is reported to the loop's exception
//! handler, its transport is aborted, the protocol's `connection_lost` gets the error, and
//! the loop and the other connections go on.
//!
//! # Examples
//!
//! The echo server and client of asyncio's "Transports and Protocols" page:
//!
//! ```
//! use std::io;
//! use std::sync::{Arc, Mutex};
//! use tulip_protocol::{Protocol, Transport};
//!
//! struct EchoServer(Option<Transport>);
//! impl Protocol for EchoServer {
//!     fn connection_made(&mut self, transport: Transport) {
//!         self.0 = Some(transport);
//!     }
//!     fn data_received(&mut self, data: &[u8]) {
//!         let t = self.0.as_ref().unwrap();
//!         t.write(data);
//!         t.close();
//!     }
//! }
//!
//! struct EchoClient {
//!     message: &'static [u8],
//!     got: Arc<Mutex<Vec<u8>>>,
//! }
//! impl Protocol for EchoClient {
//!     fn connection_made(&mut self, transport: Transport) {
//!         transport.write(self.message);
//!     }
//!     fn data_received(&mut self, data: &[u8]) {
//!         self.got.lock().unwrap().extend_from_slice(data);
//!     }
//!     fn connection_lost(&mut self, error: Option<io::Error>) {
//!         assert!(error.is_none());
//!     }
//! }
//!
//! tulip_runtime::run(async {
//!     let server = tulip_protocol::create_server(|| EchoServer(None), "127.0.0.1:0").await?;
//!     let addr = server.local_addrs()[0].as_inet().unwrap();
//!     let got = Arc::new(Mutex::new(Vec::new()));
//!     let g = got.clone();
//!     let transport = tulip_protocol::create_connection(
//!         move || EchoClient { message: b"Hello World!", got: g },
//!         addr,
//!     )
//!     .await?;
//!     transport.wait_closed().await;
//!     assert_eq!(&*got.lock().unwrap(), b"Hello World!");
//!     server.close();
//!     server.wait_closed().await;
//!     io::Result::Ok(())
//! })?;
//! # std::io::Result::Ok(())
//! ```

//!
//! # Platforms
//!
//! Tested on Linux; compiled in CI for macOS, FreeBSD and Windows, never run there. On
//! Windows there are TCP and UDP transports and subprocess protocols (over tulip-process's
//! pipes, each served by a thread); the Unix-socket functions, `connect_read_pipe`,
//! `connect_write_pipe` (pipes given by file descriptor), `Transport::socket` and
//! `SubprocessTransport::send_signal` are Unix only (compile-time absences).
#![cfg(any(unix, windows))]
#![forbid(unsafe_code)]
// The docs link to Unix-only items (`send_signal`, the Unix-socket and pipe functions).
#![cfg_attr(windows, allow(rustdoc::broken_intra_doc_links))]
#![doc(test(attr(deny(warnings))))]

mod connect;
mod contain;
mod datagram;
mod ext;
mod subprocess;
mod traits;
mod transport;

pub use connect::{
    connect_accepted_socket, connect_accepted_socket_local, create_connection,
    create_connection_local, create_connection_with, create_server, create_server_local,
    create_server_with,
};
#[cfg(unix)]
pub use connect::{
    connect_read_pipe, connect_write_pipe, create_unix_connection, create_unix_server,
};
pub use datagram::{
    create_datagram_endpoint, create_datagram_endpoint_local, create_datagram_endpoint_with,
    DatagramOptions, DatagramTransport,
};
pub use ext::LoopProtocolExt;
pub use subprocess::{subprocess_command, subprocess_exec, subprocess_shell, SubprocessTransport};
pub use traits::{BufferedProtocol, DatagramProtocol, Protocol, SubprocessProtocol};
pub use transport::{Buffered, StreamProtocol, Transport};
pub use tulip_net::streams::{ConnectionOptions, Server, ServerOptions};
pub use tulip_net::Family;
