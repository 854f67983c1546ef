//! The in-memory profile index: every customer, mention and lookup key of one resolution
//! snapshot, so that profile reads never touch Parquet.
//!
//! It is laid out for a few million customers and tens of millions of mentions: customer ids,
//! lookup keys and VINs are interned in [`strtab::StrTable`]s (one arena and a table of integer
//! ids each), mentions are packed 40-byte records sorted by customer, keys map to customers
//! through one flat postings array, and golden records, lifecycle and CLV rows are stored
//! row-wise with their values already in JSON ([`rows`]), so that [`render`] writes a profile
//! from a few contiguous runs of bytes without building a `Value`.
//!
//! An index is immutable once built. [`crate::refresh`] builds a new one in the background when
//! a resolution table commits a new version and swaps it in atomically; requests that already
//! hold the old one finish on it.

mod build;
pub mod cells;
mod members;
mod render;
pub mod rows;
pub mod strtab;

use std::collections::{BTreeMap, HashMap};

use serde_json::{Value, json};

pub use build::{BuildOptions, RESOLUTION_TABLES, build};
pub use members::{SegmentsAsOf, SegmentsState};
pub use render::Include;

use rows::RowSection;
use strtab::StrTable;

/// The keys a profile can be looked up by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum KeyKind {
    Phone,
    Vin,
    AppUserId,
    Unionid,
    Email,
}

impl KeyKind {
    /// Every key kind, in query-parameter order.
    pub const ALL: [KeyKind; 5] = [
        KeyKind::Phone,
        KeyKind::Vin,
        KeyKind::AppUserId,
        KeyKind::Unionid,
        KeyKind::Email,
    ];

    /// The query parameter and lake column naming this key.
    pub fn as_str(self) -> &'static str {
        match self {
            KeyKind::Phone => "phone",
            KeyKind::Vin => "vin",
            KeyKind::AppUserId => "app_user_id",
            KeyKind::Unionid => "unionid",
            KeyKind::Email => "email",
        }
    }

    /// The byte that prefixes this kind's values in the key table.
    fn tag(self) -> char {
        (b'0' + self as u8) as char
    }

    /// The form of `raw` the index stores, or why `raw` cannot be such a key.
    pub fn normalise(self, raw: &str) -> Result<String, String> {
        let raw = raw.trim();
        if raw.is_empty() {
            return Err(format!("{} is empty", self.as_str()));
        }
        if raw.len() > 256 {
            return Err(format!("{} is longer than 256 bytes", self.as_str()));
        }
        match self {
            KeyKind::Phone => match marque_core::phone::parse(raw) {
                marque_core::phone::Phone::Mobile(e) | marque_core::phone::Phone::Landline(e) => {
                    Ok(e)
                }
                marque_core::phone::Phone::Masked { .. } => {
                    Err(format!("phone {raw:?} is masked; a full number is needed"))
                }
                marque_core::phone::Phone::Placeholder => {
                    Err(format!("phone {raw:?} is a placeholder number"))
                }
                marque_core::phone::Phone::Invalid => Err(format!(
                    "phone {raw:?} is not a Chinese mobile or landline number"
                )),
            },
            KeyKind::Vin => Ok(marque_core::vin::normalize(raw)),
            KeyKind::Email => Ok(marque_core::text::halfwidth(raw).to_lowercase()),
            KeyKind::AppUserId | KeyKind::Unionid => Ok(raw.to_string()),
        }
    }
}

/// Sentinel for an absent id in `u32` fields.
const NONE: u32 = u32::MAX;

/// One mention, packed (40 bytes): strings live in the index's arenas.
#[derive(Debug, Clone, Copy)]
struct MentionRec {
    first_seen: i64,
    last_seen: i64,
    record: Span,
    /// The customer's index (mentions are sorted by it).
    customer: u32,
    /// Id in `ProfileIndex::vins`, or [`NONE`].
    vin: u32,
    record_count: u32,
    /// Index in `ProfileIndex::kinds`.
    kind: u16,
}

/// A (source, role) pair of mentions.
#[derive(Debug, Clone)]
struct MentionKind {
    source: String,
    role: String,
    /// Index in `ProfileIndex::sources`.
    source_id: u16,
    /// Whether this role makes the mention's VIN the customer's vehicle (buyer, owner).
    vehicle: bool,
}

/// A string inside an arena.
#[derive(Debug, Clone, Copy, Default)]
struct Span {
    start: u32,
    len: u32,
}

impl Span {
    fn get(self, arena: &str) -> &str {
        let start = self.start as usize;
        arena.get(start..start + self.len as usize).unwrap_or("")
    }
}

/// Sentinel for a missing timestamp.
const NO_TIME: i64 = i64::MIN;

/// One resolution snapshot, indexed.
pub struct ProfileIndex {
    /// Versions of the tables this index was built from.
    pub versions: BTreeMap<String, i64>,
    /// When it was built.
    pub built_at: chrono::DateTime<chrono::Utc>,
    /// How long the build took, in seconds.
    pub build_secs: f64,
    /// Seconds each part of the build took (tables, views, segments), in build order.
    pub build_phases: Vec<(String, f64)>,
    /// Golden records (resident-id columns for admins only).
    golden: RowSection,
    /// Customer ids; the id of a string is the customer's index.
    ids: StrTable,
    kinds: Vec<MentionKind>,
    /// Source names, sorted.
    sources: Vec<String>,
    /// Sorted by customer, newest first within each.
    mentions: Vec<MentionRec>,
    /// `mentions[offsets[i]..offsets[i+1]]` are customer `i`'s.
    offsets: Vec<u32>,
    /// Record ids of the mentions.
    records: String,
    vins: StrTable,
    /// Lookup keys: [`KeyKind::tag`] followed by the normalised value.
    keys: StrTable,
    /// `postings[key_offsets[k]..key_offsets[k+1]]`: the customers holding key `k`, ascending.
    key_offsets: Vec<u32>,
    postings: Vec<u32>,
    redirects: HashMap<Box<str>, Box<str>>,
    /// Per-customer tables shown in profiles (lifecycle, CLV) by profile key, customer_id left
    /// out.
    extras: Vec<(&'static str, RowSection)>,
    segment_names: Vec<String>,
    /// Member customer indexes of each segment, sorted by customer id.
    segment_members: Vec<Option<Vec<u32>>>,
    /// `segment_ids[segment_offsets[i]..segment_offsets[i+1]]`: customer `i`'s segments.
    segment_offsets: Vec<u32>,
    segment_ids: Vec<u16>,
    /// Where the segment membership came from, and how fresh it is.
    segments_as_of: SegmentsAsOf,
    /// `,"segments_state":…,"segments_as_of":…` for profiles.
    segments_tail: Vec<u8>,
    /// Whether the lake had `match_edges` at build time.
    pub has_match_edges: bool,
    /// Warnings met while building (a view that failed, a missing table).
    pub warnings: Vec<String>,
}

/// What a customer id resolves to.
pub enum Resolved {
    Found(u32),
    /// Merged away: the id that survives.
    Moved(String),
    Unknown,
}

impl ProfileIndex {
    /// An index of nothing (the lake has no resolution yet).
    pub fn empty() -> Self {
        Self {
            versions: BTreeMap::new(),
            built_at: chrono::Utc::now(),
            build_secs: 0.0,
            build_phases: Vec::new(),
            golden: RowSection::default(),
            ids: StrTable::default(),
            kinds: Vec::new(),
            sources: Vec::new(),
            mentions: Vec::new(),
            offsets: vec![0],
            records: String::new(),
            vins: StrTable::default(),
            keys: StrTable::default(),
            key_offsets: vec![0],
            postings: Vec::new(),
            redirects: HashMap::new(),
            extras: Vec::new(),
            segment_names: Vec::new(),
            segment_members: Vec::new(),
            segment_offsets: vec![0],
            segment_ids: Vec::new(),
            segments_as_of: SegmentsAsOf::default(),
            segments_tail: segments_tail(&SegmentsAsOf::default()),
            has_match_edges: false,
            warnings: Vec::new(),
        }
    }

    /// Customers indexed.
    pub fn len(&self) -> usize {
        self.ids.len()
    }

    /// Whether no customer is indexed.
    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }

    /// Mentions indexed.
    pub fn mention_count(&self) -> usize {
        self.mentions.len()
    }

    /// Distinct lookup keys indexed.
    pub fn key_count(&self) -> usize {
        self.keys.len()
    }

    /// The customer id of index `idx`.
    pub fn id(&self, idx: u32) -> &str {
        self.ids.get(idx)
    }

    /// Heap bytes the index holds (Arrow buffers counted whole), for `/readyz` and `/metrics`.
    pub fn heap_bytes(&self) -> usize {
        self.heap_parts().iter().map(|(_, b)| b).sum()
    }

    /// Heap bytes by part of the index.
    pub fn heap_parts(&self) -> Vec<(&'static str, usize)> {
        vec![
            ("golden", self.golden.heap_bytes()),
            ("customer_ids", self.ids.heap_bytes()),
            (
                "mentions",
                self.mentions.capacity() * std::mem::size_of::<MentionRec>()
                    + self.offsets.capacity() * 4,
            ),
            ("record_ids", self.records.capacity()),
            ("vins", self.vins.heap_bytes()),
            (
                "keys",
                self.keys.heap_bytes()
                    + self.key_offsets.capacity() * 4
                    + self.postings.capacity() * 4,
            ),
            (
                "lifecycle_clv",
                self.extras
                    .iter()
                    .map(|(_, e)| e.heap_bytes())
                    .sum::<usize>(),
            ),
            (
                "segments",
                self.segment_members
                    .iter()
                    .map(|m| m.as_ref().map_or(0, |m| m.capacity() * 4))
                    .sum::<usize>()
                    + self.segment_offsets.capacity() * 4
                    + self.segment_ids.capacity() * 2,
            ),
            (
                "redirects",
                self.redirects
                    .iter()
                    .map(|(a, b)| a.len() + b.len() + 48)
                    .sum::<usize>(),
            ),
        ]
    }

    /// Resolves `id`, following merges (`customer_id_history`) to the surviving id.
    pub fn resolve(&self, id: &str) -> Resolved {
        if let Some(i) = self.ids.find(id) {
            return Resolved::Found(i);
        }
        let mut current = id;
        for _ in 0..32 {
            match self.redirects.get(current) {
                Some(next) if self.ids.find(next).is_some() => {
                    return Resolved::Moved(next.to_string());
                }
                Some(next) if &**next != current => current = next,
                _ => break,
            }
        }
        Resolved::Unknown
    }

    /// Customers holding key `value` (already normalised), in index order.
    pub fn lookup(&self, kind: KeyKind, value: &str) -> &[u32] {
        let mut key = String::with_capacity(value.len() + 1);
        key.push(kind.tag());
        key.push_str(value);
        match self.keys.find(&key) {
            Some(k) => {
                let k = k as usize;
                let (a, b) = (
                    self.key_offsets[k] as usize,
                    self.key_offsets[k + 1] as usize,
                );
                &self.postings[a..b]
            }
            None => &[],
        }
    }

    fn mentions_of(&self, idx: u32) -> &[MentionRec] {
        let i = idx as usize;
        match (self.offsets.get(i), self.offsets.get(i + 1)) {
            (Some(&a), Some(&b)) => &self.mentions[a as usize..b as usize],
            _ => &[],
        }
    }

    fn segments_of(&self, idx: u32) -> &[u16] {
        let i = idx as usize;
        match (self.segment_offsets.get(i), self.segment_offsets.get(i + 1)) {
            (Some(&a), Some(&b)) => &self.segment_ids[a as usize..b as usize],
            _ => &[],
        }
    }

    /// Customer `idx`'s mentions newest first, from `offset`, at most `limit`; and whether more
    /// follow.
    pub fn timeline(&self, idx: u32, offset: usize, limit: usize) -> (Vec<Value>, bool) {
        let all = self.mentions_of(idx);
        let page: Vec<Value> = all
            .iter()
            .skip(offset)
            .take(limit)
            .map(|m| {
                let k = &self.kinds[m.kind as usize];
                let time = |t: i64| {
                    if t == NO_TIME {
                        Value::Null
                    } else {
                        cells::rfc3339(t)
                    }
                };
                json!({
                    "at": time(if m.last_seen == NO_TIME { m.first_seen } else { m.last_seen }),
                    "source": k.source,
                    "role": k.role,
                    "record_id": m.record.get(&self.records),
                    "first_seen": time(m.first_seen),
                    "last_seen": time(m.last_seen),
                    "record_count": m.record_count,
                    "vin": if m.vin == NONE { Value::Null } else { Value::from(self.vins.get(m.vin)) },
                })
            })
            .collect();
        (page, offset.saturating_add(limit) < all.len())
    }

    /// The mentions of customer `idx` as `(source, record_id, role)`.
    pub fn mention_keys(&self, idx: u32) -> Vec<(String, String, String)> {
        self.mentions_of(idx)
            .iter()
            .map(|m| {
                let k = &self.kinds[m.kind as usize];
                (
                    k.source.clone(),
                    m.record.get(&self.records).to_string(),
                    k.role.clone(),
                )
            })
            .collect()
    }

    /// Where the segment membership came from, and how fresh it is.
    pub fn segments_as_of(&self) -> &SegmentsAsOf {
        &self.segments_as_of
    }

    fn set_segments_as_of(&mut self, as_of: SegmentsAsOf) {
        self.segments_tail = segments_tail(&as_of);
        self.segments_as_of = as_of;
    }

    /// Whether segment `name` has materialised members in this index.
    pub fn has_segment(&self, name: &str) -> bool {
        self.segment_names.iter().any(|n| n == name)
    }

    /// Segment names known at build time, sorted, with their member counts (`None` when the
    /// segment's query failed).
    pub fn segments(&self) -> Vec<(&str, Option<usize>)> {
        self.segment_names
            .iter()
            .zip(&self.segment_members)
            .map(|(n, m)| (n.as_str(), m.as_ref().map(Vec::len)))
            .collect()
    }

    /// Members of segment `name` (customer ids), from `offset`, at most `limit`; `None` when the
    /// segment is unknown or could not be computed.
    pub fn segment_page(
        &self,
        name: &str,
        offset: usize,
        limit: usize,
    ) -> Option<(Vec<&str>, usize)> {
        let i = self.segment_names.iter().position(|n| n == name)?;
        let members = self.segment_members[i].as_ref()?;
        let page = members
            .iter()
            .skip(offset)
            .take(limit)
            .map(|&c| self.id(c))
            .collect();
        Some((page, members.len()))
    }
}

/// The profile fields that say how fresh its segments are.
fn segments_tail(as_of: &SegmentsAsOf) -> Vec<u8> {
    format!(
        ",\"segments_state\":\"{}\",\"segments_as_of\":{}",
        as_of.state.as_str(),
        as_of.computed_at_json()
    )
    .into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_mention_record_stays_40_bytes() {
        // 20 million mentions of a 1M-person lake: every byte here is 20 MB of server memory.
        assert_eq!(std::mem::size_of::<MentionRec>(), 40);
    }
}
