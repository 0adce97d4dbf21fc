//! Process-wide bookkeeping of the signals tulip handles: which numbers are accepted, how many
//! tulip subscriptions each signal has, and the disposition to put back when the last one goes.
//!
//! Actions are registered with signal-hook's registry, which installs one C handler per signal
//! the first time the signal gets an action, chains to whatever handler was there before, and
//! runs every action in registration order. The registry never restores a disposition: after
//! its last action is unregistered the signal is caught and dropped (SIGINT would no longer
//! end the process). So this module does it:
//!
//! - when a signal's first tulip subscription arrives, the disposition found before the
//!   registry's handler went in is remembered (and the registry's handler put back if an
//!   earlier restore took it out);
//! - when the last tulip subscription goes, that disposition is restored — unless the handler in
//!   place is no longer the registry's (someone else changed it since; theirs stays) or was
//!   the registry's already before tulip came (another library's signal-hook actions need it).
//!
//! Every change happens under one mutex, outside signal handlers; handlers only read atomics.

use std::collections::BTreeMap;
use std::io;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use signal_hook::SigId;

use crate::sys::{self, Disposition};

/// Per signal number (index), how many *user* subscriptions exist: the ones that are not the
/// runner's Ctrl-C fallback. Read inside signal handlers.
static USERS: [AtomicUsize; 129] = [const { AtomicUsize::new(0) }; 129];

/// What this module knows of one signal.
#[derive(Debug, Default)]
struct SigState {
    /// Live tulip subscriptions (user ones and the fallback).
    subscribers: usize,
    /// What to put back when the last subscription goes; `None`: leave the handler in place.
    restore: Option<Disposition>,
    /// The registry's handler for this signal, as last seen installed.
    registry: Option<Disposition>,
    /// What the last restore installed, to recognise it when a subscription comes back.
    restored: Option<Disposition>,
}

static TABLE: Mutex<BTreeMap<i32, SigState>> = Mutex::new(BTreeMap::new());

/// Checks a signal number against asyncio's rules for `add_signal_handler` (and signal-hook's).
pub(crate) fn check(sig: i32) -> io::Result<()> {
    let invalid = |msg: String| io::Error::new(io::ErrorKind::InvalidInput, msg);
    let max = sys::max_signal();
    if sig < 1 || sig > max {
        return Err(invalid(format!(
            "signal number {sig} is out of range (1 to {max})"
        )));
    }
    let name = crate::signal_name(sig);
    #[cfg(unix)]
    if sig == libc::SIGKILL || sig == libc::SIGSTOP {
        return Err(invalid(format!(
            "{name} cannot be caught, blocked or ignored"
        )));
    }
    if signal_hook::consts::FORBIDDEN.contains(&sig) {
        return Err(invalid(format!(
            "{name} reports a fault of the thread that raised it; it cannot be handled on an \
             event loop"
        )));
    }
    Ok(())
}

/// A registered action; give it back to [`unsubscribe`].
#[derive(Debug)]
pub(crate) struct Registration {
    sig: i32,
    id: SigId,
    user: bool,
}

/// Registers `action` for `sig` and counts the subscription (`user`: not the runner's
/// fallback).
///
/// # Errors
///
/// `check`'s errors, or the OS refusing the handler.
///
/// # Safety
///
/// `action` runs inside a signal handler, on whatever thread the signal interrupted: it must
/// be async-signal-safe (no allocation, no lock, only atomics and async-signal-safe system
/// calls), as `signal_hook::low_level::register` requires.
pub(crate) unsafe fn subscribe(
    sig: i32,
    user: bool,
    action: impl Fn() + Send + Sync + 'static,
) -> io::Result<Registration> {
    // SAFETY: passed on from our caller.
    let reg = unsafe { subscribe_inner(sig, user, false, action) }?;
    Ok(reg.expect("an unconditional subscription is always made"))
}

/// [`subscribe`], but only if `sig` has no tulip subscription and its disposition is the
/// default one (`Ok(None)` otherwise), checked under the lock that subscriptions take.
///
/// # Errors
///
/// As [`subscribe`].
///
/// # Safety
///
/// As [`subscribe`].
pub(crate) unsafe fn subscribe_if_default(
    sig: i32,
    user: bool,
    action: impl Fn() + Send + Sync + 'static,
) -> io::Result<Option<Registration>> {
    // SAFETY: passed on from our caller.
    unsafe { subscribe_inner(sig, user, true, action) }
}

/// The body of both subscribes.
///
/// # Safety
///
/// As [`subscribe`].
unsafe fn subscribe_inner(
    sig: i32,
    user: bool,
    only_if_default: bool,
    action: impl Fn() + Send + Sync + 'static,
) -> io::Result<Option<Registration>> {
    check(sig)?;
    let mut table = tulip_util::lock(&TABLE);
    let st = table.entry(sig).or_default();
    let before = if st.subscribers == 0 {
        Some(sys::get(sig)?)
    } else {
        None
    };
    if only_if_default && !before.is_some_and(|d| d.is_default()) {
        return Ok(None);
    }
    // SAFETY: the caller promises that `action` is async-signal-safe; `check` refused the
    // signals the registry forbids (it would panic on them).
    let id = unsafe { signal_hook::low_level::register(sig, action) }?;
    if let Some(before) = before {
        if let Err(e) = first_subscription(sig, st, before) {
            signal_hook::low_level::unregister(id);
            return Err(e);
        }
    }
    st.subscribers += 1;
    if user {
        USERS[sig as usize].fetch_add(1, Ordering::SeqCst);
    }
    Ok(Some(Registration { sig, id, user }))
}

/// After registering the first tulip action of `sig`: make sure the registry's handler is the
/// one installed, and remember what to restore later.
fn first_subscription(sig: i32, st: &mut SigState, before: Disposition) -> io::Result<()> {
    let now = sys::get(sig)?;
    if now.handler() != before.handler() {
        // The registry installed its handler just now.
        st.registry = Some(now);
        st.restore = Some(before);
    } else if let Some(registry) = st.registry.filter(|r| r.handler() != before.handler()) {
        // An earlier restore (ours, or someone else's change since) took the registry's
        // handler out; the registry believes it is still there, so put it back.
        sys::set(sig, &registry)?;
        st.restore = Some(before);
    } else {
        // The registry's handler was there already (another library uses signal-hook for this
        // signal): leave it there when we go.
        st.restore = None;
    }
    st.restored = None;
    Ok(())
}

/// Unregisters an action; the last subscription of a signal restores its disposition.
pub(crate) fn unsubscribe(reg: Registration) {
    // The registry waits for handlers running the action on other threads before it returns,
    // so whatever the action owns may be dropped after this.
    signal_hook::low_level::unregister(reg.id);
    if reg.user {
        USERS[reg.sig as usize].fetch_sub(1, Ordering::SeqCst);
    }
    let mut table = tulip_util::lock(&TABLE);
    let Some(st) = table.get_mut(&reg.sig) else {
        return;
    };
    st.subscribers -= 1;
    if st.subscribers > 0 {
        return;
    }
    let Some(restore) = st.restore.take() else {
        return;
    };
    let Ok(current) = sys::get(reg.sig) else {
        return;
    };
    if st.registry.map(|r| r.handler()) == Some(current.handler())
        && sys::set(reg.sig, &restore).is_ok()
    {
        st.registry = Some(current);
        st.restored = Some(restore);
    }
}

/// How many user (non-fallback) tulip subscriptions `sig` has. Async-signal-safe.
pub(crate) fn users(sig: i32) -> usize {
    USERS
        .get(sig as usize)
        .map_or(0, |n| n.load(Ordering::SeqCst))
}
