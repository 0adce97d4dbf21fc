//! Compile-time table of auto traits for every public type and future.
//!
//! A row is `type: traits it must have` and, where it matters, traits it must not have. The
//! item types are `Payload` (`Send + Sync`), `SendOnly` (`Send`, not `Sync`) and `Local`
//! (neither), so each row also pins down what the type requires of its items. This file only
//! has to compile; its one test is a placeholder for the test harness.

#![allow(dead_code, reason = "the table is checked by the compiler, never run")]

use std::{cell::Cell, rc::Rc};

use tulip_queue::{
    channel::{self, broadcast, oneshot, watch},
    futures::{Get, GetItem, Join, Put},
    GetError, LifoQueue, PriorityQueue, PutError, Queue, QueueItem, QueueShutDown, TooManyTaskDone,
};

type Payload = u32;
type SendOnly = Cell<u32>;
type Local = Rc<u32>;

/// Fails to compile unless `T` has every listed trait.
macro_rules! has {
    ($t:ty: $($tr:path),+) => {
        const _: fn() = || {
            fn check<T: ?Sized $(+ $tr)+>() {}
            check::<$t>();
        };
    };
}

/// Fails to compile if `T` has the trait: the call below is ambiguous exactly when the
/// second blanket impl applies too.
macro_rules! lacks {
    ($t:ty: $tr:path) => {
        const _: fn() = || {
            trait AmbiguousIfImpl<A> {
                fn check() {}
            }
            impl<T: ?Sized> AmbiguousIfImpl<()> for T {}
            struct Invalid;
            impl<T: ?Sized + $tr> AmbiguousIfImpl<Invalid> for T {}
            let _ = <$t as AmbiguousIfImpl<_>>::check;
        };
    };
}

// Queues: `Send + Sync` when the item is `Send`.
has!(Queue<Payload>: Send, Sync, Unpin, Clone);
has!(Queue<SendOnly>: Send, Sync);
lacks!(Queue<Local>: Send);
lacks!(Queue<Local>: Sync);
has!(PriorityQueue<Payload>: Send, Sync, Unpin, Clone);
has!(PriorityQueue<SendOnly>: Send, Sync);
lacks!(PriorityQueue<Local>: Send);
has!(LifoQueue<Payload>: Send, Sync, Unpin, Clone);
has!(LifoQueue<SendOnly>: Send, Sync);
lacks!(LifoQueue<Local>: Send);
has!(QueueItem<Payload>: Send, Sync, Unpin);
has!(QueueItem<SendOnly>: Send);
lacks!(QueueItem<Local>: Send);

// Queue futures: `Send` when the item is, so they can be awaited in spawned tasks.
has!(Put<'static, Payload>: Send, Sync, Unpin);
has!(Put<'static, SendOnly>: Send, Unpin);
lacks!(Put<'static, Local>: Send);
has!(Get<'static, Payload>: Send, Sync, Unpin);
has!(Get<'static, SendOnly>: Send, Sync, Unpin);
lacks!(Get<'static, Local>: Send);
has!(GetItem<'static, Payload>: Send, Sync, Unpin);
has!(GetItem<'static, SendOnly>: Send, Unpin);
has!(Join<'static>: Send, Sync, Unpin);

// Queue errors.
has!(PutError<Payload>: Send, Sync, Unpin, std::error::Error, Clone, Copy);
has!(GetError: Send, Sync, Unpin, std::error::Error, Clone, Copy);
has!(QueueShutDown: Send, Sync, Unpin, std::error::Error, Clone, Copy, Default);
has!(TooManyTaskDone: Send, Sync, Unpin, std::error::Error, Clone, Copy, Default);

// mpmc channel.
has!(channel::Sender<Payload>: Send, Sync, Unpin, Clone);
has!(channel::Sender<SendOnly>: Send, Sync);
lacks!(channel::Sender<Local>: Send);
has!(channel::Receiver<Payload>: Send, Sync, Unpin, Clone, futures_core::Stream);
has!(channel::Receiver<SendOnly>: Send, Sync);
lacks!(channel::Receiver<Local>: Send);
has!(channel::futures::Send<'static, Payload>: Send, Sync, Unpin);
has!(channel::futures::Send<'static, SendOnly>: Send, Unpin);
has!(channel::futures::Recv<'static, Payload>: Send, Sync, Unpin);
has!(channel::futures::Recv<'static, SendOnly>: Send, Sync, Unpin);
has!(channel::SendError<Payload>: Send, Sync, Unpin, std::error::Error);
has!(channel::TrySendError<Payload>: Send, Sync, Unpin, std::error::Error);
has!(channel::RecvError: Send, Sync, Unpin, std::error::Error, Copy);
has!(channel::TryRecvError: Send, Sync, Unpin, std::error::Error, Copy);

// oneshot.
has!(oneshot::Sender<Payload>: Send, Sync, Unpin);
has!(oneshot::Sender<SendOnly>: Send, Sync);
lacks!(oneshot::Sender<Local>: Send);
has!(oneshot::Receiver<Payload>: Send, Sync, Unpin, std::future::Future, futures_core::Stream);
has!(oneshot::Receiver<SendOnly>: Send, Sync);
lacks!(oneshot::Receiver<Local>: Send);
has!(oneshot::Recv<'static, Payload>: Send, Sync, Unpin);
has!(oneshot::Closed<'static, Payload>: Send, Sync, Unpin);
has!(oneshot::SendError<Payload>: Send, Sync, Unpin, std::error::Error);
has!(oneshot::RecvError: Send, Sync, Unpin, std::error::Error, Copy);
has!(oneshot::TryRecvError: Send, Sync, Unpin, std::error::Error, Copy);

// broadcast: every receiver gets a clone, so items need only be `Send` for the handles.
has!(broadcast::Sender<Payload>: Send, Sync, Unpin, Clone);
has!(broadcast::Sender<SendOnly>: Send, Sync);
lacks!(broadcast::Sender<Local>: Send);
has!(broadcast::Receiver<Payload>: Send, Sync, Unpin, Clone, futures_core::Stream);
has!(broadcast::Receiver<SendOnly>: Send, Sync);
lacks!(broadcast::Receiver<Local>: Send);
has!(broadcast::Recv<'static, Payload>: Send, Sync, Unpin);
has!(broadcast::SendError<Payload>: Send, Sync, Unpin, std::error::Error);
has!(broadcast::RecvError: Send, Sync, Unpin, std::error::Error, Copy);
has!(broadcast::TryRecvError: Send, Sync, Unpin, std::error::Error, Copy);
has!(broadcast::Lagged: Send, Sync, Unpin, std::error::Error, Copy);

// watch: receivers borrow the shared value, so handles need `Send + Sync` items (as in
// tokio); a `Ref` holds a read lock and stays on its thread.
has!(watch::Sender<Payload>: Send, Sync, Unpin);
lacks!(watch::Sender<SendOnly>: Send);
has!(watch::Receiver<Payload>: Send, Sync, Unpin, Clone, futures_core::Stream);
lacks!(watch::Receiver<SendOnly>: Send);
has!(watch::Ref<'static, Payload>: Sync, Unpin);
lacks!(watch::Ref<'static, Payload>: Send);
has!(watch::Changed<'static, Payload>: Send, Sync, Unpin);
has!(watch::WaitFor<'static, Payload, fn(&Payload) -> bool>: Send, Sync, Unpin);
has!(watch::Closed<'static, Payload>: Send, Sync, Unpin);
has!(watch::SendError<Payload>: Send, Sync, Unpin, std::error::Error);
has!(watch::RecvError: Send, Sync, Unpin, std::error::Error, Copy);

#[test]
fn the_table_compiles() {}
