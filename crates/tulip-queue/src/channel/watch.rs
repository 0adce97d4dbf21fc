//! A single-value channel that keeps only the latest value: [`watch()`](super::watch()).
//!
//! # Implementation
//!
//! The value and its version (how many times it was replaced) sit together behind a
//! read-write lock, so a reader always sees a value with its own version. Each receiver
//! remembers the version it has seen; it has a change to see when the current version is
//! newer. A send wakes every receiver waiting in [`Receiver::changed`]. Values are replaced in
//! place, and a replaced value is dropped (or handed back by
//! [`send_replace`](Sender::send_replace)) after the lock is released.

use std::{
    error::Error,
    fmt,
    future::Future,
    ops::Deref,
    pin::Pin,
    task::{ready, Context, Poll},
};

use futures_core::Stream;

use tulip_util::sync::{
    block_on, read, write, Arc, AtomicBool, AtomicUsize, Ordering, RwLock, RwLockReadGuard,
};

use crate::waiters::{WaitSlot, Waiters};

/// The value and its version.
struct Versioned<T> {
    value: T,
    /// Bumped by every send.
    version: u64,
}

/// The state shared by the sender and the receivers.
struct Shared<T> {
    state: RwLock<Versioned<T>>,
    /// The sender was dropped: no new version will come.
    closed: AtomicBool,
    /// Live receivers; sends fail while there is none.
    receivers: AtomicUsize,
    /// Receivers waiting for a new version (or for the sender to go).
    changed: Waiters,
    /// The sender waiting in [`Sender::closed`] for the last receiver to go.
    receivers_gone: Waiters,
}

impl<T> Shared<T> {
    /// Whether the current version is newer than `seen`, or `Err` if not and it never will be.
    fn has_changed(&self, seen: u64) -> Result<bool, RecvError> {
        if read(&self.state).version != seen {
            Ok(true)
        } else if self.closed.load(Ordering::SeqCst) {
            Err(RecvError)
        } else {
            Ok(false)
        }
    }
}

/// Creates a watch channel; see [`watch`](super::watch()).
pub(super) fn channel<T>(initial: T) -> (Sender<T>, Receiver<T>) {
    let shared = Arc::new(Shared {
        state: RwLock::new(Versioned {
            value: initial,
            version: 0,
        }),
        closed: AtomicBool::new(false),
        receivers: AtomicUsize::new(1),
        changed: Waiters::new("watch.changed"),
        receivers_gone: Waiters::new("watch.closed"),
    });
    let sender = Sender {
        shared: Arc::clone(&shared),
    };
    let receiver = Receiver {
        shared,
        seen: 0,
        slot: WaitSlot::new(),
    };
    (sender, receiver)
}

/// The sending half of a [`watch`](super::watch()) channel. Dropping it closes the channel.
///
/// # Examples
///
/// ```
/// use tulip_queue::channel;
///
/// let (tx, rx) = channel::watch("idle");
/// tx.send("busy").unwrap();
/// assert_eq!(*rx.borrow(), "busy");
/// ```
pub struct Sender<T> {
    shared: Arc<Shared<T>>,
}

impl<T> Sender<T> {
    /// Replaces the value and notifies the receivers; the old value is dropped. Never waits.
    ///
    /// # Errors
    ///
    /// [`SendError`], holding `value`, if there is no receiver; the stored value is then left
    /// unchanged (use [`send_replace`](Self::send_replace) to store regardless).
    ///
    /// # Panics
    ///
    /// Only if dropping the old value panics; the new value is in place by then.
    ///
    /// # Examples
    ///
    /// ```
    /// use tulip_queue::channel::{self, watch::SendError};
    ///
    /// let (tx, rx) = channel::watch(0);
    /// assert_eq!(tx.send(1), Ok(()));
    /// drop(rx);
    /// assert_eq!(tx.send(2), Err(SendError(2)));
    /// assert_eq!(*tx.borrow(), 1);
    /// ```
    #[doc(alias = "try_send")]
    pub fn send(&self, value: T) -> Result<(), SendError<T>> {
        if self.shared.receivers.load(Ordering::SeqCst) == 0 {
            return Err(SendError(value));
        }
        drop(self.send_replace(value));
        Ok(())
    }

    /// Replaces the value whether or not anyone is watching, notifies the receivers, and
    /// returns the old value.
    ///
    /// # Examples
    ///
    /// ```
    /// let (tx, _rx) = tulip_queue::channel::watch(1);
    /// assert_eq!(tx.send_replace(2), 1);
    /// assert_eq!(*tx.borrow(), 2);
    /// ```
    pub fn send_replace(&self, value: T) -> T {
        let old = {
            let mut state = write(&self.shared.state);
            state.version += 1;
            std::mem::replace(&mut state.value, value)
        };
        self.shared.changed.notify_all();
        old
    }

    /// Modifies the value in place and notifies the receivers.
    ///
    /// # Panics
    ///
    /// If `modify` panics; the version is then not bumped, but the value keeps whatever
    /// `modify` did to it before panicking.
    ///
    /// # Examples
    ///
    /// ```
    /// let (tx, rx) = tulip_queue::channel::watch(vec![1]);
    /// tx.send_modify(|v| v.push(2));
    /// assert_eq!(*rx.borrow(), [1, 2]);
    /// ```
    pub fn send_modify(&self, modify: impl FnOnce(&mut T)) {
        self.send_if_modified(|value| {
            modify(value);
            true
        });
    }

    /// Modifies the value in place; notifies the receivers only if `modify` returns `true`.
    /// Returns what `modify` returned.
    ///
    /// # Panics
    ///
    /// If `modify` panics, as for [`send_modify`](Self::send_modify).
    ///
    /// # Examples
    ///
    /// ```
    /// let (tx, rx) = tulip_queue::channel::watch(5);
    /// assert!(!tx.send_if_modified(|v| if *v > 10 { *v = 0; true } else { false }));
    /// assert_eq!(rx.has_changed(), Ok(false));
    /// ```
    pub fn send_if_modified(&self, modify: impl FnOnce(&mut T) -> bool) -> bool {
        let modified = {
            let mut state = write(&self.shared.state);
            let modified = modify(&mut state.value);
            if modified {
                state.version += 1;
            }
            modified
        };
        if modified {
            self.shared.changed.notify_all();
        }
        modified
    }

    /// Borrows the current value. Hold the [`Ref`] briefly: sends wait for it.
    ///
    /// # Examples
    ///
    /// ```
    /// let (tx, _rx) = tulip_queue::channel::watch('a');
    /// assert_eq!(*tx.borrow(), 'a');
    /// ```
    pub fn borrow(&self) -> Ref<'_, T> {
        Ref {
            guard: read(&self.shared.state),
            has_changed: false,
        }
    }

    /// A new receiver that has seen the current value.
    ///
    /// # Examples
    ///
    /// ```
    /// let (tx, rx) = tulip_queue::channel::watch(0);
    /// drop(rx);
    /// let rx = tx.subscribe();
    /// tx.send(1).unwrap();
    /// assert_eq!(rx.has_changed(), Ok(true));
    /// ```
    #[must_use]
    pub fn subscribe(&self) -> Receiver<T> {
        self.shared.receivers.fetch_add(1, Ordering::SeqCst);
        let seen = read(&self.shared.state).version;
        Receiver {
            shared: Arc::clone(&self.shared),
            seen,
            slot: WaitSlot::new(),
        }
    }

    /// The number of live receivers.
    ///
    /// # Examples
    ///
    /// ```
    /// let (tx, rx) = tulip_queue::channel::watch(());
    /// let _rx2 = rx.clone();
    /// assert_eq!(tx.receiver_count(), 2);
    /// ```
    pub fn receiver_count(&self) -> usize {
        self.shared.receivers.load(Ordering::SeqCst)
    }

    /// Whether every receiver is gone ([`send`](Self::send) would fail).
    ///
    /// # Examples
    ///
    /// ```
    /// let (tx, rx) = tulip_queue::channel::watch(());
    /// drop(rx);
    /// assert!(tx.is_closed());
    /// ```
    pub fn is_closed(&self) -> bool {
        self.receiver_count() == 0
    }

    /// Waits until every receiver is gone.
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
    /// let (tx, rx) = channel::watch(0);
    /// std::thread::spawn(move || drop(rx));
    /// tx.closed().await;
    /// assert!(tx.is_closed());
    /// # });
    /// ```
    pub fn closed(&self) -> Closed<'_, T> {
        Closed {
            shared: &self.shared,
            slot: WaitSlot::new(),
        }
    }
}

impl<T> Drop for Sender<T> {
    fn drop(&mut self) {
        self.shared.closed.store(true, Ordering::SeqCst);
        self.shared.changed.notify_all();
    }
}

impl<T: fmt::Debug> fmt::Debug for Sender<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = read(&self.shared.state);
        f.debug_struct("Sender")
            .field("value", &state.value)
            .field("version", &state.version)
            .finish()
    }
}

/// Future of [`Sender::closed`].
///
/// # Examples
///
/// ```
/// use tulip_queue::channel::{self, watch::Closed};
///
/// # futures_lite::future::block_on(async {
/// let (tx, rx) = channel::watch(0u8);
/// drop(rx);
/// let closed: Closed<'_, u8> = tx.closed();
/// closed.await;
/// # });
/// ```
#[must_use = "futures do nothing unless polled"]
pub struct Closed<'a, T> {
    shared: &'a Shared<T>,
    slot: WaitSlot,
}

impl<T> Future for Closed<'_, T> {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = &mut *self;
        let waiters = &this.shared.receivers_gone;
        loop {
            this.slot.take_notification(waiters);
            if this.shared.receivers.load(Ordering::SeqCst) == 0 {
                this.slot.discard(waiters);
                return Poll::Ready(());
            }
            ready!(this.slot.poll_wait(waiters, cx));
        }
    }
}

impl<T> Drop for Closed<'_, T> {
    fn drop(&mut self) {
        self.slot.clear(&self.shared.receivers_gone);
    }
}

impl<T> fmt::Debug for Closed<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Closed").finish_non_exhaustive()
    }
}

/// The receiving half of a [`watch`](super::watch()) channel. `Clone` (the clone has seen what
/// this one has seen).
///
/// As a [`Stream`] (for `T: Clone`) it yields a clone of the value each time it changed since
/// the receiver last looked, skipping intermediate values, and ends when the sender is dropped
/// and the last change was seen.
///
/// # Examples
///
/// ```
/// use tulip_queue::channel;
///
/// # futures_lite::future::block_on(async {
/// let (tx, mut rx) = channel::watch(0);
/// std::thread::spawn(move || {
///     for n in 1..=3 {
///         tx.send(n).unwrap();
///     }
/// });
/// // Wait for the last value; intermediate ones may be skipped.
/// while *rx.borrow_and_update() != 3 {
///     rx.changed().await.unwrap();
/// }
/// # });
/// ```
pub struct Receiver<T> {
    shared: Arc<Shared<T>>,
    /// The version this receiver has seen.
    seen: u64,
    /// The `Stream` impl's place in `changed`.
    slot: WaitSlot,
}

impl<T> Receiver<T> {
    /// Borrows the current value without marking it seen. Hold the [`Ref`] briefly: sends
    /// wait for it.
    ///
    /// # Examples
    ///
    /// ```
    /// let (tx, rx) = tulip_queue::channel::watch(1);
    /// tx.send(2).unwrap();
    /// let value = rx.borrow();
    /// assert_eq!(*value, 2);
    /// assert!(value.has_changed());
    /// ```
    pub fn borrow(&self) -> Ref<'_, T> {
        let guard = read(&self.shared.state);
        let has_changed = guard.version != self.seen;
        Ref { guard, has_changed }
    }

    /// Borrows the current value and marks it seen.
    ///
    /// # Examples
    ///
    /// ```
    /// let (tx, mut rx) = tulip_queue::channel::watch(1);
    /// tx.send(2).unwrap();
    /// assert_eq!(*rx.borrow_and_update(), 2);
    /// assert_eq!(rx.has_changed(), Ok(false));
    /// ```
    pub fn borrow_and_update(&mut self) -> Ref<'_, T> {
        let guard = read(&self.shared.state);
        let has_changed = guard.version != self.seen;
        self.seen = guard.version;
        Ref { guard, has_changed }
    }

    /// Whether there is a value this receiver has not seen.
    ///
    /// # Errors
    ///
    /// [`RecvError`] if there is none and the sender is gone (there never will be one).
    ///
    /// # Examples
    ///
    /// ```
    /// use tulip_queue::channel::{self, watch::RecvError};
    ///
    /// let (tx, rx) = channel::watch(0);
    /// assert_eq!(rx.has_changed(), Ok(false));
    /// tx.send(1).unwrap();
    /// assert_eq!(rx.has_changed(), Ok(true));
    /// drop(tx);
    /// assert_eq!(rx.has_changed(), Ok(true)); // the last value is still unseen
    /// let mut rx = rx;
    /// rx.borrow_and_update();
    /// assert_eq!(rx.has_changed(), Err(RecvError));
    /// ```
    pub fn has_changed(&self) -> Result<bool, RecvError> {
        self.shared.has_changed(self.seen)
    }

    /// Marks the current value as not seen, so the next [`changed`](Self::changed) returns
    /// at once.
    ///
    /// # Examples
    ///
    /// ```
    /// let (_tx, mut rx) = tulip_queue::channel::watch(0);
    /// rx.mark_changed();
    /// assert_eq!(rx.has_changed(), Ok(true));
    /// ```
    pub fn mark_changed(&mut self) {
        self.seen = read(&self.shared.state).version.wrapping_sub(1);
    }

    /// Marks the current value as seen.
    ///
    /// # Examples
    ///
    /// ```
    /// let (tx, mut rx) = tulip_queue::channel::watch(0);
    /// tx.send(1).unwrap();
    /// rx.mark_unchanged();
    /// assert_eq!(rx.has_changed(), Ok(false));
    /// ```
    pub fn mark_unchanged(&mut self) {
        self.seen = read(&self.shared.state).version;
    }

    /// Waits until there is a value this receiver has not seen, and marks it seen. Returns at
    /// once if there already is one. Read it with [`borrow`](Self::borrow).
    ///
    /// # Errors
    ///
    /// [`RecvError`] if the sender is gone and every value has been seen.
    ///
    /// # Cancel safety
    ///
    /// Cancel-safe: the seen version moves only inside the `poll` that returns `Ok`.
    ///
    /// # Examples
    ///
    /// ```
    /// use tulip_queue::channel;
    ///
    /// # futures_lite::future::block_on(async {
    /// let (tx, mut rx) = channel::watch("a");
    /// tx.send("b").unwrap();
    /// rx.changed().await?;
    /// assert_eq!(*rx.borrow(), "b");
    /// drop(tx);
    /// assert!(rx.changed().await.is_err());
    /// # Ok::<(), channel::watch::RecvError>(()) }).unwrap();
    /// ```
    pub fn changed(&mut self) -> Changed<'_, T> {
        Changed {
            receiver: self,
            slot: WaitSlot::new(),
        }
    }

    /// Blocks the thread until there is a value this receiver has not seen, and marks it
    /// seen.
    ///
    /// # Blocking
    ///
    /// Blocks the calling thread; do not call it from async code.
    ///
    /// # Errors
    ///
    /// As [`changed`](Self::changed).
    ///
    /// # Examples
    ///
    /// ```
    /// use tulip_queue::channel;
    ///
    /// let (tx, mut rx) = channel::watch(0);
    /// std::thread::spawn(move || tx.send(1).unwrap());
    /// rx.changed_blocking().unwrap();
    /// assert_eq!(*rx.borrow(), 1);
    /// ```
    pub fn changed_blocking(&mut self) -> Result<(), RecvError> {
        block_on(self.changed())
    }

    /// Waits until `predicate` holds for the current value (checking it first, then after
    /// every change), marks that value seen and returns it borrowed.
    ///
    /// # Errors
    ///
    /// [`RecvError`] if the sender is gone before the predicate held.
    ///
    /// # Cancel safety
    ///
    /// Cancel-safe: it only moves this receiver's seen version forward.
    ///
    /// # Examples
    ///
    /// ```
    /// use tulip_queue::channel;
    ///
    /// # futures_lite::future::block_on(async {
    /// let (tx, mut rx) = channel::watch(0);
    /// std::thread::spawn(move || {
    ///     for n in 1..=5 {
    ///         tx.send(n).unwrap();
    ///     }
    /// });
    /// let five = rx.wait_for(|n| *n == 5).await.unwrap();
    /// assert_eq!(*five, 5);
    /// # });
    /// ```
    pub fn wait_for<F: FnMut(&T) -> bool>(&mut self, predicate: F) -> WaitFor<'_, T, F> {
        let Receiver { shared, seen, .. } = self;
        WaitFor {
            shared,
            seen,
            predicate,
            slot: WaitSlot::new(),
        }
    }

    /// Whether both receivers belong to the same channel.
    ///
    /// # Examples
    ///
    /// ```
    /// let (_tx, rx) = tulip_queue::channel::watch(());
    /// assert!(rx.same_channel(&rx.clone()));
    /// ```
    pub fn same_channel(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.shared, &other.shared)
    }

    /// The shared wait loop: `Ok` once the version differs from `seen` (and marks it seen).
    fn poll_changed(
        shared: &Shared<T>,
        seen: &mut u64,
        slot: &mut WaitSlot,
        cx: &mut Context<'_>,
    ) -> Poll<Result<(), RecvError>> {
        loop {
            slot.take_notification(&shared.changed);
            let current = read(&shared.state).version;
            if current != *seen {
                *seen = current;
                slot.discard(&shared.changed);
                return Poll::Ready(Ok(()));
            }
            if shared.closed.load(Ordering::SeqCst) {
                slot.discard(&shared.changed);
                return Poll::Ready(Err(RecvError));
            }
            ready!(slot.poll_wait(&shared.changed, cx));
        }
    }
}

impl<T> Clone for Receiver<T> {
    /// Another receiver that has seen what this one has seen.
    fn clone(&self) -> Self {
        self.shared.receivers.fetch_add(1, Ordering::SeqCst);
        Self {
            shared: Arc::clone(&self.shared),
            seen: self.seen,
            slot: WaitSlot::new(),
        }
    }
}

impl<T> Drop for Receiver<T> {
    fn drop(&mut self) {
        self.slot.clear(&self.shared.changed);
        if self.shared.receivers.fetch_sub(1, Ordering::SeqCst) == 1 {
            self.shared.receivers_gone.notify_all();
        }
    }
}

impl<T: Clone> Stream for Receiver<T> {
    type Item = T;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<T>> {
        let this = &mut *self;
        match ready!(Self::poll_changed(
            &this.shared,
            &mut this.seen,
            &mut this.slot,
            cx
        )) {
            Ok(()) => Poll::Ready(Some(read(&this.shared.state).value.clone())),
            Err(RecvError) => Poll::Ready(None),
        }
    }
}

impl<T: fmt::Debug> fmt::Debug for Receiver<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = read(&self.shared.state);
        f.debug_struct("Receiver")
            .field("value", &state.value)
            .field("version", &state.version)
            .field("seen", &self.seen)
            .finish()
    }
}

/// A borrowed watch value; holds a read lock, so keep it briefly (sends wait for it).
///
/// # Examples
///
/// ```
/// let (_tx, rx) = tulip_queue::channel::watch(String::from("v1"));
/// let value: tulip_queue::channel::watch::Ref<'_, String> = rx.borrow();
/// assert_eq!(value.len(), 2);
/// ```
pub struct Ref<'a, T> {
    guard: RwLockReadGuard<'a, Versioned<T>>,
    has_changed: bool,
}

impl<T> Ref<'_, T> {
    /// Whether the value was unseen by the receiver that borrowed it (always `false` for
    /// [`Sender::borrow`]).
    ///
    /// # Examples
    ///
    /// ```
    /// let (tx, mut rx) = tulip_queue::channel::watch(0);
    /// tx.send(1).unwrap();
    /// assert!(rx.borrow_and_update().has_changed());
    /// assert!(!rx.borrow_and_update().has_changed());
    /// ```
    pub fn has_changed(&self) -> bool {
        self.has_changed
    }
}

impl<T> Deref for Ref<'_, T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.guard.value
    }
}

impl<T: fmt::Debug> fmt::Debug for Ref<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}

/// Future of [`Receiver::changed`].
///
/// # Examples
///
/// ```
/// use tulip_queue::channel::{self, watch::Changed};
///
/// # futures_lite::future::block_on(async {
/// let (tx, mut rx) = channel::watch(0u8);
/// tx.send(1).unwrap();
/// let changed: Changed<'_, u8> = rx.changed();
/// changed.await.unwrap();
/// # });
/// ```
#[must_use = "futures do nothing unless polled"]
pub struct Changed<'a, T> {
    receiver: &'a mut Receiver<T>,
    slot: WaitSlot,
}

impl<T> Future for Changed<'_, T> {
    type Output = Result<(), RecvError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = &mut *self;
        let receiver = &mut *this.receiver;
        Receiver::poll_changed(&receiver.shared, &mut receiver.seen, &mut this.slot, cx)
    }
}

impl<T> Drop for Changed<'_, T> {
    fn drop(&mut self) {
        self.slot.clear(&self.receiver.shared.changed);
    }
}

impl<T> fmt::Debug for Changed<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Changed").finish_non_exhaustive()
    }
}

/// Future of [`Receiver::wait_for`].
///
/// # Examples
///
/// ```
/// use tulip_queue::channel::{self, watch::WaitFor};
///
/// # futures_lite::future::block_on(async {
/// let (_tx, mut rx) = channel::watch(3u8);
/// let wait: WaitFor<'_, u8, _> = rx.wait_for(|n| *n == 3);
/// assert_eq!(*wait.await.unwrap(), 3);
/// # });
/// ```
#[must_use = "futures do nothing unless polled"]
pub struct WaitFor<'a, T, F> {
    /// The receiver's channel, borrowed for as long as the returned [`Ref`] may live.
    shared: &'a Shared<T>,
    /// The receiver's seen version.
    seen: &'a mut u64,
    predicate: F,
    slot: WaitSlot,
}

// Neither the predicate nor anything else is ever pinned.
impl<T, F> Unpin for WaitFor<'_, T, F> {}

impl<'a, T, F: FnMut(&T) -> bool> Future for WaitFor<'a, T, F> {
    type Output = Result<Ref<'a, T>, RecvError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        let shared: &'a Shared<T> = this.shared;
        loop {
            this.slot.take_notification(&shared.changed);
            // Test the value under the same read lock that the returned `Ref` keeps, so the
            // caller gets exactly the value the predicate accepted.
            let guard = read(&shared.state);
            let has_changed = guard.version != *this.seen;
            *this.seen = guard.version;
            if (this.predicate)(&guard.value) {
                this.slot.discard(&shared.changed);
                return Poll::Ready(Ok(Ref { guard, has_changed }));
            }
            drop(guard);
            ready!(Receiver::poll_changed(
                shared,
                this.seen,
                &mut this.slot,
                cx
            ))?;
        }
    }
}

impl<T, F> Drop for WaitFor<'_, T, F> {
    fn drop(&mut self) {
        self.slot.clear(&self.shared.changed);
    }
}

impl<T, F> fmt::Debug for WaitFor<'_, T, F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WaitFor").finish_non_exhaustive()
    }
}

/// [`Sender::send`] failed because there is no receiver; holds the value.
///
/// # Examples
///
/// ```
/// use tulip_queue::channel::{self, watch::SendError};
///
/// let (tx, rx) = channel::watch(0);
/// drop(rx);
/// assert_eq!(tx.send(1), Err(SendError(1)));
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct SendError<T>(pub T);

impl<T> SendError<T> {
    /// Returns the value that could not be sent.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(tulip_queue::channel::watch::SendError(1).into_inner(), 1);
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
        f.write_str("sending on a watch channel with no receiver")
    }
}

impl<T> Error for SendError<T> {}

/// The watch sender is gone and every value has been seen.
///
/// # Examples
///
/// ```
/// use tulip_queue::channel::{self, watch::RecvError};
///
/// let (tx, mut rx) = channel::watch(0);
/// drop(tx);
/// assert_eq!(rx.changed_blocking(), Err(RecvError));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct RecvError;

impl fmt::Display for RecvError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the watch sender is gone")
    }
}

impl Error for RecvError {}
