//! The few helpers every tulip crate needs, written once.
//!
//! - [`lock`], [`read`], [`write()`]: take a `std` lock, ignoring poisoning.
//! - [`block_on`]: drive a future to completion on a plain thread, parking it while it waits
//!   (the `*_blocking` methods, `Task::wait_blocking`).
//! - [`sync`]: the synchronization tools of code that loom models check — `std`'s in a normal
//!   build, loom's under `RUSTFLAGS="--cfg tulip_loom"` — with the same helpers for them.
//! - [`waiting`]: how crates that know no runtime (tulip-sync, tulip-queue) tell a tulip loop
//!   in debug mode what a task waits on, at the cost of one relaxed load when nobody listens.
//!
//! # Poisoning
//!
//! A `std` lock is poisoned when a thread panics while holding it. tulip's locks guard short
//! critical sections that leave their data consistent before anything can panic (no user
//! code runs under them, or the state is updated before user code runs), so a poisoned lock
//! carries no information: [`lock`] takes the guard anyway instead of spreading the panic to
//! every later user of the lock.
//!
//! # Layering
//!
//! This crate sits at layer 0: `std` only (loom only under `cfg(tulip_loom)`), no `unsafe`,
//! no thread, no runtime. Every tulip crate may depend on it, including the runtime-agnostic
//! `tulip-sync` and `tulip-queue`.
//!
//! # Examples
//!
//! ```
//! use std::sync::Mutex;
//!
//! let m = Mutex::new(1);
//! *tulip_util::lock(&m) += 1;
//! assert_eq!(tulip_util::block_on(async { *tulip_util::lock(&m) }), 2);
//! ```

#![forbid(unsafe_code)]
#![doc(test(attr(deny(warnings))))]

mod block_on;
mod lock;
pub mod sync;
pub mod waiting;

pub use block_on::block_on;
pub use lock::{lock, read, write};
