//! [`join!`] and [`try_join!`]: await futures of different types concurrently, inside the
//! current task; and [`MaybeDone`], the state each future is kept in meanwhile.
//!
//! The macros keep each future in a [`MaybeDone`] pinned on the awaiting task's stack (with
//! `core::pin::pin!`, no allocation, no `unsafe`), and reach the n-th one of the tuple with a
//! pattern that skips the n - 1 before it (the technique of tokio's `join!`).

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use pin_project_lite::pin_project;

pin_project! {
    /// A future, then its output, then nothing: the state of each future in [`join!`] and
    /// [`try_join!`]. Public for the macros only.
    #[doc(hidden)]
    #[project = MaybeDoneProj]
    #[project_replace = MaybeDoneReplace]
    #[derive(Debug)]
    pub enum MaybeDone<F: Future> {
        Future { #[pin] future: F },
        Done { output: F::Output },
        Gone,
    }
}

impl<F: Future> MaybeDone<F> {
    /// Wraps a future.
    pub fn new(future: F) -> MaybeDone<F> {
        MaybeDone::Future { future }
    }

    /// Polls the future if it is still running; `Ready` once the output is stored.
    pub fn poll_done(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let out = match self.as_mut().project() {
            MaybeDoneProj::Future { future } => std::task::ready!(future.poll(cx)),
            MaybeDoneProj::Done { .. } | MaybeDoneProj::Gone => return Poll::Ready(()),
        };
        self.project_replace(MaybeDone::Done { output: out });
        Poll::Ready(())
    }

    /// Takes the output, if the future has completed.
    pub fn take_output(self: Pin<&mut Self>) -> Option<F::Output> {
        match self.as_ref().get_ref() {
            MaybeDone::Done { .. } => {}
            _ => return None,
        }
        match self.project_replace(MaybeDone::Gone) {
            MaybeDoneReplace::Done { output } => Some(output),
            _ => None,
        }
    }
}

impl<F, T, E> MaybeDone<F>
where
    F: Future<Output = Result<T, E>>,
{
    /// Takes the output if the future completed with `Err`.
    pub fn take_err(self: Pin<&mut Self>) -> Option<E> {
        match self.as_ref().get_ref() {
            MaybeDone::Done { output: Err(_) } => {}
            _ => return None,
        }
        match self.take_output() {
            Some(Err(e)) => Some(e),
            _ => None,
        }
    }

    /// Takes the value if the future completed with `Ok`.
    pub fn take_ok(self: Pin<&mut Self>) -> Option<T> {
        match self.as_ref().get_ref() {
            MaybeDone::Done { output: Ok(_) } => {}
            _ => return None,
        }
        match self.take_output() {
            Some(Ok(v)) => Some(v),
            _ => None,
        }
    }
}

/// Awaits every future concurrently, inside the current task, and returns their outputs as a
/// tuple, in argument order (asyncio's `gather` for awaitables of different types).
///
/// Must be used inside an `async` block or function (it `.await`s). The futures are polled in
/// argument order each time the task wakes; none is spawned, so none outlives the awaiting
/// task. For many futures of one type, see [`gather`](crate::gather).
///
/// # Cancel safety
///
/// Dropping the awaiting future drops every future given to `join!`.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use tulip_reactor::sleep;
///
/// tulip_runtime::Runner::builder().start_paused(true).build().run(async {
///     let start = tulip_reactor::Instant::now();
///     let (n, s, ()) = tulip_task::join!(
///         async { sleep(Duration::from_secs(2)).await; 1 },
///         async { sleep(Duration::from_secs(1)).await; "one" },
///         sleep(Duration::from_secs(2)),
///     );
///     assert_eq!((n, s), (1, "one"));
///     assert_eq!(start.elapsed(), Duration::from_secs(2)); // concurrently
/// });
/// ```
#[macro_export]
macro_rules! join {
    // Each future is tagged with a run of `_`s as long as its index in the tuple, so that the
    // pattern `( _, _, fut, .. )` reaches it.
    (@{ ( $($count:tt)* ) $( ( $($skip:tt)* ) $e:expr, )* }) => {{
        let mut futures = ( $( $crate::__private::pin!($crate::__private::MaybeDone::new(
            ::core::future::IntoFuture::into_future($e)
        )), )* );
        $crate::__private::poll_fn(|cx| {
            let mut pending = false;
            $(
                let ( $($skip,)* fut, .. ) = &mut futures;
                if fut.as_mut().poll_done(cx).is_pending() {
                    pending = true;
                }
            )*
            if pending {
                return ::core::task::Poll::Pending;
            }
            ::core::task::Poll::Ready(( $({
                let ( $($skip,)* fut, .. ) = &mut futures;
                fut.as_mut().take_output().expect("join!: output taken twice")
            },)* ))
        }).await
    }};
    (@{ ( $($count:tt)* ) $($done:tt)* } $e:expr, $($rest:tt)*) => {
        $crate::join!(@{ ( $($count)* _ ) $($done)* ( $($count)* ) $e, } $($rest)*)
    };
    (@{ ( $($count:tt)* ) $($done:tt)* } $e:expr) => {
        $crate::join!(@{ ( $($count)* _ ) $($done)* ( $($count)* ) $e, })
    };
    () => { () };
    ($($e:expr),+ $(,)?) => {
        $crate::join!(@{ () } $($e,)+)
    };
}

/// Awaits futures returning `Result`s concurrently, inside the current task: `Ok` with the
/// tuple of values when all succeed, or the first `Err` (in completion order), in which case
/// every other future is dropped at once.
///
/// All the futures must share one error type. Must be used inside an `async` block or
/// function.
///
/// # Cancel safety
///
/// Dropping the awaiting future drops every future given to `try_join!`.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use tulip_reactor::sleep;
///
/// tulip_runtime::Runner::builder().start_paused(true).build().run(async {
///     let ok: Result<(u8, &str), String> =
///         tulip_task::try_join!(async { Ok(1) }, async { Ok("a") });
///     assert_eq!(ok, Ok((1, "a")));
///
///     let start = tulip_reactor::Instant::now();
///     let failed: Result<((), ()), String> = tulip_task::try_join!(
///         async { sleep(Duration::from_secs(60)).await; Ok(()) },
///         async { sleep(Duration::from_secs(1)).await; Err("bad".to_string()) },
///     );
///     assert_eq!(failed, Err("bad".to_string()));
///     assert_eq!(start.elapsed(), Duration::from_secs(1));
/// });
/// ```
#[macro_export]
macro_rules! try_join {
    (@{ ( $($count:tt)* ) $( ( $($skip:tt)* ) $e:expr, )* }) => {{
        let mut futures = ( $( $crate::__private::pin!($crate::__private::MaybeDone::new(
            ::core::future::IntoFuture::into_future($e)
        )), )* );
        $crate::__private::poll_fn(|cx| {
            let mut pending = false;
            $(
                let ( $($skip,)* fut, .. ) = &mut futures;
                if fut.as_mut().poll_done(cx).is_pending() {
                    pending = true;
                } else if let ::core::option::Option::Some(e) = fut.as_mut().take_err() {
                    return ::core::task::Poll::Ready(::core::result::Result::Err(e));
                }
            )*
            if pending {
                return ::core::task::Poll::Pending;
            }
            ::core::task::Poll::Ready(::core::result::Result::Ok(( $({
                let ( $($skip,)* fut, .. ) = &mut futures;
                fut.as_mut().take_ok().expect("try_join!: output taken twice")
            },)* )))
        }).await
    }};
    (@{ ( $($count:tt)* ) $($done:tt)* } $e:expr, $($rest:tt)*) => {
        $crate::try_join!(@{ ( $($count)* _ ) $($done)* ( $($count)* ) $e, } $($rest)*)
    };
    (@{ ( $($count:tt)* ) $($done:tt)* } $e:expr) => {
        $crate::try_join!(@{ ( $($count)* _ ) $($done)* ( $($count)* ) $e, })
    };
    () => { ::core::result::Result::Ok(()) };
    ($($e:expr),+ $(,)?) => {
        $crate::try_join!(@{ () } $($e,)+)
    };
}
