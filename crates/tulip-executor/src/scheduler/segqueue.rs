//! A FIFO made of fixed-size segments: the single-threaded loop's run queue.
//!
//! A `VecDeque` grows by copying into a buffer twice the size (for that moment both are live)
//! and never shrinks, so one burst of a million spawns would leave the loop holding tens of
//! megabytes for good. This queue adds a segment when the last one is full and gives a segment
//! back as soon as it is drained (keeping one spare for the next burst), so its memory follows
//! what is queued, and no item is ever moved after it is pushed.
//!
//! Invariant: `head` is the oldest segment; `rest` holds the later ones, each non-empty; no
//! segment holds more than [`SEGMENT`] items. While everything fits in `head` (the common
//! case), a push and a pop cost what they cost on a plain `VecDeque`.

use std::collections::VecDeque;

/// Items per segment: 24 KiB of 24-byte items, the size of a registry chunk, so a segment
/// given back after a burst of spawns is the very block the registry takes next as those tasks
/// start waiting.
pub(crate) const SEGMENT: usize = 1024;

/// A FIFO queue of segments (see the module docs).
pub(crate) struct SegQueue<T> {
    /// The segment items are popped from.
    head: VecDeque<T>,
    /// Later segments, oldest first; items are pushed into the last one.
    rest: VecDeque<VecDeque<T>>,
    /// One empty segment kept for reuse.
    spare: Option<VecDeque<T>>,
}

impl<T> SegQueue<T> {
    /// An empty queue (allocates nothing until the first push).
    pub(crate) const fn new() -> SegQueue<T> {
        SegQueue {
            head: VecDeque::new(),
            rest: VecDeque::new(),
            spare: None,
        }
    }

    /// Number of queued items.
    pub(crate) fn len(&self) -> usize {
        self.head.len() + self.rest.iter().map(VecDeque::len).sum::<usize>()
    }

    /// Appends `item`.
    #[inline]
    pub(crate) fn push_back(&mut self, item: T) {
        let last = match self.rest.back_mut() {
            None => &mut self.head,
            Some(last) => last,
        };
        if last.len() < SEGMENT {
            last.push_back(item);
        } else {
            self.push_new_segment(item);
        }
    }

    #[cold]
    fn push_new_segment(&mut self, item: T) {
        let mut segment = self
            .spare
            .take()
            .unwrap_or_else(|| VecDeque::with_capacity(SEGMENT));
        segment.push_back(item);
        self.rest.push_back(segment);
    }

    /// Removes the oldest item.
    #[inline]
    pub(crate) fn pop_front(&mut self) -> Option<T> {
        match self.head.pop_front() {
            Some(item) => Some(item),
            None => self.next_segment(),
        }
    }

    /// Removes the item `take` chooses from the oldest segment (a seeded pop: it picks among
    /// the front items, see `seeded.rs`); `take` sees a non-empty segment.
    pub(crate) fn pop_from_head(
        &mut self,
        take: impl FnOnce(&mut VecDeque<T>) -> Option<T>,
    ) -> Option<T> {
        if self.head.is_empty() {
            // Move on to the next segment and put its first item back.
            let first = self.next_segment()?;
            self.head.push_front(first);
        }
        take(&mut self.head)
    }

    /// `head` is empty: moves on to the next segment, if any.
    #[cold]
    fn next_segment(&mut self) -> Option<T> {
        let next = self.rest.pop_front()?;
        let drained = std::mem::replace(&mut self.head, next);
        if self.spare.is_none() && drained.capacity() == SEGMENT {
            self.spare = Some(drained);
        }
        // After a burst, give the outer ring's memory back too.
        if self.rest.capacity() > 64 && self.rest.len() < self.rest.capacity() / 4 {
            self.rest.shrink_to(self.rest.len() * 2);
        }
        self.head.pop_front()
    }

    /// Segments held (queued and spare), for tests.
    #[cfg(test)]
    fn segment_count(&self) -> usize {
        1 + self.rest.len() + usize::from(self.spare.is_some())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[derive(Debug, Clone)]
    enum Op {
        Push(u32),
        Pop,
        PushMany(u16),
        PopMany(u16),
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            any::<u32>().prop_map(Op::Push),
            Just(Op::Pop),
            (0..2000u16).prop_map(Op::PushMany),
            (0..2000u16).prop_map(Op::PopMany),
        ]
    }

    proptest! {
        /// The queue behaves exactly like a `VecDeque` and keeps its invariant.
        #[test]
        // Safe code, and proptest needs the file system (isolated under Miri).
        #[cfg_attr(miri, ignore)]
        fn behaves_like_a_vecdeque(ops in proptest::collection::vec(op(), 0..64)) {
            let mut q = SegQueue::new();
            let mut model = VecDeque::new();
            let mut next = 0u32;
            for op in ops {
                match op {
                    Op::Push(v) => {
                        q.push_back(v);
                        model.push_back(v);
                    }
                    Op::Pop => prop_assert_eq!(q.pop_front(), model.pop_front()),
                    Op::PushMany(n) => {
                        for _ in 0..n {
                            next = next.wrapping_add(1);
                            q.push_back(next);
                            model.push_back(next);
                        }
                    }
                    Op::PopMany(n) => {
                        for _ in 0..n {
                            prop_assert_eq!(q.pop_front(), model.pop_front());
                        }
                    }
                }
                prop_assert_eq!(q.len(), model.len());
                prop_assert!(q.head.len() <= SEGMENT);
                for s in &q.rest {
                    prop_assert!(!s.is_empty() && s.len() <= SEGMENT);
                }
            }
        }
    }

    #[test]
    #[cfg_attr(miri, ignore = "safe code; slow under Miri")]
    fn a_drained_burst_gives_its_segments_back() {
        let mut q = SegQueue::new();
        for i in 0..100 * SEGMENT {
            q.push_back(i);
        }
        assert_eq!(q.segment_count(), 100);
        assert_eq!(q.len(), 100 * SEGMENT);
        for i in 0..100 * SEGMENT {
            assert_eq!(q.pop_front(), Some(i));
        }
        assert_eq!(q.pop_front(), None);
        // The last (now empty) segment plus one spare at most.
        assert!(
            q.segment_count() <= 2,
            "{} segments kept",
            q.segment_count()
        );
        assert!(
            q.rest.capacity() <= 64,
            "outer ring kept {}",
            q.rest.capacity()
        );
    }

    #[test]
    fn dropping_a_queue_drops_every_item_once() {
        use std::rc::Rc;
        let marker = Rc::new(());
        let mut q = SegQueue::new();
        for _ in 0..3 * SEGMENT + 7 {
            q.push_back(marker.clone());
        }
        for _ in 0..SEGMENT + 3 {
            drop(q.pop_front());
        }
        assert_eq!(Rc::strong_count(&marker), 1 + 2 * SEGMENT + 4);
        drop(q);
        assert_eq!(Rc::strong_count(&marker), 1);
    }
}
