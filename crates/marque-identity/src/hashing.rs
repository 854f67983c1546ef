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
/// seeds over the fields, each framed by its length (`None` and `Some("")` differ, and no two
/// lists of fields frame alike). The fields are copied into one buffer first, so that each
/// half is one long-input hash: the load takes two of these per row, and hashing the fields
/// one `Option<&str>` at a time was a tenth of its CPU. It only lives within one run, so the
/// hash need not be stable across versions.
pub(crate) fn fingerprint(parts: &[Option<&str>]) -> u128 {
    let framed: usize = parts.iter().map(|p| p.map_or(1, |s| 9 + s.len())).sum();
    // The smallest buffer that holds the fields: zeroing a fixed 512 bytes on every call was
    // about 4 % of an incremental run's scope CPU (profiled under `PreviousIds::insert`).
    match framed {
        0..=64 => framed_fingerprint::<64>(parts, framed),
        65..=128 => framed_fingerprint::<128>(parts, framed),
        129..=512 => framed_fingerprint::<512>(parts, framed),
        _ => fingerprint_of(parts), // too long for a buffer: field by field
    }
}

/// [`fingerprint`] through an `N`-byte buffer, `framed` of which the fields fill.
fn framed_fingerprint<const N: usize>(parts: &[Option<&str>], framed: usize) -> u128 {
    let mut buf = [0u8; N];
    let mut n = 0;
    for part in parts {
        match part {
            None => n += 1, // the zero byte already there
            Some(s) => {
                buf[n] = 1;
                buf[n + 1..n + 9].copy_from_slice(&(s.len() as u64).to_le_bytes());
                buf[n + 9..n + 9 + s.len()].copy_from_slice(s.as_bytes());
                n += 9 + s.len();
            }
        }
    }
    debug_assert_eq!(n, framed);
    fingerprint_of(&buf[..n])
}

/// A fingerprint as four `u32`s, low word first: as a map key it aligns to 4 bytes, so a key
/// with a `u32` value takes 20 bytes where a `u128` key (16-byte aligned) is padded to 32. The
/// maps over millions of records and units hold their fingerprints this way.
pub(crate) fn words(fingerprint: u128) -> [u32; 4] {
    [0, 32, 64, 96].map(|shift| (fingerprint >> shift) as u32)
}

/// The fingerprint [`words`] split.
#[cfg(test)]
fn unwords(words: [u32; 4]) -> u128 {
    words
        .iter()
        .rev()
        .fold(0, |acc, &w| (acc << 32) | u128::from(w))
}

/// The fingerprint of a source record in a role, as the load and the previous ids key it.
pub(crate) fn record_fingerprint(source: &str, record_id: &str, role: &str) -> u128 {
    fingerprint(&[Some(source), Some(record_id), Some(role)])
}

/// The 128-bit fingerprint of any hashable value (a unit's evidence signature, say).
pub(crate) fn fingerprint_of<T: std::hash::Hash + ?Sized>(value: &T) -> u128 {
    use std::hash::BuildHasher;
    let half = |seed: u64| foldhash::quality::FixedState::with_seed(seed).hash_one(value);
    (u128::from(half(0x9e37_79b9_7f4a_7c15)) << 64) | u128::from(half(0xc2b2_ae3d_27d4_eb4f))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fingerprint_tells_field_boundaries_and_missing_fields_apart() {
        let f = fingerprint;
        let long = "x".repeat(600);
        assert_eq!(f(&[Some(&long)]), f(&[Some(&long)]), "past the buffer");
        // The 64- and 128-byte buffers frame as the 512-byte one does, at and past their
        // edges (9 framing bytes + the text: 55 fills 64, 119 fills 128).
        for len in [50, 55, 56, 119] {
            let s = "y".repeat(len);
            assert_eq!(
                f(&[Some(&s)]),
                framed_fingerprint::<512>(&[Some(&s)], 9 + len)
            );
        }
        assert_ne!(f(&[Some(&long), None]), f(&[Some(&long)]));
        assert_eq!(f(&[Some("王伟"), None]), f(&[Some("王伟"), None]));
        assert_ne!(f(&[Some("ab"), Some("c")]), f(&[Some("a"), Some("bc")]));
        assert_ne!(f(&[None]), f(&[Some("")]));
        assert_ne!(f(&[None, Some("x")]), f(&[Some("x"), None]));
        assert_ne!(f(&[Some("x")]), f(&[Some("x"), None]));
        // Both halves carry information (the sets shard on the top bits).
        let a = f(&[Some("s-1")]);
        let b = f(&[Some("s-2")]);
        assert_ne!(a >> 64, b >> 64);
        assert_ne!(a as u64, b as u64);
    }

    #[test]
    fn words_keep_every_bit_low_word_first() {
        let f = 0x0123_4567_89ab_cdef_fedc_ba98_7654_3210_u128;
        assert_eq!(
            words(f),
            [0x7654_3210, 0xfedc_ba98, 0x89ab_cdef, 0x0123_4567]
        );
        assert_eq!(unwords(words(f)), f);
        assert_eq!(std::mem::size_of::<([u32; 4], u32)>(), 20);
    }
}
