//! [`Builder`]: spawn a task with options (a name).

use std::future::Future;
use std::panic::Location;

use crate::executor::{no_loop, spawn_local_on, spawn_send, with_current_local};
use crate::task::Task;

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
        let location = Location::caller();
        let shared = with_current_local(|l| l.shared.clone())
            .unwrap_or_else(|| no_loop("task::Builder::spawn"));
        spawn_send(&shared, future, self.name, location)
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
        let location = Location::caller();
        let name = self.name;
        with_current_local(|l| spawn_local_on(l, future, name, location))
            .unwrap_or_else(|| no_loop("task::Builder::spawn_local"))
    }
}
