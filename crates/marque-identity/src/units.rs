//! Units: mentions with identical keyed evidence, linked as one, numbered in an order that does
//! not depend on how the mentions were loaded.

use crate::hashing::{HashMap, HashSet, fingerprint_of, words};
use rayon::prelude::*;

use crate::compact::{PackedPhone, PackedVin};
use crate::compare::name_kind;
use crate::mentions::Mention;

/// The keyed evidence a unit's mentions share: full name, name kind, surname, gender, phone,
/// resident id hash, app user id, unionid, VIN, city.
type Signature<'a> = (
    &'a str,
    u8,
    Option<&'a str>,
    Option<marque_core::name::Gender>,
    Option<PackedPhone>,
    Option<&'a str>,
    Option<&'a str>,
    Option<&'a str>,
    Option<PackedVin>,
    Option<&'a str>,
);

/// The evidence that decides a mention's unit; `None` without a key (such a mention is a unit
/// of its own).
pub(crate) fn signature(m: &Mention) -> Option<Signature<'_>> {
    let phone = m.usable_phone();
    let keyed = phone.is_some()
        || m.resident().is_some()
        || m.app_user_id().is_some()
        || m.unionid().is_some()
        || m.vin().is_some();
    keyed.then(|| {
        (
            m.name.full.as_str(),
            name_kind(m) as u8,
            m.name.surname.as_deref(),
            m.gender(),
            phone,
            m.resident().map(|r| r.hash()),
            m.app_user_id(),
            m.unionid(),
            m.vin(),
            m.city(),
        )
    })
}

pub(crate) struct Units {
    /// Unit of each mention.
    pub(crate) of: Vec<u32>,
    /// Representative mention of each unit.
    pub(crate) rep: Vec<u32>,
    /// Mentions per unit.
    pub(crate) size: Vec<u32>,
}

/// A mention's place in the canonical order: a hash of its source, role and naming record, the
/// same whichever other mentions a run loads.
fn stable_key(m: &Mention) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut h = std::hash::DefaultHasher::new();
    (m.source, m.role, m.key_record().as_str()).hash(&mut h);
    h.finish()
}

/// Mentions fingerprinted at a time: enough to keep both cores busy.
const UNIT_BLOCK: usize = 64 * 1024;

/// The fingerprint standing for "no signature": a real fingerprint of 0 is taken as 1 (two
/// signatures meeting there has odds of 2⁻¹²⁸).
const NO_SIGNATURE: u128 = 0;

/// Groups mentions with the same evidence into units, numbered in canonical order.
///
/// Every tie in linking (equal weights, the first of several candidates, the order late passes
/// visit units) falls back on unit numbers, so they must not depend on the order mentions were
/// loaded: an incremental run loads a different subset in a different order and has to decide
/// as a full run does. Units are therefore numbered by the smallest [`stable_key`] of their
/// members, and that member represents the unit.
pub(crate) fn units(mentions: &[Mention], isolate: &HashSet<u32>) -> Units {
    // Hashing each mention's ten evidence strings is most of the work and needs no shared
    // state: both cores fingerprint a block of mentions, then one pass numbers the block's
    // distinct fingerprints. Block by block, so that only one block's fingerprints are held:
    // all of them (and the stable keys) were 260 MB at 1M persons, the top of the run's peak.
    // The map is keyed by [`words`]: a `u128`-keyed map is 16-byte aligned, so padded.
    let mut by_sig: HashMap<[u32; 4], u32> =
        HashMap::with_capacity_and_hasher(mentions.len() / 2, Default::default());
    let mut of = Vec::with_capacity(mentions.len());
    let mut size: Vec<u32> = vec![];
    let mut best: Vec<(u64, u32)> = vec![];
    for (b, block) in mentions.chunks(UNIT_BLOCK).enumerate() {
        let first = b * UNIT_BLOCK;
        let keys: Vec<(u128, u64)> = block
            .par_iter()
            .enumerate()
            .map(|(k, m)| {
                let sig = if isolate.contains(&((first + k) as u32)) {
                    None
                } else {
                    signature(m).map(|s| fingerprint_of(&s))
                };
                (sig.map_or(NO_SIGNATURE, |f| f.max(1)), stable_key(m))
            })
            .collect();
        for (k, (m, &(sig, stable))) in block.iter().zip(&keys).enumerate() {
            let i = (first + k) as u32;
            let next = size.len() as u32;
            let u = match sig {
                NO_SIGNATURE => next,
                s => *by_sig.entry(words(s)).or_insert(next),
            };
            let key = (stable, i);
            if u == next {
                size.push(0);
                best.push(key);
            }
            size[u as usize] += m.weight();
            best[u as usize] = best[u as usize].min(key);
            of.push(u);
        }
    }
    drop(by_sig);
    let mut order: Vec<u32> = (0..size.len() as u32).collect();
    order.par_sort_unstable_by_key(|&u| best[u as usize]);
    let mut renumber = vec![0u32; order.len()];
    for (new, &old) in order.iter().enumerate() {
        renumber[old as usize] = new as u32;
    }
    Units {
        of: of.into_iter().map(|u| renumber[u as usize]).collect(),
        rep: order.iter().map(|&u| best[u as usize].1).collect(),
        size: order.iter().map(|&u| size[u as usize]).collect(),
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;
    use crate::mentions::test_mention;

    fn m(name_raw: &str, phone: Option<&str>, _rid: Option<&str>) -> Mention {
        let mut m = test_mention(name_raw);
        m.set_phone(phone);
        m
    }

    #[test]
    fn units_are_numbered_and_represented_the_same_whatever_the_load_order() {
        // Regression: units were numbered in load order, and every tie in linking (equal
        // weights, the first of several candidates of the masked and keyless passes) fell to
        // the lower number, so an incremental run, which loads a different subset in another
        // order, decided some ties differently from a full run.
        let named = |name: &str, phone: Option<&str>, id: &str| {
            let mut x = m(name, phone, None);
            x.record = id.into();
            x
        };
        let p = Some("+8615893707855");
        let ms = vec![
            named("张勇", p, "s1"),
            named("张勇", p, "r1"),
            named("林凤桂", p, "r2"),
            named("林女士", p, "l2"),
            named("张先生", p, "l1"),
            named("王芳", None, "k1"),
            named("王芳", None, "k0"),
        ];
        let numbering = |ms: &[Mention]| {
            let u = units(ms, &HashSet::default());
            let reps: Vec<String> = u
                .rep
                .iter()
                .map(|&r| ms[r as usize].key_record().to_string())
                .collect();
            let of: BTreeSet<(String, u32)> = ms
                .iter()
                .zip(&u.of)
                .map(|(m, &u)| (m.key_record().to_string(), u))
                .collect();
            (reps, of)
        };
        let first = numbering(&ms);
        assert_eq!(
            first.0.len(),
            6,
            "the two 张勇 records on one phone are one unit"
        );
        for shift in 1..ms.len() {
            let mut order = ms.clone();
            order.rotate_left(shift);
            assert_eq!(numbering(&order), first, "rotation {shift}");
        }
    }
}
