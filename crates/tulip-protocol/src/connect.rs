//! The stream entry points: `create_connection`, `create_server`, their Unix forms,
//! `connect_accepted_socket`, and the pipes.

use std::collections::VecDeque;
use std::future::{poll_fn, Future};
use std::io;
#[cfg(unix)]
use std::os::fd::OwnedFd;
#[cfg(unix)]
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::task::{Poll, Waker};

use tulip_net::streams::{
    raw_pair, ConnectionOptions, RawReader, RawStream, Server, ServerOptions, StreamReader,
    StreamWriter,
};
use tulip_net::ToSocketAddrs;
use tulip_util::lock;

use crate::transport::{drive, made, Core, StreamProtocol, Transport};

fn setup<S: StreamProtocol>(
    proto: &mut S,
    raw: RawReader,
    writer: StreamWriter,
    readable: bool,
    writable: bool,
) -> (Core, Transport, Result<(), io::Error>) {
    let t = Transport::new(writer, &raw, readable, writable);
    let m = made(proto, &t);
    (Core::new(raw, t.clone()), t, m)
}

fn start_send<P: StreamProtocol + Send>(
    mut proto: P,
    raw: RawReader,
    writer: StreamWriter,
    early: Vec<u8>,
    readable: bool,
    writable: bool,
) -> Transport {
    let (core, t, m) = setup(&mut proto, raw, writer, readable, writable);
    tulip_executor::spawn(drive(proto, core, early, m)).detach();
    t
}

fn start_local<P: StreamProtocol>(
    mut proto: P,
    raw: RawReader,
    writer: StreamWriter,
    early: Vec<u8>,
) -> Transport {
    let (core, t, m) = setup(&mut proto, raw, writer, true, true);
    tulip_executor::spawn_local(drive(proto, core, early, m)).detach();
    t
}

fn split(reader: StreamReader) -> io::Result<(RawReader, Vec<u8>)> {
    reader
        .into_raw()
        .map_err(|_| io::Error::other("the stream has no connection"))
}

/// Connects to `addr` and runs the protocol `factory` makes on the connection (asyncio's
/// `loop.create_connection(protocol_factory, host, port)`). `connection_made` has been
/// called when this returns; the rest of the callbacks run in a task of the loop. For a
/// [`BufferedProtocol`](crate::BufferedProtocol), wrap it: `|| Buffered(p)`.
///
/// # Errors
///
/// Resolution and connect errors (a [`ConnectError`](tulip_net::ConnectError) listing every
/// address's failure).
///
/// # Cancel safety
///
/// Cancel safe: until it returns, nothing is connected that would outlive it.
///
/// # Panics
///
/// Outside a tulip event loop.
///
/// # Examples
///
/// See [`Transport`].
pub async fn create_connection<P, A>(factory: impl FnOnce() -> P, addr: A) -> io::Result<Transport>
where
    P: StreamProtocol + Send,
    A: ToSocketAddrs,
{
    create_connection_with(factory, addr, &ConnectionOptions::new()).await
}

/// [`create_connection`] with tulip-net's [`ConnectionOptions`] (Happy Eyeballs delay,
/// local address, and `ssl=`/`server_hostname=` with the `tls` feature).
///
/// # Errors
///
/// As [`create_connection`], and a failed TLS handshake.
///
/// # Cancel safety
///
/// As [`create_connection`].
pub async fn create_connection_with<P, A>(
    factory: impl FnOnce() -> P,
    addr: A,
    options: &ConnectionOptions,
) -> io::Result<Transport>
where
    P: StreamProtocol + Send,
    A: ToSocketAddrs,
{
    let (reader, writer) = options.open_connection(addr).await?;
    let (raw, early) = split(reader)?;
    Ok(start_send(factory(), raw, writer, early, true, true))
}

/// [`create_connection`] for a protocol that is not `Send` (`Rc`/`RefCell` state): its
/// driver is a local task, pinned to this thread (on a multi-threaded loop, this worker).
///
/// # Errors
///
/// As [`create_connection`].
///
/// # Cancel safety
///
/// As [`create_connection`].
///
/// # Examples
///
/// ```
/// use std::{cell::RefCell, rc::Rc};
/// use tulip_protocol::{Protocol, Transport};
///
/// struct Client(Rc<RefCell<Vec<u8>>>);
/// impl Protocol for Client {
///     fn connection_made(&mut self, t: Transport) {
///         t.write(b"hi");
///         t.write_eof().unwrap();
///     }
///     fn data_received(&mut self, data: &[u8]) {
///         self.0.borrow_mut().extend_from_slice(data);
///     }
/// }
/// struct Echo(Option<Transport>);
/// impl Protocol for Echo {
///     fn connection_made(&mut self, t: Transport) {
///         self.0 = Some(t);
///     }
///     fn data_received(&mut self, data: &[u8]) {
///         self.0.as_ref().unwrap().write(data);
///     }
/// }
///
/// tulip_runtime::run(async {
///     let server = tulip_protocol::create_server(|| Echo(None), "127.0.0.1:0").await?;
///     let addr = server.local_addrs()[0].as_inet().unwrap();
///     let got = Rc::new(RefCell::new(Vec::new()));
///     let g = got.clone();
///     let t = tulip_protocol::create_connection_local(move || Client(g), addr).await?;
///     t.wait_closed().await;
///     assert_eq!(&*got.borrow(), b"hi");
///     std::io::Result::Ok(())
/// })?;
/// # std::io::Result::Ok(())
/// ```
pub async fn create_connection_local<P, A>(
    factory: impl FnOnce() -> P,
    addr: A,
) -> io::Result<Transport>
where
    P: StreamProtocol,
    A: ToSocketAddrs,
{
    let (reader, writer) = ConnectionOptions::new().open_connection(addr).await?;
    let (raw, early) = split(reader)?;
    Ok(start_local(factory(), raw, writer, early))
}

/// Connects to the Unix socket at `path` (asyncio's `create_unix_connection`). Unix only.
///
/// # Errors
///
/// The OS's connect error.
///
/// # Cancel safety
///
/// As [`create_connection`].
#[cfg(unix)]
pub async fn create_unix_connection<P>(
    factory: impl FnOnce() -> P,
    path: impl AsRef<Path>,
) -> io::Result<Transport>
where
    P: StreamProtocol + Send,
{
    let (reader, writer) = tulip_net::streams::open_unix_connection(path).await?;
    let (raw, early) = split(reader)?;
    Ok(start_send(factory(), raw, writer, early, true, true))
}

/// Runs a protocol on a connection accepted (or connected) elsewhere: a
/// [`TcpStream`](tulip_net::TcpStream), a [`UnixStream`](tulip_net::UnixStream), or any
/// [`RawStream`] (asyncio's `connect_accepted_socket`).
///
/// # Errors
///
/// None today; kept for asyncio's shape.
///
/// # Cancel safety
///
/// Cancel safe (it does not wait).
pub async fn connect_accepted_socket<P>(
    factory: impl FnOnce() -> P,
    sock: impl RawStream,
) -> io::Result<Transport>
where
    P: StreamProtocol + Send,
{
    let (raw, writer) = raw_pair(sock);
    Ok(start_send(factory(), raw, writer, Vec::new(), true, true))
}

/// [`connect_accepted_socket`] for a protocol that is not `Send`: with a listener's accept
/// loop of your own, this serves `Rc`/`RefCell` protocols on the current-thread loop.
///
/// # Errors
///
/// None today; kept for asyncio's shape.
///
/// # Cancel safety
///
/// Cancel safe (it does not wait).
pub async fn connect_accepted_socket_local<P>(
    factory: impl FnOnce() -> P,
    sock: impl RawStream,
) -> io::Result<Transport>
where
    P: StreamProtocol,
{
    let (raw, writer) = raw_pair(sock);
    Ok(start_local(factory(), raw, writer, Vec::new()))
}

/// Serves `addr`: each accepted connection runs a protocol from `factory` (asyncio's
/// `loop.create_server(protocol_factory, host, port)`). The [`Server`] is tulip-net's, as
/// `start_server` returns it: `serve_forever`, `close`, `wait_closed`, `close_clients`,
/// `abort_clients`, `local_addrs`. A connection counts as active until its protocol's
/// `connection_lost` has returned.
///
/// # Errors
///
/// Resolution and bind errors.
///
/// # Cancel safety
///
/// Cancel safe: a server is only started in the poll that returns it.
///
/// # Examples
///
/// See [`Protocol`](crate::Protocol).
pub async fn create_server<P, A>(
    factory: impl Fn() -> P + Send + Sync + 'static,
    addr: A,
) -> io::Result<Server>
where
    P: StreamProtocol + Send,
    A: ToSocketAddrs,
{
    create_server_with(factory, addr, &ServerOptions::new()).await
}

/// [`create_server`] with tulip-net's [`ServerOptions`] (backlog, `reuse_port`,
/// `start_serving`, `ssl=` with the `tls` feature).
///
/// # Errors
///
/// As [`create_server`].
///
/// # Cancel safety
///
/// As [`create_server`].
pub async fn create_server_with<P, A>(
    factory: impl Fn() -> P + Send + Sync + 'static,
    addr: A,
    options: &ServerOptions,
) -> io::Result<Server>
where
    P: StreamProtocol + Send,
    A: ToSocketAddrs,
{
    options.start_server(handler(factory), addr).await
}

/// Serves the Unix socket at `path` (asyncio's `create_unix_server`). Unix only.
///
/// # Errors
///
/// The OS's bind error.
///
/// # Cancel safety
///
/// As [`create_server`].
#[cfg(unix)]
pub async fn create_unix_server<P>(
    factory: impl Fn() -> P + Send + Sync + 'static,
    path: impl AsRef<Path>,
) -> io::Result<Server>
where
    P: StreamProtocol + Send,
{
    tulip_net::streams::start_unix_server(handler(factory), path).await
}

/// [`create_server`] for protocols that are not `Send` (`Rc`/`RefCell` state), on the
/// current-thread loop or pinned to this worker of a multi-threaded one: the server accepts
/// as [`create_server`]'s does (its [`Server`] is the same: `close`, `close_clients`,
/// `wait_closed`, `active_connections` count these connections until `connection_lost`
/// returned), and hands each connection to a local task of the calling thread, which makes
/// the protocol with `factory` and drives it there.
///
/// That task lives as long as the server's handler (until the [`Server`] and its serving
/// are gone); if the calling thread's loop ends first, later connections are closed at
/// once.
///
/// # Errors
///
/// As [`create_server`].
///
/// # Cancel safety
///
/// As [`create_server`].
///
/// # Panics
///
/// Outside a tulip event loop.
///
/// # Examples
///
/// ```
/// use std::{cell::Cell, rc::Rc};
/// use tulip_protocol::{Protocol, Transport};
///
/// struct Count(Rc<Cell<usize>>);
/// impl Protocol for Count {
///     fn connection_made(&mut self, t: Transport) {
///         self.0.set(self.0.get() + 1);
///         t.write(b"hi");
///         t.close();
///     }
/// }
///
/// tulip_runtime::run(async {
///     let seen = Rc::new(Cell::new(0));
///     let s = seen.clone();
///     let server =
///         tulip_protocol::create_server_local(move || Count(s.clone()), "127.0.0.1:0")
///             .await?;
///     let addr = server.local_addrs()[0].as_inet().unwrap();
///     let (mut r, _w) = tulip_net::streams::open_connection(addr).await?;
///     assert_eq!(r.read_to_end().await?, b"hi");
///     assert_eq!(seen.get(), 1);
///     server.close();
///     server.wait_closed().await;
///     std::io::Result::Ok(())
/// })?;
/// # std::io::Result::Ok(())
/// ```
pub async fn create_server_local<P, A>(
    factory: impl Fn() -> P + 'static,
    addr: A,
) -> io::Result<Server>
where
    P: StreamProtocol,
    A: ToSocketAddrs,
{
    let hand = Arc::new(Mutex::new(Hand::default()));
    let server = ServerOptions::new()
        .start_server(local_handler(Feeder(hand.clone())), addr)
        .await?;
    tulip_executor::spawn_local(local_acceptor(hand, factory)).detach();
    Ok(server)
}

/// What the server's workers hand to the local task.
#[derive(Default)]
struct Hand {
    items: VecDeque<(StreamReader, StreamWriter, Done)>,
    waker: Option<Waker>,
    /// The handler (the server side) is gone.
    closed: bool,
    /// The local task is gone.
    gone: bool,
}

/// The server side of a [`Hand`]: dropping it (with the server's handler) ends the local task.
struct Feeder(Arc<Mutex<Hand>>);

impl Drop for Feeder {
    fn drop(&mut self) {
        let w = {
            let mut h = lock(&self.0);
            h.closed = true;
            h.waker.take()
        };
        if let Some(w) = w {
            w.wake();
        }
    }
}

#[derive(Default)]
struct DoneState {
    done: bool,
    waker: Option<Waker>,
}

/// Says "this connection's protocol is over" when dropped (after the driver, or unserved).
struct Done(Arc<Mutex<DoneState>>);

impl Drop for Done {
    fn drop(&mut self) {
        let w = {
            let mut d = lock(&self.0);
            d.done = true;
            d.waker.take()
        };
        if let Some(w) = w {
            w.wake();
        }
    }
}

/// Ends the hand-over when the local task goes: later connections are closed at once.
struct Gone(Arc<Mutex<Hand>>);

impl Drop for Gone {
    fn drop(&mut self) {
        let items = {
            let mut h = lock(&self.0);
            h.gone = true;
            std::mem::take(&mut h.items)
        };
        drop(items);
    }
}

fn local_handler(
    feeder: Feeder,
) -> impl Fn(StreamReader, StreamWriter) -> std::pin::Pin<Box<dyn Future<Output = ()> + Send>>
       + Send
       + Sync
       + 'static {
    move |reader: StreamReader, writer: StreamWriter| {
        let state = Arc::new(Mutex::new(DoneState::default()));
        let w = {
            let mut h = lock(&feeder.0);
            if h.gone {
                return Box::pin(async {});
            }
            h.items.push_back((reader, writer, Done(state.clone())));
            h.waker.take()
        };
        if let Some(w) = w {
            w.wake();
        }
        Box::pin(poll_fn(move |cx| {
            let mut d = lock(&state);
            if d.done {
                return Poll::Ready(());
            }
            d.waker = Some(cx.waker().clone());
            Poll::Pending
        }))
    }
}

/// The local task of [`create_server_local`]: makes and drives each connection's protocol.
async fn local_acceptor<P: StreamProtocol>(hand: Arc<Mutex<Hand>>, factory: impl Fn() -> P) {
    let _gone = Gone(hand.clone());
    loop {
        let next = poll_fn(|cx| {
            let mut h = lock(&hand);
            if let Some(item) = h.items.pop_front() {
                return Poll::Ready(Some(item));
            }
            if h.closed {
                return Poll::Ready(None);
            }
            h.waker = Some(cx.waker().clone());
            Poll::Pending
        })
        .await;
        let Some((reader, writer, done)) = next else {
            return;
        };
        let mut proto = factory();
        let Ok((raw, early)) = reader.into_raw() else {
            continue;
        };
        let (core, _t, m) = setup(&mut proto, raw, writer, true, true);
        tulip_executor::spawn_local(async move {
            drive(proto, core, early, m).await;
            drop(done);
        })
        .detach();
    }
}

/// The streams server's connection handler that runs a protocol.
fn handler<P: StreamProtocol + Send>(
    factory: impl Fn() -> P + Send + Sync + 'static,
) -> impl Fn(StreamReader, StreamWriter) -> std::pin::Pin<Box<dyn Future<Output = ()> + Send>>
       + Send
       + Sync
       + 'static {
    move |reader: StreamReader, writer: StreamWriter| {
        let mut proto = factory();
        let Ok((raw, early)) = reader.into_raw() else {
            return Box::pin(async {});
        };
        let (core, _t, m) = setup(&mut proto, raw, writer, true, true);
        Box::pin(drive(proto, core, early, m))
    }
}

/// Reads the pipe `fd` (its read end, or a FIFO) with a protocol (asyncio's
/// `connect_read_pipe`): `data_received` for what arrives, `eof_received` and
/// `connection_lost` at its end. The transport's writes are dropped.
///
/// Unix only (a pipe given by its file descriptor); on Windows a child's pipes are reached
/// through [`subprocess_exec`](crate::subprocess_exec).
///
/// # Errors
///
/// The reactor's registration error.
///
/// # Cancel safety
///
/// Cancel safe (it does not wait).
#[cfg(unix)]
pub async fn connect_read_pipe<P>(factory: impl FnOnce() -> P, fd: OwnedFd) -> io::Result<Transport>
where
    P: StreamProtocol + Send,
{
    let (raw, writer) = raw_pair(tulip_process::PipeReader::new(fd)?);
    Ok(start_send(factory(), raw, writer, Vec::new(), true, false))
}

/// Writes to the pipe `fd` (its write end, or a FIFO) through a protocol's transport
/// (asyncio's `connect_write_pipe`): nothing is read; `connection_lost` comes after `close`,
/// or with `BrokenPipe` once a write finds the reader gone.
///
/// Unix only, as [`connect_read_pipe`].
///
/// # Errors
///
/// The reactor's registration error.
///
/// # Cancel safety
///
/// Cancel safe (it does not wait).
#[cfg(unix)]
pub async fn connect_write_pipe<P>(
    factory: impl FnOnce() -> P,
    fd: OwnedFd,
) -> io::Result<Transport>
where
    P: StreamProtocol + Send,
{
    let (raw, writer) = raw_pair(tulip_process::PipeWriter::new(fd)?);
    Ok(start_send(factory(), raw, writer, Vec::new(), false, true))
}
