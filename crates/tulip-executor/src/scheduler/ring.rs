//! A bounded ring with one owner and any number of thieves: each worker's stealable run queue
//! in the multi-threaded scheduler.
//!
//! The design follows tokio's local run queue (written anew for tulip):
//!
//! * Only the owner ([`Local`], which is `Send` but not `Sync` and not `Clone`) pushes, at the
//!   `tail`. A push is a plain write of the slot and a `Release` store of `tail`: no
//!   read-modify-write.
//! * `head` packs two 16-bit indices, `steal` (high half) and `real` (low half). `real` is the
//!   next item to take. Items in `steal..real` have been claimed by a thief that is still
//!   copying them out; items in `real..tail` are queued. With no thief at work,
//!   `steal == real`.
//! * The owner pops with a compare-and-swap that advances `real` (and `steal` with it when
//!   they are equal).
//! * A thief ([`Stealer::steal_into`]) works in two steps: one compare-and-swap advances
//!   `real` past half of the queued items (only when no other thief is at work: `steal ==
//!   real`), which claims them; it then copies them into its own ring and a second
//!   compare-and-swap sets `steal` to `real`, which gives their slots back to the owner.
//! * The owner writes a slot only when `tail - steal < capacity`: slots a thief is still
//!   reading are never overwritten.
//!
//! Indices are `u16` and wrap; the capacity (a power of two, at most 2¹⁴) is far below 2¹⁶, so
//! `tail - steal` and `tail - real` are always correct in wrapping arithmetic.

use std::cell::Cell;
use std::marker::PhantomData;
use std::mem::MaybeUninit;

use tulip_util::sync::Ordering::{AcqRel, Acquire, Relaxed, Release};
use tulip_util::sync::{Arc, AtomicU32, UnsafeCell};

/// Packs `steal` (high half) and `real` (low half) into the `head` word.
#[inline]
fn pack(steal: u16, real: u16) -> u32 {
    (u32::from(steal) << 16) | u32::from(real)
}

/// Splits the `head` word into `(steal, real)`.
#[inline]
fn unpack(head: u32) -> (u16, u16) {
    ((head >> 16) as u16, head as u16)
}

/// What the owner and the thieves share.
struct Inner<T> {
    /// `steal` and `real`, packed (see the module docs).
    head: AtomicU32,
    /// One past the last queued item (a `u16` in a `u32`); only the owner stores it.
    tail: AtomicU32,
    /// `capacity - 1`.
    mask: u16,
    /// The slots: those in `steal..tail` (wrapping, masked) hold initialised values.
    buf: Box<[UnsafeCell<MaybeUninit<T>>]>,
}

// SAFETY: the ring moves `T`s between threads (hence `T: Send`) and never hands out shared
// references to them; access to each slot is arbitrated by `head`/`tail` as the module docs
// describe (a slot is written only by the owner while no one else may read it, and read only
// by whoever claimed it through a compare-and-swap of `head`).
unsafe impl<T: Send> Sync for Inner<T> {}
// SAFETY: as above; the `UnsafeCell`s make `Inner` `!Send` only by default, not because of
// any thread-bound state.
unsafe impl<T: Send> Send for Inner<T> {}

impl<T> Inner<T> {
    #[inline]
    fn cap(&self) -> u16 {
        self.mask + 1
    }

    #[inline]
    fn slot(&self, idx: u16) -> &UnsafeCell<MaybeUninit<T>> {
        &self.buf[usize::from(idx & self.mask)]
    }

    /// Items queued (not counting those a thief is moving), as seen from any thread.
    fn len(&self) -> usize {
        // `head` first: `real` then cannot be ahead of the `tail` read after it.
        let (_, real) = unpack(self.head.load(Acquire));
        let tail = self.tail.load(Acquire) as u16;
        usize::from(tail.wrapping_sub(real)).min(usize::from(self.cap()))
    }

    /// Claims up to half (rounded up) of the queued items, at most `max`, for a thief: returns
    /// the index of the first and how many. `None` if the ring is empty or another thief is
    /// at work.
    fn claim(&self, max: u16) -> Option<(u16, u16)> {
        let mut head = self.head.load(Acquire);
        loop {
            let (steal, real) = unpack(head);
            if steal != real {
                return None;
            }
            // `Acquire`: the owner's writes of the slots before `tail` are visible.
            let tail = self.tail.load(Acquire) as u16;
            let len = tail.wrapping_sub(real);
            let n = (len - len / 2).min(max);
            if n == 0 {
                return None;
            }
            match self.head.compare_exchange_weak(
                head,
                pack(steal, real.wrapping_add(n)),
                AcqRel,
                Acquire,
            ) {
                Ok(_) => return Some((real, n)),
                Err(actual) => head = actual,
            }
        }
    }

    /// Ends a thief's claim that started at `start`: its slots go back to the owner.
    fn release(&self, start: u16) {
        let mut head = self.head.load(Acquire);
        loop {
            let (steal, real) = unpack(head);
            debug_assert_eq!(steal, start, "only the claiming thief moves `steal`");
            // `Release` (in `AcqRel`): the thief's reads of the slots happen before the
            // owner, which reads `head` with `Acquire`, writes them again.
            match self
                .head
                .compare_exchange_weak(head, pack(real, real), AcqRel, Acquire)
            {
                Ok(_) => return,
                Err(actual) => head = actual,
            }
        }
    }

    /// Reads the value out of slot `idx`.
    ///
    /// # Safety
    ///
    /// The slot holds an initialised value that the caller has claimed: it alone reads it,
    /// once, and nobody writes it until the caller gives it back.
    #[inline]
    unsafe fn take(&self, idx: u16) -> T {
        let slot = self.slot(idx);
        // SAFETY: by the caller's contract, the slot is initialised and nobody else touches
        // it meanwhile.
        slot.with(|p| unsafe { std::ptr::read(p).assume_init() })
    }

    /// Writes `value` into slot `idx`.
    ///
    /// # Safety
    ///
    /// The caller is the owner and the slot is outside `steal..tail` (nobody reads it, and
    /// every earlier read of it happened before this call).
    #[inline]
    unsafe fn put(&self, idx: u16, value: T) {
        let slot = self.slot(idx);
        // SAFETY: by the caller's contract, nobody else accesses the slot meanwhile; it holds
        // no value that needs dropping (it is outside `steal..tail`).
        slot.with_mut(|p| unsafe { std::ptr::write(p, MaybeUninit::new(value)) });
    }
}

impl<T> Drop for Inner<T> {
    fn drop(&mut self) {
        // No thief exists any more (each holds an `Arc`), so `steal == real`.
        let (_, real) = unpack(self.head.load(Relaxed));
        let tail = self.tail.load(Relaxed) as u16;
        let mut i = real;
        while i != tail {
            // SAFETY: `&mut self`: nobody else exists; slots `real..tail` hold values, each
            // read once here.
            drop(unsafe { self.take(i) });
            i = i.wrapping_add(1);
        }
    }
}

/// A new ring of `capacity` slots (a power of two, 2 to 2¹⁴): its owner's handle and a
/// handle for thieves (which can be cloned).
pub(crate) fn new<T>(capacity: usize) -> (Local<T>, Stealer<T>) {
    assert!(
        capacity.is_power_of_two() && (2..=1 << 14).contains(&capacity),
        "ring capacity must be a power of two from 2 to 16384"
    );
    let inner = Arc::new(Inner {
        head: AtomicU32::new(0),
        tail: AtomicU32::new(0),
        mask: (capacity - 1) as u16,
        buf: (0..capacity)
            .map(|_| UnsafeCell::new(MaybeUninit::uninit()))
            .collect(),
    });
    (
        Local {
            inner: inner.clone(),
            _not_sync: PhantomData,
        },
        Stealer { inner },
    )
}

/// The owner's handle: pushes and pops. Only one exists per ring, and it is not `Sync`, so
/// only one thread at a time pushes.
pub(crate) struct Local<T> {
    inner: Arc<Inner<T>>,
    _not_sync: PhantomData<Cell<()>>,
}

impl<T> std::fmt::Debug for Local<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Local").field("len", &self.len()).finish()
    }
}

impl<T> Local<T> {
    /// Pushes `value` at the back; if the ring is full, hands back `value`.
    #[inline]
    pub(crate) fn try_push(&self, value: T) -> Result<(), T> {
        let inner = &*self.inner;
        // Only this handle stores `tail`.
        let tail = inner.tail.load(Relaxed) as u16;
        // `Acquire`: a thief's reads of the slots it gave back (its `Release` of `steal`)
        // happen before the write below.
        let (steal, _) = unpack(inner.head.load(Acquire));
        if tail.wrapping_sub(steal) >= inner.cap() {
            return Err(value);
        }
        // SAFETY: we are the owner (the only `Local`, not `Sync`), and `tail - steal <
        // capacity` puts slot `tail` outside `steal..tail`.
        unsafe { inner.put(tail, value) };
        // `Release`: whoever reads this `tail` with `Acquire` sees the slot written.
        inner.tail.store(u32::from(tail.wrapping_add(1)), Release);
        Ok(())
    }

    /// Pushes `value` at the back. If the ring is full, moves up to half of it (oldest first),
    /// then `value`, to `overflow`.
    #[inline]
    pub(crate) fn push_back(&self, value: T, mut overflow: impl FnMut(T)) {
        if let Err(value) = self.try_push(value) {
            self.spill(value, &mut overflow);
        }
    }

    #[cold]
    #[inline(never)]
    fn spill(&self, value: T, overflow: &mut dyn FnMut(T)) {
        // One pop at a time: `overflow` only ever runs between operations, with the ring in a
        // consistent state.
        for _ in 0..self.inner.cap() / 2 {
            match self.pop() {
                Some(v) => overflow(v),
                None => break,
            }
        }
        overflow(value);
    }

    /// Takes the item at the front.
    #[inline]
    pub(crate) fn pop(&self) -> Option<T> {
        let inner = &*self.inner;
        let mut head = inner.head.load(Acquire);
        let idx = loop {
            let (steal, real) = unpack(head);
            // Only this handle stores `tail`.
            let tail = inner.tail.load(Relaxed) as u16;
            if real == tail {
                return None;
            }
            let next_real = real.wrapping_add(1);
            // With no thief at work, `steal` follows `real` (the slot is ours again at once);
            // otherwise the thief moves `steal` when it is done.
            let next = if steal == real {
                pack(next_real, next_real)
            } else {
                pack(steal, next_real)
            };
            match inner
                .head
                .compare_exchange_weak(head, next, AcqRel, Acquire)
            {
                Ok(_) => break real,
                Err(actual) => head = actual,
            }
        };
        // SAFETY: slot `idx` was in `real..tail`, so it holds a value; the compare-and-swap
        // moved `real` past it, so no thief can claim it; only this thread (the owner) writes
        // slots, and it does not until this read is over.
        Some(unsafe { inner.take(idx) })
    }

    /// Items queued (a snapshot).
    pub(crate) fn len(&self) -> usize {
        self.inner.len()
    }

    /// How many more items fit (a lower bound: thieves only make room).
    fn free(&self) -> u16 {
        let inner = &*self.inner;
        let tail = inner.tail.load(Relaxed) as u16;
        let (steal, _) = unpack(inner.head.load(Acquire));
        inner.cap() - tail.wrapping_sub(steal)
    }
}

/// A thief's handle: steals half of the ring into another ring, or takes one item.
pub(crate) struct Stealer<T> {
    inner: Arc<Inner<T>>,
}

impl<T> Clone for Stealer<T> {
    fn clone(&self) -> Self {
        Stealer {
            inner: self.inner.clone(),
        }
    }
}

impl<T> std::fmt::Debug for Stealer<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Stealer").field("len", &self.len()).finish()
    }
}

impl<T> Stealer<T> {
    /// Moves half of this ring's items (rounded up, as many as fit in `dst` plus one) into
    /// `dst`, in order, and returns the last of them instead of pushing it. `None` if there
    /// was nothing to take, another thief was at work, `dst` is full, or `dst` is this very
    /// ring.
    pub(crate) fn steal_into(&self, dst: &Local<T>) -> Option<T> {
        if Arc::ptr_eq(&self.inner, &dst.inner) {
            return None;
        }
        let src = &*self.inner;
        let d = &*dst.inner;
        let free = dst.free();
        let (start, n) = src.claim(free.saturating_add(1))?;
        // `dst` is ours: only this thread stores its `tail`.
        let dst_tail = d.tail.load(Relaxed) as u16;
        for i in 0..n - 1 {
            // SAFETY: `claim` gave us `start..start + n` (initialised: they were before the
            // `tail` it read with `Acquire`); the owner does not write them before `release`.
            let v = unsafe { src.take(start.wrapping_add(i)) };
            // SAFETY: we own `dst` (the only `Local`, not `Sync`), and `n - 1 <= free` puts
            // these slots outside its `steal..tail`.
            unsafe { d.put(dst_tail.wrapping_add(i), v) };
        }
        // SAFETY: as above, the last claimed slot.
        let last = unsafe { src.take(start.wrapping_add(n - 1)) };
        src.release(start);
        if n > 1 {
            d.tail
                .store(u32::from(dst_tail.wrapping_add(n - 1)), Release);
        }
        Some(last)
    }

    /// Takes the item at the front, from any thread. `None` if the ring is empty or a thief is
    /// at work.
    pub(crate) fn pop(&self) -> Option<T> {
        let (start, _) = self.inner.claim(1)?;
        // SAFETY: `claim` gave us slot `start` (initialised, and not written again before
        // `release`).
        let v = unsafe { self.inner.take(start) };
        self.inner.release(start);
        Some(v)
    }

    /// Items queued (a snapshot).
    pub(crate) fn len(&self) -> usize {
        self.inner.len()
    }

    /// Whether nothing is queued (a snapshot).
    pub(crate) fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(all(test, not(tulip_loom)))]
mod tests {
    use std::collections::VecDeque;
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::SeqCst};
    use std::sync::Mutex;

    use proptest::prelude::*;

    use super::*;

    #[test]
    fn ring_pushes_and_pops_in_order_across_the_wrap() {
        let (local, _stealer) = new::<u32>(4);
        let mut next = 0;
        let mut expect = 0;
        for _ in 0..10 {
            for _ in 0..3 {
                local.try_push(next).unwrap();
                next += 1;
            }
            assert_eq!(local.len(), 3);
            for _ in 0..3 {
                assert_eq!(local.pop(), Some(expect));
                expect += 1;
            }
            assert_eq!(local.pop(), None);
        }
    }

    #[test]
    fn ring_full_hands_back_and_overflows_half_then_the_item() {
        let (local, _stealer) = new::<u32>(8);
        for i in 0..8 {
            local.try_push(i).unwrap();
        }
        assert_eq!(local.try_push(8), Err(8));
        let mut spilled = Vec::new();
        local.push_back(9, |v| spilled.push(v));
        assert_eq!(spilled, vec![0, 1, 2, 3, 9]);
        assert_eq!(local.len(), 4);
        local.push_back(10, |_| panic!("room left"));
        let rest: Vec<_> = std::iter::from_fn(|| local.pop()).collect();
        assert_eq!(rest, vec![4, 5, 6, 7, 10]);
    }

    #[test]
    fn ring_steal_takes_half_rounded_up_and_returns_the_last() {
        let (a, sa) = new::<u32>(8);
        let (b, _sb) = new::<u32>(8);
        for i in 0..5 {
            a.try_push(i).unwrap();
        }
        // Half of 5, rounded up: 0, 1, 2; 2 is returned, 0 and 1 land in `b`.
        assert_eq!(sa.steal_into(&b), Some(2));
        assert_eq!(b.len(), 2);
        assert_eq!(a.len(), 2);
        assert_eq!(b.pop(), Some(0));
        assert_eq!(b.pop(), Some(1));
        assert_eq!(a.pop(), Some(3));
        assert_eq!(sa.pop(), Some(4));
        assert_eq!(sa.steal_into(&b), None);
        assert!(sa.is_empty());
    }

    #[test]
    fn ring_steal_respects_the_room_left_in_the_destination() {
        let (a, sa) = new::<u32>(8);
        let (b, _sb) = new::<u32>(8);
        for i in 0..8 {
            a.try_push(i).unwrap();
        }
        for i in 100..106 {
            b.try_push(i).unwrap();
        }
        // Room for 2 in `b`, plus the one returned.
        assert_eq!(sa.steal_into(&b), Some(2));
        assert_eq!(b.len(), 8);
        assert_eq!(a.len(), 5);
        for _ in 0..6 {
            b.pop();
        }
        assert_eq!(b.pop(), Some(0));
        assert_eq!(b.pop(), Some(1));
    }

    #[test]
    fn ring_steal_from_itself_takes_nothing() {
        let (a, sa) = new::<u32>(4);
        a.try_push(1).unwrap();
        assert_eq!(sa.steal_into(&a), None);
        assert_eq!(a.pop(), Some(1));
    }

    #[test]
    fn ring_drop_drops_every_queued_item_once() {
        let marker = std::sync::Arc::new(());
        let (a, sa) = new(8);
        for _ in 0..6 {
            a.try_push(marker.clone()).unwrap();
        }
        drop(a.pop());
        drop(sa.pop());
        assert_eq!(std::sync::Arc::strong_count(&marker), 5);
        drop(a);
        assert_eq!(std::sync::Arc::strong_count(&marker), 5);
        drop(sa);
        assert_eq!(std::sync::Arc::strong_count(&marker), 1);
    }

    #[derive(Debug, Clone)]
    enum Op {
        Push(u8),
        Pop,
        StealPop,
        /// Steal from the other ring into this one.
        StealInto,
        /// Steal from this ring into the other one.
        StolenFrom,
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            4 => (1u8..20).prop_map(Op::Push),
            2 => Just(Op::Pop),
            1 => Just(Op::StealPop),
            1 => Just(Op::StealInto),
            1 => Just(Op::StolenFrom),
        ]
    }

    proptest! {
        // Under Miri (`cargo xtask miri`) a few cases, and no failure files (isolation).
        #![proptest_config(ProptestConfig {
            cases: if cfg!(miri) { 4 } else { 256 },
            failure_persistence: None,
            ..ProptestConfig::default()
        })]

        /// Single-threaded, the ring (and a second one it trades with) behaves like a pair of
        /// `VecDeque`s with a bound, overflow of half, and steal-half-rounded-up.
        #[test]
        fn ring_behaves_like_a_bounded_vecdeque(
            cap_log in 1u32..4,
            ops in proptest::collection::vec(op(), 0..if cfg!(miri) { 24 } else { 96 }),
        ) {
            let cap = 1usize << cap_log;
            let (a, sa) = new::<u32>(cap);
            let (b, sb) = new::<u32>(cap);
            let mut ma = VecDeque::new();
            let mut mb = VecDeque::new();
            let mut spilled = Vec::new();
            let mut model_spilled = Vec::new();
            let mut next = 0u32;
            for op in ops {
                match op {
                    Op::Push(k) => {
                        for _ in 0..k {
                            a.push_back(next, |v| spilled.push(v));
                            if ma.len() == cap {
                                let half = cap / 2;
                                model_spilled.extend(ma.drain(..half));
                                model_spilled.push(next);
                            } else {
                                ma.push_back(next);
                            }
                            next += 1;
                        }
                    }
                    Op::Pop => prop_assert_eq!(a.pop(), ma.pop_front()),
                    Op::StealPop => prop_assert_eq!(sa.pop(), ma.pop_front()),
                    Op::StealInto => {
                        let got = sb.steal_into(&a);
                        let n = mb.len().div_ceil(2).min(cap - ma.len() + 1);
                        let mut taken: VecDeque<u32> = mb.drain(..n).collect();
                        let last = taken.pop_back();
                        ma.extend(taken);
                        prop_assert_eq!(got, last);
                    }
                    Op::StolenFrom => {
                        let got = sa.steal_into(&b);
                        let n = ma.len().div_ceil(2).min(cap - mb.len() + 1);
                        let mut taken: VecDeque<u32> = ma.drain(..n).collect();
                        let last = taken.pop_back();
                        mb.extend(taken);
                        prop_assert_eq!(got, last);
                    }
                }
                prop_assert_eq!(a.len(), ma.len());
                prop_assert_eq!(b.len(), mb.len());
                prop_assert_eq!(&spilled, &model_spilled);
            }
            let rest_a: Vec<_> = std::iter::from_fn(|| a.pop()).collect();
            let rest_b: Vec<_> = std::iter::from_fn(|| b.pop()).collect();
            prop_assert_eq!(rest_a, Vec::from(ma));
            prop_assert_eq!(rest_b, Vec::from(mb));
        }
    }

    /// One owner pushes and pops `ITEMS` numbered items while `THIEVES` threads steal from it
    /// into their own rings and drain those: every item is seen exactly once.
    #[test]
    fn ring_stress_every_item_exactly_once() {
        const ITEMS: usize = if cfg!(miri) { 300 } else { 200_000 };
        const THIEVES: usize = if cfg!(miri) { 2 } else { 3 };
        let (owner, stealer) = new::<usize>(if cfg!(miri) { 16 } else { 256 });
        let seen: Vec<AtomicUsize> = (0..ITEMS).map(|_| AtomicUsize::new(0)).collect();
        let overflow = Mutex::new(Vec::new());
        let done = AtomicBool::new(false);
        let stolen = AtomicUsize::new(0);
        let see = |v: usize| {
            assert_eq!(seen[v].fetch_add(1, SeqCst), 0, "item {v} taken twice");
        };
        std::thread::scope(|s| {
            for _ in 0..THIEVES {
                s.spawn(|| {
                    let (mine, _my_stealer) = new::<usize>(if cfg!(miri) { 8 } else { 256 });
                    while !done.load(SeqCst) || !stealer.is_empty() {
                        match stealer.steal_into(&mine) {
                            Some(v) => {
                                stolen.fetch_add(1, SeqCst);
                                see(v);
                                while let Some(v) = mine.pop() {
                                    see(v);
                                }
                            }
                            None => std::hint::spin_loop(),
                        }
                    }
                });
            }
            for i in 0..ITEMS {
                owner.push_back(i, |v| overflow.lock().unwrap().push(v));
                // Pop about one item in three, so the ring fills at times.
                if i % 3 == 0 {
                    if let Some(v) = owner.pop() {
                        see(v);
                    }
                }
            }
            while let Some(v) = owner.pop() {
                see(v);
            }
            done.store(true, SeqCst);
        });
        for v in overflow.into_inner().unwrap() {
            see(v);
        }
        for (i, n) in seen.iter().enumerate() {
            assert_eq!(n.load(SeqCst), 1, "item {i}");
        }
        eprintln!("thieves took {} batches", stolen.load(SeqCst));
    }
}
