//! Deterministic random streams: one ChaCha8 stream per (seed, purpose, index), never shared.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// Stream purposes, so that two uses of the same index never share randomness.
#[derive(Clone, Copy)]
pub enum Stream {
    Household = 1,
    HouseholdSizes = 2,
    Person = 3,
    Dealer = 4,
    Unionid = 5,
}

/// SplitMix64 finaliser: spreads nearby inputs over the whole 64-bit space.
pub fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// The random stream for one purpose and index under one seed.
pub fn stream(seed: u64, purpose: Stream, index: u64) -> ChaCha8Rng {
    let s = mix(mix(seed ^ ((purpose as u64) << 56)) ^ index);
    ChaCha8Rng::seed_from_u64(s)
}

/// `true` with probability `p`; never panics (p outside [0,1] is clamped by the comparison).
#[inline]
pub fn chance<R: Rng + ?Sized>(rng: &mut R, p: f64) -> bool {
    p > 0.0 && rng.random::<f64>() < p
}

/// A uniform element of a non-empty constant slice.
#[inline]
pub fn pick<'a, T, R: Rng + ?Sized>(rng: &mut R, items: &'a [T]) -> &'a T {
    &items[rng.random_range(0..items.len())]
}

/// An index drawn with the given weights (all weights > 0, slice non-empty).
pub fn weighted<R: Rng + ?Sized>(rng: &mut R, weights: &[u32]) -> usize {
    let total: u32 = weights.iter().sum();
    let mut x = rng.random_range(0..total.max(1));
    for (i, &w) in weights.iter().enumerate() {
        if x < w {
            return i;
        }
        x -= w;
    }
    weights.len() - 1
}
