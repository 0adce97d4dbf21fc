//! [`Transport`]: the stream transport handle, and the per-connection driver that calls the
//! protocol.
//!
//! A transport is a [`StreamWriter`] (tulip-net's connection core: the write buffer, its
//! flow control, the close protocol, TLS) paired with a [`RawReader`] of the same connection,
//! which one task per connection (the *driver*) reads straight into the protocol's memory.

use std::fmt;
use std::future::poll_fn;
use std::io;
#[cfg(unix)]
use std::os::fd::RawFd;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};

use tulip_net::streams::{RawReader, StreamWriter};
use tulip_net::SockAddr;
use tulip_util::lock;

use crate::contain::call;
use crate::traits::{BufferedProtocol, Protocol};

/// The first read of a connection asks for this much; a read that fills it doubles the next
/// (up to [`MAX_READ`]).
const FIRST_READ: usize = 16 * 1024;
const MAX_READ: usize = 256 * 1024;
/// Events handled in one poll of a driver before it yields to the other tasks.
const BUDGET: usize = 64;

/// A stream transport (asyncio's `Transport`): the handle a [`Protocol`] gets in
/// `connection_made`, to write, close and steer the connection. `Clone`, `Send` and
/// `Sync`; methods take `&self` and never wait.
///
/// # Examples
///
/// ```
/// use std::sync::{Arc, Mutex};
/// use tulip_protocol::{Protocol, Transport};
///
/// struct Client {
///     got: Arc<Mutex<Vec<u8>>>,
/// }
/// impl Protocol for Client {
///     fn connection_made(&mut self, transport: Transport) {
///         transport.write(b"hello");
///         transport.write_eof().unwrap();
///     }
///     fn data_received(&mut self, data: &[u8]) {
///         self.got.lock().unwrap().extend_from_slice(data);
///     }
/// }
///
/// struct Upper(Option<Transport>);
/// impl Protocol for Upper {
///     fn connection_made(&mut self, t: Transport) {
///         self.0 = Some(t);
///     }
///     fn data_received(&mut self, data: &[u8]) {
///         self.0.as_ref().unwrap().write(&data.to_ascii_uppercase());
///     }
/// }
///
/// tulip_runtime::run(async {
///     let server = tulip_protocol::create_server(|| Upper(None), "127.0.0.1:0").await?;
///     let addr = server.local_addrs()[0].as_inet().unwrap();
///     let got = Arc::new(Mutex::new(Vec::new()));
///     let g = got.clone();
///     let t = tulip_protocol::create_connection(move || Client { got: g }, addr).await?;
///     t.wait_closed().await;
///     assert_eq!(&*got.lock().unwrap(), b"HELLO");
///     server.close();
///     std::io::Result::Ok(())
/// })?;
/// # std::io::Result::Ok(())
/// ```
#[derive(Clone)]
pub struct Transport {
    pub(crate) shared: Arc<Shared>,
}

pub(crate) struct Shared {
    writer: StreamWriter,
    ctl: Mutex<Ctl>,
    peer: Option<SockAddr>,
    local: Option<SockAddr>,
    #[cfg(unix)]
    fd: Option<RawFd>,
    readable: bool,
    writable: bool,
}

#[derive(Default)]
struct Ctl {
    paused_reading: bool,
    closing: bool,
    /// `connection_lost` has been called (or the driver is gone).
    finished: bool,
    /// The driver's waker.
    waker: Option<Waker>,
    /// `wait_closed` callers.
    finish_waiters: Vec<Waker>,
    /// A TLS upgrade asked the driver to stop reading.
    tls_requested: bool,
    /// The driver has stopped reading for it.
    tls_parked: bool,
    /// The upgrade waiting for the driver to park.
    tls_waiter: Option<Waker>,
    /// A protocol given to `set_protocol`, for the driver to take before its next callback.
    pending: Option<Box<dyn StreamProtocol + Send>>,
    /// The type name of the protocol in charge (the pending one once set).
    protocol_name: &'static str,
}

impl fmt::Debug for Transport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Transport")
            .field("peer", &self.shared.peer)
            .field("closing", &self.is_closing())
            .field("buffered", &self.get_write_buffer_size())
            .finish()
    }
}

impl Transport {
    pub(crate) fn new(
        writer: StreamWriter,
        raw: &RawReader,
        readable: bool,
        writable: bool,
    ) -> Self {
        let peer = writer.peer_addr().ok();
        let local = writer.local_addr().ok();
        // Only Unix has a socket descriptor to keep.
        #[cfg(not(unix))]
        let _ = raw;
        Transport {
            shared: Arc::new(Shared {
                writer,
                ctl: Mutex::new(Ctl::default()),
                peer,
                local,
                #[cfg(unix)]
                fd: raw.socket_fd(),
                readable,
                writable,
            }),
        }
    }

    fn nudge(&self) {
        let w = lock(&self.shared.ctl).waker.clone();
        if let Some(w) = w {
            w.wake();
        }
    }

    /// Writes `data`: sends what the OS takes now and buffers the rest, never waits
    /// (asyncio's `write`). When the buffer goes over the high-water mark, the protocol's
    /// `pause_writing` is called (right after the callback that wrote, or soon after a write
    /// from elsewhere). After `close`, `write_eof` or the loss of the connection the data is
    /// dropped, as in asyncio. On a read pipe's transport it is dropped too.
    pub fn write(&self, data: &[u8]) {
        if !self.shared.writable {
            return;
        }
        let w = &self.shared.writer;
        w.write(data);
        if w.write_buffer_size() > 0 {
            self.nudge();
        }
    }

    /// Writes each buffer in turn (asyncio's `writelines`).
    pub fn writelines<I>(&self, lines: I)
    where
        I: IntoIterator,
        I::Item: AsRef<[u8]>,
    {
        for l in lines {
            self.write(l.as_ref());
        }
    }

    /// Closes the write side once the buffer is flushed; the peer reads end of stream, and
    /// reading goes on (asyncio's `write_eof`).
    ///
    /// # Errors
    ///
    /// The connection's error if it is lost.
    pub fn write_eof(&self) -> io::Result<()> {
        self.shared.writer.write_eof()
    }

    /// Whether [`write_eof`](Self::write_eof) is supported.
    pub fn can_write_eof(&self) -> bool {
        self.shared.writable && self.shared.writer.can_write_eof()
    }

    /// Closes the transport (asyncio's `close`): reading stops at once, what is buffered is
    /// flushed, then the connection is shut down and the protocol's
    /// `connection_lost(None)` is called.
    pub fn close(&self) {
        {
            let mut c = lock(&self.shared.ctl);
            if c.closing {
                return;
            }
            c.closing = true;
        }
        self.shared.writer.close();
        self.nudge();
    }

    /// Closes the transport at once (asyncio's `abort`): the buffer is discarded, a TCP
    /// connection is reset, and `connection_lost(None)` is called.
    pub fn abort(&self) {
        lock(&self.shared.ctl).closing = true;
        self.shared.writer.abort();
        self.nudge();
    }

    /// Whether the transport is closing or closed (asyncio's `is_closing`).
    pub fn is_closing(&self) -> bool {
        lock(&self.shared.ctl).closing || self.shared.writer.is_closing()
    }

    /// Stops calling `data_received` until [`resume_reading`](Self::resume_reading)
    /// (asyncio's `pause_reading`); nothing more is read from the socket meanwhile, so the
    /// peer is slowed by TCP's own flow control. No effect on a closing transport.
    pub fn pause_reading(&self) {
        let mut c = lock(&self.shared.ctl);
        if !c.closing {
            c.paused_reading = true;
        }
    }

    /// Resumes reading after [`pause_reading`](Self::pause_reading).
    pub fn resume_reading(&self) {
        let was = std::mem::replace(&mut lock(&self.shared.ctl).paused_reading, false);
        if was {
            self.nudge();
        }
    }

    /// Whether the transport is reading (asyncio's `is_reading`): not paused, not closing.
    pub fn is_reading(&self) -> bool {
        let c = lock(&self.shared.ctl);
        self.shared.readable && !c.paused_reading && !c.closing && !c.finished
    }

    /// Sets the write buffer's flow-control marks (asyncio's
    /// `set_write_buffer_limits(high, low)`): `high` alone sets `low` to a quarter of it,
    /// `low` alone sets `high` to four times it, neither restores 64 KiB / 16 KiB.
    ///
    /// # Errors
    ///
    /// `InvalidInput` if `low > high`.
    pub fn set_write_buffer_limits(
        &self,
        high: Option<usize>,
        low: Option<usize>,
    ) -> io::Result<()> {
        self.shared.writer.set_write_buffer_limits(high, low)?;
        self.nudge();
        Ok(())
    }

    /// The bytes buffered and not yet handed to the OS (asyncio's `get_write_buffer_size`).
    pub fn get_write_buffer_size(&self) -> usize {
        self.shared.writer.write_buffer_size()
    }

    /// The flow-control marks as asyncio returns them: `(low, high)`.
    pub fn get_write_buffer_limits(&self) -> (usize, usize) {
        let (high, low) = self.shared.writer.write_buffer_limits();
        (low, high)
    }

    /// The peer's address (asyncio's `get_extra_info("peername")`); `None` for pipes.
    pub fn peername(&self) -> Option<&SockAddr> {
        self.shared.peer.as_ref()
    }

    /// Our own address (asyncio's `get_extra_info("sockname")`); `None` for pipes.
    pub fn sockname(&self) -> Option<&SockAddr> {
        self.shared.local.as_ref()
    }

    /// The socket's file descriptor (asyncio's `get_extra_info("socket")`, as a raw fd to
    /// read options from; the transport owns it). `None` for pipes. Unix only.
    #[cfg(unix)]
    pub fn socket(&self) -> Option<RawFd> {
        self.shared.fd
    }

    /// Writes dropped because the transport was closing or lost.
    pub fn lost_writes(&self) -> usize {
        self.shared.writer.lost_writes()
    }

    /// Waits until the protocol's `connection_lost` has returned (not in asyncio, where a
    /// protocol resolves a future of its own there; handy for the same purpose).
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

    /// The TLS session's state, or `None` on a plain connection (asyncio's
    /// `get_extra_info("ssl_object")`).
    #[cfg(feature = "tls")]
    pub fn tls_info(&self) -> Option<tulip_net::tls::TlsInfo> {
        self.shared.writer.tls_info()
    }

    /// Upgrades the connection to TLS in place (asyncio's `loop.start_tls(transport,
    /// protocol, sslcontext, server_side=…, server_hostname=…)`, which returns a new
    /// transport; here the same transport and protocol go on, now through TLS).
    ///
    /// Reading stops as soon as this is *called* — call it from the callback that decided to
    /// upgrade (`data_received` of a `STARTTLS` line, say) and spawn the future it returns —
    /// so the peer's first TLS bytes stay in the socket for the handshake. What was written
    /// before goes out in the clear; writes made during the handshake wait and are then sent
    /// encrypted; reading resumes through TLS afterwards.
    ///
    /// # Errors
    ///
    /// The handshake's [`TlsError`](tulip_net::tls::TlsError) (the connection is then
    /// closed), `AlreadyTls`, or the connection's error.
    ///
    /// # Cancel safety
    ///
    /// Not cancel safe: dropping the future mid-handshake closes the connection (dropping it
    /// before its first poll only resumes reading).
    #[cfg(feature = "tls")]
    pub fn start_tls(
        &self,
        options: tulip_net::tls::TlsOptions,
    ) -> impl std::future::Future<Output = io::Result<()>> + Send + 'static {
        lock(&self.shared.ctl).tls_requested = true;
        self.nudge();
        let t = self.clone();
        /// Lets the driver read again however the upgrade ends.
        struct Resume(Transport);
        impl Drop for Resume {
            fn drop(&mut self) {
                {
                    let mut c = lock(&self.0.shared.ctl);
                    c.tls_requested = false;
                    c.tls_parked = false;
                    c.tls_waiter = None;
                }
                self.0.nudge();
            }
        }
        let guard = Resume(t);
        async move {
            let t = &guard.0;
            poll_fn(|cx| {
                let mut c = lock(&t.shared.ctl);
                if c.tls_parked || c.finished || c.waker.is_none() {
                    return Poll::Ready(());
                }
                c.tls_waiter = Some(cx.waker().clone());
                Poll::Pending
            })
            .await;
            let raw = t.shared.writer.raw_reader();
            let res = raw.start_tls(&options).await;
            drop(guard);
            res
        }
    }

    /// Replaces the protocol (asyncio's `set_protocol`): the transport's driver takes `protocol`
    /// before its next callback, and every later callback (`data_received`, `eof_received`,
    /// `pause_writing`/`resume_writing`, `connection_lost`) goes to it; the old protocol is
    /// dropped there, on the driver's task. As in asyncio, the new protocol's
    /// `connection_made` is not called: hand it the transport yourself. A
    /// [`BufferedProtocol`] is given as [`Buffered`]`(p)`. Calling it again before the
    /// driver took the last one replaces that one; after `connection_lost` it has no
    /// effect (the protocol is dropped).
    ///
    /// The protocol must be `Send` even on a `_local` transport, since the transport handle
    /// is `Send`.
    ///
    /// # Examples
    ///
    /// ```
    /// use tulip_protocol::{Protocol, Transport};
    ///
    /// /// Reads a greeting line, then hands the connection over to `Echo`.
    /// struct Greeter(Option<Transport>);
    /// impl Protocol for Greeter {
    ///     fn connection_made(&mut self, t: Transport) {
    ///         self.0 = Some(t);
    ///     }
    ///     fn data_received(&mut self, _: &[u8]) {
    ///         let t = self.0.take().unwrap();
    ///         t.write(b"welcome\n");
    ///         t.set_protocol(Echo(t.clone()));
    ///     }
    /// }
    /// struct Echo(Transport);
    /// impl Protocol for Echo {
    ///     fn data_received(&mut self, data: &[u8]) {
    ///         self.0.write(data);
    ///     }
    /// }
    ///
    /// tulip_runtime::run(async {
    ///     let server = tulip_protocol::create_server(|| Greeter(None), "127.0.0.1:0").await?;
    ///     let addr = server.local_addrs()[0].as_inet().unwrap();
    ///     let (mut r, w) = tulip_net::streams::open_connection(addr).await?;
    ///     w.write(b"hello\n");
    ///     assert_eq!(r.readline().await?, b"welcome\n");
    ///     w.write(b"ping\n");
    ///     assert_eq!(r.readline().await?, b"ping\n");
    ///     server.close();
    ///     std::io::Result::Ok(())
    /// })?;
    /// # std::io::Result::Ok(())
    /// ```
    pub fn set_protocol<P: StreamProtocol + Send>(&self, protocol: P) {
        let replaced = {
            let mut c = lock(&self.shared.ctl);
            if c.finished {
                return;
            }
            c.protocol_name = std::any::type_name::<P>();
            c.pending.replace(Box::new(protocol))
        };
        // Dropped outside the lock: a protocol's `Drop` may use the transport.
        drop(replaced);
        self.nudge();
    }

    /// The type name of the protocol in charge of this transport (asyncio's
    /// `get_protocol`, which returns the protocol object; here the driver's task owns the
    /// protocol and calls it with `&mut self`, so a shared reference to it cannot be handed
    /// out soundly, and the name is what is returned). It names the protocol given to
    /// [`set_protocol`](Self::set_protocol) as soon as that returns.
    ///
    /// # Examples
    ///
    /// ```
    /// use tulip_protocol::{Protocol, Transport};
    ///
    /// struct First;
    /// impl Protocol for First {
    ///     fn connection_made(&mut self, t: Transport) {
    ///         assert!(t.get_protocol().ends_with("First"));
    ///         t.set_protocol(Second);
    ///         assert!(t.get_protocol().ends_with("Second"));
    ///     }
    /// }
    /// struct Second;
    /// impl Protocol for Second {}
    ///
    /// tulip_runtime::run(async {
    ///     let server = tulip_protocol::create_server(|| First, "127.0.0.1:0").await?;
    ///     let addr = server.local_addrs()[0].as_inet().unwrap();
    ///     let t = tulip_protocol::create_connection(|| First, addr).await?;
    ///     assert!(t.get_protocol().ends_with("Second"));
    ///     t.close();
    ///     server.close();
    ///     std::io::Result::Ok(())
    /// })?;
    /// # std::io::Result::Ok(())
    /// ```
    pub fn get_protocol(&self) -> &'static str {
        lock(&self.shared.ctl).protocol_name
    }

    /// Records the first protocol's name.
    pub(crate) fn name_protocol(&self, name: &'static str) {
        lock(&self.shared.ctl).protocol_name = name;
    }

    /// The protocol handed to `set_protocol`, if the driver has not taken it yet.
    fn take_pending(&self) -> Option<Box<dyn StreamProtocol + Send>> {
        lock(&self.shared.ctl).pending.take()
    }

    /// Marks the protocol finished and wakes `wait_closed`.
    pub(crate) fn finish(&self) {
        let (waiters, pending) = {
            let mut c = lock(&self.shared.ctl);
            c.finished = true;
            c.waker = None;
            (std::mem::take(&mut c.finish_waiters), c.pending.take())
        };
        drop(pending);
        for w in waiters {
            w.wake();
        }
    }
}

/// What the transport hands the driver.
pub(crate) enum Event {
    Data(usize),
    Eof,
    Pause,
    Resume,
    Lost(Option<io::Error>),
}

/// The read side and flow-control state of one transport, polled by its driver.
pub(crate) struct Core {
    pub(crate) raw: RawReader,
    pub(crate) t: Transport,
    eof: bool,
    /// The protocol was told `pause_writing`.
    paused: bool,
}

/// What the top of one driver step found.
pub(crate) struct Snapshot {
    pub(crate) want_read: bool,
    /// A protocol given to `set_protocol` since the last step.
    pending: Option<Box<dyn StreamProtocol + Send>>,
}

impl Core {
    pub(crate) fn new(raw: RawReader, t: Transport) -> Core {
        Core {
            raw,
            t,
            eof: false,
            paused: false,
        }
    }

    /// Registers the driver's waker and says whether to read now.
    pub(crate) fn snapshot(&mut self, cx: &Context<'_>) -> Snapshot {
        let sh = &self.t.shared;
        let mut c = lock(&sh.ctl);
        match &mut c.waker {
            Some(w) if w.will_wake(cx.waker()) => {}
            slot => *slot = Some(cx.waker().clone()),
        }
        if c.tls_requested && !c.tls_parked {
            c.tls_parked = true;
            if let Some(w) = c.tls_waiter.take() {
                w.wake();
            }
        }
        Snapshot {
            want_read: sh.readable
                && !self.eof
                && !c.paused_reading
                && !c.closing
                && !c.tls_requested,
            pending: c.pending.take(),
        }
    }

    /// Flow control: `Pause` when the buffer went over the high-water mark, `Resume` when a
    /// paused buffer drained to the low one.
    pub(crate) fn poll_flow(&mut self, cx: &mut Context<'_>) -> Option<Event> {
        if !self.t.shared.writable {
            return None;
        }
        if self.paused {
            return match self.raw.poll_writable(cx) {
                Poll::Ready(Ok(())) => {
                    self.paused = false;
                    Some(Event::Resume)
                }
                // The end step reports the loss.
                Poll::Ready(Err(_)) | Poll::Pending => None,
            };
        }
        let w = &self.t.shared.writer;
        let size = w.write_buffer_size();
        if size > 0 && size > w.write_buffer_limits().0 {
            self.paused = true;
            return Some(Event::Pause);
        }
        None
    }

    /// One read into `buf`: `Data`, `Eof` (the peer's), or `None` when there is nothing to
    /// report (no data yet, or an error or our own shutdown that the end step reports).
    pub(crate) fn poll_read(&mut self, cx: &mut Context<'_>, buf: &mut [u8]) -> Option<Event> {
        match self.raw.poll_read(cx, buf) {
            Poll::Ready(Ok(0)) => {
                self.eof = true;
                // End of stream after our own close began (a server's `close_clients`, say)
                // is ours, not the peer's: no `eof_received`.
                if self.raw.is_shut() || self.t.shared.writer.is_closing() {
                    None
                } else {
                    Some(Event::Eof)
                }
            }
            Poll::Ready(Ok(n)) => Some(Event::Data(n)),
            Poll::Ready(Err(_)) => {
                self.eof = true;
                None
            }
            Poll::Pending => None,
        }
    }

    /// The end: `Lost` once the connection is closed (by us: `None`) or lost.
    pub(crate) fn poll_end(&mut self, cx: &mut Context<'_>) -> Option<Event> {
        match self.raw.poll_closed(cx) {
            Poll::Ready(Ok(())) => Some(Event::Lost(None)),
            Poll::Ready(Err(e)) => Some(Event::Lost(Some(e))),
            Poll::Pending => None,
        }
    }
}

/// A stream protocol as the entry points take it: any [`Protocol`], or a
/// [`BufferedProtocol`] wrapped in [`Buffered`].
pub trait StreamProtocol: 'static {
    /// The protocol's callbacks.
    #[doc(hidden)]
    fn __base(&mut self) -> &mut dyn Protocol;
    /// Its buffered reading, if it reads into its own memory.
    #[doc(hidden)]
    fn __buffered(&mut self) -> Option<&mut dyn BufferedProtocol> {
        None
    }
}

impl<P: Protocol> StreamProtocol for P {
    fn __base(&mut self) -> &mut dyn Protocol {
        self
    }
}

/// Marks a [`BufferedProtocol`] for the entry points (asyncio tells them apart by class):
/// `create_connection(|| Buffered(MyProtocol::new()), addr)`.
#[derive(Debug, Clone, Default)]
pub struct Buffered<P>(pub P);

impl<P: BufferedProtocol> StreamProtocol for Buffered<P> {
    fn __base(&mut self) -> &mut dyn Protocol {
        &mut self.0
    }
    fn __buffered(&mut self) -> Option<&mut dyn BufferedProtocol> {
        Some(&mut self.0)
    }
}

impl StreamProtocol for Box<dyn StreamProtocol + Send> {
    fn __base(&mut self) -> &mut dyn Protocol {
        (**self).__base()
    }
    fn __buffered(&mut self) -> Option<&mut dyn BufferedProtocol> {
        (**self).__buffered()
    }
}

/// The protocol a driver calls: the one it started with, or one given to
/// [`Transport::set_protocol`] since.
pub(crate) enum Slot<S> {
    First(S),
    Set(Box<dyn StreamProtocol + Send>),
}

impl<S: StreamProtocol> StreamProtocol for Slot<S> {
    fn __base(&mut self) -> &mut dyn Protocol {
        match self {
            Slot::First(p) => p.__base(),
            Slot::Set(p) => p.__base(),
        }
    }
    fn __buffered(&mut self) -> Option<&mut dyn BufferedProtocol> {
        match self {
            Slot::First(p) => p.__buffered(),
            Slot::Set(p) => p.__buffered(),
        }
    }
}

impl<S: StreamProtocol> Slot<S> {
    /// Takes the protocol `set_protocol` left, if any (dropping the old one).
    fn refresh(&mut self, t: &Transport) {
        if let Some(p) = t.take_pending() {
            *self = Slot::Set(p);
        }
    }
}

/// Calls `connection_made` (before the driver starts, so that it has run when the entry
/// point returns); `Err` if it panicked (the transport is then aborted).
pub(crate) fn made<S: StreamProtocol>(proto: &mut S, t: &Transport) -> Result<(), io::Error> {
    t.name_protocol(std::any::type_name::<S>());
    let t2 = t.clone();
    call("connection_made", || proto.__base().connection_made(t2))
}

/// The driver of one stream transport: reads, calls the protocol, ends with
/// `connection_lost`.
pub(crate) async fn drive<S: StreamProtocol>(
    proto: S,
    mut core: Core,
    early: Vec<u8>,
    made: Result<(), io::Error>,
) {
    let mut proto = Slot::First(proto);
    proto.refresh(&core.t);
    let mut buf: Vec<u8> = Vec::new();
    let mut failed: Option<io::Error> = made.err();
    if failed.is_none() && !early.is_empty() {
        if let Err(e) = deliver_early(&mut proto, &early) {
            failed = Some(e);
        }
    }
    if let Some(e) = failed {
        fail(&mut proto, &core.t, e, true);
        return;
    }
    poll_fn(|cx| step(&mut proto, &mut core, &mut buf, cx)).await;
}

fn deliver_early<S: StreamProtocol>(proto: &mut Slot<S>, data: &[u8]) -> Result<(), io::Error> {
    match proto.__buffered() {
        None => call("data_received", || proto.__base().data_received(data)),
        Some(b) => {
            let mut rest = data;
            while !rest.is_empty() {
                let n = call("get_buffer", || {
                    let buf = b.get_buffer(rest.len());
                    let n = buf.len().min(rest.len());
                    buf[..n].copy_from_slice(&rest[..n]);
                    n
                })?;
                if n == 0 {
                    return Err(empty_buffer());
                }
                call("buffer_updated", || b.buffer_updated(n))?;
                rest = &rest[n..];
            }
            Ok(())
        }
    }
}

fn empty_buffer() -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidData,
        "BufferedProtocol::get_buffer returned an empty buffer",
    )
}

/// A callback failed: abort the transport, tell the protocol (unless `connection_lost` was
/// what failed), finish.
fn fail<S: StreamProtocol>(proto: &mut Slot<S>, t: &Transport, e: io::Error, tell: bool) {
    proto.refresh(t);
    t.abort();
    if tell {
        let _ = call("connection_lost", || {
            proto.__base().connection_lost(Some(e))
        });
    }
    t.finish();
}

fn step<S: StreamProtocol>(
    proto: &mut Slot<S>,
    core: &mut Core,
    buf: &mut Vec<u8>,
    cx: &mut Context<'_>,
) -> Poll<()> {
    for _ in 0..BUDGET {
        let mut snap = core.snapshot(cx);
        // Taken under the snapshot's lock; the old protocol is dropped outside it.
        if let Some(p) = snap.pending.take() {
            *proto = Slot::Set(p);
        }
        if let Some(ev) = core.poll_flow(cx) {
            let r = match ev {
                Event::Pause => call("pause_writing", || proto.__base().pause_writing()),
                _ => call("resume_writing", || proto.__base().resume_writing()),
            };
            if let Err(e) = r {
                fail(proto, &core.t, e, true);
                return Poll::Ready(());
            }
            continue;
        }
        if snap.want_read {
            let ev = match proto.__buffered() {
                None => {
                    if buf.is_empty() {
                        buf.resize(FIRST_READ, 0);
                    }
                    let ev = core.poll_read(cx, buf);
                    if let Some(Event::Data(n)) = ev {
                        let r = call("data_received", || proto.__base().data_received(&buf[..n]));
                        if n == buf.len() && buf.len() < MAX_READ {
                            buf.resize(buf.len() * 2, 0);
                        }
                        if let Err(e) = r {
                            fail(proto, &core.t, e, true);
                            return Poll::Ready(());
                        }
                        continue;
                    }
                    ev
                }
                Some(b) => {
                    let got = call("get_buffer", || {
                        let mem = b.get_buffer(FIRST_READ);
                        if mem.is_empty() {
                            return Err(empty_buffer());
                        }
                        Ok(core.poll_read(cx, mem))
                    });
                    let ev = match got {
                        Ok(Ok(ev)) => ev,
                        Ok(Err(e)) | Err(e) => {
                            fail(proto, &core.t, e, true);
                            return Poll::Ready(());
                        }
                    };
                    if let Some(Event::Data(n)) = ev {
                        if let Err(e) = call("buffer_updated", || b.buffer_updated(n)) {
                            fail(proto, &core.t, e, true);
                            return Poll::Ready(());
                        }
                        continue;
                    }
                    ev
                }
            };
            if let Some(Event::Eof) = ev {
                match call("eof_received", || proto.__base().eof_received()) {
                    Ok(true) => {}
                    Ok(false) => core.t.close(),
                    Err(e) => {
                        fail(proto, &core.t, e, true);
                        return Poll::Ready(());
                    }
                }
                continue;
            }
        }
        if let Some(Event::Lost(e)) = core.poll_end(cx) {
            proto.refresh(&core.t);
            let _ = call("connection_lost", || proto.__base().connection_lost(e));
            core.t.finish();
            return Poll::Ready(());
        }
        return Poll::Pending;
    }
    // Out of budget: let the other tasks run, then go on.
    cx.waker().wake_by_ref();
    Poll::Pending
}
