//! Hash maps, sets and 128-bit record fingerprints with foldhash instead of SipHash.
//!
//! Resolution hashes tens of millions of strings and unit ids (signatures, blocks, candidate
//! pairs, record keys); with the standard SipHash, hashing was about a tenth of a full run's
//! CPU at 1M persons. foldhash is seeded per process like the standard hasher, so no code
//! can come to depend on an iteration order.

/// A `HashMap` with foldhash; build it with `default()` or `with_capacity_and_hasher`.
pub type HashMap<K, V> = std::collections::HashMap<K, V, foldhash::fast::RandomState>;

/// A `HashSet` with foldhash; build it with `default()` or `with_capacity_and_hasher`.
pub type HashSet<K> = std::collections::HashSet<K, foldhash::fast::RandomState>;

/// A 128-bit fingerprint of text fields, for sets and maps over millions of records that
/// must not hold a copy of every string: foldhash (quality variant) run twice with different
/// seeds. It only lives within one run, so the hash need not be stable across versions; SipHash
/// here was a twentieth of a small run's CPU.
pub(crate) fn fingerprint(parts: &[Option<&str>]) -> u128 {
    fingerprint_of(parts)
}

/// The 128-bit fingerprint of any hashable value (a unit's evidence signature, say).
pub(crate) fn fingerprint_of<T: std::hash::Hash + ?Sized>(value: &T) -> u128 {
    use std::hash::BuildHasher;
    let half = |seed: u64| foldhash::quality::FixedState::with_seed(seed).hash_one(value);
    (u128::from(half(0x9e37_79b9_7f4a_7c15)) << 64) | u128::from(half(0xc2b2_ae3d_27d4_eb4f))
}
