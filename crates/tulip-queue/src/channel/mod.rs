//! Channels: split sender and receiver halves, closed when either side is gone.
//!
//! | constructor | senders → receivers | each message goes to | a full channel… |
//! |---|---|---|---|
//! | [`bounded(cap)`](bounded) | many → many | one receiver | makes `send` wait |
//! | [`unbounded()`](unbounded) | many → many | one receiver | never happens |
//! | [`oneshot()`](oneshot()) | one → one, one value | the receiver | never happens |
//! | [`broadcast(cap)`](broadcast()) | many → many | every receiver | evicts the oldest; laggards get [`Lagged`](broadcast::Lagged) |
//! | [`watch(initial)`](watch()) | one → many, latest value | every receiver | replaces the value |
//!
//! Where [`Queue`](crate::Queue) is asyncio's shared handle with explicit
//! [`shutdown`](crate::Queue::shutdown), channels close on their own: the mpmc channel when
//! the last sender (receivers drain, then fail) or the last receiver (sends fail, messages
//! left are dropped) is dropped, or on an explicit `close()`. Every failure is a named error
//! that hands the message back where it can.
//!
//! Receivers are [`Stream`](futures_core::Stream)s. The mpmc [`Sender`] has the usual trio
//! [`send`](Sender::send)`().await`, [`try_send`](Sender::try_send) and
//! [`send_blocking`](Sender::send_blocking); the mpmc [`Receiver`] has
//! [`recv`](Receiver::recv)`().await`, [`try_recv`](Receiver::try_recv) and
//! [`recv_blocking`](Receiver::recv_blocking). The oneshot, broadcast and watch senders never
//! wait, so their `send` is a plain method.
//!
//! # Examples
//!
//! ```
//! use tulip_queue::channel;
//!
//! # futures_lite::future::block_on(async {
//! let (tx, rx) = channel::bounded(16);
//! let (done_tx, done_rx) = channel::oneshot();
//! std::thread::spawn(move || {
//!     let mut sum = 0;
//!     while let Ok(n) = rx.recv_blocking() {
//!         sum += n;
//!     }
//!     done_tx.send(sum).unwrap();
//! });
//! for n in 1..=10 {
//!     tx.send(n).await?;
//! }
//! drop(tx); // closes the channel: the worker's loop ends
//! assert_eq!(done_rx.await?, 55);
//! # Ok::<(), Box<dyn std::error::Error>>(()) }).unwrap();
//! ```

mod mpmc;

pub mod broadcast;
// The one module with `unsafe` code: a lock-free state word over three cells (see its docs).
#[allow(unsafe_code)]
pub mod oneshot;
pub mod watch;

pub use mpmc::{
    bounded, unbounded, Receiver, RecvError, SendError, Sender, TryRecvError, TrySendError,
};

/// The named futures of the mpmc channel's [`Sender`] and [`Receiver`]. (The other flavours'
/// futures live in their modules.)
pub mod futures {
    pub use super::mpmc::{Recv, Send};
}

/// Creates a channel that carries exactly one value.
///
/// A dedicated implementation (one allocation, one small lock, a waker per side), cheaper
/// than a `bounded(1)` channel. The [`oneshot::Receiver`] is itself a future of the value.
///
/// # Examples
///
/// ```
/// use tulip_queue::channel;
///
/// # futures_lite::future::block_on(async {
/// let (tx, rx) = channel::oneshot();
/// std::thread::spawn(move || tx.send("result").unwrap());
/// assert_eq!(rx.await, Ok("result"));
/// # });
/// ```
#[must_use = "dropping both halves closes the channel at once"]
pub fn oneshot<T>() -> (oneshot::Sender<T>, oneshot::Receiver<T>) {
    oneshot::channel()
}

/// Creates a channel where every receiver sees every message, retaining the last `cap`.
///
/// Senders never wait. A receiver that falls more than `cap` messages behind gets
/// [`broadcast::RecvError::Lagged(n)`](broadcast::RecvError::Lagged), `n` being how many it
/// missed, and then continues from the oldest retained message. Messages must be `Clone`:
/// every receiver gets its own clone.
///
/// `cap` is a limit, not an allocation: memory follows the messages retained (any `cap` up to
/// `usize::MAX` is accepted).
///
/// # Panics
///
/// If `cap` is zero.
///
/// # Examples
///
/// ```
/// use tulip_queue::channel::{self, broadcast::RecvError};
///
/// # futures_lite::future::block_on(async {
/// let (tx, mut fast) = channel::broadcast(2);
/// let mut slow = tx.subscribe();
/// for n in 1..=3 {
///     tx.send(n).unwrap();
///     assert_eq!(fast.recv().await, Ok(n));
/// }
/// assert_eq!(slow.recv().await, Err(RecvError::Lagged(1)));
/// assert_eq!(slow.recv().await, Ok(2));
/// assert_eq!(slow.recv().await, Ok(3));
/// # });
/// ```
#[must_use = "dropping both halves closes the channel at once"]
pub fn broadcast<T>(cap: usize) -> (broadcast::Sender<T>, broadcast::Receiver<T>) {
    broadcast::channel(cap)
}

/// Creates a channel that holds one value, the latest, starting with `initial`.
///
/// Receivers [`borrow`](watch::Receiver::borrow) the current value and wait for the next
/// one with [`changed`](watch::Receiver::changed); each tracks the version it has seen, so
/// none misses the *latest* value, though intermediate ones may be skipped.
///
/// # Examples
///
/// ```
/// use tulip_queue::channel;
///
/// # futures_lite::future::block_on(async {
/// let (tx, mut rx) = channel::watch("starting");
/// tx.send("ready").unwrap();
/// rx.changed().await.unwrap();
/// assert_eq!(*rx.borrow(), "ready");
/// # });
/// ```
#[must_use = "dropping both halves closes the channel at once"]
pub fn watch<T>(initial: T) -> (watch::Sender<T>, watch::Receiver<T>) {
    watch::channel(initial)
}
