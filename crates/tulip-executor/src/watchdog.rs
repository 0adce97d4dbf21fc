//! The blocked-loop detector: a thread that advances a coarse clock and reports a poll (of a
//! task, a callback or the main future) that has been running for longer than the threshold
//! while it is still running.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Weak;
use std::time::Duration;

use crate::executor::shared::Shared;
use crate::report::{ExceptionContext, ReportKind};

/// The blocked-loop detector's shared state: a coarse clock (`epoch`, advanced by the
/// watchdog thread every `tick`) and, per worker, the epoch at which its current poll began.
/// Publishing a poll costs a relaxed load and three stores (the last one a release), and one
/// release store when it ends: cheap enough to leave on.
pub(crate) struct Watchdog {
    epoch: AtomicU64,
    tick: Duration,
    threshold: Duration,
    busy: Box<[Busy]>,
}

/// One worker's current poll.
struct Busy {
    /// Epoch at which the poll began (0: idle).
    since: AtomicU64,
    /// The task polled (0: a callback or the main future).
    task: AtomicU64,
    /// Whether this poll has been reported already.
    reported: AtomicBool,
}

impl Watchdog {
    pub(crate) fn new(threshold: Duration, workers: usize) -> Watchdog {
        Watchdog {
            epoch: AtomicU64::new(1),
            tick: (threshold / 4).max(Duration::from_millis(1)),
            threshold,
            busy: (0..workers.max(1))
                .map(|_| Busy {
                    since: AtomicU64::new(0),
                    task: AtomicU64::new(0),
                    reported: AtomicBool::new(false),
                })
                .collect(),
        }
    }

    /// A poll (of task `task`, 0 for callbacks and the main future) begins on worker `slot`.
    pub(crate) fn start(&self, slot: usize, task: u64) {
        if let Some(b) = self.busy.get(slot) {
            b.task.store(task, Ordering::Relaxed);
            b.reported.store(false, Ordering::Relaxed);
            b.since
                .store(self.epoch.load(Ordering::Relaxed), Ordering::Release);
        }
    }

    /// The poll on worker `slot` ended.
    pub(crate) fn end(&self, slot: usize) {
        if let Some(b) = self.busy.get(slot) {
            b.since.store(0, Ordering::Release);
        }
    }
}

/// The watchdog thread: advances the epoch and reports polls that have run too long. It holds
/// only a weak reference and exits when the executor closes or goes away.
pub(crate) fn run_watchdog(shared: Weak<Shared>) {
    let Some(tick) = shared
        .upgrade()
        .and_then(|s| s.watchdog.as_ref().map(|w| w.tick))
    else {
        return;
    };
    loop {
        std::thread::sleep(tick);
        let Some(shared) = shared.upgrade() else {
            return;
        };
        if shared.is_closed() {
            return;
        }
        let Some(w) = shared.watchdog.as_ref() else {
            return;
        };
        let now = w.epoch.fetch_add(1, Ordering::AcqRel) + 1;
        for b in w.busy.iter() {
            let since = b.since.load(Ordering::Acquire);
            if since == 0 || now <= since {
                continue;
            }
            let ran = w.tick * u32::try_from(now - since).unwrap_or(u32::MAX);
            if ran >= w.threshold && !b.reported.swap(true, Ordering::AcqRel) {
                let id = b.task.load(Ordering::Relaxed);
                let known = shared.registry.with_task(id, |meta| {
                    let mut r = meta.report(ReportKind::Blocked);
                    r.duration = Some(ran);
                    shared.report(&r);
                });
                if known.is_none() {
                    let mut r = ExceptionContext::new(ReportKind::Blocked);
                    r.duration = Some(ran);
                    shared.report(&r);
                }
            }
        }
    }
}
