//! [`Interrupt`]: asyncio 3.11 `Runner`'s Ctrl-C handling, for event loops.

use std::fmt;
use std::future::Future;
use std::io::{self, Write};
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll, Waker};

use futures_core::Stream;

use crate::signals::{Kind, Signals};

/// asyncio 3.11 `Runner`'s SIGINT handling, which `tulip::run` and `Runner::run` install
/// (see `RunnerBuilder::handle_ctrl_c`): the first Ctrl-C interrupts the run, so the loop can
/// cancel its main future and shut down in order; a second one during that shutdown ends the
/// process at once; and the process then ends the way an interrupted program does — killed
/// by SIGINT, which a shell reports as exit status 130.
///
/// It stands aside while anyone else handles SIGINT through tulip ([`ctrl_c`](crate::ctrl_c),
/// a [`Signals`] with SIGINT, `add_signal_handler`): a delivery is taken as an interrupt only
/// when, at the instant it arrives, no such subscription exists (asyncio: a handler set with
/// `add_signal_handler` replaces the Runner's).
///
/// # Examples
///
/// ```
/// // Off the main thread (here, a test's), nothing is installed.
/// let installed = std::thread::spawn(|| tulip_signal::Interrupt::install())
///     .join()
///     .unwrap()?;
/// assert!(installed.is_none());
/// # std::io::Result::Ok(())
/// ```
pub struct Interrupt {
    signals: Signals,
    armed: Arc<AtomicBool>,
    /// The waker the stream registered with the reactor when it last returned `Pending`.
    registered: Option<Waker>,
}

impl fmt::Debug for Interrupt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Interrupt")
            .field("armed", &self.armed.load(Ordering::Relaxed))
            .finish()
    }
}

impl Interrupt {
    /// Installs the handling, as asyncio's Runner does: only on the process's main thread, and
    /// only if SIGINT has its default disposition and no tulip subscription (`Ok(None)`
    /// otherwise). Dropping the `Interrupt` uninstalls it and restores the default.
    ///
    /// # Errors
    ///
    /// The OS refusing the handler or the socket pair.
    pub fn install() -> io::Result<Option<Interrupt>> {
        if !crate::sys::is_main_thread() {
            return Ok(None);
        }
        let armed = Arc::new(AtomicBool::new(false));
        match Signals::with_kind(
            [libc::SIGINT],
            Kind::Fallback {
                armed: armed.clone(),
            },
        ) {
            Ok(signals) => Ok(Some(Interrupt {
                signals,
                armed,
                registered: None,
            })),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Polls for an interrupt: ready once a Ctrl-C arrived that nobody else handles.
    ///
    /// A runner polls this next to its main future, at every poll of it; most of those polls
    /// cost two atomic loads. While the waker registered last time is the same and no
    /// delivery was counted since, the stream is not polled again: its action counts a
    /// delivery before it sends the byte that wakes the registered waker, so the poll that
    /// wake causes sees the count.
    pub fn poll_interrupted(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        let same_waker = self
            .registered
            .as_ref()
            .is_some_and(|w| w.will_wake(cx.waker()));
        if same_waker && !self.signals.has_counted() {
            return Poll::Pending;
        }
        match Pin::new(&mut self.signals).poll_next(cx) {
            Poll::Ready(Some(_)) => {
                self.registered = None;
                Poll::Ready(())
            }
            // Never closed while the `Interrupt` lives.
            Poll::Ready(None) | Poll::Pending => {
                self.registered = Some(cx.waker().clone());
                Poll::Pending
            }
        }
    }

    /// Waits for an interrupt (see [`poll_interrupted`](Self::poll_interrupted)).
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: an interrupt that arrived stays counted for the next call.
    pub fn interrupted(&mut self) -> Interrupted<'_> {
        Interrupted { interrupt: self }
    }

    /// From now on, a Ctrl-C ends the process at once, from inside the signal handler
    /// (asyncio raises `KeyboardInterrupt` from its handler after the first one).
    pub fn arm(&self) {
        self.armed.store(true, Ordering::SeqCst);
    }

    /// Ends the process the way an interrupted program ends: standard output and error are
    /// flushed, SIGINT's default action is restored and SIGINT raised, so the process dies by
    /// SIGINT (a shell reports 130).
    pub fn exit(self) -> ! {
        let _ = io::stdout().flush();
        let _ = io::stderr().flush();
        drop(self);
        // Restores SIG_DFL (whatever is installed), unblocks SIGINT and raises it; it aborts
        // should the process survive that, and fails only for signals it does not know.
        let _ = signal_hook::low_level::emulate_default_handler(libc::SIGINT);
        std::process::exit(130)
    }
}

/// The future of [`Interrupt::interrupted`].
#[must_use = "futures do nothing unless polled"]
#[derive(Debug)]
pub struct Interrupted<'a> {
    interrupt: &'a mut Interrupt,
}

impl Future for Interrupted<'_> {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        self.get_mut().interrupt.poll_interrupted(cx)
    }
}
