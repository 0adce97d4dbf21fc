//! The multi-producer multi-consumer channel: [`bounded`] and [`unbounded`].
//!
//! A [`Fifo`] holds the messages (a lock-free ring, and behind it, for a bound larger than a
//! 32 KiB ring, an overflow that grows and shrinks with the messages); three wait lists hold
//! blocked senders, blocked receivers (one wake-up per message, handed on when a woken
//! receiver is dropped, as in the queues) and receivers used as streams (every one woken per
//! message: a stream that is not polled again must not hold on to a hand-off). Two counters
//! close the channel when the last sender or the last receiver goes away.

use std::{
    error::Error,
    fmt,
    future::Future,
    pin::Pin,
    task::{ready, Context, Poll},
};

use concurrent_queue::{PopError, PushError};
use futures_core::{FusedStream, Stream};

use tulip_util::sync::{block_on, Arc, AtomicUsize, Ordering};

use crate::{
    fifo::Fifo,
    shared::drop_each,
    waiters::{WaitSlot, Waiters},
};

/// The state shared by every sender and receiver of one channel.
struct Chan<T> {
    /// The messages; closed when the channel is.
    queue: Fifo<T>,
    /// Whether `queue` has a bound, so that a receive may free room for a waiting sender.
    bounded: bool,
    /// Senders waiting for room.
    send_ops: Waiters,
    /// Receivers waiting for a message, through `recv()`.
    recv_ops: Waiters,
    /// Receivers waiting for a message, as a `Stream`.
    stream_ops: Waiters,
    /// Live `Sender`s; the one that takes it to zero closes the channel.
    senders: AtomicUsize,
    /// Live `Receiver`s; the one that takes it to zero closes the channel and drops the
    /// messages left.
    receivers: AtomicUsize,
}

impl<T> Chan<T> {
    /// Closes the queue and wakes everyone; `true` if this call closed it.
    fn close(&self) -> bool {
        if self.queue.close() {
            self.send_ops.notify_all();
            self.recv_ops.notify_all();
            self.stream_ops.notify_all();
            true
        } else {
            false
        }
    }

    #[inline(always)]
    fn try_send(&self, msg: T) -> Result<(), TrySendError<T>> {
        match self.queue.push(msg) {
            Ok(()) => {
                self.recv_ops.notify_one_and_all(&self.stream_ops);
                Ok(())
            }
            Err(PushError::Full(msg)) => Err(TrySendError::Full(msg)),
            Err(PushError::Closed(msg)) => Err(TrySendError::Closed(msg)),
        }
    }

    fn try_recv(&self) -> Result<T, TryRecvError> {
        match self.queue.pop() {
            Ok(msg) => {
                if self.bounded {
                    self.send_ops.notify_one();
                }
                Ok(msg)
            }
            Err(PopError::Empty) => Err(TryRecvError::Empty),
            Err(PopError::Closed) => Err(TryRecvError::Closed),
        }
    }

    /// The receive loop shared by `Recv` and the `Stream` impl.
    fn poll_recv(
        &self,
        waiters: &Waiters,
        slot: &mut WaitSlot,
        cx: &mut Context<'_>,
    ) -> Poll<Result<T, RecvError>> {
        loop {
            slot.take_notification(waiters);
            match self.try_recv() {
                Ok(msg) => {
                    slot.discard(waiters);
                    return Poll::Ready(Ok(msg));
                }
                Err(TryRecvError::Closed) => {
                    slot.discard(waiters);
                    return Poll::Ready(Err(RecvError));
                }
                Err(TryRecvError::Empty) => {}
            }
            ready!(slot.poll_wait(waiters, cx));
        }
    }
}

impl<T> Drop for Chan<T> {
    fn drop(&mut self) {
        drop_each(|| self.queue.pop().ok());
    }
}

/// Creates a channel that holds at most `cap` messages; senders wait while it is full.
///
/// `cap` is a limit, not an allocation: any `cap` up to `usize::MAX` is accepted, at most a
/// 32 KiB ring is allocated up front, and memory beyond it follows the messages held (see
/// [`Queue`'s memory notes](crate::Queue#memory), which apply to channels too).
///
/// # Panics
///
/// If `cap` is zero (there is no rendezvous flavour; use [`oneshot`](super::oneshot()) for a
/// single hand-over).
///
/// # Examples
///
/// ```
/// use tulip_queue::channel::{self, TrySendError};
///
/// # futures_lite::future::block_on(async {
/// let (tx, rx) = channel::bounded(1);
/// tx.send(1).await?;
/// assert_eq!(tx.try_send(2), Err(TrySendError::Full(2)));
/// assert_eq!(rx.recv().await?, 1);
///
/// // A generous limit: nothing is allocated for it.
/// let (tx, rx) = channel::bounded(usize::MAX);
/// tx.send("hi").await?;
/// assert_eq!(rx.recv().await?, "hi");
/// # Ok::<(), Box<dyn std::error::Error>>(()) }).unwrap();
/// ```
#[must_use = "dropping both halves closes the channel at once"]
pub fn bounded<T>(cap: usize) -> (Sender<T>, Receiver<T>) {
    assert!(cap > 0, "channel capacity must be positive");
    new(Fifo::bounded(cap))
}

/// Creates a channel without a capacity limit; sending never waits.
///
/// # Examples
///
/// ```
/// use tulip_queue::channel;
///
/// let (tx, rx) = channel::unbounded();
/// for n in 0..1000 {
///     tx.try_send(n).unwrap();
/// }
/// assert_eq!(rx.len(), 1000);
/// ```
#[must_use = "dropping both halves closes the channel at once"]
pub fn unbounded<T>() -> (Sender<T>, Receiver<T>) {
    new(Fifo::unbounded())
}

fn new<T>(queue: Fifo<T>) -> (Sender<T>, Receiver<T>) {
    let chan = Arc::new(Chan {
        bounded: queue.capacity().is_some(),
        queue,
        send_ops: Waiters::new("channel.send"),
        recv_ops: Waiters::new("channel.recv"),
        stream_ops: Waiters::new("channel.recv"),
        senders: AtomicUsize::new(1),
        receivers: AtomicUsize::new(1),
    });
    let sender = Sender {
        chan: Arc::clone(&chan),
    };
    let receiver = Receiver {
        chan,
        slot: WaitSlot::new(),
    };
    (sender, receiver)
}

/// The sending half of a [`bounded`] or [`unbounded`] channel. `Clone`; the channel closes
/// when the last sender is dropped (receivers then drain what is left).
///
/// # Examples
///
/// ```
/// use tulip_queue::channel;
///
/// let (tx, rx) = channel::unbounded();
/// let tx2 = tx.clone();
/// tx.try_send("a").unwrap();
/// tx2.try_send("b").unwrap();
/// drop((tx, tx2));
/// assert_eq!(rx.recv_blocking(), Ok("a"));
/// assert_eq!(rx.recv_blocking(), Ok("b"));
/// assert!(rx.recv_blocking().is_err()); // closed and empty
/// ```
pub struct Sender<T> {
    chan: Arc<Chan<T>>,
}

impl<T> Sender<T> {
    /// Sends `msg`, waiting while the channel is full.
    ///
    /// # Errors
    ///
    /// [`SendError`], holding `msg`, if the channel is closed (explicitly, or because every
    /// receiver is gone), including while this send was waiting.
    ///
    /// # Cancel safety
    ///
    /// Cancel-safe: the message is in the channel only once the future has returned
    /// `Ready(Ok(()))`; dropped earlier, the message is dropped with the future and never
    /// sent. A wake-up for a free slot that the dropped send did not use goes to the next
    /// waiting sender.
    ///
    /// # Examples
    ///
    /// ```
    /// use tulip_queue::channel;
    ///
    /// # futures_lite::future::block_on(async {
    /// let (tx, rx) = channel::bounded(1);
    /// tx.send("hi").await?;
    /// drop(rx);
    /// assert_eq!(tx.send("bye").await.unwrap_err().into_inner(), "bye");
    /// # Ok::<(), channel::SendError<&str>>(()) }).unwrap();
    /// ```
    pub fn send(&self, msg: T) -> super::futures::Send<'_, T> {
        super::futures::Send::new(self, msg)
    }

    /// Sends `msg` if there is room, without waiting.
    ///
    /// # Errors
    ///
    /// [`TrySendError::Full`] if the channel is full, [`TrySendError::Closed`] if it is
    /// closed; both hold `msg`.
    ///
    /// # Examples
    ///
    /// ```
    /// use tulip_queue::channel::{self, TrySendError};
    ///
    /// let (tx, rx) = channel::bounded(1);
    /// assert_eq!(tx.try_send(1), Ok(()));
    /// assert_eq!(tx.try_send(2), Err(TrySendError::Full(2)));
    /// rx.close();
    /// assert_eq!(tx.try_send(3), Err(TrySendError::Closed(3)));
    /// ```
    pub fn try_send(&self, msg: T) -> Result<(), TrySendError<T>> {
        self.chan.try_send(msg)
    }

    /// Sends `msg`, blocking the thread while the channel is full.
    ///
    /// # Blocking
    ///
    /// Blocks the calling thread; do not call it from async code.
    ///
    /// # Errors
    ///
    /// [`SendError`] as for [`send`](Self::send).
    ///
    /// # Examples
    ///
    /// ```
    /// use tulip_queue::channel;
    ///
    /// let (tx, rx) = channel::bounded(1);
    /// let producer = std::thread::spawn(move || {
    ///     for n in 0..3 {
    ///         tx.send_blocking(n).unwrap();
    ///     }
    /// });
    /// let got: Vec<i32> = (0..3).map(|_| rx.recv_blocking().unwrap()).collect();
    /// assert_eq!(got, [0, 1, 2]);
    /// producer.join().unwrap();
    /// ```
    pub fn send_blocking(&self, msg: T) -> Result<(), SendError<T>> {
        block_on(self.send(msg))
    }

    /// Closes the channel: sends fail from now on, receivers drain what is left. Returns
    /// `true` if this call closed it.
    ///
    /// # Examples
    ///
    /// ```
    /// use tulip_queue::channel;
    ///
    /// let (tx, rx) = channel::unbounded();
    /// tx.try_send(1).unwrap();
    /// assert!(tx.close());
    /// assert!(!tx.close());
    /// assert_eq!(rx.try_recv(), Ok(1));
    /// assert!(rx.try_recv().unwrap_err().is_closed());
    /// ```
    pub fn close(&self) -> bool {
        self.chan.close()
    }

    /// Whether the channel is closed.
    ///
    /// # Examples
    ///
    /// ```
    /// let (tx, rx) = tulip_queue::channel::unbounded::<()>();
    /// drop(rx);
    /// assert!(tx.is_closed());
    /// ```
    pub fn is_closed(&self) -> bool {
        self.chan.queue.is_closed()
    }

    /// The number of messages in the channel.
    ///
    /// # Examples
    ///
    /// ```
    /// let (tx, _rx) = tulip_queue::channel::unbounded();
    /// tx.try_send(()).unwrap();
    /// assert_eq!(tx.len(), 1);
    /// ```
    pub fn len(&self) -> usize {
        self.chan.queue.len()
    }

    /// Whether the channel holds no message.
    ///
    /// # Examples
    ///
    /// ```
    /// let (tx, _rx) = tulip_queue::channel::unbounded::<()>();
    /// assert!(tx.is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.chan.queue.is_empty()
    }

    /// Whether the channel is full; never for an unbounded channel.
    ///
    /// # Examples
    ///
    /// ```
    /// let (tx, _rx) = tulip_queue::channel::bounded(1);
    /// tx.try_send(()).unwrap();
    /// assert!(tx.is_full());
    /// ```
    pub fn is_full(&self) -> bool {
        self.chan.queue.is_full()
    }

    /// The capacity; `None` for an unbounded channel.
    ///
    /// # Examples
    ///
    /// ```
    /// let (tx, _rx) = tulip_queue::channel::bounded::<()>(4);
    /// assert_eq!(tx.capacity(), Some(4));
    /// ```
    pub fn capacity(&self) -> Option<usize> {
        self.chan.queue.capacity()
    }

    /// The number of live senders.
    ///
    /// # Examples
    ///
    /// ```
    /// let (tx, _rx) = tulip_queue::channel::unbounded::<()>();
    /// let _tx2 = tx.clone();
    /// assert_eq!(tx.sender_count(), 2);
    /// ```
    pub fn sender_count(&self) -> usize {
        self.chan.senders.load(Ordering::SeqCst)
    }

    /// The number of live receivers.
    ///
    /// # Examples
    ///
    /// ```
    /// let (tx, rx) = tulip_queue::channel::unbounded::<()>();
    /// let _rx2 = rx.clone();
    /// assert_eq!(tx.receiver_count(), 2);
    /// ```
    pub fn receiver_count(&self) -> usize {
        self.chan.receivers.load(Ordering::SeqCst)
    }

    /// Whether both senders belong to the same channel.
    ///
    /// # Examples
    ///
    /// ```
    /// let (tx, _rx) = tulip_queue::channel::unbounded::<()>();
    /// assert!(tx.same_channel(&tx.clone()));
    /// ```
    pub fn same_channel(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.chan, &other.chan)
    }
}

impl<T> Clone for Sender<T> {
    /// Another sender on the same channel.
    fn clone(&self) -> Self {
        self.chan.senders.fetch_add(1, Ordering::Relaxed);
        Self {
            chan: Arc::clone(&self.chan),
        }
    }
}

impl<T> Drop for Sender<T> {
    fn drop(&mut self) {
        if self.chan.senders.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.chan.close();
        }
    }
}

impl<T> fmt::Debug for Sender<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sender")
            .field("len", &self.len())
            .field("capacity", &self.capacity())
            .field("closed", &self.is_closed())
            .finish()
    }
}

/// The receiving half of a [`bounded`] or [`unbounded`] channel. `Clone` (each message goes
/// to one receiver); a [`Stream`] of messages that ends when the channel is closed and empty.
/// When the last receiver is dropped the channel closes and the messages left are dropped.
///
/// # Examples
///
/// ```
/// use futures_lite::StreamExt;
/// use tulip_queue::channel;
///
/// # futures_lite::future::block_on(async {
/// let (tx, rx) = channel::unbounded();
/// for n in 1..=3 {
///     tx.try_send(n).unwrap();
/// }
/// drop(tx);
/// let all: Vec<i32> = rx.collect().await;
/// assert_eq!(all, [1, 2, 3]);
/// # });
/// ```
pub struct Receiver<T> {
    chan: Arc<Chan<T>>,
    /// The `Stream` impl's place in `stream_ops`.
    slot: WaitSlot,
}

impl<T> Receiver<T> {
    /// Receives a message, waiting while the channel is empty.
    ///
    /// # Errors
    ///
    /// [`RecvError`] once the channel is closed and empty.
    ///
    /// # Cancel safety
    ///
    /// Cancel-safe: a message is taken only inside the `poll` that returns it. A receive that
    /// was woken by a send and dropped before it ran takes nothing: the message stays in the
    /// channel and the wake-up goes to the next waiting receiver.
    ///
    /// # Examples
    ///
    /// ```
    /// use tulip_queue::channel;
    ///
    /// # futures_lite::future::block_on(async {
    /// let (tx, rx) = channel::unbounded();
    /// tx.try_send(1).unwrap();
    /// assert_eq!(rx.recv().await, Ok(1));
    /// drop(tx);
    /// assert_eq!(rx.recv().await, Err(channel::RecvError));
    /// # });
    /// ```
    pub fn recv(&self) -> super::futures::Recv<'_, T> {
        super::futures::Recv::new(self)
    }

    /// Receives a message if one is available, without waiting.
    ///
    /// # Errors
    ///
    /// [`TryRecvError::Empty`] if the channel is empty, [`TryRecvError::Closed`] if it is
    /// empty and closed.
    ///
    /// # Examples
    ///
    /// ```
    /// use tulip_queue::channel::{self, TryRecvError};
    ///
    /// let (tx, rx) = channel::unbounded::<u8>();
    /// assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
    /// drop(tx);
    /// assert_eq!(rx.try_recv(), Err(TryRecvError::Closed));
    /// ```
    pub fn try_recv(&self) -> Result<T, TryRecvError> {
        self.chan.try_recv()
    }

    /// Receives a message, blocking the thread while the channel is empty.
    ///
    /// # Blocking
    ///
    /// Blocks the calling thread; do not call it from async code.
    ///
    /// # Errors
    ///
    /// [`RecvError`] as for [`recv`](Self::recv).
    ///
    /// # Examples
    ///
    /// ```
    /// use tulip_queue::channel;
    ///
    /// let (tx, rx) = channel::bounded(1);
    /// std::thread::spawn(move || tx.send_blocking(9).unwrap());
    /// assert_eq!(rx.recv_blocking(), Ok(9));
    /// ```
    pub fn recv_blocking(&self) -> Result<T, RecvError> {
        block_on(self.recv())
    }

    /// Closes the channel: sends fail from now on, receivers drain what is left. Returns
    /// `true` if this call closed it.
    ///
    /// # Examples
    ///
    /// ```
    /// let (tx, rx) = tulip_queue::channel::unbounded::<()>();
    /// assert!(rx.close());
    /// assert!(tx.is_closed());
    /// ```
    pub fn close(&self) -> bool {
        self.chan.close()
    }

    /// Whether the channel is closed.
    ///
    /// # Examples
    ///
    /// ```
    /// let (tx, rx) = tulip_queue::channel::unbounded::<()>();
    /// drop(tx);
    /// assert!(rx.is_closed());
    /// ```
    pub fn is_closed(&self) -> bool {
        self.chan.queue.is_closed()
    }

    /// The number of messages in the channel.
    ///
    /// # Examples
    ///
    /// ```
    /// let (tx, rx) = tulip_queue::channel::unbounded();
    /// tx.try_send(()).unwrap();
    /// assert_eq!(rx.len(), 1);
    /// ```
    pub fn len(&self) -> usize {
        self.chan.queue.len()
    }

    /// Whether the channel holds no message.
    ///
    /// # Examples
    ///
    /// ```
    /// let (_tx, rx) = tulip_queue::channel::unbounded::<()>();
    /// assert!(rx.is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.chan.queue.is_empty()
    }

    /// Whether the channel is full; never for an unbounded channel.
    ///
    /// # Examples
    ///
    /// ```
    /// let (tx, rx) = tulip_queue::channel::bounded(1);
    /// tx.try_send(()).unwrap();
    /// assert!(rx.is_full());
    /// ```
    pub fn is_full(&self) -> bool {
        self.chan.queue.is_full()
    }

    /// The capacity; `None` for an unbounded channel.
    ///
    /// # Examples
    ///
    /// ```
    /// let (_tx, rx) = tulip_queue::channel::unbounded::<()>();
    /// assert_eq!(rx.capacity(), None);
    /// ```
    pub fn capacity(&self) -> Option<usize> {
        self.chan.queue.capacity()
    }

    /// The number of live senders.
    ///
    /// # Examples
    ///
    /// ```
    /// let (tx, rx) = tulip_queue::channel::unbounded::<()>();
    /// drop(tx);
    /// assert_eq!(rx.sender_count(), 0);
    /// ```
    pub fn sender_count(&self) -> usize {
        self.chan.senders.load(Ordering::SeqCst)
    }

    /// The number of live receivers.
    ///
    /// # Examples
    ///
    /// ```
    /// let (_tx, rx) = tulip_queue::channel::unbounded::<()>();
    /// assert_eq!(rx.receiver_count(), 1);
    /// ```
    pub fn receiver_count(&self) -> usize {
        self.chan.receivers.load(Ordering::SeqCst)
    }

    /// Whether both receivers belong to the same channel.
    ///
    /// # Examples
    ///
    /// ```
    /// let (_tx, rx) = tulip_queue::channel::unbounded::<()>();
    /// assert!(rx.same_channel(&rx.clone()));
    /// ```
    pub fn same_channel(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.chan, &other.chan)
    }
}

impl<T> Clone for Receiver<T> {
    /// Another receiver on the same channel (messages are shared out, not duplicated).
    fn clone(&self) -> Self {
        self.chan.receivers.fetch_add(1, Ordering::Relaxed);
        Self {
            chan: Arc::clone(&self.chan),
            slot: WaitSlot::new(),
        }
    }
}

impl<T> Drop for Receiver<T> {
    fn drop(&mut self) {
        self.slot.clear(&self.chan.stream_ops);
        if self.chan.receivers.fetch_sub(1, Ordering::AcqRel) == 1 {
            // Nobody can receive any more: close, then drop what is left (no send can succeed
            // after the close, so the drain leaves the channel empty for good).
            self.chan.close();
            drop_each(|| self.chan.queue.pop().ok());
        }
    }
}

impl<T> Stream for Receiver<T> {
    type Item = T;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<T>> {
        let this = &mut *self;
        let chan = &*this.chan;
        chan.poll_recv(&chan.stream_ops, &mut this.slot, cx)
            .map(Result::ok)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.len(), None)
    }
}

impl<T> FusedStream for Receiver<T> {
    fn is_terminated(&self) -> bool {
        self.chan.queue.is_closed() && self.chan.queue.is_empty()
    }
}

impl<T> fmt::Debug for Receiver<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Receiver")
            .field("len", &self.len())
            .field("capacity", &self.capacity())
            .field("closed", &self.is_closed())
            .finish()
    }
}

/// Future of [`Sender::send`].
///
/// # Examples
///
/// ```
/// use tulip_queue::channel::{self, futures::Send};
///
/// # futures_lite::future::block_on(async {
/// let (tx, rx) = channel::bounded(1);
/// let send: Send<'_, u8> = tx.send(1);
/// send.await.unwrap();
/// assert_eq!(rx.try_recv(), Ok(1));
/// # });
/// ```
#[must_use = "futures do nothing unless polled"]
pub struct Send<'a, T> {
    sender: &'a Sender<T>,
    msg: Option<T>,
    slot: WaitSlot,
}

impl<'a, T> Send<'a, T> {
    fn new(sender: &'a Sender<T>, msg: T) -> Self {
        Self {
            sender,
            msg: Some(msg),
            slot: WaitSlot::new(),
        }
    }

    /// Gives up on the send and returns the message, unless the send already completed.
    ///
    /// # Examples
    ///
    /// ```
    /// use tulip_queue::channel;
    /// use futures_lite::future;
    ///
    /// let (tx, _rx) = channel::bounded(1);
    /// tx.try_send(1).unwrap();
    /// let mut send = tx.send(2);
    /// assert!(future::block_on(future::poll_once(&mut send)).is_none()); // full
    /// assert_eq!(send.into_inner(), Some(2));
    /// ```
    pub fn into_inner(mut self) -> Option<T> {
        self.msg.take()
    }
}

// The message is never pinned: it is moved in and out by value.
impl<T> Unpin for Send<'_, T> {}

impl<T> Future for Send<'_, T> {
    type Output = Result<(), SendError<T>>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        let chan = &*this.sender.chan;
        loop {
            this.slot.take_notification(&chan.send_ops);
            let msg = this.msg.take().expect("`Send` polled after completion");
            match chan.try_send(msg) {
                Ok(()) => {
                    this.slot.discard(&chan.send_ops);
                    return Poll::Ready(Ok(()));
                }
                Err(TrySendError::Closed(msg)) => {
                    this.slot.discard(&chan.send_ops);
                    return Poll::Ready(Err(SendError(msg)));
                }
                Err(TrySendError::Full(msg)) => this.msg = Some(msg),
            }
            ready!(this.slot.poll_wait(&chan.send_ops, cx));
        }
    }
}

impl<T> Drop for Send<'_, T> {
    fn drop(&mut self) {
        self.slot.clear(&self.sender.chan.send_ops);
    }
}

impl<T> fmt::Debug for Send<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Send")
            .field("pending", &self.msg.is_some())
            .finish()
    }
}

/// Future of [`Receiver::recv`].
///
/// # Examples
///
/// ```
/// use tulip_queue::channel::{self, futures::Recv};
///
/// # futures_lite::future::block_on(async {
/// let (tx, rx) = channel::unbounded();
/// tx.try_send('r').unwrap();
/// let recv: Recv<'_, char> = rx.recv();
/// assert_eq!(recv.await, Ok('r'));
/// # });
/// ```
#[must_use = "futures do nothing unless polled"]
pub struct Recv<'a, T> {
    receiver: &'a Receiver<T>,
    slot: WaitSlot,
}

impl<'a, T> Recv<'a, T> {
    fn new(receiver: &'a Receiver<T>) -> Self {
        Self {
            receiver,
            slot: WaitSlot::new(),
        }
    }
}

impl<T> Future for Recv<'_, T> {
    type Output = Result<T, RecvError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = &mut *self;
        let chan = &*this.receiver.chan;
        chan.poll_recv(&chan.recv_ops, &mut this.slot, cx)
    }
}

impl<T> Drop for Recv<'_, T> {
    fn drop(&mut self) {
        self.slot.clear(&self.receiver.chan.recv_ops);
    }
}

impl<T> fmt::Debug for Recv<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Recv").finish_non_exhaustive()
    }
}

/// [`Sender::send`] failed because the channel is closed; holds the message.
///
/// # Examples
///
/// ```
/// use tulip_queue::channel::{self, SendError};
///
/// let (tx, rx) = channel::unbounded();
/// drop(rx);
/// assert_eq!(tx.send_blocking(5), Err(SendError(5)));
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct SendError<T>(pub T);

impl<T> SendError<T> {
    /// Returns the message that could not be sent.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(tulip_queue::channel::SendError(1).into_inner(), 1);
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
        f.write_str("sending into a closed channel")
    }
}

impl<T> Error for SendError<T> {}

/// Why [`Sender::try_send`] failed; holds the message.
///
/// # Examples
///
/// ```
/// use tulip_queue::channel::{self, TrySendError};
///
/// let (tx, _rx) = channel::bounded(1);
/// tx.try_send(1).unwrap();
/// let err: TrySendError<i32> = tx.try_send(2).unwrap_err();
/// assert!(err.is_full());
/// assert_eq!(err.into_inner(), 2);
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub enum TrySendError<T> {
    /// The channel is full.
    Full(T),
    /// The channel is closed.
    Closed(T),
}

impl<T> TrySendError<T> {
    /// Returns the message that could not be sent.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(tulip_queue::channel::TrySendError::Closed(3).into_inner(), 3);
    /// ```
    pub fn into_inner(self) -> T {
        match self {
            Self::Full(msg) | Self::Closed(msg) => msg,
        }
    }

    /// Whether the channel was full.
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(tulip_queue::channel::TrySendError::Full(()).is_full());
    /// ```
    pub fn is_full(&self) -> bool {
        matches!(self, Self::Full(_))
    }

    /// Whether the channel was closed.
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(tulip_queue::channel::TrySendError::Closed(()).is_closed());
    /// ```
    pub fn is_closed(&self) -> bool {
        matches!(self, Self::Closed(_))
    }
}

impl<T> fmt::Debug for TrySendError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Full(_) => f.write_str("Full(..)"),
            Self::Closed(_) => f.write_str("Closed(..)"),
        }
    }
}

impl<T> fmt::Display for TrySendError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Full(_) => f.write_str("sending into a full channel"),
            Self::Closed(_) => f.write_str("sending into a closed channel"),
        }
    }
}

impl<T> Error for TrySendError<T> {}

impl<T> From<SendError<T>> for TrySendError<T> {
    fn from(SendError(msg): SendError<T>) -> Self {
        Self::Closed(msg)
    }
}

/// [`Receiver::recv`] failed because the channel is closed and empty.
///
/// # Examples
///
/// ```
/// use tulip_queue::channel::{self, RecvError};
///
/// let (tx, rx) = channel::unbounded::<()>();
/// drop(tx);
/// assert_eq!(rx.recv_blocking(), Err(RecvError));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct RecvError;

impl fmt::Display for RecvError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("receiving from a closed and empty channel")
    }
}

impl Error for RecvError {}

/// Why [`Receiver::try_recv`] failed.
///
/// # Examples
///
/// ```
/// use tulip_queue::channel::{self, TryRecvError};
///
/// let (tx, rx) = channel::unbounded::<()>();
/// assert!(rx.try_recv().unwrap_err().is_empty());
/// drop(tx);
/// assert_eq!(rx.try_recv(), Err(TryRecvError::Closed));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TryRecvError {
    /// The channel is empty.
    Empty,
    /// The channel is empty and closed.
    Closed,
}

impl TryRecvError {
    /// Whether the channel was merely empty.
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(tulip_queue::channel::TryRecvError::Empty.is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        *self == Self::Empty
    }

    /// Whether the channel was closed.
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(tulip_queue::channel::TryRecvError::Closed.is_closed());
    /// ```
    pub fn is_closed(&self) -> bool {
        *self == Self::Closed
    }
}

impl fmt::Display for TryRecvError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Empty => f.write_str("receiving from an empty channel"),
            Self::Closed => f.write_str("receiving from a closed and empty channel"),
        }
    }
}

impl Error for TryRecvError {}

impl From<RecvError> for TryRecvError {
    fn from(RecvError: RecvError) -> Self {
        Self::Closed
    }
}
