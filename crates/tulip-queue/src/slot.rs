//! [`Slot`]: the store of a [`Fifo`](crate::fifo::Fifo) bounded to one item (a `bounded(1)`
//! channel, a `Queue` with `maxsize` 1), with concurrent-queue's interface.
//!
//! One state word and one cell. Compared with concurrent-queue's single-slot queue it costs one
//! compare-and-swap and one plain `Release` store per push or pop (no second read-modify-write),
//! answers an empty pop from one load, and is inlined into its callers.
//!
//! # The state word
//!
//! The low two bits are the phase, [`CLOSED`] is a flag:
//!
//! | phase | the cell | who may touch it |
//! |---|---|---|
//! | [`EMPTY`] | uninitialized | nobody; a push claims it with a CAS to `WRITING` |
//! | [`WRITING`] | being written | the pusher whose CAS claimed it, until its store of `FULL` |
//! | [`FULL`] | holds the item | nobody; a pop claims it with a CAS to `READING` |
//! | [`READING`] | being moved out | the popper whose CAS claimed it, until its store of `EMPTY` |
//!
//! The claiming compare-and-swap acquires what the previous owner's `Release` store published:
//! the item (`FULL`), or the end of the read of the previous one (`EMPTY`). Each owner ends its
//! phase with a plain store, which is only correct if nobody else changes the word meanwhile:
//! pushes and pops fail on the transient phases without writing, and [`Slot::close`] waits until
//! the phase is `EMPTY` or `FULL` before it sets `CLOSED` (the transient phases last a move of
//! the item, no user code runs in them). `WRITING` therefore never carries `CLOSED`, and a
//! popper that claimed a closed, full slot stores `EMPTY | CLOSED` itself.
//!
//! # Linearization
//!
//! A push takes effect at its store of `FULL`, a pop at its claiming compare-and-swap. So a pop
//! that meets `WRITING` finds the queue empty, and one that meets `READING` finds it empty (or
//! closed and empty, for good), which are the answers the queue had at that instant; `len`,
//! `is_empty` and `is_full` look at `FULL` only. The one answer that is not linearizable is
//! a push that meets `WRITING` or `READING`: it fails with `Full` (as concurrent-queue's does
//! while a pop holds its slot). That loses no wake-up: a putter that waits after it re-checks
//! after registering, and the pop or push in flight completes with its store before the fence
//! of its own notification (see the `waiters` module), so either the re-check sees the new
//! phase or the notification sees the putter.
//!
//! The loom models at the end of `tests/loom.rs` run pushes and pops on a `bounded(1)` channel
//! racing each other and a close; loom sees this module's atomics and the cell.

use std::{
    mem::MaybeUninit,
    panic::{RefUnwindSafe, UnwindSafe},
};

use concurrent_queue::{PopError, PushError};

use tulip_util::sync::{AtomicUsize, Ordering, UnsafeCell};

/// No item; the cell is uninitialized.
const EMPTY: usize = 0b000;
/// A pusher is writing its item into the cell.
const WRITING: usize = 0b001;
/// The cell holds an item.
const FULL: usize = 0b010;
/// A popper is moving the item out of the cell.
const READING: usize = 0b011;
/// The phase bits.
const PHASE: usize = 0b011;
/// Closed: pushes fail, pops take the item left and then fail.
const CLOSED: usize = 0b100;

/// A queue of at most one item; see the module docs.
pub(crate) struct Slot<T> {
    /// The phase and the `CLOSED` flag.
    state: AtomicUsize,
    /// The item, initialized exactly while the phase is `FULL` (and during the moves in and
    /// out, which the owner of the phase makes).
    cell: UnsafeCell<MaybeUninit<T>>,
}

// SAFETY: the cell is accessed only by the owner of the current phase (module docs), and the
// state word's acquire/release operations hand it from one owner to the next: an item moves
// from the pushing thread to the popping one (hence `T: Send`), and no `&T` is ever shared.
unsafe impl<T: Send> Send for Slot<T> {}
// SAFETY: as above; `&Slot<T>` only moves items in and out, never lends them.
unsafe impl<T: Send> Sync for Slot<T> {}

// A panic cannot leave a slot half-changed: the only code between a claim and its store is
// a move of the item. (concurrent-queue, which the slot replaces, says the same of its queues,
// and `Queue`s and channels stay unwind-safe as they were.)
impl<T> UnwindSafe for Slot<T> {}
impl<T> RefUnwindSafe for Slot<T> {}

impl<T> Slot<T> {
    /// An empty, open slot.
    pub(crate) fn new() -> Self {
        Self {
            state: AtomicUsize::new(EMPTY),
            cell: UnsafeCell::new(MaybeUninit::uninit()),
        }
    }

    /// Puts `item` in the slot, or hands it back: `Closed` if the slot is closed, else `Full`
    /// if it holds an item or another push or a pop is under way.
    #[inline(always)]
    pub(crate) fn push(&self, item: T) -> Result<(), PushError<T>> {
        match self
            .state
            .compare_exchange(EMPTY, WRITING, Ordering::SeqCst, Ordering::SeqCst)
        {
            Ok(_) => {
                self.cell.with_mut(|cell| {
                    // SAFETY: our CAS moved the phase from `EMPTY` to `WRITING`: the cell is ours
                    // until we store `FULL`, and the CAS acquired the last popper's release, so
                    // its read of the previous item is over. Writing a `MaybeUninit` drops
                    // nothing.
                    unsafe { cell.write(MaybeUninit::new(item)) };
                });
                // Nobody else writes the word while it is `WRITING` (`close` waits), so a store
                // is enough; `Release` publishes the item to the pop that acquires `FULL`.
                self.state.store(FULL, Ordering::Release);
                Ok(())
            }
            Err(state) if state & CLOSED != 0 => Err(PushError::Closed(item)),
            Err(_) => Err(PushError::Full(item)),
        }
    }

    /// Takes the item: `Empty` if there is none (or a push has not finished, or another pop
    /// took it), `Closed` if there is none and the slot is closed.
    #[inline(always)]
    pub(crate) fn pop(&self) -> Result<T, PopError> {
        // An empty slot is answered from this load, without a read-modify-write: a receiver
        // that waits meets it twice per wait. `SeqCst`, like every access here that may be a
        // waiter's re-check after its fence.
        let mut state = self.state.load(Ordering::SeqCst);
        loop {
            if state & PHASE != FULL {
                return Err(if state & CLOSED != 0 {
                    PopError::Closed
                } else {
                    PopError::Empty
                });
            }
            // `FULL`, maybe with `CLOSED`: claim the item (`READING` keeps the flag).
            match self.state.compare_exchange(
                state,
                state | READING,
                Ordering::SeqCst,
                Ordering::SeqCst,
            ) {
                Ok(_) => {
                    let item = self.cell.with_mut(|cell| {
                        // SAFETY: our CAS moved the phase from `FULL` to `READING`: the cell is
                        // ours until we store `EMPTY`, and it holds the item, which the CAS
                        // acquired from the pusher's release. Reading it out leaves the cell
                        // logically uninitialized, as `EMPTY` says.
                        unsafe { cell.read().assume_init() }
                    });
                    // Nobody else writes the word while it is `READING` (`close` waits): keep the
                    // flag as our CAS found it. `Release` ends our read before the next push.
                    self.state.store(state & CLOSED, Ordering::Release);
                    return Ok(item);
                }
                // Another pop claimed it, or a close set the flag: look again.
                Err(now) => state = now,
            }
        }
    }

    /// The number of items: 1 while the slot holds one (not while it is being written).
    #[inline]
    pub(crate) fn len(&self) -> usize {
        usize::from(self.state.load(Ordering::SeqCst) & PHASE == FULL)
    }

    /// Whether the slot holds no item (what a pop at this instant would find).
    #[inline]
    pub(crate) fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether the slot holds an item.
    #[inline]
    pub(crate) fn is_full(&self) -> bool {
        self.len() == 1
    }

    /// Closes the slot: pushes fail from now on, a pop takes the item left. `true` if this
    /// call closed it.
    ///
    /// Waits while a push or a pop is between its compare-and-swap and its store (a move of
    /// the item), so that the store cannot erase the flag.
    pub(crate) fn close(&self) -> bool {
        let mut state = self.state.load(Ordering::SeqCst);
        let mut spins = 0u32;
        loop {
            if state & CLOSED != 0 {
                return false;
            }
            if state == WRITING || state == READING {
                backoff(&mut spins);
                state = self.state.load(Ordering::SeqCst);
                continue;
            }
            match self.state.compare_exchange(
                state,
                state | CLOSED,
                Ordering::SeqCst,
                Ordering::SeqCst,
            ) {
                Ok(_) => return true,
                Err(now) => state = now,
            }
        }
    }

    /// Whether the slot is closed.
    #[inline]
    pub(crate) fn is_closed(&self) -> bool {
        self.state.load(Ordering::SeqCst) & CLOSED != 0
    }
}

/// Waits a little for another thread to finish a move in or out of the cell.
#[cold]
fn backoff(spins: &mut u32) {
    #[cfg(tulip_loom)]
    {
        // A move never takes more than a few steps of the other thread; a model whose thread
        // panicked mid-move (loom reporting a race on the cell) would otherwise spin here for
        // good while it unwinds, instead of ending with loom's report.
        *spins += 1;
        assert!(*spins < 1_000, "a move in or out of the slot never ended");
        loom::thread::yield_now();
    }
    #[cfg(not(tulip_loom))]
    {
        if *spins < 6 {
            for _ in 0..1u32 << *spins {
                std::hint::spin_loop();
            }
            *spins += 1;
        } else {
            // The owner was preempted mid-move: let it run.
            std::thread::yield_now();
        }
    }
}

impl<T> Drop for Slot<T> {
    fn drop(&mut self) {
        // `&mut self`: no push or pop is under way, so the phase is `EMPTY` or `FULL` (the moves
        // cannot panic), and whoever gave us `&mut` synchronized with the last of them.
        if self.state.load(Ordering::Relaxed) & PHASE == FULL {
            self.cell.with_mut(|cell| {
                // SAFETY: the phase is `FULL`, so the cell holds an item, which nobody else
                // can reach any more; it is dropped once, here.
                unsafe { (*cell).assume_init_drop() };
            });
        }
    }
}

#[cfg(all(test, not(tulip_loom)))]
mod tests {
    use std::{
        rc::Rc,
        sync::{Arc, Barrier},
        thread,
    };

    use concurrent_queue::{PopError, PushError};
    use proptest::prelude::*;

    use super::Slot;

    #[test]
    fn holds_one_item_and_hands_the_next_back() {
        let slot = Slot::new();
        assert!(slot.is_empty() && !slot.is_full());
        assert_eq!(slot.len(), 0);
        assert_eq!(slot.pop(), Err(PopError::Empty));
        slot.push(1).unwrap();
        assert!(slot.is_full() && !slot.is_empty());
        assert_eq!(slot.len(), 1);
        assert_eq!(slot.push(2), Err(PushError::Full(2)));
        assert_eq!(slot.pop(), Ok(1));
        assert_eq!(slot.pop(), Err(PopError::Empty));
        for n in 3..10 {
            slot.push(n).unwrap();
            assert_eq!(slot.pop(), Ok(n));
        }
        assert!(slot.is_empty());
    }

    #[test]
    fn close_fails_pushes_and_lets_the_last_item_be_popped() {
        let slot = Slot::new();
        slot.push("kept").unwrap();
        assert!(!slot.is_closed());
        assert!(slot.close());
        assert!(!slot.close(), "closed twice");
        assert!(slot.is_closed());
        assert_eq!(slot.push("late"), Err(PushError::Closed("late")));
        // Still full: the item left is there, and `len` says so.
        assert!(slot.is_full());
        assert_eq!(slot.pop(), Ok("kept"));
        assert_eq!(slot.pop(), Err(PopError::Closed));
        assert_eq!(slot.push("later"), Err(PushError::Closed("later")));
        assert!(slot.is_empty() && slot.is_closed());
        // Closing an empty slot.
        let empty = Slot::<u8>::new();
        assert!(empty.close());
        assert_eq!(empty.pop(), Err(PopError::Closed));
        assert_eq!(empty.push(1), Err(PushError::Closed(1)));
    }

    #[test]
    fn an_item_left_in_the_slot_is_dropped_with_it_once() {
        let item = Rc::new(());
        let slot = Slot::new();
        slot.push(Rc::clone(&item)).unwrap();
        assert_eq!(Rc::strong_count(&item), 2);
        drop(slot);
        assert_eq!(Rc::strong_count(&item), 1);

        // Closed with the item in it: still dropped.
        let slot = Slot::new();
        slot.push(Rc::clone(&item)).unwrap();
        slot.close();
        drop(slot);
        assert_eq!(Rc::strong_count(&item), 1);

        // Popped: the slot does not drop it again.
        let slot = Slot::new();
        slot.push(Rc::clone(&item)).unwrap();
        let out = slot.pop().unwrap();
        drop(slot);
        assert_eq!(Rc::strong_count(&item), 2);
        drop(out);
        assert_eq!(Rc::strong_count(&item), 1);
    }

    #[test]
    fn zero_sized_and_large_items() {
        let slot = Slot::new();
        slot.push(()).unwrap();
        assert_eq!(slot.push(()), Err(PushError::Full(())));
        assert_eq!(slot.pop(), Ok(()));
        let slot = Slot::new();
        slot.push([7u8; 4096]).unwrap();
        assert_eq!(slot.pop().map(|a| a[4095]), Ok(7));
    }

    /// A producer and a consumer thread through one slot: every item arrives, in order; a
    /// close after the last push lets the consumer drain and stop.
    #[test]
    fn threads_pass_items_in_order() {
        // Fewer under Miri (cargo xtask miri), where each retry is slow.
        const N: u64 = if cfg!(miri) { 50 } else { 20_000 };
        let slot = Arc::new(Slot::new());
        let start = Arc::new(Barrier::new(2));
        let producer = {
            let (slot, start) = (Arc::clone(&slot), Arc::clone(&start));
            thread::spawn(move || {
                start.wait();
                for n in 0..N {
                    let mut item = Box::new(n);
                    while let Err(err) = slot.push(item) {
                        item = err.into_inner();
                        thread::yield_now();
                    }
                }
                assert!(slot.close());
            })
        };
        start.wait();
        let mut next = 0;
        loop {
            match slot.pop() {
                Ok(n) => {
                    assert_eq!(*n, next);
                    next += 1;
                }
                Err(PopError::Empty) => thread::yield_now(),
                Err(PopError::Closed) => break,
            }
        }
        producer.join().unwrap();
        assert_eq!(next, N);
    }

    /// Closes racing pushes and pops on threads: every item pushed is popped exactly once,
    /// before or after the close, and no push succeeds after it.
    #[test]
    fn close_racing_pushes_and_pops_loses_nothing() {
        const ROUNDS: usize = if cfg!(miri) { 10 } else { 500 };
        for _ in 0..ROUNDS {
            let slot = Arc::new(Slot::new());
            let start = Arc::new(Barrier::new(3));
            let pusher = {
                let (slot, start) = (Arc::clone(&slot), Arc::clone(&start));
                thread::spawn(move || {
                    start.wait();
                    let mut pushed = 0u32;
                    loop {
                        match slot.push(Box::new(pushed)) {
                            Ok(()) => pushed += 1,
                            Err(PushError::Full(_)) => thread::yield_now(),
                            Err(PushError::Closed(_)) => return pushed,
                        }
                    }
                })
            };
            let popper = {
                let (slot, start) = (Arc::clone(&slot), Arc::clone(&start));
                thread::spawn(move || {
                    start.wait();
                    let mut popped = 0u32;
                    loop {
                        match slot.pop() {
                            Ok(n) => {
                                assert_eq!(*n, popped);
                                popped += 1;
                            }
                            Err(PopError::Empty) => thread::yield_now(),
                            Err(PopError::Closed) => return popped,
                        }
                    }
                })
            };
            start.wait();
            thread::yield_now();
            assert!(slot.close());
            let pushed = pusher.join().unwrap();
            let popped = popper.join().unwrap();
            assert_eq!(pushed, popped, "an item was lost or duplicated");
            assert!(slot.is_empty());
        }
    }

    #[derive(Clone, Debug)]
    enum Op {
        Push(u32),
        Pop,
        Close,
    }

    fn ops() -> impl Strategy<Value = Vec<Op>> {
        prop::collection::vec(
            prop_oneof![
                4 => any::<u32>().prop_map(Op::Push),
                4 => Just(Op::Pop),
                1 => Just(Op::Close),
            ],
            0..if cfg!(miri) { 20 } else { 60 },
        )
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(if cfg!(miri) { 4 } else { 512 }))]

        /// Any sequence of pushes, pops and closes: an `Option` with a closed flag. Items are
        /// `Rc`s, so a drop too many or too few shows in their counts.
        #[test]
        fn behaves_like_an_option(ops in ops()) {
            let slot = Slot::new();
            let mut model: Option<Rc<u32>> = None;
            let mut closed = false;
            let mut live: Vec<Rc<u32>> = Vec::new();
            for op in ops {
                match &op {
                    Op::Push(v) => {
                        let item = Rc::new(*v);
                        live.push(Rc::clone(&item));
                        match slot.push(Rc::clone(&item)) {
                            Ok(()) => {
                                prop_assert!(!closed && model.is_none());
                                model = Some(item);
                            }
                            Err(PushError::Closed(back)) => {
                                prop_assert!(closed);
                                prop_assert!(Rc::ptr_eq(&back, &item));
                            }
                            Err(PushError::Full(back)) => {
                                prop_assert!(!closed && model.is_some());
                                prop_assert!(Rc::ptr_eq(&back, &item));
                            }
                        }
                    }
                    Op::Pop => match (slot.pop(), model.take()) {
                        (Ok(got), Some(want)) => prop_assert!(Rc::ptr_eq(&got, &want)),
                        (Err(PopError::Empty), None) => prop_assert!(!closed),
                        (Err(PopError::Closed), None) => prop_assert!(closed),
                        (got, want) => prop_assert!(false, "pop {:?}, model {:?}", got, want),
                    },
                    Op::Close => prop_assert_eq!(slot.close(), !closed),
                }
                if let Op::Close = op {
                    closed = true;
                }
                prop_assert_eq!(slot.len(), usize::from(model.is_some()));
                prop_assert_eq!(slot.is_empty(), model.is_none());
                prop_assert_eq!(slot.is_full(), model.is_some());
                prop_assert_eq!(slot.is_closed(), closed);
            }
            // Held by `live` only, and the model's item by the model and the slot too.
            for item in &live {
                let held = model.as_ref().is_some_and(|m| Rc::ptr_eq(m, item));
                prop_assert_eq!(Rc::strong_count(item), 1 + 2 * usize::from(held));
            }
            drop(model);
            drop(slot);
            for item in &live {
                prop_assert_eq!(Rc::strong_count(item), 1);
            }
        }
    }
}
