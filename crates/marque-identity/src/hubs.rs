//! Hub values: a phone seen with many different full names (a salesperson's own number, a
//! placeholder) stops being evidence for any of them.

use rayon::prelude::*;

use crate::compact::PackedPhone;
use crate::compare::{NameKind, name_kind};
use crate::hashing::{HashSet, fingerprint_of};
use crate::link::LinkConfig;
use crate::mentions::Mention;

/// Marks phones seen with `hub_min_names` or more different full names; returns them.
pub fn mark_hubs(mentions: &mut [Mention], cfg: &LinkConfig) -> Vec<(String, usize)> {
    // Distinct (phone, name) pairs by a parallel sort of packed phones and name fingerprints
    // (sorting the phone strings themselves took seconds at 1M); a phone's run length is its
    // name count. Names are compared by a 64-bit hash: two names of one phone colliding is
    // negligible. The mention index leads back to the phone.
    let mut pairs: Vec<(u64, u64, u32)> = mentions
        .par_iter()
        .enumerate()
        .filter_map(|(i, m)| {
            let p = m.phone()?;
            (name_kind(m) == NameKind::Full).then(|| {
                let name = fingerprint_of(m.name_key().as_str()) as u64;
                (p.bits(), name, i as u32)
            })
        })
        .collect();
    pairs.par_sort_unstable_by_key(|p| (p.0, p.1));
    pairs.dedup_by_key(|p| (p.0, p.1));
    let hub_phones: Vec<(PackedPhone, usize)> = pairs
        .chunk_by(|a, b| a.0 == b.0)
        .filter(|names| names.len() >= cfg.hub_min_names)
        .filter_map(|names| Some((mentions[names[0].2 as usize].phone()?, names.len())))
        .collect();
    drop(pairs);
    let set: HashSet<PackedPhone> = hub_phones.iter().map(|h| h.0).collect();
    mentions.par_iter_mut().for_each(|m| {
        m.set_phone_hub(m.phone().is_some_and(|p| set.contains(&p)));
    });
    let mut hubs: Vec<(String, usize)> = hub_phones
        .into_iter()
        .map(|(p, n)| (p.text().to_string(), n))
        .collect();
    hubs.sort();
    hubs
}

/// Marks the mentions whose phone is one of `hubs` (E.164 texts, as `identity_hubs` holds
/// them) as hubs: an incremental run does not re-read every mention that made a phone a hub.
pub fn mark_stored_hubs(mentions: &mut [Mention], hubs: &HashSet<String>) {
    let hubs: HashSet<PackedPhone> = hubs.iter().filter_map(|h| PackedPhone::pack(h)).collect();
    for m in mentions.iter_mut() {
        if m.phone().is_some_and(|p| hubs.contains(&p)) {
            m.set_phone_hub(true);
        }
    }
}
