//! Compile-time table of the auto traits of every public type and future: a future that
//! stops being `Send` (or a handle that stops being `Sync`) is an API break caught here.

#![allow(dead_code, reason = "a table checked by the compiler, never run")]

use std::future::{Future, Ready};
use std::pin::Pin;

use tulip_executor::Task;
use tulip_task::*;

fn send<T: Send>() {}
fn sync<T: Sync>() {}
fn unpin<T: Unpin>() {}

/// A `Send` future that is not `Unpin`.
type SendFut = Pin<Box<dyn Future<Output = u8> + Send>>;
/// A `Send` future returning a `Result`.
type TryFut = Pin<Box<dyn Future<Output = Result<u8, String>> + Send>>;

#[test]
fn handles_and_errors() {
    send::<TaskGroup<String>>();
    sync::<TaskGroup<String>>();
    unpin::<TaskGroup<String>>();
    send::<TaskGroupHandle<String>>();
    sync::<TaskGroupHandle<String>>();
    send::<GroupTask<u8>>();
    sync::<GroupTask<u8>>();
    unpin::<GroupTask<u8>>();
    send::<GroupError<String>>();
    sync::<GroupError<String>>();
    send::<Failure<String>>();
    send::<SpawnError<SendFut>>();
    send::<SpawnErrorKind>();
    send::<CancelScope>();
    sync::<CancelScope>();
    unpin::<CancelScope>();
    send::<Cancelled>();
    sync::<Cancelled>();
    send::<ReturnWhen>();
}

#[test]
fn futures_are_send_when_their_contents_are() {
    send::<Join<String>>();
    unpin::<Join<String>>();
    send::<Gather<SendFut>>();
    unpin::<Gather<SendFut>>();
    send::<TryGather<TryFut, u8>>();
    unpin::<TryGather<TryFut, u8>>();
    send::<AsCompleted<SendFut>>();
    unpin::<AsCompleted<SendFut>>();
    send::<Indexed<SendFut>>();
    send::<Wait<Task<u8>>>();
    send::<WaitFuture<Task<u8>>>();
    unpin::<WaitFuture<Task<u8>>>();
    send::<Done<Task<u8>>>();
    unpin::<Done<Task<u8>>>();
    send::<Shield<SendFut>>();
    unpin::<Shield<SendFut>>();
    send::<CancelScoped<SendFut>>();
    send::<Timeout<SendFut>>();
    send::<MoveOn<SendFut>>();
    unpin::<Timeout<Ready<u8>>>();
}
