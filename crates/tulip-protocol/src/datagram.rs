//! [`DatagramTransport`] and [`create_datagram_endpoint`]: UDP with a [`DatagramProtocol`].

use std::collections::VecDeque;
use std::fmt;
use std::future::{poll_fn, Future};
use std::io;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};

use tulip_net::{Family, ToSocketAddrs, UdpSocket};
use tulip_util::lock;

use crate::contain::call;
use crate::traits::DatagramProtocol;

/// The largest UDP payload, the size of the receive buffer.
const RECV_BUF: usize = 64 * 1024;
const BUDGET: usize = 64;
const DEFAULT_HIGH: usize = 64 * 1024;

/// A datagram transport (asyncio's `DatagramTransport`): the handle a
/// [`DatagramProtocol`] gets in `connection_made`. `Clone`, `Send` and `Sync`.
///
/// [`sendto`](Self::sendto) never waits: a datagram the socket does not take at once is
/// queued and sent by the endpoint's task, with asyncio's flow control over the queue
/// (`pause_writing` above the high-water mark, `resume_writing` at the low one).
///
/// # Examples
///
/// ```
/// use std::net::SocketAddr;
/// use std::sync::{Arc, Mutex};
/// use tulip_protocol::{DatagramProtocol, DatagramTransport};
///
/// struct Echo(Option<DatagramTransport>);
/// impl DatagramProtocol for Echo {
///     fn connection_made(&mut self, t: DatagramTransport) {
///         self.0 = Some(t);
///     }
///     fn datagram_received(&mut self, data: &[u8], addr: SocketAddr) {
///         self.0.as_ref().unwrap().sendto(data, Some(addr)).unwrap();
///     }
/// }
///
/// struct Client(Arc<Mutex<Vec<u8>>>);
/// impl DatagramProtocol for Client {
///     fn connection_made(&mut self, t: DatagramTransport) {
///         t.sendto(b"ping", None).unwrap();
///     }
///     fn datagram_received(&mut self, data: &[u8], _: SocketAddr) {
///         self.0.lock().unwrap().extend_from_slice(data);
///     }
/// }
///
/// tulip_runtime::run(async {
///     let server = tulip_protocol::create_datagram_endpoint(
///         || Echo(None),
///         Some("127.0.0.1:0"),
///         None::<&str>,
///     )
///     .await?;
///     let addr = server.sockname();
///     let got = Arc::new(Mutex::new(Vec::new()));
///     let g = got.clone();
///     let client = tulip_protocol::create_datagram_endpoint(
///         move || Client(g),
///         None::<&str>,
///         Some(addr),
///     )
///     .await?;
///     while got.lock().unwrap().is_empty() {
///         tulip_executor::yield_now().await;
///     }
///     assert_eq!(&*got.lock().unwrap(), b"ping");
///     client.close();
///     server.close();
///     server.wait_closed().await;
///     std::io::Result::Ok(())
/// })?;
/// # std::io::Result::Ok(())
/// ```
#[derive(Clone)]
pub struct DatagramTransport {
    shared: Arc<Shared>,
}

struct Shared {
    sock: UdpSocket,
    local: SocketAddr,
    peer: Option<SocketAddr>,
    ctl: Mutex<Ctl>,
}

struct Ctl {
    queue: VecDeque<(Vec<u8>, SocketAddr)>,
    queued: usize,
    high: usize,
    low: usize,
    errors: VecDeque<io::Error>,
    closing: bool,
    aborted: bool,
    finished: bool,
    lost_writes: usize,
    waker: Option<Waker>,
    finish_waiters: Vec<Waker>,
}

impl fmt::Debug for DatagramTransport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DatagramTransport")
            .field("local", &self.shared.local)
            .field("peer", &self.shared.peer)
            .field("closing", &self.is_closing())
            .finish()
    }
}

impl DatagramTransport {
    fn nudge(&self, c: std::sync::MutexGuard<'_, Ctl>) {
        let w = c.waker.clone();
        drop(c);
        if let Some(w) = w {
            w.wake();
        }
    }

    /// Sends one datagram to `addr`, or to the connected peer with `None` (asyncio's
    /// `sendto(data, addr=None)`). Never waits: what the socket does not take now is
    /// queued. A send error goes to the protocol's `error_received`.
    ///
    /// # Errors
    ///
    /// `InvalidInput` when `addr` is `None` on an unconnected endpoint, or differs from the
    /// connected peer (asyncio's `ValueError`s).
    pub fn sendto(&self, data: &[u8], addr: Option<SocketAddr>) -> io::Result<()> {
        let sh = &self.shared;
        let target = match (addr, sh.peer) {
            (Some(a), Some(p)) if a != p => {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidInput,
                    format!("invalid address: must be None or {p}"),
                ))
            }
            (Some(a), _) => a,
            (None, Some(p)) => p,
            (None, None) => {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidInput,
                    "no address: the endpoint is not connected",
                ))
            }
        };
        let mut c = lock(&sh.ctl);
        if c.closing {
            c.lost_writes += 1;
            return Ok(());
        }
        if c.queue.is_empty() {
            match sh.sock.try_send_to(data, target) {
                Ok(_) => return Ok(()),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                Err(e) => {
                    c.errors.push_back(e);
                    self.nudge(c);
                    return Ok(());
                }
            }
        }
        c.queue.push_back((data.to_vec(), target));
        c.queued += data.len();
        self.nudge(c);
        Ok(())
    }

    /// Closes the endpoint once the queue is sent (asyncio's `close`); then
    /// `connection_lost(None)`.
    pub fn close(&self) {
        let mut c = lock(&self.shared.ctl);
        c.closing = true;
        self.nudge(c);
    }

    /// Closes the endpoint at once, dropping the queue (asyncio's `abort`).
    pub fn abort(&self) {
        let mut c = lock(&self.shared.ctl);
        c.closing = true;
        c.aborted = true;
        c.queue.clear();
        c.queued = 0;
        self.nudge(c);
    }

    /// Whether the endpoint is closing or closed.
    pub fn is_closing(&self) -> bool {
        lock(&self.shared.ctl).closing
    }

    /// The bytes queued and not yet sent (asyncio's `get_write_buffer_size`).
    pub fn get_write_buffer_size(&self) -> usize {
        lock(&self.shared.ctl).queued
    }

    /// The flow-control marks, `(low, high)` as asyncio returns them.
    pub fn get_write_buffer_limits(&self) -> (usize, usize) {
        let c = lock(&self.shared.ctl);
        (c.low, c.high)
    }

    /// Sets the flow-control marks (as [`Transport::set_write_buffer_limits`](crate::Transport::set_write_buffer_limits)).
    ///
    /// # Errors
    ///
    /// `InvalidInput` if `low > high`.
    pub fn set_write_buffer_limits(
        &self,
        high: Option<usize>,
        low: Option<usize>,
    ) -> io::Result<()> {
        let (high, low) = match (high, low) {
            (None, None) => (DEFAULT_HIGH, DEFAULT_HIGH / 4),
            (Some(h), None) => (h, h / 4),
            (None, Some(l)) => (l.saturating_mul(4), l),
            (Some(h), Some(l)) => (h, l),
        };
        if low > high {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("high ({high}) must be >= low ({low})"),
            ));
        }
        let mut c = lock(&self.shared.ctl);
        c.high = high;
        c.low = low;
        self.nudge(c);
        Ok(())
    }

    /// The local address (asyncio's `get_extra_info("sockname")`).
    pub fn sockname(&self) -> SocketAddr {
        self.shared.local
    }

    /// The connected peer (asyncio's `get_extra_info("peername")`), if any.
    pub fn peername(&self) -> Option<SocketAddr> {
        self.shared.peer
    }

    /// The socket (asyncio's `get_extra_info("socket")`), to set options on.
    pub fn socket(&self) -> &UdpSocket {
        &self.shared.sock
    }

    /// Datagrams dropped because the endpoint was closing.
    pub fn lost_writes(&self) -> usize {
        lock(&self.shared.ctl).lost_writes
    }

    /// Waits until the protocol's `connection_lost` has returned.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe.
    pub async fn wait_closed(&self) {
        poll_fn(|cx| {
            let mut c = lock(&self.shared.ctl);
            if c.finished {
                return Poll::Ready(());
            }
            if !c.finish_waiters.iter().any(|w| w.will_wake(cx.waker())) {
                c.finish_waiters.push(cx.waker().clone());
            }
            Poll::Pending
        })
        .await;
    }

    fn finish(&self) {
        let waiters = {
            let mut c = lock(&self.shared.ctl);
            c.finished = true;
            c.closing = true;
            c.waker = None;
            c.queue.clear();
            c.queued = 0;
            std::mem::take(&mut c.finish_waiters)
        };
        for w in waiters {
            w.wake();
        }
    }
}

/// The options of [`create_datagram_endpoint_with`]: asyncio's `create_datagram_endpoint`
/// keyword arguments besides the addresses (`family`, `reuse_port`, `allow_broadcast`).
/// A builder; [`DatagramOptions::new`] (or `default()`) is the plain endpoint.
///
/// # Examples
///
/// ```
/// use tulip_protocol::{DatagramOptions, DatagramProtocol, Family};
///
/// struct Quiet;
/// impl DatagramProtocol for Quiet {}
///
/// tulip_runtime::run(async {
///     let opts = DatagramOptions::new().family(Family::Inet).allow_broadcast(true);
///     let t = tulip_protocol::create_datagram_endpoint_with(
///         || Quiet,
///         Some("127.0.0.1:0"),
///         None::<&str>,
///         &opts,
///     )
///     .await?;
///     assert!(t.sockname().is_ipv4());
///     assert!(t.socket().broadcast()?);
///     t.close();
///     std::io::Result::Ok(())
/// })?;
/// # std::io::Result::Ok(())
/// ```
#[derive(Debug, Clone, Default)]
pub struct DatagramOptions {
    family: Family,
    reuse_port: bool,
    allow_broadcast: bool,
}

impl DatagramOptions {
    /// No options: any family, no `SO_REUSEPORT`, no `SO_BROADCAST` (asyncio's defaults).
    pub fn new() -> DatagramOptions {
        DatagramOptions::default()
    }

    /// The address family (asyncio's `family=`): [`Family::Inet`] or [`Family::Inet6`]
    /// binds only an address of that family (a local address of the other family is an
    /// `InvalidInput` error; with no local address the family's wildcard is bound), and a
    /// remote address is only connected to in that family. [`Family::Any`], the default,
    /// takes the first address that works.
    pub fn family(mut self, family: Family) -> DatagramOptions {
        self.family = family;
        self
    }

    /// Sets `SO_REUSEADDR` and `SO_REUSEPORT` before binding (asyncio's `reuse_port=True`):
    /// several endpoints, each with the option, may bind one port.
    pub fn reuse_port(mut self, on: bool) -> DatagramOptions {
        self.reuse_port = on;
        self
    }

    /// Sets `SO_BROADCAST` (asyncio's `allow_broadcast=True`): datagrams may go to a
    /// broadcast address.
    pub fn allow_broadcast(mut self, on: bool) -> DatagramOptions {
        self.allow_broadcast = on;
        self
    }
}

fn wildcard(family: Family) -> Option<&'static str> {
    match family {
        Family::Inet => Some("0.0.0.0:0"),
        Family::Inet6 => Some("[::]:0"),
        _ => None,
    }
}

fn check_family(family: Family, addr: SocketAddr) -> io::Result<()> {
    let ok = match family {
        Family::Inet => addr.is_ipv4(),
        Family::Inet6 => addr.is_ipv6(),
        _ => true,
    };
    if ok {
        Ok(())
    } else {
        Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("the local address {addr} is not of the requested family {family:?}"),
        ))
    }
}

async fn endpoint<L, R>(
    local: Option<L>,
    remote: Option<R>,
    opts: &DatagramOptions,
) -> io::Result<UdpSocket>
where
    L: ToSocketAddrs,
    R: ToSocketAddrs,
{
    let reuse = opts.reuse_port;
    let sock = match (local, wildcard(opts.family)) {
        (Some(l), _) => {
            let sock = UdpSocket::bind_reuse(l, reuse).await?;
            check_family(opts.family, sock.local_addr()?)?;
            sock
        }
        (None, Some(w)) => UdpSocket::bind_reuse(w, reuse).await?,
        (None, None) => {
            // No local address and any family: the remote's family (IPv4 first, then IPv6).
            let sock = UdpSocket::bind_reuse("0.0.0.0:0", reuse).await?;
            let sock = match &remote {
                None => sock,
                Some(r) => match sock.connect(r).await {
                    Ok(()) => sock,
                    Err(e4) => {
                        let sock6 = UdpSocket::bind_reuse("[::]:0", reuse)
                            .await
                            .map_err(|_| e4)?;
                        sock6.connect(r).await?;
                        sock6
                    }
                },
            };
            if opts.allow_broadcast {
                sock.set_broadcast(true)?;
            }
            return Ok(sock);
        }
    };
    if opts.allow_broadcast {
        sock.set_broadcast(true)?;
    }
    if let Some(r) = remote {
        sock.connect(r).await?;
    }
    Ok(sock)
}

fn setup<P: DatagramProtocol>(
    proto: &mut P,
    sock: UdpSocket,
) -> io::Result<(DatagramTransport, Result<(), io::Error>)> {
    let local = sock.local_addr()?;
    let peer = sock.peer_addr().ok();
    let t = DatagramTransport {
        shared: Arc::new(Shared {
            sock,
            local,
            peer,
            ctl: Mutex::new(Ctl {
                queue: VecDeque::new(),
                queued: 0,
                high: DEFAULT_HIGH,
                low: DEFAULT_HIGH / 4,
                errors: VecDeque::new(),
                closing: false,
                aborted: false,
                finished: false,
                lost_writes: 0,
                waker: None,
                finish_waiters: Vec::new(),
            }),
        }),
    };
    let t2 = t.clone();
    let m = call("connection_made", || proto.connection_made(t2));
    Ok((t, m))
}

/// Opens a UDP endpoint bound to `local` (default: any port on 0.0.0.0) and, with `remote`,
/// connected to it, and runs the protocol `factory` makes on it (asyncio's
/// `loop.create_datagram_endpoint(protocol_factory, local_addr, remote_addr)`).
/// `connection_made` has been called when this returns.
///
/// # Errors
///
/// Resolution, bind and connect errors.
///
/// # Cancel safety
///
/// Cancel safe: nothing outlives a cancelled call.
///
/// # Examples
///
/// See [`DatagramTransport`].
pub async fn create_datagram_endpoint<P, L, R>(
    factory: impl FnOnce() -> P,
    local: Option<L>,
    remote: Option<R>,
) -> io::Result<DatagramTransport>
where
    P: DatagramProtocol + Send,
    L: ToSocketAddrs,
    R: ToSocketAddrs,
{
    create_datagram_endpoint_with(factory, local, remote, &DatagramOptions::new()).await
}

/// [`create_datagram_endpoint`] with asyncio's other keyword arguments, as
/// [`DatagramOptions`] (`family`, `reuse_port`, `allow_broadcast`).
///
/// # Errors
///
/// As [`create_datagram_endpoint`]; `InvalidInput` when the local address is not of the
/// requested family; the OS's error setting an option.
///
/// # Cancel safety
///
/// As [`create_datagram_endpoint`].
///
/// # Examples
///
/// See [`DatagramOptions`].
pub async fn create_datagram_endpoint_with<P, L, R>(
    factory: impl FnOnce() -> P,
    local: Option<L>,
    remote: Option<R>,
    options: &DatagramOptions,
) -> io::Result<DatagramTransport>
where
    P: DatagramProtocol + Send,
    L: ToSocketAddrs,
    R: ToSocketAddrs,
{
    let sock = endpoint(local, remote, options).await?;
    let mut proto = factory();
    let (t, m) = setup(&mut proto, sock)?;
    tulip_executor::spawn(drive(proto, t.clone(), m)).detach();
    Ok(t)
}

/// [`create_datagram_endpoint`] for a protocol that is not `Send`: its task is local to
/// this thread.
///
/// # Errors
///
/// As [`create_datagram_endpoint`].
///
/// # Cancel safety
///
/// As [`create_datagram_endpoint`].
pub async fn create_datagram_endpoint_local<P, L, R>(
    factory: impl FnOnce() -> P,
    local: Option<L>,
    remote: Option<R>,
) -> io::Result<DatagramTransport>
where
    P: DatagramProtocol,
    L: ToSocketAddrs,
    R: ToSocketAddrs,
{
    let sock = endpoint(local, remote, &DatagramOptions::new()).await?;
    let mut proto = factory();
    let (t, m) = setup(&mut proto, sock)?;
    tulip_executor::spawn_local(drive(proto, t.clone(), m)).detach();
    Ok(t)
}

fn drive<P: DatagramProtocol>(
    mut proto: P,
    t: DatagramTransport,
    made: Result<(), io::Error>,
) -> impl Future<Output = ()> {
    let mut buf = vec![0u8; RECV_BUF];
    let mut paused = false;
    let mut failed = made.err();
    poll_fn(move |cx| {
        if let Some(e) = failed.take() {
            t.abort();
            let _ = call("connection_lost", || proto.connection_lost(Some(e)));
            t.finish();
            return Poll::Ready(());
        }
        match step(&mut proto, &t, &mut buf, &mut paused, cx) {
            Ok(p) => p,
            Err(e) => {
                t.abort();
                let _ = call("connection_lost", || proto.connection_lost(Some(e)));
                t.finish();
                Poll::Ready(())
            }
        }
    })
}

fn step<P: DatagramProtocol>(
    proto: &mut P,
    t: &DatagramTransport,
    buf: &mut [u8],
    paused: &mut bool,
    cx: &mut Context<'_>,
) -> Result<Poll<()>, io::Error> {
    let sh = &t.shared;
    for _ in 0..BUDGET {
        let mut c = lock(&sh.ctl);
        match &mut c.waker {
            Some(w) if w.will_wake(cx.waker()) => {}
            slot => *slot = Some(cx.waker().clone()),
        }
        if let Some(e) = c.errors.pop_front() {
            drop(c);
            call("error_received", || proto.error_received(e))?;
            continue;
        }
        // Send what is queued.
        let mut sent_error = None;
        while let Some((data, to)) = c.queue.front() {
            match sh.sock.poll_send_to(cx, data, *to) {
                Poll::Ready(res) => {
                    let len = data.len();
                    c.queue.pop_front();
                    c.queued -= len;
                    if let Err(e) = res {
                        sent_error = Some(e);
                        break;
                    }
                }
                Poll::Pending => break,
            }
        }
        if let Some(e) = sent_error {
            drop(c);
            call("error_received", || proto.error_received(e))?;
            continue;
        }
        if !*paused && c.queued > c.high {
            *paused = true;
            drop(c);
            call("pause_writing", || proto.pause_writing())?;
            continue;
        }
        if *paused && c.queued <= c.low {
            *paused = false;
            drop(c);
            call("resume_writing", || proto.resume_writing())?;
            continue;
        }
        if c.closing {
            if c.aborted || c.queue.is_empty() {
                drop(c);
                let _ = call("connection_lost", || proto.connection_lost(None));
                t.finish();
                return Ok(Poll::Ready(()));
            }
            return Ok(Poll::Pending);
        }
        drop(c);
        match sh.sock.poll_recv_from(cx, buf) {
            Poll::Ready(Ok((n, from))) => {
                call("datagram_received", || {
                    proto.datagram_received(&buf[..n], from)
                })?;
            }
            Poll::Ready(Err(e)) if e.kind() == io::ErrorKind::Interrupted => {}
            Poll::Ready(Err(e)) => {
                call("error_received", || proto.error_received(e))?;
            }
            Poll::Pending => return Ok(Poll::Pending),
        }
    }
    cx.waker().wake_by_ref();
    Ok(Poll::Pending)
}
