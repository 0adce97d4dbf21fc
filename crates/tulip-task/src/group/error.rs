//! The errors of a task group: [`GroupError`] (asyncio's `ExceptionGroup`), [`Failure`], and
//! [`SpawnError`] for a refused spawn.

use std::error::Error;
use std::fmt;

use tulip_executor::Panic;

/// How one child of a [`TaskGroup`](crate::TaskGroup) failed: it returned `Err`, or it
/// panicked.
///
/// # Examples
///
/// ```
/// use tulip_task::Failure;
///
/// let f: Failure<&str> = Failure::Error("refused");
/// assert_eq!(f.error(), Some(&"refused"));
/// assert!(!f.is_panic() && f.panic().is_none());
/// assert_eq!(f.to_string(), "refused");
/// assert_eq!(f.into_error().unwrap(), "refused");
///
/// let p: Failure<&str> = Failure::Panic(tulip_executor::Panic::new(Box::new("boom")));
/// assert_eq!(p.to_string(), "panic: boom");
/// assert!(p.into_error().is_err());
/// ```
#[derive(Debug)]
pub enum Failure<E> {
    /// The child's future returned `Err(e)`.
    Error(E),
    /// The child panicked (while running or while being dropped); the payload is inside.
    Panic(Panic),
}

impl<E> Failure<E> {
    /// Whether the child panicked.
    pub fn is_panic(&self) -> bool {
        matches!(self, Failure::Panic(_))
    }

    /// The error, if the child returned one.
    pub fn error(&self) -> Option<&E> {
        match self {
            Failure::Error(e) => Some(e),
            Failure::Panic(_) => None,
        }
    }

    /// The panic, if the child panicked.
    pub fn panic(&self) -> Option<&Panic> {
        match self {
            Failure::Panic(p) => Some(p),
            Failure::Error(_) => None,
        }
    }

    /// The error, or the panic back.
    ///
    /// # Errors
    ///
    /// Returns `Err(panic)` if the child panicked.
    pub fn into_error(self) -> Result<E, Panic> {
        match self {
            Failure::Error(e) => Ok(e),
            Failure::Panic(p) => Err(p),
        }
    }
}

impl<E: fmt::Display> fmt::Display for Failure<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Failure::Error(e) => e.fmt(f),
            Failure::Panic(p) => match p.message() {
                Some(m) => write!(f, "panic: {m}"),
                None => f.write_str("panic"),
            },
        }
    }
}

/// Every error and panic of the children of a failed [`TaskGroup`](crate::TaskGroup)
/// (asyncio's `ExceptionGroup`), in the order they happened.
///
/// A group error is never empty. Once a child has failed, its siblings are cancelled (dropped)
/// at their next poll, so more failures come from siblings that fail at the same time (on
/// other workers) or whose cleanup panics while they are dropped, the Rust counterpart of an
/// asyncio child raising from a `finally:` block while it is cancelled.
///
/// Nested groups keep their errors apart: an inner group's `GroupError` reaches the outer
/// group only if the child that joined the inner group returns it, and then it is one failure
/// of the outer group.
///
/// # Examples
///
/// ```
/// # tulip_runtime::run(async {
/// use tulip_task::TaskGroup;
///
/// struct Cleanup;
/// impl Drop for Cleanup {
///     fn drop(&mut self) {
///         panic!("cleanup failed");
///     }
/// }
///
/// let tg = TaskGroup::new();
/// tg.spawn(async {
///     let _cleanup = Cleanup; // dropped, and panics, when the group cancels this child
///     std::future::pending::<Result<(), &str>>().await
/// })
/// .unwrap();
/// tg.spawn(async { Err::<(), _>("first") }).unwrap();
/// let err = tg.join().await.unwrap_err();
/// assert_eq!(err.len(), 2);
/// assert!(!err.is_empty());
/// assert_eq!(err.failures().len(), 2);
/// assert!(matches!(err.first(), tulip_task::Failure::Error("first")));
/// assert_eq!(err.errors().collect::<Vec<_>>(), [&"first"]);
/// let panic = err.panics().next().unwrap();
/// assert_eq!(panic.message().as_deref(), Some("cleanup failed"));
/// assert_eq!(err.to_string(), "2 tasks of a task group failed: first; panic: cleanup failed");
/// let (errors, panics) = err.split();
/// assert_eq!((errors.len(), panics.len()), (1, 1));
/// # });
/// # tulip_runtime::run(async {
/// // Treating panics as fatal: `resume_panics` re-raises the first one, if any.
/// let tg = tulip_task::TaskGroup::new();
/// tg.spawn(async { Err::<(), _>("plain error") }).unwrap();
/// let errors = tg.join().await.unwrap_err().resume_panics();
/// assert_eq!(errors, ["plain error"]);
/// # let tg = tulip_task::TaskGroup::<()>::new();
/// # tg.join().await.unwrap();
/// # });
/// ```
pub struct GroupError<E> {
    failures: Vec<Failure<E>>,
}

impl<E> GroupError<E> {
    pub(crate) fn new(failures: Vec<Failure<E>>) -> GroupError<E> {
        debug_assert!(!failures.is_empty());
        GroupError { failures }
    }

    /// Every failure, in the order they happened.
    pub fn failures(&self) -> &[Failure<E>] {
        &self.failures
    }

    /// Every failure, in the order they happened.
    pub fn into_failures(self) -> Vec<Failure<E>> {
        self.failures
    }

    /// The errors children returned, in the order they happened.
    pub fn errors(&self) -> impl Iterator<Item = &E> {
        self.failures.iter().filter_map(Failure::error)
    }

    /// The panics of children, in the order they happened.
    pub fn panics(&self) -> impl Iterator<Item = &Panic> {
        self.failures.iter().filter_map(Failure::panic)
    }

    /// Number of failures (at least one).
    pub fn len(&self) -> usize {
        self.failures.len()
    }

    /// Always `false`: a group error holds at least one failure.
    pub fn is_empty(&self) -> bool {
        self.failures.is_empty()
    }

    /// The first failure.
    pub fn first(&self) -> &Failure<E> {
        &self.failures[0]
    }

    /// The errors and the panics, each in the order they happened.
    pub fn split(self) -> (Vec<E>, Vec<Panic>) {
        let mut errors = Vec::new();
        let mut panics = Vec::new();
        for f in self.failures {
            match f {
                Failure::Error(e) => errors.push(e),
                Failure::Panic(p) => panics.push(p),
            }
        }
        (errors, panics)
    }

    /// The errors, for callers that treat a child's panic as fatal: if any child panicked,
    /// the first panic resumes here.
    ///
    /// # Panics
    ///
    /// Resumes the first child panic, if there was one (with `std::panic::resume_unwind`).
    pub fn resume_panics(self) -> Vec<E> {
        let (errors, panics) = self.split();
        if let Some(p) = panics.into_iter().next() {
            std::panic::resume_unwind(p.into_inner());
        }
        errors
    }
}

impl<E: fmt::Debug> fmt::Debug for GroupError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GroupError")
            .field("failures", &self.failures)
            .finish()
    }
}

impl<E: fmt::Display> fmt::Display for GroupError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.failures.len();
        write!(
            f,
            "{n} task{} of a task group failed",
            if n == 1 { "" } else { "s" }
        )?;
        for (i, failure) in self.failures.iter().enumerate() {
            f.write_str(if i == 0 { ": " } else { "; " })?;
            failure.fmt(f)?;
        }
        Ok(())
    }
}

impl<E: Error + 'static> Error for GroupError<E> {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        self.errors().next().map(|e| e as &(dyn Error + 'static))
    }
}

/// Why a [`TaskGroup`](crate::TaskGroup) refused a spawn.
///
/// # Examples
///
/// ```
/// # tulip_runtime::run(async {
/// use tulip_task::{SpawnErrorKind, TaskGroup};
///
/// let tg = TaskGroup::<()>::new();
/// let h = tg.handle();
/// drop(tg);
/// assert_eq!(h.spawn(async { Ok(()) }).unwrap_err().kind(), SpawnErrorKind::Closed);
/// # });
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SpawnErrorKind {
    /// A child failed and the group is cancelling the others (asyncio: "TaskGroup is shutting
    /// down").
    Failed,
    /// [`TaskGroup::cancel`](crate::TaskGroup::cancel) was called.
    Cancelled,
    /// The group was joined, or dropped (asyncio: "TaskGroup is finished").
    Closed,
}

/// A spawn refused by a [`TaskGroup`](crate::TaskGroup): the reason, and the future back,
/// never polled.
///
/// # Examples
///
/// ```
/// # tulip_runtime::run(async {
/// use tulip_task::{SpawnErrorKind, TaskGroup};
///
/// let tg = TaskGroup::<()>::new();
/// tg.cancel();
/// let refused = tg.spawn(async { Ok(1) }).unwrap_err();
/// assert_eq!(refused.kind(), SpawnErrorKind::Cancelled);
/// let fut = refused.into_inner(); // the future, untouched
/// assert_eq!(fut.await, Ok(1));
/// # });
/// ```
pub struct SpawnError<F> {
    kind: SpawnErrorKind,
    future: F,
}

impl<F> SpawnError<F> {
    pub(crate) fn new(kind: SpawnErrorKind, future: F) -> SpawnError<F> {
        SpawnError { kind, future }
    }

    /// Why the spawn was refused.
    pub fn kind(&self) -> SpawnErrorKind {
        self.kind
    }

    /// The future that was not spawned.
    pub fn into_inner(self) -> F {
        self.future
    }
}

impl<F> fmt::Debug for SpawnError<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SpawnError")
            .field("kind", &self.kind)
            .finish_non_exhaustive()
    }
}

impl<F> fmt::Display for SpawnError<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self.kind {
            SpawnErrorKind::Failed => "task group is shutting down after a child failed",
            SpawnErrorKind::Cancelled => "task group was cancelled",
            SpawnErrorKind::Closed => "task group is finished (joined or dropped)",
        })
    }
}

impl<F> Error for SpawnError<F> {}
