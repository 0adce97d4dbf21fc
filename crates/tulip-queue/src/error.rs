//! The queues' error types (asyncio's `QueueEmpty`, `QueueFull`, `QueueShutDown` and the
//! `ValueError` of one `task_done()` too many).

use std::{error::Error, fmt};

/// The queue has been shut down (asyncio's `QueueShutDown`).
///
/// Returned by `put` once [`shutdown`](crate::Queue::shutdown) has been called, and by
/// `get` once the queue is shut down *and* empty.
///
/// # Examples
///
/// ```
/// use tulip_queue::{Queue, QueueShutDown};
///
/// # futures_lite::future::block_on(async {
/// let q = Queue::new(0);
/// q.shutdown(false);
/// assert_eq!(q.put(1).await, Err(QueueShutDown));
/// assert_eq!(q.get().await, Err(QueueShutDown));
/// # });
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct QueueShutDown;

impl fmt::Display for QueueShutDown {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("queue is shut down")
    }
}

impl Error for QueueShutDown {}

/// Why [`put_nowait`](crate::Queue::put_nowait) failed; the item is handed back.
///
/// # Examples
///
/// ```
/// use tulip_queue::{PutError, Queue};
///
/// let q = Queue::new(1);
/// q.put_nowait("a").unwrap();
/// assert_eq!(q.put_nowait("b"), Err(PutError::Full("b")));
/// q.shutdown(false);
/// let err = q.put_nowait("c").unwrap_err();
/// assert!(err.is_shut_down());
/// assert_eq!(err.into_inner(), "c");
/// ```
#[doc(alias = "QueueFull")]
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub enum PutError<T> {
    /// The queue holds `maxsize` items (asyncio's `QueueFull`).
    Full(T),
    /// The queue has been shut down (asyncio's `QueueShutDown`).
    ShutDown(T),
}

impl<T> PutError<T> {
    /// Returns the item that could not be put.
    ///
    /// # Examples
    ///
    /// ```
    /// use tulip_queue::PutError;
    ///
    /// assert_eq!(PutError::Full(7).into_inner(), 7);
    /// ```
    pub fn into_inner(self) -> T {
        match self {
            Self::Full(item) | Self::ShutDown(item) => item,
        }
    }

    /// Whether the queue was full.
    ///
    /// # Examples
    ///
    /// ```
    /// use tulip_queue::PutError;
    ///
    /// assert!(PutError::Full(()).is_full());
    /// ```
    pub fn is_full(&self) -> bool {
        matches!(self, Self::Full(_))
    }

    /// Whether the queue was shut down.
    ///
    /// # Examples
    ///
    /// ```
    /// use tulip_queue::PutError;
    ///
    /// assert!(PutError::ShutDown(()).is_shut_down());
    /// ```
    pub fn is_shut_down(&self) -> bool {
        matches!(self, Self::ShutDown(_))
    }
}

impl<T> fmt::Debug for PutError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Full(_) => f.write_str("Full(..)"),
            Self::ShutDown(_) => f.write_str("ShutDown(..)"),
        }
    }
}

impl<T> fmt::Display for PutError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Full(_) => f.write_str("queue is full"),
            Self::ShutDown(_) => f.write_str("queue is shut down"),
        }
    }
}

impl<T> Error for PutError<T> {}

impl<T> From<PutError<T>> for QueueShutDown {
    /// Both variants become `QueueShutDown`: handy with `?` in a producer that treats a full
    /// queue as fatal too.
    fn from(_: PutError<T>) -> Self {
        QueueShutDown
    }
}

/// Why [`get_nowait`](crate::Queue::get_nowait) failed.
///
/// # Examples
///
/// ```
/// use tulip_queue::{GetError, Queue};
///
/// let q: Queue<u8> = Queue::new(0);
/// assert_eq!(q.get_nowait(), Err(GetError::Empty));
/// q.shutdown(false);
/// assert_eq!(q.get_nowait(), Err(GetError::ShutDown));
/// ```
#[doc(alias = "QueueEmpty")]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum GetError {
    /// The queue is empty (asyncio's `QueueEmpty`).
    Empty,
    /// The queue is empty and has been shut down (asyncio's `QueueShutDown`).
    ShutDown,
}

impl GetError {
    /// Whether the queue was merely empty.
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(tulip_queue::GetError::Empty.is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        *self == Self::Empty
    }

    /// Whether the queue was shut down.
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(tulip_queue::GetError::ShutDown.is_shut_down());
    /// ```
    pub fn is_shut_down(&self) -> bool {
        *self == Self::ShutDown
    }
}

impl fmt::Display for GetError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Empty => f.write_str("queue is empty"),
            Self::ShutDown => f.write_str("queue is shut down"),
        }
    }
}

impl Error for GetError {}

impl From<QueueShutDown> for GetError {
    fn from(_: QueueShutDown) -> Self {
        Self::ShutDown
    }
}

/// [`task_done`](crate::Queue::task_done) was called more times than items were put
/// (asyncio raises `ValueError`).
///
/// # Examples
///
/// ```
/// use tulip_queue::{Queue, TooManyTaskDone};
///
/// let q: Queue<()> = Queue::new(0);
/// assert_eq!(q.task_done(), Err(TooManyTaskDone));
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct TooManyTaskDone;

impl fmt::Display for TooManyTaskDone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("task_done() called too many times")
    }
}

impl Error for TooManyTaskDone {}
