//! A compile-time table of the auto traits of every public type and future.
//!
//! A future that stops being `Send` (or a guard that starts being `Sync` when it must not)
//! is a silent API break; this file stops compiling instead. `!Trait` is checked with the
//! "ambiguous if implemented" trick: the call only resolves when the trait is *not*
//! implemented.
#![allow(
    dead_code,
    clippy::type_complexity,
    reason = "a table checked by the compiler, never run, with long future types"
)]
#![cfg(not(tulip_loom))] // These use real threads and statics; see tests/loom.rs.

use std::cell::Cell;
use std::rc::Rc;
use tulip_sync::futures::*;
use tulip_sync::*;

fn require_send<T: ?Sized + Send>() {}
fn require_sync<T: ?Sized + Sync>() {}
fn require_unpin<T: ?Sized + Unpin>() {}

trait AmbiguousIfSend<A> {
    fn some_item() {}
}
impl<T: ?Sized> AmbiguousIfSend<()> for T {}
impl<T: ?Sized + Send> AmbiguousIfSend<u8> for T {}

trait AmbiguousIfSync<A> {
    fn some_item() {}
}
impl<T: ?Sized> AmbiguousIfSync<()> for T {}
impl<T: ?Sized + Sync> AmbiguousIfSync<u8> for T {}

trait AmbiguousIfUnpin<A> {
    fn some_item() {}
}
impl<T: ?Sized> AmbiguousIfUnpin<()> for T {}
impl<T: ?Sized + Unpin> AmbiguousIfUnpin<u8> for T {}

/// `check!(Type: Send !Sync Unpin)` asserts each listed property.
macro_rules! check {
    ($t:ty: $($prop:tt)*) => {
        check!(@props [$t] $($prop)*);
    };
    (@props [$t:ty]) => {};
    (@props [$t:ty] Send $($rest:tt)*) => {
        require_send::<$t>();
        check!(@props [$t] $($rest)*);
    };
    (@props [$t:ty] Sync $($rest:tt)*) => {
        require_sync::<$t>();
        check!(@props [$t] $($rest)*);
    };
    (@props [$t:ty] Unpin $($rest:tt)*) => {
        require_unpin::<$t>();
        check!(@props [$t] $($rest)*);
    };
    (@props [$t:ty] ! Send $($rest:tt)*) => {
        <$t as AmbiguousIfSend<_>>::some_item();
        check!(@props [$t] $($rest)*);
    };
    (@props [$t:ty] ! Sync $($rest:tt)*) => {
        <$t as AmbiguousIfSync<_>>::some_item();
        check!(@props [$t] $($rest)*);
    };
    (@props [$t:ty] ! Unpin $($rest:tt)*) => {
        <$t as AmbiguousIfUnpin<_>>::some_item();
        check!(@props [$t] $($rest)*);
    };
}

/// `Send` but not `Sync`.
type SendOnly = Cell<u32>;
/// Neither `Send` nor `Sync`.
type Local = Rc<u32>;
/// `Sync` but not `Send`.
type SyncOnly = std::sync::MutexGuard<'static, u32>;

type Pred = fn() -> bool;

#[test]
fn lock_types() {
    check!(Lock: Send Sync Unpin);
    check!(LockGuard<'static>: Send Sync Unpin);
    check!(LockGuardArc: Send Sync Unpin);
    check!(LockAcquire<'static>: Send Sync Unpin);
    check!(LockAcquireArc: Send Sync Unpin);
}

#[test]
fn event_types() {
    check!(Event: Send Sync Unpin);
    check!(EventWait<'static>: Send Sync Unpin);
}

#[test]
fn condition_types() {
    check!(Condition: Send Sync Unpin);
    check!(ConditionWait<'static>: Send Sync Unpin);
    check!(ConditionWaitFor<'static, Pred>: Send Sync Unpin);
    check!(ConditionWaitFor<'static, Box<dyn FnMut() -> bool>>: !Send !Sync Unpin);
    check!(ConditionWaitArc: Send Sync Unpin);
    check!(ConditionWaitForArc<Pred>: Send Sync Unpin);
    check!(ConditionWaitForArc<Box<dyn FnMut() -> bool>>: !Send !Sync Unpin);
}

#[test]
fn semaphore_types() {
    check!(Semaphore: Send Sync Unpin);
    check!(Permit<'static>: Send Sync Unpin);
    check!(PermitArc: Send Sync Unpin);
    check!(Acquire<'static>: Send Sync Unpin);
    check!(AcquireArc: Send Sync Unpin);

    check!(BoundedSemaphore: Send Sync Unpin);
    check!(BoundedPermit<'static>: Send Sync Unpin);
    check!(BoundedPermitArc: Send Sync Unpin);
    check!(BoundedAcquire<'static>: Send Sync Unpin);
    check!(BoundedAcquireArc: Send Sync Unpin);
}

#[test]
fn barrier_types() {
    check!(Barrier: Send Sync Unpin);
    check!(BarrierWait<'static>: Send Sync Unpin);
}

#[test]
fn error_types() {
    check!(TooManyReleases: Send Sync Unpin);
    check!(BrokenBarrierError: Send Sync Unpin);
    fn is_error<E: std::error::Error + Send + Sync + 'static>() {}
    is_error::<TooManyReleases>();
    is_error::<BrokenBarrierError>();
}

#[test]
fn mutex_types_follow_std_rules() {
    check!(Mutex<u32>: Send Sync Unpin);
    check!(Mutex<SendOnly>: Send Sync Unpin);
    check!(Mutex<SyncOnly>: !Send !Sync Unpin);
    check!(Mutex<Local>: !Send !Sync Unpin);
    check!(Mutex<[u8]>: Send Sync);
    check!(Mutex<std::marker::PhantomPinned>: Send Sync !Unpin);

    check!(MutexGuard<'static, u32>: Send Sync Unpin);
    check!(MutexGuard<'static, SendOnly>: Send !Sync Unpin);
    check!(MutexGuard<'static, SyncOnly>: !Send !Sync Unpin);
    check!(MutexGuard<'static, Local>: !Send !Sync Unpin);

    check!(MutexGuardArc<u32>: Send Sync Unpin);
    check!(MutexGuardArc<SendOnly>: Send !Sync Unpin);
    check!(MutexGuardArc<Local>: !Send !Sync Unpin);

    check!(MutexLock<'static, u32>: Send Sync Unpin);
    check!(MutexLock<'static, SendOnly>: Send Sync Unpin);
    check!(MutexLock<'static, Local>: !Send !Sync Unpin);
    check!(MutexLockArc<u32>: Send Sync Unpin);
    check!(MutexLockArc<Local>: !Send !Sync Unpin);
}

#[test]
fn rwlock_types_follow_std_rules() {
    check!(RwLock<u32>: Send Sync Unpin);
    check!(RwLock<SendOnly>: Send !Sync Unpin);
    check!(RwLock<Local>: !Send !Sync Unpin);
    check!(RwLock<[u8]>: Send Sync);

    check!(RwLockReadGuard<'static, u32>: Send Sync Unpin);
    check!(RwLockReadGuard<'static, SendOnly>: !Send !Sync Unpin);
    check!(RwLockReadGuardArc<u32>: Send Sync Unpin);
    check!(RwLockReadGuardArc<SendOnly>: !Send !Sync Unpin);
    check!(RwLockWriteGuard<'static, u32>: Send Sync Unpin);
    check!(RwLockWriteGuard<'static, SendOnly>: !Send !Sync Unpin);
    check!(RwLockWriteGuardArc<u32>: Send Sync Unpin);
    check!(RwLockWriteGuardArc<Local>: !Send !Sync Unpin);

    check!(Read<'static, u32>: Send Sync Unpin);
    check!(ReadArc<u32>: Send Sync Unpin);
    check!(Write<'static, u32>: Send Sync Unpin);
    check!(WriteArc<u32>: Send Sync Unpin);
    check!(Read<'static, Local>: !Send !Sync Unpin);
    check!(WriteArc<Local>: !Send !Sync Unpin);
}
