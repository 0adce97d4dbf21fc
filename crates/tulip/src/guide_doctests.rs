//! The guide for Python programmers (`docs/guide/`), compiled and run as doc tests: every
//! `rust` fence of every chapter is a test, so the guide cannot drift from the API.

/// `docs/guide/README.md`.
#[doc = include_str!("../../../docs/guide/README.md")]
pub struct Index;

/// Every chapter of the guide is included here, so that none goes uncompiled:
///
/// ```
/// let guide = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/guide");
/// let this = std::fs::read_to_string(
///     std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/guide_doctests.rs"),
/// )
/// .unwrap();
/// let mut chapters = 0;
/// for entry in std::fs::read_dir(guide).unwrap() {
///     let name = entry.unwrap().file_name().into_string().unwrap();
///     if name.ends_with(".md") {
///         let include = format!("docs/guide/{name}\")]");
///         assert!(this.contains(&include), "{name} is not included in guide_doctests.rs");
///         chapters += 1;
///     }
/// }
/// assert!(chapters >= 12, "the guide has its index and eleven chapters");
/// ```
pub struct EveryChapterIsIncluded;

/// Chapter 1: runners.
#[doc = include_str!("../../../docs/guide/01-runners.md")]
pub struct Ch01Runners;

/// Chapter 2: coroutines and tasks.
#[doc = include_str!("../../../docs/guide/02-tasks.md")]
pub struct Ch02Tasks;

/// Chapter 3.
#[doc = include_str!("../../../docs/guide/03-streams.md")]
pub struct Ch03Streams;

/// Chapter 4.
#[doc = include_str!("../../../docs/guide/04-sync.md")]
pub struct Ch04Sync;

/// Chapter 5.
#[doc = include_str!("../../../docs/guide/05-subprocesses.md")]
pub struct Ch05Subprocesses;

/// Chapter 6.
#[doc = include_str!("../../../docs/guide/06-queues.md")]
pub struct Ch06Queues;

/// Chapter 7.
#[doc = include_str!("../../../docs/guide/07-exceptions.md")]
pub struct Ch07Exceptions;

/// Chapter 8.
#[doc = include_str!("../../../docs/guide/08-event-loop.md")]
pub struct Ch08EventLoop;

/// Chapter 9.
#[doc = include_str!("../../../docs/guide/09-futures.md")]
pub struct Ch09Futures;

/// Chapter 10.
#[doc = include_str!("../../../docs/guide/10-protocols.md")]
pub struct Ch10Protocols;

/// Chapter 11.
#[doc = include_str!("../../../docs/guide/11-debug.md")]
pub struct Ch11Debug;
