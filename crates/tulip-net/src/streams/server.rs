//! [`Server`]: asyncio's `Server` object, as `start_server` returns it.

use std::fmt;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, Weak};
use std::task::{Context, Poll};
use std::time::Duration;

use tulip_executor::{call_exception_handler, ExceptionContext, Spawner, Task};

use super::conn::{Conn, WaitList, WeakConn};
use super::raw::RawStream;
use super::reader::StreamReader;
use super::writer::StreamWriter;
use crate::addr::SockAddr;
#[cfg(unix)]
use crate::UnixListener;
use crate::{sys, TcpListener};

/// How long accepting pauses after the process ran out of file descriptors or memory
/// (asyncio's `ACCEPT_RETRY_DELAY`).
pub(crate) const ACCEPT_RETRY_DELAY: Duration = Duration::from_secs(1);

use tulip_util::lock;

/// What a connection handler may return: `()`, or a `Result` whose error is reported to the
/// loop's exception handler (asyncio reports an exception escaping `client_connected_cb`
/// the same way). Either way the connection is closed when the handler ends.
pub trait HandlerOutput: Send + 'static {
    /// Reports an error, if this is one.
    #[doc(hidden)]
    fn report(self, peer: &SockAddr);
}

impl HandlerOutput for () {
    fn report(self, _peer: &SockAddr) {}
}

impl<E> HandlerOutput for Result<(), E>
where
    E: Into<Box<dyn std::error::Error + Send + Sync>> + Send + 'static,
{
    fn report(self, peer: &SockAddr) {
        if let Err(e) = self {
            let e: Box<dyn std::error::Error + Send + Sync> = e.into();
            let note = format!("the connection handler for {peer} failed");
            let err: &(dyn std::error::Error + 'static) = &*e;
            call_exception_handler(&ExceptionContext::error(&note, Some(err)));
        }
    }
}

/// An accepted connection: its stream and the peer's address.
type Accepted = (Box<dyn RawStream>, SockAddr);

/// A listening socket of a server.
enum Listener {
    Tcp(TcpListener),
    #[cfg(unix)]
    Unix(UnixListener),
}

impl Listener {
    fn poll_accept(
        &self,
        cx: &mut Context<'_>,
    ) -> Poll<io::Result<(Box<dyn RawStream>, SockAddr)>> {
        match self {
            Listener::Tcp(l) => l
                .poll_accept(cx)
                .map_ok(|(s, a)| (Box::new(s) as Box<dyn RawStream>, SockAddr::Inet(a))),
            #[cfg(unix)]
            Listener::Unix(l) => l
                .poll_accept(cx)
                .map_ok(|(s, a)| (Box::new(s) as Box<dyn RawStream>, SockAddr::Unix(a))),
        }
    }
}

struct State {
    serving: bool,
    closed: bool,
    accept_task: Option<Task<()>>,
    /// Live connections, by slot (a slab with a free list).
    conns: Vec<Option<WeakConn>>,
    free: Vec<usize>,
    active: usize,
    /// `wait_closed` and `serve_forever` waiters.
    waiters: WaitList,
}

pub(crate) struct Inner {
    /// TLS for every connection (handshake first, then the handler).
    #[cfg(feature = "tls")]
    tls: Option<crate::tls::TlsOptions>,
    /// Connections whose TLS handshake failed.
    #[cfg(feature = "tls")]
    tls_failures: std::sync::atomic::AtomicUsize,
    listeners: Mutex<Vec<Listener>>,
    local_addrs: Vec<SockAddr>,
    handler: Box<dyn Handler>,
    limit: usize,
    spawner: Spawner,
    state: Mutex<State>,
}

/// A connection's tie to its server: dropping the connection detaches it.
pub(crate) struct ServerLink {
    server: Weak<Inner>,
    key: usize,
}

impl ServerLink {
    pub(crate) fn detach(self) {
        let Some(inner) = self.server.upgrade() else {
            return;
        };
        let mut wakers = Vec::new();
        let mut st = lock(&inner.state);
        if let Some(slot) = st.conns.get_mut(self.key) {
            if slot.take().is_some() {
                st.free.push(self.key);
                st.active -= 1;
            }
        }
        if st.closed && st.active == 0 {
            st.waiters.take_all(&mut wakers);
        }
        drop(st);
        for w in wakers {
            w.wake();
        }
    }
}

/// What [`Server::serve_until`] found when it stopped: how many connections were in flight
/// and how many of them had to be aborted at the deadline.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct DrainReport {
    /// Connections open when the server stopped accepting.
    pub in_flight: usize,
    /// Connections still open at the drain deadline, aborted then.
    pub aborted: usize,
}

impl DrainReport {
    /// Whether every connection finished before the deadline.
    pub fn is_clean(&self) -> bool {
        self.aborted == 0
    }
}

/// A running server (asyncio's `Server`): listening sockets, an accept loop, and a task per
/// connection running the handler.
///
/// Dropping the `Server` closes it (stops listening); connections already accepted run on.
/// asyncio keeps a server alive while its loop runs, so hold on to it — `serve_forever`, or a
/// variable that lives as long as the service.
///
/// # Examples
///
/// ```
/// use tulip_net::streams::{open_connection, start_server, StreamReader, StreamWriter};
///
/// tulip_runtime::run(async {
///     let server = start_server(
///         |_r: StreamReader, w: StreamWriter| async move { w.write(b"hello\n") },
///         "127.0.0.1:0",
///     )
///     .await?;
///     assert!(server.is_serving());
///     let addr = server.local_addrs()[0].as_inet().unwrap();
///     let (mut r, _w) = open_connection(addr).await?;
///     assert_eq!(r.readline().await.unwrap(), b"hello\n");
///     server.close();
///     server.wait_closed().await; // every connection's handler has finished
///     assert!(!server.is_serving());
///     std::io::Result::Ok(())
/// })?;
/// # std::io::Result::Ok(())
/// ```
#[must_use = "dropping a Server stops it listening"]
pub struct Server {
    inner: Arc<Inner>,
}

impl fmt::Debug for Server {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let st = lock(&self.inner.state);
        f.debug_struct("Server")
            .field("addrs", &self.inner.local_addrs)
            .field("serving", &(st.serving && !st.closed))
            .field("connections", &st.active)
            .finish()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.inner.close();
    }
}

impl Server {
    pub(crate) fn tcp(
        listeners: Vec<TcpListener>,
        handler: impl Handler,
        limit: usize,
    ) -> io::Result<Server> {
        let addrs = listeners
            .iter()
            .map(|l| l.local_addr().map(SockAddr::Inet))
            .collect::<io::Result<Vec<_>>>()?;
        Server::new(
            listeners.into_iter().map(Listener::Tcp).collect(),
            addrs,
            Box::new(handler),
            limit,
        )
    }

    #[cfg(unix)]
    pub(crate) fn unix(
        listener: UnixListener,
        handler: impl Handler,
        limit: usize,
    ) -> io::Result<Server> {
        let addr = SockAddr::Unix(listener.local_addr()?);
        Server::new(
            vec![Listener::Unix(listener)],
            vec![addr],
            Box::new(handler),
            limit,
        )
    }

    fn new(
        listeners: Vec<Listener>,
        local_addrs: Vec<SockAddr>,
        handler: Box<dyn Handler>,
        limit: usize,
    ) -> io::Result<Server> {
        let spawner = Spawner::current().ok_or_else(|| {
            io::Error::other("no tulip event loop: start servers inside a running loop")
        })?;
        Ok(Server {
            inner: Arc::new(Inner {
                #[cfg(feature = "tls")]
                tls: None,
                #[cfg(feature = "tls")]
                tls_failures: std::sync::atomic::AtomicUsize::new(0),
                listeners: Mutex::new(listeners),
                local_addrs,
                handler,
                limit,
                spawner,
                state: Mutex::new(State {
                    serving: false,
                    closed: false,
                    accept_task: None,
                    conns: Vec::new(),
                    free: Vec::new(),
                    active: 0,
                    waiters: WaitList::default(),
                }),
            }),
        })
    }

    /// Makes every connection TLS (before it starts serving).
    #[cfg(feature = "tls")]
    pub(crate) fn with_tls(mut self, tls: crate::tls::TlsOptions) -> Server {
        if let Some(inner) = Arc::get_mut(&mut self.inner) {
            inner.tls = Some(tls);
        }
        self
    }

    /// How many connections were closed because their TLS handshake failed (a bad or
    /// missing certificate, a peer that does not speak TLS, a timeout). asyncio logs these
    /// only in debug mode; so does tulip, through the loop's exception handler.
    #[cfg(feature = "tls")]
    pub fn tls_handshake_failures(&self) -> usize {
        self.inner
            .tls_failures
            .load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Starts accepting connections, if it has not yet (`start_server` does this unless told
    /// not to).
    ///
    /// # Errors
    ///
    /// `InvalidInput` when the server is closed.
    pub fn start_serving(&self) -> io::Result<()> {
        let mut st = lock(&self.inner.state);
        if st.closed {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "the server is closed",
            ));
        }
        if !st.serving {
            st.serving = true;
            let inner = self.inner.clone();
            st.accept_task = Some(self.inner.spawner.spawn(accept_loop(inner)));
        }
        Ok(())
    }

    /// Serves until the server is closed ([`close`](Self::close) from elsewhere). Dropping
    /// the future closes the server, as cancelling asyncio's `serve_forever` does.
    ///
    /// # Errors
    ///
    /// `InvalidInput` when the server is already closed.
    ///
    /// # Cancel safety
    ///
    /// Dropping it closes the server (connections run on; see
    /// [`wait_closed`](Self::wait_closed)).
    pub async fn serve_forever(&self) -> io::Result<()> {
        self.start_serving()?;
        struct CloseOnDrop<'a>(&'a Inner, bool);
        impl Drop for CloseOnDrop<'_> {
            fn drop(&mut self) {
                if !self.1 {
                    self.0.close();
                }
            }
        }
        let mut guard = CloseOnDrop(&self.inner, false);
        let mut id = None;
        std::future::poll_fn(|cx| {
            let mut st = lock(&self.inner.state);
            if st.closed {
                st.waiters.remove(&mut id);
                Poll::Ready(())
            } else {
                st.waiters.register(&mut id, cx.waker());
                Poll::Pending
            }
        })
        .await;
        guard.1 = true;
        Ok(())
    }

    /// Serves until `stop` completes, then shuts down gracefully and returns: stops accepting
    /// (new connections are refused at once), lets the connections in flight finish until
    /// `drain_timeout` has passed, then [aborts](Self::abort_clients) those still open. What
    /// asyncio, tokio and smol leave to each service, in one call; with
    /// `tulip::signal::shutdown([SIGINT, SIGTERM])?` as `stop`, a service stops cleanly on
    /// Ctrl-C or on its service manager's SIGTERM.
    ///
    /// `stop` is dropped as soon as it completes: a `tulip::signal::shutdown` future then
    /// gives its signals their previous meaning back, so a second SIGTERM during the drain
    /// ends the process the default way, and a second Ctrl-C interrupts `tulip::run`. A
    /// connection counts as finished when its handler has ended and its reader and writer
    /// are gone (what [`wait_closed`](Self::wait_closed) waits for); an idle connection a
    /// handler keeps open waits for the deadline. A [`close`](Self::close) from elsewhere
    /// also starts the drain.
    ///
    /// # Errors
    ///
    /// `InvalidInput` when the server is already closed.
    ///
    /// # Cancel safety
    ///
    /// Dropping it before `stop` completes closes the server, as dropping
    /// [`serve_forever`](Self::serve_forever) does; dropping it during the drain leaves the
    /// connections running (nothing is aborted).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use tulip_net::streams::{open_connection, start_server, StreamReader, StreamWriter};
    ///
    /// tulip_runtime::run(async {
    ///     // Greets, then echoes one line and hangs up.
    ///     let server = start_server(
    ///         |mut r: StreamReader, w: StreamWriter| async move {
    ///             w.write(b"hello\n");
    ///             if let Ok(line) = r.readline().await {
    ///                 w.write(&line);
    ///             }
    ///         },
    ///         "127.0.0.1:0",
    ///     )
    ///     .await?;
    ///     let addr = server.local_addrs()[0].as_inet().unwrap();
    ///     let (mut r, w) = open_connection(addr).await?;
    ///     assert_eq!(r.readline().await.unwrap(), b"hello\n"); // in flight now
    ///     let client = tulip_executor::spawn(async move {
    ///         w.write(b"bye\n");
    ///         r.readline().await
    ///     });
    ///     // Stop at once: the request in flight still completes.
    ///     let report = server.serve_until(async {}, Duration::from_secs(10)).await?;
    ///     assert_eq!(report.aborted, 0);
    ///     assert_eq!(client.await.unwrap().unwrap(), b"bye\n");
    ///     assert!(open_connection(addr).await.is_err()); // refused
    ///     std::io::Result::Ok(())
    /// })?;
    /// # std::io::Result::Ok(())
    /// ```
    pub async fn serve_until<F: Future>(
        &self,
        stop: F,
        drain_timeout: Duration,
    ) -> io::Result<DrainReport> {
        self.start_serving()?;
        struct CloseOnDrop<'a>(&'a Inner);
        impl Drop for CloseOnDrop<'_> {
            fn drop(&mut self) {
                self.0.close();
            }
        }
        {
            let _close = CloseOnDrop(&self.inner);
            let mut stop = std::pin::pin!(stop);
            let mut id = None;
            std::future::poll_fn(|cx| {
                let stopped = stop.as_mut().poll(cx).is_ready();
                let mut st = lock(&self.inner.state);
                if stopped || st.closed {
                    st.waiters.remove(&mut id);
                    Poll::Ready(())
                } else {
                    st.waiters.register(&mut id, cx.waker());
                    Poll::Pending
                }
            })
            .await;
            // `stop` and the guard go here: the signals are given back, the listeners close.
        }
        let in_flight = self.active_connections();
        let mut closed = std::pin::pin!(self.wait_closed());
        let mut deadline = std::pin::pin!(tulip_reactor::sleep(drain_timeout));
        let drained = std::future::poll_fn(|cx| {
            if closed.as_mut().poll(cx).is_ready() {
                Poll::Ready(true)
            } else if deadline.as_mut().poll(cx).is_ready() {
                Poll::Ready(false)
            } else {
                Poll::Pending
            }
        })
        .await;
        let aborted = if drained {
            0
        } else {
            let left = self.active_connections();
            self.abort_clients();
            left
        };
        Ok(DrainReport { in_flight, aborted })
    }

    /// Stops listening: the sockets close now (a Unix socket file is removed). Connections
    /// already accepted run on; see [`close_clients`](Self::close_clients).
    pub fn close(&self) {
        self.inner.close();
    }

    /// Waits until the server is closed and every connection is over — its handler ended
    /// and its socket released (asyncio 3.12.1's `wait_closed`). A server that is not closed
    /// yet is waited for too.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe.
    pub async fn wait_closed(&self) {
        let mut id = None;
        std::future::poll_fn(|cx| {
            let mut st = lock(&self.inner.state);
            if st.closed && st.active == 0 {
                st.waiters.remove(&mut id);
                Poll::Ready(())
            } else {
                st.waiters.register(&mut id, cx.waker());
                Poll::Pending
            }
        })
        .await;
    }

    /// Closes every connection (flushing what each has buffered), asyncio 3.13's
    /// `close_clients`. Call [`close`](Self::close) first so no new one arrives meanwhile.
    pub fn close_clients(&self) {
        for c in self.inner.live() {
            c.close();
        }
    }

    /// Aborts every connection at once, discarding what is buffered (asyncio 3.13's
    /// `abort_clients`).
    pub fn abort_clients(&self) {
        for c in self.inner.live() {
            c.abort();
        }
    }

    /// Whether the server accepts connections.
    pub fn is_serving(&self) -> bool {
        let st = lock(&self.inner.state);
        st.serving && !st.closed
    }

    /// The addresses the server listens on (asyncio's `[s.getsockname() for s in
    /// server.sockets]`).
    pub fn local_addrs(&self) -> Vec<SockAddr> {
        self.inner.local_addrs.clone()
    }

    /// How many connections are open.
    pub fn active_connections(&self) -> usize {
        lock(&self.inner.state).active
    }
}

impl Inner {
    fn close(&self) {
        let mut wakers = Vec::new();
        let (task, listeners) = {
            let mut st = lock(&self.state);
            if st.closed {
                return;
            }
            st.closed = true;
            st.waiters.take_all(&mut wakers);
            (
                st.accept_task.take(),
                std::mem::take(&mut *lock(&self.listeners)),
            )
        };
        // Closing the sockets now refuses new connections at once.
        drop(listeners);
        if let Some(t) = task {
            t.cancel();
        }
        for w in wakers {
            w.wake();
        }
    }

    fn live(&self) -> Vec<Arc<Conn>> {
        lock(&self.state)
            .conns
            .iter()
            .filter_map(|c| c.as_ref().and_then(Weak::upgrade))
            .collect()
    }

    /// Polls every listener (from a rotating start, so none is starved); `None` once closed.
    fn poll_accept(
        &self,
        cx: &mut Context<'_>,
        start: &mut usize,
    ) -> Poll<Option<io::Result<Accepted>>> {
        let listeners = lock(&self.listeners);
        if listeners.is_empty() {
            return Poll::Ready(None);
        }
        let n = listeners.len();
        for k in 0..n {
            let i = (*start + k) % n;
            if let Poll::Ready(r) = listeners[i].poll_accept(cx) {
                *start = (i + 1) % n;
                return Poll::Ready(Some(r));
            }
        }
        Poll::Pending
    }

    /// Registers a new connection and starts its handler.
    fn start(self: &Arc<Self>, raw: Box<dyn RawStream>, peer: SockAddr) {
        let conn = Conn::new(raw, Some(peer.clone()));
        {
            let mut st = lock(&self.state);
            let key = match st.free.pop() {
                Some(k) => k,
                None => {
                    st.conns.push(None);
                    st.conns.len() - 1
                }
            };
            st.conns[key] = Some(Arc::downgrade(&conn));
            st.active += 1;
            conn.set_link(ServerLink {
                server: Arc::downgrade(self),
                key,
            });
        }
        let reader = StreamReader::build(Some(conn.clone()), self.limit);
        let writer = StreamWriter::new(conn);
        #[cfg(feature = "tls")]
        if let Some(tls) = &self.tls {
            // The handshake runs in a task of its own, so the accept loop goes on; the
            // handler starts once it succeeds.
            let (inner, tls) = (self.clone(), tls.clone());
            let fut = async move {
                let mut reader = reader;
                match writer.start_tls_with(&mut reader, &tls).await {
                    Ok(()) => inner.handler.start(&inner.spawner, reader, writer, peer),
                    Err(e) => inner.handshake_failed(&peer, &e),
                }
            };
            self.spawner.spawn(fut).detach();
            return;
        }
        self.handler.start(&self.spawner, reader, writer, peer);
    }

    /// A TLS handshake failed: the connection is closed already; count it, and report it in
    /// debug mode.
    #[cfg(feature = "tls")]
    fn handshake_failed(&self, peer: &SockAddr, e: &io::Error) {
        self.tls_failures
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        if tulip_runtime::EventLoop::try_current().is_some_and(|h| h.debug()) {
            let note = format!("the TLS handshake with {peer} failed");
            call_exception_handler(&ExceptionContext::error(&note, Some(e)));
        }
    }
}

/// The accept loop: one task per server.
async fn accept_loop(inner: Arc<Inner>) {
    let mut start = 0;
    let mut reported = false;
    loop {
        let res = std::future::poll_fn(|cx| inner.poll_accept(cx, &mut start)).await;
        match res {
            None => return,
            Some(Ok((raw, peer))) => {
                #[cfg(feature = "tracing")]
                if reported {
                    tracing::info!(target: "tulip::net::accept", "accepting connections again");
                }
                reported = false;
                inner.start(raw, peer);
            }
            Some(Err(e)) => {
                // Out of descriptors or memory: the listener stays readable, so retrying at
                // once would spin. Pause, say so once per episode, and try again.
                if !reported {
                    let note = if sys::is_resource_exhaustion(&e) {
                        format!(
                            "accepting a connection failed; pausing accepts for {} s",
                            ACCEPT_RETRY_DELAY.as_secs()
                        )
                    } else {
                        "accepting a connection failed; retrying".to_string()
                    };
                    call_exception_handler(&ExceptionContext::error(&note, Some(&e)));
                    reported = true;
                }
                let delay = if sys::is_resource_exhaustion(&e) {
                    ACCEPT_RETRY_DELAY
                } else {
                    Duration::from_millis(100)
                };
                #[cfg(feature = "tracing")]
                tracing::warn!(
                    target: "tulip::net::accept",
                    error = %e,
                    pause_ms = delay.as_millis() as u64,
                    "accept failed; pausing accepts",
                );
                tulip_reactor::sleep(delay).await;
            }
        }
    }
}

/// A connection handler: `Fn(StreamReader, StreamWriter) -> impl Future`, whose output is
/// `()` or a `Result<(), E>` (an `Err` is reported to the loop's exception handler). Each
/// connection's handler runs as its own task; a panic in it is reported and closes that
/// connection, and the server goes on.
pub trait Handler: Send + Sync + 'static {
    /// Starts the handler's task for one connection.
    #[doc(hidden)]
    fn start(&self, spawner: &Spawner, reader: StreamReader, writer: StreamWriter, peer: SockAddr);
}

impl<H, Fut> Handler for H
where
    H: Fn(StreamReader, StreamWriter) -> Fut + Send + Sync + 'static,
    Fut: Future + Send + 'static,
    Fut::Output: HandlerOutput,
{
    fn start(&self, spawner: &Spawner, reader: StreamReader, writer: StreamWriter, peer: SockAddr) {
        // The connection stays attached to the server until the handler's outcome is
        // reported, so `Server::wait_closed` never returns before a failing handler's report.
        let attached = writer.conn().clone();
        let fut = self(reader, writer);
        spawner
            .spawn(async move {
                fut.await.report(&peer);
                drop(attached);
            })
            .detach();
    }
}

/// Binds every address of a server: with more than one, IPv6 sockets are IPv6-only (so the
/// IPv4 wildcard can share the port), an IPv6 address the host cannot bind is skipped when
/// another bound, and port 0 is chosen once and reused for the rest.
pub(crate) fn bind_all(
    addrs: &[SocketAddr],
    options: &crate::ListenOptions,
) -> io::Result<Vec<TcpListener>> {
    let mut out: Vec<TcpListener> = Vec::new();
    let mut port = None;
    let mut skipped = None;
    let mut seen = Vec::new();
    for a in addrs {
        if seen.contains(a) {
            continue;
        }
        seen.push(*a);
        let mut opts = options.clone();
        if addrs.len() > 1 && a.is_ipv6() && opts.cfg.v6_only.is_none() {
            opts = opts.ipv6_only(true);
        }
        let mut a = *a;
        if a.port() == 0 {
            if let Some(p) = port {
                a.set_port(p);
            }
        }
        match TcpListener::bind_one(&a, &opts) {
            Ok(l) => {
                if port.is_none() {
                    port = Some(l.local_addr()?.port());
                }
                out.push(l);
            }
            Err(e) if a.is_ipv6() && addrs.len() > 1 && sys::is_unavailable_address(&e) => {
                skipped = Some(e);
            }
            Err(e) => return Err(e),
        }
    }
    if out.is_empty() {
        return Err(skipped.unwrap_or_else(|| io::Error::other("no address to bind")));
    }
    Ok(out)
}
