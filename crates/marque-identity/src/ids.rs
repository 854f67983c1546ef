//! Customer ids: derived from the cluster's earliest mention, so the same input always gives the
//! same ids and a rerun with later data keeps the id of every cluster that survives.

use sha2::{Digest, Sha256};

use crate::compact::RecordId;
use crate::mentions::Mention;

/// The id of a customer whose earliest mention is `m`: `C` + 15 hex digits of a hash of the
/// mention key.
pub fn customer_id(m: &Mention) -> String {
    let mut h = Sha256::new();
    h.update(m.source.as_str().as_bytes());
    h.update([0]);
    h.update(m.role.as_str().as_bytes());
    h.update([0]);
    h.update(m.key_record().as_bytes());
    format!("C{}", &hex::encode(h.finalize())[..15])
}

/// Orders mentions for choosing a cluster's anchor: earliest time first, then the key, so the
/// choice does not depend on the order rows were read in.
pub fn anchor_order(a: &Mention, b: &Mention) -> std::cmp::Ordering {
    // Borrowed: the record id is not decoded for every comparison (it orders as its text).
    fn key(m: &Mention) -> (i64, marque_core::Source, marque_core::Role, &RecordId) {
        (
            m.first_seen().unwrap_or(i64::MAX),
            m.source,
            m.role,
            &m.record,
        )
    }
    key(a).cmp(&key(b))
}
