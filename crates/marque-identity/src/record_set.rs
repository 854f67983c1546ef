//! A set of record fingerprints probed a batch at a time, so that the memory misses of one
//! batch's lookups overlap instead of following one another.
//!
//! An incremental run tests every raw row (19.5M at 1M persons) against the records of the
//! customers it re-resolves (3.3M). In the map of previous ids each test waited on two cache
//! misses (control bytes, then the bucket) inside the row's other work, so the core sat idle
//! for most of it: a quarter of the load's CPU. A blocked Bloom filter in front of the map
//! (4 MB, one line a probe) did not help measurably: its misses still came one at a time.
//! Here the fingerprints of a batch are hashed first, then probed in a tight loop that asks
//! for the slot of a probe a few places ahead before it reads the current one.

/// Probes issued ahead of the one being read: enough to cover a miss to memory (~100 ns) at a
/// few nanoseconds a probe.
const AHEAD: usize = 16;

/// Open addressing with linear probing over 128-bit fingerprints, at most half full, so a
/// probe for an absent record reads about two slots (one cache line, mostly).
#[derive(Debug, Clone)]
pub(crate) struct RecordSet {
    /// Fingerprints in their slots; [`EMPTY`] marks a free slot.
    slots: Vec<u128>,
    mask: usize,
    /// Whether the set holds the fingerprint that equals [`EMPTY`].
    holds_empty: bool,
}

const EMPTY: u128 = 0;

impl RecordSet {
    /// The set of `fingerprints`, sized for as many as the iterator says it has.
    pub(crate) fn of(fingerprints: impl ExactSizeIterator<Item = u128>) -> Self {
        let capacity = (fingerprints.len().max(4) * 2).next_power_of_two();
        let mut set = RecordSet {
            slots: vec![EMPTY; capacity],
            mask: capacity - 1,
            holds_empty: false,
        };
        for f in fingerprints {
            set.insert(f);
        }
        set
    }

    fn insert(&mut self, f: u128) {
        if f == EMPTY {
            self.holds_empty = true;
            return;
        }
        let mut i = self.home(f);
        loop {
            match self.slots[i] {
                EMPTY => {
                    self.slots[i] = f;
                    return;
                }
                held if held == f => return,
                _ => i = (i + 1) & self.mask,
            }
        }
    }

    /// The slot a fingerprint's probe starts at: its low bits (fingerprints are uniform).
    fn home(&self, f: u128) -> usize {
        (f as u64 as usize) & self.mask
    }

    pub(crate) fn contains(&self, f: u128) -> bool {
        if f == EMPTY {
            return self.holds_empty;
        }
        let mut i = self.home(f);
        loop {
            match self.slots[i] {
                EMPTY => return false,
                held if held == f => return true,
                _ => i = (i + 1) & self.mask,
            }
        }
    }

    /// Whether each of `fingerprints` is held (`None` is not).
    pub(crate) fn contains_each(&self, fingerprints: &[Option<u128>]) -> Vec<bool> {
        let mut out = Vec::with_capacity(fingerprints.len());
        for (i, f) in fingerprints.iter().enumerate() {
            if let Some(Some(ahead)) = fingerprints.get(i + AHEAD) {
                self.prefetch(*ahead);
            }
            out.push(f.is_some_and(|f| self.contains(f)));
        }
        out
    }

    /// Asks the cache for the first slot of `f`'s probe.
    fn prefetch(&self, f: u128) {
        let slot: *const u128 = &self.slots[self.home(f)];
        #[cfg(target_arch = "x86_64")]
        // SAFETY: a prefetch is a hint that never faults; the address is a live slot anyway.
        unsafe {
            use std::arch::x86_64::{_MM_HINT_T0, _mm_prefetch};
            _mm_prefetch::<_MM_HINT_T0>(slot.cast());
        }
        #[cfg(not(target_arch = "x86_64"))]
        let _ = slot;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hashing::record_fingerprint;

    #[test]
    fn holds_exactly_what_was_inserted_including_the_empty_marker() {
        let held: Vec<u128> = (0..1000)
            .map(|i| record_fingerprint("sales", &format!("S{i}"), "buyer"))
            .chain([EMPTY])
            .collect();
        let set = RecordSet::of(held.iter().copied());
        assert!(held.iter().all(|&f| set.contains(f)));
        let absent = (0..1000).map(|i| record_fingerprint("sales", &format!("S{i}"), "owner"));
        assert!(absent.clone().all(|f| !set.contains(f)));
        let probes: Vec<Option<u128>> = [Some(held[3]), None, absent.clone().next(), Some(EMPTY)]
            .into_iter()
            .collect();
        assert_eq!(set.contains_each(&probes), [true, false, false, true]);
        assert!(!RecordSet::of(std::iter::empty()).contains(EMPTY));
    }

    #[test]
    fn colliding_homes_probe_on_to_the_next_slot() {
        // Same low bits, so the same home slot: the second must be found past the first.
        let (a, b) = (5u128 << 64 | 7, 9u128 << 64 | 7);
        let set = RecordSet::of([a, b].into_iter());
        assert!(set.contains(a) && set.contains(b));
        assert!(!set.contains(11u128 << 64 | 7));
    }
}
