//! Property tests: random sequences of acquire / poll / cancel / drop / try / release /
//! forget on `Semaphore`, `BoundedSemaphore` and `Lock`, checked step by step against a
//! plain model of FIFO hand-off.
//!
//! The model: `free` permits, a FIFO `queue` of waiting clients, and the set of `handed`
//! clients (a release gave them a permit, they have not been polled since). A newcomer takes
//! a permit at once only when nobody is queued or handed; a release hands its permit to the
//! head of the queue; a handed client that is cancelled gives its permit back, which goes to
//! the next in line. After every step the real primitive must agree on the number of free
//! permits and on `locked()`, a polled client must be ready exactly when the model handed it
//! a permit, and exactly the handed clients must have been woken.
//!
//! Run more cases with `PROPTEST_CASES=10000 cargo test -p tulip-sync --test model`.
#![cfg(not(tulip_loom))] // These use real threads and statics; see tests/loom.rs.

mod common;

use common::Polled;
use proptest::prelude::*;
use std::collections::{BTreeSet, VecDeque};
use std::future::Future;
use tulip_sync::futures::{Acquire, BoundedAcquire, LockAcquire};
use tulip_sync::{BoundedPermit, BoundedSemaphore, Lock, LockGuard, Permit, Semaphore};

const CLIENTS: usize = 4;

#[derive(Debug, Clone, Copy)]
enum Op {
    Acquire(usize),
    Poll(usize),
    Cancel(usize),
    DropGuard(usize),
    TryAcquire(usize),
    Forget(usize),
    Release,
}

fn op() -> impl Strategy<Value = Op> {
    let client = 0..CLIENTS;
    prop_oneof![
        3 => client.clone().prop_map(Op::Acquire),
        3 => client.clone().prop_map(Op::Poll),
        1 => client.clone().prop_map(Op::Cancel),
        2 => client.clone().prop_map(Op::DropGuard),
        1 => client.clone().prop_map(Op::TryAcquire),
        1 => client.prop_map(Op::Forget),
        1 => Just(Op::Release),
    ]
}

/// What the harness needs from a primitive.
trait Primitive {
    type Guard<'a>
    where
        Self: 'a;
    type Fut<'a>: Future<Output = Self::Guard<'a>>
    where
        Self: 'a;

    fn acquire(&self) -> Self::Fut<'_>;
    fn try_acquire(&self) -> Option<Self::Guard<'_>>;
    /// `None` if the primitive has no explicit release; else whether it succeeded.
    fn release(&self) -> Option<bool>;
    /// Keeps the permit taken; `false` if the primitive cannot (the guard is dropped).
    fn forget(guard: Self::Guard<'_>) -> bool;
    /// The free permits, if the primitive tells.
    fn available(&self) -> Option<usize>;
    fn locked(&self) -> bool;
}

impl Primitive for Semaphore {
    type Guard<'a> = Permit<'a>;
    type Fut<'a> = Acquire<'a>;

    fn acquire(&self) -> Acquire<'_> {
        Semaphore::acquire(self)
    }
    fn try_acquire(&self) -> Option<Permit<'_>> {
        Semaphore::try_acquire(self)
    }
    fn release(&self) -> Option<bool> {
        Semaphore::release(self);
        Some(true)
    }
    fn forget(guard: Permit<'_>) -> bool {
        guard.forget();
        true
    }
    fn available(&self) -> Option<usize> {
        Some(Semaphore::available(self))
    }
    fn locked(&self) -> bool {
        Semaphore::locked(self)
    }
}

impl Primitive for BoundedSemaphore {
    type Guard<'a> = BoundedPermit<'a>;
    type Fut<'a> = BoundedAcquire<'a>;

    fn acquire(&self) -> BoundedAcquire<'_> {
        BoundedSemaphore::acquire(self)
    }
    fn try_acquire(&self) -> Option<BoundedPermit<'_>> {
        BoundedSemaphore::try_acquire(self)
    }
    fn release(&self) -> Option<bool> {
        Some(BoundedSemaphore::release(self).is_ok())
    }
    fn forget(guard: BoundedPermit<'_>) -> bool {
        guard.forget();
        true
    }
    fn available(&self) -> Option<usize> {
        Some(BoundedSemaphore::available(self))
    }
    fn locked(&self) -> bool {
        BoundedSemaphore::locked(self)
    }
}

impl Primitive for Lock {
    type Guard<'a> = LockGuard<'a>;
    type Fut<'a> = LockAcquire<'a>;

    fn acquire(&self) -> LockAcquire<'_> {
        self.lock()
    }
    fn try_acquire(&self) -> Option<LockGuard<'_>> {
        self.try_lock()
    }
    fn release(&self) -> Option<bool> {
        None
    }
    fn forget(guard: LockGuard<'_>) -> bool {
        drop(guard);
        false
    }
    fn available(&self) -> Option<usize> {
        None
    }
    fn locked(&self) -> bool {
        Lock::locked(self)
    }
}

/// The reference model.
#[derive(Debug)]
struct Model {
    free: usize,
    /// `None`: unbounded.
    bound: Option<usize>,
    queue: VecDeque<usize>,
    handed: BTreeSet<usize>,
}

impl Model {
    fn can_take_now(&self) -> bool {
        self.queue.is_empty() && self.handed.is_empty() && self.free > 0
    }

    fn settle(&mut self) {
        while self.free > 0 {
            let Some(next) = self.queue.pop_front() else {
                break;
            };
            self.free -= 1;
            self.handed.insert(next);
        }
    }

    /// Gives a permit back; `false` if the bound refuses it.
    fn release(&mut self) -> bool {
        if self.bound.is_some_and(|bound| self.free >= bound) {
            return false;
        }
        self.free += 1;
        self.settle();
        true
    }

    fn locked(&self) -> bool {
        self.free == 0 || !self.queue.is_empty() || !self.handed.is_empty()
    }
}

enum Client<'a, P: Primitive + 'a> {
    Idle,
    Waiting {
        future: Polled<P::Fut<'a>>,
        wakeups_seen: usize,
    },
    Holding(P::Guard<'a>),
}

fn run<P: Primitive>(prim: &P, mut model: Model, ops: &[Op]) -> Result<(), TestCaseError> {
    let mut clients: Vec<Client<'_, P>> = (0..CLIENTS).map(|_| Client::Idle).collect();
    for (step, &op) in ops.iter().enumerate() {
        match op {
            Op::Acquire(c) => {
                if let Client::Idle = clients[c] {
                    let mut future = Polled::new(prim.acquire());
                    if model.can_take_now() {
                        model.free -= 1;
                        let guard = future.ready();
                        clients[c] = Client::Holding(guard);
                    } else {
                        future.pending();
                        model.queue.push_back(c);
                        clients[c] = Client::Waiting {
                            future,
                            wakeups_seen: 0,
                        };
                    }
                }
            }
            Op::Poll(c) => {
                if let Client::Waiting {
                    future,
                    wakeups_seen,
                } = &mut clients[c]
                {
                    if model.handed.remove(&c) {
                        let guard = future.ready();
                        clients[c] = Client::Holding(guard);
                        model.settle();
                    } else {
                        future.pending();
                        *wakeups_seen = future.wakeups();
                    }
                }
            }
            Op::Cancel(c) => {
                if let Client::Waiting { .. } = clients[c] {
                    clients[c] = Client::Idle;
                    if model.handed.remove(&c) {
                        model.free += 1;
                    } else {
                        model.queue.retain(|&w| w != c);
                    }
                    model.settle();
                }
            }
            Op::DropGuard(c) => {
                if let Client::Holding(_) = clients[c] {
                    clients[c] = Client::Idle;
                    model.release();
                }
            }
            Op::TryAcquire(c) => {
                if let Client::Idle = clients[c] {
                    let got = prim.try_acquire();
                    prop_assert_eq!(got.is_some(), model.can_take_now(), "step {}", step);
                    if let Some(guard) = got {
                        model.free -= 1;
                        clients[c] = Client::Holding(guard);
                    }
                }
            }
            Op::Forget(c) => {
                if let Client::Holding(_) = clients[c] {
                    let Client::Holding(guard) = std::mem::replace(&mut clients[c], Client::Idle)
                    else {
                        unreachable!()
                    };
                    if !P::forget(guard) {
                        model.release();
                    }
                }
            }
            Op::Release => {
                // Keep the unbounded semaphore small.
                if model.bound.is_some() || model.free < 8 {
                    if let Some(ok) = prim.release() {
                        prop_assert_eq!(ok, model.release(), "step {}", step);
                    }
                }
            }
        }

        // The primitive agrees with the model...
        if let Some(available) = prim.available() {
            prop_assert_eq!(available, model.free, "free permits after step {}", step);
        }
        prop_assert_eq!(
            prim.locked(),
            model.locked(),
            "locked() after step {}",
            step
        );
        // ...and exactly the handed clients were woken since their last poll.
        for (c, client) in clients.iter().enumerate() {
            if let Client::Waiting {
                future,
                wakeups_seen,
            } = client
            {
                let woken = future.wakeups() > *wakeups_seen;
                prop_assert_eq!(
                    woken,
                    model.handed.contains(&c),
                    "client {} wakeup after step {}",
                    c,
                    step
                );
            }
        }
    }
    Ok(())
}

/// The longest sequence of operations a case tries: shorter under Miri (cargo xtask miri
/// --all), where 80 steps take a case some fifteen seconds; 24 still queue, hand off and
/// cancel several waiters.
const MAX_OPS: usize = if cfg!(miri) { 24 } else { 80 };

proptest! {
    // Under Miri (cargo xtask miri) a few cases: each is thousands of times slower there.
    #![proptest_config(ProptestConfig::with_cases(if cfg!(miri) { 4 } else { 256 }))]

    #[test]
    fn semaphore_follows_the_fifo_hand_off_model(
        permits in 0usize..3,
        ops in proptest::collection::vec(op(), 1..MAX_OPS),
    ) {
        let sem = Semaphore::new(permits);
        let model = Model { free: permits, bound: None, queue: VecDeque::new(), handed: BTreeSet::new() };
        run(&sem, model, &ops)?;
    }

    #[test]
    fn bounded_semaphore_follows_the_model_and_its_bound(
        permits in 1usize..3,
        ops in proptest::collection::vec(op(), 1..MAX_OPS),
    ) {
        let sem = BoundedSemaphore::new(permits);
        let model = Model { free: permits, bound: Some(permits), queue: VecDeque::new(), handed: BTreeSet::new() };
        run(&sem, model, &ops)?;
    }

    #[test]
    fn lock_follows_the_fifo_hand_off_model(
        ops in proptest::collection::vec(op(), 1..MAX_OPS),
    ) {
        let lock = Lock::new();
        let model = Model { free: 1, bound: Some(1), queue: VecDeque::new(), handed: BTreeSet::new() };
        run(&lock, model, &ops)?;
    }
}
