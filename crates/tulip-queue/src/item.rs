//! [`QueueItem`]: an item that calls `task_done()` when it is dropped.

use std::{
    fmt,
    ops::{Deref, DerefMut},
};

use tulip_util::sync::Arc;

use crate::shared::Shared;

/// An item taken from a queue by `get_item()`, that marks its task done when dropped.
///
/// asyncio's consumers must remember to call `task_done()` once per item for `join()` to
/// return, even when processing fails; this guard does it on every path, including a panic or
/// a cancelled task. It derefs to the item.
///
/// # Examples
///
/// ```
/// use tulip_queue::Queue;
///
/// # futures_lite::future::block_on(async {
/// let q = Queue::new(0);
/// q.put_nowait(String::from("job")).unwrap();
/// {
///     let job = q.get_item().await?;
///     assert_eq!(job.len(), 3);
///     assert_eq!(q.unfinished_tasks(), 1);
/// } // task_done() here
/// assert_eq!(q.unfinished_tasks(), 0);
/// q.join().await;
/// # Ok::<(), tulip_queue::QueueShutDown>(()) }).unwrap();
/// ```
pub struct QueueItem<T> {
    /// The queue the item came from.
    shared: Arc<Shared<T>>,
    /// `Some` until `into_inner` or `Drop`.
    item: Option<T>,
}

impl<T> QueueItem<T> {
    pub(crate) fn new(shared: Arc<Shared<T>>, item: T) -> Self {
        Self {
            shared,
            item: Some(item),
        }
    }

    /// Marks the task done and returns the item.
    ///
    /// # Examples
    ///
    /// ```
    /// use tulip_queue::LifoQueue;
    ///
    /// let q = LifoQueue::new(0);
    /// q.put_nowait(1).unwrap();
    /// let item = q.get_item_nowait().unwrap();
    /// assert_eq!(item.into_inner(), 1);
    /// assert_eq!(q.unfinished_tasks(), 0);
    /// ```
    pub fn into_inner(mut self) -> T {
        let item = self
            .item
            .take()
            .expect("QueueItem holds its item until dropped");
        // Dropping `self` now marks the task done.
        item
    }
}

impl<T> Deref for QueueItem<T> {
    type Target = T;

    fn deref(&self) -> &T {
        self.item
            .as_ref()
            .expect("QueueItem holds its item until dropped")
    }
}

impl<T> DerefMut for QueueItem<T> {
    fn deref_mut(&mut self) -> &mut T {
        self.item
            .as_mut()
            .expect("QueueItem holds its item until dropped")
    }
}

impl<T> Drop for QueueItem<T> {
    fn drop(&mut self) {
        // Mark the task done before the item is dropped, so a panicking `Drop` of the item
        // cannot leave `join()` waiting forever. An error here means the user already called
        // `task_done()` for this item by hand; there is nothing left to do.
        let _ = self.shared.tasks.done();
    }
}

impl<T: fmt::Debug> fmt::Debug for QueueItem<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("QueueItem").field(&self.item).finish()
    }
}
