//! A multi-producer channel where every receiver sees every message:
//! [`broadcast()`](super::broadcast()).
//!
//! # Implementation
//!
//! A ring of the last `cap` messages behind a lock, each message numbered by a sequence
//! number. A receiver remembers the number of the next message it wants; receiving clones
//! that message (the lock is held for the clone). A send never waits: when the ring is full
//! the oldest message is evicted and dropped, and a receiver that still wanted it learns on
//! its next receive how many it missed ([`RecvError::Lagged`]) and continues from the oldest
//! message still retained. Messages are kept until evicted or the channel is dropped, so the
//! channel holds up to `cap` messages even when every receiver has seen them. The ring is
//! allocated for the messages retained, not for `cap`: up to 32 KiB up front, then growing
//! with the messages until it holds `cap` of them.

use std::{
    collections::VecDeque,
    error::Error,
    fmt,
    future::Future,
    pin::Pin,
    task::{ready, Context, Poll},
};

use futures_core::{FusedStream, Stream};

use tulip_util::sync::{block_on, lock, Arc, Mutex};

use crate::{
    fifo::ring_slots,
    waiters::{WaitSlot, Waiters},
};

/// The state shared by all senders and receivers.
struct Shared<T> {
    ring: Mutex<Ring<T>>,
    /// Receivers waiting for the next message; every send wakes all of them.
    receivers_waiting: Waiters,
}

/// The lock-protected part.
struct Ring<T> {
    /// The retained messages; `buf[i]` has sequence number `first + i`.
    buf: VecDeque<T>,
    /// The capacity.
    cap: usize,
    /// The sequence number of `buf[0]`.
    first: u64,
    /// Live senders; when it reaches zero receivers drain and then see `Closed`.
    senders: usize,
    /// Live receivers; with none, sends fail.
    receivers: usize,
    /// Closed by [`Sender::close`]: sends fail, receivers drain and then see `Closed`.
    closed: bool,
}

impl<T> Ring<T> {
    /// The sequence number the next message will get.
    fn end(&self) -> u64 {
        self.first + self.buf.len() as u64
    }

    /// No message will ever be sent again.
    fn is_finished(&self) -> bool {
        self.closed || self.senders == 0
    }
}

/// Creates a broadcast channel; see [`broadcast`](super::broadcast()).
pub(super) fn channel<T>(cap: usize) -> (Sender<T>, Receiver<T>) {
    assert!(cap > 0, "broadcast capacity must be positive");
    let shared = Arc::new(Shared {
        ring: Mutex::new(Ring {
            // `cap` is a limit: room for the first messages, then growth as they come.
            buf: VecDeque::with_capacity(cap.min(ring_slots::<T>())),
            cap,
            first: 0,
            senders: 1,
            receivers: 1,
            closed: false,
        }),
        receivers_waiting: Waiters::new("broadcast.recv"),
    });
    let sender = Sender {
        shared: Arc::clone(&shared),
    };
    let receiver = Receiver {
        shared,
        next: 0,
        slot: WaitSlot::new(),
    };
    (sender, receiver)
}

/// The sending half of a [`broadcast`](super::broadcast()) channel. `Clone`.
///
/// # Examples
///
/// ```
/// use tulip_queue::channel;
///
/// let (tx, mut rx1) = channel::broadcast(8);
/// let mut rx2 = tx.subscribe();
/// tx.send("hello").unwrap();
/// assert_eq!(rx1.try_recv(), Ok("hello"));
/// assert_eq!(rx2.try_recv(), Ok("hello"));
/// ```
pub struct Sender<T> {
    shared: Arc<Shared<T>>,
}

impl<T> Sender<T> {
    /// Sends `msg` to every receiver; returns how many receivers there are. Never waits: when
    /// the channel holds `cap` messages already, the oldest is dropped and receivers that had
    /// not seen it will get [`RecvError::Lagged`].
    ///
    /// # Errors
    ///
    /// [`SendError`], holding `msg`, if there is no receiver (a receiver subscribed later
    /// would not see it anyway) or the channel was [`close`](Self::close)d.
    ///
    /// # Panics
    ///
    /// Only if dropping the evicted message panics; the message is sent by then.
    ///
    /// # Examples
    ///
    /// ```
    /// use tulip_queue::channel::{self, broadcast::SendError};
    ///
    /// let (tx, rx) = channel::broadcast(1);
    /// assert_eq!(tx.send(1), Ok(1));
    /// drop(rx);
    /// assert_eq!(tx.send(2), Err(SendError(2)));
    /// ```
    #[doc(alias = "try_send")]
    pub fn send(&self, msg: T) -> Result<usize, SendError<T>> {
        let (evicted, receivers) = {
            let mut ring = lock(&self.shared.ring);
            if ring.closed || ring.receivers == 0 {
                return Err(SendError(msg));
            }
            ring.buf.push_back(msg);
            let evicted = if ring.buf.len() > ring.cap {
                ring.first += 1;
                ring.buf.pop_front()
            } else {
                None
            };
            (evicted, ring.receivers)
        };
        self.shared.receivers_waiting.notify_all();
        drop(evicted);
        Ok(receivers)
    }

    /// A new receiver that sees the messages sent from now on.
    ///
    /// # Examples
    ///
    /// ```
    /// use tulip_queue::channel::{self, broadcast::TryRecvError};
    ///
    /// let (tx, _rx) = channel::broadcast(4);
    /// tx.send(1).unwrap();
    /// let mut late = tx.subscribe();
    /// assert_eq!(late.try_recv(), Err(TryRecvError::Empty));
    /// tx.send(2).unwrap();
    /// assert_eq!(late.try_recv(), Ok(2));
    /// ```
    #[must_use]
    pub fn subscribe(&self) -> Receiver<T> {
        let next = {
            let mut ring = lock(&self.shared.ring);
            ring.receivers += 1;
            ring.end()
        };
        Receiver {
            shared: Arc::clone(&self.shared),
            next,
            slot: WaitSlot::new(),
        }
    }

    /// Closes the channel: sends fail from now on; receivers get the messages they have not
    /// seen, then [`RecvError::Closed`]. Returns `true` if this call closed it.
    ///
    /// # Examples
    ///
    /// ```
    /// use tulip_queue::channel::{self, broadcast::TryRecvError};
    ///
    /// let (tx, mut rx) = channel::broadcast(2);
    /// tx.send(1).unwrap();
    /// assert!(tx.close());
    /// assert!(tx.send(2).is_err());
    /// assert_eq!(rx.try_recv(), Ok(1));
    /// assert_eq!(rx.try_recv(), Err(TryRecvError::Closed));
    /// ```
    pub fn close(&self) -> bool {
        let newly = !std::mem::replace(&mut lock(&self.shared.ring).closed, true);
        if newly {
            self.shared.receivers_waiting.notify_all();
        }
        newly
    }

    /// Whether the channel was closed with [`close`](Self::close).
    ///
    /// # Examples
    ///
    /// ```
    /// let (tx, _rx) = tulip_queue::channel::broadcast::<()>(1);
    /// tx.close();
    /// assert!(tx.is_closed());
    /// ```
    pub fn is_closed(&self) -> bool {
        lock(&self.shared.ring).closed
    }

    /// The number of live receivers.
    ///
    /// # Examples
    ///
    /// ```
    /// let (tx, rx) = tulip_queue::channel::broadcast::<()>(1);
    /// let _rx2 = rx.clone();
    /// assert_eq!(tx.receiver_count(), 2);
    /// ```
    pub fn receiver_count(&self) -> usize {
        lock(&self.shared.ring).receivers
    }

    /// The number of messages retained (at most the capacity).
    ///
    /// # Examples
    ///
    /// ```
    /// let (tx, _rx) = tulip_queue::channel::broadcast(2);
    /// for n in 0..5 {
    ///     tx.send(n).unwrap();
    /// }
    /// assert_eq!(tx.len(), 2);
    /// ```
    pub fn len(&self) -> usize {
        lock(&self.shared.ring).buf.len()
    }

    /// Whether no message is retained.
    ///
    /// # Examples
    ///
    /// ```
    /// let (tx, _rx) = tulip_queue::channel::broadcast::<()>(2);
    /// assert!(tx.is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The capacity.
    ///
    /// # Examples
    ///
    /// ```
    /// let (tx, _rx) = tulip_queue::channel::broadcast::<()>(16);
    /// assert_eq!(tx.capacity(), 16);
    /// ```
    pub fn capacity(&self) -> usize {
        lock(&self.shared.ring).cap
    }
}

impl<T> Clone for Sender<T> {
    /// Another sender on the same channel.
    fn clone(&self) -> Self {
        lock(&self.shared.ring).senders += 1;
        Self {
            shared: Arc::clone(&self.shared),
        }
    }
}

impl<T> Drop for Sender<T> {
    fn drop(&mut self) {
        let last = {
            let mut ring = lock(&self.shared.ring);
            ring.senders -= 1;
            ring.senders == 0
        };
        if last {
            self.shared.receivers_waiting.notify_all();
        }
    }
}

impl<T> fmt::Debug for Sender<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sender")
            .field("len", &self.len())
            .field("receivers", &self.receiver_count())
            .finish()
    }
}

/// The receiving half of a [`broadcast`](super::broadcast()) channel.
///
/// `Clone` gives a receiver at the same position (it will see the same messages).
/// As a [`Stream`] it yields `Ok(message)`, or `Err(Lagged(n))` when it missed `n` messages,
/// and ends once the channel is closed and drained.
///
/// # Examples
///
/// ```
/// use futures_lite::StreamExt;
/// use tulip_queue::channel::{self, broadcast::Lagged};
///
/// # futures_lite::future::block_on(async {
/// let (tx, rx) = channel::broadcast(2);
/// for n in 1..=3 {
///     tx.send(n).unwrap();
/// }
/// drop(tx);
/// let seen: Vec<Result<i32, Lagged>> = rx.collect().await;
/// assert_eq!(seen, [Err(Lagged(1)), Ok(2), Ok(3)]);
/// # });
/// ```
pub struct Receiver<T> {
    shared: Arc<Shared<T>>,
    /// The sequence number of the next message this receiver wants.
    next: u64,
    /// The `Stream` impl's place in the wait list.
    slot: WaitSlot,
}

impl<T: Clone> Receiver<T> {
    /// Receives the next message, waiting while there is none.
    ///
    /// # Errors
    ///
    /// - [`RecvError::Lagged(n)`](RecvError::Lagged): `n` messages were evicted before this
    ///   receiver saw them. The receiver now points at the oldest retained message; receive
    ///   again to continue.
    /// - [`RecvError::Closed`]: every sender is gone (or the channel was closed) and this
    ///   receiver has seen everything.
    ///
    /// # Cancel safety
    ///
    /// Cancel-safe: the receiver's position moves only inside the `poll` that returns a
    /// message (or the lag); a receive dropped earlier loses nothing.
    ///
    /// # Examples
    ///
    /// ```
    /// use tulip_queue::channel::{self, broadcast::RecvError};
    ///
    /// # futures_lite::future::block_on(async {
    /// let (tx, mut rx) = channel::broadcast(1);
    /// tx.send(1).unwrap();
    /// tx.send(2).unwrap(); // evicts 1
    /// assert_eq!(rx.recv().await, Err(RecvError::Lagged(1)));
    /// assert_eq!(rx.recv().await, Ok(2));
    /// drop(tx);
    /// assert_eq!(rx.recv().await, Err(RecvError::Closed));
    /// # });
    /// ```
    pub fn recv(&mut self) -> Recv<'_, T> {
        Recv {
            receiver: self,
            slot: WaitSlot::new(),
        }
    }

    /// Receives the next message if there is one, without waiting.
    ///
    /// # Errors
    ///
    /// [`TryRecvError::Empty`] if there is no new message, otherwise as
    /// [`recv`](Self::recv).
    ///
    /// # Examples
    ///
    /// ```
    /// use tulip_queue::channel::{self, broadcast::TryRecvError};
    ///
    /// let (tx, mut rx) = channel::broadcast(4);
    /// assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
    /// tx.send('a').unwrap();
    /// assert_eq!(rx.try_recv(), Ok('a'));
    /// ```
    pub fn try_recv(&mut self) -> Result<T, TryRecvError> {
        try_recv_at(&self.shared, &mut self.next)
    }

    /// Receives the next message, blocking the thread while there is none.
    ///
    /// # Blocking
    ///
    /// Blocks the calling thread; do not call it from async code.
    ///
    /// # Errors
    ///
    /// As [`recv`](Self::recv).
    ///
    /// # Examples
    ///
    /// ```
    /// use tulip_queue::channel;
    ///
    /// let (tx, mut rx) = channel::broadcast(4);
    /// std::thread::spawn(move || tx.send(1).unwrap());
    /// assert_eq!(rx.recv_blocking(), Ok(1));
    /// ```
    pub fn recv_blocking(&mut self) -> Result<T, RecvError> {
        block_on(self.recv())
    }
}

/// `try_recv` for the receiver whose position is `next`.
fn try_recv_at<T: Clone>(shared: &Shared<T>, next: &mut u64) -> Result<T, TryRecvError> {
    let ring = lock(&shared.ring);
    if *next < ring.first {
        let missed = ring.first - *next;
        *next = ring.first;
        return Err(TryRecvError::Lagged(missed));
    }
    if *next < ring.end() {
        let index =
            usize::try_from(*next - ring.first).expect("an index into the ring fits in usize");
        // Clone first: if `T::clone` panics, the position has not moved.
        let msg = ring.buf[index].clone();
        *next += 1;
        return Ok(msg);
    }
    if ring.is_finished() {
        Err(TryRecvError::Closed)
    } else {
        Err(TryRecvError::Empty)
    }
}

/// The receive loop shared by `Recv` and the `Stream` impl.
fn poll_recv_at<T: Clone>(
    shared: &Shared<T>,
    next: &mut u64,
    slot: &mut WaitSlot,
    cx: &mut Context<'_>,
) -> Poll<Result<T, RecvError>> {
    let waiters = &shared.receivers_waiting;
    loop {
        slot.take_notification(waiters);
        let result = match try_recv_at(shared, next) {
            Ok(msg) => Ok(msg),
            Err(TryRecvError::Lagged(n)) => Err(RecvError::Lagged(n)),
            Err(TryRecvError::Closed) => Err(RecvError::Closed),
            Err(TryRecvError::Empty) => {
                ready!(slot.poll_wait(waiters, cx));
                continue;
            }
        };
        slot.discard(waiters);
        return Poll::Ready(result);
    }
}

impl<T> Receiver<T> {
    /// A new receiver that sees the messages sent from now on (not those this one has yet
    /// to see).
    ///
    /// # Examples
    ///
    /// ```
    /// use tulip_queue::channel::{self, broadcast::TryRecvError};
    ///
    /// let (tx, rx) = channel::broadcast(4);
    /// tx.send(1).unwrap();
    /// let mut fresh = rx.resubscribe();
    /// assert_eq!(fresh.try_recv(), Err(TryRecvError::Empty));
    /// ```
    #[must_use]
    pub fn resubscribe(&self) -> Self {
        let next = {
            let mut ring = lock(&self.shared.ring);
            ring.receivers += 1;
            ring.end()
        };
        Self {
            shared: Arc::clone(&self.shared),
            next,
            slot: WaitSlot::new(),
        }
    }

    /// The number of retained messages this receiver has not seen yet (not counting any it
    /// already lost to lag).
    ///
    /// # Examples
    ///
    /// ```
    /// let (tx, rx) = tulip_queue::channel::broadcast(4);
    /// tx.send(()).unwrap();
    /// tx.send(()).unwrap();
    /// assert_eq!(rx.len(), 2);
    /// ```
    pub fn len(&self) -> usize {
        let ring = lock(&self.shared.ring);
        let from = self.next.max(ring.first);
        usize::try_from(ring.end() - from).expect("at most `cap` messages are retained")
    }

    /// Whether this receiver has seen every retained message.
    ///
    /// # Examples
    ///
    /// ```
    /// let (_tx, rx) = tulip_queue::channel::broadcast::<()>(4);
    /// assert!(rx.is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether no more messages can be sent (every sender dropped, or closed).
    ///
    /// # Examples
    ///
    /// ```
    /// let (tx, rx) = tulip_queue::channel::broadcast::<()>(4);
    /// drop(tx);
    /// assert!(rx.is_closed());
    /// ```
    pub fn is_closed(&self) -> bool {
        lock(&self.shared.ring).is_finished()
    }
}

impl<T> Clone for Receiver<T> {
    /// A receiver at the same position: it will see the same messages as this one.
    fn clone(&self) -> Self {
        lock(&self.shared.ring).receivers += 1;
        Self {
            shared: Arc::clone(&self.shared),
            next: self.next,
            slot: WaitSlot::new(),
        }
    }
}

impl<T> Drop for Receiver<T> {
    fn drop(&mut self) {
        self.slot.clear(&self.shared.receivers_waiting);
        lock(&self.shared.ring).receivers -= 1;
    }
}

impl<T: Clone> Stream for Receiver<T> {
    type Item = Result<T, Lagged>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = &mut *self;
        poll_recv_at(&this.shared, &mut this.next, &mut this.slot, cx).map(|result| match result {
            Ok(msg) => Some(Ok(msg)),
            Err(RecvError::Lagged(n)) => Some(Err(Lagged(n))),
            Err(RecvError::Closed) => None,
        })
    }
}

impl<T: Clone> FusedStream for Receiver<T> {
    fn is_terminated(&self) -> bool {
        let ring = lock(&self.shared.ring);
        ring.is_finished() && self.next >= ring.end()
    }
}

impl<T> fmt::Debug for Receiver<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Receiver")
            .field("next", &self.next)
            .field("len", &self.len())
            .finish()
    }
}

/// Future of [`Receiver::recv`].
///
/// # Examples
///
/// ```
/// use tulip_queue::channel::{self, broadcast::Recv};
///
/// # futures_lite::future::block_on(async {
/// let (tx, mut rx) = channel::broadcast(1);
/// tx.send(1u8).unwrap();
/// let recv: Recv<'_, u8> = rx.recv();
/// assert_eq!(recv.await, Ok(1));
/// # });
/// ```
#[must_use = "futures do nothing unless polled"]
pub struct Recv<'a, T> {
    receiver: &'a mut Receiver<T>,
    slot: WaitSlot,
}

impl<T: Clone> Future for Recv<'_, T> {
    type Output = Result<T, RecvError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = &mut *self;
        let receiver = &mut *this.receiver;
        poll_recv_at(&receiver.shared, &mut receiver.next, &mut this.slot, cx)
    }
}

impl<T> Drop for Recv<'_, T> {
    fn drop(&mut self) {
        self.slot.clear(&self.receiver.shared.receivers_waiting);
    }
}

impl<T> fmt::Debug for Recv<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Recv").finish_non_exhaustive()
    }
}

/// [`Sender::send`] failed: there is no receiver, or the channel was closed. Holds the
/// message.
///
/// # Examples
///
/// ```
/// use tulip_queue::channel::{self, broadcast::SendError};
///
/// let (tx, rx) = channel::broadcast(1);
/// drop(rx);
/// let SendError(msg) = tx.send(1).unwrap_err();
/// assert_eq!(msg, 1);
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct SendError<T>(pub T);

impl<T> SendError<T> {
    /// Returns the message that could not be sent.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(tulip_queue::channel::broadcast::SendError(1).into_inner(), 1);
    /// ```
    pub fn into_inner(self) -> T {
        self.0
    }
}

impl<T> fmt::Debug for SendError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SendError(..)")
    }
}

impl<T> fmt::Display for SendError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("broadcasting with no receiver, or into a closed channel")
    }
}

impl<T> Error for SendError<T> {}

/// A receiver fell behind: this many messages were evicted before it saw them. The stream
/// form of [`RecvError::Lagged`].
///
/// # Examples
///
/// ```
/// use tulip_queue::channel::broadcast::{Lagged, RecvError};
///
/// assert_eq!(RecvError::from(Lagged(3)), RecvError::Lagged(3));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Lagged(pub u64);

impl fmt::Display for Lagged {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "receiver lagged behind and missed {} messages", self.0)
    }
}

impl Error for Lagged {}

impl From<Lagged> for RecvError {
    fn from(Lagged(n): Lagged) -> Self {
        Self::Lagged(n)
    }
}

/// Why [`Receiver::recv`] failed.
///
/// # Examples
///
/// ```
/// use tulip_queue::channel::{self, broadcast::RecvError};
///
/// let (tx, mut rx) = channel::broadcast::<u8>(1);
/// drop(tx);
/// assert_eq!(rx.recv_blocking(), Err(RecvError::Closed));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RecvError {
    /// The receiver missed this many messages; it now points at the oldest retained one.
    Lagged(u64),
    /// No sender is left (or the channel was closed) and every message has been seen.
    Closed,
}

impl fmt::Display for RecvError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Lagged(n) => write!(f, "receiver lagged behind and missed {n} messages"),
            Self::Closed => f.write_str("broadcast channel closed"),
        }
    }
}

impl Error for RecvError {}

/// Why [`Receiver::try_recv`] failed.
///
/// # Examples
///
/// ```
/// use tulip_queue::channel::{self, broadcast::TryRecvError};
///
/// let (tx, mut rx) = channel::broadcast::<u8>(1);
/// assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
/// drop(tx);
/// assert_eq!(rx.try_recv(), Err(TryRecvError::Closed));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TryRecvError {
    /// No new message.
    Empty,
    /// The receiver missed this many messages; it now points at the oldest retained one.
    Lagged(u64),
    /// No sender is left (or the channel was closed) and every message has been seen.
    Closed,
}

impl fmt::Display for TryRecvError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Empty => f.write_str("no new message"),
            Self::Lagged(n) => write!(f, "receiver lagged behind and missed {n} messages"),
            Self::Closed => f.write_str("broadcast channel closed"),
        }
    }
}

impl Error for TryRecvError {}
