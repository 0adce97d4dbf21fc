//! The named futures returned by the queues' async methods.
//!
//! They borrow the queue handle they came from, are `Unpin`, and are `Send` when the item
//! type is. Each one is cancel-safe in the sense described on the method that returns it.

use std::{
    fmt,
    future::Future,
    pin::Pin,
    task::{ready, Context, Poll},
};

use tulip_util::sync::Arc;

use crate::{
    error::{PutError, QueueShutDown},
    item::QueueItem,
    shared::Shared,
    tasks::TaskCounter,
    waiters::WaitSlot,
};

/// Future of `put()` on any of the queues (e.g. [`Queue::put`](crate::Queue::put)).
///
/// # Examples
///
/// ```
/// use tulip_queue::{futures::Put, Queue};
///
/// # futures_lite::future::block_on(async {
/// let q = Queue::new(1);
/// let put: Put<'_, u32> = q.put(1);
/// put.await?;
/// # Ok::<(), tulip_queue::QueueShutDown>(()) }).unwrap();
/// ```
#[must_use = "futures do nothing unless polled"]
pub struct Put<'a, T> {
    shared: &'a Shared<T>,
    item: Option<T>,
    slot: WaitSlot,
}

impl<'a, T> Put<'a, T> {
    pub(crate) fn new(shared: &'a Shared<T>, item: T) -> Self {
        Self {
            shared,
            item: Some(item),
            slot: WaitSlot::new(),
        }
    }

    /// Gives up on the put and returns the item, unless the put already completed.
    ///
    /// Until it completes, a `Put` owns its item: the item is in the queue only once the
    /// future has returned `Ready(Ok(()))`.
    ///
    /// # Examples
    ///
    /// ```
    /// use tulip_queue::Queue;
    /// use futures_lite::future;
    ///
    /// let q = Queue::new(1);
    /// q.put_nowait("first").unwrap();
    /// let mut put = q.put("second");
    /// assert!(future::block_on(future::poll_once(&mut put)).is_none()); // the queue is full
    /// assert_eq!(put.into_inner(), Some("second"));
    /// assert_eq!(q.qsize(), 1);
    /// ```
    pub fn into_inner(mut self) -> Option<T> {
        self.item.take()
    }
}

// The item is never pinned: it is moved in and out by value.
impl<T> Unpin for Put<'_, T> {}

impl<T> Future for Put<'_, T> {
    type Output = Result<(), QueueShutDown>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        let shared = this.shared;
        loop {
            this.slot.take_notification(&shared.putters);
            let item = this.item.take().expect("`Put` polled after completion");
            match shared.try_put(item) {
                Ok(()) => {
                    this.slot.discard(&shared.putters);
                    return Poll::Ready(Ok(()));
                }
                Err(PutError::ShutDown(item)) => {
                    this.slot.discard(&shared.putters);
                    drop(item);
                    return Poll::Ready(Err(QueueShutDown));
                }
                Err(PutError::Full(item)) => this.item = Some(item),
            }
            ready!(this.slot.poll_wait(&shared.putters, cx));
        }
    }
}

impl<T> Drop for Put<'_, T> {
    fn drop(&mut self) {
        // A wake-up we did not use goes to the next putter; the item (if still here) was
        // never enqueued and is dropped with us.
        self.slot.clear(&self.shared.putters);
    }
}

impl<T> fmt::Debug for Put<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Put")
            .field("queue", self.shared)
            .field("pending", &self.item.is_some())
            .finish()
    }
}

/// Future of `get()` on any of the queues (e.g. [`Queue::get`](crate::Queue::get)).
///
/// # Examples
///
/// ```
/// use tulip_queue::{futures::Get, Queue};
///
/// # futures_lite::future::block_on(async {
/// let q = Queue::new(0);
/// q.put_nowait('x').unwrap();
/// let get: Get<'_, char> = q.get();
/// assert_eq!(get.await, Ok('x'));
/// # });
/// ```
#[must_use = "futures do nothing unless polled"]
pub struct Get<'a, T> {
    shared: &'a Shared<T>,
    slot: WaitSlot,
}

impl<'a, T> Get<'a, T> {
    pub(crate) fn new(shared: &'a Shared<T>) -> Self {
        Self {
            shared,
            slot: WaitSlot::new(),
        }
    }
}

impl<T> Future for Get<'_, T> {
    type Output = Result<T, QueueShutDown>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = &mut *self;
        let shared = this.shared;
        loop {
            this.slot.take_notification(&shared.getters);
            match shared.try_get() {
                Ok(item) => {
                    this.slot.discard(&shared.getters);
                    return Poll::Ready(Ok(item));
                }
                Err(crate::GetError::ShutDown) => {
                    this.slot.discard(&shared.getters);
                    return Poll::Ready(Err(QueueShutDown));
                }
                Err(crate::GetError::Empty) => {}
            }
            ready!(this.slot.poll_wait(&shared.getters, cx));
        }
    }
}

impl<T> Drop for Get<'_, T> {
    fn drop(&mut self) {
        // Items are only taken inside `poll`, so a getter that was woken and dropped before
        // it ran took nothing; its wake-up goes to the next getter.
        self.slot.clear(&self.shared.getters);
    }
}

impl<T> fmt::Debug for Get<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Get").field("queue", self.shared).finish()
    }
}

/// Future of `get_item()` on any of the queues (e.g.
/// [`Queue::get_item`](crate::Queue::get_item)).
///
/// # Examples
///
/// ```
/// use tulip_queue::{futures::GetItem, Queue};
///
/// # futures_lite::future::block_on(async {
/// let q = Queue::new(0);
/// q.put_nowait(5).unwrap();
/// let get: GetItem<'_, i32> = q.get_item();
/// let item = get.await?;
/// assert_eq!(*item, 5);
/// drop(item); // task_done()
/// q.join().await;
/// # Ok::<(), tulip_queue::QueueShutDown>(()) }).unwrap();
/// ```
#[must_use = "futures do nothing unless polled"]
pub struct GetItem<'a, T> {
    handle: &'a Arc<Shared<T>>,
    get: Get<'a, T>,
}

impl<'a, T> GetItem<'a, T> {
    pub(crate) fn new(handle: &'a Arc<Shared<T>>) -> Self {
        Self {
            handle,
            get: Get::new(handle),
        }
    }
}

impl<T> Future for GetItem<'_, T> {
    type Output = Result<QueueItem<T>, QueueShutDown>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let item = ready!(Pin::new(&mut self.get).poll(cx))?;
        Poll::Ready(Ok(QueueItem::new(Arc::clone(self.handle), item)))
    }
}

impl<T> fmt::Debug for GetItem<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GetItem")
            .field("queue", &**self.handle)
            .finish()
    }
}

/// Future of `join()` on any of the queues (e.g. [`Queue::join`](crate::Queue::join)).
///
/// # Examples
///
/// ```
/// use tulip_queue::{futures::Join, Queue};
///
/// # futures_lite::future::block_on(async {
/// let q: Queue<()> = Queue::new(0);
/// let join: Join<'_> = q.join();
/// join.await; // nothing unfinished
/// # });
/// ```
#[must_use = "futures do nothing unless polled"]
pub struct Join<'a> {
    tasks: &'a TaskCounter,
    start: Option<usize>,
    slot: WaitSlot,
}

impl<'a> Join<'a> {
    pub(crate) fn new(tasks: &'a TaskCounter) -> Self {
        Self {
            tasks,
            start: None,
            slot: WaitSlot::new(),
        }
    }
}

impl Future for Join<'_> {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = &mut *self;
        this.tasks.poll_join(&mut this.start, &mut this.slot, cx)
    }
}

impl Drop for Join<'_> {
    fn drop(&mut self) {
        self.tasks.cancel_join(&mut self.slot);
    }
}

impl fmt::Debug for Join<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Join")
            .field("unfinished_tasks", &self.tasks.unfinished())
            .finish()
    }
}
