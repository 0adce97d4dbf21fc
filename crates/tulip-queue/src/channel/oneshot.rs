//! A channel for exactly one value: [`oneshot()`](super::oneshot()).
//!
//! A dedicated implementation rather than `bounded(1)`: one allocation, one small lock, and
//! one waker slot per side, instead of a queue and three wait lists. The lock is held for a
//! few loads and stores only; wakers are woken and values dropped after it is released.
//!
//! # States
//!
//! | `value` | `sent` | meaning |
//! |---|---|---|
//! | `None` | `false` | the sender is alive and has not sent |
//! | `Some` | `true` | sent, not yet received |
//! | `None` | `true` | received, or the sender was dropped without sending |
//!
//! `rx_closed` is set when the receiver is dropped or [`Receiver::close`]d; a send after that
//! fails and hands the value back.

use std::{
    error::Error,
    fmt,
    future::Future,
    pin::Pin,
    task::{Context, Poll, Waker},
};

use futures_core::{FusedFuture, FusedStream, Stream};

use tulip_util::sync::{block_on, lock, Arc, Mutex};

/// The channel state, under one lock.
struct State<T> {
    /// The value, between `send` and its receipt.
    value: Option<T>,
    /// The sender is done: it sent, or it was dropped.
    sent: bool,
    /// The receiver is gone or closed: sends fail.
    rx_closed: bool,
    /// The receiver's waker, while it waits for the value.
    rx_waker: Option<Waker>,
    /// The sender's waker, while it waits in [`Sender::closed`].
    tx_waker: Option<Waker>,
}

type Inner<T> = Arc<Mutex<State<T>>>;

/// Creates a channel for one value; see [`oneshot`](super::oneshot()).
pub(super) fn channel<T>() -> (Sender<T>, Receiver<T>) {
    let inner = Arc::new(Mutex::new(State {
        value: None,
        sent: false,
        rx_closed: false,
        rx_waker: None,
        tx_waker: None,
    }));
    let sender = Sender {
        inner: Some(Arc::clone(&inner)),
    };
    let receiver = Receiver { inner, done: false };
    (sender, receiver)
}

/// Stores `waker` in `slot` unless an equivalent one is already there.
fn register(slot: &mut Option<Waker>, waker: &Waker) {
    match slot {
        Some(old) if old.will_wake(waker) => {}
        _ => *slot = Some(waker.clone()),
    }
}

/// The sending half of a [`oneshot`](super::oneshot()) channel.
///
/// Dropping it without sending makes the receiver fail with [`RecvError`].
///
/// # Examples
///
/// ```
/// use tulip_queue::channel;
///
/// # futures_lite::future::block_on(async {
/// let (tx, rx) = channel::oneshot();
/// std::thread::spawn(move || tx.send(42).unwrap());
/// assert_eq!(rx.await, Ok(42));
/// # });
/// ```
pub struct Sender<T> {
    /// `None` once `send` has consumed the sender's part.
    inner: Option<Inner<T>>,
}

impl<T> Sender<T> {
    /// Sends the value. Never waits.
    ///
    /// # Errors
    ///
    /// [`SendError`], holding the value, if the receiver was dropped or closed.
    ///
    /// # Examples
    ///
    /// ```
    /// use tulip_queue::channel::{self, oneshot::SendError};
    ///
    /// let (tx, rx) = channel::oneshot();
    /// drop(rx);
    /// assert_eq!(tx.send("lost"), Err(SendError("lost")));
    /// ```
    #[doc(alias = "try_send")]
    pub fn send(mut self, value: T) -> Result<(), SendError<T>> {
        let inner = self
            .inner
            .take()
            .expect("a Sender holds the channel until sent");
        let waker = {
            let mut state = lock(&inner);
            if state.rx_closed {
                // The receiver can never take it: hand it back, and count as sent-and-gone.
                state.sent = true;
                return Err(SendError(value));
            }
            state.value = Some(value);
            state.sent = true;
            state.rx_waker.take()
        };
        if let Some(waker) = waker {
            waker.wake();
        }
        Ok(())
    }

    /// Whether the receiver was dropped or closed (a send would fail).
    ///
    /// # Examples
    ///
    /// ```
    /// let (tx, rx) = tulip_queue::channel::oneshot::<()>();
    /// assert!(!tx.is_closed());
    /// drop(rx);
    /// assert!(tx.is_closed());
    /// ```
    pub fn is_closed(&self) -> bool {
        self.inner
            .as_ref()
            .is_none_or(|inner| lock(inner).rx_closed)
    }

    /// Waits until the receiver is dropped or closed: lets a producer stop working on a value
    /// nobody wants any more.
    ///
    /// # Cancel safety
    ///
    /// Cancel-safe: it only observes.
    ///
    /// # Examples
    ///
    /// ```
    /// use tulip_queue::channel;
    ///
    /// # futures_lite::future::block_on(async {
    /// let (mut tx, rx) = channel::oneshot::<()>();
    /// std::thread::spawn(move || drop(rx));
    /// tx.closed().await;
    /// assert!(tx.is_closed());
    /// # });
    /// ```
    pub fn closed(&mut self) -> Closed<'_, T> {
        Closed { sender: self }
    }
}

impl<T> Drop for Sender<T> {
    fn drop(&mut self) {
        if let Some(inner) = self.inner.take() {
            let waker = {
                let mut state = lock(&inner);
                state.sent = true;
                state.tx_waker = None;
                state.rx_waker.take()
            };
            if let Some(waker) = waker {
                waker.wake();
            }
        }
    }
}

impl<T> fmt::Debug for Sender<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sender")
            .field("closed", &self.is_closed())
            .finish()
    }
}

/// Future of [`Sender::closed`].
///
/// # Examples
///
/// ```
/// use tulip_queue::channel::{self, oneshot::Closed};
///
/// # futures_lite::future::block_on(async {
/// let (mut tx, rx) = channel::oneshot::<u8>();
/// drop(rx);
/// let closed: Closed<'_, u8> = tx.closed();
/// closed.await;
/// # });
/// ```
#[must_use = "futures do nothing unless polled"]
pub struct Closed<'a, T> {
    sender: &'a mut Sender<T>,
}

impl<T> Future for Closed<'_, T> {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let Some(inner) = self.sender.inner.as_ref() else {
            return Poll::Ready(());
        };
        let mut state = lock(inner);
        if state.rx_closed {
            Poll::Ready(())
        } else {
            register(&mut state.tx_waker, cx.waker());
            drop(state);
            tulip_util::waiting::note_waiting("oneshot.closed", &**inner);
            Poll::Pending
        }
    }
}

impl<T> fmt::Debug for Closed<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Closed").finish_non_exhaustive()
    }
}

/// The receiving half of a [`oneshot`](super::oneshot()) channel.
///
/// It is itself a future of the value (`rx.await`), and a [`Stream`] that yields the value
/// once. [`recv`](Self::recv) borrows instead, so a `select` loop can poll it repeatedly.
///
/// # Examples
///
/// ```
/// use tulip_queue::channel;
///
/// # futures_lite::future::block_on(async {
/// let (tx, mut rx) = channel::oneshot();
/// tx.send("done").unwrap();
/// assert_eq!(rx.recv().await, Ok("done"));
/// # });
/// ```
pub struct Receiver<T> {
    inner: Inner<T>,
    /// The value was taken or the channel found empty for good: the stream has ended.
    done: bool,
}

impl<T> Receiver<T> {
    /// Waits for the value, borrowing the receiver.
    ///
    /// # Errors
    ///
    /// [`RecvError`] if the sender was dropped without sending, or the value was already
    /// received.
    ///
    /// # Cancel safety
    ///
    /// Cancel-safe: the value is taken only inside the `poll` that returns it; dropping the
    /// future earlier leaves it in the channel.
    ///
    /// # Examples
    ///
    /// ```
    /// use tulip_queue::channel::{self, oneshot::RecvError};
    ///
    /// # futures_lite::future::block_on(async {
    /// let (tx, mut rx) = channel::oneshot::<u8>();
    /// drop(tx);
    /// assert_eq!(rx.recv().await, Err(RecvError));
    /// # });
    /// ```
    pub fn recv(&mut self) -> Recv<'_, T> {
        Recv { receiver: self }
    }

    /// Takes the value if it has been sent, without waiting.
    ///
    /// # Errors
    ///
    /// [`TryRecvError::Empty`] if nothing was sent yet, [`TryRecvError::Closed`] if the sender
    /// was dropped without sending or the value was already received.
    ///
    /// # Examples
    ///
    /// ```
    /// use tulip_queue::channel::{self, oneshot::TryRecvError};
    ///
    /// let (tx, mut rx) = channel::oneshot();
    /// assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
    /// tx.send(1).unwrap();
    /// assert_eq!(rx.try_recv(), Ok(1));
    /// assert_eq!(rx.try_recv(), Err(TryRecvError::Closed));
    /// ```
    pub fn try_recv(&mut self) -> Result<T, TryRecvError> {
        let mut state = lock(&self.inner);
        if let Some(value) = state.value.take() {
            self.done = true;
            Ok(value)
        } else if state.sent {
            self.done = true;
            Err(TryRecvError::Closed)
        } else {
            Err(TryRecvError::Empty)
        }
    }

    /// Blocks the thread until the value arrives.
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
    /// let (tx, rx) = channel::oneshot();
    /// std::thread::spawn(move || tx.send(5).unwrap());
    /// assert_eq!(rx.recv_blocking(), Ok(5));
    /// ```
    pub fn recv_blocking(mut self) -> Result<T, RecvError> {
        block_on(self.recv())
    }

    /// Closes the channel: a later send fails and hands its value back. A value sent before
    /// the close can still be received.
    ///
    /// # Examples
    ///
    /// ```
    /// use tulip_queue::channel;
    ///
    /// let (tx, mut rx) = channel::oneshot();
    /// rx.close();
    /// assert!(tx.is_closed());
    /// assert!(tx.send(1).is_err());
    /// ```
    pub fn close(&mut self) {
        let waker = {
            let mut state = lock(&self.inner);
            state.rx_closed = true;
            state.tx_waker.take()
        };
        if let Some(waker) = waker {
            waker.wake();
        }
    }

    /// Whether the value has been sent and not yet received.
    ///
    /// # Examples
    ///
    /// ```
    /// let (tx, rx) = tulip_queue::channel::oneshot();
    /// tx.send(()).unwrap();
    /// assert!(rx.is_ready());
    /// ```
    pub fn is_ready(&self) -> bool {
        lock(&self.inner).value.is_some()
    }

    /// The shared poll: takes the value, or registers `cx`'s waker.
    fn poll_value(&mut self, cx: &mut Context<'_>) -> Poll<Result<T, RecvError>> {
        let mut state = lock(&self.inner);
        if let Some(value) = state.value.take() {
            self.done = true;
            Poll::Ready(Ok(value))
        } else if state.sent {
            self.done = true;
            Poll::Ready(Err(RecvError))
        } else {
            register(&mut state.rx_waker, cx.waker());
            drop(state);
            tulip_util::waiting::note_waiting("oneshot.recv", &*self.inner);
            Poll::Pending
        }
    }
}

impl<T> Future for Receiver<T> {
    type Output = Result<T, RecvError>;

    /// # Cancel safety
    ///
    /// Dropping the receiver drops an unreceived value with it.
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        self.poll_value(cx)
    }
}

impl<T> FusedFuture for Receiver<T> {
    fn is_terminated(&self) -> bool {
        self.done
    }
}

impl<T> Stream for Receiver<T> {
    type Item = T;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<T>> {
        if self.done {
            return Poll::Ready(None);
        }
        self.poll_value(cx).map(Result::ok)
    }
}

impl<T> FusedStream for Receiver<T> {
    fn is_terminated(&self) -> bool {
        self.done
    }
}

impl<T> Drop for Receiver<T> {
    fn drop(&mut self) {
        let (value, waker) = {
            let mut state = lock(&self.inner);
            state.rx_closed = true;
            state.rx_waker = None;
            (state.value.take(), state.tx_waker.take())
        };
        if let Some(waker) = waker {
            waker.wake();
        }
        // Outside the lock: an unreceived value is dropped here, exactly once.
        drop(value);
    }
}

impl<T> fmt::Debug for Receiver<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Receiver")
            .field("ready", &self.is_ready())
            .field("done", &self.done)
            .finish()
    }
}

/// Future of [`Receiver::recv`].
///
/// # Examples
///
/// ```
/// use tulip_queue::channel::{self, oneshot::Recv};
///
/// # futures_lite::future::block_on(async {
/// let (tx, mut rx) = channel::oneshot();
/// tx.send(1u8).unwrap();
/// let recv: Recv<'_, u8> = rx.recv();
/// assert_eq!(recv.await, Ok(1));
/// # });
/// ```
#[must_use = "futures do nothing unless polled"]
pub struct Recv<'a, T> {
    receiver: &'a mut Receiver<T>,
}

impl<T> Future for Recv<'_, T> {
    type Output = Result<T, RecvError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        self.receiver.poll_value(cx)
    }
}

impl<T> fmt::Debug for Recv<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Recv").finish_non_exhaustive()
    }
}

/// [`Sender::send`] failed because the receiver is gone; holds the value.
///
/// # Examples
///
/// ```
/// use tulip_queue::channel::{self, oneshot::SendError};
///
/// let (tx, rx) = channel::oneshot();
/// drop(rx);
/// let SendError(value) = tx.send(3).unwrap_err();
/// assert_eq!(value, 3);
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct SendError<T>(pub T);

impl<T> SendError<T> {
    /// Returns the value that could not be sent.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(tulip_queue::channel::oneshot::SendError(1).into_inner(), 1);
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
        f.write_str("the oneshot receiver is gone")
    }
}

impl<T> Error for SendError<T> {}

/// The sender was dropped without sending (or the value was already received).
///
/// # Examples
///
/// ```
/// use tulip_queue::channel::{self, oneshot::RecvError};
///
/// let (tx, rx) = channel::oneshot::<()>();
/// drop(tx);
/// assert_eq!(rx.recv_blocking(), Err(RecvError));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct RecvError;

impl fmt::Display for RecvError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the oneshot sender was dropped without sending")
    }
}

impl Error for RecvError {}

/// Why [`Receiver::try_recv`] failed.
///
/// # Examples
///
/// ```
/// use tulip_queue::channel::{self, oneshot::TryRecvError};
///
/// let (tx, mut rx) = channel::oneshot::<()>();
/// assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
/// drop(tx);
/// assert_eq!(rx.try_recv(), Err(TryRecvError::Closed));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TryRecvError {
    /// Nothing was sent yet.
    Empty,
    /// The sender was dropped without sending, or the value was already received.
    Closed,
}

impl fmt::Display for TryRecvError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Empty => f.write_str("no value sent yet"),
            Self::Closed => f.write_str("the oneshot sender is gone"),
        }
    }
}

impl Error for TryRecvError {}
