//! The registry of live tasks: every task from spawn until its future is dropped.
//!
//! It is what lets the loop cancel every task at shutdown (each entry holds a waker), lets
//! `Task::cancel` wake a task from any thread, and answers `task::all()` and `dump()`.

use std::sync::Mutex;
use std::task::Waker;

use tulip_util::lock;

use crate::task::meta::{TaskMeta, NO_SLOT};

/// One registered task (24 bytes: `Option<Entry>` uses the waker's niche).
///
/// Entries are made only by [`Shard::insert`] and never leave their shard ([`Shard::remove`]
/// hands back the waker alone), so an `&Entry` always points into a shard whose lock is held.
pub(crate) struct Entry {
    pub(crate) waker: Waker,
    /// The task's metadata, inside its allocation (also the entry's identity).
    meta: *const TaskMeta,
}

// SAFETY: `meta` points to a `TaskMeta` (Sync) in the allocation that `waker` keeps alive (the
// contract of `Registry::insert`, the only way in), so it is valid for as long as the entry
// exists, on any thread.
unsafe impl Send for Entry {}

impl Entry {
    /// The task's metadata.
    pub(crate) fn meta(&self) -> &TaskMeta {
        // SAFETY: the entry's own `waker` is a waker of the task (`Registry::insert`'s contract)
        // and holds a reference to it, so the allocation holding the metadata outlives the
        // entry, and so this borrow of it.
        unsafe { &*self.meta }
    }
}

/// Slots per chunk of a [`ChunkSlab`] (24 KiB, like a run-queue segment: see `segqueue`).
const CHUNK: usize = 1024;

/// A slot of a [`ChunkSlab`]: a value, or a link in the free list.
enum Slot<T> {
    /// Free; holds the next free slot's index plus one (0 ends the list).
    Vacant(usize),
    Occupied(T),
}

// Vacant slots cost nothing beyond the 24 bytes of an entry.
const _: () = assert!(std::mem::size_of::<Slot<Entry>>() == std::mem::size_of::<Option<Entry>>());

/// A slab in fixed-size chunks: it grows without copying (no moment where an old and a new
/// buffer are both live, as when a `Vec` doubles), and its free slots form a list through the
/// slots themselves (no second vector that grows as values leave). Indices are stable.
struct ChunkSlab<T> {
    chunks: Vec<Box<[Slot<T>]>>,
    /// Slots handed out so far (the used prefix of the chunks).
    used: usize,
    /// Index plus one of the first free slot (0: none).
    free_head: usize,
    len: usize,
}

impl<T> Default for ChunkSlab<T> {
    fn default() -> Self {
        ChunkSlab {
            chunks: Vec::new(),
            used: 0,
            free_head: 0,
            len: 0,
        }
    }
}

impl<T> ChunkSlab<T> {
    fn slot_mut(&mut self, i: usize) -> Option<&mut Slot<T>> {
        self.chunks.get_mut(i / CHUNK).map(|c| &mut c[i % CHUNK])
    }

    fn insert(&mut self, value: T) -> usize {
        let value = Slot::Occupied(value);
        self.len += 1;
        if self.free_head != 0 {
            let i = self.free_head - 1;
            let slot = self.slot_mut(i).expect("a free slot exists");
            let Slot::Vacant(next) = std::mem::replace(slot, value) else {
                unreachable!("the free list links only vacant slots");
            };
            self.free_head = next;
            return i;
        }
        let i = self.used;
        if i / CHUNK == self.chunks.len() {
            self.chunks
                .push((0..CHUNK).map(|_| Slot::Vacant(0)).collect());
        }
        self.used += 1;
        let old = std::mem::replace(self.slot_mut(i).expect("chunk allocated"), value);
        // A slot past `used` is vacant: nothing to drop (and no drop glue to run).
        debug_assert!(matches!(old, Slot::Vacant(_)));
        std::mem::forget(old);
        i
    }

    fn get(&self, i: usize) -> Option<&T> {
        match self.chunks.get(i / CHUNK).map(|c| &c[i % CHUNK]) {
            Some(Slot::Occupied(v)) => Some(v),
            _ => None,
        }
    }

    /// Removes the value at `i` if there is one and `check` accepts it.
    fn remove_if(&mut self, i: usize, check: impl FnOnce(&T) -> bool) -> Option<T> {
        let next = self.free_head;
        let s = self.slot_mut(i)?;
        if !matches!(s, Slot::Occupied(v) if check(v)) {
            return None;
        }
        let Slot::Occupied(v) = std::mem::replace(s, Slot::Vacant(next)) else {
            unreachable!("checked occupied");
        };
        self.free_head = i + 1;
        self.len -= 1;
        Some(v)
    }

    fn iter(&self) -> impl Iterator<Item = &T> {
        self.chunks
            .iter()
            .flat_map(|c| c.iter())
            .take(self.used)
            .filter_map(|s| match s {
                Slot::Occupied(v) => Some(v),
                Slot::Vacant(_) => None,
            })
    }
}

/// One shard of the registry.
#[derive(Default)]
struct Shard {
    slab: ChunkSlab<Entry>,
}

impl Shard {
    /// See [`Registry::insert`] for what `waker` must be.
    fn insert(&mut self, meta: &TaskMeta, waker: Waker) -> usize {
        self.slab.insert(Entry { waker, meta })
    }

    /// Removes the entry of `meta`'s task from `slot`, if it is there; returns its waker (an
    /// entry never leaves its shard: see [`Entry::meta`]).
    fn remove(&mut self, slot: usize, meta: &TaskMeta) -> Option<Waker> {
        self.slab
            .remove_if(slot, |e| std::ptr::eq(e.meta, meta))
            .map(|e| e.waker)
    }

    fn get(&self, slot: usize, meta: &TaskMeta) -> Option<&Entry> {
        self.slab.get(slot).filter(|e| std::ptr::eq(e.meta, meta))
    }

    fn len(&self) -> usize {
        self.slab.len
    }

    fn entries(&self) -> impl Iterator<Item = &Entry> {
        self.slab.iter()
    }
}

/// The sharded registry. A slot is `index * shards + shard`; the number of shards is a power
/// of two, so that splitting a slot is a mask and a shift, not two divisions.
pub(crate) struct Registry {
    shards: Box<[Mutex<Shard>]>,
    /// `log2(shards.len())`.
    shift: u32,
}

impl Registry {
    /// A registry of at least `shards` shards (rounded up to a power of two).
    pub(crate) fn new(shards: usize) -> Registry {
        let n = shards.max(1).next_power_of_two();
        Registry {
            shards: (0..n).map(|_| Mutex::new(Shard::default())).collect(),
            shift: n.trailing_zeros(),
        }
    }

    fn mask(&self) -> usize {
        self.shards.len() - 1
    }

    fn shard_of(&self, id: u64) -> usize {
        (id as usize) & self.mask()
    }

    /// Registers a task; returns its slot (32 bits, so that the task header stays small:
    /// four billion live tasks would need hundreds of gigabytes first).
    ///
    /// # Safety
    ///
    /// `waker` must be a waker of the task whose header is `meta`: the entry keeps only a
    /// pointer to `meta`, and it is the waker's reference to the task that keeps the
    /// allocation holding `meta` alive for as long as the entry exists (see [`Entry::meta`]).
    pub(crate) unsafe fn insert(&self, meta: &TaskMeta, waker: Waker) -> u32 {
        let shard = self.shard_of(meta.id.as_u64());
        let idx = lock(&self.shards[shard]).insert(meta, waker);
        u32::try_from((idx << self.shift) | shard)
            .ok()
            .filter(|&s| s != NO_SLOT)
            .expect("more than 2^32 - 1 live tasks in one loop")
    }

    /// Removes a task (its waker is dropped outside the lock).
    pub(crate) fn remove(&self, slot: u32, meta: &TaskMeta) {
        let slot = slot as usize;
        let waker = lock(&self.shards[slot & self.mask()]).remove(slot >> self.shift, meta);
        drop(waker);
    }

    /// The waker of a registered task.
    pub(crate) fn waker(&self, slot: u32, meta: &TaskMeta) -> Option<Waker> {
        let slot = slot as usize;
        lock(&self.shards[slot & self.mask()])
            .get(slot >> self.shift, meta)
            .map(|e| e.waker.clone())
    }

    /// Number of live tasks.
    pub(crate) fn len(&self) -> usize {
        self.shards.iter().map(|s| lock(s).len()).sum()
    }

    /// Wakers of live tasks matching `filter` (cloned; the caller wakes them).
    pub(crate) fn wakers(&self, filter: impl Fn(&Entry) -> bool) -> Vec<Waker> {
        let mut out = Vec::new();
        for s in self.shards.iter() {
            out.extend(
                lock(s)
                    .entries()
                    .filter(|e| filter(e))
                    .map(|e| e.waker.clone()),
            );
        }
        out
    }

    /// Number of live tasks matching `filter`.
    pub(crate) fn count(&self, filter: impl Fn(&Entry) -> bool) -> usize {
        self.shards
            .iter()
            .map(|s| lock(s).entries().filter(|e| filter(e)).count())
            .sum()
    }

    /// Runs `f` on every live task's metadata (under each shard's lock in turn).
    pub(crate) fn for_each(&self, mut f: impl FnMut(&TaskMeta)) {
        for s in self.shards.iter() {
            for e in lock(s).entries() {
                f(e.meta());
            }
        }
    }

    /// Runs `f` on the metadata of the task with id `id`, if registered.
    pub(crate) fn with_task<R>(&self, id: u64, f: impl FnOnce(&TaskMeta) -> R) -> Option<R> {
        let s = lock(&self.shards[self.shard_of(id)]);
        let found = s
            .entries()
            .find(|e| e.meta().id.as_u64() == id)
            .map(|e| f(e.meta()));
        found
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::BTreeMap;

    #[derive(Debug, Clone)]
    enum Op {
        Insert(u32),
        InsertMany(u16),
        /// Removes the `n % len`-th live value (by index order).
        Remove(usize),
        /// Tries to remove a slot that may be vacant or past the end.
        RemoveAt(usize),
        /// Removes every value whose index is divisible by `k`.
        RemoveEvery(u8),
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            any::<u32>().prop_map(Op::Insert),
            (0..1500u16).prop_map(Op::InsertMany),
            any::<usize>().prop_map(Op::Remove),
            (0..3000usize).prop_map(Op::RemoveAt),
            (1..8u8).prop_map(Op::RemoveEvery),
        ]
    }

    proptest! {
        /// The slab agrees with a map from index to value, never hands out a live index, and
        /// reuses freed slots before growing.
        #[test]
        // Safe code, and proptest needs the file system (isolated under Miri).
        #[cfg_attr(miri, ignore)]
        fn behaves_like_a_map(ops in proptest::collection::vec(op(), 0..48)) {
            let mut slab = ChunkSlab::default();
            let mut model: BTreeMap<usize, u32> = BTreeMap::new();
            let mut freed = 0usize;
            let mut next = 0u32;
            let insert = |slab: &mut ChunkSlab<u32>, model: &mut BTreeMap<usize, u32>,
                              freed: &mut usize, v: u32| -> Result<(), TestCaseError> {
                let used_before = slab.used;
                let i = slab.insert(v);
                prop_assert!(model.insert(i, v).is_none(), "index {} handed out twice", i);
                if *freed > 0 {
                    *freed -= 1;
                    prop_assert_eq!(slab.used, used_before, "a free slot is reused before growing");
                } else {
                    prop_assert_eq!(i, used_before, "grows only when nothing is free");
                }
                Ok(())
            };
            for op in ops {
                match op {
                    Op::Insert(v) => insert(&mut slab, &mut model, &mut freed, v)?,
                    Op::InsertMany(n) => {
                        for _ in 0..n {
                            next = next.wrapping_add(1);
                            insert(&mut slab, &mut model, &mut freed, next)?;
                        }
                    }
                    Op::Remove(k) => {
                        if !model.is_empty() {
                            let i = *model.keys().nth(k % model.len()).expect("in range");
                            prop_assert_eq!(slab.remove_if(i, |_| true), model.remove(&i));
                            freed += 1;
                        }
                    }
                    Op::RemoveAt(i) => {
                        let removed = slab.remove_if(i, |_| true);
                        prop_assert_eq!(removed, model.remove(&i));
                        if removed.is_some() {
                            freed += 1;
                        }
                    }
                    Op::RemoveEvery(k) => {
                        let doomed: Vec<usize> =
                            model.keys().copied().filter(|i| i % k as usize == 0).collect();
                        for i in doomed {
                            prop_assert!(slab.remove_if(i, |_| false).is_none(), "a veto keeps it");
                            prop_assert_eq!(slab.remove_if(i, |_| true), model.remove(&i));
                            freed += 1;
                        }
                    }
                }
                prop_assert_eq!(slab.len, model.len());
                let live: Vec<u32> = slab.iter().copied().collect();
                let expected: Vec<u32> = model.values().copied().collect();
                prop_assert_eq!(live, expected);
                for (&i, &v) in &model {
                    prop_assert_eq!(slab.get(i), Some(&v));
                }
            }
        }
    }
}
