//! A channel for exactly one value: [`oneshot()`](super::oneshot()).
//!
//! A dedicated implementation rather than `bounded(1)`: one allocation, one atomic state
//! word, and one waker slot per side, instead of a queue and three wait lists. No lock: a
//! send is a write and a compare-and-swap, a receive a load (and, to wait, a waker clone and a
//! compare-and-swap), so a round trip of two oneshots costs a few hundred instructions less
//! than with a lock per operation (docs/benchmarks.md, issue 22).
//!
//! # The state word and who owns what
//!
//! | bit | set by | meaning |
//! |---|---|---|
//! | `COMPLETE` | the sender, once (send or drop) | the sender is done; `value` is published |
//! | `CLOSED` | the receiver, once (drop or [`Receiver::close`]) | sends fail from now on |
//! | `RX_WAKER` | the receiver | `rx_waker` holds the receiver's waker |
//! | `TX_WAKER` | the sender | `tx_waker` holds the waker of [`Sender::closed`] |
//!
//! The three cells are shared without a lock under these rules, which the loom models in
//! `tests/loom.rs` and Miri check:
//!
//! * `value` belongs to the sender until `COMPLETE` is set, and to the receiver from the
//!   moment it observes `COMPLETE` (an `Acquire` load or read-modify-write, which pairs with
//!   the sender's release). A sender that finds `CLOSED` before it can set `COMPLETE` takes
//!   its value back out of the cell, which it still owns, and then sets `COMPLETE` over an
//!   empty cell.
//! * `rx_waker` is written only by the receiver, and only while `RX_WAKER` is clear (it clears
//!   the bit with a compare-and-swap that fails once `COMPLETE` is set). The sender only reads
//!   it (`wake_by_ref`), and only if the read-modify-write that set `COMPLETE` found
//!   `RX_WAKER` set; from then on the bit never clears, so the cell never changes again.
//! * `tx_waker` follows the same rules with the roles swapped (`TX_WAKER`, `CLOSED`).
//!
//! Wakers stay in their cells until the shared allocation is freed; values are dropped by
//! whichever side owns them (an unreceived value with the receiver, or with the allocation).

use std::{
    error::Error,
    fmt,
    future::Future,
    pin::Pin,
    task::{Context, Poll, Waker},
};

use futures_core::{FusedFuture, FusedStream, Stream};

use tulip_util::sync::{block_on, Arc, AtomicUsize, Ordering, UnsafeCell};

/// `rx_waker` holds the receiver's waker.
const RX_WAKER: usize = 0b0001;
/// The sender is done (sent or dropped); `value` is the receiver's.
const COMPLETE: usize = 0b0010;
/// The receiver is gone or closed: sends fail.
const CLOSED: usize = 0b0100;
/// `tx_waker` holds the waker of [`Sender::closed`].
const TX_WAKER: usize = 0b1000;

/// What both halves share; see the module docs for who may touch which cell when.
struct Shared<T> {
    state: AtomicUsize,
    /// The value, between `send` and its receipt.
    value: UnsafeCell<Option<T>>,
    /// The receiver's waker, while it waits for the value.
    rx_waker: UnsafeCell<Option<Waker>>,
    /// The sender's waker, while it waits in [`Sender::closed`].
    tx_waker: UnsafeCell<Option<Waker>>,
}

// SAFETY: the cells are accessed under the ownership rules of the module docs, which the state
// word's acquire/release operations order: a value moves from the sending thread to the
// receiving one (hence `T: Send`, as for a `Mutex<T>`), and no `&T` is ever shared between the
// two sides; wakers are `Send + Sync`.
unsafe impl<T: Send> Send for Shared<T> {}
// SAFETY: as above.
unsafe impl<T: Send> Sync for Shared<T> {}

impl<T> Shared<T> {
    /// Wakes the waker in `cell`, which the caller may read (see the module docs).
    ///
    /// # Safety
    ///
    /// The caller's read-modify-write found the cell's bit set and the bit that freezes it
    /// (`COMPLETE` for `rx_waker`, `CLOSED` for `tx_waker`) clear, and set the latter.
    unsafe fn wake(cell: &UnsafeCell<Option<Waker>>) {
        // SAFETY: the cell is frozen (the caller's contract): nobody writes it any more, and
        // reads may overlap.
        cell.with(|p| unsafe {
            if let Some(w) = &*p {
                w.wake_by_ref();
            }
        });
    }

    /// Makes `cell` hold `cx`'s waker and sets `bit` to say so, unless `freeze` gets set
    /// first: `false` then (the caller's condition came true), `true` once registered.
    ///
    /// The caller is the cell's writer (the receiver for `rx_waker`, the sender for
    /// `tx_waker`).
    fn register(
        &self,
        cell: &UnsafeCell<Option<Waker>>,
        bit: usize,
        freeze: usize,
        waker: &Waker,
    ) -> bool {
        let mut s = self.state.load(Ordering::Acquire);
        if s & freeze != 0 {
            return false;
        }
        if s & bit != 0 {
            // SAFETY: we are the cell's only writer, and the other side only reads it: shared
            // reads may overlap.
            let same = cell.with(|p| unsafe { (*p).as_ref().is_some_and(|w| w.will_wake(waker)) });
            if same {
                return true;
            }
            // Take the bit back before touching the cell; impossible once frozen.
            loop {
                match self.state.compare_exchange_weak(
                    s,
                    s & !bit,
                    Ordering::AcqRel,
                    Ordering::Acquire,
                ) {
                    Ok(_) => break,
                    Err(actual) if actual & freeze != 0 => return false,
                    Err(actual) => s = actual,
                }
            }
        }
        // SAFETY: `bit` is clear and we are the only writer: the other side never reads the
        // cell while `bit` is clear.
        cell.with_mut(|p| unsafe { *p = Some(waker.clone()) });
        // `Acquire`: finding `freeze` set here hands the caller what the other side published
        // (the value, for the receiver).
        let mut s = self.state.load(Ordering::Acquire);
        loop {
            if s & freeze != 0 {
                return false;
            }
            match self
                .state
                .compare_exchange_weak(s, s | bit, Ordering::AcqRel, Ordering::Acquire)
            {
                Ok(_) => return true,
                Err(actual) => s = actual,
            }
        }
    }

    /// Sets `COMPLETE` (the sender is done): wakes the receiver if it waits. The value cell
    /// must hold what the receiver is to get.
    fn complete(&self) {
        let prev = self.state.fetch_or(COMPLETE, Ordering::AcqRel);
        debug_assert_eq!(prev & COMPLETE, 0, "a oneshot completed twice");
        if prev & RX_WAKER != 0 {
            // SAFETY: we set `COMPLETE` over a set `RX_WAKER`, which freezes `rx_waker`.
            unsafe { Self::wake(&self.rx_waker) };
        }
    }

    /// Sets `CLOSED` (the receiver is done or closed), waking the sender's `closed()` if it
    /// waits; returns the state before.
    fn close(&self) -> usize {
        let prev = self.state.fetch_or(CLOSED, Ordering::AcqRel);
        if prev & (TX_WAKER | CLOSED) == TX_WAKER {
            // SAFETY: we set `CLOSED` over a set `TX_WAKER`, which freezes `tx_waker`.
            unsafe { Self::wake(&self.tx_waker) };
        }
        prev
    }
}

type Inner<T> = Arc<Shared<T>>;

/// Creates a channel for one value; see [`oneshot`](super::oneshot()).
pub(super) fn channel<T>() -> (Sender<T>, Receiver<T>) {
    let inner = Arc::new(Shared {
        state: AtomicUsize::new(0),
        value: UnsafeCell::new(None),
        rx_waker: UnsafeCell::new(None),
        tx_waker: UnsafeCell::new(None),
    });
    let sender = Sender {
        inner: Some(Arc::clone(&inner)),
    };
    let receiver = Receiver { inner, done: false };
    (sender, receiver)
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
        if inner.state.load(Ordering::Acquire) & CLOSED != 0 {
            // The receiver can never take it: hand it back, and count as sent-and-gone.
            inner.complete();
            return Err(SendError(value));
        }
        // SAFETY: `COMPLETE` is not set (only we set it), so the value cell is ours.
        inner.value.with_mut(|p| unsafe { *p = Some(value) });
        let mut s = inner.state.load(Ordering::Relaxed);
        loop {
            if s & CLOSED != 0 {
                // Closed meanwhile: the cell is still ours (no `COMPLETE`); take the value back
                // and publish an empty cell.
                // SAFETY: as above.
                let value = inner.value.with_mut(|p| unsafe { (*p).take() });
                inner.complete();
                return Err(SendError(value.expect("the value was stored above")));
            }
            match inner.state.compare_exchange_weak(
                s,
                s | COMPLETE,
                Ordering::AcqRel,
                Ordering::Acquire,
            ) {
                Ok(prev) => {
                    if prev & RX_WAKER != 0 {
                        // SAFETY: we set `COMPLETE` over a set `RX_WAKER`.
                        unsafe { Shared::<T>::wake(&inner.rx_waker) };
                    }
                    return Ok(());
                }
                Err(actual) => s = actual,
            }
        }
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
            .is_none_or(|inner| inner.state.load(Ordering::Acquire) & CLOSED != 0)
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
            // Dropped without sending: complete over the empty cell.
            inner.complete();
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
        if inner.register(&inner.tx_waker, TX_WAKER, CLOSED, cx.waker()) {
            tulip_util::waiting::note_waiting("oneshot.closed", &**inner);
            Poll::Pending
        } else {
            Poll::Ready(())
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
        if self.inner.state.load(Ordering::Acquire) & COMPLETE == 0 {
            return Err(TryRecvError::Empty);
        }
        self.take().ok_or(TryRecvError::Closed)
    }

    /// Takes the value once the sender is done: `None` if it sent nothing or it was taken.
    fn take(&mut self) -> Option<T> {
        self.done = true;
        // SAFETY: the caller observed `COMPLETE` with `Acquire`: the cell is ours, and
        // `&mut self` makes this the only access on our side.
        self.inner.value.with_mut(|p| unsafe { (*p).take() })
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
        self.inner.close();
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
        self.inner.state.load(Ordering::Acquire) & COMPLETE != 0
            // SAFETY: `COMPLETE` was observed: the cell is ours, and only `&mut self` methods
            // write it.
            && self.inner.value.with(|p| unsafe { (*p).is_some() })
    }

    /// The shared poll: takes the value, or registers `cx`'s waker.
    fn poll_value(&mut self, cx: &mut Context<'_>) -> Poll<Result<T, RecvError>> {
        // `register` first looks for `COMPLETE` (an `Acquire` load), and gives up if a
        // read-modify-write of its own finds it set meanwhile.
        if self
            .inner
            .register(&self.inner.rx_waker, RX_WAKER, COMPLETE, cx.waker())
        {
            tulip_util::waiting::note_waiting("oneshot.recv", &*self.inner);
            return Poll::Pending;
        }
        Poll::Ready(self.take().ok_or(RecvError))
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
        // Once the sender is done nobody reads `CLOSED`: skip the read-modify-write.
        let complete = self.inner.state.load(Ordering::Acquire) & COMPLETE != 0
            || self.inner.close() & COMPLETE != 0;
        if complete && !self.done {
            // An unreceived value is dropped with the receiver, exactly once.
            drop(self.take());
        }
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
