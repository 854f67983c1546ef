//! Record fingerprints held compactly and probed a batch at a time: the map of a record to its
//! previous customer, and the set of records an incremental run re-reads.
//!
//! An incremental run tests every raw row (19.5M at 1M persons) against the records of the
//! customers it re-resolves (3.3M). In a general map each test waited on two cache misses
//! (control bytes, then the bucket) inside the row's other work, so the core sat idle for most
//! of it: a quarter of the load's CPU. A blocked Bloom filter in front of the map (4 MB, one
//! line a probe) did not help measurably: its misses still came one at a time. Here the
//! fingerprints of a batch are hashed first, then probed in a tight loop that asks for the
//! slot of a probe a few places ahead before it reads the current one.
//!
//! A record is keyed by 64 bits of its fingerprint, its value is 32 bits, in two arrays sized
//! to the records expected: a full rerun at 1M persons maps 19.3M records in 0.29 GB, where a
//! hash map of 128-bit keys took 0.70 GB (its buckets round up to a power of two). Two of
//! 19.3M records share 64 bits with odds of about 1 in 100,000; the cost would be one record's
//! vote for its customer's previous id.

/// Probes issued ahead of the one being read: enough to cover a miss to memory (~100 ns) at a
/// few nanoseconds a probe.
const AHEAD: usize = 16;

/// The most a map fills before it grows. At this load linear probing reads about three slots
/// for a key held and thirteen (two cache lines) for one absent: the previous ids are probed
/// for keys they hold, a scope's [`RecordSet`] (sized for twice its records) mostly for absent
/// ones.
const MAX_LOAD: f64 = 0.8;

const EMPTY: u64 = 0;

/// The 64 bits of a record fingerprint the map keys it by (one whole half of the fingerprint:
/// each half is its own hash).
pub(crate) fn short(f: u128) -> u64 {
    f as u64
}

/// Open addressing with linear probing from a slot chosen by multiplication (any table size,
/// so the table need not round up to a power of two).
#[derive(Debug, Clone, Default)]
pub(crate) struct RecordMap {
    keys: Vec<u64>,
    values: Vec<u32>,
    len: usize,
    /// Keys held before the map grows.
    limit: usize,
    /// The value of the key that equals [`EMPTY`], when held.
    empty: Option<u32>,
}

impl RecordMap {
    /// A map with room for `n` records before it grows.
    pub(crate) fn with_capacity(n: usize) -> Self {
        // Rounded up: sized to the exact count, the last insert grew a full rerun's map to
        // twice its size (and held both while it copied: +1 GB at 1M persons).
        let slots = (n as f64 / MAX_LOAD).ceil() as usize + 8;
        RecordMap {
            keys: vec![EMPTY; slots],
            values: vec![0; slots],
            len: 0,
            limit: ((slots as f64 * MAX_LOAD) as usize).max(n),
            empty: None,
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.len + usize::from(self.empty.is_some())
    }

    /// Maps `key` to `value` (the last value wins).
    pub(crate) fn insert(&mut self, key: u64, value: u32) {
        if key == EMPTY {
            self.empty = Some(value);
            return;
        }
        if self.len >= self.limit {
            self.grow();
        }
        let mut i = self.home(key);
        loop {
            match self.keys[i] {
                EMPTY => {
                    self.keys[i] = key;
                    self.values[i] = value;
                    self.len += 1;
                    return;
                }
                held if held == key => {
                    self.values[i] = value;
                    return;
                }
                _ => i = self.next(i),
            }
        }
    }

    /// Inserts each of `entries` in order, asking the cache for the slots ahead: the
    /// previous ids of a full rerun are 19.3M inserts, each a cache miss in a 0.2 GB table.
    pub(crate) fn insert_each(&mut self, entries: &[(u64, u32)]) {
        if self.len + entries.len() > self.limit {
            // Grown once for the batch, so the slots prefetched stay the ones probed.
            self.grow_to((self.len + entries.len()) * 2);
        }
        for (i, &(key, value)) in entries.iter().enumerate() {
            if let Some(&(ahead, _)) = entries.get(i + AHEAD) {
                self.prefetch(ahead);
            }
            self.insert(key, value);
        }
    }

    fn grow(&mut self) {
        self.grow_to((self.len + 1) * 2);
    }

    /// Moves the keys to a map with room for `n`.
    fn grow_to(&mut self, n: usize) {
        let old = std::mem::replace(self, RecordMap::with_capacity(n));
        self.empty = old.empty;
        for (&k, &v) in old.keys.iter().zip(&old.values) {
            if k != EMPTY {
                self.insert(k, v);
            }
        }
    }

    pub(crate) fn get(&self, key: u64) -> Option<u32> {
        if key == EMPTY {
            return self.empty;
        }
        if self.keys.is_empty() {
            return None;
        }
        let mut i = self.home(key);
        loop {
            match self.keys[i] {
                EMPTY => return None,
                held if held == key => return Some(self.values[i]),
                _ => i = self.next(i),
            }
        }
    }

    /// The keys held.
    pub(crate) fn keys(&self) -> impl Iterator<Item = u64> + '_ {
        let held = self.keys.iter().copied().filter(|&k| k != EMPTY);
        held.chain(self.empty.map(|_| EMPTY))
    }

    /// The slot a key's probe starts at: the key scaled onto the table (keys are uniform).
    fn home(&self, key: u64) -> usize {
        ((u128::from(key) * self.keys.len() as u128) >> 64) as usize
    }

    fn next(&self, i: usize) -> usize {
        if i + 1 == self.keys.len() { 0 } else { i + 1 }
    }

    /// Asks the cache for the first slot of `key`'s probe.
    fn prefetch(&self, key: u64) {
        if self.keys.is_empty() {
            return;
        }
        let slot: *const u64 = &self.keys[self.home(key)];
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

/// A set of records, probed a batch at a time.
#[derive(Debug, Clone)]
pub(crate) struct RecordSet(RecordMap);

impl RecordSet {
    /// The set of `keys` ([`short`] fingerprints), of which there are `count`.
    pub(crate) fn of(keys: impl Iterator<Item = u64>, count: usize) -> Self {
        // At most 40 % full: five in six raw rows an incremental run probes are not in scope,
        // and an absent key's probe then reads about two slots.
        let mut map = RecordMap::with_capacity(count * 2);
        for k in keys {
            map.insert(k, 0);
        }
        RecordSet(map)
    }

    #[cfg(test)]
    fn contains(&self, f: u128) -> bool {
        self.0.get(short(f)).is_some()
    }

    /// Whether each of `fingerprints` is held (`None` is not).
    pub(crate) fn contains_each(&self, fingerprints: &[Option<u128>]) -> Vec<bool> {
        let mut out = Vec::with_capacity(fingerprints.len());
        for (i, f) in fingerprints.iter().enumerate() {
            if let Some(Some(ahead)) = fingerprints.get(i + AHEAD) {
                self.0.prefetch(short(*ahead));
            }
            out.push(f.is_some_and(|f| self.0.get(short(f)).is_some()));
        }
        out
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
            .chain([u128::from(EMPTY)])
            .collect();
        let set = RecordSet::of(held.iter().map(|&f| short(f)), held.len());
        assert!(held.iter().all(|&f| set.contains(f)));
        let absent = (0..1000).map(|i| record_fingerprint("sales", &format!("S{i}"), "owner"));
        assert!(absent.clone().all(|f| !set.contains(f)));
        let probes: Vec<Option<u128>> = [Some(held[3]), None, absent.clone().next(), Some(0)]
            .into_iter()
            .collect();
        assert_eq!(set.contains_each(&probes), [true, false, false, true]);
        assert!(!RecordSet::of(std::iter::empty(), 0).contains(0));
    }

    #[test]
    fn colliding_homes_probe_on_to_the_next_slot_and_wrap_at_the_end() {
        let mut m = RecordMap::with_capacity(4);
        let slots = m.keys.len();
        // The largest keys all start at the last slot: the later ones wrap to the first.
        let keys = [u64::MAX, u64::MAX - 1, u64::MAX - 2];
        assert_eq!(m.home(keys[2]), slots - 1);
        for (v, &k) in keys.iter().enumerate() {
            m.insert(k, v as u32);
        }
        for (v, &k) in keys.iter().enumerate() {
            assert_eq!(m.get(k), Some(v as u32));
        }
        assert_eq!(m.get(u64::MAX - 3), None);
    }

    #[test]
    fn a_map_sized_for_n_records_holds_n_without_growing() {
        for n in [0, 1, 7, 10, 1000, 19_170] {
            let mut m = RecordMap::with_capacity(n);
            let slots = m.keys.len();
            for k in 1..=n as u64 {
                m.insert(k.wrapping_mul(0x9e37_79b9_7f4a_7c15), 1);
            }
            assert_eq!(m.keys.len(), slots, "{n} records");
            assert_eq!(m.len(), n);
        }
    }

    #[test]
    fn the_map_grows_past_its_capacity_and_keeps_every_value_and_the_last_of_each_key() {
        let mut m = RecordMap::with_capacity(10);
        for k in 0..10_000u64 {
            m.insert(k.wrapping_mul(0x9e37_79b9_7f4a_7c15), k as u32);
        }
        m.insert(0, 7); // 0 is the empty marker's key
        m.insert(0, 8);
        m.insert(1u64.wrapping_mul(0x9e37_79b9_7f4a_7c15), 99);
        assert_eq!(m.len(), 10_000);
        assert_eq!(m.get(0), Some(8));
        assert_eq!(m.get(0x9e37_79b9_7f4a_7c15), Some(99));
        assert_eq!(m.get(5u64.wrapping_mul(0x9e37_79b9_7f4a_7c15)), Some(5));
        assert_eq!(m.keys().count(), 10_000);
        assert!(m.keys.len() as f64 * MAX_LOAD >= 10_000.0);
    }

    #[test]
    fn a_batch_insert_past_capacity_grows_once_and_equals_one_by_one_inserts() {
        let entries: Vec<(u64, u32)> = (0..5_000u64)
            .map(|k| {
                (
                    (k % 4_000 + 1).wrapping_mul(0x9e37_79b9_7f4a_7c15),
                    k as u32,
                )
            })
            .collect();
        let mut batch = RecordMap::with_capacity(100);
        batch.insert_each(&entries[..50]);
        batch.insert_each(&entries[50..]);
        // Grown once, to room for twice what it held plus the batch: growing key by key
        // would have doubled from 100 to some other size.
        assert_eq!(
            batch.keys.len(),
            RecordMap::with_capacity((50 + 4_950) * 2).keys.len()
        );
        let mut single = RecordMap::with_capacity(100);
        for &(k, v) in &entries {
            single.insert(k, v);
        }
        assert_eq!(batch.len(), 4_000);
        for &(k, _) in &entries {
            assert_eq!(
                batch.get(k),
                single.get(k),
                "the last value of each key wins"
            );
        }
    }
}
