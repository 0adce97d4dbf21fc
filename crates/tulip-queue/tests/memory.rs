//! A bound is a limit, not an allocation (issue 21): what creating a queue or channel with a
//! huge bound costs, that any bound up to `usize::MAX` works, and that a burst's memory is
//! given back once it drains.
//!
//! Memory is measured two ways: the heap bytes live (a counting global allocator, exact, and
//! what the queue itself holds) and the process's resident set (`VmRSS` in /proc/self/status,
//! what the issue measured; the allocator may keep freed pages, so it is checked generously).
//! Both are process-wide, so this file is its own test binary without libtest's harness: the
//! checks run one after another on the main thread, and nothing else allocates meanwhile.

use std::{
    alloc::{GlobalAlloc, Layout, System},
    any::Any,
    hint::black_box,
    sync::atomic::{AtomicUsize, Ordering},
};

use tulip_queue::{channel, LifoQueue, PriorityQueue, Queue};

/// The system allocator, counting the bytes currently allocated.
struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);

// SAFETY: every call is forwarded to `System` with the caller's arguments, so `System`'s
// guarantees are ours; the counter only adds and subtracts the sizes.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller upholds `alloc`'s contract, which we pass on unchanged.
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            LIVE.fetch_add(layout.size(), Ordering::Relaxed);
        }
        p
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: as for `alloc`.
        let p = unsafe { System.alloc_zeroed(layout) };
        if !p.is_null() {
            LIVE.fetch_add(layout.size(), Ordering::Relaxed);
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` was allocated by `alloc`/`realloc` above with `layout`, i.e. by
        // `System`.
        unsafe { System.dealloc(ptr, layout) };
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: as for `dealloc`; `new_size` is the caller's, checked by its contract.
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            LIVE.fetch_add(new_size, Ordering::Relaxed);
            LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
        }
        p
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

const KIB: usize = 1024;
const MIB: usize = 1024 * KIB;

/// Heap bytes live right now.
fn heap() -> usize {
    LIVE.load(Ordering::Relaxed)
}

/// The resident set in bytes; `None` where /proc is missing, and under ThreadSanitizer,
/// whose shadow memory makes the resident set meaningless here.
fn rss() -> Option<usize> {
    if cfg!(tulip_tsan) {
        return None;
    }
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kib: usize = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * KIB)
}

/// What making `f`'s value took: (heap bytes, resident bytes). The value is kept in `keep`,
/// so that the next one measured cannot reuse its memory.
fn cost_of<T: 'static>(
    keep: &mut Vec<Box<dyn Any>>,
    f: impl FnOnce() -> T,
) -> (usize, Option<usize>) {
    let (heap0, rss0) = (heap(), rss());
    let value = black_box(f());
    let (heap1, rss1) = (heap(), rss());
    keep.push(Box::new(value));
    (
        heap1.saturating_sub(heap0),
        rss0.zip(rss1).map(|(a, b)| b.saturating_sub(a)),
    )
}

/// Asks glibc to return the free memory of its heap to the system; `false` elsewhere.
fn trim() -> bool {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        extern "C" {
            fn malloc_trim(pad: usize) -> std::ffi::c_int;
        }
        // SAFETY: glibc's `malloc_trim` only releases memory that is free; any `pad` is valid.
        unsafe { malloc_trim(0) };
        true
    }
    #[cfg(not(all(target_os = "linux", target_env = "gnu")))]
    false
}

fn show(bytes: Option<usize>) -> String {
    bytes.map_or_else(|| "n/a".to_owned(), |b| format!("{} KiB", b / KIB))
}

/// Creating with a huge bound takes a ring of at most 32 KiB, not the bound.
fn creating_with_a_huge_bound_takes_no_memory_for_it() {
    let mut bounds = vec![("2^24", 1usize << 24), ("usize::MAX", usize::MAX)];
    if usize::BITS >= 64 {
        bounds.insert(1, ("2^40", 1 << (40 % usize::BITS)));
    }
    let keep = &mut Vec::new();
    for (label, bound) in bounds {
        let rows: [(&str, (usize, Option<usize>)); 5] = [
            ("Queue<u64>", cost_of(keep, || Queue::<u64>::new(bound))),
            (
                "PriorityQueue<u64>",
                cost_of(keep, || PriorityQueue::<u64>::new(bound)),
            ),
            (
                "LifoQueue<u64>",
                cost_of(keep, || LifoQueue::<u64>::new(bound)),
            ),
            (
                "channel::bounded<u64>",
                cost_of(keep, || channel::bounded::<u64>(bound)),
            ),
            (
                "channel::broadcast<u64>",
                cost_of(keep, || channel::broadcast::<u64>(bound)),
            ),
        ];
        for (what, (heap, rss)) in rows {
            println!(
                "  {what}({label}): heap +{} KiB, RSS +{}",
                heap / KIB,
                show(rss)
            );
            assert!(heap < 64 * KIB, "{what}({bound}) took {heap} heap bytes");
            if let Some(rss) = rss {
                assert!(rss < MIB, "{what}({bound}) took {rss} resident bytes");
            }
        }
    }
}

/// `usize::MAX` is a bound like any other: items go in and out, the queue is never full.
fn any_bound_up_to_usize_max_works() {
    let q = Queue::<u8>::new(usize::MAX);
    for n in 0..=255 {
        q.put_nowait(n).unwrap();
    }
    assert_eq!((q.qsize(), q.maxsize(), q.full()), (256, usize::MAX, false));
    for n in 0..=255 {
        assert_eq!(q.get_nowait(), Ok(n));
    }
    let (tx, rx) = channel::bounded::<u8>(usize::MAX);
    tx.send_blocking(7).unwrap();
    assert_eq!((tx.capacity(), tx.is_full()), (Some(usize::MAX), false));
    assert_eq!(rx.recv_blocking(), Ok(7));
    let lifo = LifoQueue::<u8>::new(usize::MAX);
    lifo.put_nowait(1).unwrap();
    assert_eq!(lifo.get_nowait(), Ok(1));
}

/// A million items in, then out: the memory they took is given back.
fn a_burst_is_given_back_once_it_drains() {
    const BURST: u64 = 1_000_000;

    /// Puts a burst through `put`, takes it out with `get`; checks the heap and the resident
    /// set at the peak and after the drain, against the queue's size when created.
    fn check(
        what: &str,
        put: impl Fn(u64),
        get: impl Fn() -> u64,
        created: (usize, Option<usize>),
    ) {
        for n in 0..BURST {
            put(n);
        }
        let (heap_peak, rss_peak) = (heap(), rss());
        for n in 0..BURST {
            let got = get();
            if what.starts_with("Queue") || what.starts_with("channel") {
                assert_eq!(got, n, "{what}: out of order");
            }
        }
        let (heap_end, rss_end) = (heap(), rss());
        let rss_trimmed = trim().then(rss).flatten();
        println!(
            "  {what}: heap {} KiB at creation, {} KiB with {BURST} items, {} KiB drained; \
             RSS {} / {} / {} (after malloc_trim: {})",
            created.0 / KIB,
            heap_peak / KIB,
            heap_end / KIB,
            show(created.1),
            show(rss_peak),
            show(rss_end),
            show(rss_trimmed),
        );
        assert!(
            heap_peak >= created.0 + BURST as usize * 8,
            "{what}: the burst is not on the heap?"
        );
        assert!(
            heap_end < created.0 + 64 * KIB,
            "{what}: {} bytes still held after the drain",
            heap_end - created.0
        );
        if let (Some(start), Some(peak), Some(end)) = (created.1, rss_peak, rss_end) {
            // The allocator keeps some freed pages (glibc returns only the top of its heap
            // by itself); at least a quarter of the growth must go back at once...
            let grown = peak.saturating_sub(start);
            assert!(
                end.saturating_sub(start) < grown * 3 / 4 + MIB,
                "{what}: RSS {start} -> {peak} -> {end} after the drain"
            );
            // ... and all of it once the allocator is asked to let go of what is free.
            if let Some(trimmed) = rss_trimmed {
                assert!(
                    trimmed.saturating_sub(start) < MIB,
                    "{what}: RSS {start} -> {peak} -> {trimmed} after malloc_trim"
                );
            }
        }
    }

    let q = Queue::<u64>::new(1 << 24);
    check(
        "Queue(2^24)",
        |n| q.put_nowait(n).unwrap(),
        || q.get_nowait().unwrap(),
        (heap(), rss()),
    );
    drop(q);

    let (tx, rx) = channel::bounded::<u64>(1 << 24);
    check(
        "channel::bounded(2^24)",
        |n| tx.try_send(n).unwrap(),
        || rx.try_recv().unwrap(),
        (heap(), rss()),
    );
    drop((tx, rx));

    let q = LifoQueue::<u64>::new(1 << 24);
    check(
        "LifoQueue(2^24)",
        |n| q.put_nowait(n).unwrap(),
        || q.get_nowait().unwrap(),
        (heap(), rss()),
    );
    drop(q);

    let q = PriorityQueue::<u64>::new(1 << 24);
    check(
        "PriorityQueue(2^24)",
        |n| q.put_nowait(n).unwrap(),
        || q.get_nowait().unwrap(),
        (heap(), rss()),
    );
    drop(q);
}

fn main() {
    // Not under Miri (cargo xtask miri --all): a million-item burst, /proc and malloc_trim.
    if cfg!(miri) {
        return;
    }
    let checks: [(&str, fn()); 3] = [
        (
            "creating_with_a_huge_bound_takes_no_memory_for_it",
            creating_with_a_huge_bound_takes_no_memory_for_it,
        ),
        (
            "any_bound_up_to_usize_max_works",
            any_bound_up_to_usize_max_works,
        ),
        (
            "a_burst_is_given_back_once_it_drains",
            a_burst_is_given_back_once_it_drains,
        ),
    ];
    // `cargo test -- NAME` runs the checks whose name contains NAME; flags are ignored.
    let filters: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect();
    for (name, check) in checks {
        if filters.is_empty() || filters.iter().any(|f| name.contains(f.as_str())) {
            println!("test {name} ...");
            check();
            println!("test {name} ... ok");
        }
    }
}
