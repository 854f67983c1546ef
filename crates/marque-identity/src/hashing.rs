//! Hash maps and sets with foldhash instead of SipHash.
//!
//! Resolution hashes tens of millions of strings and unit ids (signatures, blocks, candidate
//! pairs, record keys); with the standard SipHash, hashing was about a tenth of a full run's
//! CPU at 1M persons. foldhash is seeded per process like the standard hasher, so no code
//! can come to depend on an iteration order.

/// A `HashMap` with foldhash; build it with `default()` or `with_capacity_and_hasher`.
pub type HashMap<K, V> = std::collections::HashMap<K, V, foldhash::fast::RandomState>;

/// A `HashSet` with foldhash; build it with `default()` or `with_capacity_and_hasher`.
pub type HashSet<K> = std::collections::HashSet<K, foldhash::fast::RandomState>;
