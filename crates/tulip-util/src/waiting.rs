//! What a task waits on, told by crates that know no runtime to the runtime that wants to
//! know: [`note_waiting`], [`set_hook`], [`listen`].
//!
//! tulip-sync and tulip-queue run on any executor, so they cannot call tulip's introspection
//! themselves. When one of their futures is about to return `Pending`, it calls
//! [`note_waiting`] with what it waits for (`"Lock"`, `"Queue.get"`, ...) and the address of
//! the object, which identifies it in a dump (two tasks waiting on one lock show one address).
//!
//! # Cost
//!
//! Nothing is told unless some loop listens: [`note_waiting`] is one relaxed load of a global
//! counter and a branch, inlined into the `Pending` path of the caller. Under tokio or smol,
//! and on a tulip loop outside debug mode, the counter is zero and that is all it costs. A
//! tulip loop in debug mode installs its hook once ([`set_hook`]) and raises the counter while
//! it lives ([`listen`]); the hook then looks up the task being polled on the calling thread
//! (none on a thread of another runtime, where the note is dropped).
//!
//! # Examples
//!
//! ```
//! use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
//!
//! static SEEN: AtomicUsize = AtomicUsize::new(0);
//! fn hook(what: &'static str, _object: usize) {
//!     assert_eq!(what, "Lock");
//!     SEEN.fetch_add(1, SeqCst);
//! }
//!
//! let lock = 0u8;
//! tulip_util::waiting::note_waiting("Lock", &lock); // nobody listens: nothing happens
//! tulip_util::waiting::set_hook(hook);
//! let guard = tulip_util::waiting::listen();
//! tulip_util::waiting::note_waiting("Lock", &lock);
//! drop(guard);
//! tulip_util::waiting::note_waiting("Lock", &lock);
//! assert_eq!(SEEN.load(SeqCst), 1);
//! ```

use std::fmt;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::OnceLock;

/// What a runtime is told: what is waited for, and the address of the object waited on.
pub type WaitHook = fn(what: &'static str, object: usize);

/// The hook (the first one installed).
static HOOK: OnceLock<WaitHook> = OnceLock::new();
/// How many [`Listening`] guards are alive. A plain std atomic even under `tulip_loom`: it is
/// not part of any protocol the models check.
static LISTENERS: AtomicUsize = AtomicUsize::new(0);

/// Tells the runtime listening (if any) that the current task is about to wait for `what`
/// (a short static description: `"Lock"`, `"Semaphore"`, `"Queue.get"`, ...) on `object`.
/// Call it right before returning `Pending`.
///
/// Costs one relaxed load and a branch when nobody listens.
#[inline]
pub fn note_waiting<T: ?Sized>(what: &'static str, object: &T) {
    if LISTENERS.load(Ordering::Relaxed) != 0 {
        note_slow(what, std::ptr::from_ref(object).cast::<()>().addr());
    }
}

#[cold]
#[inline(never)]
fn note_slow(what: &'static str, object: usize) {
    if let Some(hook) = HOOK.get() {
        hook(what, object);
    }
}

/// Installs the function told about waits. Only the first call in a process installs
/// anything (a runtime installs one function for all its loops); returns whether this call
/// did. The hook is called only while some [`Listening`] guard is alive.
pub fn set_hook(hook: WaitHook) -> bool {
    HOOK.set(hook).is_ok()
}

/// Makes [`note_waiting`] call the hook until the guard is dropped (a tulip loop in debug mode
/// holds one for its life).
pub fn listen() -> Listening {
    LISTENERS.fetch_add(1, Ordering::Relaxed);
    Listening { _private: () }
}

/// Keeps [`note_waiting`] calling the hook while alive; see [`listen`].
#[must_use = "nothing is noted once the guard is dropped"]
pub struct Listening {
    _private: (),
}

impl Drop for Listening {
    fn drop(&mut self) {
        LISTENERS.fetch_sub(1, Ordering::Relaxed);
    }
}

impl fmt::Debug for Listening {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Listening")
    }
}
