//! Calling protocol callbacks with their panics contained.

use std::any::Any;
use std::io;
use std::panic::{catch_unwind, AssertUnwindSafe};

use tulip_executor::{call_exception_handler, ExceptionContext, ReportKind};

/// Calls `f`, reporting a panic to the loop's exception handler; `Err` when it panicked.
pub(crate) fn call<R>(what: &str, f: impl FnOnce() -> R) -> Result<R, io::Error> {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(r) => Ok(r),
        Err(payload) => Err(report(what, &*payload)),
    }
}

fn report(what: &str, payload: &(dyn Any + Send)) -> io::Error {
    let note = format!("protocol callback {what} panicked; its transport is aborted");
    let mut ctx = ExceptionContext::new(ReportKind::CallbackPanic);
    ctx.payload = Some(payload);
    ctx.note = Some(&note);
    call_exception_handler(&ctx);
    let msg = ctx.message().unwrap_or("(no message)").to_string();
    io::Error::other(format!("protocol callback {what} panicked: {msg}"))
}
