//! The registry of live tasks: every task from spawn until its future is dropped.
//!
//! It is what lets the loop cancel every task at shutdown (each entry holds a waker), lets
//! `Task::cancel` wake a task from any thread, and answers `task::all()` and `dump()`.

use std::sync::{Mutex, MutexGuard};
use std::task::Waker;

use crate::task_handle::TaskMeta;

/// Locks a mutex, ignoring poisoning: no user code runs under the registry's locks.
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// One registered task (24 bytes: `Option<Entry>` uses the waker's niche).
pub(crate) struct Entry {
    pub(crate) waker: Waker,
    /// The task's metadata, inside its allocation (also the entry's identity).
    meta: *const TaskMeta,
}

// SAFETY: `meta` points to a `TaskMeta` (Sync) that outlives the entry: the entry is removed
// (under the shard lock) when the task's future is dropped, and async-task frees the metadata
// only after that. The pointer is only dereferenced under the shard lock (see `Entry::meta`).
unsafe impl Send for Entry {}

impl Entry {
    /// The task's metadata; only valid while the shard lock is held.
    pub(crate) fn meta(&self) -> &TaskMeta {
        // SAFETY: see the `Send` impl: the entry exists, and callers hold the shard lock, so
        // the task cannot finish unregistering (and be freed) meanwhile.
        unsafe { &*self.meta }
    }
}

/// One shard of the registry.
#[derive(Default)]
pub(crate) struct Shard {
    slots: Vec<Option<Entry>>,
    free: Vec<usize>,
    len: usize,
}

impl Shard {
    pub(crate) fn insert(&mut self, meta: &TaskMeta, waker: Waker) -> usize {
        let entry = Entry { waker, meta };
        self.len += 1;
        match self.free.pop() {
            Some(i) => {
                self.slots[i] = Some(entry);
                i
            }
            None => {
                self.slots.push(Some(entry));
                self.slots.len() - 1
            }
        }
    }

    pub(crate) fn remove(&mut self, slot: usize, meta: &TaskMeta) -> Option<Entry> {
        match self.slots.get_mut(slot) {
            Some(s) if s.as_ref().is_some_and(|e| std::ptr::eq(e.meta, meta)) => {
                let e = s.take();
                self.free.push(slot);
                self.len -= 1;
                e
            }
            _ => None,
        }
    }

    pub(crate) fn get(&self, slot: usize, meta: &TaskMeta) -> Option<&Entry> {
        match self.slots.get(slot) {
            Some(Some(e)) if std::ptr::eq(e.meta, meta) => Some(e),
            _ => None,
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.len
    }

    pub(crate) fn entries(&self) -> impl Iterator<Item = &Entry> {
        self.slots.iter().flatten()
    }
}

/// The sharded registry.
pub(crate) struct Registry {
    shards: Box<[Mutex<Shard>]>,
}

impl Registry {
    pub(crate) fn new(shards: usize) -> Registry {
        Registry {
            shards: (0..shards.max(1))
                .map(|_| Mutex::new(Shard::default()))
                .collect(),
        }
    }

    fn shard_of(&self, id: u64) -> usize {
        (id as usize) % self.shards.len()
    }

    /// Registers a task; returns its slot.
    pub(crate) fn insert(&self, meta: &TaskMeta, waker: Waker) -> usize {
        let n = self.shards.len();
        let shard = self.shard_of(meta.id.as_u64());
        let idx = lock(&self.shards[shard]).insert(meta, waker);
        idx * n + shard
    }

    /// Removes a task (its waker is dropped outside the lock).
    pub(crate) fn remove(&self, slot: usize, meta: &TaskMeta) {
        let n = self.shards.len();
        let entry = lock(&self.shards[slot % n]).remove(slot / n, meta);
        drop(entry);
    }

    /// The waker of a registered task.
    pub(crate) fn waker(&self, slot: usize, meta: &TaskMeta) -> Option<Waker> {
        let n = self.shards.len();
        lock(&self.shards[slot % n])
            .get(slot / n, meta)
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
