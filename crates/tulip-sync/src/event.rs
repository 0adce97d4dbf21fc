//! [`Event`]: asyncio's `Event`, a flag that tasks can wait for.

use tulip_util::const_fn;
use tulip_util::sync::{block_on, AtomicBool, Ordering};

use crate::notify::{Listener, Notify};
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

/// A flag that tasks can wait for: asyncio's `Event`.
///
/// The flag starts cleared. [`set()`](Event::set) sets it and wakes every waiter;
/// [`wait()`](Event::wait) returns at once while the flag is set; [`clear()`](Event::clear)
/// clears it again. As in asyncio, a waiter woken by `set()` returns even if `clear()` runs
/// before the waiter does.
///
/// # Examples
///
/// ```
/// use std::sync::Arc;
/// use std::thread;
/// use tulip_sync::Event;
///
/// # futures_lite::future::block_on(async {
/// let ready = Arc::new(Event::new());
/// let setter = {
///     let ready = Arc::clone(&ready);
///     thread::spawn(move || ready.set())
/// };
/// ready.wait().await;
/// assert!(ready.is_set());
/// # setter.join().unwrap();
/// # });
/// ```
pub struct Event {
    flag: AtomicBool,
    notify: Notify,
}

impl Event {
    const_fn! {
        /// Creates an event whose flag is cleared.
        ///
        /// # Examples
        ///
        /// ```
        /// use tulip_sync::Event;
        ///
        /// static SHUTDOWN: Event = Event::new();
        /// assert!(!SHUTDOWN.is_set());
        /// ```
        #[must_use]
        pub fn new() -> Event {
            Event {
                flag: AtomicBool::new(false),
                notify: Notify::new(),
            }
        }
    }

    /// Sets the flag and wakes every task waiting for it.
    ///
    /// # Examples
    ///
    /// ```
    /// use tulip_sync::Event;
    ///
    /// let event = Event::new();
    /// event.set();
    /// assert!(event.is_set());
    /// ```
    pub fn set(&self) {
        if !self.flag.swap(true, Ordering::AcqRel) {
            self.notify.notify(usize::MAX);
        }
    }

    /// Clears the flag; later [`wait()`](Event::wait)s block until the next
    /// [`set()`](Event::set).
    ///
    /// # Examples
    ///
    /// ```
    /// use tulip_sync::Event;
    ///
    /// let event = Event::new();
    /// event.set();
    /// event.clear();
    /// assert!(!event.is_set());
    /// ```
    pub fn clear(&self) {
        self.flag.store(false, Ordering::Release);
    }

    /// Returns `true` if the flag is set.
    ///
    /// # Examples
    ///
    /// ```
    /// use tulip_sync::Event;
    ///
    /// let event = Event::new();
    /// assert!(!event.is_set());
    /// event.set();
    /// assert!(event.is_set());
    /// ```
    #[must_use]
    pub fn is_set(&self) -> bool {
        self.flag.load(Ordering::Acquire)
    }

    /// Waits until the flag is set; returns at once if it is set already.
    ///
    /// # Cancel safety
    ///
    /// Dropping the future loses nothing: `set()` wakes every waiter, so there is no wakeup
    /// to pass on, and a dropped waiter never causes a spurious wakeup of another.
    ///
    /// # Examples
    ///
    /// ```
    /// use tulip_sync::Event;
    ///
    /// # futures_lite::future::block_on(async {
    /// let event = Event::new();
    /// event.set();
    /// event.wait().await; // returns at once
    /// # });
    /// ```
    pub fn wait(&self) -> EventWait<'_> {
        EventWait {
            event: Some(self),
            listener: Listener::new(),
        }
    }

    /// Blocks the current thread until the flag is set.
    ///
    /// # Blocking
    ///
    /// Parks the thread; never call it from a task on an event loop.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::Arc;
    /// use tulip_sync::Event;
    ///
    /// let event = Arc::new(Event::new());
    /// let waiter = {
    ///     let event = Arc::clone(&event);
    ///     std::thread::spawn(move || event.wait_blocking())
    /// };
    /// event.set();
    /// waiter.join().unwrap();
    /// ```
    pub fn wait_blocking(&self) {
        block_on(self.wait());
    }
}

impl Default for Event {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Debug for Event {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Event")
            .field("is_set", &self.is_set())
            .finish()
    }
}

/// The future of [`Event::wait()`].
///
/// # Examples
///
/// ```
/// use tulip_sync::Event;
/// use tulip_sync::futures::EventWait;
///
/// # futures_lite::future::block_on(async {
/// let event = Event::new();
/// event.set();
/// let wait: EventWait<'_> = event.wait();
/// wait.await;
/// # });
/// ```
#[must_use = "futures do nothing unless polled"]
pub struct EventWait<'a> {
    event: Option<&'a Event>,
    listener: Listener,
}

impl Future for EventWait<'_> {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = &mut *self;
        let event = this.event.expect("EventWait polled after completion");
        if this.listener.is_listening() {
            if this.listener.poll(&event.notify, cx).is_pending() {
                return crate::noting(Poll::Pending, "Event", event);
            }
        } else if !event.is_set() {
            // Listen first, then look again: a `set()` in between is seen either way.
            this.listener.listen(&event.notify, cx.waker());
            if !event.is_set() {
                return crate::noting(Poll::Pending, "Event", event);
            }
            this.listener.discard(&event.notify);
        }
        this.event = None;
        Poll::Ready(())
    }
}

impl Drop for EventWait<'_> {
    fn drop(&mut self) {
        if let Some(event) = self.event {
            self.listener.discard(&event.notify);
        }
    }
}

impl fmt::Debug for EventWait<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EventWait")
            .field("waiting", &self.listener.is_listening())
            .finish_non_exhaustive()
    }
}
