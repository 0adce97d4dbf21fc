//! loom models of the crate's state machines.
//!
//! Run with:
//!
//! ```text
//! RUSTFLAGS="--cfg tulip_loom" LOOM_MAX_PREEMPTIONS=2 \
//!     cargo test -p tulip-sync --release --test loom
//! ```
//!
//! Under `tulip_loom` the crate takes its atomics, fences, slow-path mutexes and data cells
//! from loom (see `src/sync.rs`); its wait queues are its own code behind those mutexes. The
//! models therefore explore every interleaving of: the permit word and the wait queue of the
//! FIFO core (hand-off, hand-on after a cancelled wakeup, the "woken run first" rule, reuse
//! of a wait-queue entry, a handed waiter that sees its permit through the `granted` ticket
//! and leaves `handed` without the mutex), `BoundedSemaphore`'s bound, `Event`'s flag, the notify/cancel
//! hand-over of `Condition`, the reader/writer word of `RwLock`, the state of `Barrier`, and
//! the lock-free fast path of the wait lists' `notify`.
//!
//! A lost wakeup shows up as a loom deadlock report; a permit granted twice as a failed
//! assertion or a causality violation on a data cell.
#![cfg(tulip_loom)]

use loom::future::block_on;
use loom::thread;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll, Waker};
use tulip_sync::{
    Barrier, BoundedSemaphore, BrokenBarrierError, Condition, Event, Lock, Mutex, RwLock,
    Semaphore, TooManyReleases,
};

/// Polls a future once with a no-op waker.
fn poll_once<F: Future + Unpin>(future: &mut F) -> Poll<F::Output> {
    Pin::new(future).poll(&mut Context::from_waker(Waker::noop()))
}

#[test]
fn mutex_excludes_and_counts() {
    loom::model(|| {
        let mutex = Arc::new(Mutex::new(0usize));
        let other = {
            let mutex = Arc::clone(&mutex);
            thread::spawn(move || *block_on(mutex.lock()) += 1)
        };
        *block_on(mutex.lock()) += 1;
        other.join().unwrap();
        assert_eq!(*mutex.try_lock().unwrap(), 2);
    });
}

#[test]
fn mutex_blocking_and_async_lockers_exclude() {
    loom::model(|| {
        let mutex = Arc::new(Mutex::new(0usize));
        let other = {
            let mutex = Arc::clone(&mutex);
            thread::spawn(move || *mutex.lock_blocking() += 1)
        };
        if let Some(mut guard) = mutex.try_lock() {
            *guard += 1;
        } else {
            *block_on(mutex.lock()) += 1;
        }
        other.join().unwrap();
        assert_eq!(*mutex.try_lock().unwrap(), 2);
    });
}

/// A waiter polled once and dropped, racing with the holder's release: whichever wins, the
/// lock ends up free.
#[test]
fn lock_waiter_cancelled_during_release_leaks_nothing() {
    loom::model(|| {
        let lock = Arc::new(Lock::new());
        let guard = lock.try_lock_arc().unwrap();
        let waiter = {
            let lock = Arc::clone(&lock);
            thread::spawn(move || {
                let mut acquire = lock.lock();
                let _ = poll_once(&mut acquire);
                drop(acquire);
            })
        };
        drop(guard);
        waiter.join().unwrap();
        assert!(!lock.locked());
        assert!(lock.try_lock().is_some());
    });
}

/// A queued waiter is handed the lock, but is cancelled before it runs, while a second
/// waiter blocks: the second must get the lock (a deadlock report otherwise).
#[test]
fn lock_handed_to_a_cancelled_waiter_moves_on() {
    loom::model(|| {
        let lock = Arc::new(Lock::new());
        let guard = lock.try_lock_arc().unwrap();
        let mut first = lock.lock();
        assert!(poll_once(&mut first).is_pending());
        let second = {
            let lock = Arc::clone(&lock);
            thread::spawn(move || drop(block_on(lock.lock())))
        };
        let releaser = thread::spawn(move || drop(guard));
        drop(first);
        releaser.join().unwrap();
        second.join().unwrap();
        assert!(!lock.locked());
    });
}

#[test]
fn semaphore_never_grants_more_than_its_permits() {
    loom::model(|| {
        let sem = Arc::new(Semaphore::new(1));
        let inside = Arc::new(AtomicUsize::new(0));
        let worker = |sem: Arc<Semaphore>, inside: Arc<AtomicUsize>| {
            move || {
                let _permit = block_on(sem.acquire());
                assert_eq!(inside.fetch_add(1, Ordering::SeqCst), 0);
                inside.fetch_sub(1, Ordering::SeqCst);
            }
        };
        let a = thread::spawn(worker(Arc::clone(&sem), Arc::clone(&inside)));
        worker(Arc::clone(&sem), Arc::clone(&inside))();
        a.join().unwrap();
        assert_eq!(sem.available(), 1);
        assert!(!sem.locked());
    });
}

#[test]
fn semaphore_release_meets_a_waiter() {
    loom::model(|| {
        let sem = Arc::new(Semaphore::new(0));
        let waiter = {
            let sem = Arc::clone(&sem);
            thread::spawn(move || block_on(sem.acquire()).forget())
        };
        sem.release();
        waiter.join().unwrap();
        assert_eq!(sem.available(), 0);
        sem.release();
        assert_eq!(sem.available(), 1);
    });
}

/// A waiter cancelled while a release and a try_acquire race: the one permit is never lost
/// and never counted twice.
#[test]
fn semaphore_permit_is_conserved_across_cancel_and_try() {
    loom::model(|| {
        let sem = Arc::new(Semaphore::new(0));
        let mut waiter = sem.acquire();
        assert!(poll_once(&mut waiter).is_pending());
        let releaser = {
            let sem = Arc::clone(&sem);
            thread::spawn(move || sem.release())
        };
        let tried = {
            let sem = Arc::clone(&sem);
            thread::spawn(move || sem.try_acquire().map(|p| p.forget()).is_some())
        };
        let got = match poll_once(&mut waiter) {
            Poll::Ready(permit) => {
                permit.forget();
                true
            }
            Poll::Pending => false,
        };
        drop(waiter);
        releaser.join().unwrap();
        let tried = tried.join().unwrap();
        let taken = usize::from(got) + usize::from(tried);
        assert!(taken <= 1);
        assert_eq!(sem.available() + taken, 1);
    });
}

/// Two releases while a queued waiter has not run yet: the second permit stays free but a
/// newcomer must queue; when the first waiter runs it hands that permit on. Both waiters
/// finish (a deadlock report otherwise) and no permit is left over or missing.
#[test]
fn semaphore_woken_waiter_hands_free_permits_to_those_behind_it() {
    loom::model(|| {
        let sem = Arc::new(Semaphore::new(0));
        let mut first = sem.acquire_arc();
        assert!(poll_once(&mut first).is_pending());
        let releaser = {
            let sem = Arc::clone(&sem);
            thread::spawn(move || {
                sem.release();
                sem.release();
            })
        };
        let newcomer = {
            let sem = Arc::clone(&sem);
            thread::spawn(move || block_on(sem.acquire_arc()).forget())
        };
        block_on(first).forget();
        releaser.join().unwrap();
        newcomer.join().unwrap();
        assert_eq!(sem.available(), 0);
        assert!(sem.locked());
    });
}

#[test]
fn bounded_release_and_guard_drop_never_exceed_the_bound() {
    loom::model(|| {
        let sem = Arc::new(BoundedSemaphore::new(1));
        let permit = sem.try_acquire_arc().unwrap();
        let dropper = thread::spawn(move || drop(permit));
        let released = sem.release();
        dropper.join().unwrap();
        assert!(released == Ok(()) || released == Err(TooManyReleases));
        assert_eq!(sem.available(), 1);
        assert_eq!(sem.release(), Err(TooManyReleases));
    });
}

#[test]
fn event_set_is_never_lost() {
    loom::model(|| {
        let event = Arc::new(Event::new());
        let waiter = {
            let event = Arc::clone(&event);
            thread::spawn(move || block_on(event.wait()))
        };
        event.set();
        waiter.join().unwrap();
        assert!(event.is_set());
    });
}

/// A notified waiter that is cancelled passes the notification on: the other waiter wakes
/// (a deadlock report otherwise).
#[test]
fn condition_notification_survives_a_cancelled_waiter() {
    loom::model(|| {
        let cond = Arc::new(Condition::new());
        let flag = Arc::new(AtomicUsize::new(0));
        let guard = cond.try_lock().unwrap();
        let mut first = cond.wait(guard);
        assert!(poll_once(&mut first).is_pending());
        let second = {
            let (cond, flag) = (Arc::clone(&cond), Arc::clone(&flag));
            thread::spawn(move || {
                let guard = block_on(cond.lock());
                let _guard = block_on(cond.wait_for(guard, || flag.load(Ordering::SeqCst) == 1));
            })
        };
        let notifier = {
            let (cond, flag) = (Arc::clone(&cond), Arc::clone(&flag));
            thread::spawn(move || {
                let _guard = block_on(cond.lock());
                flag.store(1, Ordering::SeqCst);
                cond.notify(1);
            })
        };
        drop(first);
        notifier.join().unwrap();
        second.join().unwrap();
        assert!(!cond.locked());
    });
}

#[test]
fn rwlock_writer_excludes_readers() {
    loom::model(|| {
        let lock = Arc::new(RwLock::new(0usize));
        let writer = {
            let lock = Arc::clone(&lock);
            thread::spawn(move || *block_on(lock.write()) += 1)
        };
        let seen = *block_on(lock.read());
        assert!(seen <= 1);
        writer.join().unwrap();
        assert_eq!(*lock.try_read().unwrap(), 1);
    });
}

/// A writer that gives up while waiting for a reader to leave lets a blocked reader in.
#[test]
fn rwlock_cancelled_writer_unblocks_readers() {
    loom::model(|| {
        let lock = Arc::new(RwLock::new(()));
        let reader = lock.try_read_arc().unwrap();
        let writer = {
            let lock = Arc::clone(&lock);
            thread::spawn(move || {
                let mut write = lock.write();
                let _ = poll_once(&mut write);
            })
        };
        let second = {
            let lock = Arc::clone(&lock);
            thread::spawn(move || drop(block_on(lock.read())))
        };
        writer.join().unwrap();
        second.join().unwrap();
        drop(reader);
        assert!(lock.try_write().is_some());
    });
}

#[test]
fn rwlock_downgrade_admits_readers_but_not_writers() {
    loom::model(|| {
        let lock = Arc::new(RwLock::new(0usize));
        let writer = lock.try_write_arc().unwrap();
        let reader = {
            let lock = Arc::clone(&lock);
            thread::spawn(move || *block_on(lock.read()))
        };
        let mut writer = writer;
        *writer = 1;
        let downgraded = tulip_sync::RwLockWriteGuardArc::downgrade(writer);
        assert!(lock.try_write().is_none());
        assert_eq!(reader.join().unwrap(), 1);
        drop(downgraded);
        assert!(lock.try_write().is_some());
    });
}

#[test]
fn barrier_releases_both_parties_with_distinct_indices() {
    loom::model(|| {
        let barrier = Arc::new(Barrier::new(2));
        let other = {
            let barrier = Arc::clone(&barrier);
            thread::spawn(move || block_on(barrier.wait()))
        };
        let mine = block_on(barrier.wait()).unwrap();
        let theirs = other.join().unwrap().unwrap();
        assert_eq!(mine + theirs, 1);
        assert_eq!(barrier.n_waiting(), 0);
    });
}

#[test]
fn barrier_abort_wakes_the_waiter() {
    loom::model(|| {
        let barrier = Arc::new(Barrier::new(2));
        let waiter = {
            let barrier = Arc::clone(&barrier);
            thread::spawn(move || block_on(barrier.wait()))
        };
        barrier.abort();
        assert_eq!(waiter.join().unwrap(), Err(BrokenBarrierError));
        assert!(barrier.broken());
    });
}

/// A waiter cancelled while a release races to hand it the permit, then a newcomer that
/// reuses its wait-list entry and blocks: the permit reaches the newcomer (a deadlock report
/// otherwise) and is neither lost nor duplicated.
#[test]
fn semaphore_entry_reused_after_a_cancelled_hand_off_keeps_the_permit() {
    loom::model(|| {
        let sem = Arc::new(Semaphore::new(1));
        let permit = sem.try_acquire_arc().unwrap();
        let mut first = sem.acquire();
        assert!(poll_once(&mut first).is_pending());
        let releaser = thread::spawn(move || drop(permit));
        drop(first);
        let second = block_on(sem.acquire());
        assert_eq!(sem.available(), 0);
        releaser.join().unwrap();
        drop(second);
        assert_eq!(sem.available(), 1);
        assert!(!sem.locked());
    });
}

/// Two waiters handed a permit leave `handed` without the mutex while a third thread keeps
/// releasing: the last of them to run clears `QUEUED` (it raced with the settle that emptied
/// the wait list), so both permits come back free and the semaphore is not left locked.
#[test]
fn semaphore_handed_waiters_leaving_without_the_mutex_clear_queued() {
    loom::model(|| {
        let sem = Arc::new(Semaphore::new(0));
        let mut first = sem.acquire_arc();
        let mut second = sem.acquire_arc();
        assert!(poll_once(&mut first).is_pending());
        assert!(poll_once(&mut second).is_pending());
        let releaser = {
            let sem = Arc::clone(&sem);
            thread::spawn(move || {
                sem.release();
                sem.release();
            })
        };
        let other = thread::spawn(move || drop(block_on(second)));
        drop(block_on(first));
        releaser.join().unwrap();
        other.join().unwrap();
        assert_eq!(sem.available(), 2);
        assert!(!sem.locked());
    });
}

/// A handed waiter leaves without the mutex while the last waiting one is cancelled (which
/// empties the list and clears `WAITING`): whichever comes second clears `QUEUED`, and the
/// permit is conserved.
#[test]
fn semaphore_handed_waiter_leaving_races_the_last_cancel() {
    loom::model(|| {
        let sem = Arc::new(Semaphore::new(0));
        let mut first = sem.acquire_arc();
        let mut second = sem.acquire_arc();
        assert!(poll_once(&mut first).is_pending());
        assert!(poll_once(&mut second).is_pending());
        sem.release();
        let canceller = thread::spawn(move || drop(second));
        let permit = block_on(first);
        canceller.join().unwrap();
        assert_eq!(sem.available(), 0);
        assert!(sem.locked());
        drop(permit);
        assert_eq!(sem.available(), 1);
        assert!(!sem.locked());
    });
}

/// The data a lock holder wrote is visible to the waiter the lock is handed to, which sees
/// the hand-off through the semaphore's `granted` ticket without taking its mutex; and a
/// newcomer's `try_lock` never barges in between.
#[test]
fn mutex_hand_off_without_the_mutex_publishes_the_data() {
    loom::model(|| {
        let mutex = Arc::new(Mutex::new(0usize));
        let guard = mutex.try_lock_arc().unwrap();
        let mut waiter = mutex.lock_arc();
        assert!(poll_once(&mut waiter).is_pending());
        let holder = thread::spawn(move || {
            let mut guard = guard;
            *guard = 7;
        });
        let barger = {
            let mutex = Arc::clone(&mutex);
            thread::spawn(move || {
                if let Some(mut g) = mutex.try_lock() {
                    // Only possible after the waiter ran and let go.
                    assert_eq!(*g, 8);
                    *g += 1;
                }
            })
        };
        {
            let mut g = block_on(waiter);
            assert_eq!(*g, 7);
            *g += 1;
        }
        holder.join().unwrap();
        barger.join().unwrap();
        let value = *mutex.try_lock().unwrap();
        assert!(value == 8 || value == 9);
    });
}
