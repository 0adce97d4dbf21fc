//! [`Queue`], [`PriorityQueue`] and [`LifoQueue`]: three orders over one engine
//! ([`Shared`]), with asyncio's method set generated once by `queue_methods!`.

use std::fmt;

use tulip_util::sync::{block_on, Arc};

use crate::{
    error::{GetError, PutError, QueueShutDown, TooManyTaskDone},
    futures::{Get, GetItem, Join, Put},
    item::QueueItem,
    shared::Shared,
};

/// The methods every queue kind shares, with their documentation. `$Name` is the type, used
/// in the examples, which only rely on what the three orders have in common.
macro_rules! queue_methods {
    ($Name:ident) => {
        impl<T> $Name<T> {
            /// Puts `item` into the queue, waiting while the queue is full.
            ///
            /// Waiting putters are served in FIFO order: each item taken from the queue
            /// wakes the putter that has waited longest.
            ///
            /// # Errors
            ///
            /// [`QueueShutDown`] if the queue is shut down before the item could be put,
            /// including while this put was waiting. The item is then dropped; use
            /// [`put_nowait`](Self::put_nowait) to get it back instead.
            ///
            /// # Cancel safety
            ///
            /// Cancel-safe: the item is in the queue only once the future has returned
            /// `Ready(Ok(()))`. A put that is dropped earlier never enqueues; the item is
            /// dropped with the future (or recovered with [`Put::into_inner`]). If the
            /// dropped put had already been woken for a free slot, that wake-up goes to the
            /// next waiting putter.
            ///
            /// # Examples
            ///
            /// ```
            #[doc = concat!("use tulip_queue::", stringify!($Name), ";")]
            ///
            /// # futures_lite::future::block_on(async {
            #[doc = concat!("let q = ", stringify!($Name), "::new(1);")]
            /// q.put(1).await?;
            /// assert!(q.full());
            /// # Ok::<(), tulip_queue::QueueShutDown>(()) }).unwrap();
            /// ```
            pub fn put(&self, item: T) -> Put<'_, T> {
                Put::new(&self.shared, item)
            }

            /// Puts `item` into the queue if there is room, without waiting.
            ///
            /// # Errors
            ///
            /// [`PutError::Full`] if the queue holds `maxsize` items, [`PutError::ShutDown`]
            /// if it has been shut down; both hand the item back.
            ///
            /// # Examples
            ///
            /// ```
            #[doc = concat!("use tulip_queue::{", stringify!($Name), ", PutError};")]
            ///
            #[doc = concat!("let q = ", stringify!($Name), "::new(1);")]
            /// q.put_nowait(1).unwrap();
            /// assert_eq!(q.put_nowait(2), Err(PutError::Full(2)));
            /// ```
            #[doc(alias = "try_put")]
            #[doc(alias = "try_send")]
            pub fn put_nowait(&self, item: T) -> Result<(), PutError<T>> {
                self.shared.try_put(item)
            }

            /// Puts `item` into the queue, blocking the thread while the queue is full.
            ///
            /// # Blocking
            ///
            /// Blocks the calling thread: for plain threads feeding a queue that async tasks
            /// read. Do not call it from async code.
            ///
            /// # Errors
            ///
            /// [`QueueShutDown`] as for [`put`](Self::put).
            ///
            /// # Examples
            ///
            /// ```
            #[doc = concat!("use tulip_queue::", stringify!($Name), ";")]
            ///
            #[doc = concat!("let q = ", stringify!($Name), "::new(1);")]
            /// let producer = std::thread::spawn({
            ///     let q = q.clone();
            ///     move || q.put_blocking(7)
            /// });
            /// assert_eq!(q.get_blocking(), Ok(7));
            /// producer.join().unwrap().unwrap();
            /// ```
            #[doc(alias = "put_sync")]
            pub fn put_blocking(&self, item: T) -> Result<(), QueueShutDown> {
                block_on(self.put(item))
            }

            /// Removes and returns an item, waiting while the queue is empty.
            ///
            /// Waiting getters are served in FIFO order: each item put wakes the getter that
            /// has waited longest.
            ///
            /// # Errors
            ///
            /// [`QueueShutDown`] once the queue is shut down and empty: after a graceful
            /// shutdown getters drain the remaining items first.
            ///
            /// # Cancel safety
            ///
            /// Cancel-safe: an item is taken out of the queue only inside the `poll` that
            /// returns it. A get that was woken by a put and dropped before it ran takes
            /// nothing: the item stays in the queue and the wake-up goes to the next waiting
            /// getter.
            ///
            /// # Examples
            ///
            /// ```
            #[doc = concat!("use tulip_queue::", stringify!($Name), ";")]
            ///
            /// # futures_lite::future::block_on(async {
            #[doc = concat!("let q = ", stringify!($Name), "::new(0);")]
            /// q.put_nowait("hello").unwrap();
            /// assert_eq!(q.get().await?, "hello");
            /// # Ok::<(), tulip_queue::QueueShutDown>(()) }).unwrap();
            /// ```
            pub fn get(&self) -> Get<'_, T> {
                Get::new(&self.shared)
            }

            /// Removes and returns an item if one is available, without waiting.
            ///
            /// # Errors
            ///
            /// [`GetError::Empty`] if the queue is empty, [`GetError::ShutDown`] if it is
            /// empty and shut down.
            ///
            /// # Examples
            ///
            /// ```
            #[doc = concat!("use tulip_queue::{", stringify!($Name), ", GetError};")]
            ///
            #[doc = concat!("let q = ", stringify!($Name), "::new(0);")]
            /// q.put_nowait(1).unwrap();
            /// assert_eq!(q.get_nowait(), Ok(1));
            /// assert_eq!(q.get_nowait(), Err(GetError::Empty));
            /// ```
            #[doc(alias = "try_get")]
            #[doc(alias = "try_recv")]
            pub fn get_nowait(&self) -> Result<T, GetError> {
                self.shared.try_get()
            }

            /// Removes and returns an item, blocking the thread while the queue is empty.
            ///
            /// # Blocking
            ///
            /// Blocks the calling thread; do not call it from async code.
            ///
            /// # Errors
            ///
            /// [`QueueShutDown`] as for [`get`](Self::get).
            ///
            /// # Examples
            ///
            /// ```
            #[doc = concat!("use tulip_queue::", stringify!($Name), ";")]
            ///
            #[doc = concat!("let q = ", stringify!($Name), "::new(0);")]
            /// let consumer = std::thread::spawn({
            ///     let q = q.clone();
            ///     move || q.get_blocking()
            /// });
            /// q.put_nowait(3).unwrap();
            /// assert_eq!(consumer.join().unwrap(), Ok(3));
            /// ```
            #[doc(alias = "get_sync")]
            pub fn get_blocking(&self) -> Result<T, QueueShutDown> {
                block_on(self.get())
            }

            /// Like [`get`](Self::get), but the item comes in a [`QueueItem`] guard that
            /// calls [`task_done`](Self::task_done) when it is dropped.
            ///
            /// # Errors
            ///
            /// [`QueueShutDown`] as for [`get`](Self::get).
            ///
            /// # Cancel safety
            ///
            /// Cancel-safe, as [`get`](Self::get).
            ///
            /// # Examples
            ///
            /// ```
            #[doc = concat!("use tulip_queue::", stringify!($Name), ";")]
            ///
            /// # futures_lite::future::block_on(async {
            #[doc = concat!("let q = ", stringify!($Name), "::new(0);")]
            /// q.put_nowait(1).unwrap();
            /// let item = q.get_item().await?;
            /// assert_eq!(*item, 1);
            /// drop(item);
            /// q.join().await; // no unfinished task left
            /// # Ok::<(), tulip_queue::QueueShutDown>(()) }).unwrap();
            /// ```
            pub fn get_item(&self) -> GetItem<'_, T> {
                GetItem::new(&self.shared)
            }

            /// Like [`get_blocking`](Self::get_blocking), but the item comes in a
            /// [`QueueItem`] guard that calls [`task_done`](Self::task_done) when it is
            /// dropped.
            ///
            /// # Blocking
            ///
            /// Blocks the calling thread; do not call it from async code.
            ///
            /// # Errors
            ///
            /// [`QueueShutDown`] as for [`get`](Self::get).
            ///
            /// # Examples
            ///
            /// ```
            #[doc = concat!("use tulip_queue::", stringify!($Name), ";")]
            ///
            #[doc = concat!("let q = ", stringify!($Name), "::new(0);")]
            /// let worker = std::thread::spawn({
            ///     let q = q.clone();
            ///     move || {
            ///         let job = q.get_item_blocking().unwrap();
            ///         assert_eq!(*job, "job");
            ///     } // task_done()
            /// });
            /// q.put_nowait("job").unwrap();
            /// q.join_blocking();
            /// worker.join().unwrap();
            /// ```
            pub fn get_item_blocking(&self) -> Result<QueueItem<T>, QueueShutDown> {
                block_on(self.get_item())
            }

            /// Like [`get_nowait`](Self::get_nowait), but the item comes in a [`QueueItem`]
            /// guard that calls [`task_done`](Self::task_done) when it is dropped.
            ///
            /// # Errors
            ///
            /// As [`get_nowait`](Self::get_nowait).
            ///
            /// # Examples
            ///
            /// ```
            #[doc = concat!("use tulip_queue::", stringify!($Name), ";")]
            ///
            #[doc = concat!("let q = ", stringify!($Name), "::new(0);")]
            /// q.put_nowait('a').unwrap();
            /// let item = q.get_item_nowait().unwrap();
            /// assert_eq!(q.unfinished_tasks(), 1);
            /// drop(item);
            /// assert_eq!(q.unfinished_tasks(), 0);
            /// ```
            pub fn get_item_nowait(&self) -> Result<QueueItem<T>, GetError> {
                let item = self.shared.try_get()?;
                Ok(QueueItem::new(Arc::clone(&self.shared), item))
            }

            /// Marks one item taken from the queue as processed.
            ///
            /// Every successful put adds one unfinished task; `task_done` removes one, and
            /// [`join`](Self::join) waits until none is left.
            ///
            /// # Errors
            ///
            /// [`TooManyTaskDone`] if there is no unfinished task (asyncio's `ValueError`);
            /// the count stays at zero.
            ///
            /// # Examples
            ///
            /// ```
            #[doc = concat!("use tulip_queue::{", stringify!($Name), ", TooManyTaskDone};")]
            ///
            #[doc = concat!("let q = ", stringify!($Name), "::new(0);")]
            /// q.put_nowait(1).unwrap();
            /// let _ = q.get_nowait();
            /// assert_eq!(q.task_done(), Ok(()));
            /// assert_eq!(q.task_done(), Err(TooManyTaskDone));
            /// ```
            pub fn task_done(&self) -> Result<(), TooManyTaskDone> {
                self.shared.tasks.done()
            }

            /// Waits until every item put has been marked done with
            /// [`task_done`](Self::task_done).
            ///
            /// Returns at once when there is no unfinished task. As in asyncio, a joiner that
            /// saw the count reach zero returns even if a new item is put before it runs. An
            /// immediate [`shutdown`](Self::shutdown) releases joiners when the items it
            /// discards were all that was unfinished.
            ///
            /// # Cancel safety
            ///
            /// Cancel-safe: dropping the future only removes this joiner.
            ///
            /// # Examples
            ///
            /// ```
            #[doc = concat!("use tulip_queue::", stringify!($Name), ";")]
            ///
            /// # futures_lite::future::block_on(async {
            #[doc = concat!("let q = ", stringify!($Name), "::new(0);")]
            /// q.put_nowait(1).unwrap();
            /// let worker = async {
            ///     let item = q.get().await.unwrap();
            ///     assert_eq!(item, 1);
            ///     q.task_done().unwrap();
            /// };
            /// futures_lite::future::zip(q.join(), worker).await;
            /// # });
            /// ```
            pub fn join(&self) -> Join<'_> {
                Join::new(&self.shared.tasks)
            }

            /// Blocks the thread until every item put has been marked done.
            ///
            /// # Blocking
            ///
            /// Blocks the calling thread; do not call it from async code.
            ///
            /// # Examples
            ///
            /// ```
            #[doc = concat!("use tulip_queue::", stringify!($Name), ";")]
            ///
            #[doc = concat!("let q = ", stringify!($Name), "::new(0);")]
            /// q.put_nowait(1).unwrap();
            /// let worker = std::thread::spawn({
            ///     let q = q.clone();
            ///     move || {
            ///         q.get_blocking().unwrap();
            ///         q.task_done().unwrap();
            ///     }
            /// });
            /// q.join_blocking();
            /// worker.join().unwrap();
            /// ```
            pub fn join_blocking(&self) {
                block_on(self.join());
            }

            /// The number of items in the queue.
            ///
            /// # Examples
            ///
            /// ```
            #[doc = concat!("let q = tulip_queue::", stringify!($Name), "::new(0);")]
            /// q.put_nowait(1).unwrap();
            /// assert_eq!(q.qsize(), 1);
            /// ```
            #[doc(alias = "len")]
            pub fn qsize(&self) -> usize {
                self.shared.len()
            }

            /// Whether the queue holds no item.
            ///
            /// # Examples
            ///
            /// ```
            #[doc = concat!("let q = tulip_queue::", stringify!($Name), "::<u8>::new(0);")]
            /// assert!(q.empty());
            /// ```
            #[doc(alias = "is_empty")]
            pub fn empty(&self) -> bool {
                self.qsize() == 0
            }

            /// Whether the queue holds `maxsize` items; never for an unbounded queue.
            ///
            /// # Examples
            ///
            /// ```
            #[doc = concat!("let q = tulip_queue::", stringify!($Name), "::new(1);")]
            /// q.put_nowait(1).unwrap();
            /// assert!(q.full());
            /// ```
            #[doc(alias = "is_full")]
            pub fn full(&self) -> bool {
                let maxsize = self.shared.maxsize();
                maxsize > 0 && self.qsize() >= maxsize
            }

            /// The capacity given to `new`; 0 means unbounded.
            ///
            /// # Examples
            ///
            /// ```
            #[doc = concat!("let q = tulip_queue::", stringify!($Name), "::<u8>::new(8);")]
            /// assert_eq!(q.maxsize(), 8);
            /// ```
            #[doc(alias = "capacity")]
            pub fn maxsize(&self) -> usize {
                self.shared.maxsize()
            }

            /// The number of items put and not yet marked done (asyncio's private
            /// `_unfinished_tasks`).
            ///
            /// # Examples
            ///
            /// ```
            #[doc = concat!("let q = tulip_queue::", stringify!($Name), "::new(0);")]
            /// q.put_nowait(1).unwrap();
            /// q.get_nowait().unwrap();
            /// assert_eq!(q.unfinished_tasks(), 1);
            /// ```
            #[doc(alias = "_unfinished_tasks")]
            pub fn unfinished_tasks(&self) -> usize {
                self.shared.tasks.unfinished()
            }

            /// Shuts the queue down, with asyncio 3.13's semantics.
            ///
            /// From now on every put fails with [`QueueShutDown`], including puts that are
            /// waiting for room.
            ///
            /// - `immediate == false` (graceful): gets still return the items left, then fail
            ///   with [`QueueShutDown`]; getters waiting on an empty queue fail at once.
            /// - `immediate == true`: the items left are dropped, and the unfinished-task
            ///   count goes down by one per dropped item (not below zero), which releases
            ///   [`join`](Self::join) if nothing else is unfinished; waiting getters and
            ///   putters fail with [`QueueShutDown`].
            ///
            /// Calling it again is allowed; an immediate shutdown after a graceful one
            /// drops what is left.
            ///
            /// # Panics
            ///
            /// Only if dropping a discarded item panics; the queue is fully shut down and
            /// every other discarded item dropped before that panic propagates.
            ///
            /// # Examples
            ///
            /// ```
            #[doc = concat!("use tulip_queue::{", stringify!($Name), ", GetError, PutError};")]
            ///
            #[doc = concat!("let q = ", stringify!($Name), "::new(0);")]
            /// q.put_nowait(1).unwrap();
            /// q.shutdown(false);
            /// assert_eq!(q.put_nowait(2), Err(PutError::ShutDown(2)));
            /// assert_eq!(q.get_nowait(), Ok(1)); // graceful: drain
            /// assert_eq!(q.get_nowait(), Err(GetError::ShutDown));
            ///
            #[doc = concat!("let q = ", stringify!($Name), "::new(0);")]
            /// q.put_nowait(1).unwrap();
            /// q.shutdown(true);
            /// assert_eq!(q.get_nowait(), Err(GetError::ShutDown)); // immediate: dropped
            /// assert_eq!(q.unfinished_tasks(), 0);
            /// ```
            pub fn shutdown(&self, immediate: bool) {
                self.shared.shutdown(immediate);
            }

            /// Whether [`shutdown`](Self::shutdown) has been called.
            ///
            /// # Examples
            ///
            /// ```
            #[doc = concat!("let q = tulip_queue::", stringify!($Name), "::<u8>::new(0);")]
            /// q.shutdown(false);
            /// assert!(q.is_shut_down());
            /// ```
            #[doc(alias = "is_shutdown")]
            pub fn is_shut_down(&self) -> bool {
                self.shared.is_shut_down()
            }

            /// Whether both handles refer to the same queue.
            ///
            /// # Examples
            ///
            /// ```
            #[doc = concat!("let q = tulip_queue::", stringify!($Name), "::<u8>::new(0);")]
            /// assert!(q.same_queue(&q.clone()));
            #[doc = concat!("assert!(!q.same_queue(&tulip_queue::", stringify!($Name), "::new(0)));")]
            /// ```
            pub fn same_queue(&self, other: &Self) -> bool {
                Arc::ptr_eq(&self.shared, &other.shared)
            }
        }

        impl<T> Clone for $Name<T> {
            /// Another handle to the same queue.
            fn clone(&self) -> Self {
                Self {
                    shared: Arc::clone(&self.shared),
                }
            }
        }

        impl<T> fmt::Debug for $Name<T> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.debug_struct(stringify!($Name))
                    .field("qsize", &self.qsize())
                    .field("maxsize", &self.maxsize())
                    .field("unfinished_tasks", &self.unfinished_tasks())
                    .field("shut_down", &self.is_shut_down())
                    .finish()
            }
        }
    };
}

/// asyncio's `Queue`: a first-in, first-out queue shared by `Clone` handles.
///
/// Every handle refers to the same queue; the items are dropped when the last handle is.
/// `Send + Sync` when `T: Send`, so producers and consumers may be tasks on any executor or
/// plain threads (`*_blocking` methods).
///
/// # Memory
///
/// `maxsize` is a limit, not an allocation: memory follows the items held, for any `maxsize`
/// up to `usize::MAX`, and is given back as the queue drains. Up front, a bounded queue
/// allocates a lock-free ring (a [`concurrent_queue::ConcurrentQueue`]) of `maxsize` slots
/// if they fit in 32 KiB (a slot is the item and a word: 2 048 slots for `u64`), else of as
/// many slots as fit. Items beyond the ring's capacity wait behind it in blocks of that size,
/// allocated as the queue grows and freed as it drains (one is kept for the next burst).
/// They pass a short lock, so while a queue holds more than its ring, each put takes that
/// lock (gets take it once per ring's worth of items). An unbounded queue (`maxsize == 0`)
/// grows and shrinks in blocks too.
///
/// # Examples
///
/// ```
/// use tulip_queue::Queue;
///
/// # futures_lite::future::block_on(async {
/// let q = Queue::new(2);
/// q.put(1).await?;
/// q.put(2).await?;
/// assert!(q.full());
/// assert_eq!(q.get().await?, 1);
/// assert_eq!(q.get().await?, 2);
/// # Ok::<(), tulip_queue::QueueShutDown>(()) }).unwrap();
/// ```
#[doc(alias = "asyncio.Queue")]
pub struct Queue<T> {
    shared: Arc<Shared<T>>,
}

impl<T> Queue<T> {
    /// A queue holding at most `maxsize` items; `0` means unbounded.
    ///
    /// Any `maxsize` is accepted; nothing beyond a ring of at most 32 KiB is allocated up
    /// front (see [Memory](Queue#memory)).
    ///
    /// # Examples
    ///
    /// ```
    /// let bounded = tulip_queue::Queue::<u8>::new(10);
    /// let unbounded = tulip_queue::Queue::<u8>::new(0);
    /// assert_eq!((bounded.maxsize(), unbounded.maxsize()), (10, 0));
    ///
    /// // A generous limit: a 32 KiB ring up front, the rest only if items come.
    /// let huge = tulip_queue::Queue::<u64>::new(usize::MAX);
    /// huge.put_nowait(1).unwrap();
    /// assert_eq!(huge.get_nowait(), Ok(1));
    /// ```
    pub fn new(maxsize: usize) -> Self {
        Self {
            shared: Arc::new(Shared::fifo(maxsize)),
        }
    }
}

impl<T> Default for Queue<T> {
    /// An unbounded queue.
    fn default() -> Self {
        Self::new(0)
    }
}

queue_methods!(Queue);

/// asyncio's `PriorityQueue`: the smallest item (by [`Ord`]) comes out first.
///
/// Items that compare equal come out in an unspecified order, as with `heapq`; put
/// `(priority, sequence_number, item)` tuples for FIFO order within a priority.
///
/// The items are a binary heap in a `Vec` behind a lock, which is held only to push or pop
/// (including `T::cmp` calls; a panicking `cmp` loses no item). The `Vec` grows with the items,
/// whatever `maxsize` is, and gives its capacity back as they drain.
///
/// # Examples
///
/// ```
/// use tulip_queue::PriorityQueue;
///
/// let q = PriorityQueue::new(0);
/// for n in [5, 1, 3] {
///     q.put_nowait(n).unwrap();
/// }
/// assert_eq!(q.get_nowait(), Ok(1));
/// assert_eq!(q.get_nowait(), Ok(3));
/// assert_eq!(q.get_nowait(), Ok(5));
/// ```
#[doc(alias = "asyncio.PriorityQueue")]
pub struct PriorityQueue<T> {
    shared: Arc<Shared<T>>,
}

impl<T: Ord> PriorityQueue<T> {
    /// A priority queue holding at most `maxsize` items; `0` means unbounded.
    ///
    /// # Examples
    ///
    /// ```
    /// let q = tulip_queue::PriorityQueue::<(u8, &str)>::new(0);
    /// q.put_nowait((2, "later")).unwrap();
    /// q.put_nowait((1, "sooner")).unwrap();
    /// assert_eq!(q.get_nowait(), Ok((1, "sooner")));
    /// ```
    pub fn new(maxsize: usize) -> Self {
        Self {
            shared: Arc::new(Shared::priority(maxsize)),
        }
    }
}

impl<T: Ord> Default for PriorityQueue<T> {
    /// An unbounded priority queue.
    fn default() -> Self {
        Self::new(0)
    }
}

queue_methods!(PriorityQueue);

/// asyncio's `LifoQueue`: the newest item comes out first.
///
/// The items are a `Vec` behind a lock, held only to push or pop. The `Vec` grows with the
/// items, whatever `maxsize` is, and gives its capacity back as they drain.
///
/// # Examples
///
/// ```
/// use tulip_queue::LifoQueue;
///
/// let q = LifoQueue::new(0);
/// q.put_nowait(1).unwrap();
/// q.put_nowait(2).unwrap();
/// assert_eq!(q.get_nowait(), Ok(2));
/// assert_eq!(q.get_nowait(), Ok(1));
/// ```
#[doc(alias = "asyncio.LifoQueue")]
pub struct LifoQueue<T> {
    shared: Arc<Shared<T>>,
}

impl<T> LifoQueue<T> {
    /// A LIFO queue holding at most `maxsize` items; `0` means unbounded.
    ///
    /// # Examples
    ///
    /// ```
    /// let q = tulip_queue::LifoQueue::<u8>::new(3);
    /// assert_eq!(q.maxsize(), 3);
    /// ```
    pub fn new(maxsize: usize) -> Self {
        Self {
            shared: Arc::new(Shared::lifo(maxsize)),
        }
    }
}

impl<T> Default for LifoQueue<T> {
    /// An unbounded LIFO queue.
    fn default() -> Self {
        Self::new(0)
    }
}

queue_methods!(LifoQueue);
