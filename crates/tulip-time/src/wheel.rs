//! A hierarchical timer wheel: O(1) insert and cancel, deadline-ordered expiry.
//!
//! # Layout
//!
//! Time is measured in nanoseconds from the wheel's origin (a `u64`, so about 584 years).
//! The wheel works on *ticks* of 2^20 ns (about 1.05 ms): a deadline's tick is its nanosecond
//! value shifted right by [`TICK_SHIFT`]. There are [`LEVELS`] levels of 64 slots each:
//!
//! | level | one slot spans | the level spans |
//! |---|---|---|
//! | 0 | 1 tick (~1 ms) | ~67 ms |
//! | 1 | 64 ticks (~67 ms) | ~4.3 s |
//! | 2 | ~4.3 s | ~4.6 min |
//! | 3 | ~4.6 min | ~4.9 h |
//! | 4 | ~4.9 h | ~13 days |
//! | 5 | ~13 days | ~2.3 years |
//! | 6 | ~2.3 years | ~146 years |
//! | 7 | ~146 years | all of `u64` |
//!
//! Eight levels cover every `u64` deadline, so no deadline overflows the wheel; a timer set for
//! `Duration::MAX` simply sits in the top level.
//!
//! Entries live in a slab (`Vec` plus free list); each slot is an intrusive doubly linked list
//! threaded through slab indices, so unlinking a cancelled timer is O(1) and its slab entry is
//! reused by the next insert at once. A [`TimerKey`] carries a generation taken from a
//! wheel-wide counter that never repeats, so a stale key can never name a newer timer, and the
//! same counter orders timers that share a deadline (first inserted fires first).
//!
//! # Invariants
//!
//! * `elapsed` is a tick such that every slot whose span ends before it has been processed.
//! * An entry with tick `t >= elapsed` sits at the level of the highest 6-bit digit in which
//!   `t` and `elapsed` differ (level 0 when they agree above the lowest digit), in the slot
//!   named by `t`'s digit at that level. Hence, at level `L > 0`, every occupied slot's digit is
//!   greater than `elapsed`'s digit at `L`, and level-0 entries all come before any entry of a
//!   higher level.
//! * Level-0 slots hold entries of one tick whose exact deadlines may differ; expiry fires an
//!   entry only once `now >= deadline`, sorted by `(deadline, generation)`: never early, and in
//!   deadline order.
//! * A level-0 slot whose bit is set in `sorted0` has its list in `(deadline, generation)`
//!   order (an empty slot counts as sorted). Timers are usually inserted in deadline order (the
//!   same sleep started again and again), so most slots stay sorted; expiring one then takes
//!   only its due head, and its earliest deadline is its head's. An unsorted slot is sorted out
//!   when it is expired.
//! * `cached_next`, when set, is exactly what [`TimerWheel::next_deadline`] would compute, so
//!   an [`expire`](TimerWheel::expire) at an earlier time has nothing to do and returns at once.

use std::fmt;

/// Number of bits of a nanosecond deadline that one tick spans (2^20 ns ≈ 1.05 ms).
pub const TICK_SHIFT: u32 = 20;
/// Bits of a tick consumed by one level (64 slots).
const SLOT_BITS: u32 = 6;
/// Slots per level.
const SLOTS: usize = 1 << SLOT_BITS;
/// Number of levels; eight cover every `u64` deadline (ticks have at most 44 bits).
pub const LEVELS: usize = 8;
/// Null link.
const NIL: u32 = u32::MAX;
/// Slab capacity above which an emptied wheel gives its memory back.
const SHRINK_ABOVE: usize = 1024;

/// Names one timer in a [`TimerWheel`].
///
/// Keys are never reused: once the timer expires or is removed, its key names nothing.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct TimerKey {
    index: u32,
    generation: u64,
}

impl fmt::Debug for TimerKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TimerKey({}v{})", self.index, self.generation)
    }
}

/// One slab entry. `generation == 0` marks a vacant entry, whose `next` links the free list.
struct Entry<T> {
    /// Unique, increasing id of the timer in this entry; 0 when vacant.
    generation: u64,
    /// Exact deadline in nanoseconds from the origin.
    deadline: u64,
    /// Previous entry in the slot's list (or `NIL`).
    prev: u32,
    /// Next entry in the slot's list, or in the free list when vacant (or `NIL`).
    next: u32,
    /// Level of the slot this entry is linked into.
    level: u8,
    /// Slot index within the level.
    slot: u8,
    /// The payload; `None` when vacant or while being expired.
    value: Option<T>,
}

/// A hierarchical timer wheel holding one `T` per timer (a `Waker`, typically).
///
/// Deadlines are `u64` nanoseconds from an origin chosen by the owner. See the module docs for
/// the layout and invariants.
///
/// # Examples
///
/// ```
/// use tulip_time::wheel::TimerWheel;
///
/// let mut wheel = TimerWheel::new();
/// let a = wheel.insert(5_000_000, "a");
/// let _b = wheel.insert(2_000_000, "b");
/// assert_eq!(wheel.remove(a), Some("a"));
///
/// let mut fired = Vec::new();
/// wheel.expire(10_000_000, &mut fired);
/// assert_eq!(fired, ["b"]);
/// assert!(wheel.is_empty());
/// ```
pub struct TimerWheel<T> {
    /// The slab.
    entries: Vec<Entry<T>>,
    /// Head of the free list of vacant entries.
    free_head: u32,
    /// Number of live timers.
    len: usize,
    /// Next generation to hand out (starts at 1; 0 marks vacancy).
    next_generation: u64,
    /// The tick up to which the wheel has been processed (see the invariants).
    elapsed: u64,
    /// First entry of each slot's list.
    heads: [[u32; SLOTS]; LEVELS],
    /// Last entry of each slot's list (insertion order is kept, which usually keeps a slot
    /// sorted by deadline already).
    tails: [[u32; SLOTS]; LEVELS],
    /// One bit per non-empty slot, per level.
    occupied: [u64; LEVELS],
    /// One bit per level-0 slot whose list is in `(deadline, generation)` order.
    sorted0: u64,
    /// Cached result of [`TimerWheel::next_deadline`]; `None` when it must be recomputed.
    cached_next: Option<u64>,
    /// Scratch space for expiry: `(deadline, generation, index)` of due entries.
    scratch: Vec<(u64, u64, u32)>,
}

impl<T> Default for TimerWheel<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T> fmt::Debug for TimerWheel<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TimerWheel")
            .field("len", &self.len)
            .field("elapsed_tick", &self.elapsed)
            .finish_non_exhaustive()
    }
}

/// The level at which a timer with tick `tick` sits, given the processed tick `elapsed`.
#[inline]
fn level_for(elapsed: u64, tick: u64) -> usize {
    let masked = (elapsed ^ tick) | (SLOTS as u64 - 1);
    let highest = 63 - masked.leading_zeros();
    (highest / SLOT_BITS) as usize
}

/// The slot of `tick` at `level`.
#[inline]
fn slot_for(tick: u64, level: usize) -> usize {
    ((tick >> (level as u32 * SLOT_BITS)) & (SLOTS as u64 - 1)) as usize
}

/// The first tick of slot `slot` at `level`, within `elapsed`'s window of that level.
#[inline]
fn slot_start(elapsed: u64, level: usize, slot: usize) -> u64 {
    let shift = level as u32 * SLOT_BITS;
    let window = shift + SLOT_BITS;
    let upper = if window >= 64 {
        0
    } else {
        elapsed & !((1u64 << window) - 1)
    };
    upper | ((slot as u64) << shift)
}

impl<T> TimerWheel<T> {
    /// Creates an empty wheel whose processed time is the origin (0 ns).
    pub fn new() -> Self {
        TimerWheel {
            entries: Vec::new(),
            free_head: NIL,
            len: 0,
            next_generation: 1,
            elapsed: 0,
            heads: [[NIL; SLOTS]; LEVELS],
            tails: [[NIL; SLOTS]; LEVELS],
            occupied: [0; LEVELS],
            sorted0: u64::MAX,
            cached_next: None,
            scratch: Vec::new(),
        }
    }

    /// Number of live timers.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether no timer is live.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Number of slab entries currently allocated (live plus reusable). Memory use is
    /// proportional to this; it returns to 0 when an emptied wheel had grown large.
    pub fn capacity(&self) -> usize {
        self.entries.len()
    }

    /// Inserts a timer firing at `deadline` (ns from the origin) and returns its key.
    ///
    /// A deadline in the past fires at the next [`expire`](Self::expire).
    ///
    /// # Panics
    ///
    /// Panics if more than `u32::MAX - 1` timers are live at once.
    pub fn insert(&mut self, deadline: u64, value: T) -> TimerKey {
        let generation = self.next_generation;
        self.next_generation += 1;
        let index = if self.free_head != NIL {
            let index = self.free_head;
            let entry = &mut self.entries[index as usize];
            self.free_head = entry.next;
            entry.generation = generation;
            entry.deadline = deadline;
            entry.value = Some(value);
            index
        } else {
            let index = u32::try_from(self.entries.len())
                .ok()
                .filter(|&i| i != NIL)
                .expect("too many live timers for one wheel");
            self.entries.push(Entry {
                generation,
                deadline,
                prev: NIL,
                next: NIL,
                level: 0,
                slot: 0,
                value: Some(value),
            });
            index
        };
        self.link(index);
        self.len += 1;
        if let Some(next) = self.cached_next {
            if deadline < next {
                self.cached_next = None;
            }
        }
        TimerKey { index, generation }
    }

    /// Cancels the timer named by `key` and returns its value, or `None` if it already fired
    /// or was removed. The slab entry is free for reuse at once.
    pub fn remove(&mut self, key: TimerKey) -> Option<T> {
        if !self.contains(key) {
            return None;
        }
        let index = key.index;
        let (deadline, level, slot) = {
            let e = &self.entries[index as usize];
            (e.deadline, e.level as usize, e.slot as usize)
        };
        if let Some(next) = self.cached_next {
            let start = slot_start(self.elapsed, level, slot) << TICK_SHIFT;
            if deadline <= next || start == next {
                self.cached_next = None;
            }
        }
        self.unlink(index);
        let value = self.free(index);
        Some(value)
    }

    /// Whether `key` names a live timer.
    pub fn contains(&self, key: TimerKey) -> bool {
        self.entries
            .get(key.index as usize)
            .is_some_and(|e| e.generation == key.generation && e.value.is_some())
    }

    /// Mutable access to a live timer's value (to replace a waker, say).
    pub fn get_mut(&mut self, key: TimerKey) -> Option<&mut T> {
        let entry = self.entries.get_mut(key.index as usize)?;
        if entry.generation == key.generation {
            entry.value.as_mut()
        } else {
            None
        }
    }

    /// The deadline of a live timer.
    pub fn deadline(&self, key: TimerKey) -> Option<u64> {
        self.contains(key)
            .then(|| self.entries[key.index as usize].deadline)
    }

    /// The earliest time at which [`expire`](Self::expire) has work to do: the exact deadline
    /// of the next timer when it is within ~67 ms of processed time, otherwise the start of the
    /// slot that must be cascaded first (never later than the next deadline). `None` when empty.
    pub fn next_deadline(&mut self) -> Option<u64> {
        if self.len == 0 {
            return None;
        }
        if let Some(next) = self.cached_next {
            return Some(next);
        }
        let (level, slot, tick) = self.next_expiration()?;
        let next = if level == 0 && self.sorted0 & (1u64 << slot) != 0 {
            self.entries[self.heads[0][slot] as usize].deadline
        } else if level == 0 {
            let mut min = u64::MAX;
            let mut cur = self.heads[0][slot];
            while cur != NIL {
                let e = &self.entries[cur as usize];
                min = min.min(e.deadline);
                cur = e.next;
            }
            min
        } else {
            tick << TICK_SHIFT
        };
        self.cached_next = Some(next);
        Some(next)
    }

    /// Fires every timer whose deadline is `<= now`, pushing their values onto `out` in
    /// `(deadline, insertion)` order. Returns how many fired.
    pub fn expire(&mut self, now: u64, out: &mut Vec<T>) -> usize {
        if self.cached_next.is_some_and(|next| now < next) {
            // Nothing is due and nothing needs cascading before `next`.
            return 0;
        }
        let now_tick = now >> TICK_SHIFT;
        let before = out.len();
        while let Some((level, slot, tick)) = self.next_expiration() {
            if tick > now_tick {
                break;
            }
            self.elapsed = tick;
            self.cached_next = None;
            if level == 0 && self.sorted0 & (1u64 << slot) != 0 {
                // In deadline order: fire the due head, leave the rest where it is.
                let mut cur = self.heads[0][slot];
                while cur != NIL && self.entries[cur as usize].deadline <= now {
                    let next = self.entries[cur as usize].next;
                    out.push(self.free(cur));
                    cur = next;
                }
                // `cur` is the new head (the freed entries before it are off the list).
                self.heads[0][slot] = cur;
                if cur == NIL {
                    self.tails[0][slot] = NIL;
                    self.occupied[0] &= !(1u64 << slot);
                } else {
                    self.entries[cur as usize].prev = NIL;
                }
                if cur != NIL {
                    // The head is not due: this is `now`'s own tick.
                    break;
                }
                continue;
            }
            // Detach the slot's list, then sort its entries out.
            let mut cur = self.heads[level][slot];
            self.heads[level][slot] = NIL;
            self.tails[level][slot] = NIL;
            self.occupied[level] &= !(1u64 << slot);
            if level == 0 {
                // Empty now; relinking the entries that are not due sets the bit again if
                // they come back in order.
                self.sorted0 |= 1u64 << slot;
                let mut scratch = std::mem::take(&mut self.scratch);
                while cur != NIL {
                    let next = self.entries[cur as usize].next;
                    let (deadline, generation) = {
                        let e = &self.entries[cur as usize];
                        (e.deadline, e.generation)
                    };
                    if deadline <= now {
                        scratch.push((deadline, generation, cur));
                    } else {
                        self.link(cur);
                    }
                    cur = next;
                }
                if !scratch.is_sorted_by_key(|&(d, g, _)| (d, g)) {
                    scratch.sort_unstable_by_key(|&(d, g, _)| (d, g));
                }
                for &(_, _, index) in &scratch {
                    out.push(self.free(index));
                }
                scratch.clear();
                self.scratch = scratch;
                if tick == now_tick {
                    break;
                }
            } else {
                while cur != NIL {
                    let next = self.entries[cur as usize].next;
                    self.link(cur);
                    cur = next;
                }
            }
        }
        if now_tick > self.elapsed {
            self.elapsed = now_tick;
            self.cached_next = None;
        }
        self.maybe_shrink();
        out.len() - before
    }

    /// Removes every timer, returning their values (in no particular order).
    pub fn drain(&mut self) -> Vec<T> {
        let mut out = Vec::with_capacity(self.len);
        for entry in &mut self.entries {
            if let Some(v) = entry.value.take() {
                out.push(v);
            }
        }
        let elapsed = self.elapsed;
        let next_generation = self.next_generation;
        *self = TimerWheel::new();
        self.elapsed = elapsed;
        self.next_generation = next_generation;
        out
    }

    /// The earliest non-empty slot: `(level, slot, first tick)`.
    fn next_expiration(&self) -> Option<(usize, usize, u64)> {
        for level in 0..LEVELS {
            let occupied = self.occupied[level];
            if occupied == 0 {
                continue;
            }
            let pos = slot_for(self.elapsed, level) as u32;
            let ahead = occupied & (u64::MAX << pos);
            debug_assert_eq!(ahead, occupied, "timer wheel slot behind elapsed time");
            let slot = ahead.trailing_zeros() as usize;
            return Some((level, slot, slot_start(self.elapsed, level, slot)));
        }
        None
    }

    /// Links entry `index` (already holding its deadline) at the tail of its slot.
    #[inline(always)]
    fn link(&mut self, index: u32) {
        let deadline = self.entries[index as usize].deadline;
        let tick = (deadline >> TICK_SHIFT).max(self.elapsed);
        let level = level_for(self.elapsed, tick);
        let slot = slot_for(tick, level);
        let tail = self.tails[level][slot];
        {
            let e = &mut self.entries[index as usize];
            e.level = level as u8;
            e.slot = slot as u8;
            e.prev = tail;
            e.next = NIL;
        }
        if tail == NIL {
            self.heads[level][slot] = index;
            self.occupied[level] |= 1u64 << slot;
            if level == 0 {
                self.sorted0 |= 1u64 << slot;
            }
        } else {
            if level == 0 {
                let t = &self.entries[tail as usize];
                let e = &self.entries[index as usize];
                if (t.deadline, t.generation) > (e.deadline, e.generation) {
                    self.sorted0 &= !(1u64 << slot);
                }
            }
            self.entries[tail as usize].next = index;
        }
        self.tails[level][slot] = index;
    }

    /// Unlinks live entry `index` from its slot.
    fn unlink(&mut self, index: u32) {
        let (prev, next, level, slot) = {
            let e = &self.entries[index as usize];
            (e.prev, e.next, e.level as usize, e.slot as usize)
        };
        if prev == NIL {
            self.heads[level][slot] = next;
        } else {
            self.entries[prev as usize].next = next;
        }
        if next == NIL {
            self.tails[level][slot] = prev;
        } else {
            self.entries[next as usize].prev = prev;
        }
        if self.heads[level][slot] == NIL {
            self.occupied[level] &= !(1u64 << slot);
            if level == 0 {
                self.sorted0 |= 1u64 << slot;
            }
        }
    }

    /// Frees an unlinked entry and returns its value.
    #[inline(always)]
    fn free(&mut self, index: u32) -> T {
        let entry = &mut self.entries[index as usize];
        let value = entry.value.take().expect("freeing a vacant timer entry");
        entry.generation = 0;
        entry.prev = NIL;
        entry.next = self.free_head;
        self.free_head = index;
        self.len -= 1;
        if self.len == 0 {
            self.maybe_shrink();
        }
        value
    }

    /// Gives memory back once the wheel is empty after having grown large.
    fn maybe_shrink(&mut self) {
        if self.len == 0 && self.entries.len() > SHRINK_ABOVE {
            self.entries = Vec::new();
            self.free_head = NIL;
            self.scratch = Vec::new();
            self.heads = [[NIL; SLOTS]; LEVELS];
            self.tails = [[NIL; SLOTS]; LEVELS];
            self.occupied = [0; LEVELS];
            self.sorted0 = u64::MAX;
            self.cached_next = None;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: u64 = 1_000_000;

    #[test]
    fn level_math() {
        assert_eq!(level_for(0, 0), 0);
        assert_eq!(level_for(0, 63), 0);
        assert_eq!(level_for(0, 64), 1);
        assert_eq!(level_for(0, 4095), 1);
        assert_eq!(level_for(0, 4096), 2);
        assert_eq!(level_for(0, u64::MAX >> TICK_SHIFT), 7);
        assert_eq!(slot_for(64, 1), 1);
        assert_eq!(slot_start(70, 1, 3), 192);
        assert_eq!(slot_start(70, 7, 1), 1 << 42);
    }

    #[test]
    fn fires_in_deadline_order_never_early() {
        let mut w = TimerWheel::new();
        for (i, d) in [30u64, 10, 20, 10, 5000, 70_000].iter().enumerate() {
            w.insert(d * MS, i);
        }
        let mut out = Vec::new();
        w.expire(9 * MS, &mut out);
        assert!(out.is_empty());
        w.expire(10 * MS, &mut out);
        assert_eq!(out, [1, 3]);
        out.clear();
        w.expire(10_000 * MS, &mut out);
        assert_eq!(out, [2, 0, 4]);
        out.clear();
        assert_eq!(w.next_deadline().map(|d| d <= 70_000 * MS), Some(true));
        w.expire(69_999 * MS, &mut out);
        assert!(out.is_empty());
        w.expire(70_000 * MS, &mut out);
        assert_eq!(out, [5]);
        assert!(w.is_empty());
    }

    #[test]
    fn one_tick_in_and_out_of_order_fires_due_entries_in_deadline_order() {
        // All within tick 5 (2^20 ns each): in order first, so the slot stays sorted.
        let base = 5u64 << TICK_SHIFT;
        let mut w = TimerWheel::new();
        for (i, off) in [10u64, 20, 30, 40].iter().enumerate() {
            w.insert(base + off, i);
        }
        assert_ne!(w.sorted0 & (1 << 5), 0);
        assert_eq!(w.next_deadline(), Some(base + 10));
        let mut out = Vec::new();
        w.expire(base + 25, &mut out);
        assert_eq!(out, [0, 1]);
        // The rest stays put; an expiry before the next deadline finds nothing.
        assert_eq!(w.next_deadline(), Some(base + 30));
        out.clear();
        assert_eq!(w.expire(base + 29, &mut out), 0);
        // An earlier deadline inserted behind a later one unsorts the slot...
        w.insert(base + 15, 4);
        assert_eq!(w.sorted0 & (1 << 5), 0);
        assert_eq!(w.next_deadline(), Some(base + 15));
        w.expire(base + 35, &mut out);
        assert_eq!(out, [4, 2]);
        // ...and what is left after it is sorted out is in order again.
        assert_ne!(w.sorted0 & (1 << 5), 0);
        out.clear();
        w.expire(base + 40, &mut out);
        assert_eq!(out, [3]);
        assert!(w.is_empty());
    }

    #[test]
    fn sub_tick_deadlines_wait_for_exact_time() {
        let mut w = TimerWheel::new();
        w.insert(MS + 500, 'a');
        let mut out = Vec::new();
        w.expire(MS + 499, &mut out);
        assert!(out.is_empty());
        assert_eq!(w.next_deadline(), Some(MS + 500));
        w.expire(MS + 500, &mut out);
        assert_eq!(out, ['a']);
    }

    #[test]
    fn max_deadline_never_panics() {
        let mut w = TimerWheel::new();
        let k = w.insert(u64::MAX, ());
        let mut out = Vec::new();
        w.expire(u64::MAX - 1, &mut out);
        assert!(out.is_empty());
        assert!(w.contains(k));
        w.expire(u64::MAX, &mut out);
        assert_eq!(out.len(), 1);
    }

    #[test]
    fn stale_keys_name_nothing() {
        let mut w = TimerWheel::new();
        let a = w.insert(MS, 1);
        assert_eq!(w.remove(a), Some(1));
        let b = w.insert(MS, 2);
        assert_eq!(a.index, b.index);
        assert_eq!(w.remove(a), None);
        assert!(w.get_mut(a).is_none());
        assert_eq!(w.remove(b), Some(2));
    }

    #[test]
    fn memory_is_reused_and_returned() {
        let mut w = TimerWheel::new();
        for i in 0..100_000u64 {
            let k = w.insert(i * 7 * MS, i);
            w.remove(k);
        }
        assert_eq!(w.capacity(), 1);
        let keys: Vec<_> = (0..10_000u64).map(|i| w.insert(i * MS, i)).collect();
        assert_eq!(w.capacity(), 10_000);
        for k in keys {
            w.remove(k);
        }
        assert_eq!(w.capacity(), 0);
    }
}
