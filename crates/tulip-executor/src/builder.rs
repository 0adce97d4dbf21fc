//! [`Builder`]: spawn a task with options (a name).

use std::future::Future;

use crate::executor::{spawn_local_named, spawn_named};
use crate::task_handle::Task;

/// Spawns tasks with options (asyncio's `create_task(coro, name=...)`).
///
/// # Examples
///
/// ```
/// # tulip_executor::doc_block_on(async {
/// let task = tulip_executor::Builder::new().name("fetcher").spawn(async { 1 });
/// assert_eq!(task.name(), Some("fetcher"));
/// assert_eq!(task.await.unwrap(), 1);
/// # });
/// ```
#[derive(Debug, Default, Clone)]
#[must_use = "a Builder does nothing until spawn is called"]
pub struct Builder {
    name: Option<Box<str>>,
}

impl Builder {
    /// A builder with default options.
    pub fn new() -> Builder {
        Builder::default()
    }

    /// Names the task (shown in panic reports and introspection).
    pub fn name(mut self, name: impl Into<String>) -> Builder {
        self.name = Some(name.into().into_boxed_str());
        self
    }

    /// Spawns a `Send` task on the current loop.
    ///
    /// # Panics
    ///
    /// Panics if no tulip event loop runs on this thread.
    #[track_caller]
    pub fn spawn<F>(self, future: F) -> Task<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        spawn_named(future, self.name)
    }

    /// Spawns a `!Send` task on the current loop (it always runs on this thread).
    ///
    /// # Panics
    ///
    /// Panics if no tulip event loop runs on this thread.
    #[track_caller]
    pub fn spawn_local<F>(self, future: F) -> Task<F::Output>
    where
        F: Future + 'static,
        F::Output: 'static,
    {
        spawn_local_named(future, self.name)
    }
}
