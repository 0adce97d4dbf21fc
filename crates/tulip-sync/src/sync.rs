//! The one place where the crate picks its low-level synchronization tools.
//!
//! Every primitive in this crate is built from four things, and this module decides where
//! each comes from:
//!
//! | tool | normal build | `--cfg tulip_loom` |
//! |---|---|---|
//! | atomics (`atomic::*`) | `std::sync::atomic` | `loom::sync::atomic` |
//! | the slow-path [`Mutex`] | `std::sync::Mutex` | `loom::sync::Mutex` |
//! | [`UnsafeCell`] (data of `Mutex<T>`/`RwLock<T>`) | a thin wrapper over `std::cell::UnsafeCell` | `loom::cell::UnsafeCell` |
//! | [`Notify`] / [`Listener`] (the FIFO wait list) | `event_listener::Event` | a small wait list on a loom mutex |
//! | [`block_on`] (for the `*_blocking` methods) | thread parking | `loom::future::block_on` |
//!
//! `event-listener` cannot be modelled by loom: it keeps its own `std` mutex and atomics and
//! wakes tasks while holding that mutex. Under `tulip_loom` it is therefore replaced by the
//! stand-in below, which has the same observable semantics for the subset this crate uses:
//! listeners are queued in FIFO order, [`Notify::notify`] marks the first `n` listeners that
//! are not yet notified ("additional" notifications in event-listener's terms), a notified
//! listener completes when polled, and [`Listener::discard`] removes a listener and says
//! whether it had been notified. Dropping a [`Listener`] discards it in both builds: a
//! notification that has to be passed on is passed on explicitly by the caller, never
//! implicitly by a destructor.
//!
//! So the loom models check our own state machines (the permit word, the waiter count, the
//! reader/writer word, the event flag, the barrier state) against every interleaving, on
//! top of a wait list with event-listener's semantics; they do not check event-listener's
//! own lock-free fast paths.

#![allow(dead_code)] // Not every helper is used in both the std and the loom build.

pub(crate) use std::sync::Arc;

#[cfg(not(tulip_loom))]
pub(crate) use std::sync::{Mutex, MutexGuard};

#[cfg(tulip_loom)]
pub(crate) use loom::sync::{Mutex, MutexGuard};

/// Atomics: `std` or loom.
pub(crate) mod atomic {
    #[cfg(not(tulip_loom))]
    pub(crate) use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

    #[cfg(tulip_loom)]
    pub(crate) use loom::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
}

/// Locks a slow-path mutex, ignoring poisoning.
///
/// The critical sections in this crate only update counters and the wait list; a panic
/// inside one (a panicking waker) leaves the protected data consistent, so poisoning
/// carries no information here.
pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Expands to a `const fn` in normal builds and to a plain `fn` under `tulip_loom`, whose
/// types cannot be built in a const context.
macro_rules! const_fn {
    ($(#[$attr:meta])* $vis:vis fn $($rest:tt)*) => {
        #[cfg(not(tulip_loom))]
        $(#[$attr])*
        $vis const fn $($rest)*

        #[cfg(tulip_loom)]
        $(#[$attr])*
        $vis fn $($rest)*
    };
}
pub(crate) use const_fn;

// ---------------------------------------------------------------------------------------
// UnsafeCell
// ---------------------------------------------------------------------------------------

/// `std::cell::UnsafeCell` with loom's closure-based API, so one body serves both builds.
#[cfg(not(tulip_loom))]
#[derive(Debug)]
pub(crate) struct UnsafeCell<T: ?Sized>(std::cell::UnsafeCell<T>);

#[cfg(not(tulip_loom))]
impl<T> UnsafeCell<T> {
    /// Wraps `value`.
    pub(crate) const fn new(value: T) -> Self {
        Self(std::cell::UnsafeCell::new(value))
    }

    /// Unwraps the value.
    pub(crate) fn into_inner(self) -> T {
        self.0.into_inner()
    }
}

#[cfg(not(tulip_loom))]
impl<T: ?Sized> UnsafeCell<T> {
    /// Runs `f` with a shared pointer to the value.
    #[inline]
    pub(crate) fn with<R>(&self, f: impl FnOnce(*const T) -> R) -> R {
        f(self.0.get())
    }

    /// Runs `f` with a unique pointer to the value.
    #[inline]
    pub(crate) fn with_mut<R>(&self, f: impl FnOnce(*mut T) -> R) -> R {
        f(self.0.get())
    }
}

#[cfg(tulip_loom)]
pub(crate) use loom::cell::UnsafeCell;

// ---------------------------------------------------------------------------------------
// Notify / Listener: event-listener in normal builds
// ---------------------------------------------------------------------------------------

#[cfg(not(tulip_loom))]
mod notify_impl {
    use event_listener::{Event, EventListener, IntoNotification, Listener as _};
    use std::fmt;
    use std::task::{Context, Poll};

    /// A FIFO list of listeners (event-listener's `Event`).
    pub(crate) struct Notify(Event);

    impl Notify {
        /// An empty list; allocates nothing until the first listener.
        pub(crate) const fn new() -> Self {
            Self(Event::new())
        }

        /// Appends a listener at the tail of the list.
        pub(crate) fn listen(&self) -> Listener {
            Listener(Some(self.0.listen()))
        }

        /// Notifies the first `n` listeners that are not notified yet, in FIFO order, and
        /// returns how many were notified.
        pub(crate) fn notify(&self, n: usize) -> usize {
            self.0.notify(n.additional())
        }
    }

    impl fmt::Debug for Notify {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            self.0.fmt(f)
        }
    }

    /// One entry of a [`Notify`] list. Dropping it discards it (see the module docs).
    pub(crate) struct Listener(Option<EventListener>);

    impl Listener {
        /// Polls for the notification. Must not be polled again after `Ready`.
        pub(crate) fn poll(&mut self, cx: &mut Context<'_>) -> Poll<()> {
            let listener = self.0.as_mut().expect("listener polled after completion");
            match std::pin::Pin::new(listener).poll(cx) {
                Poll::Ready(()) => {
                    self.0 = None;
                    Poll::Ready(())
                }
                Poll::Pending => Poll::Pending,
            }
        }

        /// Removes the listener from the list; `true` if it had been notified.
        pub(crate) fn discard(mut self) -> bool {
            self.0.take().is_some_and(|listener| listener.discard())
        }
    }

    impl Drop for Listener {
        fn drop(&mut self) {
            if let Some(listener) = self.0.take() {
                listener.discard();
            }
        }
    }

    impl fmt::Debug for Listener {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.debug_struct("Listener")
                .field("done", &self.0.is_none())
                .finish()
        }
    }

    use std::future::Future as _;
}

// ---------------------------------------------------------------------------------------
// Notify / Listener: a loom-visible stand-in
// ---------------------------------------------------------------------------------------

#[cfg(tulip_loom)]
mod notify_impl {
    use super::{lock, Arc, Mutex};
    use std::collections::VecDeque;
    use std::fmt;
    use std::task::{Context, Poll, Waker};

    struct Entry {
        id: u64,
        notified: bool,
        waker: Option<Waker>,
    }

    #[derive(Default)]
    struct List {
        entries: VecDeque<Entry>,
        next_id: u64,
    }

    /// A FIFO list of listeners, protected by a loom mutex.
    pub(crate) struct Notify(Arc<Mutex<List>>);

    impl Notify {
        pub(crate) fn new() -> Self {
            Self(Arc::new(Mutex::new(List::default())))
        }

        pub(crate) fn listen(&self) -> Listener {
            let mut list = lock(&self.0);
            let id = list.next_id;
            list.next_id += 1;
            list.entries.push_back(Entry {
                id,
                notified: false,
                waker: None,
            });
            Listener {
                list: Arc::clone(&self.0),
                id: Some(id),
            }
        }

        pub(crate) fn notify(&self, n: usize) -> usize {
            let mut wakers = Vec::new();
            let mut count = 0;
            {
                let mut list = lock(&self.0);
                for entry in list.entries.iter_mut().filter(|e| !e.notified) {
                    if count == n {
                        break;
                    }
                    entry.notified = true;
                    count += 1;
                    wakers.extend(entry.waker.take());
                }
            }
            for waker in wakers {
                waker.wake();
            }
            count
        }
    }

    impl fmt::Debug for Notify {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("Notify")
        }
    }

    pub(crate) struct Listener {
        list: Arc<Mutex<List>>,
        id: Option<u64>,
    }

    impl Listener {
        pub(crate) fn poll(&mut self, cx: &mut Context<'_>) -> Poll<()> {
            let id = self.id.expect("listener polled after completion");
            let mut list = lock(&self.list);
            let index = list.entries.iter().position(|e| e.id == id).unwrap();
            if list.entries[index].notified {
                list.entries.remove(index);
                self.id = None;
                Poll::Ready(())
            } else {
                list.entries[index].waker = Some(cx.waker().clone());
                Poll::Pending
            }
        }

        pub(crate) fn discard(mut self) -> bool {
            self.remove()
        }

        fn remove(&mut self) -> bool {
            match self.id.take() {
                None => false,
                Some(id) => {
                    let mut list = lock(&self.list);
                    let index = list.entries.iter().position(|e| e.id == id).unwrap();
                    list.entries.remove(index).unwrap().notified
                }
            }
        }
    }

    impl Drop for Listener {
        fn drop(&mut self) {
            self.remove();
        }
    }

    impl fmt::Debug for Listener {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.debug_struct("Listener").field("id", &self.id).finish()
        }
    }
}

pub(crate) use notify_impl::{Listener, Notify};

// ---------------------------------------------------------------------------------------
// block_on for the *_blocking methods
// ---------------------------------------------------------------------------------------

/// Drives `future` to completion on the current thread, parking it while it waits.
#[cfg(not(tulip_loom))]
pub(crate) fn block_on<F: std::future::Future>(future: F) -> F::Output {
    use std::task::{Context, Poll, Wake, Waker};
    use std::thread::{self, Thread};

    struct Unparker(Thread);

    impl Wake for Unparker {
        fn wake(self: Arc<Self>) {
            self.0.unpark();
        }

        fn wake_by_ref(self: &Arc<Self>) {
            self.0.unpark();
        }
    }

    thread_local! {
        static WAKER: Waker = Waker::from(Arc::new(Unparker(thread::current())));
    }

    let mut future = std::pin::pin!(future);
    let waker = WAKER
        .try_with(Waker::clone)
        .unwrap_or_else(|_| Waker::from(Arc::new(Unparker(thread::current()))));
    let mut cx = Context::from_waker(&waker);
    loop {
        if let Poll::Ready(output) = future.as_mut().poll(&mut cx) {
            return output;
        }
        // A spurious unpark only costs one more poll.
        thread::park();
    }
}

#[cfg(tulip_loom)]
pub(crate) use loom::future::block_on;
