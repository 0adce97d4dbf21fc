//! Helpers shared by the test files: a deterministic single-threaded "event loop" and items
//! that count their drops; wakers that record wake-ups ([`WakeCounter`], [`poll_with`],
//! [`poll_once`]) and the watchdog for threaded tests ([`within`]) come from
//! tulip-test-support.

#![allow(
    dead_code,
    unused_imports,
    reason = "each test binary uses a different subset of the helpers"
)]

pub(crate) mod model;

use std::{
    sync::{
        atomic::{AtomicUsize, Ordering},
        Arc,
    },
    thread,
};

use async_executor::LocalExecutor;
pub(crate) use tulip_test_support::{poll_once, poll_with, within, WakeCounter};

/// Runs every task that can make progress until none can: asyncio's "let the other tasks
/// run" (`await asyncio.sleep(0)`, repeated). Single-threaded and deterministic.
pub(crate) fn run_until_stalled(ex: &LocalExecutor<'_>) {
    while ex.try_tick() {}
}

/// Counts the drops of [`Counted`] items.
#[derive(Clone, Default)]
pub(crate) struct DropLog {
    drops: Arc<AtomicUsize>,
    created: Arc<AtomicUsize>,
}

impl DropLog {
    pub(crate) fn new() -> Self {
        Self::default()
    }

    /// A new item with this id.
    pub(crate) fn item(&self, id: u32) -> Counted {
        self.created.fetch_add(1, Ordering::SeqCst);
        Counted {
            id,
            log: self.clone(),
            panic_on_drop: false,
        }
    }

    /// A new item whose `Drop` panics (after counting itself).
    pub(crate) fn bomb(&self, id: u32) -> Counted {
        let mut item = self.item(id);
        item.panic_on_drop = true;
        item
    }

    pub(crate) fn drops(&self) -> usize {
        self.drops.load(Ordering::SeqCst)
    }

    pub(crate) fn created(&self) -> usize {
        self.created.load(Ordering::SeqCst)
    }

    /// Every item created so far was dropped exactly once.
    pub(crate) fn assert_all_dropped_once(&self) {
        assert_eq!(
            self.drops(),
            self.created(),
            "items dropped != items created"
        );
    }
}

/// An item that counts its drops; optionally panics in `Drop`.
pub(crate) struct Counted {
    pub(crate) id: u32,
    log: DropLog,
    panic_on_drop: bool,
}

impl std::fmt::Debug for Counted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Counted({})", self.id)
    }
}

impl PartialEq for Counted {
    fn eq(&self, other: &Self) -> bool {
        self.id == other.id
    }
}

impl Eq for Counted {}

impl PartialOrd for Counted {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Counted {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.id.cmp(&other.id)
    }
}

impl Drop for Counted {
    fn drop(&mut self) {
        let previous = self.log.drops.fetch_add(1, Ordering::SeqCst);
        assert!(
            previous < self.log.created(),
            "more drops than items: item {} dropped twice?",
            self.id
        );
        if self.panic_on_drop && !thread::panicking() {
            panic!("boom: item {} panics in Drop", self.id);
        }
    }
}
