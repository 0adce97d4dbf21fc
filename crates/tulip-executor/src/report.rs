//! What the loop tells its exception handler: panics, slow polls, a blocked loop, results never
//! retrieved (asyncio's exception handler `context`, plus debug mode's reports).

use std::any::Any;
use std::fmt;
use std::panic::Location;
use std::sync::Arc;
use std::time::Duration;

use crate::task::error::payload_message;
use crate::task::meta::TaskId;

/// What happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ReportKind {
    /// A task panicked (the panic surfaces as `JoinError::Panicked` to its awaiter).
    TaskPanic,
    /// A task's future panicked while it was being dropped (cancelled, or at shutdown).
    DropPanic,
    /// A `call_soon`/`call_later` callback panicked.
    CallbackPanic,
    /// Debug mode: one poll of a task took longer than `slow_callback_duration`.
    SlowPoll,
    /// Debug mode: a callback took longer than `slow_callback_duration`.
    SlowCallback,
    /// The watchdog saw a task (or callback) run without yielding for longer than its
    /// threshold: the loop thread is blocked right now.
    Blocked,
    /// A task panicked, or a task spawned fallible (`spawn_fallible`) returned `Err`, and its
    /// `Task` handle was dropped without anyone awaiting it (asyncio's "Task exception was
    /// never retrieved"). Reported in debug mode and under
    /// [`UnhandledPanic::ShutdownIfUnobserved`]; `payload` holds the panic message, or
    /// `error` the error.
    NeverRetrieved,
    /// An error reported through [`call_exception_handler`] by code that has nobody to
    /// return it to: an accept loop that ran out of file descriptors, a connection handler
    /// that failed (asyncio's `loop.call_exception_handler(context)`).
    Error,
}

/// One report to the loop's exception handler (asyncio's `context` argument).
///
/// Its `Display` is one line, which is what the default handler prints on stderr.
#[derive(Debug)]
#[non_exhaustive]
pub struct ExceptionContext<'a> {
    /// What happened.
    pub kind: ReportKind,
    /// The task concerned, if any.
    pub task_id: Option<TaskId>,
    /// The task's name, if it has one.
    pub task_name: Option<&'a str>,
    /// Where the task was spawned.
    pub location: Option<&'static Location<'static>>,
    /// The panic payload, for panics.
    pub payload: Option<&'a (dyn Any + Send)>,
    /// How long it took (slow polls) or has been running (blocked loop).
    pub duration: Option<Duration>,
    /// What the reporter says happened (asyncio's `context["message"]`), for
    /// [`ReportKind::Error`].
    pub note: Option<&'a str>,
    /// The error concerned (asyncio's `context["exception"]`), for [`ReportKind::Error`].
    pub error: Option<&'a (dyn std::error::Error + 'static)>,
}

impl<'a> ExceptionContext<'a> {
    /// A report of `kind` with nothing else filled in.
    pub fn new(kind: ReportKind) -> ExceptionContext<'a> {
        ExceptionContext {
            kind,
            task_id: None,
            task_name: None,
            location: None,
            payload: None,
            duration: None,
            note: None,
            error: None,
        }
    }

    /// A [`ReportKind::Error`] report: `note` says what failed, `error` why.
    pub fn error(
        note: &'a str,
        error: Option<&'a (dyn std::error::Error + 'static)>,
    ) -> ExceptionContext<'a> {
        ExceptionContext {
            note: Some(note),
            error,
            ..ExceptionContext::new(ReportKind::Error)
        }
    }

    /// The panic message, when there is a string payload.
    pub fn message(&self) -> Option<&str> {
        self.payload.and_then(payload_message)
    }

    fn who(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.task_id, self.task_name) {
            (Some(id), Some(name)) => write!(f, "task '{name}' (id {id})")?,
            (Some(id), None) => write!(f, "task {id}")?,
            _ => f.write_str("callback")?,
        }
        if let Some(loc) = self.location {
            write!(f, " spawned at {loc}")?;
        }
        Ok(())
    }
}

impl fmt::Display for ExceptionContext<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.kind == ReportKind::Error {
            f.write_str(self.note.unwrap_or("error"))?;
            if let Some(e) = self.error {
                write!(f, ": {e}")?;
            }
            if self.task_id.is_some() {
                f.write_str(" (in ")?;
                self.who(f)?;
                f.write_str(")")?;
            }
            return Ok(());
        }
        self.who(f)?;
        let ms = |d: Option<Duration>| d.map_or(0.0, |d| d.as_secs_f64() * 1e3);
        match self.kind {
            ReportKind::TaskPanic | ReportKind::CallbackPanic => f.write_str(" panicked")?,
            ReportKind::DropPanic => f.write_str(" panicked while its future was dropped")?,
            ReportKind::NeverRetrieved => match self.error {
                Some(e) => {
                    return write!(
                        f,
                        " returned an error and its result was never retrieved: {e}"
                    )
                }
                None => f.write_str(" panicked and its result was never retrieved")?,
            },
            ReportKind::SlowPoll => write!(f, " took {:.1} ms in one poll", ms(self.duration))?,
            ReportKind::SlowCallback => write!(f, " took {:.1} ms", ms(self.duration))?,
            ReportKind::Error => f.write_str(" reported an error")?,
            ReportKind::Blocked => write!(
                f,
                " has been running for {:.0} ms without yielding: the loop thread is blocked",
                ms(self.duration)
            )?,
        }
        if let Some(m) = self.message() {
            write!(f, ": {m}")?;
        }
        Ok(())
    }
}

/// The loop's exception handler (asyncio's `loop.set_exception_handler`).
pub type ExceptionHandler = Arc<dyn Fn(&ExceptionContext<'_>) + Send + Sync>;

/// The default exception handler: one line on stderr; with the `tracing` feature, a `tracing`
/// event instead, and with the `log` feature (and not `tracing`), a `log` record.
///
/// The event's target is `tulip::report`, its level `ERROR` for panics, errors and results
/// never retrieved and `WARN` for slow polls, slow callbacks and a blocked loop; its message is
/// the report's one line, and its fields are `kind`, `task_id`, `task_name`, `spawned_at` and
/// `duration_ms` (those the report has). A report made inside a task's poll is inside that
/// task's span. The `log` record has the same target, level and message.
pub fn default_exception_handler() -> ExceptionHandler {
    Arc::new(|report: &ExceptionContext<'_>| emit(report))
}

/// What the default handler does with one report.
fn emit(report: &ExceptionContext<'_>) {
    #[cfg(feature = "tracing")]
    trace_report(report);
    #[cfg(all(feature = "log", not(feature = "tracing")))]
    log::log!(target: "tulip::report", log_level(report.kind), "{report}");
    #[cfg(not(any(feature = "tracing", feature = "log")))]
    eprintln!("tulip: {report}");
}

/// Whether a report of `kind` is an error (rather than a warning) for `tracing` and `log`.
#[cfg(any(feature = "tracing", feature = "log"))]
fn is_error(kind: ReportKind) -> bool {
    !matches!(
        kind,
        ReportKind::SlowPoll | ReportKind::SlowCallback | ReportKind::Blocked
    )
}

#[cfg(all(feature = "log", not(feature = "tracing")))]
fn log_level(kind: ReportKind) -> log::Level {
    if is_error(kind) {
        log::Level::Error
    } else {
        log::Level::Warn
    }
}

/// A report as a `tracing` event (see [`default_exception_handler`]).
#[cfg(feature = "tracing")]
fn trace_report(r: &ExceptionContext<'_>) {
    macro_rules! event {
        ($level:expr) => {
            tracing::event!(
                target: "tulip::report",
                $level,
                kind = ?r.kind,
                task_id = r.task_id.map(TaskId::as_u64),
                task_name = r.task_name,
                spawned_at = r.location.map(tracing::field::display),
                duration_ms = r.duration.map(|d| d.as_secs_f64() * 1e3),
                "{r}"
            )
        };
    }
    if is_error(r.kind) {
        event!(tracing::Level::ERROR);
    } else {
        event!(tracing::Level::WARN);
    }
}

/// Tells the exception handler of the loop running on this thread about `report` (asyncio's
/// `loop.call_exception_handler`); outside a loop, the default handler gets it (it prints it on
/// stderr, or logs it with the `tracing` or `log` feature).
/// A panic of the handler is contained.
///
/// # Examples
///
/// ```
/// use tulip_executor::{call_exception_handler, ExceptionContext, ReportKind};
///
/// let err = std::io::Error::other("disk on fire");
/// let report = ExceptionContext::error("saving the cache failed", Some(&err));
/// assert_eq!(report.kind, ReportKind::Error);
/// assert_eq!(report.to_string(), "saving the cache failed: disk on fire");
/// call_exception_handler(&report); // no loop here: printed on stderr
/// ```
pub fn call_exception_handler(report: &ExceptionContext<'_>) {
    let reported = crate::current::with_ctx(|ctx| match ctx {
        Some(ctx) => {
            ctx.shared().report(report);
            true
        }
        None => false,
    });
    if !reported {
        emit(report);
    }
}

/// What the loop does when a task panics, after reporting it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum UnhandledPanic {
    /// Report it; the panic surfaces as `JoinError::Panicked` and the loop goes on (the
    /// default, asyncio's behaviour).
    #[default]
    Log,
    /// Report it, then stop the loop: the running `block_on`/`run` panics with the task's
    /// message. For tests and services that must not run on with a broken invariant.
    ShutdownLoop,
    /// Report it, then abort the process.
    Abort,
    /// Report it; if nobody retrieves the panic — the task's [`Task`](crate::Task) handle is
    /// dropped or detached without being awaited, or was already — report that too
    /// ([`ReportKind::NeverRetrieved`]) and stop the loop: the running `block_on`/`run` panics
    /// with the task's name, spawn site and message. A panic that someone awaits (and so
    /// sees as `JoinError::Panicked`), and the panics a task group collects, stop nothing.
    /// tokio's `unhandled_panic = "shutdown_runtime"`, for panics nobody saw; what
    /// `#[tulip::test]` uses.
    ShutdownIfUnobserved,
}
