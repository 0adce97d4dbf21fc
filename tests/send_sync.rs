//! Compile-time table of auto traits for every public type and future.

#![allow(dead_code, reason = "a table checked by the compiler, never run")]

use std::time::Duration;

fn send<T: Send>() {}
fn sync<T: Sync>() {}
fn unpin<T: Unpin>() {}
fn send_val<T: Send>(_: &T) {}

#[test]
fn auto_traits() {
    // Tasks.
    send::<tulip::Task<u32>>();
    sync::<tulip::Task<u32>>();
    unpin::<tulip::Task<u32>>();
    send::<tulip::JoinError>();
    sync::<tulip::JoinError>();
    send::<tulip::task::TaskId>();
    send::<tulip::task::Builder>();
    send::<tulip::task::YieldNow>();
    unpin::<tulip::task::YieldNow>();
    // Loop handles.
    send::<tulip::LoopHandle>();
    sync::<tulip::LoopHandle>();
    send::<tulip::rt::CallHandle>();
    sync::<tulip::rt::CallHandle>();
    send::<tulip::rt::TimerHandle>();
    // Time.
    send::<tulip::time::Sleep>();
    sync::<tulip::time::Sleep>();
    unpin::<tulip::time::Sleep>();
    send::<tulip::time::Timeout<tulip::time::Sleep>>();
    send::<tulip::time::Interval>();
    unpin::<tulip::time::Interval>();
    send::<tulip::time::Instant>();
    send::<tulip::time::Elapsed>();
    sync::<tulip::time::Elapsed>();
    send::<tulip::time::Clock>();
    sync::<tulip::time::Clock>();
    // I/O.
    send::<tulip::io::Async<std::os::unix::net::UnixStream>>();
    sync::<tulip::io::Async<std::os::unix::net::UnixStream>>();
    // Futures returned by functions.
    send_val(&tulip::sleep(Duration::ZERO));
    send_val(&tulip::timeout(Duration::ZERO, async {}));
    send_val(&tulip::yield_now());
    send_val(&tulip::time::advance(Duration::ZERO));
}

/// The Runner is tied to its thread.
#[test]
fn runner_is_not_send() {
    // A negative check by construction: Runner holds an Rc-based executor. This compiles only
    // because we do not require Send here; `static_assertions`-style negative checks would need
    // a dependency.
    let r = tulip::Runner::new();
    drop(r);
}
