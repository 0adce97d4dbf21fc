//! A channel for exactly one value: [`oneshot()`](super::oneshot()).
//!
//! A dedicated implementation rather than `bounded(1)`: one allocation, one atomic state
//! word, and one waker slot per side, instead of a queue and three wait lists. No lock and no
//! reference count: a send is a write and a compare-and-swap, a receive a load (and, to wait,
//! a waker clone and a compare-and-swap), and the two halves free their allocation through
//! the same state word, so a round trip of two oneshots costs a few hundred instructions less
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
//! | `TX_GONE` | the sender, once (send or drop) | the sender is done with the allocation |
//! | `RX_GONE` | the receiver, once (drop) | the receiver is done with the allocation |
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
//! # Who frees the allocation
//!
//! `COMPLETE` and `CLOSED` do not say that a side has let go: the sender still reads
//! `rx_waker` after setting `COMPLETE` (to wake the receiver), the receiver still reads
//! `tx_waker` after setting `CLOSED`, and a receiver that closed can still receive. So each
//! side has a detach bit, `TX_GONE` or `RX_GONE`, which it sets (with release) only after its
//! last access to the cells, and never touches the allocation (state word included) after
//! that; both halves hold a plain pointer, and there is no reference count. Whoever detaches
//! last frees: a side that finds the other's detach bit set (an `Acquire` load or
//! read-modify-write, so every access of the other side happens before) frees the allocation
//! itself, without setting its own bit.
//!
//! * The sender sets `TX_GONE` in the same compare-and-swap as `COMPLETE` when no receiver
//!   waits (`RX_WAKER` clear): it has nothing left to do. When one waits it sets `COMPLETE`,
//!   wakes the waker, and then sets `TX_GONE` with a second read-modify-write. A sender that
//!   finds `RX_GONE` (a failed send, or a drop) frees at once: nobody is left to tell.
//! * The receiver's drop, before `COMPLETE`, sets `CLOSED` and `RX_GONE` together, unless it
//!   has a `Sender::closed` waker to wake (then `RX_GONE` follows the wake-up, as for the
//!   sender). After `COMPLETE` it takes an unreceived value out of the cell (to drop it
//!   itself) and frees at once if it sees `TX_GONE` (no read-modify-write: the common case of
//!   a receive), or else sets `RX_GONE`. [`Receiver::close`] only sets `CLOSED`.
//! * `TX_GONE` is never set without `COMPLETE`, and `RX_GONE` never without `CLOSED` or
//!   `COMPLETE`: a side that still waits for its condition (a send that finds neither, a
//!   receiver that finds no `COMPLETE`) knows the other is still there.
//!
//! Per channel that is one allocation and no reference count: a send to a waiting receiver
//! takes two read-modify-writes (`COMPLETE`, then `TX_GONE`), one to a receiver that does not
//! wait, a wait one (the registration), and the receiver's drop after the value none or one;
//! an `Arc` added an increment at creation and three decrements at the drops.
//!
//! Wakers stay in their cells until the allocation is freed; values are dropped by whichever
//! side owns them (an unreceived value by the receiver, on its drop; a value handed back by
//! the send's error). A waker that panics in `wake_by_ref` unwinds out of the send or drop
//! that called it, but that side still detaches on the way out (a drop guard, `DetachAfter`),
//! so the allocation is freed as usual.

use std::{
    error::Error,
    fmt,
    future::Future,
    mem::ManuallyDrop,
    pin::Pin,
    ptr::NonNull,
    task::{Context, Poll, Waker},
};

use futures_core::{FusedFuture, FusedStream, Stream};

use tulip_util::sync::{block_on, AtomicUsize, Ordering, UnsafeCell};

/// `rx_waker` holds the receiver's waker.
const RX_WAKER: usize = 0b00_0001;
/// The sender is done (sent or dropped); `value` is the receiver's.
const COMPLETE: usize = 0b00_0010;
/// The receiver is gone or closed: sends fail.
const CLOSED: usize = 0b00_0100;
/// `tx_waker` holds the waker of [`Sender::closed`].
const TX_WAKER: usize = 0b00_1000;
/// The sender has made its last access to the allocation.
const TX_GONE: usize = 0b01_0000;
/// The receiver has made its last access to the allocation.
const RX_GONE: usize = 0b10_0000;

/// What both halves share; see the module docs for who may touch which cell when, and who
/// frees it.
struct Shared<T> {
    state: AtomicUsize,
    /// The value, between `send` and its receipt.
    value: UnsafeCell<Option<T>>,
    /// The receiver's waker, while it waits for the value.
    rx_waker: UnsafeCell<Option<Waker>>,
    /// The sender's waker, while it waits in [`Sender::closed`].
    tx_waker: UnsafeCell<Option<Waker>>,
}

impl<T> Shared<T> {
    /// Wakes the waker in `cell`, which the caller may read (see the module docs).
    ///
    /// # Safety
    ///
    /// The caller's read-modify-write found the cell's bit set and the bit that freezes it
    /// (`COMPLETE` for `rx_waker`, `CLOSED` for `tx_waker`) clear, and set the latter; and the
    /// caller has not detached.
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
    /// `tx_waker`), and attached.
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

    /// Sets `COMPLETE` (the sender is done: `value` holds what the receiver is to get, if
    /// anything) and detaches the sender, waking the receiver if it waits; or, if the receiver
    /// is already gone, frees the allocation. Returns `Err` with the state, having done
    /// nothing, if the state has a bit of `stop` set first.
    ///
    /// # Safety
    ///
    /// `ptr` is the sender's, attached, and `s` a state it read with `Acquire` (a load or a
    /// failed compare-and-swap). On `Ok` the sender has detached: it must not use `ptr` again.
    #[inline(always)]
    unsafe fn complete(ptr: NonNull<Self>, mut s: usize, stop: usize) -> Result<(), usize> {
        // SAFETY: the sender is attached (the caller's contract), so the allocation is live.
        let shared = unsafe { ptr.as_ref() };
        let waiting = loop {
            if s & stop != 0 {
                return Err(s);
            }
            if s & RX_GONE != 0 {
                // SAFETY: the receiver detached and we acquired its release: nothing of its
                // side touches the allocation again, and we are done with it.
                unsafe { Self::free(ptr) };
                return Ok(());
            }
            debug_assert_eq!(s & (COMPLETE | TX_GONE), 0, "a oneshot completed twice");
            // Nobody to wake: nothing left to do after the swap, so detach with it.
            let waiting = s & RX_WAKER != 0;
            let new = s | COMPLETE | if waiting { 0 } else { TX_GONE };
            match shared
                .state
                .compare_exchange_weak(s, new, Ordering::AcqRel, Ordering::Acquire)
            {
                Ok(_) => break waiting,
                Err(actual) => s = actual,
            }
        };
        if waiting {
            // Detaches after the wake, even if the waker panics.
            let detach = DetachAfter { ptr, bit: TX_GONE };
            // SAFETY: we set `COMPLETE` over a set `RX_WAKER`, which freezes `rx_waker`, and
            // have not detached yet (`detach` does it after this).
            unsafe { Self::wake(&shared.rx_waker) };
            detach.done();
        }
        Ok(())
    }

    /// The receiver detaches: sets `CLOSED` (if the sender is not done) and `RX_GONE`, waking
    /// `Sender::closed` if it waits; or frees the allocation if the sender detached already.
    /// Returns an unreceived value, which the caller drops.
    ///
    /// # Safety
    ///
    /// `ptr` is the receiver's and attached, and `done` says the receiver took the value or
    /// found the cell empty for good; the receiver must not use `ptr` again.
    unsafe fn detach_receiver(ptr: NonNull<Self>, done: bool) -> Option<T> {
        // SAFETY: the receiver is attached (the caller's contract), so the allocation is live.
        let shared = unsafe { ptr.as_ref() };
        let mut s = shared.state.load(Ordering::Acquire);
        loop {
            if s & COMPLETE != 0 {
                // The value is ours: take it out before letting go.
                let value = if done {
                    None
                } else {
                    // SAFETY: we observed `COMPLETE` with `Acquire`: the cell is ours.
                    shared.value.with_mut(|p| unsafe { (*p).take() })
                };
                if s & TX_GONE != 0 {
                    // SAFETY: the sender detached and we acquired its release; this is our
                    // last access.
                    unsafe { Self::free(ptr) };
                } else {
                    // The sender is still waking us (it set `COMPLETE` over `RX_WAKER`).
                    let prev = shared.state.fetch_or(RX_GONE, Ordering::AcqRel);
                    if prev & TX_GONE != 0 {
                        // SAFETY: as above: the sender detached first.
                        unsafe { Self::free(ptr) };
                    }
                }
                return value;
            }
            // Before `COMPLETE`: the sender is attached (`TX_GONE` comes with or after it).
            debug_assert_eq!(s & TX_GONE, 0);
            let wake_sender = s & (TX_WAKER | CLOSED) == TX_WAKER;
            let new = s | CLOSED | if wake_sender { 0 } else { RX_GONE };
            match shared
                .state
                .compare_exchange_weak(s, new, Ordering::AcqRel, Ordering::Acquire)
            {
                Ok(_) => break,
                Err(actual) => s = actual,
            }
        }
        if s & (TX_WAKER | CLOSED) == TX_WAKER {
            // Detaches after the wake, even if the waker panics.
            let detach = DetachAfter { ptr, bit: RX_GONE };
            // SAFETY: we set `CLOSED` over a set `TX_WAKER`, which freezes `tx_waker`, and
            // have not detached yet (`detach` does it after this).
            unsafe { Self::wake(&shared.tx_waker) };
            detach.done();
        }
        // The sender had not completed when we closed: it keeps its value.
        None
    }

    /// Frees the allocation, with the wakers and any value still in it.
    ///
    /// # Safety
    ///
    /// `ptr` came from [`channel`]; one side has detached, and the caller (the other) has
    /// acquired that detach and makes no further access: every access to the allocation
    /// happens before this.
    unsafe fn free(ptr: NonNull<Self>) {
        // SAFETY: `ptr` came from `Box::leak` in `channel` and, by the caller's contract, is
        // freed once, after every other access.
        let shared = unsafe { Box::from_raw(ptr.as_ptr()) };
        // Under loom, a write to every cell and the state word: loom then reports a free that
        // does not happen after some access of the other side, which it would otherwise miss.
        #[cfg(tulip_loom)]
        let shared = {
            let mut shared = shared;
            shared.state.with_mut(|_| ());
            shared.value.with_mut(|_| ());
            shared.rx_waker.with_mut(|_| ());
            shared.tx_waker.with_mut(|_| ());
            shared
        };
        drop(shared);
    }

    /// Sets `CLOSED` (the receiver closed), waking the sender's `closed()` if it waits. The
    /// receiver stays attached.
    fn close(&self) {
        let prev = self.state.fetch_or(CLOSED, Ordering::AcqRel);
        if prev & (TX_WAKER | CLOSED) == TX_WAKER {
            // SAFETY: we set `CLOSED` over a set `TX_WAKER`, which freezes `tx_waker`.
            unsafe { Self::wake(&self.tx_waker) };
        }
    }
}

/// Detaches one side if dropped: sets its bit (`TX_GONE` or `RX_GONE`) and frees the
/// allocation if the other side detached first. Held across a wake that comes before the
/// detach and forgotten after it ([`DetachAfter::done`] detaches inline): it is dropped only
/// when the waker panics, so that the side still detaches instead of leaking the allocation.
struct DetachAfter<T> {
    ptr: NonNull<Shared<T>>,
    bit: usize,
}

impl<T> DetachAfter<T> {
    /// The wake returned: detaches without the guard's out-of-line path.
    #[inline(always)]
    fn done(self) {
        let this = std::mem::ManuallyDrop::new(self);
        // SAFETY: as in `detach`.
        unsafe { detach(this.ptr, this.bit) };
    }
}

impl<T> Drop for DetachAfter<T> {
    #[cold]
    #[inline(never)]
    fn drop(&mut self) {
        // SAFETY: the side that made this guard is still attached.
        unsafe { detach(self.ptr, self.bit) };
    }
}

/// Sets a side's detach bit (`TX_GONE` or `RX_GONE`) and frees the allocation if the other
/// side detached first.
///
/// # Safety
///
/// The side of `bit` is attached, and makes no further access after this.
#[inline(always)]
unsafe fn detach<T>(ptr: NonNull<Shared<T>>, bit: usize) {
    // SAFETY: the side is attached until the `fetch_or` below, so the allocation is live.
    let shared = unsafe { ptr.as_ref() };
    // `Release`: our read of the waker cell happens before the other side's free;
    // `Acquire`: if we free, all of the other side's accesses happen before.
    let prev = shared.state.fetch_or(bit, Ordering::AcqRel);
    let other = if bit == TX_GONE { RX_GONE } else { TX_GONE };
    if prev & other != 0 {
        // SAFETY: the other side detached first and we acquired its release; this side makes
        // no further access.
        unsafe { Shared::free(ptr) };
    }
}

/// Creates a channel for one value; see [`oneshot`](super::oneshot()).
pub(super) fn channel<T>() -> (Sender<T>, Receiver<T>) {
    // One allocation, owned by both halves together and freed by the one that detaches last.
    let shared = NonNull::from(Box::leak(Box::new(Shared {
        state: AtomicUsize::new(0),
        value: UnsafeCell::new(None),
        rx_waker: UnsafeCell::new(None),
        tx_waker: UnsafeCell::new(None),
    })));
    (
        Sender { shared },
        Receiver {
            shared,
            done: false,
        },
    )
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
    /// The shared allocation, live until the sender detaches (in `send` or `drop`).
    shared: NonNull<Shared<T>>,
}

// SAFETY: a `Sender` is a handle to the shared allocation as an `Arc<Shared<T>>` would be: the
// cells are accessed under the rules of the module docs, which the state word's
// acquire/release operations order, a value moves from the sending thread to the receiving one
// (hence `T: Send`, as for a `Mutex<T>`), no `&T` is ever shared between the two sides, and
// wakers are `Send + Sync`. The allocation is freed once, by whichever side detaches last,
// on whatever thread that is.
unsafe impl<T: Send> Send for Sender<T> {}
// SAFETY: as above; `&Sender` only loads the state word.
unsafe impl<T: Send> Sync for Sender<T> {}

impl<T> Sender<T> {
    /// The shared allocation.
    fn shared(&self) -> &Shared<T> {
        // SAFETY: the sender is attached while it exists (it detaches only in `send`, which
        // consumes it, and `drop`).
        unsafe { self.shared.as_ref() }
    }

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
    pub fn send(self, value: T) -> Result<(), SendError<T>> {
        // We detach below, instead of in `drop`.
        let ptr = ManuallyDrop::new(self).shared;
        // SAFETY: we are attached until `complete` returns `Ok`.
        let shared = unsafe { ptr.as_ref() };
        let s = shared.state.load(Ordering::Acquire);
        let (value, s) = if s & CLOSED != 0 {
            // The receiver can never take it: hand it back, and count as sent-and-gone.
            (value, s)
        } else {
            // SAFETY: `COMPLETE` is not set (only we set it), so the value cell is ours.
            shared.value.with_mut(|p| unsafe { *p = Some(value) });
            // SAFETY: attached, and `s` was loaded with `Acquire`.
            match unsafe { Shared::complete(ptr, s, CLOSED) } {
                Ok(()) => return Ok(()),
                Err(s) => {
                    // Closed meanwhile: the cell is still ours (no `COMPLETE`); take the value
                    // back and publish an empty cell.
                    // SAFETY: as above.
                    let value = shared.value.with_mut(|p| unsafe { (*p).take() });
                    (value.expect("the value was stored above"), s)
                }
            }
        };
        // SAFETY: attached, `s` read with `Acquire`; with no `stop` bits this detaches.
        let done = unsafe { Shared::complete(ptr, s, 0) };
        debug_assert!(done.is_ok());
        Err(SendError(value))
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
        self.shared().state.load(Ordering::Acquire) & CLOSED != 0
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
        // Dropped without sending: complete over the empty cell, and detach.
        let s = self.shared().state.load(Ordering::Acquire);
        // SAFETY: attached until now, `s` loaded with `Acquire`; with no `stop` bits this
        // detaches, and `self.shared` is not used again.
        let done = unsafe { Shared::complete(self.shared, s, 0) };
        debug_assert!(done.is_ok());
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
        let shared = self.sender.shared();
        if shared.register(&shared.tx_waker, TX_WAKER, CLOSED, cx.waker()) {
            tulip_util::waiting::note_waiting("oneshot.closed", shared);
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
    /// The shared allocation, live until the receiver detaches (in `drop`).
    shared: NonNull<Shared<T>>,
    /// The value was taken or the channel found empty for good: the stream has ended.
    done: bool,
}

// SAFETY: as for `Sender`.
unsafe impl<T: Send> Send for Receiver<T> {}
// SAFETY: as for `Sender`; `&Receiver` only loads the state word and, after `COMPLETE`, reads
// the value cell's discriminant, which nobody writes without `&mut Receiver`.
unsafe impl<T: Send> Sync for Receiver<T> {}

impl<T> Receiver<T> {
    /// The shared allocation.
    fn shared(&self) -> &Shared<T> {
        // SAFETY: the receiver is attached while it exists (it detaches only in `drop`).
        unsafe { self.shared.as_ref() }
    }

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
        if self.shared().state.load(Ordering::Acquire) & COMPLETE == 0 {
            return Err(TryRecvError::Empty);
        }
        self.take().ok_or(TryRecvError::Closed)
    }

    /// Takes the value once the sender is done: `None` if it sent nothing or it was taken.
    fn take(&mut self) -> Option<T> {
        self.done = true;
        // SAFETY: the caller observed `COMPLETE` with `Acquire`: the cell is ours, and
        // `&mut self` makes this the only access on our side.
        self.shared().value.with_mut(|p| unsafe { (*p).take() })
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
        self.shared().close();
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
        let shared = self.shared();
        shared.state.load(Ordering::Acquire) & COMPLETE != 0
            // SAFETY: `COMPLETE` was observed: the cell is ours, and only `&mut self` methods
            // write it.
            && shared.value.with(|p| unsafe { (*p).is_some() })
    }

    /// The shared poll: takes the value, or registers `cx`'s waker.
    fn poll_value(&mut self, cx: &mut Context<'_>) -> Poll<Result<T, RecvError>> {
        let shared = self.shared();
        // `register` first looks for `COMPLETE` (an `Acquire` load), and gives up if a
        // read-modify-write of its own finds it set meanwhile.
        if shared.register(&shared.rx_waker, RX_WAKER, COMPLETE, cx.waker()) {
            tulip_util::waiting::note_waiting("oneshot.recv", shared);
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
        // SAFETY: attached until now; `self.shared` is not used again.
        let value = unsafe { Shared::detach_receiver(self.shared, self.done) };
        // An unreceived value is dropped with the receiver, exactly once (after the detach,
        // so that a panicking drop leaks nothing).
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
