//! [`JoinError`] and [`Panic`]: why awaiting a task gave no value.

use std::any::Any;
use std::error::Error;
use std::fmt;
use std::sync::Mutex;

/// The output of a task's future as stored by async-task.
pub(crate) type Outcome<T> = Result<T, JoinError>;

/// What a task's future returns, as async-task stores it: the error boxed, so that for
/// `T = ()` the output is one pointer. async-task keeps the output in a union with the
/// future, wrapped in a `Result` of its own (for panics), and an unboxed `Outcome<()>` would
/// make that union, and so every small task's allocation, 8 bytes larger. The box is made
/// only when a task ends cancelled or panicked.
pub(crate) type TaskOutput<T> = Result<T, Box<JoinError>>;

/// Why awaiting a [`Task`](crate::Task) did not produce its value (asyncio's `CancelledError` and task
/// exceptions).
///
/// # Examples
///
/// ```
/// # tulip_executor::doc_block_on(async {
/// let t = tulip_executor::spawn(async { panic!("boom") });
/// let err: tulip_executor::JoinError = t.await.unwrap_err();
/// assert!(err.is_panic());
/// assert_eq!(err.panic_message().as_deref(), Some("boom"));
/// # });
/// ```
#[derive(Debug)]
pub enum JoinError {
    /// The task was cancelled (by [`Task::cancel`](crate::Task::cancel), or because its loop closed first).
    Cancelled,
    /// The task panicked; the payload is inside.
    Panicked(Panic),
}

impl JoinError {
    /// Whether the task was cancelled.
    pub fn is_cancelled(&self) -> bool {
        matches!(self, JoinError::Cancelled)
    }

    /// Whether the task panicked.
    pub fn is_panic(&self) -> bool {
        matches!(self, JoinError::Panicked(_))
    }

    /// The panic payload, to resume with `std::panic::resume_unwind`.
    ///
    /// # Panics
    ///
    /// Panics if the task was cancelled rather than panicking; see
    /// [`try_into_panic`](Self::try_into_panic).
    pub fn into_panic(self) -> Box<dyn Any + Send + 'static> {
        self.try_into_panic()
            .expect("JoinError::into_panic called on a cancelled task")
    }

    /// The panic payload, or the error back if the task was cancelled.
    ///
    /// # Errors
    ///
    /// Returns `Err(self)` for [`JoinError::Cancelled`].
    pub fn try_into_panic(self) -> Result<Box<dyn Any + Send + 'static>, JoinError> {
        match self {
            JoinError::Panicked(p) => Ok(p.into_inner()),
            e => Err(e),
        }
    }

    /// The panic message, when the task panicked with a string.
    pub fn panic_message(&self) -> Option<String> {
        match self {
            JoinError::Panicked(p) => p.message(),
            JoinError::Cancelled => None,
        }
    }
}

impl fmt::Display for JoinError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            JoinError::Cancelled => f.write_str("task was cancelled"),
            JoinError::Panicked(p) => match p.message() {
                Some(m) => write!(f, "task panicked: {m}"),
                None => f.write_str("task panicked"),
            },
        }
    }
}

impl Error for JoinError {}

impl From<JoinError> for std::io::Error {
    fn from(e: JoinError) -> std::io::Error {
        std::io::Error::other(e)
    }
}

/// A panic payload caught from a task (`Send + Sync`, so [`JoinError`] is too). One pointer
/// wide, so every task's output slot stays small.
pub struct Panic(Box<Mutex<Box<dyn Any + Send + 'static>>>);

impl Panic {
    /// Wraps a payload caught with `std::panic::catch_unwind`.
    pub fn new(payload: Box<dyn Any + Send + 'static>) -> Panic {
        Panic(Box::new(Mutex::new(payload)))
    }

    /// The payload.
    pub fn into_inner(self) -> Box<dyn Any + Send + 'static> {
        self.0.into_inner().unwrap_or_else(|e| e.into_inner())
    }

    /// The message, when the payload is a `&str` or `String` (as `panic!` makes it).
    pub fn message(&self) -> Option<String> {
        let p = tulip_util::lock(&self.0);
        payload_message(&**p).map(str::to_owned)
    }
}

impl fmt::Debug for Panic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Panic").field(&self.message()).finish()
    }
}

/// The message of a panic payload, if it is a string.
pub fn payload_message(payload: &(dyn Any + Send)) -> Option<&str> {
    if let Some(s) = payload.downcast_ref::<&'static str>() {
        Some(s)
    } else {
        payload.downcast_ref::<String>().map(String::as_str)
    }
}
