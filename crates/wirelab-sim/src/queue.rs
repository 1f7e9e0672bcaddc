//! The event queue: a 4-ary min-heap ordered by (time, sequence number).
//!
//! The sequence number is unique per scheduled event, so the order is
//! total: two events never compare equal, and events at the same time run
//! in the order they were scheduled. That makes every run deterministic.
//!
//! Why 4-ary: a pop sifts down half as many levels as in a binary heap,
//! and the four children of a node sit next to each other in memory; on
//! the engine's workloads (most events are scheduled a short, fixed delay
//! ahead) it does fewer instructions than `std`'s binary heap (see
//! docs/benchmarks.md).

use crate::time::SimTime;

const ARITY: usize = 4;

#[derive(Clone, Copy)]
struct Entry<E> {
    /// Time in the high 64 bits, sequence number in the low 64 bits: one
    /// integer comparison orders two entries.
    key: u128,
    event: E,
}

fn time_of(key: u128) -> SimTime {
    SimTime((key >> 64) as u64)
}

pub struct EventQueue<E> {
    heap: Vec<Entry<E>>,
    next_seq: u64,
}

impl<E> Default for EventQueue<E> {
    fn default() -> Self {
        EventQueue {
            heap: Vec::new(),
            next_seq: 0,
        }
    }
}

impl<E: Copy> EventQueue<E> {
    pub fn push(&mut self, time: SimTime, event: E) {
        let seq = self.next_seq;
        self.next_seq += 1;
        let entry = Entry {
            key: (u128::from(time.0) << 64) | u128::from(seq),
            event,
        };
        // Sift up with a hole: parents that are later move down into it.
        self.heap.push(entry);
        let mut i = self.heap.len() - 1;
        while i > 0 {
            let parent = (i - 1) / ARITY;
            if self.heap[parent].key <= entry.key {
                break;
            }
            self.heap[i] = self.heap[parent];
            i = parent;
        }
        self.heap[i] = entry;
    }

    pub fn pop(&mut self) -> Option<(SimTime, E)> {
        let top = *self.heap.first()?;
        let last = self.heap.pop().expect("not empty");
        let len = self.heap.len();
        if len > 0 {
            // Sift the last entry down from the root with a hole: the
            // earliest child moves up while it is earlier than it.
            let mut i = 0;
            loop {
                let first = i * ARITY + 1;
                if first >= len {
                    break;
                }
                let end = (first + ARITY).min(len);
                let mut best = first;
                for c in first + 1..end {
                    if self.heap[c].key < self.heap[best].key {
                        best = c;
                    }
                }
                if self.heap[best].key >= last.key {
                    break;
                }
                self.heap[i] = self.heap[best];
                i = best;
            }
            self.heap[i] = last;
        }
        Some((time_of(top.key), top.event))
    }

    pub fn peek_time(&self) -> Option<SimTime> {
        self.heap.first().map(|e| time_of(e.key))
    }

    pub fn len(&self) -> usize {
        self.heap.len()
    }

    pub fn is_empty(&self) -> bool {
        self.heap.is_empty()
    }

    pub fn clear(&mut self) {
        self.heap.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn earliest_first_and_fifo_among_equals() {
        let mut q = EventQueue::default();
        q.push(SimTime(5), "c");
        q.push(SimTime(1), "a");
        q.push(SimTime(5), "d");
        q.push(SimTime(1), "b");
        let order: Vec<_> = std::iter::from_fn(|| q.pop()).map(|(_, e)| e).collect();
        assert_eq!(order, ["a", "b", "c", "d"]);
    }

    proptest::proptest! {
        #[test]
        fn pops_in_time_then_insertion_order(times in proptest::collection::vec(0u64..50, 0..300)) {
            let mut q = EventQueue::default();
            for (i, t) in times.iter().enumerate() {
                q.push(SimTime(*t), i);
            }
            let mut want: Vec<(u64, usize)> = times.iter().copied().zip(0..).collect();
            want.sort();
            let got: Vec<(u64, usize)> = std::iter::from_fn(|| q.pop()).map(|(t, i)| (t.0, i)).collect();
            proptest::prop_assert_eq!(got, want);
        }
    }

    proptest::proptest! {
        #[test]
        fn agrees_with_a_sorted_list_under_mixed_pushes_and_pops(
            ops in proptest::collection::vec(proptest::option::of(0u64..30), 0..400)
        ) {
            let mut q = EventQueue::default();
            let mut reference: Vec<(u64, usize)> = Vec::new();
            for (i, op) in ops.iter().enumerate() {
                match op {
                    Some(t) => {
                        q.push(SimTime(*t), i);
                        reference.push((*t, i));
                    }
                    None => {
                        reference.sort();
                        let want = (!reference.is_empty()).then(|| reference.remove(0));
                        proptest::prop_assert_eq!(q.pop().map(|(t, e)| (t.0, e)), want);
                    }
                }
                proptest::prop_assert_eq!(q.len(), reference.len());
            }
        }
    }
}
